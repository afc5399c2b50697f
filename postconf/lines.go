package postconf

import (
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// logicalLine is one main.cf or master.cf entry after continuation lines were
// joined. Line is the physical line where it starts.
type logicalLine struct {
	Text string
	Line int
	// Cont lists where each continuation line starts in Text, with its
	// physical line number, so that a part of an entry (a master.cf -o on
	// its own line) can be located.
	Cont []lineStart
}

type lineStart struct{ Off, Line int }

// lineAt returns the physical line of byte offset off in Text.
// Cont is in ascending offset order: a binary search keeps locating every
// -o of an entry of n continuation lines at n·log n, not n².
func (l logicalLine) lineAt(off int) int {
	i := sort.Search(len(l.Cont), func(i int) bool { return l.Cont[i].Off > off })
	if i == 0 {
		return l.Line
	}
	return l.Cont[i-1].Line
}

// isBlank mirrors Postfix's ISSPACE for the bytes that matter in config
// files: space, tab, CR, LF, vertical tab and form feed.
func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// readLogicalLines splits a configuration file into logical lines the way
// Postfix's readllines() does (postconf(5), "SYNTAX"; master(5)):
//   - a line whose first non-blank character is '#' is a comment, and a line
//     holding only whitespace is blank; both are skipped and do NOT end a
//     logical line that is being continued;
//   - a line starting with whitespace continues the previous logical line;
//   - a logical line that starts with whitespace (nothing to continue) is
//     dropped with the warning Postfix prints.
//
// Trailing whitespace (including the CR of CRLF files) is removed. A NUL byte
// ends the logical line's text, as it does in Postfix's C strings.
func readLogicalLines(file string, data []byte) ([]logicalLine, []diag.Warning) {
	// The file is made a string once, and a logical line of one physical
	// line is a substring of it: copying each line twice (to a buffer,
	// then to its string) was most of what reading a dump allocated. A
	// line with continuations is built in cur.
	src := string(data)
	var (
		out     []logicalLine
		warns   []diag.Warning
		one     string // the logical line while it is one physical line
		cur     []byte // the logical line once it has continuations
		built   bool   // cur, not one, holds it
		curLine int
		cont    []lineStart
		have    bool
		orphan  bool // the current logical line started with whitespace
	)
	flush := func() {
		if !have {
			return
		}
		text := one
		if built {
			text = string(cur)
		}
		if i := strings.IndexByte(text, 0); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimRightFunc(text, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) })
		if orphan {
			warns = append(warns, diag.Warning{Pos: diag.Pos{File: file, Line: curLine},
				Msg: "logical line must not start with whitespace: " + quote(diag.Shorten(text))})
		} else {
			out = append(out, logicalLine{Text: text, Line: curLine, Cont: cont})
		}
		one, built, have, orphan, cont = "", false, false, false, nil
	}
	lineNo := 0
	for len(src) > 0 {
		lineNo++
		var phys string
		if i := strings.IndexByte(src, '\n'); i >= 0 {
			phys, src = src[:i], src[i+1:]
		} else {
			phys, src = src, ""
		}
		j := 0
		for j < len(phys) && isBlank(phys[j]) {
			j++
		}
		if j == len(phys) || phys[j] == '#' {
			continue // blank or comment: skipped, does not end a continuation
		}
		if j > 0 { // continuation
			if have {
				// readllines() appends the next physical line as it is,
				// leading whitespace included and without the newline.
				if !built {
					cur = append(cur[:0], one...)
					built = true
				}
				cont = append(cont, lineStart{Off: len(cur), Line: lineNo})
				cur = append(cur, phys...)
				continue
			}
			have, orphan, curLine = true, true, lineNo
			one = phys
			continue
		}
		flush()
		have, curLine = true, lineNo
		one = phys
	}
	flush()
	return out, warns
}

func quote(s string) string { return `"` + s + `"` }
