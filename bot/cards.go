package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// StaffNotifier posts and edits case cards in the staff channel.
type StaffNotifier struct {
	b       *Bot
	channel string
}

var _ handoff.Notifier = (*StaffNotifier)(nil)

// Notifier returns the staff-channel notifier for the outbox dispatcher.
func (b *Bot) Notifier(staffChannelID string) *StaffNotifier {
	return &StaffNotifier{b: b, channel: staffChannelID}
}

var priorityColour = map[intake.Priority]int{
	intake.PriorityUrgent: 0xD32F2F, intake.PriorityHigh: 0xF57C00, intake.PriorityNormal: 0x1976D2, intake.PriorityLow: 0x757575,
}

// cardEmbed renders a card. By default it carries no answers, scores or
// contact details: Discord's Developer Policy bars using Discord for health
// information beyond what is needed, so staff open details privately. A
// clinic that accepts it can put scores on cards (INTAKEBOT_STAFF_CARD=scores).
func cardEmbed(c handoff.Card) *discordgo.MessageEmbed {
	status := string(c.Status)
	if c.Assignee != "" && c.Status == intake.CaseClaimed {
		status += " — " + c.Assignee
	}
	if c.CloseReason != "" {
		status += " — " + c.CloseReason
	}
	contact := c.ContactMethod
	if contact == "" {
		contact = "no phone or email yet: Message patient (DM)"
	}
	flags := "none"
	if len(c.Flags) > 0 {
		flags = "• " + strings.Join(c.Flags, "\n• ")
	}
	e := &discordgo.MessageEmbed{
		Title:       clipN(fmt.Sprintf("Case %s · %s", c.CaseID, strings.ToUpper(string(c.Priority))), 256),
		Description: clipN(c.HoursNote, 4096),
		Color:       priorityColour[c.Priority],
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Outcome", Value: strings.ReplaceAll(c.Outcome, "_", " "), Inline: true},
			{Name: "Opened", Value: fmt.Sprintf("<t:%d:R>", c.OpenedAt.Unix()), Inline: true},
			{Name: "Contact by", Value: contact, Inline: true},
			{Name: "Status", Value: clipN(status, 1024), Inline: true},
			{Name: "Flags", Value: clipN(flags, 1024)},
		},
	}
	if len(c.Scores) > 0 {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Scores", Value: clipN(strings.Join(c.Scores, "\n"), 1024)})
	}
	if c.LastAction != "" {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Last action", Value: clipN(fmt.Sprintf("%s <t:%d:R>", c.LastAction, c.LastActionAt.Unix()), 1024)})
	}
	return e
}

// Staff action custom ids: "v1:k:<action>:<case>".
const staffPrefix = idPrefix + ":k:"

// StaffActionID returns the custom id of a staff button on a case card.
func StaffActionID(action, caseID string) string { return staffPrefix + action + ":" + caseID }

// cardButtons are the staff actions on a card; a closed card keeps Details.
func cardButtons(c handoff.Card) []discordgo.MessageComponent {
	details := discordgo.Button{Label: "Details", Style: discordgo.SecondaryButton, CustomID: StaffActionID("details", c.CaseID)}
	if c.Status == intake.CaseClosed {
		return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{details}}}
	}
	claim := discordgo.Button{Label: "Claim", Style: discordgo.PrimaryButton, CustomID: StaffActionID("claim", c.CaseID)}
	if c.Status == intake.CaseClaimed {
		claim = discordgo.Button{Label: "Unclaim", Style: discordgo.SecondaryButton, CustomID: StaffActionID("unclaim", c.CaseID)}
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		claim, details,
		discordgo.Button{Label: "Message patient", Style: discordgo.SecondaryButton, CustomID: StaffActionID("message", c.CaseID)},
		discordgo.Button{Label: "Add note", Style: discordgo.SecondaryButton, CustomID: StaffActionID("note", c.CaseID)},
		discordgo.Button{Label: "Close", Style: discordgo.DangerButton, CustomID: StaffActionID("close", c.CaseID)},
	}}}
}

// PostCard implements handoff.Notifier. discordgo v0.29.0 cannot send a
// nonce, so the request is built here.
func (n *StaffNotifier) PostCard(ctx context.Context, c handoff.Card, nonce string) (string, error) {
	body := map[string]any{
		"embeds":           []*discordgo.MessageEmbed{cardEmbed(c)},
		"components":       cardButtons(c),
		"nonce":            nonce,
		"enforce_nonce":    true,
		"allowed_mentions": map[string]any{"parse": []string{}},
	}
	if c.Page != nil {
		// The first page of an urgent case rides in its card: one request
		// instead of two when a burst of cases meets the rate limit.
		content, roles := n.pageText(*c.Page)
		body["content"] = content
		body["allowed_mentions"] = map[string]any{"parse": []string{}, "roles": roles}
	}
	var msg discordgo.Message
	err := n.b.retry(ctx, "POST /channels/{id}/messages (card)", func(ctx context.Context) error {
		raw, err := n.b.session().RequestWithBucketID("POST", discordgo.EndpointChannelMessages(n.channel), body,
			discordgo.EndpointChannelMessages(n.channel), discordgo.WithContext(ctx))
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &msg)
	})
	if err != nil {
		return "", err
	}
	return msg.ID, nil
}

// UpdateCard implements handoff.Notifier.
func (n *StaffNotifier) UpdateCard(ctx context.Context, messageID string, c handoff.Card) error {
	embeds := []*discordgo.MessageEmbed{cardEmbed(c)}
	buttons := cardButtons(c)
	err := n.b.retry(ctx, "PATCH /channels/{id}/messages/{id} (card)", func(ctx context.Context) error {
		_, err := n.b.session().ChannelMessageEditComplex(&discordgo.MessageEdit{ID: messageID, Channel: n.channel, Embeds: &embeds, Components: &buttons}, discordgo.WithContext(ctx))
		return err
	})
	if discordCode(err) == discordgo.ErrCodeUnknownMessage {
		return fmt.Errorf("%w: %s", handoff.ErrCardGone, errText(err))
	}
	return err
}

// StaffStore is what staff actions need of the store.
type StaffStore interface {
	ClaimCase(ctx context.Context, caseID, actorID, actorName string, claim bool) (intake.Case, error)
	CloseCase(ctx context.Context, caseID, actorID, actorName, reason, note string) (intake.Case, error)
	CaseAction(ctx context.Context, a intake.CaseActionEntry) (intake.Case, error)
	PatientByID(ctx context.Context, id string) (intake.Patient, error)
	Case(ctx context.Context, id string) (intake.Case, error)
	Cases(ctx context.Context, f intake.CaseFilter) ([]intake.Case, error)
	Audit(ctx context.Context, e intake.AuditEntry) error
}

// isStaff checks the interaction's member roles against the configured
// staff roles. The custom id and Discord's own permissions are never
// trusted alone; staff actions from a DM (no member) are refused.
func (b *Bot) isStaff(i *discordgo.InteractionCreate) bool {
	if i.GuildID == "" || i.Member == nil {
		return false
	}
	for _, r := range i.Member.Roles {
		for _, s := range b.cfg.StaffRoleIDs {
			if r == s {
				return true
			}
		}
	}
	return false
}

// staffAction runs a card button after checking the clicker is staff.
func (b *Bot) staffAction(ctx context.Context, i *discordgo.InteractionCreate, u *discordgo.User, id string) {
	action, caseID, _ := strings.Cut(strings.TrimPrefix(id, staffPrefix), ":")
	actor := "discord:" + u.ID
	if !b.allowStaff(ctx, i, actor, action, caseID) {
		return
	}
	switch {
	case action == "details":
		b.caseDetails(ctx, i, actor, caseID)
		return
	case action == "message" || action == "note":
		b.respond(ctx, i, textModal(action, caseID))
		return
	case action == "close":
		b.respond(ctx, i, closeReasons(caseID))
		return
	case strings.HasPrefix(action, "close-"):
		r, ok := intake.CloseReasonByID(strings.TrimPrefix(action, "close-"))
		if !ok {
			b.respond(ctx, i, ephemeral("That close reason is not known."))
			return
		}
		b.respond(ctx, i, closeModal(r, caseID))
		return
	case action != "claim" && action != "unclaim":
		b.respond(ctx, i, ephemeral("That button is not known."))
		return
	}
	if !b.deferUpdate(ctx, i) {
		return
	}
	c, msg := b.claim(ctx, actor, displayName(u), caseID, action == "claim")
	if msg != "" {
		b.followup(ctx, i, msg)
		return
	}
	card := b.cfg.Card(c)
	embeds := []*discordgo.MessageEmbed{cardEmbed(card)}
	buttons := cardButtons(card)
	b.retry(ctx, "PATCH /webhooks/{app}/{token}/messages/@original (card)", func(ctx context.Context) error {
		_, err := b.session().InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Embeds: &embeds, Components: &buttons}, discordgo.WithContext(ctx))
		return err
	})
}

// claim claims or unclaims a case for staff (the card's button and the
// web console); msg is "" on success, else what to tell the staff member.
func (b *Bot) claim(ctx context.Context, actor, name, caseID string, claim bool) (intake.Case, string) {
	action := map[bool]string{true: "claim", false: "unclaim"}[claim]
	c, err := b.cfg.Staff.ClaimCase(ctx, caseID, actor, name, claim)
	if err != nil {
		msg := "Sorry, that didn't work. Please try again."
		if intake.ErrorCode(err) == intake.ECONFLICT || intake.ErrorCode(err) == intake.ENOTFOUND {
			msg = intake.ErrorMessage(err)
			b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "case." + action, CaseID: caseID, Result: "refused: " + intake.ErrorCode(err)})
		} else {
			b.log.Error("staff action", slog.String("case_id", caseID), slog.Any("err", err))
		}
		return c, msg
	}
	return c, ""
}

func displayName(u *discordgo.User) string {
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}

// allowStaff checks that the member acting is staff; otherwise the refusal
// is audited (before it is answered, so a refusal that was seen is on
// record) and answered privately.
func (b *Bot) allowStaff(ctx context.Context, i *discordgo.InteractionCreate, actor, action, caseID string) bool {
	if b.cfg.Staff != nil && b.isStaff(i) {
		return true
	}
	if b.cfg.Staff != nil {
		b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "case." + action, CaseID: caseID, Result: "refused: not staff"})
	}
	b.log.Warn("staff action refused", slog.String("actor", actor), slog.String("case_id", caseID), slog.String("action", action))
	b.respond(ctx, i, ephemeral("Only the clinic's care team can use these buttons, from the staff channel."))
	return false
}

// caseDetails shows a case's details privately to the staff member who
// asked, and audits the view. This is the one place health details are sent
// through Discord, to staff only; the README says so.
func (b *Bot) caseDetails(ctx context.Context, i *discordgo.InteractionCreate, actor, caseID string) {
	c, err := b.cfg.Staff.Case(ctx, caseID)
	if err != nil {
		b.respond(ctx, i, ephemeral("That case could not be found."))
		return
	}
	if b.cfg.ConsoleLink != nil {
		b.consoleDetails(ctx, i, actor, c)
		return
	}
	// Audit first: a view that cannot be recorded is not shown.
	if err := b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "case.view", CaseID: c.ID, Result: "ok"}); err != nil {
		b.log.Error("audit case view", slog.String("case_id", c.ID), slog.Any("err", err))
		b.respond(ctx, i, ephemeral("Sorry, the view could not be recorded, so the details are not shown. Please try again."))
		return
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("**Case %s** (%s, %s)", c.ID, c.Priority, strings.ReplaceAll(c.Outcome, "_", " ")))
	lines = append(lines, handoff.ScoreLines(c.Scores)...)
	for _, f := range b.cfg.FlagLabels(c.Flags) {
		lines = append(lines, "• "+f)
	}
	// Who the patient is and how to reach them now, whatever was answered.
	p, err := b.cfg.Staff.PatientByID(ctx, c.PatientID)
	if err != nil {
		b.log.Warn("patient of a case", slog.String("case_id", c.ID), slog.Any("err", err))
	}
	who := handoff.Who(p)
	if p.Channel == Channel && p.UserID != "" {
		who = fmt.Sprintf("<@%s> (Discord direct messages with the bot)", p.UserID)
	}
	lines = append(lines, "Patient: "+who, "Contact: "+plainText(handoff.Reach(c, p)))
	// Every safety and medical-history answer, whatever it was.
	if len(c.Answers) > 0 {
		lines = append(lines, "**Safety and medical history**")
		for _, a := range c.Answers {
			lines = append(lines, "• "+plainText(a.Question)+": "+plainText(a.Answer))
		}
	}
	if c.CloseNote != "" {
		lines = append(lines, "Closing note: "+c.CloseNote)
	}
	resp := ephemeral(strings.Join(lines, "\n"))
	// Free text the patient wrote goes in embeds, which hold more than a
	// message: what they said when crisis language opened the case (the
	// person who calls them needs it), and their notes.
	if len(c.Said) > 0 {
		var said []string
		for _, s := range c.Said {
			said = append(said, fmt.Sprintf("<t:%d:f>: %s", s.At.Unix(), plainText(s.Text)))
		}
		resp.Data.Embeds = append(resp.Data.Embeds, &discordgo.MessageEmbed{Title: "What the patient wrote",
			Description: clipN(strings.Join(said, "\n"), 2900), Color: priorityColour[intake.PriorityUrgent]})
	}
	if c.Notes != "" {
		resp.Data.Embeds = append(resp.Data.Embeds, &discordgo.MessageEmbed{Title: "Notes from the patient", Description: clipN(plainText(c.Notes), 2900)})
	}
	b.respond(ctx, i, resp)
}

// listCases answers /handoffs for staff: cases with age, priority, status and
// assignee, most urgent then newest first, filtered by status and priority.
func (b *Bot) listCases(ctx context.Context, i *discordgo.InteractionCreate, u *discordgo.User) {
	actor := "discord:" + u.ID
	if b.cfg.Staff == nil || !b.isStaff(i) {
		if b.cfg.Staff != nil {
			b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "cases.list", Result: "refused: not staff"})
		}
		b.respond(ctx, i, ephemeral("Only the clinic's care team can list cases, from the clinic's server."))
		return
	}
	var status, priority string
	for _, o := range i.ApplicationCommandData().Options {
		switch o.Name {
		case "status":
			status = o.StringValue()
		case "priority":
			priority = o.StringValue()
		}
	}
	cases, err := b.cfg.Staff.Cases(ctx, intake.CaseFilter{Status: intake.CaseStatus(status)})
	if err != nil {
		b.log.Error("list cases", slog.Any("err", err))
		b.respond(ctx, i, ephemeral("Sorry, the cases could not be listed. Please try again."))
		return
	}
	var lines []string
	for _, c := range cases {
		if priority != "" && string(c.Priority) != priority {
			continue
		}
		who := c.Assignee
		if who == "" {
			who = "unassigned"
		}
		status := string(c.Status)
		if r, ok := intake.CloseReasonByID(c.CloseReason); ok {
			status += " (" + r.Label + ")"
		}
		line := fmt.Sprintf("`%s` %s · %s · %s · %s · opened <t:%d:R>", c.ID, strings.ToUpper(string(c.Priority)), strings.ReplaceAll(c.Outcome, "_", " "), status, who, c.CreatedAt.Unix())
		if n := len(strings.Join(lines, "\n")) + len(line); n > maxContent-100 {
			lines = append(lines, "… more: narrow the list with status or priority.")
			break
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = []string{"No cases match."}
	}
	b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "cases.list", Result: "ok"})
	b.respond(ctx, i, ephemeral(strings.Join(lines, "\n")))
}
