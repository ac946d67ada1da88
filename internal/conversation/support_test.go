package conversation_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
)

// readLabelled reads labelled lines from the files that match pattern.
func readLabelled(t *testing.T, pattern string) []faq.BankRow {
	t.Helper()
	names, err := filepath.Glob(pattern)
	if err != nil || len(names) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	var all []faq.BankRow
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := faq.ReadBank(name, src)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
	}
	return all
}

// safetyKinds are the replies of the crisis reading, which runs first and
// may answer a statement of distress with a direct check or the resources.
var safetyKinds = map[string]bool{
	conversation.KindCheck: true, conversation.KindCrisis: true, conversation.KindEmergency: true, conversation.KindOtherPerson: true,
}

type replyFigures struct {
	feelings, supported, feelingSafety, feelingEntry int
	deflects, deflected, deflectRightGeneral         int
	deflectSafety                                    int // given a safety reply, which comes first
	deflectNoGeneral                                 int // deflected with no entry where the writers chose one
	// deflectedAfterNo and deflectRightAfterNo: of the requests given the
	// direct question first, those deflected once the patient answers no,
	// and with the writers' entry (or none).
	deflectedAfterNo, deflectRightAfterNo int
	medqs, medqAnswered, medqClarified    int
	entryQuestions, entryDeflected        int
	misses                                []string
}

func (f replyFigures) String() string {
	return fmt.Sprintf("feelings %d: support %d, safety reply %d, an entry %d; deflection requests %d: deflected %d (general information right %d, none shown where the writers chose one %d), safety reply %d (deflected after no %d, right %d); "+
		"medicine questions %d: answered from the right entry %d, clarify holding it %d; other entry questions %d: deflected %d",
		f.feelings, f.supported, f.feelingSafety, f.feelingEntry, f.deflects, f.deflected, f.deflectRightGeneral, f.deflectNoGeneral, f.deflectSafety, f.deflectedAfterNo, f.deflectRightAfterNo,
		f.medqs, f.medqAnswered, f.medqClarified, f.entryQuestions, f.entryDeflected)
}

func replyFiguresOf(h *harness, rows []faq.BankRow) replyFigures {
	var f replyFigures
	for _, r := range rows {
		label := r.Label
		switch {
		case label == faq.LabelFeeling:
			f.feelings++
			a := h.engine.Ask(context.Background(), r.Text)
			switch {
			case a.Kind == conversation.KindSupport:
				f.supported++
			case safetyKinds[a.Kind]:
				f.feelingSafety++
			default:
				f.misses = append(f.misses, fmt.Sprintf("feeling -> %s %v: %q", a.Kind, a.Sources, r.Text))
				if len(a.Sources) > 0 && a.Kind != conversation.KindClarify {
					f.feelingEntry++
				}
			}
		case strings.HasPrefix(label, "deflect:"):
			f.deflects++
			want := strings.TrimPrefix(label, "deflect:")
			a := h.engine.Ask(context.Background(), r.Text)
			got := "none"
			if len(a.Sources) > 0 {
				got = a.Sources[0]
			}
			if safetyKinds[a.Kind] {
				f.deflectSafety++
				if a.Kind == conversation.KindCheck {
					f.afterNo(h, r.Text, want)
				}
			}
			if a.Kind == conversation.KindDeflect {
				f.deflected++
				if got == want {
					f.deflectRightGeneral++
				} else {
					if got == "none" {
						f.deflectNoGeneral++
					}
					f.misses = append(f.misses, fmt.Sprintf("deflect general %s (want %s): %q", got, want, r.Text))
				}
			} else {
				f.misses = append(f.misses, fmt.Sprintf("not deflected (%s %s, want %s): %q", a.Kind, got, want, r.Text))
			}
		case label != faq.LabelOffTopic && r.Entry() == label:
			f.entryQuestions++
			if a := h.engine.Ask(context.Background(), r.Text); a.Kind == conversation.KindDeflect {
				f.entryDeflected++
				f.misses = append(f.misses, fmt.Sprintf("entry question deflected (%s, want %s): %q", a.Advice, label, r.Text))
			}
		case strings.HasPrefix(label, "medq:"):
			f.medqs++
			want := strings.TrimPrefix(label, "medq:")
			a := h.engine.Ask(context.Background(), r.Text)
			switch {
			case a.Kind == conversation.KindAnswer && len(a.Sources) > 0 && a.Sources[0] == want:
				f.medqAnswered++
			case a.Kind == conversation.KindClarify && contains(a.Sources, want):
				f.medqClarified++
			default:
				f.misses = append(f.misses, fmt.Sprintf("medq %s %v (want %s): %q", a.Kind, a.Sources, want, r.Text))
			}
		}
	}
	return f
}

// afterNo asks text as a new patient would, answers the direct question
// no, and counts whether the request is then deflected with the entry want
// (or none).
func (f *replyFigures) afterNo(h *harness, request, want string) {
	h.user = fmt.Sprintf("after-no-%d", f.deflectSafety)
	defer func(u string) { h.user = u }(h.user)
	rs := h.say(request)
	if pending(rs) != conversation.CheckQuestionID {
		return
	}
	reply := text(h.click(conversation.CheckQuestionID, conversation.CheckNo))
	if !strings.Contains(reply, "a clinician needs to answer") {
		return
	}
	f.deflectedAfterNo++
	shown := "none"
	for id, title := range entryTitles(h.t) {
		if strings.Contains(reply, "From: "+title+"\n") {
			shown = id
		}
	}
	if shown == want {
		f.deflectRightAfterNo++
	}
}

// entryTitles maps the shipped entries' ids to their titles (read from
// their front matter).
func entryTitles(t testing.TB) map[string]string {
	t.Helper()
	names, err := filepath.Glob("../../prompts/faq/*.md")
	if err != nil || len(names) == 0 {
		t.Fatalf("no entries (%v)", err)
	}
	out := map[string]string{}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if title, ok := strings.CutPrefix(line, "title:"); ok {
				out[strings.TrimSuffix(filepath.Base(name), ".md")] = strings.Trim(strings.TrimSpace(title), `"'`)
				break
			}
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestFeelingsDeflectionsAndMedicineQuestions reports, on the bank and on the
// held-out set, how statements of feelings, requests only a clinician may
// answer, and ordinary questions about medicines are replied to. No feeling
// gets an entry; every deflection shows the entry covering its topic or none.
func TestFeelingsDeflectionsAndMedicineQuestions(t *testing.T) {
	if underRace {
		t.Skip("reads the whole bank in one goroutine: run without -race")
	}
	h := newHarness(t)
	bank := replyFiguresOf(h, readLabelled(t, "../../prompts/faq/bank/*.tsv"))
	held := replyFiguresOf(h, readLabelled(t, "../faq/testdata/faq-heldout.tsv"))
	t.Logf("bank: %v", bank)
	t.Logf("held-out: %v", held)
	if os.Getenv("FAQ_BANK_MISSES") != "" {
		t.Logf("bank misses:\n%s", strings.Join(bank.misses, "\n"))
	}
	for name, f := range map[string]replyFigures{"bank": bank, "held-out": held} {
		if f.feelingEntry > 0 {
			t.Errorf("%s: %d statements of feelings answered with an entry", name, f.feelingEntry)
		}
	}
	// Floors a little under the measured figures, so a regression shows.
	// The held-out requests are three writers' sets (46, then 60 and 60
	// written later in voices the bank had not had: veterans with PTSD,
	// people with bipolar disorder and their parents; menopause and
	// migraine, OCD and panic). Of the 166, 133 are deflected at once and
	// 15 more after the patient answers no to the direct question, which
	// comes first for 23; 122 and 12 of them with the writers' entry (or
	// none). The first set alone: 43 and 40 of 46. A blind rater, shown
	// each deflection's entry but not the writers' label, judged 117 of the
	// 150 deflections' entries to fit, 30 to show none and 3 unrelated. The
	// bank's figures are in-sample for the classifiers, so their floor (93%
	// deflected or given a safety reply) is only a guard.
	if (bank.deflected+bank.deflectSafety)*100 < bank.deflects*93 || held.deflected*100 < held.deflects*72 {
		t.Errorf("deflected: bank %d of %d (%d safety replies), held-out %d of %d (floor 72%%)", bank.deflected, bank.deflects, bank.deflectSafety, held.deflected, held.deflects)
	}
	// The issue's goal: at least 40 requests deflected with a matching
	// entry or none.
	if right := held.deflectRightGeneral + held.deflectRightAfterNo; right*100 < held.deflects*75 || right < 40 {
		t.Errorf("held-out requests deflected with the writers' entry (or none), at once or after the direct question: %d of %d (floor 75%%, and 40)", right, held.deflects)
	}
	// Medicine questions answered from the right entry: 63 of 81 held-out
	// (15 more are asked which entry, the right one among them); 64 before
	// the safety rules read symptoms and gases (one more is read as a risk).
	if held.medqAnswered*100 < held.medqs*77 || bank.medqAnswered*100 < bank.medqs*97 {
		t.Errorf("medicine questions answered from the right entry: bank %d of %d, held-out %d of %d (floor 77%%)",
			bank.medqAnswered, bank.medqs, held.medqAnswered, held.medqs)
	}
}

// TestFeelingsMidScreeningGetSupportThenTheQuestion: a statement of
// feelings mid-screening is heard, never answered with an entry, and the
// screening question comes again. The crisis reading runs first and may
// ask directly (as TestIssueExamples allows for the issue's statements of
// feelings); then the question acknowledges the feeling, and "no" brings
// the support reply and the screening question.
func TestFeelingsMidScreeningGetSupportThenTheQuestion(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_2")
	heard := "You don't have to manage it alone"
	rs := h.say("I feel so alone")
	if !strings.Contains(text(rs), heard) {
		t.Fatalf("replies %q; want the feeling acknowledged", text(rs))
	}
	if pending(rs) == conversation.CheckQuestionID {
		rs = h.click(conversation.CheckQuestionID, conversation.CheckNo)
	}
	if !strings.Contains(text(rs), "The care team at") || strings.Contains(text(rs), "From:") || pending(rs) != "phq9_2" {
		t.Fatalf("replies %q pending %q; want the support reply, no entry, then phq9_2 again", text(rs), pending(rs))
	}
}

// TestIssueExamples: the questions quoted in issue 10, tried as a new user
// would, get the right entry, a clarify that includes it, a support reply,
// or a deflection (with the entry covering the topic, or none).
func TestIssueExamples(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		q     string
		kinds []string // acceptable kinds
		entry string   // the entry answered or among the candidates; "" for none
	}{
		{"when will I start noticing it working", []string{conversation.KindAnswer, conversation.KindClarify}, "how-fast"},
		{"will a nurse be with me the whole time", []string{conversation.KindAnswer, conversation.KindClarify}, "safety-monitoring"},
		{"how does ketamine affect glutamate", []string{conversation.KindAnswer, conversation.KindClarify}, "how-it-works"},
		{"what is the best way to sleep on a plane", []string{conversation.KindOffTopic, conversation.KindUnknown}, ""},
		{"I just feel really alone tonight", []string{conversation.KindSupport, conversation.KindCheck}, ""},
		{"I feel so alone", []string{conversation.KindSupport, conversation.KindCheck}, ""},
		{"I'm worn out from trying treatments", []string{conversation.KindSupport, conversation.KindCheck}, ""},
		{"nothing ever gets better for me", []string{conversation.KindSupport, conversation.KindCheck}, ""},
		{"should I take an ativan before the appointment", []string{conversation.KindDeflect}, "medications"},
		{"can i take melatonin the night before", []string{conversation.KindDeflect}, "medications"},
		// A request about a medicine, with no other word of risk: deflected
		// with the medicines entry (the safety reading may still ask first).
		// Not the crisis reply: lithium is a means as well as a medicine,
		// and retrainings have read this either side of the crisis
		// threshold; a crisis the classifier alone reads in a request about
		// a medicine is asked about instead (askAboutMedicineCrisis).
		{"I'm thinking of stopping my lithium", []string{conversation.KindDeflect, conversation.KindCheck}, "medications"},
		{"how much ketamine will you give me?", []string{conversation.KindDeflect}, ""},
		{"can you write me a prescription for xanax?", []string{conversation.KindDeflect}, ""},
	} {
		a := h.engine.Ask(context.Background(), tc.q)
		if !contains(tc.kinds, a.Kind) {
			t.Errorf("%q: kind %s %v; want one of %v", tc.q, a.Kind, a.Sources, tc.kinds)
			continue
		}
		switch {
		case a.Kind == conversation.KindCrisis || a.Kind == conversation.KindCheck:
			// The safety reply carries no entry.
		case tc.entry == "" && len(a.Sources) > 0:
			t.Errorf("%q: %s shows %v; want no entry", tc.q, a.Kind, a.Sources)
		case tc.entry != "" && a.Kind == conversation.KindClarify && !contains(a.Sources, tc.entry):
			t.Errorf("%q: clarify %v; want it to include %s", tc.q, a.Sources, tc.entry)
		case tc.entry != "" && a.Kind != conversation.KindClarify && (len(a.Sources) == 0 || a.Sources[0] != tc.entry):
			t.Errorf("%q: %s %v; want %s", tc.q, a.Kind, a.Sources, tc.entry)
		}
		if a.Kind == conversation.KindSupport && (!strings.Contains(a.Text, "988") || !strings.Contains(a.Text, "/screen")) {
			t.Errorf("%q: support reply %q; want the screening offer and 988", tc.q, a.Text)
		}
	}
	if adv := h.kit.Safety.Advice("I'm thinking of stopping my lithium"); adv.Kind != "medication_change" {
		t.Errorf("stopping lithium: advice %+v; want medication_change", adv)
	}
}

// TestThanksAndGoodbyesGetAReplyInKind: thanks, a goodbye or an "ok" gets a
// short reply in kind, never an entry or a "did you mean"; typed while a
// screening question waits, the question comes back.
func TestThanksAndGoodbyesGetAReplyInKind(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"thank you so much", "ok thanks, see you tomorrow", "tysm 🙏", "bye"} {
		if a := h.engine.Ask(context.Background(), q); a.Kind != conversation.KindSocial || len(a.Sources) > 0 || !strings.Contains(a.Text, "/help") {
			t.Errorf("%q: %s %v %q; want the social reply", q, a.Kind, a.Sources, a.Text)
		}
	}
	h.answerUntil(positive, "phq9_2")
	rs := h.say("ok thanks")
	if !strings.Contains(text(rs), "You're welcome") || pending(rs) != "phq9_2" {
		t.Errorf("thanks mid-screening: %q pending %q; want the reply, then phq9_2 again", text(rs), pending(rs))
	}
}

// TestFeelingsThatDrawTheCheckAreHeardThenSupported: a statement of
// feelings the crisis reading answers with the direct question (it runs
// first, and asks when unsure) is acknowledged in the same message when
// retrieval reads it as one, and after "no" gets the support reply. With those answered with the support
// reply at once, at least 30 held-out statements of feelings get it (the
// issue's goal); the rest get the crisis reply or, rarely, the question
// which topic was meant; never an entry.
func TestFeelingsThatDrawTheCheckAreHeardThenSupported(t *testing.T) {
	h := newHarness(t)
	heard := "You don't have to manage it alone"
	at, after, crisis, acknowledged, clarified := 0, 0, 0, 0, 0
	rows := readLabelled(t, "../faq/testdata/faq-heldout.tsv")
	for i, r := range rows {
		if r.Label != faq.LabelFeeling {
			continue
		}
		h.user = fmt.Sprintf("feeling%d", i)
		rs := h.say(r.Text)
		switch {
		case pending(rs) == conversation.CheckQuestionID:
			if strings.Contains(text(rs), heard) {
				acknowledged++
			}
			rs = h.click(conversation.CheckQuestionID, conversation.CheckNo)
			if !strings.Contains(text(rs), "The care team at") {
				t.Errorf("%q: after no, %q; want the support reply", r.Text, text(rs))
				continue
			}
			after++
		case strings.Contains(text(rs), heard) && strings.Contains(text(rs), "The care team at"):
			at++
		case len(rs) > 0 && rs[0].Kind == intake.ReplyCrisis:
			crisis++
		case strings.Contains(text(rs), "Did you mean"):
			// Asked which topic was meant: no entry given, but no support
			// reply either; counted, and kept rare below.
			clarified++
		default:
			t.Errorf("%q: %q; want the support reply, the direct question then the support reply, or the crisis reply", r.Text, text(rs))
		}
	}
	t.Logf("held-out feelings: support reply at once %d, after the direct question %d (%d of those acknowledged in the question); the crisis reply %d; asked which topic %d",
		at, after, acknowledged, crisis, clarified)
	if clarified > 2 {
		t.Errorf("%d held-out feelings asked which topic was meant; at most 2", clarified)
	}
	if at == 0 || after == 0 || acknowledged == 0 || at+after < 30 {
		t.Errorf("support at once %d, after the direct question %d: want both kinds seen and at least 30 in all", at, after)
	}
}

// TestRequestsThatDrawTheCheckAreDeflectedAfterNo: a request only a
// clinician may answer that the crisis reading answers with the direct
// question is, after "no", handled as it would have been, question mark or
// not: deflected when the advice patterns or retrieval read it as a
// request (it had been given the support reply, as if it were a feeling).
// A few are read as neither (pidgin, or a question retrieval answers):
// 42 of 45 of the bank's are deflected, and the floor is 90%.
func TestRequestsThatDrawTheCheckAreDeflectedAfterNo(t *testing.T) {
	if underRace {
		t.Skip("reads the whole bank in one goroutine: run without -race")
	}
	h := newHarness(t)
	checked, deflected := 0, 0
	for i, r := range readLabelled(t, "../../prompts/faq/bank/*.tsv") {
		if !strings.HasPrefix(r.Label, "deflect:") {
			continue
		}
		h.user = fmt.Sprintf("request%d", i)
		rs := h.say(r.Text)
		if pending(rs) != conversation.CheckQuestionID {
			continue
		}
		checked++
		if reply := text(h.click(conversation.CheckQuestionID, conversation.CheckNo)); strings.Contains(reply, "a clinician needs to answer") {
			deflected++
		} else {
			t.Logf("%q: after no, not deflected", r.Text)
		}
	}
	if checked == 0 {
		t.Fatal("no bank request drew the direct question; the test reads nothing")
	}
	t.Logf("bank requests given the direct question: %d, deflected after no: %d", checked, deflected)
	if deflected*10 < checked*9 {
		t.Errorf("after no, %d of %d requests deflected; want 90%%", deflected, checked)
	}
}
