package bot_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
)

// clickWorks starts (or continues) a screening for user and checks a click
// is acknowledged and moves it on.
func (e *env) clickWorks(user string) {
	e.t.Helper()
	n := len(e.fake.DM(user))
	e.fake.SendDM(user, "/screen")
	msg, qid := e.latestQuestion(user, n)
	id := e.fake.Click(user, msg.ID, bot.EncodeButton(qid, msg.Components[0].CustomID[strings.LastIndex(msg.Components[0].CustomID, ":")+1:]))
	if !e.fake.AwaitAck(id, wait) {
		e.t.Fatalf("click on %s after the fault was not acknowledged", qid)
	}
}

func TestGatewayFaultsAreSurvived(t *testing.T) {
	e := start(t)
	e.clickWorks("604000000000000001")

	e.fake.DropSocket()
	if !e.fake.AwaitSessions(wait, 1, 1) {
		t.Fatal("no resume after a dropped socket")
	}
	e.clickWorks("604000000000000002")

	e.fake.SendReconnect()
	if !e.fake.AwaitSessions(wait, 1, 2) {
		t.Fatal("no resume after op 7")
	}
	e.clickWorks("604000000000000003")

	for i, resumable := range []bool{false, true} {
		e.fake.SendInvalidSession(resumable)
		if !e.fake.AwaitSessions(wait, 2+i, 2) {
			t.Fatalf("no new session after op 9 (d=%v)", resumable)
		}
		e.clickWorks(fmt.Sprintf("6040000000000000%02d", 4+i))
	}
	for _, lat := range e.fake.AckLatencies() {
		if lat > discordfake.AckDeadline {
			t.Errorf("an interaction was acknowledged after %v", lat)
		}
	}
}

// syncBuffer is a log sink the bot's goroutines can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRateLimitStormIsBounded(t *testing.T) {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	var logs syncBuffer
	e.open(bot.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil)), MaxRetries: 3})
	const route = "/channels/{channel_id}/messages"
	storm := make([]discordfake.Fault, 20)
	for i := range storm {
		storm[i] = discordfake.Fault{Status: 429, RetryAfter: 20 * time.Millisecond}
	}
	fake.InjectFault(route, storm...)
	before := fake.Requests(route)
	start := time.Now()
	fake.SendDM("605000000000000001", "hello")
	// The welcome fails after at most 1 + 3 attempts, and says so.
	if !fake.Await(wait, func() bool { return strings.Contains(logs.String(), "discord call failed") }) {
		t.Fatalf("no failure logged; logs:\n%s", logs.String())
	}
	if n := fake.Requests(route) - before; n > 4 {
		t.Errorf("%d attempts for one message; want at most 4", n)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the retries took too long (%v); logs:\n%s", time.Since(start), logs.String())
	}
	log := logs.String()
	if !strings.Contains(log, "route=\"POST /channels/{id}/messages\"") || !strings.Contains(log, "status=429") {
		t.Errorf("the failure log lacks the route or status:\n%s", log)
	}
	if strings.Contains(log, "intake assistant") {
		t.Error("message text in the logs")
	}
	// The storm passes (the rest of the injected 429s are used up by other
	// patients' welcomes); the next message works.
	for i := 0; fake.Requests(route) < before+len(storm) && i < len(storm); i++ {
		fake.SendDM(fmt.Sprintf("6090000000000000%02d", i), "hello")
		fake.Await(wait, func() bool { return strings.Count(logs.String(), "discord call failed") > i })
	}
	fake.SendDM("605000000000000003", "how much does it cost?")
	if _, ok := fake.AwaitDM("605000000000000003", wait, func(m discordfake.Message) bool { return strings.Contains(m.Content, "From: Cost") }); !ok {
		t.Error("no answer after the storm")
	}
}

// startWithWatchdog connects a bot whose watchdog replaces the session after
// a short bound.
func startWithWatchdog(t *testing.T, bound time.Duration) *env {
	fake := discordfake.New(t)
	t.Cleanup(fake.Close)
	e := &env{t: t, fake: fake, kit: newKit(t)}
	e.open(bot.Config{WatchdogBound: bound})
	return e
}

// TestWatchdogReplacesAHungSession reproduces discordgo v0.29.0 hanging in
// Open while resuming (no RESUMED ever comes): the watchdog opens a new
// session and the next interaction works.
func TestWatchdogReplacesAHungSession(t *testing.T) {
	e := startWithWatchdog(t, 400*time.Millisecond)
	e.clickWorks("601100000000000001")
	e.fake.StallResumes(1000)
	e.fake.DropSocket()
	if !e.fake.AwaitSessions(wait, 2, 0) {
		t.Fatal("the watchdog did not open a new session")
	}
	e.clickWorks("601100000000000002")
}

// TestWatchdogStopsOnANonRetryableCloseCode: a revoked token (4004) is not
// retried for ever; the bot reports it on Done.
func TestWatchdogStopsOnANonRetryableCloseCode(t *testing.T) {
	e := startWithWatchdog(t, 300*time.Millisecond)
	e.fake.StallResumes(1000)
	e.fake.RefuseIdentify(4004)
	e.fake.DropSocket()
	select {
	case err := <-e.bot.Done():
		if !strings.Contains(err.Error(), "4004") {
			t.Errorf("Done = %v; want the close code", err)
		}
	case <-time.After(wait):
		t.Fatal("the bot kept retrying a close code that must not be retried")
	}
}
