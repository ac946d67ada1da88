package bot

import "net/http"

// LimitedTransport paces requests as the adapter's own transport does, for
// a benchmark's floor that must make the same REST calls at the same pace.
func LimitedTransport(next http.RoundTripper) http.RoundTripper {
	return limited{next: next, l: newLimiter(GlobalRate, globalBurst)}
}
