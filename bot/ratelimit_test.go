package bot

import (
	"sort"
	"testing"
	"time"
)

// However late requests come to be sent, no second holds more than
// GlobalRate of them.
func TestLimiterCapsAnySecond(t *testing.T) {
	l := newLimiter(GlobalRate, globalBurst)
	base := time.Unix(1_000_000, 0)
	// Reserved at the bucket's pace, but the first hundred held up (their
	// goroutines not running) until 2.1 s, when they all go at once.
	var ready []time.Time
	for i := 0; i < 200; i++ {
		at := base.Add(l.reserve(base))
		if i < 100 {
			at = base.Add(2100 * time.Millisecond)
		}
		ready = append(ready, at)
	}
	sort.Slice(ready, func(i, j int) bool { return ready[i].Before(ready[j]) })
	var sent []time.Time
	clock := base
	for _, at := range ready {
		if at.Before(clock) {
			at = clock
		}
		for {
			w := l.admit(at)
			if w <= 0 {
				break
			}
			at = at.Add(w)
		}
		clock = at
		sent = append(sent, at)
	}
	most := 0
	for i := range sent {
		n := 0
		for _, s := range sent {
			if !s.Before(sent[i]) && s.Sub(sent[i]) < time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	if most != GlobalRate {
		t.Fatalf("at most %d requests in a second, want %d", most, GlobalRate)
	}
}
