package conversation_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/testkit"
)

func turn(user, text string) intake.Turn {
	return intake.Turn{Channel: "discord", UserID: user, EventID: user + text[:min(len(text), 8)], Text: text, At: time.Now()}
}

// One limit for every channel: a message over it gets a message saying the
// limit, and is still scanned for crisis language first.
func TestOverlongTextIsRefusedWithTheLimitButScannedForCrisis(t *testing.T) {
	k := testkit.New(t)
	ctx := context.Background()
	k.Engine.Handle(ctx, turn("long", "hello"))
	replies, err := k.Engine.Handle(ctx, turn("long", strings.Repeat("what does it cost ", intake.MaxTextLength/10)))
	if err != nil || len(replies) != 1 || !strings.Contains(replies[0].Text, "the limit is 2000 characters") {
		t.Fatalf("overlong text: %+v, %v; want the limit", replies, err)
	}
	replies, err = k.Engine.Handle(ctx, turn("long", "I want to kill myself "+strings.Repeat("x", 1<<20)))
	if err != nil || len(replies) < 2 || replies[0].Kind != intake.ReplyCrisis || !strings.Contains(text(replies), "the limit is 2000 characters") {
		t.Fatalf("overlong text with crisis language: %+v, %v; want the crisis reply first, and the limit", replies, err)
	}
	replies, err = k.Engine.Handle(ctx, turn("long", strings.Repeat("a", intake.MaxTextLength)))
	if err != nil || (len(replies) > 0 && strings.Contains(replies[0].Text, "too long")) {
		t.Fatalf("text at the limit: %+v, %v; want it taken", replies, err)
	}
}
