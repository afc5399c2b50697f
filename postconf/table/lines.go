package table

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Line is one logical line of a table source file.
type Line struct {
	Text  string
	First int // line number of the first physical line
	Last  int // line number of the last physical line
}

// LogicalLines splits data into logical lines as readllines() does
// (readlline.c): blank lines and lines whose first non-blank character is
// '#' are dropped and do not end a logical line; a line starting with
// whitespace continues the previous one (its whitespace is kept). A logical
// line that itself starts with whitespace is dropped with a warning. Text
// after a NUL byte is cut, as the C string functions that parse it would.
func LogicalLines(data []byte, file string) ([]Line, []diag.Warning) {
	// One copy of the file: a logical line of one physical line (nearly
	// all of them) is a substring of it, not an allocation of its own, and
	// the slice is sized once (a 1M-line cidr table made 1M strings and
	// 160 MB of slice growth).
	src := string(data)
	var (
		lines = make([]Line, 0, strings.Count(src, "\n")+1)
		warns []diag.Warning
		cur   string // the pending logical line while it is one physical line
		buf   []byte // the pending logical line once it spans several
		n     int    // physical lines in the pending logical line
		first int
		last  int
		line  int
	)
	flush := func() {
		if n == 0 {
			return
		}
		text := cur
		if n > 1 {
			text = string(buf)
		}
		lead := text[0]
		if i := strings.IndexByte(text, 0); i >= 0 {
			warns = append(warns, diag.Warning{Pos: diag.Pos{File: file, Line: first},
				Msg: "text after null byte is ignored"})
			text = text[:i]
		}
		if isSpace(lead) {
			warns = append(warns, diag.Warning{Pos: diag.Pos{File: file, Line: first},
				Msg: fmt.Sprintf("logical line must not start with whitespace: %q", diag.Shorten(text))})
		} else if text != "" {
			lines = append(lines, Line{Text: text, First: first, Last: last})
		}
		n, cur, buf = 0, "", buf[:0]
	}
	for off := 0; off < len(src); {
		var phys string
		if i := strings.IndexByte(src[off:], '\n'); i >= 0 {
			phys, off = src[off:off+i], off+i+1
		} else {
			phys, off = src[off:], len(src)
		}
		line++
		j := 0
		for j < len(phys) && isSpace(phys[j]) {
			j++
		}
		if j == len(phys) || phys[j] == '#' {
			continue
		}
		if j == 0 || n == 0 {
			// Text at the left margin starts a logical line; so does
			// indented text when nothing precedes it (it is then dropped).
			if j == 0 {
				flush()
			}
			if n == 0 {
				first = line
			}
		}
		switch n {
		case 0:
			cur = phys
		case 1:
			buf = append(append(buf[:0], cur...), phys...)
		default:
			buf = append(buf, phys...)
		}
		n++
		last = line
	}
	flush()
	return lines, warns
}

// inlineRules converts "{ {rule}, {rule} ... }" to one rule per line, as
// dict_stream_open() does for cidr:, regexp: and pcre: tables given inline
// (Postfix 3.7 and later). The result is parsed as if it were a file.
func inlineRules(name string) ([]string, error) {
	inner, err := extpar(name, false)
	if err != nil {
		return nil, err
	}
	var rules []string
	for _, tok := range SplitBraced(inner, ", \t\r\n") {
		r, err := extpar(tok, true)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// Balpar returns the length of the balanced {...} text at the start of s,
// or 0 (balpar.c).
func Balpar(s string) int {
	if s == "" || s[0] != '{' {
		return 0
	}
	level := 1
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '}':
			level--
			if level == 0 {
				return i + 1
			}
		case '{':
			level++
		}
	}
	return 0
}

// extpar strips the outer {} from s (extpar.c), optionally trimming
// whitespace inside them.
func extpar(s string, strip bool) (string, error) {
	if s == "" || s[0] != '{' {
		return "", fmt.Errorf("no '{' at start of text in %q", s)
	}
	n := Balpar(s)
	if n == 0 {
		return "", fmt.Errorf("missing '}' in %q", s)
	}
	if n != len(s) {
		return "", fmt.Errorf("syntax error after '}' in %q", s)
	}
	inner := s[1 : n-1]
	if strip {
		inner = trimSpace(inner)
	}
	return inner, nil
}

// SplitBraced splits s on runs of separator characters, keeping text
// between balanced braces together (mystrtokq() with "{}"). A closing brace
// at level zero is an ordinary character.
func SplitBraced(s, seps string) []string {
	// A bitmap of the separators instead of a search of seps per byte,
	// and room for a master.cf entry's fields from the start: a fleet
	// splits every entry and every list of every host.
	var set [8]uint32
	for i := 0; i < len(seps); i++ {
		set[seps[i]>>5] |= 1 << (seps[i] & 31)
	}
	isSep := func(c byte) bool { return set[c>>5]&(1<<(c&31)) != 0 }
	var out []string
	i := 0
	for {
		for i < len(s) && isSep(s[i]) {
			i++
		}
		if i >= len(s) {
			return out
		}
		start, level := i, 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '{' {
				level++
			} else if level > 0 && c == '}' {
				level--
			} else if level == 0 && isSep(c) {
				break
			}
		}
		if out == nil {
			out = make([]string, 0, 12)
		}
		out = append(out, s[start:i])
	}
}
