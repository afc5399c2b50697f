package fleet

import (
	"errors"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// FuzzHostDefaults reads a host's collected `postconf -d` dump
// (postconf.d): no panic; an error names the dump, and its line when one
// line is at fault; a dump that parses answers every query.
func FuzzHostDefaults(f *testing.F) {
	f.Add([]byte("mail_version = 3.7.11\ncompatibility_level = 3.6\nmyhostname = mx.example.com\n"))
	f.Add([]byte("postconf: warning: x\n\nmynetworks =\r\nbad line\n"))
	f.Add([]byte("a =b\n =\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseHostDefaults("postconf.d", data)
		if err != nil {
			var de *diag.Error
			if errors.As(err, &de) && (de.Pos.File != "postconf.d" || de.Pos.Line < 0) {
				t.Fatalf("error with a wrong position: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "postconf.d") {
				t.Fatalf("error does not name the dump: %v", err)
			}
			return
		}
		for _, n := range d.Names() {
			_, _ = d.Raw(n)
			_ = d.Known(n)
			_ = d.Listed(n)
		}
		_ = d.source()
	})
}
