package clinic

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func loadHours(t *testing.T, tz string, hours map[string]string) *Clinic {
	t.Helper()
	var b strings.Builder
	b.WriteString("name: Test Clinic\nphone: \"555-0100\"\ntime_zone: " + tz + "\nhours:\n")
	for d, v := range hours {
		b.WriteString("  " + d + ": \"" + v + "\"\n")
	}
	b.WriteString("crisis_resources:\n  - name: Emergency\n    how: call 911\n")
	c, err := LoadClinic(fstest.MapFS{"clinic.yaml": {Data: []byte(b.String())}}, "clinic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func weekdays9to5() map[string]string {
	return map[string]string{"monday": "09:00-17:00", "tuesday": "09:00-17:00", "wednesday": "09:00-17:00", "thursday": "09:00-17:00",
		"friday": "09:00-17:00", "saturday": "closed", "sunday": "closed"}
}

func TestHoursProblemsNameWhatIsMissing(t *testing.T) {
	h := weekdays9to5()
	h["friday"] = "(hours)"
	delete(h, "sunday")
	c := loadHours(t, "\"(clinic time zone)\"", h)
	got := strings.Join(c.HoursProblems(), "\n")
	for _, want := range []string{"time_zone is not set", "friday are still the placeholder", "sunday are missing"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
	if c.HoursKnown() || !c.IsOpen(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)) {
		t.Error("unknown hours must be treated as open (nothing said about them)")
	}
	if got := c.WorkingDayAfter(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("unknown hours: working day after = %v, want +24h", got)
	}
}

func TestOpeningHoursInTheClinicsZone(t *testing.T) {
	c := loadHours(t, "America/Chicago", weekdays9to5())
	if p := c.HoursProblems(); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	chi, _ := time.LoadLocation("America/Chicago")
	cases := []struct {
		at       time.Time
		open     bool
		next     time.Time
		dayAfter time.Time
	}{
		// Wednesday 10:00 Chicago: open; due by Thursday's close.
		{time.Date(2026, 11, 25, 10, 0, 0, 0, chi), true, time.Date(2026, 11, 25, 10, 0, 0, 0, chi), time.Date(2026, 11, 26, 17, 0, 0, 0, chi)},
		// Wednesday 08:59: closed, opens at 09:00.
		{time.Date(2026, 11, 25, 8, 59, 0, 0, chi), false, time.Date(2026, 11, 25, 9, 0, 0, 0, chi), time.Date(2026, 11, 26, 17, 0, 0, 0, chi)},
		// Friday 17:00 sharp: closed; opens Monday; due by Monday's close.
		{time.Date(2026, 11, 27, 17, 0, 0, 0, chi), false, time.Date(2026, 11, 30, 9, 0, 0, 0, chi), time.Date(2026, 11, 30, 17, 0, 0, 0, chi)},
		// Saturday: closed; due by Monday's close.
		{time.Date(2026, 11, 28, 12, 0, 0, 0, chi), false, time.Date(2026, 11, 30, 9, 0, 0, 0, chi), time.Date(2026, 11, 30, 17, 0, 0, 0, chi)},
		// 15:30 UTC on a Wednesday is 09:30 in Chicago: open.
		{time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC), true, time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC), time.Date(2026, 11, 26, 17, 0, 0, 0, chi)},
	}
	for _, tc := range cases {
		if got := c.IsOpen(tc.at); got != tc.open {
			t.Errorf("IsOpen(%v) = %v", tc.at, got)
		}
		if got, ok := c.NextOpening(tc.at); !ok || !got.Equal(tc.next) {
			t.Errorf("NextOpening(%v) = %v, want %v", tc.at, got, tc.next)
		}
		if got := c.WorkingDayAfter(tc.at); !got.Equal(tc.dayAfter) {
			t.Errorf("WorkingDayAfter(%v) = %v, want %v", tc.at, got, tc.dayAfter)
		}
	}
}
