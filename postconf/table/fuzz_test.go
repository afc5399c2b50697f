package table

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// fuzzKeys are looked up in every fuzzed table.
var fuzzKeys = []string{"10.0.0.1", "192.168.1.1", "2001:db8::1", "postmaster@example.com", "a", "", "Example.COM", "é\x00x"}

// addSeeds adds every testdata file with one of the suffixes.
func addSeeds(f *testing.F, suffixes ...string) {
	names, _ := filepath.Glob("testdata/*")
	for _, n := range names {
		for _, s := range suffixes {
			if strings.HasSuffix(n, s) {
				data, err := os.ReadFile(n)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(string(data))
			}
		}
	}
}

// fuzzTable opens content as a table file of type typ and checks the
// invariants every table keeps: no panic, every skipped rule has a
// position inside the file and its text, lookups either answer or fail.
func fuzzTable(t *testing.T, typ, content string) {
	opt := Options{FS: fstest.MapFS{"t": {Data: []byte(content)}}}
	tb, err := Open(typ+":/t", at, opt)
	if err != nil {
		if !IsUnknown(err) {
			t.Fatalf("Open: %v", err)
		}
		return
	}
	lines := strings.Count(content, "\n") + 1
	for _, e := range tb.Errors() {
		if e.File != "/t" || e.Line < 1 || e.Line > lines || e.Msg == "" {
			t.Fatalf("bad error position or message: %#v", e)
		}
	}
	for _, k := range fuzzKeys {
		r, err := tb.Lookup(k)
		if err != nil && r.Found {
			t.Fatalf("Lookup(%q) found and failed: %v", k, err)
		}
		if err != nil && !IsUnknown(err) {
			t.Fatalf("Lookup(%q): %v", k, err)
		}
	}
}

func FuzzCIDR(f *testing.F) {
	addSeeds(f, ".cidr")
	f.Add("[::1 x\n10.0.0.0/264 y\nif !1.2.3.4\nendif junk\n")
	f.Fuzz(func(t *testing.T, content string) { fuzzTable(t, "cidr", content) })
}

func FuzzRegexp(f *testing.F) {
	addSeeds(f, ".regexp")
	f.Add("/(a{1,2}{2}|[[:alpha:]-z])\\1/ x\n/a/x!/b/ y $1\n")
	f.Fuzz(func(t *testing.T, content string) { fuzzTable(t, "regexp", content) })
}

func FuzzPCRE(f *testing.F) {
	addSeeds(f, ".pcre")
	f.Add("/(?#c)(?<n>a)\\Q*\\E{2}(?i:\\x{41})/ x $1\n")
	f.Fuzz(func(t *testing.T, content string) { fuzzTable(t, "pcre", content) })
}

func FuzzHashSource(f *testing.F) {
	addSeeds(f, ".src")
	f.Add("a b\n  c\n#d\n\x00e f\n")
	f.Fuzz(func(t *testing.T, content string) {
		fuzzTable(t, "texthash", content)
	})
}

// FuzzSpec opens arbitrary table specs, inline forms included.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{"inline:{a=b, {c = d e}}", "static:{x}", "cidr:{{10.0.0.0/8 x}}", "pipemap:{inline:{a=b},static:c}",
		"proxy:proxy:inline:{a=b}", "regexp:{{/a/ b}}", "unionmap:{{", "2001:db8::/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		tb, err := Open(spec, at, Options{FS: fstest.MapFS{}})
		if err != nil {
			return
		}
		for _, k := range fuzzKeys {
			if r, err := tb.Lookup(k); err != nil && r.Found {
				t.Fatalf("Lookup(%q) found and failed", k)
			}
		}
	})
}
