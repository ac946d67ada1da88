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
		"no", // to the direct safety question, if the notes raise one
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

// screen --answers reads a file strictly: no number read as an option's
// position, no mapping taken as text, no aliases, nothing over the size
// limit; each refusal names file:line. Labels are accepted, as in the chat.
func TestScreenAnswersFileIsStrictAndBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct{ name, src, want string }{
		{"position.yaml", "consent: yes\nage_18: yes\nphq9_1: 3\n", "position.yaml:3: phq9_1: 3 is a number, and a number is not read as an option's position"},
		{"quoted.yaml", "consent: yes\nphq9_2: \"2\"\n", "quoted.yaml:2: phq9_2: \"2\" is a number"},
		{"mapping.yaml", "consent: yes\nnotes: {a: b}\n", "mapping.yaml:2: notes: a mapping is not an answer"},
		{"list.yaml", "consent: [yes, no]\n", "list.yaml:1: consent: a list is only for a question where several options may be chosen"},
		{"aliases.yaml", "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
			"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n",
			"aliases.yaml:1: anchors and aliases"},
		{"deep.json", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested more than"},
		{"huge.yaml", "notes: \"" + strings.Repeat("x", 70<<10) + "\"\n", "the limit for an answers file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := intakebot(t, "", nil, "screen", "--answers", write(tc.name, tc.src))
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
	// Labels, ids and yes/no words, as the chat takes them.
	ok := write("labels.yaml", "consent: yes\nage_18: \"Yes\"\nreasons: [Depression, anxiety]\nantidepressant_trials: Two\nother_treatments: none\n"+
		"phq9_1: Nearly every day\nphq9_2: nearly_every_day\n")
	r := intakebot(t, "", nil, "screen", "--answers", ok, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"outcome": "incomplete"`) {
		t.Errorf("labels: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
