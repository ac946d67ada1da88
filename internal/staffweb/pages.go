package staffweb

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
)

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

func parseTemplates() (map[string]*template.Template, error) {
	pages := []string{"signin", "error", "queue", "case", "audit", "report", "export"}
	out := map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("staffweb template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

// page is what the layout needs; Title never holds patient data.
type page struct {
	Title   string
	Clinic  string
	Staff   string
	CSRF    string
	Nav     string
	Flash   string
	Data    any
	Now     time.Time
	Refresh bool
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, sess *session, data any) {
	p := page{Title: title, Clinic: orDefault(s.cfg.ClinicName, "the clinic"), Nav: name, Data: data, Now: s.cfg.Now()}
	if sess != nil {
		p.Staff, p.CSRF, p.Flash = sess.name, sess.csrf, s.takeFlash(sess)
	}
	var buf bytes.Buffer
	if err := s.tmpl[name].Execute(&buf, p); err != nil {
		s.log.Error("console render", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	signedIn := false
	if c, err := r.Cookie(s.cookieName()); err == nil {
		_, signedIn = s.sessions.get(c.Value)
	}
	s.render(w, r, status, "error", title, nil, map[string]any{"Message": msg, "Status": status, "SignedIn": signedIn})
}

// age says how long ago, in words.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; h < 10 && m > 0 {
			return fmt.Sprintf("%d h %d min ago", h, m)
		}
		return fmt.Sprintf("%d h ago", h)
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

type queueRow struct {
	ID, Priority, Outcome, Status, Assignee, Age, Opened, LastAction string
	Urgent                                                           bool
	Flags                                                            int
}

const queuePageSize = 100

// queuePage lists cases, urgent first then newest, filtered by status,
// priority and assignee.
func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	status, priority, assignee := q.Get("status"), q.Get("priority"), q.Get("assignee")
	pageN, _ := strconv.Atoi(q.Get("page"))
	if pageN < 1 {
		pageN = 1
	}
	f := intake.QueueFilter{Offset: (pageN - 1) * queuePageSize, Limit: queuePageSize}
	switch status {
	case "all":
	case string(intake.CaseOpen), string(intake.CaseClaimed), string(intake.CaseClosed):
		f.Status = intake.CaseStatus(status)
	default:
		status, f.NotClosed = "active", true
	}
	if p := intake.Priority(priority); p.Valid() {
		f.Priority = p
	} else {
		priority = ""
	}
	switch assignee {
	case "":
	case "me":
		f.AssigneeID = sess.actor()
	case "none":
		f.Unassigned = true
	default:
		f.AssigneeID = "discord:" + assignee
	}
	cases, total, err := s.cfg.Cases.CaseQueue(r.Context(), f)
	if err != nil {
		s.log.Error("console queue", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Queue not shown", "The cases could not be read. Please try again.")
		return
	}
	// Every view is audited, as /handoffs on Discord is.
	s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "cases.list", Result: "ok: console"})
	now := s.cfg.Now()
	var rows []queueRow
	for _, c := range cases {
		s.learn(c)
		st := string(c.Status)
		if r, ok := intake.CloseReasonByID(c.CloseReason); ok {
			st += " (" + r.Label + ")"
		}
		rows = append(rows, queueRow{ID: c.ID, Priority: string(c.Priority), Outcome: strings.ReplaceAll(c.Outcome, "_", " "), Status: st,
			Assignee: orDefault(c.Assignee, "unassigned"), Age: age(now, c.CreatedAt), Opened: c.CreatedAt.UTC().Format(time.RFC3339),
			LastAction: c.LastAction, Urgent: c.Priority == intake.PriorityUrgent})
	}
	link := func(n int) string {
		v := url.Values{"status": {status}, "priority": {priority}, "assignee": {assignee}, "page": {strconv.Itoa(n)}}
		return "/queue?" + v.Encode()
	}
	data := map[string]any{"Rows": rows, "Total": total, "Status": status, "Priority": priority, "Assignee": assignee,
		"Priorities": []string{"urgent", "high", "normal", "low", "none"}, "Page": pageN}
	if pageN > 1 {
		data["Prev"] = link(pageN - 1)
	}
	if total > pageN*queuePageSize {
		data["Next"] = link(pageN + 1)
	}
	s.render(w, r, http.StatusOK, "queue", "Case queue", sess, data)
}

// QA is one screening answer in plain words.
type QA struct{ Question, Answer string }

// Flag is a flag with why it was raised.
type Flag struct{ Label, Reason string }

type entryView struct {
	Kind, Who, Text, At, Age string
}

// casePage shows a case in full; the view is audited first (a view that
// cannot be recorded is not shown), as Details on the card is.
func (s *Server) casePage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	c, err := s.cfg.Cases.Case(ctx, r.PathValue("id"))
	if intake.ErrorCode(err) == intake.ENOTFOUND {
		s.errorPage(w, r, http.StatusNotFound, "No such case", "There is no case with that reference.")
		return
	} else if err != nil {
		s.log.Error("console case", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Case not shown", "The case could not be read. Please try again.")
		return
	}
	if err := s.cfg.Cases.Audit(ctx, intake.AuditEntry{Actor: sess.actor(), Action: "case.view", CaseID: c.ID, Result: "ok: console"}); err != nil {
		s.log.Error("audit console case view", slog.String("case_id", c.ID), slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Case not shown", "The view could not be recorded, so the case is not shown. Please try again.")
		return
	}
	var answers []QA
	if c.SessionID != "" {
		a, err := s.cfg.Cases.SessionAnswers(ctx, c.SessionID)
		if err != nil {
			s.log.Error("console case answers", slog.String("case_id", c.ID), slog.Any("err", err))
			s.errorPage(w, r, http.StatusInternalServerError, "Case not shown", "The answers could not be read. Please try again.")
			return
		}
		answers = s.plainAnswers(a)
	}
	if len(answers) == 0 {
		// The screening itself is gone (erased or not kept): the answers the
		// case keeps for staff.
		for _, a := range c.Answers {
			answers = append(answers, QA{Question: a.Question, Answer: a.Answer})
		}
	}
	var said []entryView
	for _, m := range c.Said {
		said = append(said, entryView{Kind: "said", Who: "The patient", Text: m.Text, At: m.At.UTC().Format(time.RFC3339), Age: age(s.cfg.Now(), m.At)})
	}
	entries, err := s.cfg.Cases.CaseEntries(ctx, c.ID)
	if err != nil {
		s.log.Error("console case entries", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	trail, err := s.cfg.Cases.AuditLog(ctx, c.ID)
	if err != nil {
		s.log.Error("console case audit", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	s.learn(c)
	now := s.cfg.Now()
	var notes, talk []entryView
	for _, e := range entries {
		v := entryView{Kind: e.Kind, Who: orDefault(e.Name, "The patient"), Text: e.Text, At: e.At.UTC().Format(time.RFC3339), Age: age(now, e.At)}
		if e.Kind == intake.EntryNote {
			notes = append(notes, v)
		} else {
			talk = append(talk, v)
		}
	}
	var reasons []map[string]string
	for _, r := range intake.CloseReasons {
		reasons = append(reasons, map[string]string{"ID": r.ID, "Label": r.Label})
	}
	closeReason := ""
	if r, ok := intake.CloseReasonByID(c.CloseReason); ok {
		closeReason = r.Label
	}
	data := map[string]any{"C": c, "Age": age(now, c.CreatedAt), "Scores": handoff.ScoreLines(c.Scores), "Flags": s.flags(c.Flags),
		"Answers": answers, "Said": said, "Notes": notes, "Talk": talk, "Trail": s.auditRows(trail), "Reasons": reasons, "CloseReason": closeReason,
		"Mine": c.AssigneeID == sess.actor(), "Closed": c.Status == intake.CaseClosed, "Nonce": randomID(12)}
	s.render(w, r, http.StatusOK, "case", "Case "+c.ID, sess, data)
}

// plainAnswers puts answers in script order, as question and answer text.
func (s *Server) plainAnswers(a map[string]intake.Answer) []QA {
	if s.cfg.Script == nil {
		var out []QA
		for id, v := range a {
			out = append(out, QA{Question: id, Answer: answerText(nil, v)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Question < out[j].Question })
		return out
	}
	var out []QA
	for _, id := range s.cfg.Script.SortedIDs(a) {
		q := s.cfg.Script.Question(id)
		text := id
		if q != nil {
			if t, err := s.cfg.Text(q.Text); err == nil && t != "" {
				text = t
			}
		}
		out = append(out, QA{Question: text, Answer: answerText(q, a[id])})
	}
	return out
}

func answerText(q *screening.Question, a intake.Answer) string {
	label := func(id string) string {
		if q != nil {
			if o := q.Option(id); o != nil {
				return o.Label
			}
		}
		return id
	}
	switch {
	case a.Skipped:
		return "(skipped)"
	case a.Choice != "":
		return label(a.Choice)
	case len(a.Choices) > 0:
		var ls []string
		for _, c := range a.Choices {
			ls = append(ls, label(c))
		}
		return strings.Join(ls, "; ")
	case a.Number != nil:
		return strconv.FormatFloat(*a.Number, 'f', -1, 64)
	}
	return a.Text
}

// flags labels each flag and says which answers raised it.
func (s *Server) flags(ids []string) []Flag {
	var out []Flag
	for _, id := range ids {
		f := Flag{Label: strings.Join(s.cfg.FlagLabels([]string{id}), ""), Reason: "Set by the conversation (not a screening rule)."}
		if s.cfg.Script != nil {
			if rule := s.cfg.Script.Flag(id); rule != nil {
				var qs []string
				for _, q := range s.cfg.Script.Questions {
					if regexp.MustCompile(`\b` + regexp.QuoteMeta(q.ID) + `\b`).MatchString(rule.When) {
						t, _ := s.cfg.Text(q.Text)
						qs = append(qs, "“"+orDefault(t, q.ID)+"”")
					}
				}
				if len(qs) > 0 {
					f.Reason = "From the answers to " + strings.Join(qs, ", ") + "."
				} else {
					f.Reason = "Rule: " + rule.When
				}
			}
		}
		out = append(out, f)
	}
	return out
}

const maxText = 1800

// caseAction runs a staff action through the card's code path and shows
// its result on the case page (never in the URL).
func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, id := r.Context(), r.PathValue("id")
	text := strings.TrimSpace(intake.CleanText(r.PostFormValue("text")))
	if len([]rune(text)) > maxText {
		s.setFlash(sess, fmt.Sprintf("That text is %d characters; the most is %d. Nothing was done; shorten it and send it again.", len([]rune(text)), maxText))
		http.Redirect(w, r, "/cases/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	var msg string
	switch r.PathValue("action") {
	case "claim":
		msg, _ = s.cfg.Actions.Claim(ctx, sess.userID, sess.name, id)
	case "unclaim":
		msg, _ = s.cfg.Actions.Unclaim(ctx, sess.userID, sess.name, id)
	case "note":
		msg, _ = s.cfg.Actions.AddNote(ctx, sess.userID, sess.name, id, text)
	case "message":
		nonce := r.PostFormValue("nonce")
		if !s.firstNonce(nonce) {
			msg = "That message was already sent (the form was sent twice)."
			break
		}
		msg, _ = s.cfg.Actions.MessagePatient(ctx, sess.userID, sess.name, id, text, "w:"+nonce)
	case "close":
		msg, _ = s.cfg.Actions.CloseCase(ctx, sess.userID, sess.name, id, r.PostFormValue("reason"), text)
	default:
		s.errorPage(w, r, http.StatusNotFound, "No such action", "That action is not known.")
		return
	}
	s.setFlash(sess, msg)
	http.Redirect(w, r, "/cases/"+url.PathEscape(id), http.StatusSeeOther)
}

// firstNonce reports whether a form nonce is new (remembered for a day).
func (s *Server) firstNonce(n string) bool {
	if n == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if _, seen := s.nonces[n]; seen {
		return false
	}
	for k, t := range s.nonces {
		if now.Sub(t) > 24*time.Hour {
			delete(s.nonces, k)
		}
	}
	s.nonces[n] = now
	return true
}

// auditRow is an audit entry with the actor's name when known.
type auditRow struct {
	intake.AuditEntry
	Name string
}

func (s *Server) auditRows(es []intake.AuditEntry) []auditRow {
	out := make([]auditRow, 0, len(es))
	for _, e := range es {
		r := auditRow{AuditEntry: e}
		if n, ok := s.names.Load(e.Actor); ok {
			r.Name = n.(string)
		} else if e.Actor == "intakebot" {
			r.Name = "intakebot"
		} else if strings.HasPrefix(e.Actor, "patient:") {
			r.Name = "the patient"
		}
		out = append(out, r)
	}
	return out
}

// learn remembers assignees' names.
func (s *Server) learn(c intake.Case) {
	if c.AssigneeID != "" && c.Assignee != "" {
		s.names.Store(c.AssigneeID, c.Assignee)
	}
}

// auditPage lists audit rows, newest first, filtered by case, actor and
// action.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	caseID, actor, action := strings.TrimSpace(q.Get("case")), strings.TrimSpace(q.Get("actor")), strings.TrimSpace(q.Get("action"))
	rows, err := s.cfg.Cases.AuditLog(r.Context(), strings.ToUpper(caseID))
	if err != nil {
		s.log.Error("console audit", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Audit log not shown", "The audit log could not be read. Please try again.")
		return
	}
	var out []intake.AuditEntry
	for i := len(rows) - 1; i >= 0 && len(out) < 500; i-- {
		e := rows[i]
		if actor != "" && !strings.Contains(e.Actor, actor) {
			continue
		}
		if action != "" && !strings.HasPrefix(e.Action, action) {
			continue
		}
		out = append(out, e)
	}
	s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "audit.view", CaseID: strings.ToUpper(caseID), Result: "ok"})
	s.render(w, r, http.StatusOK, "audit", "Audit log", sess, map[string]any{"Rows": s.auditRows(out), "Case": caseID, "Actor": actor, "Action": action,
		"Actions": []string{"case.view", "case.claim", "case.unclaim", "case.note", "case.message", "case.close", "case.relay", "case.link", "cases.export", "console."}})
}
