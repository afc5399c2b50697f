package diag

import (
	"strings"
	"testing"
)

func TestErrorForms(t *testing.T) {
	cases := []struct {
		name      string
		err       *Error
		line, pos string
	}{
		{"file and line", &Error{Pos: Pos{File: "main.cf", Line: 3}, Msg: "missing '='", Text: "foo bar", Col: 5},
			`main.cf:3: missing '=': "foo bar"`, "    foo bar\n        ^\n"},
		{"dump without lines", &Error{Pos: Pos{File: "dump.n"}, Msg: "bad"}, "dump.n: bad", ""},
		{"control bytes are escaped", &Error{Pos: Pos{File: "main.cf", Line: 1}, Msg: "bad", Text: "a\x1b[2Jb\xff"},
			`main.cf:1: bad: "a\x1b[2Jb\xff"`, `    a\x1b[2Jb\xff`},
		{"long lines are cut", &Error{Msg: "long", Text: strings.Repeat("x", 5000)}, "(5000 bytes)", "(5000 bytes)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); !strings.Contains(got, tc.line) {
				t.Errorf("Error() = %q, want it to contain %q", got, tc.line)
			}
			got := tc.err.ErrorWithPosition()
			if tc.pos != "" && !strings.Contains(got, tc.pos) {
				t.Errorf("ErrorWithPosition() = %q, want it to contain %q", got, tc.pos)
			}
			if strings.ContainsAny(got, "\x1b\xff") {
				t.Errorf("ErrorWithPosition() passes control bytes through: %q", got)
			}
		})
	}
}
