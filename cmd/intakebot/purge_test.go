package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func TestPurgeDryRunThenPurge(t *testing.T) {
	data := dataDir(t)
	if r := intakebot(t, "hi\n", nil, "chat", "--json", "--user", "recent", "--data", data); r.code != 0 {
		t.Fatalf("chat: %d %s", r.code, r.stderr)
	}
	// A screening finished and its case closed two years ago.
	keyText, _ := os.ReadFile(filepath.Join(data, "data.key"))
	key, _ := seal.ParseKey(string(keyText))
	sl, _ := seal.New(key)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(data, "intakebot.db"), sl, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return time.Now().AddDate(-2, 0, 0) }
	p, _ := st.Patient(ctx, "console", "old")
	st.StartSession(ctx, intake.Session{ID: "s_old", PatientID: p.ID, ScriptVersion: "v1"})
	st.SaveAnswer(ctx, "s_old", 0, intake.Answer{QuestionID: "notes", Text: "old note"})
	c, err := st.EndSession(ctx, "s_old", 1, intake.SessionCompleted, "positive", false, &intake.Case{PatientID: p.ID, Outcome: "positive", Priority: intake.PriorityNormal, Notes: "old note"})
	if err != nil {
		t.Fatal(err)
	}
	st.CloseCase(ctx, c.ID, "staff", "Dana", "consult_booked", "")
	st.Close()

	type counts struct {
		DryRun                             bool `json:"dry_run"`
		Sessions, Answers, Cases, Patients int
	}
	run := func(args ...string) counts {
		t.Helper()
		r := intakebot(t, "", nil, append([]string{"purge", "--json", "--data", data}, args...)...)
		var got counts
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil {
			t.Fatalf("purge %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return got
	}
	want := counts{DryRun: true, Sessions: 1, Answers: 1, Cases: 1, Patients: 1}
	if got := run("--dry-run"); got != want {
		t.Fatalf("dry run = %+v; want %+v", got, want)
	}
	if got := run("--dry-run"); got != want {
		t.Fatalf("a second dry run = %+v: the first changed something", got)
	}
	want.DryRun = false
	if got := run(); got != want {
		t.Fatalf("purge = %+v; want %+v", got, want)
	}
	if got := run("--dry-run"); got != (counts{DryRun: true}) {
		t.Fatalf("after the purge a dry run = %+v; want nothing left", got)
	}
	r := intakebot(t, "", nil, "handoffs", "show", "--data", data, c.ID)
	if r.code != 0 || strings.Contains(r.stdout, "old note") {
		t.Errorf("purged case still shows its note:\n%s", r.stdout)
	}
	if r := intakebot(t, "", nil, "audit", "--data", data); !strings.Contains(r.stdout, "retention.purge") || !strings.Contains(r.stdout, "sessions 1, answers 1, cases 1, patients 1") {
		t.Errorf("audit lacks the purge with its counts:\n%s", r.stdout)
	}
	if r := intakebot(t, "", map[string]string{"INTAKEBOT_RETENTION": "1h"}, "purge", "--data", data); r.code != 1 || !strings.Contains(r.stderr, "at least a day") {
		t.Errorf("INTAKEBOT_RETENTION=1h: exit %d, %q", r.code, r.stderr)
	}
}
