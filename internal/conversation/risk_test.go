package conversation_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/safety"
)

// hasFlag reports whether the patient's only case carries flag.
func (h *harness) onlyCase() intake.Case {
	h.t.Helper()
	cases, err := h.store.Cases(context.Background(), intake.CaseFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(cases) != 1 {
		h.t.Fatalf("cases = %+v; want exactly one", cases)
	}
	return cases[0]
}

func hasFlag(c intake.Case, f string) bool {
	for _, x := range c.Flags {
		if x == f {
			return true
		}
	}
	return false
}

const checkText = "nothing is ever going to get better"

func TestCheckAnsweredNoCarriesOnWhereThePatientWas(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(positive, "phq9_4")
	rs = h.say(checkText)
	if len(rs) != 1 || rs[0].QuestionID != conversation.CheckQuestionID || len(rs[0].Choices) != 2 {
		t.Fatalf("replies = %+v; want the direct question with Yes and No", rs)
	}
	if !strings.Contains(rs[0].Text, "ending your life") || !strings.Contains(rs[0].Text, "988") {
		t.Errorf("check text %q: want the direct question and the resources", rs[0].Text)
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("%d cases after a check; want none yet", n)
	}
	rs = h.click(conversation.CheckQuestionID, conversation.CheckNo)
	if pending(rs) != "phq9_4" || !strings.Contains(rs[0].Text, "988") {
		t.Fatalf("after No: %+v; want thanks with 988, then phq9_4 again", rs)
	}
	// The same click again is stale and changes nothing.
	if rs := h.click(conversation.CheckQuestionID, conversation.CheckNo); rs[0].Kind != intake.ReplyNotice {
		t.Errorf("second No: %+v; want a stale notice", rs)
	}
	// Carrying on: the case that opens is marked.
	rs = h.answerUntil(positive, "")
	if out := last(rs); out.CaseID == "" {
		t.Fatalf("outcome = %+v; want a case", out)
	}
	if c := h.onlyCase(); !hasFlag(c, conversation.FlagRiskChecked) || hasFlag(c, conversation.FlagCrisisLanguage) {
		t.Errorf("flags = %v; want risk_checked and no crisis_language", c.Flags)
	}
}

func TestCheckAnsweredYesIsACrisis(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_4")
	if rs := h.say(checkText); pending(rs) != conversation.CheckQuestionID {
		t.Fatalf("replies = %+v; want the check", rs)
	}
	// In the terminal the patient types the number of the choice.
	rs := h.say("1")
	if rs[0].Kind != intake.ReplyCrisis || !strings.Contains(rs[0].Text, "988") {
		t.Fatalf("after yes: %+v; want the crisis message", rs)
	}
	c := h.onlyCase()
	if c.Priority != intake.PriorityUrgent || !hasFlag(c, conversation.FlagCrisisLanguage) {
		t.Errorf("case = %+v; want urgent with crisis_language", c)
	}
	// The screening is paused, not lost: /screen resumes at phq9_4.
	if rs := h.say("/screen"); pending(rs) != "phq9_4" {
		t.Errorf("after /screen: pending %q, want phq9_4", pending(rs))
	}
}

func TestYesIsHonouredEvenWithoutAPendingCheck(t *testing.T) {
	h := newHarness(t)
	rs := h.click(conversation.CheckQuestionID, conversation.CheckYes)
	if rs[0].Kind != intake.ReplyCrisis {
		t.Fatalf("replies = %+v; want the crisis message", rs)
	}
	if c := h.onlyCase(); c.Priority != intake.PriorityUrgent {
		t.Errorf("case = %+v; want urgent", c)
	}
}

func TestOverdoseInProgressIsAnEmergency(t *testing.T) {
	for _, text := range []string{"I took a bunch of pills", "I just swallowed all my sleeping pills", "I took 30 of my xanax"} {
		t.Run(text, func(t *testing.T) {
			h := newHarness(t)
			h.answerUntil(positive, "phq9_2")
			rs := h.say(text)
			msg := rs[0].Text
			if rs[0].Kind != intake.ReplyCrisis || !strings.Contains(msg, "911") {
				t.Fatalf("first reply = %+v; want the emergency message", rs[0])
			}
			if i, j := strings.Index(msg, "911"), strings.Index(msg, "988"); i < 0 || j < 0 || i > j {
				t.Errorf("emergency message %q: want 911 first, then 988", msg)
			}
			c := h.onlyCase()
			if c.Priority != intake.PriorityUrgent || !hasFlag(c, conversation.FlagOverdose) {
				t.Errorf("case = %+v; want urgent with overdose_in_progress", c)
			}
		})
	}
}

func TestNotSafeIsACrisis(t *testing.T) {
	h := newHarness(t)
	rs := h.say("I'm not safe right now")
	if rs[0].Kind != intake.ReplyCrisis || h.onlyCase().Priority != intake.PriorityUrgent {
		t.Fatalf("replies = %+v; want the crisis message and an urgent case", rs)
	}
}

func TestSomeoneElseAtRiskGetsHowToHelpAndNoCase(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_4")
	rs := h.say("my friend said he wants to kill himself, can ketamine help him?")
	if !strings.Contains(rs[0].Text, "988") || !strings.Contains(rs[0].Text, "friends and family") || !strings.Contains(rs[0].Text, "911") {
		t.Fatalf("first reply = %+v; want how to help someone else", rs[0])
	}
	if pending(rs) != "phq9_4" {
		t.Errorf("pending = %q; want the screening question again", pending(rs))
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("%d cases; someone else at risk opens none for the patient", n)
	}
}

func TestQuestionAboutTheTopicIsAnsweredWithTheResources(t *testing.T) {
	h := newHarness(t)
	rs := h.say("can ketamine cause suicidal thoughts?")
	if len(rs) < 2 || rs[0].Kind == intake.ReplyCrisis || !strings.Contains(last(rs).Text, "988") {
		t.Fatalf("replies = %+v; want an answer, then the resources in one line", rs)
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("%d cases; a question about the topic opens none", n)
	}
}

func TestCuesAddUpAcrossMessages(t *testing.T) {
	h := newHarness(t)
	h.say("I feel so hopeless lately")
	rs := h.say("there is a bridge near my house")
	if rs[0].Kind != intake.ReplyCrisis {
		t.Fatalf("replies = %+v; hopelessness then a means is a crisis", rs)
	}
}

// TestScreeningAnswersRaiseNoAlarm: every option of every screening
// question, typed as a patient would (id, label, number), reads as no risk,
// so answering the screening never triggers a check.
func TestScreeningAnswersRaiseNoAlarm(t *testing.T) {
	h := newHarness(t)
	det := h.kit.Safety
	for _, q := range h.script.Questions {
		for i, o := range q.Options {
			for _, text := range []string{o.ID, o.Label, strconv.Itoa(i + 1)} {
				r := det.Assess(text)
				// The classifier alone never interrupts a valid answer to
				// the pending question (the engine checks it parses).
				if _, err := q.ParseText(text, time.Now()); r.Rule == "classifier" && err == nil {
					continue
				}
				if r.Level != safety.LevelNone {
					t.Errorf("%s: answer %q read as %s (%s)", q.ID, text, r.Level, r.Rule)
				}
			}
		}
	}
}
