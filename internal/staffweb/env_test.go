package staffweb_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/staffweb"
	"github.com/intakebot/intakebot/internal/testkit"
)

const (
	guildID      = "700000000000000001"
	staffChannel = "700000000000000002"
	staffRole    = "700000000000000003"
	oncallRole   = "700000000000000004"
	otherRole    = "700000000000000005"
	dana         = "700000000000000010" // staff
	outsider     = "700000000000000011" // a member without a staff role
	patient      = "700000000000000020"
	wait         = 10 * time.Second
)

// clock is real time moved forward by Add, shared by the store, the
// dispatcher and the console.
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

// env is the console wired as intakebot run wires it: the real store and
// engine, the real Discord adapter against the loopback fake (which also
// signs staff in with OAuth2), the outbox dispatcher running, and the
// console on a loopback HTTP server.
type env struct {
	t     testing.TB
	kit   *testkit.Kit
	fake  *discordfake.Server
	bot   *bot.Bot
	disp  *handoff.Dispatcher
	web   *staffweb.Server
	http  *httptest.Server
	clock *clock
	// stopDispatch stops the outbox dispatcher (benchmarks).
	stopDispatch func()
}

// gateway opens the bot's gateway connection too: needed only for events
// from Discord (a button on a card); staff actions use REST alone.
type gateway bool

func newEnv(t testing.TB, open ...gateway) *env {
	t.Helper()
	e := &env{t: t, kit: testkit.New(t), fake: discordfake.New(t), clock: &clock{}}
	t.Cleanup(e.fake.Close)
	e.fake.SetName(dana, "Dana")
	e.fake.SetName(outsider, "Olly")
	e.fake.SetMember(guildID, dana, staffRole)
	e.fake.SetMember(guildID, outsider, otherRole)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	labels := func(f []string) []string { return conversation.FlagLabels(e.kit.Script, f) }
	msgs := e.kit.Messages
	e.kit.Store.Now = e.clock.Now
	e.disp = &handoff.Dispatcher{Store: e.kit.Store, Labels: labels, Now: e.clock.Now, Log: log, Poll: 20 * time.Millisecond,
		Backoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Notice: func(key string, c intake.Case) (string, error) {
			return msgs.Render(key, map[string]any{"CaseID": c.ID, "ContactMethod": conversation.ContactLabel(e.kit.Script, c.Contact.Method)}), nil
		}}
	e.http = httptest.NewUnstartedServer(nil)
	public := "http://" + e.http.Listener.Addr().String()
	b, err := bot.New(bot.Config{Token: discordfake.Token, Dedupe: e.kit.Store, Transport: e.fake.Transport(), Logger: log, Fallback: "x",
		Staff: e.kit.Store, StaffChannelID: staffChannel, StaffRoleIDs: []string{staffRole}, OncallRoleID: oncallRole,
		FlagLabels: labels, Card: e.disp.Card, ClinicName: "Test Clinic", Kick: e.disp.Kick, Entries: e.kit.Store,
		ConsoleLink: func(id string) (string, error) { return e.web.Link(id) }})
	if err != nil {
		t.Fatal(err)
	}
	e.bot = b
	e.disp.Notifier = b.Notifier(staffChannel)
	e.kit.Relay = b
	e.kit.BuildEngine(t)
	e.web, err = staffweb.New(staffweb.Config{PublicURL: public, DiscordURL: e.fake.URL(), ClientID: discordfake.OAuthClientID,
		ClientSecret: discordfake.OAuthClientSecret, GuildID: guildID, StaffRoleIDs: []string{staffRole}, Cases: e.kit.Store, Actions: b,
		Script: e.kit.Script, Text: msgs.Text, FlagLabels: labels, ClinicName: "Test Clinic", LinkKey: []byte(strings.Repeat("k", 32)),
		Now: e.clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.http.Config.Handler = e.web
	e.http.Start()
	t.Cleanup(e.http.Close)
	if len(open) > 0 && open[0] {
		if err := b.Open(context.Background(), e.kit.Engine); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		if !e.fake.AwaitConnected(wait) {
			t.Fatal("bot did not connect")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.stopDispatch = cancel
	go e.disp.Run(ctx)
	return e
}

// Canary values: none of them may appear in anything the bot sends to
// Discord while the console is configured.
const (
	canaryPhone   = "555-0147-2231"
	canaryNotes   = "Canary patient note: I work nights at the mill"
	canaryRelay   = "canary relay: my sister drives me on tuesdays"
	canaryNote    = "Canary staff note: called, left a voicemail"
	canaryClose   = "Canary closing note: booked for the 14th"
	canaryMessage = "Hello from the care team, we will call you today."
	canaryCrisis  = "I want to kill myself tonight, zebra-canary"
)

// screen runs a whole positive screening for the patient through the engine
// (as their DMs would) and returns the case it opened, card posted.
func (e *env) screen(user string) intake.Case {
	e.t.Helper()
	answers := map[string]string{
		"consent": "yes", "age_18": "yes", "reasons": "1, 4", "antidepressant_trials": "3",
		"other_treatments": "5", "phq9_1": "4", "phq9_2": "4", "phq9_3": "3", "phq9_difficulty": "2",
		"bipolar_history": "yes", "ride_home": "no", "contact_method": "phone",
		"contact_detail": canaryPhone, "best_time": "2", "notes": canaryNotes,
	}
	rs := e.say(user, "/screen")
	caseID := ""
	for i := 0; i < 100 && caseID == ""; i++ {
		q := ""
		for _, r := range rs {
			if r.Kind == intake.ReplyQuestion {
				q = r.QuestionID
			}
			if r.Kind == intake.ReplyOutcome {
				caseID = r.CaseID
			}
		}
		if caseID != "" || q == "" {
			break
		}
		text, ok := answers[q]
		if !ok {
			text = "1"
			if qq := e.kit.Script.Question(q); q == conversation.CheckQuestionID || (qq != nil && qq.Kind == screening.KindYesNo) {
				text = "no"
			}
		}
		rs = e.say(user, text)
	}
	if caseID == "" {
		e.t.Fatalf("the screening opened no case; last replies: %+v", rs)
	}
	return e.awaitCard(caseID)
}

var turns atomic.Int64

func (e *env) say(user, text string) []intake.Reply {
	e.t.Helper()
	rs, err := e.kit.Engine.Handle(context.Background(), intake.Turn{Channel: bot.Channel, UserID: user, Text: text,
		EventID: fmt.Sprintf("t%s-%d", user, turns.Add(1)), At: e.clock.Now()})
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// awaitCard waits until the case's card is in the staff channel.
func (e *env) awaitCard(id string) intake.Case {
	e.t.Helper()
	e.disp.Kick()
	var c intake.Case
	if !e.fake.Await(wait, func() bool {
		var err error
		c, err = e.kit.Store.Case(context.Background(), id)
		return err == nil && c.CardMessageID != ""
	}) {
		e.t.Fatalf("case %s: no card posted", id)
	}
	return c
}

// client is a browser without a browser: a cookie jar and no JavaScript.
type client struct {
	t    testing.TB
	e    *env
	http *http.Client
	csrf string
	// start is the sign-in link of the last sign-in page seen.
	start string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, http: &http.Client{Jar: jar}}
}

var (
	reqRe  = regexp.MustCompile(`name="req" value="([0-9]+)"`)
	csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	// startRe finds the sign-in link (it carries where to go afterwards).
	startRe = regexp.MustCompile(`href="(/signin/discord[^"]*)"`)
)

// signIn goes through Discord's authorization as user and returns the page
// the console answered with.
func (c *client) signIn(user string) (*http.Response, string) {
	c.t.Helper()
	start := "/signin/discord"
	if c.start != "" {
		start, c.start = c.start, ""
	}
	resp, body := c.get(start)
	m := reqRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		c.t.Fatalf("no authorization page from the fake: %d\n%s", resp.StatusCode, body)
	}
	return c.getURL(c.e.fake.URL() + "/oauth2/authorize/answer?" + url.Values{"req": {m[1]}, "user": {user}}.Encode())
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	return c.getURL(c.e.http.URL + path)
}

func (c *client) getURL(u string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, c.read(resp)
}

func (c *client) read(resp *http.Response) string {
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfRe.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	if m := startRe.FindStringSubmatch(string(b)); m != nil {
		c.start = html.UnescapeString(m[1])
	}
	return string(b)
}

// post sends a form, with the page's CSRF token unless withToken is false.
func (c *client) post(path string, form url.Values, withToken bool) (*http.Response, string) {
	c.t.Helper()
	if withToken {
		form.Set("csrf", c.csrf)
	}
	resp, err := c.http.PostForm(c.e.http.URL+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, c.read(resp)
}
