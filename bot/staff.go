package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// Modal custom ids: "v1:m:<action>:<case>", action message, note or
// close-<reason>.
const modalPrefix = idPrefix + ":m:"

// ModalID returns the custom id of a staff modal.
func ModalID(action, caseID string) string { return modalPrefix + action + ":" + caseID }

// Limits of what staff type: a message to the patient leaves room for the
// signature within Discord's 2,000 characters.
const (
	maxStaffMessage = 1800
	maxNote         = 1800
)

func textModal(action, caseID string) *discordgo.InteractionResponse {
	title, label, max := "Message the patient", "Sent to the patient's DM, signed", maxStaffMessage
	if action == "note" {
		title, label, max = "Add a note", "Internal: shown only in the case thread", maxNote
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: ModalID(action, caseID), Title: clipN(title+" · "+caseID, 45),
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "text", Label: label, Style: discordgo.TextInputParagraph, Required: true, MinLength: 1, MaxLength: max},
		}}},
	}}
}

// closeReasons offers the close reasons privately, as buttons.
func closeReasons(caseID string) *discordgo.InteractionResponse {
	var rows []discordgo.MessageComponent
	row := discordgo.ActionsRow{}
	for _, r := range intake.CloseReasons {
		if len(row.Components) == 5 {
			rows, row = append(rows, row), discordgo.ActionsRow{}
		}
		row.Components = append(row.Components, discordgo.Button{Label: r.Label, Style: discordgo.SecondaryButton, CustomID: StaffActionID("close-"+r.ID, caseID)})
	}
	rows = append(rows, row)
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{
		Content: fmt.Sprintf("Why is case %s being closed?", caseID), Components: rows, Flags: discordgo.MessageFlagsEphemeral}}
}

func closeModal(r intake.CloseReason, caseID string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: ModalID("close-"+r.ID, caseID), Title: clipN("Close "+caseID+": "+r.Label, 45),
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.TextInput{CustomID: "text", Label: "Note (optional, shown in the case thread)", Style: discordgo.TextInputParagraph, Required: false, MaxLength: maxNote},
		}}},
	}}
}

// modalText returns the text input's value of a submitted modal.
func modalText(data discordgo.ModalSubmitInteractionData) string {
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if ti, ok := c.(*discordgo.TextInput); ok && ti.CustomID == "text" {
				// Staff text is received like a patient's: no control or
				// bidi-override characters reach a thread, a DM or a note.
				return strings.TrimSpace(intake.CleanText(ti.Value))
			}
		}
	}
	return ""
}

// onModal handles a submitted staff modal: the member is checked again
// (the modal's custom id is never trusted), the answer is deferred
// privately, then the action runs and the staff member is told the result.
func (b *Bot) onModal(ctx context.Context, i *discordgo.InteractionCreate) {
	u := userOf(i)
	data := i.ModalSubmitData()
	if u == nil || !strings.HasPrefix(data.CustomID, modalPrefix) {
		return
	}
	action, caseID, _ := strings.Cut(strings.TrimPrefix(data.CustomID, modalPrefix), ":")
	actor := "discord:" + u.ID
	if !b.allowStaff(ctx, i, actor, action, caseID) {
		return
	}
	if err := b.respond(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}); err != nil {
		return
	}
	if !b.firstSeen(ctx, "interaction", i.ID) {
		return
	}
	text, name := modalText(data), displayName(u)
	var reply string
	switch {
	case action == "message":
		reply = b.messagePatient(ctx, actor, name, caseID, text, "m:"+i.ID)
	case action == "note":
		reply = b.addNote(ctx, actor, name, caseID, text)
	case strings.HasPrefix(action, "close-"):
		reply = b.closeCase(ctx, actor, name, caseID, strings.TrimPrefix(action, "close-"), text)
	default:
		reply = "That action is not known."
	}
	b.editReply(ctx, i, reply)
}

// editReply fills in a deferred private answer.
func (b *Bot) editReply(ctx context.Context, i *discordgo.InteractionCreate, text string) {
	text = clip(text)
	b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original", func(ctx context.Context) error {
		_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &text}, discordgo.WithContext(ctx))
		return err
	})
}

// openCase returns a case staff may still act on.
func (b *Bot) openCase(ctx context.Context, caseID string) (intake.Case, string) {
	c, err := b.cfg.Staff.Case(ctx, caseID)
	switch {
	case intake.ErrorCode(err) == intake.ENOTFOUND:
		return c, "That case could not be found."
	case err != nil:
		b.log.Error("read case", slog.String("case_id", caseID), slog.Any("err", err))
		return c, "Sorry, the case could not be read. Please try again."
	case c.Status == intake.CaseClosed:
		return c, fmt.Sprintf("Case %s is closed.", c.ID)
	}
	return c, ""
}

// messagePatient sends staff's message to the patient's DM, signed with the
// clinic's name, logs it in the case thread and audits it.
// nonce (from the submission's id) keeps a retried send from posting twice.
func (b *Bot) messagePatient(ctx context.Context, actor, name, caseID, text, nonce string) string {
	c, problem := b.openCase(ctx, caseID)
	if problem != "" {
		return problem
	}
	if text == "" {
		return "The message was empty, so nothing was sent."
	}
	p, err := b.cfg.Staff.PatientByID(ctx, c.PatientID)
	if err != nil {
		b.log.Error("read patient", slog.String("case_id", c.ID), slog.Any("err", err))
		return "Sorry, the patient could not be found. Nothing was sent."
	}
	signed := text + "\n\n— " + name + ", " + b.clinicName()
	err = b.sendPatient(ctx, p, signed, nonce)
	if err != nil {
		result, why := "failed: "+errText(err), "Sorry, the message could not be delivered. Please try again."
		if errors.Is(err, handoff.ErrUndeliverable) {
			result = "failed: undeliverable"
			why = fmt.Sprintf("The patient can't receive direct messages from the bot (%v). Please contact them by %s instead.", err, orNotGiven(c.Contact.Method))
		}
		b.cfg.Staff.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: actor, Action: "case.message", Result: result})
		return why
	}
	if _, err := b.cfg.Staff.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: actor, Action: "case.message", Result: "ok",
		LastAction: "Patient messaged by " + name}); err != nil {
		b.log.Error("audit case message", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	b.record(ctx, intake.CaseEntry{CaseID: c.ID, Kind: intake.EntryMessage, Actor: actor, Name: name, Text: text})
	if err := b.threadPost(ctx, c, fmt.Sprintf("**Sent to the patient by %s:**\n%s", plainText(name), plainText(text))); err != nil {
		return "Sent to the patient, but it could not be logged in the case thread."
	}
	return "Sent to the patient and logged in the case thread."
}

func orNotGiven(method string) string {
	if method == "" {
		return "the contact details in Details"
	}
	return method
}

func (b *Bot) clinicName() string {
	if b.cfg.ClinicName == "" {
		return "the clinic's care team"
	}
	return b.cfg.ClinicName + " care team"
}

// addNote posts an internal note in the case thread and audits it.
func (b *Bot) addNote(ctx context.Context, actor, name, caseID, text string) string {
	c, err := b.cfg.Staff.Case(ctx, caseID)
	if err != nil {
		return "That case could not be found."
	}
	if text == "" {
		return "The note was empty, so nothing was added."
	}
	// Typed text shows as typed in the thread (staff's as a patient's);
	// with the console, the note stays in it and the thread says so.
	line := fmt.Sprintf("**Note from %s:**\n%s", plainText(name), plainText(text))
	if b.cfg.ConsoleLink != nil {
		if err := b.cfg.Entries.AddCaseEntry(ctx, intake.CaseEntry{CaseID: c.ID, Kind: intake.EntryNote, Actor: actor, Name: name, Text: text}); err != nil {
			b.log.Error("record case note", slog.String("case_id", c.ID), slog.Any("err", err))
			b.cfg.Staff.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: actor, Action: "case.note", Result: "failed: not recorded"})
			return "Sorry, the note could not be saved. Please try again."
		}
		line = fmt.Sprintf("**%s added a note**, in the staff console.", plainText(name))
	} else {
		b.record(ctx, intake.CaseEntry{CaseID: c.ID, Kind: intake.EntryNote, Actor: actor, Name: name, Text: text})
	}
	if err := b.threadPost(ctx, c, line); err != nil {
		b.cfg.Staff.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: actor, Action: "case.note", Result: "failed: " + errText(err)})
		return "Sorry, the note could not be posted in the case thread. Please try again."
	}
	if _, err := b.cfg.Staff.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: actor, Action: "case.note", Result: "ok", LastAction: "Note added by " + name}); err != nil {
		b.log.Error("audit case note", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	return "Note added to the case thread."
}

// closeCase closes the case; the card is edited through the outbox.
func (b *Bot) closeCase(ctx context.Context, actor, name, caseID, reason, note string) string {
	c, err := b.cfg.Staff.CloseCase(ctx, caseID, actor, name, reason, note)
	if err != nil {
		if code := intake.ErrorCode(err); code == intake.ECONFLICT || code == intake.ENOTFOUND || code == intake.EINVALID {
			b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "case.close", CaseID: caseID, Result: "refused: " + code})
			return intake.ErrorMessage(err)
		}
		b.log.Error("close case", slog.String("case_id", caseID), slog.Any("err", err))
		return "Sorry, the case could not be closed. Please try again."
	}
	r, _ := intake.CloseReasonByID(c.CloseReason)
	line := fmt.Sprintf("**Closed by %s:** %s", plainText(name), r.Label)
	if note != "" && b.cfg.ConsoleLink != nil {
		line += " (a closing note is in the staff console)"
	} else if note != "" {
		line += "\n" + plainText(note)
	}
	b.threadPost(ctx, c, line)
	b.kick()
	msg := fmt.Sprintf("Case %s closed: %s.", c.ID, r.Label)
	if r.Notice != "" {
		msg += " The patient will be told."
	}
	return msg
}

// kick wakes the outbox dispatcher, if one is attached.
func (b *Bot) kick() {
	if b.cfg.Kick != nil {
		b.cfg.Kick()
	}
}

// ensureThread returns the case's thread, starting it on the card the first
// time. A thread started from a message has the message's id, so a second
// start (another process, a restart) is recognised by Discord's "thread
// already created" error and nothing is duplicated.
func (b *Bot) ensureThread(ctx context.Context, c intake.Case) (string, error) {
	if c.CardMessageID == "" {
		return "", errors.New("the case's card is not posted yet")
	}
	if _, ok := b.threads.Load(c.CardMessageID); ok {
		return c.CardMessageID, nil
	}
	body := map[string]any{"name": "Case " + c.ID, "auto_archive_duration": 10080}
	route := discordgo.EndpointChannelMessageThread(b.cfg.StaffChannelID, c.CardMessageID)
	err := b.retry(ctx, "POST /channels/{id}/messages/{id}/threads", func(ctx context.Context) error {
		_, err := b.session().RequestWithBucketID("POST", route, body, route, discordgo.WithContext(ctx))
		if discordCode(err) == threadAlreadyCreated {
			return nil
		}
		return err
	})
	if err != nil {
		return "", err
	}
	b.threads.Store(c.CardMessageID, true)
	return c.CardMessageID, nil
}

// threadAlreadyCreated is Discord's error for a second thread on a message.
const threadAlreadyCreated = 160004

// threadPost posts text in the case's thread, split to fit, with no
// mentions.
func (b *Bot) threadPost(ctx context.Context, c intake.Case, text string) error {
	thread, err := b.ensureThread(ctx, c)
	if err != nil {
		return err
	}
	for _, chunk := range split(text) {
		msg := &discordgo.MessageSend{Content: chunk, AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}
		if err := b.retry(ctx, "POST /channels/{thread}/messages", func(ctx context.Context) error {
			_, err := b.session().ChannelMessageSendComplex(thread, msg, discordgo.WithContext(ctx))
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// Relay passes a patient's message into their case's thread (the engine
// calls it for messages that are not questions, commands or a crisis).
// Its error names the failure only (it is logged), never the text.
func (b *Bot) Relay(ctx context.Context, c intake.Case, text string) error {
	line := "**The patient wrote:**\n" + plainText(text)
	if b.cfg.ConsoleLink != nil {
		// With the console, what the patient wrote is read there.
		if b.cfg.Entries == nil {
			return errors.New("relay: the console is configured but nothing records messages")
		}
		if err := b.cfg.Entries.AddCaseEntry(ctx, intake.CaseEntry{CaseID: c.ID, Kind: intake.EntryRelay, Actor: "patient:" + c.PatientID, Text: text}); err != nil {
			return fmt.Errorf("relay: record the message: %w", err)
		}
		line = "**The patient wrote a message**: read it in the staff console."
	} else {
		b.record(ctx, intake.CaseEntry{CaseID: c.ID, Kind: intake.EntryRelay, Actor: "patient:" + c.PatientID, Text: text})
	}
	if err := b.threadPost(ctx, c, line); err != nil {
		return fmt.Errorf("relay to the case thread: %s", errText(err))
	}
	return nil
}

// sendPatient sends text to a patient's DM; with a nonce, Discord refuses a
// second message with it. A patient who is not on Discord, or whose DMs are
// closed, is undeliverable.
func (b *Bot) sendPatient(ctx context.Context, p intake.Patient, text, nonce string) error {
	if p.Channel != Channel {
		return fmt.Errorf("%w: the patient is not on Discord", handoff.ErrUndeliverable)
	}
	if p.UserID == "" {
		return fmt.Errorf("%w: the patient erased their data", handoff.ErrUndeliverable)
	}
	var ch *discordgo.Channel
	if err := b.retry(ctx, "POST /users/@me/channels", func(ctx context.Context) error {
		var err error
		ch, err = b.session().UserChannelCreate(p.UserID, discordgo.WithContext(ctx))
		return err
	}); err != nil {
		return err
	}
	chunks := split(text)
	for n, chunk := range chunks {
		body := map[string]any{"content": chunk, "allowed_mentions": map[string]any{"parse": []string{}}}
		if nonce != "" {
			body["nonce"], body["enforce_nonce"] = fmt.Sprintf("%s:%d", nonce, n), true
		}
		route := discordgo.EndpointChannelMessages(ch.ID)
		err := b.retry(ctx, "POST /channels/{dm}/messages", func(ctx context.Context) error {
			_, err := b.session().RequestWithBucketID("POST", route, body, route, discordgo.WithContext(ctx))
			return err
		})
		if discordCode(err) == discordgo.ErrCodeCannotSendMessagesToThisUser {
			return fmt.Errorf("%w: the patient's DMs are closed", handoff.ErrUndeliverable)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// NotifyPatient implements handoff.Notifier.
func (n *StaffNotifier) NotifyPatient(ctx context.Context, p intake.Patient, text, nonce string) error {
	return n.b.sendPatient(ctx, p, text, nonce)
}

// Page implements handoff.Notifier: a reply to the card that mentions the
// on-call role (or, escalated, every staff role), and only those roles.
func (n *StaffNotifier) Page(ctx context.Context, p handoff.Page, nonce string) error {
	content, roles := n.pageText(p)
	body := map[string]any{
		"content":           content,
		"allowed_mentions":  map[string]any{"parse": []string{}, "roles": roles},
		"message_reference": map[string]any{"message_id": p.CardMessageID, "fail_if_not_exists": false},
		"nonce":             nonce,
		"enforce_nonce":     true,
	}
	route := discordgo.EndpointChannelMessages(n.channel)
	return n.b.retry(ctx, "POST /channels/{id}/messages (page)", func(ctx context.Context) error {
		raw, err := n.b.session().RequestWithBucketID("POST", route, body, route, discordgo.WithContext(ctx))
		if err != nil {
			return err
		}
		var m discordgo.Message
		return json.Unmarshal(raw, &m)
	})
}

// pageText is a page's or reminder's text, with the mentions of the roles
// it pings, and those roles.
func (n *StaffNotifier) pageText(p handoff.Page) (string, []string) {
	roles := nonEmpty([]string{n.b.cfg.OncallRoleID})
	if p.Escalate {
		roles = nonEmpty(n.b.cfg.StaffRoleIDs)
	}
	var mention []string
	for _, r := range roles {
		mention = append(mention, "<@&"+r+">")
	}
	waited := humanDuration(p.Waiting)
	var text string
	switch {
	case p.Reminder:
		text = fmt.Sprintf("Reminder: %s-priority case **%s** has waited %s without being claimed.", p.Priority, p.CaseID, waited)
	case p.Escalate:
		text = fmt.Sprintf("**Escalated:** urgent case **%s** has waited %s and no one has claimed it (page %d). Please claim it on the card.", p.CaseID, waited, p.N)
	default:
		text = fmt.Sprintf("**Urgent case %s** needs someone now (page %d, waiting %s). Claim it on the card.", p.CaseID, p.N, waited)
	}
	return clip(strings.Join(append(mention, text), " ")), roles
}

// nonEmpty drops empty ids; the result is never nil (JSON [], not null).
func nonEmpty(roles []string) []string {
	out := []string{}
	for _, r := range roles {
		if r != "" {
			out = append(out, r)
		}
	}
	return out
}

// humanDuration says how long, in minutes and hours.
func humanDuration(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m < 1:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// CheckStaffChannel reads the staff channel before the bot serves anyone:
// it must exist, be readable by the bot and (with a guild configured) be in
// the clinic's server. It returns warnings for what is unsafe but not
// fatal: a channel @everyone can see.
func (b *Bot) CheckStaffChannel(ctx context.Context, channelID string) ([]string, error) {
	var ch *discordgo.Channel
	err := b.retry(ctx, "GET /channels/{id}", func(ctx context.Context) error {
		var err error
		ch, err = b.session().Channel(channelID, discordgo.WithContext(ctx))
		return err
	})
	switch {
	case discordCode(err) == discordgo.ErrCodeUnknownChannel || statusOf(err) == 404:
		return nil, fmt.Errorf("INTAKEBOT_STAFF_CHANNEL_ID %s: Discord knows no such channel (check the id, and that the bot is in the server)", channelID)
	case statusOf(err) == 403:
		return nil, fmt.Errorf("INTAKEBOT_STAFF_CHANNEL_ID %s: the bot cannot see that channel; give its role View Channel, Send Messages, Create Public Threads and Send Messages in Threads there", channelID)
	case err != nil:
		return nil, fmt.Errorf("read the staff channel %s: %s", channelID, errText(err))
	case ch.GuildID == "":
		return nil, fmt.Errorf("INTAKEBOT_STAFF_CHANNEL_ID %s is not a server channel", channelID)
	case b.cfg.GuildID != "" && ch.GuildID != b.cfg.GuildID:
		return nil, fmt.Errorf("INTAKEBOT_STAFF_CHANNEL_ID %s is in another server than INTAKEBOT_GUILD_ID %s", channelID, b.cfg.GuildID)
	}
	var warnings []string
	hidden := false
	for _, o := range ch.PermissionOverwrites {
		// The @everyone role has the server's id.
		if o.ID == ch.GuildID && o.Type == discordgo.PermissionOverwriteTypeRole && o.Deny&discordgo.PermissionViewChannel != 0 {
			hidden = true
		}
	}
	if !hidden {
		warnings = append(warnings, fmt.Sprintf("the staff channel %s is visible to @everyone: case cards would be seen by anyone in the server; in the channel's settings, deny View Channel to @everyone and allow it to the staff roles", channelID))
	}
	return warnings, nil
}
