package handoff_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// With several workers, every event is delivered once and each case's
// events in order (its card posted before it is edited), the urgent cases'
// cards first; a failing case waits for its retry without holding the others.
func TestWorkersDeliverEachCaseInOrder(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	const cases = 30
	var ids []string
	for i := range cases {
		p, _ := st.Patient(ctx, "discord", fmt.Sprint("u", i))
		pr := intake.PriorityNormal
		if i%10 == 0 {
			pr = intake.PriorityUrgent
		}
		c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: pr})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: "x", Action: "case.note", Result: "ok", LastAction: "Note"}); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, c.ID)
	}
	var mu sync.Mutex
	seen := map[string][]string{} // case -> what it got, in order
	var posted []string
	failing := ids[5]
	// The urgent cards (every tenth case) must be in the first batch the
	// workers take: a normal card is held at the post until every urgent
	// one is posted; if every worker ends up holding a normal card, no
	// urgent one is in flight, which is the failure (checked at once, not
	// timed: the urgent cards make synced writes the normal ones do not,
	// so which is posted first is otherwise up to the scheduler).
	const workers = 4
	urgent := map[string]bool{ids[0]: true, ids[10]: true, ids[20]: true}
	urgentLeft, holding := len(urgent), 0
	ready := sync.NewCond(&mu)
	n := &notifier{
		post: func(c handoff.Card, _ string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if urgent[c.CaseID] {
				urgentLeft--
				ready.Broadcast()
			}
			for !urgent[c.CaseID] && urgentLeft > 0 {
				if holding+1 == workers {
					t.Errorf("every worker holds a normal card while %d urgent cards wait", urgentLeft)
					urgentLeft = 0
					ready.Broadcast()
					break
				}
				holding++
				ready.Wait()
				holding--
			}
			if c.CaseID == failing {
				return "", errors.New("discord is down for this one")
			}
			seen[c.CaseID] = append(seen[c.CaseID], "post")
			posted = append(posted, c.CaseID)
			return "m-" + c.CaseID, nil
		},
		update: func(id string, c handoff.Card) error {
			mu.Lock()
			defer mu.Unlock()
			if id != "m-"+c.CaseID || len(seen[c.CaseID]) == 0 {
				t.Errorf("case %s edited before its card was posted", c.CaseID)
			}
			seen[c.CaseID] = append(seen[c.CaseID], "update")
			return nil
		},
		page:   func(handoff.Page, string) error { return nil },
		notify: func(intake.Patient, string, string) error { return nil },
	}
	d := &handoff.Dispatcher{Store: st, Notifier: n, Workers: workers, Paging: handoff.Paging{Interval: 1 << 40}}
	got, err := d.DeliverDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3*(cases-1) {
		t.Errorf("delivered %d events, want %d", got, 3*(cases-1))
	}
	for _, id := range ids {
		want := "post,update,update"
		if id == failing {
			want = ""
		}
		if got := strings.Join(seen[id], ","); got != want {
			t.Errorf("case %s got %q, want %q", id, got, want)
		}
	}
	for u := range urgent {
		if !slices.Contains(posted, u) {
			t.Errorf("urgent case %s never posted", u)
		}
	}
	pend, _ := st.PendingEvents(ctx, 10)
	if len(pend) != 3 || pend[0].CaseID != failing {
		t.Errorf("pending = %+v; want the failing case's three events", pend)
	}
}
