package faq

import (
	"math"
	"strings"
)

// classifier is a softmax regression over a question's words and word pairs,
// trained when the index is built on the bank's paraphrases (and each entry's
// title and example questions). Its classes are the entries, then off-topic,
// then feelings. It sees what word overlap cannot: that "how long until I
// notice" is about onset while "how long is the series" is about the course.
type classifier struct {
	feat   map[string]int
	nClass int
	w      []float64 // feature-major: w[f*nClass+c]
	b      []float64
}

const (
	clfEpochs = 25
	clfRate   = 0.4
	clfL2     = 1e-5
)

type example struct {
	feats []int
	class int
}

// pairFeatures are word pairs with stopwords kept ("how long", "feel like"),
// after phrases and synonyms, stemmed.
func (a analyzer) pairFeatures(text string) []string {
	ws := a.syn.replacePhrases(words(text))
	for i, w := range ws {
		if g, ok := a.syn.words[w]; ok {
			w = g
		}
		ws[i] = a.stem(w)
	}
	var out []string
	prev := "^"
	for _, w := range ws {
		out = append(out, prev+" "+w)
		prev = w
	}
	return out
}

// featureNames are the classifier's features of a question whose analysed
// (and typo-corrected) terms are terms.
func (ix *Index) featureNames(text string, terms []string) []string {
	out := make([]string, 0, 2*len(terms)+8)
	for _, t := range terms {
		out = append(out, "u:"+t)
	}
	for _, p := range ix.an.pairFeatures(text) {
		out = append(out, "b:"+p)
	}
	return out
}

// train fits the classifier by stochastic gradient descent in a fixed order,
// so the same content always gives the same weights.
func (ix *Index) train(texts []string, classes []int, nClass int) {
	c := &classifier{feat: map[string]int{}, nClass: nClass}
	exs := make([]example, len(texts))
	for i, t := range texts {
		seen := map[int]bool{}
		for _, name := range ix.featureNames(t, ix.an.terms(t)) {
			id, ok := c.feat[name]
			if !ok {
				id = len(c.feat)
				c.feat[name] = id
			}
			if !seen[id] {
				seen[id] = true
				exs[i].feats = append(exs[i].feats, id)
			}
		}
		exs[i].class = classes[i]
	}
	c.w = make([]float64, len(c.feat)*nClass)
	c.b = make([]float64, nClass)
	p := make([]float64, nClass)
	g := make([]float64, nClass)
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
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
			ex := exs[ei]
			if len(ex.feats) == 0 {
				continue
			}
			val := 1 / math.Sqrt(float64(len(ex.feats)))
			c.probs(ex.feats, val, p)
			for k := range p {
				g[k] = p[k]
				if k == ex.class {
					g[k] -= 1
				}
				c.b[k] -= rate * g[k]
			}
			// Each weight's update depends only on itself and g, so going
			// feature by feature (one row of the weights at a time) gives
			// the same weights as class by class, faster.
			for _, f := range ex.feats {
				row := c.w[f*nClass : (f+1)*nClass]
				for k, gk := range g {
					row[k] -= rate * (gk*val + clfL2*row[k])
				}
			}
		}
	}
	ix.clf = c
}

// probs fills p with the class probabilities of the features.
func (c *classifier) probs(feats []int, val float64, p []float64) {
	copy(p, c.b)
	for _, f := range feats {
		row := c.w[f*c.nClass : (f+1)*c.nClass]
		for k, w := range row {
			p[k] += w * val
		}
	}
	hi := math.Inf(-1)
	for _, v := range p {
		hi = max(hi, v)
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

// classify returns the class probabilities of a question (all zero when
// the index has no classifier).
func (ix *Index) classify(text string, terms []qterm) []float64 {
	c := ix.clf
	if c == nil {
		return make([]float64, len(ix.docs)+2)
	}
	ts := make([]string, len(terms))
	for i, q := range terms {
		ts[i] = q.term
	}
	var feats []int
	seen := map[int]bool{}
	for _, name := range ix.featureNames(text, ts) {
		if id, ok := c.feat[name]; ok && !seen[id] {
			seen[id] = true
			feats = append(feats, id)
		}
	}
	p := make([]float64, c.nClass)
	if len(feats) == 0 {
		return p
	}
	c.probs(feats, 1/math.Sqrt(float64(len(feats))), p)
	return p
}

// trainingSet is the classifier's examples: the kept bank rows for an
// entry, off-topic or feelings, and each entry's title and example questions.
func (ix *Index) trainingSet(keep func(int) bool) (texts []string, classes []int) {
	nE := len(ix.kb.Entries)
	for i, e := range ix.kb.Entries {
		texts = append(texts, e.Title)
		classes = append(classes, i)
		for _, q := range e.Questions {
			texts = append(texts, q)
			classes = append(classes, i)
		}
	}
	for i, r := range ix.kb.Bank {
		if keep != nil && !keep(i) {
			continue
		}
		cl := -1
		switch {
		case r.Label == LabelOffTopic:
			cl = nE
		case r.Label == LabelFeeling:
			cl = nE + 1
		case r.Label == LabelSocial:
			cl = nE + 2
		default:
			if pos, ok := ix.entryPos[r.Entry()]; ok {
				cl = pos
			}
		}
		if cl >= 0 && strings.TrimSpace(r.Text) != "" {
			texts = append(texts, r.Text)
			classes = append(classes, cl)
		}
	}
	return texts, classes
}
