package screening

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/intakebot/intakebot/internal/intake"
)

// DefaultMaxTextLength bounds free-text answers when a question sets no limit.
const DefaultMaxTextLength = 1000

// ParseText turns what a patient typed into an answer to q. Choices may be
// given by their number as shown (1-based), their id or their label, case
// insensitive; several, separated by commas, for a multiple-choice question.
// "skip" skips an optional question. A rejected answer is an EINVALID error
// whose message says why and how to answer.
func (q *Question) ParseText(text string, now time.Time) (intake.Answer, error) {
	text = strings.TrimSpace(text)
	a := intake.Answer{QuestionID: q.ID, At: now}
	if text == "" {
		return a, intake.Errorf(intake.EINVALID, "I didn't get an answer there. %s", q.Hint())
	}
	if strings.EqualFold(text, "skip") {
		if !q.Optional {
			return a, intake.Errorf(intake.EINVALID, "This question can't be skipped. %s", q.Hint())
		}
		a.Skipped = true
		return a, nil
	}
	switch q.Kind {
	case KindYesNo, KindSingle:
		o := q.match(text)
		if o == nil && q.Kind == KindYesNo {
			o = q.Option(yesNoWord(text))
		}
		if o == nil {
			return a, intake.Errorf(intake.EINVALID, "%q isn't one of the options. %s", clip(text), q.Hint())
		}
		a.Choice = o.ID
		return a, nil
	case KindMultiple:
		var ids []string
		for _, part := range strings.Split(text, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			o := q.match(part)
			if o == nil {
				return a, intake.Errorf(intake.EINVALID, "%q isn't one of the options. %s", clip(part), q.Hint())
			}
			ids = append(ids, o.ID)
		}
		return q.FromChoices(ids, now)
	case KindNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return a, intake.Errorf(intake.EINVALID, "Please answer with a number. %s", q.Hint())
		}
		if q.Integer && n != float64(int64(n)) {
			return a, intake.Errorf(intake.EINVALID, "Please answer with a whole number. %s", q.Hint())
		}
		if (q.Min != nil && n < *q.Min) || (q.Max != nil && n > *q.Max) {
			return a, intake.Errorf(intake.EINVALID, "That number is out of range. %s", q.Hint())
		}
		a.Number = &n
		return a, nil
	case KindText:
		// Control and bidirectional-override characters are dropped from
		// free text as it is received (they could rewrite a staff terminal
		// or disguise what the text says); in a contact detail they are
		// refused, since a detail that reads differently from what it holds
		// is not one to call or write to.
		if q.Validate != "" && intake.HasUnsafe(text) {
			return a, intake.Errorf(intake.EINVALID, "That contains invisible or control characters, which a phone number or email address can't have. Please type it again.")
		}
		text = strings.TrimSpace(intake.CleanText(text))
		if text == "" {
			return a, intake.Errorf(intake.EINVALID, "I didn't get an answer there. %s", q.Hint())
		}
		max := q.MaxLength
		if max <= 0 {
			max = DefaultMaxTextLength
		}
		if len([]rune(text)) > max {
			return a, intake.Errorf(intake.EINVALID, "That's longer than this question allows (%d characters). Please shorten it.", max)
		}
		if err := validateText(q.Validate, text); err != nil {
			return a, err
		}
		a.Text = text
		return a, nil
	}
	return a, intake.Errorf(intake.EINTERNAL, "question %q has unknown kind %q", q.ID, q.Kind)
}

// FromChoices builds an answer from option ids chosen on a button or menu.
func (q *Question) FromChoices(ids []string, now time.Time) (intake.Answer, error) {
	a := intake.Answer{QuestionID: q.ID, At: now}
	if !q.HasChoices() {
		return a, intake.Errorf(intake.EINVALID, "This question needs a typed answer. %s", q.Hint())
	}
	if len(ids) == 1 && ids[0] == "skip" && q.Optional {
		a.Skipped = true
		return a, nil
	}
	if len(ids) == 0 {
		return a, intake.Errorf(intake.EINVALID, "Please choose at least one option. %s", q.Hint())
	}
	chosen := map[string]bool{}
	for _, id := range ids {
		o := q.Option(id)
		if o == nil {
			return a, intake.Errorf(intake.EINVALID, "%q isn't one of the options. %s", clip(id), q.Hint())
		}
		chosen[id] = true
	}
	if q.Kind != KindMultiple {
		if len(chosen) > 1 {
			return a, intake.Errorf(intake.EINVALID, "Please choose just one option. %s", q.Hint())
		}
		a.Choice = ids[0]
		return a, nil
	}
	for _, o := range q.Options {
		if chosen[o.ID] {
			if o.Exclusive && len(chosen) > 1 {
				return a, intake.Errorf(intake.EINVALID, "%q can't be combined with other choices. %s", o.Label, q.Hint())
			}
			a.Choices = append(a.Choices, o.ID)
		}
	}
	return a, nil
}

// match finds an option by its shown number, id or label.
func (q *Question) match(s string) *Option {
	s = strings.TrimSpace(strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) && r != ')' }))
	if n, err := strconv.Atoi(s); err == nil {
		if n >= 1 && n <= len(q.Options) {
			return q.Options[n-1]
		}
		return nil
	}
	for _, o := range q.Options {
		if strings.EqualFold(o.ID, s) || strings.EqualFold(o.Label, s) {
			return o
		}
	}
	// Underscores and spaces are interchangeable ("not sure", "not_sure").
	folded := strings.ReplaceAll(strings.ToLower(s), " ", "_")
	for _, o := range q.Options {
		if o.ID == folded {
			return o
		}
	}
	return nil
}

func yesNoWord(s string) string {
	switch strings.ToLower(strings.Trim(s, " .!")) {
	case "y", "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "i agree", "agree":
		return "yes"
	case "n", "no", "nope", "nah", "no thanks", "no thank you":
		return "no"
	}
	return ""
}

// Hint tells the patient how to answer q.
func (q *Question) Hint() string {
	switch q.Kind {
	case KindYesNo:
		return "Please answer yes or no."
	case KindSingle:
		return fmt.Sprintf("Please choose one option: a number from 1 to %d, or the option's name.", len(q.Options))
	case KindMultiple:
		h := fmt.Sprintf("Choose one or more options: numbers from 1 to %d (or the options' names), separated by commas.", len(q.Options))
		if q.Optional {
			h += ` Or type "skip".`
		}
		return h
	case KindNumber:
		switch {
		case q.Min != nil && q.Max != nil:
			return fmt.Sprintf("Please give a number from %s to %s.", num(*q.Min), num(*q.Max))
		case q.Min != nil:
			return fmt.Sprintf("Please give a number of at least %s.", num(*q.Min))
		case q.Max != nil:
			return fmt.Sprintf("Please give a number no more than %s.", num(*q.Max))
		}
		return "Please give a number."
	case KindText:
		var h string
		switch q.Validate {
		case ValidatePhone:
			h = "Please give a phone number, for example 555-123-4567."
		case ValidateEmail:
			h = "Please give an email address, for example name@example.com."
		case ValidatePhoneOrEmail:
			h = "Please give a phone number (for example 555-123-4567) or an email address (name@example.com)."
		default:
			h = "Please type your answer."
		}
		if q.Optional {
			h += ` Or type "skip".`
		}
		return h
	}
	return ""
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func clip(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func validateText(kind, s string) error {
	switch kind {
	case ValidatePhone:
		if !IsPhone(s) {
			return intake.Errorf(intake.EINVALID, "That doesn't look like a phone number. Please give a phone number with its area code, for example 555-123-4567.")
		}
	case ValidateEmail:
		if !IsEmail(s) {
			return intake.Errorf(intake.EINVALID, "That doesn't look like an email address. Please give one like name@example.com.")
		}
	case ValidatePhoneOrEmail:
		if !IsPhone(s) && !IsEmail(s) {
			return intake.Errorf(intake.EINVALID, "That doesn't look like a phone number or an email address. Please give a phone number with its area code (555-123-4567) or an email address (name@example.com).")
		}
	}
	return nil
}

// IsPhone reports whether s looks like a phone number: 7 to 15 digits, with
// only spaces, dashes, dots, parentheses, a leading + and an extension.
func IsPhone(s string) bool {
	s = strings.TrimSpace(s)
	if i := strings.Index(strings.ToLower(s), "ext"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// IsEmail reports whether s is a bare email address with a dotted domain.
func IsEmail(s string) bool {
	s = strings.TrimSpace(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
