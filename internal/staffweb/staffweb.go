// Package staffweb is the staff web console: case queue, case pages, staff
// actions, the audit log, a weekly report and a CSV export, served over
// net/http with html/template and embedded assets (no build step, no
// JavaScript framework; every page works without JavaScript). Staff sign in
// with Discord (OAuth2 authorization code with PKCE and state) and must hold
// one of the clinic's staff roles, checked again from a copy no older than
// RoleTTL.
//
// It is a third adapter beside bot/ and internal/console: staff actions go
// through the Actions the Discord card's buttons run (implemented by bot/),
// so a card and the console never disagree; it reads cases through the
// small CaseReader interface. It never logs, titles or puts in a URL any
// patient data: only case references, staff ids and routes.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package staffweb

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/screening"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// CaseReader is what the console reads; the SQLite store implements it.
// Writes go through Actions, except the audit rows of views and exports.
type CaseReader interface {
	Cases(ctx context.Context, f intake.CaseFilter) ([]intake.Case, error)
	CaseQueue(ctx context.Context, f intake.QueueFilter) ([]intake.Case, int, error)
	Case(ctx context.Context, id string) (intake.Case, error)
	AuditLog(ctx context.Context, caseID string) ([]intake.AuditEntry, error)
	Audit(ctx context.Context, e intake.AuditEntry) error
	CaseEntries(ctx context.Context, caseID string) ([]intake.CaseEntry, error)
	SessionAnswers(ctx context.Context, sessionID string) (map[string]intake.Answer, error)
	ScreeningCounts(ctx context.Context, from, to time.Time) (started, finished int, err error)
}

// Actions are the staff actions of the Discord card (bot.Bot implements
// them). actorID is the staff member's Discord user id; each returns what to
// tell the staff member and whether it was done.
type Actions interface {
	Claim(ctx context.Context, actorID, name, caseID string) (string, bool)
	Unclaim(ctx context.Context, actorID, name, caseID string) (string, bool)
	AddNote(ctx context.Context, actorID, name, caseID, text string) (string, bool)
	MessagePatient(ctx context.Context, actorID, name, caseID, text, nonce string) (string, bool)
	CloseCase(ctx context.Context, actorID, name, caseID, reason, note string) (string, bool)
}

// Config configures the console.
type Config struct {
	// PublicURL is where staff reach the console (INTAKEBOT_CONSOLE_URL),
	// e.g. https://staff.clinic.example; an https URL makes cookies Secure.
	PublicURL string
	// DiscordURL is Discord's base URL (default https://discord.com; the
	// loopback fake's in tests and the demo).
	DiscordURL string
	// ClientID and ClientSecret are the OAuth2 application's.
	ClientID, ClientSecret string
	// GuildID is the clinic's server; StaffRoleIDs the roles admitted.
	GuildID      string
	StaffRoleIDs []string
	Cases        CaseReader
	Actions      Actions
	// Script and Text (messages.yaml rendering) put answers in plain words.
	Script *screening.Script
	Text   func(src string) (string, error)
	// FlagLabels turns flag ids into staff-facing labels.
	FlagLabels func([]string) []string
	// ClinicName titles the pages; Location places the weekly report's days.
	ClinicName string
	Location   *time.Location
	// LinkKey signs the short-lived links Details posts (32 bytes or more).
	LinkKey []byte
	// Now is the clock (sessions, links, role checks, report).
	Now func() time.Time
	Log *slog.Logger
	// HTTPClient calls Discord (default: 10 s timeout).
	HTTPClient *http.Client
	// RoleTTL is how old the copy of a member's roles may be (default 3
	// minutes); IdleTimeout and MaxAge end sessions (15 minutes, 12 hours).
	RoleTTL, IdleTimeout, MaxAge time.Duration
	// SignInLimit is how many sign-in attempts a client address may start
	// per minute (default 10).
	SignInLimit int
}

// Server is the console's HTTP handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	tmpl     map[string]*template.Template
	mux      *http.ServeMux
	sessions *sessionStore
	logins   *loginStore
	limiter  *rateLimiter
	secure   bool
	origin   string
	// nonces remembers message forms already sent (by form nonce), so a
	// resubmitted form does not message the patient twice.
	mu     sync.Mutex
	nonces map[string]time.Time
	// names are staff display names by audit actor ("discord:<id>"), learnt
	// from sign-ins and assignees, so the audit log reads as names.
	names sync.Map
}

// New checks the configuration and builds the console.
func New(cfg Config) (*Server, error) {
	if cfg.Cases == nil || cfg.Actions == nil {
		return nil, errors.New("staffweb: cases and actions are required")
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("the staff console needs INTAKEBOT_OAUTH_CLIENT_ID and INTAKEBOT_OAUTH_CLIENT_SECRET (Discord developer portal -> your application -> OAuth2)")
	}
	if cfg.GuildID == "" || len(cfg.StaffRoleIDs) == 0 {
		return nil, errors.New("the staff console needs INTAKEBOT_GUILD_ID and INTAKEBOT_STAFF_ROLE_IDS: it admits members of the clinic's server with a staff role")
	}
	if len(cfg.LinkKey) < 32 {
		return nil, errors.New("staffweb: a link key of 32 bytes or more is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("INTAKEBOT_CONSOLE_URL %q is not an http(s) address like https://staff.clinic.example", cfg.PublicURL)
	}
	if cfg.DiscordURL == "" {
		cfg.DiscordURL = "https://discord.com"
	}
	cfg.DiscordURL = strings.TrimRight(cfg.DiscordURL, "/")
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.RoleTTL <= 0 {
		cfg.RoleTTL = 3 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 15 * time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 12 * time.Hour
	}
	if cfg.SignInLimit <= 0 {
		cfg.SignInLimit = 10
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.FlagLabels == nil {
		cfg.FlagLabels = func(f []string) []string { return f }
	}
	if cfg.Text == nil {
		cfg.Text = func(s string) (string, error) { return s, nil }
	}
	s := &Server{cfg: cfg, log: cfg.Log, secure: u.Scheme == "https", origin: u.Scheme + "://" + u.Host,
		sessions: newSessionStore(), logins: newLoginStore(), limiter: newRateLimiter(cfg.SignInLimit, time.Minute), nonces: map[string]time.Time{}}
	if s.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/queue", http.StatusSeeOther) })
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /signin", s.signInPage)
	m.HandleFunc("GET /signin/discord", s.signInStart)
	m.HandleFunc("GET /oauth/callback", s.oauthCallback)
	m.HandleFunc("GET /link", s.openLink)
	m.HandleFunc("POST /signout", s.staff(s.signOut))
	m.HandleFunc("GET /queue", s.staff(s.queuePage))
	m.HandleFunc("GET /cases/{id}", s.staff(s.casePage))
	m.HandleFunc("POST /cases/{id}/{action}", s.staff(s.caseAction))
	m.HandleFunc("GET /audit", s.staff(s.auditPage))
	m.HandleFunc("GET /report", s.staff(s.reportPage))
	m.HandleFunc("GET /export", s.staff(s.exportPage))
	m.HandleFunc("POST /export", s.staff(s.exportCSV))
	s.mux = m
}

// ServeHTTP sets the security headers on every response and logs the
// request by route (never its query or body).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	h.Set("Cache-Control", "no-store")
	if s.secure {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	s.mux.ServeHTTP(rec, r)
	_, pattern := s.mux.Handler(r)
	s.log.Debug("console request", slog.String("method", r.Method), slog.String("route", pattern), slog.Int("status", rec.status),
		slog.Duration("took", time.Since(start)))
}

// CSP is the console's Content-Security-Policy: its own stylesheet and
// script only, no inline code, no framing, forms only to itself.
const CSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// randomID returns n random bytes, URL-safe base64.
func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath accepts only a path on this site as a place to return to.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/queue"
	}
	return p
}
