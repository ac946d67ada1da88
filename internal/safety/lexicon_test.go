package safety_test

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

// lexiconConstructs are the Suicide Risk Lexicon's suicidal constructs
// (testdata/lexicon, Apache-2.0, clinician-validated) and how a phrase of
// each is framed as a first-person sentence. The lexicon's other constructs
// (loneliness, hopelessness, burdensomeness, entrapment, ...) are risk
// factors, context rather than risk on their own, as its README says.
var lexiconConstructs = map[string]func(string) string{
	"Passive suicidal ideation":                    firstPerson("lately i keep thinking about "),
	"Active suicidal ideation & suicidal planning": firstPerson("lately i keep thinking about "),
	"Lethal means for suicide":                     func(p string) string { return "i keep thinking about the " + p },
	"Direct self-injury":                           firstPerson("i keep thinking about "),
	"Other suicidal language":                      firstPerson("lately i keep thinking about "),
}

// lexiconExcluded are phrases left out, each with why; excludedPhrase
// adds the kinds of entry that are not phrases at all.
var lexiconExcluded = map[string]string{
	"hair-pulling":             "a body-focused repetitive behaviour, not self-injury risk on its own in an intake chat",
	"nail-biting":              "a body-focused repetitive behaviour, not self-injury risk on its own",
	"skin-picking":             "a body-focused repetitive behaviour, not self-injury risk on its own",
	"scratching":               "itching as often as self-injury; not risk on its own",
	"scratch":                  "itching as often as self-injury; not risk on its own",
	"scarring":                 "a scar is a past injury or an illness; not risk on its own",
	"killing me":               "a figure of speech far more often than not (the lexicon's README says so)",
	"thing that kept me going": "a fragment: what follows it decides",
}

// excludedPhrase reports entries that are not phrases a patient would write:
// the lemmatised copies the lexicon lists beside a phrase ("I be in a
// crisis" beside "I'm in a crisis", "kill I"), and fragments that end on a
// possessive ("scratch my", "sticking a needle in my").
func excludedPhrase(p string) bool {
	low := strings.ToLower(p)
	words := strings.Fields(p)
	for i, w := range words {
		if w == "I" && i > 0 {
			return true
		}
	}
	if strings.HasPrefix(low, "i be ") || strings.HasPrefix(low, "be ") {
		return true
	}
	last := words[len(words)-1]
	return last == "my" || last == "at" || last == "in"
}

// verbs start phrases that read as "i <phrase>".
var verbs = map[string]bool{}

func init() {
	for _, v := range strings.Fields(`want wish hope hoping wanna wanting dont don't can't cant cannot won't wont would could should
		need feel deserve am keep plan planning think tried attempted wrote hate have just really never will might kill end take
		jump hang shoot overdose od slit cut burn crash drown blow stab suffocate die disappear cease fade sleep go give not no
		better rather ready done tired bang bash bite bit carve choke choking hit hurt harm pick punch scratch scrape starve`) {
		verbs[v] = true
	}
}

func firstPerson(nounFrame string) func(string) string {
	return func(p string) string {
		low := strings.ToLower(p)
		first := strings.Fields(low)[0]
		switch {
		case first == "i" || strings.HasPrefix(first, "i'") || first == "im" || first == "my" || first == "me":
			return p
		case verbs[first]:
			return "i " + p
		case strings.HasSuffix(first, "ing"):
			return "i have been " + p
		}
		return nounFrame + p
	}
}

// TestSuicideRiskLexicon reads every phrase of the lexicon's suicidal
// constructs, framed as a first-person sentence, and wants at least 95% of
// them caught (check or above).
func TestSuicideRiskLexicon(t *testing.T) {
	d := detector(t)
	f, err := os.Open("testdata/lexicon/suicide_risk_lexicon_validated.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	total, caught := 0, 0
	for col, name := range header {
		frame, ok := lexiconConstructs[name]
		if !ok {
			continue
		}
		n, c := 0, 0
		var missed []string
		// Rows 1-4 are the prompt name, definition, source and examples.
		for _, row := range rows[5:] {
			if col >= len(row) || strings.TrimSpace(row[col]) == "" {
				continue
			}
			p := strings.TrimSpace(row[col])
			if _, ok := lexiconExcluded[strings.ToLower(p)]; ok || excludedPhrase(p) {
				continue
			}
			s := frame(p)
			n++
			if d.Assess(s).Level.AtRisk() {
				c++
			} else {
				missed = append(missed, s)
			}
		}
		t.Logf("%s: %d of %d caught (%.1f%%)", name, c, n, 100*float64(c)/float64(n))
		if len(missed) > 0 {
			t.Logf("missed:\n  %s", strings.Join(missed, "\n  "))
		}
		total += n
		caught += c
	}
	pct := 100 * float64(caught) / float64(total)
	t.Logf("all: %d of %d caught (%.1f%%)", caught, total, pct)
	if total < 500 {
		t.Fatalf("only %d lexicon phrases read; the file changed?", total)
	}
	if pct < 95 {
		t.Errorf("lexicon recall %.1f%%; want at least 95%%", pct)
	}
}
