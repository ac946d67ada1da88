package conversation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/llm"
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

const checkText = "I feel so hopeless lately"

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
	// No first (typed as the choice's number, as in the terminal), then
	// asked again, yes: the latest answer is what counts.
	if rs := h.say("2"); pending(rs) != "phq9_4" {
		t.Fatalf("after no: %+v", rs)
	}
	if rs := h.say(checkText); pending(rs) != conversation.CheckQuestionID {
		t.Fatalf("replies = %+v; want the check again", rs)
	}
	rs := h.say("1")
	if rs[0].Kind != intake.ReplyCrisis || !strings.Contains(rs[0].Text, "988") {
		t.Fatalf("after yes: %+v; want the crisis message", rs)
	}
	c := h.onlyCase()
	if c.Priority != intake.PriorityUrgent || !hasFlag(c, conversation.FlagCrisisLanguage) || hasFlag(c, conversation.FlagRiskChecked) {
		t.Errorf("case = %+v; want urgent with crisis_language, not marked as answered no", c)
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
	// The answer, or a "Did you mean…" about it, and the resources in one line.
	if len(rs) < 2 || rs[0].Kind == intake.ReplyCrisis || !strings.Contains(text(rs), "If this is on your mind for yourself") {
		t.Fatalf("replies = %+v; want an answer, then the resources in one line", rs)
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("%d cases; a question about the topic opens none", n)
	}
}

func TestCuesAddUpAcrossMessages(t *testing.T) {
	h := newHarness(t)
	h.say("I feel so hopeless lately")
	h.say("no")
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

// riskModelServer answers the safety second opinion with opinion (or
// fails, or hangs) and the FAQ rephrasing with nothing usable; it counts
// the second opinions asked.
func riskModelServer(t *testing.T, behave string) (*httptest.Server, *atomic.Int32) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		content := "not json"
		if len(req.Messages) > 0 && req.Messages[0].Content == llm.RiskSystem {
			asked.Add(1)
			switch behave {
			case "yes":
				content = `{"risk": true}`
			case "no":
				content = `{"risk": false}`
			case "error":
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return
			case "hang":
				<-r.Context().Done()
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"choices": []map[string]any{{"finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}}})
	}))
	t.Cleanup(srv.Close)
	return srv, &asked
}

func TestModelSecondOpinionCanOnlyRaiseToACheck(t *testing.T) {
	const plain = "my back hurts after work" // nothing the rules or the classifier flag
	for _, tc := range []struct {
		behave    string
		wantCheck bool
	}{{"yes", true}, {"no", false}, {"error", false}, {"hang", false}} {
		t.Run(tc.behave, func(t *testing.T) {
			srv, asked := riskModelServer(t, tc.behave)
			h := newHarness(t)
			h.model = llm.New(llm.Config{BaseURL: srv.URL + "/v1", Model: "fake", Timeout: time.Second, RiskTimeout: 200 * time.Millisecond,
				System: h.system, Backoff: time.Millisecond})
			h.reopen()
			h.answerUntil(positive, "phq9_4")
			rs := h.say(plain)
			if asked.Load() == 0 {
				t.Fatal("the model was not asked for a second opinion")
			}
			if got := pending(rs) == conversation.CheckQuestionID; got != tc.wantCheck {
				t.Errorf("model %s: check asked = %v, want %v (%+v)", tc.behave, got, tc.wantCheck, rs)
			}
			if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
				t.Errorf("model %s: %d cases; the model alone never opens one", tc.behave, n)
			}
			// Contact details are never sent to the model.
			if tc.behave == "no" {
				h.say("2")
				h.answerUntil(positive, "contact_detail")
				before := asked.Load()
				h.say("call me on 555 123 4567 after six")
				if asked.Load() != before {
					t.Error("a contact detail was sent to the model")
				}
			}
			// A crisis stays a crisis whatever the model would say: it is
			// not even asked.
			before := asked.Load()
			if rs := h.say("I want to kill myself"); rs[0].Kind != intake.ReplyCrisis || asked.Load() != before {
				t.Errorf("model %s: crisis reply %+v, model asked %d times more", tc.behave, rs[0], asked.Load()-before)
			}
		})
	}
}

func TestTopicLineComesBeforeTheScreeningResumes(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_2")
	rs := h.say("is there a risk of overdose with ketamine?")
	line := -1
	for i, r := range rs {
		if strings.Contains(r.Text, "If this is on your mind for yourself") {
			line = i
		}
	}
	// Unsure which entry, the bot asks after the line; the screening
	// question comes back once the patient has chosen.
	if line >= 0 && pending(rs[line:]) == conversation.ClarifyQuestionID {
		rs = h.say("1")
		if !strings.Contains(text(rs), "From:") || pending(rs) != "phq9_2" {
			t.Fatalf("after choosing: %+v; want the entry, then phq9_2 again", rs)
		}
		return
	}
	if line < 1 || pending(rs[line:]) != "phq9_2" {
		t.Fatalf("replies = %+v; want the answer, the resources line, then phq9_2 again", rs)
	}
}

// TestContactDetailIsNotACheck: a valid email address or phone number typed
// at the contact question is the answer, whatever the classifier makes of
// its letters; it never gets the safety check-in.
func TestContactDetailIsNotACheck(t *testing.T) {
	for _, detail := range []string{"canary.mail.e2e@example.com", "555-123-4567", "dana.k.overdose@example.org"} {
		h := newHarness(t)
		h.answerUntil(positive, "contact_method")
		h.click("contact_method", "email")
		rs := h.say(detail)
		for _, r := range rs {
			if r.QuestionID == conversation.CheckQuestionID {
				t.Errorf("%q at the contact question got the check-in: %+v", detail, rs)
			}
		}
		if pending(rs) == "contact_detail" {
			t.Errorf("%q at the contact question was not taken: %+v", detail, rs)
		}
	}
}

// TestMedicineRequestCrisisIsAsked: a crisis the classifier alone reads in
// a request about one's medicines, with no word of risk but the medicine,
// is the direct question (with the resources), never the crisis reply; No
// carries on with the screening where it was.
func TestMedicineRequestCrisisIsAsked(t *testing.T) {
	h := newHarness(t)
	const text = "I'm thinking of stopping my lithium"
	h.answerUntil(positive, "phq9_4")
	rs := h.say(text)
	if r := h.kit.Safety.Assess(text); r.Level == safety.LevelCrisis && r.Rule == "classifier" {
		if pending(rs) != conversation.CheckQuestionID || !strings.Contains(rs[0].Text, "988") {
			t.Fatalf("the classifier reads a crisis; replies = %+v; want the direct question with the resources", rs)
		}
		rs = h.click(conversation.CheckQuestionID, conversation.CheckNo)
	}
	if pending(rs) != "phq9_4" {
		t.Errorf("replies = %+v; want phq9_4 asked again", rs)
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("%d cases; want none", n)
	}
}
