// Package bot is intakebot's Discord adapter and the only importer of
// discordgo. It turns gateway events into engine turns and the engine's
// platform-neutral replies into Discord messages, buttons and select menus.
// It holds no conversation logic: the engine decides, the adapter renders.
//
// Constraints it lives with (../shared/reference/discord-notes.md): the
// 3-second interaction deadline, bounded retries of 429s (discordgo's own
// retry is unbounded and is turned off), duplicate events after a resume
// (deduplicated durably by event id), and the 2,000-character message limit.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// Channel is the channel name of Discord patients.
const Channel = "discord"

// Intents: guild messages and DMs; no privileged intent (DM content and
// messages that mention the bot are exempt from the message-content intent).
const Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages

// Engine is the conversation engine as the adapter sees it.
type Engine interface {
	Handle(ctx context.Context, t intake.Turn) ([]intake.Reply, error)
	Ask(ctx context.Context, question string) conversation.Answer
}

// Dedupe records event ids durably (intake.Store implements it).
type Dedupe interface {
	FirstSeen(ctx context.Context, eventID string) (bool, error)
}

// Config configures a Bot.
type Config struct {
	Token   string
	GuildID string // commands are registered in this guild; "" registers them globally
	Dedupe  Dedupe
	Logger  *slog.Logger
	// Transport replaces the HTTP transport (the fake Discord in tests).
	Transport http.RoundTripper
	// Staff is the store for staff actions on case cards; StaffRoleIDs are
	// the roles allowed to act; OncallRoleID is paged about urgent cases.
	// FlagLabels renders flags in case details; Card builds a case's card
	// (the dispatcher's settings: hours note, scores).
	Staff          StaffStore
	StaffChannelID string
	StaffRoleIDs   []string
	OncallRoleID   string
	FlagLabels     func([]string) []string
	Card           func(intake.Case) handoff.Card
	// ClinicName signs messages staff send to patients.
	ClinicName string
	// Entries (nil: none) records notes, messages to patients and relayed
	// messages for the staff web console.
	Entries EntryStore
	// ConsoleLink (nil: no console) returns a short-lived signed link to a
	// case in the staff web console. With it, Details answers with the link
	// and no health data, and notes and relayed messages stay out of
	// Discord: the case thread says only that there is one, in the console.
	ConsoleLink func(caseID string) (string, error)
	// Kick wakes the outbox dispatcher after a staff action queued events.
	Kick func()
	// WatchdogBound is how long the gateway may stay down after a drop
	// before the session is replaced (default 45s).
	WatchdogBound time.Duration
	// CallTimeout bounds every REST call (default 5s); interaction
	// acknowledgements get at most 2.5s so they land inside Discord's 3.
	CallTimeout time.Duration
	// MaxRetries bounds retries of a rate-limited call (default 3).
	MaxRetries int
	// Fallback is sent when the engine fails, so a patient is never left
	// without an answer.
	Fallback string
}

// Bot is a connected Discord adapter.
type Bot struct {
	cfg Config
	// engine handles turns. It is set once by Open before the gateway
	// connects, so every event handler sees it (the session's goroutines
	// start after the write), and never changed.
	engine Engine
	// sess is the live session; the watchdog may replace it.
	sess  atomic.Pointer[discordgo.Session]
	log   *slog.Logger
	appID string
	// downSince is when the gateway dropped (UnixNano), 0 while connected.
	downSince atomic.Int64
	stop      chan struct{}
	stopOnce  sync.Once
	done      chan error
	// locks serialises turns per user: the engine expects one patient's
	// turns in order.
	locks sync.Map
	// recent remembers event ids seen by this process, so a replay is
	// refused before it could be acknowledged twice.
	recent seenSet
	// global paces REST requests under Discord's global rate limit.
	global *limiter
	// threads are case threads known to exist (by id, which is the card's
	// message id).
	threads sync.Map
}

// seenSet is a bounded set of recent ids (the oldest are forgotten first).
type seenSet struct {
	mu   sync.Mutex
	ids  map[string]bool
	ring []string
	next int
}

const seenCapacity = 20000

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids, s.ring = map[string]bool{}, make([]string, seenCapacity)
	}
	if s.ids[id] {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next], s.ids[id] = id, true
	s.next = (s.next + 1) % seenCapacity
	return true
}

// New validates cfg and prepares a session; it does not connect, so the
// Bot can be handed to the engine (as its relay) before any turn arrives.
func New(cfg Config) (*Bot, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("DISCORD_TOKEN is not set")
	}
	if cfg.Dedupe == nil {
		return nil, errors.New("bot: dedupe is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 5 * time.Second
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.FlagLabels == nil {
		cfg.FlagLabels = func(f []string) []string { return f }
	}
	if cfg.Card == nil {
		labels := cfg.FlagLabels
		cfg.Card = func(c intake.Case) handoff.Card { return handoff.CardOf(c, labels) }
	}
	if cfg.WatchdogBound <= 0 {
		cfg.WatchdogBound = 45 * time.Second
	}
	b := &Bot{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), done: make(chan error, 1), global: newLimiter(GlobalRate, globalBurst)}
	s, err := b.newSession()
	if err != nil {
		return nil, err
	}
	b.sess.Store(s)
	return b, nil
}

// newSession builds a session with the adapter's settings and handlers.
func (b *Bot) newSession() (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + strings.TrimPrefix(b.cfg.Token, "Bot "))
	if err != nil {
		return nil, err
	}
	s.Identify.Intents = Intents
	// discordgo retries 429s without limit and without honouring contexts;
	// the adapter retries itself, bounded.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.SyncEvents = false
	s.LogLevel = discordgo.LogError
	next := b.cfg.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	s.Client = &http.Client{Transport: limited{next: next, l: b.global}, Timeout: b.cfg.CallTimeout}
	s.AddHandler(b.onReady)
	s.AddHandler(b.onResumed)
	s.AddHandler(b.onDisconnect)
	s.AddHandler(b.onMessage)
	s.AddHandler(b.onInteraction)
	return s, nil
}

// session is the live session.
func (b *Bot) session() *discordgo.Session { return b.sess.Load() }

// Done delivers the error that stopped the bot for good (a close code that
// must not be retried, such as a revoked token).
func (b *Bot) Done() <-chan error { return b.done }

// Open hands the adapter its engine, connects to the gateway and registers
// the slash commands with one bulk overwrite. eng is built whole before
// this call: nothing the engine depends on may be attached once events can
// arrive.
func (b *Bot) Open(ctx context.Context, eng Engine) error {
	if eng == nil {
		return errors.New("bot: open needs the engine")
	}
	if b.engine != nil {
		return errors.New("bot: already opened")
	}
	b.engine = eng
	if err := b.session().Open(); err != nil {
		return fmt.Errorf("connect to Discord: %w", err)
	}
	go b.watchdog()
	if b.session().State != nil && b.session().State.User != nil {
		b.appID = b.session().State.User.ID
	}
	if b.session().State != nil && b.session().State.Application != nil && b.session().State.Application.ID != "" {
		b.appID = b.session().State.Application.ID
	}
	err := b.retry(ctx, "PUT commands", func(ctx context.Context) error {
		_, err := b.session().ApplicationCommandBulkOverwrite(b.appID, b.cfg.GuildID, Commands(), discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		b.session().Close()
		return fmt.Errorf("register commands: %w", err)
	}
	return nil
}

// Close disconnects and stops the watchdog. A session stuck inside
// discordgo's Open (its lock held for ever) is abandoned after a bound
// rather than waited for.
func (b *Bot) Close() error {
	b.stopOnce.Do(func() { close(b.stop) })
	done := make(chan error, 1)
	go func() { done <- b.session().Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("discord session stuck; abandoned")
	}
}

func (b *Bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.downSince.Store(0)
	b.log.Info("discord gateway ready", slog.String("session", shortID(r.SessionID)))
}

func (b *Bot) onResumed(_ *discordgo.Session, _ *discordgo.Resumed) {
	b.downSince.Store(0)
	b.log.Info("discord gateway resumed")
}

func (b *Bot) onDisconnect(s *discordgo.Session, _ *discordgo.Disconnect) {
	if s != b.session() {
		return // an abandoned session
	}
	b.downSince.CompareAndSwap(0, time.Now().UnixNano())
}

// watchdog replaces a session that has not reached READY or RESUMED within
// the bound after a drop. discordgo v0.29.0 can hang forever resuming (it
// holds its lock while waiting, and deadlocks on an op 7 then), and retries
// close codes that must not be retried; neither recovers by itself.
func (b *Bot) watchdog() {
	tick := time.NewTicker(b.cfg.WatchdogBound / 4)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
		}
		since := b.downSince.Load()
		if since == 0 || time.Since(time.Unix(0, since)) < b.cfg.WatchdogBound {
			continue
		}
		b.log.Error("discord gateway did not come back; opening a new session", slog.Duration("down_for", time.Since(time.Unix(0, since)).Round(time.Millisecond)))
		fresh, err := b.newSession()
		if err != nil {
			continue
		}
		if err := fresh.Open(); err != nil {
			if code := CloseCode(err); code != 0 && !retryableClose(code) {
				b.log.Error("discord refused the session for good", slog.Int("close_code", code))
				b.abandon(b.session())
				select {
				case b.done <- fmt.Errorf("discord closed the gateway with code %d, which must not be retried: %w", code, err):
				default:
				}
				return
			}
			b.log.Warn("new session failed; will try again", slog.String("err", errText(err)))
			continue
		}
		old := b.sess.Swap(fresh)
		b.abandon(old)
		b.downSince.Store(0)
	}
}

// abandon stops an old session from ever reconnecting: its reconnect loop
// cannot be stopped in v0.29.0, so its dialer is made to fail. A session
// stuck inside Open is left where it is.
func (b *Bot) abandon(old *discordgo.Session) {
	old.Dialer = &websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return nil, errors.New("session abandoned") }}
	go old.Close() // may block forever on a deadlocked session; never waited for
}

var closeCodeRe = regexp.MustCompile(`close (\d{4})`)

// CloseCode extracts a gateway close code from an Open error (0 if none).
func CloseCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	if m := closeCodeRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// retryableClose reports whether a gateway close code may be retried:
// 4004 (authentication failed) and 4010-4014 (bad shard, sharding required,
// bad API version, invalid or disallowed intents) must not be.
func retryableClose(code int) bool {
	return code != 4004 && (code < 4010 || code > 4014)
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// lock serialises one user's turns.
func (b *Bot) lock(userID string) func() {
	v, _ := b.locks.LoadOrStore(userID, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// firstSeen deduplicates an event durably; on a store failure the event is
// handled (a duplicate reply is better than a lost answer).
func (b *Bot) firstSeen(ctx context.Context, kind, id string) bool {
	first, err := b.cfg.Dedupe.FirstSeen(ctx, "discord:"+kind+":"+id)
	if err != nil {
		b.log.Error("dedupe", slog.String("event_id", id), slog.Any("err", err))
		return true
	}
	if !first {
		b.log.Info("duplicate event ignored", slog.String("kind", kind), slog.String("event_id", id))
	}
	return first
}

// retry runs a REST call with a deadline, retrying 429s (honouring
// Retry-After) and 502/503/504 a bounded number of times. Failures are
// logged with the route and status, never with message text.
func (b *Bot) retry(ctx context.Context, route string, call func(ctx context.Context) error) error {
	var err error
	for attempt := 0; attempt <= b.cfg.MaxRetries; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
		err = call(cctx)
		cancel()
		if err == nil {
			return nil
		}
		wait, again := retryAfter(err, attempt)
		if !again || attempt == b.cfg.MaxRetries {
			break
		}
		b.log.Warn("discord call retried", slog.String("route", route), slog.Int("attempt", attempt+1), slog.Duration("wait", wait), slog.Int("status", statusOf(err)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.log.Error("discord call failed", slog.String("route", route), slog.Int("status", statusOf(err)), slog.String("err", errText(err)))
	return err
}

func retryAfter(err error, attempt int) (time.Duration, bool) {
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		d := rl.RetryAfter
		if d <= 0 {
			d = 500 * time.Millisecond
		}
		return min(d, 10*time.Second), true
	}
	switch statusOf(err) {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return time.Duration(attempt+1) * 250 * time.Millisecond, true
	}
	return 0, false
}

func statusOf(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return http.StatusTooManyRequests
	}
	return 0
}

// errText describes an error without any message body.
func errText(err error) string {
	var re *discordgo.RESTError
	if errors.As(err, &re) {
		if re.Message != nil {
			return fmt.Sprintf("discord code %d", re.Message.Code)
		}
		return "rest error"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	return "error"
}

// discordCode returns Discord's JSON error code (50007: cannot DM the user).
func discordCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// RewriteTransport sends every request to base (scheme and host), whatever
// host it names: for pointing the adapter at a loopback Discord.
func RewriteTransport(base string) (http.RoundTripper, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad Discord URL %q", base)
	}
	return rewriter{scheme: u.Scheme, host: u.Host}, nil
}

type rewriter struct{ scheme, host string }

func (r rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.scheme, r.host, r.host
	return http.DefaultTransport.RoundTrip(req)
}
