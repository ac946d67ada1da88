package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/console"
	"github.com/intakebot/intakebot/internal/intake"
)

// recorder is an engine that records turns and asks a question named by
// the turn's text when it starts with "ask ".
type recorder struct{ turns []intake.Turn }

func (r *recorder) Greet(context.Context, string, string) ([]intake.Reply, error) {
	return []intake.Reply{{Kind: intake.ReplyQuestion, QuestionID: "q1", Text: "first?"}}, nil
}

func (r *recorder) Handle(_ context.Context, t intake.Turn) ([]intake.Reply, error) {
	r.turns = append(r.turns, t)
	if id, ok := strings.CutPrefix(t.Text, "ask "); ok {
		return []intake.Reply{{Kind: intake.ReplyMessage, Text: "ok"}, {Kind: intake.ReplyQuestion, QuestionID: id, Text: id + "?"}}, nil
	}
	return []intake.Reply{{Kind: intake.ReplyMessage, Text: "noted"}}, nil
}

func TestTurnsNameTheQuestionOnScreen(t *testing.T) {
	r := &recorder{}
	in := "answer one\nask q2\nanswer two\nno question now\n"
	var out strings.Builder
	if err := (&console.Chat{Handler: r, User: "u", In: strings.NewReader(in), Out: &out}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"q1", "", "q2", ""}
	if len(r.turns) != len(want) {
		t.Fatalf("%d turns; want %d", len(r.turns), len(want))
	}
	for i, tr := range r.turns {
		if tr.ShownQuestion != want[i] {
			t.Errorf("turn %d (%q) shown %q; want %q", i, tr.Text, tr.ShownQuestion, want[i])
		}
	}
}

func TestAnOverlongLineIsPassedOnAndTheChatGoesOn(t *testing.T) {
	r := &recorder{}
	in := strings.Repeat("x", 3<<20) + "\nafter\nlast without newline"
	var out strings.Builder
	if err := (&console.Chat{Handler: r, User: "u", In: strings.NewReader(in), Out: &out}).Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(r.turns) != 3 || r.turns[1].Text != "after" || r.turns[2].Text != "last without newline" {
		t.Fatalf("turns after an overlong line: %d; want 3 ending in %q", len(r.turns), "last without newline")
	}
	if n := len(r.turns[0].Text); n <= intake.MaxTextLength || n > 1<<16 {
		t.Errorf("overlong line reached the engine as %d bytes; want over the limit and bounded", n)
	}
}
