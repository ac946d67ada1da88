package staffweb_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/intake"
)

// With the console configured, nothing the bot sends to Discord holds an
// answer, a score, a contact detail or a note: the fake's whole record of
// requests is searched for canary values after a full case, from the
// screening to the close, with Details pressed on the card and every
// console action taken. The same values are all on the console's case page.
func TestWithTheConsoleNoHealthDataCrossesDiscord(t *testing.T) {
	record := filepath.Join(t.TempDir(), "requests.jsonl")
	t.Setenv("INTAKEBOT_FAKEDISCORD_RECORD", record)
	e := newEnv(t, true)
	c := e.screen(patient)
	if !strings.Contains(c.Contact.Detail, canaryPhone) || c.Notes != canaryNotes || len(c.Scores) == 0 {
		t.Fatalf("the case lacks the canaries: %+v", c)
	}
	// The patient writes while the case is open: relayed to staff.
	e.say(patient, canaryRelay)
	if !e.fake.Await(wait, func() bool {
		es, _ := e.kit.Store.CaseEntries(context.Background(), c.ID)
		return len(es) == 1 && es[0].Kind == intake.EntryRelay
	}) {
		t.Fatal("the patient's message was not relayed")
	}

	// A second patient in crisis: what they wrote is kept on their case for
	// staff, and stays out of Discord too.
	crisisPatient := "700000000000000022"
	e.say(crisisPatient, canaryCrisis)
	var crisis intake.Case
	if !e.fake.Await(wait, func() bool {
		cs, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
		for _, cc := range cs {
			if cc.Priority == intake.PriorityUrgent {
				crisis = cc
				return cc.CardMessageID != ""
			}
		}
		e.disp.Kick()
		return false
	}) {
		t.Fatal("no card for the crisis case")
	}

	// Details on the card answers with a link, and no health data.
	id := e.fake.ClickAsMember(dana, guildID, []string{staffRole}, c.CardMessageID, bot.StaffActionID("details", c.ID))
	var link string
	linkRe := regexp.MustCompile(`http://[^\s]+/link\?t=[^\s]+`)
	if !e.fake.Await(wait, func() bool {
		for _, m := range e.fake.Channel(staffChannel) {
			if m.Ephemeral && linkRe.MatchString(m.Content) {
				link = linkRe.FindString(m.Content)
				return true
			}
		}
		return false
	}) {
		t.Fatalf("Details (interaction %s) answered with no console link:\n%v", id, e.fake.Channel(staffChannel))
	}

	cl := e.client()
	// Opening the link signs in first, then shows the case.
	resp, _ := cl.getURL(link)
	if resp.Request.URL.Path != "/signin" || !strings.Contains(resp.Request.URL.RawQuery, url.QueryEscape("/cases/"+c.ID)) {
		t.Fatalf("the link, signed out, went to %s?%s", resp.Request.URL.Path, resp.Request.URL.RawQuery)
	}
	resp, body := cl.signIn(dana)
	if resp.Request.URL.Path != "/cases/"+c.ID || !strings.Contains(body, canaryRelay) {
		t.Fatalf("after sign-in from the link: at %s:\n%s", resp.Request.URL.Path, body)
	}
	for _, step := range []struct {
		action string
		form   url.Values
		shows  string
	}{
		{"claim", url.Values{}, "is yours"},
		{"note", url.Values{"text": {canaryNote}}, "Note added"},
		{"message", url.Values{"text": {canaryMessage}, "nonce": {"n1"}}, "Sent to the patient"},
		{"close", url.Values{"reason": {"consult_booked"}, "text": {canaryClose}}, "closed: Consult booked"},
	} {
		resp, body := cl.post("/cases/"+c.ID+"/"+step.action, step.form, true)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, step.shows) {
			t.Fatalf("%s: status %d, page lacks %q:\n%s", step.action, resp.StatusCode, step.shows, body)
		}
	}
	if _, page := cl.get("/cases/" + crisis.ID); !strings.Contains(page, "kill myself tonight") {
		t.Errorf("the crisis case page does not show what the patient wrote")
	}
	_, page := cl.get("/cases/" + c.ID)
	for _, v := range []string{canaryPhone, canaryNotes, canaryRelay, canaryNote, canaryClose, canaryMessage, "PHQ9: 8 (mild)"} {
		if !strings.Contains(page, v) {
			t.Errorf("the case page lacks %q", v)
		}
	}
	// Everything queued is delivered: cards edited, the patient told.
	if !e.fake.Await(wait, func() bool {
		evs, _ := e.kit.Store.PendingEvents(context.Background(), 10)
		return len(evs) == 0
	}) {
		t.Fatal("outbox events still pending")
	}
	if _, ok := e.fake.AwaitDM(patient, wait, func(m discordfake.Message) bool { return strings.Contains(m.Content, canaryMessage) }); !ok {
		t.Error("the staff message did not reach the patient's DM")
	}

	raw, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(string(raw))
	if !strings.Contains(text, "/threads") || !strings.Contains(text, strings.ToLower(c.ID)) {
		t.Fatalf("the record holds no thread or card traffic; is it the whole record?\n%s", raw)
	}
	for _, canary := range []string{canaryPhone, "5550147", canaryNotes, "mill", canaryRelay, "tuesdays", canaryNote, "voicemail", canaryClose,
		"booked for the 14th", "zebra-canary", "phq", "gad-7", "gad7", "(mild)", "moderately severe"} {
		if strings.Contains(text, strings.ToLower(canary)) {
			i := strings.Index(text, strings.ToLower(canary))
			t.Errorf("the bot sent %q to Discord: …%s…", canary, string(raw[max(0, i-200):min(len(raw), i+100)]))
		}
	}
	// The staff message is the one text that goes to Discord (to the patient,
	// and its copy in the case thread).
	if !strings.Contains(text, strings.ToLower(canaryMessage)) {
		t.Error("the staff message is not in the record: is the record complete?")
	}
}
