package discordfake

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// The OAuth2 side of the fake, for the staff web console's sign-in: the
// authorization page (a consent screen with a button per known member, as a
// browser signed in to Discord would see it), the token endpoint
// (authorization code with PKCE S256, single-use codes), and the two reads
// a console makes with the member's bearer token: GET /users/@me and GET
// /users/@me/guilds/{guild_id}/member. Modelled on
// ../shared/reference/discord-notes.md ("Signing staff in with Discord").

// The OAuth2 application the fake accepts.
const (
	OAuthClientID     = "100000000000000001"
	OAuthClientSecret = "fake-oauth-client-secret"
)

type oauthState struct {
	mu sync.Mutex
	// members are guild id -> user id -> role ids.
	members map[string]map[string][]string
	// pending are authorization requests by id; codes and tokens issued.
	pending map[string]url.Values
	codes   map[string]oauthCode
	tokens  map[string]oauthToken
	// exchanged counts codes exchanged for tokens.
	exchanged int
	// auto, when set, is the user the browser is signed in to Discord as,
	// having authorized the application before: the authorization page
	// answers at once, as Discord does with prompt=none (the demo).
	auto string
}

type oauthCode struct {
	userID, redirectURI, challenge, scope string
	expires                               time.Time
}

type oauthToken struct{ userID, scope string }

func (o *oauthState) init() {
	if o.members == nil {
		o.members, o.pending = map[string]map[string][]string{}, map[string]url.Values{}
		o.codes, o.tokens = map[string]oauthCode{}, map[string]oauthToken{}
	}
}

// SetMember makes userID a member of guildID with roles (replacing any it
// had); the authorization page offers every member.
func (s *Server) SetMember(guildID, userID string, roles ...string) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.init()
	if s.oauth.members[guildID] == nil {
		s.oauth.members[guildID] = map[string][]string{}
	}
	s.oauth.members[guildID][userID] = append([]string{}, roles...)
}

// AuthorizeAs makes the authorization page answer at once as userID (a
// browser signed in to Discord that authorized the application before).
func (s *Server) AuthorizeAs(userID string) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.auto = userID
}

// RemoveMember takes userID out of guildID.
func (s *Server) RemoveMember(guildID, userID string) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.init()
	delete(s.oauth.members[guildID], userID)
}

// OAuthExchanges counts authorization codes exchanged for tokens.
func (s *Server) OAuthExchanges() int {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	return s.oauth.exchanged
}

// serveOAuth answers the OAuth2 routes and reports whether it did.
func (s *Server) serveOAuth(w http.ResponseWriter, r *http.Request) bool {
	path := apiPrefix.ReplaceAllString(r.URL.Path, "")
	hasAPI := path != r.URL.Path
	switch {
	case !hasAPI && r.URL.Path == "/favicon.ico":
		// A browser on the authorization page asks for it.
		http.NotFound(w, r)
	case !hasAPI && r.Method == http.MethodGet && r.URL.Path == "/oauth2/authorize":
		s.authorize(w, r)
	case !hasAPI && r.Method == http.MethodGet && r.URL.Path == "/oauth2/authorize/answer":
		s.authorizeAnswer(w, r)
	case hasAPI && r.Method == http.MethodPost && path == "/oauth2/token":
		s.token(w, r)
	case hasAPI && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
		s.bearerRead(w, r, path)
	default:
		return false
	}
	return true
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var problems []string
	if q.Get("response_type") != "code" {
		problems = append(problems, "response_type must be code")
	}
	if q.Get("client_id") != OAuthClientID {
		problems = append(problems, "unknown client_id")
	}
	if u, err := url.Parse(q.Get("redirect_uri")); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, "redirect_uri must be an absolute URL")
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, want := range []string{"identify", "guilds.members.read"} {
		if !contains(scopes, want) {
			problems = append(problems, "scope lacks "+want)
		}
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 {
		problems = append(problems, "PKCE: code_challenge (S256) is required")
	}
	if len(q.Get("state")) < 16 {
		problems = append(problems, "state is missing or too short to be random")
	}
	if len(problems) > 0 {
		s.violation("GET /oauth2/authorize: %s", strings.Join(problems, "; "))
		http.Error(w, "invalid authorization request: "+strings.Join(problems, "; "), http.StatusBadRequest)
		return
	}
	s.oauth.mu.Lock()
	s.oauth.init()
	s.mu.Lock()
	reqID := s.id()
	s.mu.Unlock()
	s.oauth.pending[reqID] = q
	if auto := s.oauth.auto; auto != "" {
		s.oauth.mu.Unlock()
		http.Redirect(w, r, "/oauth2/authorize/answer?"+url.Values{"req": {reqID}, "user": {auto}}.Encode(), http.StatusFound)
		return
	}
	users := map[string]bool{}
	for _, ms := range s.oauth.members {
		for u := range ms {
			users[u] = true
		}
	}
	s.oauth.mu.Unlock()
	ids := make([]string, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	sort.Strings(ids)
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Discord (loopback fake): authorize</title></head><body>`)
	b.WriteString(`<h1>Discord (loopback fake)</h1><p>An application wants to access your account: your username and avatar, and your roles in servers you are in.</p>`)
	for _, u := range ids {
		fmt.Fprintf(&b, `<form method="get" action="/oauth2/authorize/answer"><input type="hidden" name="req" value="%s"><input type="hidden" name="user" value="%s"><button type="submit" id="authorize-%s">Authorize as %s</button></form>`,
			reqID, u, u, html.EscapeString(s.displayName(u)))
	}
	fmt.Fprintf(&b, `<form method="get" action="/oauth2/authorize/answer"><input type="hidden" name="req" value="%s"><button type="submit" id="cancel">Cancel</button></form></body></html>`, reqID)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(b.String()))
}

func (s *Server) displayName(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.names[userID]; n != "" {
		return n
	}
	return "user " + userID
}

func (s *Server) authorizeAnswer(w http.ResponseWriter, r *http.Request) {
	s.oauth.mu.Lock()
	s.oauth.init()
	q, ok := s.oauth.pending[r.URL.Query().Get("req")]
	delete(s.oauth.pending, r.URL.Query().Get("req"))
	user := r.URL.Query().Get("user")
	var code string
	if ok && user != "" {
		s.mu.Lock()
		code = "code-" + s.id()
		s.mu.Unlock()
		s.oauth.codes[code] = oauthCode{userID: user, redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
			scope: q.Get("scope"), expires: time.Now().Add(10 * time.Minute)}
	}
	s.oauth.mu.Unlock()
	if !ok {
		http.Error(w, "unknown or used authorization request", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	if code == "" {
		back.Set("error", "access_denied")
	} else {
		back.Set("code", code)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.violation("POST /oauth2/token: Content-Type %q, want application/x-www-form-urlencoded", ct)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != OAuthClientID || secret != OAuthClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client"})
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.init()
	c, ok := s.oauth.codes[f.Get("code")]
	delete(s.oauth.codes, f.Get("code")) // single use, whatever happens
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case !ok || time.Now().After(c.expires):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "Invalid \"code\" in request."})
		return
	case f.Get("redirect_uri") != c.redirectURI:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "Invalid \"redirect_uri\" in request."})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "Invalid \"code_verifier\"."})
		return
	}
	s.mu.Lock()
	tok := "bearer-" + s.id()
	s.mu.Unlock()
	s.oauth.tokens[tok] = oauthToken{userID: c.userID, scope: c.scope}
	s.oauth.exchanged++
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 604800,
		"refresh_token": "refresh-" + tok, "scope": c.scope})
}

// bearerRead answers the reads a user's token allows.
func (s *Server) bearerRead(w http.ResponseWriter, r *http.Request, path string) {
	s.oauth.mu.Lock()
	s.oauth.init()
	t, ok := s.oauth.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.oauth.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 0, "message": "401: Unauthorized"})
		return
	}
	p := segs(path)
	switch {
	case r.Method == http.MethodGet && path == "/users/@me":
		s.mu.Lock()
		u := s.named(t.userID)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, u)
	case r.Method == http.MethodGet && len(p) == 5 && p[0] == "users" && p[1] == "@me" && p[2] == "guilds" && p[4] == "member":
		if !contains(strings.Fields(t.scope), "guilds.members.read") {
			writeJSON(w, http.StatusForbidden, map[string]any{"code": 50001, "message": "Missing Access"})
			return
		}
		s.oauth.mu.Lock()
		roles, member := s.oauth.members[p[3]][t.userID]
		s.oauth.mu.Unlock()
		if !member {
			writeJSON(w, http.StatusNotFound, map[string]any{"code": 10007, "message": "Unknown Member"})
			return
		}
		s.mu.Lock()
		u := s.named(t.userID)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"user": u, "roles": roles, "nick": nil,
			"joined_at": "2024-01-01T00:00:00+00:00", "deaf": false, "mute": false, "flags": 0})
	default:
		s.violation("%s %s with a user's bearer token is not modelled", r.Method, path)
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 0, "message": "404: Not Found"})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
