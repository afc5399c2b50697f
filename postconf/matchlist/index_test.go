package matchlist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// TestIndexAgreesWithLinearSearch checks the index against the plain
// first-match walk on random long lists (names, parent domains, ".domain",
// addresses, networks with and without host bits, negation, inline and
// unknown tables, IPv4 and IPv6) and random subjects: every answer, its
// reason and deciding entry must be the same.
func TestIndexAgreesWithLinearSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(10 + r.IntN(3)), byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(8))})
	}
	v6 := func() netip.Addr {
		var b [16]byte
		b[0], b[1], b[2], b[3], b[5], b[15] = 0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(4)), byte(r.IntN(8))
		return netip.AddrFrom16(b)
	}
	names := []string{"example.com", "mail.example.com", "a.b.example.com", "example.net", "unknown", "localhost", "x.example.org"}
	pattern := func() string {
		neg := ""
		if r.IntN(8) == 0 {
			neg = "!"
		}
		switch r.IntN(10) {
		case 0:
			return neg + names[r.IntN(len(names))]
		case 1:
			return neg + "." + names[r.IntN(len(names))]
		case 2:
			return neg + v4().String()
		case 3:
			return neg + "[" + v6().String() + "]"
		case 4:
			a := v4()
			bits := 24 + r.IntN(9)
			if r.IntN(6) == 0 {
				return neg + fmt.Sprintf("%s/%d", a, bits) // host bits may be set
			}
			return neg + netip.PrefixFrom(a, bits).Masked().String()
		case 5:
			p := netip.PrefixFrom(v6(), 112+r.IntN(17)).Masked()
			return neg + fmt.Sprintf("[%s]/%d", p.Addr(), p.Bits())
		case 6:
			if r.IntN(4) == 0 {
				return neg + "ldap:/etc/postfix/ldap.cf"
			}
			return neg + "inline:{" + names[r.IntN(len(names))] + "=ok, " + v4().String() + "=ok}"
		case 7:
			return neg + "[" + v4().String() + "]"
		default:
			return neg + netip.PrefixFrom(v4(), 16+r.IntN(17)).Masked().String()
		}
	}
	for round := 0; round < 60; round++ {
		var pats []string
		for i := 0; i < indexMin+r.IntN(200); i++ {
			pats = append(pats, pattern())
		}
		value := strings.Join(pats, " ")
		for _, kind := range []Kind{KindHost, KindDomain, KindString} {
			param := map[Kind]string{KindHost: "mynetworks", KindDomain: "relay_domains", KindString: "mydestination"}[kind]
			l, _, err := Parse(kind, param, value, diag.Pos{File: "main.cf", Line: 1}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if l.index() == nil {
				t.Fatal("no index on a long list")
			}
			lin := *l
			lin.ix = nil
			for q := 0; q < 200; q++ {
				var a netip.Addr
				if r.IntN(2) == 0 {
					a = v4()
				} else {
					a = v6()
				}
				name := names[r.IntN(len(names))]
				if r.IntN(3) == 0 {
					name = "host." + name
				}
				got := l.match(fold(name), fold(a.String()))
				want := lin.match(fold(name), fold(a.String()))
				if matchView(got) != matchView(want) {
					t.Fatalf("%s %s[%s]:\nindexed %s\nlinear  %s\nlist %s", kind, name, a, matchView(got), matchView(want), value)
				}
				got, want = l.MatchString(name), lin.MatchString(name)
				if matchView(got) != matchView(want) {
					t.Fatalf("%s %s:\nindexed %s\nlinear  %s\nlist %s", kind, name, matchView(got), matchView(want), value)
				}
			}
		}
	}
}

// matchView is what a Match answers, with its words (Why), without the
// list it came from.
func matchView(m Match) string {
	return fmt.Sprintf("matched=%v unknown=%v err=%v entry=%p why=%q", m.Matched, m.Unknown, m.Err, m.Entry, m.Why())
}
