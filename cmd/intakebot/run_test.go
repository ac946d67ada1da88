package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot/discordfake"
)

func TestRunConfigErrorsComeFirst(t *testing.T) {
	r := intakebot(t, "", nil, "run", "--data", dataDir(t))
	if r.code != 1 || !strings.Contains(r.stderr, "DISCORD_TOKEN is not set") || !strings.Contains(r.stderr, "developer portal") {
		t.Errorf("no token: exit %d, %q", r.code, r.stderr)
	}
	r = intakebot(t, "", map[string]string{"DISCORD_TOKEN": "x", "INTAKEBOT_GUILD_ID": "my-server"}, "run", "--data", dataDir(t))
	if r.code != 1 || !strings.Contains(r.stderr, `INTAKEBOT_GUILD_ID "my-server" is not a Discord id`) {
		t.Errorf("bad guild id: exit %d, %q", r.code, r.stderr)
	}
	r = intakebot(t, "", map[string]string{"DISCORD_TOKEN": "x"}, "run", "--data", dataDir(t))
	for _, want := range []string{"INTAKEBOT_STAFF_CHANNEL_ID is not set", "INTAKEBOT_STAFF_ROLE_IDS is not set", "INTAKEBOT_ONCALL_ROLE_ID is not set"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("no staff settings: exit %d, %q lacks %q", r.code, r.stderr, want)
		}
	}
	r = intakebot(t, "", map[string]string{"DISCORD_TOKEN": "x", "INTAKEBOT_STAFF_CHANNEL_ID": "#staff", "INTAKEBOT_STAFF_ROLE_IDS": "500000000000000777,nurses",
		"INTAKEBOT_ONCALL_ROLE_ID": "oncall"}, "run", "--data", dataDir(t))
	for _, want := range []string{`INTAKEBOT_STAFF_CHANNEL_ID "#staff" is not a Discord id`, `"nurses" is not a Discord role id`, `INTAKEBOT_ONCALL_ROLE_ID "oncall" is not a Discord role id`} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("malformed staff settings: exit %d, %q lacks %q", r.code, r.stderr, want)
		}
	}
	// A console without its secret, or on plain http off this machine.
	r = intakebot(t, "", staffVars(map[string]string{"DISCORD_TOKEN": "x", "INTAKEBOT_OAUTH_CLIENT_ID": "1", "INTAKEBOT_CONSOLE_URL": "http://staff.clinic.example"}),
		"run", "--data", dataDir(t))
	for _, want := range []string{"INTAKEBOT_OAUTH_CLIENT_SECRET", "must be served over HTTPS", "needs INTAKEBOT_GUILD_ID"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("console misconfigured: exit %d, %q lacks %q", r.code, r.stderr, want)
		}
	}
	// The shipped clinic.yaml has placeholder hours: run refuses, naming them.
	data := filepath.Join(t.TempDir(), "data")
	r = intakebot(t, "", staffVars(map[string]string{"DISCORD_TOKEN": "x"}), "run", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "opening hours are needed") || !strings.Contains(r.stderr, "time_zone is not set") || !strings.Contains(r.stderr, "monday are still the placeholder") {
		t.Errorf("placeholder hours: exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused run created the data directory (%v)", err)
	}
}

const (
	runStaffChannel = "500000000000000009"
	runGuild        = "500000000000000001"
)

// staffVars adds the staff settings run needs to vars.
func staffVars(vars map[string]string) map[string]string {
	vars["INTAKEBOT_STAFF_CHANNEL_ID"] = runStaffChannel
	vars["INTAKEBOT_STAFF_ROLE_IDS"] = "500000000000000777"
	vars["INTAKEBOT_ONCALL_ROLE_ID"] = "500000000000000888"
	return vars
}

// clinicPrompts is a copy of the shipped prompts with the clinic's time zone
// and hours filled in, as a clinic does before going live.
func clinicPrompts(t *testing.T) string {
	t.Helper()
	dir := copyPrompts(t)
	path := filepath.Join(dir, "clinic.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `time_zone: "(clinic time zone)"`, `time_zone: "America/Chicago"`, 1)
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		s = strings.Replace(s, d+`: "(hours)"`, d+`: "09:00-17:00"`, 1)
	}
	s = strings.Replace(s, `saturday: "(hours)"`, `saturday: "closed"`, 1)
	s = strings.Replace(s, `sunday: "(hours)"`, `sunday: "closed"`, 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// everyoneHidden is the permission overwrite that hides a channel from
// @everyone (whose role id is the server's id): deny View Channel.
var everyoneHidden = map[string]any{"id": runGuild, "type": 0, "allow": "0", "deny": "1024"}

func TestRunChecksTheStaffChannel(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	prompts := clinicPrompts(t)
	vars := staffVars(map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL()})
	// Unknown channel: refused before anyone is served.
	r := intakebot(t, "", vars, "run", "--data", dataDir(t), "--prompts", prompts)
	if r.code != 1 || !strings.Contains(r.stderr, "Discord knows no such channel") {
		t.Errorf("unknown channel: exit %d, %q", r.code, r.stderr)
	}
	// Visible to @everyone: a warning naming the fix, and the bot runs.
	fake.SetGuildChannel(runStaffChannel, runGuild, "staff", nil)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		e := env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
		done <- run(ctx, e, []string{"run", "--data", dataDir(t), "--prompts", prompts})
	}()
	if !fake.AwaitConnected(10 * time.Second) {
		cancel()
		t.Fatal("run did not connect")
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	if !strings.Contains(stderr.String(), "visible to @everyone") || !strings.Contains(stderr.String(), "deny View Channel to @everyone") {
		t.Errorf("no @everyone warning: %q", stderr.String())
	}
}

func TestRunRefusedToken(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	vars := staffVars(map[string]string{"DISCORD_TOKEN": "wrong-token", "INTAKEBOT_DISCORD_URL": fake.URL()})
	r := intakebot(t, "", vars, "run", "--data", dataDir(t), "--prompts", clinicPrompts(t))
	if r.code != 1 || !strings.Contains(r.stderr, "refused the token") {
		t.Errorf("wrong token: exit %d, %q", r.code, r.stderr)
	}
}

func TestRunAgainstLoopbackDiscord(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	const staff = runStaffChannel
	fake.SetGuildChannel(staff, runGuild, "staff", []map[string]any{everyoneHidden})
	vars := staffVars(map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL(), "INTAKEBOT_LOG_LEVEL": "warn"})
	prompts := clinicPrompts(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		e := env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
		done <- run(ctx, e, []string{"run", "--data", dataDir(t), "--prompts", prompts})
	}()
	if !fake.AwaitConnected(10 * time.Second) {
		cancel()
		t.Fatalf("run did not connect: %s", stderr.String())
	}
	fake.SendDM("601900000000000009", "how much does it cost?")
	if _, ok := fake.AwaitDM("601900000000000009", 5*time.Second, func(m discordfake.Message) bool { return strings.Contains(m.Content, "From: Cost and insurance") }); !ok {
		t.Errorf("no answer in the DM: %+v", fake.DM("601900000000000009"))
	}
	// A request for staff reaches the staff channel as a card.
	fake.SendDM("601900000000000009", "can I talk to a real person?")
	if !fake.Await(10*time.Second, func() bool {
		for _, m := range fake.Channel(staff) {
			if len(m.Embeds) == 1 && strings.Contains(m.Embeds[0], "requested") {
				return true
			}
		}
		return false
	}) {
		t.Errorf("no card in the staff channel: %+v", fake.Channel(staff))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("run exited %d: %s", code, stderr.String())
		}
		if strings.Contains(stderr.String(), "@everyone") {
			t.Errorf("a hidden staff channel was reported visible: %s", stderr.String())
		}
		if !strings.Contains(stderr.String(), "warning: no staff console is configured") || strings.Count(stderr.String(), "no staff console") != 1 {
			t.Errorf("run without a console did not warn once that answers cross Discord: %s", stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
}

func TestRunRefusedIntent(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	fake.RefuseIdentify(4014)
	vars := staffVars(map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL()})
	r := intakebot(t, "", vars, "run", "--data", dataDir(t), "--prompts", clinicPrompts(t))
	if r.code != 1 || !strings.Contains(r.stderr, "refused an intent") || !strings.Contains(r.stderr, "4014") {
		t.Errorf("refused intent: exit %d, %q", r.code, r.stderr)
	}
}

// With the OAuth2 application configured, run serves the staff console,
// and staff sign in through Discord (the loopback fake's OAuth2).
func TestRunServesTheStaffConsole(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	fake.SetGuildChannel(runStaffChannel, runGuild, "staff", []map[string]any{everyoneHidden})
	const dana = "500000000000000333"
	fake.SetName(dana, "Dana")
	fake.SetMember(runGuild, dana, "500000000000000777")
	fake.AuthorizeAs(dana)
	vars := staffVars(map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL(), "INTAKEBOT_LOG_LEVEL": "warn",
		"INTAKEBOT_GUILD_ID": runGuild, "INTAKEBOT_CONSOLE_ADDR": "127.0.0.1:0",
		"INTAKEBOT_OAUTH_CLIENT_ID": discordfake.OAuthClientID, "INTAKEBOT_OAUTH_CLIENT_SECRET": discordfake.OAuthClientSecret})
	prompts := clinicPrompts(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	go func() {
		e := env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: stderr, getenv: func(k string) string { return vars[k] }}
		done <- run(ctx, e, []string{"run", "--data", dataDir(t), "--prompts", prompts})
	}()
	if !fake.AwaitConnected(10 * time.Second) {
		t.Fatalf("run did not connect: %s", stderr.String())
	}
	// Up once its commands are registered and the staff channel read (a stop
	// before that is a failure).
	fake.Await(10*time.Second, func() bool {
		cmds, _ := fake.Commands()
		return len(cmds) > 0 && fake.Requests("/channels/{channel_id}") > 0
	})
	m := regexp.MustCompile(`for staff at (http://127\.0\.0\.1:[0-9]+)`).FindStringSubmatch(stderr.String())
	if m == nil || strings.Contains(stderr.String(), "no staff console") {
		t.Fatalf("run did not say where the console is: %s", stderr.String())
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	resp, err := cl.Get(m[1] + "/signin/discord")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/queue" || !strings.Contains(string(body), "Signed in as <strong>Dana</strong>") {
		t.Errorf("sign-in through run's console: %d at %s:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run exited %d: %s", code, stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestConsoleCommandChecksItsConfiguration(t *testing.T) {
	r := intakebot(t, "", map[string]string{}, "console", "--data", dataDir(t))
	for _, want := range []string{"INTAKEBOT_OAUTH_CLIENT_ID and INTAKEBOT_OAUTH_CLIENT_SECRET", "needs INTAKEBOT_GUILD_ID", "DISCORD_TOKEN is not set"} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("console with nothing set: exit %d, %q lacks %q", r.code, r.stderr, want)
		}
	}
	r = intakebot(t, "", nil, "console", "-h")
	if r.code != 0 || !strings.Contains(r.stderr+r.stdout, "Serve the staff web console alone") {
		t.Errorf("console -h: exit %d, %q", r.code, r.stderr)
	}
}
