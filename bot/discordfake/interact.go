package discordfake

import (
	"fmt"
	"net/http"
	"time"
)

// Interaction callback types.
const (
	cbMessage        = 4
	cbDeferMessage   = 5
	cbDeferUpdate    = 6
	cbUpdateMessage  = 7
	cbModal          = 9
	interactionPing  = 1
	interactionCmd   = 2
	interactionComp  = 3
	interactionModal = 5
	componentButton  = 2
	componentSelect  = 3
	channelTypeDM    = 1
	channelTypeGuild = 0
)

func (s *Server) callback(w http.ResponseWriter, token string, m map[string]any) {
	s.mu.Lock()
	in, ok := s.inter[token]
	if !ok {
		s.mu.Unlock()
		writeJSON(w, 404, map[string]any{"code": 10062, "message": "Unknown interaction"})
		return
	}
	if in.ackType != 0 {
		s.mu.Unlock()
		s.violation("interaction %s acknowledged twice", in.id)
		writeJSON(w, 400, map[string]any{"code": 40060, "message": "Interaction has already been acknowledged."})
		return
	}
	// The latency is measured to the callback's arrival; the ack is
	// published (acked set, waiters woken) only once its effect is applied,
	// so a test that saw the ack sees its result.
	arrived := time.Now()
	typ := int(num(m["type"]))
	in.ackType = typ
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		in.acked = arrived
		s.acks = append(s.acks, arrived.Sub(in.sent))
		s.changed.Broadcast()
		s.mu.Unlock()
	}()
	if lat := arrived.Sub(in.sent); lat > AckDeadline*slowdown {
		s.violation("interaction %s acknowledged after %v (deadline %v, x%d under the race detector)", in.id, lat, AckDeadline, slowdown)
	}
	data, _ := m["data"].(map[string]any)
	switch typ {
	case cbMessage:
		for _, v := range limits(data, false) {
			s.violation("interaction response: %s", v)
		}
		msg := s.createMessage(in.channelID, s.BotID, data, int(num(data["flags"]))&flagEphemeral != 0)
		s.mu.Lock()
		in.responses = append(in.responses, msg.ID)
		s.mu.Unlock()
	case cbUpdateMessage:
		if in.messageID == "" {
			s.violation("type 7 (update message) answers a component interaction only")
			break
		}
		for _, v := range limits(data, false) {
			s.violation("interaction update: %s", v)
		}
		s.editMessage(in.messageID, data)
	case cbDeferMessage:
		s.mu.Lock()
		in.deferEphemeral = int(num(data["flags"]))&flagEphemeral != 0
		s.mu.Unlock()
	case cbModal:
		if in.typ == interactionModal {
			s.violation("a modal cannot answer a modal submission")
		}
		for _, v := range modalLimits(data) {
			s.violation("modal: %s", v)
		}
		s.mu.Lock()
		in.modal = data
		s.mu.Unlock()
	case cbDeferUpdate:
		if in.messageID == "" {
			s.violation("type 6 (deferred update) answers a component interaction only")
		}
	default:
		s.violation("interaction callback type %d is not modelled", typ)
	}
	w.WriteHeader(http.StatusNoContent)
}

// acknowledged finds the interaction of a webhook token: it must have been
// acknowledged first (Discord answers 10015 otherwise). The body's limits
// are checked as for any message.
func (s *Server) acknowledged(w http.ResponseWriter, token, what string, m map[string]any) (*interaction, bool) {
	s.mu.Lock()
	in, ok := s.inter[token]
	s.mu.Unlock()
	if !ok || in.ackType == 0 {
		writeJSON(w, 404, map[string]any{"code": 10015, "message": "Unknown Webhook"})
		return nil, false
	}
	for _, v := range limits(m, false) {
		s.violation("%s: %s", what, v)
	}
	return in, true
}

func (s *Server) editOriginal(w http.ResponseWriter, token string, m map[string]any) {
	in, ok := s.acknowledged(w, token, "edit original", m)
	if !ok {
		return
	}
	var msg *Message
	switch {
	case in.ackType == cbDeferUpdate || in.ackType == cbUpdateMessage:
		msg, _ = s.editMessage(in.messageID, m)
	case len(in.responses) > 0:
		msg, _ = s.editMessage(in.responses[0], m)
	default:
		msg = s.createMessage(in.channelID, s.BotID, m, in.deferEphemeral)
		s.mu.Lock()
		in.responses = append(in.responses, msg.ID)
		s.mu.Unlock()
	}
	writeJSON(w, 200, s.messageJSON(msg))
}

func (s *Server) followup(w http.ResponseWriter, token string, m map[string]any) {
	in, ok := s.acknowledged(w, token, "follow-up", m)
	if !ok {
		return
	}
	msg := s.createMessage(in.channelID, s.BotID, m, int(num(m["flags"]))&flagEphemeral != 0)
	s.mu.Lock()
	in.responses = append(in.responses, msg.ID)
	s.mu.Unlock()
	writeJSON(w, 200, s.messageJSON(msg))
}

// user is the JSON of a user.
func user(id string) map[string]any {
	return map[string]any{"id": id, "username": "user" + id, "discriminator": "0", "global_name": "User " + id}
}

// SetName gives userID a display name in the interactions they make
// (instead of "User ID").
func (s *Server) SetName(userID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = map[string]string{}
	}
	s.names[userID] = name
}

// named is user(id) with the display name set with SetName; s.mu is held.
func (s *Server) named(id string) map[string]any {
	u := user(id)
	if n, ok := s.names[id]; ok {
		u["global_name"] = n
	}
	return u
}

// SendDM dispatches a MESSAGE_CREATE from userID in their DM with the bot and
// returns the message id. It is stored so the DM shows the conversation.
func (s *Server) SendDM(userID, content string) string {
	ch := s.dmChannel(userID)["id"].(string)
	msg := s.createMessage(ch, userID, map[string]any{"content": content}, false)
	s.gw.dispatch("MESSAGE_CREATE", map[string]any{
		"id": msg.ID, "channel_id": ch, "content": content, "type": 0, "author": user(userID),
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "mentions": []any{}, "attachments": []any{}, "embeds": []any{},
	})
	return msg.ID
}

// Click dispatches a component interaction: userID pressing the component
// customID on message messageID (values for a select menu). It returns the
// interaction id.
func (s *Server) Click(userID, messageID, customID string, values ...string) string {
	s.mu.Lock()
	msg := s.byID[messageID]
	s.mu.Unlock()
	if msg == nil {
		s.violation("Click on unknown message %s", messageID)
		return ""
	}
	ctype := componentButton
	if len(values) > 0 {
		ctype = componentSelect
	}
	data := map[string]any{"custom_id": customID, "component_type": ctype}
	if len(values) > 0 {
		data["values"] = values
	}
	return s.interact(userID, msg.ChannelID, interactionComp, data, map[string]any{"id": msg.ID, "channel_id": msg.ChannelID, "content": msg.Content,
		"author": user(s.BotID), "components": componentsJSON(msg.Components)})
}

// Command dispatches a slash command from userID in their DM (guildID "")
// or in a guild channel.
func (s *Server) Command(userID, guildID, channelID, name string, options map[string]string) string {
	if guildID == "" {
		channelID = s.dmChannel(userID)["id"].(string)
	}
	var opts []any
	for k, v := range options {
		opts = append(opts, map[string]any{"name": k, "type": 3, "value": v})
	}
	data := map[string]any{"id": "300000000000000001", "name": name, "type": 1, "options": opts}
	return s.interactIn(userID, channelID, guildID, interactionCmd, data, nil)
}

// CommandAsMember dispatches a slash command from a member of a server with
// their roles.
func (s *Server) CommandAsMember(userID, guildID, channelID string, roles []string, name string, options map[string]string) string {
	s.mu.Lock()
	s.memberRoles = roles
	s.mu.Unlock()
	return s.Command(userID, guildID, channelID, name, options)
}

func (s *Server) interact(userID, channelID string, typ int, data, message map[string]any) string {
	return s.interactIn(userID, channelID, "", typ, data, message)
}

// ClickAsMember is Click by a member of a server, with their roles, as a
// press on a card in the staff channel arrives.
func (s *Server) ClickAsMember(userID, guildID string, roles []string, messageID, customID string) string {
	s.mu.Lock()
	msg := s.byID[messageID]
	s.mu.Unlock()
	if msg == nil {
		s.violation("ClickAsMember on unknown message %s", messageID)
		return ""
	}
	data := map[string]any{"custom_id": customID, "component_type": componentButton}
	message := map[string]any{"id": msg.ID, "channel_id": msg.ChannelID, "content": msg.Content, "author": user(s.BotID), "components": componentsJSON(msg.Components)}
	s.mu.Lock()
	s.memberRoles = roles
	s.mu.Unlock()
	return s.interactIn(userID, msg.ChannelID, guildID, interactionComp, data, message)
}

func (s *Server) interactIn(userID, channelID, guildID string, typ int, data, message map[string]any) string {
	s.mu.Lock()
	in := &interaction{id: s.id(), token: "tok" + s.id(), userID: userID, channelID: channelID, sent: time.Now(), typ: typ}
	if message != nil {
		in.messageID, _ = message["id"].(string)
	}
	s.inter[in.token] = in
	if s.interByID == nil {
		s.interByID = map[string]*interaction{}
	}
	s.interByID[in.id] = in
	author := s.named(userID)
	s.mu.Unlock()
	payload := map[string]any{"id": in.id, "application_id": s.AppID, "type": typ, "data": data, "channel_id": channelID,
		"token": in.token, "version": 1, "locale": "en-US", "app_permissions": "0", "entitlements": []any{}}
	if guildID != "" {
		payload["guild_id"] = guildID
		s.mu.Lock()
		roles := s.memberRoles
		s.memberRoles = nil
		s.mu.Unlock()
		if roles == nil {
			roles = []string{}
		}
		payload["member"] = map[string]any{"user": author, "roles": roles, "permissions": "0", "joined_at": time.Now().UTC().Format(time.RFC3339)}
		payload["channel"] = map[string]any{"id": channelID, "type": channelTypeGuild}
	} else {
		payload["user"] = author
		payload["channel"] = map[string]any{"id": channelID, "type": channelTypeDM}
	}
	if message != nil {
		payload["message"] = message
	}
	s.gw.dispatch("INTERACTION_CREATE", payload)
	return in.id
}

// Replay dispatches an earlier interaction again, as a resumed gateway
// session may.
func (s *Server) Replay(interactionID string) {
	s.mu.Lock()
	var in *interaction
	for _, x := range s.inter {
		if x.id == interactionID {
			in = x
		}
	}
	s.mu.Unlock()
	if in == nil {
		s.violation("Replay of unknown interaction %s", interactionID)
		return
	}
	s.gw.replayLast("INTERACTION_CREATE", in.id)
}

// DM returns the messages in userID's DM with the bot, oldest first,
// including ephemeral ones addressed to the user.
func (s *Server) DM(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.dms[userID]
	if !ok {
		return nil
	}
	return s.channelLocked(ch)
}

// DMAfter returns the messages of userID's DM created after the message
// afterID ("": all), oldest first: what a client polling for new messages
// needs, without copying the whole conversation each time.
func (s *Server) DMAfter(userID, afterID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.byChannel[s.dms[userID]]
	i := len(ch)
	for i > 0 && ch[i-1].ID != afterID {
		i--
	}
	out := make([]Message, 0, len(ch)-i)
	for _, m := range ch[i:] {
		out = append(out, *m)
	}
	return out
}

// channelLocked copies a channel's messages; s.mu must be held.
func (s *Server) channelLocked(channelID string) []Message {
	var out []Message
	for _, m := range s.byChannel[channelID] {
		out = append(out, *m)
	}
	return out
}

// Message returns a stored message.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.byID[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Acked reports whether an interaction was acknowledged, and how fast.
func (s *Server) Acked(interactionID string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.interByID[interactionID]; ok && !in.acked.IsZero() {
		return in.acked.Sub(in.sent), true
	}
	return 0, false
}

// AckLatencies returns every interaction-to-acknowledgement latency so far.
func (s *Server) AckLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.acks...)
}

// Commands returns the registered commands and their scope ("" global).
func (s *Server) Commands() ([]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands, s.cmdScope
}

// Await waits until cond holds, or timeout. It re-checks on every change
// to the fake and every 10ms, so conditions on things outside the fake (a
// log line, a store) work too.
func (s *Server) Await(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	s.mu.Lock()
	s.awaiting++
	if s.awaiting == 1 {
		s.tickStop = make(chan struct{})
		go s.tick(s.tickStop)
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.awaiting--
		if s.awaiting == 0 {
			close(s.tickStop)
		}
		s.mu.Unlock()
	}()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		s.mu.Lock()
		s.changed.Wait()
		s.mu.Unlock()
	}
}

// tick wakes every Await every 10ms until stop is closed: one ticker for
// all of them (one each woke every waiter once per waiter: 50 patients
// waiting made 250,000 wake-ups a second).
func (s *Server) tick(stop chan struct{}) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.changed.Broadcast()
			s.mu.Unlock()
		}
	}
}

// AwaitDM waits for a message in userID's DM (from the bot) for which match
// holds, and returns it.
func (s *Server) AwaitDM(userID string, timeout time.Duration, match func(Message) bool) (Message, bool) {
	var found Message
	ok := s.Await(timeout, func() bool {
		for _, m := range s.DM(userID) {
			if m.AuthorID == s.BotID && match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found, ok
}

// AwaitAck waits until an interaction is acknowledged.
func (s *Server) AwaitAck(interactionID string, timeout time.Duration) bool {
	return s.Await(timeout, func() bool { _, ok := s.Acked(interactionID); return ok })
}

// componentsJSON rebuilds a message's components as Discord sends them: one
// action row per select menu, buttons grouped in one row.
func componentsJSON(cs []Component) []any {
	var rows []any
	var buttons []any
	for _, c := range cs {
		if c.Type == componentSelect {
			var opts []any
			for _, o := range c.Options {
				opts = append(opts, map[string]any{"label": o.Label, "value": o.Value})
			}
			rows = append(rows, map[string]any{"type": 1, "components": []any{map[string]any{"type": c.Type, "custom_id": c.CustomID, "options": opts}}})
			continue
		}
		buttons = append(buttons, map[string]any{"type": c.Type, "style": 2, "label": c.Label, "custom_id": c.CustomID, "disabled": c.Disabled})
	}
	if len(buttons) > 0 {
		rows = append(rows, map[string]any{"type": 1, "components": buttons})
	}
	return rows
}

// SendChannel dispatches a MESSAGE_CREATE from userID in a server channel;
// with mention set, the message mentions the bot (as "<@bot> " + content).
func (s *Server) SendChannel(userID, guildID, channelID, content string, mention bool) string {
	mentions := []any{}
	if mention {
		content = "<@" + s.BotID + "> " + content
		mentions = append(mentions, user(s.BotID))
	}
	msg := s.createMessage(channelID, userID, map[string]any{"content": content}, false)
	s.gw.dispatch("MESSAGE_CREATE", map[string]any{
		"id": msg.ID, "channel_id": channelID, "guild_id": guildID, "content": content, "type": 0, "author": user(userID),
		"member":    map[string]any{"roles": []any{}, "joined_at": time.Now().UTC().Format(time.RFC3339)},
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "mentions": mentions, "attachments": []any{}, "embeds": []any{},
	})
	return msg.ID
}

// Channel returns the messages in a channel, oldest first.
func (s *Server) Channel(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelLocked(channelID)
}

// ChannelLen is how many messages a channel holds (Channel's length,
// without copying them).
func (s *Server) ChannelLen(channelID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byChannel[channelID])
}

// CloseDMs makes Discord refuse messages to userID's DM (error 50007), as
// when a user has turned off direct messages from server members.
func (s *Server) CloseDMs(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closedDMs == nil {
		s.closedDMs = map[string]bool{}
	}
	s.closedDMs[userID] = true
}

// Modal is a modal the bot opened in answer to an interaction.
type Modal struct {
	CustomID string
	Title    string
	// Inputs are the text inputs' custom ids, in order.
	Inputs []string
}

// Modal returns the modal an interaction was answered with.
func (s *Server) Modal(interactionID string) (Modal, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.inter {
		if in.id != interactionID || in.modal == nil {
			continue
		}
		m := Modal{}
		m.CustomID, _ = in.modal["custom_id"].(string)
		m.Title, _ = in.modal["title"].(string)
		rows, _ := in.modal["components"].([]any)
		for _, r := range rows {
			row, _ := r.(map[string]any)
			comps, _ := row["components"].([]any)
			for _, c := range comps {
				cm, _ := c.(map[string]any)
				id, _ := cm["custom_id"].(string)
				m.Inputs = append(m.Inputs, id)
			}
		}
		return m, true
	}
	return Modal{}, false
}

// SubmitModal dispatches a MODAL_SUBMIT from a member of a server with their
// roles: the modal opened in answer to interaction opener, filled in with
// values by text input custom id. It returns the submission's id.
func (s *Server) SubmitModal(userID, guildID string, roles []string, opener string, values map[string]string) string {
	m, ok := s.Modal(opener)
	if !ok {
		s.violation("SubmitModal: interaction %s opened no modal", opener)
		return ""
	}
	s.mu.Lock()
	var channelID string
	for _, in := range s.inter {
		if in.id == opener {
			channelID = in.channelID
		}
	}
	s.memberRoles = roles
	s.mu.Unlock()
	var rows []any
	for _, id := range m.Inputs {
		rows = append(rows, map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": id, "value": values[id]}}})
	}
	data := map[string]any{"custom_id": m.CustomID, "components": rows}
	return s.interactIn(userID, channelID, guildID, interactionModal, data, nil)
}

// modalLimits checks a modal against Discord's documented limits: a title
// of at most 45 characters, one to five rows of one text input each, labels
// of at most 45 characters, custom ids of at most 100, lengths within 4,000.
func modalLimits(data map[string]any) []string {
	var out []string
	id, _ := data["custom_id"].(string)
	title, _ := data["title"].(string)
	if id == "" || len(id) > 100 {
		out = append(out, fmt.Sprintf("custom_id %q must be 1-100 characters", id))
	}
	if title == "" || len([]rune(title)) > 45 {
		out = append(out, fmt.Sprintf("title %q must be 1-45 characters", title))
	}
	rows, _ := data["components"].([]any)
	if len(rows) < 1 || len(rows) > 5 {
		out = append(out, fmt.Sprintf("%d rows; a modal has 1-5", len(rows)))
	}
	for _, r := range rows {
		row, _ := r.(map[string]any)
		comps, _ := row["components"].([]any)
		if len(comps) != 1 {
			out = append(out, "a modal row holds exactly one text input")
		}
		for _, c := range comps {
			cm, _ := c.(map[string]any)
			if int(num(cm["type"])) != 4 {
				out = append(out, fmt.Sprintf("component type %v in a modal; only text inputs (4) are modelled", cm["type"]))
			}
			label, _ := cm["label"].(string)
			if label == "" || len([]rune(label)) > 45 {
				out = append(out, fmt.Sprintf("text input label %q must be 1-45 characters", label))
			}
			if mx := num(cm["max_length"]); mx > 4000 {
				out = append(out, fmt.Sprintf("max_length %v over 4000", mx))
			}
		}
	}
	return out
}
