package bot

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/intake"
)

// ackBudget is how long an interaction handler may take before it must have
// acknowledged: Discord's 3 seconds less a margin for the network.
const ackBudget = 2500 * time.Millisecond

func (b *Bot) onMessage(s *discordgo.Session, m *discordgo.MessageCreate) {
	if m.Author == nil || m.Author.Bot {
		return
	}
	ctx := context.Background()
	if m.GuildID != "" {
		b.onServerMessage(ctx, m)
		return
	}
	if !b.firstSeen(ctx, "message", m.ID) {
		return
	}
	defer b.lock(m.Author.ID)()
	turn := intake.Turn{Channel: Channel, UserID: m.Author.ID, EventID: m.ID, Text: m.Content, At: time.Now()}
	replies, err := b.engine.Handle(ctx, turn)
	if err != nil {
		b.log.Error("handle message", slog.String("event_id", m.ID), slog.Any("err", err))
		replies = append(replies, intake.Reply{Kind: intake.ReplyMessage, Text: b.cfg.Fallback})
	}
	b.send(ctx, m.ChannelID, replies)
}

func (b *Bot) botID() string {
	if b.session().State != nil && b.session().State.User != nil {
		return b.session().State.User.ID
	}
	return ""
}

func mentions(m *discordgo.MessageCreate, id string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == id {
			return true
		}
	}
	return false
}

// onServerMessage answers a message in the clinic's server that mentions the
// bot. General questions are answered in public; anything personal moves to
// a DM; crisis language gets the crisis resources at once, in the channel,
// and the urgent case.
func (b *Bot) onServerMessage(ctx context.Context, m *discordgo.MessageCreate) {
	id := b.botID()
	if id == "" || !mentions(m, id) || b.isStaffChannel(ctx, m.ChannelID) || !b.firstSeen(ctx, "message", m.ID) {
		return
	}
	text := strings.TrimSpace(strings.NewReplacer("<@"+id+">", "", "<@!"+id+">", "").Replace(m.Content))
	a := b.engine.Ask(ctx, text)
	ref := &discordgo.MessageReference{MessageID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID}
	switch {
	case a.Kind == conversation.KindCrisis:
		b.post(ctx, m.ChannelID, a.Text, ref)
		defer b.lock(m.Author.ID)()
		// The same turn through the engine opens the urgent case.
		if _, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: m.Author.ID, EventID: m.ID, Text: text, At: time.Now()}); err != nil {
			b.log.Error("open crisis case", slog.String("event_id", m.ID), slog.Any("err", err))
		}
	case a.Kind == conversation.KindDeflect || strings.HasPrefix(text, "/") || isStart(text):
		// Personal: continue privately.
		reply := []intake.Reply{{Kind: intake.ReplyMessage, Text: a.Text}}
		if a.Kind != conversation.KindDeflect {
			defer b.lock(m.Author.ID)()
			r, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: m.Author.ID, EventID: m.ID, Text: "/screen", At: time.Now()})
			if err != nil {
				b.log.Error("handle server command", slog.String("event_id", m.ID), slog.Any("err", err))
				return
			}
			reply = r
		}
		note := "That's best talked about privately, so I've sent you a direct message."
		if err := b.dm(ctx, m.Author.ID, reply); err != nil {
			note = b.dmFailure(err)
		}
		b.post(ctx, m.ChannelID, note, ref)
	default:
		b.post(ctx, m.ChannelID, a.Text, ref)
	}
}

// isStaffChannel reports whether a channel is the staff channel or a case
// thread: staff talk there among themselves; nothing is a patient turn.
func (b *Bot) isStaffChannel(ctx context.Context, channelID string) bool {
	if b.cfg.StaffChannelID != "" && channelID == b.cfg.StaffChannelID {
		return true
	}
	if _, ok := b.threads.Load(channelID); ok {
		return true
	}
	// A case thread has its card's id; after a restart the store knows it.
	if b.cfg.Staff == nil {
		return false
	}
	cs, err := b.cfg.Staff.Cases(ctx, intake.CaseFilter{CardMessageID: channelID, Limit: 1})
	if err == nil && len(cs) == 1 {
		b.threads.Store(channelID, true)
		return true
	}
	return false
}

func isStart(text string) bool {
	t := strings.ToLower(strings.Trim(text, " .!?"))
	return t == "screening" || t == "start the screening" || t == "start screening" || t == "screen me"
}

// post sends text to a channel as a reply, split to fit.
func (b *Bot) post(ctx context.Context, channelID, text string, ref *discordgo.MessageReference) {
	for _, chunk := range split(text) {
		msg := &discordgo.MessageSend{Content: chunk, Reference: ref, AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}
		if b.retry(ctx, "POST /channels/{id}/messages", func(ctx context.Context) error {
			_, err := b.session().ChannelMessageSendComplex(channelID, msg, discordgo.WithContext(ctx))
			return err
		}) != nil {
			return
		}
		ref = nil
	}
}

// dm sends replies to a user's DM.
func (b *Bot) dm(ctx context.Context, userID string, replies []intake.Reply) error {
	var ch *discordgo.Channel
	err := b.retry(ctx, "POST /users/@me/channels", func(ctx context.Context) error {
		var err error
		ch, err = b.session().UserChannelCreate(userID, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return err
	}
	return b.sendErr(ctx, ch.ID, replies)
}

// dmFailure says why a DM could not be sent, and what to do.
func (b *Bot) dmFailure(err error) string {
	if discordCode(err) == discordgo.ErrCodeCannotSendMessagesToThisUser {
		return dmClosedHelp
	}
	return "Sorry, I couldn't send you a private message just now. Please try again in a moment."
}

// send posts replies to a channel in order.
func (b *Bot) send(ctx context.Context, channelID string, replies []intake.Reply) {
	b.sendErr(ctx, channelID, replies)
}

// sendErr posts replies in order and stops at the first failure.
func (b *Bot) sendErr(ctx context.Context, channelID string, replies []intake.Reply) error {
	for _, r := range replies {
		for _, msg := range render(r) {
			err := b.retry(ctx, "POST /channels/{id}/messages", func(ctx context.Context) error {
				_, err := b.session().ChannelMessageSendComplex(channelID, msg, discordgo.WithContext(ctx))
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// render turns one reply into one or more messages.
func render(r intake.Reply) []*discordgo.MessageSend {
	switch r.Kind {
	case intake.ReplyOutcome:
		return nil // its message came just before
	case intake.ReplyQuestion:
		return []*discordgo.MessageSend{questionMessage(r)}
	}
	var out []*discordgo.MessageSend
	for _, chunk := range split(r.Text) {
		out = append(out, &discordgo.MessageSend{Content: chunk})
	}
	if len(r.Actions) > 0 && len(out) > 0 {
		row := discordgo.ActionsRow{}
		for _, a := range r.Actions {
			row.Components = append(row.Components, discordgo.Button{Label: a.Label, Style: discordgo.PrimaryButton, CustomID: ActionID(a.ID)})
		}
		out[len(out)-1].Components = []discordgo.MessageComponent{row}
	}
	return out
}

func (b *Bot) onInteraction(s *discordgo.Session, i *discordgo.InteractionCreate) {
	ctx := context.Background()
	// A replay (after a resume) must not be acknowledged again: the fast
	// in-memory check runs before the acknowledgement, the durable record
	// right after it.
	if !b.recent.add("interaction:" + i.ID) {
		b.log.Info("duplicate event ignored", slog.String("kind", "interaction"), slog.String("event_id", i.ID))
		return
	}
	switch i.Type {
	case discordgo.InteractionMessageComponent:
		b.onComponent(ctx, i)
	case discordgo.InteractionApplicationCommand:
		b.onCommand(ctx, i)
	case discordgo.InteractionModalSubmit:
		b.onModal(ctx, i)
	}
}

func userOf(i *discordgo.InteractionCreate) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	return i.User
}

// respond acknowledges an interaction within the deadline.
func (b *Bot) respond(ctx context.Context, i *discordgo.InteractionCreate, resp *discordgo.InteractionResponse) error {
	ctx, cancel := context.WithTimeout(ctx, ackBudget)
	defer cancel()
	err := b.session().InteractionRespond(i.Interaction, resp, discordgo.WithContext(ctx))
	if err != nil {
		b.log.Error("acknowledge interaction", slog.String("interaction_id", i.ID), slog.Int("status", statusOf(err)), slog.String("err", errText(err)))
	}
	return err
}

func ephemeral(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: clip(text), Flags: discordgo.MessageFlagsEphemeral}}
}

func (b *Bot) onComponent(ctx context.Context, i *discordgo.InteractionCreate) {
	u := userOf(i)
	data := i.MessageComponentData()
	if data.CustomID == ForgetConfirmID && u != nil {
		b.confirmForget(ctx, i, u)
		return
	}
	if u != nil && strings.HasPrefix(data.CustomID, staffPrefix) {
		b.staffAction(ctx, i, u, data.CustomID)
		return
	}
	if u != nil && strings.HasPrefix(data.CustomID, idPrefix+":c:") {
		b.suggestedAction(ctx, i, u, strings.TrimPrefix(data.CustomID, idPrefix+":c:"))
		return
	}
	a, ok := DecodeAction(data.CustomID)
	if u == nil || !ok {
		b.respond(ctx, i, ephemeral("That button has expired. Type /screening to continue."))
		return
	}
	// Acknowledge at once (a deferred update: no visible change yet), then
	// persist the answer, then show it. The acknowledgement never waits on
	// the store, however many patients answer at the same moment.
	if !b.deferUpdate(ctx, i) {
		return
	}
	defer b.lock(u.ID)()
	turn := intake.Turn{Channel: Channel, UserID: u.ID, EventID: i.ID, QuestionID: a.QuestionID, At: time.Now()}
	if a.Select {
		turn.ChoiceIDs = data.Values
	} else {
		turn.ChoiceIDs = []string{a.OptionID}
	}
	replies, err := b.engine.Handle(ctx, turn)
	if err != nil {
		b.log.Error("handle click", slog.String("interaction_id", i.ID), slog.Any("err", err))
		b.followup(ctx, i, b.cfg.Fallback)
		return
	}
	// A stale or repeated click, or an invalid choice, changes nothing: the
	// clicker is told privately.
	if len(replies) > 0 && (replies[0].Kind == intake.ReplyNotice || isReask(replies, a.QuestionID)) {
		b.followup(ctx, i, replies[0].Text)
		return
	}
	// Accepted and stored: the question message now shows the answer,
	// without buttons.
	question := ""
	if i.Message != nil {
		question = i.Message.Content
	}
	content := answeredContent(question, labelsFor(i.Message, a, data.Values))
	empty := []discordgo.MessageComponent{}
	b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original", func(ctx context.Context) error {
		_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content, Components: &empty}, discordgo.WithContext(ctx))
		return err
	})
	b.send(ctx, i.ChannelID, replies)
}

// isReask reports whether the engine answered by asking the same question
// again (the choice was not accepted).
func isReask(replies []intake.Reply, qid string) bool {
	for _, r := range replies {
		if r.Kind == intake.ReplyQuestion && r.QuestionID == qid {
			return true
		}
	}
	return false
}

// deferUpdate acknowledges a component press with no visible change yet,
// then records it durably; false means stop (the acknowledgement failed, or
// the event was already handled).
func (b *Bot) deferUpdate(ctx context.Context, i *discordgo.InteractionCreate) bool {
	if err := b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
		return false
	}
	return b.firstSeen(ctx, "interaction", i.ID)
}

// followup sends a private message after a deferred acknowledgement.
func (b *Bot) followup(ctx context.Context, i *discordgo.InteractionCreate, text string) {
	b.retry(ctx, "POST /webhooks/{app}/{token}", func(ctx context.Context) error {
		_, err := b.session().FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: clip(text), Flags: discordgo.MessageFlagsEphemeral}, discordgo.WithContext(ctx))
		return err
	})
}

func (b *Bot) onCommand(ctx context.Context, i *discordgo.InteractionCreate) {
	if !b.firstSeen(ctx, "interaction", i.ID) {
		return
	}
	u := userOf(i)
	if u == nil {
		return
	}
	data := i.ApplicationCommandData()
	switch data.Name {
	case "ask":
		q := ""
		for _, o := range data.Options {
			if o.Name == "question" {
				q = o.StringValue()
			}
		}
		// The model may take seconds: defer, then edit the original.
		if err := b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
			return
		}
		a := b.engine.Ask(ctx, q)
		text := split(a.Text)[0]
		b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original", func(ctx context.Context) error {
			_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &text}, discordgo.WithContext(ctx))
			return err
		})
	case "handoffs":
		b.listCases(ctx, i, u)
	case "screening", "staff", "help":
		b.commandTurn(ctx, i, u, "/"+data.Name)
	case "privacy", "forget-me":
		// Private wherever it is asked: an ephemeral answer.
		defer b.lock(u.ID)()
		replies, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: u.ID, EventID: i.ID, Text: "/" + data.Name, At: time.Now()})
		text := b.cfg.Fallback
		if err != nil {
			b.log.Error("handle command", slog.String("interaction_id", i.ID), slog.Any("err", err))
		} else if len(replies) > 0 {
			text = replies[len(replies)-1].Text
		}
		resp := ephemeral(text)
		if data.Name == "forget-me" && err == nil {
			resp.Data.Components = []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.Button{Label: "Erase my data", Style: discordgo.DangerButton, CustomID: ForgetConfirmID},
			}}}
		}
		b.respond(ctx, i, resp)
	}
}

// suggestedAction runs a welcome button: start the screening, ask for
// staff, or explain how to ask a question. The welcome message stays as it is.
func (b *Bot) suggestedAction(ctx context.Context, i *discordgo.InteractionCreate, u *discordgo.User, action string) {
	cmd := map[string]string{"screen": "/screen", "staff": "/staff"}[action]
	if cmd == "" {
		b.respond(ctx, i, ephemeral("Just type your question here and I'll answer it from the clinic's approved information."))
		return
	}
	if !b.deferUpdate(ctx, i) {
		return
	}
	defer b.lock(u.ID)()
	replies, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: u.ID, EventID: i.ID, Text: cmd, At: time.Now()})
	if err != nil {
		b.log.Error("handle action", slog.String("interaction_id", i.ID), slog.Any("err", err))
		b.followup(ctx, i, b.cfg.Fallback)
		return
	}
	b.send(ctx, i.ChannelID, replies)
}

// confirmForget erases the patient's data after they pressed the button.
func (b *Bot) confirmForget(ctx context.Context, i *discordgo.InteractionCreate, u *discordgo.User) {
	if !b.deferUpdate(ctx, i) {
		return
	}
	defer b.lock(u.ID)()
	replies, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: u.ID, EventID: i.ID, Text: "/forget-me confirm", At: time.Now()})
	text := b.cfg.Fallback
	if err != nil {
		b.log.Error("forget", slog.String("interaction_id", i.ID), slog.Any("err", err))
	} else if len(replies) > 0 {
		text = replies[len(replies)-1].Text
	}
	text = clip(text)
	empty := []discordgo.MessageComponent{}
	b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original", func(ctx context.Context) error {
		_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &text, Components: &empty}, discordgo.WithContext(ctx))
		return err
	})
}

// commandTurn runs a chat command for the user. In a DM the replies follow
// the acknowledgement; in a server the screening moves to a DM.
func (b *Bot) commandTurn(ctx context.Context, i *discordgo.InteractionCreate, u *discordgo.User, cmd string) {
	if i.GuildID != "" && cmd == "/help" {
		b.respond(ctx, i, ephemeral("I answer questions about ketamine treatment (/ask) and run the intake screening in a private message (/screening). If you are in crisis, call or text 988, or call 911."))
		return
	}
	defer b.lock(u.ID)()
	replies, err := b.engine.Handle(ctx, intake.Turn{Channel: Channel, UserID: u.ID, EventID: i.ID, Text: cmd, At: time.Now()})
	if err != nil {
		b.log.Error("handle command", slog.String("interaction_id", i.ID), slog.Any("err", err))
		b.respond(ctx, i, ephemeral(b.cfg.Fallback))
		return
	}
	if i.GuildID == "" {
		first := "…"
		if len(replies) > 0 && replies[0].Kind != intake.ReplyQuestion {
			first, replies = replies[0].Text, replies[1:]
		}
		b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: clip(first)}})
		b.send(ctx, i.ChannelID, replies)
		return
	}
	// In a server: acknowledge privately, then continue in a DM, and say
	// which happened (Discord refuses a DM with 50007 when the user has
	// closed them).
	if err := b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
		return
	}
	note := "I've sent you a private message to continue."
	if err := b.dm(ctx, u.ID, replies); err != nil {
		note = b.dmFailure(err)
	}
	b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original", func(ctx context.Context) error {
		_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &note}, discordgo.WithContext(ctx))
		return err
	})
}

// dmClosedHelp explains how to open DMs when Discord refuses one (50007).
const dmClosedHelp = "I couldn't send you a private message. To let me, open this server's menu, choose Privacy Settings, and turn on Direct Messages; then try /screening again."
