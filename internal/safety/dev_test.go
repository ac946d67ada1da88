package safety_test

import (
	"bufio"
	"os"
	"testing"
)

// TestDevLevels prints the level of each line of $SAFETY_DEV (a tuning aid
// on training sentences; skipped unless set).
func TestDevLevels(t *testing.T) {
	path := os.Getenv("SAFETY_DEV")
	if path == "" {
		t.Skip("SAFETY_DEV not set")
	}
	d := detector(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r := d.Assess(sc.Text())
		t.Logf("%-9s %-22s %-24s %.2f | %s\n%s", r.Level, r.Construct, r.Rule, r.Score, sc.Text(), d.Explain(sc.Text()))
	}
}

func TestDevThresholds(t *testing.T) {
	if os.Getenv("SAFETY_DEV") == "" {
		t.Skip("SAFETY_DEV not set")
	}
	c, k, o := detector(t).Thresholds()
	t.Logf("crisisAt %.6f checkAt %.6f otherAt %.6f", c, k, o)
}
