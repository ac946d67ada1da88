package console

import (
	"regexp"
	"strings"
)

// ANSI styles used on a terminal.
const (
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
	ansiReset = "\x1b[0m"
)

var (
	mdBold    = regexp.MustCompile(`\*\*([^*\n]+?)\*\*|__([^_\n]+?)__`)
	mdLink    = regexp.MustCompile(`\[([^\]\n]+)\]\((https?://[^)\s]+)\)`)
	mdCode    = regexp.MustCompile("`([^`\n]+)`")
	mdEscaped = regexp.MustCompile(`\\([\\*_~|<>@\[\]` + "`" + `])`)
)

// Markdown renders the light markdown of the bot's copy and knowledge base
// for a terminal: **bold** and __bold__ in bold (ansi) or plain, "- " and
// "* " list items as bullets, "# " headings in bold, [text](url) links as
// "text (url)", `code` as its text, Discord's "-# " small text dimmed, and
// backslash escapes as the character. Without ansi no escape sequence is
// written, so a pipe or a file gets plain text.
func Markdown(text string, ansi bool) string {
	bold := func(s string) string {
		if ansi {
			return ansiBold + s + ansiReset
		}
		return s
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		indent := l[:len(l)-len(trimmed)]
		switch {
		case strings.HasPrefix(trimmed, "-# "):
			l = strings.TrimPrefix(trimmed, "-# ")
			if ansi {
				l = ansiDim + l + ansiReset
			}
		case strings.HasPrefix(trimmed, "- "), strings.HasPrefix(trimmed, "* "):
			l = indent + "• " + trimmed[2:]
		case strings.HasPrefix(trimmed, "### "), strings.HasPrefix(trimmed, "## "), strings.HasPrefix(trimmed, "# "):
			l = bold(strings.TrimLeft(trimmed, "# "))
		}
		l = mdBold.ReplaceAllStringFunc(l, func(m string) string {
			sub := mdBold.FindStringSubmatch(m)
			return bold(sub[1] + sub[2])
		})
		l = mdLink.ReplaceAllString(l, "$1 ($2)")
		l = mdCode.ReplaceAllString(l, "$1")
		l = mdEscaped.ReplaceAllString(l, "$1")
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
