package intake_test

import (
	"testing"

	"github.com/intakebot/intakebot/internal/intake"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"line one\r\nline two\rthree", "line one\nline two\nthree"},
		{"clear\x1b[2Jscreen", "clear[2Jscreen"},
		{"\x1b]0;pwned\x07title", "]0;pwnedtitle"},
		{"nul\x00byte", "nulbyte"},
		{"evil\u202etxt.exe", "eviltxt.exe"},
		{"isolate\u2066x\u2069", "isolatex"},
		{"c1\u009bcontrol", "c1control"},
		{"bad utf8 \xff\xfe here", "bad utf8  here"},
		{"emoji 👩‍⚕️ ok, tab\tkept", "emoji 👩‍⚕️ ok, tab\tkept"},
		{"עברית and العربية with \u200f mark", "עברית and العربية with \u200f mark"},
		{"ünïcødé — fine", "ünïcødé — fine"},
	} {
		if got := intake.CleanText(tc.in); got != tc.want {
			t.Errorf("CleanText(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if intake.HasUnsafe(intake.CleanText(tc.in)) {
			t.Errorf("CleanText(%q) still unsafe", tc.in)
		}
	}
}
