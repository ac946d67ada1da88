package staffweb

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// session is a signed-in staff member, held server side only; the browser
// holds its random id. id, userID, name, token, csrf and created never
// change; lastSeen, checkedAt and flash are read and written with
// sessionStore.mu held.
type session struct {
	id        string
	userID    string // Discord user id
	name      string
	token     string // the member's OAuth2 access token (never leaves the server)
	csrf      string
	created   time.Time
	lastSeen  time.Time
	checkedAt time.Time // when the roles were last read from Discord
	flash     string    // the result of the last action, shown once
}

// actor is the session's audit identity, as the Discord card writes it.
func (s *session) actor() string { return "discord:" + s.userID }

type sessionStore struct {
	mu   sync.Mutex
	byID map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{byID: map[string]*session{}} }

func (st *sessionStore) add(s *session) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byID[s.id] = s
}

func (st *sessionStore) get(id string) (*session, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	return s, ok
}

func (st *sessionStore) drop(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, id)
}

// sweep forgets sessions that can no longer be used.
func (st *sessionStore) sweep(now time.Time, idle, maxAge time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for id, s := range st.byID {
		if now.Sub(s.lastSeen) > idle || now.Sub(s.created) > maxAge {
			delete(st.byID, id)
		}
	}
}

func (s *Server) cookieName() string {
	if s.secure {
		// __Host-: Secure, no Domain, Path=/ enforced by the browser.
		return "__Host-intakebot_session"
	}
	return "intakebot_session"
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// current returns the request's live session and touches it, or why not.
func (s *Server) current(r *http.Request) (*session, string) {
	c, err := r.Cookie(s.cookieName())
	if err != nil {
		return nil, ""
	}
	sess, ok := s.sessions.get(c.Value)
	if !ok {
		return nil, "Your session has ended. Please sign in again."
	}
	now := s.cfg.Now()
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	switch {
	case now.Sub(sess.lastSeen) > s.cfg.IdleTimeout:
		delete(s.sessions.byID, sess.id)
		return nil, "You were signed out after 15 minutes without activity. Please sign in again."
	case now.Sub(sess.created) > s.cfg.MaxAge:
		delete(s.sessions.byID, sess.id)
		return nil, "You were signed out after 12 hours. Please sign in again."
	}
	sess.lastSeen = now
	return sess, ""
}

// staff wraps a handler for signed-in staff: a live session, staff roles
// no older than RoleTTL, and on every POST the session's CSRF token.
func (s *Server) staff(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, why := s.current(r)
		if sess == nil {
			if r.Method != http.MethodGet {
				s.errorPage(w, r, http.StatusForbidden, "Signed out", orDefault(why, "You are not signed in."))
				return
			}
			s.signInRedirect(w, r, why)
			return
		}
		s.sessions.mu.Lock()
		stale := s.cfg.Now().Sub(sess.checkedAt) > s.cfg.RoleTTL
		s.sessions.mu.Unlock()
		if stale {
			ok, err := s.recheck(r.Context(), sess)
			if err != nil {
				s.log.Error("console role check", slog.String("staff_id", sess.userID), slog.Any("err", err))
				s.errorPage(w, r, http.StatusServiceUnavailable, "Roles not checked", "Your staff role could not be checked with Discord just now, so nothing is shown. Please try again in a moment.")
				return
			}
			if !ok {
				s.sessions.drop(sess.id)
				s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "console.refused", Result: "refused: no staff role"})
				s.log.Warn("console session ended: staff role removed", slog.String("staff_id", sess.userID))
				s.errorPage(w, r, http.StatusForbidden, "Not staff", "Your Discord account no longer has one of the clinic's staff roles, so you were signed out.")
				return
			}
		}
		if r.Method == http.MethodPost {
			if !s.sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
				s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "console.csrf", Result: "refused: missing or wrong form token"})
				s.log.Warn("console form refused: bad csrf token", slog.String("staff_id", sess.userID))
				s.errorPage(w, r, http.StatusForbidden, "Form refused", "This form was not sent from the console page it belongs to (its security token is missing or old), so nothing was done. Go back, reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	}
}

// sameOrigin refuses a POST that the browser says came from another site
// (Sec-Fetch-Site) or whose Origin names another site. With the pages'
// no-referrer policy browsers send "Origin: null" for the console's own
// forms, so null is left to the CSRF token.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	return o == "" || o == "null" || o == s.origin
}

// recheck reads the member's roles again with their token.
func (s *Server) recheck(ctx context.Context, sess *session) (bool, error) {
	m, err := s.member(ctx, sess.token)
	if err != nil {
		if errorsIsNotMember(err) {
			return false, nil
		}
		return false, err
	}
	s.sessions.mu.Lock()
	sess.checkedAt = s.cfg.Now()
	s.sessions.mu.Unlock()
	return s.isStaff(m.Roles), nil
}

func (s *Server) isStaff(roles []string) bool {
	for _, r := range roles {
		for _, want := range s.cfg.StaffRoleIDs {
			if r == want {
				return true
			}
		}
	}
	return false
}

// takeFlash returns and clears the session's last action result.
func (s *Server) takeFlash(sess *session) string {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	f := sess.flash
	sess.flash = ""
	return f
}

func (s *Server) setFlash(sess *session, msg string) {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	sess.flash = msg
}

// rateLimiter allows n events per window per key (a client address).
type rateLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	seen   map[string][]time.Time
}

func newRateLimiter(n int, window time.Duration) *rateLimiter {
	return &rateLimiter{n: n, window: window, seen: map[string][]time.Time{}}
}

func (l *rateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	keep := l.seen[key][:0]
	for _, t := range l.seen[key] {
		if now.Sub(t) < l.window {
			keep = append(keep, t)
		}
	}
	if len(keep) >= l.n {
		l.seen[key] = keep
		return false
	}
	l.seen[key] = append(keep, now)
	if len(l.seen) > 10000 {
		// Bounded: forget everyone's history rather than grow without end.
		l.seen = map[string][]time.Time{key: l.seen[key]}
	}
	return true
}

// clientKey is the client's address (the proxy's, behind one: the limit
// then applies to all sign-ins through it, which errs on the safe side).
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
