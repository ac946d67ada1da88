package faq_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/faq"
)

// figures are what retrieval did with a labelled set.
type figures struct {
	entries, top1, top3          int // questions for an entry; best hit right; right in the top three
	answered, clarified, wrong   int // right answer; clarify holding it; answered with another entry
	unanswered, feelingAsSupport int
	offtopic, offAnswered        int
	offClarified                 int
	feelings, feelingAnswered    int
	social, socialReplied        int // thanks and goodbyes; given the social reply
	socialAnswered               int // given an entry
	deflects, deflected          int // requests only a clinician may answer; deflected by retrieval
	entryDeflected               int // entry questions deflected by retrieval
	misses                       []string
}

func (f figures) String() string {
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(max(1, b)) }
	return fmt.Sprintf("entry questions %d: top-1 %.1f%%, top-3 %.1f%%; answered right %.1f%%, clarify holding it %.1f%%, "+
		"answered wrong %.1f%%, not answered %.1f%%; off-topic %d: answered %d, clarify %d; feelings %d: support %d, answered %d; "+
		"thanks and goodbyes %d: social reply %d, answered %d; clinician requests %d: deflected %d (entry questions deflected %d)",
		f.entries, pct(f.top1, f.entries), pct(f.top3, f.entries), pct(f.answered, f.entries), pct(f.clarified, f.entries),
		pct(f.wrong, f.entries), pct(f.unanswered, f.entries), f.offtopic, f.offAnswered, f.offClarified,
		f.feelings, f.feelingAsSupport, f.feelingAnswered, f.social, f.socialReplied, f.socialAnswered, f.deflects, f.deflected, f.entryDeflected)
}

// evaluate runs decide over rows. Deflection rows count what retrieval's
// own deflection catches (the safety rules' patterns run before it, in the
// engine, and are measured there).
func evaluate(rows []faq.BankRow, decide func(i int, q string) faq.Verdict) figures {
	var f figures
	for i, r := range rows {
		want := r.Entry()
		switch {
		case r.Label == faq.LabelOffTopic:
			f.offtopic++
			v := decide(i, r.Text)
			switch v.Kind {
			case faq.KindAnswer:
				f.offAnswered++
				f.misses = append(f.misses, fmt.Sprintf("offtopic answered %s: %q", v.Best().ID, r.Text))
			case faq.KindClarify:
				f.offClarified++
			}
		case r.Label == faq.LabelSocial:
			f.social++
			switch v := decide(i, r.Text); v.Kind {
			case faq.KindSocial:
				f.socialReplied++
			case faq.KindAnswer:
				f.socialAnswered++
				f.misses = append(f.misses, fmt.Sprintf("social answered %s: %q", v.Best().ID, r.Text))
			}
		case strings.HasPrefix(r.Label, "deflect:"):
			f.deflects++
			if decide(i, r.Text).Kind == faq.KindDeflect {
				f.deflected++
			}
		case r.Label == faq.LabelFeeling:
			f.feelings++
			v := decide(i, r.Text)
			switch v.Kind {
			case faq.KindFeeling:
				f.feelingAsSupport++
			case faq.KindAnswer:
				f.feelingAnswered++
			}
		case want != "":
			f.entries++
			v := decide(i, r.Text)
			for j, h := range v.Hits {
				if h.Entry.ID == want && j < 3 {
					if j == 0 {
						f.top1++
					}
					f.top3++
				}
			}
			got := "-"
			if b := v.Best(); b != nil {
				got = b.ID
			}
			if v.Kind == faq.KindDeflect {
				f.entryDeflected++
			}
			switch {
			case v.Kind == faq.KindAnswer && got == want:
				f.answered++
			case v.Kind == faq.KindAnswer:
				f.wrong++
			case v.Kind == faq.KindClarify && hasHit(v, want):
				f.clarified++
			default:
				f.unanswered++
			}
			if got != want || v.Kind != faq.KindAnswer {
				f.misses = append(f.misses, fmt.Sprintf("%s %s (want %s): %q", v.Kind, got, want, r.Text))
			}
		}
	}
	sort.Strings(f.misses)
	return f
}

func hasHit(v faq.Verdict, id string) bool {
	for _, h := range v.Hits {
		if h.Entry.ID == id {
			return true
		}
	}
	return false
}

func readRows(t testing.TB, name string) []faq.BankRow {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := faq.ReadBank(name, src)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// folds is the number of parts of the bank's cross-validation.
const folds = 5

// bankFigures is k-fold cross-validation on the bank: each paraphrase is
// scored by an index built without its fold.
func bankFigures(kb *faq.KB, syn faq.Synonyms, p faq.Params) figures {
	ixs := make([]*faq.Index, folds)
	for f := range ixs {
		ixs[f] = faq.NewIndexExcluding(kb, syn, p, func(row int) bool { return row%folds != f })
	}
	return evaluate(kb.Bank, func(i int, q string) faq.Verdict { return ixs[i%folds].Decide(q) })
}

// The goals on the held-out set are top-1 >= 92%, top-3 >= 98% and no
// off-topic question answered; measured 93.7%, 98.3% and none. The floors
// sit a point below, so a change of one or two held-out questions (the
// bank is retrained on any edit) does not fail the build, and a real
// regression does.
const (
	heldOutTop1Floor        = 0.91
	heldOutTop3Floor        = 0.97
	heldOutOffAnsweredLimit = 0
)

// TestRetrievalHeldOut reports retrieval on the held-out paraphrases (never
// used for tuning) beside the bank's own figures (5-fold cross-validation).
// No bank off-topic question is answered; on the held-out set the floors
// above hold.
func TestRetrievalHeldOut(t *testing.T) {
	kb, syn := load(t)
	if len(kb.Bank) < 600 {
		t.Fatalf("bank has %d paraphrases; want the shipped bank", len(kb.Bank))
	}
	ix := faq.NewIndex(kb, syn)
	bank := bankFigures(kb, syn, faq.DefaultParams)
	held := evaluate(readRows(t, "testdata/faq-heldout.tsv"), func(_ int, q string) faq.Verdict { return ix.Decide(q) })
	t.Logf("bank (5-fold cross-validated): %v", bank)
	t.Logf("held-out: %v", held)
	if os.Getenv("FAQ_BANK_MISSES") != "" {
		// Misses are listed for the bank only: the held-out set is never read
		// to fix a miss.
		t.Logf("bank misses:\n%s", strings.Join(bank.misses, "\n"))
	}
	// The bank's off-topic questions (cross-validated) are answered at
	// most 0.5% of the time: the rule MaxOffTopic and ClearLead were chosen
	// by.
	if bank.offAnswered*200 > bank.offtopic {
		t.Errorf("%d of %d bank off-topic questions answered (cross-validated); want at most 0.5%%", bank.offAnswered, bank.offtopic)
	}
	if held.offAnswered > heldOutOffAnsweredLimit {
		t.Errorf("%d held-out off-topic questions answered; want at most %d", held.offAnswered, heldOutOffAnsweredLimit)
	}
	// Thanks and goodbyes (held-out: a separate writer's sign-offs) get the
	// reply in kind. Floors at the measured figures: a few that name a topic
	// ("got it, no driving after") get that entry, which does no harm.
	if held.socialAnswered*100 > held.social*6 || bank.socialAnswered*100 > bank.social*5 {
		t.Errorf("thanks and goodbyes answered with an entry: held-out %d of %d (at most 6%%), bank %d of %d (at most 5%%)",
			held.socialAnswered, held.social, bank.socialAnswered, bank.social)
	}
	if held.socialReplied*100 < held.social*72 {
		t.Errorf("held-out thanks and goodbyes: %d of %d got the social reply; want 72%%", held.socialReplied, held.social)
	}
	// Retrieval deflects most of the bank's requests only a clinician may
	// answer on its own (cross-validated: 532 of 728); 400 when a weak
	// feeling or social score could take a request the classifier was sure of.
	if bank.deflected*100 < bank.deflects*70 {
		t.Errorf("bank requests deflected by retrieval (cross-validated): %d of %d; want 70%%", bank.deflected, bank.deflects)
	}
	// Retrieval's own deflection (the safety rules' patterns run first, in
	// the engine) rarely takes an entry question: at most 0.5% of either set.
	if held.entryDeflected*200 > held.entries || bank.entryDeflected*200 > bank.entries {
		t.Errorf("entry questions deflected by retrieval: held-out %d of %d, bank %d of %d (at most 0.5%%)",
			held.entryDeflected, held.entries, bank.entryDeflected, bank.entries)
	}
	if held.feelingAnswered > 0 {
		t.Errorf("%d held-out statements of feelings answered with an entry", held.feelingAnswered)
	}
	p1 := float64(held.top1) / float64(held.entries)
	p3 := float64(held.top3) / float64(held.entries)
	if p1 < heldOutTop1Floor || p3 < heldOutTop3Floor {
		t.Errorf("held-out top-1 %.1f%% (floor %.0f%%), top-3 %.1f%% (floor %.0f%%)", 100*p1, 100*heldOutTop1Floor, 100*p3, 100*heldOutTop3Floor)
	}
}
