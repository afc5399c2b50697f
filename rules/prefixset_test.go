package rules

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestPrefixSetAgreesWithWithin checks the indexed set against the plain
// "within any member" loop on random IPv4, IPv6 and IPv4-mapped networks.
func TestPrefixSetAgreesWithWithin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() netip.Prefix {
		switch r.IntN(3) {
		case 0:
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256))})
			return netip.PrefixFrom(a, 8+r.IntN(25)).Masked()
		case 1:
			var b [16]byte
			b[0], b[1], b[2] = 0x20, 0x01, byte(r.IntN(4))
			b[15] = byte(r.IntN(256))
			return netip.PrefixFrom(netip.AddrFrom16(b), 8+r.IntN(121)).Masked()
		default:
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4)), byte(r.IntN(256))})
			return netip.PrefixFrom(netip.AddrFrom16(a.As16()), 104+r.IntN(25)).Masked()
		}
	}
	for round := 0; round < 50; round++ {
		var members []netip.Prefix
		for i := 0; i < 1+r.IntN(40); i++ {
			members = append(members, random())
		}
		s := newPrefixSet(members)
		for q := 0; q < 300; q++ {
			p := random()
			want := false
			for _, m := range members {
				if within(norm(p), norm(m)) {
					want = true
				}
			}
			if got := s.holds(p); got != want {
				t.Fatalf("holds(%s) = %v, want %v; set %v", p, got, want, members)
			}
		}
	}
}

func TestCoversAll(t *testing.T) {
	cases := []struct {
		ps   []string
		want bool
	}{
		{[]string{"0.0.0.0/0"}, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/1"}, true},
		{[]string{"128.0.0.0/1", "0.0.0.0/2", "64.0.0.0/2"}, true},
		{[]string{"0.0.0.0/1", "128.0.0.0/2"}, false},
		{[]string{"0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2", "10.0.0.0/8"}, true},
		{[]string{"10.0.0.0/8", "0.0.0.0/1"}, false},
		{[]string{"::/1", "8000::/1"}, true},
		{[]string{"::/1", "8000::/2"}, false},
		{[]string{"::ffff:0.0.0.0/97", "::ffff:128.0.0.0/97"}, true},
		{[]string{"0.0.0.0/1", "8000::/1"}, false},
		{nil, false},
	}
	for _, c := range cases {
		var ps []netip.Prefix
		for _, s := range c.ps {
			ps = append(ps, netip.MustParsePrefix(s))
		}
		if got := coversAll(ps); got != c.want {
			t.Errorf("coversAll(%v) = %v, want %v", c.ps, got, c.want)
		}
	}
}
