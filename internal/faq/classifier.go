package faq

import (
	"math"
	"strings"
)

// classifier is a softmax regression over a question's words and word pairs,
// trained when the index is built on the bank's paraphrases (and each entry's
// title and example questions). Its classes are the entries, then off-topic,
// feelings, thanks and goodbyes, and requests only a clinician may answer
// (the bank's deflect: rows). It sees what word overlap cannot: that "how long until I
// notice" is about onset while "how long is the series" is about the course.
type classifier struct {
	feat map[feature]int
	main linear
	// topic reads, for a request only a clinician may answer, which
	// entry's general facts fit it (the bank's deflect:ENTRY rows; the
	// last class is none): trained on those rows alone, over the same
	// features.
	topic linear
}

// linear is a softmax regression's weights over the classifier's features.
type linear struct {
	nClass int
	w      []float32 // feature-major: w[f*nClass+c]; float32 halves the memory the training walks
	b      []float64
}

// Training settings, chosen by cross-validation on the bank (4,650 lines):
// 8 passes at a rate of 1 read it as well as 25 at 0.4 did (top-1 87.7%
// against 87.9%) in a third of the time (at 5,847 lines, 6 or 7 passes
// gave as good a top-1 but answered 5 statements of feelings with an
// entry, where 8 answer 3); and an L2 of 1e-3 answers fewer
// questions with the wrong entry than 1e-5 did.
var (
	clfEpochs = 8
	clfRate   = 1.0
	clfL2     = 1e-3
	// clfSure: an example its class already has at this probability is
	// not updated (its gradient is all but zero).
	clfSure     = 0.995
	clfMinCount = 2
)

// numExtraClasses are the classes after the entries: off-topic, feelings,
// thanks and goodbyes, requests only a clinician may answer.
const numExtraClasses = 4

type example struct {
	feats []int
	class int
}

// A feature is an index term (second empty) or a pair of adjacent words,
// the first "^" at the start: a struct of two strings, so naming the
// features of the whole bank concatenates no strings.
type feature struct{ first, second string }

// featureNames are the classifier's features of a question whose analysed
// (and typo-corrected) terms are terms: the terms, then the word pairs with
// stopwords kept ("how long", "feel like"), after phrases and synonyms,
// stemmed.
func (a analyzer) featureNames(text string, terms []string) []feature {
	ws := a.phrased(text)
	out := make([]feature, 0, len(terms)+len(ws))
	for _, t := range terms {
		out = append(out, feature{first: t})
	}
	prev := "^"
	for _, w := range ws {
		if g, ok := a.syn.words[w]; ok {
			w = g
		}
		w = a.stem(w)
		out = append(out, feature{prev, w})
		prev = w
	}
	return out
}

// numberFeatures numbers the feature names of the examples: a feature is
// kept when at least clfMinCount examples have it (one seen once teaches
// nothing beyond its example; cross-validated on the bank, dropping them
// left top-1 as it was). Names are numbered once (all), counted per
// example, then the kept ones renumbered densely in first-seen order. It
// returns the numbering and each example's features.
func numberFeatures(names [][]feature) (map[feature]int, [][]int) {
	all := make(map[feature]int, 8*len(names))
	var count []int
	last := []int{} // the example that last counted each name
	raw := make([][]int, len(names))
	for i := range names {
		for _, name := range names[i] {
			id, ok := all[name]
			if !ok {
				id = len(all)
				all[name] = id
				count = append(count, 0)
				last = append(last, -1)
			}
			if last[id] != i {
				last[id] = i
				count[id]++
				raw[i] = append(raw[i], id)
			}
		}
	}
	dense := make([]int, len(all))
	for id := range dense {
		dense[id] = -1
		if count[id] >= clfMinCount {
			dense[id] = -2 // numbered below, in first-seen order
		}
	}
	next := 0
	for i := range raw {
		for _, id := range raw[i] {
			if dense[id] == -2 {
				dense[id] = next
				next++
			}
		}
	}
	feat := make(map[feature]int, next)
	for name, id := range all {
		if dense[id] >= 0 {
			feat[name] = dense[id]
		}
	}
	exs := make([][]int, len(names))
	for i := range raw {
		for _, id := range raw[i] {
			if d := dense[id]; d >= 0 {
				exs[i] = append(exs[i], d)
			}
		}
	}
	return feat, exs
}

// fit trains a softmax regression on examples (each a list of features
// numbered below nFeat) with their classes (those below 0 are left out), by
// stochastic gradient descent in a fixed order, so the same content always
// gives the same weights.
func fit(exs [][]int, classes []int, nClass, nFeat int) linear {
	m := linear{nClass: nClass, w: make([]float32, nFeat*nClass), b: make([]float64, nClass)}
	p := make([]float64, nClass)
	g := make([]float64, nClass)
	var order []int
	for i, c := range classes {
		if c >= 0 {
			order = append(order, i)
		}
	}
	seed := uint32(2463534242)
	for ep := 0; ep < clfEpochs; ep++ {
		for i := len(order) - 1; i > 0; i-- { // xorshift shuffle, fixed seed
			seed ^= seed << 13
			seed ^= seed >> 17
			seed ^= seed << 5
			j := int(seed % uint32(i+1))
			order[i], order[j] = order[j], order[i]
		}
		rate := clfRate / (1 + float64(ep)/10)
		for _, ei := range order {
			feats, class := exs[ei], classes[ei]
			if len(feats) == 0 {
				continue
			}
			val := 1 / math.Sqrt(float64(len(feats)))
			m.probs(feats, val, p)
			if p[class] > clfSure {
				continue // the gradient is all but zero
			}
			for k := range p {
				g[k] = p[k]
				if k == class {
					g[k] -= 1
				}
				m.b[k] -= rate * g[k]
			}
			// Each weight's update depends only on itself and g, so going
			// feature by feature (one row of the weights at a time) gives
			// the same weights as class by class, faster.
			decay, step := 1-rate*clfL2, rate*val
			for _, f := range feats {
				row := m.w[f*nClass : (f+1)*nClass]
				for k, gk := range g {
					row[k] = float32(float64(row[k])*decay - step*gk)
				}
			}
		}
	}
	return m
}

// probs fills p with the class probabilities of the features.
// The rows are summed first and scaled once (every feature of a question
// has the same value).
func (m *linear) probs(feats []int, val float64, p []float64) {
	p = p[:m.nClass]
	clear(p)
	for _, f := range feats {
		row := m.w[f*m.nClass : (f+1)*m.nClass]
		for k, w := range row {
			p[k] += float64(w)
		}
	}
	hi := math.Inf(-1)
	for k, v := range p {
		p[k] = m.b[k] + v*val
		hi = max(hi, p[k])
	}
	var sum float64
	for k, v := range p {
		p[k] = math.Exp(v - hi)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
}

// classify returns the class probabilities of a question, and the
// topic probabilities it would have as a request only a clinician may
// answer (all zero when the index has no classifier).
func (ix *Index) classify(text string, terms []qterm) (probs, topic []float64) {
	c := ix.clf
	probs = make([]float64, len(ix.docs)+numExtraClasses)
	topic = make([]float64, len(ix.docs)+1)
	if c == nil {
		return probs, topic
	}
	ts := make([]string, len(terms))
	for i, q := range terms {
		ts[i] = q.term
	}
	var feats []int
	seen := map[int]bool{}
	for _, name := range ix.an.featureNames(text, ts) {
		if id, ok := c.feat[name]; ok && !seen[id] {
			seen[id] = true
			feats = append(feats, id)
		}
	}
	if len(feats) == 0 {
		return probs, topic
	}
	val := 1 / math.Sqrt(float64(len(feats)))
	c.main.probs(feats, val, probs)
	if c.topic.nClass > 0 {
		c.topic.probs(feats, val, topic)
	}
	return probs, topic
}

// trainingSet is the classifier's examples: the kept bank rows for an
// entry, off-topic, feelings, thanks and goodbyes, and requests only a
// clinician may answer, and each entry's title and example questions.
func (ix *Index) trainingSet(keep func(int) bool) (texts []string, classes, topics []int) {
	nE := len(ix.kb.Entries)
	for i, e := range ix.kb.Entries {
		texts = append(texts, e.Title)
		classes = append(classes, i)
		topics = append(topics, -1)
		for _, q := range e.Questions {
			texts = append(texts, q)
			classes = append(classes, i)
			topics = append(topics, -1)
		}
	}
	for i, r := range ix.kb.Bank {
		if keep != nil && !keep(i) {
			continue
		}
		cl, topic := -1, -1
		switch {
		case r.Label == LabelOffTopic:
			cl = nE
		case r.Label == LabelFeeling:
			cl = nE + 1
		case r.Label == LabelSocial:
			cl = nE + 2
		case strings.HasPrefix(r.Label, labelDeflect):
			cl, topic = nE+3, nE // none, unless it names an entry
			if pos, ok := ix.entryPos[strings.TrimPrefix(r.Label, labelDeflect)]; ok {
				topic = pos
			}
		default:
			if pos, ok := ix.entryPos[r.Entry()]; ok {
				cl = pos
			}
		}
		if cl >= 0 && strings.TrimSpace(r.Text) != "" {
			texts = append(texts, r.Text)
			classes = append(classes, cl)
			topics = append(topics, topic)
		}
	}
	return texts, classes, topics
}
