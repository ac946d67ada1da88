package bot

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// GlobalRate is the adapter's own ceiling on REST requests per second,
// under Discord's global limit of 50 so that network jitter cannot push a
// burst of cards over it: any second of sending holds at most GlobalRate +
// globalBurst = 48 requests, and a second of arrivals stays within 50 while
// the network's jitter is under about 40 ms. Interaction responses and
// follow-ups (the /interactions and /webhooks routes) are exempt from
// Discord's global limit and from this one, so a burst of cards never
// delays a patient's acknowledgement.
const (
	GlobalRate  = 46
	globalBurst = 2
)

// limiter is a token bucket shared by every request of one bot, whichever
// session (the watchdog may replace it) sends them.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst int) *limiter {
	return &limiter{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
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
		if wait := t.l.reserve(time.Now()); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-req.Context().Done():
				timer.Stop()
				return nil, req.Context().Err()
			}
		}
	}
	return t.next.RoundTrip(req)
}
