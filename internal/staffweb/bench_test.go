package staffweb_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/intake"
)

// BenchmarkQueuePage10000Cases renders the queue (the default view: every
// case not closed, urgent first, the first 100 shown) with 10,000 cases in
// the store. Target: under 50 ms of server time.
func BenchmarkQueuePage10000Cases(b *testing.B) {
	// Filling the store is 20,000 transactions, each synced to disk: on a
	// memory file system when there is one, so the set-up takes seconds. The
	// page itself only reads.
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		b.Setenv("TMPDIR", "/dev/shm")
	}
	e := newEnv(b)
	// Cards for 10,000 cases would go out at Discord's 50 a second for
	// minutes, on the same database: not what is measured.
	e.stopDispatch()
	ctx := context.Background()
	prios := []intake.Priority{intake.PriorityUrgent, intake.PriorityHigh, intake.PriorityNormal, intake.PriorityNormal, intake.PriorityLow}
	for i := 0; i < benchCases; i++ {
		p, err := e.kit.Store.Patient(ctx, "discord", fmt.Sprintf("8%017d", i))
		if err != nil {
			b.Fatal(err)
		}
		_, err = e.kit.Store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: prios[i%len(prios)], Status: intake.CaseOpen,
			Flags: []string{"review_bipolar", "needs_ride"}, Scores: map[string]intake.Score{"phq9": {Value: 14, Band: "moderate"}},
			Contact: intake.Contact{Method: "phone", Detail: "555-0100", BestTime: "morning"}, Notes: "a note from the patient"})
		if err != nil {
			b.Fatal(err)
		}
	}
	cl := e.client()
	cl.signIn(dana)
	u, _ := url.Parse(e.http.URL)
	cookies := cl.http.Jar.Cookies(u)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodGet, "/queue", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.web.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), fmt.Sprintf("%d cases", benchCases)) {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
		}
	}
}

const benchCases = 10000
