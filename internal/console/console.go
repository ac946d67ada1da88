// Package console is the terminal adapter: it reads what a patient types,
// hands each line to the engine as a Turn and prints the replies, either for
// people (numbered choices) or as JSON lines for programs.
//
// It imports only internal/intake and the standard library.
package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// Channel is the channel name of console patients.
const Channel = "console"

// Handler is the engine as the console sees it.
type Handler interface {
	Greet(ctx context.Context, channel, userID string) ([]intake.Reply, error)
	Handle(ctx context.Context, t intake.Turn) ([]intake.Reply, error)
}

// Chat runs one patient's conversation on a terminal or pipe.
type Chat struct {
	Handler Handler
	User    string
	JSON    bool
	In      io.Reader
	Out     io.Writer
	Log     *slog.Logger
	Now     func() time.Time
	// Fallback is shown when the engine fails, so the patient is never left
	// without an answer (and always has the crisis numbers).
	Fallback string
	// ANSI shows bold and small text with terminal escapes (the output is a
	// terminal); otherwise markdown is shown as plain text.
	ANSI bool
}

// QuitCommands end the chat (as the end of the input does); they are the
// terminal's own and never reach the engine.
var QuitCommands = []string{"/quit", "/exit"}

// Help is what the terminal adds to the bot's /help, and says at the start.
const Help = "In this terminal: /quit (or Ctrl-D) leaves the chat. Your answers are kept: run the chat again with the same --user to continue."

func isQuit(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	for _, q := range QuitCommands {
		if t == q {
			return true
		}
	}
	return false
}

// Run greets the patient (resuming a pending screening) and then handles one
// line at a time until the input ends or ctx is done.
func (c *Chat) Run(ctx context.Context) error {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	out := bufio.NewWriter(c.Out)
	defer out.Flush()
	replies, err := c.Handler.Greet(ctx, Channel, c.User)
	c.show(out, replies, err)
	if !c.JSON {
		fmt.Fprintf(out, "\n(%s)\n", Help)
	}
	// The question on screen: a line typed is the answer to it, and the
	// engine refuses it if another window answered that question meanwhile.
	shown := shownQuestion(replies)
	in := bufio.NewReader(c.In)
	n := 0
	for {
		if !c.JSON {
			fmt.Fprint(out, "> ")
		}
		if err := out.Flush(); err != nil {
			return err
		}
		text, err := readLine(in)
		if err != nil && (text == "" || err != io.EOF) {
			if !c.JSON {
				fmt.Fprintln(out)
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		if isQuit(text) {
			if !c.JSON {
				fmt.Fprintln(out, "\nGoodbye. Your answers are kept; if you are in crisis, call or text 988, or call 911.")
			}
			return nil
		}
		n++
		turn := intake.Turn{Channel: Channel, UserID: c.User, EventID: fmt.Sprintf("console-%d-%d", c.Now().UnixNano(), n), Text: text,
			ShownQuestion: shown, At: c.Now()}
		replies, err := c.Handler.Handle(ctx, turn)
		c.show(out, replies, err)
		if cmd := strings.Fields(strings.ToLower(text)); err == nil && !c.JSON && cmd[0] == "/help" {
			fmt.Fprintln(out, Help)
		}
		if err == nil {
			shown = shownQuestion(replies)
		}
	}
}

// maxLine is how much of one input line is kept: more than the engine takes
// (intake.MaxTextLength characters of up to 4 bytes), so an over-long line
// still reaches the engine as over-long and gets its message; the rest is
// read and dropped, and the next line is read as usual.
const maxLine = 4*intake.MaxTextLength*4 + 4

// readLine reads one line of any length, without its line ending, keeping
// at most maxLine bytes of it. At the end of the input it returns the last
// unterminated line, if any, with io.EOF.
func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line) < maxLine {
			line = append(line, chunk[:min(len(chunk), maxLine-len(line))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimRight(string(line), "\r\n")
		return s, err
	}
}

// shownQuestion is the question a batch of replies leaves on screen: the
// engine asks the pending question again in every reply while a screening
// waits, so a batch without one leaves none.
func shownQuestion(replies []intake.Reply) string {
	shown := ""
	for _, r := range replies {
		if r.Kind == intake.ReplyQuestion {
			shown = r.QuestionID
		}
	}
	return shown
}

func (c *Chat) show(out io.Writer, replies []intake.Reply, err error) {
	for _, r := range replies {
		if c.JSON {
			writeJSON(out, r)
		} else {
			writeHuman(out, r, c.ANSI)
		}
	}
	if err != nil {
		c.Log.Error("handle turn", slog.Any("err", err))
		r := intake.Reply{Kind: intake.ReplyMessage, Text: c.Fallback}
		if c.JSON {
			writeJSON(out, r)
		} else {
			writeHuman(out, r, c.ANSI)
		}
	}
}

// JSONReply is the JSON-lines form of a reply.
type JSONReply struct {
	Type     string          `json:"type"`
	Question string          `json:"question,omitempty"`
	Text     string          `json:"text,omitempty"`
	Choices  []intake.Choice `json:"choices,omitempty"`
	Multiple bool            `json:"multiple,omitempty"`
	Optional bool            `json:"optional,omitempty"`
	Step     int             `json:"step,omitempty"`
	OfAbout  int             `json:"of_about,omitempty"`
	Outcome  string          `json:"outcome,omitempty"`
	Priority string          `json:"priority,omitempty"`
	CaseID   string          `json:"case_id,omitempty"`
}

func writeJSON(out io.Writer, r intake.Reply) {
	j := JSONReply{Type: string(r.Kind), Text: r.Text}
	if r.Kind == intake.ReplyNotice {
		j.Type = string(intake.ReplyMessage) // the terminal has one reader
	}
	switch r.Kind {
	case intake.ReplyQuestion:
		j.Question, j.Choices, j.Multiple, j.Optional, j.Step, j.OfAbout = r.QuestionID, r.Choices, r.Multiple, r.Optional, r.Step, r.StepsAbout
	case intake.ReplyOutcome:
		j.Outcome, j.Priority, j.CaseID = r.Outcome, string(r.Priority), r.CaseID
	}
	b, _ := json.Marshal(j)
	fmt.Fprintf(out, "%s\n", b)
}

func writeHuman(out io.Writer, r intake.Reply, ansi bool) {
	switch r.Kind {
	case intake.ReplyOutcome:
		return // its message came just before
	case intake.ReplyQuestion:
		if r.Step > 0 {
			fmt.Fprintf(out, "\n(question %d of about %d)\n", r.Step, r.StepsAbout)
		} else {
			fmt.Fprintln(out)
		}
	default:
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out, Markdown(r.Text, ansi))
	for i, ch := range r.Choices {
		fmt.Fprintf(out, "  %d. %s\n", i+1, Markdown(ch.Label, ansi))
	}
	if r.Kind == intake.ReplyQuestion {
		switch {
		case r.Multiple:
			fmt.Fprintln(out, "Type one or more numbers separated by commas (for example 1, 3).")
		case len(r.Choices) > 0:
			fmt.Fprintln(out, "Type a number, or the answer itself.")
		}
		if r.Optional {
			fmt.Fprintln(out, `Type "skip" to leave this out.`)
		}
	}
}
