package faq_test

import (
	"testing"

	"github.com/intakebot/intakebot/internal/faq"
)

func TestProbe(t *testing.T) {
	kb, syn := load(t)
	ix := faq.NewIndex(kb, syn)
	for _, q := range []string{
		"when will I start noticing it working", "will a nurse be with me the whole time", "how does ketamine affect glutamate",
		"what is the best way to sleep on a plane", "I just feel really alone tonight", "I feel so alone", "I'm worn out from trying treatments",
		"nothing ever gets better for me", "should I take an ativan before the appointment", "can i take melatonin the night before",
		"I'm thinking of stopping my lithium", "how much ketamine will you give me?", "can you write me a prescription for xanax?",
		"is it safe?", "how long does it take", "what about the cost of the drive", "does it hurt",
	} {
		v := ix.Decide(q)
		var ids []string
		for _, h := range v.Hits {
			ids = append(ids, h.Entry.ID)
		}
		t.Logf("%-60q %-9s %.2f %v", q, v.Kind, v.Score, ids)
	}
}
