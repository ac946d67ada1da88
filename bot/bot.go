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
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/conversation"
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
	Engine  Engine
	Dedupe  Dedupe
	Logger  *slog.Logger
	// Transport replaces the HTTP transport (the fake Discord in tests).
	Transport http.RoundTripper
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
	cfg   Config
	s     *discordgo.Session
	log   *slog.Logger
	appID string
	// locks serialises turns per user: the engine expects one patient's
	// turns in order.
	locks sync.Map
	// recent remembers event ids seen by this process, so a replay is
	// refused before it could be acknowledged twice.
	recent seenSet
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

// New validates cfg and prepares a session; it does not connect.
func New(cfg Config) (*Bot, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("DISCORD_TOKEN is not set")
	}
	if cfg.Engine == nil || cfg.Dedupe == nil {
		return nil, errors.New("bot: engine and dedupe are required")
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
	s, err := discordgo.New("Bot " + strings.TrimPrefix(cfg.Token, "Bot "))
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
	if cfg.Transport != nil {
		s.Client = &http.Client{Transport: cfg.Transport, Timeout: cfg.CallTimeout}
	} else {
		s.Client = &http.Client{Timeout: cfg.CallTimeout}
	}
	b := &Bot{cfg: cfg, s: s, log: cfg.Logger}
	s.AddHandler(b.onReady)
	s.AddHandler(b.onMessage)
	s.AddHandler(b.onInteraction)
	return b, nil
}

// Open connects to the gateway and registers the slash commands with one
// bulk overwrite.
func (b *Bot) Open(ctx context.Context) error {
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("connect to Discord: %w", err)
	}
	if b.s.State != nil && b.s.State.User != nil {
		b.appID = b.s.State.User.ID
	}
	if b.s.State != nil && b.s.State.Application != nil && b.s.State.Application.ID != "" {
		b.appID = b.s.State.Application.ID
	}
	err := b.retry(ctx, "PUT commands", func(ctx context.Context) error {
		_, err := b.s.ApplicationCommandBulkOverwrite(b.appID, b.cfg.GuildID, Commands(), discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		b.s.Close()
		return fmt.Errorf("register commands: %w", err)
	}
	return nil
}

// Close disconnects.
func (b *Bot) Close() error { return b.s.Close() }

func (b *Bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	b.log.Info("discord gateway ready", slog.String("session", shortID(r.SessionID)))
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
