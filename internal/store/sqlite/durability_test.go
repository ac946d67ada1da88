package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

// SQLite's synchronous levels, as PRAGMA synchronous reports them.
const (
	levelNormal = 1 // lazy: no fsync at commit
	levelFull   = 2 // synced: the commit syncs the WAL
)

// TestWritesAreSyncedAsDocumented runs every write of the store and checks,
// inside each transaction, whether its commit syncs (synchronous=FULL) or
// is left to the checkpointer (NORMAL), as durability.go's contract says.
// Whatever opens a case, may raise its priority, records a staff action or
// erases must be synced before it returns; making one of them lazy fails
// here.
func TestWritesAreSyncedAsDocumented(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	var levels []int
	sqlite.OnCommit(st, func(level int) { levels = append(levels, level) })

	var (
		p1, p2 intake.Patient
		s1, s2 intake.Session
		c1     intake.Case
		events []intake.OutboxEvent
	)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		want int
		do   func()
	}{
		{"NewPatient", levelNormal, func() {
			var err error
			p1, err = st.Patient(ctx, "discord", "u1")
			must(err)
		}},
		{"StartSession", levelNormal, func() {
			s1 = intake.Session{ID: "s1", PatientID: p1.ID, ScriptVersion: "v1"}
			must(st.StartSession(ctx, s1))
		}},
		{"SaveAnswer", levelNormal, func() {
			must(st.SaveAnswer(ctx, s1.ID, 0, intake.Answer{QuestionID: "age_18", Choice: "yes", At: time.Now()}))
		}},
		{"PauseAskedByThePatient", levelNormal, func() { must(st.SetPaused(ctx, s1.ID, intake.PauseStopped)) }},
		{"PauseForCrisisLanguage", levelFull, func() { must(st.SetPaused(ctx, s1.ID, intake.PauseCrisis)) }},
		{"Resume", levelNormal, func() { must(st.SetPaused(ctx, s1.ID, intake.PauseNone)) }},
		{"EndSessionWithACase", levelFull, func() {
			sess, err := st.ActiveSession(ctx, p1.ID)
			must(err)
			c, err := st.EndSession(ctx, s1.ID, sess.Version, intake.SessionCompleted, "safety_review", false,
				&intake.Case{PatientID: p1.ID, Outcome: "safety_review", Priority: intake.PriorityNormal})
			must(err)
			c1 = *c
		}},
		{"OpenCaseRaisesPriority", levelFull, func() {
			_, err := st.OpenCase(ctx, intake.Case{PatientID: p1.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
			must(err)
		}},
		{"EndSessionWithoutACase", levelNormal, func() {
			var err error
			p2, err = st.Patient(ctx, "discord", "u2")
			must(err)
			s2 = intake.Session{ID: "s2", PatientID: p2.ID, ScriptVersion: "v1"}
			must(st.StartSession(ctx, s2))
			levels = nil // the patient and the session above
			_, err = st.EndSession(ctx, s2.ID, 0, intake.SessionStopped, "declined", false, nil)
			must(err)
		}},
		{"EndSessionDiscardingAnswers", levelFull, func() {
			s := intake.Session{ID: "s3", PatientID: p2.ID, ScriptVersion: "v1"}
			must(st.StartSession(ctx, s))
			levels = nil
			_, err := st.EndSession(ctx, s.ID, 0, intake.SessionStopped, "declined", true, nil)
			must(err)
		}},
		{"RelayedMessage", levelNormal, func() {
			_, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c1.ID, Actor: "patient:" + p1.ID, Action: "case.relay",
				Result: "ok", LastAction: "The patient wrote (see the thread)"})
			must(err)
		}},
		{"RelayedMessageEntry", levelNormal, func() {
			must(st.AddCaseEntry(ctx, intake.CaseEntry{CaseID: c1.ID, Kind: intake.EntryRelay, Actor: "patient:" + p1.ID, Text: "hello"}))
		}},
		{"PatientGaveAContact", levelFull, func() {
			_, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c1.ID, Actor: "patient:" + p1.ID, Action: "case.contact", Result: "ok: phone"})
			must(err)
		}},
		{"StaffNote", levelFull, func() {
			must(st.AddCaseEntry(ctx, intake.CaseEntry{CaseID: c1.ID, Kind: intake.EntryNote, Actor: "discord:9", Name: "Dana", Text: "called"}))
		}},
		{"StaffAction", levelFull, func() {
			_, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c1.ID, Actor: "discord:9", Action: "case.note", Result: "ok",
				LastAction: "Note added by Dana"})
			must(err)
		}},
		{"AuditRow", levelFull, func() {
			must(st.Audit(ctx, intake.AuditEntry{Actor: "discord:9", Action: "case.view", CaseID: c1.ID, Result: "ok"}))
		}},
		{"Claim", levelFull, func() {
			_, err := st.ClaimCase(ctx, c1.ID, "discord:9", "Dana", true)
			must(err)
		}},
		{"Unclaim", levelFull, func() {
			_, err := st.ClaimCase(ctx, c1.ID, "discord:9", "Dana", false)
			must(err)
		}},
		{"EventDedupe", levelNormal, func() {
			_, err := st.FirstSeen(ctx, "ev-1")
			must(err)
		}},
		{"EventFailed", levelNormal, func() {
			var err error
			events, err = st.DueEvents(ctx, time.Now().Add(time.Hour), 10)
			must(err)
			if len(events) == 0 {
				t.Fatal("no due events")
			}
			must(st.EventFailed(ctx, events[0].ID, time.Now()))
		}},
		{"EventDelivered", levelNormal, func() {
			must(st.EventDelivered(ctx, events[0].ID, events[0].CaseID, "m-1"))
		}},
		{"CardDeliveredWithPage", levelNormal, func() {
			evs, err := st.DueEvents(ctx, time.Now().Add(time.Hour), 10)
			must(err)
			if len(evs) == 0 {
				t.Fatal("no due events")
			}
			_, err = st.CardDeliveredWithPage(ctx, evs[0].ID, evs[0].CaseID, "m-2")
			must(err)
		}},
		{"AlertPlanned", levelNormal, func() {
			must(st.PlanAlerts(ctx, []intake.AlertPlan{{CaseID: c1.ID, At: time.Now()}}))
		}},
		{"AlertsReplanned", levelNormal, func() { must(st.ReplanAlerts(ctx)) }},
		{"PageQueued", levelNormal, func() {
			// The page with the card above was the first.
			ok, err := st.QueueAlert(ctx, c1.ID, 2, intake.EventPage, "")
			must(err)
			if !ok {
				t.Fatal("second page not queued")
			}
		}},
		{"SessionSwept", levelNormal, func() { must(st.MarkSwept(ctx, "s1", time.Now())) }},
		{"Close", levelFull, func() {
			_, err := st.CloseCase(ctx, c1.ID, "discord:9", "Dana", "other", "")
			must(err)
		}},
		{"Purge", levelFull, func() {
			_, err := st.Purge(ctx, time.Now().Add(-365*24*time.Hour), false)
			must(err)
		}},
		{"ForgetMe", levelFull, func() {
			_, err := st.ForgetPatient(ctx, p1.ID, "patient:"+p1.ID)
			must(err)
		}},
	}
	for _, step := range steps {
		levels = nil
		step.do()
		if len(levels) == 0 {
			t.Errorf("%s: no write transaction seen", step.name)
			continue
		}
		for _, got := range levels {
			if got != step.want {
				t.Errorf("%s: committed at synchronous=%d, want %d", step.name, got, step.want)
			}
		}
	}
	// A synced write leaves the connection lazy for the next one.
	levels = nil
	if _, err := st.FirstSeen(ctx, "ev-2"); err != nil || fmt.Sprint(levels) != fmt.Sprint([]int{levelNormal}) {
		t.Errorf("write after the synced ones: levels %v, %v; want [%d]", levels, err, levelNormal)
	}
}

// TestLazyCommitIsSyncedWithinTheBound: a lazy commit is synced to disk
// by the background checkpointer's next rounds, even while a read holds
// the WAL (so no checkpoint could copy it into the database).
func TestLazyCommitIsSyncedWithinTheBound(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "db"), seal.NewKey())
	_, sess := startSession(t, st, "u1")
	for i := range 3 { // rows for the held read to leave unread
		q, _ := st.Patient(ctx, "discord", fmt.Sprint("other", i))
		if _, err := st.OpenCase(ctx, intake.Case{PatientID: q.ID, Outcome: "urgent", Priority: intake.PriorityUrgent}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := sqlite.HoldRead(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	covered := make(chan uint64, 64)
	sqlite.OnSync(st, func(n uint64) {
		select {
		case covered <- n:
		default:
		}
	})
	var levels []int
	sqlite.OnCommit(st, func(level int) { levels = append(levels, level) })
	if err := st.SaveAnswer(ctx, sess.ID, 0, intake.Answer{QuestionID: "q1", Choice: "yes", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(levels) != fmt.Sprint([]int{levelNormal}) {
		t.Fatalf("the answer committed at %v, want lazy [%d]", levels, levelNormal)
	}
	want := sqlite.Commits(st)
	// The test's deadline, not a timing assertion: the bound is 0.5 s.
	deadline := time.After(30 * time.Second)
	for {
		select {
		case n := <-covered:
			if n >= want {
				return
			}
		case <-deadline:
			t.Fatalf("the answer (commit %d) was not synced by the checkpointer", want)
		}
	}
}
