package defaults

import (
	"os"
	"testing"
)

// FuzzParseData reads the defaults table format: the embedded
// postconf-d.txt and the `postconf -d` cache pfaudit keeps (a file an
// attacker with write access could have edited before the checksum was
// added): no panic; a table that parses answers every query.
func FuzzParseData(f *testing.F) {
	if b, err := os.ReadFile("postconf-d.txt"); err == nil {
		f.Add(string(b[:min(len(b), 4096)]))
	}
	f.Add("a = b\nmail_version = 3.7.11\n")
	f.Add("compatibility_level = ${{$compatibility_level} <level {2} ? {0} : {3.6}}\nx = $compatibility_level\n")
	f.Add("= x\n\x00\nname=\n")
	f.Add("myhostname = x\n#hidden\nnew_name = y\n#gone\nsmtputf8_enable\n")
	f.Fuzz(func(t *testing.T, data string) {
		// The table format, and the cache's changes to the built-in table.
		for _, parse := range []func(string) (*Set, error){parseData, func(d string) (*Set, error) { return parseDelta("cache", d) }} {
			s, err := parse(data)
			if err != nil {
				continue
			}
			for _, n := range s.Names() {
				if _, ok := s.Raw(n); !ok || !s.Known(n) {
					t.Fatalf("%s listed by Names but unknown", n)
				}
				_ = s.Listed(n)
			}
		}
	})
}
