package postconf

import (
	"strings"
	"testing"
)

// line skips the folding copy for values already folded; it must print
// what folding prints for every value.
func TestLineFolding(t *testing.T) {
	for _, v := range []string{
		"", " ", "a", "a b", "a  b", " a", "a ", "a\tb", "a\nb", "a\n\tb",
		"permit_mynetworks, reject_unauth_destination", "$a $b",
		"x\u00a0y", "x\u2003y", "\u00e9t\u00e9 ok", "a\vb", "a\fb", "a\rb", "a\x00b",
	} {
		want := "p = " + strings.Join(strings.Fields(v), " ")
		if strings.Join(strings.Fields(v), " ") == "" {
			want = "p ="
		}
		if got := line("p", v); got != want {
			t.Errorf("line(%q) = %q, want %q", v, got, want)
		}
	}
}
