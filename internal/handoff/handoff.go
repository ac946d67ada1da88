// Package handoff delivers cases to clinic staff: the outbox dispatcher
// turns each case event into a card in the staff channel, through a Notifier
// that an adapter implements.
//
// Delivery is exactly once as far as the staff channel is concerned: an
// event stays pending until the notifier confirms; a new card is posted with
// the case id as its nonce (Discord refuses a second message with the same
// nonce), so a retry after a timeout cannot post twice; once a card exists,
// later events edit it. Retries back off (each attempt bounded by the
// notifier's deadline, the retries unbounded in time) and their schedule is
// in the store, so a restart neither loses nor repeats a delivery.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package handoff

import (
	"context"
	"log/slog"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// Card is what staff see of a case in the channel: no answers, scores or
// contact details.
type Card struct {
	CaseID        string
	Priority      intake.Priority
	Outcome       string
	Status        intake.CaseStatus
	Assignee      string
	ContactMethod string
	Flags         []string // readable labels
	OpenedAt      time.Time
}

// Notifier shows cards to staff (implemented in bot/).
type Notifier interface {
	// PostCard posts a new card; nonce identifies it so a repeated post is
	// refused by the platform. It returns the card's message id.
	PostCard(ctx context.Context, c Card, nonce string) (string, error)
	// UpdateCard edits an existing card.
	UpdateCard(ctx context.Context, messageID string, c Card) error
}

// Dispatcher delivers outbox events.
type Dispatcher struct {
	Store    intake.Store
	Notifier Notifier
	// Labels turns flag ids into staff-facing labels.
	Labels func([]string) []string
	Now    func() time.Time
	Log    *slog.Logger
	// Poll is how often due events are looked for (default 1s); Kick
	// wakes the dispatcher at once.
	Poll time.Duration
	// Backoff is the first retry delay (default 1s), doubling up to
	// MaxBackoff (default 5 minutes).
	Backoff, MaxBackoff time.Duration
	wake                chan struct{}
}

func (d *Dispatcher) defaults() {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Poll <= 0 {
		d.Poll = time.Second
	}
	if d.Backoff <= 0 {
		d.Backoff = time.Second
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 5 * time.Minute
	}
	if d.Labels == nil {
		d.Labels = func(f []string) []string { return f }
	}
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
}

// Kick asks the dispatcher to look for due events now.
func (d *Dispatcher) Kick() {
	d.defaults()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers due events until ctx is done.
func (d *Dispatcher) Run(ctx context.Context) {
	d.defaults()
	t := time.NewTicker(d.Poll)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.Log.Error("outbox", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// DeliverDue delivers the due events and reports how many were delivered.
// Events of one case are delivered in order (the store offers a case's next
// event only once the earlier ones are delivered, so passes repeat while they
// make progress); after a failure, that case waits for its retry.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	d.defaults()
	total := 0
	for round := 0; round < 20; round++ {
		n, err := d.deliverPass(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

func (d *Dispatcher) deliverPass(ctx context.Context) (int, error) {
	events, err := d.Store.DueEvents(ctx, d.Now(), 100)
	if err != nil {
		return 0, err
	}
	delivered := 0
	blocked := map[string]bool{}
	for _, ev := range events {
		if ctx.Err() != nil {
			return delivered, ctx.Err()
		}
		if blocked[ev.CaseID] {
			continue
		}
		if err := d.deliver(ctx, ev); err != nil {
			blocked[ev.CaseID] = true
			wait := d.backoff(ev.Attempts)
			d.Log.Warn("case event not delivered; will retry", slog.Int64("event_id", ev.ID), slog.String("case_id", ev.CaseID),
				slog.Int("attempt", ev.Attempts+1), slog.Duration("retry_in", wait))
			if err := d.Store.EventFailed(ctx, ev.ID, d.Now().Add(wait)); err != nil {
				return delivered, err
			}
			continue
		}
		delivered++
	}
	return delivered, nil
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	wait := d.Backoff
	for i := 0; i < attempts && wait < d.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, d.MaxBackoff)
}

func (d *Dispatcher) deliver(ctx context.Context, ev intake.OutboxEvent) error {
	c, err := d.Store.Case(ctx, ev.CaseID)
	if err != nil {
		return err
	}
	card := CardOf(c, d.Labels)
	msgID, err := d.Store.CardMessage(ctx, c.ID)
	if err != nil {
		return err
	}
	if msgID == "" {
		if msgID, err = d.Notifier.PostCard(ctx, card, c.ID); err != nil {
			return err
		}
	} else if err := d.Notifier.UpdateCard(ctx, msgID, card); err != nil {
		return err
	}
	if err := d.Store.EventDelivered(ctx, ev.ID, c.ID, msgID); err != nil {
		return err
	}
	d.Log.Info("case card delivered", slog.Int64("event_id", ev.ID), slog.String("case_id", c.ID), slog.String("kind", ev.Kind))
	return nil
}

// CardOf builds a case's card.
func CardOf(c intake.Case, labels func([]string) []string) Card {
	return Card{CaseID: c.ID, Priority: c.Priority, Outcome: c.Outcome, Status: c.Status, Assignee: c.Assignee, ContactMethod: c.Contact.Method,
		Flags: labels(c.Flags), OpenedAt: c.CreatedAt}
}
