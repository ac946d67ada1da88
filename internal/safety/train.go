package safety

import (
	"bufio"
	"embed"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
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
	case LevelEmergency:
		return classEmergency
	case LevelCrisis, LevelCheck:
		return classRisk
	case LevelOtherPerson:
		return classOther
	}
	return classSafe
}

type example struct {
	feats []uint32
	class int
	// fine is the class it trains as (see fineClasses).
	fine int
	// rules is the clause rules' reading alone; gated says the classifier
	// is not consulted (a short message with no word of risk).
	rules Risk
	gated bool
	want  Level
	// hard: a harmless sentence that shares words with risk (see
	// Summary.Hard).
	hard bool
	// weight scales the sentence's loss (see hardWeight, unclearWeight).
	weight float64
}

// Train fits the classifier on samples (the training part) and returns the
// weights file. Thresholds are chosen on out-of-fold scores of the same
// samples, so they are not fitted to sentences the model has seen. It is
// deterministic: the same samples and lexicon give the same bytes.
func (d *Detector) Train(samples []Sample) []byte {
	exs := make([]example, len(samples))
	noModel := *d
	noModel.model = nil
	for i, s := range samples {
		cls, toks := d.read(s.Text)
		r := noModel.assess(cls, toks)
		words := 0
		for _, ts := range toks {
			words += len(ts)
		}
		exs[i] = example{feats: d.features(cls, toks), class: classOf(s.Level), fine: fineClassOf(s), rules: r, want: s.Level,
			gated: len(cls) == 0 || (r.seen&riskWords == 0 && words < 4),
			hard:  hardNegative(s.Level, s.Construct)}
		exs[i].weight = 1
		switch {
		case exs[i].hard || s.Construct == "feeling":
			exs[i].weight = hardWeight
		case s.Level == LevelCheck:
			exs[i].weight = unclearWeight
		}
	}
	// The five out-of-fold models and the final one are independent, so
	// they are fitted side by side (as many at once as there are CPUs);
	// each writes only its own results, so the bytes do not depend on the
	// order they finish in.
	const folds = 5
	nH := len(headClasses)
	// oofH[h][i]: head h's out-of-fold probabilities of sample i.
	oofH := make([][][numClasses]float64, nH)
	for h := range oofH {
		oofH[h] = make([][numClasses]float64, len(exs))
	}
	final := make([]model, nH)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for h, n := range headClasses {
		for f := 0; f <= folds; f++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				if f == folds {
					final[h] = fit(exs, n)
					return
				}
				var tr []example
				for i, e := range exs {
					if i%folds != f {
						tr = append(tr, e)
					}
				}
				m := fit(tr, n)
				for i, e := range exs {
					if i%folds == f {
						oofH[h][i] = m.score(e.feats)
					}
				}
			}()
		}
	}
	wg.Wait()
	oof := make([][numClasses]float64, len(exs))
	for i := range oof {
		for h := range oofH {
			for k := range oof[i] {
				oof[i][k] += oofH[h][i][k] / float64(nH)
			}
		}
	}
	th := thresholds(exs, oof)
	return encodeClassifier(final, th)
}

// model is a head being fitted: n classes (the first n fineClasses),
// weights feature-major (w[f*n+k]).
type model struct {
	n int
	w []float64
	b []float64
}

// logits returns the fine classes' scores of a message's features into z.
func (m *model) logits(feats []uint32, z []float64) {
	copy(z, m.b)
	for _, f := range feats {
		for k, w := range m.w[int(f)*m.n : (int(f)+1)*m.n] {
			z[k] += w
		}
	}
}

// score returns the four classes' probabilities.
func (m *model) score(feats []uint32) [numClasses]float64 {
	z := make([]float64, m.n)
	m.logits(feats, z)
	return collapse(z)
}

// fit trains one head (a softmax regression over the first n fineClasses;
// a sample of a later fine class trains as its level's class) by
// stochastic gradient descent in a fixed order with L2 regularisation; the
// rare classes (someone else) are weighted up.
//
// Non-linear models over the same features were tried, 5-fold
// cross-validated on the training part with these thresholds and budgets
// (the four-class model then: 86.9% at crisis or emergency, 2.0% false
// crises, 9.0% false checks): one hidden layer (relu over the sum of the features' embedding
// rows, H 16-64) reached at best 88.5-88.7% but at 2.03-2.08% false crises,
// and with thresholds set on the pooled out-of-fold scores (the same false
// alarms for both) 88.7% against this model's 87.8%; its average with this
// model, a linear part beside it, feature dropout and naive-Bayes
// log-count-ratio scaling did no better, so the model stays linear.
// unclearWeight weighs the sentences labelled check (possible risk, not
// clear: "whats the point anymore") in training: as risk, but lightly, so
// the vague ones do not pull the words they share with plain statements of
// risk towards a crisis. Cross-validated on the training part, at the same
// budgets: crisis or emergency 88.1% at 1, 88.7% at 0.5, 88.9% at 0.3,
// 89.2% left out; the unclear sentences read as no risk at all 23, 26, 30
// and 86 of 472, so 0.3.
var unclearWeight = 0.3

// hardWeight: a harmless sentence that shares words with risk (a figure of
// speech, a means in ordinary life, a question about the topic), or a
// statement of feelings, counts this many times in the loss.
// Chosen by cross-validation on the training part: at 1, 1.5, 2, 3, 4 and 6
// (the hard ones alone) the at-risk sentences at crisis or emergency were
// 90.1, 91.2, 91.7, 92.3, 92.7 and 92.8% within the same budgets; from 6 the
// cap on everyday messages (2.5%) binds. Weighting every harmless one up as
// well (2) lost a point. Feelings are weighted with the hard ones since
// otherwise "i feel so hopeless lately" became a crisis rather than a
// question.
const hardWeight = 4

func fit(exs []example, n int) model {
	m := model{n: n, w: make([]float64, numFeatures*n), b: make([]float64, n)}
	// Each coarse class is weighted up by the square root of its rarity,
	// as before there were fine classes.
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
	// Chosen by cross-validation on the training part: a stronger L2
	// (0.02 rather than 1e-4) calibrated the model (harmless messages had
	// scored 1.000 on one word) and raised crisis recall at 2% false
	// crises from 84% to 88%.
	//
	// The weights returned are the average of the weights at the end of
	// every epoch (Polyak averaging), not the last ones: the step is still
	// large at the end, so the last weights lean towards the sentences seen
	// last. Cross-validated on the training part at the same budgets, 40
	// epochs gave 92.5% of at-risk sentences at crisis or emergency with the
	// last weights and 93.6% averaged; 10, 20 and 60 epochs averaged gave
	// 93.3, 93.7 and 93.2% (false checks on hard sentences 8.5% last, 8.0% at
	// 20 averaged). A lighter L2 (0.01) or step (0.1) with averaging gave
	// 93.4%, the hard sentences weighted 3 or 6 times 93.2 and 93.4%, and
	// two copies of each head in another order averaged 93.8% at twice the
	// cost, so one each.
	const epochs, l2, lr0 = 20, 0.02, 0.2
	z := make([]float64, n)
	g := make([]float64, n)
	sumW := make([]float64, len(m.w))
	sumB := make([]float64, n)
	for ep := 0; ep < epochs; ep++ {
		// Fisher-Yates with a fixed linear congruential generator.
		for i := len(order) - 1; i > 0; i-- {
			seed = seed*6364136223846793005 + 1442695040888963407
			j := int((seed >> 33) % uint64(i+1))
			order[i], order[j] = order[j], order[i]
		}
		lr := lr0 / (1 + float64(ep)*0.1)
		for _, i := range order {
			e := exs[i]
			m.logits(e.feats, z)
			softmaxInPlace(z)
			want := e.fine
			if want >= n {
				want = e.class
			}
			for k := range z {
				y := 0.0
				if k == want {
					y = 1
				}
				g[k] = cw[e.class] * (z[k] - y) * e.weight
				m.b[k] -= lr * g[k]
			}
			for _, f := range e.feats {
				row := m.w[int(f)*n : (int(f)+1)*n]
				for k, gk := range g {
					row[k] -= lr * (gk + l2*row[k])
				}
			}
		}
		for i, v := range m.w {
			sumW[i] += v
		}
		for k, v := range m.b {
			sumB[k] += v
		}
	}
	for i, v := range sumW {
		m.w[i] = v / epochs
	}
	for k, v := range sumB {
		m.b[k] = v / epochs
	}
	return m
}

// softmaxInPlace turns logits into probabilities.
func softmaxInPlace(z []float64) {
	mx := z[0]
	for _, v := range z[1:] {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for k, v := range z {
		z[k] = math.Exp(v - mx)
		sum += z[k]
	}
	for k := range z {
		z[k] /= sum
	}
}

// thresholdSet is what the classifier's probabilities are compared with.
type thresholdSet struct {
	crisisAt, agreeAt, checkAt, otherAt, emergencyAt, statementAt, ruleEmergencyAt float64
}

// Budgets of harmless sentences (out-of-fold, rules included) the
// thresholds may send to crisis or above, and to check or above; and of
// sentences not about someone else sent to other_person.
const (
	// hardCrisisBudget is of the hard harmless sentences (see
	// Summary.Hard), the measure, a little under its 2%: applied
	// to sentences the thresholds were not chosen on (cross-validation of
	// the training part), 2.0% gave 2.1% and 1.8% gives 1.9%.
	// crisisBudget, of all harmless sentences, keeps everyday messages
	// from taking more. Until the corpus held writers' everyday decisions
	// and goodbyes written to look like preparations ("tonight's the night
	// i finally clean the garage"), a budget of 1.8% of all harmless
	// sentences alone did as well; with them it spent itself on those and
	// cost a point of crisis recall (89.3% against 90.2%, cross-validated,
	// the same false crises).
	hardCrisisBudget = 0.018
	crisisBudget     = 0.025
	checkBudget      = 0.125
	// hardCheckBudget: of the hard harmless sentences (see Summary.Hard),
	// the most that may reach check or above. The goal is at most
	// 10% at check on them, and the figures on sentences the thresholds
	// were not chosen on ran about a point above those they were chosen
	// on; the budget over all harmless sentences alone let the hard ones
	// reach 10.9% with the fine classes (see headClasses). Since the hard
	// sentences count four times in the loss (hardWeight), the final model
	// sends fewer of them to check than the fold models the budgets are
	// applied to: at 11% (11.5% of all), cross-validated, 7.5% of them
	// reached check and 98.5% of at-risk sentences were caught; at 12%
	// (12.5% of all), 8.3% and 98.7%.
	hardCheckBudget = 0.12
	otherBudget     = 0.02
	// A false emergency tells someone to call 911 now: rare for harmless
	// messages, and for those at risk but not in an emergency (who are
	// told to call 988 as well) a few. Once the rules stopped reading a
	// stock of medicine "now" as an overdose (act time, risk.go), 0.1% of
	// harmless sentences left the classifier's emergencies cross-validated
	// at 1,106 of 1,135 overdoses with 14 false emergencies in all (of
	// 11,635 harmless); 0.2% gives 1,118 with 25, about as many false ones
	// as the rules alone had made before (23).
	emergencyBudget     = 0.002
	emergencyRiskBudget = 0.02
)

// thresholds chooses the thresholds on out-of-fold scores, simulating
// combine exactly: agreeAt and crisisAt together give the most at-risk
// sentences a crisis while at most crisisBudget of harmless ones reach
// crisis; then checkAt is the lowest that keeps harmless sentences at check
// or above within checkBudget; otherAt the lowest that sends at most
// otherBudget of other sentences to other_person.
func thresholds(exs []example, oof [][numClasses]float64) thresholdSet {
	level := func(i int, th thresholdSet) Level {
		if exs[i].gated {
			return exs[i].rules.Level
		}
		m := classifier{crisisAt: th.crisisAt, agreeAt: th.agreeAt, checkAt: th.checkAt, otherAt: 2, emergencyAt: th.emergencyAt, statementAt: th.statementAt, ruleEmergencyAt: th.ruleEmergencyAt}
		if m.emergencyAt == 0 {
			m.emergencyAt = 2
		}
		return m.combine(exs[i].rules, oof[i]).Level
	}
	harmless := func(e example) bool { return e.want <= LevelTopic }
	atRisk := func(e example) bool { return e.want >= LevelCrisis }
	nHarm := 0
	for _, e := range exs {
		if harmless(e) {
			nHarm++
		}
	}
	// above returns the lowest threshold that lets at most allowed of the
	// scores through (just above the first score that would exceed it).
	above := func(scores []float64, allowed int) float64 {
		sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
		if allowed < 0 {
			allowed = 0
		}
		if allowed >= len(scores) {
			return 0.05
		}
		return math.Min(0.999, scores[allowed]+1e-6)
	}
	// budgeted returns the lowest threshold on the classifier's risk that
	// keeps the harmless sentences reaching at (read with without, where
	// the threshold sought is unset) within budget of them all and within
	// hardBudget of the hard ones.
	nHard := 0
	for _, e := range exs {
		if harmless(e) && e.hard {
			nHard++
		}
	}
	budgeted := func(without thresholdSet, at Level, budget, hardBudget float64) float64 {
		base, hardBase := 0, 0
		var scores, hardScores []float64
		for i, e := range exs {
			if !harmless(e) {
				continue
			}
			if level(i, without) >= at {
				base++
				if e.hard {
					hardBase++
				}
			} else if !e.gated {
				scores = append(scores, riskOf(oof[i]))
				if e.hard {
					hardScores = append(hardScores, riskOf(oof[i]))
				}
			}
		}
		return math.Max(above(scores, int(budget*float64(nHarm))-base), above(hardScores, int(hardBudget*float64(nHard))-hardBase))
	}
	best, bestHits := thresholdSet{crisisAt: 0.999, agreeAt: 1, checkAt: 0.999}, -1
	// A bar of its own for messages with no word of risk (the certainty
	// gate the classifier once had) was tried in this search: at 0.95 it
	// cost 3.5 points of crisis recall, cross-validated, and saved no
	// false alarm, so the search picked none and it is gone.
	// statementAt: a statement rule's crisis (not a cue rule's) is asked
	// about instead only when the classifier is far surer it is harmless
	// than it ever was of an at-risk one: half the lowest out-of-fold
	// concern (concernOf) of the at-risk sentences the statement rules read as a crisis. Recall
	// comes first, so the search below may not trade an explicit statement
	// for the classifier's crises elsewhere (given that freedom it chose a
	// bar of 0.4, which asked "i'm suicidal" and "i took an overdose"
	// instead of treating them as crises).
	// ruleEmergencyAt likewise for the rules' emergencies ("stable on
	// lithium 900mg" had been told to call 911 now).
	statement, ruleEmergency := 1.0, 1.0
	for i, e := range exs {
		switch {
		case !atRisk(e) || e.gated:
		case e.rules.Level == LevelCrisis && e.rules.strong:
			statement = math.Min(statement, concernOf(oof[i]))
		case e.rules.Level == LevelEmergency:
			ruleEmergency = math.Min(ruleEmergency, concernOf(oof[i]))
		}
	}
	statement, ruleEmergency = statement/2, ruleEmergency/2
	for step := 0; step <= 50; step++ {
		agree := float64(step) / 50
		// Harmless sentences at crisis without the classifier's own
		// crisis: the rules' crisis that agree lets stand.
		crisisAt := budgeted(thresholdSet{crisisAt: 2, agreeAt: agree, checkAt: 2, statementAt: statement, ruleEmergencyAt: ruleEmergency},
			LevelCrisis, crisisBudget, hardCrisisBudget)
		th := thresholdSet{crisisAt: crisisAt, agreeAt: agree, statementAt: statement, ruleEmergencyAt: ruleEmergency}
		th.checkAt = th.crisisAt
		hits := 0
		for i, e := range exs {
			if atRisk(e) && level(i, th) >= LevelCrisis {
				hits++
			}
		}
		if hits > bestHits {
			best, bestHits = th, hits
		}
	}
	// checkAt: the classifier's check, within the budgets (of all harmless
	// sentences, and of the hard ones).
	best.checkAt = budgeted(thresholdSet{crisisAt: best.crisisAt, agreeAt: best.agreeAt, checkAt: 2, statementAt: best.statementAt, ruleEmergencyAt: best.ruleEmergencyAt},
		LevelCheck, checkBudget, hardCheckBudget)
	best.checkAt = math.Min(best.crisisAt, best.checkAt)
	// otherAt: someone else at risk.
	n, base := 0, 0
	var scores []float64
	for i, e := range exs {
		if e.want == LevelOtherPerson {
			continue
		}
		n++
		if e.rules.Level == LevelOtherPerson {
			base++
		} else if !e.gated {
			scores = append(scores, oof[i][classOther])
		}
	}
	best.otherAt = above(scores, int(otherBudget*float64(n))-base)
	// emergencyAt: among sentences that are not an emergency and reach
	// check or crisis, the classifier may make at most emergencyBudget of
	// the harmless ones and emergencyRiskBudget of the rest an emergency.
	var harm, rest []float64
	nRest := 0
	for i, e := range exs {
		if e.want == LevelEmergency {
			continue
		}
		if !harmless(e) {
			nRest++
		}
		if l := level(i, best); e.gated || l < LevelCrisis || l == LevelEmergency || oof[i][classOther] >= best.otherAt {
			continue
		}
		if harmless(e) {
			harm = append(harm, emergencyShare(oof[i]))
		} else {
			rest = append(rest, emergencyShare(oof[i]))
		}
	}
	best.emergencyAt = math.Max(above(harm, int(emergencyBudget*float64(nHarm))), above(rest, int(emergencyRiskBudget*float64(nRest))))
	return best
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
	// HarmlessEmergency: harmless read as an emergency (told to call 911).
	HarmlessEmergency int
	// Hard are the harmless sentences that share words with risk (every
	// harmless construct but everyday messages and feelings: a figure of
	// speech, a question about the topic, a means in ordinary life, a
	// quantity of medicine, grief, past medical history), which the issue's
	// false-alarm goals are about; HardCrisis and HardCheck as above.
	Hard, HardCrisis, HardCheck int
	// Emergencies: emergency sentences read as emergency, of EmergencyN.
	Emergencies, EmergencyN int
	// OtherCaught: someone-else sentences read as other_person or above.
	OtherCaught int
}

// everydayConstructs are the harmless constructs that do not share words
// with risk: everyday messages and statements of feelings.
var everydayConstructs = map[string]bool{"ordinary": true, "feeling": true}

// hardNegative reports whether a sentence of this level and construct is a
// harmless one that shares words with risk (see Summary.Hard).
func hardNegative(l Level, construct string) bool {
	return l <= LevelTopic && !everydayConstructs[construct]
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
			s.HarmlessEmergency += t.ByLevel[LevelEmergency]
			if hardNegative(t.Want, t.Construct) {
				s.Hard += t.N
				s.HardCrisis += t.ByLevel[LevelCrisis] + t.ByLevel[LevelEmergency]
				s.HardCheck += t.ByLevel[LevelCheck]
			}
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
	fmt.Fprintf(w, "harmless: %d; false alarms at crisis %.1f%%, at check %.1f%%; %d read as an emergency\n", s.Harmless, pct(s.HarmlessCrisis, s.Harmless), pct(s.HarmlessCheck, s.Harmless), s.HarmlessEmergency)
	fmt.Fprintf(w, "  of them sharing words with risk (not everyday messages or feelings): %d; at crisis %.1f%%, at check %.1f%%\n", s.Hard, pct(s.HardCrisis, s.Hard), pct(s.HardCheck, s.Hard))
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
