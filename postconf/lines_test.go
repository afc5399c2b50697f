package postconf

import (
	"strings"
	"testing"
)

// TestReadLogicalLines covers readllines() (readlline.c): the cases of its
// own test program plus CRLF, NUL bytes and a whitespace-first logical line.
func TestReadLogicalLines(t *testing.T) {
	type ll struct {
		text string
		line int
	}
	tests := []struct {
		name  string
		in    string
		want  []ll
		warns int
	}{
		{"leading space before non-comment", " abcde\nfghij\n", []ll{{"fghij", 2}}, 1},
		{"leading space before leading comment", " #abcde\nfghij\n", []ll{{"fghij", 2}}, 0},
		{"comment at beginning of line", "#abc\ndef", []ll{{"def", 2}}, 0},
		{"empty line before text", "\nabc\n", []ll{{"abc", 2}}, 0},
		{"whitespace line before text", " \nabc\n", []ll{{"abc", 2}}, 0},
		{"no newline at end", "abc def", []ll{{"abc def", 1}}, 0},
		{"comment without newline", "#abc def", nil, 0},
		{"continuation keeps leading whitespace, drops newline", "abc\n def\n", []ll{{"abc def", 1}}, 0},
		{"continuation with tab", "abc\n\tdef\n", []ll{{"abc\tdef", 1}}, 0},
		{"indented comment inside continuation", "abc\n #def\n ghi", []ll{{"abc ghi", 1}}, 0},
		{"flush-left comment inside continuation", "abc\n#def\n ghi", []ll{{"abc ghi", 1}}, 0},
		{"whitespace line inside continuation", "abc\n \n ghi", []ll{{"abc ghi", 1}}, 0},
		{"empty line inside continuation", "abc\n\n ghi", []ll{{"abc ghi", 1}}, 0},
		{"comment ends nothing", "abc\n #def\n", []ll{{"abc", 1}}, 0},
		{"whitespace at end of file", "abc\n ", []ll{{"abc", 1}}, 0},
		{"two logical lines", "a = 1\n  2\nb = 3\n", []ll{{"a = 1  2", 1}, {"b = 3", 3}}, 0},
		{"hash inside a value is text", "a = 1 # lan\n", []ll{{"a = 1 # lan", 1}}, 0},
		{"CRLF: trailing CR dropped, inner CR kept", "a = 1\r\n 2\r\nb = 3\r\n", []ll{{"a = 1\r 2", 1}, {"b = 3", 3}}, 0},
		{"CR only line is blank", "a = 1\n\r\n 2\n", []ll{{"a = 1 2", 1}}, 0},
		{"NUL ends the text", "a = 1\x002\nb = 3\n", []ll{{"a = 1", 1}, {"b = 3", 2}}, 0},
		{"whitespace-first logical line with continuation dropped", "  x = 1\n  y\nz = 2\n", []ll{{"z = 2", 3}}, 1},
		{"vertical tab and form feed are blanks", "a = 1\n\v\f\n\f2\n", []ll{{"a = 1\f2", 1}}, 0},
		{"empty input", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := readLogicalLines("main.cf", []byte(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d logical lines %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].Text != tt.want[i].text || got[i].Line != tt.want[i].line {
					t.Errorf("line %d = {%q %d}, want {%q %d}", i, got[i].Text, got[i].Line, tt.want[i].text, tt.want[i].line)
				}
			}
			if len(warns) != tt.warns {
				t.Errorf("%d warnings %v, want %d", len(warns), warns, tt.warns)
			}
			for _, w := range warns {
				if !strings.Contains(w.Msg, "must not start with whitespace") || w.Pos.File != "main.cf" || w.Pos.Line == 0 {
					t.Errorf("warning %v lacks the position or message", w)
				}
			}
		})
	}
}
