package conversation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/testkit"
)

// FuzzEngineText feeds arbitrary text to the engine, from a patient with
// no screening and from one in the middle of one: every turn is handled
// without an error or a panic, and no reply carries a control or
// bidi-override character to the screen. Seeds are in
// testdata/fuzz/FuzzEngineText.
func FuzzEngineText(f *testing.F) {
	k := testkit.New(f)
	ctx := context.Background()
	if _, err := k.Engine.Handle(ctx, intake.Turn{Channel: "console", UserID: "screening", Text: "/screen", At: time.Now()}); err != nil {
		f.Fatal(err)
	}
	f.Add("yes")
	f.Add("who takes me home after an infusion?")
	n := 0
	f.Fuzz(func(t *testing.T, text string) {
		for _, user := range []string{"idle", "screening"} {
			n++
			replies, err := k.Engine.Handle(ctx, intake.Turn{Channel: "discord", UserID: user, EventID: fmt.Sprint(n), Text: text, At: time.Now()})
			if err != nil {
				t.Fatalf("%s: %q: %v", user, text, err)
			}
			for _, r := range replies {
				if intake.HasUnsafe(r.Text) {
					t.Fatalf("%s: %q: reply %q carries an unsafe character", user, text, r.Text)
				}
			}
		}
	})
}
