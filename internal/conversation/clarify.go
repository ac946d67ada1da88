package conversation

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
)

// ClarifyQuestionID is the id of the "Did you mean…" question asked when
// retrieval is unsure which entry a question is about. Like the safety
// check, it is not part of the screening script: asking it never moves the
// patient's place in the screening.
const ClarifyQuestionID = "faq_clarify"

// ClarifyNone is the choice for "none of these".
const ClarifyNone = "none"

// clarifies remembers, per patient, the candidates of the last "Did you
// mean…" question. Only the latest counts: a click on an older one, or on
// one already answered, changes nothing. It is not persisted: after a
// restart a click on an old question is stale, and the patient asks again.
type clarifies struct {
	mu sync.Mutex
	// pending is keyed by patient id; mu must be held.
	pending map[string]pendingClarify
}

// pendingClarify is a "Did you mean…" waiting for an answer: the question
// (kept in memory only, for the model to rephrase the chosen entry) and the
// candidates' entry ids.
type pendingClarify struct {
	question string
	ids      []string
}

func (c *clarifies) ask(patientID, question string, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		c.pending = map[string]pendingClarify{}
	}
	c.pending[patientID] = pendingClarify{question, ids}
}

func (c *clarifies) candidates(patientID string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[patientID].ids
}

// take removes the patient's pending question and reports whether choice
// was one of its candidates (or "none"), with the question asked.
func (c *clarifies) take(patientID, choice string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.pending[patientID]
	if !ok {
		return "", false
	}
	if choice != ClarifyNone && !contains(pc.ids, choice) {
		return "", false
	}
	delete(c.pending, patientID)
	return pc.question, true
}

func (c *clarifies) forget(patientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, patientID)
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// clarifyReply is the "Did you mean…" question for a clarify answer, as
// choices (buttons on Discord, numbers in the terminal); it remembers the
// candidates for the patient.
func (e *Engine) clarifyReply(p intake.Patient, question string, a Answer) intake.Reply {
	e.clarify.ask(p.ID, question, a.Sources)
	r := intake.Reply{Kind: intake.ReplyQuestion, QuestionID: ClarifyQuestionID, Text: e.msgs.Render("faq_clarify", nil)}
	for _, id := range a.Sources {
		if en := e.faqKB.Entry(id); en != nil {
			r.Choices = append(r.Choices, intake.Choice{ID: id, Label: en.Title})
		}
	}
	r.Choices = append(r.Choices, intake.Choice{ID: ClarifyNone, Label: "None of these"})
	return r
}

// replyTo turns the answer to question into the reply the patient sees.
func (e *Engine) replyTo(p intake.Patient, question string, a Answer) intake.Reply {
	if a.Kind == KindClarify && e.faqKB != nil {
		return e.clarifyReply(p, question, a)
	}
	return e.answerReply(a)
}

// clarifyChoice reads the turn as the answer to a pending "Did you mean…":
// a click, or typed in the terminal as a number, an entry id or title, or
// "none". ok is false when the turn is something else.
func (e *Engine) clarifyChoice(p intake.Patient, t intake.Turn) (choice string, ok bool) {
	if t.QuestionID == ClarifyQuestionID {
		if len(t.ChoiceIDs) == 1 {
			return t.ChoiceIDs[0], true
		}
		return "", true
	}
	if t.QuestionID != "" {
		return "", false
	}
	ids := e.clarify.candidates(p.ID)
	if len(ids) == 0 {
		return "", false
	}
	s := strings.ToLower(strings.Trim(strings.TrimSpace(t.Text), ".!"))
	if n, err := strconv.Atoi(s); err == nil {
		switch {
		case n >= 1 && n <= len(ids):
			return ids[n-1], true
		case n == len(ids)+1:
			return ClarifyNone, true
		}
		return "", false
	}
	switch s {
	case "none", "none of these", "neither", "no", "nope":
		return ClarifyNone, true
	}
	for _, id := range ids {
		if en := e.faqKB.Entry(id); s == id || (en != nil && s == strings.ToLower(en.Title)) {
			return id, true
		}
	}
	return "", false
}

// clarifyStep answers a pending "Did you mean…". ok reports that the turn
// was one; a stale or unknown choice changes nothing. Anything else the
// patient types drops the question and is handled as usual.
func (e *Engine) clarifyStep(ctx context.Context, log *slog.Logger, p intake.Patient, t intake.Turn) ([]intake.Reply, bool) {
	choice, ok := e.clarifyChoice(p, t)
	if !ok {
		if t.QuestionID == "" {
			e.clarify.forget(p.ID)
		}
		return nil, false
	}
	question, ok := e.clarify.take(p.ID, choice)
	if !ok {
		return []intake.Reply{e.notice("stale_answer")}, true
	}
	var out []intake.Reply
	if choice == ClarifyNone {
		log.Info("clarify: none of the candidates")
		out = append(out, e.message("faq_clarify_none", nil))
	} else if en := e.faqKB.Entry(choice); en != nil {
		log.Info("clarify: candidate chosen", slog.String("entry", en.ID))
		text := e.approved(en)
		if e.model != nil {
			v := faq.Verdict{Kind: faq.KindAnswer, Hits: []faq.Hit{{Entry: en, Score: 1}}, Score: 1}
			if g, ok := e.rephrase(ctx, log, question, v); ok {
				text = e.withSources(g)
			}
		}
		out = append(out, intake.Reply{Kind: intake.ReplyMessage, Text: text})
	}
	return append(out, e.pendingQuestion(ctx, log, p)...), true
}
