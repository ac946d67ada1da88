package faq_test

import (
	"os"
	"testing"

	"github.com/intakebot/intakebot/internal/faq"
)

// TestTuneOnBank searches retrieval's weights and thresholds by
// leave-one-out on the bank alone (run with FAQ_TUNE=1 -v); the chosen
// values go into faq.DefaultParams by hand. It never reads the held-out set.
func TestTuneOnBank(t *testing.T) {
	if os.Getenv("FAQ_TUNE") == "" {
		t.Skip("set FAQ_TUNE=1 to search retrieval parameters on the bank")
	}
	kb, syn := load(t)
	base := faq.DefaultParams
	// Thresholds, once the weights are chosen: the fewest wrong answers and
	// no off-topic question answered, then the most right answers.
	for _, au := range []float64{0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 1} {
		for _, mo := range []float64{0.05, 0.1, 1} {
			p := base
			p.AnswerUnknown, p.MaxOffTopic = au, mo
			f := bankFigures(kb, syn, p)
			t.Logf("answer-unknown=%.2f max-offtopic=%.2f: %v", au, mo, f)
		}
	}
}
