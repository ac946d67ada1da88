package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
)

func runRun(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("run", "Usage: intakebot run [--data DIR] [--prompts DIR]\n\nRun the Discord bot. Needs DISCORD_TOKEN; INTAKEBOT_GUILD_ID registers the slash\ncommands in the clinic's server. See the README for every variable.", &c)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	// Configuration problems are reported before anything connects.
	if err := cfg.ValidateDiscord(); err != nil {
		return fail(e, err)
	}
	l, err := startEngine(ctx, e, cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	labels := func(f []string) []string { return conversation.FlagLabels(l.b.script, f) }
	bc := bot.Config{Token: cfg.DiscordToken, GuildID: cfg.GuildID, Engine: l.eng, Dedupe: l.st, Logger: l.log, Fallback: fallbackReply,
		Staff: l.st, StaffRoleIDs: cfg.StaffRoleIDs, FlagLabels: labels}
	if cfg.DiscordURL != "" {
		if bc.Transport, err = bot.RewriteTransport(cfg.DiscordURL); err != nil {
			return fail(e, err)
		}
	}
	d, err := bot.New(bc)
	if err != nil {
		return fail(e, err)
	}
	if err := d.Open(ctx); err != nil {
		return fail(e, explainOpen(err))
	}
	if cfg.StaffChannelID != "" {
		disp := &handoff.Dispatcher{Store: l.st, Notifier: d.Notifier(cfg.StaffChannelID), Labels: labels, Log: l.log}
		go disp.Run(ctx)
	} else {
		l.log.Warn("INTAKEBOT_STAFF_CHANNEL_ID is not set: cases are kept in the database (see intakebot handoffs list) but no card is posted for staff")
	}
	l.log.Info("intakebot is running on Discord; stop with Ctrl-C")
	select {
	case <-ctx.Done():
		d.Close()
		return exitOK
	case err := <-d.Done():
		d.Close()
		return fail(e, explainOpen(err))
	}
}

// explainOpen turns gateway refusals into what to do about them.
func explainOpen(err error) error {
	switch code := bot.CloseCode(err); {
	case code == 4004 || strings.Contains(err.Error(), "HTTP 401"):
		return fmt.Errorf("Discord refused the token (authentication failed): check DISCORD_TOKEN is the bot token of your application, and reset it in the developer portal if it leaked: %w", err)
	case code == 4013 || code == 4014:
		return fmt.Errorf("Discord refused an intent (close code %d): intakebot asks for no privileged intent, so check the application's settings in the developer portal: %w", code, err)
	}
	return err
}
