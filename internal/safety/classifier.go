package safety

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
)

// The classifier is a linear model (softmax regression) over hashed
// features of a message: stems, stem pairs and the concepts the rules
// tagged. It is trained by gen/ from the labelled
// corpus in testdata/corpus (training part only) and its weights are
// checked in as classifier.bin; `go generate` rebuilds them byte for byte.
//
//go:generate go run ./gen

// weightsFile is the generated model, embedded.
const weightsFile = "classifier.bin"

//go:embed classifier.bin
var weights []byte

// Classes of the classifier.
const (
	classSafe      = 0 // no risk, or a question about the topic
	classRisk      = 1 // crisis or possible risk, for the writer
	classOther     = 2 // someone else at risk
	classEmergency = 3 // an overdose or injury in progress
	numClasses     = 4
)

// riskOf is the classifier's probability that the writer is at risk, in
// crisis or in an emergency.
func riskOf(p [numClasses]float64) float64 { return p[classRisk] + p[classEmergency] }

// concernOf is the classifier's probability that the message is not
// harmless: at risk, in an emergency, or about someone else at risk. A
// rule's reading is lowered to a check only when it is far below what it
// ever was for an at-risk sentence (see classifier.statementAt): "took a
// bunch of my roommates gabapentin idk how many my lips are numb" reads
// partly as someone else's, which is not a reading of harmlessness.
func concernOf(p [numClasses]float64) float64 { return 1 - p[classSafe] }

// emergencyShare is the share of that risk the classifier reads as an
// emergency.
func emergencyShare(p [numClasses]float64) float64 {
	if r := riskOf(p); r > 0 {
		return p[classEmergency] / r
	}
	return 0
}

// fineClasses are the classes the classifier is trained on: the four it
// reports, then one per construct of the corpus listed here, each standing
// for one of the four (a construct not listed trains as its level's
// class). With a class of its own, each kind of harmless sentence that
// shares words with risk (a figure of speech, a means in ordinary life)
// and each kind of risk (a plan, a past attempt) gets weights of its own,
// where one "harmless" class had to outweigh every kind of risk at once.
var fineClasses = []struct {
	construct string
	class     int
}{
	{"", classSafe}, {"", classRisk}, {"", classOther}, {"", classEmergency},
	{"topic_question", classSafe}, {"figure_of_speech", classSafe}, {"benign_means", classSafe},
	{"medication_quantity", classSafe}, {"grief_exposure", classSafe}, {"past_medical", classSafe}, {"feeling", classSafe},
	{"passive_ideation", classRisk}, {"active_ideation", classRisk}, {"method_means", classRisk},
	{"plan_intent_timing", classRisk}, {"preparation", classRisk}, {"past_attempt", classRisk}, {"self_injury", classRisk},
	{"burden_belonging", classRisk}, {"hopeless_entrapment", classRisk}, {"not_safe", classRisk},
	{"slang_euphemism", classRisk}, {"unclear", classRisk},
}

// headClasses: the classifier is two softmax regressions over the same
// features ("heads"), one over the four classes and one over every fine
// class, whose probabilities of the four are averaged. Cross-validated on
// the training part at the same budgets (thresholds set on the pooled
// out-of-fold scores): the four classes alone caught 97.9%, 88.6% at
// crisis or emergency, 549 of 575 overdoses as emergencies, 9.1% false
// checks on the hard harmless sentences; the fine classes alone 97.8%,
// 90.0%, 562 and 10.9% (splitting only the risks gave 89.1% at crisis,
// only the harmless kinds 88.7%); the average 98.2%, 90.5%, 558 and 9.7%,
// false crises the same for all (1.8%).
var headClasses = []int{numClasses, len(fineClasses)}

// maxFine bounds the number of a head's classes (a fixed-size array in
// probs).
const maxFine = 32

// fineClassOf is the fine class a sample trains as.
func fineClassOf(s Sample) int {
	c := classOf(s.Level)
	for k, f := range fineClasses[numClasses:] {
		if f.construct == s.Construct && f.class == c {
			return numClasses + k
		}
	}
	return c
}

const (
	featureBits = 18
	numFeatures = 1 << featureBits
	magic       = "IBSC7"
)

// classifier is the loaded model.
type classifier struct {
	heads []head
	// Thresholds, chosen by the generator on the training part: on the
	// probability of risk (riskOf), crisisAt makes a crisis of any message
	// the classifier reads, agreeAt confirms a cue rule's crisis (see
	// cueRules), checkAt asks; on the probability that it is not harmless
	// (concernOf), statementAt lets any other rule's crisis stand and
	// ruleEmergencyAt a rule's emergency (below them the patient is asked);
	// otherAt is someone else at risk; and emergencyAt, on the share of the
	// risk read as an emergency (emergencyShare), makes a check or a crisis
	// an emergency.
	crisisAt, agreeAt, checkAt, otherAt, emergencyAt, statementAt, ruleEmergencyAt float64
}

// head is one softmax regression of the classifier, over the first n
// fineClasses.
type head struct {
	n int
	// rowOf is each hashed feature's row of weights, -1 for a feature no
	// training sentence gave weight to (not stored); rows holds n int16
	// weights per row, times scale.
	rowOf []int32
	rows  []int16
	scale float32
	bias  []float32
}

func loadClassifier() (*classifier, error) { return decodeClassifier(weights) }

// The weights file: magic, the seven thresholds (float64), the number of
// heads (uint32), then per head its scale (float32), its number of classes
// and of stored rows (uint32), its biases (float32 each), and per row the
// feature (uint32) and the quantised weights (int16 each); little-endian.
func decodeClassifier(b []byte) (*classifier, error) {
	stale := " (run go generate ./internal/safety)"
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, errors.New("not a classifier weights file" + stale)
	}
	r := b[len(magic):]
	truncated := errors.New("classifier weights: truncated" + stale)
	if len(r) < 7*8+4 {
		return nil, truncated
	}
	m := &classifier{}
	for _, t := range []*float64{&m.crisisAt, &m.agreeAt, &m.checkAt, &m.otherAt, &m.emergencyAt, &m.statementAt, &m.ruleEmergencyAt} {
		*t = math.Float64frombits(binary.LittleEndian.Uint64(r))
		r = r[8:]
	}
	nHeads := int(binary.LittleEndian.Uint32(r))
	r = r[4:]
	if nHeads != len(headClasses) {
		return nil, fmt.Errorf("classifier weights: %d heads, want %d%s", nHeads, len(headClasses), stale)
	}
	for hi := 0; hi < nHeads; hi++ {
		if len(r) < 12 {
			return nil, truncated
		}
		h := head{scale: math.Float32frombits(binary.LittleEndian.Uint32(r)), n: int(binary.LittleEndian.Uint32(r[4:]))}
		nRows := int(binary.LittleEndian.Uint32(r[8:]))
		r = r[12:]
		if h.n != headClasses[hi] {
			return nil, fmt.Errorf("classifier weights: head %d has %d classes, want %d%s", hi, h.n, headClasses[hi], stale)
		}
		size := h.n*4 + nRows*(4+2*h.n)
		if len(r) < size {
			return nil, truncated
		}
		h.bias = make([]float32, h.n)
		for k := range h.bias {
			h.bias[k] = math.Float32frombits(binary.LittleEndian.Uint32(r))
			r = r[4:]
		}
		h.rowOf = make([]int32, numFeatures)
		for f := range h.rowOf {
			h.rowOf[f] = -1
		}
		h.rows = make([]int16, nRows*h.n)
		for i := 0; i < nRows; i++ {
			f := binary.LittleEndian.Uint32(r)
			if f >= numFeatures || h.rowOf[f] >= 0 {
				return nil, fmt.Errorf("classifier weights: head %d, row %d has feature %d%s", hi, i, f, stale)
			}
			h.rowOf[f] = int32(i)
			r = r[4:]
			row := h.rows[i*h.n : (i+1)*h.n]
			for k := range row {
				row[k] = int16(binary.LittleEndian.Uint16(r))
				r = r[2:]
			}
		}
		m.heads = append(m.heads, h)
	}
	if len(r) != 0 {
		return nil, fmt.Errorf("classifier weights: %d bytes left over%s", len(r), stale)
	}
	return m, nil
}

// encodeClassifier writes fitted heads' weights, each quantised to int16
// with one scale, leaving out the rows that quantise to zero.
func encodeClassifier(ms []model, th thresholdSet) []byte {
	out := []byte(magic)
	for _, t := range []float64{th.crisisAt, th.agreeAt, th.checkAt, th.otherAt, th.emergencyAt, th.statementAt, th.ruleEmergencyAt} {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(t))
	}
	out = binary.LittleEndian.AppendUint32(out, uint32(len(ms)))
	for _, m := range ms {
		maxAbs := 0.0
		for _, v := range m.w {
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
		scale := float32(maxAbs / 32767)
		if scale == 0 {
			scale = 1
		}
		quant := func(v float64) int16 {
			q := math.Round(v / float64(scale))
			return int16(math.Max(-32767, math.Min(32767, q)))
		}
		var rows []uint32
		for f := 0; f < numFeatures; f++ {
			for _, v := range m.w[f*m.n : (f+1)*m.n] {
				if quant(v) != 0 {
					rows = append(rows, uint32(f))
					break
				}
			}
		}
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(scale))
		out = binary.LittleEndian.AppendUint32(out, uint32(m.n))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(rows)))
		for _, b := range m.b {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(b)))
		}
		for _, f := range rows {
			out = binary.LittleEndian.AppendUint32(out, f)
			for _, v := range m.w[int(f)*m.n : (int(f)+1)*m.n] {
				out = binary.LittleEndian.AppendUint16(out, uint16(quant(v)))
			}
		}
	}
	return out
}

// probs returns the probabilities of the four classes for a message's
// features: each head's softmax added up by the class each of its classes
// stands for, averaged over the heads.
func (m *classifier) probs(feats []uint32) [numClasses]float64 {
	var p [numClasses]float64
	for hi := range m.heads {
		h := &m.heads[hi]
		var sum [maxFine]int32
		for _, f := range feats {
			r := h.rowOf[f]
			if r < 0 {
				continue
			}
			for k, w := range h.rows[int(r)*h.n : (int(r)+1)*h.n] {
				sum[k] += int32(w)
			}
		}
		var z [maxFine]float64
		for k := 0; k < h.n; k++ {
			z[k] = float64(h.bias[k]) + float64(h.scale)*float64(sum[k])
		}
		hp := collapse(z[:h.n])
		for k := range p {
			p[k] += hp[k] / float64(len(m.heads))
		}
	}
	return p
}

// collapse turns a head's logits into the four classes' probabilities.
func collapse(z []float64) [numClasses]float64 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = math.Max(mx, v)
	}
	var p [numClasses]float64
	sum := 0.0
	for k, v := range z {
		e := math.Exp(v - mx)
		p[fineClasses[k].class] += e
		sum += e
	}
	for k := range p {
		p[k] /= sum
	}
	return p
}

// features hashes what the classifier sees of a message: the stems, pairs
// of neighbouring stems, and the concepts of each clause, alone and in
// pairs, and the clusters of its words (see clusters.go). (Character trigrams were tried: on the training part, cross-
// validated, they cost a point of recall and doubled false crisis alarms.) Duplicates are dropped, so the order
// is fixed (sorted).
func (d *Detector) features(cls []clause, toks [][]token) []uint32 {
	out := make([]uint32, 0, 256)
	add := func(h uint32) { out = append(out, h&(numFeatures-1)) }
	for ci, ts := range toks {
		for i, t := range ts {
			add(hashOf(fnvOffset, "w", t.stem))
			if i+1 < len(ts) {
				add(hashOf(fnvOffset, "b", t.stem, ts[i+1].stem))
			}
			if c, ok := d.clusters[t.word]; ok {
				add(hashID("c", c.coarse))
				add(hashID("f", c.fine))
			}
		}
		cl := cls[ci]
		var present [numConcepts]concept
		n := 0
		for c := concept(0); c < numConcepts; c++ {
			if cl.set.has(c) {
				present[n] = c
				n++
			}
		}
		for i := 0; i < n; i++ {
			add(hashOf(fnvOffset, "k", conceptNames[present[i]]))
			for _, b := range present[i+1 : n] {
				add(hashOf(fnvOffset, "kk", conceptNames[present[i]], conceptNames[b]))
			}
		}
		if cl.other {
			add(hashOf(fnvOffset, "other"))
		}
		if cl.question {
			add(hashOf(fnvOffset, "question"))
		}
		if cl.bigNumber {
			add(hashOf(fnvOffset, "number"))
		}
	}
	// Each feature counts once; the order is fixed.
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	k := 0
	for i, f := range out {
		if i == 0 || f != out[k-1] {
			out[k] = f
			k++
		}
	}
	return out[:k]
}

// FNV-1a, 32 bits, computed in place (hash/fnv allocates per use).
const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

func hashByte(h uint32, b byte) uint32 { return (h ^ uint32(b)) * fnvPrime }

// hashID hashes a tag and a small id (a word cluster).
func hashID(tag string, id uint16) uint32 {
	return hashByte(hashByte(hashByte(hashOf(fnvOffset, tag), 0), byte(id)), byte(id>>8))
}

// hashOf hashes parts separated by a zero byte, as hash/fnv would.
func hashOf(h uint32, parts ...string) uint32 {
	for i, p := range parts {
		if i > 0 {
			h = hashByte(h, 0)
		}
		for j := 0; j < len(p); j++ {
			h = hashByte(h, p[j])
		}
	}
	return h
}

// stems caches stemWord for short words, which repeat from message to
// message; it stops growing at stemCacheMax entries, so odd input cannot
// make it grow without bound.
var (
	stems     sync.Map
	stemCount atomic.Int64
)

const stemCacheMax = 50000

// stemWord reduces a word to its Snowball (Porter2) stem.
func stemWord(w string) string {
	if len(w) <= 2 || strings.IndexFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return w
	}
	if s, ok := stems.Load(w); ok {
		return s.(string)
	}
	env := snowballstem.NewEnv(w)
	english.Stem(env)
	s := env.Current()
	if len(w) <= 20 && stemCount.Load() < stemCacheMax {
		if _, loaded := stems.LoadOrStore(w, s); !loaded {
			stemCount.Add(1)
		}
	}
	return s
}
