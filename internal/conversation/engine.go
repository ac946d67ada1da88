// Package conversation is intakebot's platform-neutral engine: one Turn in,
// replies out. It runs the crisis scan before anything else, then commands,
// then the screening (consent gate, answers validated and persisted before the
// reply, outcomes and cases). Adapters (terminal, Discord) only translate.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package conversation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakebot/intakebot/internal/clinic"
	"github.com/intakebot/intakebot/internal/content"
	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/internal/screening"
)

// FlagCrisisLanguage is added to every case opened because of crisis language.
const FlagCrisisLanguage = "crisis_language"

// FlagScreeningIncomplete marks a case opened from a screening the patient
// stopped before the end.
const FlagScreeningIncomplete = "screening_incomplete"

// OutcomeUrgent is the outcome of a case opened for crisis language.
const OutcomeUrgent = "urgent"

// Config holds what an Engine needs.
type Config struct {
	Store    intake.Store
	Script   *screening.Script
	Safety   *safety.Detector
	Messages *clinic.Messages
	// FAQ answers questions; nil means no knowledge base (every question is
	// "unknown" and offered to staff).
	FAQ   *faq.Index
	FAQKB *faq.KB
	// Model, when set, rephrases approved answers; nil means offline.
	Model Model
	// RiskModel, when set, gives a second opinion on messages the rules and
	// the classifier did not flag; it can only raise them to a check.
	RiskModel RiskModel
	// Chooser, when set, picks which of the top retrieved entries answers
	// a question; nil means retrieval's own choice.
	Chooser Chooser
	Logger  *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now
	// Relay passes a patient's messages to staff while their case is open
	// (the Discord adapter posts them in the case thread); nil means no
	// relay (the terminal).
	Relay Relayer
}

// Relayer passes a patient's message to the staff following their case.
type Relayer interface {
	Relay(ctx context.Context, c intake.Case, text string) error
}

// Engine handles turns. It is safe for concurrent use across patients; turns
// of one patient should be handled in order.
type Engine struct {
	store   intake.Store
	script  *screening.Script
	safety  *safety.Detector
	msgs    *clinic.Messages
	faq     *faq.Index
	faqKB   *faq.KB
	model   Model
	risk    RiskModel
	chooser Chooser
	log     *slog.Logger
	now     func() time.Time
	relay   Relayer
	// memory adds up each patient's risk cues over their recent messages;
	// checks remembers the direct safety questions asked.
	memory *safety.Memory
	checks checks
	// clarify remembers the last "Did you mean…" asked of each patient.
	clarify clarifies
	// contacts remembers the contact questions asked outside the script.
	contacts contactAsks
}

// New checks that the content fits together (every outcome's message exists,
// every question's text renders) and returns an engine.
func New(cfg Config) (*Engine, error) {
	e := &Engine{store: cfg.Store, script: cfg.Script, safety: cfg.Safety, msgs: cfg.Messages, faq: cfg.FAQ, faqKB: cfg.FAQKB, model: cfg.Model, risk: cfg.RiskModel, chooser: cfg.Chooser, log: cfg.Logger, now: cfg.Now, relay: cfg.Relay}
	if e.model != nil && e.faqKB == nil {
		return nil, errors.New("a model needs the knowledge base (FAQKB)")
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.safety != nil {
		e.memory = e.safety.NewMemory()
	}
	if err := CheckContent(cfg.Script, cfg.Messages); err != nil {
		return nil, err
	}
	return e, nil
}

// CheckContent reports what does not fit between the script and the messages.
func CheckContent(s *screening.Script, m *clinic.Messages) error {
	var ps content.Problems
	for _, o := range s.Outcomes {
		if o.Message == "" {
			ps = append(ps, content.Problem{File: s.File, Msg: fmt.Sprintf("outcome %q has no message", o.Outcome)})
		} else if p := m.Check(o.Message, fmt.Sprintf("outcome %q in %s", o.Outcome, s.File)); p != nil {
			ps = append(ps, *p)
		}
	}
	for _, r := range intake.CloseReasons {
		if r.Notice == "" {
			continue
		}
		if p := m.Check(r.Notice, fmt.Sprintf("close reason %q", r.ID)); p != nil {
			ps = append(ps, *p)
		}
	}
	for _, q := range s.Questions {
		if q.AfterAnswer != "" {
			if p := m.Check(q.AfterAnswer, fmt.Sprintf("question %q after_answer in %s", q.ID, s.File)); p != nil {
				ps = append(ps, *p)
			}
		}
		srcs := []string{q.Preface, q.Text}
		if in := s.InstrumentOf(q.ID); in != nil {
			srcs = append(srcs, in.Stem)
		}
		for _, src := range srcs {
			if _, err := m.Text(src); err != nil {
				ps = append(ps, content.Problem{File: s.File, Msg: fmt.Sprintf("question %q: text does not render: %v", q.ID, err)})
			}
		}
	}
	return ps.Err()
}

// Handle processes one turn and returns the replies in the order they should
// be shown. Everything the turn changes is persisted before Handle returns.
// No reply carries a control or bidi-override character, whatever the
// patient typed and a reply quotes.
func (e *Engine) Handle(ctx context.Context, t intake.Turn) ([]intake.Reply, error) {
	replies, err := e.turn(ctx, t)
	for i := range replies {
		replies[i].Text = intake.CleanText(replies[i].Text)
	}
	return replies, err
}

func (e *Engine) turn(ctx context.Context, t intake.Turn) ([]intake.Reply, error) {
	p, err := e.store.Patient(ctx, t.Channel, t.UserID)
	if err != nil {
		return nil, fmt.Errorf("patient: %w", err)
	}
	log := e.log.With(slog.String("patient_id", p.ID))

	// One limit for every channel. Text over it is not taken, but it is
	// still read for risk first (as much of it as a scan needs, so a huge
	// message costs no more than a long one).
	tooLong := utf8.RuneCountInString(t.Text) > intake.MaxTextLength
	if tooLong {
		t.Text = clipRunes(t.Text, maxScanRunes)
	}

	// 0. The text is read once.
	rd := e.read(ctx, log, p, t)
	// 1. Safety first, on every piece of free text, whatever state we are in.
	if out, ok, err := e.riskStep(ctx, log, p, t, rd); ok {
		if tooLong && err == nil {
			// The risk reply comes first; the limit is still said, before
			// any question the risk step asks.
			out = insertBeforeQuestion(out, e.message("too_long", map[string]any{"Limit": intake.MaxTextLength}))
		}
		return out, err
	}
	if tooLong {
		var out []intake.Reply
		if p.New {
			out = append(out, e.welcome("welcome"))
		}
		log.Info("message refused: too long")
		return append(out, e.message("too_long", map[string]any{"Limit": intake.MaxTextLength})), nil
	}
	out, err := e.handle(ctx, log, p, t, rd.said)
	// A question about suicide or overdose as a topic is answered as any
	// question is, with the resources in one line.
	if err == nil && rd.risk.Level == safety.LevelTopic {
		out = e.withTopicLine(out)
	}
	return out, err
}

// insertBeforeQuestion puts r before the first question of out, or at its
// end.
func insertBeforeQuestion(out []intake.Reply, r intake.Reply) []intake.Reply {
	for i, x := range out {
		if x.Kind == intake.ReplyQuestion {
			return append(out[:i:i], append([]intake.Reply{r}, out[i:]...)...)
		}
	}
	return append(out, r)
}

// withTopicLine adds the resources line after the answer, before the
// screening question is asked again.
func (e *Engine) withTopicLine(out []intake.Reply) []intake.Reply {
	at := len(out)
	back := e.msgs.Render("back_to_screening", nil)
	for i, r := range out {
		if r.Kind == intake.ReplyQuestion || r.Text == back {
			at = i
			break
		}
	}
	line := e.message("topic_resources", nil)
	return append(out[:at:at], append([]intake.Reply{line}, out[at:]...)...)
}

// handle is a turn with no risk in it: commands, the relay, the screening,
// questions.
func (e *Engine) handle(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, s *said) ([]intake.Reply, error) {
	var out []intake.Reply
	if p.New {
		out = append(out, e.welcome("welcome"))
	}

	// 2. Commands.
	if cmd, ok := command(t.Text); ok {
		e.clarify.forget(p.ID)
		e.contacts.forget(p.ID)
		r, err := e.command(ctx, log, p, cmd, strings.Fields(strings.ToLower(t.Text))[1:])
		return append(out, r...), err
	}
	// The answer to a pending "Did you mean…".
	if r, ok := e.clarifyStep(ctx, log, p, t); ok {
		return append(out, r...), nil
	}
	// The answer to a contact question asked outside the script.
	if r, ok, err := e.contactStep(ctx, log, p, t); ok || err != nil {
		return append(out, r...), err
	}
	if r, ok, err := e.switchStep(ctx, log, p, t); ok || err != nil {
		return append(out, r...), err
	}

	sess, err := e.store.ActiveSession(ctx, p.ID)
	active := err == nil
	if err != nil && intake.ErrorCode(err) != intake.ENOTFOUND {
		return nil, fmt.Errorf("session: %w", err)
	}
	// A free-text screening question takes what is typed as its answer
	// (validated), not as a request or a question for the knowledge base.
	textPending := active && !sess.Paused && e.pendingKind(sess) == screening.KindText

	// 3. A patient whose case is open is in touch with the care team: what
	// they write (unless the knowledge base answers it) reaches staff, unless
	// a screening is waiting for an answer.
	if !active || sess.Paused {
		if r, ok, err := e.relayTurn(ctx, log, p, t, s); ok || err != nil {
			return append(out, r...), err
		}
	}

	// 4. The screening, when one is in progress; otherwise questions.
	if t.QuestionID == "" && !textPending && IsStaffRequest(t.Text) {
		r, err := e.staffTurn(ctx, log, p)
		return append(out, r...), err
	}
	switch {
	case !active:
		if t.QuestionID != "" {
			return append(out, e.notice("stale_answer")), nil
		}
		if t.ShownQuestion != "" && !looksLikeQuestion(t.Text) {
			// An answer to a screening that ended elsewhere ("yes" must not
			// start a new one).
			return append(out, e.message("screening_ended_elsewhere", nil)), nil
		}
		if startWords[strings.ToLower(strings.Trim(strings.TrimSpace(t.Text), ".!"))] {
			r, err := e.start(ctx, log, p, "screening_start")
			return append(out, r...), err
		}
		if strings.TrimSpace(t.Text) == "" || isGreeting(t.Text) {
			if p.New {
				return out, nil
			}
			return append(out, e.welcome("idle")), nil
		}
		return append(out, e.replyTo(p, t.Text, e.respond(ctx, log, s))), nil
	}
	if sess.Paused && t.QuestionID == "" {
		if isGreeting(t.Text) {
			// Greeted with the pause already (Greet, the crisis reply): a
			// hello gets what can be done now, not the same notice again.
			return append(out, e.welcome("idle")), nil
		}
		if startWords[strings.ToLower(strings.Trim(strings.TrimSpace(t.Text), ".!"))] {
			// "yes", as the welcome invites: continue where it stopped.
			r, err := e.command(ctx, log, p, "/screen", nil)
			return append(out, r...), err
		}
		a := e.respond(ctx, log, s)
		switch a.Kind {
		case KindOffTopic, KindUnknown:
			return append(out, e.pausedNotice(sess)), nil
		case KindClarify:
			return append(out, e.replyTo(p, t.Text, a)), nil
		}
		return append(out, e.answerReply(a), e.pausedNotice(sess)), nil
	}
	r, err := e.answer(ctx, log, p, sess, t, s)
	return append(out, r...), err
}

// relayCrisis passes crisis language into the open case's thread, after
// the crisis reply (which never waits on it) and the urgent case.
func (e *Engine) relayCrisis(ctx context.Context, log *slog.Logger, p intake.Patient, text string) {
	if e.relay == nil || strings.TrimSpace(text) == "" {
		return
	}
	c, ok := e.openCaseOf(ctx, p.ID)
	if !ok || c.CardMessageID == "" {
		return
	}
	e.relayAndAudit(ctx, log, p, c, text, ": crisis", "")
}

// openCaseOf returns the patient's case that is not closed.
func (e *Engine) openCaseOf(ctx context.Context, patientID string) (intake.Case, bool) {
	cases, err := e.store.Cases(ctx, intake.CaseFilter{PatientID: patientID})
	if err != nil {
		return intake.Case{}, false
	}
	for _, c := range cases {
		if c.Status != intake.CaseClosed {
			return c, true
		}
	}
	return intake.Case{}, false
}

// relayTurn passes free text to staff when the patient has an open case (the
// caller checks no screening is waiting for an answer); a question the
// knowledge base answers is answered instead. ok reports whether the turn
// was handled.
func (e *Engine) relayTurn(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, s *said) ([]intake.Reply, bool, error) {
	if e.relay == nil || t.QuestionID != "" || strings.TrimSpace(t.Text) == "" {
		return nil, false, nil
	}
	c, ok := e.openCaseOf(ctx, p.ID)
	if !ok {
		return nil, false, nil
	}
	// Only a question is tried on the knowledge base: a statement such as
	// "3pm works for me" is for the care team, whatever words it shares
	// with an entry.
	if looksLikeQuestion(t.Text) {
		if a := e.respond(ctx, log, s); a.Kind == KindAnswer {
			return []intake.Reply{e.answerReply(a)}, true, nil
		}
	}
	if !e.relayAndAudit(ctx, log, p, c, t.Text, "", "The patient wrote (see the thread)") {
		return []intake.Reply{e.message("relay_failed", nil)}, true, nil
	}
	log.Info("patient message relayed", slog.String("case_id", c.ID))
	return []intake.Reply{e.message("relayed", map[string]any{"CaseID": c.ID})}, true, nil
}

// relayAndAudit passes text into c's thread and audits it ("ok" or
// "failed", plus note); lastAction goes on the card when it was passed on.
// It reports whether it was.
func (e *Engine) relayAndAudit(ctx context.Context, log *slog.Logger, p intake.Patient, c intake.Case, text, note, lastAction string) bool {
	entry := intake.CaseActionEntry{CaseID: c.ID, Actor: "patient:" + p.ID, Action: "case.relay", Result: "ok" + note, LastAction: lastAction}
	// Received text reaches staff without control or bidi-override
	// characters.
	err := e.relay.Relay(ctx, c, intake.CleanText(text))
	if err != nil {
		log.Warn("relay failed", slog.String("case_id", c.ID), slog.Any("err", err))
		entry.Result, entry.LastAction = "failed"+note, ""
	}
	if _, aerr := e.store.CaseAction(ctx, entry); aerr != nil {
		log.Error("audit relay", slog.String("case_id", c.ID), slog.Any("err", aerr))
	}
	return err == nil
}

// SweepAbandoned looks at screenings left mid-way for longer than idle. One
// whose answers so far already call for high priority or above (an ASQ
// "yes", PHQ-9 item 9) opens a case flagged as stopped, as /cancel would: a
// patient who walks away after a safety answer still reaches staff. The
// screening stays where it was, so the patient can still finish it. Each
// silence is looked at once. It returns how many cases were opened.
func (e *Engine) SweepAbandoned(ctx context.Context, idle time.Duration) (int, error) {
	idleSessions, err := e.store.IdleSessions(ctx, e.now().Add(-idle))
	if err != nil {
		return 0, err
	}
	opened := 0
	for _, s := range idleSessions {
		sess, err := e.store.ActiveSession(ctx, s.PatientID)
		if intake.ErrorCode(err) == intake.ENOTFOUND || (err == nil && sess.ID != s.ID) {
			continue // ended or restarted meanwhile
		} else if err != nil {
			return opened, err
		}
		res := e.script.Evaluate(sess.Answers, sess.CrisisLanguage)
		if res.ProvisionalPriority.Rank() >= intake.PriorityHigh.Rank() {
			c := e.caseFor(intake.Patient{ID: sess.PatientID}, sess, res, res.Provisional, res.ProvisionalPriority)
			c.Flags = append(c.Flags, FlagScreeningIncomplete)
			stored, err := e.store.OpenCase(ctx, c)
			if err != nil {
				return opened, fmt.Errorf("open case: %w", err)
			}
			opened++
			e.log.Info("case opened for an abandoned screening", slog.String("patient_id", sess.PatientID), slog.String("case_id", stored.ID),
				slog.String("priority", string(stored.Priority)))
		}
		// Marked after the case, so a crash in between repeats the check
		// (the case merges) rather than losing it.
		if err := e.store.MarkSwept(ctx, sess.ID, s.UpdatedAt); err != nil {
			return opened, err
		}
	}
	return opened, nil
}

// privacy tells the patient what is held about them.
func (e *Engine) privacy(ctx context.Context, p intake.Patient) ([]intake.Reply, error) {
	sum, err := e.store.PatientSummary(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	return []intake.Reply{e.message("privacy", map[string]any{
		"Sessions": sum.Sessions, "Answers": sum.Answers, "Pending": sum.Pending, "Cases": strings.Join(sum.Cases, ", "),
		"WhereAnswersGo": e.whereAnswersGo(p.Channel),
	})}, nil
}

// forget erases the patient's answers and contact details once confirmed;
// staff on any open case are told the patient withdrew.
func (e *Engine) forget(ctx context.Context, log *slog.Logger, p intake.Patient, confirmed bool) ([]intake.Reply, error) {
	sum, err := e.store.PatientSummary(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	data := map[string]any{"Cases": strings.Join(sum.Cases, ", ")}
	if !confirmed {
		return []intake.Reply{e.message("forget_confirm", data)}, nil
	}
	cases, err := e.store.ForgetPatient(ctx, p.ID, "patient:"+p.ID)
	if err != nil {
		return nil, fmt.Errorf("forget: %w", err)
	}
	e.memory.Forget(p.ID)
	e.checks.forget(p.ID)
	e.clarify.forget(p.ID)
	log.Info("patient data erased", slog.Int("cases", len(cases)))
	return []intake.Reply{e.message("forgotten", data)}, nil
}

// staffTurn handles a request for a person, from anywhere: a screening in
// progress then goes on where it was.
func (e *Engine) staffTurn(ctx context.Context, log *slog.Logger, p intake.Patient) ([]intake.Reply, error) {
	out, err := e.requestStaff(ctx, log, p)
	if err != nil {
		return out, err
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	switch {
	case intake.ErrorCode(err) == intake.ENOTFOUND:
		return out, nil
	case err != nil:
		return out, err
	case out[len(out)-1].QuestionID == ContactQuestionID:
		// The contact question is the last thing asked; the screening
		// question (or the pause) comes back once it is answered or skipped.
		return out, nil
	case sess.Paused:
		return append(out, e.pausedNotice(sess)), nil
	}
	out = append(out, e.message("back_to_screening", nil))
	q, err := e.advance(ctx, log, p, sess, false)
	return append(out, q...), err
}

func (e *Engine) answerReply(a Answer) intake.Reply {
	return intake.Reply{Kind: intake.ReplyMessage, Text: a.Text}
}

// startWords start the screening when none is in progress: the welcome
// invites the patient to begin, and "yes" is how many people will answer.
var startWords = map[string]bool{
	"yes": true, "y": true, "yeah": true, "yep": true, "sure": true, "ok": true, "okay": true,
	"start": true, "begin": true, "screen": true, "screening": true, "start screening": true,
	"start the screening": true, "lets start": true, "let's start": true, "go": true,
}

// isGreeting recognises a hello, which deserves the welcome hint rather than
// an "I can only help with..." scope statement.
func isGreeting(text string) bool {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!?,:) "))
	switch t {
	case "hi", "hello", "hey", "hiya", "howdy", "yo", "good morning", "good afternoon", "good evening",
		"hi there", "hello there", "hey there", "greetings", "start over", "menu":
		return true
	}
	return false
}

func command(text string) (string, bool) {
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "/") {
		return "", false
	}
	f := strings.Fields(strings.ToLower(text))
	return f[0], true
}

func (e *Engine) command(ctx context.Context, log *slog.Logger, p intake.Patient, cmd string, args []string) ([]intake.Reply, error) {
	switch cmd {
	case "/privacy":
		return e.privacy(ctx, p)
	case "/forget-me", "/forgetme", "/delete-me":
		return e.forget(ctx, log, p, len(args) > 0 && args[0] == "confirm")
	case "/help", "/start":
		return []intake.Reply{e.message("help", nil)}, nil
	case "/screen", "/screening", "/continue", "/resume":
		sess, err := e.store.ActiveSession(ctx, p.ID)
		switch {
		case intake.ErrorCode(err) == intake.ENOTFOUND:
			return e.start(ctx, log, p, "screening_start")
		case err != nil:
			return nil, err
		}
		if sess.Paused {
			if err := e.store.SetPaused(ctx, sess.ID, intake.PauseNone); err != nil {
				return nil, err
			}
			sess.Paused, sess.PauseReason = false, intake.PauseNone
			sess.Version++
		}
		out := []intake.Reply{e.message("screening_resume", nil)}
		r, err := e.advance(ctx, log, p, sess, true)
		return append(out, r...), err
	case "/restart":
		return e.start(ctx, log, p, "screening_restart")
	case "/cancel", "/stop":
		return e.cancel(ctx, log, p)
	case "/staff", "/human", "/contact":
		return e.staffTurn(ctx, log, p)
	}
	return []intake.Reply{e.message("unknown_command", map[string]any{"Command": cmd})}, nil
}

func (e *Engine) start(ctx context.Context, log *slog.Logger, p intake.Patient, msg string) ([]intake.Reply, error) {
	sess := intake.Session{ID: newID("s_"), PatientID: p.ID, ScriptVersion: e.script.Version, Status: intake.SessionActive, Answers: map[string]intake.Answer{}}
	if err := e.store.StartSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("start session: %w", err)
	}
	log.Info("screening started", slog.String("session_id", sess.ID), slog.String("script_version", sess.ScriptVersion))
	out := []intake.Reply{e.message(msg, nil)}
	r, err := e.advance(ctx, log, p, sess, true)
	return append(out, r...), err
}

// cancel pauses the screening and keeps the answers. If the answers so far
// already call for staff at high priority or above (a positive suicide-screen
// item, say), a case is opened so stopping early never hides a safety answer.
func (e *Engine) cancel(ctx context.Context, log *slog.Logger, p intake.Patient) ([]intake.Reply, error) {
	sess, err := e.store.ActiveSession(ctx, p.ID)
	if intake.ErrorCode(err) == intake.ENOTFOUND {
		return []intake.Reply{e.message("no_screening", nil)}, nil
	} else if err != nil {
		return nil, err
	}
	if err := e.store.SetPaused(ctx, sess.ID, intake.PauseStopped); err != nil {
		return nil, err
	}
	res := e.script.Evaluate(sess.Answers, sess.CrisisLanguage)
	if res.ProvisionalPriority.Rank() >= intake.PriorityHigh.Rank() {
		c := e.caseFor(p, sess, res, res.Provisional, res.ProvisionalPriority)
		c.Flags = append(c.Flags, FlagScreeningIncomplete)
		if !reachable(c.Contact) {
			c.Contact = e.knownContact(ctx, p, nil)
		}
		stored, err := e.store.OpenCase(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("open case: %w", err)
		}
		log.Info("case opened for stopped screening", slog.String("case_id", stored.ID), slog.String("priority", string(stored.Priority)))
		log.Info("screening paused by patient", slog.String("session_id", sess.ID))
		// The full resources, then how the care team can reach them.
		out := []intake.Reply{e.message("screening_cancelled_safety", map[string]any{"CaseID": stored.ID})}
		return append(out, e.askContact(p, stored)...), nil
	}
	log.Info("screening paused by patient", slog.String("session_id", sess.ID))
	return []intake.Reply{e.message("screening_cancelled", nil)}, nil
}

// crisis answers crisis language: resources first, an urgent case, and the
// screening paused. The text is never logged; the rule id is.
func (e *Engine) crisis(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn, r safety.Risk) ([]intake.Reply, error) {
	log.Warn("crisis language detected", slog.String("level", r.Level.String()), slog.String("construct", r.Construct), slog.String("rule", r.Rule))
	c := intake.Case{PatientID: p.ID, Outcome: OutcomeUrgent, Priority: intake.PriorityUrgent, Flags: []string{FlagCrisisLanguage}, ScriptVersion: e.script.Version}
	if r.Level == safety.LevelEmergency {
		c.Flags = append(c.Flags, FlagOverdose)
	}
	e.markRisk(p.ID, &c)
	sess, err := e.store.ActiveSession(ctx, p.ID)
	active := err == nil
	if err != nil && intake.ErrorCode(err) != intake.ENOTFOUND {
		log.Error("read session during crisis", slog.Any("err", err))
	}
	if active {
		c.Contact = e.knownContact(ctx, p, &sess)
		c.Answers = e.caseAnswers(sess)
	} else {
		c.Contact = e.knownContact(ctx, p, nil)
	}
	// What they wrote goes on the case, sealed, for the staff member who
	// calls them (Details only).
	if text := strings.TrimSpace(intake.CleanText(t.Text)); text != "" {
		c.Said = []intake.Said{{At: e.now(), Text: text}}
	}
	if active {
		c.SessionID = sess.ID
		// A free-text answer that also holds crisis language is kept: the
		// care team should read it.
		if step := e.script.Next(sess.Answers, true); step.Question != nil && step.Question.Kind == screening.KindText && !sess.Paused {
			if a, err := step.Question.ParseText(t.Text, e.now()); err == nil {
				if err := e.store.SaveAnswer(ctx, sess.ID, sess.Version, a); err != nil {
					log.Error("save answer during crisis", slog.Any("err", err))
				}
			}
		}
		if err := e.store.SetPaused(ctx, sess.ID, intake.PauseCrisis); err != nil {
			log.Error("pause session during crisis", slog.Any("err", err))
		}
	}
	key := "crisis"
	if r.Level == safety.LevelEmergency {
		key = "emergency"
	}
	out := []intake.Reply{{Kind: intake.ReplyCrisis, Text: e.msgs.Render(key, nil)}}
	// The crisis message is already in out: a failing store must not hold it
	// back, but the caller must know the case was not written.
	stored, err := e.store.OpenCase(ctx, c)
	if err != nil {
		return out, fmt.Errorf("open urgent case: %w", err)
	}
	log.Info("urgent case opened", slog.String("case_id", stored.ID))
	if active && !sess.Paused {
		// Said once: a screening already paused is not paused again.
		out = append(out, e.message("crisis_pause_offer", nil))
	}
	// After the resources, never before: how the care team can reach them.
	return append(out, e.askContact(p, stored)...), nil
}

// answer validates a turn as the answer to the pending question, persists it
// and moves on.
func (e *Engine) answer(ctx context.Context, log *slog.Logger, p intake.Patient, sess intake.Session, t intake.Turn, s *said) ([]intake.Reply, error) {
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Result != nil {
		// Every answer was saved but the session did not end (a crash between
		// the two transactions): end it now.
		return e.finish(ctx, log, p, sess, step.Result)
	}
	q := step.Question
	// A hello while a question is pending (after a restart, or days later)
	// gets the pending question again, not "that isn't one of the options".
	if t.QuestionID == "" && q.Kind != screening.KindText && isGreeting(t.Text) {
		return []intake.Reply{e.message("screening_resume", nil), e.question(p.Channel, step, true)}, nil
	}
	if t.QuestionID != "" && t.QuestionID != q.ID {
		return []intake.Reply{e.notice("stale_answer")}, nil
	}
	if t.QuestionID == "" && t.ShownQuestion != "" && t.ShownQuestion != q.ID {
		// Typed against another question (in another window, or before
		// another device answered it): not an answer to this one.
		if looksLikeQuestion(t.Text) {
			if a := e.respond(ctx, log, s); a.Kind == KindAnswer || a.Kind == KindDeflect {
				return []intake.Reply{e.answerReply(a), e.message("back_to_screening", nil), e.question(p.Channel, step, false)}, nil
			}
		}
		return []intake.Reply{e.message("answer_moved_on", nil), e.question(p.Channel, step, false)}, nil
	}
	var a intake.Answer
	var err error
	if t.QuestionID != "" {
		a, err = q.FromChoices(t.ChoiceIDs, e.now())
	} else {
		a, err = q.ParseText(t.Text, e.now())
	}
	// A question typed instead of an answer is answered, then the pending
	// question is asked again. A free-text question takes any text that
	// validates as its answer (notes may be a question for the care team);
	// only text it refuses may be a question the knowledge base answers.
	// Feelings typed instead of an answer get the support reply first.
	if isQuestion := looksLikeQuestion(t.Text); t.QuestionID == "" && err != nil && q.Kind == screening.KindText {
		if isQuestion {
			if a := e.respond(ctx, log, s); a.Kind == KindAnswer || a.Kind == KindDeflect {
				return []intake.Reply{e.answerReply(a), e.message("back_to_screening", nil), e.question(p.Channel, step, false)}, nil
			}
		}
	} else if t.QuestionID == "" && err != nil {
		a := e.respond(ctx, log, s)
		switch {
		case a.Kind == KindSupport || a.Kind == KindSocial || a.Kind == KindDeflect:
			// A request only a clinician may answer needs no question mark
			// ("take adderall day of").
			return []intake.Reply{e.answerReply(a), e.message("back_to_screening", nil), e.question(p.Channel, step, false)}, nil
		case !isQuestion:
		case a.Kind == KindClarify:
			// The screening question comes back once the patient has chosen.
			return []intake.Reply{e.replyTo(p, t.Text, a)}, nil
		case a.Kind == KindAnswer || a.Kind == KindDeflect || (err != nil && a.Kind == KindUnknown):
			return []intake.Reply{e.answerReply(a), e.message("back_to_screening", nil), e.question(p.Channel, step, false)}, nil
		}
	}
	if intake.ErrorCode(err) == intake.EINVALID {
		out := []intake.Reply{e.message("invalid_answer", map[string]any{"Reason": intake.ErrorMessage(err)})}
		return append(out, e.question(p.Channel, step, false)), nil
	} else if err != nil {
		return nil, err
	}
	// A phone number typed after choosing email (or the reverse) is not
	// taken as it stands: the patient is asked which they meant.
	if r, ok := e.mismatch(p, sess, q, a); ok {
		return r, nil
	}
	sess.Answers[q.ID] = a
	next := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if next.Result != nil && next.Result.DiscardAnswers {
		// Declined consent: nothing is stored, not even this answer.
		return e.finishAttempt(ctx, log, p, sess, next.Result, race{clicked: t.QuestionID != ""})
	}
	// Saved only if the session is as it was read, so q is still pending
	// (and resumed if it was paused), in the answer's transaction.
	err = e.store.SaveAnswer(ctx, sess.ID, sess.Version, a)
	if intake.ErrorCode(err) == intake.ECONFLICT {
		return e.moved(ctx, log, p, race{clicked: t.QuestionID != ""})
	} else if err != nil {
		return nil, fmt.Errorf("save answer: %w", err)
	}
	sess.Version++
	if next.Result != nil {
		return e.finishAttempt(ctx, log, p, sess, next.Result, race{clicked: t.QuestionID != ""})
	}
	if q.AfterAnswer != "" {
		return []intake.Reply{e.message(q.AfterAnswer, nil), e.question(p.Channel, next, true)}, nil
	}
	return []intake.Reply{e.question(p.Channel, next, true)}, nil
}

// moved answers a turn that lost a race with another turn of the same
// patient (another window or device, a double click) that changed the
// session after this one read it: nothing of this turn was stored, and the
// patient is shown where the screening now stands.
func (e *Engine) moved(ctx context.Context, log *slog.Logger, p intake.Patient, r race) ([]intake.Reply, error) {
	log.Info("answer refused: the session changed since it was read")
	if r.clicked {
		// A button or menu: its message stays as it was, and the clicker
		// is told privately, as for any stale click.
		return []intake.Reply{e.notice("stale_answer")}, nil
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	switch {
	case intake.ErrorCode(err) == intake.ENOTFOUND:
		return []intake.Reply{e.message("screening_ended_elsewhere", nil)}, nil
	case err != nil:
		return nil, fmt.Errorf("session: %w", err)
	case sess.Paused:
		return []intake.Reply{e.pausedNotice(sess)}, nil
	}
	out := []intake.Reply{e.message("answer_moved_on", nil)}
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Result == nil {
		return append(out, e.question(p.Channel, step, false)), nil
	}
	// Every answer is in but the session is open: the other turn is about
	// to end it, or crashed before it could. Try to end it; losing that
	// race too means it ended.
	if r.lost >= 2 {
		return nil, errors.New("the session keeps changing under this turn")
	}
	r.lost++
	more, err := e.finishAttempt(ctx, log, p, sess, step.Result, r)
	return append(out, more...), err
}

// advance asks the pending question, or ends the screening if nothing is left.
func (e *Engine) advance(ctx context.Context, log *slog.Logger, p intake.Patient, sess intake.Session, preface bool) ([]intake.Reply, error) {
	step := e.script.Next(sess.Answers, sess.CrisisLanguage)
	if step.Result != nil {
		return e.finish(ctx, log, p, sess, step.Result)
	}
	return []intake.Reply{e.question(p.Channel, step, preface)}, nil
}

func (e *Engine) finish(ctx context.Context, log *slog.Logger, p intake.Patient, sess intake.Session, res *screening.Result) ([]intake.Reply, error) {
	return e.finishAttempt(ctx, log, p, sess, res, race{})
}

// race is what a turn knows when it may lose a race with another turn of
// the same patient: whether it is a click, and how many races it lost.
type race struct {
	clicked bool
	lost    int
}

// finishAttempt ends the session; r says how a lost race is answered (see
// moved).
func (e *Engine) finishAttempt(ctx context.Context, log *slog.Logger, p intake.Patient, sess intake.Session, res *screening.Result,
	r race) ([]intake.Reply, error) {
	var c *intake.Case
	if res.Handoff {
		cc := e.caseFor(p, sess, res, res.Outcome, res.Priority)
		if sess.CrisisLanguage {
			cc.Flags = append(cc.Flags, FlagCrisisLanguage)
		}
		c = &cc
	}
	status := intake.SessionCompleted
	if res.Stopped {
		status = intake.SessionStopped
	}
	stored, err := e.store.EndSession(ctx, sess.ID, sess.Version, status, res.Outcome, res.DiscardAnswers, c)
	if intake.ErrorCode(err) == intake.ECONFLICT {
		return e.moved(ctx, log, p, r)
	} else if err != nil {
		return nil, fmt.Errorf("end session: %w", err)
	}
	attrs := []any{slog.String("session_id", sess.ID), slog.String("outcome", res.Outcome)}
	out := intake.Reply{Kind: intake.ReplyOutcome, Outcome: res.Outcome, Priority: res.Priority}
	data := map[string]any{"ContactMethod": e.contactLabel(sess.Answers)}
	if stored != nil {
		out.CaseID = stored.ID
		data["CaseID"] = stored.ID
		attrs = append(attrs, slog.String("case_id", stored.ID), slog.String("priority", string(stored.Priority)))
	}
	log.Info("screening ended", attrs...)
	kind := intake.ReplyMessage
	if res.Priority == intake.PriorityUrgent {
		kind = intake.ReplyCrisis
	}
	return []intake.Reply{{Kind: kind, Text: e.msgs.Render(res.Message, data)}, out}, nil
}

// caseFor builds the case for a screening result.
func (e *Engine) caseFor(p intake.Patient, sess intake.Session, res *screening.Result, outcome string, pr intake.Priority) intake.Case {
	cf := e.script.CaseFields
	c := intake.Case{
		PatientID: p.ID, SessionID: sess.ID, Outcome: outcome, Priority: pr,
		Flags: append([]string(nil), res.Flags...), Scores: res.Scores, ScriptVersion: e.script.Version,
		Contact: intake.Contact{
			Method:   sess.Answers[cf.ContactMethod].Choice,
			Detail:   sess.Answers[cf.ContactDetail].Text,
			BestTime: sess.Answers[cf.BestTime].Choice,
		},
		Notes:   sess.Answers[cf.Notes].Text,
		Answers: e.caseAnswers(sess),
	}
	e.markRisk(p.ID, &c)
	return c
}

// caseAnswers are the answers staff see in Details whatever they are
// (case_fields.answers), as far as the screening went.
func (e *Engine) caseAnswers(sess intake.Session) []intake.CaseAnswer {
	var out []intake.CaseAnswer
	for _, id := range e.script.CaseFields.Answers {
		a, ok := sess.Answers[id]
		q := e.script.Question(id)
		if !ok || q == nil {
			continue
		}
		out = append(out, intake.CaseAnswer{Question: q.StaffLabel(), Answer: q.AnswerLabel(a)})
	}
	return out
}

func (e *Engine) contactLabel(answers map[string]intake.Answer) string {
	return ContactLabel(e.script, answers[e.script.CaseFields.ContactMethod].Choice)
}

// ContactLabel is how a contact method (an option id of the script's
// contact question) reads in a sentence to the patient: "a message here".
func ContactLabel(s *screening.Script, method string) string {
	q := s.Question(s.CaseFields.ContactMethod)
	if q == nil {
		return ""
	}
	if o := q.Option(method); o != nil {
		return strings.ToLower(o.Label)
	}
	return ""
}

// question renders a question reply for a patient on channel. With
// preface, the question's preface and (for an instrument's first item) its
// attribution come first. An instrument item always has its stem, so it is
// shown whole after a side question or a resume as in the flow.
func (e *Engine) question(channel string, step screening.Step, preface bool) intake.Reply {
	q := step.Question
	var parts []string
	if preface {
		if p, _ := e.msgs.Text(q.Preface); p != "" {
			parts = append(parts, p)
		}
	}
	in := e.script.InstrumentOf(q.ID)
	if in != nil && in.Stem != "" {
		stem, _ := e.msgs.Text(in.Stem)
		parts = append(parts, stem)
	}
	text, _ := e.msgs.TextWith(q.Text, map[string]any{"WhereAnswersGo": e.whereAnswersGo(channel)})
	parts = append(parts, text)
	if preface && in != nil && in.Items[0] == q.ID && in.Attribution != "" {
		parts = append(parts, "("+in.Attribution+")")
	}
	r := intake.Reply{
		Kind: intake.ReplyQuestion, QuestionID: q.ID, Text: strings.Join(parts, "\n\n"),
		Multiple: q.Kind == screening.KindMultiple, Optional: q.Optional,
		Step: step.Number, StepsAbout: step.About,
	}
	for _, o := range q.Options {
		r.Choices = append(r.Choices, intake.Choice{ID: o.ID, Label: o.Label})
	}
	return r
}

// welcomeActions are the next steps offered with the welcome.
var welcomeActions = []intake.Choice{{ID: "ask", Label: "Ask a question"}, {ID: "screen", Label: "Start the screening"}, {ID: "staff", Label: "Talk to staff"}}

func (e *Engine) welcome(key string) intake.Reply {
	r := e.message(key, nil)
	r.Actions = welcomeActions
	return r
}

// pausedNotice tells a patient whose screening waits how to go on, in the
// words for why it waits: a gentle "when you feel ready" after crisis
// language, a plain "continue where you left off" after their /cancel.
func (e *Engine) pausedNotice(sess intake.Session) intake.Reply {
	if sess.PauseReason == intake.PauseStopped {
		return e.message("screening_stopped", nil)
	}
	return e.message("screening_paused", nil)
}

// whereAnswersGo says where a patient's answers go and who can read them on
// channel: messages.yaml's where_answers_go_<channel> when there is one
// (Discord keeps a copy of a DM), else where_answers_go.
func (e *Engine) whereAnswersGo(channel string) string {
	if key := "where_answers_go_" + channel; e.msgs.Has(key) {
		return e.msgs.Render(key, nil)
	}
	return e.msgs.Render("where_answers_go", nil)
}

func (e *Engine) notice(key string) intake.Reply {
	return intake.Reply{Kind: intake.ReplyNotice, Text: e.msgs.Render(key, nil)}
}

func (e *Engine) message(key string, data map[string]any) intake.Reply {
	return intake.Reply{Kind: intake.ReplyMessage, Text: e.msgs.Render(key, data)}
}

// maxScanRunes bounds how much of an over-long message is scanned for
// crisis language.
const maxScanRunes = 8 * intake.MaxTextLength

// clipRunes returns s cut to at most n runes.
func clipRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

func newID(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// Greet is what a patient sees when they open the chat: the welcome on first
// contact, or the pending question of a screening in progress.
func (e *Engine) Greet(ctx context.Context, channel, userID string) ([]intake.Reply, error) {
	p, err := e.store.Patient(ctx, channel, userID)
	if err != nil {
		return nil, fmt.Errorf("patient: %w", err)
	}
	sess, err := e.store.ActiveSession(ctx, p.ID)
	switch {
	case intake.ErrorCode(err) == intake.ENOTFOUND:
		return []intake.Reply{e.welcome("welcome")}, nil
	case err != nil:
		return nil, fmt.Errorf("session: %w", err)
	case sess.Paused:
		return []intake.Reply{e.pausedNotice(sess)}, nil
	}
	log := e.log.With(slog.String("patient_id", p.ID))
	out := []intake.Reply{e.message("screening_resume", nil)}
	r, err := e.advance(ctx, log, p, sess, true)
	return append(out, r...), err
}
