package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func sealer(t testing.TB, key []byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t testing.TB, path string, key []byte) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startSession(t testing.TB, st *sqlite.Store, user string) (intake.Patient, intake.Session) {
	t.Helper()
	ctx := context.Background()
	p, err := st.Patient(ctx, "console", user)
	if err != nil {
		t.Fatal(err)
	}
	sess := intake.Session{ID: "s_" + user, PatientID: p.ID, ScriptVersion: "v1"}
	if err := st.StartSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	return p, sess
}

func TestPatientIsCreatedOnce(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	ctx := context.Background()
	p1, err := st.Patient(ctx, "console", "alice")
	if err != nil || !p1.New {
		t.Fatalf("first: %+v %v", p1, err)
	}
	p2, err := st.Patient(ctx, "console", "alice")
	if err != nil || p2.New || p2.ID != p1.ID {
		t.Fatalf("second: %+v %v; want same id, not new", p2, err)
	}
	p3, _ := st.Patient(ctx, "discord", "alice")
	if p3.ID == p1.ID {
		t.Fatal("same user id on another channel is another patient")
	}
}

func TestAnswersSurviveReopenAndAreSealed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	ctx := context.Background()
	st := open(t, path, key)
	p, sess := startSession(t, st, "bob")
	secrets := []string{"pat.secret@example.com", "my private note about lithium"}
	for i, a := range []intake.Answer{
		{QuestionID: "contact_detail", Text: secrets[0], At: time.Now()},
		{QuestionID: "notes", Text: secrets[1], At: time.Now()},
		{QuestionID: "phq9_1", Choice: "nearly_every_day", At: time.Now()},
	} {
		if err := st.SaveAnswer(ctx, sess.ID, int64(i), a); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: intake.PriorityNormal,
		Flags: []string{"review_bipolar"}, Scores: map[string]intake.Score{"phq9": {Value: 17, Band: "moderately_severe"}},
		Contact: intake.Contact{Method: "phone", Detail: "555-867-5309"}, Notes: secrets[1]})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Nothing sensitive is on disk in plaintext: not in the database, not in
	// the WAL.
	files, _ := filepath.Glob(path + "*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(secrets, "555-867-5309", "nearly_every_day", "review_bipolar", "moderately_severe") {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains %q in plaintext", filepath.Base(f), s)
			}
		}
	}

	st2 := open(t, path, key)
	got, err := st2.ActiveSession(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Answers) != 3 || got.Answers["contact_detail"].Text != secrets[0] || got.Answers["phq9_1"].Choice != "nearly_every_day" {
		t.Fatalf("answers after reopen = %+v", got.Answers)
	}
	gc, err := st2.Case(ctx, c.ID)
	if err != nil || gc.Contact.Detail != "555-867-5309" || gc.Scores["phq9"].Value != 17 || gc.Flags[0] != "review_bipolar" {
		t.Fatalf("case after reopen = %+v, %v", gc, err)
	}
}

func TestWrongKeyIsAClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := open(t, path, seal.NewKey())
	st.Close()
	_, err := sqlite.Open(context.Background(), path, sealer(t, seal.NewKey()), nil)
	if err == nil || !strings.Contains(err.Error(), "does not open this database") {
		t.Fatalf("err = %v; want a clear wrong-key error", err)
	}
}

func TestEndSessionDiscardsAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := open(t, path, seal.NewKey())
	ctx := context.Background()
	p, sess := startSession(t, st, "carol")
	if err := st.SaveAnswer(ctx, sess.ID, 0, intake.Answer{QuestionID: "age_18", Choice: "yes"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EndSession(ctx, sess.ID, 1, intake.SessionStopped, "declined", true, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(t, path, "SELECT COUNT(*) FROM answers"); n != 0 {
		t.Errorf("answers after discard = %d, want 0", n)
	}
	if _, err := st.ActiveSession(ctx, p.ID); intake.ErrorCode(err) != intake.ENOTFOUND {
		t.Errorf("active session after end: %v, want ENOTFOUND", err)
	}
	if err := st.SaveAnswer(ctx, sess.ID, 2, intake.Answer{QuestionID: "x"}); intake.ErrorCode(err) != intake.ECONFLICT {
		t.Errorf("answer to ended session: %v, want ECONFLICT", err)
	}
}

func TestCaseAndOutboxAreWrittenTogetherAndMerged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := open(t, path, seal.NewKey())
	ctx := context.Background()
	p, sess := startSession(t, st, "dan")
	c1, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "requested", Priority: intake.PriorityLow, Flags: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := st.EndSession(ctx, sess.ID, 0, intake.SessionCompleted, "safety_review", false,
		&intake.Case{PatientID: p.ID, Outcome: "safety_review", Priority: intake.PriorityHigh, Flags: []string{"b", "a"}, ScriptVersion: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID != c1.ID || c2.Priority != intake.PriorityHigh || c2.Outcome != "safety_review" || strings.Join(c2.Flags, ",") != "a,b" || c2.SessionID != sess.ID {
		t.Fatalf("merged case = %+v; want same id, high priority, flags a,b", c2)
	}
	// A lower priority never downgrades an open case.
	c3, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "requested", Priority: intake.PriorityLow})
	if err != nil || c3.Priority != intake.PriorityHigh {
		t.Fatalf("after low-priority merge: %+v, %v", c3, err)
	}
	events, err := st.PendingEvents(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || events[0].Kind != intake.EventCaseOpened || events[1].Kind != intake.EventCaseUpdated || events[0].CaseID != c1.ID {
		t.Fatalf("outbox = %+v", events)
	}
	cases, _ := st.Cases(ctx, intake.CaseFilter{Status: intake.CaseOpen})
	if len(cases) != 1 {
		t.Fatalf("open cases = %d, want 1", len(cases))
	}
	if _, err := st.Case(ctx, "C-NOPE"); intake.ErrorCode(err) != intake.ENOTFOUND {
		t.Errorf("missing case: %v, want ENOTFOUND", err)
	}
}

func TestCasesOrderedByPriorityThenAge(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, pr := range []intake.Priority{intake.PriorityNormal, intake.PriorityUrgent, intake.PriorityLow, intake.PriorityUrgent} {
		st.Now = func() time.Time { return base.Add(time.Duration(i) * time.Hour) }
		p, _ := st.Patient(ctx, "console", string(rune('a'+i)))
		if _, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "x", Priority: pr}); err != nil {
			t.Fatal(err)
		}
	}
	cases, err := st.Cases(ctx, intake.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cases {
		got = append(got, string(c.Priority)+"@"+c.CreatedAt.Format("15"))
	}
	if want := "urgent@03 urgent@01 normal@00 low@02"; strings.Join(got, " ") != want {
		t.Errorf("order = %v, want %s", got, want)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := open(t, path, seal.NewKey())
	ctx := context.Background()
	if err := st.Audit(ctx, intake.AuditEntry{Actor: "console:sam", Action: "case.view", CaseID: "C-1", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"UPDATE audit SET actor = 'x'", "DELETE FROM audit"} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
	rows, _ := st.AuditLog(ctx, "C-1")
	if len(rows) != 1 || rows[0].Actor != "console:sam" {
		t.Errorf("audit rows = %+v", rows)
	}
}

func count(t testing.TB, path, q string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkSaveAnswer measures one answer: sealing plus its transaction on a
// WAL database with synchronous=FULL (the commit is on disk when it returns).
func BenchmarkSaveAnswer(b *testing.B) {
	st := open(b, filepath.Join(b.TempDir(), "db"), seal.NewKey())
	_, sess := startSession(b, st, "bench")
	ctx := context.Background()
	ids := []string{"phq9_1", "phq9_2", "phq9_3", "phq9_4", "phq9_5", "phq9_6", "phq9_7", "phq9_8", "phq9_9"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a := intake.Answer{QuestionID: ids[i%len(ids)], Choice: "several_days", At: time.Now()}
		if err := st.SaveAnswer(ctx, sess.ID, int64(i), a); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCloseActionAndAlertsAreTransactionalAndGuarded(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	p, _ := st.Patient(ctx, "discord", "u1")
	c, _ := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
	pending := func() []string {
		evs, _ := st.PendingEvents(ctx, 50)
		var out []string
		for _, e := range evs {
			out = append(out, e.Kind)
		}
		return out
	}

	// Alerts are counted with compare-and-set: out of order or repeated is
	// a no-op.
	if ok, err := st.QueueAlert(ctx, c.ID, 2, intake.EventPage, ""); ok || err != nil {
		t.Errorf("page 2 before page 1: %v %v", ok, err)
	}
	if ok, _ := st.QueueAlert(ctx, c.ID, 1, intake.EventPage, `{"n":1}`); !ok {
		t.Error("page 1 refused")
	}
	if ok, _ := st.QueueAlert(ctx, c.ID, 1, intake.EventPage, `{"n":1}`); ok {
		t.Error("page 1 queued twice")
	}
	// Unknown case or reason: refused with a code, nothing written.
	if _, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: "C-NOPE", Actor: "x", Action: "case.note", Result: "ok"}); intake.ErrorCode(err) != intake.ENOTFOUND {
		t.Errorf("action on unknown case: %v", err)
	}
	if _, err := st.CloseCase(ctx, c.ID, "discord:1", "Dana", "bored", ""); intake.ErrorCode(err) != intake.EINVALID {
		t.Errorf("unknown reason: %v", err)
	}
	// An action without a card line is audited and queues nothing.
	if _, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: "discord:1", Action: "case.message", Result: "failed: undeliverable"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pending(), " "); got != "case_opened case_page" {
		t.Errorf("pending = %s", got)
	}
	// Claimed: no more alerts.
	st.ClaimCase(ctx, c.ID, "discord:1", "Dana", true)
	if ok, _ := st.QueueAlert(ctx, c.ID, 2, intake.EventPage, ""); ok {
		t.Error("a claimed case was paged")
	}
	closed, err := st.CloseCase(ctx, c.ID, "discord:1", "Dana", "unreachable", "Tried 3 times")
	if err != nil || closed.Status != intake.CaseClosed || closed.CloseReason != "unreachable" || !strings.Contains(closed.LastAction, "Closed by Dana: Could not reach") {
		t.Fatalf("close: %+v %v", closed, err)
	}
	if got := strings.Join(pending(), " "); got != "case_opened case_page case_updated patient_notice case_updated patient_notice" {
		t.Errorf("pending = %s", got)
	}
	if _, err := st.CloseCase(ctx, c.ID, "discord:2", "Sam", "duplicate", ""); intake.ErrorCode(err) != intake.ECONFLICT {
		t.Errorf("second close: %v", err)
	}
	got, _ := st.Case(ctx, c.ID)
	if got.CloseNote != "Tried 3 times" {
		t.Errorf("close note = %q", got.CloseNote)
	}
	log, _ := st.AuditLog(ctx, c.ID)
	var rows []string
	for _, a := range log {
		rows = append(rows, a.Action+"="+a.Result)
	}
	if want := "case.page=queued 1 case.message=failed: undeliverable case.claim=ok case.close=ok: unreachable"; strings.Join(rows, " ") != want {
		t.Errorf("audit = %v\nwant %s", rows, want)
	}
}

func TestAnswerIsSavedOnlyAtTheVersionItWasCheckedAgainst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	st := open(t, path, seal.NewKey())
	ctx := context.Background()
	p, sess := startSession(t, st, "erin")
	read := func() intake.Session {
		t.Helper()
		s, err := st.ActiveSession(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := read()
	if err := st.SaveAnswer(ctx, sess.ID, first.Version, intake.Answer{QuestionID: "consent", Choice: "yes"}); err != nil {
		t.Fatal(err)
	}
	// A second turn that read the session before the first answer.
	err := st.SaveAnswer(ctx, sess.ID, first.Version, intake.Answer{QuestionID: "consent", Choice: "no"})
	if intake.ErrorCode(err) != intake.ECONFLICT {
		t.Fatalf("stale answer: %v; want ECONFLICT", err)
	}
	now := read()
	if now.Answers["consent"].Choice != "yes" || now.Version != first.Version+1 {
		t.Fatalf("after a stale answer: %+v; want the first answer only, one version on", now)
	}
	if err := st.SetPaused(ctx, sess.ID, intake.PauseCrisis); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EndSession(ctx, sess.ID, now.Version, intake.SessionCompleted, "x", false, nil); intake.ErrorCode(err) != intake.ECONFLICT {
		t.Fatalf("end from a reading before the pause: %v; want ECONFLICT", err)
	}
	paused := read()
	if !paused.Paused || paused.Version != now.Version+1 {
		t.Fatalf("after pause: %+v", paused)
	}
	if err := st.SaveAnswer(ctx, sess.ID, paused.Version, intake.Answer{QuestionID: "age_18", Choice: "yes"}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Paused {
		t.Error("an answer did not resume the paused session")
	}
}
