package staffweb_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/staffweb"
)

func audited(t *testing.T, e *env, action, result string) bool {
	t.Helper()
	rows, err := e.kit.Store.AuditLog(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Action == action && strings.HasPrefix(r.Result, result) {
			return true
		}
	}
	return false
}

func TestSignInAdmitsOnlyStaffAndRechecksRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.screen(patient)

	t.Run("NonStaffRefusedAfterSignIn", func(t *testing.T) {
		cl := e.client()
		resp, body := cl.signIn(outsider)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "does not have one of the clinic&#39;s staff roles") {
			t.Fatalf("outsider: status %d, body:\n%s", resp.StatusCode, body)
		}
		if resp, _ := cl.get("/queue"); resp.Request.URL.Path != "/signin" {
			t.Errorf("after a refused sign-in, /queue went to %s, want the sign-in page", resp.Request.URL.Path)
		}
		if !audited(t, e, "console.signin", "refused: not staff") {
			t.Error("the refused sign-in is not in the audit log")
		}
	})

	cl := e.client()
	resp, body := cl.signIn(dana)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/queue" || !strings.Contains(body, c.ID) || !strings.Contains(body, "Signed in as <strong>Dana</strong>") {
		t.Fatalf("staff sign-in: status %d at %s:\n%s", resp.StatusCode, resp.Request.URL.Path, body)
	}
	if n := e.fake.OAuthExchanges(); n != 2 {
		t.Errorf("codes exchanged = %d, want 2 (the outsider's and Dana's)", n)
	}

	t.Run("CSPAndHeadersOnEveryPage", func(t *testing.T) {
		for _, p := range []string{"/queue", "/cases/" + c.ID, "/audit", "/report", "/export", "/signin", "/static/style.css", "/cases/C-NOPE", "/link?t=x"} {
			resp, _ := cl.get(p)
			h := resp.Header
			if h.Get("Content-Security-Policy") != staffweb.CSP || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("%s: CSP %q", p, h.Get("Content-Security-Policy"))
			}
			if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: headers %v", p, h)
			}
		}
	})

	t.Run("NoPatientDataInTitlesOrURLs", func(t *testing.T) {
		_, body := cl.get("/cases/" + c.ID)
		title := body[strings.Index(body, "<title>"):strings.Index(body, "</title>")]
		for _, secret := range []string{canaryPhone, "I work nights", "PHQ"} {
			if strings.Contains(title, secret) {
				t.Errorf("title %q holds %q", title, secret)
			}
		}
		if !strings.Contains(body, canaryPhone) || !strings.Contains(body, canaryNotes) {
			t.Error("the case page does not show the contact detail and the patient's notes")
		}
	})

	t.Run("RoleRemovedLocksOut", func(t *testing.T) {
		e.fake.SetMember(guildID, dana, otherRole)
		// Within the cache's age the copy of the roles is used...
		if resp, _ := cl.get("/queue"); resp.StatusCode != http.StatusOK {
			t.Fatalf("within RoleTTL: status %d", resp.StatusCode)
		}
		// ...past it, Discord is asked again and the session ends.
		e.clock.Add(4 * time.Minute)
		resp, body := cl.get("/queue")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no longer has one of the clinic&#39;s staff roles") {
			t.Fatalf("after the role was removed: status %d:\n%s", resp.StatusCode, body)
		}
		if resp, _ := cl.get("/queue"); resp.Request.URL.Path != "/signin" {
			t.Errorf("the session outlived the role: %s", resp.Request.URL.Path)
		}
		e.fake.SetMember(guildID, dana, staffRole)
	})
}

// Sign-in, sign-out and session limits share one console (no cases).
func TestSessionsAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// In this order: the first expects no code exchanged yet, the last
	// counts sign-ins within a minute.
	t.Run("SignInRefusesAForeignState", func(t *testing.T) { signInRefusesAForeignState(t, e) })
	t.Run("SignOutEndsTheSession", func(t *testing.T) { signOutEndsTheSession(t, e) })
	t.Run("SessionEndsAfterIdleTimeAndMaxAge", func(t *testing.T) { sessionEndsAfterIdleTimeAndMaxAge(t, e) })
	t.Run("SignInIsRateLimited", func(t *testing.T) { signInIsRateLimited(t, e) })
}

func sessionEndsAfterIdleTimeAndMaxAge(t *testing.T, e *env) {
	cl := e.client()
	cl.signIn(dana)
	e.clock.Add(14 * time.Minute)
	if resp, _ := cl.get("/queue"); resp.Request.URL.Path != "/queue" {
		t.Fatalf("after 14 idle minutes: at %s, want still signed in", resp.Request.URL.Path)
	}
	e.clock.Add(16 * time.Minute)
	resp, body := cl.get("/queue")
	if resp.Request.URL.Path != "/signin" || !strings.Contains(body, "Your session ended") {
		t.Fatalf("after 16 idle minutes: at %s:\n%s", resp.Request.URL.Path, body)
	}
	// Active all along, the session still ends after 12 hours.
	cl = e.client()
	cl.signIn(dana)
	for i := 0; i < 12*5; i++ {
		e.clock.Add(12 * time.Minute)
		if resp, _ := cl.get("/audit"); resp.StatusCode != http.StatusOK && i < 12*5-1 {
			t.Fatalf("after %v of activity: status %d at %s", time.Duration(i+1)*12*time.Minute, resp.StatusCode, resp.Request.URL.Path)
		}
	}
	e.clock.Add(time.Minute)
	if resp, _ := cl.get("/queue"); resp.Request.URL.Path != "/signin" {
		t.Errorf("after 12 h 1 min: at %s, want the sign-in page", resp.Request.URL.Path)
	}
}

// Forms, the queue and Details links share one console and its cases.
func TestCasesFormsQueueAndLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.screen(patient)
	t.Run("DetailsLinksAreSignedAndShortLived", func(t *testing.T) { detailsLinksAreSignedAndShortLived(t, e, c) })
	t.Run("FormWithoutCSRFTokenIsRefused", func(t *testing.T) { formWithoutCSRFTokenIsRefused(t, e, c) })
	t.Run("QueueFiltersAndOrder", func(t *testing.T) { queueFiltersAndOrder(t, e, c) })
}

func formWithoutCSRFTokenIsRefused(t *testing.T, e *env, c intake.Case) {
	cl := e.client()
	cl.signIn(dana)
	cl.get("/cases/" + c.ID)
	resp, body := cl.post("/cases/"+c.ID+"/claim", url.Values{}, false)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "security token is missing") {
		t.Fatalf("claim without a token: status %d:\n%s", resp.StatusCode, body)
	}
	resp, _ = cl.post("/cases/"+c.ID+"/claim", url.Values{"csrf": {"forged"}}, false)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("claim with a wrong token: status %d", resp.StatusCode)
	}
	if got, _ := e.kit.Store.Case(context.Background(), c.ID); got.Status != intake.CaseOpen {
		t.Fatalf("a refused form changed the case: %s", got.Status)
	}
	if !audited(t, e, "console.csrf", "refused") {
		t.Error("the refused form is not in the audit log")
	}
	resp, body = cl.post("/cases/"+c.ID+"/claim", url.Values{}, true)
	if got, _ := e.kit.Store.Case(context.Background(), c.ID); resp.StatusCode != http.StatusOK || got.Status != intake.CaseClaimed || got.Assignee != "Dana" {
		t.Fatalf("claim with the token: status %d, case %s by %q:\n%s", resp.StatusCode, got.Status, got.Assignee, body)
	}
	if !strings.Contains(body, "is yours") {
		t.Errorf("the claim's result is not shown on the case page")
	}
}

func signInIsRateLimited(t *testing.T, e *env) {
	e.clock.Add(time.Minute) // earlier sign-ins out of the window
	cl := e.client()
	cl.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i := 0; i < 10; i++ {
		if resp, _ := cl.get("/signin/discord"); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("attempt %d: status %d", i+1, resp.StatusCode)
		}
	}
	resp, _ := cl.get("/signin/discord")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt in a minute: status %d", resp.StatusCode)
	}
	e.clock.Add(61 * time.Second)
	if resp, _ := cl.get("/signin/discord"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a minute later: status %d", resp.StatusCode)
	}
}

func signInRefusesAForeignState(t *testing.T, e *env) {
	cl := e.client()
	cl.get("/signin/discord")
	// A callback with a state this browser did not start (login CSRF).
	resp, body := cl.get("/oauth/callback?code=code-1&state=" + strings.Repeat("a", 32))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "could not be verified") {
		t.Fatalf("foreign state: status %d:\n%s", resp.StatusCode, body)
	}
	if e.fake.OAuthExchanges() != 0 {
		t.Error("a code was exchanged for a callback with a foreign state")
	}
}

// queueFiltersAndOrder expects normal claimed by Dana.
func queueFiltersAndOrder(t *testing.T, e *env, normal intake.Case) {
	e.say("700000000000000021", "I want to kill myself tonight")
	var urgent intake.Case
	if !e.fake.Await(wait, func() bool {
		cs, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{})
		for _, c := range cs {
			if c.Priority == intake.PriorityUrgent {
				urgent = c
				return true
			}
		}
		return false
	}) {
		t.Fatal("no urgent case")
	}
	cl := e.client()
	cl.signIn(dana)
	for _, tc := range []struct {
		query     string
		want, not []string
	}{
		{"", []string{urgent.ID, normal.ID, "2 cases"}, nil},
		{"?priority=urgent", []string{urgent.ID, "1 case,"}, []string{normal.ID}},
		{"?assignee=me", []string{normal.ID}, []string{urgent.ID}},
		{"?assignee=none", []string{urgent.ID}, []string{normal.ID}},
		{"?status=claimed", []string{normal.ID}, []string{urgent.ID}},
		{"?status=closed", []string{"0 cases", "No cases match"}, []string{normal.ID, urgent.ID}},
		{"?priority=bogus&status=bogus", []string{urgent.ID, normal.ID}, nil},
	} {
		_, body := cl.get("/queue" + tc.query)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("/queue%s lacks %q", tc.query, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("/queue%s shows %q", tc.query, n)
			}
		}
		if tc.query == "" && strings.Index(body, urgent.ID) > strings.Index(body, normal.ID) {
			t.Error("the urgent case is not first")
		}
	}
}

func detailsLinksAreSignedAndShortLived(t *testing.T, e *env, c intake.Case) {
	cl := e.client()
	cl.signIn(dana)
	link, err := e.web.Link(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(link, canaryPhone) || !strings.Contains(link, c.ID) {
		t.Fatalf("link %s", link)
	}
	if resp, _ := cl.getURL(link); resp.Request.URL.Path != "/cases/"+c.ID {
		t.Errorf("a fresh link opened %s", resp.Request.URL.Path)
	}
	// Another case's reference under this signature is refused.
	forged := strings.Replace(link, c.ID, "C-0000000", 1)
	if resp, _ := cl.getURL(forged); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged link: status %d", resp.StatusCode)
	}
	e.clock.Add(staffweb.LinkTTL + time.Second)
	cl.get("/queue") // still signed in (idle under 15 minutes)
	if resp, body := cl.getURL(link); resp.StatusCode != http.StatusGone || !strings.Contains(body, "Press Details on the card again") {
		t.Errorf("an expired link: status %d", resp.StatusCode)
	}
}

func signOutEndsTheSession(t *testing.T, e *env) {
	cl := e.client()
	cl.signIn(dana)
	if resp, _ := cl.post("/signout", url.Values{}, false); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without its token: status %d", resp.StatusCode)
	}
	resp, _ := cl.post("/signout", url.Values{}, true)
	if resp.Request.URL.Path != "/signin" {
		t.Fatalf("after signing out: at %s", resp.Request.URL.Path)
	}
	if resp, _ := cl.get("/queue"); resp.Request.URL.Path != "/signin" {
		t.Errorf("the session outlived sign-out: at %s", resp.Request.URL.Path)
	}
	if !audited(t, e, "console.signout", "ok") {
		t.Error("sign-out is not in the audit log")
	}
}
