package handoff

import (
	"strings"

	"github.com/intakebot/intakebot/internal/intake"
)

// Channel names, as adapters name their patients' channel (bot.Channel,
// console.Channel); this package imports neither.
const (
	channelDiscord = "discord"
	channelConsole = "console"
)

// Who says who a case's patient is on their channel, for a terminal:
// "Discord user 123… (direct messages with the bot)", "terminal chat user
// bob". An erased patient has no user id any more.
func Who(p intake.Patient) string {
	switch {
	case p.ID == "":
		return "unknown"
	case p.UserID == "":
		return "erased (the patient withdrew and erased their data)"
	case p.Channel == channelDiscord:
		return "Discord user " + p.UserID + " (direct messages with the bot)"
	case p.Channel == channelConsole:
		return "terminal chat user " + p.UserID
	}
	return p.Channel + " user " + p.UserID
}

// Reach is the best way to reach a case's patient now: the phone number or
// email address they gave (with the best time), else a message on their
// channel, else that no way is known yet.
func Reach(c intake.Case, p intake.Patient) string {
	ct := c.Contact
	when := ""
	if ct.BestTime != "" {
		when = " (best time: " + strings.ReplaceAll(ct.BestTime, "_", " ") + ")"
	}
	if ct.Detail != "" {
		switch ct.Method {
		case "phone":
			return "phone call to " + ct.Detail + when
		case "email":
			return "email to " + ct.Detail + when
		}
		return ct.Detail + when
	}
	dm := ""
	if p.Channel == channelDiscord && p.UserID != "" {
		dm = "a Discord direct message (Message patient on the card)"
	}
	switch {
	case ct.Method != "" && dm != "":
		return dm + when
	case dm != "":
		return dm + "; no phone number or email address given yet" + when
	case p.Channel == channelConsole && p.UserID != "":
		return "none yet: no phone number or email address given, and a terminal chat user cannot be messaged" + when
	}
	return "none known: no phone number or email address given" + when
}

// ContactSummary is the card's one-line "Contact by", with no detail: the
// method and whether a detail is in Details.
func ContactSummary(c intake.Contact) string {
	switch {
	case c.Detail != "" && c.Method != "":
		return c.Method + " (in Details)"
	case c.Detail != "":
		return "given (in Details)"
	case c.Method != "":
		return c.Method
	}
	return ""
}
