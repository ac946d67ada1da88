package bot_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/bot"
	"github.com/intakebot/intakebot/bot/discordfake"
	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/testkit"
)

const burst = 1000

var cardTitle = regexp.MustCompile(`Case (C-[0-9A-Z]+)`)

// BenchmarkCardBurst: a burst of 1,000 cases (a tenth urgent) is dispatched
// through the real adapter to the fake Discord, which fails the run if more
// than 50 requests arrive in any second. It reports cards per second and
// the time from case creation to card (p50, p99), and checks that nothing
// is lost: every case has its card, every urgent case its first page (in
// the card's own message). Each iteration is one burst of about 22
// seconds: run it with -benchtime=1x.
func BenchmarkCardBurst(b *testing.B) {
	for i := 0; i < b.N; i++ {
		fake := discordfake.New(b)
		kit := testkit.New(b)
		d, err := bot.New(bot.Config{Token: discordfake.Token, Dedupe: kit.Store, Transport: fake.Transport(), Fallback: "x",
			Staff: kit.Store, StaffChannelID: staffChannel, StaffRoleIDs: []string{staffRole}, OncallRoleID: oncallRole})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Open(context.Background(), kit.Engine); err != nil {
			b.Fatal(err)
		}
		disp := &handoff.Dispatcher{Store: kit.Store, Notifier: d.Notifier(staffChannel), Poll: 10 * time.Millisecond,
			Paging: handoff.Paging{Interval: time.Hour}, Workers: handoff.BurstWorkers}
		ctx, cancel := context.WithCancel(context.Background())
		created := map[string]time.Time{}
		urgent := map[string]bool{}
		for n := 0; n < burst; n++ {
			p, err := kit.Store.Patient(ctx, bot.Channel, fmt.Sprintf("7%017d", n))
			if err != nil {
				b.Fatal(err)
			}
			pr := intake.PriorityNormal
			if n%10 == 9 {
				pr = intake.PriorityUrgent
			}
			c, err := kit.Store.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "positive", Priority: pr})
			if err != nil {
				b.Fatal(err)
			}
			created[c.ID], urgent[c.ID] = c.CreatedAt, pr == intake.PriorityUrgent
		}
		start := time.Now()
		go disp.Run(ctx)
		if !fake.Await(5*time.Minute, func() bool { return fake.ChannelLen(staffChannel) >= burst }) {
			b.Fatalf("%d cards of %d", len(cards(fake)), burst)
		}
		elapsed := time.Since(start)
		cancel()
		var all, urgentLat []time.Duration
		seen, paged := map[string]bool{}, 0
		for _, m := range cards(fake) {
			id := cardTitle.FindStringSubmatch(m.Embeds[0])
			if id == nil {
				b.Fatalf("card without a case id: %s", m.Embeds[0])
			}
			if seen[id[1]] {
				b.Errorf("two cards for case %s", id[1])
			}
			seen[id[1]] = true
			if urgent[id[1]] && strings.Contains(m.Content, "page 1") && strings.Contains(m.Content, "<@&"+oncallRole+">") {
				paged++
			}
			lat := m.At.Sub(created[id[1]])
			all = append(all, lat)
			if urgent[id[1]] {
				urgentLat = append(urgentLat, lat)
			}
		}
		p50, p99 := percentiles(all)
		u50, u99 := percentiles(urgentLat)
		b.ReportMetric(float64(burst)/elapsed.Seconds(), "cards/s")
		b.ReportMetric(p50.Seconds(), "p50-s")
		b.ReportMetric(p99.Seconds(), "p99-s")
		b.ReportMetric(u99.Seconds(), "urgent-p99-s")
		b.ReportMetric(float64(fake.MaxGlobalRate()), "max-req/s")
		b.ReportMetric(0, "ns/op")
		b.Logf("urgent p50 %v p99 %v", u50, u99)
		if len(seen) != burst || paged != burst/10 {
			b.Errorf("%d cases carded of %d, %d urgent cards with their page of %d", len(seen), burst, paged, burst/10)
		}
		if n := len(fake.Channel(staffChannel)); n != burst {
			b.Errorf("%d messages in the staff channel, want %d (one per case)", n, burst)
		}
		if fake.MaxGlobalRate() > discordfake.GlobalLimit {
			b.Errorf("%d requests in one second", fake.MaxGlobalRate())
		}
		d.Close()
		fake.Close()
	}
}
