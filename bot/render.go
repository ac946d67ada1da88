package bot

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/internal/intake"
)

// Custom ids carry a version prefix so a format change never misreads an old
// button: "v1:a:<question>:<option>" for a button, "v1:s:<question>" for a
// select menu (the options arrive as values).
const idPrefix = "v1"

// Action is a decoded component custom id.
type Action struct {
	QuestionID string
	OptionID   string // buttons only
	Select     bool
}

// ForgetConfirmID is the custom id of the /forget-me confirmation button.
const ForgetConfirmID = idPrefix + ":c:forget-me"

// ActionID is the custom id of a suggested-action button ("screen",
// "staff", "ask").
func ActionID(action string) string { return idPrefix + ":c:" + action }

// EncodeButton returns a button's custom id.
func EncodeButton(question, option string) string {
	return idPrefix + ":a:" + question + ":" + option
}

// EncodeSelect returns a select menu's custom id.
func EncodeSelect(question string) string { return idPrefix + ":s:" + question }

// DecodeAction parses a custom id; ok is false for anything it did not make.
func DecodeAction(id string) (Action, bool) {
	parts := strings.Split(id, ":")
	if len(parts) < 3 || parts[0] != idPrefix || parts[2] == "" || len(id) > 100 {
		return Action{}, false
	}
	switch {
	case parts[1] == "a" && len(parts) == 4 && parts[3] != "":
		return Action{QuestionID: parts[2], OptionID: parts[3]}, true
	case parts[1] == "s" && len(parts) == 3:
		return Action{QuestionID: parts[2], Select: true}, true
	}
	return Action{}, false
}

// maxContent is Discord's message limit for bots.
const maxContent = 2000

// split cuts text into chunks of at most maxContent characters, at paragraph
// or line breaks where possible.
func split(text string) []string {
	var out []string
	for utf8.RuneCountInString(text) > maxContent {
		r := []rune(text)
		cut := maxContent
		head := string(r[:cut])
		if i := strings.LastIndex(head, "\n\n"); i > maxContent/2 {
			cut = utf8.RuneCountInString(head[:i])
		} else if i := strings.LastIndex(head, "\n"); i > maxContent/2 {
			cut = utf8.RuneCountInString(head[:i])
		}
		out = append(out, strings.TrimSpace(string(r[:cut])))
		text = strings.TrimSpace(string(r[cut:]))
	}
	if strings.TrimSpace(text) != "" {
		out = append(out, text)
	}
	return out
}

// questionMessage renders a question: its text with a progress hint, and
// buttons (up to five single choices) or a select menu (more options, or
// several may be chosen). Free-text questions have no components.
func questionMessage(r intake.Reply) *discordgo.MessageSend {
	text := r.Text
	if r.Step > 0 {
		text = fmt.Sprintf("-# Question %d of about %d\n%s", r.Step, r.StepsAbout, text)
	}
	if len(r.Choices) == 0 {
		hint := "Type your answer below."
		if r.Optional {
			hint = `Type your answer below, or "skip".`
		}
		text += "\n\n" + hint
	}
	return &discordgo.MessageSend{Content: clip(text), Components: components(r)}
}

func components(r intake.Reply) []discordgo.MessageComponent {
	if len(r.Choices) == 0 {
		return nil
	}
	if !r.Multiple && len(r.Choices) <= 5 {
		row := discordgo.ActionsRow{}
		for _, c := range r.Choices {
			row.Components = append(row.Components, discordgo.Button{Label: clipN(c.Label, 80), Style: discordgo.SecondaryButton, CustomID: EncodeButton(r.QuestionID, c.ID)})
		}
		return []discordgo.MessageComponent{row}
	}
	menu := discordgo.SelectMenu{CustomID: EncodeSelect(r.QuestionID), Placeholder: "Choose an answer"}
	one := 1
	menu.MinValues = &one
	menu.MaxValues = 1
	if r.Multiple {
		menu.Placeholder = "Choose all that apply"
		menu.MaxValues = len(r.Choices)
	}
	for _, c := range r.Choices {
		menu.Options = append(menu.Options, discordgo.SelectMenuOption{Label: clipN(c.Label, 100), Value: c.ID})
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{menu}}}
}

// answeredContent is the question message once answered: the question, then
// the chosen answer, and no components.
func answeredContent(question string, labels []string) string {
	return clip(question + "\n\n**Your answer:** " + strings.Join(labels, ", "))
}

// markdownEscaper escapes what Discord would read inline as formatting, a
// masked link or a mention ("@everyone", "<@id>") in text a patient wrote,
// so staff see it as typed. Messages also go with no allowed mentions, so
// nothing pings even if an escape were missed.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, "<", `\<`, "@", `\@`, "[", `\[`, "]", `\]`,
)

// plainText is patient text made safe to show in a Discord message: no
// control or bidi-override characters, no inline markdown or mentions, and
// no line read as a heading, quote or list.
func plainText(s string) string {
	lines := strings.Split(markdownEscaper.Replace(intake.CleanText(s)), "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		if trimmed != "" && strings.ContainsRune("#>-+", rune(trimmed[0])) {
			lines[i] = l[:len(l)-len(trimmed)] + `\` + trimmed
		}
	}
	return strings.Join(lines, "\n")
}

func clip(s string) string { return clipN(s, maxContent) }

func clipN(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// labelsFor finds the labels of the chosen options on the clicked message.
func labelsFor(msg *discordgo.Message, a Action, values []string) []string {
	var out []string
	if msg == nil {
		return values
	}
	for _, row := range msg.Components {
		ar, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range ar.Components {
			switch x := c.(type) {
			case *discordgo.Button:
				if x.CustomID == EncodeButton(a.QuestionID, a.OptionID) {
					out = append(out, x.Label)
				}
			case *discordgo.SelectMenu:
				for _, o := range x.Options {
					for _, v := range values {
						if o.Value == v {
							out = append(out, o.Label)
						}
					}
				}
			}
		}
	}
	if len(out) == 0 {
		if a.Select {
			return values
		}
		return []string{a.OptionID}
	}
	return out
}

// Commands are the slash commands, registered with one bulk overwrite.
func Commands() []*discordgo.ApplicationCommand {
	dm, noDM := true, false
	return []*discordgo.ApplicationCommand{
		{Name: "ask", Description: "Ask a question about ketamine treatment", DMPermission: &dm,
			Options: []*discordgo.ApplicationCommandOption{{Type: discordgo.ApplicationCommandOptionString, Name: "question", Description: "Your question", Required: true, MaxLength: 500}}},
		{Name: "screening", Description: "Start or continue the intake screening (in a private message)", DMPermission: &dm},
		{Name: "staff", Description: "Ask the care team to contact you", DMPermission: &dm},
		{Name: "privacy", Description: "See what the clinic holds about you", DMPermission: &dm},
		{Name: "forget-me", Description: "Erase your screening answers and contact details", DMPermission: &dm},
		{Name: "help", Description: "What this bot can do", DMPermission: &dm},
		{Name: "handoffs", Description: "Staff: list cases, most urgent and newest first", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "status", Description: "Only cases with this status", Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "open", Value: "open"}, {Name: "claimed", Value: "claimed"}, {Name: "closed", Value: "closed"}}},
				{Type: discordgo.ApplicationCommandOptionString, Name: "priority", Description: "Only cases with this priority", Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "urgent", Value: "urgent"}, {Name: "high", Value: "high"}, {Name: "normal", Value: "normal"}, {Name: "low", Value: "low"}}},
			}},
	}
}
