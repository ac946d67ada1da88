package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

const (
	guildID    = "500000000000000001"
	oncallRole = "500000000000000888"
	staffUser  = "609300000000000002"
	outsider   = "609300000000000099"
)

// clock is an injectable time for the dispatcher and the store: real time
// moved forward by Add, so the test can skip minutes of paging.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.offset) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// staffEnv is a bot with the staff side configured as run configures it: a
// dispatcher (not running: tests step it) building the cards, the engine's
// relay attached.
type staffEnv struct {
	*env
	disp  *handoff.Dispatcher
	clock *clock
}

func newStaffEnv(t *testing.T, callTimeout time.Duration) *staffEnv {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	s := &staffEnv{env: &env{t: t, fake: fake, kit: newKit(t)}, clock: &clock{}}
	s.connectStaff(callTimeout)
	return s
}

func (s *staffEnv) connectStaff(callTimeout time.Duration) {
	labels := func(f []string) []string { return conversation.FlagLabels(s.kit.Script, f) }
	msgs := s.kit.Messages
	s.kit.Store.Now = s.clock.Now
	s.disp = &handoff.Dispatcher{Store: s.kit.Store, Labels: labels, Now: s.clock.Now, Backoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Paging: handoff.Paging{Interval: 5 * time.Minute, Limit: 2},
		Notice: func(key string, c intake.Case) (string, error) {
			return msgs.Render(key, map[string]any{"CaseID": c.ID, "ContactMethod": conversation.ContactLabel(s.kit.Script, c.Contact.Method)}), nil
		}}
	s.open(bot.Config{Staff: s.kit.Store, StaffChannelID: staffChannel, StaffRoleIDs: []string{staffRole}, OncallRoleID: oncallRole,
		FlagLabels: labels, Card: s.disp.Card, ClinicName: "Test Clinic", CallTimeout: callTimeout}, func(b *bot.Bot) {
		// As run does: the notifier and the engine's relay are in place
		// before the bot connects.
		s.disp.Notifier = b.Notifier(staffChannel)
		s.kit.Relay = b
		s.kit.BuildEngine(s.t)
	})
}

// step runs the dispatcher until nothing is due.
func (s *staffEnv) step() {
	s.t.Helper()
	for i := 0; i < 20; i++ {
		if _, err := s.disp.Step(context.Background()); err != nil {
			s.t.Fatal(err)
		}
		due, _ := s.kit.Store.DueEvents(context.Background(), s.clock.Now().Add(time.Hour), 10)
		if len(due) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	due, _ := s.kit.Store.DueEvents(context.Background(), s.clock.Now().Add(time.Hour), 10)
	s.t.Fatalf("events still pending after 20 steps: %+v", due)
}

// card waits for the case's card and returns it as it is now.
func (s *staffEnv) card(caseID string) discordfake.Message {
	s.t.Helper()
	var card discordfake.Message
	if !s.fake.Await(wait, func() bool {
		for _, m := range cards(s.fake) {
			if strings.Contains(m.Embeds[0], caseID) {
				card = m
				return true
			}
		}
		return false
	}) {
		s.t.Fatalf("no card for %s", caseID)
	}
	return card
}

// caseWithCard opens a case for a Discord user directly in the store and
// delivers its card.
func (s *staffEnv) caseWithCard(user string, c intake.Case) (intake.Case, discordfake.Message) {
	s.t.Helper()
	ctx := context.Background()
	p, err := s.kit.Store.Patient(ctx, bot.Channel, user)
	if err != nil {
		s.t.Fatal(err)
	}
	c.PatientID = p.ID
	if c, err = s.kit.Store.OpenCase(ctx, c); err != nil {
		s.t.Fatal(err)
	}
	s.step()
	return c, s.card(c.ID)
}

// press clicks a card's staff button as user with roles.
func (s *staffEnv) press(user string, roles []string, msgID, customID string) string {
	s.t.Helper()
	id := s.fake.ClickAsMember(user, guildID, roles, msgID, customID)
	if !s.fake.AwaitAck(id, wait) {
		s.t.Fatalf("%s by %s not acknowledged", customID, user)
	}
	return id
}

// submit fills in the modal an interaction opened and waits for the
// private answer.
func (s *staffEnv) submit(user string, roles []string, opener, text, want string) {
	s.t.Helper()
	if !s.fake.Await(wait, func() bool { _, ok := s.fake.Modal(opener); return ok }) {
		s.t.Fatalf("interaction %s opened no modal", opener)
	}
	id := s.fake.SubmitModal(user, guildID, roles, opener, map[string]string{"text": text})
	if !s.fake.AwaitAck(id, wait) {
		s.t.Fatal("modal submission not acknowledged")
	}
	if !s.fake.Await(wait, func() bool {
		for _, m := range s.fake.Channel(staffChannel) {
			if m.Ephemeral && strings.Contains(m.Content, want) {
				return true
			}
		}
		return false
	}) {
		s.t.Fatalf("no private answer %q after the modal; channel: %s", want, dump(s.fake.Channel(staffChannel)))
	}
}

func (s *staffEnv) thread(caseCard string) []discordfake.Message { return s.fake.Channel(caseCard) }

func (s *staffEnv) auditActions(caseID string) []string {
	log, _ := s.kit.Store.AuditLog(context.Background(), caseID)
	var got []string
	for _, a := range log {
		got = append(got, a.Action+"/"+strings.SplitN(a.Result, ":", 2)[0])
	}
	return got
}

func TestStaffFollowUpThroughTheCard(t *testing.T) {
	s := newStaffEnv(t, 0)
	ctx := context.Background()
	patient := "609300000000000001"
	s.screenByClicks(patient, map[string][]string{"consent": {"yes"}, "age_18": {"yes"}, "reasons": {"depression", "chronic_pain"}, "other_treatments": {"none"},
		"antidepressant_trials": {"three_plus"}, "contact_method": {"discord"}})
	cs, _ := s.kit.Store.Cases(ctx, intake.CaseFilter{})
	if len(cs) != 1 {
		t.Fatalf("cases = %+v", cs)
	}
	c := cs[0]
	s.step()
	card := s.card(c.ID)
	staff := []string{staffRole}
	btn := func(action string) string { return bot.StaffActionID(action, c.ID) }

	// Every staff button, and a forged modal submission, refused to a
	// member without a staff role; nothing changes.
	for _, a := range []string{"claim", "details", "message", "note", "close"} {
		s.press(outsider, nil, card.ID, btn(a))
	}
	if _, ok := s.fake.Modal(s.press(outsider, nil, card.ID, btn("note"))); ok {
		t.Error("a non-staff member got a modal")
	}
	opener := s.press(staffUser, staff, card.ID, btn("note"))
	s.fake.Await(wait, func() bool { _, ok := s.fake.Modal(opener); return ok })
	forged := s.fake.SubmitModal(outsider, guildID, nil, opener, map[string]string{"text": "forged"})
	s.fake.AwaitAck(forged, wait)
	refusals := 0
	for _, m := range s.fake.Channel(staffChannel) {
		if m.Ephemeral && strings.Contains(m.Content, "Only the clinic's care team") {
			refusals++
		}
	}
	if refusals != 7 {
		t.Errorf("%d private refusals, want 7", refusals)
	}

	// Claim: the card shows it, and the patient is told how they'll be
	// contacted.
	n := len(s.fake.DM(patient))
	s.press(staffUser, staff, card.ID, btn("claim"))
	if !s.fake.Await(wait, func() bool {
		m, _ := s.fake.Message(card.ID)
		return strings.Contains(m.Embeds[0], "claimed — User "+staffUser) && m.Components[0].Label == "Unclaim"
	}) {
		m, _ := s.fake.Message(card.ID)
		t.Errorf("card after claim: %+v", m)
	}
	s.step()
	told := s.awaitText(patient, n, "is now looking after your request")
	if !strings.Contains(told.Content, "will contact you by a message here") {
		t.Errorf("claim notice = %q", told.Content)
	}

	// Message patient: to the DM, signed, and logged in the thread.
	n = len(s.fake.DM(patient))
	s.submit(staffUser, staff, s.press(staffUser, staff, card.ID, btn("message")), "Hello! Could we call you tomorrow at 3pm?", "Sent to the patient")
	got := s.awaitText(patient, n, "Could we call you tomorrow at 3pm?")
	if !strings.Contains(got.Content, "— User "+staffUser+", Test Clinic care team") {
		t.Errorf("message to the patient is not signed: %q", got.Content)
	}
	if th := s.thread(card.ID); len(th) == 0 || !strings.Contains(th[len(th)-1].Content, "Sent to the patient by User "+staffUser) {
		t.Errorf("thread after message: %s", dump(th))
	}
	if ts := s.fake.Threads(); len(ts) != 1 || ts[0].ID != card.ID || ts[0].ParentID != staffChannel {
		t.Errorf("threads = %+v; want one, on the card", ts)
	}

	// The patient's reply reaches the thread, and they are told; a question
	// the knowledge base answers is answered and not relayed.
	n = len(s.fake.DM(patient))
	s.fake.SendDM(patient, "3pm works for me, thank you")
	s.awaitText(patient, n, "passed that on to the care team")
	if th := s.thread(card.ID); !strings.Contains(th[len(th)-1].Content, "3pm works for me") {
		t.Errorf("patient's reply not in the thread: %s", dump(th))
	}
	// Patient text reaches the thread as typed: markdown and mentions are
	// escaped, control characters dropped, and nothing pings anyone.
	s.fake.SendDM(patient, "@everyone **see you then** <@123> thanks\x1b[2J")
	if !s.fake.Await(wait, func() bool { return anyContains(s.thread(card.ID), "see you then") }) {
		t.Fatalf("hostile text not relayed: %s", dump(s.thread(card.ID)))
	}
	th := s.thread(card.ID)
	hostile := th[len(th)-1]
	if !strings.Contains(hostile.Content, `\@everyone \*\*see you then\*\* \<\@123> thanks\[2J`) || strings.Contains(hostile.Content, "\x1b") ||
		len(hostile.AllowedParse) != 0 || len(hostile.AllowedRoles) != 0 {
		t.Errorf("relayed hostile text = %q (allowed parse %v, roles %v); want it escaped, without ESC, pinging no one",
			hostile.Content, hostile.AllowedParse, hostile.AllowedRoles)
	}
	before := len(s.thread(card.ID))
	s.fake.SendDM(patient, "how much does it cost?")
	s.awaitText(patient, n, "From: Cost and insurance")
	if len(s.thread(card.ID)) != before {
		t.Errorf("an FAQ question was relayed: %s", dump(s.thread(card.ID)))
	}
	// Crisis language is never just relayed: the crisis reply comes first.
	n = len(s.fake.DM(patient))
	s.fake.SendDM(patient, "honestly I want to kill myself")
	s.awaitText(patient, n, "alerted our care team")
	if !s.fake.Await(wait, func() bool { return anyContains(s.thread(card.ID), "honestly I want to kill myself") }) {
		t.Errorf("the crisis message did not reach the thread: %s", dump(s.thread(card.ID)))
	}

	// Add note: internal, in the thread only.
	dmBefore := len(s.fake.DM(patient))
	// Its text shows as typed: no formatting, no mention, no ping.
	s.submit(staffUser, staff, s.press(staffUser, staff, card.ID, btn("note")), "Prefers afternoons. @everyone **asap**", "Note added")
	if th := s.thread(card.ID); !strings.Contains(th[len(th)-1].Content, "Note from User "+staffUser+":**\nPrefers afternoons. \\@everyone \\*\\*asap\\*\\*") ||
		len(th[len(th)-1].AllowedParse) != 0 {
		t.Errorf("note not in the thread as typed: %s (allowed parse %v)", dump(th), th[len(th)-1].AllowedParse)
	}
	if anyContains(s.fake.DM(patient)[dmBefore:], "Prefers afternoons") {
		t.Error("an internal note reached the patient")
	}
	s.step()
	if m, _ := s.fake.Message(card.ID); !strings.Contains(m.Embeds[0], "Note added by User "+staffUser) {
		t.Errorf("card does not show the last action: %s", m.Embeds[0])
	}
	// Staff chatting in the thread stays internal: nothing reaches the patient.
	s.fake.SendChannel(staffUser, guildID, card.ID, "I'll take the call", true)
	time.Sleep(100 * time.Millisecond)
	if len(s.fake.DM(patient)) != dmBefore {
		t.Errorf("a thread message reached the patient: %s", dump(s.fake.DM(patient)[dmBefore:]))
	}

	// After a restart too (the bot learns its threads from the store).
	s.bot.Close()
	s.kit.Reopen(t)
	s.connectStaff(0)
	threadLen := len(s.thread(card.ID))
	s.fake.SendChannel(staffUser, guildID, card.ID, "anyone free to call?", true)
	time.Sleep(200 * time.Millisecond)
	if len(s.fake.DM(patient)) != dmBefore || len(s.thread(card.ID)) != threadLen+1 {
		t.Errorf("after a restart a mention in the thread was answered: DM %s thread %s", dump(s.fake.DM(patient)[dmBefore:]), dump(s.thread(card.ID)[threadLen:]))
	}

	want := []string{"case.claim/refused", "case.details/refused", "case.message/refused", "case.note/refused", "case.close/refused", "case.note/refused", "case.note/refused",
		"case.claim/ok", "patient.notice/ok", "case.message/ok", "case.relay/ok", "case.relay/ok", "case.relay/ok", "case.note/ok"}
	got2 := s.auditActions(c.ID)
	// The crisis turn adds rows of its own (the urgent merge); compare the
	// staff and relay rows in order.
	var filtered []string
	for _, a := range got2 {
		if strings.HasPrefix(a, "case.") || strings.HasPrefix(a, "patient.notice") {
			filtered = append(filtered, a)
		}
	}
	if strings.Join(filtered, " ") != strings.Join(want, " ") {
		t.Errorf("audit:\n got %v\nwant %v", filtered, want)
	}
}

func TestCloseWithEachReason(t *testing.T) {
	s := newStaffEnv(t, 0)
	ctx := context.Background()
	staff := []string{staffRole}
	for i, r := range intake.CloseReasons {
		user := "60940000000000000" + string(rune('0'+i))
		c, card := s.caseWithCard(user, intake.Case{Outcome: "positive", Priority: intake.PriorityNormal, Contact: intake.Contact{Method: "phone"}})
		s.press(staffUser, staff, card.ID, bot.StaffActionID("close", c.ID))
		var menu discordfake.Message
		if !s.fake.Await(wait, func() bool {
			for _, m := range s.fake.Channel(staffChannel) {
				if m.Ephemeral && strings.Contains(m.Content, "Why is case "+c.ID) {
					menu = m
					return true
				}
			}
			return false
		}) {
			t.Fatal("no close reasons offered")
		}
		if len(menu.Components) != len(intake.CloseReasons) {
			t.Fatalf("close reasons offered: %+v", menu.Components)
		}
		opener := s.press(staffUser, staff, menu.ID, bot.StaffActionID("close-"+r.ID, c.ID))
		note := ""
		if r.ID == "other" {
			note = "Moved away."
		}
		s.submit(staffUser, staff, opener, note, "Case "+c.ID+" closed: "+r.Label)
		s.step()
		m, _ := s.fake.Message(card.ID)
		if !strings.Contains(m.Embeds[0], "closed — "+r.Label) || len(m.Components) != 1 || m.Components[0].Label != "Details" {
			t.Errorf("%s: card after close: %s %+v", r.ID, m.Embeds[0], m.Components)
		}
		got, _ := s.kit.Store.Case(ctx, c.ID)
		if got.Status != intake.CaseClosed || got.CloseReason != r.ID || got.CloseNote != note {
			t.Errorf("%s: case = %+v", r.ID, got)
		}
		told := anyContains(s.fake.DM(user), "tried to reach you")
		if told != (r.Notice != "") {
			t.Errorf("%s: patient told = %v", r.ID, told)
		}
		if th := s.thread(card.ID); len(th) == 0 || !strings.Contains(th[len(th)-1].Content, "Closed by User "+staffUser+":** "+r.Label) {
			t.Errorf("%s: thread = %s", r.ID, dump(th))
		}
		// Details still works on a closed case, and shows the note.
		s.press(staffUser, staff, card.ID, bot.StaffActionID("details", c.ID))
		if !s.fake.Await(wait, func() bool { return anyContains(s.fake.Channel(staffChannel), "**Case "+c.ID+"**") }) {
			t.Errorf("%s: no details for a closed case", r.ID)
		}
	}
}

// pages returns the pages and reminders posted in the staff channel.
// pages are the pages and reminders in the staff channel: replies to a
// card, and the first page of an urgent case, in its card's own message.
func pages(f *discordfake.Server) []discordfake.Message {
	var out []discordfake.Message
	for _, m := range f.Channel(staffChannel) {
		if !m.Ephemeral && (len(m.Embeds) == 0 && m.ReplyTo != "" || len(m.Embeds) > 0 && m.Content != "") {
			out = append(out, m)
		}
	}
	return out
}

func TestUrgentCasePagedUntilClaimed(t *testing.T) {
	s := newStaffEnv(t, 300*time.Millisecond)
	patient := "609500000000000001"
	s.fake.SendDM(patient, "I want to end my life")
	s.awaitText(patient, 0, "alerted our care team")
	cs, _ := s.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cs) != 1 || cs[0].Priority != intake.PriorityUrgent {
		t.Fatalf("cases = %+v", cs)
	}
	c := cs[0]
	s.step()
	card := s.card(c.ID)
	check := func(n int, roles []string, text string) {
		t.Helper()
		ps := pages(s.fake)
		if len(ps) != n {
			t.Fatalf("%d pages, want %d: %s", len(ps), n, dump(ps))
		}
		p := ps[n-1]
		if p.ReplyTo != card.ID && p.ID != card.ID || !strings.Contains(p.Content, c.ID) || !strings.Contains(p.Content, text) {
			t.Errorf("page %d = %+v", n, p)
		}
		if strings.Join(p.AllowedRoles, ",") != strings.Join(roles, ",") || len(p.AllowedParse) != 0 {
			t.Errorf("page %d may ping roles %v, parse %v; want only %v", n, p.AllowedRoles, p.AllowedParse, roles)
		}
		for _, r := range roles {
			if !strings.Contains(p.Content, "<@&"+r+">") {
				t.Errorf("page %d does not mention %s: %q", n, r, p.Content)
			}
		}
	}
	// Paged at once, in the card itself, mentioning only the on-call role.
	check(1, []string{oncallRole}, "page 1")
	if ps := pages(s.fake); ps[0].ID != card.ID {
		t.Errorf("the first page is a message of its own, not the card: %+v", ps[0])
	}
	// Not again before the interval; then again.
	s.clock.Add(4 * time.Minute)
	s.step()
	check(1, []string{oncallRole}, "page 1")
	s.clock.Add(time.Minute)
	s.step()
	check(2, []string{oncallRole}, "page 2")
	// Past the bound (2), every staff role is paged.
	s.clock.Add(5 * time.Minute)
	s.step()
	check(3, []string{staffRole}, "Escalated")

	// Page 4 is accepted by Discord but the answer is lost; the bot
	// restarts. The page is delivered once, and not queued twice.
	s.clock.Add(5 * time.Minute)
	s.fake.InjectFault("/channels/{channel_id}/messages", discordfake.Fault{AfterAccept: true, Delay: 600 * time.Millisecond})
	s.disp.Step(context.Background())
	if pending, _ := s.kit.Store.PendingEvents(context.Background(), 10); len(pages(s.fake)) != 4 || len(pending) != 1 || pending[0].Kind != intake.EventPage {
		t.Fatalf("before the restart: %d pages, pending %+v; want the page accepted and its event pending", len(pages(s.fake)), pending)
	}
	s.bot.Close()
	s.kit.Reopen(t)
	s.connectStaff(300 * time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	s.step()
	check(4, []string{staffRole}, "page 4")

	// Claimed: no more pages, however long it waits.
	s.press(staffUser, []string{staffRole}, card.ID, bot.StaffActionID("claim", c.ID))
	s.fake.Await(wait, func() bool {
		got, _ := s.kit.Store.Case(context.Background(), c.ID)
		return got.Status == intake.CaseClaimed
	})
	s.clock.Add(time.Hour)
	s.step()
	check(4, []string{staffRole}, "page 4")
	var queued int
	for _, a := range s.auditActions(c.ID) {
		if a == "case.page/queued 4" || strings.HasPrefix(a, "case.page/") {
			queued++
		}
	}
	if queued != 4 {
		t.Errorf("audit has %d page rows, want 4: %v", queued, s.auditActions(c.ID))
	}
}

func TestScoresOnCardsOnlyWhenTheClinicChoosesIt(t *testing.T) {
	s := newStaffEnv(t, 0)
	s.disp.ShowScores = true
	_, card := s.caseWithCard("609600000000000001", intake.Case{Outcome: "positive", Priority: intake.PriorityNormal,
		Scores:  map[string]intake.Score{"phq9": {Value: 17, Band: "moderately_severe"}, "gad7": {Value: 9, Band: "mild"}},
		Contact: intake.Contact{Method: "phone", Detail: "555-010-1234"}})
	embed := card.Embeds[0]
	if !strings.Contains(embed, "GAD7: 9 (mild)\\nPHQ9: 17 (moderately severe)") {
		t.Errorf("scores missing from the card: %s", embed)
	}
	if strings.Contains(embed, "555-010-1234") {
		t.Errorf("contact details on the card: %s", embed)
	}
}

func TestNoticeToClosedDMsIsReportedNotRetriedForever(t *testing.T) {
	s := newStaffEnv(t, 0)
	ctx := context.Background()
	user := "609700000000000001"
	c, _ := s.caseWithCard(user, intake.Case{Outcome: "positive", Priority: intake.PriorityNormal})
	s.fake.CloseDMs(user)
	s.kit.Store.ClaimCase(ctx, c.ID, "discord:"+staffUser, "Dana", true)
	s.step() // the card edit, then the notice, which fails for good
	if pending, _ := s.kit.Store.PendingEvents(ctx, 10); len(pending) != 0 {
		t.Errorf("pending = %+v", pending)
	}
	got := s.auditActions(c.ID)
	if len(got) != 2 || got[1] != "patient.notice/failed" {
		t.Errorf("audit = %v; want the failed notice recorded", got)
	}
	// Later events of the case still flow.
	s.kit.Store.CloseCase(ctx, c.ID, "discord:"+staffUser, "Dana", "duplicate", "")
	s.step()
	if m := s.card(c.ID); !strings.Contains(m.Embeds[0], "closed — Duplicate") {
		t.Errorf("card after close: %s", m.Embeds[0])
	}
}

func TestHighCaseReminderAfterAnHour(t *testing.T) {
	s := newStaffEnv(t, 0)
	c, card := s.caseWithCard("609800000000000001", intake.Case{Outcome: "safety_review", Priority: intake.PriorityHigh})
	s.clock.Add(59 * time.Minute)
	s.step()
	if n := len(pages(s.fake)); n != 0 {
		t.Fatalf("%d reminders before the hour", n)
	}
	s.clock.Add(time.Minute)
	s.step()
	ps := pages(s.fake)
	if len(ps) != 1 || ps[0].ReplyTo != card.ID || !strings.Contains(ps[0].Content, "<@&"+oncallRole+"> Reminder: high-priority case **"+c.ID+"** has waited 1 h") ||
		strings.Join(ps[0].AllowedRoles, ",") != oncallRole {
		t.Fatalf("reminder = %+v", ps)
	}
	s.clock.Add(24 * time.Hour)
	s.step()
	if n := len(pages(s.fake)); n != 1 {
		t.Errorf("%d reminders; a high case gets one", n)
	}
}

func TestDeletedCardIsPostedAgain(t *testing.T) {
	s := newStaffEnv(t, 0)
	ctx := context.Background()
	c, old := s.caseWithCard("609900000000000001", intake.Case{Outcome: "positive", Priority: intake.PriorityNormal})
	s.fake.DeleteMessage(old.ID)
	s.kit.Store.ClaimCase(ctx, c.ID, "discord:"+staffUser, "Dana", true)
	s.step()
	got := cards(s.fake)
	if len(got) != 1 || got[0].ID == old.ID || !strings.Contains(got[0].Embeds[0], "claimed — Dana") {
		t.Fatalf("cards after deleting the card = %+v", got)
	}
	if id, _ := s.kit.Store.CardMessage(ctx, c.ID); id != got[0].ID {
		t.Errorf("stored card %q, posted %q", id, got[0].ID)
	}
}
