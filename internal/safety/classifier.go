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

// emergencyShare is the share of that risk the classifier reads as an
// emergency.
func emergencyShare(p [numClasses]float64) float64 {
	if r := riskOf(p); r > 0 {
		return p[classEmergency] / r
	}
	return 0
}

const (
	featureBits = 18
	numFeatures = 1 << featureBits
	magic       = "IBSC6"
)

// classifier is the loaded model.
type classifier struct {
	w    [numClasses][]float32
	bias [numClasses]float32
	// Thresholds, chosen by the generator on the training part: on the
	// probability of risk (riskOf), crisisAt makes a crisis of any message
	// the classifier reads, agreeAt confirms a cue rule's crisis (see
	// cueRules), statementAt any other rule's crisis and ruleEmergencyAt a
	// rule's emergency (below them the patient is asked), checkAt asks;
	// otherAt is someone else at risk; and emergencyAt, on the share of the
	// risk read as an emergency (emergencyShare), makes a check or a crisis
	// an emergency.
	crisisAt, agreeAt, checkAt, otherAt, emergencyAt, statementAt, ruleEmergencyAt float64
}

func loadClassifier() (*classifier, error) { return decodeClassifier(weights) }

func decodeClassifier(b []byte) (*classifier, error) {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return nil, errors.New("not a classifier weights file (run go generate ./internal/safety)")
	}
	r := b[len(magic):]
	need := 4 + 7*8 + numClasses*4 + numClasses*numFeatures*2
	if len(r) != need {
		return nil, fmt.Errorf("classifier weights: %d bytes, want %d (run go generate ./internal/safety)", len(r), need)
	}
	m := &classifier{}
	scale := math.Float32frombits(binary.LittleEndian.Uint32(r))
	r = r[4:]
	m.crisisAt = math.Float64frombits(binary.LittleEndian.Uint64(r))
	m.agreeAt = math.Float64frombits(binary.LittleEndian.Uint64(r[8:]))
	m.checkAt = math.Float64frombits(binary.LittleEndian.Uint64(r[16:]))
	m.otherAt = math.Float64frombits(binary.LittleEndian.Uint64(r[24:]))
	m.emergencyAt = math.Float64frombits(binary.LittleEndian.Uint64(r[32:]))
	m.statementAt = math.Float64frombits(binary.LittleEndian.Uint64(r[40:]))
	m.ruleEmergencyAt = math.Float64frombits(binary.LittleEndian.Uint64(r[48:]))
	r = r[56:]
	for k := 0; k < numClasses; k++ {
		m.bias[k] = math.Float32frombits(binary.LittleEndian.Uint32(r))
		r = r[4:]
	}
	for k := 0; k < numClasses; k++ {
		m.w[k] = make([]float32, numFeatures)
		for i := range m.w[k] {
			m.w[k][i] = float32(int16(binary.LittleEndian.Uint16(r))) * scale
			r = r[2:]
		}
	}
	return m, nil
}

// encodeClassifier writes weights quantised to int16 with one scale.
func encodeClassifier(w [numClasses][]float64, bias [numClasses]float64, th thresholdSet) []byte {
	maxAbs := 0.0
	for k := range w {
		for _, v := range w[k] {
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
	}
	scale := float32(maxAbs / 32767)
	if scale == 0 {
		scale = 1
	}
	out := []byte(magic)
	out = binary.LittleEndian.AppendUint32(out, math.Float32bits(scale))
	for _, t := range []float64{th.crisisAt, th.agreeAt, th.checkAt, th.otherAt, th.emergencyAt, th.statementAt, th.ruleEmergencyAt} {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(t))
	}
	for k := range bias {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(bias[k])))
	}
	for k := range w {
		for _, v := range w[k] {
			q := math.Round(v / float64(scale))
			q = math.Max(-32767, math.Min(32767, q))
			out = binary.LittleEndian.AppendUint16(out, uint16(int16(q)))
		}
	}
	return out
}

// probs returns the class probabilities for a message's features.
func (m *classifier) probs(feats []uint32) [numClasses]float64 {
	var z [numClasses]float64
	for k := 0; k < numClasses; k++ {
		s := float64(m.bias[k])
		for _, f := range feats {
			s += float64(m.w[k][f])
		}
		z[k] = s
	}
	return softmax(z)
}

func softmax(z [numClasses]float64) [numClasses]float64 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = math.Max(mx, v)
	}
	var p [numClasses]float64
	sum := 0.0
	for k, v := range z {
		p[k] = math.Exp(v - mx)
		sum += p[k]
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
