package handoff_test

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// Every case says who the patient is on their channel and the best way to
// reach them now, whatever the screening got to.
func TestEveryCaseNamesThePatientAndAWayToReachThem(t *testing.T) {
	discord := intake.Patient{ID: "p1", Channel: "discord", UserID: "300000000000000042"}
	term := intake.Patient{ID: "p2", Channel: "console", UserID: "bob"}
	for _, tc := range []struct {
		name      string
		p         intake.Patient
		ct        intake.Contact
		who, how  string
		cardShows string
	}{
		{"DiscordNoContact", discord, intake.Contact{}, "Discord user 300000000000000042", "Discord direct message", ""},
		{"DiscordChoseMessage", discord, intake.Contact{Method: "discord", BestTime: "evening"}, "Discord user", "Discord direct message (Message patient on the card) (best time: evening)", "discord"},
		{"Phone", discord, intake.Contact{Method: "phone", Detail: "555-010-1234", BestTime: "morning"}, "Discord user", "phone call to 555-010-1234 (best time: morning)", "phone (in Details)"},
		{"TerminalEmail", term, intake.Contact{Method: "email", Detail: "bob@example.com"}, "terminal chat user bob", "email to bob@example.com", "email (in Details)"},
		{"TerminalNothing", term, intake.Contact{}, "terminal chat user bob", "no phone number or email address given", ""},
		{"Erased", intake.Patient{ID: "p3", Channel: "discord"}, intake.Contact{}, "erased", "none known", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := intake.Case{ID: "C-1", PatientID: tc.p.ID, Contact: tc.ct}
			if got := handoff.Who(tc.p); !strings.Contains(got, tc.who) {
				t.Errorf("Who = %q; want it to contain %q", got, tc.who)
			}
			if got := handoff.Reach(c, tc.p); !strings.Contains(got, tc.how) {
				t.Errorf("Reach = %q; want it to contain %q", got, tc.how)
			}
			card := handoff.CardOf(c, nil)
			if card.ContactMethod != tc.cardShows {
				t.Errorf("card contact = %q; want %q", card.ContactMethod, tc.cardShows)
			}
			if tc.ct.Detail != "" && strings.Contains(card.ContactMethod, tc.ct.Detail) {
				t.Errorf("the card shows the detail %q", tc.ct.Detail)
			}
		})
	}
}
