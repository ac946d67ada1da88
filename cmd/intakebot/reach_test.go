package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/prompts"
)

var caseIDRe = regexp.MustCompile(`C-[0-9A-Z]{7}`)

// A crisis mid-screening in the terminal opens a case that names the
// patient (their --user name) and, once they give one, how to reach them:
// handoffs show says both, with what they wrote and their safety answers so
// far.
func TestCrisisCaseNamesTheTerminalPatientAndHowToReachThem(t *testing.T) {
	data := dataDir(t)
	in := strings.Join([]string{"/screen", "yes", "yes", "depression", "one", "none",
		"1", "1", "1", "1", "1", "1", "1", "1", "1", "somewhat", "no", "no", "no", "no",
		"I want to kill myself", "call me on 555 010 7788 please"}, "\n") + "\n"
	r := intakebot(t, in, nil, "chat", "--user", "robin", "--data", data)
	if r.code != 0 {
		t.Fatalf("chat exit %d: %s", r.code, r.stderr)
	}
	if k, j := strings.LastIndex(r.stdout, "741741"), strings.LastIndex(r.stdout, "phone or email you"); k < 0 || j < k {
		t.Fatalf("the contact question did not come after the crisis resources:\n%s", r.stdout)
	}
	id := caseIDRe.FindString(intakebot(t, "", nil, "handoffs", "list", "--data", data).stdout)
	if id == "" {
		t.Fatal("no case listed")
	}
	show := intakebot(t, "", nil, "handoffs", "show", "--data", data, id)
	for _, want := range []string{"Patient:  terminal chat user robin", "Contact:  phone call to 555 010 7788",
		"What the patient wrote", "I want to kill myself", "ASQ 1: wished they were dead (past few weeks): No"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("handoffs show lacks %q:\n%s", want, show.stdout)
		}
	}
	var j struct{ Patient, Reach string }
	if err := json.Unmarshal([]byte(intakebot(t, "", nil, "handoffs", "show", "--json", "--data", data, id).stdout), &j); err != nil ||
		!strings.Contains(j.Patient, "robin") || !strings.Contains(j.Reach, "555 010 7788") {
		t.Errorf("handoffs show --json: %+v, %v", j, err)
	}
}

// chat -h lists every command the bot's /help lists, and how to leave.
func TestChatHelpListsEveryCommand(t *testing.T) {
	r := intakebot(t, "", nil, "chat", "-h")
	usage := r.stdout + r.stderr
	src, err := prompts.Embedded().Open("messages.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := src.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	help := b.String()[strings.Index(b.String(), "\nhelp: |"):]
	help = help[:strings.Index(help, "\nunknown_command:")]
	cmds := regexp.MustCompile(`(?m)^\s+(/[a-z-]+)`).FindAllStringSubmatch(help, -1)
	if len(cmds) < 5 {
		t.Fatalf("found %d commands in the bot's help; the test is broken", len(cmds))
	}
	for _, c := range append(cmds, []string{"", "/quit"}, []string{"", "Ctrl-D"}) {
		if !strings.Contains(usage, c[1]) {
			t.Errorf("chat -h does not list %s:\n%s", c[1], usage)
		}
	}
}

// In the demo, as a new user would try it: /screen (as the bot's messages
// say) starts the screening, crisis language mid-screening opens an urgent
// case, the patient is asked how to be reached and answers, and staff
// Details name the patient and that way to reach them, with what they
// wrote. No raw markdown reaches the terminal.
func TestDemoCrisisCaseNamesThePatientAndAWayToReachThem(t *testing.T) {
	data := dataDir(t)
	script := strings.Join([]string{"/screen", "1", "1", "I want to kill myself", "my email is robin@example.com", "staff details"}, "\n") + "\n"
	r := intakebot(t, script, nil, "demo", "--data", data)
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{"Question 2 of about", "741741", "phone or email you", "Contact by: no phone or email yet",
		"card updated: Case C-", "Contact by: email (in Details)",
		"Patient: @patient (Discord direct messages with the bot)", "Contact: email to robin@example.com",
		"What the patient wrote", ": I want to kill myself"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "**") || strings.Contains(out, `\@`) {
		t.Errorf("demo output shows raw markdown")
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", out)
	}
}
