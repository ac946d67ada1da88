package conversation_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
)

// clarifyQuestion is a question retrieval is unsure about: onset, the length
// of a session and of the screening all fit "how long does it take".
const clarifyQuestion = "how long does it take"

func clarifyOf(t *testing.T, rs []intake.Reply) intake.Reply {
	t.Helper()
	for _, r := range rs {
		if r.Kind == intake.ReplyQuestion && r.QuestionID == conversation.ClarifyQuestionID {
			return r
		}
	}
	t.Fatalf("replies = %+v; want a Did you mean question", rs)
	return intake.Reply{}
}

func TestClarifyAsksWhichEntryAndAnswersTheChoice(t *testing.T) {
	h := newHarness(t)
	q := clarifyOf(t, h.say(clarifyQuestion))
	if !strings.Contains(q.Text, "Did you mean") || len(q.Choices) < 3 || len(q.Choices) > 4 {
		t.Fatalf("clarify = %+v; want Did you mean with 2-3 entries and None of these", q)
	}
	if last := q.Choices[len(q.Choices)-1]; last.ID != conversation.ClarifyNone {
		t.Errorf("last choice %+v; want none of these", last)
	}
	if !hasChoice(q, "how-fast", "How fast it works") {
		t.Errorf("candidates %+v; want how-fast among them, with its title", q.Choices)
	}
	rs := h.click(conversation.ClarifyQuestionID, q.Choices[0].ID)
	if !strings.Contains(text(rs), "From: "+q.Choices[0].Label) {
		t.Fatalf("after choosing: %q; want the chosen entry", text(rs))
	}
	t.Run("StaleClickIsNoOp", func(t *testing.T) {
		rs := h.click(conversation.ClarifyQuestionID, q.Choices[1].ID)
		if len(rs) != 1 || rs[0].Kind != intake.ReplyNotice {
			t.Errorf("second click: %+v; want only a stale notice", rs)
		}
	})
	t.Run("TypedNumber", func(t *testing.T) {
		q := clarifyOf(t, h.say(clarifyQuestion))
		rs := h.say("2")
		if want := "From: " + q.Choices[1].Label; !strings.Contains(text(rs), want) {
			t.Errorf("typed 2: %q; want %q", text(rs), want)
		}
	})
	t.Run("NoneOfThese", func(t *testing.T) {
		q := clarifyOf(t, h.say(clarifyQuestion))
		rs := h.say(itoa(len(q.Choices)))
		if strings.Contains(text(rs), "From:") || !strings.Contains(text(rs), "/staff") {
			t.Errorf("none: %q; want no entry and the staff offer", text(rs))
		}
	})
	t.Run("SomethingElseDropsTheQuestion", func(t *testing.T) {
		q := clarifyOf(t, h.say(clarifyQuestion))
		rs := h.say("is ketamine addictive?")
		if !strings.Contains(text(rs), "From: Is it addictive?") {
			t.Errorf("a new question: %q; want its answer", text(rs))
		}
		if rs := h.click(conversation.ClarifyQuestionID, q.Choices[0].ID); rs[0].Kind != intake.ReplyNotice {
			t.Errorf("click after moving on: %+v; want a stale notice", rs)
		}
	})
}

func itoa(n int) string { return string(rune('0' + n)) }

// hasChoice reports whether a clarify offers the entry id under its title.
func hasChoice(q intake.Reply, id, label string) bool {
	for _, c := range q.Choices {
		if c.ID == id && c.Label == label {
			return true
		}
	}
	return false
}

func TestClarifyMidScreeningReturnsToThePendingQuestion(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_2")
	before := h.count("SELECT COUNT(*) FROM answers")
	rs := h.say(clarifyQuestion + "?")
	q := clarifyOf(t, rs)
	if pending(rs) != conversation.ClarifyQuestionID {
		t.Fatalf("replies = %+v; want only the clarify question", rs)
	}
	rs = h.click(conversation.ClarifyQuestionID, q.Choices[0].ID)
	if !strings.Contains(text(rs), "From: "+q.Choices[0].Label) || pending(rs) != "phq9_2" {
		t.Fatalf("after choosing: %q pending %q; want the entry, then phq9_2 again", text(rs), pending(rs))
	}
	if after := h.count("SELECT COUNT(*) FROM answers"); after != before {
		t.Errorf("the clarify stored a screening answer")
	}
	// A screening answer typed while a clarify waits is the screening's.
	clarifyOf(t, h.say(clarifyQuestion+"?"))
	if rs := h.click("phq9_2", "several_days"); pending(rs) != "phq9_3" {
		t.Errorf("screening click while a clarify waits: pending %q; want phq9_3", pending(rs))
	}
}

func TestAskReportsClarifyWithCandidates(t *testing.T) {
	h := newHarness(t)
	a := h.engine.Ask(context.Background(), clarifyQuestion)
	if a.Kind != conversation.KindClarify || len(a.Sources) < 2 || !regexp.MustCompile(`(?m)^[1-3]\. How fast it works$`).MatchString(a.Text) {
		t.Errorf("ask = %+v; want clarify with numbered candidates", a)
	}
}

// TestModelChoosesAmongTheTopEntries: with a model configured, the model may
// pick one of the top five entries; an id it was not offered, or "none",
// leaves the offline choice.
func TestModelChoosesAmongTheTopEntries(t *testing.T) {
	choice := "how-fast"
	srv, calls := fakeModel(t, func(system, user string) string {
		if strings.Contains(system, "CANDIDATES:") {
			return `{"id": "` + choice + `"}`
		}
		return `not json` // the rephrasing fails: the approved text stands
	})
	h := withModel(t, srv.URL, 2*time.Second)
	a := h.engine.Ask(context.Background(), clarifyQuestion)
	if a.Kind != conversation.KindAnswer || a.Sources[0] != "how-fast" || !strings.Contains(a.Text, "From: How fast it works") {
		t.Errorf("model chose how-fast: %s %v", a.Kind, a.Sources)
	}
	for _, bad := range []string{"cost-insurance-and-more", "none"} {
		choice = bad
		if a := h.engine.Ask(context.Background(), clarifyQuestion); a.Kind != conversation.KindClarify {
			t.Errorf("model said %q: %s %v; want the offline clarify", bad, a.Kind, a.Sources)
		}
	}
	// Off-topic questions never reach the model's choice.
	before := calls.Load()
	if a := h.engine.Ask(context.Background(), "what is the capital of france"); a.Kind != conversation.KindOffTopic {
		t.Errorf("off-topic: %s", a.Kind)
	}
	if calls.Load() != before {
		t.Errorf("an off-topic question was put to the model")
	}
}
