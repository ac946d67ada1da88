package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/console"
	"github.com/intakebot/intakebot/internal/intake"
)

func TestMarkdownForATerminal(t *testing.T) {
	for _, tc := range []struct {
		name, in, plain, ansi string
	}{
		{"Bold", "usually **self-pay**: because", "usually self-pay: because", "usually \x1b[1mself-pay\x1b[0m: because"},
		{"ListItem", "- **PTSD**: mixed\n- pain", "• PTSD: mixed\n• pain", "• \x1b[1mPTSD\x1b[0m: mixed\n• pain"},
		{"Heading", "## Costs", "Costs", "\x1b[1mCosts\x1b[0m"},
		{"Link", "see [988](https://988lifeline.org)", "see 988 (https://988lifeline.org)", "see 988 (https://988lifeline.org)"},
		{"Escapes", `bob\@example.com \*not bold\*`, "bob@example.com *not bold*", "bob@example.com *not bold*"},
		{"SmallText", "-# Question 2 of about 29", "Question 2 of about 29", "\x1b[2mQuestion 2 of about 29\x1b[0m"},
		{"Code", "`C-7YH06W6` URGENT", "C-7YH06W6 URGENT", "C-7YH06W6 URGENT"},
		{"Arithmetic", "5 * 3 and a_b", "5 * 3 and a_b", "5 * 3 and a_b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := console.Markdown(tc.in, false); got != tc.plain {
				t.Errorf("plain: got %q, want %q", got, tc.plain)
			}
			if got := console.Markdown(tc.in, true); got != tc.ansi {
				t.Errorf("ansi: got %q, want %q", got, tc.ansi)
			}
		})
	}
}

// The chat shows the bot's markdown rendered, never as raw **; /quit and
// /exit leave without reaching the engine; /help says how to leave.
func TestChatRendersMarkdownAndSaysHowToLeave(t *testing.T) {
	r := &recorder{}
	h := &markdownEngine{recorder: r}
	var out strings.Builder
	in := "bold please\n/help\n/quit\nnever read\n"
	if err := (&console.Chat{Handler: h, User: "u", In: strings.NewReader(in), Out: &out}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "**") || !strings.Contains(got, "usually self-pay") {
		t.Errorf("output shows raw markdown or lost the text:\n%s", got)
	}
	if len(r.turns) != 2 || r.turns[1].Text != "/help" {
		t.Fatalf("turns = %+v; want the two before /quit, and /quit kept from the engine", r.turns)
	}
	if strings.Count(got, "/quit (or Ctrl-D)") < 2 {
		t.Errorf("how to leave is not said at the start and after /help:\n%s", got)
	}
	if strings.Contains(got, "never read") {
		t.Errorf("input after /quit was handled")
	}
}

type markdownEngine struct{ *recorder }

func (m *markdownEngine) Handle(ctx context.Context, t intake.Turn) ([]intake.Reply, error) {
	m.recorder.Handle(ctx, t)
	return []intake.Reply{{Kind: intake.ReplyMessage, Text: "IV ketamine is usually **self-pay**."}}, nil
}
