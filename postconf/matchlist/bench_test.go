package matchlist

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// bigNetworksFile writes a mynetworks file with n entries: IPv4 and IPv6
// networks and addresses, a few negated, several per line.
func bigNetworksFile(tb testing.TB, n int) string {
	r := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("# generated\n")
	for i := 0; i < n; i++ {
		if r.IntN(10) == 0 {
			b.WriteByte('!')
		}
		switch r.IntN(4) {
		case 0:
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			b.WriteString(a.String())
		case 1:
			var x [16]byte
			x[0], x[1], x[2], x[3] = 0x20, 0x01, 0x0d, 0xb8
			x[4], x[5] = byte(r.IntN(256)), byte(r.IntN(256))
			fmt.Fprintf(&b, "[%s]/48", netip.PrefixFrom(netip.AddrFrom16(x), 48).Masked().Addr())
		default:
			a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), 0})
			b.WriteString(netip.PrefixFrom(a, 16+r.IntN(9)).Masked().String())
		}
		if i%4 == 3 {
			b.WriteByte('\n')
		} else {
			b.WriteString(", ")
		}
	}
	path := filepath.Join(tb.TempDir(), "mynetworks")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkHostList10k parses a 10,000-entry mynetworks file and matches
// clients against it (the worst case: most clients match nothing and go
// through every entry).
func BenchmarkHostList10k(b *testing.B) {
	path := bigNetworksFile(b, 10000)
	value := "127.0.0.0/8 [::1]/128 " + path
	opt := Options{Table: table.Options{Live: true}}
	clients := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("203.0.113.5"),
		netip.MustParseAddr("2001:db8:ffff::1"), netip.MustParseAddr("2a00:1450::1"),
	}
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ParseHostList("mynetworks", value, diag.Pos{File: "main.cf", Line: 1}, opt); err != nil {
				b.Fatal(err)
			}
		}
	})
	l, _, err := ParseHostList("mynetworks", value, diag.Pos{File: "main.cf", Line: 1}, opt)
	if err != nil {
		b.Fatal(err)
	}
	if len(l.Entries) != 10002 {
		b.Fatalf("%d entries", len(l.Entries))
	}
	b.Run("match", func(b *testing.B) {
		for b.Loop() {
			for _, c := range clients {
				l.Match(c, "unknown")
			}
		}
	})
	b.Run("parse+match", func(b *testing.B) {
		for b.Loop() {
			l, _, _ := ParseHostList("mynetworks", value, diag.Pos{File: "main.cf", Line: 1}, opt)
			for _, c := range clients {
				l.Match(c, "unknown")
			}
		}
	})
	b.Run("coverage", func(b *testing.B) {
		for b.Loop() {
			l.Coverage()
		}
	})
}
