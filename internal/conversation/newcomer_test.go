package conversation_test

import (
	"context"
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
)

// Every item of an instrument with a stem is shown whole: with the stem, in
// the flow, after a side question, after /cancel and /screen, and when a
// restarted bot greets a returning patient.
func TestInstrumentItemsAlwaysHaveTheirStem(t *testing.T) {
	h := newHarness(t)
	stems := map[string]string{}
	for _, in := range h.script.Instruments {
		if in.Stem == "" {
			continue
		}
		for _, id := range in.Items {
			stems[id] = in.Stem
		}
	}
	for _, id := range []string{"phq9_2", "gad7_5", "pcptsd5_3"} {
		if stems[id] == "" {
			t.Fatalf("%s has no stem in the shipped script", id)
		}
	}
	whole := func(what string, r intake.Reply) {
		t.Helper()
		stem := stems[r.QuestionID]
		if r.Kind != intake.ReplyQuestion || stem == "" {
			t.Fatalf("%s: reply = %+v; want an instrument item", what, r)
		}
		i := strings.Index(r.Text, stem)
		if i < 0 || !strings.Contains(r.Text[i+len(stem):], h.script.Question(r.QuestionID).Text) {
			t.Errorf("%s: %s shown as %q; want the stem %q, then the item", what, r.QuestionID, r.Text, stem)
		}
	}

	// In the flow: every item of PHQ-9, GAD-7 and PC-PTSD-5.
	answers := map[string]string{"consent": "yes", "age_18": "yes", "reasons": "depression, anxiety, ptsd", "pcptsd5_gate": "yes"}
	rs := h.say("/screen")
	seen := map[string]bool{}
	for i := 0; i < 60 && pending(rs) != "asq_1"; i++ {
		q := pending(rs)
		if stems[q] != "" {
			whole("in the flow", last(rs))
			seen[q] = true
		}
		a, ok := answers[q]
		if !ok {
			a = "1"
			if q == "pcptsd5_1" || strings.HasPrefix(q, "pcptsd5_") {
				a = "no"
			}
		}
		rs = h.say(a)
	}
	if len(seen) != len(stems) {
		t.Fatalf("saw %d instrument items with stems, want %d (%v)", len(seen), len(stems), seen)
	}

	// Side question, /cancel then /screen, a restart: a second patient
	// stopped at PHQ-9 item 3.
	h.user = "bea"
	h.answerUntil(map[string]string{"consent": "yes", "age_18": "yes", "reasons": "depression"}, "phq9_3")
	whole("after a side question", last(h.say("how much does an infusion cost?")))
	h.say("/cancel")
	whole("after /cancel and /screen", last(h.say("/screen")))
	h.reopen()
	greet, err := h.engine.Greet(context.Background(), "console", h.user)
	if err != nil {
		t.Fatal(err)
	}
	whole("greeting after a restart", last(greet))
	// Clicked answers show it too (Discord's buttons).
	whole("after a click", last(h.click("phq9_3", "not_at_all")))
}

// A patient who stopped the screening with /cancel is not greeted with the
// words for a screening paused after crisis language, and the other way
// round.
func TestEachPauseReasonHasItsOwnGreeting(t *testing.T) {
	h := newHarness(t)
	stopped := h.kit.Messages.Render("screening_stopped", nil)
	paused := h.kit.Messages.Render("screening_paused", nil)
	if stopped == paused || strings.HasPrefix(stopped, "[") {
		t.Fatalf("screening_stopped = %q, screening_paused = %q", stopped, paused)
	}
	greet := func() string {
		t.Helper()
		h.reopen()
		rs, err := h.engine.Greet(context.Background(), "console", h.user)
		if err != nil {
			t.Fatal(err)
		}
		return text(rs)
	}

	h.answerUntil(map[string]string{"consent": "yes", "age_18": "yes"}, "reasons")
	h.say("/cancel")
	if g := greet(); !strings.Contains(g, stopped) || strings.Contains(g, paused) {
		t.Errorf("after /cancel, greeted with %q; want %q", g, stopped)
	}
	// Writing meanwhile: the knowledge base answers, then the same notice.
	if rs := h.say("how much does an infusion cost?"); !strings.Contains(text(rs), stopped) || strings.Contains(text(rs), paused) {
		t.Errorf("a question after /cancel: %q; want the stopped notice", text(rs))
	}

	// Crisis language pauses it for that reason.
	if q := pending(h.say("/screen")); q != "reasons" {
		t.Fatalf("/screen resumed at %q, want reasons", q)
	}
	h.say("i want to kill myself")
	if g := greet(); !strings.Contains(g, paused) || strings.Contains(g, stopped) {
		t.Errorf("after crisis language, greeted with %q; want %q", g, paused)
	}
	// Then /cancel: now stopped by the patient.
	h.say("/cancel")
	if g := greet(); !strings.Contains(g, stopped) {
		t.Errorf("after crisis language then /cancel, greeted with %q; want %q", g, stopped)
	}

	// A session paused by an older intakebot (paused = 1 for both reasons)
	// without crisis language was stopped by the patient.
	h.user = "old"
	h.answerUntil(map[string]string{"consent": "yes", "age_18": "yes"}, "reasons")
	h.say("/cancel")
	h.exec(`UPDATE sessions SET paused = 1 WHERE paused <> 0 AND crisis = 0`)
	if g := greet(); !strings.Contains(g, stopped) {
		t.Errorf("legacy pause without crisis language: greeted with %q; want %q", g, stopped)
	}
}

// The consent question and /privacy say where the answers go on the
// patient's channel, from messages.yaml: the clinic's database, encrypted,
// everywhere; and on Discord, that Discord carries and keeps the DM, as
// the README's Privacy section says.
func TestConsentSaysWhereAnswersGoOnEachChannel(t *testing.T) {
	h := newHarness(t)
	terminal := h.kit.Messages.Render("where_answers_go", nil)
	discord := h.kit.Messages.Render("where_answers_go_discord", nil)
	for name, m := range map[string]string{"where_answers_go": terminal, "where_answers_go_discord": discord} {
		if !strings.Contains(m, "database, encrypted") || !strings.Contains(m, "care team can read them") {
			t.Errorf("%s = %q; want the clinic's database, encrypted, and who can read them", name, m)
		}
	}
	if strings.Contains(terminal, "Discord") || !strings.Contains(discord, "pass through Discord") || !strings.Contains(discord, "keeps a copy") {
		t.Errorf("terminal %q / Discord %q: only the Discord text names Discord, and says it carries and keeps the chat", terminal, discord)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	privacy := strings.Join(strings.Fields(string(readme)[strings.Index(string(readme), "## Privacy"):]), " ")
	for _, said := range []string{"passes through Discord and is kept by Discord", "sealed with AES-256-GCM", "offline, in the terminal, nothing leaves the machine"} {
		if !strings.Contains(privacy, said) {
			t.Errorf("README Privacy no longer says %q: check messages.yaml's where_answers_go* against it", said)
		}
	}

	consent := func(channel, user string) string {
		t.Helper()
		rs, err := h.engine.Handle(context.Background(), intake.Turn{Channel: channel, UserID: user, Text: "/screen", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if last(rs).QuestionID != "consent" {
			t.Fatalf("%s: /screen asked %q, want consent", channel, last(rs).QuestionID)
		}
		return last(rs).Text
	}
	onlyTo := regexp.MustCompile(`(?i)go only to|only to .*care team`)
	if c := consent("console", "tess"); !strings.Contains(c, terminal) || strings.Contains(c, "Discord") || onlyTo.MatchString(c) {
		t.Errorf("terminal consent:\n%s\nwant %q", c, terminal)
	}
	if c := consent("discord", "1234567890"); !strings.Contains(c, discord) || onlyTo.MatchString(c) {
		t.Errorf("Discord consent:\n%s\nwant %q", c, discord)
	}
	rs, err := h.engine.Handle(context.Background(), intake.Turn{Channel: "discord", UserID: "1234567890", Text: "/privacy", At: time.Now()})
	if err != nil || !strings.Contains(text(rs), discord) {
		t.Errorf("/privacy on Discord: %q, %v; want %q", text(rs), err, discord)
	}
	// The knowledge base's privacy answer makes no "only to the care team"
	// claim either.
	if a := h.engine.Ask(context.Background(), "who sees my answers?"); onlyTo.MatchString(a.Text) || !strings.Contains(a.Text, "encrypted") {
		t.Errorf("FAQ privacy: %q", a.Text)
	}
}

// exec runs a statement on the harness's database file, as an older
// intakebot would have written it.
func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	db, err := sql.Open("sqlite", h.path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		h.t.Fatal(err)
	}
}
