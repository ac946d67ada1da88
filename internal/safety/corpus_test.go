package safety_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/safety"
)

func corpus(t testing.TB) (train, held []safety.Sample) {
	t.Helper()
	samples, err := safety.ReadCorpusDir(os.DirFS("testdata"), "corpus")
	if err != nil {
		t.Fatal(err)
	}
	return safety.Split(samples)
}

// floors are the figures the detector reached when last tuned, less a
// margin: a change that falls below one has made it worse. They are not
// the goals (99% caught, 95% at crisis; 2% false crises and 10% false checks
// on the harmless sentences that share words with risk, the "hard" ones).
type floors struct {
	caught, crisis, falseCrisis, falseCheck, emergency float64
	hardCrisis, hardCheck                              float64
	// falseEmergency: harmless sentences told to call 911 now.
	falseEmergency float64
}

// checkFloors fails where the report falls below the floors, and logs it.
func checkFloors(t *testing.T, name string, rep safety.Report, f floors) {
	t.Helper()
	var b strings.Builder
	rep.Write(&b)
	t.Logf("%s:\n%s", name, b.String())
	s := rep.Summary()
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	for _, c := range []struct {
		what      string
		got, want float64
		atLeast   bool
	}{
		{"at-risk caught (check or above)", pct(s.CaughtAtRisk, s.AtRisk), f.caught, true},
		{"at-risk at crisis or emergency", pct(s.CrisisAtRisk, s.AtRisk), f.crisis, true},
		{"overdoses read as emergency", pct(s.Emergencies, s.EmergencyN), f.emergency, true},
		{"harmless read as crisis", pct(s.HarmlessCrisis, s.Harmless), f.falseCrisis, false},
		{"harmless read as check", pct(s.HarmlessCheck, s.Harmless), f.falseCheck, false},
		{"harmless read as an emergency", pct(s.HarmlessEmergency, s.Harmless), f.falseEmergency, false},
		{"hard harmless read as crisis", pct(s.HardCrisis, s.Hard), f.hardCrisis, false},
		{"hard harmless read as check", pct(s.HardCheck, s.Hard), f.hardCheck, false},
	} {
		if (c.atLeast && c.got < c.want) || (!c.atLeast && c.got > c.want) {
			t.Errorf("%s, %s: %.1f%%, floor %.1f%%", name, c.what, c.got, c.want)
		}
	}
}

// TestHeldOutFloors reads the held-out part, which nothing was tuned on.
func TestHeldOutFloors(t *testing.T) {
	_, held := corpus(t)
	checkFloors(t, "held-out part", detector(t).Evaluate(held),
		floors{caught: 99.1, crisis: 95.3, falseCrisis: 2.6, falseCheck: 10.8, emergency: 97.0, hardCrisis: 1.8, hardCheck: 8.4, falseEmergency: 0.6})
}

// TestCrossValidatedFloors reads the training part with a classifier trained
// without each sentence (5 folds), so the classifier's figures are not
// inflated by memory (the rules were tuned on these sentences, so theirs are).
func TestCrossValidatedFloors(t *testing.T) {
	if underRace {
		t.Skip("trains on the corpus in one goroutine: run without -race")
	}
	t.Parallel()
	d, err := safety.LoadRules(os.DirFS("../../prompts"), "safety.yaml")
	if err != nil {
		t.Fatal(err)
	}
	train, _ := corpus(t)
	cv, err := d.CrossValidate(train, 5)
	if err != nil {
		t.Fatal(err)
	}
	checkFloors(t, "training part, cross-validated", cv,
		floors{caught: 98.9, crisis: 94.5, falseCrisis: 2.8, falseCheck: 10.0, emergency: 97.5, hardCrisis: 1.6, hardCheck: 8.3, falseEmergency: 0.3})
}

// TestClassifierRegenerates trains the classifier again from the corpus and
// the shipped lexicon and checks it gives the checked-in weights byte for
// byte (run `go generate ./internal/safety` after changing either).
func TestClassifierRegenerates(t *testing.T) {
	if underRace {
		t.Skip("trains on the corpus in one goroutine: run without -race")
	}
	t.Parallel()
	d, err := safety.LoadRules(os.DirFS("../../prompts"), "safety.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("classifier.bin")
	if err != nil {
		t.Fatal(err)
	}
	train, _ := corpus(t)
	if got := d.Train(train); !bytes.Equal(got, want) {
		t.Fatalf("regenerated weights differ from classifier.bin (%d vs %d bytes): run go generate ./internal/safety", len(got), len(want))
	}
}

// TestHeldOutIsAQuarter checks the fixed split keeps at least a quarter of
// the corpus, and of its at-risk and harmless sentences, out of training.
func TestHeldOutIsAQuarter(t *testing.T) {
	train, held := corpus(t)
	count := func(ss []safety.Sample, f func(safety.Level) bool) int {
		n := 0
		for _, s := range ss {
			if f(s.Level) {
				n++
			}
		}
		return n
	}
	atRisk := func(l safety.Level) bool { return l >= safety.LevelCrisis }
	harmless := func(l safety.Level) bool { return l <= safety.LevelTopic }
	all := func(safety.Level) bool { return true }
	for name, f := range map[string]func(safety.Level) bool{"all": all, "at risk": atRisk, "harmless": harmless} {
		h, n := count(held, f), count(held, f)+count(train, f)
		if 4*h < n {
			t.Errorf("%s: %d of %d held out; want at least a quarter", name, h, n)
		}
	}
	if n := count(train, atRisk) + count(held, atRisk); n < 800 {
		t.Errorf("%d at-risk sentences; want at least 800", n)
	}
	if n := count(train, harmless) + count(held, harmless); n < 800 {
		t.Errorf("%d harmless sentences; want at least 800", n)
	}
}

// BenchmarkAssess is one scan of a message: clause rules, classifier and
// the patient's recent context.
func BenchmarkAssess(b *testing.B) {
	d := detector(b)
	m := d.NewMemory()
	msgs := []string{
		"hi, how much does a session cost and do you take insurance?",
		"honestly i dont see the point anymore, everyone would be better off without me",
		"i just took a bunch of my sleeping pills",
		"my phone is about to die so if i dont answer thats why",
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Assess("p1", msgs[i%len(msgs)], now)
	}
}

// TestCueRulesAskWhenTheClassifierDisagrees checks, over the whole corpus,
// what the combination promises: a cue rule's crisis the classifier does
// not confirm is a check (the patient is asked), never less; the rules'
// other crises and emergencies stand unless the classifier is far surer
// they are harmless than it was of any at-risk sentence, and then they are
// a check, never less (and rarely for an at-risk sentence: at most 1% of
// those the rules read so); both outcomes occur, so the test would see a
// change to either.
func TestCueRulesAskWhenTheClassifierDisagrees(t *testing.T) {
	if underRace {
		t.Skip("reads the whole corpus in one goroutine: run without -race")
	}
	d := detector(t)
	train, held := corpus(t)
	confirmed, asked, statements, statementsAsked := 0, 0, 0, 0
	atRisk, atRiskAsked := 0, 0
	for _, s := range append(train, held...) {
		rules := d.RulesAlone(s.Text)
		if rules.Level < safety.LevelCrisis {
			continue
		}
		got := d.Assess(s.Text)
		if got.Level < safety.LevelCheck || got.Level == safety.LevelOtherPerson {
			t.Errorf("%s: the rules read %s (%s), the detector %s: a rule's crisis must at least ask", s.Where, rules.Level, rules.Rule, got.Level)
			continue
		}
		switch {
		case rules.Level == safety.LevelCrisis && safety.IsCueRule(rules.Rule):
			if got.Level >= safety.LevelCrisis {
				confirmed++
			} else {
				asked++
			}
		default:
			statements++
			if s.Level >= safety.LevelCrisis {
				atRisk++
			}
			if got.Level < rules.Level {
				statementsAsked++
				if s.Level >= safety.LevelCrisis {
					atRiskAsked++
				}
				if got.Level != safety.LevelCheck || got.Rule != rules.Rule+"_unconfirmed" {
					t.Errorf("%s: the rules read %s (%s), the detector %s (%s): lowered only to a check, as unconfirmed", s.Where, rules.Level, rules.Rule, got.Level, got.Rule)
				}
			}
		}
	}
	if confirmed == 0 || asked == 0 || statements == 0 || statementsAsked == 0 {
		t.Errorf("cue crises confirmed %d, turned into a check %d, other rule readings %d, turned into a check %d: want each above zero",
			confirmed, asked, statements, statementsAsked)
	}
	if atRiskAsked*100 > atRisk {
		t.Errorf("at-risk sentences whose rule reading (not a cue rule's) became a check: %d of %d; want at most 1%%", atRiskAsked, atRisk)
	}
	t.Logf("cue crises confirmed %d, turned into a check %d; other rule readings kept %d, turned into a check %d (%d of %d at-risk ones)",
		confirmed, asked, statements-statementsAsked, statementsAsked, atRiskAsked, atRisk)
}

// TestFigureFastPathChangesNothing reads every corpus sentence with the
// figures of speech's keyword fast path and without it: the words must be
// the same (a keyword set that misses a match would leave a figure of
// speech unreplaced).
func TestFigureFastPathChangesNothing(t *testing.T) {
	if underRace {
		t.Skip("reads the whole corpus in one goroutine: run without -race")
	}
	d := detector(t)
	train, held := corpus(t)
	replaced := 0
	for _, s := range append(train, held...) {
		fast, slow := d.TokenWords(s.Text)
		if strings.Join(fast, " ") != strings.Join(slow, " ") {
			t.Errorf("%s: with the fast path %q, without %q", s.Where, fast, slow)
		}
		if strings.Contains(strings.Join(slow, " "), "figureofspeech") {
			replaced++
		}
	}
	if replaced == 0 {
		t.Error("no corpus sentence has a figure of speech replaced: the test would see nothing")
	}
	for src, want := range map[string]string{
		`\bhang(ing)? (in|on) there\b`:          "there",
		`\b(would|will) rather (die|be dead)\b`: "rather",
		`\bcut (me|him|her) some slack\b`:       "slack",
	} {
		if got := safety.Keywords(src); len(got) != 1 || got[0] != want {
			t.Errorf("keywords(%s) = %q, want [%s]", src, got, want)
		}
	}
	// The parser factors "die|died|dying|dead" into d(?:ie(?:d)?|ying|ead);
	// its strings still give the words.
	if got := strings.Join(safety.Keywords(`\b(phone|tv) (is )?(die|died|dying|dead)\b`), " "); got != "die died dying dead" {
		t.Errorf("keywords of a factored alternation = %q, want die died dying dead", got)
	}
}
