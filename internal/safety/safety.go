// Package safety holds intakebot's deterministic safety checks: crisis
// language in any free text a patient types. It never calls a language model,
// and its phrases and patterns are clinic-editable data (prompts/safety.yaml).
//
// Recall comes first: a missed crisis costs far more than a gentle crisis
// message sent to someone who was using a figure of speech.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package safety

import (
	"fmt"
	"io/fs"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/intakebot/intakebot/internal/content"
)

// Lexicon is the clinic-editable risk vocabulary (prompts/safety.yaml).
type Lexicon struct {
	// Replace maps words (after normalisation) to what they mean: slang
	// ("kms"), misspellings ("suicde"). Values may be several words.
	Replace map[string]string `yaml:"replace"`
	// Fuzzy lists key words that also match with one typo (one letter added,
	// dropped, changed or two swapped) in words of five letters or more.
	Fuzzy []string `yaml:"fuzzy"`
	// Concepts maps each concept the rules know (self, desire, die, means,
	// ingest, ...) to its words and phrases, matched on stems.
	Concepts map[string][]string `yaml:"concepts"`
	// WordForms are the concepts whose entries match words as written
	// (after normalisation, slang and typo correction), not their stems:
	// for ingestion the form is the point, and stems merge "downed" with
	// "down", "necked" with "neck", "emptied" with "empty" and "packed"
	// with "pack".
	WordForms []string `yaml:"word_forms"`
	// Ignore are regular expressions for figures of speech ("this pain is
	// killing me"); matching text is blanked out before concepts are tagged.
	Ignore []string `yaml:"ignore"`
	// Context says how far back a patient's cues add up.
	Context struct {
		Messages int `yaml:"messages"`
		Minutes  int `yaml:"minutes"`
	} `yaml:"context"`
	// MedicalAdvice lists requests a clinician must answer.
	MedicalAdvice struct {
		Words map[string]string `yaml:"words"`
		Rules []AdviceRule      `yaml:"rules"`
	} `yaml:"medical_advice"`
}

// AdviceRule is one kind of medical-advice request and its patterns.
type AdviceRule struct {
	Kind     string   `yaml:"kind"`
	Patterns []string `yaml:"patterns"`
}

// Advice kinds the shipped lexicon uses.
const (
	AdviceDose             = "dose"
	AdviceMedicationChange = "medication_change"
	AdviceDiagnosis        = "diagnosis"
	AdvicePrescription     = "prescription"
	AdvicePersonalVerdict  = "personal_verdict"
)

// Detector reads risk in text. It is safe for concurrent use.
type Detector struct {
	replace map[string][]string
	fuzzy   []string
	// concepts are the concept phrases by their first stem.
	concepts map[string][]phrase
	ignore   []figure
	advice   []advicePattern
	model    *classifier
	clusters map[string]wordCluster
	window   Window
}

// figure is a figure-of-speech pattern and the words one of which any match
// contains: a clause with none of them is not run through the pattern (a
// fast path; nil keys means always run).
type figure struct {
	re   *regexp.Regexp
	keys []string
}

var (
	regexWord = regexp.MustCompile(`[a-z]{3,}`)
	// stopKeys are too common to tell anything; a pattern whose words are
	// all among them always runs.
	stopKeys = map[string]bool{"the": true, "and": true, "for": true, "you": true, "are": true, "was": true, "his": true, "her": true,
		"its": true, "not": true, "but": true, "can": true, "has": true, "had": true, "him": true, "she": true, "that": true, "this": true,
		"what": true, "with": true, "from": true, "have": true, "your": true, "our": true, "they": true, "them": true, "one": true}
)

// keywords lists words one of which every match of the pattern src
// contains, or nil when it cannot tell (the pattern then always runs). It
// reads the parsed pattern: an alternative needs a word from each branch,
// a sequence the most telling word set of its parts, and optional parts
// give none ("hang(ing)?" needs "hang", never "ing").
func keywords(src string) []string {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	keys, ok := required(re.Simplify())
	if !ok {
		return nil
	}
	return keys
}

// required is keywords over a parsed pattern: ok says every match of re
// contains one of keys.
func required(re *syntax.Regexp) (keys []string, ok bool) {
	if keys, ok = requiredParts(re); ok {
		return keys, true
	}
	// A part that matches a few strings only ("d(?:ie(?:d)?|ying|ead)", as
	// the parser factors "die|died|dying|dead") needs a word of each.
	all, fin := expand(re)
	if !fin {
		return nil, false
	}
	seen := map[string]bool{}
	for _, w := range all {
		k, kok := wordKey(w)
		if !kok {
			return nil, false
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, true
}

// requiredParts is required read from the pattern's structure alone.
func requiredParts(re *syntax.Regexp) (keys []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		if k, ok := wordKey(string(re.Rune)); ok {
			return []string{k}, true
		}
		return nil, false
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil, false
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			k, ok := required(sub)
			if !ok {
				return nil, false
			}
			keys = append(keys, k...)
		}
		return keys, true
	case syntax.OpConcat:
		// Every part is in every match: take the part whose words are most
		// telling (the shortest of them longest, then the fewest).
		for _, sub := range re.Sub {
			k, kok := required(sub)
			if !kok {
				continue
			}
			if !ok || better(k, keys) {
				keys, ok = k, true
			}
		}
		return keys, ok
	}
	return nil, false
}

// wordKey is the longest run of letters in w that tells something (three
// letters or more, not a stop word): what a match of w needs.
func wordKey(w string) (string, bool) {
	best := ""
	for _, part := range regexWord.FindAllString(w, -1) {
		if len(part) > len(best) && !stopKeys[part] {
			best = part
		}
	}
	return best, best != ""
}

// expandMax bounds how many strings expand lists.
const expandMax = 64

// expand lists the strings re matches when they are few (a word boundary
// matches the empty string); fin is false otherwise.
func expand(re *syntax.Regexp) (all []string, fin bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		return []string{""}, true
	case syntax.OpCapture:
		return expand(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := expand(re.Sub[0])
		return append(sub, ""), ok && len(sub) < expandMax
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			a, ok := expand(sub)
			if !ok || len(all)+len(a) > expandMax {
				return nil, false
			}
			all = append(all, a...)
		}
		return all, true
	case syntax.OpConcat:
		all = []string{""}
		for _, sub := range re.Sub {
			a, ok := expand(sub)
			if !ok || len(all)*len(a) > expandMax {
				return nil, false
			}
			var next []string
			for _, x := range all {
				for _, y := range a {
					next = append(next, x+y)
				}
			}
			all = next
		}
		return all, true
	}
	return nil, false
}

// better reports whether key set a filters more than b.
func better(a, b []string) bool {
	short := func(ks []string) int {
		n := 1 << 30
		for _, k := range ks {
			n = min(n, len(k))
		}
		return n
	}
	if sa, sb := short(a), short(b); sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

func (f figure) mayMatch(s string) bool {
	if f.keys == nil {
		return true
	}
	for _, k := range f.keys {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

type advicePattern struct {
	kind string
	re   *regexp.Regexp
}

// AdviceMatch says a text asks for medical advice, and of which kind.
type AdviceMatch struct {
	Kind string // "" when the text is not such a request
	Rule string // "dose:2", for logs
}

// Load reads the lexicon name in fsys.
func Load(fsys fs.FS, name string) (*Detector, error) {
	var lx Lexicon
	doc, err := content.ReadFile(fsys, name, &lx)
	if err != nil {
		return nil, err
	}
	return compile(doc, lx, true)
}

// LoadRules reads the lexicon without the classifier: for the generator
// that trains it.
func LoadRules(fsys fs.FS, name string) (*Detector, error) {
	var lx Lexicon
	doc, err := content.ReadFile(fsys, name, &lx)
	if err != nil {
		return nil, err
	}
	return compile(doc, lx, false)
}

// Parse builds a detector from lexicon source; name is used in problems.
func Parse(name string, src []byte) (*Detector, error) {
	var lx Lexicon
	doc, err := content.Decode(name, src, &lx)
	if err != nil {
		return nil, err
	}
	return compile(doc, lx, true)
}

func compile(doc *content.Doc, lx Lexicon, withModel bool) (*Detector, error) {
	var ps content.Problems
	d := &Detector{replace: map[string][]string{}}
	for k, v := range lx.Replace {
		key := strings.Join(Normalize(k), " ")
		if strings.Contains(key, " ") || key == "" {
			ps = append(ps, doc.Problem("$.replace."+k, "replace key %q must be a single word", k))
			continue
		}
		d.replace[key] = Normalize(v)
	}
	for i, w := range lx.Fuzzy {
		n := Normalize(w)
		if len(n) != 1 || len(n[0]) < 5 {
			ps = append(ps, doc.Problem(fmt.Sprintf("$.fuzzy[%d]", i), "fuzzy word %q must be a single word of five letters or more", w))
			continue
		}
		d.fuzzy = append(d.fuzzy, n[0])
	}
	re := func(list []string, key string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for i, p := range list {
			r, err := regexp.Compile(strings.ToLower(p))
			if err != nil {
				ps = append(ps, doc.Problem(fmt.Sprintf("$.%s[%d]", key, i), "pattern does not compile: %v", err))
				continue
			}
			out = append(out, r)
		}
		return out
	}
	// Concept entries are read as patients' words are (replacements, typo
	// correction, stems), before figures of speech are known.
	d.concepts = map[string][]phrase{}
	names := make([]string, 0, len(lx.Concepts))
	for name := range lx.Concepts {
		names = append(names, name)
	}
	sort.Strings(names)
	asWritten := map[string]bool{}
	for i, name := range lx.WordForms {
		if _, ok := lx.Concepts[name]; !ok {
			ps = append(ps, doc.Problem(fmt.Sprintf("$.word_forms[%d]", i), "no concept %q", name))
		}
		asWritten[name] = true
	}
	for _, name := range names {
		c, err := conceptOf(name)
		if err != nil {
			ps = append(ps, doc.Problem("$.concepts."+name, "%v", err))
			continue
		}
		for i, entry := range lx.Concepts[name] {
			toks := d.tokens(entry)
			if len(toks) == 0 {
				ps = append(ps, doc.Problem(fmt.Sprintf("$.concepts.%s[%d]", name, i), "empty entry"))
				continue
			}
			p := phrase{c: c}
			for _, t := range toks {
				p.stems = append(p.stems, t.stem)
				if asWritten[name] {
					p.words = append(p.words, t.word)
				}
			}
			d.concepts[p.stems[0]] = append(d.concepts[p.stems[0]], p)
		}
	}
	for _, need := range []concept{cSelf, cDesire, cDie, cSuicide, cMeans, cIngest, cNegation, cQuestion, cOther} {
		if len(lx.Concepts[conceptNames[need]]) == 0 {
			ps = append(ps, doc.Problem("$.concepts", "concept %q has no words; the rules need it", conceptNames[need]))
		}
	}
	for _, r := range re(lx.Ignore, "ignore") {
		d.ignore = append(d.ignore, figure{re: r, keys: keywords(r.String())})
	}
	d.window = Window{Messages: lx.Context.Messages, Age: time.Duration(lx.Context.Minutes) * time.Minute}
	if d.window.Messages <= 0 {
		d.window.Messages = 5
	}
	if d.window.Age <= 0 {
		d.window.Age = 30 * time.Minute
	}
	wc, err := loadClusters()
	if err != nil {
		ps = append(ps, content.Problem{File: "internal/safety/wordclusters.bin", Msg: err.Error()})
	}
	d.clusters = wc
	if withModel {
		m, err := loadClassifier()
		if err != nil {
			ps = append(ps, content.Problem{File: "internal/safety/" + weightsFile, Msg: err.Error()})
		}
		d.model = m
	}
	wordRef := regexp.MustCompile(`\{([a-z_]+)\}`)
	for i, rule := range lx.MedicalAdvice.Rules {
		path := fmt.Sprintf("$.medical_advice.rules[%d]", i)
		if rule.Kind == "" || len(rule.Patterns) == 0 {
			ps = append(ps, doc.Problem(path, "a medical_advice rule needs a kind and patterns"))
			continue
		}
		for j, p := range rule.Patterns {
			ppath := fmt.Sprintf("%s.patterns[%d]", path, j)
			expanded := wordRef.ReplaceAllStringFunc(p, func(ref string) string {
				name := ref[1 : len(ref)-1]
				alts, ok := lx.MedicalAdvice.Words[name]
				if !ok {
					ps = append(ps, doc.Problem(ppath, "pattern uses {%s}, which medical_advice.words does not define", name))
					return ref
				}
				return "(?:" + alts + ")"
			})
			r, err := regexp.Compile(strings.ToLower(expanded))
			if err != nil {
				ps = append(ps, doc.Problem(ppath, "pattern does not compile: %v", err))
				continue
			}
			d.advice = append(d.advice, advicePattern{kind: rule.Kind, re: r})
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Advice reports whether text asks for something only a clinician may answer:
// a dose, a medication change, a diagnosis, a prescription, or a verdict on the
// patient's own condition.
func (d *Detector) Advice(text string) AdviceMatch {
	s := " " + strings.Join(Normalize(text), " ") + " "
	count := map[string]int{}
	for _, p := range d.advice {
		if p.re.MatchString(s) {
			return AdviceMatch{Kind: p.kind, Rule: fmt.Sprintf("%s:%d", p.kind, count[p.kind])}
		}
		count[p.kind]++
	}
	return AdviceMatch{}
}

// correct maps a word within one typo of a fuzzy key word to that word.
func (d *Detector) correct(w string) string {
	if len(w) < 5 {
		return w
	}
	for _, f := range d.fuzzy {
		if w == f {
			return w
		}
	}
	for _, f := range d.fuzzy {
		if withinOneEdit(w, f) {
			return f
		}
	}
	return w
}

// numberUnits are the units written against a number ("100mg", "2am").
var numberUnits = map[string]bool{"mg": true, "mgs": true, "ml": true, "mcg": true, "g": true, "am": true, "pm": true, "min": true,
	"mins": true, "hr": true, "hrs": true, "h": true, "x": true, "lbs": true, "kg": true, "yr": true, "yrs": true, "k": true}

// Normalize lowercases text, undoes common letter-for-digit swaps ("k1ll"),
// drops apostrophes ("don't" -> "dont"), turns other punctuation into spaces and
// shortens runs of three or more of one letter ("soooo" -> "so"); the same is
// done to the lexicon, so both meet in the middle. It returns the words.
// unaccent folds the accented letters of the languages patients of a US
// clinic most often write in (Spanish, French, Portuguese, Polish, German,
// Tagalog) to the plain letter, so safety.yaml lists each word once.
var unaccent = func() map[rune]rune {
	m := map[rune]rune{}
	for plain, accented := range map[rune]string{
		'a': "áàâäãåą", 'c': "çć", 'e': "éèêëę", 'i': "íìîï", 'l': "ł", 'n': "ñń",
		'o': "óòôöõ", 's': "ś", 'u': "úùûü", 'y': "ýÿ", 'z': "źż",
	} {
		for _, r := range accented {
			m[r] = plain
		}
	}
	return m
}()

func Normalize(text string) []string {
	var b strings.Builder
	for _, f := range strings.Fields(strings.ToLower(text)) {
		b.WriteString(unleet(f))
		b.WriteByte(' ')
	}
	var clean strings.Builder
	for _, r := range b.String() {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if a, ok := unaccent[r]; ok {
				r = a // "tomé" is read as "tome", as many type it
			}
			clean.WriteRune(r)
		default:
			clean.WriteByte(' ')
		}
	}
	words := joinSpelled(strings.Fields(clean.String()))
	for i, w := range words {
		words[i] = collapseRuns(w)
	}
	return words
}

// joinSpelled joins words spelled out letter by letter ("k i l l") when three
// or more single letters stand in a row.
func joinSpelled(words []string) []string {
	out := words[:0:0]
	for i := 0; i < len(words); {
		j := i
		for j < len(words) && len([]rune(words[j])) == 1 && unicode.IsLetter([]rune(words[j])[0]) {
			j++
		}
		if j-i >= 3 {
			out = append(out, strings.Join(words[i:j], ""))
			i = j
			continue
		}
		out = append(out, words[i])
		i++
	}
	return out
}

// unleet maps digits and symbols used as letters, but only inside words that
// also have letters, so "988" and "10" stay numbers.
func unleet(w string) string {
	hasLetter := strings.IndexFunc(w, unicode.IsLetter) >= 0
	if !hasLetter {
		return w
	}
	// A number with its unit ("100mg", "2am", "20min") is a number and a
	// unit, not leetspeak ("100mg" is not "ioomg").
	if i := strings.IndexFunc(w, func(r rune) bool { return r < '0' || r > '9' }); i > 0 {
		j := i
		for j < len(w) && w[j] >= 'a' && w[j] <= 'z' {
			j++
		}
		if numberUnits[w[i:j]] {
			return w[:i] + " " + w[i:]
		}
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '0':
			return 'o'
		case '1':
			return 'i'
		case '3':
			return 'e'
		case '4', '@':
			return 'a'
		case '5', '$':
			return 's'
		case '7':
			return 't'
		}
		return r
	}, w)
}

// collapseRuns shortens a run of three or more of one letter to one
// ("soooo" -> "so", "pleaseee" -> "please"); English words never have such
// runs, so ordinary words keep their double letters and stem correctly.
func collapseRuns(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); {
		j := i
		for j < len(r) && r[j] == r[i] {
			j++
		}
		if j-i >= 3 && unicode.IsLetter(r[i]) {
			b.WriteRune(r[i])
		} else {
			b.WriteString(string(r[i:j]))
		}
		i = j
	}
	return b.String()
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent letters.
func withinOneEdit(a, b string) bool {
	// Most pairs differ in length by more than one: tell without copying.
	if n := utf8.RuneCountInString(a) - utf8.RuneCountInString(b); n > 1 || n < -1 {
		return false
	}
	ra, rb := []rune(a), []rune(b)
	la, lb := len(ra), len(rb)
	if la-lb > 1 || lb-la > 1 {
		return false
	}
	i := 0
	for i < la && i < lb && ra[i] == rb[i] {
		i++
	}
	if i == la && i == lb {
		return true
	}
	switch {
	case la == lb:
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true
		}
		return i+1 < la && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	case la > lb:
		return string(ra[i+1:]) == string(rb[i:])
	default:
		return string(ra[i:]) == string(rb[i+1:])
	}
}
