package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot/discordfake"
)

func TestRunConfigErrorsComeFirst(t *testing.T) {
	r := intakebot(t, "", nil, "run", "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "DISCORD_TOKEN is not set") || !strings.Contains(r.stderr, "developer portal") {
		t.Errorf("no token: exit %d, %q", r.code, r.stderr)
	}
	r = intakebot(t, "", map[string]string{"DISCORD_TOKEN": "x", "INTAKEBOT_GUILD_ID": "my-server"}, "run", "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, `INTAKEBOT_GUILD_ID "my-server" is not a Discord id`) {
		t.Errorf("bad guild id: exit %d, %q", r.code, r.stderr)
	}
	r = intakebot(t, "", map[string]string{"DISCORD_TOKEN": "x", "INTAKEBOT_STAFF_CHANNEL_ID": "500000000000000009"}, "run", "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "INTAKEBOT_STAFF_ROLE_IDS is not set") {
		t.Errorf("staff channel without roles: exit %d, %q", r.code, r.stderr)
	}
}

func TestRunRefusedToken(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	vars := map[string]string{"DISCORD_TOKEN": "wrong-token", "INTAKEBOT_DISCORD_URL": fake.URL()}
	r := intakebot(t, "", vars, "run", "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "refused the token") {
		t.Errorf("wrong token: exit %d, %q", r.code, r.stderr)
	}
}

func TestRunAgainstLoopbackDiscord(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	const staff = "500000000000000009"
	vars := map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL(), "INTAKEBOT_LOG_LEVEL": "warn", "INTAKEBOT_STAFF_CHANNEL_ID": staff, "INTAKEBOT_STAFF_ROLE_IDS": "500000000000000777"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		e := env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
		done <- run(ctx, e, []string{"run", "--data", t.TempDir()})
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
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on cancel")
	}
}

func TestRunRefusedIntent(t *testing.T) {
	fake := discordfake.New(t)
	defer fake.Close()
	fake.RefuseIdentify(4014)
	vars := map[string]string{"DISCORD_TOKEN": discordfake.Token, "INTAKEBOT_DISCORD_URL": fake.URL()}
	r := intakebot(t, "", vars, "run", "--data", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "refused an intent") || !strings.Contains(r.stderr, "4014") {
		t.Errorf("refused intent: exit %d, %q", r.code, r.stderr)
	}
}
