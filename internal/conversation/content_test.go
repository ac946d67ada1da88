package conversation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/conversation"
)

// TestDrivingAdviceIsTheSameInTheFAQAndTheScreening: both quote the clinic's
// no_driving policy from clinic.yaml.
func TestDrivingAdviceIsTheSameInTheFAQAndTheScreening(t *testing.T) {
	h := newHarness(t)
	rule, err := h.kit.Messages.Text(`{{policy "no_driving"}}`)
	if err != nil || !strings.Contains(rule, "24 hours") {
		t.Fatalf("no_driving policy = %q (%v)", rule, err)
	}
	a := h.engine.Ask(context.Background(), "can I drive myself home after an infusion?")
	if a.Kind != conversation.KindAnswer || a.Sources[0] != "driving-home" || !strings.Contains(a.Text, rule) {
		t.Errorf("FAQ = %s %v %q; want driving-home quoting %q", a.Kind, a.Sources, a.Text, rule)
	}
	rs := h.answerUntil(positive, "ride_home")
	if q := last(rs); q.QuestionID != "ride_home" || !strings.Contains(q.Text, rule) {
		t.Errorf("screening question = %+v; want ride_home quoting %q", q, rule)
	}
}

// TestHowItWorksExplainsTheMechanism: the clinic's article, carefully worded.
func TestHowItWorksExplainsTheMechanism(t *testing.T) {
	h := newHarness(t)
	a := h.engine.Ask(context.Background(), "how does ketamine affect glutamate")
	if a.Kind != conversation.KindAnswer || a.Sources[0] != "how-it-works" {
		t.Fatalf("ask = %s %v; want how-it-works", a.Kind, a.Sources)
	}
	for _, want := range []string{"NMDA receptors", "glutamate", "still learning"} {
		if !strings.Contains(a.Text, want) {
			t.Errorf("how-it-works lacks %q:\n%s", want, a.Text)
		}
	}
}
