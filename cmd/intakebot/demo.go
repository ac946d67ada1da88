package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/console"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
)

const (
	demoUser         = "300000000000000042"
	demoStaffChannel = "300000000000000099"
	demoGuild        = "300000000000000011"
	demoStaffUser    = "300000000000000077"
	demoStaffRole    = "300000000000000055"
	demoOncallRole   = "300000000000000066"
	// demoStaffName is the care-team member the person at the terminal plays.
	demoStaffName = "Dana (demo staff)"
)

// runDemo starts a loopback Discord and the real Discord adapter against it,
// and lets a person play the patient from the terminal: the real Discord
// code path, with no Discord account.
func runDemo(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("demo", "Usage: intakebot demo [--data DIR]\n\nRun the Discord bot against a loopback Discord and play the patient here:\ntype a message to send it as a DM; type a number to press that button\n(several, like 1,3, for a menu where more than one may be chosen);\n/ask QUESTION, /screen (Discord's /screening), /staff and /help run the slash\ncommands; other / commands (/cancel, /restart, /privacy) go as messages;\nCtrl-D ends.\n\nAct as staff, as "+demoStaffName+", with \"staff claim [C-…]\", \"staff unclaim [C-…]\",\n\"staff details [C-…]\", \"staff message [C-…] TEXT\", \"staff note [C-…] TEXT\",\n\"staff close [C-…] REASON [NOTE]\" and \"staff list\" (\"staff\" alone lists them):\non the case named, or else on the newest case not yet closed.\n\nThe demo's cases, audit log, key and log file go to a new private\ntemporary directory, removed at the end; with --data DIR they go to DIR\nand stay there (the real data directory is never used by default).", &c)
	fs.Lookup("data").Usage = "data `dir` to use and keep (default: a new temporary directory, removed at the end; INTAKEBOT_DATA_DIR is not used)"
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if c.data == "" {
		// A throwaway data directory: the demo never sees the real cases,
		// audit log or key file (nor a key or log file set in the environment).
		dir, err := demoDataDir(e)
		if err != nil {
			return fail(e, err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir, cfg.KeyFile, cfg.DataKey = dir, filepath.Join(dir, "data.key"), ""
		cfg.LogFile = filepath.Join(dir, "demo.log")
		if _, _, err := seal.LoadKeys(cfg.KeyFile, true); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "Demo data (cases, audit log, data key) go to a new temporary directory, %s,\nremoved when the demo ends; --data DIR keeps them in DIR instead.\n", dir)
	} else {
		fmt.Fprintf(e.stdout, "Demo data (cases, audit log) go to %s, and stay there.\n", cfg.DataDir)
	}
	if cfg.LogFile == "" {
		cfg.LogFile = filepath.Join(cfg.DataDir, "demo.log")
	}
	fmt.Fprintf(e.stdout, "Logs go to %s.\n", cfg.LogFile)
	l, err := startStore(ctx, e, cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer l.Close()
	fake := discordfake.New(nil)
	defer fake.Close()
	fake.SetName(demoStaffUser, demoStaffName)
	// The staff console signs in through the loopback Discord's OAuth2, as
	// Dana, who authorized it before (so it answers at once). The demo's
	// Discord side still shows details in the terminal (its "only you see"
	// lines), as a run without a console does, so both can be compared; a
	// run with the console answers Details with a link instead.
	fake.SetMember(demoGuild, demoStaffUser, demoStaffRole)
	fake.AuthorizeAs(demoStaffUser)
	cfg.OAuthClientID, cfg.OAuthClientSecret = discordfake.OAuthClientID, discordfake.OAuthClientSecret
	bc := bot.Config{Token: discordfake.Token, Dedupe: l.st, Logger: l.log, Transport: fake.Transport(), Fallback: fallbackReply}
	staff := newStaffSide(l, cfg, &bc, demoStaffChannel, []string{demoStaffRole}, demoOncallRole)
	d, err := staff.connect(l, cfg, bc, demoStaffChannel, 200*time.Millisecond)
	if err != nil {
		return fail(e, err)
	}
	cctx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	web, _, err := startConsole(cctx, l, cfg, d, "127.0.0.1:0", "", demoGuild, []string{demoStaffRole}, fake.URL())
	if err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "Staff console: %s/signin/discord (opens signed in as %s, through the loopback Discord).\n", web.URL(), demoStaffName)
	if err := d.Open(ctx, l.eng); err != nil {
		return fail(e, err)
	}
	defer d.Close()
	// Cases reach the (loopback) staff channel as cards, as with run.
	dctx, stopDispatch := context.WithCancel(ctx)
	defer stopDispatch()
	staff.start(dctx, l)
	disp := staff.disp
	fmt.Fprintln(e.stdout, "Connected to a loopback Discord. You are a patient messaging the bot. Say hello.\nCards for staff appear as [staff channel] lines; act on them as "+demoStaffName+" with\n\"staff claim [C-…]\", \"staff message [C-…] TEXT\" and the like (type \"staff\" for the list);\nwithout C-…, a staff command acts on the newest case not yet closed.")
	p := &demoPrinter{fake: fake, out: e.stdout, printed: map[string]bool{}, edits: map[string]string{}, st: l.st, kick: disp.Kick, now: time.Now, dim: isTerminal(e.stdout)}
	// Lines are read aside, so an interrupt ends the demo (and removes
	// its directory) even while it waits for one.
	input := make(chan string)
	go func() {
		defer close(input)
		in := bufio.NewScanner(e.stdin)
		for in.Scan() {
			select {
			case input <- in.Text():
			case <-dctx.Done():
				return
			}
		}
	}()
	for {
		fmt.Fprint(e.stdout, "you> ")
		var text string
		more := false
		select {
		case text, more = <-input:
		case <-ctx.Done():
		}
		if !more || ctx.Err() != nil {
			fmt.Fprintln(e.stdout)
			return exitOK
		}
		line := strings.TrimSpace(text)
		if line == "" {
			continue
		}
		before := len(fake.DM(demoUser))
		switch {
		case line == "staff" || strings.HasPrefix(line, "staff "):
			p.staff(ctx, strings.TrimSpace(strings.TrimPrefix(line, "staff")))
			disp.Kick()
			p.settleStaff()
			p.show()
			p.acting = ""
			continue
		case strings.HasPrefix(line, "/ask "):
			fake.Command(demoUser, "", "", "ask", map[string]string{"question": strings.TrimSpace(line[5:])})
		case line == "/screen" || line == "/screening":
			// The bot's messages say /screen; on Discord, typing it picks
			// the /screening slash command.
			fake.Command(demoUser, "", "", "screening", nil)
		case line == "/staff" || line == "/help":
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

// demoDataDir makes a new private directory (mode 0700) under TMPDIR.
func demoDataDir(e env) (string, error) {
	dir, err := os.MkdirTemp(e.getenv("TMPDIR"), "intakebot-demo-")
	if err != nil {
		return "", fmt.Errorf("demo data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("demo data dir: %w", err)
	}
	return dir, nil
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
	// card is the card of the case acted on; printed are staff-side
	// messages shown.
	card    discordfake.Message
	printed map[string]bool
	// st finds the case a staff command acts on; kick has its card posted.
	st   demoCases
	kick func()
	// acting is the case the current staff command acts on ("" for none).
	acting string
	now    func() time.Time
	dim    bool // the output is a terminal: small text is shown dimmed
}

// demoCases is what the demo reads of the store.
type demoCases interface {
	Case(ctx context.Context, id string) (intake.Case, error)
	Cases(ctx context.Context, f intake.CaseFilter) ([]intake.Case, error)
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
			fmt.Fprintf(p.out, "  (the question now reads: %s)\n", lastLine(p.render(m.Content)))
		}
	}
	for _, m := range dm[p.shown:] {
		if m.AuthorID != p.fake.BotID {
			continue
		}
		fmt.Fprintf(p.out, "\nbot> %s\n", strings.ReplaceAll(p.render(m.Content), "\n", "\n     "))
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

// showStaff prints what changed on the staff side: new or edited cards,
// pages, messages in case threads, and private answers to the staff member.
func (p *demoPrinter) showStaff() {
	time.Sleep(300 * time.Millisecond) // one dispatcher poll
	if p.printed == nil {
		p.printed = map[string]bool{}
	}
	for _, m := range p.fake.Channel(demoStaffChannel) {
		switch {
		case len(m.Embeds) > 0 && !m.Ephemeral:
			if p.edits["staff:"+m.ID] == m.Embeds[0] {
				continue
			}
			verb := "new card"
			if _, seen := p.edits["staff:"+m.ID]; seen {
				verb = "card updated"
			}
			p.edits["staff:"+m.ID] = m.Embeds[0]
			fmt.Fprintf(p.out, "\n[staff channel] %s: %s\n", verb, p.cardText(m.Embeds[0]))
		case p.printed[m.ID] || m.AuthorID != p.fake.BotID || (m.Edited && m.Content == ""):
		case m.Ephemeral:
			if m.Content == "" {
				continue // a deferred answer, filled in later
			}
			p.printed[m.ID] = true
			who := "[staff, only you see]"
			if p.acting != "" {
				who = "[staff, only you see, case " + p.acting + "]"
			}
			text := m.Content
			for _, em := range m.Embeds {
				text += "\n" + p.embedText(em)
			}
			fmt.Fprintf(p.out, "\n%s %s\n", who, strings.ReplaceAll(p.render(text), "\n", "\n     "))
		default:
			p.printed[m.ID] = true
			fmt.Fprintf(p.out, "\n[staff channel] %s\n", strings.ReplaceAll(p.render(m.Content), "\n", " "))
		}
	}
	for _, t := range p.fake.Threads() {
		for _, m := range p.fake.Channel(t.ID) {
			if !p.printed[m.ID] {
				p.printed[m.ID] = true
				fmt.Fprintf(p.out, "\n[thread %s] %s\n", t.Name, strings.ReplaceAll(p.render(m.Content), "\n", " "))
			}
		}
	}
}

// caseRef is a case reference as staff type it.
var caseRef = regexp.MustCompile(`(?i)^C-[0-9A-Z]+$`)

// target finds the case a staff command acts on: the one named, or else
// the newest case not yet closed.
func (p *demoPrinter) target(ctx context.Context, ref string) (intake.Case, error) {
	if ref != "" {
		c, err := p.st.Case(ctx, ref)
		if err != nil {
			return c, fmt.Errorf("There is no case %s (\"staff list\" shows them).", strings.ToUpper(ref))
		}
		return c, nil
	}
	cases, err := p.st.Cases(ctx, intake.CaseFilter{})
	if err != nil {
		return intake.Case{}, err
	}
	var newest intake.Case
	for _, c := range cases {
		if c.Status != intake.CaseClosed && (newest.ID == "" || c.CreatedAt.After(newest.CreatedAt)) {
			newest = c
		}
	}
	if newest.ID == "" {
		return newest, fmt.Errorf("There is no open case: finish a screening or type /staff as the patient first (\"staff list\" shows every case).")
	}
	return newest, nil
}

// cardOf finds the case's card as it is now, waiting briefly for it to be
// posted.
func (p *demoPrinter) cardOf(caseID string) bool {
	p.card = discordfake.Message{}
	if p.kick != nil {
		p.kick()
	}
	return p.fake.Await(3*time.Second, func() bool {
		for _, m := range p.fake.Channel(demoStaffChannel) {
			var em struct {
				Title string `json:"title"`
			}
			if len(m.Embeds) > 0 && json.Unmarshal([]byte(m.Embeds[0]), &em) == nil && strings.HasPrefix(em.Title, "Case "+caseID+" ") {
				p.card = m
			}
		}
		return p.card.ID != ""
	})
}

// settleStaff waits until the staff side has gone quiet.
func (p *demoPrinter) settleStaff() {
	count := func() int {
		n := len(p.fake.Channel(demoStaffChannel)) + len(p.fake.DM(demoUser))
		for _, t := range p.fake.Threads() {
			n += len(p.fake.Channel(t.ID))
		}
		return n
	}
	for settled := false; !settled; {
		n := count()
		settled = !p.fake.Await(400*time.Millisecond, func() bool { return count() > n })
	}
}

const staffHelp = `Staff actions, as ` + demoStaffName + `, on the case named (C-…) or else the newest case not yet closed:
  staff claim [C-…] | staff unclaim [C-…] | staff details [C-…] | staff list
  staff message [C-…] TEXT     (sent to the patient's DM, logged in the case thread)
  staff note [C-…] TEXT        (internal, in the case thread)
  staff close [C-…] REASON [NOTE], REASON one of: `

// staff acts as a member of the care team on a case: the one named, or
// else the newest not yet closed; it says which.
func (p *demoPrinter) staff(ctx context.Context, cmd string) {
	verb, rest, _ := strings.Cut(cmd, " ")
	rest = strings.TrimSpace(rest)
	roles := []string{demoStaffRole}
	if verb == "list" {
		p.fake.CommandAsMember(demoStaffUser, demoGuild, demoStaffChannel, roles, "handoffs", nil)
		return
	}
	var ids []string
	for _, r := range intake.CloseReasons {
		ids = append(ids, r.ID)
	}
	switch verb {
	case "claim", "unclaim", "details", "message", "note", "close":
	default:
		fmt.Fprintln(p.out, staffHelp+strings.Join(ids, ", "))
		return
	}
	ref := ""
	if first, after, _ := strings.Cut(rest, " "); caseRef.MatchString(first) {
		ref, rest = strings.ToUpper(first), strings.TrimSpace(after)
	}
	c, err := p.target(ctx, ref)
	if err != nil {
		fmt.Fprintln(p.out, err)
		return
	}
	p.acting = c.ID
	fmt.Fprintf(p.out, "\n[staff] %s: %s on case %s\n", demoStaffName, verb, c.ID)
	if !p.cardOf(c.ID) {
		fmt.Fprintf(p.out, "Case %s has no card in the staff channel yet.\n", c.ID)
		return
	}
	button := func(label string) string {
		for _, c := range p.card.Components {
			if c.Label == label {
				return c.CustomID
			}
		}
		return ""
	}
	click := func(label string) string {
		id := button(label)
		if id == "" {
			fmt.Fprintf(p.out, "The card of case %s has no %q button now (it is %s).\n", c.ID, label, c.Status)
			return ""
		}
		return p.fake.ClickAsMember(demoStaffUser, demoGuild, roles, p.card.ID, id)
	}
	modal := func(opener, text string) {
		if opener == "" {
			return
		}
		if !p.fake.Await(3*time.Second, func() bool { _, ok := p.fake.Modal(opener); return ok }) {
			fmt.Fprintf(p.out, "No form opened for case %s.\n", c.ID)
			return
		}
		p.fake.SubmitModal(demoStaffUser, demoGuild, roles, opener, map[string]string{"text": text})
	}
	switch verb {
	case "claim":
		click("Claim")
	case "unclaim":
		click("Unclaim")
	case "details":
		click("Details")
	case "message", "note":
		if rest == "" {
			fmt.Fprintf(p.out, "Type the text after it: staff %s [C-…] TEXT\n", verb)
			return
		}
		label := map[string]string{"message": "Message patient", "note": "Add note"}[verb]
		modal(click(label), rest)
	case "close":
		reason, note, _ := strings.Cut(rest, " ")
		r, ok := intake.CloseReasonByID(reason)
		if !ok {
			fmt.Fprintln(p.out, "Give a reason: staff close [C-…] REASON [NOTE], REASON one of: "+strings.Join(ids, ", "))
			return
		}
		opener := click("Close")
		if opener == "" {
			return
		}
		var menu discordfake.Message
		if !p.fake.Await(3*time.Second, func() bool {
			for _, m := range p.fake.Channel(demoStaffChannel) {
				if m.Ephemeral && strings.Contains(m.Content, "being closed") && !p.printed[m.ID] {
					menu = m
					return true
				}
			}
			return false
		}) {
			fmt.Fprintf(p.out, "The close reasons for case %s did not appear.\n", c.ID)
			return
		}
		p.printed[menu.ID] = true
		for _, c := range menu.Components {
			if c.Label == r.Label {
				modal(p.fake.ClickAsMember(demoStaffUser, demoGuild, roles, menu.ID, c.CustomID), strings.TrimSpace(note))
			}
		}
	}
}

// cardText flattens a card embed for the terminal, its markup rendered.
func (p *demoPrinter) cardText(embed string) string {
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
		parts = append(parts, f.Name+": "+strings.TrimSpace(strings.ReplaceAll(p.render(f.Value), "\n", " ")))
	}
	return strings.Join(parts, " | ")
}

// embedText is an embed of a private answer as text: its title in bold,
// then its description.
func (p *demoPrinter) embedText(embed string) string {
	var em struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if json.Unmarshal([]byte(embed), &em) != nil {
		return embed
	}
	return "**" + em.Title + "**\n" + em.Description
}

var (
	// discordTimeTag is a Discord timestamp: <t:UNIX> or <t:UNIX:STYLE>.
	discordTimeTag = regexp.MustCompile(`<t:(-?\d{1,12})(?::([tTdDfFR]))?>`)
	// discordMention is a user (<@ID>, <@!ID>) or role (<@&ID>) mention.
	discordMention = regexp.MustCompile(`<@([!&]?)(\d+)>`)
)

// render shows Discord markup as Discord does: timestamps in local time
// (or as "2 minutes ago"), mentions as names, and -# lines as small text.
func (p *demoPrinter) render(s string) string {
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	s = discordTimeTag.ReplaceAllStringFunc(s, func(tag string) string {
		m := discordTimeTag.FindStringSubmatch(tag)
		sec, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return tag
		}
		return discordTimestamp(time.Unix(sec, 0), m[2], now)
	})
	s = discordMention.ReplaceAllStringFunc(s, func(tag string) string {
		m := discordMention.FindStringSubmatch(tag)
		names := map[string]string{demoStaffUser: demoStaffName, demoUser: "patient"}
		if m[1] == "&" {
			names = map[string]string{demoOncallRole: "on-call", demoStaffRole: "staff"}
		}
		if n, ok := names[m[2]]; ok {
			return "@" + n
		}
		return "@unknown"
	})
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if small, ok := strings.CutPrefix(l, "-# "); ok {
			if p.dim {
				lines[i] = "\x1b[2m" + small + "\x1b[0m"
			} else {
				lines[i] = "· " + small
			}
		}
	}
	// Bold, lists and escapes as Discord shows them (bold on a terminal).
	return console.Markdown(strings.Join(lines, "\n"), p.dim)
}

// discordTimestamp is t as Discord shows a timestamp tag of that style (an
// English locale, the local time zone).
func discordTimestamp(t time.Time, style string, now time.Time) string {
	t = t.Local()
	switch style {
	case "t":
		return t.Format("3:04 PM")
	case "T":
		return t.Format("3:04:05 PM")
	case "d":
		return t.Format("01/02/2006")
	case "D":
		return t.Format("January 2, 2006")
	case "F":
		return t.Format("Monday, January 2, 2006 3:04 PM")
	case "R":
		return relativeTime(now.Sub(t))
	}
	return t.Format("January 2, 2006 3:04 PM") // "f", the default
}

// relativeTime reads d (positive: in the past) as Discord's "2 minutes
// ago" or "in 5 minutes".
func relativeTime(d time.Duration) string {
	future := d < 0
	if future {
		d = -d
	}
	var s string
	n := func(x float64, one, unit string) string {
		if v := int(x + 0.5); v > 1 {
			return fmt.Sprintf("%d %ss", v, unit)
		}
		return one
	}
	switch {
	case d < 45*time.Second:
		s = "a few seconds"
	case d < 90*time.Second:
		s = "a minute"
	case d < 45*time.Minute:
		s = n(d.Minutes(), "a minute", "minute")
	case d < 90*time.Minute:
		s = "an hour"
	case d < 22*time.Hour:
		s = n(d.Hours(), "an hour", "hour")
	case d < 36*time.Hour:
		s = "a day"
	case d < 26*24*time.Hour:
		s = n(d.Hours()/24, "a day", "day")
	case d < 320*24*time.Hour:
		s = n(d.Hours()/24/30.4, "a month", "month")
	default:
		s = n(d.Hours()/24/365, "a year", "year")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
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
