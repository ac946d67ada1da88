package conversation

import (
	"context"
	"log/slog"
	"strings"
	"sync"

	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/internal/screening"
)

// CheckQuestionID is the id of the direct question the bot asks when it is
// unsure about a patient's safety. It is not part of the screening script:
// asking it never moves the patient's place in the screening.
const CheckQuestionID = "risk_check"

// Check choices.
const (
	CheckYes = "yes"
	CheckNo  = "no"
)

// FlagRiskChecked marks a case whose patient was asked the direct safety
// question and answered no.
const FlagRiskChecked = "risk_checked"

// FlagOverdose marks a case opened for an overdose or injury in progress.
const FlagOverdose = "overdose_in_progress"

// reading is what the engine knows of a turn's text, read once.
type reading struct {
	risk safety.Risk
	// said is the rest of what the text reads as, worked out when first
	// asked for (see said).
	said *said
	// checkAnswer is "yes" or "no" when the turn answers a pending check
	// (a button, or typed in the terminal); "" otherwise.
	checkAnswer string
}

// checks remembers, per patient, the direct questions asked and the "no"
// answers given. A check is asked again after a restart if the words call
// for it; a "yes" is honoured whether or not a check is remembered.
type checks struct {
	mu sync.Mutex
	// pending (the turn that raised the check, carried on with after a no)
	// and answeredNo are keyed by patient id; mu must be held.
	pending    map[string]intake.Turn
	answeredNo map[string]bool
}

func (c *checks) ask(patientID string, t intake.Turn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending, c.answeredNo = map[string]intake.Turn{}, map[string]bool{}
	}
	c.pending[patientID] = t
}

// take removes the patient's pending check and returns the turn that
// raised it; ok reports whether there was one.
func (c *checks) take(patientID string, no bool) (intake.Turn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.pending[patientID]
	delete(c.pending, patientID)
	switch {
	case no && ok:
		c.answeredNo[patientID] = true
	case !no:
		// The latest answer is what staff see: a yes replaces a no.
		delete(c.answeredNo, patientID)
	}
	return t, ok
}

func (c *checks) isPending(patientID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[patientID]
	return ok
}

func (c *checks) saidNo(patientID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answeredNo[patientID]
}

func (c *checks) forget(patientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, patientID)
	delete(c.answeredNo, patientID)
}

// read reads a turn's text once: its risk (with the patient's recent
// messages), and whether it answers a pending check.
func (e *Engine) read(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn) reading {
	rd := reading{said: &said{text: t.Text}}
	if t.QuestionID == CheckQuestionID {
		if len(t.ChoiceIDs) == 1 && (t.ChoiceIDs[0] == CheckYes || t.ChoiceIDs[0] == CheckNo) {
			rd.checkAnswer = t.ChoiceIDs[0]
		}
		return rd
	}
	if strings.TrimSpace(t.Text) != "" {
		rd.risk = e.memory.Assess(p.ID, t.Text, e.now())
		rd.risk = e.askAboutMedicineCrisis(rd.said, rd.risk)
		if !e.answeringContact(ctx, p) {
			rd.risk = e.secondOpinion(ctx, log, t.Text, rd.risk)
		}
	}
	if t.QuestionID == "" && e.checks.isPending(p.ID) {
		rd.checkAnswer = yesNo(t.Text)
	}
	return rd
}

// answeringContact reports whether the patient's pending screening question
// asks for their contact details, which are never sent to a model.
func (e *Engine) answeringContact(ctx context.Context, p intake.Patient) bool {
	if e.risk == nil {
		return false
	}
	if _, ok := e.contacts.pending(p.ID); ok {
		return true
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if err != nil || sess.Paused {
		return false
	}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	return step.Question != nil && step.Question.ID == e.script.CaseFields.ContactDetail
}

// secondOpinion asks the model, when one is configured, about a message of
// a few words that nothing flagged; a yes raises it to a check. The reading
// stands as it is on a no, a timeout or an error.
func (e *Engine) secondOpinion(ctx context.Context, log *slog.Logger, text string, r safety.Risk) safety.Risk {
	if e.risk == nil || r.Level >= safety.LevelCheck || len(strings.Fields(text)) < 3 {
		return r
	}
	risky, err := e.risk.RiskOpinion(ctx, text)
	if err != nil {
		log.Info("model second opinion unavailable", slog.String("reason", reasonOf(err)))
		return r
	}
	if risky {
		return r.Raise(safety.LevelCheck, "model", "model")
	}
	return r
}

// yesNo reads a typed answer to the check: "yes", "1", "y", "no", "2"...
func yesNo(text string) string {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!"))
	switch s {
	case "1", "y", "yes", "yeah", "yea", "yep", "ya", "yes i am", "i am", "kind of", "sort of", "maybe", "sometimes":
		return CheckYes
	case "2", "n", "no", "nope", "nah", "no i am not", "no im not", "i am not", "im not", "not really", "no thanks", "no thank you":
		return CheckNo
	}
	return ""
}

// riskStep acts on the reading's risk before anything else. ok reports
// that the turn was answered here.
func (e *Engine) riskStep(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, rd reading) ([]intake.Reply, bool, error) {
	level := rd.risk.Level
	// Words that carry risk come first, even while a check is pending.
	if level < safety.LevelCheck && rd.checkAnswer != "" {
		out, err := e.checkAnswered(ctx, log, p, t, rd.checkAnswer)
		return out, true, err
	}
	switch level {
	case safety.LevelEmergency, safety.LevelCrisis:
		out, err := e.crisis(ctx, log, p, t, rd.risk)
		if err == nil {
			// Staff following an open case see what was said, too.
			e.relayCrisis(ctx, log, p, t.Text)
		}
		return out, true, err
	case safety.LevelCheck:
		// The classifier alone does not interrupt a valid answer to the
		// pending screening question ("more than half the days").
		if (rd.risk.Rule == "classifier" || rd.risk.Rule == "model") && e.answersPending(ctx, p, t) {
			return nil, false, nil
		}
		if e.uncuedQuestion(rd.said, rd.risk) {
			return nil, false, nil
		}
		out, err := e.askCheck(ctx, log, p, t, rd)
		return out, true, err
	case safety.LevelOtherPerson:
		// As for a check: the classifier alone, with no word of risk, gives
		// way to a question about someone's care ("my daughter has bipolar
		// 2, should she get this?").
		if e.uncuedQuestion(rd.said, rd.risk) {
			return nil, false, nil
		}
		log.Info("someone else at risk", slog.String("rule", rd.risk.Rule))
		out := []intake.Reply{{Kind: intake.ReplyCrisis, Text: e.msgs.Render("other_person", nil)}}
		out = append(out, e.pendingQuestion(ctx, log, p)...)
		return out, true, nil
	}
	return nil, false, nil
}

// askAboutMedicineCrisis turns a crisis the classifier alone read in a
// request about one's medicines, with no word of risk but the medicine
// ("im thinking of stopping my lithium": lithium is a means as well), into
// the direct question: the patient is asked, with the resources, rather
// than told they are in crisis. Its rule is not "classifier", so it never
// gives way to the deflection unasked (see uncuedQuestion).
func (e *Engine) askAboutMedicineCrisis(s *said, r safety.Risk) safety.Risk {
	if r.Level != safety.LevelCrisis || r.Rule != "classifier" || r.CuedBeyondMedicine() || e.adviceOf(s).Kind == "" {
		return r
	}
	r.Level, r.Rule = safety.LevelCheck, "classifier_medicine"
	return r
}

// uncuedQuestion reports that a check (or someone-else-at-risk reply)
// raised by the classifier alone, with not one word of risk in the text,
// gives way to a reading of what the text is: an ordinary question the knowledge base answers with confidence ("can
// I book a consultation next week?"), or a request about one's medicines or
// condition that only a clinician may answer ("im thinking of stopping my
// lithium"), which is deflected to the care team.
func (e *Engine) uncuedQuestion(s *said, r safety.Risk) bool {
	if r.Rule != "classifier" {
		return false
	}
	// A request about medicines names them; nothing else may carry risk.
	if !r.CuedBeyondMedicine() && e.adviceOf(s).Kind != "" {
		return true
	}
	if e.faq == nil {
		return false
	}
	switch e.verdictOf(s).Kind {
	case faq.KindAnswer:
		return !r.Cued()
	case faq.KindDeflect:
		return !r.CuedBeyondMedicine()
	}
	return false
}

// answersPending reports whether the turn's text is a valid answer to the
// screening question waiting for one.
func (e *Engine) answersPending(ctx context.Context, p intake.Patient, t intake.Turn) bool {
	// The contact question asked after the resources: a phone number or
	// email address is its answer.
	if _, ok := e.contacts.pending(p.ID); ok && t.QuestionID == "" {
		return readContact(t.Text).detail != ""
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if err != nil || sess.Paused {
		return false
	}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	// Free text (notes) is read for risk as any message is; a text answer
	// with a validator (a phone number, an email address) is an answer
	// when it is valid.
	if step.Question == nil || (step.Question.Kind == screening.KindText && step.Question.Validate == "") {
		return false
	}
	_, err = step.Question.ParseText(t.Text, e.now())
	return err == nil
}

// askCheck asks the patient directly, with the resources in the same
// message. The screening stays where it is.
func (e *Engine) askCheck(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, rd reading) ([]intake.Reply, error) {
	r := rd.risk
	log.Info("possible risk: asking directly", slog.String("construct", r.Construct), slog.String("rule", r.Rule))
	e.checks.ask(p.ID, t)
	return []intake.Reply{{
		Kind: intake.ReplyQuestion, QuestionID: CheckQuestionID, Text: e.checkText(rd.said),
		Choices: []intake.Choice{{ID: CheckYes, Label: "Yes"}, {ID: CheckNo, Label: "No"}},
	}}, nil
}

// checkText is the direct question, after a word of acknowledgement when
// the message reads as a statement of feelings ("i feel so alone tonight"):
// the patient is heard before they are asked.
func (e *Engine) checkText(s *said) string {
	q := e.msgs.Render("check_question", nil)
	if e.readsAsFeeling(s) {
		return e.msgs.Render("check_feeling", nil) + "\n" + q
	}
	return q
}

// readsAsFeeling reports whether retrieval reads text as a statement of
// feelings.
func (e *Engine) readsAsFeeling(s *said) bool {
	return e.faq != nil && strings.TrimSpace(s.text) != "" && e.verdictOf(s).Kind == faq.KindFeeling
}

// checkAnswered acts on the answer to the direct question: yes is a
// crisis; no carries on with what the patient was doing: the message that
// raised the check is handled as it would have been (an answer to the
// pending question is saved, a question is answered).
func (e *Engine) checkAnswered(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, answer string) ([]intake.Reply, error) {
	if answer == CheckYes {
		// The message that raised the check is what staff need to read
		// (and, typed at a free-text question, its answer), not the "yes".
		if raised, ok := e.checks.take(p.ID, false); ok && strings.TrimSpace(raised.Text) != "" {
			t.Text = raised.Text
		}
		log.Info("patient answered yes to the direct safety question")
		return e.crisis(ctx, log, p, t, safety.Risk{Level: safety.LevelCrisis, Construct: "check_yes", Rule: "check"})
	}
	raised, ok := e.checks.take(p.ID, true)
	if !ok {
		return []intake.Reply{e.notice("stale_answer")}, nil
	}
	log.Info("patient answered no to the direct safety question")
	out := []intake.Reply{e.message("check_no", nil)}
	if !e.carriesOn(ctx, p, raised) {
		if strings.TrimSpace(raised.Text) != "" {
			// What was said (not an answer, not a question: how the
			// patient feels, most often) still deserves an answer: the
			// support reply, what the clinic can do, then the screening
			// where it was.
			out = append(out, e.message("support_after_check", nil))
		}
		return append(out, e.pendingQuestion(ctx, log, p)...), nil
	}
	rest, err := e.handle(ctx, log, p, raised, &said{text: raised.Text})
	return append(out, rest...), err
}

// carriesOn reports whether the message that raised a check still means
// something once the patient said no: an answer to the pending screening
// question (a free-text one takes any text), a question to answer, or a
// request only a clinician may answer, which needs no question mark ("once
// im done with the infusions can i stop all my antidepressants" had been
// given the support reply).
func (e *Engine) carriesOn(ctx context.Context, p intake.Patient, t intake.Turn) bool {
	asks := func() bool { return looksLikeQuestion(t.Text) || e.isRequest(&said{text: t.Text}) }
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if err != nil || sess.Paused {
		return asks()
	}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Question == nil {
		return false
	}
	if step.Question.Kind == screening.KindText {
		return true
	}
	_, err = step.Question.ParseText(t.Text, e.now())
	return err == nil || asks()
}

// isRequest reports whether s asks what only a clinician may answer: the
// medical-advice patterns match it, or retrieval deflects it.
func (e *Engine) isRequest(s *said) bool {
	if e.adviceOf(s).Kind != "" {
		return true
	}
	return e.faq != nil && e.verdictOf(s).Kind == faq.KindDeflect
}

// pendingQuestion is the screening question waiting for an answer, asked
// again after an interruption; nothing when no screening waits.
func (e *Engine) pendingQuestion(ctx context.Context, log *slog.Logger, p intake.Patient) []intake.Reply {
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if err != nil {
		if intake.ErrorCode(err) != intake.ENOTFOUND {
			log.Error("read session after a safety reply", slog.Any("err", err))
		}
		return nil
	}
	if sess.Paused {
		return nil
	}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Question == nil {
		return nil
	}
	return []intake.Reply{e.message("back_to_screening", nil), e.question(p.Channel, step, false)}
}

// markRisk adds what the engine knows of the patient's safety to a case
// about to be opened.
func (e *Engine) markRisk(patientID string, c *intake.Case) {
	if e.checks.saidNo(patientID) {
		c.Flags = appendFlag(c.Flags, FlagRiskChecked)
	}
}

func appendFlag(flags []string, f string) []string {
	for _, x := range flags {
		if x == f {
			return flags
		}
	}
	return append(flags, f)
}
