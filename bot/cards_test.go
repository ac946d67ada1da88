package bot_test

import (
	"context"
	"fmt"
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
func (e *env) connectQuick(callTimeout time.Duration) { e.open(bot.Config{CallTimeout: callTimeout}) }

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

const staffRole = "500000000000000777"

func TestClaimUnclaimAndRefusal(t *testing.T) {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	labels := func(f []string) []string { return conversation.FlagLabels(e.kit.Script, f) }
	e.open(bot.Config{Staff: e.kit.Store, StaffRoleIDs: []string{staffRole}, FlagLabels: labels})
	ctx := context.Background()
	p, _ := e.kit.Store.Patient(ctx, bot.Channel, "609100000000000001")
	c, _ := e.kit.Store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "safety_review", Priority: intake.PriorityHigh,
		Scores: map[string]intake.Score{"phq9": {Value: 12, Band: "moderate"}}, Contact: intake.Contact{Method: "phone", Detail: "555-010-9999"}})
	e.deliverAll(e.dispatcher())
	card := cards(fake)[0]
	if len(card.Components) != 5 || card.Components[0].CustomID != bot.StaffActionID("claim", c.ID) || card.Components[1].Label != "Details" {
		t.Fatalf("card buttons = %+v", card.Components)
	}
	if strings.Contains(card.Embeds[0], "555-010-9999") || strings.Contains(card.Embeds[0], "moderate") {
		t.Errorf("the public card shows contact details or scores: %s", card.Embeds[0])
	}
	const guild = "500000000000000001"
	press := func(user string, roles []string, action string) string {
		id := fake.ClickAsMember(user, guild, roles, card.ID, bot.StaffActionID(action, c.ID))
		if !fake.AwaitAck(id, wait) {
			t.Fatalf("%s by %s not acknowledged", action, user)
		}
		return id
	}
	caseNow := func() intake.Case { cs, _ := e.kit.Store.Case(ctx, c.ID); return cs }

	// Not staff: refused privately, audited, nothing changes.
	press("609100000000000099", nil, "claim")
	if !fake.Await(wait, func() bool { return anyContains(fake.Channel(card.ChannelID), "Only the clinic's care team") }) {
		t.Error("no refusal for a non-staff member")
	}
	// The same button from a DM (no member, no roles) is refused too.
	dm := fake.Click("609100000000000099", card.ID, bot.StaffActionID("claim", c.ID))
	fake.AwaitAck(dm, wait)
	if got := caseNow(); got.Status != intake.CaseOpen {
		t.Fatalf("a refused click changed the case: %+v", got)
	}

	// Staff claims: the card shows who, and offers Unclaim.
	press("609100000000000002", []string{staffRole}, "claim")
	if !fake.Await(wait, func() bool {
		m, _ := fake.Message(card.ID)
		return strings.Contains(m.Embeds[0], "claimed") && len(m.Components) == 5 && m.Components[0].Label == "Unclaim"
	}) {
		m, _ := fake.Message(card.ID)
		t.Fatalf("card after claim: %+v", m)
	}
	if got := caseNow(); got.Status != intake.CaseClaimed || got.AssigneeID != "discord:609100000000000002" {
		t.Errorf("case after claim: %+v", got)
	}
	// Another staff member cannot take it over.
	press("609100000000000003", []string{staffRole}, "claim")
	if !fake.Await(wait, func() bool { return anyContains(fake.Channel(card.ChannelID), "has already claimed") }) {
		t.Error("no conflict notice for a second claim")
	}
	// Unclaim returns it to open.
	press("609100000000000002", []string{staffRole}, "unclaim")
	if !fake.Await(wait, func() bool { return caseNow().Status == intake.CaseOpen }) {
		t.Errorf("case after unclaim: %+v", caseNow())
	}
	if !fake.Await(wait, func() bool {
		m, _ := fake.Message(card.ID)
		return m.Components[0].Label == "Claim" && strings.Contains(m.Embeds[0], "Unclaimed by User 609100000000000002") && !strings.Contains(m.Embeds[0], "claimed —")
	}) {
		m, _ := fake.Message(card.ID)
		t.Errorf("card after unclaim: %+v", m)
	}
	// Details: private to the staff member, audited; refused to others.
	press("609100000000000099", nil, "details")
	press("609100000000000002", []string{staffRole}, "details")
	var details discordfake.Message
	if !fake.Await(wait, func() bool {
		for _, m := range fake.Channel(card.ChannelID) {
			if strings.Contains(m.Content, "**Case "+c.ID+"**") {
				details = m
				return true
			}
		}
		return false
	}) {
		t.Fatal("no details shown to staff")
	}
	if !details.Ephemeral || !strings.Contains(details.Content, "Contact: phone call to 555-010-9999") || !strings.Contains(details.Content, "Patient: <@") || !strings.Contains(details.Content, "PHQ9: 12 (moderate)") {
		t.Errorf("details = %+v", details)
	}
	log, _ := e.kit.Store.AuditLog(ctx, c.ID)
	var got []string
	for _, a := range log {
		got = append(got, a.Action+"/"+strings.SplitN(a.Result, ":", 2)[0])
	}
	want := "case.claim/refused case.claim/refused case.claim/ok case.claim/refused case.unclaim/ok case.details/refused case.view/ok"
	if strings.Join(got, " ") != want {
		t.Errorf("audit = %v; want %s", got, want)
	}
}

func TestHandoffsCommandFiltersForStaffOnly(t *testing.T) {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	e.open(bot.Config{Staff: e.kit.Store, StaffRoleIDs: []string{staffRole}})
	ctx := context.Background()
	var ids []string
	for i, pr := range []intake.Priority{intake.PriorityUrgent, intake.PriorityNormal, intake.PriorityHigh} {
		p, _ := e.kit.Store.Patient(ctx, bot.Channel, fmt.Sprintf("60920000000000000%d", i))
		c, _ := e.kit.Store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "x", Priority: pr})
		ids = append(ids, c.ID)
	}
	e.kit.Store.ClaimCase(ctx, ids[2], "discord:1", "Dr Lee", true)
	const guild, ch = "500000000000000001", "500000000000000002"
	list := func(roles []string, opts map[string]string) string {
		n := len(fake.Channel(ch))
		id := fake.CommandAsMember("609200000000000009", guild, ch, roles, "handoffs", opts)
		if !fake.AwaitAck(id, wait) {
			t.Fatal("/handoffs not acknowledged")
		}
		fake.Await(wait, func() bool { return len(fake.Channel(ch)) > n })
		got := fake.Channel(ch)
		return got[len(got)-1].Content
	}
	all := list([]string{staffRole}, nil)
	if !(strings.Index(all, ids[0]) < strings.Index(all, ids[2]) && strings.Index(all, ids[2]) < strings.Index(all, ids[1])) {
		t.Errorf("order (urgent, high, normal) wrong:\n%s", all)
	}
	if !strings.Contains(all, "Dr Lee") {
		t.Errorf("assignee missing:\n%s", all)
	}
	if got := list([]string{staffRole}, map[string]string{"status": "claimed"}); !strings.Contains(got, ids[2]) || strings.Contains(got, ids[0]) {
		t.Errorf("status filter:\n%s", got)
	}
	if got := list([]string{staffRole}, map[string]string{"priority": "urgent"}); !strings.Contains(got, ids[0]) || strings.Contains(got, ids[1]) {
		t.Errorf("priority filter:\n%s", got)
	}
	if got := list(nil, nil); strings.Contains(got, ids[0]) || !strings.Contains(got, "Only the clinic's care team") {
		t.Errorf("non-staff saw:\n%s", got)
	}
}
