package fix

import (
	"bytes"
	"strings"
	"testing"
)

// TestChangeWording: a changed file whose bytes hold a NUL is shown
// without a diff, and called an indexed table only when it is one (a
// main.cf with a NUL byte was announced as "indexed table main.cf
// rebuilt").
func TestChangeWording(t *testing.T) {
	for _, tt := range []struct {
		c    Change
		want string
	}{
		{Change{Path: "/etc/postfix/main.cf", Binary: true}, "/etc/postfix/main.cf changed (it holds NUL bytes: no diff shown)"},
		{Change{Path: "/etc/postfix/access.db", Binary: true}, "indexed table /etc/postfix/access.db rebuilt"},
		{Change{Path: "/etc/postfix/access.lmdb", Binary: true, Created: true}, "new indexed table /etc/postfix/access.lmdb"},
		{Change{Path: "/etc/postfix/access", Binary: true, Created: true}, "/etc/postfix/access changed (it holds NUL bytes"},
		{Change{Path: "/etc/postfix/main.cf", Diff: "--- a\n+++ b\n"}, "--- a\n+++ b\n"},
	} {
		t.Run(tt.c.Path, func(t *testing.T) {
			var b bytes.Buffer
			r := &Result{Action: "plan", ConfigDir: "/etc/postfix", Plan: &Plan{ConfigDir: "/etc/postfix", Commands: []string{"postconf -e x=y"}, Changes: []Change{tt.c}}}
			if err := Write(&b, "text", r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, b.String())
			}
		})
	}
}
