package conversation_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/internal/testkit"
)

type harness struct {
	t      testing.TB
	kit    *testkit.Kit
	model  conversation.Model
	system string
	path   string
	store  *sqlite.Store
	engine *conversation.Engine
	script *screening.Script
	user   string
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, kit: testkit.New(t), user: "alice"}
	h.sync()
	return h
}

// reopen closes the store and opens it again, as a restart would.
func (h *harness) reopen() {
	h.t.Helper()
	h.kit.Model = h.model
	h.kit.Reopen(h.t)
	h.sync()
}

func (h *harness) sync() {
	h.path, h.store, h.engine, h.script, h.system = h.kit.Path, h.kit.Store, h.kit.Engine, h.kit.Script, h.kit.System
}

func (h *harness) say(text string) []intake.Reply {
	h.t.Helper()
	r, err := h.engine.Handle(context.Background(), intake.Turn{Channel: "console", UserID: h.user, Text: text, At: time.Now()})
	if err != nil {
		h.t.Fatalf("say %q: %v", text, err)
	}
	return r
}

func (h *harness) click(qid string, choices ...string) []intake.Reply {
	h.t.Helper()
	r, err := h.engine.Handle(context.Background(), intake.Turn{Channel: "console", UserID: h.user, QuestionID: qid, ChoiceIDs: choices})
	if err != nil {
		h.t.Fatalf("click %s %v: %v", qid, choices, err)
	}
	return r
}

func last(rs []intake.Reply) intake.Reply {
	if len(rs) == 0 {
		return intake.Reply{}
	}
	return rs[len(rs)-1]
}

func pending(rs []intake.Reply) string {
	for _, r := range rs {
		if r.Kind == intake.ReplyQuestion {
			return r.QuestionID
		}
	}
	return ""
}

func (h *harness) count(q string, args ...any) int {
	h.t.Helper()
	db, err := sql.Open("sqlite", h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// answerUntil answers every pending question from answers (by question id,
// as typed text) until the screening ends or stopAt is pending; questions not
// in answers get "no" (yes/no) or the first option.
func (h *harness) answerUntil(answers map[string]string, stopAt string) []intake.Reply {
	h.t.Helper()
	rs := h.say("/screen")
	for i := 0; i < 100; i++ {
		q := pending(rs)
		if q == "" || q == stopAt {
			return rs
		}
		text, ok := answers[q]
		if q == conversation.CheckQuestionID && !ok {
			// The direct safety question, asked about a free-text answer:
			// this patient says no and carries on.
			text, ok = "no", true
		}
		if !ok {
			text = "1"
			if h.script.Question(q).Kind == screening.KindYesNo {
				text = "no"
			}
		}
		rs = h.say(text)
	}
	h.t.Fatal("screening did not end")
	return nil
}

var positive = map[string]string{
	"consent": "yes", "age_18": "yes", "reasons": "1, 4", "antidepressant_trials": "3",
	"other_treatments": "5", "phq9_1": "4", "phq9_2": "4", "phq9_3": "3", "phq9_difficulty": "2",
	"bipolar_history": "yes", "ride_home": "no", "contact_method": "phone",
	"contact_detail": "555-123-4567", "best_time": "2", "notes": "I work nights",
}

func TestFullScreeningOpensACaseWithItsOutbox(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(positive, "")
	out := last(rs)
	if out.Kind != intake.ReplyOutcome || out.Outcome != "positive" || out.Priority != intake.PriorityNormal || out.CaseID == "" {
		t.Fatalf("last reply = %+v; want positive outcome with a case", out)
	}
	if msg := rs[len(rs)-2].Text; !strings.Contains(msg, out.CaseID) || !strings.Contains(msg, "by phone call") {
		t.Errorf("outcome message %q does not give the reference and contact method", msg)
	}
	c, err := h.store.Case(context.Background(), out.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scores["phq9"].Value != 8 || c.Scores["phq9"].Band != "mild" {
		t.Errorf("phq9 = %+v, want 8 mild", c.Scores["phq9"])
	}
	if _, ok := c.Scores["gad7"]; ok {
		t.Error("gad7 scored although anxiety was not a reason")
	}
	for _, f := range []string{"trd_criterion_met", "review_bipolar", "needs_ride"} {
		if !strings.Contains(strings.Join(c.Flags, ","), f) {
			t.Errorf("flags %v lack %s", c.Flags, f)
		}
	}
	if c.Contact != (intake.Contact{Method: "phone", Detail: "555-123-4567", BestTime: "afternoon"}) || c.Notes != "I work nights" {
		t.Errorf("contact = %+v, notes = %q", c.Contact, c.Notes)
	}
	if c.ScriptVersion != h.script.Version {
		t.Errorf("script version = %q, want %q", c.ScriptVersion, h.script.Version)
	}
	if n := h.count("SELECT COUNT(*) FROM outbox WHERE case_id = ? AND kind = 'case_opened'", c.ID); n != 1 {
		t.Errorf("outbox events = %d, want 1", n)
	}
	// Nothing the patient typed is on disk in plaintext, in the database or
	// its WAL.
	files, _ := filepath.Glob(h.path + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{"555-123-4567", "I work nights", "review_bipolar", "chronic_pain", "three_plus"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in plaintext", filepath.Base(f), secret)
			}
		}
	}
	// Finished: the next message does not reopen the screening.
	if r := h.say("hello"); pending(r) != "" {
		t.Errorf("after the outcome, 'hello' asked %s", pending(r))
	}
}

func TestDeclinedConsentStoresNoAnswers(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(map[string]string{"consent": "no"}, "")
	if out := last(rs); out.Outcome != "declined" || out.CaseID != "" {
		t.Fatalf("outcome = %+v", out)
	}
	if n := h.count("SELECT COUNT(*) FROM answers"); n != 0 {
		t.Errorf("answers stored after declined consent = %d, want 0", n)
	}
	if n := h.count("SELECT COUNT(*) FROM cases"); n != 0 {
		t.Errorf("cases = %d, want 0", n)
	}
}

func TestNotEligibleEndsWithoutCase(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(map[string]string{"consent": "yes", "age_18": "no"}, "")
	if out := last(rs); out.Outcome != "not_eligible" || out.CaseID != "" {
		t.Fatalf("outcome = %+v", out)
	}
}

func TestASQAcuteFiresTheMomentItIsAnswered(t *testing.T) {
	h := newHarness(t)
	ans := map[string]string{"consent": "yes", "age_18": "yes", "reasons": "1", "other_treatments": "5", "asq_3": "yes"}
	rs := h.answerUntil(ans, "asq_5")
	if pending(rs) != "asq_5" {
		t.Fatalf("pending = %q, want asq_5", pending(rs))
	}
	rs = h.say("yes")
	if len(rs) != 2 || rs[0].Kind != intake.ReplyCrisis || !strings.Contains(rs[0].Text, "988") || !strings.Contains(rs[0].Text, "741741") || !strings.Contains(rs[0].Text, "911") {
		t.Fatalf("replies = %+v; want the crisis message first, with 988, 741741 and 911", rs)
	}
	out := rs[1]
	if out.Outcome != "urgent" || out.Priority != intake.PriorityUrgent || out.CaseID == "" {
		t.Fatalf("outcome = %+v", out)
	}
	if r := h.say("2"); pending(r) != "" {
		t.Error("the screening went on after an acute ASQ answer")
	}
}

func TestCrisisLanguageMidScreeningPausesAndOpensUrgentCase(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(positive, "phq9_4")
	if pending(rs) != "phq9_4" {
		t.Fatalf("pending = %s", pending(rs))
	}
	rs = h.say("honestly I just want to end it all")
	if rs[0].Kind != intake.ReplyCrisis || !strings.Contains(rs[0].Text, "988") {
		t.Fatalf("first reply = %+v; want the crisis message", rs[0])
	}
	// The pause offer, then (after the resources, never before) the
	// optional question of how to reach them: no screening question.
	if pending(rs) != conversation.ContactQuestionID || !strings.Contains(rs[len(rs)-2].Text, "/screen") || !last(rs).Optional {
		t.Errorf("replies = %+v; want the pause offer then the contact question", rs)
	}
	cases, _ := h.store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Priority != intake.PriorityUrgent || cases[0].Flags[0] != conversation.FlagCrisisLanguage {
		t.Fatalf("cases = %+v; want one urgent crisis_language case", cases)
	}
	// Paused: an answer-looking message does not advance.
	if r := h.say("2"); pending(r) != "" || !strings.Contains(r[0].Text, "paused") {
		t.Errorf("while paused: %+v", r)
	}
	// /screen resumes at the same question.
	if r := h.say("/screen"); pending(r) != "phq9_4" {
		t.Errorf("after /screen pending = %q, want phq9_4", pending(r))
	}
	// Finishing keeps the one case, urgent, now with scores.
	rs = h.answerUntil(positive, "")
	if out := last(rs); out.Outcome != "urgent" || out.CaseID != cases[0].ID {
		t.Errorf("outcome = %+v; want urgent on case %s", out, cases[0].ID)
	}
	c, _ := h.store.Case(context.Background(), cases[0].ID)
	if _, ok := c.Scores["phq9"]; !ok || c.Priority != intake.PriorityUrgent {
		t.Errorf("merged case = %+v", c)
	}
}

func TestCrisisOutsideScreeningStillOpensCase(t *testing.T) {
	h := newHarness(t)
	rs := h.say("kms")
	if len(rs) != 2 || rs[0].Kind != intake.ReplyCrisis || pending(rs) != conversation.ContactQuestionID {
		t.Fatalf("replies = %+v; want the crisis message then the contact question", rs)
	}
	if n := h.count("SELECT COUNT(*) FROM cases WHERE priority = 'urgent'"); n != 1 {
		t.Errorf("urgent cases = %d, want 1", n)
	}
}

func TestInvalidAnswerIsReaskedWithTheReason(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(positive, "antidepressant_trials")
	before := h.count("SELECT COUNT(*) FROM answers")
	rs = h.say("lots of them")
	if len(rs) != 2 || !strings.Contains(rs[0].Text, "isn't one of the options") || pending(rs) != "antidepressant_trials" {
		t.Fatalf("replies = %+v; want the reason then the same question", rs)
	}
	if after := h.count("SELECT COUNT(*) FROM answers"); after != before {
		t.Errorf("answers %d -> %d after an invalid answer", before, after)
	}
	if r := h.say("two"); pending(r) != "other_treatments" {
		t.Errorf("valid answer after invalid: pending = %q", pending(r))
	}
}

func TestResumeAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_6")
	h.reopen()
	rs, err := h.engine.Greet(context.Background(), "console", h.user)
	if err != nil {
		t.Fatal(err)
	}
	if pending(rs) != "phq9_6" {
		t.Fatalf("after restart pending = %q, want phq9_6", pending(rs))
	}
	if !strings.Contains(rs[0].Text, "continue where you left off") {
		t.Errorf("greeting = %q", rs[0].Text)
	}
	// On the next contact, a hello gets the pending question again.
	if rs = h.say("hi"); pending(rs) != "phq9_6" || !strings.Contains(rs[0].Text, "continue where you left off") {
		t.Errorf("hello mid-screening: %+v", rs)
	}
	if rs = h.say("1"); pending(rs) != "phq9_7" {
		t.Errorf("next = %q, want phq9_7", pending(rs))
	}
}

func TestButtonsAndStaleClicks(t *testing.T) {
	h := newHarness(t)
	h.say("/screen")
	if rs := h.click("consent", "yes"); pending(rs) != "age_18" {
		t.Fatalf("click consent: pending %q", pending(rs))
	}
	rs := h.click("consent", "no")
	if !strings.Contains(rs[0].Text, "isn't waiting for an answer") {
		t.Errorf("second click on an answered question: %+v", rs)
	}
	if n := h.count("SELECT COUNT(*) FROM sessions WHERE status = 'active'"); n != 1 {
		t.Error("a stale click ended the session")
	}
	if rs := h.click("age_18", "maybe"); !strings.Contains(rs[0].Text, "isn't one of the options") {
		t.Errorf("unknown option id: %+v", rs)
	}
}

func TestRestartCancelAndCommands(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_1")
	rs := h.say("/restart")
	if pending(rs) != "consent" {
		t.Fatalf("after /restart pending = %q", pending(rs))
	}
	if n := h.count("SELECT COUNT(*) FROM sessions WHERE status = 'restarted'"); n != 1 {
		t.Errorf("restarted sessions = %d", n)
	}
	rs = h.say("/cancel")
	if pending(rs) != "" || !strings.Contains(rs[0].Text, "stopped") {
		t.Errorf("/cancel: %+v", rs)
	}
	if rs = h.say("/bogus"); !strings.Contains(rs[0].Text, "/screen") || !strings.Contains(rs[0].Text, "/bogus") {
		t.Errorf("unknown command: %+v", rs)
	}
	if rs = h.say("/help"); !strings.Contains(rs[0].Text, "/restart") {
		t.Errorf("/help: %+v", rs)
	}
}

func TestCancelAfterPositiveSuicideItemReachesStaff(t *testing.T) {
	h := newHarness(t)
	ans := map[string]string{"consent": "yes", "age_18": "yes", "reasons": "1", "other_treatments": "5", "asq_1": "yes"}
	h.answerUntil(ans, "asq_5")
	h.say("no") // asq_5: nonacute
	h.say("/cancel")
	cases, _ := h.store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Outcome != "safety_review" || !strings.Contains(strings.Join(cases[0].Flags, ","), conversation.FlagScreeningIncomplete) {
		t.Fatalf("cases = %+v; want a safety_review case flagged incomplete", cases)
	}
}

// BenchmarkAnswerTurn measures one answer as the engine handles it: crisis
// scan, parsing, the script walk, sealing and the answer's transaction
// (synchronous=FULL), and rendering the next question.
func BenchmarkAnswerTurn(b *testing.B) {
	h := newHarness(b)
	rs := h.answerUntil(positive, "reasons")
	for b.Loop() {
		q := pending(rs)
		if q == "" {
			b.StopTimer()
			rs = h.say("/restart")
			rs = h.say("yes")
			rs = h.say("yes")
			b.StartTimer()
			q = pending(rs)
		}
		text, ok := positive[q]
		if !ok {
			text = "1"
			if h.script.Question(q).Kind == screening.KindYesNo {
				text = "no"
			}
		}
		rs = h.say(text)
	}
}

func TestPrivacyAndForgetMe(t *testing.T) {
	h := newHarness(t)
	rs := h.answerUntil(positive, "")
	caseID := last(rs).CaseID
	rs = h.say("/privacy")
	if got := rs[0].Text; !strings.Contains(got, caseID) || !strings.Contains(got, "stored encrypted") {
		t.Fatalf("/privacy = %q", got)
	}
	rs = h.say("/forget-me")
	if !strings.Contains(rs[0].Text, "/forget-me confirm") || h.count("SELECT COUNT(*) FROM answers") == 0 {
		t.Fatalf("/forget-me without confirm: %q (answers must still be there)", rs[0].Text)
	}
	events := h.count("SELECT COUNT(*) FROM outbox")
	rs = h.say("/forget-me confirm")
	if !strings.Contains(rs[0].Text, "erased") || !strings.Contains(rs[0].Text, "told you withdrew") {
		t.Fatalf("/forget-me confirm = %q", rs[0].Text)
	}
	if n := h.count("SELECT COUNT(*) FROM answers") + h.count("SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Errorf("%d answers and sessions left after /forget-me", n)
	}
	c, err := h.store.Case(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Contact != (intake.Contact{}) || c.Notes != "" || len(c.Scores) != 0 || len(c.Flags) != 1 || c.Flags[0] != intake.FlagPatientWithdrew {
		t.Errorf("case after /forget-me = %+v; want details erased and the withdrawal flagged", c)
	}
	if c.Priority != intake.PriorityNormal {
		t.Errorf("the case lost its priority: %s", c.Priority)
	}
	if h.count("SELECT COUNT(*) FROM outbox") != events+1 {
		t.Error("staff were not told (no outbox event)")
	}
	if h.count("SELECT COUNT(*) FROM audit WHERE action = 'patient.forget'") != 1 {
		t.Error("no audit row for the erasure")
	}
}

func TestAbandonedScreeningAfterASafetyAnswerReachesStaff(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	// Answers given an hour ago.
	h.store.Now = func() time.Time { return time.Now().Add(-time.Hour) }
	h.answerUntil(map[string]string{"consent": "yes", "age_18": "yes", "reasons": "1", "other_treatments": "5", "asq_1": "yes"}, "asq_5")
	h.user = "bob" // walks away before anything calls for staff
	h.answerUntil(map[string]string{"consent": "yes", "age_18": "yes", "reasons": "1"}, "other_treatments")
	h.store.Now = time.Now

	if n, err := h.engine.SweepAbandoned(ctx, 2*time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep before the idle time: %d, %v", n, err)
	}
	n, err := h.engine.SweepAbandoned(ctx, 30*time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d cases, %v; want 1 (alice's)", n, err)
	}
	cases, _ := h.store.Cases(ctx, intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Outcome != "safety_review" || cases[0].Priority != intake.PriorityHigh ||
		!strings.Contains(strings.Join(cases[0].Flags, ","), conversation.FlagScreeningIncomplete) {
		t.Fatalf("cases = %+v", cases)
	}
	events := h.count(`SELECT COUNT(*) FROM outbox`)
	// The same silence is not looked at twice.
	if n, _ := h.engine.SweepAbandoned(ctx, 30*time.Minute); n != 0 || h.count(`SELECT COUNT(*) FROM outbox`) != events {
		t.Errorf("second sweep opened %d, outbox %d -> %d", n, events, h.count(`SELECT COUNT(*) FROM outbox`))
	}
	// Alice comes back and finishes where she was; her case is the same one.
	h.user = "alice"
	rs := h.say("no") // asq_5
	for i := 0; i < 60 && pending(rs) != ""; i++ {
		text := "1"
		if h.script.Question(pending(rs)).Kind == screening.KindYesNo {
			text = "no"
		}
		rs = h.say(text)
	}
	after, _ := h.store.Cases(ctx, intake.CaseFilter{})
	if len(after) != 1 || after[0].ID != cases[0].ID {
		t.Errorf("after finishing: %+v; want the same single case", after)
	}
}
