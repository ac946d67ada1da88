package safety_test

import (
	"bufio"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/prompts"
)

// detector is the shipped detector, loaded once per test binary (it is
// read-only; decoding its weights is most of a test's time under -race).
func detector(t testing.TB) *safety.Detector {
	t.Helper()
	shipped.once.Do(func() { shipped.d, shipped.err = safety.Load(prompts.Embedded(), "safety.yaml") })
	if shipped.err != nil {
		t.Fatalf("load shipped lexicon: %v", shipped.err)
	}
	return shipped.d
}

var shipped struct {
	once sync.Once
	d    *safety.Detector
	err  error
}

type row struct{ want, text string }

func table(t *testing.T) []row {
	f, err := os.Open("testdata/phrases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, text, ok := strings.Cut(line, "\t")
		if !ok || (want != "crisis" && want != "ok") {
			t.Fatalf("bad line %q", line)
		}
		rows = append(rows, row{want, text})
	}
	return rows
}

func TestShippedLexicon(t *testing.T) {
	d := detector(t)
	rows := table(t)
	var crisis, ok, falseAlarms int
	for _, r := range rows {
		m := d.Assess(r.text)
		switch r.want {
		case "crisis":
			crisis++
			if m.Level < safety.LevelCrisis {
				t.Errorf("missed crisis language: %q read as %s", r.text, m.Level)
			}
		case "ok":
			ok++
			if m.Level >= safety.LevelCrisis {
				falseAlarms++
				t.Logf("false alarm (%s): %q", m.Rule, r.text)
			}
		}
	}
	if crisis < 50 || ok < 30 {
		t.Fatalf("table has %d crisis and %d harmless rows; want at least 50 and 30", crisis, ok)
	}
	if falseAlarms > 3 {
		t.Errorf("false alarms = %d of %d harmless sentences; want at most 3", falseAlarms, ok)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"I don't WANT to!!", "i dont want to"},
		{"sooooo tired", "so tired"},
		{"k1ll myself", "kill myself"},
		{"kiiiill meee", "kill me"},
		{"call 988", "call 988"},
		{"it’s fine", "its fine"},
		{"took 100mg at 2am", "took 100 mg at 2 am"},
	}
	for _, tt := range tests {
		if got := strings.Join(safety.Normalize(tt.in), " "); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLexiconErrorsNameLine(t *testing.T) {
	src := []byte("concepts:\n  self: [i]\n  selfish: [me]\nignore:\n  - '(unclosed'\nfuzzy:\n  - kil\nword_forms: [self, swallowing]\n")
	_, err := safety.Parse("bad.yaml", src)
	if err == nil {
		t.Fatal("broken lexicon loaded without error")
	}
	for _, want := range []string{"bad.yaml:3: unknown concept \"selfish\"", "bad.yaml:5: pattern does not compile", "bad.yaml:7: fuzzy word",
		"concept \"desire\" has no words", `bad.yaml:8: no concept "swallowing"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestScanIgnoresEmptyAndNumbers(t *testing.T) {
	d := detector(t)
	for _, s := range []string{"", "   ", "3", "2, 4", "yes", "555-123-4567"} {
		if r := d.Assess(s); r.Level != safety.LevelNone {
			t.Errorf("Assess(%q) = %s, want none", s, r.Level)
		}
	}
}

func FuzzScan(f *testing.F) {
	d := detector(f)
	for _, s := range []string{"I want to kill myself", "this pain is killing me", "k1ll", "ｋｉｌｌ", "'''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d.Assess(s) // must not panic
		_ = safety.Normalize(s)
	})
}

// TestMedicalAdvice checks that requests only a clinician may answer are
// deflected, by kind, and that ordinary questions (side effects,
// interactions) are not.
func TestMedicalAdvice(t *testing.T) {
	d := detector(t)
	f, err := os.Open("testdata/advice.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, text, _ := strings.Cut(line, "\t")
		got := d.Advice(text)
		if want == "ok" {
			if got.Kind != "" {
				t.Errorf("ordinary question %q deflected as %s (%s)", text, got.Kind, got.Rule)
			}
			continue
		}
		kinds[want]++
		if got.Kind != want {
			t.Errorf("%q: kind %q, want %q", text, got.Kind, want)
		}
	}
	total := 0
	for _, k := range []string{safety.AdviceDose, safety.AdviceMedicationChange, safety.AdviceDiagnosis, safety.AdvicePrescription, safety.AdvicePersonalVerdict} {
		if kinds[k] < 4 {
			t.Errorf("%d %s requests in the table; want at least 4", kinds[k], k)
		}
		total += kinds[k]
	}
	if total < 25 {
		t.Errorf("%d deflection cases; want at least 25", total)
	}
}

func TestAdviceWordsMustBeDefined(t *testing.T) {
	src := []byte("concepts: {self: [i]}\nmedical_advice:\n  rules:\n    - kind: dose\n      patterns:\n        - 'how much {drugz}'\n")
	_, err := safety.Parse("s.yaml", src)
	if err == nil || !strings.Contains(err.Error(), "s.yaml:6: pattern uses {drugz}") {
		t.Errorf("err = %v", err)
	}
}

// TestEverydayQuestionsReadAsNothing: questions every clinic gets, which
// share words with risk (take me, hit, dead, shot, bottle, bridge), read as
// no risk at all: not even a topic line.
func TestEverydayQuestionsReadAsNothing(t *testing.T) {
	d := detector(t)
	for _, q := range []string{
		"who takes me home after an infusion?",
		"can someone take me home",
		"how much does a session cost",
		"do you take my insurance",
		"is parking free at the clinic",
		"can I drive myself home afterwards",
		"my phone is almost dead, can you email me instead",
		"do I need a referral from my doctor",
		"what should I bring to my first appointment",
		"how long does one infusion take",
		"can I eat before the infusion",
		"is there a bridge or a bus stop near the clinic",
		"I had my flu shot yesterday, is that ok",
		"can I bring a water bottle",
		"what are your opening hours",
	} {
		if r := d.Assess(q); r.Level != safety.LevelNone {
			t.Errorf("%q read as %s (%s)", q, r.Level, r.Rule)
		}
	}
}

// TestWordClustersGroupByMeaning: the embedded clusters put words of one
// meaning together, which is what lets the classifier read a word the corpus
// never used; a broken or mis-generated file would scatter them.
func TestWordClustersGroupByMeaning(t *testing.T) {
	same := safety.SameCluster
	for _, p := range [][2]string{{"rifle", "shotgun"}, {"pistol", "revolver"}, {"tuesday", "thursday"}, {"overpass", "highway"}} {
		if !same(p[0], p[1], false) {
			t.Errorf("%s and %s are in different coarse clusters", p[0], p[1])
		}
	}
	if same("rifle", "tuesday", false) {
		t.Error("rifle and tuesday share a coarse cluster")
	}
	if n := safety.ClusteredWords(); n < 50000 {
		t.Errorf("%d words clustered; want the 60,000 the generator keeps", n)
	}
}

// TestWordFormsKeepInflectionsApart: ingestion and quantity words match as
// written (word_forms in safety.yaml), so "down" is not "downed", "neck" not
// "necked" and a "packed" bus no pack of pills, while each form listed
// still reads as an overdose.
func TestWordFormsKeepInflectionsApart(t *testing.T) {
	d := detector(t)
	for _, text := range []string{
		"took the bus here, it was packed",
		"i slow down every time i drive over the bridge",
		"my neck is stiff so i took 2 advil",
		"wrote down all my meds on a list for the nurse",
	} {
		rulesEmergency(t, d, text, false)
	}
	for _, text := range []string{
		"downed the whole bottle of my pills an hour ago",
		"im popping all my xanax right now",
		"swallowed 2 boxes of tylenol",
	} {
		rulesEmergency(t, d, text, true)
	}
}

// rulesEmergency checks whether the clause rules alone read text as an
// emergency.
func rulesEmergency(t *testing.T, d *safety.Detector, text string, want bool) {
	t.Helper()
	got := d.RulesAlone(text)
	switch {
	case want && got.Level != safety.LevelEmergency:
		t.Errorf("%q: rules read %s, want emergency", text, got.Level)
	case !want && got.Level == safety.LevelEmergency:
		t.Errorf("%q: rules read an emergency (%s)", text, got.Rule)
	}
}

// TestActsTheBodyAnswers: an act against oneself, a poison or a gas told
// with what it is doing to the body now is an emergency, across clauses
// too; a symptom a medicine is taken for, or one felt while wanting to, is
// not; a denial or a question speaks for its own clause; a time long ago
// makes an overdose history (someone else's is grief, one's own on purpose
// a past attempt, never an emergency).
func TestActsTheBodyAnswers(t *testing.T) {
	d := detector(t)
	for _, c := range []struct {
		text string
		want safety.Level
	}{
		{"i hung myself but the thing broke and now my neck is swollen and i can barely breathe", safety.LevelEmergency},
		{"lit the charcoal in the bathroom, door is taped. getting a headache", safety.LevelEmergency},
		{"mixed bleach and ammonia in the closed bathroom, eyes burning and i cant breathe", safety.LevelEmergency},
		{"jumped off the balcony, landed wrong, cant move my leg", safety.LevelEmergency},
		{"overdosed. not sure what to do now", safety.LevelEmergency},
		{"cut myself and i think i hit something, its spurting", safety.LevelEmergency},
		{"took 2 advil for my headache this morning, is that ok before the consult", safety.LevelNone},
		{"taking 40 of propranolol for shaking hands", safety.LevelNone},
		{"my cousin overdosed in 2016", safety.LevelNone},
		{"i overdosed on purpose last march and ended up in icu", safety.LevelCrisis},
		{"my mom tried to od last year and shes talking like that again", safety.LevelOtherPerson},
	} {
		if got := d.RulesAlone(c.text); got.Level != c.want {
			t.Errorf("%q: rules read %s (%s), want %s", c.text, got.Level, got.Rule, c.want)
		}
	}
	// Wanting to is not having done it: no emergency.
	rulesEmergency(t, d, "i want to cut so badly right now, hands are shaking", false)
}

// TestActTimeIsNotAState: a lot of a medicine with no word of taking is an
// overdose when it says when it was taken or what it is doing, not when
// it says how things are now.
func TestActTimeIsNotAState(t *testing.T) {
	d := detector(t)
	for _, text := range []string{
		"whole pack of paracetamol, about 2 hrs ago",
		"insulin. all of it. just now",
		"20 of the percocet, its been an hour",
	} {
		rulesEmergency(t, d, text, true)
	}
	for _, text := range []string{
		"i keep all my meds in a lockbox now that the baby is crawling",
		"picked up my moms meds, she has 3 bottles now",
	} {
		rulesEmergency(t, d, text, false)
	}
}

// TestDroppedGIsRestored: "thinkin", "killin", "bleedin" are read as the
// words with their g when those are English words and the words as
// written are not; "cabin", "aspirin" and "statin" stay as they are (and so
// does "goin", which the vocabulary holds as written).
func TestDroppedGIsRestored(t *testing.T) {
	d := detector(t)
	words, _ := d.TokenWords("thinkin about killin myself, bleedin in the cabin, aspirin and a statin")
	want := "thinking about killing myself bleeding in the cabin aspirin and a statin"
	if got := strings.Join(words, " "); got != want {
		t.Errorf("words %q, want %q", got, want)
	}
	if got := d.RulesAlone("honestly thinkin about killin myself"); got.Level != safety.LevelCrisis {
		t.Errorf("rules read %s, want crisis", got.Level)
	}
}

// TestExplicitOverdoseStands: an overdose told in full (taking, a medicine,
// how many and when) stays an emergency however formal its words, which the
// classifier, sure of plainer ones, may read as harmless.
func TestExplicitOverdoseStands(t *testing.T) {
	d := detector(t)
	text := "I have ingested approximately 60 tablets of sertraline 100mg within the past half hour."
	rulesEmergency(t, d, text, true)
	if got := d.Assess(text); got.Level != safety.LevelEmergency {
		t.Errorf("%q: read %s (%s), want emergency", text, got.Level, got.Rule)
	}
}
