package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/staffweb"
)

// consoleRef lets the bot make console links before the console exists
// (the console's actions are the bot's): set once, before Discord opens.
type consoleRef struct{ web *staffweb.Server }

func (r *consoleRef) link(caseID string) (string, error) {
	if r.web == nil {
		return "", errors.New("the staff console is not started")
	}
	return r.web.Link(caseID)
}

// startConsole serves the staff web console on addr until ctx ends; the
// staff actions are the bot's (the card's buttons). guildID and roles admit
// staff; discordURL is Discord's base ("" for discord.com). It returns the
// console and what to print: where it listens and where staff reach it.
func startConsole(ctx context.Context, l *live, cfg config.Config, actions staffweb.Actions, addr, publicURL, guildID string, roles []string, discordURL string) (*staffweb.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("staff console: listen on %s (INTAKEBOT_CONSOLE_ADDR): %w", addr, err)
	}
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	msgs := l.b.messages
	wc := staffweb.Config{PublicURL: publicURL, DiscordURL: discordURL, ClientID: cfg.OAuthClientID, ClientSecret: cfg.OAuthClientSecret,
		GuildID: guildID, StaffRoleIDs: roles, Cases: l.st, Actions: actions, Script: l.b.script, Text: msgs.Text,
		FlagLabels: func(f []string) []string { return conversation.FlagLabels(l.b.script, f) },
		ClinicName: msgs.Clinic().Name, LinkKey: l.st.DerivedKey("staff console links"), Log: l.log}
	if cl := msgs.Clinic(); cl.HoursKnown() {
		wc.Location = cl.Location()
	}
	web, err := staffweb.New(wc)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	srv := &http.Server{Handler: web, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(l.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("staff console stopped", slog.Any("err", err))
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	l.log.Info("staff console listening", slog.String("addr", ln.Addr().String()))
	return web, fmt.Sprintf("Staff console listening on %s, for staff at %s", ln.Addr(), publicURL), nil
}

// consoleWarning is said once at start when no console is configured.
const consoleWarning = "no staff console is configured (INTAKEBOT_OAUTH_CLIENT_ID): Details on a case card sends the case's answers, scores, contact details and notes through Discord, whose Developer Policy forbids health information; see the README's Staff console"

// runConsole serves the staff console alone, for clinics that run the
// Discord side elsewhere on the same database: staff actions go through
// the bot's REST calls (no gateway); the other process delivers the outbox.
func runConsole(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("console", "Usage: intakebot console [--data DIR] [--prompts DIR]\n\nServe the staff web console alone (intakebot run serves it too), on\nINTAKEBOT_CONSOLE_ADDR (default "+config.DefaultConsoleAddr+"). Needs INTAKEBOT_OAUTH_CLIENT_ID and\n_SECRET, INTAKEBOT_CONSOLE_URL (https), the guild and staff roles, and DISCORD_TOKEN\n(to message patients). Cards and notices are delivered by the intakebot run\nthat shares the database.", &c)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if err := errors.Join(cfg.ValidateConsole(), cfg.ValidateDiscord()); err != nil {
		return fail(e, err)
	}
	l, err := startStore(ctx, e, cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	ref := &consoleRef{}
	bc := bot.Config{Token: cfg.DiscordToken, GuildID: cfg.GuildID, Dedupe: l.st, Logger: l.log, Fallback: fallbackReply, ConsoleLink: ref.link}
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
	web, where, err := startConsole(ctx, l, cfg, d, cfg.ConsoleAddr, cfg.ConsoleURL, cfg.GuildID, cfg.StaffRoleIDs, cfg.DiscordURL)
	if err != nil {
		return fail(e, err)
	}
	ref.web = web
	fmt.Fprintln(e.stdout, where)
	<-ctx.Done()
	return exitOK
}
