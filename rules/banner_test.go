package rules

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

var bannerRE = regexp.MustCompile(bannerPattern)

func TestDisclosesMatchesRegexp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"$myhostname ESMTP", false},
		{"$myhostname ESMTP $mail_name", true},
		{"$myhostname ESMTP $mail_name ($mail_version)", true},
		{"$myhostname ESMTP ${mail_name}", true},
		{"$myhostname ESMTP $(mail_name)", true},
		{"$myhostname ESMTP ${(mail_name", true},
		{"$myhostname ESMTP $(mail_names", false},
		{"$myhostname ESMTP mail_name", false},
		{"$myhostname ESMTP $MAIL_VERSION", true},
		{"$myhostname ESMTP $mail_nameſ", true}, // ſ is no word character to \b
		{"$myhostname ESMTP Postfix (Debian/GNU)", true},
		{"$myhostname ESMTP poſtfix", true},
		{"mx.example.com ESMTP Red Hat", true},
		{"mx.example.com ESMTP redhat", true},
		{"mx.example.com ESMTP red  hat", false},
		{"mx.example.com ESMTP 3.7.11", true},
		{"mx.example.com ESMTP v3.7.11", false},
		{"mx.example.com ESMTP 3.7.11a", false},
		{"mx.example.com ESMTP 3.7.11.2", true},
		{"mx.example.com ESMTP 3.7", false},
		{"mx.example.com ESMTP 3..7.1", false},
		{"mx.example.com ESMTP 1.2.3é", true},
		{"mx.example.com ESMTP é1.2.3", true},
		{"10.0.0.1 ESMTP", true},
		{"", false},
		{"\xff1.2.3\xff", true},
		{"ALPINE", true},
		{"Kelvin: \u212a", false},
	} {
		if got := discloses(tc.in); got != tc.want {
			t.Errorf("discloses(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if re := bannerRE.MatchString(tc.in); re != tc.want {
			t.Errorf("the regexp says %v for %q, the table %v", re, tc.in, tc.want)
		}
	}
}

func FuzzDiscloses(f *testing.F) {
	for _, s := range []string{"$mail_name", "${mail_version}x", "1.2.3", "a1.2.3", "poſtfix", "Red hat", "$(mail_name_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := discloses(s), bannerRE.MatchString(s); got != want {
			t.Fatalf("discloses(%q) = %v, the regexp %v", s, got, want)
		}
	})
}

// TestDisclosesRandom compares the two on strings made of the characters
// the pattern turns on, where a difference would hide.
func TestDisclosesRandom(t *testing.T) {
	alphabet := []string{"$", "{", "(", "mail_", "name", "version", "_", "1", "23", ".", " ", "a", "x", "é", "ſ", "\u212a", "post", "fix", "red", "hat", "rhel", "S", "\xff"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := discloses(s), bannerRE.MatchString(s); got != want {
			t.Fatalf("discloses(%q) = %v, the regexp %v", s, got, want)
		}
	}
}
