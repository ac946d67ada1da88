package clinic

import (
	"fmt"
	"strings"
	"time"
)

var dayNames = [7]string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// HoursProblems lists what stops the clinic's opening hours from being
// used for paging and reminders: a placeholder or missing time zone, or a
// day whose hours are a placeholder or missing. Empty means usable.
func (c *Clinic) HoursProblems() []string {
	var out []string
	if strings.TrimSpace(c.TimeZone) == "" || IsPlaceholder(c.TimeZone) || c.loc == nil {
		out = append(out, "time_zone is not set (use an IANA name such as America/Chicago)")
	}
	open := false
	for _, d := range append(dayNames[1:], dayNames[0]) {
		out = append(out, c.dayProblem(d)...)
		if _, _, ok := c.span(d); ok {
			open = true
		}
	}
	if len(out) == 0 && !open {
		out = append(out, "the clinic is closed every day: set at least one day's hours")
	}
	return out
}

func (c *Clinic) dayProblem(d string) []string {
	v, ok := c.Hours[d]
	switch {
	case !ok || strings.TrimSpace(v) == "":
		return []string{fmt.Sprintf("hours for %s are missing (HH:MM-HH:MM or \"closed\")", d)}
	case IsPlaceholder(v):
		return []string{fmt.Sprintf("hours for %s are still the placeholder %q", d, v)}
	}
	return nil
}

// span returns a day's opening and closing times as minutes after midnight.
func (c *Clinic) span(day string) (from, to int, ok bool) {
	v := c.Hours[day]
	if !hoursSpec.MatchString(v) {
		return 0, 0, false
	}
	var h1, m1, h2, m2 int
	fmt.Sscanf(v, "%d:%d-%d:%d", &h1, &m1, &h2, &m2)
	from, to = h1*60+m1, h2*60+m2
	return from, to, to > from
}

// HoursKnown reports whether the opening hours can be used.
func (c *Clinic) HoursKnown() bool { return len(c.HoursProblems()) == 0 }

func (c *Clinic) at(day time.Time, minutes int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.Location()).Add(time.Duration(minutes) * time.Minute)
}

// IsOpen reports whether the clinic is open at t. With unknown hours it is
// taken to be open (nothing is said about hours that are not known).
func (c *Clinic) IsOpen(t time.Time) bool {
	if !c.HoursKnown() {
		return true
	}
	t = t.In(c.Location())
	from, to, ok := c.span(dayNames[t.Weekday()])
	if !ok {
		return false
	}
	return !t.Before(c.at(t, from)) && t.Before(c.at(t, to))
}

// NextOpening returns when the clinic next opens after t (t itself while it
// is open); false with unknown hours.
func (c *Clinic) NextOpening(t time.Time) (time.Time, bool) {
	if !c.HoursKnown() {
		return time.Time{}, false
	}
	t = t.In(c.Location())
	for i := 0; i <= 7; i++ {
		day := t.AddDate(0, 0, i)
		from, to, ok := c.span(dayNames[day.Weekday()])
		if !ok {
			continue
		}
		open, close := c.at(day, from), c.at(day, to)
		if t.Before(open) {
			return open, true
		}
		if t.Before(close) {
			return t, true
		}
	}
	return time.Time{}, false
}

// WorkingDayAfter returns the end of one working day after t: the closing
// time of the first open day after t's own day. A case opened on Friday
// afternoon is thus due by Monday's close, not Saturday. With unknown
// hours it is t plus 24 hours.
func (c *Clinic) WorkingDayAfter(t time.Time) time.Time {
	if !c.HoursKnown() {
		return t.Add(24 * time.Hour)
	}
	t = t.In(c.Location())
	for i := 1; i <= 8; i++ {
		day := t.AddDate(0, 0, i)
		if _, to, ok := c.span(dayNames[day.Weekday()]); ok {
			return c.at(day, to)
		}
	}
	return t.Add(24 * time.Hour)
}
