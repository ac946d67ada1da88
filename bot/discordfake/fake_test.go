package discordfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot/discordfake"
)

// recorder is a TB that keeps violations instead of failing.
type recorder struct {
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(f string, a ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
	r.mu.Unlock()
}
func (r *recorder) all() string { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.errs, "\n") }

func do(t *testing.T, f *discordfake.Server, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, f.URL()+"/api/v9"+path, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bot "+discordfake.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestViolationsAreReported(t *testing.T) {
	rec := &recorder{}
	f := discordfake.New(rec)
	defer f.Close()
	rows := strings.Repeat(`{"type":1,"components":[{"type":2,"style":2,"label":"x","custom_id":"a"}]},`, 6)
	cases := []struct{ method, path, body, want string }{
		{"POST", "/channels/1/messages", `{"content":"` + strings.Repeat("a", 2001) + `"}`, "content is 2001 characters"},
		{"POST", "/channels/1/messages", `{"content":"x","components":[` + strings.TrimSuffix(rows, ",") + `]}`, "6 action rows"},
		{"POST", "/channels/1/messages", `{"content":"x","flags":64}`, "EPHEMERAL flag"},
		{"POST", "/channels/1/messages", `{"content":5}`, "does not match the spec"},
		{"POST", "/guilds/1/bans/2", `{}`, "not in Discord's API"},
		{"PUT", "/applications/1/commands", `[{"name":"Ask","description":"x","type":1}]`, `command name "Ask"`},
	}
	for _, c := range cases {
		do(t, f, c.method, c.path, c.body)
		if !strings.Contains(rec.all(), c.want) {
			t.Errorf("%s %s: violations\n%s\nlack %q", c.method, c.path, rec.all(), c.want)
		}
	}
	// A valid message is accepted without a violation.
	before := len(rec.errs)
	if code := do(t, f, "POST", "/channels/1/messages", `{"content":"hello"}`); code != 200 || len(rec.errs) != before {
		t.Errorf("valid message: status %d, violations %v", code, rec.errs[before:])
	}
}

// TestBodyAgainstTheSpecIsRefused: the schema validation (registered by
// discordfake/schema, which this test binary imports) refuses a body of the
// wrong type, with Discord's error and a violation, and lets a good one
// through.
func TestBodyAgainstTheSpecIsRefused(t *testing.T) {
	rec := &recorder{}
	f := discordfake.New(rec)
	defer f.Close()
	if code := do(t, f, "POST", "/channels/1/messages", `{"content":"x","tts":"yes"}`); code != http.StatusBadRequest {
		t.Errorf("tts as a string: status %d, want 400", code)
	}
	if got := rec.all(); !strings.Contains(got, "POST /channels/{channel_id}/messages: body does not match the spec") {
		t.Errorf("violations %q; want the route and the spec named", got)
	}
	before := len(rec.errs)
	if code := do(t, f, "POST", "/channels/1/messages", `{"content":"x","tts":false}`); code != http.StatusOK || len(rec.errs) != before {
		t.Errorf("a valid body: status %d, violations %v", code, rec.errs[before:])
	}
}

func TestInjected429(t *testing.T) {
	f := discordfake.New(t)
	defer f.Close()
	f.InjectFault("/channels/{channel_id}/messages", discordfake.Fault{Status: 429, RetryAfter: 50e6})
	if code := do(t, f, "POST", "/channels/1/messages", `{"content":"a"}`); code != 429 {
		t.Errorf("first: %d, want 429", code)
	}
	if code := do(t, f, "POST", "/channels/1/messages", `{"content":"a"}`); code != 200 {
		t.Errorf("second: %d, want 200", code)
	}
}

func TestRecordMode(t *testing.T) {
	path := t.TempDir() + "/requests.jsonl"
	t.Setenv("INTAKEBOT_FAKEDISCORD_RECORD", path)
	f := discordfake.New(t)
	do(t, f, "POST", "/channels/1/messages", `{"content":"hello"}`)
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Method, Path string
		Body         map[string]any
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), &line); err != nil {
		t.Fatalf("record %q: %v", b, err)
	}
	if line.Method != "POST" || line.Path != "/channels/1/messages" || line.Body["content"] != "hello" {
		t.Errorf("recorded %+v", line)
	}
}

func TestThreadsAndMessagesInThem(t *testing.T) {
	f := discordfake.New(t)
	defer f.Close()
	if code := do(t, f, "POST", "/channels/500000000000000002/threads", `{"name":"Case C-ABC1234","type":12}`); code != 201 {
		t.Fatalf("create thread: %d", code)
	}
	th := f.Threads()
	if len(th) != 1 || th[0].Name != "Case C-ABC1234" {
		t.Fatalf("threads = %+v", th)
	}
	if code := do(t, f, "POST", "/channels/"+th[0].ID+"/messages", `{"content":"note"}`); code != 200 || len(f.Channel(th[0].ID)) != 1 {
		t.Errorf("message in thread: %d, %v", code, f.Channel(th[0].ID))
	}
}

// The global limit is counted by when requests left the client (the
// fake's Transport stamps them): requests sent at the limit's pace are
// fine however late the fake handles them, and a 51st within one second
// is a violation.
func TestGlobalLimitCountsSendTimes(t *testing.T) {
	rec := &recorder{}
	f := discordfake.New(rec)
	defer f.Close()
	send := func(at time.Time) {
		t.Helper()
		req, _ := http.NewRequest("GET", f.URL()+"/api/v9/gateway", nil)
		req.Header.Set("Authorization", "Bot "+discordfake.Token)
		req.Header.Set("X-Discordfake-Sent", strconv.FormatInt(at.UnixNano(), 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	base := time.Now()
	// 100 requests sent 25 ms apart (40 a second), handled all at once.
	for i := range 100 {
		send(base.Add(time.Duration(i) * 25 * time.Millisecond))
	}
	if got := f.MaxGlobalRate(); got != 40 || rec.all() != "" {
		t.Fatalf("at 40 a second: at most %d in a second, violations %q", got, rec.all())
	}
	// Eleven more within the last second, out of order: 51.
	for i := range 11 {
		send(base.Add(2475*time.Millisecond - time.Duration(i)*10*time.Millisecond))
	}
	if got := f.MaxGlobalRate(); got != 51 || !strings.Contains(rec.all(), "51 requests within one second") {
		t.Fatalf("max = %d, violations %q; want 51 reported", got, rec.all())
	}
}

// DMAfter returns what came after a message, oldest first.
func TestDMAfter(t *testing.T) {
	f := discordfake.New(t)
	defer f.Close()
	a := f.SendDM("200000000000000001", "one")
	b := f.SendDM("200000000000000001", "two")
	f.SendDM("200000000000000002", "elsewhere")
	c := f.SendDM("200000000000000001", "three")
	got := func(after string) string {
		var out []string
		for _, m := range f.DMAfter("200000000000000001", after) {
			out = append(out, m.ID)
		}
		return strings.Join(out, ",")
	}
	if g := got(""); g != a+","+b+","+c {
		t.Errorf("after nothing: %s", g)
	}
	if g := got(a); g != b+","+c {
		t.Errorf("after the first: %s", g)
	}
	if g := got(c); g != "" {
		t.Errorf("after the last: %s", g)
	}
}
