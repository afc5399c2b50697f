package defaults

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fullSet is a Set without a base: every value in its map, as
// FromPostconf makes one.
func fullSet(t *testing.T, edit func(s *Set)) *Set {
	t.Helper()
	data, err := os.ReadFile("postconf-d.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseData(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(s)
		slices.Sort(s.names)
	}
	s.Path = "/usr/sbin/postconf"
	return s
}

// TestCacheDeltaRoundTrip writes answers that differ from the built-in table
// in every way the delta format records (a changed value, new listed and
// by-name-only names, a built-in name the answer lacks, a name that changes
// sides) and reads them back: every query must answer as the original.
func TestCacheDeltaRoundTrip(t *testing.T) {
	remove := func(s *Set, n string) {
		delete(s.raw, n)
		delete(s.unlisted, n)
		s.names = slices.DeleteFunc(s.names, func(x string) bool { return x == n })
	}
	for _, tt := range []struct {
		name  string
		edit  func(s *Set)
		lines int // body lines at most (the comment and the markers included)
	}{
		{"same as built-in", nil, 3},
		{"changed values", func(s *Set) {
			s.raw["smtpd_relay_restrictions"] = "permit_mynetworks, reject_unauth_destination"
			s.raw["myhostname"] = "mx.example.net"
			s.raw["relay_domains"] = ""
		}, 6},
		{"new names", func(s *Set) {
			s.add("zz_new_listed", "a $zz_other b", true)
			s.add("aa_new_hidden", "", false)
		}, 5},
		{"names gone", func(s *Set) {
			remove(s, "smtputf8_enable")
			remove(s, "virtual_maps") // a by-name-only one
		}, 5},
		{"listed status flips", func(s *Set) {
			s.unlisted["smtpd_relay_restrictions"] = true
			delete(s.unlisted, "virtual_maps")
		}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := fullSet(t, tt.edit)
			dir := filepath.Join(t.TempDir(), "pfaudit")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "postconf-d-x.txt")
			if err := writeCache(dir, file, "ID", want); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(file)
			if n := strings.Count(string(data), "\n") - 1; n > tt.lines {
				t.Errorf("cache body has %d lines, want at most %d:\n%s", n, tt.lines, data)
			}
			got, err := readCache(dir, file, "ID")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Names(), want.Names()) {
				t.Fatalf("names differ: %d read, %d written", got.Len(), want.Len())
			}
			if got.Version != want.Version {
				t.Errorf("version %q, want %q", got.Version, want.Version)
			}
			probe := append(want.Names(), "smtputf8_enable", "virtual_maps", "zz_new_listed", "no_such_name")
			for _, n := range probe {
				gv, gok := got.Raw(n)
				wv, wok := want.Raw(n)
				if gv != wv || gok != wok || got.Known(n) != want.Known(n) || got.Listed(n) != want.Listed(n) {
					t.Errorf("%s: read (%q, %v, listed %v), written (%q, %v, listed %v)", n, gv, gok, got.Listed(n), wv, wok, want.Listed(n))
				}
			}
		})
	}
}

// TestCacheDeltaErrors: a cache body that contradicts the built-in table or
// itself is refused (and postconf then runs again).
func TestCacheDeltaErrors(t *testing.T) {
	for _, body := range []string{
		"x\n",
		"smtpd_relay_restrictions = a\nsmtpd_relay_restrictions = b\n",
		"#hidden\n#hidden\n",
		"#gone\n#hidden\n",
		"#gone\nno_such_builtin_name\n",
		"#gone\nsmtputf8_enable\nsmtputf8_enable\n",
		"smtputf8_enable = yes\n#gone\nsmtputf8_enable\n",
		"#gone\nmail_version\n",
	} {
		if s, err := parseDelta("cache", body); err == nil {
			t.Errorf("%q: accepted (%d names)", body, s.Len())
		}
	}
	s, err := parseDelta("cache", "# comment\n\n#hidden\n#gone\n")
	if err != nil || s.Len() != Builtin().Len() {
		t.Errorf("empty delta: %v", err)
	}
}
