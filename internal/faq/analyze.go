package faq

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"

	"github.com/intakebot/intakebot/internal/content"
)

// Synonyms maps each word of a group to the group's first word, so "price",
// "afford" and "expensive" all index and query as "cost". A group may also hold
// phrases ("how much", "kick in"), which stand for the head word wherever they
// appear. Clinic-editable (prompts/faq/synonyms.yaml).
type Synonyms struct {
	words   map[string]string
	phrases []phrase // longest first
}

type phrase struct {
	words []string
	head  string
}

// LoadSynonyms reads a YAML list of word groups.
func LoadSynonyms(fsys fs.FS, name string) (Synonyms, error) {
	var groups [][]string
	doc, err := content.ReadFile(fsys, name, &groups)
	if err != nil {
		return Synonyms{}, err
	}
	syn := Synonyms{words: map[string]string{}}
	var ps content.Problems
	for i, g := range groups {
		if len(g) < 2 {
			ps = append(ps, doc.Problem(fmt.Sprintf("$[%d]", i), "a synonym group needs at least two words"))
			continue
		}
		head := normWord(g[0])
		for _, w := range g {
			if ws := words(w); len(ws) > 1 {
				syn.phrases = append(syn.phrases, phrase{ws, head})
				continue
			}
			w = normWord(w)
			if prev, ok := syn.words[w]; ok && prev != head {
				ps = append(ps, doc.Problem(fmt.Sprintf("$[%d]", i), "%q is already in the group of %q", w, prev))
				continue
			}
			syn.words[w] = head
		}
	}
	sort.SliceStable(syn.phrases, func(i, j int) bool { return len(syn.phrases[i].words) > len(syn.phrases[j].words) })
	return syn, ps.Err()
}

func normWord(w string) string { return strings.ToLower(strings.TrimSpace(w)) }

// replacePhrases replaces each phrase of a group by the group's head word.
func (s Synonyms) replacePhrases(ws []string) []string {
	if len(s.phrases) == 0 {
		return ws
	}
	out := make([]string, 0, len(ws))
	for i := 0; i < len(ws); {
		matched := false
		for _, p := range s.phrases {
			if i+len(p.words) <= len(ws) && slices.Equal(ws[i:i+len(p.words)], p.words) {
				out = append(out, p.head)
				i += len(p.words)
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, ws[i])
			i++
		}
	}
	return out
}

// stopwords carry no meaning for retrieval.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
	before being below between both but by can could did do does doing down during each few for from further had has
	have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself
	no nor not now of off on once only or other our ours ourselves out over own same she should so some such than
	that the their theirs them themselves then there these they this those through to too under until up very was we
	were what when where which while who whom why will with would you your yours yourself yourselves im ive id ill
	dont doesnt didnt cant wont isnt arent wasnt shouldnt wouldnt couldnt youre thats whats hows theres lets gonna
	wanna gotta please tell know want wondering wonder question ask hi hello hey also get got
	one thing things really actually much many lot lots anything something someone anyone us like go going
	still take takes taking took make makes making sure better best worse exactly even way need needs come done
	ever always never every good`) {
		stopwords[w] = true
	}
}

// words splits text into lowercase words, dropping apostrophes.
func words(text string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == '\'' || r == '’':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

func stem(w string) string {
	env := snowballstem.NewEnv(w)
	english.Stem(env)
	return env.Current()
}

// analyzer turns text into index terms: words, synonyms mapped to their
// group, stopwords dropped, stemmed.
type analyzer struct {
	syn Synonyms
	// stems memoises stemming while an index is built (the bank repeats
	// its words); nil afterwards, so queries never write to it. memo
	// likewise keeps each text's terms during the build, which reads the
	// bank twice (its vectors, then the classifier). Callers do not modify
	// the slices terms returns.
	stems  map[string]string
	memo   map[string][]string
	phrase map[string][]string
	// frozen: the memos are read, never written (the build's two halves
	// run side by side once every text it reads is in them).
	frozen bool
}

// absorb adds o's memos to a's (a build's analysers meet after analysing
// halves of the bank side by side).
func (a analyzer) absorb(o analyzer) {
	for k, v := range o.stems {
		a.stems[k] = v
	}
	for k, v := range o.memo {
		a.memo[k] = v
	}
	for k, v := range o.phrase {
		a.phrase[k] = v
	}
}

// phrased returns text's words with the synonym phrases joined, memoised
// like terms during a build. Callers do not modify the slice.
func (a analyzer) phrased(text string) []string {
	if a.phrase == nil {
		return a.syn.replacePhrases(words(text))
	}
	ws, ok := a.phrase[text]
	if !ok {
		ws = a.syn.replacePhrases(words(text))
		if !a.frozen {
			a.phrase[text] = ws
		}
	}
	return ws
}

func (a analyzer) stem(w string) string {
	if a.stems == nil {
		return stem(w)
	}
	s, ok := a.stems[w]
	if !ok {
		s = stem(w)
		if !a.frozen {
			a.stems[w] = s
		}
	}
	return s
}

func (a analyzer) terms(text string) []string {
	if a.memo == nil {
		return a.analyse(text)
	}
	ts, ok := a.memo[text]
	if !ok {
		ts = a.analyse(text)
		if !a.frozen {
			a.memo[text] = ts
		}
	}
	return ts
}

func (a analyzer) analyse(text string) []string {
	var out []string
	for _, w := range a.phrased(text) {
		if g, ok := a.syn.words[w]; ok {
			w = g
		} else if g, ok := a.syn.words[a.stem(w)]; ok {
			w = g
		}
		if stopwords[w] || (len(w) < 2 && !unicode.IsDigit(rune(w[0]))) {
			continue
		}
		out = append(out, a.stem(w))
	}
	return out
}
