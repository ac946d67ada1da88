package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

const staffChannel = "500000000000000009"

// connectQuick connects a bot whose REST calls give up after callTimeout.
func (e *env) connectQuick(callTimeout time.Duration) {
	e.t.Helper()
	b, err := bot.New(bot.Config{Token: discordfake.Token, Engine: e.kit.Engine, Dedupe: e.kit.Store, Transport: e.fake.Transport(), CallTimeout: callTimeout, Fallback: "x"})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := b.Open(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.bot = b
	e.t.Cleanup(func() { b.Close() })
	if !e.fake.AwaitConnected(wait) {
		e.t.Fatal("not connected")
	}
}

func (e *env) dispatcher() *handoff.Dispatcher {
	return &handoff.Dispatcher{Store: e.kit.Store, Notifier: e.bot.Notifier(staffChannel), Labels: func(f []string) []string { return conversation.FlagLabels(e.kit.Script, f) }, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
}

// deliverAll runs the dispatcher until nothing is pending.
func (e *env) deliverAll(d *handoff.Dispatcher) {
	e.t.Helper()
	for i := 0; i < 20; i++ {
		d.DeliverDue(context.Background())
		pending, _ := e.kit.Store.PendingEvents(context.Background(), 10)
		if len(pending) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond) // past the test's 1ms backoff
	}
	e.t.Fatal("events still pending after 20 passes")
}

func cards(f *discordfake.Server) []discordfake.Message {
	var out []discordfake.Message
	for _, m := range f.Channel(staffChannel) {
		if len(m.Embeds) > 0 {
			out = append(out, m)
		}
	}
	return out
}

func TestExactlyOneCardDespiteFailuresAndALateTimeout(t *testing.T) {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	e.connectQuick(300 * time.Millisecond)
	user := "609000000000000001"
	e.screenByClicks(user, map[string][]string{"consent": {"yes"}, "age_18": {"yes"}, "reasons": {"depression", "chronic_pain"}, "other_treatments": {"none"}, "antidepressant_trials": {"three_plus"}, "contact_method": {"discord"}})
	cs, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cs) != 1 || cs[0].Outcome != "positive" {
		t.Fatalf("cases = %+v", cs)
	}
	// Two 500s, then Discord accepts the message but answers too late.
	fake.InjectFault("/channels/{channel_id}/messages",
		discordfake.Fault{Status: 500}, discordfake.Fault{Status: 500},
		discordfake.Fault{AfterAccept: true, Delay: 600 * time.Millisecond})
	e.deliverAll(e.dispatcher())
	got := cards(fake)
	if len(got) != 1 {
		t.Fatalf("%d cards; want exactly 1", len(got))
	}
	card := got[0].Embeds[0]
	for _, want := range []string{cs[0].ID, "NORMAL", "positive", "discord", "TRD criterion met"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q: %s", want, card)
		}
	}
	for _, never := range []string{"phq9", "PHQ", "score", "moderate", "mild"} {
		if strings.Contains(card, never) {
			t.Errorf("card shows %q: %s", never, card)
		}
	}
	if id, _ := e.kit.Store.CardMessage(context.Background(), cs[0].ID); id != got[0].ID {
		t.Errorf("stored card id %q, card %q", id, got[0].ID)
	}
	// A later change edits the card instead of posting another.
	e.fake.SendDM(user, "/forget-me confirm")
	e.awaitText(user, 0, "erased")
	e.deliverAll(e.dispatcher())
	got = cards(fake)
	if len(got) != 1 || !got[0].Edited || !strings.Contains(got[0].Embeds[0], "Patient withdrew") {
		t.Errorf("after /forget-me: %d cards, edited %v, %v", len(got), len(got) > 0 && got[0].Edited, got)
	}
}

func TestPendingCardDeliveredOnceAfterRestart(t *testing.T) {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	e.connectQuick(300 * time.Millisecond)
	p, _ := e.kit.Store.Patient(context.Background(), bot.Channel, "609000000000000002")
	c, err := e.kit.Store.OpenCase(context.Background(), intake.Case{PatientID: p.ID, Outcome: "urgent", Priority: intake.PriorityUrgent, Flags: []string{"crisis_language"}})
	if err != nil {
		t.Fatal(err)
	}
	// The first post is accepted but the answer never arrives in time.
	fake.InjectFault("/channels/{channel_id}/messages", discordfake.Fault{AfterAccept: true, Delay: 600 * time.Millisecond})
	if n, _ := e.dispatcher().DeliverDue(context.Background()); n != 0 {
		t.Fatalf("delivered %d on a timeout", n)
	}
	// Restart: bot and store anew; the event is still pending.
	e.bot.Close()
	e.kit.Reopen(t)
	e.connectQuick(300 * time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	e.deliverAll(e.dispatcher())
	got := cards(fake)
	if len(got) != 1 || !strings.Contains(got[0].Embeds[0], c.ID) || !strings.Contains(got[0].Embeds[0], "URGENT") || !strings.Contains(got[0].Embeds[0], "Safety: crisis language") {
		t.Fatalf("cards after restart = %+v", got)
	}
}
