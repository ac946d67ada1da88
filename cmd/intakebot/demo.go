package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/handoff"
)

const (
	demoUser         = "300000000000000042"
	demoStaffChannel = "300000000000000099"
)

// runDemo starts a loopback Discord and the real Discord adapter against it,
// and lets a person play the patient from the terminal: the real Discord
// code path, with no Discord account.
func runDemo(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("demo", "Usage: intakebot demo [--data DIR]\n\nRun the Discord bot against a loopback Discord and play the patient here:\ntype a message to send it as a DM; type a number to press that button\n(several, like 1,3, for a menu where more than one may be chosen);\n/ask QUESTION and /screening run the slash commands; Ctrl-D ends.", &c)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if e.getenv("INTAKEBOT_LOG_LEVEL") == "" {
		cfg.LogLevel = "warn"
	}
	l, err := startEngine(ctx, e, cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	fake := discordfake.New(nil)
	defer fake.Close()
	d, err := bot.New(bot.Config{Token: discordfake.Token, Engine: l.eng, Dedupe: l.st, Logger: l.log, Transport: fake.Transport(), Fallback: fallbackReply})
	if err != nil {
		return fail(e, err)
	}
	if err := d.Open(ctx); err != nil {
		return fail(e, err)
	}
	defer d.Close()
	// Cases reach the (loopback) staff channel as cards, as with run.
	disp := &handoff.Dispatcher{Store: l.st, Notifier: d.Notifier(demoStaffChannel), Labels: func(f []string) []string { return conversation.FlagLabels(l.b.script, f) }, Log: l.log, Poll: 200 * time.Millisecond}
	dctx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	go disp.Run(dctx)
	fmt.Fprintln(e.stdout, "Connected to a loopback Discord. You are a patient messaging the bot. Say hello.\nCards for staff appear as [staff channel] lines.")
	p := &demoPrinter{fake: fake, out: e.stdout}
	in := bufio.NewScanner(e.stdin)
	for {
		fmt.Fprint(e.stdout, "you> ")
		if !in.Scan() || ctx.Err() != nil {
			fmt.Fprintln(e.stdout)
			return exitOK
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		before := len(fake.DM(demoUser))
		switch {
		case strings.HasPrefix(line, "/ask "):
			fake.Command(demoUser, "", "", "ask", map[string]string{"question": strings.TrimSpace(line[5:])})
		case line == "/screening" || line == "/staff" || line == "/help":
			fake.Command(demoUser, "", "", line[1:], nil)
		default:
			if !p.press(line) {
				fake.SendDM(demoUser, line)
				before++ // the patient's own message
			}
		}
		// Show what the bot sent, once it has gone quiet (cards take a
		// dispatcher poll to arrive).
		fake.Await(3*time.Second, func() bool { return len(fake.DM(demoUser)) > before })
		disp.Kick()
		for settled := false; !settled; {
			n := len(fake.DM(demoUser))
			settled = !fake.Await(300*time.Millisecond, func() bool { return len(fake.DM(demoUser)) > n })
		}
		p.show()
	}
}

// demoPrinter prints the bot's DM messages and remembers the latest
// components so a number presses one.
type demoPrinter struct {
	fake    *discordfake.Server
	out     io.Writer
	shown   int
	edits   map[string]string
	latest  discordfake.Message
	buttons []discordfake.Component
}

func (p *demoPrinter) show() {
	if p.edits == nil {
		p.edits = map[string]string{}
	}
	defer p.showStaff()
	dm := p.fake.DM(demoUser)
	for _, m := range dm[:p.shown] {
		if m.Edited && p.edits[m.ID] != m.Content && m.AuthorID == p.fake.BotID {
			p.edits[m.ID] = m.Content
			fmt.Fprintf(p.out, "  (the question now reads: %s)\n", lastLine(m.Content))
		}
	}
	for _, m := range dm[p.shown:] {
		if m.AuthorID != p.fake.BotID {
			continue
		}
		fmt.Fprintf(p.out, "\nbot> %s\n", strings.ReplaceAll(m.Content, "\n", "\n     "))
		if m.Ephemeral {
			fmt.Fprintln(p.out, "     (only you can see this)")
		}
		if len(m.Components) == 0 && !m.Ephemeral {
			p.buttons = nil // numbers now go to the bot as text
		}
		if len(m.Components) > 0 {
			p.latest, p.buttons = m, m.Components
			n := 1
			for _, c := range m.Components {
				if c.Type == 3 {
					for _, o := range c.Options {
						fmt.Fprintf(p.out, "     [%d] %s\n", n, o.Label)
						n++
					}
					continue
				}
				fmt.Fprintf(p.out, "     [%d] %s\n", n, c.Label)
				n++
			}
		}
	}
	p.shown = len(dm)
}

// showStaff prints new or changed cards in the staff channel.
func (p *demoPrinter) showStaff() {
	time.Sleep(300 * time.Millisecond) // one dispatcher poll
	for _, m := range p.fake.Channel(demoStaffChannel) {
		if len(m.Embeds) == 0 || p.edits["staff:"+m.ID] == m.Embeds[0] {
			continue
		}
		verb := "new card"
		if _, seen := p.edits["staff:"+m.ID]; seen {
			verb = "card updated"
		}
		p.edits["staff:"+m.ID] = m.Embeds[0]
		fmt.Fprintf(p.out, "\n[staff channel] %s: %s\n", verb, cardText(m.Embeds[0]))
	}
}

// cardText flattens a card embed for the terminal.
func cardText(embed string) string {
	var em struct {
		Title  string `json:"title"`
		Fields []struct {
			Name, Value string
		} `json:"fields"`
	}
	if json.Unmarshal([]byte(embed), &em) != nil {
		return embed
	}
	parts := []string{em.Title}
	for _, f := range em.Fields {
		if f.Name == "Opened" {
			continue // a Discord timestamp tag
		}
		parts = append(parts, f.Name+": "+strings.ReplaceAll(f.Value, "\n", " "))
	}
	return strings.Join(parts, " | ")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// press handles "2" or "1,3" as a click on the latest components.
func (p *demoPrinter) press(line string) bool {
	if len(p.buttons) == 0 {
		return false
	}
	var picks []int
	for _, part := range strings.Split(line, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return false
		}
		picks = append(picks, n)
	}
	if menu := p.buttons[0]; menu.Type == 3 {
		var values []string
		for _, n := range picks {
			if n < 1 || n > len(menu.Options) {
				return false
			}
			values = append(values, menu.Options[n-1].Value)
		}
		p.fake.Click(demoUser, p.latest.ID, menu.CustomID, values...)
		return true
	}
	if len(picks) != 1 || picks[0] < 1 || picks[0] > len(p.buttons) {
		return false
	}
	p.fake.Click(demoUser, p.latest.ID, p.buttons[picks[0]-1].CustomID)
	return true
}
