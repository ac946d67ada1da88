package intake

import (
	"strings"
	"unicode/utf8"
)

// MaxTextLength is the longest message the engine takes from a patient on
// any channel, in characters; longer ones are refused with a message.
const MaxTextLength = 2000

// UnsafeRune reports whether r must not reach a terminal or a staff screen
// from patient or staff text: control characters other than tab and newline
// (an ESC starts a terminal escape sequence), and the invisible
// bidirectional embeddings, overrides and isolates that make text read
// differently from what it holds. Ordinary Unicode, emoji (with their
// joiners) and right-to-left scripts and marks are not unsafe.
func UnsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0xfeff || r == 0x2028 || r == 0x2029 || r == utf8.RuneError:
		return true
	}
	return false
}

// HasUnsafe reports whether s holds an unsafe rune or invalid UTF-8.
func HasUnsafe(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, UnsafeRune)
}

// CleanText is free text as it is kept: valid UTF-8, line breaks as "\n",
// and no unsafe runes (they are dropped).
func CleanText(s string) string {
	if !HasUnsafe(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n").Replace(s)
	return strings.Map(func(r rune) rune {
		if UnsafeRune(r) {
			return -1
		}
		return r
	}, s)
}
