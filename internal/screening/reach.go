package screening

import (
	"math/rand/v2"

	"github.com/intakebot/intakebot/internal/intake"
)

// reachWalks bounds the random walks unreachable makes; the walks stop as soon
// as every question has been reached, which for a sound script is within a
// few dozen.
const reachWalks = 2000

// unreachable returns the ids of questions that no walk through the script
// reaches. Walks answer at random (seeded, so the verdict is the same every
// run), preferring answers that do not end the screening early, and check
// stop rules as a conversation does.
func unreachable(s *Script) []string {
	reached := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	for w := 0; w < reachWalks && len(reached) < len(s.Questions); w++ {
		st := s.newState(false)
		for _, q := range s.Questions {
			if st.stopRule() != nil {
				break
			}
			if !st.asks(q) {
				continue
			}
			reached[q.ID] = true
			for try := 0; try < 4; try++ {
				st.set(q, randomAnswer(rng, q))
				if st.stopRule() == nil || rng.IntN(10) == 0 {
					break
				}
			}
		}
	}
	var out []string
	for _, q := range s.Questions {
		if !reached[q.ID] {
			out = append(out, q.ID)
		}
	}
	return out
}

func randomAnswer(rng *rand.Rand, q *Question) intake.Answer {
	a := intake.Answer{QuestionID: q.ID}
	if q.Optional && rng.IntN(4) == 0 {
		a.Skipped = true
		return a
	}
	switch q.Kind {
	case KindYesNo, KindSingle:
		a.Choice = q.Options[rng.IntN(len(q.Options))].ID
	case KindMultiple:
		for _, o := range q.Options {
			if rng.IntN(2) == 0 && !o.Exclusive {
				a.Choices = append(a.Choices, o.ID)
			}
		}
		if len(a.Choices) == 0 {
			a.Choices = []string{q.Options[rng.IntN(len(q.Options))].ID}
		}
	case KindNumber:
		lo, hi := 0.0, 100.0
		if q.Min != nil {
			lo = *q.Min
		}
		if q.Max != nil {
			hi = *q.Max
		} else if q.Min != nil {
			hi = lo + 100
		}
		n := lo + float64(rng.IntN(int(hi-lo)+1))
		a.Number = &n
	case KindText:
		switch q.Validate {
		case ValidatePhone:
			a.Text = "555-123-4567"
		case ValidateEmail:
			a.Text = "name@example.com"
		case ValidatePhoneOrEmail:
			a.Text = []string{"555-123-4567", "name@example.com"}[rng.IntN(2)]
		default:
			a.Text = "text"
		}
	}
	return a
}
