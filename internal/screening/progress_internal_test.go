package screening

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/prompts"
)

// asksNow says, for each question, whether its condition holds with the
// answers walked so far, exactly as Next reads them (later answers unknown).
func (s *Script) asksNow(answers Answers, crisis bool) map[string]bool {
	st := s.newState(crisis)
	out := map[string]bool{}
	walking := true
	for _, q := range s.Questions {
		if walking && st.stopRule() != nil {
			walking = false
		}
		out[q.ID] = st.asks(q)
		if a, ok := answers[q.ID]; ok && walking && out[q.ID] {
			st.set(q, a)
		} else if walking && out[q.ID] {
			walking = false // the pending question: nothing after it is known
		}
	}
	return out
}

// The progress hint ("question N of about M") over the shipped script's
// paths: the step never passes the total, and the total rises only by the
// questions the answer just given opened (GAD-7 when "anxiety" is chosen,
// the PTSD items after the trauma question, PHQ-9's difficulty question,
// ASQ 5, the contact detail), never by more.
func TestProgressHintRisesOnlyByTheBlockJustOpened(t *testing.T) {
	s, err := Load(prompts.Embedded(), "screening.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, 0).UTC()
	// pick answers q: choose returns the option index (or, for a multiple
	// choice, the set) a walk takes.
	type chooser func(q *Question) []int
	first := func(q *Question) []int { return []int{0} }
	lastOpt := func(q *Question) []int { return []int{len(q.Options) - 1} }
	all := func(q *Question) []int {
		if q.Kind != KindMultiple {
			return []int{len(q.Options) - 1}
		}
		var ids []int
		for i, o := range q.Options {
			if !o.Exclusive {
				ids = append(ids, i)
			}
		}
		return ids
	}
	rng := rand.New(rand.NewSource(11))
	random := func(q *Question) []int {
		if q.Kind == KindMultiple {
			var ids []int
			for i, o := range q.Options {
				if !o.Exclusive && rng.Intn(2) == 0 {
					ids = append(ids, i)
				}
			}
			if len(ids) == 0 {
				ids = []int{rng.Intn(len(q.Options))}
			}
			return ids
		}
		return []int{rng.Intn(len(q.Options))}
	}
	// Walks that must pass through the consent and age gates, so the
	// conditional blocks are reached.
	gated := func(c chooser) chooser {
		return func(q *Question) []int {
			switch q.ID {
			case "consent", "age_18":
				return []int{q.optionIndex("yes")}
			}
			return c(q)
		}
	}
	walks := []chooser{first, lastOpt, all, gated(first), gated(lastOpt), gated(all)}
	for i := 0; i < 150; i++ {
		walks = append(walks, gated(random))
	}

	opened := map[string]bool{} // questions seen to open, over all walks
	for w, choose := range walks {
		crisis := w%7 == 3
		answers := Answers{}
		var prev *Step
		var prevAsks map[string]bool
		for n := 0; ; n++ {
			if n > len(s.Questions) {
				t.Fatalf("walk %d does not end", w)
			}
			step := s.Next(answers, crisis)
			asks := s.asksNow(answers, crisis)
			if step.Question == nil {
				break
			}
			if step.Number > step.About {
				t.Fatalf("walk %d: question %d of about %d (%s): the step passes the total", w, step.Number, step.About, step.Question.ID)
			}
			if prev != nil {
				var newly []string
				for _, q := range s.Questions[s.index[prev.Question.ID]+1:] {
					if asks[q.ID] && !prevAsks[q.ID] {
						newly = append(newly, q.ID)
						opened[q.ID] = true
					}
				}
				if rise := step.About - prev.About; rise > len(newly) {
					t.Fatalf("walk %d: after %s the total went from %d to %d, but the answer opened only %v",
						w, prev.Question.ID, prev.About, step.About, newly)
				}
			}
			q := step.Question
			var a intake.Answer
			switch {
			case q.HasChoices():
				var ids []string
				for _, i := range choose(q) {
					ids = append(ids, q.Options[i].ID)
				}
				a, err = q.FromChoices(ids, at)
			case q.Optional:
				a, err = q.ParseText("skip", at)
			case strings.HasPrefix(q.ID, "contact"):
				a, err = q.ParseText("555-123-4567", at)
				if err != nil {
					a, err = q.ParseText("pat@example.com", at)
				}
			default:
				a, err = q.ParseText("text", at)
			}
			if err != nil {
				t.Fatalf("walk %d: answer %s: %v", w, q.ID, err)
			}
			answers[q.ID] = a
			prev, prevAsks = &step, asks
		}
	}
	// The walks reached every conditional block of the script.
	for _, q := range s.Questions {
		if q.When != "" && !opened[q.ID] {
			t.Errorf("no walk opened %s (when %s): the test does not cover it", q.ID, q.When)
		}
	}
}

func (q *Question) optionIndex(id string) int {
	for i, o := range q.Options {
		if o.ID == id {
			return i
		}
	}
	panic("no option " + id)
}
