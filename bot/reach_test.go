package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/intake"
)

// A crisis in a DM opens an urgent case whose card says no phone or email
// is known yet; the patient is asked for one after the resources, and when
// it arrives the card says so (without the number). Details (audited) name
// the patient on Discord, the way to reach them, and what they wrote.
func TestCrisisCaseOnDiscordCanBeActedOn(t *testing.T) {
	s := newStaffEnv(t, 0)
	const user = "610100000000000001"
	s.fake.SendDM(user, "i want to kill myself")
	s.awaitText(user, 0, "741741")
	s.awaitText(user, 0, "phone or email you")
	cases, _ := s.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 {
		t.Fatalf("cases = %+v", cases)
	}
	c := cases[0]
	s.step()
	if card := s.card(c.ID); !strings.Contains(card.Embeds[0], "no phone or email yet") {
		t.Errorf("card before a contact: %s", card.Embeds[0])
	}
	n := len(s.fake.DM(user))
	s.fake.SendDM(user, "555-010-3333")
	s.awaitText(user, n, "555-010-3333")
	s.step()
	card := s.card(c.ID)
	if !strings.Contains(card.Embeds[0], "phone (in Details)") || strings.Contains(card.Embeds[0], "555-010-3333") ||
		strings.Contains(card.Embeds[0], "kill") {
		t.Errorf("card after the contact: %s", card.Embeds[0])
	}
	s.press(staffUser, []string{staffRole}, card.ID, bot.StaffActionID("details", c.ID))
	var details discordfake.Message
	if !s.fake.Await(wait, func() bool {
		for _, m := range s.fake.Channel(staffChannel) {
			if m.Ephemeral && strings.Contains(m.Content, "**Case "+c.ID+"**") {
				details = m
				return true
			}
		}
		return false
	}) {
		t.Fatal("no details")
	}
	for _, want := range []string{"Patient: <@" + user + ">", "Contact: phone call to 555-010-3333"} {
		if !strings.Contains(details.Content, want) {
			t.Errorf("details lack %q: %s", want, details.Content)
		}
	}
	if len(details.Embeds) == 0 || !strings.Contains(details.Embeds[0], "What the patient wrote") || !strings.Contains(details.Embeds[0], "i want to kill myself") {
		t.Errorf("details embeds = %v; want what the patient wrote", details.Embeds)
	}
	if got := s.auditActions(c.ID); !strings.Contains(strings.Join(got, " "), "case.view/ok") || !strings.Contains(strings.Join(got, " "), "case.contact/ok") {
		t.Errorf("audit = %v; want the contact and the view", got)
	}
}
