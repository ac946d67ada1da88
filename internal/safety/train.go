package safety

import (
	"bufio"
	"embed"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"sort"
	"strings"
)

// Sample is one labelled message of the corpus.
type Sample struct {
	Level     Level
	Construct string
	Text      string
	// Where is file:line, for reports.
	Where string
}

// ReadCorpus reads a labelled file: level TAB construct TAB text per line;
// blank lines and lines starting with # are skipped.
func ReadCorpus(r io.Reader, name string) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want level, construct and text separated by tabs", name, n)
		}
		l, ok := ParseLevel(f[0])
		if !ok {
			return nil, fmt.Errorf("%s:%d: unknown level %q (want one of %s)", name, n, f[0], strings.Join(levelNames[:], ", "))
		}
		out = append(out, Sample{Level: l, Construct: f[1], Text: f[2], Where: fmt.Sprintf("%s:%d", name, n)})
	}
	return out, sc.Err()
}

// ReadCorpusDir reads every .tsv file of dir in fsys, in name order.
func ReadCorpusDir(fsys fs.FS, dir string) ([]Sample, error) {
	names, err := fs.Glob(fsys, dir+"/*.tsv")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Sample
	for _, n := range names {
		f, err := fsys.Open(n)
		if err != nil {
			return nil, err
		}
		s, err := ReadCorpus(f, n)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// HeldOut reports whether a corpus sentence belongs to the held-out part
// (about 30%): fixed by a hash of its text, so the split never moves.
// Nothing is trained or tuned on it.
func HeldOut(text string) bool {
	h := fnv.New32a()
	h.Write([]byte(strings.TrimSpace(text)))
	return h.Sum32()%10 < 3
}

// Split divides samples into the training and held-out parts.
func Split(samples []Sample) (train, heldOut []Sample) {
	for _, s := range samples {
		if HeldOut(s.Text) {
			heldOut = append(heldOut, s)
		} else {
			train = append(train, s)
		}
	}
	return train, heldOut
}

func classOf(l Level) int {
	switch l {
	case LevelEmergency, LevelCrisis, LevelCheck:
		return classRisk
	case LevelOtherPerson:
		return classOther
	}
	return classSafe
}

type example struct {
	feats []uint32
	class int
	// rules is the level the clause rules alone give.
	rules Level
	want  Level
}

// Train fits the classifier on samples (the training part) and returns the
// weights file. Thresholds are chosen on out-of-fold scores of the same
// samples, so they are not fitted to sentences the model has seen. It is
// deterministic: the same samples and lexicon give the same bytes.
func (d *Detector) Train(samples []Sample) []byte {
	exs := make([]example, len(samples))
	for i, s := range samples {
		cls, toks := d.read(s.Text)
		noModel := *d
		noModel.model = nil
		exs[i] = example{feats: d.features(cls, toks), class: classOf(s.Level), rules: noModel.assess(cls, toks).Level, want: s.Level}
	}
	const folds = 5
	oof := make([][numClasses]float64, len(exs))
	for f := 0; f < folds; f++ {
		var tr []example
		for i, e := range exs {
			if i%folds != f {
				tr = append(tr, e)
			}
		}
		w, b := fit(tr)
		for i, e := range exs {
			if i%folds == f {
				oof[i] = score(w, b, e.feats)
			}
		}
	}
	crisisAt, checkAt, otherAt := thresholds(exs, oof)
	w, b := fit(exs)
	return encodeClassifier(w, b, crisisAt, checkAt, otherAt)
}

// fit trains softmax regression by stochastic gradient descent in a fixed
// order with L2 regularisation; the rare class (someone else) is weighted up.
func fit(exs []example) ([numClasses][]float64, [numClasses]float64) {
	var w [numClasses][]float64
	var b [numClasses]float64
	for k := range w {
		w[k] = make([]float64, numFeatures)
	}
	counts := [numClasses]float64{}
	for _, e := range exs {
		counts[e.class]++
	}
	var cw [numClasses]float64
	for k := range cw {
		if counts[k] > 0 {
			cw[k] = math.Sqrt(float64(len(exs)) / (numClasses * counts[k]))
		}
	}
	order := make([]int, len(exs))
	for i := range order {
		order[i] = i
	}
	seed := uint64(42)
	const epochs = 40
	const l2 = 1e-4
	for ep := 0; ep < epochs; ep++ {
		// Fisher-Yates with a fixed linear congruential generator.
		for i := len(order) - 1; i > 0; i-- {
			seed = seed*6364136223846793005 + 1442695040888963407
			j := int((seed >> 33) % uint64(i+1))
			order[i], order[j] = order[j], order[i]
		}
		lr := 0.2 / (1 + float64(ep)*0.1)
		for _, i := range order {
			e := exs[i]
			p := score(w, b, e.feats)
			for k := 0; k < numClasses; k++ {
				y := 0.0
				if k == e.class {
					y = 1
				}
				g := float64(cw[e.class] * (p[k] - y))
				b[k] -= float64(lr * g)
				for _, f := range e.feats {
					w[k][f] -= float64(lr * float64(g+float64(l2*w[k][f])))
				}
			}
		}
	}
	return w, b
}

func score(w [numClasses][]float64, b [numClasses]float64, feats []uint32) [numClasses]float64 {
	var z [numClasses]float64
	for k := 0; k < numClasses; k++ {
		s := b[k]
		for _, f := range feats {
			s += w[k][f]
		}
		z[k] = s
	}
	return softmax(z)
}

// thresholds chooses, on out-of-fold scores: crisisAt, the lowest score
// that sends at most 2% of harmless sentences to crisis (rules included);
// checkAt, the lowest that keeps harmless sentences at check or above
// within 13% on out-of-fold scores (about 9.5% once the rules and the
// short-message gate are counted: the issue allows 10%, and a check only
// asks); otherAt, the lowest that sends at most 2% of sentences not
// about someone else to other_person.
func thresholds(exs []example, oof [][numClasses]float64) (crisisAt, checkAt, otherAt float64) {
	pick := func(isNeg func(example) bool, already func(example) bool, p func(int) float64, budget float64) float64 {
		var negs []float64
		n, base := 0, 0
		for i, e := range exs {
			if !isNeg(e) {
				continue
			}
			n++
			if already(e) {
				base++
				continue
			}
			negs = append(negs, p(i))
		}
		if n == 0 {
			return 0.5
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(negs)))
		allowed := int(budget*float64(n)) - base
		if allowed < 0 {
			allowed = 0
		}
		if allowed >= len(negs) {
			return 0.05
		}
		// Just above the score of the first negative that would exceed the
		// budget.
		return math.Min(0.99, negs[allowed]+1e-6)
	}
	harmless := func(e example) bool { return e.want <= LevelTopic }
	crisisAt = pick(harmless, func(e example) bool { return e.rules >= LevelCrisis }, func(i int) float64 { return oof[i][classRisk] }, 0.02)
	checkAt = pick(harmless, func(e example) bool { return e.rules >= LevelCheck }, func(i int) float64 { return oof[i][classRisk] }, 0.13)
	checkAt = math.Min(checkAt, crisisAt)
	otherAt = pick(func(e example) bool { return e.want != LevelOtherPerson }, func(e example) bool { return e.rules == LevelOtherPerson },
		func(i int) float64 { return oof[i][classOther] }, 0.02)
	return crisisAt, checkAt, otherAt
}

// Tally counts, for one construct, how its sentences were read.
type Tally struct {
	Construct string
	Want      Level
	N         int
	// ByLevel counts the levels given.
	ByLevel [LevelEmergency + 1]int
}

// Report is how a detector read a labelled set.
type Report struct {
	Tallies []Tally
	// Misses are the at-risk sentences read below check, and false alarms
	// the harmless ones read at crisis or above (file:line and levels only).
	Misses, FalseAlarms []string
}

// Evaluate reads each sample on its own and tallies the levels by
// construct.
func (d *Detector) Evaluate(samples []Sample) Report {
	by := map[string]*Tally{}
	var rep Report
	for _, s := range samples {
		r := d.Assess(s.Text)
		key := s.Level.String() + "/" + s.Construct
		t := by[key]
		if t == nil {
			t = &Tally{Construct: s.Construct, Want: s.Level}
			by[key] = t
		}
		t.N++
		t.ByLevel[r.Level]++
		switch {
		case s.Level >= LevelCrisis && r.Level < LevelCheck:
			rep.Misses = append(rep.Misses, fmt.Sprintf("%s: want %s, got %s", s.Where, s.Level, r.Level))
		case s.Level <= LevelTopic && r.Level >= LevelCrisis:
			rep.FalseAlarms = append(rep.FalseAlarms, fmt.Sprintf("%s: want %s, got %s (%s)", s.Where, s.Level, r.Level, r.Rule))
		}
	}
	rep.Tallies = sortedTallies(by)
	return rep
}

// sortedTallies lists tallies most severe construct first, then by name.
func sortedTallies(by map[string]*Tally) []Tally {
	var out []Tally
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Want != b.Want {
			return a.Want > b.Want
		}
		return a.Construct < b.Construct
	})
	return out
}

// Summary are the headline figures of a report.
type Summary struct {
	AtRisk, Harmless, Other int
	// CaughtAtRisk: at-risk (crisis, emergency) read at check or above;
	// CrisisAtRisk: read at crisis or above.
	CaughtAtRisk, CrisisAtRisk int
	// HarmlessCrisis: harmless read at crisis or above; HarmlessCheck: at
	// check exactly.
	HarmlessCrisis, HarmlessCheck int
	// Emergencies: emergency sentences read as emergency, of EmergencyN.
	Emergencies, EmergencyN int
	// OtherCaught: someone-else sentences read as other_person or above.
	OtherCaught int
}

// Summary adds up the tallies.
func (r Report) Summary() Summary {
	var s Summary
	for _, t := range r.Tallies {
		switch {
		case t.Want >= LevelCrisis:
			s.AtRisk += t.N
			s.CaughtAtRisk += t.ByLevel[LevelCheck] + t.ByLevel[LevelCrisis] + t.ByLevel[LevelEmergency]
			s.CrisisAtRisk += t.ByLevel[LevelCrisis] + t.ByLevel[LevelEmergency]
			if t.Want == LevelEmergency {
				s.EmergencyN += t.N
				s.Emergencies += t.ByLevel[LevelEmergency]
			}
		case t.Want == LevelOtherPerson:
			s.Other += t.N
			s.OtherCaught += t.N - t.ByLevel[LevelNone] - t.ByLevel[LevelTopic]
		case t.Want <= LevelTopic:
			s.Harmless += t.N
			s.HarmlessCrisis += t.ByLevel[LevelCrisis] + t.ByLevel[LevelEmergency]
			s.HarmlessCheck += t.ByLevel[LevelCheck]
		}
	}
	return s
}

// Write prints the report as a table.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "%-10s %-22s %5s  %6s %6s %6s %6s %6s %6s\n", "want", "construct", "n", "none", "topic", "other", "check", "crisis", "emerg")
	for _, t := range r.Tallies {
		fmt.Fprintf(w, "%-10s %-22s %5d ", t.Want, t.Construct, t.N)
		for _, c := range t.ByLevel {
			fmt.Fprintf(w, " %6d", c)
		}
		fmt.Fprintln(w)
	}
	s := r.Summary()
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	fmt.Fprintf(w, "at risk: %d; caught (check or above) %.1f%%; crisis or emergency %.1f%%\n", s.AtRisk, pct(s.CaughtAtRisk, s.AtRisk), pct(s.CrisisAtRisk, s.AtRisk))
	fmt.Fprintf(w, "overdose in progress: %d of %d read as emergency\n", s.Emergencies, s.EmergencyN)
	fmt.Fprintf(w, "someone else at risk: %d; caught %.1f%%\n", s.Other, pct(s.OtherCaught, s.Other))
	fmt.Fprintf(w, "harmless: %d; false alarms at crisis %.1f%%, at check %.1f%%\n", s.Harmless, pct(s.HarmlessCrisis, s.Harmless), pct(s.HarmlessCheck, s.Harmless))
}

// CrossValidate reads each sample with a classifier trained without it
// (folds-fold), so figures on the training part are not inflated by the
// model having seen the sentence. For tuning rules on the training part.
func (d *Detector) CrossValidate(samples []Sample, folds int) (Report, error) {
	var total Report
	for f := 0; f < folds; f++ {
		var tr, te []Sample
		for i, s := range samples {
			if i%folds == f {
				te = append(te, s)
			} else {
				tr = append(tr, s)
			}
		}
		m, err := decodeClassifier(d.Train(tr))
		if err != nil {
			return Report{}, err
		}
		dd := *d
		dd.model = m
		total = merge(total, dd.Evaluate(te))
	}
	return total, nil
}

func merge(a, b Report) Report {
	by := map[string]*Tally{}
	var out Report
	for _, r := range []Report{a, b} {
		for _, t := range r.Tallies {
			key := t.Want.String() + "/" + t.Construct
			if by[key] == nil {
				c := t
				by[key] = &c
				continue
			}
			by[key].N += t.N
			for i := range t.ByLevel {
				by[key].ByLevel[i] += t.ByLevel[i]
			}
		}
		out.Misses = append(out.Misses, r.Misses...)
		out.FalseAlarms = append(out.FalseAlarms, r.FalseAlarms...)
	}
	out.Tallies = sortedTallies(by)
	return out
}

//go:embed testdata/corpus/*.tsv
var shippedCorpus embed.FS

// ShippedCorpus is the labelled corpus the classifier was trained on (its
// training part) and measured on (its held-out part).
// Each sample's Where is a path from the repository's root.
func ShippedCorpus() ([]Sample, error) {
	samples, err := ReadCorpusDir(shippedCorpus, "testdata/corpus")
	for i := range samples {
		samples[i].Where = "internal/safety/" + samples[i].Where
	}
	return samples, err
}
