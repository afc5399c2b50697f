package defaults

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
		str  string
		bad  bool
	}{
		{in: "0", want: Level{}, str: "0"},
		{in: "1", want: Level{Major: 1}, str: "1"},
		{in: "2", want: Level{Major: 2}, str: "2"},
		{in: "3.6", want: Level{3, 6, 0}, str: "3.6"},
		{in: "3.6.1", want: Level{3, 6, 1}, str: "3.6.1"},
		{in: "3.10", want: Level{3, 10, 0}, str: "3.10"},
		{in: "3", want: Level{Major: 3}, str: "3.0"},
		{in: "2.0", want: Level{Major: 2}, str: "2"},
		{in: "02", want: Level{Major: 2}, str: "2"},
		{in: "+2", want: Level{Major: 2}, str: "2"},
		{in: " 2", want: Level{Major: 2}, str: "2"},
		{in: "-0", want: Level{}, str: "0"},
		{in: "3.1023.1023", want: Level{3, 1023, 1023}, str: "3.1023.1023"},
		{in: "3. 6", want: Level{3, 6, 0}, str: "3.6"},
		{in: "", bad: true},
		{in: "abc", bad: true},
		{in: "-1", bad: true},
		{in: "2.", bad: true},
		{in: "2x", bad: true},
		{in: "0x2", bad: true},
		{in: "1e1", bad: true},
		{in: "3.1024", bad: true},
		{in: "3.6.1024", bad: true},
		{in: "3.6.1.1", bad: true},
		{in: "3.6 ", bad: true},
		{in: "99999999999999999999", bad: true},
		{in: "9223372036854775807", bad: true}, // above LONG_MAX >> 20
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseLevel(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLevel(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want || got.String() != tt.str {
			t.Errorf("ParseLevel(%q) = %#v (%s), want %#v (%s)", tt.in, got, got, tt.want, tt.str)
		}
	}
}

func TestLevelCompare(t *testing.T) {
	// Sorted ascending; Postfix compares per component, numerically.
	order := []string{"0", "1", "2", "3.0", "3.5", "3.6", "3.6.1", "3.7", "3.9", "3.10", "4"}
	for i, a := range order {
		for j, b := range order {
			got := MustParseLevel(a).Compare(MustParseLevel(b))
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("%s vs %s = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestResolveForLevel(t *testing.T) {
	const relay = "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}"
	tests := []struct {
		raw, level, want string
		bad              bool
	}{
		{raw: relay, level: "0", want: ""},
		{raw: relay, level: "1", want: "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"},
		{raw: "${{$compatibility_level} <level {2} ? {$mydestination} : {}}", level: "1", want: "$mydestination"},
		{raw: "${{$compatibility_level} <level {2} ? {$mydestination} : {}}", level: "2", want: ""},
		{raw: "${{$compatibility_level} <level {3.6} ? {no} : {yes}}", level: "3.5", want: "no"},
		{raw: "${{$compatibility_level} <level {3.6} ? {no} : {yes}}", level: "3.10", want: "yes"},
		{raw: "${{${compatibility_level}} <=level {2} ? {a} : {b}}", level: "2", want: "a"},
		{raw: "${{$(compatibility_level)} >level {2} ? {a} : {b}}", level: "2", want: "b"},
		{raw: "${{$compatibility_level} >=level {3.6} ? {a}}", level: "3.6.0", want: "a"},
		{raw: "${{$compatibility_level} >=level {3.6} ? {a}}", level: "3.5", want: ""},
		{raw: "${{$compatibility_level} ==level {3.6} : {a}}", level: "3.5", want: "a"},
		{raw: "${{$compatibility_level} !=level {3.6}}", level: "3.5", want: "true"},
		{raw: "${{$compatibility_level} !=level {3.6}}", level: "3.6", want: ""},
		// Plain operators: numeric when both sides are digits, else strcmp.
		{raw: "${{$compatibility_level} < {10} ? {a} : {b}}", level: "9", want: "a"},
		{raw: "${{$compatibility_level} < {3.10} ? {a} : {b}}", level: "3.9", want: "b"},
		// Text around expressions, several expressions, nesting.
		{raw: "x ${{$compatibility_level} <level {1} ? {y} : {z}} $foo $$ ${{$compatibility_level} <level {2} ? {p} : {q}}", level: "1", want: "x z $foo $$ p"},
		{raw: "${{$compatibility_level} <level {2} ? {${{$compatibility_level} <level {1} ? {zero} : {one}}} : {two}}", level: "1", want: "one"},
		// Not level-only: left for the general expander.
		{raw: "${{$smtp_tls_security_level} == {dane} ? {dane} : {may}}", level: "2", want: "${{$smtp_tls_security_level} == {dane} ? {dane} : {may}}"},
		{raw: "${{$compatibility_levels} <level {2} ? {a} : {b}}", level: "2", want: "${{$compatibility_levels} <level {2} ? {a} : {b}}"},
		{raw: "${stress?{1}:{20}}", level: "2", want: "${stress?{1}:{20}}"},
		{raw: "$myhostname ESMTP $mail_name", level: "2", want: "$myhostname ESMTP $mail_name"},
		{raw: "${{$compatibility_level} <foo {2} ? {a} : {b}}", level: "2", want: "${{$compatibility_level} <foo {2} ? {a} : {b}}"},
		{raw: "${{$compatibility_level} <level {2", level: "2", want: "${{$compatibility_level} <level {2"},
		// Malformed levels fail like postconf's "macro processing error".
		{raw: relay, level: "", bad: true},
		{raw: relay, level: "abc", bad: true},
		{raw: relay, level: "2.", bad: true},
		{raw: relay, level: "-1", bad: true},
		// ... but only when a comparison needs them.
		{raw: "yes", level: "abc", want: "yes"},
	}
	for _, tt := range tests {
		got, err := ResolveForLevel(tt.raw, tt.level)
		if tt.bad {
			if err == nil {
				t.Errorf("ResolveForLevel(%q, %q) = %q, want error", tt.raw, tt.level, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveForLevel(%q, %q) = %q, %v; want %q", tt.raw, tt.level, got, err, tt.want)
		}
	}
}

// levelDependent returns the built-in names whose default has a level
// comparison.
func levelDependent(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, n := range Builtin().Names() {
		raw, _ := Builtin().Raw(n)
		if strings.Contains(raw, "level {") {
			names = append(names, n)
		}
	}
	if len(names) < 8 {
		t.Fatalf("only %d level-dependent defaults found: %v", len(names), names)
	}
	return names
}

var refRE = regexp.MustCompile(`\$\{?([A-Za-z0-9_]+)\}?`)

// TestResolveForLevelMatchesPostconf sets compatibility_level in a scratch
// main.cf and compares `postconf -x` with ResolveForLevel for every
// level-dependent default. Parameters that a resolved default refers to
// ($mydestination) are set to a literal marker so that the comparison is
// exact.
func TestResolveForLevelMatchesPostconf(t *testing.T) {
	pc := needPostconf(t)
	names := levelDependent(t)
	for _, level := range []string{"0", "1", "2", "3", "3.5", "3.6", "3.6.1", "3.7", "3.10", "+2", "02"} {
		t.Run("level="+level, func(t *testing.T) {
			settings := map[string]string{"compatibility_level": level}
			want := map[string]string{}
			for _, n := range names {
				raw, _ := Builtin().Raw(n)
				v, err := ResolveForLevel(raw, level)
				if err != nil {
					t.Fatalf("%s: %v", n, err)
				}
				for _, m := range refRE.FindAllStringSubmatch(v, -1) {
					if slices.Contains(names, m[1]) {
						t.Fatalf("%s refers to another level-dependent parameter %s", n, m[1])
					}
					settings[m[1]] = "@" + m[1] + "@"
				}
				want[n] = refRE.ReplaceAllString(v, "@$1@")
			}
			dir := configDir(t, mainCFText(settings))
			out, err := postconfOut(t, pc, append([]string{"-c", dir, "-x"}, names...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
				n, v, err := splitLine(line)
				if err != nil {
					t.Fatalf("postconf -x: %v: %q", err, line)
				}
				got[n] = v
			}
			for _, n := range names {
				if got[n] != want[n] {
					t.Errorf("%s at level %s: postconf -x says %q, ResolveForLevel %q", n, level, got[n], want[n])
				}
			}
		})
	}
	// A malformed level is fatal for postconf and an error here.
	// postconf sleeps a second before dying: run these in parallel.
	t.Run("malformed", func(t *testing.T) {
		for _, level := range []string{"abc", "3.1024"} {
			t.Run(level, func(t *testing.T) {
				t.Parallel()
				dir := configDir(t, "compatibility_level = "+level+"\n")
				_, perr := postconfOut(t, pc, "-c", dir, "-x", "smtpd_relay_restrictions")
				raw, _ := Builtin().Raw("smtpd_relay_restrictions")
				_, err := ResolveForLevel(raw, level)
				if perr == nil || err == nil {
					t.Errorf("level %q: postconf error %v, ResolveForLevel error %v; want both to fail", level, perr, err)
				}
			})
		}
	})
}

func ExampleResolveForLevel() {
	raw, _ := Builtin().Raw("smtpd_relay_restrictions")
	for _, level := range []string{"0", "2"} {
		v, _ := ResolveForLevel(raw, level)
		fmt.Printf("%s: %q\n", level, v)
	}
	// Output:
	// 0: ""
	// 2: "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"
}

func BenchmarkResolveForLevel(b *testing.B) {
	raw, _ := Builtin().Raw("smtpd_relay_restrictions")
	for b.Loop() {
		if _, err := ResolveForLevel(raw, "3.6"); err != nil {
			b.Fatal(err)
		}
	}
}
