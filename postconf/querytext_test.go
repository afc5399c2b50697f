package postconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestQueryTextMatchesQuery: the streamed listing is the Text of Query's
// entries, line for line, for every bundled configuration and every kind
// of view; a failing query writes nothing.
func TestQueryTextMatchesQuery(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/configs/*/main.cf")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no configurations: %v", err)
	}
	views := []ViewOptions{
		{}, {Expand: true}, {NonDefault: true}, {NonDefault: true, Expand: true},
		{Params: []string{"mynetworks", "smtpd_relay_restrictions", "no_such_parameter"}, Expand: true},
		{Service: "smtp/inet", Expand: true}, {Master: true}, {Master: true, Fold: true}, {Services: true},
	}
	for _, mc := range dirs {
		dir := filepath.Dir(mc)
		cfg, err := LoadDir(dir, defaults.Builtin(), "built-in")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range views {
			v, qerr := cfg.Query(o)
			var buf bytes.Buffer
			tv, terr := cfg.QueryText(o, &buf)
			if (qerr == nil) != (terr == nil) {
				t.Errorf("%s %+v: Query error %v, QueryText error %v", dir, o, qerr, terr)
				continue
			}
			if qerr != nil {
				if buf.Len() != 0 {
					t.Errorf("%s %+v: failed but wrote %q", dir, o, buf.String())
				}
				continue
			}
			var want strings.Builder
			for _, e := range v.Entries {
				want.WriteString(e.Text + "\n")
			}
			if buf.String() != want.String() {
				t.Errorf("%s %+v: QueryText differs from Query's lines", dir, o)
			}
			if len(tv.Warnings) != len(v.Warnings) || len(tv.Entries) != 0 {
				t.Errorf("%s %+v: %d warnings and %d entries, want %d and none", dir, o, len(tv.Warnings), len(tv.Entries), len(v.Warnings))
			}
		}
	}
	// An expansion that fails (a self-reference) leaves buf as it was.
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "main.cf"), []byte("a = $b\nb = $a\nmyhostname = $a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadDir(d, defaults.Builtin(), "built-in")
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.NewBufferString("before\n")
	if _, err := cfg.QueryText(ViewOptions{Expand: true}, buf); err == nil {
		t.Fatal("a self-referencing myhostname expanded")
	}
	if buf.String() != "before\n" {
		t.Errorf("a failed listing left %d bytes", buf.Len()-len("before\n"))
	}
}
