package bot_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/testkit"
)

const patients = 50

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return at(0.50), at(0.99)
}

func report(b *testing.B, fake *discordfake.Server) {
	p50, p99 := percentiles(fake.AckLatencies())
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// pending returns the user's newest bot message that has components.
func pending(fake *discordfake.Server, user string) (discordfake.Message, bool) {
	dm := fake.DM(user)
	for i := len(dm) - 1; i >= 0; i-- {
		if dm[i].AuthorID == fake.BotID {
			return dm[i], len(dm[i].Components) > 0
		}
	}
	return discordfake.Message{}, false
}

// BenchmarkAckLatency: 50 patients answer the screening concurrently with
// button clicks through the real discordgo client; the fake measures each
// interaction's time to acknowledgement.
func BenchmarkAckLatency(b *testing.B) {
	fake := discordfake.New(b)
	defer fake.Close()
	kit := testkit.New(b)
	d, err := bot.New(bot.Config{Token: discordfake.Token, Dedupe: kit.Store, Transport: fake.Transport(), Fallback: "x"})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Open(context.Background(), kit.Engine); err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	fake.AwaitConnected(wait)
	var clicks atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := 0; p < patients; p++ {
		user := fmt.Sprintf("40000000000000%04d", p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fake.SendDM(user, "/screen")
			for clicks.Load() < int64(b.N) {
				var msg discordfake.Message
				if !fake.Await(wait, func() bool {
					var ok bool
					msg, ok = pending(fake, user)
					return ok || strings.Contains(msg.Content, "Type your answer") || strings.Contains(msg.Content, "reference")
				}) {
					b.Errorf("patient %s stalled", user)
					return
				}
				if len(msg.Components) == 0 { // free text or the end: start again
					n := len(fake.DM(user))
					fake.SendDM(user, "/restart")
					fake.Await(wait, func() bool { _, ok := pending(fake, user); return ok && len(fake.DM(user)) > n+1 })
					continue
				}
				c := msg.Components[0]
				a, _ := bot.DecodeAction(c.CustomID)
				var id string
				switch {
				case c.Type == 3:
					id = fake.Click(user, msg.ID, c.CustomID, c.Options[0].Value)
				case strings.HasPrefix(a.QuestionID, "asq_") || a.QuestionID == "age_18" && false:
					id = fake.Click(user, msg.ID, bot.EncodeButton(a.QuestionID, "no"))
				default:
					id = fake.Click(user, msg.ID, c.CustomID)
				}
				clicks.Add(1)
				fake.AwaitAck(id, wait)
				fake.Await(wait, func() bool { m, _ := fake.Message(msg.ID); return len(m.Components) == 0 })
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	report(b, fake)
}

// BenchmarkAckLatencyFloor is the same load against a minimal discordgo
// handler that acknowledges every click at once: the floor the adapter is
// compared with.
func BenchmarkAckLatencyFloor(b *testing.B) {
	fake := discordfake.New(b)
	defer fake.Close()
	s, _ := discordgo.New("Bot " + discordfake.Token)
	s.Client.Transport = fake.Transport()
	s.Identify.Intents = bot.Intents
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate})
	})
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fake.AwaitConnected(wait)
	var clicks atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for p := 0; p < patients; p++ {
		user := fmt.Sprintf("40000000000000%04d", p)
		msgID := fake.SendDM(user, "x")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for clicks.Add(1) <= int64(b.N) {
				id := fake.Click(user, msgID, bot.EncodeButton("q", "o"))
				fake.AwaitAck(id, wait)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	report(b, fake)
}
