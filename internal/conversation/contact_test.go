package conversation_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
)

// After the crisis resources, a case with no way to reach the patient asks
// for one (optional); the detail, typed alone or in a sentence, goes on the
// case, whose card is queued for an update, with an audit row naming the
// method but not the detail.
func TestCrisisCaseAsksForAContactAfterTheResources(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_4")
	rs := h.say("honestly I just want to end it all")
	if rs[0].Kind != intake.ReplyCrisis || pending(rs) != conversation.ContactQuestionID {
		t.Fatalf("replies = %+v; want the resources first and the contact question last", rs)
	}
	c := h.onlyCase()
	if c.Contact.Detail != "" {
		t.Fatalf("contact before it was given: %+v", c.Contact)
	}
	events := h.count("SELECT COUNT(*) FROM outbox WHERE case_id = ?", c.ID)
	rs = h.say("you can call me on 555 123 4567, thanks")
	if !strings.Contains(text(rs), "555 123 4567") || pending(rs) != "" {
		t.Fatalf("after the detail: %q pending %q", text(rs), pending(rs))
	}
	c = h.onlyCase()
	if c.Contact.Method != "phone" || c.Contact.Detail != "555 123 4567" || c.Priority != intake.PriorityUrgent {
		t.Errorf("case = %+v; want the phone number on the urgent case", c)
	}
	if !strings.Contains(c.LastAction, "phone number") || strings.Contains(c.LastAction, "555") {
		t.Errorf("last action %q; want it to name a phone number without the number", c.LastAction)
	}
	if n := h.count("SELECT COUNT(*) FROM outbox WHERE case_id = ?", c.ID); n <= events {
		t.Errorf("no card update queued after the contact arrived (%d events, %d before)", n, events)
	}
	if n := h.count("SELECT COUNT(*) FROM audit WHERE action = 'case.contact' AND case_id = ? AND result NOT LIKE '%555%'", c.ID); n != 1 {
		t.Errorf("case.contact audit rows without the detail = %d; want 1", n)
	}
	// A detail in a sentence just after crisis language is the answer, not
	// a reason for the classifier to ask the safety question.
	h2 := newHarness(t)
	h2.answerUntil(positive, "phq9_4")
	h2.say("I want to kill myself")
	if rs := h2.say("my email is robin@example.com"); !strings.Contains(text(rs), "robin@example.com") || pending(rs) == conversation.CheckQuestionID {
		t.Errorf("an email in a sentence after the crisis reply: %q pending %q", text(rs), pending(rs))
	}
	if c := h2.onlyCase(); c.Contact.Detail != "robin@example.com" {
		t.Errorf("contact = %+v", c.Contact)
	}
	// Answered: the next message is not read as a contact.
	if rs := h.say("2"); pending(rs) == conversation.ContactQuestionID {
		t.Errorf("the contact question stayed pending after its answer: %+v", rs)
	}
}

// Skipping is fine; text that is no attempt at a detail drops the question
// and is handled as usual; a bad attempt is refused with the reason.
func TestContactQuestionSkipsAndRefuses(t *testing.T) {
	h := newHarness(t)
	h.say("kms")
	rs := h.say("my number is 12345")
	if pending(rs) != conversation.ContactQuestionID || !strings.Contains(text(rs), "doesn't look like a phone number") {
		t.Errorf("a bad attempt: %q pending %q", text(rs), pending(rs))
	}
	rs = h.say("skip")
	if pending(rs) != "" || !strings.Contains(text(rs), "That's fine") {
		t.Errorf("skip: %q pending %q", text(rs), pending(rs))
	}
	if c := h.onlyCase(); c.Contact != (intake.Contact{}) {
		t.Errorf("contact after skip = %+v", c.Contact)
	}
	h2 := newHarness(t)
	h2.say("kms")
	if rs := h2.say("what are the side effects?"); pending(rs) == conversation.ContactQuestionID || !strings.Contains(text(rs), "From:") {
		t.Errorf("a question after the contact question: %q pending %q; want it answered", text(rs), pending(rs))
	}
}

// A staff request asks for a contact when none is known, and the detail
// reaches the case; a contact the screening already has is used, and not
// asked for again.
func TestStaffRequestAsksForAContactOnlyWhenNoneIsKnown(t *testing.T) {
	h := newHarness(t)
	rs := h.say("/staff")
	if pending(rs) != conversation.ContactQuestionID {
		t.Fatalf("after /staff: pending %q; want the contact question", pending(rs))
	}
	h.say("bob@example.com")
	if c := h.onlyCase(); c.Contact.Method != "email" || c.Contact.Detail != "bob@example.com" || c.Outcome != conversation.OutcomeRequested {
		t.Errorf("case = %+v", c)
	}

	h2 := newHarness(t)
	h2.answerUntil(positive, "best_time") // phone and number given
	rs = h2.say("/staff")
	if pending(rs) != "best_time" {
		t.Errorf("after /staff with a phone number known: pending %q; want the screening to go on", pending(rs))
	}
	if c := h2.onlyCase(); c.Contact.Method != "phone" || c.Contact.Detail != "555-123-4567" {
		t.Errorf("case contact = %+v; want the screening's phone number", c.Contact)
	}
}

// "Phone call" then an email address is not stored as a phone contact: the
// patient is asked whether they meant email; yes switches the method, no
// asks for a phone number again, and a phone number typed instead is taken.
func TestContactDetailMustMatchTheMethod(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		want        intake.Contact
		pending     string
	}{
		{"YesSwitches", "yes", intake.Contact{Method: "email", Detail: "bob@example.com"}, "best_time"},
		{"NoAsksAgain", "no", intake.Contact{}, "contact_detail"},
		{"TypedPhoneIsTaken", "555-010-2222", intake.Contact{Method: "phone", Detail: "555-010-2222"}, "best_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.answerUntil(positive, "contact_detail")
			rs := h.say("bob@example.com")
			if pending(rs) != conversation.ContactSwitchQuestionID || !strings.Contains(text(rs), "email") {
				t.Fatalf("email after phone: %q pending %q; want the patient asked which they meant", text(rs), pending(rs))
			}
			if n := h.count("SELECT COUNT(*) FROM answers WHERE question_id = 'contact_detail'"); n != 0 {
				t.Fatalf("the mismatched detail was stored")
			}
			rs = h.say(tc.reply)
			if pending(rs) != tc.pending {
				t.Fatalf("after %q: %q pending %q; want %s", tc.reply, text(rs), pending(rs), tc.pending)
			}
			if tc.want == (intake.Contact{}) {
				return
			}
			rs = h.answerUntil(positive, "")
			c, err := h.store.Case(context.Background(), last(rs).CaseID)
			if err != nil {
				t.Fatal(err)
			}
			if c.Contact.Method != tc.want.Method || c.Contact.Detail != tc.want.Detail {
				t.Errorf("case contact = %+v; want %+v", c.Contact, tc.want)
			}
		})
	}
}

// After any ASQ "yes" (and a "no" to the acute question) the full crisis
// resources come right after the ASQ block, before the next question; a
// /cancel after one gives them in full, opens the case, and asks how to
// reach the patient.
func TestASQYesGivesTheFullResourcesAtOnce(t *testing.T) {
	h := newHarness(t)
	ans := map[string]string{}
	for k, v := range positive {
		ans[k] = v
	}
	ans["asq_1"] = "yes"
	h.answerUntil(ans, "asq_5")
	rs := h.say("no")
	if pending(rs) != "psychosis_history" || !strings.Contains(text(rs), "741741") || !strings.Contains(text(rs), "988") {
		t.Fatalf("after the ASQ block: %q pending %q; want the full resources, then the next question", text(rs), pending(rs))
	}
	if rs[0].Kind == intake.ReplyQuestion {
		t.Errorf("the resources came after the question: %+v", rs)
	}
	rs = h.say("/cancel")
	if !strings.Contains(text(rs), "741741") || pending(rs) != conversation.ContactQuestionID {
		t.Errorf("/cancel after an ASQ yes: %q pending %q; want the full resources and the contact question", text(rs), pending(rs))
	}
	c := h.onlyCase()
	if c.Priority != intake.PriorityHigh {
		t.Errorf("case priority %s; want high", c.Priority)
	}
	// Why it is high priority: the flag names the safety answer.
	if !strings.Contains(strings.Join(c.Flags, ","), "safety_asq_1") {
		t.Errorf("flags %v; want safety_asq_1", c.Flags)
	}
	if got := strings.Join(conversation.FlagLabels(h.script, c.Flags), "\n"); !strings.Contains(got, "ASQ 1") {
		t.Errorf("flag labels %q; want the ASQ item named", got)
	}
}

// Every safety and medical-history answer goes on the case, whatever it is
// (bipolar_history: not sure raises no flag but is shown), and a crisis
// case keeps what the patient wrote, sealed.
func TestCaseCarriesSafetyAnswersAndThePatientsWords(t *testing.T) {
	h := newHarness(t)
	ans := map[string]string{}
	for k, v := range positive {
		ans[k] = v
	}
	ans["bipolar_history"] = "not sure"
	rs := h.answerUntil(ans, "")
	c, err := h.store.Case(context.Background(), last(rs).CaseID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range c.Answers {
		got[a.Question] = a.Answer
	}
	if got[h.script.Question("bipolar_history").StaffLabel()] != "Not sure" || got[h.script.Question("asq_1").StaffLabel()] != "No" {
		t.Errorf("case answers = %+v; want bipolar history 'Not sure' and ASQ 1 'No'", c.Answers)
	}
	if strings.Contains(strings.Join(c.Flags, ","), "review_bipolar") {
		t.Errorf("flags %v: 'not sure' is shown as an answer, not a flag", c.Flags)
	}

	h2 := newHarness(t)
	h2.answerUntil(positive, "psychosis_history")
	const words = "i have the pills counted out and i want to die tonight"
	h2.say(words)
	cc := h2.onlyCase()
	if len(cc.Said) != 1 || cc.Said[0].Text != words {
		t.Fatalf("said = %+v; want the patient's words", cc.Said)
	}
	if len(cc.Answers) == 0 {
		t.Errorf("crisis case mid-screening has no answers so far: %+v", cc)
	}
	files, _ := filepath.Glob(h2.path + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("pills counted")) {
			t.Errorf("%s holds the patient's words in plaintext", filepath.Base(f))
		}
	}
	// Erased with the rest.
	if _, err := h2.store.ForgetPatient(context.Background(), cc.PatientID, "patient:"+cc.PatientID); err != nil {
		t.Fatal(err)
	}
	if cc, _ = h2.store.Case(context.Background(), cc.ID); len(cc.Said) != 0 || len(cc.Answers) != 0 {
		t.Errorf("after /forget-me the case keeps said %v answers %v", cc.Said, cc.Answers)
	}
}

// While a screening is paused, the pause is said once: a hello after the
// greeting (or the crisis reply) that said it gets what can be done now,
// "yes" continues as the welcome invites, and after /staff the contact
// question is the last thing asked.
func TestPausedScreeningIsNotAnnouncedTwice(t *testing.T) {
	h := newHarness(t)
	h.answerUntil(positive, "phq9_4")
	h.say("i want to kill myself")
	h.say("skip")
	// Crisis language again while paused: the resources, not a second
	// "I've paused the screening".
	if rs := h.say("i want to kill myself"); rs[0].Kind != intake.ReplyCrisis || strings.Contains(text(rs), "paused") {
		t.Errorf("a second crisis message while paused: %q", text(rs))
	}
	h.say("skip")
	greet, err := h.engine.Greet(context.Background(), "console", h.user)
	if err != nil || !strings.Contains(text(greet), "paused") {
		t.Fatalf("greet = %q, %v", text(greet), err)
	}
	if rs := h.say("hello"); strings.Contains(text(rs), "paused") {
		t.Errorf("hello after the paused greeting said it again: %q", text(rs))
	}
	rs := h.say("/staff")
	if pending(rs) != conversation.ContactQuestionID && !strings.Contains(text(rs), "already has your request") {
		t.Errorf("/staff while paused: %q pending %q", text(rs), pending(rs))
	}
	if last(rs).Kind == intake.ReplyMessage && strings.Contains(last(rs).Text, "paused") && pending(rs) != "" {
		t.Errorf("the pause notice came after the contact question: %+v", rs)
	}
	if rs := h.say("skip"); pending(rs) != "" {
		t.Errorf("skip: pending %q", pending(rs))
	}
	if rs := h.say("yes"); pending(rs) != "phq9_4" {
		t.Errorf("yes while paused: %q pending %q; want the screening to continue", text(rs), pending(rs))
	}
}
