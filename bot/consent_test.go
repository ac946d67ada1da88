package bot_test

import (
	"strings"
	"testing"
)

// On Discord the consent question and /privacy say that the DM passes
// through Discord and that Discord keeps it, from messages.yaml, and never
// that the answers go "only" to the care team.
func TestConsentOnDiscordSaysWhereAnswersGo(t *testing.T) {
	e := start(t)
	want := e.kit.Messages.Render("where_answers_go_discord", nil)
	if !strings.Contains(want, "Discord") {
		t.Fatalf("where_answers_go_discord = %q", want)
	}
	user := "608000000000000001"
	e.fake.SendDM(user, "/screen")
	msg, q := e.latestQuestion(user, 0)
	if q != "consent" || !strings.Contains(msg.Content, want) || strings.Contains(msg.Content, "go only to") {
		t.Errorf("consent on Discord (%s):\n%s\nwant %q", q, msg.Content, want)
	}
	id := e.fake.Command(user, "", "", "privacy", nil)
	e.fake.AwaitAck(id, wait)
	if p := e.awaitText(user, 0, "holds about you"); !strings.Contains(p.Content, want) {
		t.Errorf("/privacy on Discord:\n%s\nwant %q", p.Content, want)
	}
}
