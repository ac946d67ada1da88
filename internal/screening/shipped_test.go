package screening_test

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/prompts"
)

func shipped(t testing.TB) *screening.Script {
	t.Helper()
	s, err := screening.Load(prompts.Embedded(), "screening.yaml")
	if err != nil {
		t.Fatalf("load shipped script:\n%v", err)
	}
	return s
}

// TestShippedCases runs prompts/screening_tests, which together cover every
// outcome rule, band boundary and flag of the shipped script.
func TestShippedCases(t *testing.T) {
	s := shipped(t)
	results, err := screening.RunTests(s, prompts.Embedded(), "screening_tests")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 15 {
		t.Fatalf("%d shipped cases; want at least 15", len(results))
	}
	for _, r := range results {
		if len(r.Failures) > 0 {
			t.Errorf("%s:%d %s:\n  %s", r.File, r.Line, r.Name, strings.Join(r.Failures, "\n  "))
		}
	}
}
