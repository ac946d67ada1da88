package screening

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/content"
	"github.com/intakebot/intakebot/internal/intake"
)

// AnswersFromMap converts a plain answer set (question id to option id, a list
// of option ids for multiple choice, a number, or text) into validated answers.
// Every problem is returned, keyed by question id.
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
		var a intake.Answer
		var err error
		switch x := v.(type) {
		case []any:
			ids := make([]string, 0, len(x))
			for _, e := range x {
				ids = append(ids, fmt.Sprint(e))
			}
			a, err = q.FromChoices(ids, at)
		case string:
			if q.HasChoices() && q.Kind != KindMultiple {
				a, err = q.FromChoices([]string{x}, at)
			} else {
				a, err = q.ParseText(x, at)
			}
		case bool:
			// YAML 1.1 readers turn yes/no into booleans; accept them for
			// yes/no questions.
			word := map[bool]string{true: "yes", false: "no"}[x]
			a, err = q.FromChoices([]string{word}, at)
		case nil:
			err = fmt.Errorf("empty answer")
		default:
			a, err = q.ParseText(fmt.Sprint(x), at)
		}
		if err != nil {
			bad[id] = strings.TrimSpace(intake.ErrorMessage(err))
			if intake.ErrorCode(err) == intake.EINTERNAL {
				bad[id] = err.Error()
			}
			continue
		}
		out[id] = a
	}
	return out, bad
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
