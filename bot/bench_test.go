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

// next finds what a patient does next in their DM, among the bot's
// messages newer than after: a question to answer (a message with answer
// buttons or a select; the welcome's suggested actions do not count), or
// the end of what can be clicked (a free-text question, the outcome).
func next(fake *discordfake.Server, user, after string) (msg discordfake.Message, click, end bool) {
	dm := fake.DMAfter(user, after)
	for i := len(dm) - 1; i >= 0; i-- {
		m := dm[i]
		if m.AuthorID != fake.BotID {
			continue
		}
		if len(m.Components) > 0 {
			if _, ok := bot.DecodeAction(m.Components[0].CustomID); ok {
				return m, true, false
			}
		}
		if strings.Contains(m.Content, "Type your answer") || strings.Contains(m.Content, "reference") {
			return m, false, true
		}
	}
	return discordfake.Message{}, false, false
}

// pacer spaces events every `every`, from the first.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time // guarded by mu
}

func (p *pacer) wait() {
	if p == nil {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.every)
	p.mu.Unlock()
	time.Sleep(time.Until(at)) // pacing an open-loop load, not waiting for an event
}

// drive has 50 patients click through their DMs until clicks clicks were
// made (each acknowledged, and answered with the next question), paced by
// p (nil: as fast as the bot answers). A patient at a free-text question
// or the end types /restart. It returns the time the clicks took.
func drive(b *testing.B, fake *discordfake.Server, clicks int, p *pacer, first func(user string)) time.Duration {
	var made atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for n := 0; n < patients; n++ {
		user := fmt.Sprintf("40000000000000%04d", n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			first(user)
			after := ""
			for made.Add(1) <= int64(clicks) {
				var msg discordfake.Message
				var click, end bool
				if !fake.Await(wait, func() bool { msg, click, end = next(fake, user, after); return click || end }) {
					b.Errorf("patient %s stalled", user)
					return
				}
				if end { // free text or the end: start again
					made.Add(-1)
					after = msg.ID
					fake.SendDM(user, "/restart")
					continue
				}
				p.wait()
				c := msg.Components[0]
				a, _ := bot.DecodeAction(c.CustomID)
				var id string
				switch {
				case c.Type == 3:
					id = fake.Click(user, msg.ID, c.CustomID, c.Options[0].Value)
				case strings.HasPrefix(a.QuestionID, "asq_"):
					id = fake.Click(user, msg.ID, bot.EncodeButton(a.QuestionID, "no"))
				default:
					id = fake.Click(user, msg.ID, c.CustomID)
				}
				if !fake.AwaitAck(id, wait) {
					b.Errorf("click %s not acknowledged", id)
					return
				}
				after = msg.ID
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkAckLatency: 50 patients answer the screening concurrently with
// button clicks through the real discordgo client and the real adapter; the
// fake measures each interaction's time to acknowledgement. In the same
// run, a floor: a bare discordgo handler making the same REST calls per
// click (acknowledge, edit the clicked message, post the next question)
// with no engine or store, driven at the rate the adapter sustained. It
// reports both p99s and their ratio (target: at most 1.5). Run with
// -benchtime=2000x or so: b.N is the number of clicks of each phase.
func BenchmarkAckLatency(b *testing.B) {
	clicks := b.N
	// The adapter.
	fake := discordfake.New(b)
	kit := testkit.New(b)
	d, err := bot.New(bot.Config{Token: discordfake.Token, Dedupe: kit.Store, Transport: fake.Transport(), Fallback: "x"})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Open(context.Background(), kit.Engine); err != nil {
		b.Fatal(err)
	}
	fake.AwaitConnected(wait)
	b.ResetTimer()
	took := drive(b, fake, clicks, nil, func(user string) { fake.SendDM(user, "/screen") })
	b.StopTimer()
	acks := fake.AckLatencies()
	b.Logf("adapter: %d clicks in %v, at most %d requests in a second", clicks, took.Round(time.Millisecond), fake.MaxGlobalRate())
	d.Close()
	fake.Close()
	kit.Store.Close()
	rate := float64(clicks) / took.Seconds()

	// The floor, at the adapter's rate.
	floor := discordfake.New(b)
	defer floor.Close()
	s, _ := discordgo.New("Bot " + discordfake.Token)
	// Its REST calls go through the adapter's own limiter.
	s.Client.Transport = bot.LimitedTransport(floor.Transport())
	s.Identify.Intents = bot.Intents
	var asked atomic.Int64
	question := func(channelID string) {
		n := asked.Add(1)
		row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Yes", Style: discordgo.PrimaryButton, CustomID: bot.EncodeButton(fmt.Sprint("q", n), "yes")},
			discordgo.Button{Label: "No", Style: discordgo.PrimaryButton, CustomID: bot.EncodeButton(fmt.Sprint("q", n), "no")}}}
		if _, err := s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{Content: "Question", Components: []discordgo.MessageComponent{row}}); err != nil {
			b.Error(err)
		}
	}
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}); err != nil {
			b.Error(err)
			return
		}
		content, empty := "Question\n> **Yes**", []discordgo.MessageComponent{}
		if _, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content, Components: &empty}); err != nil {
			b.Error(err)
		}
		question(i.ChannelID)
	})
	if err := s.Open(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	floor.AwaitConnected(wait)
	drive(b, floor, clicks, &pacer{every: time.Duration(float64(time.Second) / rate)}, func(user string) {
		ch, err := s.UserChannelCreate(user)
		if err != nil {
			b.Error(err)
			return
		}
		question(ch.ID)
	})
	b.Logf("floor: at most %d requests in a second", floor.MaxGlobalRate())
	p50, p99 := percentiles(acks)
	f50, f99 := percentiles(floor.AckLatencies())
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(f50), "floor-p50-ms")
	b.ReportMetric(ms(f99), "floor-p99-ms")
	b.ReportMetric(ms(p99)/ms(f99), "p99/floor")
	b.ReportMetric(rate, "clicks/s")
	b.ReportMetric(0, "ns/op")
}
