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
	fs := newFlags("chat", "Usage: intakebot chat [--user NAME] [--json] [--data DIR] [--prompts DIR]\n\nTalk to the bot as a patient. Commands in the chat: /screen, /restart, /cancel, /help.", &c)
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
	chat := &console.Chat{Handler: l.eng, User: *userName, JSON: *jsonOut, In: e.stdin, Out: e.stdout, Log: l.log, Fallback: fallbackReply}
	if err := chat.Run(ctx); err != nil && ctx.Err() == nil {
		return fail(e, err)
	}
	return exitOK
}

func defaultUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "patient"
}
