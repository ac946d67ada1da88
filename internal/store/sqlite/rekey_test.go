package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func TestRekeyInBatchesThenTheOldKeyIsNotNeeded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intakebot.db")
	oldKey, newKey := seal.NewKey(), seal.NewKey()
	ctx := context.Background()
	st := open(t, path, oldKey)
	p, sess := startSession(t, st, "rekey-user")
	for i, q := range []string{"notes", "contact_detail", "phq9_1"} {
		if err := st.SaveAnswer(ctx, sess.ID, int64(i), intake.Answer{QuestionID: q, Text: "value " + q, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: intake.PriorityNormal, Notes: "case note"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	both, err := seal.New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path, both, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.Stale(ctx); err != nil || n != 6 { // key check, 3 answers, case, patient
		t.Fatalf("stale = %d, %v; want 6", n, err)
	}
	for {
		n, err := st.RekeyBatch(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if n, _ := st.Stale(ctx); n != 0 {
		t.Fatalf("stale after rekey = %d", n)
	}
	st.Close()

	st = open(t, path, newKey) // the old key retired
	got, err := st.Patient(ctx, "console", "rekey-user")
	if err != nil || got.ID != p.ID || got.New {
		t.Fatalf("patient under the new key = %+v, %v; want %s found by its new hash", got, err, p.ID)
	}
	sessNow, err := st.ActiveSession(ctx, p.ID)
	if err != nil || sessNow.Answers["notes"].Text != "value notes" || len(sessNow.Answers) != 3 {
		t.Fatalf("answers under the new key = %+v, %v", sessNow.Answers, err)
	}
	if gc, err := st.Case(ctx, c.ID); err != nil || gc.Notes != "case note" {
		t.Fatalf("case under the new key = %+v, %v", gc, err)
	}
	if pp, err := st.PatientByID(ctx, p.ID); err != nil || pp.UserID != "rekey-user" {
		t.Fatalf("user id under the new key = %+v, %v", pp, err)
	}
}
