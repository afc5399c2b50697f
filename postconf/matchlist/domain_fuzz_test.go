package matchlist

import (
	"testing"
	"testing/fstest"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// FuzzParseDomainList parses a domain list (mydestination, relay_domains,
// virtual_*_domains) and a /file or table it may name, then matches a few
// domains: no panic, every warning has a position, every Match has at
// most one outcome and a reason.
func FuzzParseDomainList(f *testing.F) {
	for _, v := range []string{
		"$myhostname, localhost.$mydomain, localhost",
		"example.com, .example.net, !sub.example.org, example.org",
		"/etc/postfix/domains, hash:/etc/postfix/relay, texthash:/etc/postfix/relay",
		"regexp:/etc/postfix/domains.re pcre:/etc/postfix/domains.re",
		"inline:{ example.com=OK, {a b}=x } static:all",
		"!/etc/postfix/domains",
		"{ example.com }, { , }",
		"mysql:/etc/postfix/sql.cf",
	} {
		f.Add(v, "example.com OK\n.example.net OK\n/^x/ OK\n")
	}
	domains := []string{"example.com", "a.example.com", "example.net", "EXAMPLE.ORG", "relaytest.invalid", "[192.0.2.1]", ""}
	f.Fuzz(func(t *testing.T, value, file string) {
		fs := fstest.MapFS{
			"etc/postfix/domains":    {Data: []byte(file)},
			"etc/postfix/relay":      {Data: []byte(file)},
			"etc/postfix/domains.re": {Data: []byte(file)},
		}
		for _, pd := range []string{"relay_domains", ""} {
			o := Options{Table: table.Options{FS: fs}, ParentDomainMatchesSubdomains: &pd}
			l, warns, err := ParseDomainList("relay_domains", value, pos40, o)
			for _, w := range warns {
				if w.Pos.IsZero() {
					t.Fatalf("warning without position: %v", w)
				}
			}
			if err != nil {
				continue
			}
			for _, d := range domains {
				m := l.Match(d)
				n := 0
				for _, b := range []bool{m.Unknown, m.Err != nil, m.Matched} {
					if b {
						n++
					}
				}
				if n > 1 || m.Why() == "" {
					t.Fatalf("%q: inconsistent match %+v", d, m)
				}
			}
		}
	})
}
