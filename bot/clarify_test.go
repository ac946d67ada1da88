package bot_test

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/conversation"
)

// TestClarifyOnDiscordMidScreening: a question retrieval is unsure about gets
// "Did you mean…" with a button per candidate; pressing one answers it and
// the pending screening question comes back; pressing it again changes
// nothing and says so privately.
func TestClarifyOnDiscordMidScreening(t *testing.T) {
	e := start(t)
	user := "602000000000000041"
	pendingQ, n := e.startScreening(user)

	e.fake.SendDM(user, "how long does it take?")
	clarify := e.awaitText(user, n, "Did you mean")
	want := bot.EncodeButton(conversation.ClarifyQuestionID, "how-fast")
	offered := false
	for _, c := range clarify.Components {
		offered = offered || c.CustomID == want
	}
	if len(clarify.Components) < 3 || !offered {
		t.Fatalf("clarify message = %+v; want a button per candidate, how-fast among them", clarify)
	}
	n = len(e.fake.DM(user))
	e.answer(user, clarify, want)
	e.awaitText(user, n, "From: How fast it works")
	if _, qid := e.latestQuestion(user, n); qid != pendingQ {
		t.Fatalf("after choosing pending %q, want %s", qid, pendingQ)
	}

	t.Run("StaleClickIsNoOp", func(t *testing.T) {
		n := len(e.fake.DM(user))
		id := e.fake.Click(user, clarify.ID, bot.EncodeButton(conversation.ClarifyQuestionID, "how-fast"))
		if !e.fake.AwaitAck(id, wait) {
			t.Fatal("stale click not acknowledged")
		}
		notice := e.awaitText(user, n, "isn't waiting for an answer")
		if !notice.Ephemeral {
			t.Error("the stale-click notice is not ephemeral")
		}
		for _, m := range e.fake.DM(user)[n:] {
			if strings.Contains(m.Content, "From:") {
				t.Errorf("a stale click answered again: %q", m.Content)
			}
		}
	})
}
