package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/intakebot/intakebot/internal/intake"
)

// termWriter shows text from the database on a terminal as it is, never as
// terminal commands: control and bidirectional-override characters (kept
// out of new data when it is received, but possibly in older rows) are
// printed as visible escapes such as \x1b and \u202e.
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	s := string(p)
	if !intake.HasUnsafe(s) {
		return t.w.Write(p)
	}
	if _, err := io.WriteString(t.w, termEscape(s)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func termEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case intake.UnsafeRune(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case intake.UnsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
