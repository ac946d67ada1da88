package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/prompts"
)

// completeAnswers is a whole screening for an adult with depression whose
// answers call for nothing, without the optional notes.
const completeAnswers = `consent: "yes"
age_18: "yes"
reasons: [depression]
antidepressant_trials: one
other_treatments: [none]
phq9_1: not_at_all
phq9_2: not_at_all
phq9_3: not_at_all
phq9_4: not_at_all
phq9_5: not_at_all
phq9_6: not_at_all
phq9_7: not_at_all
phq9_8: not_at_all
phq9_9: not_at_all
phq9_difficulty: somewhat
asq_1: "no"
asq_2: "no"
asq_3: "no"
asq_4: "no"
psychosis_history: "no"
bipolar_history: "no"
substance_use: "no"
ketamine_reaction: "no"
heart_bp: "no"
pregnancy: "no"
benzodiazepines: "no"
ride_home: "yes"
contact_method: discord
best_time: any
`

func TestScreenAnswersSkipsAnOptionalQuestionLeftOut(t *testing.T) {
	dir := t.TempDir()
	for name, extra := range map[string]string{"absent": "", "empty": "notes: \"\"\n", "null": "notes:\n"} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name+".yaml")
			if err := os.WriteFile(f, []byte(completeAnswers+extra), 0o644); err != nil {
				t.Fatal(err)
			}
			r := intakebot(t, "", nil, "screen", "--answers", f, "--json")
			var got struct {
				Outcome string
				Missing []string
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("screen --json: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
			}
			if got.Outcome != "negative" || len(got.Missing) != 0 {
				t.Errorf("outcome %q, missing %v; want negative, none missing", got.Outcome, got.Missing)
			}
			r = intakebot(t, "", nil, "screen", "--answers", f)
			if r.code != 0 || strings.Contains(r.stdout, "Missing") || !strings.Contains(r.stdout, "negative") {
				t.Errorf("screen text: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
	// A required question left out is still missing.
	f := filepath.Join(dir, "no-best-time.yaml")
	os.WriteFile(f, []byte(strings.Replace(completeAnswers, "best_time: any\n", "", 1)), 0o644)
	r := intakebot(t, "", nil, "screen", "--answers", f)
	if !strings.Contains(r.stdout, "incomplete") || !strings.Contains(r.stdout, "Missing answers: best_time") {
		t.Errorf("best_time left out: exit %d\n%s", r.code, r.stdout)
	}
}

// openTestStore opens (creating) the store of a data directory as the
// commands do, with a clock the test moves.
func openTestStore(t *testing.T, data string, now *time.Time) *sqlite.Store {
	t.Helper()
	c := common{data: data}
	cfg, err := c.loadConfig(env{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), env{stderr: io.Discard}, cfg, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	st.Now = func() time.Time { return *now }
	return st
}

func TestHandoffsListPutsOpenCasesFirst(t *testing.T) {
	data := dataDir(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := openTestStore(t, data, &now)
	open := func(user string, pr intake.Priority) string {
		t.Helper()
		p, err := st.Patient(ctx, "terminal", user)
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: pr, ScriptVersion: "test"})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		return c.ID
	}
	// Created in this order, oldest first.
	closedUrgent := open("a", intake.PriorityUrgent)
	lowOld := open("b", intake.PriorityLow)
	normal := open("c", intake.PriorityNormal)
	high := open("d", intake.PriorityHigh)
	lowNew := open("e", intake.PriorityLow)
	claimedNormal := open("f", intake.PriorityNormal)
	closedLow := open("g", intake.PriorityLow)
	urgent := open("h", intake.PriorityUrgent)
	if _, err := st.CloseCase(ctx, closedUrgent, "s1", "Sam", "consult_booked", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CloseCase(ctx, closedLow, "s1", "Sam", "duplicate", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimCase(ctx, claimedNormal, "s1", "Sam", true); err != nil {
		t.Fatal(err)
	}
	st.Close()

	want := []string{urgent, high, claimedNormal, normal, lowNew, lowOld, closedUrgent, closedLow}
	r := intakebot(t, "", nil, "handoffs", "list", "--json", "--data", data)
	var got []struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("handoffs list --json: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("JSON order = %v\nwant         %v", ids, want)
	}
	r = intakebot(t, "", nil, "handoffs", "list", "--data", data)
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		rows = append(rows, strings.Fields(l)[0])
	}
	if !slices.Equal(rows, want) {
		t.Errorf("table order = %v\nwant          %v\n%s", rows, want, r.stdout)
	}
}

func TestAuditOfAnUnknownCaseIsAnError(t *testing.T) {
	data := dataDir(t)
	r := intakebot(t, "/staff\nskip\n", nil, "chat", "--user", "robin", "--data", data)
	if r.code != 0 {
		t.Fatalf("chat: exit %d\n%s", r.code, r.stderr)
	}
	r = intakebot(t, "", nil, "audit", "--case", "C-NOPE", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "no such case C-NOPE") || r.stdout != "" {
		t.Errorf("audit --case C-NOPE: exit %d, stdout %q, stderr %q; want exit 1, \"no such case\"", r.code, r.stdout, r.stderr)
	}
	r = intakebot(t, "", nil, "handoffs", "show", "--data", data, "C-NOPE")
	if r.code != 1 || !strings.Contains(r.stderr, "no such case C-NOPE") {
		t.Errorf("handoffs show C-NOPE: exit %d, %q", r.code, r.stderr)
	}
}

// /forget-me strips every case of the patient; the audit rows name each, so
// the case's own log says what ended its details.
func TestForgetMeAuditRowsNameTheirCases(t *testing.T) {
	data := dataDir(t)
	r := intakebot(t, "/staff\nskip\n/forget-me confirm\n", nil, "chat", "--user", "robin", "--data", data)
	if r.code != 0 {
		t.Fatalf("chat: exit %d\n%s", r.code, r.stderr)
	}
	m := regexp.MustCompile(`C-[0-9A-Z]+`).FindString(r.stdout)
	if m == "" {
		t.Fatalf("no case reference in the chat:\n%s", r.stdout)
	}
	r = intakebot(t, "", nil, "audit", "--case", m, "--json", "--data", data)
	var rows []intake.AuditEntry
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("audit --json: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var forget *intake.AuditEntry
	for i := range rows {
		if rows[i].Action == "patient.forget" {
			forget = &rows[i]
		}
	}
	if forget == nil || forget.CaseID != m || strings.Contains(forget.Result, "robin") {
		t.Errorf("audit --case %s = %+v; want a patient.forget row naming the case", m, rows)
	}
}

func TestExtraArgumentIsAUsageError(t *testing.T) {
	data := dataDir(t)
	d := "--data=" + data
	for _, args := range [][]string{
		{"audit", d, "C-1"}, {"audit", d, "--case", "C-1", "extra"}, {"handoffs", "list", d, "open"}, {"handoffs", "show", d, "C-1", "C-2"},
		{"chat", d, "robin"}, {"check", "prompts"}, {"purge", d, "now"}, {"rekey", d, "x"}, {"run", d, "x"}, {"demo", d, "x"},
		{"screen", "test", "a", "b"}, {"safety", "test", "a", "b"}, {"version", "x"},
	} {
		r := intakebot(t, "", nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "Usage:") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error (exit 2)", args, r.code, r.stderr)
		}
	}
	if r := intakebot(t, "", nil, "chat", d, "robin"); !strings.Contains(r.stderr, `unexpected argument "robin"`) {
		t.Errorf("chat robin: stderr %q; want the argument named", r.stderr)
	}
}

func TestVersionPrintsTheScriptHash(t *testing.T) {
	script, err := screening.Load(prompts.Embedded(), "screening.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := intakebot(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "intakebot "+version) || !strings.Contains(r.stdout, "screening script: "+script.Version+" (embedded prompts)") {
		t.Errorf("version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Another script, another hash: the one in use is the one printed.
	dir := copyPrompts(t)
	f := filepath.Join(dir, "screening.yaml")
	src, _ := os.ReadFile(f)
	os.WriteFile(f, append(src, []byte("\n# edited by the clinic\n")...), 0o644)
	r = intakebot(t, "", nil, "version", "--prompts", dir)
	if r.code != 0 || strings.Contains(r.stdout, script.Version) || !regexp.MustCompile(`screening script: [0-9a-f]{12} \(`+regexp.QuoteMeta(dir)+`\)`).MatchString(r.stdout) {
		t.Errorf("version --prompts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestReadmeGoVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	said := regexp.MustCompile(`Go (1\.[0-9.]+)`).FindAllSubmatch(readme, -1)
	if len(said) == 0 {
		t.Fatal("the README names no Go version")
	}
	for _, s := range said {
		if string(s[1]) != string(goLine[1]) {
			t.Errorf("README says Go %s; go.mod says go %s", s[1], goLine[1])
		}
	}
}

// The driving rule is clinic.yaml's policies.no_driving and nothing else:
// a clinic that edits it changes what the FAQ and the screening both say,
// and no other content file states a rule of its own ("you can't drive for
// the rest of the day").
func TestOneDrivingRuleFromClinicYAML(t *testing.T) {
	dir := copyPrompts(t)
	const rule = "Do not drive until noon on the day after each infusion (test clinic rule)."
	f := filepath.Join(dir, "clinic.yaml")
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^  no_driving: .*$`)
	if !re.Match(src) {
		t.Fatal("clinic.yaml has no policies.no_driving")
	}
	os.WriteFile(f, re.ReplaceAll(src, []byte(`  no_driving: "`+rule+`"`)), 0o644)

	r := intakebot(t, "", nil, "ask", "--prompts", dir, "can I drive myself home after an infusion?")
	if r.code != 0 || !strings.Contains(r.stdout, rule) || strings.Contains(r.stdout, "24 hours") {
		t.Errorf("ask: exit %d; want the clinic's rule and no other\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Up to the ride-home question.
	in := positiveInput[:strings.Index(positiveInput, "phone\n")]
	in = in[:strings.LastIndex(strings.TrimSuffix(in, "\n"), "\n")+1]
	r = intakebot(t, in, nil, "chat", "--prompts", dir, "--data", dataDir(t), "--json")
	ls := lines(t, r.stdout)
	if q := ls[len(ls)-1]; q.Question != "ride_home" || !strings.Contains(q.Text, rule) {
		t.Errorf("last line = %+v; want ride_home quoting the clinic's rule", q)
	}
	for _, l := range ls {
		if strings.Contains(strings.ToLower(l.Text), "rest of the day") {
			t.Errorf("the chat says %q", l.Text)
		}
	}

	// Nothing else in the content says how long not to drive. (The FAQ's
	// sentence on esketamine quotes that medicine's own label.)
	duration := regexp.MustCompile(`(?i)\bdriv(e|ing)\b[^.]*\b(hours?|day|tomorrow|morning|night|tonight)\b|\b(hours?|day|tomorrow)\b[^.]*\bdriv(e|ing)\b`)
	err = fs.WalkDir(prompts.Embedded(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "clinic.yaml" || strings.HasPrefix(p, "faq/bank/") || p == "safety.yaml" || strings.HasPrefix(p, "faq/synonyms") {
			return err // the bank and the lexicon are what patients type
		}
		b, err := fs.ReadFile(prompts.Embedded(), p)
		if err != nil {
			return err
		}
		for _, sentence := range regexp.MustCompile(`[.!?\n]`).Split(string(b), -1) {
			if duration.MatchString(sentence) && !regexp.MustCompile(`(?i)spravato|esketamine`).MatchString(sentence) {
				t.Errorf("%s states a driving rule of its own: %q", p, strings.TrimSpace(sentence))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
