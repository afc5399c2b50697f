// Package diag holds the position and error types shared by every reader in
// postconf/ (main.cf, master.cf, postconf dumps, lookup tables, match lists).
//
// Errors follow BurntSushi/toml's ParseError: Error() is one line naming the
// file and line ("main.cf:12: ..."), ErrorWithPosition() adds the offending
// text with a caret. Positions from `postconf -n` dumps carry no line number:
// Line is 0 then, and the message says so rather than inventing one.
package diag

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pos is where a value came from. Line is 1-based; 0 means the source has no
// line numbers (a postconf dump read from stdin, a built-in default).
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return ""
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
}

// IsZero reports whether p names no place at all.
func (p Pos) IsZero() bool { return p.File == "" && p.Line == 0 }

// Error is a problem in an input file. Text is the offending logical line (or
// a prefix of it when it is very long); Col, when > 0, is the 1-based byte
// column in Text that the caret form points at.
type Error struct {
	Pos
	Msg  string
	Text string
	Col  int
}

// maxShown bounds how much of an offending line an error repeats: a
// multi-megabyte line must not turn into a multi-megabyte message.
const maxShown = 120

func (e *Error) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Text != "" {
		fmt.Fprintf(&b, ": %q", Shorten(e.Text))
	}
	return b.String()
}

// ErrorWithPosition renders the error followed by the offending text and a
// caret under Col.
func (e *Error) ErrorWithPosition() string {
	var b strings.Builder
	b.WriteString(e.Error())
	if e.Text == "" {
		return b.String()
	}
	t := printable(Shorten(e.Text))
	fmt.Fprintf(&b, "\n\n    %s\n", t)
	if e.Col > 0 && e.Col <= len(t)+1 {
		fmt.Fprintf(&b, "    %s^\n", strings.Repeat(" ", e.Col-1))
	}
	return b.String()
}

// Shorten cuts s to a length that is reasonable to print in a message.
func Shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + fmt.Sprintf("... (%d bytes)", len(s))
}

// Errorf builds an *Error at pos.
func Errorf(pos Pos, text string, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Text: text}
}

// Warning is a non-fatal remark, the equivalent of a "postconf: warning:" line.
type Warning struct {
	Pos Pos    `json:"pos"`
	Msg string `json:"message"`
}

func (w Warning) String() string {
	if s := w.Pos.String(); s != "" {
		return s + ": " + w.Msg
	}
	return w.Msg
}

// printable escapes control bytes and invalid UTF-8 as \xNN, so that a
// binary file's line cannot drive the terminal. Column counts stay right
// for the printable text before the first escape.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1, r < 0x20 && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}
