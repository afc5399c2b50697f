package difftest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// postconfOverride and pfauditOverride pick the "overriding earlier entry"
// warnings out of each program's stderr: postconf writes "FILE, line N:",
// pfaudit "FILE:N:".
var (
	postconfOverride = regexp.MustCompile(`main\.cf, line (\d+): overriding earlier entry: (.*)$`)
	pfauditOverride  = regexp.MustCompile(`main\.cf:(\d+): overriding earlier entry: (.*)$`)
)

func overrideWarnings(stderr string, re *regexp.Regexp) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(stderr, "\n") {
		m := re.FindStringSubmatch(strings.TrimRight(l, "\r"))
		if m == nil {
			continue
		}
		w := "line " + m[1] + ": " + m[2]
		// postconf re-reads a main.cf changed in the last second and may
		// repeat its warnings; writeCase's old mtimes avoid that, and
		// duplicates are folded anyway.
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// TestOverrideWarnings compares where `pfaudit config -n` warns
// "overriding earlier entry" with `postconf -n` (util/dict.c
// dict_load_fp(): only when the new value differs from the one in force),
// on hand-written cases and on generated sequences of assignments that
// repeat values with different blanks and continuation lines.
func TestOverrideWarnings(t *testing.T) {
	bin := findPostconf(t)
	cases := []string{
		"myhostname = a.example\nmyhostname = a.example\n",
		"myhostname = a.example\nmyhostname=a.example   \n",
		"myhostname = a.example\nmyhostname = b.example\nmyhostname = a.example\n",
		"mynetworks = 127.0.0.0/8\n  [::1]/128\nmynetworks = 127.0.0.0/8 [::1]/128\n",
		"mynetworks = 127.0.0.0/8\n [::1]/128\nmynetworks = 127.0.0.0/8\n  [::1]/128\n",
		"mynetworks = 127.0.0.0/8\n# comment\n [::1]/128\nmynetworks = 127.0.0.0/8\n [::1]/128\n",
		"relayhost =\nrelayhost = \nrelayhost = [smtp.example.com]\n",
		"user_var = $myhostname\nuser_var = ${myhostname}\nuser_var = ${myhostname}\n",
	}
	r := rand.New(rand.NewPCG(7, 7))
	values := []string{"x", "x ", "x y", "x  y", "x\n y", "x\n  y", "y", "", "$myhostname", "x,y"}
	names := []string{"myorigin", "relayhost", "smtpd_banner", "my_own_var"}
	for range 40 {
		var b strings.Builder
		for range 2 + r.IntN(5) {
			fmt.Fprintf(&b, "%s = %s\n", names[r.IntN(len(names))], values[r.IntN(len(values))])
		}
		cases = append(cases, b.String())
	}
	base := t.TempDir()
	for i, text := range cases {
		dir := filepath.Join(base, fmt.Sprint(i))
		if err := writeCase(dir, Case{MainCF: text, MasterCF: ""}); err != nil {
			t.Fatal(err)
		}
		pc, err := runPostconf(context.Background(), bin, dir, []string{"-n"})
		if err != nil {
			t.Fatal(err)
		}
		pf := runPfaudit(dir, []string{"-n"})
		want := overrideWarnings(pc.stderr, postconfOverride)
		got := overrideWarnings(pf.stderr, pfauditOverride)
		if !slices.Equal(want, got) {
			t.Errorf("case %d:\n--- main.cf ---\n%s--- postconf warns ---\n%s\n--- pfaudit warns ---\n%s", i, text, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		if i == 2 && len(want) != 2 {
			t.Errorf("case 2: postconf gave %d warnings, the test expects 2 (%q)", len(want), pc.stderr)
		}
	}
}
