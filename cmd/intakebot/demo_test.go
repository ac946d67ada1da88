package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The whole journey in the demo, as a new user would try it: the patient
// asks for the care team, staff claim, message, hear back through the
// thread, add a note, read the details and close; then the terminal tools
// show the same case and the same actions.
func TestDemoStaffJourneyMatchesHandoffsAndAudit(t *testing.T) {
	data := dataDir(t)
	script := strings.Join([]string{
		"hello",
		"can I talk to a real person?",
		"staff claim",
		"staff message Hello from the clinic, when can we call?",
		"after 5pm works for me",
		"staff note Patient prefers evenings",
		"staff details",
		"staff close unreachable Tried twice",
		"staff list",
	}, "\n") + "\n"
	r := intakebot(t, script, map[string]string{"INTAKEBOT_LOG_LEVEL": "debug"}, "demo", "--data", data)
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	// Logs go to a file in the data directory, never between the lines.
	logPath := filepath.Join(data, "demo.log")
	if log, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(log), "level=") {
		t.Errorf("no logs in %s: %v", logPath, err)
	}
	if strings.Contains(out+r.stderr, "level=") || !strings.Contains(out, "Logs go to "+logPath) || !strings.Contains(out, "go to "+data+", and stay there") {
		t.Errorf("demo output, stderr:\n%s\n%s", out, r.stderr)
	}
	for _, want := range []string{
		"[staff channel] new card: Case C-",
		"is now looking after your request",         // the patient hears of the claim
		"Hello from the clinic, when can we call?",  // the patient's DM
		"Sent to the patient by " + demoStaffName,   // the thread
		"passed that on to the care team",           // the patient's reply relayed
		"The patient wrote: after 5pm works for me", // in the thread (bold as Discord shows it)
		"Note from " + demoStaffName + ": Patient prefers evenings",
		"Staff console: http://127.0.0.1:", // the demo serves the console too
		"[staff, only you see, case C-",
		"Opened: a few seconds ago",
		"opened a few seconds ago", // staff list
		"closed — Could not reach",
		"tried to reach you",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "<t:") || strings.Contains(out, "User "+demoStaffUser) {
		t.Error("demo output shows raw Discord markup or the staff member's id")
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", out)
	}
	id := regexp.MustCompile(`Case (C-[0-9A-Z]+)`).FindStringSubmatch(out)[1]
	// Every staff action names the case it acted on.
	for _, verb := range []string{"claim", "message", "note", "details", "close"} {
		if !strings.Contains(out, "[staff] "+demoStaffName+": "+verb+" on case "+id) {
			t.Errorf("staff %s does not name case %s", verb, id)
		}
	}

	list := intakebot(t, "", nil, "handoffs", "list", "--data", data)
	if list.code != 0 || !strings.Contains(list.stdout, id) || !strings.Contains(list.stdout, "closed (unreachable)") || !strings.Contains(list.stdout, "Closed by "+demoStaffName+": Could not reach") {
		t.Errorf("handoffs list:\n%s%s", list.stdout, list.stderr)
	}
	show := intakebot(t, "", nil, "handoffs", "show", "--data", data, id)
	if show.code != 0 || !strings.Contains(show.stdout, "Status:   closed ("+demoStaffName+"): Could not reach") || !strings.Contains(show.stdout, "Closing note:\n  Tried twice") {
		t.Errorf("handoffs show:\n%s%s", show.stdout, show.stderr)
	}
	audit := intakebot(t, "", nil, "audit", "--case", id, "--data", data)
	var actions []string
	for _, line := range strings.Split(audit.stdout, "\n") {
		for _, a := range []string{"case.claim", "patient.notice", "case.message", "case.relay", "case.note", "case.view", "case.close"} {
			if strings.Contains(line, " "+a+" ") {
				actions = append(actions, a)
			}
		}
	}
	want := "case.claim patient.notice case.message case.relay case.note case.view case.close patient.notice case.view"
	if strings.Join(actions, " ") != want {
		t.Errorf("audit actions %v\nwant %s\n%s", actions, want, audit.stdout)
	}
}

// firstRead calls hook once, on the demo's first read of its input: by then
// the demo has said where its data are and opened them.
type firstRead struct {
	r    io.Reader
	hook func()
	once sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	f.once.Do(f.hook)
	return f.r.Read(p)
}

// snapshot is every file under dir with its size, mode and content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if !d.IsDir() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		out[path] = fmt.Sprintf("%v %d %s %v", fi.Mode(), fi.Size(), sum, fi.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Without --data, the demo runs on a new private directory it names at the
// start and removes at the end, twice in a row, and the real data
// directory (its cases, audit log and key file, set in the environment)
// is untouched.
func TestDemoRunsOnAThrowawayDataDirectory(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "xdg"))
	real := dataDir(t)
	vars := map[string]string{"INTAKEBOT_DATA_DIR": real, "INTAKEBOT_KEY_FILE": filepath.Join(real, "data.key"), "INTAKEBOT_LOG_FILE": filepath.Join(real, "real.log")}
	if r := intakebot(t, "/staff\n", vars, "chat", "--user", "realpatient"); r.code != 0 {
		t.Fatalf("chat: %d %s", r.code, r.stderr)
	}
	before := snapshot(t, real)
	tmp := t.TempDir()
	vars["TMPDIR"] = tmp
	script := "hello\ncan I talk to a real person?\nstaff claim\nstaff close unreachable\n"
	for n := 1; n <= 2; n++ {
		var dir string
		var out, errb bytes.Buffer
		in := &firstRead{r: strings.NewReader(script), hook: func() {
			ents, err := os.ReadDir(tmp)
			if err != nil || len(ents) != 1 {
				t.Errorf("try %d: %s holds %v (%v); want one demo directory", n, tmp, ents, err)
				return
			}
			dir = filepath.Join(tmp, ents[0].Name())
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("try %d: demo directory %v %v; want mode 0700", n, fi, err)
			}
			for _, f := range []string{"intakebot.db", "data.key", "demo.log"} {
				if !fileExists(filepath.Join(dir, f)) {
					t.Errorf("try %d: no %s in the demo directory", n, f)
				}
			}
		}}
		e := env{stdin: in, stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
		if code := run(context.Background(), e, []string{"demo"}); code != 0 {
			t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errb.String())
		}
		if dir == "" {
			t.Fatal("the demo never read its input")
		}
		if !strings.Contains(out.String(), "new temporary directory, "+dir) || !strings.Contains(out.String(), "Logs go to "+filepath.Join(dir, "demo.log")) {
			t.Errorf("try %d: the demo did not say where its data and logs are (%s):\n%s", n, dir, out.String())
		}
		if !strings.Contains(out.String(), "[staff channel] new card: Case C-") {
			t.Errorf("try %d: no card:\n%s", n, out.String())
		}
		if fileExists(dir) {
			t.Errorf("try %d: the demo left %s behind", n, dir)
		}
		if errb.Len() != 0 {
			t.Errorf("try %d: stderr: %s", n, errb.String())
		}
	}
	if after := snapshot(t, real); !reflect.DeepEqual(before, after) {
		t.Errorf("the real data directory changed:\nbefore %v\nafter  %v", before, after)
	}
	if fileExists(filepath.Join(home, "xdg", "intakebot")) || fileExists(filepath.Join(home, ".local")) {
		t.Error("the demo created the default data directory")
	}
	list := intakebot(t, "", vars, "handoffs", "list")
	if strings.Count(list.stdout, "C-") != 1 {
		t.Errorf("the real cases changed:\n%s", list.stdout)
	}
}

// An interrupt while the demo waits for input ends it and still removes
// its directory.
func TestDemoInterruptedRemovesItsDirectory(t *testing.T) {
	tmp := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	defer close(release)
	var dir string
	in := &firstRead{r: blockingReader(release), hook: func() {
		if ents, err := os.ReadDir(tmp); err == nil && len(ents) == 1 {
			dir = filepath.Join(tmp, ents[0].Name())
		}
		cancel()
	}}
	var out, errb bytes.Buffer
	e := env{stdin: in, stdout: &out, stderr: &errb, getenv: func(k string) string { return map[string]string{"TMPDIR": tmp}[k] }}
	if code := run(ctx, e, []string{"demo"}); code != 0 {
		t.Fatalf("demo exit %d: %s", code, errb.String())
	}
	if dir == "" || fileExists(dir) {
		t.Errorf("demo directory %q was not made, or is still there", dir)
	}
}

// blockingReader returns EOF once release is closed, and nothing before.
type blockingReader chan struct{}

func (b blockingReader) Read([]byte) (int, error) {
	<-b
	return 0, io.EOF
}

// Staff commands act on the case named, or else on the newest case not
// yet closed (not on the card printed last), and say which; a case that
// does not exist, or none open, is said so.
func TestDemoStaffCommandsTakeACaseReference(t *testing.T) {
	data := dataDir(t)
	// An older case, from the terminal, in the same data directory.
	r := intakebot(t, "/staff\n", nil, "chat", "--json", "--user", "walkin", "--data", data)
	older := ""
	for _, l := range lines(t, r.stdout) {
		if m := regexp.MustCompile(`C-[0-9A-Z]+`).FindString(l.Text); m != "" {
			older = m
		}
	}
	if older == "" {
		t.Fatalf("chat opened no case:\n%s", r.stdout)
	}
	script := strings.Join([]string{
		"hello",
		"can I talk to a real person?", // the demo patient's case, the newest
		"staff close unreachable",      // closes the newest
		"staff claim",                  // the newest still open: the older one
		"staff details " + strings.ToLower(older),
		"staff claim C-NOPE1",
		"staff close " + older + " withdrew Called back",
		"staff claim",
	}, "\n") + "\n"
	r = intakebot(t, script, nil, "demo", "--data", data)
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	m := regexp.MustCompile(`reference is (C-[0-9A-Z]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no case for the demo patient:\n%s", out)
	}
	newer := m[1]
	for _, want := range []string{
		"[staff] " + demoStaffName + ": close on case " + newer,
		"[staff, only you see, case " + newer + "] Case " + newer + " closed: Could not reach",
		"[staff] " + demoStaffName + ": claim on case " + older,
		"Status: claimed — " + demoStaffName,
		"[staff] " + demoStaffName + ": details on case " + older,
		"[staff, only you see, case " + older + "] Case " + older + " (",
		"There is no case C-NOPE1",
		"[staff, only you see, case " + older + "] Case " + older + " closed: Patient withdrew",
		"There is no open case",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", out)
	}
	show := intakebot(t, "", nil, "handoffs", "show", "--data", data, older)
	if !strings.Contains(show.stdout, "closed ("+demoStaffName+"): Patient withdrew") {
		t.Errorf("handoffs show %s:\n%s", older, show.stdout)
	}
}

// Discord markup reads in the terminal as Discord shows it.
func TestDemoRendersDiscordMarkup(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	at := now.Add(-2 * time.Minute).Unix()
	p := &demoPrinter{now: func() time.Time { return now }}
	in := fmt.Sprintf("-# Question 3 of about 29\nOpened <t:%d:R>, due <t:%d:R>, on <t:%d:f>\n<@&%s> page", at, now.Add(5*time.Minute).Unix(), at, demoOncallRole)
	want := fmt.Sprintf("· Question 3 of about 29\nOpened 2 minutes ago, due in 5 minutes, on %s\n@on-call page", time.Unix(at, 0).Local().Format("January 2, 2006 3:04 PM"))
	if got := p.render(in); got != want {
		t.Errorf("render:\n%s\nwant\n%s", got, want)
	}
	p.dim = true
	if got := p.render("-# small\nplain"); got != "\x1b[2msmall\x1b[0m\nplain" {
		t.Errorf("on a terminal: %q", got)
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "a few seconds ago", time.Minute: "a minute ago", 3 * time.Hour: "3 hours ago", 30 * time.Hour: "a day ago", 72 * time.Hour: "3 days ago"} {
		if got := relativeTime(d); got != want {
			t.Errorf("relativeTime(%v) = %q; want %q", d, got, want)
		}
	}
}
