package main

import (
	"context"
	"os/user"
	"path/filepath"

	"github.com/intakebot/intakebot/internal/console"
)

const fallbackReply = "Sorry, something went wrong on our side. Your answers so far are saved; please try again in a moment. If you are in crisis, call or text 988, or call 911."

func runChat(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("chat", chatUsage, &c)
	userName := fs.String("user", defaultUser(), "patient `name`; the same name resumes a pending screening")
	jsonOut := fs.Bool("json", false, "read one line per turn from stdin and write one JSON object per bot message")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	l, err := startEngine(ctx, e, cfg, filepath.Join(cfg.DataDir, "intakebot.log"))
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	chat := &console.Chat{Handler: l.eng, User: *userName, JSON: *jsonOut, In: e.stdin, Out: e.stdout, Log: l.log, Fallback: fallbackReply,
		ANSI: !*jsonOut && isTerminal(e.stdout) && e.getenv("NO_COLOR") == ""}
	if err := chat.Run(ctx); err != nil && ctx.Err() == nil {
		return fail(e, err)
	}
	return exitOK
}

// chatUsage lists every command the chat takes (a test keeps it in step
// with the bot's /help).
const chatUsage = `Usage: intakebot chat [--user NAME] [--json] [--data DIR] [--prompts DIR]

Talk to the bot as a patient. Type a question at any time, or a number (or
the option's words) to answer a screening question. In the chat:
  /screen           start the screening, or continue where you left off
                    (/screening, /continue and /resume do the same)
  /restart          start the screening again from the beginning
  /cancel           stop the screening (answers kept; /screen continues)
  /staff            ask the care team to contact you
  /privacy          see what the clinic holds about you
  /forget-me        erase your answers and contact details (asks to confirm:
                    /forget-me confirm)
  /help             show the bot's list of commands
  /quit, /exit      leave the chat (so does Ctrl-D); answers are kept, and
                    the same --user continues where you left off`

func defaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "patient"
}
