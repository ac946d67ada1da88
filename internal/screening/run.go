package screening

import (
	"sort"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/intakebot/intakebot/internal/intake"
)

// Answers maps question ids to answers.
type Answers map[string]intake.Answer

// OutcomeIncomplete is the outcome Evaluate gives when questions that a
// conversation would still ask have no answer.
const OutcomeIncomplete = "incomplete"

// Result is how a screening ended, or would end with the answers given.
type Result struct {
	Outcome        string
	Priority       intake.Priority
	Handoff        bool
	Stopped        bool // a stop rule ended the screening early
	DiscardAnswers bool
	Message        string // messages.yaml key for the patient
	Scores         map[string]intake.Score
	Flags          []string
	Missing        []string // questions still to be asked, in order
	// Provisional is the outcome the rules give the answers so far, even
	// when the result is incomplete: a cancelled screening whose partial
	// answers already call for a safety review still reaches staff.
	Provisional         string
	ProvisionalPriority intake.Priority
	// Asked lists the questions a conversation asked, in order; answers to
	// other questions were ignored.
	Asked []string
}

// Step is what the runner says comes next.
type Step struct {
	Question *Question // nil when the screening is over
	Number   int       // 1-based position of Question among the questions asked
	About    int       // about how many questions this patient will be asked
	Result   *Result   // set when the screening is over
}

// compileEnv returns an environment with the type of every name a condition can
// use; each question id has its kind's zero value when unanswered.
func (s *Script) compileEnv() map[string]any {
	env := make(map[string]any, len(s.Questions)+5)
	for _, q := range s.Questions {
		env[q.ID] = zeroValue(q)
	}
	env["score"] = map[string]int{}
	env["band"] = map[string]string{}
	env["positive"] = map[string]bool{}
	env["value"] = map[string]float64{}
	env["crisis_language"] = false
	return env
}

func zeroValue(q *Question) any {
	switch q.Kind {
	case KindMultiple:
		return []string{}
	case KindNumber:
		return 0.0
	}
	return ""
}

// state evaluates conditions over a growing set of answers.
type state struct {
	s        *Script
	env      map[string]any
	score    map[string]int
	band     map[string]string
	positive map[string]bool
	value    map[string]float64
	dirty    bool
}

func (s *Script) newState(crisis bool) *state {
	st := &state{s: s, env: s.compileEnv(), score: map[string]int{}, band: map[string]string{}, positive: map[string]bool{}, value: map[string]float64{}}
	st.env["score"], st.env["band"], st.env["positive"], st.env["value"] = st.score, st.band, st.positive, st.value
	st.env["crisis_language"] = crisis
	st.rescore()
	return st
}

func (st *state) set(q *Question, a intake.Answer) {
	st.dirty = true
	delete(st.value, q.ID)
	st.env[q.ID] = zeroValue(q)
	if a.Skipped {
		return
	}
	switch q.Kind {
	case KindMultiple:
		st.env[q.ID] = append([]string(nil), a.Choices...)
	case KindNumber:
		if a.Number != nil {
			st.env[q.ID] = *a.Number
			st.value[q.ID] = *a.Number
		}
	case KindText:
		st.env[q.ID] = a.Text
	default:
		st.env[q.ID] = a.Choice
		if o := q.Option(a.Choice); o != nil && o.Value != nil {
			st.value[q.ID] = *o.Value
		}
	}
}

func (st *state) rescore() {
	st.dirty = false
	for _, in := range st.s.Instruments {
		total := 0
		for _, id := range in.Items {
			switch in.Method {
			case MethodCountYes:
				if st.env[id] == "yes" {
					total++
				}
			default:
				total += int(st.value[id])
			}
		}
		st.score[in.ID] = total
		st.positive[in.ID] = in.Cutoff != nil && total >= *in.Cutoff
	}
	for _, in := range st.s.Instruments {
		st.band[in.ID] = ""
		for _, b := range in.Bands {
			if b.when != nil {
				if st.eval(b.when) {
					st.band[in.ID] = b.ID
					break
				}
				continue
			}
			if b.contains(st.score[in.ID]) {
				st.band[in.ID] = b.ID
				break
			}
		}
	}
}

func (st *state) eval(p *vm.Program) bool {
	if p == nil {
		return true
	}
	if st.dirty {
		st.rescore()
	}
	out, err := expr.Run(p, st.env)
	if err != nil {
		// Conditions are type-checked at load; a run-time error would be a
		// bug in intakebot. Treat it as "not matched" and let the caller's
		// tests find it rather than crash in front of a patient.
		return false
	}
	b, _ := out.(bool)
	return b
}

func (st *state) asks(q *Question) bool { return st.eval(q.when) }

func (st *state) stopRule() *OutcomeRule {
	for _, o := range st.s.Outcomes {
		if o.Stop && st.eval(o.when) {
			return o
		}
	}
	return nil
}

func (st *state) result(rule *OutcomeRule, asked []string) *Result {
	if st.dirty {
		st.rescore()
	}
	r := &Result{Asked: asked, Scores: map[string]intake.Score{}}
	if rule == nil {
		for _, o := range st.s.Outcomes {
			if st.eval(o.when) {
				rule = o
				break
			}
		}
	} else {
		r.Stopped = true
	}
	if rule != nil {
		r.Outcome, r.Priority, r.Handoff = rule.Outcome, intake.Priority(rule.Priority), rule.Handoff
		r.DiscardAnswers, r.Message = rule.DiscardAnswers, rule.Message
	}
	for _, in := range st.s.Instruments {
		if !st.anyAsked(in, asked) {
			continue
		}
		r.Scores[in.ID] = intake.Score{Value: st.score[in.ID], Band: st.band[in.ID], Positive: st.positive[in.ID]}
	}
	for _, f := range st.s.Flags {
		if st.eval(f.when) {
			r.Flags = append(r.Flags, f.ID)
		}
	}
	return r
}

// anyAsked reports whether any item of the instrument was asked; instruments
// that were skipped entirely (GAD-7 when anxiety was not a reason) are left out
// of the scores rather than reported as 0.
func (st *state) anyAsked(in *Instrument, asked []string) bool {
	for _, a := range asked {
		if a == in.Gate {
			return true
		}
		for _, id := range in.Items {
			if a == id {
				return true
			}
		}
	}
	return false
}

// Next walks the script with the answers so far, exactly as a conversation
// does, and returns the next question to ask or, when the screening is over,
// its result. crisis says whether crisis language was detected in this
// session. Answers to questions the walk does not ask are ignored.
func (s *Script) Next(answers Answers, crisis bool) Step {
	st := s.newState(crisis)
	var asked []string
	for _, q := range s.Questions {
		if rule := st.stopRule(); rule != nil {
			return Step{Result: st.result(rule, asked)}
		}
		if !st.asks(q) {
			continue
		}
		a, ok := answers[q.ID]
		if !ok {
			return Step{Question: q, Number: len(asked) + 1, About: len(asked) + st.remaining(q)}
		}
		asked = append(asked, q.ID)
		st.set(q, a)
	}
	return Step{Result: st.result(st.stopRule(), asked)}
}

// remaining counts from (and including) q the questions whose conditions hold
// with what is known now: an estimate, since later answers open or close
// branches.
func (st *state) remaining(from *Question) int {
	n := 0
	for _, q := range st.s.Questions[st.s.index[from.ID]:] {
		if st.asks(q) {
			n++
		}
	}
	return n
}

// Evaluate scores a whole answer set the way a conversation would have. It
// stops where a conversation stops; answers to questions a conversation would
// not have asked are ignored; questions it would still ask are listed in
// Missing and, unless a stop rule fired, make the outcome incomplete.
func (s *Script) Evaluate(answers Answers, crisis bool) *Result {
	st := s.newState(crisis)
	var asked, missing []string
	for _, q := range s.Questions {
		if rule := st.stopRule(); rule != nil {
			r := st.result(rule, asked)
			r.Missing = missing
			return r
		}
		if !st.asks(q) {
			continue
		}
		a, ok := answers[q.ID]
		if !ok {
			missing = append(missing, q.ID)
			continue
		}
		asked = append(asked, q.ID)
		st.set(q, a)
	}
	r := st.result(st.stopRule(), asked)
	r.Provisional, r.ProvisionalPriority = r.Outcome, r.Priority
	if rule := st.stopRule(); rule == nil && len(missing) > 0 {
		r.Outcome, r.Priority, r.Handoff, r.Message = OutcomeIncomplete, intake.PriorityNone, false, ""
	}
	r.Missing = missing
	return r
}

// FlagLabels returns the staff-facing labels of flags, in the order given;
// unknown flags are returned as they are.
func (s *Script) FlagLabels(flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, id := range flags {
		if f := s.Flag(id); f != nil {
			out = append(out, f.Label)
		} else {
			out = append(out, id)
		}
	}
	return out
}

// SortedIDs returns the keys of answers in script order, unknown ids last.
func (s *Script) SortedIDs(answers Answers) []string {
	ids := make([]string, 0, len(answers))
	for id := range answers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, oka := s.index[ids[i]]
		b, okb := s.index[ids[j]]
		if oka != okb {
			return oka
		}
		if a != b {
			return a < b
		}
		return ids[i] < ids[j]
	})
	return ids
}
