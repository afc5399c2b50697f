package postconf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// FuzzParseDumps reads collected `postconf -n`, `-M` and `-P` output (the
// offline audit's and the fleet's input) and queries the result: no
// panic, and every parse error names its dump and line.
func FuzzParseDumps(f *testing.F) {
	addDumpSeeds(f)
	f.Add([]byte("a = b\\\n c\n"), []byte("smtp inet n - y - - smtpd\n  -o x=y\n"), []byte("smtp/inet/x = z\nnope/inet/y = 1\n"))
	f.Add([]byte("postconf: warning: x\n= v\n"), []byte("smtp inet\n"), []byte("a/b/c\n"))
	d := defaults.Builtin()
	f.Fuzz(func(t *testing.T, n, m, p []byte) {
		main, err := ParseNDump("postconf.n", n)
		if err != nil {
			requirePos(t, err, "postconf.n")
			return
		}
		master, err := ParseMDump("postconf.M", m)
		if err != nil {
			requirePos(t, err, "postconf.M")
			return
		}
		if err := ApplyPDump(master, "postconf.P", p); err != nil {
			requirePos(t, err, "postconf.P")
			return
		}
		c := New(main, master, d, "built-in")
		for _, name := range main.Names() {
			_, _ = c.Expand(nil, name)
		}
		for _, s := range master.Services {
			for _, o := range c.EffectiveOverrides(s) {
				_, _ = c.Expand(s, o.Name)
			}
		}
		_, _ = c.Query(ViewOptions{Services: true, Expand: true})
	})
}

// requirePos fails unless err carries a position in file.
func requirePos(t *testing.T, err error, file string) {
	t.Helper()
	var de *diag.Error
	if errors.As(err, &de) && de.Pos.File == file && de.Pos.Line > 0 {
		return
	}
	t.Fatalf("error without %s:line: %v", file, err)
}

func addDumpSeeds(f *testing.F) {
	f.Helper()
	for _, c := range []string{"debian-stock", "legacy-2.9", "postscreen", "tables"} {
		n := readSeed(f, c, "postconf.n")
		m := readSeed(f, c, "postconf.M")
		if n != nil && m != nil {
			f.Add(n, m, []byte(nil))
		}
	}
}

func readSeed(f *testing.F, config, file string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "configs", config, file))
	if err != nil {
		return nil
	}
	return b
}
