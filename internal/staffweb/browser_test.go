package staffweb_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/staffweb"
)

// One headless Chromium for the whole test binary, started by the first
// test that needs it; each test gets its own browser context (its own
// cookies) in it.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// chromium finds the browser: INTAKEBOT_CHROMIUM, else Debian's chromium
// package or another Chrome on PATH.
func chromium() string {
	if p := os.Getenv("INTAKEBOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab returns a new browser context and tab; listen sees its events. With
// no Chromium the test is skipped, unless INTAKEBOT_REQUIRE_BROWSER=1 (CI).
func tab(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	if raceBuild {
		t.Skip("browser test skipped under the race detector: it runs in the pass without -race")
	}
	path := chromium()
	if path == "" {
		if os.Getenv("INTAKEBOT_REQUIRE_BROWSER") == "1" {
			t.Fatal("INTAKEBOT_REQUIRE_BROWSER=1 but no Chromium was found (apt-get install -y chromium, or set INTAKEBOT_CHROMIUM)")
		}
		t.Skip("browser test skipped: no Chromium found (Debian: apt-get install -y chromium; or set INTAKEBOT_CHROMIUM to a Chrome binary)")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
			chromedp.Flag("disable-gpu", true))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		browser.ctx, browser.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
		browser.err = chromedp.Do(ctx)
	})
	if browser.err != nil {
		t.Fatalf("start Chromium (%s): %v", path, browser.err)
	}
	opts := []chromedp.ContextOption{chromedp.WithNewBrowserContext()}
	if listen != nil {
		opts = append(opts, chromedp.WithListener(listen))
	}
	ctx, cancel := chromedp.NewContext(browser.ctx, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// pageWatch records every document the tab loaded, with its CSP header,
// and every CSP violation the browser reported.
type pageWatch struct {
	mu         sync.Mutex
	docs       []string // url and CSP
	violations []string
}

func (w *pageWatch) listen(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument {
			csp := ""
			for k, v := range ev.Response.Headers {
				if strings.EqualFold(k, "Content-Security-Policy") {
					csp = fmt.Sprint(v)
				}
			}
			w.docs = append(w.docs, ev.Response.URL+"\t"+csp)
		}
	case *log.EventEntryAdded:
		if strings.Contains(ev.Entry.Text, "Content Security Policy") {
			w.violations = append(w.violations, ev.Entry.Text)
		}
	}
}

// artefacts is where screenshots go: INTAKEBOT_ARTIFACTS, else a
// temporary directory.
func artefacts(t *testing.T) string {
	dir := os.Getenv("INTAKEBOT_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "console-screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type browserRun struct {
	t   *testing.T
	ctx context.Context
	e   *env
	dir string
}

// do runs actions, failing the test with what the page showed.
func (b *browserRun) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.text())
	}
}

// submit clicks sel and waits for the page it loads; it returns its status.
func (b *browserRun) submit(what string, sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.text())
	}
	return resp.Status
}

func (b *browserRun) text() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	return s
}

func (b *browserRun) location() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Location())
	return s
}

func (b *browserRun) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserRun) expect(what string, wants ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			b.t.Fatalf("%s: the page lacks %q; it shows:\n%s", what, w, got)
		}
	}
}

// A staff member's whole round in a real browser: sign in through the
// fake Discord's OAuth2, the queue (urgent first), a case, claim, note,
// message the patient (it reaches their DM and the case thread), close,
// the report, the audit log and the export page; then a form stripped of
// its CSRF token is refused, and an idle session ends. Every page carries
// the CSP and breaks none of it. Then a member without a staff role is
// refused, in another browser context.
func TestBrowserStaffRound(t *testing.T) {
	t.Parallel()
	watch := &pageWatch{}
	ctx := tab(t, watch.listen)
	e := newEnv(t)
	b := &browserRun{t: t, ctx: ctx, e: e, dir: artefacts(t)}
	normal := e.screen(patient)
	e.say(patient, canaryRelay)
	urgentPatient := "700000000000000021"
	e.say(urgentPatient, "I want to kill myself tonight")
	var urgent intake.Case
	if !e.fake.Await(wait, func() bool {
		cs, _ := e.kit.Store.Cases(context.Background(), intake.CaseFilter{Status: intake.CaseOpen})
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
	e.awaitCard(urgent.ID)

	b.do("open the console", chromedp.Navigate(e.http.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
	if !strings.HasSuffix(strings.SplitN(b.location(), "?", 2)[0], "/signin") {
		t.Fatalf("signed out, /queue went to %s", b.location())
	}
	b.shot("01-signin")
	b.do("sign in", chromedp.Click(chromedp.CSS("a.button.primary")), chromedp.WaitVisible(chromedp.ID("authorize-"+dana)))
	b.shot("02-discord-authorize")
	if status := b.submit("authorize", "#authorize-"+dana); status != 200 {
		t.Fatalf("after authorizing: status %d", status)
	}
	b.do("queue", chromedp.WaitVisible(chromedp.CSS("table.queue")))
	b.expect("queue", "Signed in as Dana", normal.ID, urgent.ID)
	if q := b.text(); strings.Index(q, urgent.ID) > strings.Index(q, normal.ID) {
		t.Errorf("the urgent case is not listed first:\n%s", q)
	}
	b.shot("03-queue")

	if status := b.submit("open the case", `a[href="/cases/`+normal.ID+`"]`); status != 200 {
		t.Fatalf("case page: status %d", status)
	}
	b.expect("case", "Case "+normal.ID, canaryPhone, canaryNotes, canaryRelay, "PHQ9: 8 (mild)", "Review: bipolar", "Audit trail")
	b.shot("04-case")

	b.submit("claim", `form[action$="/claim"] button`)
	b.expect("claimed", "is yours", "claimed — Dana")
	b.do("note", chromedp.SendKeys(chromedp.ID("note"), canaryNote))
	b.submit("note", `form[action$="/note"] button`)
	b.expect("noted", "Note added", canaryNote)
	b.do("message", chromedp.SendKeys(chromedp.ID("message"), canaryMessage))
	b.submit("message", `form[action$="/message"] button`)
	b.expect("messaged", "Sent to the patient", canaryMessage)
	if _, ok := e.fake.AwaitDM(patient, wait, func(m discordfake.Message) bool { return strings.Contains(m.Content, canaryMessage) }); !ok {
		t.Error("the message did not reach the patient's DM")
	}
	if !e.fake.Await(wait, func() bool {
		for _, m := range e.fake.Channel(normal.CardMessageID) {
			if strings.Contains(m.Content, "Sent to the patient by Dana") && strings.Contains(m.Content, canaryMessage) {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the message is not logged in the case thread: %v", e.fake.Channel(normal.CardMessageID))
	}
	b.shot("05-case-claimed-noted-messaged")
	b.do("close", chromedp.SetValue(chromedp.ID("reason"), "consult_booked"), chromedp.SendKeys(chromedp.ID("closenote"), canaryClose))
	b.submit("close", `form[action$="/close"] button`)
	b.expect("closed", "closed: Consult booked", "This case is closed.", canaryClose)
	if c, _ := e.kit.Store.Case(context.Background(), normal.ID); c.Status != intake.CaseClosed || c.CloseReason != "consult_booked" {
		t.Errorf("case after close: %s %s", c.Status, c.CloseReason)
	}
	b.shot("06-case-closed")

	b.do("report", chromedp.Navigate(e.http.URL+"/report"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	b.expect("report", "screenings started", "2\ncases", "1\nurgent", "median time to claim")
	b.shot("07-report")
	b.do("audit", chromedp.Navigate(e.http.URL+"/audit?case="+normal.ID), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	b.expect("audit", "case.claim", "case.note", "case.message", "case.close", "discord:"+dana)
	b.shot("08-audit")
	b.do("export", chromedp.Navigate(e.http.URL+"/export"), chromedp.WaitVisible(chromedp.CSS("form[action='/export']")))
	b.expect("export", "This file holds health information")
	b.shot("09-export")

	// A form whose CSRF token was taken out is refused, and nothing changes.
	b.do("urgent case", chromedp.Navigate(e.http.URL+"/cases/"+urgent.ID), chromedp.WaitVisible(chromedp.CSS(`form[action$="/claim"]`)))
	b.shot("10-case-urgent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { document.querySelector('form[action$="/claim"] input[name=csrf]').remove(); return true })()`)); err != nil {
		t.Fatal(err)
	}
	if status := b.submit("claim without token", `form[action$="/claim"] button`); status != 403 {
		t.Errorf("a form without its token: status %d, want 403", status)
	}
	b.expect("refused", "Form refused", "security token is missing")
	b.shot("11-csrf-refused")
	if c, _ := e.kit.Store.Case(context.Background(), urgent.ID); c.Status != intake.CaseOpen {
		t.Errorf("the refused form changed the case: %s", c.Status)
	}

	// Idle for 16 minutes: the next page is the sign-in page.
	e.clock.Add(16 * time.Minute)
	b.do("after idling", chromedp.Navigate(e.http.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
	b.expect("idle", "Your session ended")
	b.shot("12-signed-out-idle")

	watch.mu.Lock()
	docs, violations := append([]string(nil), watch.docs...), watch.violations
	watch.mu.Unlock()
	own := 0
	for _, d := range docs {
		u, csp, _ := strings.Cut(d, "\t")
		if !strings.HasPrefix(u, e.http.URL) {
			continue // the fake Discord's page
		}
		own++
		if csp != staffweb.CSP {
			t.Errorf("%s: CSP %q, want %q", u, csp, staffweb.CSP)
		}
	}
	if own < 13 {
		t.Errorf("only %d console documents were seen; want every page: %v", own, docs)
	}
	if len(violations) > 0 {
		t.Errorf("the browser reported CSP violations: %v", violations)
	}
	t.Run("NonStaffIsRefused", func(t *testing.T) { browserNonStaffIsRefused(t, e) })
}

// browserNonStaffIsRefused signs in, in a new browser context, as a member
// without a staff role.
func browserNonStaffIsRefused(t *testing.T, e *env) {
	ctx := tab(t, nil)
	b := &browserRun{t: t, ctx: ctx, e: e, dir: artefacts(t)}
	b.do("sign in", chromedp.Navigate(e.http.URL+"/signin"), chromedp.Click(chromedp.CSS("a.button.primary")),
		chromedp.WaitVisible(chromedp.ID("authorize-"+outsider)))
	if status := b.submit("authorize", "#authorize-"+outsider); status != 403 {
		t.Errorf("a member without a staff role: status %d, want 403", status)
	}
	b.expect("refused", "Not staff", "does not have one of the clinic's staff roles")
	b.shot("13-not-staff")
	b.do("queue", chromedp.Navigate(e.http.URL+"/queue"), chromedp.WaitVisible(chromedp.CSS("a.button.primary")))
	if loc := b.location(); !strings.Contains(loc, "/signin") {
		t.Errorf("after the refusal, /queue showed %s", loc)
	}
}
