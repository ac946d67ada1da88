package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/testkit"
)

// wait bounds every Await; generous because -race on two busy cores is slow.
const wait = 20 * time.Second

type env struct {
	t    *testing.T
	fake *discordfake.Server
	kit  *testkit.Kit
	bot  *bot.Bot
}

func start(t *testing.T) *env {
	t.Helper()
	fake := discordfake.New(t)
	kit := newKit(t)
	e := &env{t: t, fake: fake, kit: kit}
	e.connect()
	t.Cleanup(fake.Close)
	return e
}

func (e *env) connect() { e.open(bot.Config{Fallback: "Sorry, something went wrong."}) }

// open starts a bot against the fake with cfg, filling in the token, the
// store and the transport, and waits until it is connected. before runs
// between building the bot and connecting it (the staff side attaches
// there, as run does); the engine is the kit's as it is then.
func (e *env) open(cfg bot.Config, before ...func(*bot.Bot)) *bot.Bot {
	e.t.Helper()
	cfg.Token, cfg.Dedupe, cfg.Transport = discordfake.Token, e.kit.Store, e.fake.Transport()
	if cfg.Fallback == "" {
		cfg.Fallback = "x"
	}
	b, err := bot.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, f := range before {
		f(b)
	}
	if err := b.Open(context.Background(), e.kit.Engine); err != nil {
		e.t.Fatal(err)
	}
	e.bot = b
	e.t.Cleanup(func() { b.Close() })
	if !e.fake.AwaitConnected(wait) {
		e.t.Fatal("bot did not connect")
	}
	return b
}

// awaitText waits for a bot message in the user's DM containing s, after
// the first `after` messages.
func (e *env) awaitText(user string, after int, s string) discordfake.Message {
	e.t.Helper()
	var found discordfake.Message
	ok := e.fake.Await(wait, func() bool {
		dm := e.fake.DM(user)
		for i := after; i < len(dm); i++ {
			if dm[i].AuthorID == e.fake.BotID && strings.Contains(dm[i].Content, s) {
				found = dm[i]
				return true
			}
		}
		return false
	})
	if !ok {
		e.t.Fatalf("no bot message containing %q; DM:\n%s", s, dump(e.fake.DM(user)))
	}
	return found
}

func dump(ms []discordfake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("[" + m.AuthorID + "] " + strings.ReplaceAll(m.Content, "\n", " ") + "\n")
	}
	return b.String()
}

// pendingQuestion waits for the newest bot message to be a question with
// components (or a free-text question) and returns it with its question id.
func (e *env) latestQuestion(user string, after int) (discordfake.Message, string) {
	e.t.Helper()
	var msg discordfake.Message
	var qid string
	ok := e.fake.Await(wait, func() bool {
		dm := e.fake.DM(user)
		for i := len(dm) - 1; i >= after; i-- {
			m := dm[i]
			if m.AuthorID != e.fake.BotID {
				continue
			}
			if len(m.Components) > 0 {
				if a, ok := bot.DecodeAction(m.Components[0].CustomID); ok {
					msg, qid = m, a.QuestionID
					return true
				}
			}
			if strings.Contains(m.Content, "Type your answer below") {
				msg = m
				return true
			}
			return false
		}
		return false
	})
	if !ok {
		e.t.Fatalf("no pending question; DM:\n%s", dump(e.fake.DM(user)))
	}
	return msg, qid
}

// answer clicks a component and waits until the question message shows the
// answer (the acknowledgement comes first, the edit once it is stored).
func (e *env) answer(user string, msg discordfake.Message, customID string, values ...string) {
	e.t.Helper()
	id := e.fake.Click(user, msg.ID, customID, values...)
	if !e.fake.AwaitAck(id, wait) {
		e.t.Fatalf("click %s not acknowledged", customID)
	}
	if !e.fake.Await(wait, func() bool {
		m, _ := e.fake.Message(msg.ID)
		return len(m.Components) == 0 && strings.Contains(m.Content, "Your answer:")
	}) {
		e.t.Fatalf("the answer to %s was not shown; DM:\n%s", customID, dump(e.fake.DM(user)))
	}
}

func TestWelcomeFAQAndCommands(t *testing.T) {
	e := start(t)
	cmds, scope := e.fake.Commands()
	if len(cmds) != 7 || scope != "" {
		t.Errorf("commands = %d (scope %q)", len(cmds), scope)
	}
	if in := e.fake.Intents(); in&(1<<1|1<<8|1<<15) != 0 || in&(1<<12) == 0 {
		t.Errorf("intents = %b: want DMs and no privileged intent", in)
	}
	e.fake.SendDM("601000000000000001", "hello")
	welcome := e.awaitText("601000000000000001", 0, "intake assistant")
	if len(welcome.Components) != 3 || welcome.Components[1].CustomID != bot.ActionID("screen") {
		t.Fatalf("welcome buttons = %+v", welcome.Components)
	}
	// "Start the screening" starts it; the welcome keeps its buttons.
	id := e.fake.Click("601000000000000001", welcome.ID, bot.ActionID("screen"))
	e.fake.AwaitAck(id, wait)
	if _, q := e.latestQuestion("601000000000000001", 0); q != "consent" {
		t.Errorf("after Start the screening, pending %q", q)
	}
	n := len(e.fake.DM("601000000000000001"))
	e.fake.SendDM("601000000000000001", "who takes me home after an infusion?")
	e.awaitText("601000000000000001", n, "From: Getting home after an infusion")

	id = e.fake.Command("601000000000000002", "", "", "ask", map[string]string{"question": "is ketamine addictive?"})
	if !e.fake.AwaitAck(id, wait) {
		t.Fatal("/ask was not acknowledged")
	}
	e.awaitText("601000000000000002", 0, "From: Is it addictive?")
}

// screenByClicks answers the screening for user by clicking buttons and
// menus (answers by question id; otherwise the first option, "no" for the
// suicide screen) and typing "skip" at free-text questions, until the
// screening ends. It returns the ids of the answered question messages.
func (e *env) screenByClicks(user string, answers map[string][]string) []string {
	e.t.Helper()
	botMessages := func() int {
		n := 0
		for _, m := range e.fake.DM(user) {
			if m.AuthorID == e.fake.BotID {
				n++
			}
		}
		return n
	}
	ended := func() bool {
		dm := e.fake.DM(user)
		for i := len(dm) - 1; i >= 0; i-- {
			if dm[i].AuthorID == e.fake.BotID {
				// The resources after the ASQ block say the screening goes
				// on: its next question follows.
				return len(dm[i].Components) == 0 && !strings.Contains(dm[i].Content, "Type your answer") &&
					!strings.Contains(dm[i].Content, "go on with the screening")
			}
		}
		return false
	}
	e.fake.SendDM(user, "/screen")
	var answered []string
	for step := 0; step < 80; step++ {
		msg, qid := e.latestQuestion(user, 0)
		before := botMessages()
		if qid == "" {
			e.fake.SendDM(user, "skip")
		} else {
			c := msg.Components[0]
			choice := answers[qid]
			if choice == nil {
				choice = []string{c.CustomID[strings.LastIndex(c.CustomID, ":")+1:]}
				if c.Type == 3 {
					choice = []string{c.Options[0].Value}
				}
				if strings.HasPrefix(qid, "asq_") {
					choice = []string{"no"}
				}
			}
			if c.Type == 3 {
				e.answer(user, msg, bot.EncodeSelect(qid), choice...)
			} else {
				e.answer(user, msg, bot.EncodeButton(qid, choice[0]))
			}
			answered = append(answered, msg.ID)
		}
		if !e.fake.Await(wait, func() bool { return botMessages() > before }) {
			e.t.Fatalf("no reply after answering %q; DM:\n%s", qid, dump(e.fake.DM(user)))
		}
		if ended() {
			return answered
		}
	}
	e.t.Fatal("the screening did not end")
	return nil
}

func TestScreeningByButtonsToEachOutcome(t *testing.T) {
	e := start(t)
	base := map[string][]string{"consent": {"yes"}, "age_18": {"yes"}, "reasons": {"depression"}, "other_treatments": {"none"}, "contact_method": {"discord"}}
	with := func(kv ...any) map[string][]string {
		m := map[string][]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].([]string)
		}
		return m
	}
	tests := []struct {
		outcome, message string
		answers          map[string][]string
	}{
		{"declined", "haven't kept any of your answers", with("consent", []string{"no"})},
		{"not_eligible", "adults 18 and over", with("age_18", []string{"no"})},
		{"urgent", "741741", with("asq_3", []string{"yes"}, "asq_5", []string{"yes"})},
		{"safety_review", "before we reach you", with("asq_1", []string{"yes"}, "asq_5", []string{"no"})},
		{"positive", "will review your answers", with("reasons", []string{"depression", "chronic_pain"})},
		{"negative", "may not be the right next step", with()},
	}
	for i, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			e.t = t
			user := fmt.Sprintf("6080000000000000%02d", i)
			answered := e.screenByClicks(user, tt.answers)
			e.awaitText(user, 0, tt.message)
			for _, id := range answered {
				m, _ := e.fake.Message(id)
				if len(m.Components) != 0 || !strings.Contains(m.Content, "Your answer:") || strings.Contains(m.Content, "_") {
					t.Errorf("answered message %s: %d components, %q", id, len(m.Components), m.Content)
				}
			}
			cases, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{PatientID: mustPatient(t, e, user)})
			wantCase := tt.outcome != "declined" && tt.outcome != "not_eligible" && tt.outcome != "negative"
			if wantCase && (len(cases) != 1 || cases[0].Outcome != tt.outcome) {
				t.Errorf("cases = %+v; want one %s case", cases, tt.outcome)
			}
			if !wantCase && len(cases) != 0 {
				t.Errorf("cases = %+v; want none", cases)
			}
		})
	}
	for _, lat := range e.fake.AckLatencies() {
		if lat > discordfake.AckDeadline {
			t.Errorf("an interaction was acknowledged after %v", lat)
		}
	}
}

func TestStaleAndRepeatedClicksChangeNothing(t *testing.T) {
	e := start(t)
	e.fake.SendDM("602000000000000002", "/screen")
	msg, qid := e.latestQuestion("602000000000000002", 0)
	if qid != "consent" {
		t.Fatalf("first question %q", qid)
	}
	e.answer("602000000000000002", msg, bot.EncodeButton("consent", "yes"))
	next, _ := e.latestQuestion("602000000000000002", 0)
	if next.ID == msg.ID {
		t.Fatal("no next question")
	}
	n := len(e.fake.DM("602000000000000002"))
	// The same button again (an old client): a private notice, nothing else.
	id := e.fake.Click("602000000000000002", msg.ID, bot.EncodeButton("consent", "no"))
	if !e.fake.AwaitAck(id, wait) {
		t.Fatal("stale click not acknowledged")
	}
	notice := e.awaitText("602000000000000002", n, "isn't waiting for an answer")
	if !notice.Ephemeral {
		t.Error("the stale-click notice is not ephemeral")
	}
	// The same interaction replayed after a resume is processed once.
	before := len(e.fake.DM("602000000000000002"))
	e.fake.Replay(id)
	time.Sleep(0) // nothing to wait for: a replay must produce nothing
	if e.fake.Await(300*time.Millisecond, func() bool { return len(e.fake.DM("602000000000000002")) > before }) {
		t.Error("a replayed interaction was processed twice")
	}
	if n, _ := e.kit.Store.FirstSeen(context.Background(), "discord:interaction:"+id); n {
		t.Error("the interaction id was not recorded")
	}
}

func TestCrisisInDM(t *testing.T) {
	e := start(t)
	e.fake.SendDM("602000000000000003", "i want to end it all")
	m := e.awaitText("602000000000000003", 0, "988")
	if !strings.Contains(m.Content, "741741") || !strings.Contains(m.Content, "911") {
		t.Errorf("crisis message = %q", m.Content)
	}
	cases, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
	if len(cases) != 1 || cases[0].Priority != intake.PriorityUrgent {
		t.Errorf("cases = %+v", cases)
	}
}

func TestRestartMidScreeningResumes(t *testing.T) {
	e := start(t)
	e.fake.SendDM("602000000000000004", "/screen")
	msg, _ := e.latestQuestion("602000000000000004", 0)
	e.answer("602000000000000004", msg, bot.EncodeButton("consent", "yes"))
	age, qid := e.latestQuestion("602000000000000004", 0)
	if qid != "age_18" {
		t.Fatalf("pending %q", qid)
	}
	// Restart: a new bot process with the store reopened.
	e.bot.Close()
	e.kit.Reopen(t)
	e.connect()
	// The old button still answers the pending question.
	e.answer("602000000000000004", age, bot.EncodeButton("age_18", "yes"))
	if _, q := e.latestQuestion("602000000000000004", 0); q != "reasons" {
		t.Errorf("after restart pending %q, want reasons", q)
	}
}

func TestCustomIDCodec(t *testing.T) {
	a, ok := bot.DecodeAction(bot.EncodeButton("phq9_1", "not_at_all"))
	if !ok || a.QuestionID != "phq9_1" || a.OptionID != "not_at_all" || a.Select {
		t.Errorf("button round trip: %+v %v", a, ok)
	}
	a, ok = bot.DecodeAction(bot.EncodeSelect("reasons"))
	if !ok || a.QuestionID != "reasons" || !a.Select {
		t.Errorf("select round trip: %+v %v", a, ok)
	}
	for _, bad := range []string{"", "v1", "v2:a:q:o", "v1:a:q", "v1:a::o", "v1:x:q", strings.Repeat("v1:a:q:", 20)} {
		if _, ok := bot.DecodeAction(bad); ok {
			t.Errorf("DecodeAction(%q) accepted", bad)
		}
	}
}

func FuzzDecodeAction(f *testing.F) {
	f.Add("v1:a:consent:yes")
	f.Add("v1:s:reasons")
	f.Fuzz(func(t *testing.T, id string) {
		if a, ok := bot.DecodeAction(id); ok {
			var again string
			if a.Select {
				again = bot.EncodeSelect(a.QuestionID)
			} else {
				again = bot.EncodeButton(a.QuestionID, a.OptionID)
			}
			if again != id {
				t.Errorf("DecodeAction(%q) = %+v, re-encodes as %q", id, a, again)
			}
		}
	})
}

func newKit(t *testing.T) *testkit.Kit { return testkit.New(t) }

const guild, channel = "500000000000000001", "500000000000000002"

func TestServerMentions(t *testing.T) {
	e := start(t)
	// A general question is answered in public.
	e.fake.SendChannel("603000000000000001", guild, channel, "how much does it cost?", true)
	if !e.fake.Await(wait, func() bool { return anyContains(e.fake.Channel(channel), "From: Cost and insurance") }) {
		t.Fatalf("no public answer:\n%s", dump(e.fake.Channel(channel)))
	}
	// A message that does not mention the bot is ignored.
	n := len(e.fake.Channel(channel))
	e.fake.SendChannel("603000000000000001", guild, channel, "how much does it cost?", false)
	if e.fake.Await(300*time.Millisecond, func() bool { return len(e.fake.Channel(channel)) > n+1 }) {
		t.Error("the bot answered a message that did not mention it")
	}
	// Crisis language in public: the resources at once, in the channel, and
	// the urgent case.
	e.fake.SendChannel("603000000000000002", guild, channel, "honestly i want to die", true)
	if !e.fake.Await(wait, func() bool { return anyContains(e.fake.Channel(channel), "741741") }) {
		t.Fatalf("no crisis resources in the channel:\n%s", dump(e.fake.Channel(channel)))
	}
	if !e.fake.Await(wait, func() bool {
		cs, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
		return len(cs) == 1 && cs[0].Priority == intake.PriorityUrgent
	}) {
		t.Error("no urgent case for crisis language in a server channel")
	}
	// Something personal moves to a DM.
	e.fake.SendChannel("603000000000000003", guild, channel, "what dose should I get?", true)
	e.awaitText("603000000000000003", 0, "clinician")
	if !e.fake.Await(wait, func() bool { return anyContains(e.fake.Channel(channel), "direct message") }) {
		t.Error("no public note that the answer went to a DM")
	}
	if anyContains(e.fake.Channel(channel), "don't stop or change") {
		t.Error("the personal answer was posted in public")
	}
}

func TestScreeningFromServerWithDMsClosed(t *testing.T) {
	e := start(t)
	e.fake.CloseDMs("603000000000000004")
	id := e.fake.Command("603000000000000004", guild, channel, "screening", nil)
	if !e.fake.AwaitAck(id, wait) {
		t.Fatal("/screening not acknowledged")
	}
	// The deferred reply is edited with how to open DMs.
	if !e.fake.Await(wait, func() bool { return anyContains(e.fake.Channel(channel), "Privacy Settings") }) {
		t.Fatalf("no explanation of closed DMs:\n%s", dump(e.fake.Channel(channel)))
	}
}

func TestQuestionMidScreeningInDM(t *testing.T) {
	e := start(t)
	e.fake.SendDM("602000000000000005", "/screen")
	msg, _ := e.latestQuestion("602000000000000005", 0)
	e.answer("602000000000000005", msg, bot.EncodeButton("consent", "yes"))
	age, _ := e.latestQuestion("602000000000000005", 0)
	n := len(e.fake.DM("602000000000000005"))
	e.fake.SendDM("602000000000000005", "wait, can I drive home after?")
	e.awaitText("602000000000000005", n, "From: Getting home after an infusion")
	again, qid := e.latestQuestion("602000000000000005", n)
	if qid != "age_18" || again.ID == age.ID {
		t.Errorf("after the question: pending %q (message %s, first asked in %s)", qid, again.ID, age.ID)
	}
	e.answer("602000000000000005", again, bot.EncodeButton("age_18", "yes"))
}

func anyContains(ms []discordfake.Message, s string) bool {
	for _, m := range ms {
		if strings.Contains(m.Content, s) {
			return true
		}
	}
	return false
}

func TestPrivacyAndForgetMeOnDiscord(t *testing.T) {
	e := start(t)
	user := "607000000000000001"
	e.fake.SendDM(user, "/screen")
	msg, _ := e.latestQuestion(user, 0)
	e.answer(user, msg, bot.EncodeButton("consent", "yes"))
	id := e.fake.Command(user, "", "", "privacy", nil)
	e.fake.AwaitAck(id, wait)
	p := e.awaitText(user, 0, "holds about you")
	if !p.Ephemeral || !strings.Contains(p.Content, "1 answers") {
		t.Errorf("/privacy = %+v", p)
	}
	id = e.fake.Command(user, "", "", "forget-me", nil)
	e.fake.AwaitAck(id, wait)
	confirm := e.awaitText(user, 0, "can't be undone")
	if len(confirm.Components) != 1 || confirm.Components[0].CustomID != bot.ForgetConfirmID {
		t.Fatalf("no confirmation button: %+v", confirm)
	}
	e.fake.Click(user, confirm.ID, bot.ForgetConfirmID)
	if !e.fake.Await(wait, func() bool {
		m, _ := e.fake.Message(confirm.ID)
		return strings.Contains(m.Content, "erased") && len(m.Components) == 0
	}) {
		t.Fatalf("the confirmation was not replaced by the result: %s", dump(e.fake.DM(user)))
	}
	sum, _ := e.kit.Store.PatientSummary(context.Background(), mustPatient(t, e, user))
	if sum.Answers != 0 || sum.Sessions != 0 {
		t.Errorf("after /forget-me: %+v", sum)
	}
}

func mustPatient(t *testing.T, e *env, user string) string {
	p, err := e.kit.Store.Patient(context.Background(), bot.Channel, user)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// A double click on a question's button (two interactions for one answer,
// handled at once): one is taken, the other is told privately that the
// question is no longer waiting, and the next question is asked once.
func TestDoubleClickAnswersOnce(t *testing.T) {
	e := start(t)
	const user = "603000000000000003"
	e.fake.SendDM(user, "/screen")
	msg, qid := e.latestQuestion(user, 0)
	if qid != "consent" {
		t.Fatalf("first question %q", qid)
	}
	n := len(e.fake.DM(user))
	id1 := e.fake.Click(user, msg.ID, bot.EncodeButton("consent", "yes"))
	id2 := e.fake.Click(user, msg.ID, bot.EncodeButton("consent", "yes"))
	if !e.fake.AwaitAck(id1, wait) || !e.fake.AwaitAck(id2, wait) {
		t.Fatal("clicks not acknowledged")
	}
	notice := e.awaitText(user, n, "isn't waiting for an answer")
	if !notice.Ephemeral {
		t.Error("the second click's notice is not ephemeral")
	}
	asked := func() int {
		k := 0
		for _, m := range e.fake.DM(user) {
			if len(m.Components) > 0 {
				if a, ok := bot.DecodeAction(m.Components[0].CustomID); ok && a.QuestionID == "age_18" {
					k++
				}
			}
		}
		return k
	}
	if !e.fake.Await(wait, func() bool { return asked() > 0 }) {
		t.Fatalf("the next question was not asked; DM:\n%s", dump(e.fake.DM(user)))
	}
	if asked := asked(); asked != 1 {
		t.Errorf("age_18 asked %d times; want once. DM:\n%s", asked, dump(e.fake.DM(user)))
	}
	p, err := e.kit.Store.Patient(context.Background(), "discord", user)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.kit.Store.ActiveSession(context.Background(), p.ID)
	if err != nil || len(sess.Answers) != 1 || sess.Answers["consent"].Choice != "yes" {
		t.Fatalf("session = %+v, %v; want consent only", sess, err)
	}
}
