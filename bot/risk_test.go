package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
)

// startScreening answers the first questions by buttons and returns the
// pending question's message and id.
func (e *env) startScreening(user string) (string, int) {
	e.t.Helper()
	e.fake.SendDM(user, "/screen")
	for _, a := range [][2]string{{"consent", "yes"}, {"age_18", "yes"}} {
		msg, qid := e.latestQuestion(user, 0)
		if qid != a[0] {
			e.t.Fatalf("pending %q, want %s", qid, a[0])
		}
		e.answer(user, msg, bot.EncodeButton(a[0], a[1]))
	}
	_, qid := e.latestQuestion(user, 0)
	return qid, len(e.fake.DM(user))
}

func TestCheckOnDiscordThroughNoAndYes(t *testing.T) {
	e := start(t)
	user := "602000000000000031"
	pendingQ, n := e.startScreening(user)

	// Possible risk mid-screening: the direct question, with buttons and
	// the resources in the same message.
	e.fake.SendDM(user, "I feel so hopeless lately")
	check := e.awaitText(user, n, "ending your life")
	if !strings.Contains(check.Content, "988") || len(check.Components) != 2 ||
		check.Components[0].CustomID != bot.EncodeButton(conversation.CheckQuestionID, conversation.CheckYes) {
		t.Fatalf("check message = %+v; want Yes/No buttons and 988", check)
	}
	// No: thanks, and the screening question again.
	n = len(e.fake.DM(user))
	e.answer(user, check, bot.EncodeButton(conversation.CheckQuestionID, conversation.CheckNo))
	e.awaitText(user, n, "988")
	if _, qid := e.latestQuestion(user, n); qid != pendingQ {
		t.Fatalf("after No pending %q, want %s", qid, pendingQ)
	}
	// A stale click on the same check changes nothing and says so privately.
	id := e.fake.Click(user, check.ID, bot.EncodeButton(conversation.CheckQuestionID, conversation.CheckNo))
	e.fake.AwaitAck(id, wait)
	if n, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{}); len(n) != 0 {
		t.Errorf("cases after No = %+v; want none", n)
	}

	// Asked again, Yes: the crisis message and an urgent case.
	n = len(e.fake.DM(user))
	e.fake.SendDM(user, "I feel so hopeless lately")
	check = e.awaitText(user, n, "ending your life")
	e.answer(user, check, bot.EncodeButton(conversation.CheckQuestionID, conversation.CheckYes))
	e.awaitText(user, n, "741741")
	// After the resources, the optional question of how to reach them.
	e.awaitText(user, n, "phone or email you")
	cases, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Priority != intake.PriorityUrgent {
		t.Fatalf("cases = %+v; want one urgent case", cases)
	}
	// The screening waits, paused, where it was.
	n = len(e.fake.DM(user))
	e.fake.SendDM(user, "/screen")
	if _, qid := e.latestQuestion(user, n); qid != pendingQ {
		t.Errorf("after /screen pending %q, want %s", qid, pendingQ)
	}
}

func TestEmergencyReachesTheStaffChannelAsUrgent(t *testing.T) {
	s := newStaffEnv(t, 0)
	user := "602000000000000032"
	_, n := s.startScreening(user)
	s.fake.SendDM(user, "i just swallowed all my sleeping pills")
	m := s.awaitText(user, n, "911")
	if i, j := strings.Index(m.Content, "911"), strings.Index(m.Content, "988"); i > j {
		t.Errorf("emergency message %q: want 911 before 988", m.Content)
	}
	cases, _ := s.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Priority != intake.PriorityUrgent {
		t.Fatalf("cases = %+v; want one urgent case", cases)
	}
	s.step()
	card := s.card(cases[0].ID)
	if !strings.Contains(card.Embeds[0], "URGENT") || !strings.Contains(card.Embeds[0], "overdose or injury is in progress") {
		t.Errorf("card = %q; want an urgent card that says an overdose is in progress", card.Embeds[0])
	}
	if strings.Contains(card.Embeds[0], "sleeping pills") {
		t.Error("the patient's words are on the card")
	}
}
