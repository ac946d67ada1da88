package staffweb

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/handoff"
	"github.com/intakebot/intakebot/internal/intake"
)

// Report is a week's figures.
type Report struct {
	From, To           time.Time
	Started, Finished  int
	Cases, Urgent      int
	Outcomes           []Count
	PerDay             []DayCount
	Claimed, Unclaimed int
	ClaimP50, ClaimP90 time.Duration
	ClaimBuckets       []Count
}

// Count is a labelled number.
type Count struct {
	Label string
	N     int
}

// DayCount is one day's cases, urgent among them.
type DayCount struct {
	Day       string
	N, Urgent int
}

// weekStart is the Monday 00:00 (clinic time) of t's week.
func weekStart(t time.Time) time.Time {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	off := (int(d.Weekday()) + 6) % 7
	return d.AddDate(0, 0, -off)
}

// BuildReport computes a week's report from the cases, their audit trail
// and the screenings.
func (s *Server) BuildReport(r *http.Request, from time.Time) (Report, error) {
	ctx := r.Context()
	to := from.AddDate(0, 0, 7)
	rep := Report{From: from, To: to}
	var err error
	if rep.Started, rep.Finished, err = s.cfg.Cases.ScreeningCounts(ctx, from, to); err != nil {
		return rep, err
	}
	cases, err := s.cfg.Cases.Cases(ctx, intake.CaseFilter{})
	if err != nil {
		return rep, err
	}
	audit, err := s.cfg.Cases.AuditLog(ctx, "")
	if err != nil {
		return rep, err
	}
	firstClaim := map[string]time.Time{}
	for _, e := range audit {
		if e.Action == "case.claim" && strings.HasPrefix(e.Result, "ok") {
			if _, seen := firstClaim[e.CaseID]; !seen {
				firstClaim[e.CaseID] = e.At
			}
		}
	}
	outcomes := map[string]int{}
	for i := 0; i < 7; i++ {
		rep.PerDay = append(rep.PerDay, DayCount{Day: from.AddDate(0, 0, i).Format("Mon 2")})
	}
	var waits []time.Duration
	buckets := []Count{{Label: "under 15 min"}, {Label: "15–60 min"}, {Label: "1–4 h"}, {Label: "4–24 h"}, {Label: "over a day"}}
	for _, c := range cases {
		at := c.CreatedAt.In(from.Location())
		if at.Before(from) || !at.Before(to) {
			continue
		}
		rep.Cases++
		outcomes[c.Outcome]++
		day := int(at.Sub(from) / (24 * time.Hour))
		if day >= 0 && day < 7 {
			rep.PerDay[day].N++
			if c.Priority == intake.PriorityUrgent {
				rep.PerDay[day].Urgent++
			}
		}
		if c.Priority == intake.PriorityUrgent {
			rep.Urgent++
		}
		if t, ok := firstClaim[c.ID]; ok {
			w := t.Sub(c.CreatedAt)
			waits = append(waits, w)
			switch {
			case w < 15*time.Minute:
				buckets[0].N++
			case w < time.Hour:
				buckets[1].N++
			case w < 4*time.Hour:
				buckets[2].N++
			case w < 24*time.Hour:
				buckets[3].N++
			default:
				buckets[4].N++
			}
		} else {
			rep.Unclaimed++
		}
	}
	rep.Claimed, rep.ClaimBuckets = len(waits), buckets
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	rep.ClaimP50, rep.ClaimP90 = percentile(waits, 50), percentile(waits, 90)
	for o, n := range outcomes {
		rep.Outcomes = append(rep.Outcomes, Count{Label: strings.ReplaceAll(o, "_", " "), N: n})
	}
	sort.Slice(rep.Outcomes, func(i, j int) bool {
		if rep.Outcomes[i].N != rep.Outcomes[j].N {
			return rep.Outcomes[i].N > rep.Outcomes[j].N
		}
		return rep.Outcomes[i].Label < rep.Outcomes[j].Label
	})
	return rep, nil
}

// percentile is the nearest-rank percentile of sorted durations (0 if none).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := (p*len(sorted) + 99) / 100
	if k < 1 {
		k = 1
	}
	return sorted[k-1]
}

func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, sess *session) {
	loc := s.cfg.Location
	from := weekStart(s.cfg.Now().In(loc))
	if wk := r.URL.Query().Get("week"); wk != "" {
		t, err := time.ParseInLocation("2006-01-02", wk, loc)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "Week not understood", "The week must be a date like 2026-11-23.")
			return
		}
		from = weekStart(t)
	}
	rep, err := s.BuildReport(r, from)
	if err != nil {
		s.log.Error("console report", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Report not shown", "The report could not be computed. Please try again.")
		return
	}
	s.cfg.Cases.Audit(r.Context(), intake.AuditEntry{Actor: sess.actor(), Action: "report.view", Result: "ok: week " + from.Format("2006-01-02")})
	var days []Count
	var urgent []int
	for _, d := range rep.PerDay {
		days = append(days, Count{Label: d.Day, N: d.N})
		urgent = append(urgent, d.Urgent)
	}
	data := map[string]any{"R": rep, "Week": from.Format("Mon 2 Jan 2006"), "WeekEnd": rep.To.AddDate(0, 0, -1).Format("Mon 2 Jan 2006"),
		"Prev": from.AddDate(0, 0, -7).Format("2006-01-02"), "Next": from.AddDate(0, 0, 7).Format("2006-01-02"),
		"P50": humanWait(rep.ClaimP50, rep.Claimed), "P90": humanWait(rep.ClaimP90, rep.Claimed),
		"DayChart":     barChart("Cases opened each day (urgent in red)", days, urgent),
		"OutcomeChart": hbarChart("Cases by outcome", rep.Outcomes),
		"ClaimChart":   hbarChart("Time from case to claim", rep.ClaimBuckets)}
	s.render(w, r, http.StatusOK, "report", "Weekly report", sess, data)
}

func humanWait(d time.Duration, n int) string {
	if n == 0 {
		return "no claims"
	}
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m < 1:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// barChart draws vertical bars as SVG, server side; highlight (may be nil)
// is the part of each bar drawn in the urgent colour.
func barChart(title string, bars []Count, highlight []int) template.HTML {
	const w, h, left, bottom, top = 560, 220, 36, 30, 16
	max := 1
	for _, b := range bars {
		if b.N > max {
			max = b.N
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>`, w, h, esc(title), esc(title))
	plotH := float64(h - bottom - top)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, h-bottom, w-8, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">%d</text>`, left-6, top+4, max)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, left-6, h-bottom)
	slot := float64(w-left-8) / float64(len(bars))
	for i, b := range bars {
		x := float64(left) + slot*float64(i) + slot*0.15
		bw := slot * 0.7
		bh := plotH * float64(b.N) / float64(max)
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar"/>`, x, float64(h-bottom)-bh, bw, bh)
		if highlight != nil && highlight[i] > 0 {
			uh := plotH * float64(highlight[i]) / float64(max)
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar urgent"/>`, x, float64(h-bottom)-uh, bw, uh)
		}
		if b.N > 0 {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" class="value" text-anchor="middle">%d</text>`, x+bw/2, float64(h-bottom)-bh-4, b.N)
		}
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="label" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+18, esc(b.Label))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// hbarChart draws horizontal bars with their labels and values.
func hbarChart(title string, bars []Count) template.HTML {
	const w, row, left = 560, 30, 150
	h := row*len(bars) + 16
	if len(bars) == 0 {
		h = 40
	}
	max := 1
	for _, b := range bars {
		if b.N > max {
			max = b.N
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>`, w, h, esc(title), esc(title))
	if len(bars) == 0 {
		sb.WriteString(`<text x="8" y="24" class="label">No cases this week.</text>`)
	}
	for i, b := range bars {
		y := 8 + row*i
		bw := float64(w-left-60) * float64(b.N) / float64(max)
		fmt.Fprintf(&sb, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, left-8, y+17, esc(b.Label))
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="%.1f" height="%d" class="bar"/>`, left, y+2, bw, row-8)
		fmt.Fprintf(&sb, `<text x="%.1f" y="%d" class="value">%d</text>`, float64(left)+bw+6, y+17, b.N)
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// exportPage warns that the export holds health data before it is made.
func (s *Server) exportPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusOK, "export", "Export cases", sess, nil)
}

// exportCSV writes every case with its details, audited with the count.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	cases, err := s.cfg.Cases.Cases(ctx, intake.CaseFilter{})
	if err != nil {
		s.log.Error("console export", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Export not made", "The cases could not be read. Please try again.")
		return
	}
	// Audit first: an export that cannot be recorded is not made.
	if err := s.cfg.Cases.Audit(ctx, intake.AuditEntry{Actor: sess.actor(), Action: "cases.export", Result: fmt.Sprintf("ok: %d cases", len(cases))}); err != nil {
		s.log.Error("audit console export", slog.Any("err", err))
		s.errorPage(w, r, http.StatusInternalServerError, "Export not made", "The export could not be recorded, so it was not made. Please try again.")
		return
	}
	s.log.Info("console export", slog.String("staff_id", sess.userID), slog.Int("cases", len(cases)))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="intakebot-cases-`+s.cfg.Now().UTC().Format("2006-01-02")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"case", "opened_utc", "priority", "outcome", "status", "assignee", "close_reason", "flags", "scores",
		"contact_method", "contact_detail", "best_time", "patient_notes", "closing_note"})
	for _, c := range cases {
		cw.Write(cells(c.ID, c.CreatedAt.UTC().Format(time.RFC3339), string(c.Priority), c.Outcome, string(c.Status), c.Assignee, c.CloseReason,
			strings.Join(s.cfg.FlagLabels(c.Flags), "; "), strings.Join(handoff.ScoreLines(c.Scores), "; "),
			c.Contact.Method, c.Contact.Detail, c.Contact.BestTime, c.Notes, c.CloseNote))
	}
	cw.Flush()
}

// cells defuses spreadsheet formulas: a cell starting with = + - @ or a
// tab is prefixed with an apostrophe, so opening the file runs nothing.
func cells(vs ...string) []string {
	for i, v := range vs {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			vs[i] = "'" + v
		}
	}
	return vs
}
