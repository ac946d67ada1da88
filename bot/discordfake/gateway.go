package discordfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatAck   = 11
)

// Privileged intents, which the bot must not ask for.
const privilegedIntents = 1<<1 | 1<<8 | 1<<15

type event struct {
	seq  int
	name string
	data map[string]any
}

// gateway is the fake's websocket side: one session at a time, with the
// events it dispatched kept for RESUME.
type gateway struct {
	s                   *Server
	upgrader            websocket.Upgrader
	mu                  sync.Mutex
	conn                *gwConn
	sessionID           string
	seq                 int
	events              []event
	identifies, resumes int
	intents             int
	ready               chan struct{}
	// stallResumes: the next n RESUMEs get no answer (discordgo v0.29.0
	// then hangs in Open, holding its lock).
	stallResumes int
	// refuseIdentify: IDENTIFYs are closed with this code (0: accepted).
	refuseIdentify int
}

type gwConn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *gwConn) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (g *gateway) init(s *Server) {
	g.s = s
	g.ready = make(chan struct{})
}

func (g *gateway) url() string {
	return "ws" + strings.TrimPrefix(g.s.http.URL, "http") + "/ws/"
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws}
	defer ws.Close()
	if err := c.send(map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": 41250}}); err != nil {
		return
	}
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			g.mu.Lock()
			if g.conn == c {
				g.conn = nil
			}
			g.mu.Unlock()
			return
		}
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			g.s.violation("gateway: a frame that is not JSON")
			continue
		}
		switch p.Op {
		case opHeartbeat:
			c.send(map[string]any{"op": opHeartbeatAck})
		case opIdentify:
			g.identify(c, p.D)
		case opResume:
			g.resume(c, p.D)
		default:
			g.s.violation("gateway: opcode %d is not modelled", p.Op)
		}
	}
}

func (g *gateway) identify(c *gwConn, d json.RawMessage) {
	var id struct {
		Token   string `json:"token"`
		Intents int    `json:"intents"`
	}
	json.Unmarshal(d, &id)
	if strings.TrimPrefix(id.Token, "Bot ") != Token {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
		return
	}
	g.mu.Lock()
	refuse := g.refuseIdentify
	g.mu.Unlock()
	if refuse != 0 {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(refuse, "refused by the test"), time.Now().Add(time.Second))
		return
	}
	if id.Intents&privilegedIntents != 0 {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4014, "Disallowed intent(s)."), time.Now().Add(time.Second))
		return
	}
	g.mu.Lock()
	g.identifies++
	g.intents = id.Intents
	g.sessionID = "session" + g.s.locked(g.s.id)
	g.seq = 0
	g.events = nil
	g.conn = c
	g.seq++
	ready := map[string]any{"op": opDispatch, "t": "READY", "s": g.seq, "d": map[string]any{
		"v": 10, "user": map[string]any{"id": g.s.BotID, "username": "intakebot", "bot": true, "discriminator": "0"},
		"session_id": g.sessionID, "resume_gateway_url": g.url(), "guilds": []any{},
		"application": map[string]any{"id": g.s.AppID, "flags": 0}, "private_channels": []any{},
	}}
	g.mu.Unlock()
	c.send(ready)
	g.signalReady()
}

func (g *gateway) resume(c *gwConn, d json.RawMessage) {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int    `json:"seq"`
	}
	json.Unmarshal(d, &rs)
	g.mu.Lock()
	if g.stallResumes > 0 {
		g.stallResumes--
		g.mu.Unlock()
		return // no RESUMED, no error: the client waits
	}
	if rs.SessionID != g.sessionID || strings.TrimPrefix(rs.Token, "Bot ") != Token {
		g.mu.Unlock()
		c.send(map[string]any{"op": opInvalidSession, "d": false})
		return
	}
	g.resumes++
	g.conn = c
	var missed []event
	for _, e := range g.events {
		if e.seq > rs.Seq {
			missed = append(missed, e)
		}
	}
	g.mu.Unlock()
	for _, e := range missed {
		c.send(map[string]any{"op": opDispatch, "t": e.name, "s": e.seq, "d": e.data})
	}
	g.mu.Lock()
	g.seq++
	seq := g.seq
	g.mu.Unlock()
	c.send(map[string]any{"op": opDispatch, "t": "RESUMED", "s": seq, "d": map[string]any{}})
	g.signalReady()
}

func (g *gateway) signalReady() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.ready:
	default:
		close(g.ready)
	}
	g.s.mu.Lock()
	g.s.changed.Broadcast()
	g.s.mu.Unlock()
}

// dispatch sends an event to the connected session (and keeps it for
// RESUME). With no session connected, the event waits in the backlog.
func (g *gateway) dispatch(name string, data map[string]any) {
	g.mu.Lock()
	g.seq++
	e := event{seq: g.seq, name: name, data: data}
	g.events = append(g.events, e)
	c := g.conn
	g.mu.Unlock()
	if c != nil {
		c.send(map[string]any{"op": opDispatch, "t": e.name, "s": e.seq, "d": e.data})
	}
}

// replayLast sends again the event of that name whose data has id, with a
// new sequence number, as a resume after a lost acknowledgement may.
func (g *gateway) replayLast(name, id string) {
	g.mu.Lock()
	var data map[string]any
	for _, e := range g.events {
		if e.name == name && e.data["id"] == id {
			data = e.data
		}
	}
	g.mu.Unlock()
	if data != nil {
		g.dispatch(name, data)
	}
}

func (g *gateway) closeAll() {
	g.mu.Lock()
	c := g.conn
	g.conn = nil
	g.mu.Unlock()
	if c != nil {
		c.ws.Close()
	}
}

// Connected reports whether a bot session is connected.
func (s *Server) Connected() bool {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.conn != nil
}

// AwaitConnected waits for a READY or RESUMED session.
func (s *Server) AwaitConnected(timeout time.Duration) bool {
	return s.Await(timeout, s.Connected)
}

// Intents returns the intents of the last IDENTIFY.
func (s *Server) Intents() int {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.intents
}

// DropSocket closes the bot's connection abruptly, as a network failure
// would.
func (s *Server) DropSocket() {
	s.gw.mu.Lock()
	c := s.gw.conn
	s.gw.conn = nil
	s.gw.mu.Unlock()
	if c != nil {
		c.ws.UnderlyingConn().Close()
	}
}

// SendReconnect sends op 7 (RECONNECT): the bot should reconnect and resume.
func (s *Server) SendReconnect() { s.gw.sendOp(map[string]any{"op": opReconnect, "d": nil}) }

// SendInvalidSession sends op 9 with d (whether the session may be resumed).
func (s *Server) SendInvalidSession(resumable bool) {
	s.gw.sendOp(map[string]any{"op": opInvalidSession, "d": resumable})
}

func (g *gateway) sendOp(v any) {
	g.mu.Lock()
	c := g.conn
	g.mu.Unlock()
	if c != nil {
		c.send(v)
	}
}

// Sessions reports how many IDENTIFYs and RESUMEs the fake has accepted.
func (s *Server) Sessions() (identifies, resumes int) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	return s.gw.identifies, s.gw.resumes
}

// AwaitSessions waits until the fake has accepted at least the given numbers
// of IDENTIFYs and RESUMEs and a session is connected.
func (s *Server) AwaitSessions(timeout time.Duration, identifies, resumes int) bool {
	return s.Await(timeout, func() bool {
		i, r := s.Sessions()
		return i >= identifies && r >= resumes && s.Connected()
	})
}

// StallResumes makes the next n RESUMEs go unanswered.
func (s *Server) StallResumes(n int) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.stallResumes = n
}

// RefuseIdentify closes every IDENTIFY with code (4004: authentication
// failed); 0 accepts them again.
func (s *Server) RefuseIdentify(code int) {
	s.gw.mu.Lock()
	defer s.gw.mu.Unlock()
	s.gw.refuseIdentify = code
}
