package screening

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/content"
	"github.com/intakebot/intakebot/internal/intake"
)

// AnswersFromMap converts a plain answer set (question id to an option's id
// or label, a list of them for multiple choice, a number, or text) into
// validated answers. Every problem is returned, keyed by question id.
//
// An optional question left out, null or "" is skipped, as a patient skips
// it in a conversation, so a complete set without the notes is complete.
//
// It is stricter than the chat, where a choice may be typed as its number
// on the screen: a file has no screen, so a number for a choice is refused
// (unless the options' ids are numbers), rather than read as a position that
// silently shifts a score.
func (s *Script) AnswersFromMap(m map[string]any) (Answers, map[string]string) {
	out := Answers{}
	bad := map[string]string{}
	at := time.Unix(0, 0).UTC()
	for id, v := range m {
		q := s.byID[id]
		if q == nil {
			bad[id] = "no such question in the script"
			continue
		}
		if q.Optional && isEmpty(v) {
			out[id] = intake.Answer{QuestionID: id, At: at, Skipped: true}
			continue
		}
		a, err := q.fromValue(v, at)
		if err != nil {
			bad[id] = strings.TrimSpace(intake.ErrorMessage(err))
			if intake.ErrorCode(err) == intake.EINTERNAL {
				bad[id] = err.Error()
			}
			continue
		}
		out[id] = a
	}
	for _, q := range s.Questions {
		if _, given := m[q.ID]; q.Optional && !given {
			out[q.ID] = intake.Answer{QuestionID: q.ID, At: at, Skipped: true}
		}
	}
	return out, bad
}

// isEmpty says whether a decoded value is no answer at all: null or blank text.
func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// fromValue converts one decoded YAML or JSON value to an answer to q.
func (q *Question) fromValue(v any, at time.Time) (intake.Answer, error) {
	switch x := v.(type) {
	case nil:
		return intake.Answer{}, intake.Errorf(intake.EINVALID, "empty answer")
	case map[string]any:
		return intake.Answer{}, intake.Errorf(intake.EINVALID, "a mapping is not an answer. %s", q.Hint())
	case []any:
		if q.Kind != KindMultiple {
			return intake.Answer{}, intake.Errorf(intake.EINVALID, "a list is only for a question where several options may be chosen. %s", q.Hint())
		}
		ids := make([]string, 0, len(x))
		for _, e := range x {
			o, err := q.optionFor(e)
			if err != nil {
				return intake.Answer{}, err
			}
			ids = append(ids, o.ID)
		}
		return q.FromChoices(ids, at)
	case bool:
		// YAML 1.1 readers turn yes/no into booleans; accept them for
		// yes/no questions.
		word := map[bool]string{true: "yes", false: "no"}[x]
		if q.Kind != KindYesNo {
			return intake.Answer{}, intake.Errorf(intake.EINVALID, "%q isn't one of the options. %s", word, q.Hint())
		}
		return q.FromChoices([]string{word}, at)
	}
	if !q.HasChoices() {
		if s, ok := v.(string); ok {
			return q.ParseText(s, at)
		}
		if isNumber(v) {
			return q.ParseText(fmt.Sprint(v), at)
		}
		return intake.Answer{}, intake.Errorf(intake.EINVALID, "a %T is not an answer. %s", v, q.Hint())
	}
	if s, ok := v.(string); ok && q.Kind == KindMultiple && strings.Contains(s, ",") {
		var ids []string
		for _, part := range strings.Split(s, ",") {
			o, err := q.optionFor(strings.TrimSpace(part))
			if err != nil {
				return intake.Answer{}, err
			}
			ids = append(ids, o.ID)
		}
		return q.FromChoices(ids, at)
	}
	if s, ok := v.(string); ok && strings.EqualFold(strings.TrimSpace(s), "skip") {
		return q.FromChoices([]string{"skip"}, at)
	}
	o, err := q.optionFor(v)
	if err != nil {
		return intake.Answer{}, err
	}
	return q.FromChoices([]string{o.ID}, at)
}

// optionFor finds the option a file names by id or label (any case), never
// by position; a number names an option only if that is its id.
func (q *Question) optionFor(v any) (*Option, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	default:
		if !isNumber(v) {
			return nil, intake.Errorf(intake.EINVALID, "a %T is not an option. %s", v, q.Hint())
		}
		s = fmt.Sprint(v)
		if o := q.Option(s); o != nil {
			return o, nil
		}
		return nil, intake.Errorf(intake.EINVALID, "%s is a number, and a number is not read as an option's position here: use the option's id or label (%s)",
			s, strings.Join(q.optionIDs(), ", "))
	}
	for _, o := range q.Options {
		if strings.EqualFold(o.ID, s) || strings.EqualFold(o.Label, s) || o.ID == strings.ReplaceAll(strings.ToLower(s), " ", "_") {
			return o, nil
		}
	}
	if _, err := strconv.Atoi(s); err == nil {
		return nil, intake.Errorf(intake.EINVALID, "%q is a number, and a number is not read as an option's position here: use the option's id or label (%s)",
			s, strings.Join(q.optionIDs(), ", "))
	}
	return nil, intake.Errorf(intake.EINVALID, "%q isn't one of the options (%s)", clip(s), strings.Join(q.optionIDs(), ", "))
}

func (q *Question) optionIDs() []string {
	ids := make([]string, len(q.Options))
	for i, o := range q.Options {
		ids[i] = o.ID
	}
	return ids
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, uint64, float64, uint, int32, uint32, float32:
		return true
	}
	return false
}

// Answers files are small: one line per question.
const (
	MaxAnswersFileBytes = 64 << 10
	maxAnswersDepth     = 4
)

// LoadAnswers reads an answers file (YAML or JSON: question id to answer,
// as AnswersFromMap takes) strictly: over MaxAnswersFileBytes, anchors and
// aliases, deep nesting, duplicate keys and every bad answer are problems
// with file:line.
func (s *Script) LoadAnswers(name string, src []byte) (Answers, error) {
	raw := map[string]any{}
	doc, err := content.DecodeUntrusted(name, src, &raw, content.Limits{MaxBytes: MaxAnswersFileBytes, MaxDepth: maxAnswersDepth})
	if err != nil {
		return nil, err
	}
	answers, bad := s.AnswersFromMap(raw)
	var ps content.Problems
	for id, msg := range bad {
		ps = append(ps, doc.Problem("$."+id, "%s: %s", id, msg))
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return answers, nil
}

// TestCase is one clinic-written expected outcome.
type TestCase struct {
	Name    string         `yaml:"name"`
	Answers map[string]any `yaml:"answers"`
	Crisis  bool           `yaml:"crisis_language"`
	Expect  struct {
		Outcome  string            `yaml:"outcome"`
		Priority string            `yaml:"priority"`
		Scores   map[string]int    `yaml:"scores"`
		Bands    map[string]string `yaml:"bands"`
		Flags    *[]string         `yaml:"flags"` // exact set when given
		Missing  *[]string         `yaml:"missing"`
	} `yaml:"expect"`
}

type testFile struct {
	// Base answers shared by every case in the file; a case's answers
	// override them, and a null answer removes one.
	Base  map[string]any `yaml:"base"`
	Cases []TestCase     `yaml:"cases"`
}

// TestResult is the verdict on one case.
type TestResult struct {
	File     string
	Line     int
	Name     string
	Failures []string
}

// RunTests runs every *.yaml case file in dir of fsys against s. The error is
// for files that cannot be read or parsed.
func RunTests(s *Script, fsys fs.FS, dir string) ([]TestResult, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, content.Problems{{File: dir, Msg: "no test case files (*.yaml)"}}
	}
	sort.Strings(names)
	var out []TestResult
	var ps content.Problems
	for _, name := range names {
		var f testFile
		doc, err := content.ReadFile(fsys, name, &f)
		if err != nil {
			ps = append(ps, content.AsProblems(err)...)
			continue
		}
		for i, tc := range f.Cases {
			out = append(out, s.runCase(doc, name, i, f.Base, tc))
		}
	}
	return out, ps.Err()
}

func (s *Script) runCase(doc *content.Doc, file string, i int, base map[string]any, tc TestCase) TestResult {
	r := TestResult{File: file, Line: doc.Line(fmt.Sprintf("$.cases[%d]", i)), Name: tc.Name}
	if r.Name == "" {
		r.Name = fmt.Sprintf("case %d", i+1)
	}
	merged := map[string]any{}
	for k, v := range base {
		merged[k] = v
	}
	for k, v := range tc.Answers {
		if v == nil {
			delete(merged, k)
			continue
		}
		merged[k] = v
	}
	answers, bad := s.AnswersFromMap(merged)
	for _, id := range sortedKeys(bad) {
		r.Failures = append(r.Failures, fmt.Sprintf("answer %s: %s", id, bad[id]))
	}
	res := s.Evaluate(answers, tc.Crisis)
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	if tc.Expect.Outcome == "" {
		fail("expect.outcome is missing")
	} else if res.Outcome != tc.Expect.Outcome {
		fail("outcome = %s, want %s", res.Outcome, tc.Expect.Outcome)
	}
	if tc.Expect.Priority != "" && string(res.Priority) != tc.Expect.Priority {
		fail("priority = %s, want %s", res.Priority, tc.Expect.Priority)
	}
	for _, id := range sortedKeys(tc.Expect.Scores) {
		got, ok := res.Scores[id]
		switch {
		case !ok:
			fail("score %s: not scored (no item asked), want %d", id, tc.Expect.Scores[id])
		case got.Value != tc.Expect.Scores[id]:
			fail("score %s = %d, want %d", id, got.Value, tc.Expect.Scores[id])
		}
	}
	for _, id := range sortedKeys(tc.Expect.Bands) {
		got, ok := res.Scores[id]
		switch {
		case !ok:
			fail("band %s: not scored (no item asked), want %s", id, tc.Expect.Bands[id])
		case got.Band != tc.Expect.Bands[id]:
			fail("band %s = %s, want %s", id, got.Band, tc.Expect.Bands[id])
		}
	}
	if tc.Expect.Flags != nil && !sameSet(res.Flags, *tc.Expect.Flags) {
		fail("flags = [%s], want [%s]", strings.Join(res.Flags, ", "), strings.Join(*tc.Expect.Flags, ", "))
	}
	if tc.Expect.Missing != nil && !sameSet(res.Missing, *tc.Expect.Missing) {
		fail("missing = [%s], want [%s]", strings.Join(res.Missing, ", "), strings.Join(*tc.Expect.Missing, ", "))
	}
	return r
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
