package faq

import (
	"math"
	"sort"
	"strings"
)

// Field weights: the title and example questions say what an entry is about
// more reliably than the words of its answer.
var fieldWeights = [numFields]float64{fieldTitle: 3, fieldQuestions: 2.5, fieldTags: 2.5, fieldBody: 1}

const (
	fieldTitle = iota
	fieldQuestions
	fieldTags
	fieldBody
	numFields
)

const (
	bm25K1 = 1.2
	bm25B  = 0.6
)

// Index is an in-memory BM25F index over a knowledge base. It is immutable and
// safe for concurrent use.
type Index struct {
	kb     *KB
	an     analyzer
	docs   []doc
	df     map[string]int
	avgLen [numFields]float64
	// topic holds the terms of titles, questions and tags: a question sharing
	// none of them is off-topic rather than an unanswered on-topic question.
	topic map[string]bool
	vocab []string
}

type doc struct {
	tf  [numFields]map[string]int
	len [numFields]int
}

// Hit is one retrieved entry.
type Hit struct {
	Entry *Entry
	Score float64 // confidence in [0, 1]
}

// Result is a retrieval verdict.
type Result struct {
	Hits     []Hit // best first
	OffTopic bool  // the question shares no topic words with the knowledge base
}

// NewIndex indexes kb with the synonym groups.
func NewIndex(kb *KB, syn Synonyms) *Index {
	ix := &Index{kb: kb, an: analyzer{syn: syn}, df: map[string]int{}, topic: map[string]bool{}}
	var total [numFields]int
	for _, e := range kb.Entries {
		var d doc
		texts := [numFields]string{e.Title, strings.Join(e.Questions, " "), strings.Join(e.Tags, " "), e.Body}
		seen := map[string]bool{}
		for f, text := range texts {
			d.tf[f] = map[string]int{}
			for _, t := range ix.an.terms(text) {
				d.tf[f][t]++
				d.len[f]++
				if !seen[t] {
					seen[t] = true
					ix.df[t]++
				}
				if f != fieldBody {
					ix.topic[t] = true
				}
			}
			total[f] += d.len[f]
		}
		ix.docs = append(ix.docs, d)
	}
	for f := range total {
		ix.avgLen[f] = math.Max(1, float64(total[f])/float64(max(1, len(kb.Entries))))
	}
	for t := range ix.df {
		ix.vocab = append(ix.vocab, t)
	}
	sort.Strings(ix.vocab)
	return ix
}

func (ix *Index) idf(t string) float64 {
	n := float64(len(ix.docs))
	df := float64(ix.df[t])
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// maxIDF is the weight of a word no entry has: it counts against confidence
// as much as the rarest known word would count for it.
func (ix *Index) maxIDF() float64 {
	return math.Log(1 + (float64(len(ix.docs))+0.5)/1.5)
}

type qterm struct {
	term   string
	weight float64 // 1 for an exact term, less for a typo correction
}

// query analyses a question, correcting typos against the vocabulary.
func (ix *Index) query(text string) (terms []qterm, unknownMass float64) {
	seen := map[string]bool{}
	for _, t := range ix.an.terms(text) {
		if seen[t] {
			continue
		}
		seen[t] = true
		if _, ok := ix.df[t]; ok {
			terms = append(terms, qterm{t, 1})
			continue
		}
		if c := ix.correct(t); c != "" && !seen[c] {
			seen[c] = true
			terms = append(terms, qterm{c, 0.8})
			continue
		}
		unknownMass += ix.maxIDF()
	}
	return terms, unknownMass
}

// correct finds the vocabulary term closest to t: one edit for terms of five
// letters or more, two for eight or more. Ties go to the more common term.
// Shorter words are left alone: one edit turns "song" into "long".
func (ix *Index) correct(t string) string {
	maxD := 0
	switch {
	case len(t) >= 8:
		maxD = 2
	case len(t) >= 5:
		maxD = 1
	default:
		return ""
	}
	best, bestD, bestDF := "", maxD+1, 0
	for _, v := range ix.vocab {
		if abs(len(v)-len(t)) > maxD {
			continue
		}
		d := editDistance(t, v, maxD)
		if d < bestD || (d == bestD && ix.df[v] > bestDF) {
			best, bestD, bestDF = v, d, ix.df[v]
		}
	}
	if bestD > maxD {
		return ""
	}
	return best
}

// Search ranks entries for a question. An entry's confidence is the share of
// the question's weight (idf, with unknown words counting against it) that the
// entry matches, each matched word tempered by BM25 saturation.
func (ix *Index) Search(question string, k int) Result {
	terms, unknown := ix.query(question)
	var r Result
	onTopic := false
	for _, q := range terms {
		if ix.topic[q.term] {
			onTopic = true
		}
	}
	if !onTopic {
		r.OffTopic = true
		return r
	}
	mass := unknown
	for _, q := range terms {
		mass += ix.idf(q.term) * q.weight
	}
	for i, d := range ix.docs {
		var s float64
		for _, q := range terms {
			var tf float64
			for f := 0; f < numFields; f++ {
				if n := d.tf[f][q.term]; n > 0 {
					norm := 1 - bm25B + bm25B*float64(d.len[f])/ix.avgLen[f]
					tf += fieldWeights[f] * float64(n) / norm
				}
			}
			if tf > 0 {
				s += q.weight * ix.idf(q.term) * tf / (tf + bm25K1)
			}
		}
		if s > 0 {
			r.Hits = append(r.Hits, Hit{Entry: ix.kb.Entries[i], Score: s / mass})
		}
	}
	sort.SliceStable(r.Hits, func(i, j int) bool { return r.Hits[i].Score > r.Hits[j].Score })
	if k > 0 && len(r.Hits) > k {
		r.Hits = r.Hits[:k]
	}
	return r
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the optimal-string-alignment distance, giving up early once
// it exceeds limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Threshold is the confidence below which retrieval says "I don't know"
// rather than offer the nearest entry. Set from the shipped evaluation table
// (internal/faq/testdata): off-topic questions score below 0.17, and nearly
// all on-topic questions well above.
const Threshold = 0.2

// Verdict kinds.
const (
	KindAnswer   = "answer"
	KindUnknown  = "unknown"
	KindOffTopic = "offtopic"
)

// Verdict is retrieval's decision on a question.
type Verdict struct {
	Kind  string
	Hits  []Hit // up to three, best first
	Score float64
}

// Best returns the best entry, or nil.
func (v Verdict) Best() *Entry {
	if len(v.Hits) == 0 {
		return nil
	}
	return v.Hits[0].Entry
}

// Decide retrieves and applies the threshold.
func (ix *Index) Decide(question string) Verdict {
	r := ix.Search(question, 3)
	v := Verdict{Hits: r.Hits}
	switch {
	case r.OffTopic:
		v.Kind = KindOffTopic
	case len(r.Hits) == 0 || r.Hits[0].Score < Threshold:
		v.Kind = KindUnknown
	default:
		v.Kind = KindAnswer
	}
	if len(r.Hits) > 0 {
		v.Score = r.Hits[0].Score
	}
	return v
}
