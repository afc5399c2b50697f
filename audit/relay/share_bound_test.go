package relay

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestShareSkipsHugeMynetworks: a Share keeps a parsed mynetworks for the
// rest of the audit only while its value is short; a million-entry one
// would stay in memory beside the rules' own parse of it.
func TestShareSkipsHugeMynetworks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int
		shared  bool
	}{
		{"short", 3, true},
		{"over the bound", 80_000, false}, // about 1.3 MB
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("compatibility_level = 3.6\nmynetworks = 127.0.0.0/8")
			for i := range tc.entries {
				fmt.Fprintf(&b, " 10.%d.%d.%d/32", i>>16&255, i>>8&255, i&255)
			}
			b.WriteString("\n")
			if long := b.Len() > shareMaxValue; long == tc.shared {
				t.Fatalf("value of %d bytes does not test the %d-byte bound as meant", b.Len(), shareMaxValue)
			}
			mc, err := postconf.ParseMainCF("main.cf", []byte(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := postconf.ParseMasterCF("master.cf", []byte("smtp inet n - y - - smtpd\n"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := postconf.New(mc, ms, defaults.Builtin(), "built-in")
			s := NewShare()
			as := Analyze(cfg, Options{Share: s})
			if len(as) == 0 {
				t.Fatal("no analysis")
			}
			n := 0
			for k := range s.hosts {
				if k.param == "mynetworks" {
					n++
				}
			}
			if got := n > 0; got != tc.shared {
				t.Errorf("mynetworks of %d entries shared: %v, want %v", tc.entries+1, got, tc.shared)
			}
		})
	}
}
