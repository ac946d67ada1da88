package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/internal/testkit"
)

// The retention sweep erases, as /forget-me does, finished screenings and
// closed cases older than the cut-off and the ids of patients left with
// nothing; it keeps what is newer, active or open; a dry run changes
// nothing; the audit row holds counts only.
func TestPurgeErasesWhatIsOlderThanRetention(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	st := open(t, path, key)
	ctx := context.Background()
	twoYearsAgo := time.Now().AddDate(-2, 0, 0)
	var ads [][]byte
	// at sets the store's clock, as the time each record was written.
	at := func(when time.Time) { st.Now = func() time.Time { return when } }
	finish := func(user, note string, when time.Time, closeCase bool) (intake.Patient, intake.Case) {
		t.Helper()
		at(when)
		p, err := st.Patient(ctx, "console", user)
		if err != nil {
			t.Fatal(err)
		}
		sid := "s_" + user
		if err := st.StartSession(ctx, intake.Session{ID: sid, PatientID: p.ID, ScriptVersion: "v1"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveAnswer(ctx, sid, 0, intake.Answer{QuestionID: "notes", Text: note, At: when}); err != nil {
			t.Fatal(err)
		}
		c, err := st.EndSession(ctx, sid, 1, intake.SessionCompleted, "positive", false,
			&intake.Case{PatientID: p.ID, Outcome: "positive", Priority: intake.PriorityNormal, Notes: note, Contact: intake.Contact{Method: "email", Detail: note + "@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if closeCase {
			if _, err := st.CloseCase(ctx, c.ID, "staff", "Dana", "consult_booked", note+"-closing"); err != nil {
				t.Fatal(err)
			}
		}
		ads = append(ads, []byte("answer:"+sid+":notes"), []byte("case:"+c.ID), []byte("patient:"+p.ID))
		return p, *c
	}
	oldP, oldCase := finish("old-canary-user", "OLDCANARY", twoYearsAgo, true)
	_, openCase := finish("old-open", "OLDOPEN", twoYearsAgo, false)
	newP, newCase := finish("new-user", "NEWKEEP", time.Now(), true)
	at(time.Now())
	cut := time.Now().AddDate(-1, 0, 0)

	dry, err := st.Purge(ctx, cut, true)
	if err != nil {
		t.Fatal(err)
	}
	// The open case's session is finished and old too; its case is not closed.
	want := sqlite.PurgeCounts{Sessions: 2, Answers: 2, Cases: 1, Patients: 1}
	if dry != want {
		t.Fatalf("dry run = %+v; want %+v", dry, want)
	}
	if c, _ := st.Case(ctx, oldCase.ID); c.Notes != "OLDCANARY" {
		t.Fatal("the dry run changed something")
	}
	got, err := st.Purge(ctx, cut, false)
	if err != nil || got != want {
		t.Fatalf("purge = %+v, %v; want %+v", got, err, want)
	}
	if again, _ := st.Purge(ctx, cut, true); again != (sqlite.PurgeCounts{}) {
		t.Errorf("a second sweep would erase %+v; want nothing", again)
	}

	if c, err := st.Case(ctx, oldCase.ID); err != nil || c.Notes != "" || c.CloseNote != "" || c.Contact != (intake.Contact{}) || c.Outcome != "positive" {
		t.Errorf("old closed case = %+v, %v; want its details erased, its outcome kept", c, err)
	}
	if c, err := st.Case(ctx, openCase.ID); err != nil || c.Notes != "OLDOPEN" {
		t.Errorf("old open case = %+v, %v; want it untouched", c, err)
	}
	if c, err := st.Case(ctx, newCase.ID); err != nil || c.Notes != "NEWKEEP" || c.CloseNote != "NEWKEEP-closing" {
		t.Errorf("recent case = %+v, %v; want it untouched", c, err)
	}
	if p, _ := st.PatientByID(ctx, oldP.ID); p.UserID != "" {
		t.Errorf("old patient still named %q", p.UserID)
	}
	if p, _ := st.PatientByID(ctx, newP.ID); p.UserID != "new-user" {
		t.Errorf("recent patient = %q", p.UserID)
	}
	log, _ := st.AuditLog(ctx, "")
	last := log[len(log)-1]
	if last.Action != "retention.purge" || last.Result != "sessions 2, answers 2, cases 1, patients 1" {
		t.Errorf("audit = %+v; want the counts only", last)
	}
	scan, err := testkit.ScanFiles(dir, sealer(t, key), ads, []string{"OLDCANARY", "old-canary-user"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range scan.Found {
		t.Error(f)
	}
	if scan, _ := testkit.ScanFiles(dir, sealer(t, key), ads, []string{"NEWKEEP"}); !strings.Contains(strings.Join(scan.Found, " "), "NEWKEEP") {
		t.Error("the scan does not find what was kept: it is broken")
	}
}
