package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/internal/screening"
)

// Model rephrases approved passages into an answer (internal/llm implements
// it). It is only ever asked to rephrase: crisis and medical-advice decisions
// are made before it is called, by deterministic code.
type Model interface {
	Answer(ctx context.Context, question string, passages []intake.Passage) (intake.Grounded, error)
}

// Chooser picks which of the retrieved entries answers a question
// (internal/llm implements it): one of the candidates' ids, or "none". Its
// choice is used only when it names a candidate; "none", an error or
// silence leave the offline choice as it is.
type Chooser interface {
	Choose(ctx context.Context, question string, candidates []intake.Passage) (string, error)
}

// chooseAmong is how many retrieved entries a Chooser is offered.
const chooseAmong = 5

// RiskModel gives a second opinion on whether a message may show risk. Its
// yes can only make the bot ask the patient directly (check); its no, its
// silence or its error change nothing.
type RiskModel interface {
	RiskOpinion(ctx context.Context, text string) (bool, error)
}

// Answer kinds, as `intakebot ask --json` reports them.
const (
	KindAnswer   = "answer"
	KindUnknown  = "unknown"
	KindOffTopic = "offtopic"
	KindDeflect  = "deflect"
	KindCrisis   = "crisis"
	// KindEmergency: an overdose or injury in progress (call 911 now).
	KindEmergency = "emergency"
	// KindCheck: possible risk; the patient is asked directly.
	KindCheck = "check"
	// KindOtherPerson: someone else is at risk.
	KindOtherPerson = "other_person"
	// KindClarify: retrieval is unsure; Sources are the two or three
	// candidates the patient is asked to choose from ("Did you mean…").
	KindClarify = "clarify"
	// KindSupport: a statement of feelings (not crisis language) gets a
	// warm acknowledgement, what the clinic can do and the resources, never
	// a knowledge-base entry.
	KindSupport = "support"
	// KindSocial: thanks, a goodbye, "ok": a short reply in kind.
	KindSocial = "social"
)

// Answer is the engine's reply to a free-text question.
type Answer struct {
	Kind    string
	Text    string
	Sources []string // knowledge-base entry ids, best first
	Score   float64  // retrieval confidence of the best entry
	// Advice is the kind of medical-advice request, for deflections.
	Advice string
	// Rephrased is set when a model rephrased the approved text.
	Rephrased bool
}

// OutcomeRequested is the outcome of a case opened because the patient asked
// to talk to staff.
const OutcomeRequested = "requested"

// staffRequest recognises a request to talk to a person. It is routing, not
// clinical content, so it lives here rather than in the clinic's files.
var staffRequest = regexp.MustCompile(`(?i)\b(talk|speak|chat)( to| with) (a |an |some |the |your )?(real |actual |live )?(person|human|someone|somebody|staff|nurse|doctor|clinician|people|team|receptionist)\b` +
	`|\b(call|ring|phone|contact) me( back)?\b|\breal person\b|\bconnect me (to|with)\b|^\s*(human|agent|operator|representative|a person|person)\s*[.!?]*\s*$`)

// IsStaffRequest reports whether text asks for a person.
func IsStaffRequest(text string) bool { return staffRequest.MatchString(text) }

// Ask answers one free-text question with no patient and no session: the
// crisis scan, then medical-advice deflection, then retrieval (and the model,
// when one is configured). Nothing is stored.
func (e *Engine) Ask(ctx context.Context, question string) Answer {
	s := &said{text: question}
	r := e.secondOpinion(ctx, e.log, question, e.askAboutMedicineCrisis(s, e.safety.Assess(question)))
	switch r.Level {
	case safety.LevelEmergency:
		e.log.Warn("emergency language detected", slog.String("construct", r.Construct), slog.String("rule", r.Rule))
		return Answer{Kind: KindEmergency, Text: e.msgs.Render("emergency", nil)}
	case safety.LevelCrisis:
		e.log.Warn("crisis language detected", slog.String("construct", r.Construct), slog.String("rule", r.Rule))
		return Answer{Kind: KindCrisis, Text: e.msgs.Render("crisis_ask", nil)}
	case safety.LevelCheck:
		if !e.uncuedQuestion(s, r) {
			return Answer{Kind: KindCheck, Text: e.checkText(s)}
		}
	case safety.LevelOtherPerson:
		if !e.uncuedQuestion(s, r) {
			return Answer{Kind: KindOtherPerson, Text: e.msgs.Render("other_person", nil)}
		}
	}
	a := e.respond(ctx, e.log, s)
	if r.Level == safety.LevelTopic {
		a.Text += "\n" + e.msgs.Render("topic_resources", nil)
	}
	return a
}

// said is a turn's free text and what it reads as beyond its risk: the
// medical-advice patterns and retrieval's verdict, each worked out at most
// once, when first asked for, however many steps of the turn ask (the
// risk step's check, the answer step, the support after a check).
type said struct {
	text    string
	advice  *safety.AdviceMatch
	verdict *faq.Verdict
}

// adviceOf is what the medical-advice patterns make of s.
func (e *Engine) adviceOf(s *said) safety.AdviceMatch {
	if s.advice == nil {
		a := e.safety.Advice(s.text)
		s.advice = &a
	}
	return *s.advice
}

// verdictOf is retrieval's verdict on s (e.faq is set).
func (e *Engine) verdictOf(s *said) faq.Verdict {
	if s.verdict == nil {
		v := e.faq.Decide(s.text)
		s.verdict = &v
	}
	return *s.verdict
}

// respond answers a question that is not crisis language.
func (e *Engine) respond(ctx context.Context, log *slog.Logger, s *said) Answer {
	question := s.text
	if adv := e.adviceOf(s); adv.Kind != "" {
		log.Info("medical advice deflected", slog.String("rule", adv.Rule))
		return e.deflect(s, adv)
	}
	if e.faq == nil {
		return Answer{Kind: KindUnknown, Text: e.msgs.Render("faq_unknown", nil)}
	}
	v := e.verdictOf(s)
	if v.Kind == faq.KindDeflect {
		// Retrieval's classifier reads a request only a clinician may
		// answer that the patterns missed ("take adderall day of").
		log.Info("medical advice deflected", slog.String("rule", "classifier"))
		return e.deflectRead(v)
	}
	if e.chooser != nil && (v.Kind == faq.KindAnswer || v.Kind == faq.KindClarify) {
		v = e.choose(ctx, log, question, v)
	}
	a := Answer{Kind: v.Kind, Score: v.Score}
	switch v.Kind {
	case faq.KindOffTopic:
		a.Text = e.msgs.Render("faq_offtopic", nil)
		return a
	case faq.KindUnknown:
		a.Text = e.msgs.Render("faq_unknown", nil)
		return a
	case faq.KindSocial:
		a.Kind = KindSocial
		a.Text = e.msgs.Render("social", nil)
		return a
	case faq.KindFeeling:
		log.Info("feelings: support reply")
		a.Kind = KindSupport
		a.Text = e.msgs.Render("support", nil)
		return a
	case faq.KindClarify:
		for _, h := range v.Hits {
			a.Sources = append(a.Sources, h.Entry.ID)
		}
		a.Text = e.clarifyText(v)
		return a
	}
	best := v.Best()
	a.Sources = []string{best.ID}
	a.Text = e.approved(best)
	if e.model != nil {
		if g, ok := e.rephrase(ctx, log, question, v); ok {
			a.Text, a.Sources, a.Rephrased = e.withSources(g), g.Sources, true
		}
	}
	return a
}

// choose lets the model pick among the top entries; the offline verdict
// stands unless it names one of them.
func (e *Engine) choose(ctx context.Context, log *slog.Logger, question string, v faq.Verdict) faq.Verdict {
	hits := e.faq.Search(question, chooseAmong).Hits
	var cands []intake.Passage
	for _, h := range hits {
		cands = append(cands, intake.Passage{ID: h.Entry.ID, Title: h.Entry.Title, Text: h.Entry.Body})
	}
	start := time.Now()
	id, err := e.chooser.Choose(ctx, question, cands)
	if err != nil {
		log.Warn("model choice not used; keeping the offline choice", slog.String("reason", reasonOf(err)), slog.Duration("took", time.Since(start)))
		return v
	}
	for _, h := range hits {
		if h.Entry.ID == id {
			log.Info("model chose an entry", slog.String("entry", id), slog.Bool("same_as_offline", v.Kind == faq.KindAnswer && v.Best().ID == id))
			return faq.Verdict{Kind: faq.KindAnswer, Hits: []faq.Hit{h}, Score: h.Score}
		}
	}
	return v
}

// clarifyText is the "Did you mean…" question as one message, where there is
// no conversation to answer it in (intakebot ask).
func (e *Engine) clarifyText(v faq.Verdict) string {
	lines := []string{e.msgs.Render("faq_clarify", nil)}
	for i, h := range v.Hits {
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, h.Entry.Title))
	}
	return strings.Join(lines, "\n")
}

// approved is an entry's text as the patient sees it: the body, where it
// came from, and the disclaimer.
func (e *Engine) approved(en *faq.Entry) string {
	return en.Body + "\n\n" + e.msgs.Render("faq_source", map[string]any{"Title": en.Title}) + "\n" + e.msgs.Render("disclaimer", nil)
}

func (e *Engine) withSources(g intake.Grounded) string {
	titles := make([]string, 0, len(g.Sources))
	for _, id := range g.Sources {
		if en := e.faqKB.Entry(id); en != nil {
			titles = append(titles, en.Title)
		}
	}
	return g.Text + "\n\n" + e.msgs.Render("faq_source", map[string]any{"Title": strings.Join(titles, "; ")}) + "\n" + e.msgs.Render("disclaimer", nil)
}

// rephrase asks the model to answer from the retrieved passages. Any failure
// is logged by reason (never with text) and the approved answer stands.
func (e *Engine) rephrase(ctx context.Context, log *slog.Logger, question string, v faq.Verdict) (intake.Grounded, bool) {
	var passages []intake.Passage
	for _, h := range v.Hits {
		if h.Score >= faq.Threshold/2 {
			passages = append(passages, intake.Passage{ID: h.Entry.ID, Title: h.Entry.Title, Text: h.Entry.Body})
		}
	}
	start := time.Now()
	g, err := e.model.Answer(ctx, question, passages)
	if err != nil {
		log.Warn("model answer not used; answering from the approved text", slog.String("reason", reasonOf(err)), slog.Duration("took", time.Since(start)))
		return g, false
	}
	return g, true
}

// reasonOf gives a short, text-free reason for logs.
func reasonOf(err error) string {
	var r interface{ Reason() string }
	if errors.As(err, &r) {
		return r.Reason()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return "error"
}

// deflectGeneral lists, per kind of medical-advice request, the entries
// whose general information may be shown beside the deflection: the one
// covering the topic, never an unrelated entry that happens to share a word
// ("how much ketamine will you give me" is not about the price). A dose,
// a prescription or a diagnosis gets no general information.
// A request to take, skip, start or stop a medicine gets the medicines
// entry, or the entry the bank's nearest requests name when it is one of
// the few a change of medicine can be about (stopping an antidepressant
// while pregnant, coming off buprenorphine, a medicine for nausea,
// taking one while fasting): with the medicines entry alone, the bank's
// requests (in-sample) got the writers' entry 1,720 times of 1,895, with
// these 1,740. Retrieval's plain hits are not trusted for it: they ranked
// "addiction risk" first for "i'm thinking of stopping my lithium" once
// the bank grew, and that is not its topic.
var deflectGeneral = map[string][]string{
	safety.AdviceMedicationChange: {"medications", "pregnancy", "addiction-risk", "side-effects", "eating-before"},
	safety.AdvicePersonalVerdict:  {"candidacy", "safety-monitoring", "side-effects", "medications", "pregnancy", "addiction-risk"},
}

// deflectFallback is shown when a kind's entries all score too low: a
// personal verdict is what the candidacy entry is about.
var deflectFallback = map[string]string{
	safety.AdviceMedicationChange: "medications",
	safety.AdvicePersonalVerdict:  "candidacy",
}

func (e *Engine) deflect(s *said, adv safety.AdviceMatch) Answer {
	return e.deflectWith(adv, e.deflectEntry(s, adv.Kind))
}

// deflectWith is the deflection of a request of adv's kind, with general
// information from the entry general (none when nil).
func (e *Engine) deflectWith(adv safety.AdviceMatch, general *faq.Entry) Answer {
	a := Answer{Kind: KindDeflect, Advice: adv.Kind}
	parts := []string{e.msgs.Render("deflect", map[string]any{"Kind": adv.Kind, "General": general != nil})}
	if general != nil {
		a.Sources = []string{general.ID}
		parts = append(parts, e.approved(general))
	}
	parts = append(parts, e.msgs.Render("deflect_offer", nil))
	a.Text = strings.Join(parts, "\n\n")
	return a
}

// deflectRead deflects a request retrieval read as one, as a personal
// verdict, or as a change of medicine when its topic is the medicines
// entry ("don't stop or change any medicine without talking to your
// prescriber").
func (e *Engine) deflectRead(v faq.Verdict) Answer {
	kind := safety.AdvicePersonalVerdict
	general := e.deflectTopic(v, kind)
	if general != nil && general.ID == deflectFallback[safety.AdviceMedicationChange] {
		kind = safety.AdviceMedicationChange
	}
	return e.deflectWith(safety.AdviceMatch{Kind: kind, Rule: "classifier"}, general)
}

// deflectEntry is the entry shown beside a deflection of kind, or nil.
func (e *Engine) deflectEntry(s *said, kind string) *faq.Entry {
	if e.faq == nil || len(deflectGeneral[kind]) == 0 {
		return nil
	}
	return e.deflectTopic(e.verdictOf(s), kind)
}

// deflectTopic picks the general facts for a request of kind: the topic
// retrieval reads from the bank's nearest such requests and the question's
// hits (faq's deflectTopic: only entries the bank's requests name), for a
// personal verdict whichever entry that is, for a change of medicine only
// an entry kind allows; none when retrieval reads none (a dose, a
// prescription); else the best allowed hit; else the kind's usual entry.
func (e *Engine) deflectTopic(v faq.Verdict, kind string) *faq.Entry {
	allowed := deflectGeneral[kind]
	if e.faqKB == nil || len(allowed) == 0 {
		return nil
	}
	if t := v.DeflectTopic; t != nil && (kind == safety.AdvicePersonalVerdict || contains(allowed, t.ID)) {
		return t
	}
	if v.DeflectNone {
		return nil
	}
	if kind == safety.AdviceMedicationChange {
		allowed = []string{deflectFallback[kind]} // see deflectGeneral
	}
	for _, h := range v.Hits {
		if h.Score >= faq.Threshold && contains(allowed, h.Entry.ID) {
			return h.Entry
		}
	}
	return e.faqKB.Entry(deflectFallback[kind])
}

// requestStaff opens a low-priority "requested" case, unless the patient
// already has an open case, which already reaches staff.
func (e *Engine) requestStaff(ctx context.Context, log *slog.Logger, p intake.Patient) ([]intake.Reply, error) {
	open, err := e.store.Cases(ctx, intake.CaseFilter{PatientID: p.ID})
	if err != nil {
		return nil, fmt.Errorf("cases: %w", err)
	}
	for _, c := range open {
		if c.Status != intake.CaseClosed {
			out := []intake.Reply{e.message("staff_already_requested", map[string]any{"CaseID": c.ID})}
			return append(out, e.askContact(p, c)...), nil
		}
	}
	var sess *intake.Session
	if s, err := e.store.ActiveSession(ctx, p.ID); err == nil {
		sess = &s
	}
	c, err := e.store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: OutcomeRequested, Priority: intake.PriorityLow, ScriptVersion: e.script.Version,
		Contact: e.knownContact(ctx, p, sess)})
	if err != nil {
		return nil, fmt.Errorf("open case: %w", err)
	}
	log.Info("staff requested", slog.String("case_id", c.ID))
	out := []intake.Reply{e.message("staff_requested", map[string]any{"CaseID": c.ID})}
	return append(out, e.askContact(p, c)...), nil
}

// looksLikeQuestion is a cheap signal that free text typed at a screening
// question is a question for us rather than an answer.
func looksLikeQuestion(text string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	if strings.HasSuffix(t, "?") {
		return true
	}
	for _, w := range []string{"what ", "how ", "why ", "when ", "where ", "who ", "which ", "can ", "could ", "is ", "are ", "do ", "does ", "will ", "should ", "would ", "am i"} {
		if strings.HasPrefix(t, w) {
			return true
		}
	}
	return false
}

// engineFlagLabels are the staff-facing labels of flags the engine adds
// (the script labels its own).
var engineFlagLabels = map[string]string{
	FlagCrisisLanguage:         "Safety: crisis language in the patient's messages",
	FlagOverdose:               "Safety: the patient said an overdose or injury is in progress (told to call 911)",
	FlagRiskChecked:            "Safety: asked directly about thoughts of ending their life; answered no",
	FlagScreeningIncomplete:    "Screening stopped before the end",
	intake.FlagPatientWithdrew: "Patient withdrew and erased their data",
}

// FlagLabels turns flag ids into the labels staff see, for the script's
// flags and the engine's alike.
func FlagLabels(s *screening.Script, flags []string) []string {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if l, ok := engineFlagLabels[f]; ok {
			out = append(out, l)
		} else {
			out = append(out, s.FlagLabels([]string{f})...)
		}
	}
	return out
}
