package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/internal/testkit"
)

// Erasure leaves nothing the key can open: canaries in every free-text
// field (answers, contact details, notes, the closing note, the chat user
// id), written, overwritten and spread over two sessions and two cases, are
// found neither in plaintext nor in any sealed value anywhere in the
// database, WAL or shared-memory file, with the store still open (as a
// running bot's is) and after it closes.
func TestForgetPatientLeavesNothingTheKeyCanOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	sl := sealer(t, key)
	st := open(t, path, key)
	ctx := context.Background()
	const user = "canary-user-51e0"
	canaries := []string{user, "canary-mail-7f3@example.com", "CANARY-NOTE-lithium-b9", "CANARY-NOTE-rewritten-c4",
		"canary-555-0142", "CANARY-CASE-NOTE-e1", "CANARY-CLOSE-NOTE-d7", "CANARY-OLD-SESSION-a2"}

	p, err := st.Patient(ctx, "discord", user)
	if err != nil {
		t.Fatal(err)
	}
	ads := [][]byte{[]byte("patient:" + p.ID), []byte("meta:key_check")}
	versions := map[string]int64{}
	answer := func(sid, qid, text string) {
		t.Helper()
		err := st.SaveAnswer(ctx, sid, versions[sid], intake.Answer{QuestionID: qid, Text: text, At: time.Now()})
		versions[sid]++
		if err != nil {
			t.Fatal(err)
		}
		ads = append(ads, []byte("answer:"+sid+":"+qid))
	}
	// A first screening, restarted: its answers stay until erased.
	if err := st.StartSession(ctx, intake.Session{ID: "s_old", PatientID: p.ID, ScriptVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	answer("s_old", "notes", canaries[7])
	if err := st.StartSession(ctx, intake.Session{ID: "s_new", PatientID: p.ID, ScriptVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	answer("s_new", "contact_detail", canaries[1])
	answer("s_new", "notes", canaries[2])
	answer("s_new", "notes", canaries[3]) // overwritten: the first is in free space
	c1, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, SessionID: "s_new", Outcome: "positive", Priority: intake.PriorityNormal,
		Contact: intake.Contact{Method: "phone", Detail: canaries[4]}, Notes: canaries[5]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseCase(ctx, c1.ID, "staff1", "Dana", "consult_booked", canaries[6]); err != nil {
		t.Fatal(err)
	}
	c2, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "staff_requested", Priority: intake.PriorityNormal,
		Contact: intake.Contact{Method: "email", Detail: canaries[1]}, Notes: canaries[5]})
	if err != nil {
		t.Fatal(err)
	}
	ads = append(ads, []byte("case:"+c1.ID), []byte("case:"+c2.ID))

	// The scan works: before erasure it opens the values and finds them.
	before, err := testkit.ScanFiles(dir, sl, ads, canaries)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range canaries[1:] {
		if !strings.Contains(strings.Join(before.Found, "\n"), c) {
			t.Fatalf("before erasure the scan does not find %q (found %v): the scan is broken", c, before.Found)
		}
	}

	if _, err := st.ForgetPatient(ctx, p.ID, "patient:"+p.ID); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		after, err := testkit.ScanFiles(dir, sl, ads, canaries)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range after.Found {
			t.Errorf("%s: %s", when, f)
		}
		if after.Opened == 0 {
			t.Errorf("%s: the scan opened no value at all (not even the key check): the scan is broken", when)
		}
	}
	check("store open")

	// The erased patient no longer leads back to the user; the cases stay,
	// stripped, and the erasure is audited without content.
	got, err := st.PatientByID(ctx, p.ID)
	if err != nil || got.UserID != "" {
		t.Errorf("erased patient = %+v, %v; want no user id", got, err)
	}
	again, err := st.Patient(ctx, "discord", user)
	if err != nil || !again.New || again.ID == p.ID {
		t.Errorf("returning user = %+v, %v; want a new patient", again, err)
	}
	if gc, err := st.Case(ctx, c2.ID); err != nil || gc.Notes != "" || gc.Contact != (intake.Contact{}) || gc.CloseNote != "" {
		t.Errorf("case after erasure = %+v, %v", gc, err)
	}
	log, err := st.AuditLog(ctx, "")
	if err != nil || len(log) == 0 || log[len(log)-1].Action != "patient.forget" {
		t.Errorf("audit = %+v, %v; want the erasure last", log, err)
	}
	st.Close()
	check("store closed")
}

// A patient row written before user ids were hashed is converted when the
// store opens with the key, and the plaintext id leaves the file.
func TestPlaintextUserIDsAreHashedAtOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	open(t, path, key).Close()
	db := rawDB(t, path)
	if _, err := db.Exec(`INSERT INTO patients (id, channel, user_id, created_at, hashed) VALUES ('p_old', 'discord', 'canary-plain-9911', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st := open(t, path, key)
	p, err := st.Patient(context.Background(), "discord", "canary-plain-9911")
	if err != nil || p.ID != "p_old" || p.New {
		t.Fatalf("patient after conversion = %+v, %v; want p_old found by its hash", p, err)
	}
	if got, err := st.PatientByID(context.Background(), "p_old"); err != nil || got.UserID != "canary-plain-9911" {
		t.Fatalf("user id after conversion = %+v, %v", got, err)
	}
	scan, err := testkit.ScanFiles(dir, sealer(t, key), nil, []string{"canary-plain-9911"})
	if err != nil || len(scan.Found) > 0 {
		t.Errorf("after conversion: %v %v", scan.Found, err)
	}
}

// rawDB opens the file with the store's pragmas but without the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A database written before secure_delete (by an older intakebot) may hold
// erased values in its free pages; the first open scrubs them, once.
func TestOldFreePagesAreScrubbedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	sl := sealer(t, key)
	open(t, path, key).Close()
	// As an older intakebot would: no secure delete, an answer written and
	// then erased, and no scrub recorded.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=secure_delete(0)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	ad := []byte("answer:s_gone:notes")
	sealed, _ := sl.Seal([]byte(`{"q":"notes","t":"CANARY-FREE-PAGE-71"}`), ad)
	for _, q := range []string{
		`INSERT INTO patients (id, channel, user_id, created_at, hashed) VALUES ('p_gone', 'console', 'x', 1, 1)`,
		`INSERT INTO sessions (id, patient_id, script_version, status, created_at, updated_at) VALUES ('s_gone', 'p_gone', 'v1', 'completed', 1, 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`INSERT INTO answers (session_id, question_id, sealed, answered_at) VALUES ('s_gone', 'notes', ?, 1)`, sealed); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `DELETE FROM answers`, `DELETE FROM meta WHERE key = 'scrubbed'`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	before, _ := testkit.ScanFiles(dir, sl, [][]byte{ad}, []string{"CANARY-FREE-PAGE-71"})
	if len(before.Found) == 0 {
		t.Fatal("the erased answer is not in the free pages: the test sets up nothing")
	}
	open(t, path, key).Close()
	after, _ := testkit.ScanFiles(dir, sl, [][]byte{ad}, []string{"CANARY-FREE-PAGE-71"})
	for _, f := range after.Found {
		t.Errorf("after the first open: %s", f)
	}
}
