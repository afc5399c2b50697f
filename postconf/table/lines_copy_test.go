package table

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// logicalLinesByCopy is LogicalLines as it was before it took substrings
// of one copy of the file: every logical line built in a buffer and
// copied. The two must agree on every input.
func logicalLinesByCopy(data []byte, file string) ([]Line, []diag.Warning) {
	var (
		lines  []Line
		warns  []diag.Warning
		buf    []byte
		first  int
		last   int
		lineno int
	)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		text := string(buf)
		if i := strings.IndexByte(text, 0); i >= 0 {
			warns = append(warns, diag.Warning{Pos: diag.Pos{File: file, Line: first},
				Msg: "text after null byte is ignored"})
			text = text[:i]
		}
		if isSpace(buf[0]) {
			warns = append(warns, diag.Warning{Pos: diag.Pos{File: file, Line: first},
				Msg: fmt.Sprintf("logical line must not start with whitespace: %q", diag.Shorten(text))})
		} else if text != "" {
			lines = append(lines, Line{Text: text, First: first, Last: last})
		}
		buf = buf[:0]
	}
	for len(data) > 0 {
		var phys []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			phys, data = data[:i], data[i+1:]
		} else {
			phys, data = data, nil
		}
		lineno++
		j := 0
		for j < len(phys) && isSpace(phys[j]) {
			j++
		}
		if j == len(phys) || phys[j] == '#' {
			continue
		}
		if j == 0 || len(buf) == 0 {
			// Text at the left margin starts a logical line; so does
			// indented text when nothing precedes it (it is then dropped).
			if j == 0 {
				flush()
			}
			if len(buf) == 0 {
				first = lineno
			}
		}
		buf = append(buf, phys...)
		last = lineno
	}
	flush()
	return lines, warns
}

func TestLogicalLinesMatchesCopy(t *testing.T) {
	pieces := []string{"a", "b c", " ", "\t", "#", "# x", "\n", "\n", "\n", "\x00", "10.0.0.0/8 OK", "  cont", "\r", "if /x/", "endif"}
	rng := rand.New(rand.NewSource(1))
	cases := []string{"", "\n", "a", "a\n", " a\nb\n", "a\n b\n  c\nd", "#x\n a\n", "a\x00b\n c\n", "\x00\n", " \x00\n"}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for k := rng.Intn(12); k > 0; k-- {
			b.WriteString(pieces[rng.Intn(len(pieces))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		gl, gw := LogicalLines([]byte(c), "f")
		wl, ww := logicalLinesByCopy([]byte(c), "f")
		if len(gl) == 0 && len(wl) == 0 {
			gl, wl = nil, nil
		}
		if !reflect.DeepEqual(gl, wl) || !reflect.DeepEqual(gw, ww) {
			t.Fatalf("%q:\n got %#v %v\nwant %#v %v", c, gl, gw, wl, ww)
		}
	}
}
