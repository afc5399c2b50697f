package matchlist

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// FuzzParseHostList parses a mynetworks value and a /file/name it may
// name, then matches a few clients: no panic, every warning has a position,
// every Match has exactly one outcome and a reason.
func FuzzParseHostList(f *testing.F) {
	values, err := os.ReadFile("testdata/mynetworks.txt")
	if err != nil {
		f.Fatal(err)
	}
	file, err := os.ReadFile("testdata/nets.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range strings.Split(string(values), "\n") {
		f.Add(v, string(file))
	}
	f.Add("!", "")
	f.Add("/etc/postfix/nets", "!/etc/postfix/nets\n")
	clients := []netip.Addr{
		netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.2.3.4"), netip.MustParseAddr("192.168.1.13"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.0.0.1"),
	}
	f.Fuzz(func(t *testing.T, value, file string) {
		o := Options{Table: table.Options{FS: fstest.MapFS{
			"etc/postfix/nets":        {Data: []byte(file)},
			"etc/postfix/client.cidr": {Data: []byte(file)},
		}}}
		l, warns, err := ParseHostList("mynetworks", value, pos40, o)
		for _, w := range warns {
			if w.Pos.IsZero() {
				t.Fatalf("warning without position: %v", w)
			}
		}
		if err != nil {
			return
		}
		for _, c := range clients {
			m := l.Match(c, "mail.example.com")
			n := 0
			if m.Unknown {
				n++
			}
			if m.Err != nil {
				n++
			}
			if m.Matched {
				n++
			}
			if n > 1 || m.Why() == "" {
				t.Fatalf("%s: inconsistent match %+v", c, m)
			}
		}
		l.Coverage()
	})
}
