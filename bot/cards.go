package bot

import (
	"context"
	"encoding/json"
	"fmt"
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

// cardEmbed renders a card. It carries no answers, scores or contact
// details: Discord's Developer Policy forbids transmitting health
// information through Discord, so staff read details elsewhere.
func cardEmbed(c handoff.Card) *discordgo.MessageEmbed {
	status := string(c.Status)
	if c.Assignee != "" {
		status += " — " + c.Assignee
	}
	contact := c.ContactMethod
	if contact == "" {
		contact = "not given"
	}
	flags := "none"
	if len(c.Flags) > 0 {
		flags = "• " + strings.Join(c.Flags, "\n• ")
	}
	return &discordgo.MessageEmbed{
		Title: clipN(fmt.Sprintf("Case %s · %s", c.CaseID, strings.ToUpper(string(c.Priority))), 256),
		Color: priorityColour[c.Priority],
		Fields: []*discordgo.MessageEmbedField{
			{Name: "Outcome", Value: strings.ReplaceAll(c.Outcome, "_", " "), Inline: true},
			{Name: "Opened", Value: fmt.Sprintf("<t:%d:R>", c.OpenedAt.Unix()), Inline: true},
			{Name: "Contact by", Value: contact, Inline: true},
			{Name: "Status", Value: status, Inline: true},
			{Name: "Flags", Value: clipN(flags, 1024)},
		},
	}
}

// PostCard implements handoff.Notifier. discordgo v0.29.0 cannot send a
// nonce, so the request is built here.
func (n *StaffNotifier) PostCard(ctx context.Context, c handoff.Card, nonce string) (string, error) {
	body := map[string]any{
		"embeds":           []*discordgo.MessageEmbed{cardEmbed(c)},
		"nonce":            nonce,
		"enforce_nonce":    true,
		"allowed_mentions": map[string]any{"parse": []string{}},
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
	return n.b.retry(ctx, "PATCH /channels/{id}/messages/{id} (card)", func(ctx context.Context) error {
		_, err := n.b.session().ChannelMessageEditComplex(&discordgo.MessageEdit{ID: messageID, Channel: n.channel, Embeds: &embeds}, discordgo.WithContext(ctx))
		return err
	})
}
