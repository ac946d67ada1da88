package main

import (
	"context"
	"fmt"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// staffSide is the dispatcher (cards, pages, reminders, patient notices)
// and the staff settings of the bot, built the same way by run and demo.
type staffSide struct {
	disp         *handoff.Dispatcher
	abandonAfter time.Duration
	retention    time.Duration
}

// newStaffSide builds the dispatcher and fills in bc's staff settings. The
// dispatcher is complete once the bot exists (connect); nothing runs until
// start.
func newStaffSide(l *live, cfg config.Config, bc *bot.Config, channelID string, roles []string, oncall string) *staffSide {
	labels := func(f []string) []string { return conversation.FlagLabels(l.b.script, f) }
	msgs := l.b.messages
	disp := &handoff.Dispatcher{Store: l.st, Labels: labels, Log: l.log, ShowScores: cfg.StaffCard == "scores" && !cfg.ConsoleEnabled(),
		Paging: handoff.Paging{Interval: cfg.PageInterval, Limit: cfg.PageLimit},
		// A few cards in flight: the rate limit, not one slow write, paces
		// a burst (bot/burst_bench_test.go).
		Workers: handoff.BurstWorkers,
		Notice: func(key string, c intake.Case) (string, error) {
			if !msgs.Has(key) {
				return "", fmt.Errorf("no message %q in messages.yaml", key)
			}
			return msgs.Render(key, map[string]any{"CaseID": c.ID, "ContactMethod": conversation.ContactLabel(l.b.script, c.Contact.Method)}), nil
		}}
	if cl := msgs.Clinic(); cl.HoursKnown() {
		disp.Hours = cl
	}
	bc.Staff, bc.StaffChannelID, bc.StaffRoleIDs, bc.OncallRoleID = l.st, channelID, roles, oncall
	bc.FlagLabels, bc.Card, bc.Kick = labels, disp.Card, disp.Kick
	bc.ClinicName = msgs.Clinic().Name
	// Notes, messages to patients and relayed messages are kept for the
	// staff console.
	bc.Entries = l.st
	return &staffSide{disp: disp, abandonAfter: cfg.AbandonAfter, retention: cfg.Retention}
}

// connect builds the bot (not yet connected) and, on it, the dispatcher's
// notifier and the engine with its relay: everything a turn can touch is
// in place before open lets Discord deliver one.
func (s *staffSide) connect(l *live, cfg config.Config, bc bot.Config, channelID string, poll time.Duration) (*bot.Bot, error) {
	d, err := bot.New(bc)
	if err != nil {
		return nil, err
	}
	s.disp.Notifier = d.Notifier(channelID)
	s.disp.Poll = poll
	if err := l.buildEngine(cfg, d); err != nil {
		return nil, err
	}
	return d, nil
}

// start delivers the outbox, sweeps abandoned screenings and, once a day,
// erases what is older than the retention, until ctx ends.
func (s *staffSide) start(ctx context.Context, l *live) {
	go s.disp.Run(ctx)
	go s.sweep(ctx, l)
	go retain(ctx, l.st, s.retention, l.log)
}

// sweep looks for abandoned screenings every minute.
func (s *staffSide) sweep(ctx context.Context, l *live) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		n, err := l.eng.SweepAbandoned(ctx, s.abandonAfter)
		if err != nil && ctx.Err() == nil {
			l.log.Error("abandoned screenings", "err", err)
		}
		if n > 0 {
			s.disp.Kick()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
