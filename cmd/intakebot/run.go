package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intakebot/intakebot/bot"
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
	if cfg.ConsoleEnabled() {
		if err := cfg.ValidateConsole(); err != nil {
			return fail(e, err)
		}
	}
	// Pages and reminders are scheduled in clinic hours, so they must be known.
	hours := func(b *bundle) error {
		if ps := b.clinic.HoursProblems(); len(ps) > 0 {
			return fmt.Errorf("clinic.yaml: the clinic's time zone and opening hours are needed to page staff and schedule reminders:\n  %s", strings.Join(ps, "\n  "))
		}
		return nil
	}
	l, err := startStore(ctx, e, cfg, "", hours)
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	bc := bot.Config{Token: cfg.DiscordToken, GuildID: cfg.GuildID, Dedupe: l.st, Logger: l.log, Fallback: fallbackReply}
	ref := &consoleRef{}
	if cfg.ConsoleEnabled() {
		// Details answers with a link to the console; no health data in Discord.
		bc.ConsoleLink = ref.link
	}
	staff := newStaffSide(l, cfg, &bc, cfg.StaffChannelID, cfg.StaffRoleIDs, cfg.OncallRoleID)
	if cfg.DiscordURL != "" {
		if bc.Transport, err = bot.RewriteTransport(cfg.DiscordURL); err != nil {
			return fail(e, err)
		}
	}
	d, err := staff.connect(l, cfg, bc, cfg.StaffChannelID, time.Second)
	if err != nil {
		return fail(e, err)
	}
	if cfg.ConsoleEnabled() {
		web, where, err := startConsole(ctx, l, cfg, d, cfg.ConsoleAddr, cfg.ConsoleURL, cfg.GuildID, cfg.StaffRoleIDs, cfg.DiscordURL)
		if err != nil {
			return fail(e, err)
		}
		ref.web = web
		fmt.Fprintln(e.stderr, where)
		if cfg.StaffCard == "scores" {
			fmt.Fprintln(e.stderr, "warning: INTAKEBOT_STAFF_CARD=scores is ignored while the staff console is configured: cards stay minimal")
		}
	} else {
		l.log.Warn(consoleWarning)
		fmt.Fprintln(e.stderr, "warning: "+consoleWarning)
	}
	// Discord is opened last: from here on turns arrive.
	if err := d.Open(ctx, l.eng); err != nil {
		return fail(e, explainOpen(err))
	}
	warnings, err := d.CheckStaffChannel(ctx, cfg.StaffChannelID)
	if err != nil {
		d.Close()
		return fail(e, err)
	}
	for _, w := range warnings {
		l.log.Warn(w)
		fmt.Fprintln(e.stderr, "warning: "+w)
	}
	staff.start(ctx, l)
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
