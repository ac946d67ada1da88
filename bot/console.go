package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/intake"
)

// EntryStore records what is said on a case, for the staff web console.
type EntryStore interface {
	AddCaseEntry(ctx context.Context, e intake.CaseEntry) error
}

// record keeps a case entry when a store for them is configured; a failure
// is logged (the action itself went through on Discord).
func (b *Bot) record(ctx context.Context, e intake.CaseEntry) {
	if b.cfg.Entries == nil {
		return
	}
	if err := b.cfg.Entries.AddCaseEntry(ctx, e); err != nil {
		b.log.Error("record case entry", slog.String("case_id", e.CaseID), slog.String("kind", e.Kind), slog.Any("err", err))
	}
}

// consoleDetails answers Details with a short-lived signed link to the case
// in the staff web console: no health data crosses Discord. The link is
// audited as a view would be.
func (b *Bot) consoleDetails(ctx context.Context, i *discordgo.InteractionCreate, actor string, c intake.Case) {
	link, err := b.cfg.ConsoleLink(c.ID)
	if err != nil {
		b.log.Error("console link", slog.String("case_id", c.ID), slog.Any("err", err))
		b.respond(ctx, i, ephemeral("Sorry, the link to the console could not be made. Please try again."))
		return
	}
	b.cfg.Staff.Audit(ctx, intake.AuditEntry{Actor: actor, Action: "case.link", CaseID: c.ID, Result: "ok"})
	b.respond(ctx, i, ephemeral(fmt.Sprintf("Case %s is open to read in the staff console (sign in with Discord; the link works for 10 minutes):\n%s", c.ID, link)))
}

// The case actions below are the ones the staff card's buttons run, for the
// staff web console, so a card and the console never disagree. actorID is
// the staff member's Discord user id, name their display name; each returns
// what to tell the staff member and whether the action was done.

// Claim assigns an open case to the staff member.
func (b *Bot) Claim(ctx context.Context, actorID, name, caseID string) (string, bool) {
	c, msg := b.claim(ctx, "discord:"+actorID, name, caseID, true)
	if msg != "" {
		return msg, false
	}
	b.kick()
	return fmt.Sprintf("Case %s is yours.", c.ID), true
}

// Unclaim returns a claimed case to the queue.
func (b *Bot) Unclaim(ctx context.Context, actorID, name, caseID string) (string, bool) {
	c, msg := b.claim(ctx, "discord:"+actorID, name, caseID, false)
	if msg != "" {
		return msg, false
	}
	b.kick()
	return fmt.Sprintf("Case %s is back in the queue.", c.ID), true
}

// AddNote adds an internal note to the case.
func (b *Bot) AddNote(ctx context.Context, actorID, name, caseID, text string) (string, bool) {
	msg := b.addNote(ctx, "discord:"+actorID, name, caseID, text)
	b.kick()
	return msg, msg == "Note added to the case thread."
}

// MessagePatient sends the staff member's message to the patient's DM,
// signed; nonce (the form's) keeps a resubmitted form from sending twice.
func (b *Bot) MessagePatient(ctx context.Context, actorID, name, caseID, text, nonce string) (string, bool) {
	msg := b.messagePatient(ctx, "discord:"+actorID, name, caseID, text, nonce)
	b.kick()
	return msg, msg == "Sent to the patient and logged in the case thread." || msg == "Sent to the patient, but it could not be logged in the case thread."
}

// CloseCase closes the case with a reason (one of intake.CloseReasons) and
// an optional note.
func (b *Bot) CloseCase(ctx context.Context, actorID, name, caseID, reason, note string) (string, bool) {
	if _, ok := intake.CloseReasonByID(reason); !ok {
		return "That close reason is not known.", false
	}
	msg := b.closeCase(ctx, "discord:"+actorID, name, caseID, reason, note)
	return msg, strings.HasPrefix(msg, "Case ") && strings.Contains(msg, " closed: ")
}
