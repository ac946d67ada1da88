// Package clinic loads the clinic's own facts (prompts/clinic.yaml) and the
// bot's copy (prompts/messages.yaml), and renders messages with them. Both are
// clinic-editable; every problem is reported with file:line at load.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package clinic

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/intakebot/intakebot/internal/content"
)

// Resource is one crisis resource.
type Resource struct {
	Name string `yaml:"name"`
	How  string `yaml:"how"`
}

// Clinic is the clinic's facts.
type Clinic struct {
	Name            string            `yaml:"name"`
	Phone           string            `yaml:"phone"`
	Email           string            `yaml:"email"`
	Website         string            `yaml:"website"`
	Address         string            `yaml:"address"`
	TimeZone        string            `yaml:"time_zone"`
	Hours           map[string]string `yaml:"hours"`
	ResponseTime    string            `yaml:"response_time"`
	CrisisResources []Resource        `yaml:"crisis_resources"`
	// Policies are the clinic's own answers (prices, referral, fasting...)
	// quoted by FAQ entries as {{policy "key"}}.
	Policies map[string]string `yaml:"policies"`

	loc *time.Location
}

// Location is the clinic's time zone, UTC while it is a placeholder.
func (c *Clinic) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// IsPlaceholder reports whether a value is an unfilled "(...)" placeholder.
func IsPlaceholder(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")")
}

// Placeholders lists the clinic fields still to be filled in: the basic
// facts in file order, then hours and policies sorted.
func (c *Clinic) Placeholders() []string {
	var out, more []string
	for _, f := range []struct{ name, v string }{
		{"name", c.Name}, {"phone", c.Phone}, {"email", c.Email}, {"website", c.Website},
		{"address", c.Address}, {"time_zone", c.TimeZone}, {"response_time", c.ResponseTime},
	} {
		if IsPlaceholder(f.v) {
			out = append(out, f.name)
		}
	}
	for d, v := range c.Hours {
		if IsPlaceholder(v) {
			more = append(more, "hours."+d)
		}
	}
	for k, v := range c.Policies {
		if IsPlaceholder(v) {
			more = append(more, "policies."+k)
		}
	}
	sort.Strings(more)
	return append(out, more...)
}

// CrisisText renders the crisis resources as a list, one per line.
func (c *Clinic) CrisisText() string {
	lines := make([]string, len(c.CrisisResources))
	for i, r := range c.CrisisResources {
		lines[i] = "• " + r.Name + ": " + r.How
	}
	return strings.Join(lines, "\n")
}

var (
	weekdays  = map[string]bool{"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true}
	hoursSpec = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$`)
)

// LoadClinic reads and validates clinic.yaml.
func LoadClinic(fsys fs.FS, name string) (*Clinic, error) {
	var c Clinic
	doc, err := content.ReadFile(fsys, name, &c)
	if err != nil {
		return nil, err
	}
	var ps content.Problems
	if strings.TrimSpace(c.Name) == "" {
		ps = append(ps, doc.Problem("$", "clinic name is missing (use a placeholder such as \"(clinic name)\" until it is known)"))
	}
	if strings.TrimSpace(c.Phone) == "" {
		ps = append(ps, doc.Problem("$", "clinic phone is missing (use a placeholder such as \"(clinic phone)\" until it is known)"))
	}
	if c.TimeZone != "" && !IsPlaceholder(c.TimeZone) {
		loc, err := time.LoadLocation(c.TimeZone)
		if err != nil {
			ps = append(ps, doc.Problem("$.time_zone", "unknown time zone %q (use an IANA name such as America/Chicago)", c.TimeZone))
		}
		c.loc = loc
	}
	for d, v := range c.Hours {
		switch {
		case !weekdays[d]:
			ps = append(ps, doc.Problem("$.hours."+d, "unknown day %q (use monday ... sunday)", d))
		case v == "closed" || IsPlaceholder(v) || hoursSpec.MatchString(v):
		default:
			ps = append(ps, doc.Problem("$.hours."+d, "hours %q for %s: use HH:MM-HH:MM (24-hour), \"closed\" or a placeholder", v, d))
		}
	}
	if len(c.CrisisResources) == 0 {
		ps = append(ps, doc.Problem("$", "crisis_resources is empty: the crisis message needs at least 988 and 911"))
	}
	for i, r := range c.CrisisResources {
		if r.Name == "" || r.How == "" {
			ps = append(ps, doc.Problem(fmt.Sprintf("$.crisis_resources[%d]", i), "a crisis resource needs a name and how to reach it"))
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Required message keys; outcome messages are required by the script instead.
var requiredMessages = []string{
	"welcome", "help", "unknown_command", "idle", "screening_start", "screening_resume",
	"screening_restart", "screening_cancelled", "no_screening", "screening_paused", "screening_stopped",
	"invalid_answer", "crisis", "crisis_pause_offer", "stale_answer", "faq_source", "disclaimer",
	"faq_unknown", "faq_offtopic", "faq_clarify", "faq_clarify_none", "support", "deflect", "deflect_offer", "staff_requested", "staff_already_requested",
	"back_to_screening", "privacy", "where_answers_go", "forget_confirm", "forgotten", "relayed", "relay_failed",
	"notice_claimed", "notice_unreachable",
	"contact_ask", "contact_saved", "contact_skipped", "contact_invalid", "contact_case_closed", "contact_switch", "contact_switch_no",
	"screening_cancelled_safety",
}

// Messages is the bot's copy, compiled.
type Messages struct {
	clinic *Clinic
	tmpl   map[string]*template.Template
	file   string
	doc    *content.Doc
}

// LoadMessages reads messages.yaml; each message must compile and render with
// c and sample values.
func LoadMessages(fsys fs.FS, name string, c *Clinic) (*Messages, error) {
	raw := map[string]string{}
	doc, err := content.ReadFile(fsys, name, &raw)
	if err != nil {
		return nil, err
	}
	m := &Messages{clinic: c, tmpl: map[string]*template.Template{}, file: name, doc: doc}
	var ps content.Problems
	for k, v := range raw {
		t, err := m.compile(k, v)
		if err != nil {
			ps = append(ps, doc.Problem("$."+k, "%v", err))
			continue
		}
		m.tmpl[k] = t
	}
	for _, k := range requiredMessages {
		if _, ok := raw[k]; !ok {
			ps = append(ps, content.Problem{File: name, Msg: fmt.Sprintf("message %q is missing", k)})
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

var sample = map[string]any{"CaseID": "C-0000000", "ContactMethod": "phone", "Command": "/x", "Reason": "reason",
	"Title": "Title", "Kind": "dose", "General": true, "Sessions": 1, "Answers": 2, "Pending": true, "Cases": "C-0000000", "Limit": 2000,
	"Detail": "555-123-4567", "Switch": "email", "WhereAnswersGo": "Your answers are kept encrypted."}

func (m *Messages) compile(name, src string) (*template.Template, error) {
	t, err := m.parse(name, src)
	if err != nil {
		return nil, fmt.Errorf("template does not parse: %v", err)
	}
	if _, err := m.exec(t, sample); err != nil {
		return nil, fmt.Errorf("template does not render: %v", err)
	}
	return t, nil
}

func (m *Messages) exec(t *template.Template, data map[string]any) (string, error) {
	d := map[string]any{"Clinic": m.clinic, "CrisisResources": m.clinic.CrisisText()}
	// Per-message values default to empty so a message that uses one where
	// it is not given renders instead of failing.
	for k := range sample {
		d[k] = ""
	}
	for k, v := range data {
		d[k] = v
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// parse compiles a template with the functions content may use:
// {{policy "key"}} quotes one of the clinic's policies and fails on an
// unknown key, so a typo is caught at load.
func (m *Messages) parse(name, src string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"policy": func(key string) (string, error) {
			v, ok := m.clinic.Policies[key]
			if !ok {
				return "", fmt.Errorf("clinic.yaml has no policy %q", key)
			}
			return v, nil
		},
	}).Parse(src)
}

// Has reports whether a message exists.
func (m *Messages) Has(key string) bool { return m.tmpl[key] != nil }

// Check reports a problem when key is missing, for content that names
// messages (the script's outcome rules).
func (m *Messages) Check(key, from string) *content.Problem {
	if m.Has(key) {
		return nil
	}
	return &content.Problem{File: m.file, Msg: fmt.Sprintf("message %q (named by %s) is missing", key, from)}
}

// Render renders message key with data (plus the clinic). Messages are
// checked at load, so a failure here is a bug; it returns the key so a
// patient still gets a reply.
func (m *Messages) Render(key string, data map[string]any) string {
	t := m.tmpl[key]
	if t == nil {
		return "[" + key + "]"
	}
	s, err := m.exec(t, data)
	if err != nil {
		return "[" + key + "]"
	}
	return s
}

// Text renders ad hoc template text (question text may name the clinic).
func (m *Messages) Text(src string) (string, error) { return m.TextWith(src, nil) }

// TextWith renders ad hoc template text with per-patient values (the
// consent question's .WhereAnswersGo).
func (m *Messages) TextWith(src string, data map[string]any) (string, error) {
	if !strings.Contains(src, "{{") {
		return strings.TrimSpace(src), nil
	}
	t, err := m.parse("text", src)
	if err != nil {
		return "", err
	}
	return m.exec(t, data)
}

// Clinic returns the clinic the messages render with.
func (m *Messages) Clinic() *Clinic { return m.clinic }
