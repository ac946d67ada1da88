package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/seal"
)

// largeTables grow with the clinic's patients and their history.
var largeTables = map[string]bool{"patients": true, "sessions": true, "answers": true, "cases": true,
	"outbox": true, "audit": true, "processed_events": true}

var (
	scanRe = regexp.MustCompile(`^SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?`)
	// A search on status alone reads every row of that status: all open
	// cases, all active sessions.
	statusOnly = regexp.MustCompile(`^SEARCH (\w+) USING (?:COVERING )?INDEX \w+ \(status=\?\)`)
	numbers    = regexp.MustCompile(`\?(\d+)`)
)

// params is how many arguments q takes.
func params(q string) int {
	if m := numbers.FindAllStringSubmatch(q, -1); m != nil {
		n := 0
		for _, x := range m {
			v, _ := strconv.Atoi(x[1])
			n = max(n, v)
		}
		return n
	}
	return strings.Count(q, "?")
}

// TestHotStatementsUseIndexes runs EXPLAIN QUERY PLAN on every prepared
// statement (every lookup and write on a hot path goes through one) and
// fails on a full scan of a table that grows with the data. A scan of a
// partial index is allowed: its size is the pending work (the outbox's
// queue heads), not the history.
func TestHotStatementsUseIndexes(t *testing.T) {
	ctx := context.Background()
	sl, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, filepath.Join(t.TempDir(), "db"), sl, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	partial := map[string]bool{}
	rows, err := st.db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			t.Fatal(err)
		}
		partial[name] = strings.Contains(strings.ToUpper(q), " WHERE ")
	}
	rows.Close()

	all := map[string]string{qPatientFind: patientFindSQL(len(sl.Hashes(nil)))}
	for name, q := range readSQL {
		all[name] = q
	}
	for name, q := range writeSQL {
		all[name] = q
	}
	if len(all) != len(st.rs)+len(st.ws) {
		t.Fatalf("%d statements checked, %d prepared", len(all), len(st.rs)+len(st.ws))
	}
	for name, q := range all {
		t.Run(name, func(t *testing.T) {
			rows, err := st.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, make([]any, params(q))...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			for _, step := range plan {
				if m := statusOnly.FindStringSubmatch(step); m != nil && largeTables[m[1]] {
					t.Errorf("reads every row of one status in %s: %q\nsql: %s", m[1], step, q)
				}
				m := scanRe.FindStringSubmatch(step)
				if m == nil || !largeTables[m[1]] {
					continue
				}
				if m[2] != "" && partial[m[2]] {
					continue
				}
				t.Errorf("full scan of %s: %q\nplan: %s\nsql: %s", m[1], step, strings.Join(plan, " | "), q)
			}
		})
	}
}
