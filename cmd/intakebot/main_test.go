package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/prompts"
)

type result struct {
	code           int
	stdout, stderr string
}

// intakebot runs the command in-process with stdin and a clean environment
// (plus vars), exactly as main would.
func intakebot(t *testing.T, stdin string, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] }}
	code := run(context.Background(), e, args)
	return result{code, out.String(), errb.String()}
}

type jsonLine struct {
	Type     string `json:"type"`
	Question string `json:"question"`
	Text     string `json:"text"`
	Choices  []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	} `json:"choices"`
	Outcome  string `json:"outcome"`
	Priority string `json:"priority"`
	CaseID   string `json:"case_id"`
}

func lines(t *testing.T, s string) []jsonLine {
	t.Helper()
	var out []jsonLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		var j jsonLine
		if err := json.Unmarshal([]byte(l), &j); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, j)
	}
	return out
}

// script of typed answers for a positive screening, one per line.
var positiveInput = strings.Join([]string{
	"/screen", "yes", "yes", "depression, anxiety", "three_plus", "none",
	"3", "3", "2", "1", "1", "1", "1", "1", "1", "somewhat",
	"4", "4", "4", "2", "1", "1", "1",
	"no", "no", "no", "no",
	"no", "no", "no", "no", "not sure", "no", "no", "yes",
	"phone", "555 (123) 4567", "555-123-4567", "evening", "skip",
}, "\n") + "\n"

func TestChatJSONThenHandoffs(t *testing.T) {
	data := dataDir(t)
	r := intakebot(t, positiveInput, nil, "chat", "--json", "--user", "pat", "--data", data)
	if r.code != 0 {
		t.Fatalf("chat exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, filepath.Join(data, "data.key")) {
		t.Errorf("first run did not say where the key file is: %q", r.stderr)
	}
	fi, err := os.Stat(filepath.Join(data, "data.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	ls := lines(t, r.stdout)
	var q jsonLine
	for _, l := range ls {
		if l.Question == "phq9_3" {
			q = l
		}
	}
	if q.Type != "question" || len(q.Choices) != 4 || q.Choices[0].ID != "not_at_all" || q.Choices[0].Label != "Not at all" {
		t.Errorf("phq9_3 line = %+v", q)
	}
	// "555 (123) 4567" is a valid phone number; no re-ask expected there.
	out := ls[len(ls)-1]
	if out.Type != "outcome" || out.Outcome != "positive" || out.Priority != "normal" || out.CaseID == "" {
		t.Fatalf("last line = %+v; want the positive outcome", out)
	}

	r = intakebot(t, "", nil, "handoffs", "list", "--status", "open", "--json", "--data", data)
	if r.code != 0 {
		t.Fatalf("handoffs list: %d %s", r.code, r.stderr)
	}
	var cases []struct {
		ID, Outcome, Priority string
		Flags                 []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].ID != out.CaseID || !contains(cases[0].Flags, "trd_criterion_met") || !contains(cases[0].Flags, "review_cardiovascular") {
		t.Fatalf("cases = %+v", cases)
	}

	r = intakebot(t, "", nil, "handoffs", "show", "--data", data, out.CaseID)
	if strings.Contains(r.stdout, "ago ago") || strings.Contains(r.stdout, "just now ago") || !strings.Contains(r.stdout, "(just now)") {
		t.Errorf("handoffs show age reads oddly:\n%s", r.stdout)
	}
	for _, want := range []string{"GAD-7", "moderate", "555 (123) 4567", "Review: blood pressure", "evening"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("handoffs show lacks %q:\n%s", want, r.stdout)
		}
	}
	r = intakebot(t, "", nil, "audit", "--json", "--data", data)
	if !strings.Contains(r.stdout, `"case.view"`) || !strings.Contains(r.stdout, out.CaseID) {
		t.Errorf("audit lacks the view of %s: %s", out.CaseID, r.stdout)
	}

	// A second run with the same user after a half-done screening resumes.
	r = intakebot(t, "/restart\nyes\nyes\n", nil, "chat", "--json", "--user", "pat", "--data", data)
	r = intakebot(t, "", nil, "chat", "--json", "--user", "pat", "--data", data)
	ls = lines(t, r.stdout)
	if l := ls[len(ls)-1]; l.Type != "question" || l.Question != "reasons" {
		t.Errorf("resumed at %+v; want the reasons question", l)
	}
}

func TestChatWithWrongOrCorruptKey(t *testing.T) {
	data := dataDir(t)
	intakebot(t, "hi\n", nil, "chat", "--json", "--data", data)
	r := intakebot(t, "hi\n", map[string]string{"INTAKEBOT_DATA_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "chat", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "does not open this database") {
		t.Errorf("wrong key: exit %d, %q", r.code, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(data, "data.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = intakebot(t, "hi\n", nil, "chat", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "data.key") || strings.Contains(r.stderr, "panic") {
		t.Errorf("corrupt key file: exit %d, %q", r.code, r.stderr)
	}
	os.Remove(filepath.Join(data, "data.key"))
	r = intakebot(t, "hi\n", nil, "chat", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "key file") || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing key file for an existing database: exit %d, %q", r.code, r.stderr)
	}
}

func TestCheck(t *testing.T) {
	r := intakebot(t, "", nil, "check")
	if r.code != 0 || !strings.Contains(r.stdout, "OK") {
		t.Fatalf("check on shipped prompts: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A broken copy fails with file:line.
	dir := copyPrompts(t)
	path := filepath.Join(dir, "screening.yaml")
	src, _ := os.ReadFile(path)
	broken := strings.Replace(string(src), `when: '"anxiety" in reasons'`, `when: '"anxeity" in reasons'`, 1)
	os.WriteFile(path, []byte(broken), 0o644)
	line := 1 + strings.Count(broken[:strings.Index(broken, "anxeity")], "\n")
	r = intakebot(t, "", nil, "check", "--prompts", dir)
	want := "screening.yaml:" + strconv.Itoa(line) + `: question "reasons" has no option "anxeity"`
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("broken copy: exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
	// The bot refuses to start on it too.
	r = intakebot(t, "", nil, "chat", "--prompts", dir, "--data", dataDir(t))
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("chat on a broken script: exit %d, %q", r.code, r.stderr)
	}
}

func TestScreenTestAndAnswers(t *testing.T) {
	r := intakebot(t, "", nil, "screen", "test")
	if r.code != 0 || !strings.Contains(r.stdout, " 0 failed") {
		t.Fatalf("screen test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "wrong.yaml"), []byte("base: {consent: \"yes\"}\ncases:\n  - name: expects the wrong thing\n    answers: {age_18: \"no\"}\n    expect: {outcome: positive}\n"), 0o644)
	r = intakebot(t, "", nil, "screen", "test", dir)
	if r.code != 1 || !strings.Contains(r.stdout, "wrong.yaml:3: expects the wrong thing") || !strings.Contains(r.stdout, "outcome = not_eligible, want positive") {
		t.Errorf("failing case: exit %d\n%s", r.code, r.stdout)
	}

	answers := filepath.Join(dir, "answers.json")
	os.WriteFile(answers, []byte(`{"consent":"yes","age_18":"yes","reasons":["depression","anxiety"],"antidepressant_trials":"two",
		"other_treatments":["none"],"phq9_1":"nearly_every_day","phq9_2":"nearly_every_day","phq9_3":"nearly_every_day","phq9_4":"nearly_every_day",
		"phq9_5":"more_than_half","phq9_6":"not_at_all","phq9_7":"not_at_all","phq9_8":"not_at_all","phq9_9":"not_at_all","phq9_difficulty":"very",
		"gad7_1":"several_days","asq_1":"no","asq_2":"no","asq_3":"no","asq_4":"no","pcptsd5_gate":"yes"}`), 0o644)
	r = intakebot(t, "", nil, "screen", "--answers", answers, "--json")
	var got struct {
		Outcome  string
		Priority string
		Handoff  bool
		Scores   map[string]struct {
			Value int
			Band  string
		}
		Flags   []string
		Missing []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("screen --json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	if got.Outcome != "incomplete" || got.Scores["phq9"].Value != 14 || got.Scores["phq9"].Band != "moderate" || !contains(got.Flags, "trd_criterion_met") {
		t.Errorf("result = %+v", got)
	}
	// The rest of GAD-7 and the history questions are missing; the PTSD gate
	// answer is ignored (ptsd was not a reason) and not listed.
	if !contains(got.Missing, "gad7_2") || !contains(got.Missing, "psychosis_history") || contains(got.Missing, "pcptsd5_1") || contains(got.Missing, "gad7_1") {
		t.Errorf("missing = %v", got.Missing)
	}
	os.WriteFile(answers, []byte(`{"consent":"maybe","nonsense":"x"}`), 0o644)
	r = intakebot(t, "", nil, "screen", "--answers", answers)
	if r.code != 1 || !strings.Contains(r.stderr, "consent") || !strings.Contains(r.stderr, "nonsense: no such question") {
		t.Errorf("bad answers file: exit %d, %q", r.code, r.stderr)
	}
}

func TestUsageAndHelp(t *testing.T) {
	if r := intakebot(t, "", nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, "chat") {
		t.Errorf("unknown command: %+v", r)
	}
	for _, cmd := range [][]string{{"chat", "-h"}, {"screen", "-h"}, {"screen", "test", "-h"}, {"check", "-h"}, {"handoffs", "-h"}, {"handoffs", "list", "-h"}, {"handoffs", "show", "-h"}, {"audit", "-h"}} {
		if r := intakebot(t, "", nil, cmd...); r.code != 0 || !strings.Contains(r.stderr, "-") {
			t.Errorf("%v: exit %d, %q", cmd, r.code, r.stderr)
		}
	}
	if r := intakebot(t, "", nil, "handoffs", "list", "--status", "bogus"); r.code != 2 {
		t.Errorf("bad --status: exit %d", r.code)
	}
	if r := intakebot(t, "", nil, "handoffs", "list", "--data", dataDir(t)); r.code != 1 || !strings.Contains(r.stderr, "no database") {
		t.Errorf("handoffs without a database: %+v", r)
	}
}

func copyPrompts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(prompts.Embedded(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(prompts.Embedded(), p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAsk(t *testing.T) {
	type askOut struct {
		Kind    string
		Text    string
		Sources []string
		Score   float64
	}
	ask := func(q string) askOut {
		r := intakebot(t, "", nil, "ask", "--json", q)
		if r.code != 0 {
			t.Fatalf("ask %q: exit %d %s", q, r.code, r.stderr)
		}
		var a askOut
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
			t.Fatalf("ask %q: %v\n%s", q, err, r.stdout)
		}
		return a
	}
	if a := ask("who takes me home after an infusion?"); a.Kind != "answer" || len(a.Sources) == 0 || a.Sources[0] != "driving-home" || a.Score <= 0 || !strings.Contains(a.Text, "From: Getting home") {
		t.Errorf("driving: %+v", a)
	}
	if a := ask("i want to end it all"); a.Kind != "crisis" || !strings.Contains(a.Text, "988") || !strings.Contains(a.Text, "741741") {
		t.Errorf("crisis: %+v", a)
	}
	if a := ask("what dose of ketamine should i get?"); a.Kind != "deflect" || !strings.Contains(a.Text, "/staff") {
		t.Errorf("deflect: %+v", a)
	}
	if a := ask("what's the capital of france"); a.Kind != "offtopic" {
		t.Errorf("offtopic: %+v", a)
	}
	// No entry covers parking: it is not answered (a "did you mean" with
	// "none of these" is not an answer; the bank's "thanks for the parking
	// info" can make it read as thanks, a known miss that answers nothing).
	if a := ask("do you validate parking at the garage"); a.Kind != "unknown" && a.Kind != "offtopic" && a.Kind != "clarify" && a.Kind != "social" {
		t.Errorf("unanswerable: %+v", a)
	}
	if r := intakebot(t, "", nil, "ask"); r.code != 2 {
		t.Errorf("ask without a question: exit %d", r.code)
	}
	// Plain output is the text alone.
	if r := intakebot(t, "", nil, "ask", "is ketamine addictive?"); r.code != 0 || !strings.Contains(r.stdout, "From: Is it addictive?") || r.stderr != "" {
		t.Errorf("plain ask: %+v", r)
	}
}

func TestChatAnswersQuestionsBeforeAndDuringScreening(t *testing.T) {
	data := dataDir(t)
	in := "is ketamine addictive?\nyes\nyes\nyes\nhow much does it cost?\n1\n"
	r := intakebot(t, in, nil, "chat", "--json", "--user", "q", "--data", data)
	ls := lines(t, r.stdout)
	var sawAnswer, sawCost bool
	for i, l := range ls {
		if strings.Contains(l.Text, "From: Is it addictive?") {
			sawAnswer = true
		}
		if strings.Contains(l.Text, "From: Cost and insurance") {
			sawCost = true
			// Then the pending question (reasons) again.
			if i+2 >= len(ls) || ls[i+2].Question != "reasons" {
				t.Errorf("after the cost answer: %+v", ls[i+1:])
			}
		}
	}
	if !sawAnswer || !sawCost {
		t.Fatalf("chat did not answer the questions:\n%s", r.stdout)
	}
	if l := ls[len(ls)-1]; l.Question != "antidepressant_trials" {
		t.Errorf("after answering reasons, pending %+v", l)
	}
}

func TestAskReportsTheSafetyLevel(t *testing.T) {
	for _, tc := range []struct{ q, kind, also string }{
		{"I just swallowed all my sleeping pills", "emergency", "911"},
		{"I'm not safe right now", "crisis", "741741"},
		{"I feel so hopeless lately", "check", "ending your life"},
		{"my friend said he wants to kill himself, can ketamine help him?", "other_person", "friends and family"},
	} {
		r := intakebot(t, "", nil, "ask", "--json", tc.q)
		var a struct{ Kind, Text string }
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || r.code != 0 {
			t.Fatalf("ask %q: exit %d, %v: %s", tc.q, r.code, err, r.stdout)
		}
		if a.Kind != tc.kind || !strings.Contains(a.Text, "988") || !strings.Contains(a.Text, tc.also) {
			t.Errorf("ask %q = %+v; want kind %s with 988 and %q", tc.q, a, tc.kind, tc.also)
		}
	}
	// A question about the topic is answered, with the resources in one line.
	r := intakebot(t, "", nil, "ask", "--json", "can ketamine cause suicidal thoughts?")
	var a struct{ Kind, Text string }
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.Kind == "crisis" || !strings.Contains(a.Text, "988") {
		t.Errorf("topic question = %+v (%v); want an FAQ kind with 988", a, err)
	}
}

// sequence sums up a chat's JSON lines: "q:ID" for each question, and what
// mark says of the other lines (nothing when it returns "").
func sequence(ls []jsonLine, mark func(jsonLine) string) string {
	var seq []string
	for _, l := range ls {
		if l.Question != "" {
			seq = append(seq, "q:"+l.Question)
		} else if m := mark(l); m != "" {
			seq = append(seq, m)
		}
	}
	return strings.Join(seq, " ")
}

func TestChatAsksDirectlyAndCarriesOn(t *testing.T) {
	data := dataDir(t)
	// Mid-screening: a possible risk, answered No (2), then again, answered Yes (1).
	in := "/screen\nyes\nyes\nI feel so hopeless lately\n2\nI feel so hopeless lately\n1\n"
	r := intakebot(t, in, nil, "chat", "--json", "--user", "checked", "--data", data)
	got := sequence(lines(t, r.stdout), func(l jsonLine) string {
		if l.Type == "crisis" {
			return "crisis"
		}
		return ""
	})
	want := "q:consent q:age_18 q:reasons q:risk_check q:reasons q:risk_check crisis"
	if !strings.Contains(got, want) {
		t.Fatalf("sequence %q; want it to contain %q\n%s", got, want, r.stdout)
	}
	r = intakebot(t, "", nil, "handoffs", "list", "--json", "--data", data)
	if !strings.Contains(r.stdout, `"urgent"`) {
		t.Errorf("handoffs after a yes: %s", r.stdout)
	}
}

// TestChatClarifyMidScreening: in the terminal a "Did you mean…" is a
// numbered question; typing a number answers it from that entry and the
// pending screening question comes back.
func TestChatClarifyMidScreening(t *testing.T) {
	data := dataDir(t)
	in := "/screen\nyes\nyes\nhow long does it take?\n1\n"
	r := intakebot(t, in, nil, "chat", "--json", "--user", "unsure", "--data", data)
	ls := lines(t, r.stdout)
	first := ""
	for _, l := range ls {
		if l.Question != "faq_clarify" {
			continue
		}
		ids := map[string]bool{}
		for _, c := range l.Choices {
			ids[c.ID] = true
		}
		if len(l.Choices) < 3 || !ids["how-fast"] || !strings.Contains(l.Text, "Did you mean") {
			t.Errorf("clarify line %+v; want Did you mean with how-fast among the candidates", l)
		}
		if first == "" && len(l.Choices) > 0 {
			first = l.Choices[0].Label
		}
	}
	got := sequence(ls, func(l jsonLine) string {
		if first != "" && strings.Contains(l.Text, "From: "+first) {
			return "answer:first"
		}
		return ""
	})
	if want := "q:consent q:age_18 q:reasons q:faq_clarify answer:first q:reasons"; got != want {
		t.Fatalf("sequence %q; want %q\n%s", got, want, r.stdout)
	}
	// Human mode numbers the candidates.
	r = intakebot(t, "how long does it take\n", nil, "chat", "--user", "unsure2", "--data", data)
	if !strings.Contains(r.stdout, "Did you mean") || !regexp.MustCompile(`(?m)^\s*[1-3]\. How fast it works`).MatchString(r.stdout) {
		t.Errorf("human chat:\n%s\nwant numbered candidates", r.stdout)
	}
}
