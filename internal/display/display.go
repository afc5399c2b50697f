// Package display makes untrusted text safe to print on a terminal.
// Server replies and main.cf values can carry escape sequences (ESC [ ...
// recolours, retitles or rewrites the screen; ESC ] 52 writes the
// clipboard on some terminals), BEL, CR (which hides what precedes it),
// C1 controls, bidirectional overrides and invalid UTF-8. Renderers for
// people (tables, Markdown, transcripts) pass such text through Escape;
// JSON and SARIF keep it exact (their encoders escape controls).
package display

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every control character written as a Go-style
// escape (\r, \t, \x1b, \u0085, \u202e) and every invalid UTF-8 byte as
// \xNN. Newlines are kept: renderers use them for multi-line cells. A
// backslash stays as it is (regular expressions in main.cf are full of
// them), so the result is for reading, not for parsing back.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Line is Escape that also escapes newlines, for text that must stay on
// one line.
func Line(s string) string {
	return strings.ReplaceAll(Escape(s), "\n", `\n`)
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n') || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || unsafeRune(r) {
			return true
		}
		i += n
	}
	return false
}

// unsafeRune: C1 controls, and the invisible marks that reorder or hide
// text (bidirectional embeddings, overrides and isolates, line and
// paragraph separators).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}
