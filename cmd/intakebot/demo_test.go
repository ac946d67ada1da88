package main

import (
	"regexp"
	"strings"
	"testing"
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
	r := intakebot(t, script, nil, "demo", "--data", data)
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	out := r.stdout
	for _, want := range []string{
		"[staff channel] new card: Case C-",
		"is now looking after your request",            // the patient hears of the claim
		"Hello from the clinic, when can we call?",     // the patient's DM
		"Sent to the patient by User " + demoStaffUser, // the thread
		"passed that on to the care team",              // the patient's reply relayed
		"The patient wrote:** after 5pm works for me",  // in the thread
		"Note from User " + demoStaffUser + ":** Patient prefers evenings",
		"[staff, only you see] **Case C-",
		"closed — Could not reach",
		"tried to reach you",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", out)
	}
	id := regexp.MustCompile(`Case (C-[0-9A-Z]+)`).FindStringSubmatch(out)[1]

	list := intakebot(t, "", nil, "handoffs", "list", "--data", data)
	if list.code != 0 || !strings.Contains(list.stdout, id) || !strings.Contains(list.stdout, "closed (unreachable)") || !strings.Contains(list.stdout, "Closed by User "+demoStaffUser+": Could not reach") {
		t.Errorf("handoffs list:\n%s%s", list.stdout, list.stderr)
	}
	show := intakebot(t, "", nil, "handoffs", "show", "--data", data, id)
	if show.code != 0 || !strings.Contains(show.stdout, "Status:   closed (User "+demoStaffUser+"): Could not reach") || !strings.Contains(show.stdout, "Closing note:\n  Tried twice") {
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
