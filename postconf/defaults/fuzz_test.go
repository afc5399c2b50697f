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
	f.Fuzz(func(t *testing.T, data string) {
		s, err := parseData(data)
		if err != nil {
			return
		}
		for _, n := range s.Names() {
			_, _ = s.Raw(n)
			_ = s.Known(n)
			_ = s.Listed(n)
		}
	})
}
