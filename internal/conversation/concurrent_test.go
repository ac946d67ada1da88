package conversation_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/testkit"
)

// device is one window or device of a patient: it remembers the question
// it shows and answers that question, as the terminal does.
type device struct {
	eng     *conversation.Engine
	user    string
	shown   string
	outcome *intake.Reply
	n       int
}

func (d *device) take(replies []intake.Reply) {
	d.shown = ""
	for _, r := range replies {
		switch r.Kind {
		case intake.ReplyQuestion:
			d.shown = r.QuestionID
		case intake.ReplyOutcome:
			r := r
			d.outcome = &r
		}
	}
}

// send types text; it may run on another goroutine, so it reports errors
// with t.Error.
func (d *device) send(t *testing.T, text string) {
	t.Helper()
	d.n++
	replies, err := d.eng.Handle(context.Background(), intake.Turn{Channel: "console", UserID: d.user, EventID: fmt.Sprintf("%p-%d", d, d.n),
		Text: text, ShownQuestion: d.shown, At: time.Now()})
	if err != nil {
		t.Errorf("%s: %v", d.user, err)
		d.shown = ""
		return
	}
	d.take(replies)
}

// randomAnswers picks a valid typed answer for every question: a random
// option id for choices, so that an answer applied to the wrong question
// changes scores, flags or the outcome.
func randomAnswers(rng *rand.Rand, s *screening.Script) map[string]string {
	out := map[string]string{}
	for _, q := range s.Questions {
		switch {
		case q.ID == "consent" || q.ID == "age_18":
			out[q.ID] = "yes" // long screenings: more rounds
		case len(q.Options) > 0:
			out[q.ID] = q.Options[rng.IntN(len(q.Options))].ID
		case q.Kind == screening.KindYesNo:
			out[q.ID] = []string{"yes", "no"}[rng.IntN(2)]
		case q.Validate != "" && out["contact_method"] == "phone":
			// A detail of the method chosen (another is asked about).
			out[q.ID] = fmt.Sprintf("555-01%02d-%04d", rng.IntN(100), rng.IntN(10000))
		case q.Validate != "":
			out[q.ID] = fmt.Sprintf("pat%d@example.com", rng.IntN(1000))
		default:
			out[q.ID] = fmt.Sprintf("note %d", rng.IntN(1000))
		}
	}
	return out
}

// caseOf is what staff would see of a screening's outcome.
func caseOf(t *testing.T, st intake.Store, r *intake.Reply) any {
	t.Helper()
	if r == nil {
		return nil
	}
	if r.CaseID == "" {
		return []any{r.Outcome, r.Priority}
	}
	c, err := st.Case(context.Background(), r.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	return []any{r.Outcome, r.Priority, c.Outcome, c.Priority, c.Scores, c.Flags, c.Contact, c.Notes}
}

// Two engines on one database (two processes) answering for the same
// patient at once, each from the question its window shows, produce the
// outcome one engine alone produces from the same answers, round after
// round: an answer meant for one question is never applied to another.
func TestTwoEnginesForOnePatientNeverMixAnswers(t *testing.T) {
	a := testkit.New(t)
	b := a.Twin(t)
	alone := testkit.New(t)
	rng := rand.New(rand.NewPCG(12, 5))
	rounds, screenings := 0, 0
	for rounds < 200 {
		screenings++
		answers := randomAnswers(rng, a.Script)

		ref := &device{eng: alone.Engine, user: "pat"}
		ref.send(t, "/restart")
		for ref.shown != "" {
			ref.send(t, answers[ref.shown])
		}
		if ref.outcome == nil {
			t.Fatalf("screening %d alone ended without an outcome", screenings)
		}

		da, db := &device{eng: a.Engine, user: "pat"}, &device{eng: b.Engine, user: "pat"}
		da.send(t, "/restart")
		replies, err := b.Engine.Greet(context.Background(), "console", "pat")
		if err != nil {
			t.Fatal(err)
		}
		db.take(replies)
		for da.shown != "" || db.shown != "" {
			rounds++
			// Mostly both at once; sometimes one alone, so the other
			// window falls behind and answers a question already answered.
			alone := rng.IntN(10)
			var wg sync.WaitGroup
			for i, d := range []*device{da, db} {
				if d.shown == "" || alone == i {
					continue
				}
				text := answers[d.shown]
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.send(t, text)
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
		}
		got := da.outcome
		if got == nil {
			got = db.outcome
		} else if db.outcome != nil {
			t.Fatalf("screening %d: both windows got an outcome: %+v and %+v", screenings, *da.outcome, *db.outcome)
		}
		if want, have := caseOf(t, alone.Store, ref.outcome), caseOf(t, a.Store, got); !reflect.DeepEqual(want, have) {
			t.Fatalf("screening %d (round %d): two engines gave %v; one engine alone %v", screenings, rounds, have, want)
		}
	}
	t.Logf("%d rounds over %d screenings", rounds, screenings)
}

// heldStore holds SaveAnswer until released, after telling that it was
// reached: the turn has read the session and checked its answer.
type heldStore struct {
	intake.Store
	reached, release chan struct{}
}

func (h *heldStore) SaveAnswer(ctx context.Context, sessionID string, version int64, a intake.Answer) error {
	close(h.reached)
	<-h.release
	return h.Store.SaveAnswer(ctx, sessionID, version, a)
}

// A turn that read the session before another turn answered the same
// question is not saved (the compare-and-set in the answer's transaction):
// here it would have answered "under 18" over the "yes" already stored and
// ended the screening. Its window is shown the pending question instead.
func TestAnswerThatLostARaceIsNotSaved(t *testing.T) {
	k := testkit.New(t)
	held := &heldStore{Store: k.Store, reached: make(chan struct{}), release: make(chan struct{})}
	slow := &device{eng: k.EngineOn(t, held), user: "pat"}
	fast := &device{eng: k.Twin(t).Engine, user: "pat"}
	fast.send(t, "/screen")
	fast.send(t, "yes") // consent
	if fast.shown != "age_18" {
		t.Fatalf("shown %q; want age_18", fast.shown)
	}
	slow.shown = "age_18"
	var replies []intake.Reply
	done := make(chan error)
	go func() {
		r, err := slow.eng.Handle(context.Background(), intake.Turn{Channel: "console", UserID: "pat", EventID: "slow", Text: "no",
			ShownQuestion: "age_18", At: time.Now()})
		replies = r
		done <- err
	}()
	<-held.reached
	fast.send(t, "yes") // age_18, first
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slow.take(replies)
	if slow.outcome != nil || slow.shown != fast.shown || fast.shown == "age_18" {
		t.Fatalf("slow window: outcome %+v, shown %q; want no outcome and the pending question %q", slow.outcome, slow.shown, fast.shown)
	}
	p, _ := k.Store.Patient(context.Background(), "console", "pat")
	sess, err := k.Store.ActiveSession(context.Background(), p.ID)
	if err != nil || sess.Answers["age_18"].Choice != "yes" {
		t.Fatalf("session after the race: %+v, %v; want active with age_18 = yes", sess, err)
	}
}

// A click that loses the race is a stale click: a private notice, nothing
// stored, so the adapter leaves its question message as it was.
func TestClickThatLostARaceIsAStaleClick(t *testing.T) {
	k := testkit.New(t)
	held := &heldStore{Store: k.Store, reached: make(chan struct{}), release: make(chan struct{})}
	slow := k.EngineOn(t, held)
	fast := &device{eng: k.Twin(t).Engine, user: "pat"}
	fast.send(t, "/screen")
	fast.send(t, "yes") // consent; age_18 is pending
	var replies []intake.Reply
	done := make(chan error)
	go func() {
		r, err := slow.Handle(context.Background(), intake.Turn{Channel: "console", UserID: "pat", EventID: "click",
			QuestionID: "age_18", ChoiceIDs: []string{"no"}, At: time.Now()})
		replies = r
		done <- err
	}()
	<-held.reached
	fast.send(t, "yes")
	close(held.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].Kind != intake.ReplyNotice {
		t.Fatalf("click that lost the race: %+v; want one private notice", replies)
	}
}
