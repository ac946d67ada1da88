package handoff_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

// notifier is a function-field Notifier for this package's tests.
type notifier struct {
	post   func(handoff.Card, string) (string, error)
	update func(string, handoff.Card) error
	page   func(handoff.Page, string) error
	notify func(intake.Patient, string, string) error
}

func (n *notifier) Page(_ context.Context, p handoff.Page, nonce string) error {
	return n.page(p, nonce)
}
func (n *notifier) NotifyPatient(_ context.Context, p intake.Patient, text, nonce string) error {
	return n.notify(p, text, nonce)
}

func (n *notifier) PostCard(_ context.Context, c handoff.Card, nonce string) (string, error) {
	return n.post(c, nonce)
}
func (n *notifier) UpdateCard(_ context.Context, id string, c handoff.Card) error {
	return n.update(id, c)
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	sl, _ := seal.New(testKey)
	st, err := sqlite.Open(context.Background(), path, sl, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var testKey = seal.NewKey()

func TestBackoffOrderAndEdits(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return now }
	p, _ := st.Patient(ctx, "console", "a")
	c, _ := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: intake.PriorityNormal})
	st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "safety_review", Priority: intake.PriorityHigh}) // a second event, same case

	var posts, updates []string
	fail := 2
	n := &notifier{
		post: func(card handoff.Card, nonce string) (string, error) {
			posts = append(posts, nonce)
			if fail > 0 {
				fail--
				return "", errors.New("discord 500")
			}
			return "m1", nil
		},
		update: func(id string, card handoff.Card) error {
			updates = append(updates, id+":"+string(card.Priority))
			return nil
		},
	}
	d := &handoff.Dispatcher{Store: st, Notifier: n, Now: func() time.Time { return now }, Backoff: time.Second, MaxBackoff: 4 * time.Second}

	// Pass 1: the post fails; the case's second event waits behind it.
	if got, _ := d.DeliverDue(ctx); got != 0 || len(posts) != 1 || len(updates) != 0 {
		t.Fatalf("pass 1: delivered %d, posts %v, updates %v", got, posts, updates)
	}
	// Not due yet: nothing is tried.
	d.DeliverDue(ctx)
	if len(posts) != 1 {
		t.Fatalf("retried before the backoff: %v", posts)
	}
	now = now.Add(time.Second)
	d.DeliverDue(ctx) // fails again; backoff doubles to 2s
	now = now.Add(time.Second)
	d.DeliverDue(ctx)
	if len(posts) != 2 {
		t.Fatalf("retried before the doubled backoff: %v", posts)
	}
	now = now.Add(time.Second)
	if got, _ := d.DeliverDue(ctx); got != 2 {
		t.Fatalf("pass after backoff delivered %d, want both events", got)
	}
	for _, nonce := range posts {
		if nonce != c.ID {
			t.Errorf("nonce %q; want the case id %q on every attempt", nonce, c.ID)
		}
	}
	if len(posts) != 3 || len(updates) != 1 || updates[0] != "m1:high" {
		t.Errorf("posts %v, updates %v; want one card then one edit to high priority", posts, updates)
	}
	if id, _ := st.CardMessage(ctx, c.ID); id != "m1" {
		t.Errorf("card message = %q", id)
	}
	if pending, _ := st.PendingEvents(ctx, 10); len(pending) != 0 {
		t.Errorf("pending = %+v", pending)
	}
}
