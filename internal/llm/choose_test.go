package llm_test

import (
	"context"
	"testing"
	"time"
)

func TestChooseOnlyAmongTheCandidates(t *testing.T) {
	for _, tc := range []struct {
		reply, want, reason string
	}{
		{`{"id": "driving-home"}`, "driving-home", ""},
		{`{"id": "none"}`, "none", ""},
		{`{"id": "cost-insurance"}`, "", "unknown_choice"},
		{`{"answer": "sure"}`, "", "not_json"},
		{`no`, "", "not_json"},
	} {
		c, _ := setup(t, time.Second, content(tc.reply))
		got, err := c.Choose(context.Background(), "who drives me home", passages)
		why := ""
		if err != nil {
			why = reason(err)
		}
		if got != tc.want || why != tc.reason {
			t.Errorf("reply %s: got %q, %q; want %q, %q", tc.reply, got, why, tc.want, tc.reason)
		}
	}
}
