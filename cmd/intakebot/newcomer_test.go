package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// completeAnswers is a whole screening for an adult with depression whose
// answers call for nothing, without the optional notes.
const completeAnswers = `consent: "yes"
age_18: "yes"
reasons: [depression]
antidepressant_trials: one
other_treatments: [none]
phq9_1: not_at_all
phq9_2: not_at_all
phq9_3: not_at_all
phq9_4: not_at_all
phq9_5: not_at_all
phq9_6: not_at_all
phq9_7: not_at_all
phq9_8: not_at_all
phq9_9: not_at_all
phq9_difficulty: somewhat
asq_1: "no"
asq_2: "no"
asq_3: "no"
asq_4: "no"
psychosis_history: "no"
bipolar_history: "no"
substance_use: "no"
ketamine_reaction: "no"
heart_bp: "no"
pregnancy: "no"
benzodiazepines: "no"
ride_home: "yes"
contact_method: discord
best_time: any
`

func TestScreenAnswersSkipsAnOptionalQuestionLeftOut(t *testing.T) {
	dir := t.TempDir()
	for name, extra := range map[string]string{"absent": "", "empty": "notes: \"\"\n", "null": "notes:\n"} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name+".yaml")
			if err := os.WriteFile(f, []byte(completeAnswers+extra), 0o644); err != nil {
				t.Fatal(err)
			}
			r := intakebot(t, "", nil, "screen", "--answers", f, "--json")
			var got struct {
				Outcome string
				Missing []string
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("screen --json: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
			}
			if got.Outcome != "negative" || len(got.Missing) != 0 {
				t.Errorf("outcome %q, missing %v; want negative, none missing", got.Outcome, got.Missing)
			}
			r = intakebot(t, "", nil, "screen", "--answers", f)
			if r.code != 0 || strings.Contains(r.stdout, "Missing") || !strings.Contains(r.stdout, "negative") {
				t.Errorf("screen text: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
	// A required question left out is still missing.
	f := filepath.Join(dir, "no-best-time.yaml")
	os.WriteFile(f, []byte(strings.Replace(completeAnswers, "best_time: any\n", "", 1)), 0o644)
	r := intakebot(t, "", nil, "screen", "--answers", f)
	if !strings.Contains(r.stdout, "incomplete") || !strings.Contains(r.stdout, "Missing answers: best_time") {
		t.Errorf("best_time left out: exit %d\n%s", r.code, r.stdout)
	}
}
