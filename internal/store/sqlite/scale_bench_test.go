package sqlite_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/internal/testkit"
)

// populationVersion changes whenever populate does, so a cached population
// built by older code is not reused.
const populationVersion = "1"

// scalePending is how many undelivered outbox events a population holds.
const scalePending = 20_000

// scaleEpoch is the population's clock: every case opened then.
var scaleEpoch = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// BenchmarkScale measures what grows with a clinic's data, on populations
// of 10k and 100k patients written through the store (each: a session with
// three sealed answers and an open case with sealed details; half the
// sessions still in progress, half ended by their case; one case in ten
// high priority, one in a hundred urgent; 20k outbox events undelivered).
// It reports, as custom metrics:
//
//   - outbox-batch-ms: the outbox's next batch (100) with 20k pending events;
//   - cases-of-patient-ms, case-of-card-ms: a patient's cases, and the case
//     a card shows, looked up;
//   - alert-check-ms: the dispatcher's alert check once its plans are made
//     (alert-first-ms: its first check, which plans every open case);
//   - answer-p50-ms, answer-p99-ms: an answer turn through the engine, four
//     patients at once, while the dispatcher runs (polling every 100 ms and
//     delivering the backlog at Discord's pace);
//   - relay-p50-ms, relay-p99-ms: a message from a patient with an open case
//     passed to staff (the relay itself is an in-memory recorder: this is
//     the engine's and the store's share), with the dispatcher running;
//   - idle-answer-p50-ms, idle-answer-p99-ms: answer turns before the
//     dispatcher starts, and commit-p50-ms, commit-p99-ms: a bare one-row
//     commit with it running (lazy, as an answer's: the store's and the
//     disk's share of every turn), so the dispatcher's cost can be told
//     from the machine's.
//
// A population is built once (a minute or two for 100k) and cached under
// the system's temporary directory; each run works on a private copy. Run:
//
//	go test ./internal/store/sqlite -run XXX -bench BenchmarkScale -benchtime=1x
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("patients=%d", n), func(b *testing.B) {
			src, key := population(b, n)
			for range b.N {
				measureScale(b, n, src, key)
			}
		})
	}
}

func measureScale(b *testing.B, n int, src string, key []byte) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kit := &testkit.Kit{Path: filepath.Join(b.TempDir(), "intakebot.db"), Key: key}
	copyFile(b, src, kit.Path)
	relays := &relayRecorder{}
	kit.Relay = relays
	kit.Reopen(b)
	start := time.Now()
	clock := func() time.Time { return scaleEpoch.Add(time.Minute + time.Since(start)) }
	kit.Store.Now = clock

	// The outbox's next batch, before anything is delivered.
	var batch []time.Duration
	for range 20 {
		t0 := time.Now()
		evs, err := kit.Store.DueEvents(ctx, clock(), 100)
		batch = append(batch, time.Since(t0))
		if err != nil || len(evs) != 100 {
			b.Fatalf("next batch: %d events, %v", len(evs), err)
		}
	}

	// A patient's cases, and the case of a card, looked up.
	var lookup, byCard []time.Duration
	for i := range 200 {
		p, err := kit.Store.Patient(ctx, bot.Channel, scaleUser(i*(n/200)))
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		cs, err := kit.Store.Cases(ctx, intake.CaseFilter{PatientID: p.ID})
		lookup = append(lookup, time.Since(t0))
		if err != nil || len(cs) != 1 {
			b.Fatalf("cases of %s: %d, %v", p.ID, len(cs), err)
		}
		t0 = time.Now()
		cs, err = kit.Store.Cases(ctx, intake.CaseFilter{CardMessageID: "m-" + cs[0].ID})
		byCard = append(byCard, time.Since(t0))
		if err != nil || len(cs) > 1 {
			b.Fatalf("case of a card: %d, %v", len(cs), err)
		}
	}

	// The alert check: the first plans every open case and pages the
	// urgent ones; later ones read only what is due.
	notifier := &pacedNotifier{every: time.Second / bot.GlobalRate}
	d := &handoff.Dispatcher{Store: kit.Store, Notifier: notifier, Now: clock, Poll: 100 * time.Millisecond,
		Workers: handoff.BurstWorkers, Log: quiet()}
	t0 := time.Now()
	if err := d.QueueAlerts(ctx); err != nil {
		b.Fatal(err)
	}
	first := time.Since(t0)
	if pend, _ := kit.Store.PendingEvents(ctx, scalePending+n); len(pend) != scalePending+n/100 {
		b.Fatalf("%d events pending after the first alert check, want %d (the backlog and a page per urgent case)", len(pend), scalePending+n/100)
	}
	var check []time.Duration
	for range 20 {
		t0 := time.Now()
		if err := d.QueueAlerts(ctx); err != nil {
			b.Fatal(err)
		}
		check = append(check, time.Since(t0))
	}

	// Answer turns with nothing in the background, for comparison (other
	// patients than those measured below).
	idle := answerTurns(ctx, b, kit, clock, n/2, 300)

	// The dispatcher runs from here on.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.Run(ctx)
	}()
	defer wg.Wait()
	b.StartTimer()

	// Answer turns, one patient after another, each answering its
	// screening from where the population left it.
	all := answerTurns(ctx, b, kit, clock, 0, 600)

	// Relayed messages, one patient after another (odd: case open, no
	// screening in progress).
	var relay []time.Duration
	for i := range 200 {
		user := scaleUser(2*i + 1)
		turn := intake.Turn{Channel: bot.Channel, UserID: user, EventID: "r-" + user, Text: "Thanks, after 3pm works best for me", At: clock()}
		t0 := time.Now()
		rs, err := kit.Engine.Handle(ctx, turn)
		relay = append(relay, time.Since(t0))
		if err != nil || len(rs) != 1 || !strings.Contains(rs[0].Text, "C-") {
			b.Fatalf("relay: %+v, %v", rs, err)
		}
	}
	// The store's floor: a bare one-row lazy commit (as an answer's), with
	// the dispatcher running.
	var commit []time.Duration
	for i := range 300 {
		t0 := time.Now()
		if _, err := kit.Store.FirstSeen(ctx, fmt.Sprint("floor-", i)); err != nil {
			b.Fatal(err)
		}
		commit = append(commit, time.Since(t0))
	}
	b.StopTimer()
	if got := relays.count(); got != 200 {
		b.Errorf("%d messages relayed, want 200", got)
	}
	cancel()

	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(quantile(batch, 0.5)), "outbox-batch-ms")
	b.ReportMetric(ms(quantile(lookup, 0.5)), "cases-of-patient-ms")
	b.ReportMetric(ms(quantile(byCard, 0.5)), "case-of-card-ms")
	b.ReportMetric(ms(first), "alert-first-ms")
	b.ReportMetric(ms(quantile(check, 0.5)), "alert-check-ms")
	b.ReportMetric(ms(quantile(all, 0.5)), "answer-p50-ms")
	b.ReportMetric(ms(quantile(all, 0.99)), "answer-p99-ms")
	b.ReportMetric(ms(quantile(idle, 0.5)), "idle-answer-p50-ms")
	b.ReportMetric(ms(quantile(idle, 0.99)), "idle-answer-p99-ms")
	b.ReportMetric(ms(quantile(relay, 0.5)), "relay-p50-ms")
	b.ReportMetric(ms(quantile(relay, 0.99)), "relay-p99-ms")
	b.ReportMetric(ms(quantile(commit, 0.5)), "commit-p50-ms")
	b.ReportMetric(ms(quantile(commit, 0.99)), "commit-p99-ms")
	b.ReportMetric(float64(notifier.count()), "delivered")
	b.ReportMetric(0, "ns/op")
}

// answerTurns answers turns screening questions, patient after patient
// from the (even) patient first/2 on, and returns each turn's time.
func answerTurns(ctx context.Context, b *testing.B, kit *testkit.Kit, clock func() time.Time, first, turns int) []time.Duration {
	var out []time.Duration
	next, user, q := first/2, "", ""
	for len(out) < turns {
		if q == "" {
			user, q = scaleUser(2*next), "antidepressant_trials"
			next++
		}
		turn := intake.Turn{Channel: bot.Channel, UserID: user, EventID: fmt.Sprintf("e-%s-%d", user, len(out)), Text: answerText(kit, q), At: clock()}
		t0 := time.Now()
		rs, err := kit.Engine.Handle(ctx, turn)
		out = append(out, time.Since(t0))
		if err != nil {
			b.Fatalf("answer turn: %v", err)
		}
		nq := pendingQuestion(rs)
		if nq == q {
			b.Fatalf("%s: %q asked again after %q", user, q, turn.Text)
		}
		q = nq
	}
	return out
}

func quantile(ds []time.Duration, q float64) time.Duration {
	ds = append([]time.Duration(nil), ds...)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

func scaleUser(i int) string { return fmt.Sprintf("9%017d", i) }

func pendingQuestion(rs []intake.Reply) string {
	for _, r := range rs {
		if r.Kind == intake.ReplyQuestion {
			return r.QuestionID
		}
	}
	return ""
}

// answerText is a valid answer to q that keeps the screening going.
func answerText(kit *testkit.Kit, q string) string {
	switch q {
	case "contact_method":
		return "phone"
	case "contact_detail":
		return "555-123-4567"
	case "notes":
		return "I work nights"
	}
	if kit.Script.Question(q).Kind == "yes_no" {
		if q == "consent" || q == "age_18" {
			return "yes"
		}
		return "no"
	}
	return "1"
}

// population returns the path of a cached population of n patients and
// its key, building it first if needed.
func population(b *testing.B, n int) (string, []byte) {
	b.Helper()
	h := sha256.New()
	io.WriteString(h, populationVersion)
	files, _ := filepath.Glob("migrations/*.sql")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		h.Write(src)
	}
	dir := filepath.Join(os.TempDir(), "intakebot-scale")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("pop-%d-%s", n, hex.EncodeToString(h.Sum(nil))[:12]))
	if key, err := os.ReadFile(base + ".key"); err == nil {
		if _, err := os.Stat(base + ".db"); err == nil {
			return base + ".db", key
		}
	}
	// Populations built by older code or schemas are of no more use.
	old, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("pop-%d-*", n)))
	for _, f := range old {
		os.Remove(f)
	}
	t0 := time.Now()
	tmp := filepath.Join(b.TempDir(), "pop.db")
	key := seal.NewKey()
	populate(b, tmp, key, n)
	copyFile(b, tmp, base+".db.new")
	if err := os.Rename(base+".db.new", base+".db"); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(base+".key", key, 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("built a population of %d patients in %v (cached as %s)", n, time.Since(t0).Round(time.Second), base+".db")
	return base + ".db", key
}

// populate writes n patients through the store's own API.
func populate(b *testing.B, path string, key []byte, n int) {
	ctx := context.Background()
	kit := &testkit.Kit{Path: path, Key: key}
	kit.Reopen(b)
	st := kit.Store
	defer st.Close()
	if err := sqlite.BulkLoad(st); err != nil {
		b.Fatal(err)
	}
	st.Now = func() time.Time { return scaleEpoch }
	version := kit.Script.Version
	for i := range n {
		p, err := st.Patient(ctx, bot.Channel, scaleUser(i))
		if err != nil {
			b.Fatal(err)
		}
		sess := intake.Session{ID: fmt.Sprintf("s_scale_%d", i), PatientID: p.ID, ScriptVersion: version}
		if err := st.StartSession(ctx, sess); err != nil {
			b.Fatal(err)
		}
		for v, a := range []intake.Answer{{QuestionID: "consent", Choice: "yes"}, {QuestionID: "age_18", Choice: "yes"},
			{QuestionID: "reasons", Choices: []string{"depression"}}} {
			a.At = scaleEpoch
			if err := st.SaveAnswer(ctx, sess.ID, int64(v), a); err != nil {
				b.Fatal(err)
			}
		}
		pr := intake.PriorityNormal
		switch {
		case i%100 == 99:
			pr = intake.PriorityUrgent
		case i%10 == 9:
			pr = intake.PriorityHigh
		}
		c := intake.Case{PatientID: p.ID, Outcome: "positive", Priority: pr, ScriptVersion: version,
			Scores: map[string]intake.Score{"phq9": {Value: 14, Band: "moderate", Positive: true}}, Contact: intake.Contact{Method: "phone"}}
		if i%2 == 0 {
			_, err = st.OpenCase(ctx, c)
		} else {
			_, err = st.EndSession(ctx, sess.ID, 3, intake.SessionCompleted, "positive", false, &c)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	// The older cases' cards are out; scalePending events wait.
	if n > scalePending {
		evs, err := st.PendingEvents(ctx, n-scalePending)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			if err := st.EventDelivered(ctx, e.ID, e.CaseID, "m-"+e.CaseID); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		cases, err := st.Cases(ctx, intake.CaseFilter{Limit: scalePending - n})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range cases {
			if _, err := st.CaseAction(ctx, intake.CaseActionEntry{CaseID: c.ID, Actor: "patient:" + c.PatientID, Action: "case.relay",
				Result: "ok", LastAction: "The patient wrote (see the thread)"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if pend, _ := st.PendingEvents(ctx, 2*scalePending); len(pend) != scalePending {
		b.Fatalf("population has %d pending events, want %d", len(pend), scalePending)
	}
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// On disk before anything is measured: otherwise the first
	// checkpoint's sync (and, at synchronous=FULL, every commit's journal
	// commit) writes back the whole copy, up to 170 MB, inside the
	// measured turns.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// relayRecorder stands in for the Discord adapter's relay: it records
// which case each message was for.
type relayRecorder struct {
	mu    sync.Mutex
	cases map[string]bool // guarded by mu
}

func (r *relayRecorder) Relay(_ context.Context, c intake.Case, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cases == nil {
		r.cases = map[string]bool{}
	}
	r.cases[c.ID] = true
	return nil
}

func (r *relayRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cases)
}

// pacedNotifier accepts every card, page and notice at Discord's global
// rate, as the adapter's limiter would send them: the dispatcher's load on
// the store is what it is in production, without a network.
type pacedNotifier struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time // guarded by mu
	sent  int       // guarded by mu
}

func (p *pacedNotifier) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.sent++
	p.mu.Unlock()
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pacedNotifier) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

func (p *pacedNotifier) PostCard(ctx context.Context, c handoff.Card, _ string) (string, error) {
	return "m-" + c.CaseID, p.wait(ctx)
}
func (p *pacedNotifier) UpdateCard(ctx context.Context, _ string, _ handoff.Card) error {
	return p.wait(ctx)
}
func (p *pacedNotifier) Page(ctx context.Context, _ handoff.Page, _ string) error { return p.wait(ctx) }
func (p *pacedNotifier) NotifyPatient(ctx context.Context, _ intake.Patient, _, _ string) error {
	return p.wait(ctx)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
