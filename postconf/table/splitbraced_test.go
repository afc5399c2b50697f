package table

import (
	"slices"
	"testing"
)

// TestSplitBraced follows mystrtokq() with "{}": separators split outside
// braces, a '}' at level zero is text, an unclosed '{' runs to the end.
func TestSplitBraced(t *testing.T) {
	for _, tc := range []struct {
		in, seps string
		want     []string
	}{
		{"", " \t", nil},
		{" \t ", " \t", nil},
		{"smtp inet n - y - - smtpd", " \t", []string{"smtp", "inet", "n", "-", "y", "-", "-", "smtpd"}},
		{"  a\tb  ", " \t", []string{"a", "b"}},
		{"-o {smtpd_recipient_restrictions = permit, reject} x", " \t", []string{"-o", "{smtpd_recipient_restrictions = permit, reject}", "x"}},
		{"a}b c", " ", []string{"a}b", "c"}},
		{"{a {b c} d} e", " ", []string{"{a {b c} d}", "e"}},
		{"{a b c", " ", []string{"{a b c"}},
		{"x{y z}w v", " ", []string{"x{y z}w", "v"}},
		{"permit_mynetworks,reject_unauth_destination, ,x", ", \t", []string{"permit_mynetworks", "reject_unauth_destination", "x"}},
		{"a\xffb c", "\xff ", []string{"a", "b", "c"}},
	} {
		if got := SplitBraced(tc.in, tc.seps); !slices.Equal(got, tc.want) {
			t.Errorf("SplitBraced(%q, %q) = %q, want %q", tc.in, tc.seps, got, tc.want)
		}
	}
}
