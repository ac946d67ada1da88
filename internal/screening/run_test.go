package screening_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
)

// walk answers the shipped script through Next with answers given as text
// (what a patient types) and returns the ids of the questions asked.
func walk(t *testing.T, s *screening.Script, typed map[string]string, fallback string) ([]string, *screening.Result) {
	t.Helper()
	answers := screening.Answers{}
	var asked []string
	for i := 0; i < 200; i++ {
		step := s.Next(answers, false)
		if step.Result != nil {
			return asked, step.Result
		}
		q := step.Question
		if step.Number != len(asked)+1 || step.About < step.Number {
			t.Fatalf("question %s: number %d of about %d after %d asked", q.ID, step.Number, step.About, len(asked))
		}
		asked = append(asked, q.ID)
		text, ok := typed[q.ID]
		if !ok {
			text = fallback
			if q.Kind == screening.KindYesNo {
				text = "no"
			}
			if q.Kind == screening.KindText {
				text = "skip"
				if q.Validate != "" {
					text = "555-123-4567"
				}
			}
		}
		a, err := q.ParseText(text, time.Now())
		if err != nil {
			t.Fatalf("answer %s with %q: %v", q.ID, text, err)
		}
		answers[q.ID] = a
	}
	t.Fatal("screening did not end")
	return nil, nil
}

func TestConditionalQuestions(t *testing.T) {
	s := shipped(t)
	base := map[string]string{"consent": "yes", "age_18": "yes", "reasons": "depression", "other_treatments": "none"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name        string
		typed       map[string]string
		fallback    string
		asked, skip []string
	}{
		{"GAD7SkippedWithoutAnxiety", with(), "1", []string{"phq9_1", "asq_4", "notes"}, []string{"gad7_1", "pcptsd5_gate", "phq9_difficulty", "asq_5", "contact_detail"}},
		{"GAD7AskedForAnxiety", with("reasons", "Anxiety"), "1", []string{"gad7_1", "gad7_7"}, []string{"pcptsd5_gate"}},
		{"PTSDGateNoSkipsItems", with("reasons", "3", "pcptsd5_gate", "no"), "1", []string{"pcptsd5_gate"}, []string{"pcptsd5_1"}},
		{"PTSDGateYesAsksItems", with("reasons", "depression, ptsd", "pcptsd5_gate", "yes"), "1", []string{"pcptsd5_gate", "pcptsd5_1", "pcptsd5_5"}, nil},
		{"DifficultyAskedWhenPHQ9AboveZero", with("phq9_4", "several days"), "1", []string{"phq9_difficulty"}, nil},
		{"ASQ5AskedAfterAYes", with("asq_2", "yes", "asq_5", "no"), "1", []string{"asq_5"}, nil},
		{"ContactDetailForPhone", with("contact_method", "phone"), "1", []string{"contact_detail"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked, _ := walk(t, s, tt.typed, tt.fallback)
			for _, id := range tt.asked {
				if !slices.Contains(asked, id) {
					t.Errorf("%s was not asked; asked %v", id, asked)
				}
			}
			for _, id := range tt.skip {
				if slices.Contains(asked, id) {
					t.Errorf("%s was asked; it should be skipped", id)
				}
			}
		})
	}
}

func TestStopRulesEndAtOnce(t *testing.T) {
	s := shipped(t)
	asked, res := walk(t, s, map[string]string{"consent": "yes", "age_18": "yes", "reasons": "1", "other_treatments": "5", "asq_1": "yes", "asq_5": "yes"}, "1")
	if res.Outcome != "urgent" || !res.Stopped || res.Priority != intake.PriorityUrgent {
		t.Fatalf("result = %+v; want urgent, stopped", res)
	}
	if asked[len(asked)-1] != "asq_5" {
		t.Errorf("last question asked = %s; want asq_5 (the screening stops the moment it is answered)", asked[len(asked)-1])
	}
	_, res = walk(t, s, map[string]string{"consent": "no"}, "1")
	if res.Outcome != "declined" || !res.DiscardAnswers {
		t.Errorf("declined consent: %+v", res)
	}
}

func TestParseText(t *testing.T) {
	s := shipped(t)
	now := time.Now()
	ok := []struct {
		q, in string
		want  string
	}{
		{"consent", "Y", "yes"},
		{"consent", "nope", "no"},
		{"consent", "2", "no"},
		{"antidepressant_trials", "4", "three_plus"},
		{"antidepressant_trials", "three or more", "three_plus"},
		{"antidepressant_trials", "THREE_PLUS", "three_plus"},
		{"psychosis_history", "not sure", "not_sure"},
		{"reasons", "3, 1", "depression,ptsd"},
		{"reasons", "anxiety,Chronic pain", "anxiety,chronic_pain"},
		{"contact_detail", "(555) 123-4567", "(555) 123-4567"},
		{"contact_detail", "pat@example.com", "pat@example.com"},
		{"notes", "skip", "<skipped>"},
		// Control and bidi-override characters are dropped from free text;
		// other Unicode is kept.
		{"notes", "a\x1b[2J\x1b]0;title\x07 note\x00 \u202eevil", "a[2J]0;title note evil"},
		{"notes", "שלום 👋 café", "שלום 👋 café"},
	}
	for _, tt := range ok {
		a, err := s.Question(tt.q).ParseText(tt.in, now)
		if err != nil {
			t.Errorf("%s %q: %v", tt.q, tt.in, err)
			continue
		}
		got := a.Choice
		switch {
		case a.Skipped:
			got = "<skipped>"
		case a.Choices != nil:
			got = strings.Join(a.Choices, ",")
		case a.Text != "":
			got = a.Text
		}
		if got != tt.want {
			t.Errorf("%s %q = %q, want %q", tt.q, tt.in, got, tt.want)
		}
	}
	bad := []struct{ q, in, reason string }{
		{"consent", "maybe", "isn't one of the options"},
		{"antidepressant_trials", "7", "isn't one of the options"},
		{"antidepressant_trials", "", "didn't get an answer"},
		{"phq9_1", "skip", "can't be skipped"},
		{"other_treatments", "tms, none", "can't be combined"},
		{"reasons", "1, lots", "isn't one of the options"},
		{"contact_detail", "call me", "doesn't look like a phone number or an email"},
		{"contact_detail", "12345", "doesn't look like a phone number or an email"},
		{"contact_detail", "pat@localhost", "doesn't look like a phone number or an email"},
		{"contact_detail", "test@example.com\u202e", "invisible or control characters"},
		{"contact_detail", "555-123-\x1b[2J4567", "invisible or control characters"},
		{"notes", "\x1b\x00", "didn't get an answer"},
	}
	for _, tt := range bad {
		_, err := s.Question(tt.q).ParseText(tt.in, now)
		if intake.ErrorCode(err) != intake.EINVALID || !strings.Contains(intake.ErrorMessage(err), tt.reason) {
			t.Errorf("%s %q: err = %v; want EINVALID containing %q", tt.q, tt.in, err, tt.reason)
		}
	}
}

func TestNumberQuestion(t *testing.T) {
	src := `
questions:
  - {id: age, kind: number, text: How old?, min: 18, max: 120, integer: true}
outcomes:
  - {outcome: done, when: "age >= 18", priority: none, message: m}
  - {outcome: other, when: "true", priority: none, message: m}
`
	s, err := screening.Parse("n.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	q := s.Question("age")
	for in, want := range map[string]string{"abc": "with a number", "17": "from 18 to 120", "30.5": "whole number", "skip": "can't be skipped"} {
		if _, err := q.ParseText(in, time.Now()); err == nil || !strings.Contains(intake.ErrorMessage(err), want) {
			t.Errorf("age %q: err = %v, want %q", in, err, want)
		}
	}
	a, err := q.ParseText("42", time.Now())
	if err != nil || *a.Number != 42 {
		t.Fatalf("age 42: %v", err)
	}
	if r := s.Evaluate(screening.Answers{"age": a}, false); r.Outcome != "done" {
		t.Errorf("outcome = %s, want done", r.Outcome)
	}
}

func TestFromChoicesRejectsUnknownAndSeveralForSingle(t *testing.T) {
	s := shipped(t)
	q := s.Question("antidepressant_trials")
	if _, err := q.FromChoices([]string{"eleven"}, time.Now()); intake.ErrorCode(err) != intake.EINVALID {
		t.Errorf("unknown option: err = %v", err)
	}
	if _, err := q.FromChoices([]string{"one", "two"}, time.Now()); intake.ErrorCode(err) != intake.EINVALID {
		t.Errorf("two options for single choice: err = %v", err)
	}
}
