package handoff_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// pager records what a dispatcher sends.
type pager struct {
	pages   []handoff.Page
	nonces  []string
	notices []string
}

func (p *pager) notifier() *notifier {
	return &notifier{
		post: func(c handoff.Card, nonce string) (string, error) {
			if c.Page != nil { // a first page in the card's own message
				pg := *c.Page
				pg.CardMessageID = "card1"
				p.pages = append(p.pages, pg)
				p.nonces = append(p.nonces, nonce)
			}
			return "card1", nil
		},
		update: func(string, handoff.Card) error { return nil },
		page: func(pg handoff.Page, nonce string) error {
			p.pages = append(p.pages, pg)
			p.nonces = append(p.nonces, nonce)
			return nil
		},
		notify: func(_ intake.Patient, text, _ string) error { p.notices = append(p.notices, text); return nil },
	}
}

func TestUrgentCasePagedUntilClaimedThenEscalated(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "db"))
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st.Now = clock
	p, _ := st.Patient(ctx, "discord", "u1")
	c, _ := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})

	rec := &pager{}
	newDispatcher := func() *handoff.Dispatcher {
		return &handoff.Dispatcher{Store: st, Notifier: rec.notifier(), Now: clock, Paging: handoff.Paging{Interval: 5 * time.Minute, Limit: 2},
			Notice: func(key string, c intake.Case) (string, error) { return key + " " + c.ID, nil }}
	}
	d := newDispatcher()
	step := func(advance time.Duration) {
		t.Helper()
		now = now.Add(advance)
		if _, err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step(0) // card and the first page at once
	if len(rec.pages) != 1 || rec.pages[0].N != 1 || rec.pages[0].Escalate || rec.pages[0].CardMessageID != "card1" {
		t.Fatalf("first page: %+v", rec.pages)
	}
	step(4 * time.Minute)
	if len(rec.pages) != 1 {
		t.Fatalf("re-paged before the interval: %+v", rec.pages)
	}
	step(time.Minute) // 5 minutes: page 2, still on-call
	step(5 * time.Minute)
	if len(rec.pages) != 3 || rec.pages[1].Escalate || !rec.pages[2].Escalate {
		t.Fatalf("pages 2 and 3: %+v; want the third (past the limit of 2) escalated", rec.pages)
	}

	// A restart: a new dispatcher on the same store does not page again
	// until the next one is due.
	d = newDispatcher()
	step(0)
	if len(rec.pages) != 3 {
		t.Fatalf("restart doubled a page: %d pages", len(rec.pages))
	}

	// Claimed: no more pages, and the patient is told once.
	if _, err := st.ClaimCase(ctx, c.ID, "discord:9", "Dana", true); err != nil {
		t.Fatal(err)
	}
	step(time.Hour)
	if len(rec.pages) != 3 {
		t.Fatalf("paged after the claim: %+v", rec.pages)
	}
	if len(rec.notices) != 1 || rec.notices[0] != "notice_claimed "+c.ID {
		t.Fatalf("notices = %q", rec.notices)
	}
	// Unclaimed: back in the queue, paged again from page 1; a second
	// claim does not tell the patient twice.
	st.ClaimCase(ctx, c.ID, "discord:9", "Dana", false)
	step(0)
	if len(rec.pages) != 4 || rec.pages[3].N != 1 {
		t.Fatalf("after unclaim: %+v", rec.pages)
	}
	st.ClaimCase(ctx, c.ID, "discord:8", "Sam", true)
	step(time.Minute)
	if len(rec.notices) != 1 {
		t.Fatalf("patient told of a claim twice: %q", rec.notices)
	}
	seen := map[string]bool{}
	for _, n := range rec.nonces {
		if seen[n] || len(n) > 25 {
			t.Errorf("nonce %q repeated or longer than Discord's 25", n)
		}
		seen[n] = true
	}
	log, _ := st.AuditLog(ctx, c.ID)
	var pages int
	for _, e := range log {
		if e.Action == "case.page" && e.Actor == "intakebot" {
			pages++
		}
	}
	if pages != 4 {
		t.Errorf("audit has %d page rows, want 4", pages)
	}
}

// hours is a clinic open 09:00-17:00 on weekdays, UTC.
type hours struct{}

func (hours) Location() *time.Location { return time.UTC }
func (hours) IsOpen(t time.Time) bool {
	return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday && t.Hour() >= 9 && t.Hour() < 17
}
func (h hours) NextOpening(t time.Time) (time.Time, bool) {
	for !h.IsOpen(t) {
		t = t.Truncate(time.Hour).Add(time.Hour)
	}
	return t, true
}
func (hours) WorkingDayAfter(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day()+1, 17, 0, 0, 0, time.UTC)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func TestRemindersForHighAndNormalCases(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	// Friday 16:00.
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	st.Now = func() time.Time { return now }
	p1, _ := st.Patient(ctx, "discord", "u1")
	p2, _ := st.Patient(ctx, "discord", "u2")
	p3, _ := st.Patient(ctx, "discord", "u3")
	high, _ := st.OpenCase(ctx, intake.Case{PatientID: p1.ID, Outcome: "safety_review", Priority: intake.PriorityHigh})
	normal, _ := st.OpenCase(ctx, intake.Case{PatientID: p2.ID, Outcome: "positive", Priority: intake.PriorityNormal})
	st.OpenCase(ctx, intake.Case{PatientID: p3.ID, Outcome: "requested", Priority: intake.PriorityLow})
	rec := &pager{}
	var cards []handoff.Card
	n := rec.notifier()
	n.post = func(c handoff.Card, _ string) (string, error) { cards = append(cards, c); return "m-" + c.CaseID, nil }
	d := &handoff.Dispatcher{Store: st, Notifier: n, Now: func() time.Time { return now }, Hours: hours{}}
	at := func(when time.Time) []string {
		t.Helper()
		now = when
		if _, err := d.Step(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range rec.pages {
			got = append(got, p.CaseID)
		}
		return got
	}
	if got := at(now.Add(59 * time.Minute)); len(got) != 0 {
		t.Fatalf("reminded before an hour: %v", got)
	}
	if got := at(now.Add(time.Minute)); len(got) != 1 || got[0] != high.ID || !rec.pages[0].Reminder {
		t.Fatalf("high after 1h: %v %+v", got, rec.pages)
	}
	// Friday 16:00 + one working day is Monday 17:00, not Saturday.
	if got := at(time.Date(2026, 11, 30, 16, 59, 0, 0, time.UTC)); len(got) != 1 {
		t.Fatalf("normal reminded before Monday's close: %v", got)
	}
	if got := at(time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)); len(got) != 2 || got[1] != normal.ID {
		t.Fatalf("normal at Monday's close: %v", got)
	}
	if got := at(time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC)); len(got) != 2 {
		t.Fatalf("reminders repeat or low priority reminded: %v", got)
	}
	if len(cards) != 3 {
		t.Fatalf("cards = %d", len(cards))
	}
	for _, c := range cards {
		if c.HoursNote != "" {
			t.Errorf("case opened during hours has an hours note: %q", c.HoursNote)
		}
	}

	// Opened on Saturday: the card says so, and an urgent one says the
	// patient already has the crisis resources.
	now = time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	p4, _ := st.Patient(ctx, "discord", "u4")
	st.OpenCase(ctx, intake.Case{PatientID: p4.ID, Outcome: "urgent", Priority: intake.PriorityUrgent})
	d.Step(ctx)
	last := cards[len(cards)-1]
	if !strings.Contains(last.HoursNote, "outside clinic hours") || !strings.Contains(last.HoursNote, "Mon 30 Nov 09:00") || !strings.Contains(last.HoursNote, "crisis resources") {
		t.Errorf("hours note = %q", last.HoursNote)
	}
}
