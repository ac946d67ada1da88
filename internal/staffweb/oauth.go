package staffweb

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// Scopes asked of Discord: who the member is, and their roles in the
// clinic's server.
const Scopes = "identify guilds.members.read"

// login is a sign-in under way: the state sent to Discord, the PKCE
// verifier, and where to go afterwards. The browser holds its id in a
// short-lived cookie, so a callback from another browser is refused.
type login struct {
	state, verifier, next string
	expires               time.Time
}

type loginStore struct {
	mu   sync.Mutex
	byID map[string]login
}

func newLoginStore() *loginStore { return &loginStore{byID: map[string]login{}} }

const loginCookie = "intakebot_signin"

// signInRedirect sends a browser that is not signed in to the sign-in page,
// remembering (server side) where it was going.
func (s *Server) signInRedirect(w http.ResponseWriter, r *http.Request, why string) {
	q := url.Values{}
	if why != "" {
		q.Set("ended", "1")
	}
	next := r.URL.Path
	if next != "/queue" && next != "/" {
		q.Set("next", next)
	}
	http.Redirect(w, r, "/signin?"+q.Encode(), http.StatusSeeOther)
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.current(r); sess != nil {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	msg := ""
	if r.URL.Query().Get("ended") != "" {
		msg = "Your session ended (15 minutes without activity, or 12 hours in all). Please sign in again."
	}
	next := localPath(r.URL.Query().Get("next"))
	s.render(w, r, http.StatusOK, "signin", "Sign in", nil, map[string]any{"Message": msg, "Start": "/signin/discord?next=" + url.QueryEscape(next)})
}

// signInStart begins the authorization code flow with PKCE and state.
func (s *Server) signInStart(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	if !s.limiter.allow(clientKey(r), now) {
		s.log.Warn("console sign-in rate-limited")
		w.Header().Set("Retry-After", "60")
		s.errorPage(w, r, http.StatusTooManyRequests, "Too many sign-ins", "Too many sign-in attempts from this address. Please wait a minute and try again.")
		return
	}
	l := login{state: randomID(24), verifier: randomID(48), next: localPath(r.URL.Query().Get("next")), expires: now.Add(10 * time.Minute)}
	id := randomID(24)
	s.logins.mu.Lock()
	for k, v := range s.logins.byID {
		if now.After(v.expires) {
			delete(s.logins.byID, k)
		}
	}
	s.logins.byID[id] = l
	s.logins.mu.Unlock()
	s.setCookie(w, loginCookie, id, 10*time.Minute)
	sum := sha256.Sum256([]byte(l.verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {s.cfg.ClientID},
		"redirect_uri":          {s.redirectURI()},
		"scope":                 {Scopes},
		"state":                 {l.state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"prompt":                {"none"},
	}
	http.Redirect(w, r, s.cfg.DiscordURL+"/oauth2/authorize?"+q.Encode(), http.StatusSeeOther)
}

func (s *Server) redirectURI() string { return s.cfg.PublicURL + "/oauth/callback" }

// oauthCallback finishes sign-in: the state must match this browser's
// sign-in, the code is exchanged with the PKCE verifier, and only a member
// of the clinic's server with a staff role gets a session.
func (s *Server) oauthCallback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in failed", "This sign-in was not started in this browser, or took longer than 10 minutes. Please sign in again.")
		return
	}
	s.setCookie(w, loginCookie, "", -1)
	s.logins.mu.Lock()
	l, ok := s.logins.byID[c.Value]
	delete(s.logins.byID, c.Value)
	s.logins.mu.Unlock()
	q := r.URL.Query()
	if !ok || s.cfg.Now().After(l.expires) || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1 {
		s.log.Warn("console sign-in refused: state does not match")
		s.errorPage(w, r, http.StatusBadRequest, "Sign-in failed", "This sign-in could not be verified (it expired or was not started here). Please sign in again.")
		return
	}
	if q.Get("error") != "" {
		s.errorPage(w, r, http.StatusForbidden, "Sign-in cancelled", "Discord did not sign you in (the request was cancelled or refused). You can try again.")
		return
	}
	ctx := r.Context()
	token, err := s.exchange(ctx, q.Get("code"), l.verifier)
	if err != nil {
		s.log.Error("console sign-in: code exchange", slog.Any("err", err))
		s.errorPage(w, r, http.StatusBadGateway, "Sign-in failed", "Discord did not confirm the sign-in. Please try again.")
		return
	}
	me, err := s.me(ctx, token)
	if err != nil {
		s.log.Error("console sign-in: read user", slog.Any("err", err))
		s.errorPage(w, r, http.StatusBadGateway, "Sign-in failed", "Discord did not say who you are. Please try again.")
		return
	}
	actor := "discord:" + me.ID
	m, err := s.member(ctx, token)
	if err != nil && !errorsIsNotMember(err) {
		s.log.Error("console sign-in: read member", slog.String("staff_id", me.ID), slog.Any("err", err))
		s.errorPage(w, r, http.StatusBadGateway, "Sign-in failed", "Your roles in the clinic's server could not be read. Please try again.")
		return
	}
	if err != nil || !s.isStaff(m.Roles) {
		s.cfg.Cases.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "console.signin", Result: "refused: not staff"})
		s.log.Warn("console sign-in refused: not staff", slog.String("staff_id", me.ID))
		s.errorPage(w, r, http.StatusForbidden, "Not staff", "You signed in with Discord, but your account does not have one of the clinic's staff roles in its server, so the console is closed to you. Ask the clinic's Discord admin if you should have one.")
		return
	}
	name := me.GlobalName
	if m.Nick != "" {
		name = m.Nick
	}
	if name == "" {
		name = me.Username
	}
	now := s.cfg.Now()
	s.sessions.sweep(now, s.cfg.IdleTimeout, s.cfg.MaxAge)
	sess := &session{id: randomID(32), userID: me.ID, name: name, token: token, csrf: randomID(32), created: now, lastSeen: now, checkedAt: now}
	s.sessions.add(sess)
	s.names.Store(actor, name)
	s.setCookie(w, s.cookieName(), sess.id, 0)
	s.cfg.Cases.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "console.signin", Result: "ok"})
	s.log.Info("console sign-in", slog.String("staff_id", me.ID))
	http.Redirect(w, r, l.next, http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.drop(sess.id)
	s.setCookie(w, s.cookieName(), "", -1)
	s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "console.signout", Result: "ok"})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// exchange trades the authorization code for an access token.
func (s *Server) exchange(ctx context.Context, code, verifier string) (string, error) {
	if code == "" {
		return "", errors.New("no code in the callback")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {s.redirectURI()}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.DiscordURL+"/api/v10/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.cfg.ClientID), url.QueryEscape(s.cfg.ClientSecret))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := s.call(req, &tok); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return "", errors.New("token: no bearer token in the answer")
	}
	return tok.AccessToken, nil
}

type discordUser struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
}

type discordMember struct {
	Roles []string `json:"roles"`
	Nick  string   `json:"nick"`
}

func (s *Server) me(ctx context.Context, token string) (discordUser, error) {
	var u discordUser
	err := s.bearer(ctx, token, "/api/v10/users/@me", &u)
	if err == nil && u.ID == "" {
		err = errors.New("no user id")
	}
	return u, err
}

func (s *Server) member(ctx context.Context, token string) (discordMember, error) {
	var m discordMember
	err := s.bearer(ctx, token, "/api/v10/users/@me/guilds/"+url.PathEscape(s.cfg.GuildID)+"/member", &m)
	return m, err
}

func (s *Server) bearer(ctx context.Context, token, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.DiscordURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return s.call(req, out)
}

// httpStatusError is a refusal from Discord, by status.
type httpStatusError struct{ status int }

func (e httpStatusError) Error() string { return fmt.Sprintf("discord answered HTTP %d", e.status) }

// errorsIsNotMember reports Discord saying the user is not in the server
// (404) or the token no longer works (401): either way, not staff now.
func errorsIsNotMember(err error) bool {
	var h httpStatusError
	return errors.As(err, &h) && (h.status == http.StatusNotFound || h.status == http.StatusUnauthorized || h.status == http.StatusForbidden)
}

func (s *Server) call(req *http.Request, out any) error {
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	resp, err := s.cfg.HTTPClient.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return httpStatusError{resp.StatusCode}
	}
	return json.Unmarshal(body, out)
}
