package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

// Patient text cannot drive a staff terminal: control and bidi-override
// characters are dropped from free text as it is received, refused in a
// contact detail, and whatever an older row still holds is printed as
// visible escapes by handoffs show and audit.
func TestPatientTextCannotAttackAStaffTerminal(t *testing.T) {
	data := dataDir(t)
	input := strings.Join([]string{
		"/screen", "yes", "yes", "depression, anxiety", "three_plus", "none",
		"3", "3", "2", "1", "1", "1", "1", "1", "1", "somewhat",
		"4", "4", "4", "2", "1", "1", "1",
		"no", "no", "no", "no",
		"no", "no", "no", "no", "not sure", "no", "no", "yes",
		"email", "test@example.com\u202e", "test@example.com", "evening",
		"clear\x1b[2J title\x1b]0;owned\x07 nul\x00 \u202eevil \u05e9\u05dc\u05d5\u05dd \U0001F44B",
	}, "\n") + "\n"
	r := intakebot(t, input, nil, "chat", "--json", "--user", "hostile", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "invisible or control characters") || !strings.Contains(r.stdout, `"outcome":"positive"`) {
		t.Fatalf("chat: exit %d; want the disguised contact refused and the screening finished:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var caseID string
	for _, l := range lines(t, r.stdout) {
		if l.Type == "outcome" {
			caseID = l.CaseID
		}
	}
	show := intakebot(t, "", nil, "handoffs", "show", "--data", data, caseID)
	if show.code != 0 || !strings.Contains(show.stdout, "clear[2J title]0;owned nul evil \u05e9\u05dc\u05d5\u05dd \U0001F44B") ||
		!strings.Contains(show.stdout, "test@example.com (best time") {
		t.Errorf("handoffs show: exit %d; want the note without control characters, other scripts and emoji kept:\n%s", show.code, show.stdout)
	}

	// A row written before text was cleaned, or by another program.
	keyText, err := os.ReadFile(filepath.Join(data, "data.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := seal.ParseKey(string(keyText))
	sl, _ := seal.New(key)
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "intakebot.db"), sl, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseCase(context.Background(), caseID, "staff\x1b[31m", "Dana\u202e", "other", "note\x1b[2J\x1b]0;owned\x07\u202e"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{{"handoffs", "show", "--data", data, caseID}, {"handoffs", "list", "--data", data}, {"audit", "--data", data}} {
		r := intakebot(t, "", nil, args...)
		if r.code != 0 || strings.ContainsAny(r.stdout, "\x1b\x07\u202e") {
			t.Errorf("%s: exit %d; printed a control or bidi character raw:\n%q", strings.Join(args[:2], " "), r.code, r.stdout)
		}
		if args[0] == "handoffs" && args[1] == "show" && !strings.Contains(r.stdout, `note\x1b[2J\x1b]0;owned\x07\u202e`) {
			t.Errorf("handoffs show does not show the escapes visibly:\n%s", r.stdout)
		}
	}
}

// A line of a MiB or more gets the limit and the chat goes on with the next.
func TestChatOverlongLineGetsTheLimitAndGoesOn(t *testing.T) {
	r := intakebot(t, strings.Repeat("a", 1<<20+10)+"\nwho takes me home after an infusion?\n", nil, "chat", "--json", "--data", dataDir(t))
	if r.code != 0 || !strings.Contains(r.stdout, "the limit is 2000 characters") || !strings.Contains(r.stdout, "From:") {
		t.Fatalf("chat: exit %d; want the limit, then the next line answered:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
