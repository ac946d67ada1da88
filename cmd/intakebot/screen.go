package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
)

func runScreen(ctx context.Context, e env, args []string) int {
	if len(args) > 0 && args[0] == "test" {
		return runScreenTest(ctx, e, args[1:])
	}
	var c common
	fs := newFlags("screen", "Usage: intakebot screen --answers FILE [--json]\n       intakebot screen test [DIR]\n\nScore a complete answer set the way a conversation would, with no database;\nor run the clinic's expected-outcome cases (default: the screening_tests/ of the content).", &c)
	answersFile := fs.String("answers", "", "`file` mapping question id to answer (YAML or JSON): an option id, a list for multiple choice, a number or text")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if *answersFile == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	script, err := screening.Load(contentFS(cfg), "screening.yaml")
	if err != nil {
		return fail(e, err)
	}
	src, err := readBounded(*answersFile, screening.MaxAnswersFileBytes)
	if err != nil {
		return fail(e, err)
	}
	answers, err := script.LoadAnswers(*answersFile, src)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFailure
	}
	res := script.Evaluate(answers, false)
	if *jsonOut {
		out := screenJSON{Outcome: res.Outcome, Priority: string(res.Priority), Handoff: res.Handoff, Scores: map[string]scoreJSON{}, Flags: res.Flags, Missing: res.Missing}
		for id, s := range res.Scores {
			out.Scores[id] = scoreJSON{Value: s.Value, Band: s.Band}
		}
		if out.Flags == nil {
			out.Flags = []string{}
		}
		if out.Missing == nil {
			out.Missing = []string{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fail(e, err)
		}
		return exitOK
	}
	printResult(e, script, res)
	return exitOK
}

// readBounded reads a file, refusing one over limit bytes without reading
// more than that.
func readBounded(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(src) > limit {
		return nil, fmt.Errorf("%s: the file is over %d bytes, the limit for an answers file", path, limit)
	}
	return src, nil
}

type scoreJSON struct {
	Value int    `json:"value"`
	Band  string `json:"band"`
}

type screenJSON struct {
	Outcome  string               `json:"outcome"`
	Priority string               `json:"priority"`
	Handoff  bool                 `json:"handoff"`
	Scores   map[string]scoreJSON `json:"scores"`
	Flags    []string             `json:"flags"`
	Missing  []string             `json:"missing"`
}

func printResult(e env, s *screening.Script, res *screening.Result) {
	w := e.stdout
	fmt.Fprintf(w, "Outcome:  %s\nPriority: %s\nHandoff:  %v\n", res.Outcome, res.Priority, res.Handoff)
	printScores(e, s, res.Scores)
	if len(res.Flags) > 0 {
		fmt.Fprintf(w, "Flags:\n  %s\n", strings.Join(s.FlagLabels(res.Flags), "\n  "))
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(w, "Missing answers: %s\n", strings.Join(res.Missing, ", "))
	}
}

func printScores(e env, s *screening.Script, scores map[string]intake.Score) {
	if len(scores) == 0 {
		return
	}
	fmt.Fprintln(e.stdout, "Scores:")
	for _, in := range s.Instruments {
		if sc, ok := scores[in.ID]; ok {
			fmt.Fprintf(e.stdout, "  %-10s %3d  %s\n", in.Name, sc.Value, sc.Band)
		}
	}
}

func runScreenTest(_ context.Context, e env, args []string) int {
	c := common{args: 1}
	fset := newFlags("screen test", "Usage: intakebot screen test [--prompts DIR] [DIR]\n\nRun the expected-outcome cases in DIR/*.yaml (default: screening_tests/ of the content)\nagainst the screening script, and report every failure.", &c)
	cfg, code, ok := c.setup(fset, e, args)
	if !ok {
		return code
	}
	script, err := screening.Load(contentFS(cfg), "screening.yaml")
	if err != nil {
		return fail(e, err)
	}
	var casesFS fs.FS = contentFS(cfg)
	dir := "screening_tests"
	if fset.NArg() > 0 {
		casesFS, dir = os.DirFS(fset.Arg(0)), "."
	}
	results, err := screening.RunTests(script, casesFS, dir)
	if err != nil {
		return fail(e, err)
	}
	failed := 0
	for _, r := range results {
		if len(r.Failures) == 0 {
			fmt.Fprintf(e.stdout, "ok    %s\n", r.Name)
			continue
		}
		failed++
		fmt.Fprintf(e.stdout, "FAIL  %s:%d: %s\n", r.File, r.Line, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintf(e.stdout, "        %s\n", f)
		}
	}
	fmt.Fprintf(e.stdout, "\nscreening cases: %d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return exitFailure
	}
	return exitOK
}

func runCheck(_ context.Context, e env, args []string) int {
	var c common
	fs := newFlags("check", "Usage: intakebot check [--prompts DIR]\n\nValidate every content file (screening.yaml, safety.yaml, clinic.yaml,\nmessages.yaml, system.md, faq/, screening_tests/). Exit 1 listing every problem with file:line.", &c)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	fsys := contentFS(cfg)
	b, err := loadContent(fsys)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFailure
	}
	// The test cases must at least parse and name real questions.
	results, err := screening.RunTests(b.script, fsys, "screening_tests")
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitFailure
	}
	where := "embedded prompts"
	if cfg.PromptsDir != "" {
		where = cfg.PromptsDir
	}
	fmt.Fprintf(e.stdout, "%s: OK (script %s: %d questions, %d instruments, %d outcome rules, %d flags; %d test cases; %d knowledge-base entries)\n",
		where, b.script.Version, len(b.script.Questions), len(b.script.Instruments), len(b.script.Outcomes), len(b.script.Flags), len(results), len(b.kb.Entries))
	if ph := b.clinic.Placeholders(); len(ph) > 0 {
		fmt.Fprintf(e.stdout, "Still to fill in clinic.yaml (shown to patients as placeholders): %s\n", strings.Join(ph, ", "))
	}
	if hp := b.clinic.HoursProblems(); len(hp) > 0 {
		fmt.Fprintf(e.stdout, "`intakebot run` needs the clinic's time zone and hours (for paging and reminders): %s\n", strings.Join(hp, "; "))
	}
	return exitOK
}
