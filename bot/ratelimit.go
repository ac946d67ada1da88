package bot

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// GlobalRate is the adapter's own ceiling on REST requests per second,
// under Discord's global limit of 50 so that network jitter cannot push a
// burst of cards over it: no second of sending holds more than GlobalRate
// requests (the limiter's cap), and the token bucket spaces them. Interaction responses and
// follow-ups (the /interactions and /webhooks routes) are exempt from
// Discord's global limit and from this one, so a burst of cards never
// delays a patient's acknowledgement.
const (
	GlobalRate  = 46
	globalBurst = 2
)

// limiter is a token bucket shared by every request of one bot, whichever
// session (the watchdog may replace it) sends them, with a hard cap on the
// requests actually sent in any second: a request whose turn came while
// its goroutine was not running goes late, and late ones must not pile up
// on top of those on time.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	// sent are the send times of the last second, oldest first; at most
	// window of them.
	sent   []time.Time
	window int
}

func newLimiter(rate, burst int) *limiter {
	// The cap is the rate itself: the bucket's burst smooths the pace, the
	// cap keeps 4 requests of margin under Discord's 50 for requests the
	// machine delays between this check and the wire.
	return &limiter{rate: float64(rate), burst: float64(burst), tokens: float64(burst), window: rate}
}

// admit records a request sent at now if fewer than window were sent in
// the second before; otherwise it records nothing and says how long to
// wait before asking again.
func (l *limiter) admit(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	drop := 0
	for drop < len(l.sent) && now.Sub(l.sent[drop]) >= time.Second {
		drop++
	}
	l.sent = l.sent[drop:]
	if len(l.sent) < l.window {
		l.sent = append(l.sent, now)
		return 0
	}
	return l.sent[0].Add(time.Second).Sub(now)
}

// reserve takes a token and returns how long to wait before using it.
func (l *limiter) reserve(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// limited is a RoundTripper that paces requests through a limiter.
type limited struct {
	next http.RoundTripper
	l    *limiter
}

func exemptFromGlobal(path string) bool {
	return strings.Contains(path, "/interactions/") || strings.Contains(path, "/webhooks/")
}

func (t limited) RoundTrip(req *http.Request) (*http.Response, error) {
	if !exemptFromGlobal(req.URL.Path) {
		if err := sleep(req.Context(), t.l.reserve(time.Now())); err != nil {
			return nil, err
		}
		for {
			wait := t.l.admit(time.Now())
			if wait <= 0 {
				break
			}
			if err := sleep(req.Context(), wait); err != nil {
				return nil, err
			}
		}
	}
	return t.next.RoundTrip(req)
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
