package conversation

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"unicode"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
)

// ContactQuestionID is the id of the question asked after the crisis
// resources or a request for staff, when the case has no phone number or
// email address yet: optional, and not part of the screening script.
const ContactQuestionID = "case_contact"

// ContactSwitchQuestionID is the id of the question asked when the contact
// detail typed in the screening is of the other kind than the method chosen
// ("Phone call", then an email address): should the care team use it?
const ContactSwitchQuestionID = "contact_switch"

// Contact methods the engine knows the kind of, as option ids of the
// script's contact question.
const (
	MethodPhone = "phone"
	MethodEmail = "email"
)

// contactAsks remembers, per patient, the case waiting for a contact detail
// (ContactQuestionID) and a mismatched detail waiting for the patient to
// say which they meant (ContactSwitchQuestionID). Kept in memory only, as
// the safety check is: after a restart the question is simply not pending,
// and what the patient types is handled as any message (on Discord, passed
// to staff on the open case).
type contactAsks struct {
	mu sync.Mutex
	// cases and switches are keyed by patient id; mu must be held.
	cases    map[string]string
	switches map[string]pendingSwitch
}

// pendingSwitch is a detail typed for one method that is of the other kind.
type pendingSwitch struct {
	question string // the screening question it was typed for
	method   string // the method it is of (MethodPhone or MethodEmail)
	detail   string
}

func (c *contactAsks) ask(patientID, caseID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cases == nil {
		c.cases = map[string]string{}
	}
	c.cases[patientID] = caseID
}

func (c *contactAsks) pending(patientID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.cases[patientID]
	return id, ok
}

func (c *contactAsks) askSwitch(patientID string, s pendingSwitch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.switches == nil {
		c.switches = map[string]pendingSwitch{}
	}
	c.switches[patientID] = s
}

func (c *contactAsks) takeSwitch(patientID string) (pendingSwitch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.switches[patientID]
	delete(c.switches, patientID)
	return s, ok
}

func (c *contactAsks) forgetAsk(patientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cases, patientID)
}

func (c *contactAsks) forget(patientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cases, patientID)
	delete(c.switches, patientID)
}

// contactReading is how a turn's text reads as a contact detail.
type contactReading struct {
	method, detail string // a phone number or email address found in it
	skip           bool   // "skip", "no thanks", …
	// tried: it holds an @ or a few digits but no detail that validates
	// (an option's number, "2", is no attempt at a phone number).
	tried bool
}

// readContact reads text as a contact detail: the whole text, or one word
// or run of a sentence ("you can call me on 555 123 4567").
func readContact(text string) contactReading {
	s := strings.TrimSpace(text)
	switch strings.ToLower(strings.Trim(s, ".! ")) {
	case "skip", "no", "no thanks", "no thank you", "nope", "not now", "later", "none", "n/a", "rather not", "i'd rather not":
		return contactReading{skip: true}
	}
	switch strings.ToLower(strings.Trim(s, ".! ")) {
	case "yes", "y", "yeah", "yep", "sure", "ok", "okay", "yes please", "please":
		// Yes to being phoned or emailed, but no detail yet.
		return contactReading{tried: true}
	}
	if m := detailKind(s); m != "" {
		return contactReading{method: m, detail: s}
	}
	// An email address is a word.
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ".,;:!?()<>\"'")
		if screening.IsEmail(w) {
			return contactReading{method: MethodEmail, detail: w}
		}
	}
	// A phone number is the longest run of phone characters.
	best := ""
	run := func(r rune) bool { return unicode.IsDigit(r) || strings.ContainsRune("+-.() ", r) }
	start := -1
	for i, r := range s + "x" {
		if i < len(s) && run(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			cand := strings.Trim(s[start:i], " .-")
			cand = strings.TrimLeft(cand, ")")
			if screening.IsPhone(cand) && len(cand) > len(best) {
				best = cand
			}
			start = -1
		}
	}
	if best != "" {
		return contactReading{method: MethodPhone, detail: best}
	}
	digits := 0
	for _, r := range s {
		if unicode.IsDigit(r) {
			digits++
		}
	}
	return contactReading{tried: digits >= 3 || strings.Contains(s, "@")}
}

// detailKind says whether s is a phone number or an email address ("" for
// neither).
func detailKind(s string) string {
	switch {
	case screening.IsPhone(s):
		return MethodPhone
	case screening.IsEmail(s):
		return MethodEmail
	}
	return ""
}

// reachable reports whether staff have a way to reach the patient that
// the patient chose: a phone number or email address, or a message on the
// channel they asked for.
func reachable(c intake.Contact) bool {
	return c.Detail != "" || (c.Method != "" && c.Method != MethodPhone && c.Method != MethodEmail)
}

// knownContact is the best contact known for a patient whose new case has
// none: the answers of the screening in progress, else the latest case
// that has one.
func (e *Engine) knownContact(ctx context.Context, p intake.Patient, sess *intake.Session) intake.Contact {
	cf := e.script.CaseFields
	if sess != nil {
		c := intake.Contact{Method: sess.Answers[cf.ContactMethod].Choice, Detail: sess.Answers[cf.ContactDetail].Text, BestTime: sess.Answers[cf.BestTime].Choice}
		if reachable(c) {
			return c
		}
	}
	cases, err := e.store.Cases(ctx, intake.CaseFilter{PatientID: p.ID})
	if err != nil {
		e.log.Warn("read earlier cases for a contact", slog.String("patient_id", p.ID), slog.Any("err", err))
		return intake.Contact{}
	}
	var latest intake.Case
	for _, c := range cases {
		if reachable(c.Contact) && c.UpdatedAt.After(latest.UpdatedAt) {
			latest = c
		}
	}
	return latest.Contact
}

// askContact asks for a phone number or email address when case c has no
// way to reach the patient; nothing otherwise.
func (e *Engine) askContact(p intake.Patient, c intake.Case) []intake.Reply {
	if reachable(c.Contact) || c.ID == "" {
		return nil
	}
	e.contacts.ask(p.ID, c.ID)
	return []intake.Reply{{Kind: intake.ReplyQuestion, QuestionID: ContactQuestionID, Optional: true,
		Text: e.msgs.Render("contact_ask", map[string]any{"CaseID": c.ID})}}
}

// contactStep takes the answer to a pending ContactQuestionID: a phone
// number or email address goes on the case (the card and details update),
// "skip" leaves it. Text that holds neither, nor any attempt at one, is not
// an answer: the question is dropped and the turn handled as any other (the
// patient may be telling the care team something). ok reports whether the
// turn was handled here.
func (e *Engine) contactStep(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn) ([]intake.Reply, bool, error) {
	caseID, ok := e.contacts.pending(p.ID)
	if t.QuestionID == ContactQuestionID && !ok {
		return []intake.Reply{e.notice("stale_answer")}, true, nil
	}
	if !ok {
		return nil, false, nil
	}
	if t.QuestionID != "" && t.QuestionID != ContactQuestionID {
		// A click on another question (the screening's, on Discord): the
		// patient moved on, and later text is not read as a contact.
		if t.QuestionID != ContactSwitchQuestionID {
			e.contacts.forgetAsk(p.ID)
		}
		return nil, false, nil
	}
	cr := readContact(t.Text)
	if t.QuestionID == ContactQuestionID && len(t.ChoiceIDs) == 1 && t.ChoiceIDs[0] == "skip" {
		cr = contactReading{skip: true}
	}
	switch {
	case cr.skip:
		e.contacts.forget(p.ID)
		log.Info("contact question skipped", slog.String("case_id", caseID))
		out := []intake.Reply{e.message("contact_skipped", map[string]any{"CaseID": caseID})}
		return append(out, e.pendingQuestion(ctx, log, p)...), true, nil
	case cr.detail == "" && cr.tried:
		out := []intake.Reply{e.message("contact_invalid", nil)}
		return append(out, intake.Reply{Kind: intake.ReplyQuestion, QuestionID: ContactQuestionID, Optional: true,
			Text: e.msgs.Render("contact_ask", map[string]any{"CaseID": caseID})}), true, nil
	case cr.detail == "":
		e.contacts.forget(p.ID)
		return nil, false, nil
	}
	e.contacts.forget(p.ID)
	c, err := e.store.Case(ctx, caseID)
	if err != nil {
		return nil, true, err
	}
	if c.Status == intake.CaseClosed {
		// Closed meanwhile: the detail is not kept on a case no one follows.
		return []intake.Reply{e.message("contact_case_closed", map[string]any{"CaseID": caseID})}, true, nil
	}
	if err := e.setContact(ctx, log, p, c, intake.Contact{Method: cr.method, Detail: cr.detail, BestTime: c.Contact.BestTime}); err != nil {
		return nil, true, err
	}
	out := []intake.Reply{e.message("contact_saved", map[string]any{"CaseID": c.ID, "ContactMethod": ContactLabel(e.script, cr.method), "Detail": cr.detail})}
	return append(out, e.pendingQuestion(ctx, log, p)...), true, nil
}

// setContact puts a contact on the patient's open case c: the case merges
// it (its card is updated), and the change is audited and named on the
// card's last-action line, without the detail.
func (e *Engine) setContact(ctx context.Context, log *slog.Logger, p intake.Patient, c intake.Case, ct intake.Contact) error {
	// A merge into the open case keeps its priority, outcome and flags.
	if _, err := e.store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: c.Outcome, Priority: c.Priority, Contact: ct, ScriptVersion: c.ScriptVersion}); err != nil {
		return err
	}
	entry := intake.CaseActionEntry{CaseID: c.ID, Actor: "patient:" + p.ID, Action: "case.contact", Result: "ok: " + ct.Method,
		LastAction: "The patient gave " + article(methodNoun(ct.Method)) + " (see Details)"}
	if _, err := e.store.CaseAction(ctx, entry); err != nil {
		log.Error("audit contact", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	log.Info("contact added to case", slog.String("case_id", c.ID), slog.String("method", ct.Method))
	return nil
}

func methodNoun(method string) string {
	switch method {
	case MethodPhone:
		return "phone number"
	case MethodEmail:
		return "email address"
	}
	return "contact detail"
}

// pendingKind is the kind of the screening question waiting for an answer
// ("" when none).
func (e *Engine) pendingKind(sess intake.Session) string {
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Question == nil {
		return ""
	}
	return step.Question.Kind
}

// mismatch checks a contact detail against the method chosen: an email
// address for "Phone call" (or a phone number for "Email") is held, and
// the patient is asked whether the care team should use it that way.
func (e *Engine) mismatch(p intake.Patient, sess intake.Session, q *screening.Question, a intake.Answer) ([]intake.Reply, bool) {
	cf := e.script.CaseFields
	if q.ID != cf.ContactDetail {
		return nil, false
	}
	chosen, typed := sess.Answers[cf.ContactMethod].Choice, detailKind(a.Text)
	if typed == "" || chosen == typed || (chosen != MethodPhone && chosen != MethodEmail) {
		return nil, false
	}
	e.contacts.askSwitch(p.ID, pendingSwitch{question: q.ID, method: typed, detail: a.Text})
	data := map[string]any{"ContactMethod": ContactLabel(e.script, chosen), "Detail": a.Text, "Kind": article(methodNoun(typed)), "Switch": ContactLabel(e.script, typed)}
	return []intake.Reply{{Kind: intake.ReplyQuestion, QuestionID: ContactSwitchQuestionID, Text: e.msgs.Render("contact_switch", data),
		Choices: []intake.Choice{{ID: CheckYes, Label: "Yes"}, {ID: CheckNo, Label: "No"}}}}, true
}

// switchStep takes the answer to ContactSwitchQuestionID: yes changes the
// method to the detail's kind and keeps the detail; no asks for the detail
// again. Anything else typed is an answer to the contact question as usual.
func (e *Engine) switchStep(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn) ([]intake.Reply, bool, error) {
	answer := ""
	switch {
	case t.QuestionID == ContactSwitchQuestionID && len(t.ChoiceIDs) == 1:
		answer = t.ChoiceIDs[0]
	case t.QuestionID == "":
		answer = plainYesNo(t.Text)
	default:
		return nil, false, nil
	}
	sw, ok := e.contacts.takeSwitch(p.ID)
	if !ok {
		if t.QuestionID == ContactSwitchQuestionID {
			return []intake.Reply{e.notice("stale_answer")}, true, nil
		}
		return nil, false, nil
	}
	if answer == "" {
		return nil, false, nil // typed again: read as the contact answer
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if intake.ErrorCode(err) == intake.ENOTFOUND {
		return []intake.Reply{e.notice("stale_answer")}, true, nil
	} else if err != nil {
		return nil, true, err
	}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if sess.Paused || step.Question == nil || step.Question.ID != sw.question {
		return []intake.Reply{e.notice("stale_answer")}, true, nil
	}
	cf := e.script.CaseFields
	if answer == CheckNo {
		return []intake.Reply{e.message("contact_switch_no", map[string]any{"ContactMethod": e.contactLabel(sess.Answers), "Kind": methodNoun(sess.Answers[cf.ContactMethod].Choice)}), e.question(p.Channel, step, false)}, true, nil
	}
	method := intake.Answer{QuestionID: cf.ContactMethod, Choice: sw.method, At: e.now()}
	if mq := e.script.Question(cf.ContactMethod); mq == nil || mq.Option(sw.method) == nil {
		return []intake.Reply{e.question(p.Channel, step, false)}, true, nil
	}
	if err := e.store.SaveAnswer(ctx, sess.ID, sess.Version, method); intake.ErrorCode(err) == intake.ECONFLICT {
		r, err := e.moved(ctx, log, p, race{})
		return r, true, err
	} else if err != nil {
		return nil, true, err
	}
	sess.Version++
	sess.Answers[cf.ContactMethod] = method
	log.Info("contact method changed to match the detail", slog.String("session_id", sess.ID))
	r, err := e.answer(ctx, log, p, sess, intake.Turn{Channel: t.Channel, UserID: t.UserID, Text: sw.detail, At: t.At}, &said{text: sw.detail})
	return r, true, err
}

// plainYesNo reads a plain typed yes or no ("" for anything else).
func plainYesNo(text string) string {
	switch strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!")) {
	case "1", "y", "yes", "yeah", "yep", "yes please", "sure", "ok", "okay":
		return CheckYes
	case "2", "n", "no", "nope", "nah", "no thanks":
		return CheckNo
	}
	return ""
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
