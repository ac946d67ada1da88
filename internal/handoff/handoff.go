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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// Card is what staff see of a case in the channel: no answers, scores or
// contact details, unless the clinic chose to show scores (ShowScores).
type Card struct {
	CaseID   string
	Priority intake.Priority
	Outcome  string
	Status   intake.CaseStatus
	Assignee string
	// ContactMethod is how the patient asked to be reached and whether a
	// phone number or email address is in Details ("phone (in Details)").
	ContactMethod string
	Flags         []string // readable labels
	OpenedAt      time.Time
	// Scores are "PHQ-9: 17 (moderately severe)" lines, only with ShowScores.
	Scores []string
	// HoursNote says the case came in outside clinic hours, and what the
	// patient was already given; "" during hours or with unknown hours.
	HoursNote    string
	CloseReason  string // the reason's label once closed
	LastAction   string
	LastActionAt time.Time
}

// Page is a page or reminder about an unclaimed case, posted in the staff
// channel as a reply to the case's card.
type Page struct {
	CaseID        string
	CardMessageID string
	Priority      intake.Priority
	N             int  // 1 for the first page
	Escalate      bool // mention every staff role, not only on-call
	Reminder      bool // a reminder (high or normal priority), not an urgent page
	Waiting       time.Duration
}

// Notifier shows cards to staff and notices to patients (implemented in
// bot/). Each sending method gets a nonce that identifies what it sends, so
// a retry after a timeout cannot send it twice. An error wrapping
// ErrUndeliverable is permanent: the event is reported and not retried.
type Notifier interface {
	// PostCard posts a new card and returns its message id.
	PostCard(ctx context.Context, c Card, nonce string) (string, error)
	// UpdateCard edits an existing card.
	UpdateCard(ctx context.Context, messageID string, c Card) error
	// Page posts a page or reminder.
	Page(ctx context.Context, p Page, nonce string) error
	// NotifyPatient sends text to the patient.
	NotifyPatient(ctx context.Context, p intake.Patient, text, nonce string) error
}

// ErrCardGone is returned by UpdateCard when the card no longer exists (a
// member deleted it): the dispatcher posts a new card instead.
var ErrCardGone = errors.New("the case card was deleted")

// ErrUndeliverable marks a permanent delivery failure (the patient's DMs are
// closed, the patient is not on the notifier's platform).
var ErrUndeliverable = errors.New("undeliverable")

// Hours is the clinic's opening hours (internal/clinic implements it).
type Hours interface {
	IsOpen(t time.Time) bool
	NextOpening(t time.Time) (time.Time, bool)
	WorkingDayAfter(t time.Time) time.Time
	Location() *time.Location
}

// Paging is when unclaimed cases are paged or reminded about.
type Paging struct {
	// Interval between pages of an urgent case (default 5 minutes).
	Interval time.Duration
	// Limit is how many pages go to the on-call role before every page
	// escalates to all staff roles (default 3).
	Limit int
	// HighAfter is when an unclaimed high-priority case gets its reminder
	// (default 1 hour). Normal cases get theirs after one working day.
	HighAfter time.Duration
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
	// Paging schedules pages and reminders; Hours (nil: unknown) places
	// them in working days and adds the hours note to cards.
	Paging Paging
	Hours  Hours
	// ShowScores puts instrument scores and bands on cards
	// (INTAKEBOT_STAFF_CARD=scores).
	ShowScores bool
	// Notice renders a patient notice (a messages.yaml key) for a case; nil
	// means notices cannot be rendered and are reported undelivered.
	Notice func(key string, c intake.Case) (string, error)
	wake   chan struct{}
	// once fills in the defaults the first time any method runs, whichever
	// goroutine that is (Kick runs on the adapter's, Run on its own); the
	// fields above are set before the first call and never after.
	once sync.Once
}

func (d *Dispatcher) defaults() { d.once.Do(d.setDefaults) }

func (d *Dispatcher) setDefaults() {
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
	if d.Paging.Interval <= 0 {
		d.Paging.Interval = 5 * time.Minute
	}
	if d.Paging.Limit <= 0 {
		d.Paging.Limit = 3
	}
	if d.Paging.HighAfter <= 0 {
		d.Paging.HighAfter = time.Hour
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
		if _, err := d.Step(ctx); err != nil && ctx.Err() == nil {
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

// Step queues the pages and reminders that are due, then delivers the due
// events; Run calls it on every poll, tests call it after moving the clock.
func (d *Dispatcher) Step(ctx context.Context) (int, error) {
	d.defaults()
	if err := d.QueueAlerts(ctx); err != nil {
		return 0, err
	}
	return d.DeliverDue(ctx)
}

// QueueAlerts queues the pages and reminders due now. Urgent cases are
// paged at once and every Interval until claimed, escalating after Limit
// pages; high-priority cases get one reminder after HighAfter, normal ones
// after one working day. What was queued is counted in the store, so a
// restart or a second process neither loses nor doubles a page.
func (d *Dispatcher) QueueAlerts(ctx context.Context) error {
	d.defaults()
	cases, err := d.Store.Cases(ctx, intake.CaseFilter{Status: intake.CaseOpen})
	if err != nil {
		return err
	}
	now := d.Now()
	for _, c := range cases {
		n := c.AlertsSent + 1
		var due time.Time
		kind := intake.EventReminder
		switch c.Priority {
		case intake.PriorityUrgent:
			kind = intake.EventPage
			due = c.AlertFrom.Add(time.Duration(n-1) * d.Paging.Interval)
		case intake.PriorityHigh:
			if n > 1 {
				continue
			}
			due = c.AlertFrom.Add(d.Paging.HighAfter)
		case intake.PriorityNormal:
			if n > 1 {
				continue
			}
			due = d.workingDayAfter(c.AlertFrom)
		default:
			continue
		}
		if now.Before(due) {
			continue
		}
		data, _ := json.Marshal(alertData{N: n, Escalate: kind == intake.EventPage && n > d.Paging.Limit})
		ok, err := d.Store.QueueAlert(ctx, c.ID, n, kind, string(data))
		if err != nil {
			return err
		}
		if ok {
			d.Log.Info("case alert queued", slog.String("case_id", c.ID), slog.String("kind", kind), slog.Int("n", n))
		}
	}
	return nil
}

type alertData struct {
	N        int  `json:"n"`
	Escalate bool `json:"escalate,omitempty"`
}

func (d *Dispatcher) workingDayAfter(t time.Time) time.Time {
	if d.Hours == nil {
		return t.Add(24 * time.Hour)
	}
	return d.Hours.WorkingDayAfter(t)
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
		err := d.deliver(ctx, ev)
		if errors.Is(err, ErrUndeliverable) {
			// Permanent: reported to staff through the audit log and the
			// log, and not retried (it would hold the case's later events).
			d.Log.Warn("case event undeliverable", slog.Int64("event_id", ev.ID), slog.String("case_id", ev.CaseID), slog.String("kind", ev.Kind), slog.Any("err", err))
			if err := d.Store.Audit(ctx, intake.AuditEntry{Actor: "intakebot", Action: auditAction(ev.Kind), CaseID: ev.CaseID, Result: "failed: " + err.Error()}); err != nil {
				return delivered, err
			}
			if err := d.Store.EventDelivered(ctx, ev.ID, ev.CaseID, ""); err != nil {
				return delivered, err
			}
			continue
		}
		if err != nil {
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

func auditAction(kind string) string {
	switch kind {
	case intake.EventPatientNotice:
		return "patient.notice"
	case intake.EventPage:
		return "case.page"
	case intake.EventReminder:
		return "case.remind"
	}
	return "case.card"
}

func (d *Dispatcher) deliver(ctx context.Context, ev intake.OutboxEvent) error {
	c, err := d.Store.Case(ctx, ev.CaseID)
	if err != nil {
		return err
	}
	switch ev.Kind {
	case intake.EventPage, intake.EventReminder:
		return d.page(ctx, ev, c)
	case intake.EventPatientNotice:
		return d.notice(ctx, ev, c)
	}
	card := d.Card(c)
	msgID := c.CardMessageID
	if msgID == "" {
		if msgID, err = d.Notifier.PostCard(ctx, card, c.ID); err != nil {
			return err
		}
	} else if err := d.Notifier.UpdateCard(ctx, msgID, card); errors.Is(err, ErrCardGone) {
		// Someone deleted the card: the case must stay visible, so a new
		// one is posted (a new nonce, as the old one named the old card).
		d.Log.Warn("case card was deleted; posting it again", slog.String("case_id", c.ID))
		if msgID, err = d.Notifier.PostCard(ctx, card, fmt.Sprintf("%s:%d", c.ID, ev.ID)); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if err := d.Store.EventDelivered(ctx, ev.ID, c.ID, msgID); err != nil {
		return err
	}
	d.Log.Info("case card delivered", slog.Int64("event_id", ev.ID), slog.String("case_id", c.ID), slog.String("kind", ev.Kind))
	return nil
}

// page delivers a page or reminder, unless the case was claimed or closed
// meanwhile (then it is dropped: someone has it).
func (d *Dispatcher) page(ctx context.Context, ev intake.OutboxEvent, c intake.Case) error {
	var a alertData
	json.Unmarshal([]byte(ev.Data), &a)
	if c.Status != intake.CaseOpen || c.CardMessageID == "" {
		d.Log.Info("case alert dropped", slog.Int64("event_id", ev.ID), slog.String("case_id", c.ID), slog.String("status", string(c.Status)))
		return d.Store.EventDelivered(ctx, ev.ID, c.ID, "")
	}
	p := Page{CaseID: c.ID, CardMessageID: c.CardMessageID, Priority: c.Priority, N: a.N, Escalate: a.Escalate,
		Reminder: ev.Kind == intake.EventReminder, Waiting: d.Now().Sub(c.AlertFrom).Round(time.Minute)}
	if err := d.Notifier.Page(ctx, p, fmt.Sprintf("p:%d", ev.ID)); err != nil {
		return err
	}
	if err := d.Store.EventDelivered(ctx, ev.ID, c.ID, ""); err != nil {
		return err
	}
	d.Log.Info("case alert delivered", slog.Int64("event_id", ev.ID), slog.String("case_id", c.ID), slog.Int("n", a.N), slog.Bool("escalate", a.Escalate))
	return nil
}

func (d *Dispatcher) notice(ctx context.Context, ev intake.OutboxEvent, c intake.Case) error {
	if d.Notice == nil {
		return fmt.Errorf("%w: no notice renderer", ErrUndeliverable)
	}
	text, err := d.Notice(ev.Data, c)
	if err != nil {
		return fmt.Errorf("%w: notice %s: %v", ErrUndeliverable, ev.Data, err)
	}
	p, err := d.Store.PatientByID(ctx, c.PatientID)
	if err != nil {
		return err
	}
	if err := d.Notifier.NotifyPatient(ctx, p, text, fmt.Sprintf("n:%d", ev.ID)); err != nil {
		return err
	}
	if err := d.Store.Audit(ctx, intake.AuditEntry{Actor: "intakebot", Action: "patient.notice", CaseID: c.ID, Result: "ok: " + ev.Data}); err != nil {
		return err
	}
	if err := d.Store.EventDelivered(ctx, ev.ID, c.ID, ""); err != nil {
		return err
	}
	d.Log.Info("patient notice delivered", slog.Int64("event_id", ev.ID), slog.String("case_id", c.ID), slog.String("notice", ev.Data))
	return nil
}

// Card builds a case's card with the dispatcher's labels, hours and score
// settings; adapters editing a card after a staff action use it too.
func (d *Dispatcher) Card(c intake.Case) Card {
	d.defaults()
	card := CardOf(c, d.Labels)
	if d.ShowScores {
		card.Scores = ScoreLines(c.Scores)
	}
	if d.Hours != nil && !d.Hours.IsOpen(c.CreatedAt) {
		note := "Opened outside clinic hours."
		if next, ok := d.Hours.NextOpening(c.CreatedAt); ok {
			note = fmt.Sprintf("Opened outside clinic hours; the clinic opens %s.", next.In(d.Hours.Location()).Format("Mon 2 Jan 15:04 MST"))
		}
		if c.Priority.Rank() >= intake.PriorityHigh.Rank() {
			note += " The patient was given the crisis resources."
		}
		card.HoursNote = note
	}
	return card
}

// CardOf builds a case's card without hours or scores.
func CardOf(c intake.Case, labels func([]string) []string) Card {
	if labels == nil {
		labels = func(f []string) []string { return f }
	}
	card := Card{CaseID: c.ID, Priority: c.Priority, Outcome: c.Outcome, Status: c.Status, Assignee: c.Assignee, ContactMethod: ContactSummary(c.Contact),
		Flags: labels(c.Flags), OpenedAt: c.CreatedAt, LastAction: c.LastAction, LastActionAt: c.LastActionAt}
	if r, ok := intake.CloseReasonByID(c.CloseReason); ok {
		card.CloseReason = r.Label
	}
	return card
}

// ScoreLines formats instrument scores for staff: "PHQ-9: 17 (moderately
// severe)", sorted by instrument.
func ScoreLines(scores map[string]intake.Score) []string {
	ids := make([]string, 0, len(scores))
	for id := range scores {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		sc := scores[id]
		out = append(out, fmt.Sprintf("%s: %d (%s)", strings.ToUpper(id), sc.Value, strings.ReplaceAll(sc.Band, "_", " ")))
	}
	return out
}
