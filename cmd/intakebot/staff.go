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
}

// newStaffSide builds the dispatcher and fills in bc's staff settings; the
// notifier and relay are attached by attach once the bot exists.
func newStaffSide(l *live, cfg config.Config, bc *bot.Config, channelID string, roles []string, oncall string) *staffSide {
	labels := func(f []string) []string { return conversation.FlagLabels(l.b.script, f) }
	msgs := l.b.messages
	disp := &handoff.Dispatcher{Store: l.st, Labels: labels, Log: l.log, ShowScores: cfg.StaffCard == "scores",
		Paging: handoff.Paging{Interval: cfg.PageInterval, Limit: cfg.PageLimit},
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
	return &staffSide{disp: disp, abandonAfter: cfg.AbandonAfter}
}

// attach connects the dispatcher and the engine's relay to the bot and
// starts delivering.
func (s *staffSide) attach(ctx context.Context, l *live, d *bot.Bot, channelID string, poll time.Duration) {
	s.disp.Notifier = d.Notifier(channelID)
	s.disp.Poll = poll
	l.eng.SetRelay(d)
	go s.disp.Run(ctx)
	go s.sweep(ctx, l)
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
