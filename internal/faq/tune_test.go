package faq_test

import (
	"os"
	"testing"

	"github.com/intakebot/intakebot/internal/faq"
)

// TestTuneOnBank is the search that set faq.DefaultParams, by 5-fold
// cross-validation on the bank alone (run with FAQ_TUNE=1 -v; each line is
// one setting's figures); the chosen values go into DefaultParams by hand.
// It never reads the held-out set. Stages, each from DefaultParams:
//  1. the mix of the three readings, for ranking (top-1, top-3);
//  2. the answer threshold and the gap between the best two (fewest wrong
//     answers while the most right ones stay outright);
//  3. the guards that keep off-topic questions unanswered: the share of
//     unknown words and the classifier's off-topic belief above which a
//     question is at most clarified (no bank off-topic question answered).
func TestTuneOnBank(t *testing.T) {
	if os.Getenv("FAQ_TUNE") == "" {
		t.Skip("set FAQ_TUNE=1 to search retrieval parameters on the bank")
	}
	kb, syn := load(t)
	base := faq.DefaultParams
	for _, w := range []float64{0, 0.2, 0.4} {
		for _, n := range []float64{0, 0.3, 0.6} {
			for _, c := range []float64{0, 0.5, 1} {
				p := base
				p.EntryWeight, p.NearWeight, p.ClassWeight = w, n, c
				f := bankFigures(kb, syn, p)
				t.Logf("stage 1 entry=%.1f near=%.1f class=%.1f: top-1 %d, top-3 %d of %d", w, n, c, f.top1, f.top3, f.entries)
			}
		}
	}
	for _, ans := range []float64{0.3, 0.4, 0.5} {
		for _, gap := range []float64{0, 0.1, 0.15} {
			p := base
			p.Answer, p.Gap = ans, gap
			t.Logf("stage 2 answer=%.2f gap=%.2f: %v", ans, gap, bankFigures(kb, syn, p))
		}
	}
	for _, au := range []float64{0.1, 0.15, 0.25, 0.4, 1} {
		for _, mo := range []float64{0.05, 0.1, 1} {
			p := base
			p.AnswerUnknown, p.MaxOffTopic = au, mo
			t.Logf("stage 3 answer-unknown=%.2f max-offtopic=%.2f: %v", au, mo, bankFigures(kb, syn, p))
		}
	}
}
