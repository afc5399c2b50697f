package display

import "testing"

func TestEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text, ünïcode", "plain text, ünïcode"},
		{"250 ok\x1b[2J\x1b]0;owned\x07", `250 ok\x1b[2J\x1b]0;owned\x07`},
		{"hidden\rshown", `hidden\rshown`},
		{"a\tb", `a\tb`},
		{"two\nlines", "two\nlines"},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"del\x7f", `del\x7f`},
		{`/^\[.*\]$/`, `/^\[.*\]$/`},
		{"nul\x00", `nul\x00`},
	} {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Line("a\nb\x1b"); got != `a\nb\x1b` {
		t.Errorf("Line = %q", got)
	}
}
