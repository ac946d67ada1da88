// Package discordfake is a loopback Discord (REST and websocket gateway) that
// the real discordgo client talks to, for tests and `intakebot demo`.
//
// In the tailscale testcontrol style: the zero-configuration New works on
// 127.0.0.1; every REST request body is validated against Discord's OpenAPI
// spec (by package discordfake/schema, which tests import and the
// production binary does not link) and documented limits; an unmodelled route or a violation fails the
// test that caused it; hooks inject faults (429 with Retry-After, 5xx, dropped
// sockets); Await helpers wait on a condition instead of sleeping. State (what
// a user sees in their DM) is readable by tests.
package discordfake

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB the fake uses; a nil TB (the demo) logs
// violations to stderr instead.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// Token is the bot token the fake accepts.
const Token = "fake-bot-token"

// AckDeadline is Discord's deadline for the first response to an interaction.
const AckDeadline = 3 * time.Second

// Message is a message as the fake stores it.
type Message struct {
	ID         string
	ChannelID  string
	AuthorID   string
	Content    string
	Components []Component
	Flags      int
	// Embeds holds each embed as JSON.
	Embeds []string
	Edited bool
	// Ephemeral messages are only seen by the user who interacted.
	Ephemeral bool
	// AllowedRoles are the roles the message may ping (allowed_mentions);
	// AllowedParse is allowed_mentions.parse ("everyone" would ping all).
	AllowedRoles []string
	AllowedParse []string
	// ReplyTo is the message this one replies to.
	ReplyTo string
	// At is when the fake created the message.
	At time.Time
}

// Component is a flattened button or select menu.
type Component struct {
	Type     int // 2 button, 3 string select
	CustomID string
	Label    string
	Options  []SelectOption
	Disabled bool
}

// SelectOption is one option of a select menu.
type SelectOption struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

type interaction struct {
	id, token, userID, channelID string
	messageID                    string
	sent                         time.Time
	acked                        time.Time
	ackType                      int
	typ                          int
	responses                    []string // ids of messages created by the response and follow-ups
	deferEphemeral               bool
	modal                        map[string]any
}

// Server is the fake Discord.
type Server struct {
	t        TB
	http     *httptest.Server
	spec     *spec
	AppID    string
	BotID    string
	mu       sync.Mutex
	changed  *sync.Cond
	nextID   int64
	dms      map[string]string // user id -> DM channel id
	chanUser map[string]string // DM channel id -> user id
	messages []*Message        // in creation order
	byID     map[string]*Message
	// byChannel holds each channel's messages in creation order, so reading
	// one DM costs that DM, not every message stored.
	byChannel map[string][]*Message
	inter     map[string]*interaction // by token
	// interByID indexes inter by interaction id (AwaitAck polls it).
	interByID map[string]*interaction
	// awaiting counts the Await calls in progress; while there are any,
	// one ticker (stopped by closing tickStop) wakes them every 10ms.
	awaiting int
	tickStop chan struct{}
	commands []any
	cmdScope string // "" global, else guild id
	faults   map[string][]Fault
	record   *os.File
	gw       gateway
	acks     []time.Duration
	requests int
	byRoute  map[string]int
	// closedDMs are users whose DMs refuse the bot (50007).
	closedDMs map[string]bool
	threads   []Thread
	nonces    map[string]string // channel/nonce -> message id
	// memberRoles are the roles of the next member interaction.
	memberRoles []string
	// names are display names set with SetName, by user id.
	names map[string]string
	// guildChannels are server channels GET /channels/{id} can read.
	guildChannels map[string]map[string]any
	// global holds the send times of recent requests under Discord's global
	// rate limit in the last two seconds, oldest first.
	global []time.Time
	// maxGlobal is the most such requests seen in any one second.
	maxGlobal int
	// oauth is the OAuth2 side (oauth.go): members, codes, tokens.
	oauth oauthState
}

// GlobalLimit is Discord's global rate limit: requests per second per bot,
// interaction endpoints exempt.
const GlobalLimit = 50

// SetGuildChannel makes a server channel readable, with its permission
// overwrites ({"id", "type", "allow", "deny"} each).
func (s *Server) SetGuildChannel(id, guildID, name string, overwrites []map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guildChannels == nil {
		s.guildChannels = map[string]map[string]any{}
	}
	ow := []any{}
	for _, o := range overwrites {
		ow = append(ow, o)
	}
	s.guildChannels[id] = map[string]any{"id": id, "type": channelTypeGuild, "guild_id": guildID, "name": name, "position": 0,
		"permission_overwrites": ow, "nsfw": false, "flags": 0}
}

// MaxGlobalRate is the most requests under the global limit that arrived
// within any one second.
func (s *Server) MaxGlobalRate() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxGlobal
}

// sentHeader carries the time a request left the client, stamped by the
// fake's Transport.
const sentHeader = "X-Discordfake-Sent"

// sentAt is when r left the client: the Transport's stamp, or now for a
// request from another transport.
func sentAt(r *http.Request) time.Time {
	if ns, err := strconv.ParseInt(r.Header.Get(sentHeader), 10, 64); err == nil {
		return time.Unix(0, ns)
	}
	return time.Now()
}

// countGlobal records a request under the global limit and reports a
// violation when a second holds more than GlobalLimit of them. Requests
// are counted by when they left the client, not when a handler got to
// them: a fake starved of CPU (a loaded machine) would otherwise see a
// backlog of requests sent at the limit's pace as a burst over it.
func (s *Server) countGlobal(path string, sent time.Time) {
	if strings.HasPrefix(path, "/interactions/") || strings.HasPrefix(path, "/webhooks/") {
		return
	}
	s.mu.Lock()
	g := s.global // sorted
	i := sort.Search(len(g), func(i int) bool { return g[i].After(sent) })
	g = slices.Insert(g, i, sent)
	newest := g[len(g)-1]
	g = g[sort.Search(len(g), func(i int) bool { return newest.Sub(g[i]) < 2*time.Second }):]
	// The busiest second among those starting at a request (a request
	// handled late may fill a second that was counted before).
	n := 0
	for lo, hi := 0, 0; lo < len(g); lo++ {
		for hi < len(g) && g[hi].Sub(g[lo]) < time.Second {
			hi++
		}
		n = max(n, hi-lo)
	}
	s.global = g
	if n > s.maxGlobal {
		s.maxGlobal = n
	}
	s.mu.Unlock()
	if n > GlobalLimit {
		s.violation("%d requests within one second: over Discord's global limit of %d", n, GlobalLimit)
	}
}

// Thread is a thread the bot created.
type Thread struct {
	ID, ParentID, Name string
}

// Threads returns the threads created so far.
func (s *Server) Threads() []Thread {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Thread(nil), s.threads...)
}

// Fault is an injected failure for the next request to a route.
type Fault struct {
	Status     int           // 429, 500, 502...
	RetryAfter time.Duration // for 429
	Delay      time.Duration // latency before answering
	// AfterAccept applies the request first and only then delays the
	// answer: the client times out although Discord did the work.
	AfterAccept bool
}

// New starts a fake on 127.0.0.1. t receives violations; nil logs them.
func New(t TB) *Server {
	sp, err := loadSpec()
	if err != nil {
		panic(err)
	}
	// Ids are snowflakes from the current time, as Discord's are, so ids from
	// two runs never collide (the bot records ids it has handled).
	const discordEpoch = 1420070400000
	first := (time.Now().UnixMilli() - discordEpoch) << 22
	s := &Server{t: t, spec: sp, AppID: "100000000000000001", BotID: "100000000000000001", nextID: first,
		dms: map[string]string{}, chanUser: map[string]string{}, byID: map[string]*Message{},
		byChannel: map[string][]*Message{}, inter: map[string]*interaction{},
		faults: map[string][]Fault{}, byRoute: map[string]int{}, nonces: map[string]string{}}
	s.changed = sync.NewCond(&s.mu)
	if sp.schema == nil && flag.Lookup("test.v") != nil {
		// A test binary (testing registers test.v): its fakes validate.
		s.violation("no schema validator registered: import _ \"github.com/intakebot/intakebot/bot/discordfake/schema\" in a test file of this package")
	}
	s.gw.init(s)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws/", s.gw.serve)
	mux.HandleFunc("/", s.serveREST)
	s.http = httptest.NewServer(mux)
	if path := os.Getenv("INTAKEBOT_FAKEDISCORD_RECORD"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			s.record = f
		}
	}
	return s
}

// Close stops the fake.
func (s *Server) Close() {
	s.gw.closeAll()
	s.http.Close()
	if s.record != nil {
		s.record.Close()
	}
}

// URL is the fake's base URL.
func (s *Server) URL() string { return s.http.URL }

// Transport sends every request to the fake, whatever host it names; set it
// as discordgo's Session.Client transport.
func (s *Server) Transport() http.RoundTripper {
	u, _ := url.Parse(s.http.URL)
	return rewrite{host: u.Host, next: http.DefaultTransport}
}

type rewrite struct {
	host string
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = "http", r.host, r.host
	req.Header.Set(sentHeader, strconv.FormatInt(time.Now().UnixNano(), 10))
	return r.next.RoundTrip(req)
}

// InjectFault makes the next len(faults) requests whose route template
// contains route fail as given ("/channels/{channel_id}/messages").
func (s *Server) InjectFault(route string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

func (s *Server) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.t != nil {
		s.t.Errorf("discordfake: %s", msg)
	} else {
		fmt.Fprintf(os.Stderr, "discordfake: %s\n", msg)
	}
}

func (s *Server) id() string {
	s.nextID++
	return strconv.FormatInt(s.nextID, 10)
}

var apiPrefix = regexp.MustCompile(`^/api/v(9|10)`)

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	if s.serveOAuth(w, r) {
		return
	}
	if !apiPrefix.MatchString(r.URL.Path) {
		s.violation("request outside the API: %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	path := apiPrefix.ReplaceAllString(r.URL.Path, "")
	if r.Header.Get("Authorization") != "Bot "+Token && !strings.HasPrefix(path, "/interactions/") && !strings.HasPrefix(path, "/webhooks/") {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 0, "message": "401: Unauthorized"})
		return
	}
	tmpl, ok := s.spec.match(r.Method, path)
	if !ok {
		s.violation("%s %s is not in Discord's API", r.Method, path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, rawJSON, err := readBody(r)
	if err != nil {
		s.violation("%s %s: %v", r.Method, tmpl, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.recordRequest(r.Method, path, rawJSON)
	s.countGlobal(path, sentAt(r))
	if f, ok := s.takeFault(tmpl); ok && f.AfterAccept {
		if body != nil {
			if err := s.spec.validate(r.Method, tmpl, body); err != nil {
				s.violation("%v", err)
			}
		}
		rec := httptest.NewRecorder()
		s.route(rec, r, tmpl, path, body)
		time.Sleep(f.Delay)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	} else if ok {
		time.Sleep(f.Delay)
		if f.Status == http.StatusTooManyRequests {
			secs := f.RetryAfter.Seconds()
			w.Header().Set("Retry-After", strconv.FormatFloat(secs, 'f', 3, 64))
			w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Bucket", "fake")
			writeJSON(w, 429, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false})
			return
		}
		if f.Status != 0 {
			writeJSON(w, f.Status, map[string]any{"message": "injected", "code": 0})
			return
		}
	}
	if body != nil {
		if err := s.spec.validate(r.Method, tmpl, body); err != nil {
			s.violation("%v", err)
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 50035, "message": "Invalid Form Body"})
			return
		}
	}
	s.route(w, r, tmpl, path, body)
}

func (s *Server) takeFault(tmpl string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.byRoute[tmpl]++
	for route, fs := range s.faults {
		if strings.Contains(tmpl, route) && len(fs) > 0 {
			s.faults[route] = fs[1:]
			return fs[0], true
		}
	}
	return Fault{}, false
}

func (s *Server) recordRequest(method, path string, body []byte) {
	if s.record == nil {
		return
	}
	line := map[string]any{"method": method, "path": path}
	if len(body) > 0 {
		line["body"] = json.RawMessage(body)
	}
	b, _ := json.Marshal(line)
	s.mu.Lock()
	s.record.Write(append(b, '\n'))
	s.mu.Unlock()
}

// readBody returns the JSON body (or the payload_json part of a multipart
// body) decoded for validation, and its raw bytes.
func readBody(r *http.Request) (any, []byte, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodDelete {
		return nil, nil, nil
	}
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var raw []byte
	switch ct {
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			} else if err != nil {
				return nil, nil, err
			}
			if part.FormName() == "payload_json" {
				raw, _ = io.ReadAll(part)
			}
		}
	default:
		raw, _ = io.ReadAll(r.Body)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, nil, nil
	}
	v, err := coerce(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("body is not JSON: %v", err)
	}
	return v, raw, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func segs(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

func (s *Server) route(w http.ResponseWriter, r *http.Request, tmpl, path string, body any) {
	p := segs(path)
	m, _ := body.(map[string]any)
	switch r.Method + " " + tmpl {
	case "GET /gateway", "GET /gateway/bot":
		writeJSON(w, 200, map[string]any{"url": s.gw.url(), "shards": 1,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
	case "POST /users/@me/channels":
		uid, _ := m["recipient_id"].(string)
		writeJSON(w, 200, s.dmChannel(uid))
	case "POST /channels/{channel_id}/messages":
		for _, v := range limits(m, true) {
			s.violation("POST %s: %s", tmpl, v)
		}
		s.mu.Lock()
		closed := s.closedDMs[s.chanUser[p[1]]]
		nonce, _ := m["nonce"].(string)
		enforce, _ := m["enforce_nonce"].(bool)
		dup := ""
		if enforce && nonce != "" {
			dup = s.nonces[p[1]+"/"+nonce]
		}
		s.mu.Unlock()
		if closed {
			writeJSON(w, http.StatusForbidden, map[string]any{"code": 50007, "message": "Cannot send messages to this user"})
			return
		}
		if dup != "" {
			// Discord answers a repeated nonce with the message it created.
			s.mu.Lock()
			prev := s.byID[dup]
			s.mu.Unlock()
			writeJSON(w, 200, s.messageJSON(prev))
			return
		}
		msg := s.createMessage(p[1], s.BotID, m, false)
		if enforce && nonce != "" {
			s.mu.Lock()
			s.nonces[p[1]+"/"+nonce] = msg.ID
			s.mu.Unlock()
		}
		writeJSON(w, 200, s.messageJSON(msg))
	case "PATCH /channels/{channel_id}/messages/{message_id}":
		for _, v := range limits(m, true) {
			s.violation("PATCH %s: %s", tmpl, v)
		}
		msg, ok := s.editMessage(p[3], m)
		if !ok {
			writeJSON(w, 404, map[string]any{"code": 10008, "message": "Unknown Message"})
			return
		}
		writeJSON(w, 200, s.messageJSON(msg))
	case "GET /channels/{channel_id}":
		s.mu.Lock()
		ch, ok := s.guildChannels[p[1]]
		s.mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"code": 10003, "message": "Unknown Channel"})
			return
		}
		writeJSON(w, 200, ch)
	case "POST /channels/{channel_id}/threads", "POST /channels/{channel_id}/messages/{message_id}/threads":
		name, _ := m["name"].(string)
		s.mu.Lock()
		id := ""
		if len(p) == 5 {
			// A thread started from a message has the message's id; a
			// message holds one thread.
			id = p[3]
			if s.byID[id] == nil {
				s.mu.Unlock()
				writeJSON(w, 404, map[string]any{"code": 10008, "message": "Unknown Message"})
				return
			}
			for _, t := range s.threads {
				if t.ID == id {
					s.mu.Unlock()
					writeJSON(w, 400, map[string]any{"code": 160004, "message": "A thread has already been created for this message"})
					return
				}
			}
		} else {
			id = s.id()
		}
		s.threads = append(s.threads, Thread{ID: id, ParentID: p[1], Name: name})
		s.changed.Broadcast()
		s.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": id, "type": 12, "parent_id": p[1], "name": name, "guild_id": "500000000000000001",
			"thread_metadata": map[string]any{"archived": false, "auto_archive_duration": 10080, "locked": false, "archive_timestamp": time.Now().UTC().Format(time.RFC3339)}})
	case "POST /interactions/{interaction_id}/{interaction_token}/callback":
		s.callback(w, p[2], m)
	case "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original":
		s.editOriginal(w, p[2], m)
	case "POST /webhooks/{webhook_id}/{webhook_token}":
		s.followup(w, p[2], m)
	case "PUT /applications/{application_id}/commands", "PUT /applications/{application_id}/guilds/{guild_id}/commands":
		cmds, _ := body.([]any)
		for _, v := range commandLimits(cmds) {
			s.violation("PUT %s: %s", tmpl, v)
		}
		s.mu.Lock()
		s.commands = cmds
		s.cmdScope = ""
		if len(p) == 5 {
			s.cmdScope = p[3]
		}
		s.mu.Unlock()
		out := make([]map[string]any, 0, len(cmds))
		for _, c := range cmds {
			cm, _ := c.(map[string]any)
			out = append(out, map[string]any{"id": s.locked(s.id), "application_id": s.AppID, "name": cm["name"], "description": cm["description"], "version": "1", "type": 1})
		}
		writeJSON(w, 200, out)
	default:
		s.violation("%s %s is in the spec but not modelled by the fake", r.Method, tmpl)
		http.Error(w, "unmodelled", http.StatusNotImplemented)
	}
}

func (s *Server) locked(f func() string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

func (s *Server) dmChannel(userID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.dms[userID]
	if !ok {
		id = s.id()
		s.dms[userID] = id
		s.chanUser[id] = userID
	}
	return map[string]any{"id": id, "type": 1, "recipients": []any{map[string]any{"id": userID, "username": "user" + userID}}}
}

func (s *Server) createMessage(channelID, author string, body map[string]any, ephemeral bool) *Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := &Message{ID: s.id(), ChannelID: channelID, AuthorID: author, Ephemeral: ephemeral, At: time.Now()}
	applyMessage(msg, body)
	s.messages = append(s.messages, msg)
	s.byID[msg.ID] = msg
	s.byChannel[channelID] = append(s.byChannel[channelID], msg)
	s.changed.Broadcast()
	return msg
}

func (s *Server) editMessage(id string, body map[string]any) (*Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	applyMessage(msg, body)
	msg.Edited = true
	s.changed.Broadcast()
	return msg, true
}

// applyMessage sets the fields a create or edit body carries.
func applyMessage(msg *Message, body map[string]any) {
	if embeds, ok := body["embeds"].([]any); ok {
		msg.Embeds = nil
		for _, e := range embeds {
			b, _ := json.Marshal(e)
			msg.Embeds = append(msg.Embeds, string(b))
		}
	}
	if c, ok := body["content"].(string); ok {
		msg.Content = c
	}
	if am, ok := body["allowed_mentions"].(map[string]any); ok {
		msg.AllowedRoles, msg.AllowedParse = strs(am["roles"]), strs(am["parse"])
	}
	if ref, ok := body["message_reference"].(map[string]any); ok {
		msg.ReplyTo, _ = ref["message_id"].(string)
	}
	if f, ok := body["flags"]; ok {
		msg.Flags = int(num(f))
	}
	if rows, ok := body["components"].([]any); ok {
		msg.Components = nil
		for _, r := range rows {
			row, _ := r.(map[string]any)
			comps, _ := row["components"].([]any)
			for _, c := range comps {
				cm, _ := c.(map[string]any)
				comp := Component{Type: int(num(cm["type"]))}
				comp.CustomID, _ = cm["custom_id"].(string)
				comp.Label, _ = cm["label"].(string)
				comp.Disabled, _ = cm["disabled"].(bool)
				if opts, ok := cm["options"].([]any); ok {
					for _, o := range opts {
						om, _ := o.(map[string]any)
						l, _ := om["label"].(string)
						v, _ := om["value"].(string)
						comp.Options = append(comp.Options, SelectOption{Label: l, Value: v})
					}
				}
				msg.Components = append(msg.Components, comp)
			}
		}
	}
}

func (s *Server) messageJSON(m *Message) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "type": 0, "flags": m.Flags,
		"author":    map[string]any{"id": m.AuthorID, "username": "bot", "bot": m.AuthorID == s.BotID},
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "tts": false, "mention_everyone": false,
		"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{}, "embeds": []any{}, "pinned": false}
}

// Requests returns how many requests reached a route template
// ("/channels/{channel_id}/messages").
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRoute[route]
}

func strs(v any) []string {
	out := []string{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// DeleteMessage deletes a message, as a member with Manage Messages may.
func (s *Server) DeleteMessage(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, ok := s.byID[id]
	delete(s.byID, id)
	for i, m := range s.messages {
		if m.ID == id {
			s.messages = append(s.messages[:i], s.messages[i+1:]...)
			break
		}
	}
	if ok {
		ch := s.byChannel[msg.ChannelID]
		for i, m := range ch {
			if m.ID == id {
				s.byChannel[msg.ChannelID] = append(ch[:i:i], ch[i+1:]...)
				break
			}
		}
	}
	s.changed.Broadcast()
}
