package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func dueIDs(t *testing.T, evs []intake.OutboxEvent) []string {
	t.Helper()
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s/%s", e.CaseID, e.Kind))
	}
	return out
}

// The next batch offers each case's earliest undelivered event only, most
// urgent case first; delivering it offers the case's next one; a raised
// priority moves the case's pending events ahead.
func TestDueEventsOfferEachCaseHeadInPriorityOrder(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	now := time.Now()
	pa, _ := st.Patient(ctx, "discord", "a")
	pb, _ := st.Patient(ctx, "discord", "b")
	a, _ := st.OpenCase(ctx, intake.Case{PatientID: pa.ID, Outcome: "positive", Priority: intake.PriorityNormal})
	b, _ := st.OpenCase(ctx, intake.Case{PatientID: pb.ID, Outcome: "positive", Priority: intake.PriorityHigh})
	if _, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: a.ID, Actor: "x", Action: "case.note", Result: "ok", LastAction: "Note"}); err != nil {
		t.Fatal(err)
	}
	due := func() []intake.OutboxEvent {
		t.Helper()
		evs, err := st.DueEvents(ctx, now.Add(time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	evs := due()
	if got := dueIDs(t, evs); len(got) != 2 || got[0] != b.ID+"/case_opened" || got[1] != a.ID+"/case_opened" {
		t.Fatalf("due = %v; want b's card (high) then a's (normal), not a's later event", got)
	}
	if err := st.EventDelivered(ctx, evs[1].ID, a.ID, "m1"); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, due()); len(got) != 2 || got[1] != a.ID+"/case_updated" {
		t.Fatalf("after a's card: %v; want a's next event offered", got)
	}
	// a becomes urgent: its pending events go first.
	if _, err := st.OpenCase(ctx, intake.Case{PatientID: pa.ID, Outcome: "urgent", Priority: intake.PriorityUrgent}); err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, due()); len(got) != 2 || got[0] != a.ID+"/case_updated" || got[1] != b.ID+"/case_opened" {
		t.Fatalf("after a was raised: %v; want a first", got)
	}
	// Delivering twice (another process got there first) moves nothing on
	// twice.
	evs = due()
	for range 2 {
		if err := st.EventDelivered(ctx, evs[0].ID, a.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := dueIDs(t, due()); len(got) != 2 || got[0] != a.ID+"/case_updated" || evs[0].ID == due()[0].ID {
		t.Fatalf("after a's second event: %v; want its third (the merge's)", got)
	}
	pend, _ := st.PendingEvents(ctx, 10)
	if len(pend) != 2 {
		t.Errorf("pending = %d, want 2", len(pend))
	}
}

// A session's answers are decoded once and kept; a reader gets a copy, and
// a write by another process (a second store on the file) is seen.
func TestSessionAnswersCachedAndInvalidated(t *testing.T) {
	ctx := context.Background()
	path, key := filepath.Join(t.TempDir(), "db"), seal.NewKey()
	st := open(t, path, key)
	p, sess := startSession(t, st, "u1")
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.SaveAnswer(ctx, sess.ID, 0, intake.Answer{QuestionID: "q1", Choice: "yes", At: at}); err != nil {
		t.Fatal(err)
	}
	got, err := st.ActiveSession(ctx, p.ID)
	if err != nil || len(got.Answers) != 1 || got.Answers["q1"].Choice != "yes" || got.Version != 1 {
		t.Fatalf("session = %+v, %v", got, err)
	}
	got.Answers["q1"] = intake.Answer{QuestionID: "q1", Choice: "changed by the caller"}
	if err := st.SaveAnswer(ctx, sess.ID, 1, intake.Answer{QuestionID: "q2", Choice: "no", At: at}); err != nil {
		t.Fatal(err)
	}
	got, _ = st.ActiveSession(ctx, p.ID)
	if len(got.Answers) != 2 || got.Answers["q1"].Choice != "yes" || got.Answers["q2"].Choice != "no" || !got.Answers["q2"].At.Equal(at) {
		t.Fatalf("answers = %+v; want q1 as stored and q2", got.Answers)
	}
	other := open(t, path, key)
	if err := other.SaveAnswer(ctx, sess.ID, 2, intake.Answer{QuestionID: "q3", Choice: "yes", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPaused(ctx, sess.ID, intake.PauseStopped); err != nil {
		t.Fatal(err)
	}
	got, _ = st.ActiveSession(ctx, p.ID)
	if len(got.Answers) != 3 || got.Answers["q3"].Choice != "yes" || !got.Paused || got.Version != 4 {
		t.Fatalf("after another process's answer and a pause: %+v", got)
	}
}

// The alert check reads only cases whose plan has come (or that have
// none); a change to a case's schedule drops its plan, and a plan made
// from an old schedule is not recorded.
func TestDueAlertsFollowPlans(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return now }
	var cs []intake.Case
	for i := range 3 {
		p, _ := st.Patient(ctx, "discord", fmt.Sprint("u", i))
		c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	due := func() map[string]intake.AlertCase {
		t.Helper()
		out := map[string]intake.AlertCase{}
		list, err := st.DueAlerts(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			out[c.ID] = c
		}
		return out
	}
	all := due()
	if len(all) != 3 || all[cs[0].ID].Priority != intake.PriorityUrgent || !all[cs[0].ID].AlertFrom.Equal(now) {
		t.Fatalf("unplanned cases = %+v", all)
	}
	var plans []intake.AlertPlan
	for _, c := range all {
		plans = append(plans, intake.AlertPlan{CaseID: c.ID, AlertFrom: c.AlertFrom, AlertsSent: c.AlertsSent, At: now.Add(5 * time.Minute)})
	}
	// cs[2]'s plan is from a schedule that has moved on (a page queued).
	if ok, _ := st.QueueAlert(ctx, cs[2].ID, 1, intake.EventPage, ""); !ok {
		t.Fatal("page refused")
	}
	if err := st.PlanAlerts(ctx, plans); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 1 || got[cs[2].ID].AlertsSent != 1 {
		t.Fatalf("due after planning = %+v; want only the case whose plan was stale", got)
	}
	// Claimed, then unclaimed: a new schedule, looked at again.
	st.ClaimCase(ctx, cs[0].ID, "discord:1", "Dana", true)
	st.ClaimCase(ctx, cs[0].ID, "discord:1", "Dana", false)
	if got := due(); len(got) != 2 || got[cs[0].ID].ID == "" {
		t.Fatalf("due after an unclaim = %+v", got)
	}
	now = now.Add(5 * time.Minute)
	if got := due(); len(got) != 3 {
		t.Fatalf("due when the plan comes = %d cases, want 3", len(got))
	}
	// Claimed cases are not looked at; a replan returns every open one.
	st.ClaimCase(ctx, cs[1].ID, "discord:1", "Dana", true)
	if err := st.ReplanAlerts(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(-time.Hour)
	if got := due(); len(got) != 2 || got[cs[1].ID].ID != "" {
		t.Fatalf("due after replan = %+v; want the two open cases", got)
	}
}

// Migration 0010 on a database with undelivered events makes each case's
// earliest one its head, in its case's priority.
func TestMigrationSetsQueueHeads(t *testing.T) {
	ctx := context.Background()
	path, key := filepath.Join(t.TempDir(), "db"), seal.NewKey()
	st := open(t, path, key)
	pa, _ := st.Patient(ctx, "discord", "a")
	pb, _ := st.Patient(ctx, "discord", "b")
	a, _ := st.OpenCase(ctx, intake.Case{PatientID: pa.ID, Outcome: "positive", Priority: intake.PriorityNormal})
	st.CaseAction(ctx, intake.CaseActionEntry{CaseID: a.ID, Actor: "x", Action: "case.note", Result: "ok", LastAction: "Note"})
	b, _ := st.OpenCase(ctx, intake.Case{PatientID: pb.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
	st.Close()
	// Back to the schema before 0010, its rows kept.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`DROP INDEX outbox_next`, `DROP INDEX outbox_case_pending`, `DROP INDEX cases_alert_due`, `DROP INDEX cases_patient`,
		`DROP INDEX sessions_patient`, `DROP INDEX sessions_unswept`,
		`ALTER TABLE outbox DROP COLUMN head`, `ALTER TABLE outbox DROP COLUMN case_rank`, `ALTER TABLE cases DROP COLUMN alert_check_at`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/0010_scale.sql'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	st = open(t, path, key)
	evs, err := st.DueEvents(ctx, time.Now().Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := dueIDs(t, evs); len(got) != 2 || got[0] != b.ID+"/case_opened" || got[1] != a.ID+"/case_opened" {
		t.Fatalf("due after the migration = %v", got)
	}
	if err := st.EventDelivered(ctx, evs[1].ID, a.ID, "m"); err != nil {
		t.Fatal(err)
	}
	evs, _ = st.DueEvents(ctx, time.Now().Add(time.Second), 10)
	if got := dueIDs(t, evs); len(got) != 2 || got[1] != a.ID+"/case_updated" {
		t.Fatalf("after a's card = %v", got)
	}
}

// A patient's answer does not wait for background reads: with the
// dispatcher's read of due alerts still open (its rows not yet read), the
// answer is saved and the session read back. With one connection for
// everything, the answer would wait for that read to finish (here:
// forever, so the deadline fails the test).
func TestAnswerDoesNotWaitForAReadInProgress(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	p, sess := startSession(t, st, "u1")
	for i := range 3 {
		q, _ := st.Patient(ctx, "discord", fmt.Sprint("other", i))
		st.OpenCase(ctx, intake.Case{PatientID: q.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
	}
	// Reads held open on every connection of the read pool but one.
	var held []*sql.Rows
	for range 3 {
		rows, err := sqlite.HoldRead(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rows)
	}
	defer func() {
		for _, r := range held {
			r.Close()
		}
	}()
	dl, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := st.SaveAnswer(dl, sess.ID, 0, intake.Answer{QuestionID: "q1", Choice: "yes", At: time.Now()}); err != nil {
		t.Fatalf("answer while reads are in progress: %v", err)
	}
	got, err := st.ActiveSession(dl, p.ID)
	if err != nil || got.Answers["q1"].Choice != "yes" {
		t.Fatalf("session while reads are in progress: %+v, %v", got, err)
	}
}
