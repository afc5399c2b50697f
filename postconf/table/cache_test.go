package table

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// TestCacheKeyedByFile: an unchanged file is read once; a changed one
// (another size, another time), or one modified just now, is read again.
func TestCacheKeyedByFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "clients")
	old := time.Now().Add(-time.Hour)
	write := func(text string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	lookup := func(key string) string {
		t.Helper()
		tb, err := Open("cidr:"+f, diag.Pos{}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := tb.Lookup(key)
		if err != nil {
			t.Fatal(err)
		}
		return r.Value
	}
	write("192.0.2.0/24 OK\n", old)
	a, _ := Open("cidr:"+f, diag.Pos{}, Options{})
	b, _ := Open("cidr:"+f, diag.Pos{}, Options{})
	if a != b {
		t.Error("an unchanged file was read twice")
	}
	if got := lookup("192.0.2.1"); got != "OK" {
		t.Fatalf("lookup = %q, want OK", got)
	}
	write("192.0.2.0/24 REJECT\n", old.Add(time.Second))
	if got := lookup("192.0.2.1"); got != "REJECT" {
		t.Errorf("after a change: lookup = %q, want REJECT", got)
	}
	write("192.0.2.0/24 DEFER!\n", time.Now())
	c, _ := Open("cidr:"+f, diag.Pos{}, Options{})
	d, _ := Open("cidr:"+f, diag.Pos{}, Options{})
	if c == d {
		t.Error("a file modified just now was cached")
	}
}
