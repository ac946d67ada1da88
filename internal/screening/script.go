// Package screening owns the clinic-editable intake script: its model, the
// loader and validator (every problem reported with file:line), compiled
// conditions, instrument scoring, outcome and flag rules, answer validation and
// the runner that turns the answers so far into the next question or an outcome.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package screening

import (
	"strconv"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/intakebot/intakebot/internal/intake"
)

// Question kinds.
const (
	KindYesNo    = "yes_no"
	KindSingle   = "single"
	KindMultiple = "multiple"
	KindNumber   = "number"
	KindText     = "text"
)

// Text validators.
const (
	ValidatePhone        = "phone"
	ValidateEmail        = "email"
	ValidatePhoneOrEmail = "phone_or_email"
)

// Script is a loaded, validated screening script. It is immutable and safe for
// concurrent use.
type Script struct {
	File        string
	Version     string // sha256 of the source, hex, first 12 characters
	Title       string
	Questions   []*Question
	Instruments []*Instrument
	Outcomes    []*OutcomeRule
	Flags       []*FlagRule
	CaseFields  CaseFields

	byID   map[string]*Question
	index  map[string]int
	instBy map[string]*Instrument
}

// CaseFields names the questions whose answers go on a case as how to reach
// the patient and what they want staff to know. Any may be empty.
type CaseFields struct {
	ContactMethod string `yaml:"contact_method"`
	ContactDetail string `yaml:"contact_detail"`
	BestTime      string `yaml:"best_time"`
	Notes         string `yaml:"notes"`
	// Answers are the questions whose answers staff see in a case's Details
	// whatever they are (safety and medical history), in this order.
	Answers []string `yaml:"answers"`
}

// Option is one answer a patient can choose.
type Option struct {
	ID        string   `yaml:"id"`
	Label     string   `yaml:"label"`
	Value     *float64 `yaml:"value"`
	Exclusive bool     `yaml:"exclusive"` // in a multiple-choice question, cannot be combined
}

// Question is one screening question.
type Question struct {
	ID        string    `yaml:"id"`
	Kind      string    `yaml:"kind"`
	Preface   string    `yaml:"preface"` // shown before the question (an instrument's stem)
	Text      string    `yaml:"text"`
	Options   []*Option `yaml:"options"`
	OptionSet string    `yaml:"option_set"`
	When      string    `yaml:"when"`
	Optional  bool      `yaml:"optional"`
	Min       *float64  `yaml:"min"`
	Max       *float64  `yaml:"max"`
	Integer   bool      `yaml:"integer"`
	Validate  string    `yaml:"validate"`
	MaxLength int       `yaml:"max_length"`
	// Label is the short name staff read beside the answer in a case's
	// Details ("Bipolar history"); the id when empty.
	Label string `yaml:"label"`
	// AfterAnswer is a messages.yaml key shown once the question is
	// answered, before the next question (not when the screening ends
	// there: its outcome message says what is needed).
	AfterAnswer string `yaml:"after_answer"`

	when *vm.Program
	line int
}

// StaffLabel is the question's short name for staff: its label, or its id.
func (q *Question) StaffLabel() string {
	if q.Label != "" {
		return q.Label
	}
	return q.ID
}

// AnswerLabel is how an answer to q reads for staff: the chosen options'
// labels, the number or the text; "skipped" for a skipped answer.
func (q *Question) AnswerLabel(a intake.Answer) string {
	switch {
	case a.Skipped:
		return "skipped"
	case a.Number != nil:
		return strconv.FormatFloat(*a.Number, 'f', -1, 64)
	case a.Text != "":
		return a.Text
	}
	ids := a.Choices
	if a.Choice != "" {
		ids = []string{a.Choice}
	}
	labels := make([]string, 0, len(ids))
	for _, id := range ids {
		if o := q.Option(id); o != nil {
			labels = append(labels, o.Label)
		} else {
			labels = append(labels, id)
		}
	}
	return strings.Join(labels, ", ")
}

// Option returns the option with id, or nil.
func (q *Question) Option(id string) *Option {
	for _, o := range q.Options {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// HasChoices reports whether the question is answered by picking options.
func (q *Question) HasChoices() bool {
	return q.Kind == KindYesNo || q.Kind == KindSingle || q.Kind == KindMultiple
}

// Band is a named range of an instrument's score, or a named condition.
type Band struct {
	ID   string `yaml:"id"`
	Min  *int   `yaml:"min"`
	Max  *int   `yaml:"max"`
	When string `yaml:"when"`

	when *vm.Program
}

// Instrument is a scored questionnaire within the script.
type Instrument struct {
	ID     string   `yaml:"id"`
	Name   string   `yaml:"name"`
	Method string   `yaml:"method"` // sum | count_yes
	Items  []string `yaml:"items"`
	// Gate names a question that opens the items (PC-PTSD-5's trauma
	// question): once it is asked the instrument is scored, 0 if the gate
	// closed the items.
	Gate        string  `yaml:"gate"`
	Cutoff      *int    `yaml:"cutoff"` // positive at or above
	Bands       []*Band `yaml:"bands"`
	Attribution string  `yaml:"attribution"`
	// Stem is the question every item completes ("Over the last 2 weeks,
	// how often have you been bothered by…"). It is shown with every item,
	// whatever came before (a side question, a resume), since an item
	// without it is not the instrument's question.
	Stem string `yaml:"stem"`
}

// Scoring methods.
const (
	MethodSum      = "sum"
	MethodCountYes = "count_yes"
)

// OutcomeRule sets the outcome when its condition holds; the first that holds
// wins. Stop rules are checked after every answer and end the screening early.
type OutcomeRule struct {
	Outcome        string `yaml:"outcome"`
	When           string `yaml:"when"`
	Priority       string `yaml:"priority"`
	Handoff        bool   `yaml:"handoff"`
	Stop           bool   `yaml:"stop"`
	DiscardAnswers bool   `yaml:"discard_answers"`
	Message        string `yaml:"message"` // key in messages.yaml

	when *vm.Program
}

// FlagRule adds its flag when its condition holds; every rule is checked.
type FlagRule struct {
	ID    string `yaml:"id"`
	Label string `yaml:"label"`
	When  string `yaml:"when"`

	when *vm.Program
}

// Question returns the question with id, or nil.
func (s *Script) Question(id string) *Question { return s.byID[id] }

// Instrument returns the instrument with id, or nil.
func (s *Script) Instrument(id string) *Instrument { return s.instBy[id] }

// InstrumentOf returns the instrument that has question id among its items,
// or nil.
func (s *Script) InstrumentOf(id string) *Instrument {
	for _, in := range s.Instruments {
		for _, item := range in.Items {
			if item == id {
				return in
			}
		}
	}
	return nil
}

// Flag returns the flag rule with id, or nil.
func (s *Script) Flag(id string) *FlagRule {
	for _, f := range s.Flags {
		if f.ID == id {
			return f
		}
	}
	return nil
}
