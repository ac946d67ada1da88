package safety_test

import (
	"os"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/safety"
)

func corpus(t testing.TB) (train, held []safety.Sample) {
	t.Helper()
	samples, err := safety.ReadCorpusDir(os.DirFS("testdata"), "corpus")
	if err != nil {
		t.Fatal(err)
	}
	return safety.Split(samples)
}

func TestCorpusReport(t *testing.T) {
	d := detector(t)
	train, held := corpus(t)
	for _, part := range []struct {
		name    string
		samples []safety.Sample
	}{{"training", train}, {"held-out", held}} {
		var b strings.Builder
		rep := d.Evaluate(part.samples)
		rep.Write(&b)
		t.Logf("%s part (%d sentences):\n%s", part.name, len(part.samples), b.String())
		if part.name == "training" && os.Getenv("SAFETY_CV") != "" {
			cv, err := d.CrossValidate(train, 5)
			if err != nil {
				t.Fatal(err)
			}
			b.Reset()
			cv.Write(&b)
			t.Logf("training part, 5-fold cross-validated:\n%s", b.String())
			if os.Getenv("SAFETY_CV") == "misses" {
				t.Logf("misses:\n%s\nfalse alarms:\n%s", strings.Join(cv.Misses, "\n"), strings.Join(cv.FalseAlarms, "\n"))
			}
		}
	}
}
