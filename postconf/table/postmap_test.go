package table

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

var (
	diffSeed  = flag.Uint64("diff.seed", 1, "seed for the postmap differential test")
	diffCount = flag.Int("diff.n", 0, "tables per type in the postmap differential test (0: default)")
)

// postmapEnv locates postmap and a private configuration directory. Outside
// CI a missing Postfix skips the test; with CI=true it fails it.
type postmapEnv struct {
	bin   string
	dir   string
	types map[string]bool
}

func needPostmap(t *testing.T) *postmapEnv {
	t.Helper()
	bin, err := exec.LookPath("postmap")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/postmap"); serr == nil {
			bin = "/usr/sbin/postmap"
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postmap not found; CI must install Postfix")
		}
		t.Skip("postmap not installed (Postfix needed for the differential test)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := &postmapEnv{bin: bin, dir: dir, types: map[string]bool{}}
	postconf := filepath.Join(filepath.Dir(bin), "postconf")
	out, err := exec.Command(postconf, "-c", dir, "-m").Output()
	if err != nil {
		t.Fatalf("postconf -m: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		env.types[f] = true
	}
	return env
}

// query runs "postmap -q - spec" with keys on standard input. fatal is
// true when postmap could not open the table at all.
func (e *postmapEnv) query(t *testing.T, spec string, keys []string) (found map[string]string, stderr string, fatal bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, "-c", e.dir, "-q", "-", spec)
	cmd.Stdin = strings.NewReader(strings.Join(keys, "\n") + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	found = map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("postmap output without tab: %q", line)
		}
		found[k] = v
	}
	if err != nil && strings.Contains(errb.String(), "fatal:") {
		return found, errb.String(), true
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("postmap %s: %v\n%s", spec, err, errb.String())
		}
	}
	return found, errb.String(), false
}

var (
	warnLine = regexp.MustCompile(`(?m)^postmap: warning: .*?, line (\d+): (.*)$`)
	// Postfix's own words for a refused rule, and the texts of regerror()
	// and pcre2 compile errors, which Postfix prints without them.
	skipMsg = regexp.MustCompile(`skipping this rule|ignoring this rule|ignoring this line|^expected format|^error in regex|` +
		`^(Invalid|Unmatched|Trailing backslash|Regular expression too big|Premature end|Memory exhausted)`)
)

// skippedLines lists the line numbers postmap refused.
func skippedLines(stderr string) []int {
	var out []int
	seen := map[int]bool{}
	for _, m := range warnLine.FindAllStringSubmatch(stderr, -1) {
		if !skipMsg.MatchString(m[2]) {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

func ourSkipped(tb Table) []int {
	var out []int
	seen := map[int]bool{}
	for _, e := range tb.Errors() {
		if !seen[e.Line] {
			seen[e.Line] = true
			out = append(out, e.Line)
		}
	}
	sort.Ints(out)
	return out
}

type diffStats struct {
	mu                      sync.Mutex
	tables, keys, unknown   int
	found, unknownTables    int
	skippedByPostfixUnknown int
}

func (s *diffStats) add(f func(*diffStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// diffCase compares one generated table file with postmap.
func diffCase(t *testing.T, env *postmapEnv, stats *diffStats, typ, content string, keys []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t."+typ)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := typ + ":" + path
	var buildErr string
	if _, indexed := dbSuffix[typ]; indexed {
		buildErr = postmapBuild(t, env, spec)
	}
	found, stderr, fatal := env.query(t, spec, keys)
	if buildErr != "" {
		stderr = buildErr
	}
	if fatal {
		t.Fatalf("postmap could not open %s:\n%s\n--- table:\n%s", spec, stderr, content)
	}
	tb, err := Open(spec, diag.Pos{File: "main.cf", Line: 1}, Options{Live: true})
	if err != nil {
		t.Fatalf("Open(%s): %v\n--- table:\n%s", spec, err, content)
	}
	compareSkips(t, tb, stderr, content, stats)
	compareLookups(t, tb, keys, found, content, stats)
}

func compareSkips(t *testing.T, tb Table, stderr, content string, stats *diffStats) {
	t.Helper()
	theirs, ours := skippedLines(stderr), ourSkipped(tb)
	if fmt.Sprint(theirs) == fmt.Sprint(ours) {
		return
	}
	// A rule pfaudit cannot translate is kept as "unknown"; if Postfix
	// refuses it, lookups reaching it stay unknown: conservative, allowed.
	unknownLines := map[int]bool{}
	for _, w := range tb.Warnings() {
		if strings.Contains(w.Msg, "cannot be evaluated offline") {
			unknownLines[w.Pos.Line] = true
		}
	}
	oursSet := map[int]bool{}
	for _, n := range ours {
		oursSet[n] = true
	}
	theirSet := map[int]bool{}
	for _, n := range theirs {
		theirSet[n] = true
		if !oursSet[n] && unknownLines[n] {
			stats.add(func(s *diffStats) { s.skippedByPostfixUnknown++ })
			continue
		}
		if !oursSet[n] {
			t.Errorf("postmap skipped line %d, pfaudit kept it\n%s\n--- table:\n%s", n, stderr, numbered(content))
		}
	}
	for _, n := range ours {
		if !theirSet[n] {
			t.Errorf("pfaudit skipped line %d (%v), postmap kept it\n%s\n--- table:\n%s", n, errAt(tb, n), stderr, numbered(content))
		}
	}
}

func errAt(tb Table, line int) string {
	for _, e := range tb.Errors() {
		if e.Line == line {
			return e.Msg
		}
	}
	return ""
}

func compareLookups(t *testing.T, tb Table, keys []string, found map[string]string, content string, stats *diffStats) {
	t.Helper()
	var nUnknown, nFound int
	for _, k := range keys {
		r, err := tb.Lookup(k)
		if err != nil {
			if IsUnknown(err) {
				nUnknown++
				continue
			}
			t.Errorf("Lookup(%q): %v", k, err)
			continue
		}
		want, ok := found[k]
		if ok {
			nFound++
		}
		if ok != r.Found || (ok && want != r.Value) {
			t.Errorf("key %q: postmap found=%v %q, pfaudit found=%v %q (rule %s)\n--- table:\n%s",
				k, ok, want, r.Found, r.Value, r.Pos, numbered(content))
		}
	}
	stats.add(func(s *diffStats) {
		s.tables++
		s.keys += len(keys)
		s.unknown += nUnknown
		s.found += nFound
		if nUnknown > 0 {
			s.unknownTables++
		}
	})
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d| %s\n", i+1, l)
	}
	return b.String()
}

func diffN(t *testing.T, def int) int {
	if *diffCount > 0 {
		return *diffCount
	}
	if testing.Short() {
		return def / 10
	}
	return def
}

// TestPostmapDifferential generates tables of every offline type, queries
// them with the real postmap(1) and with this package, and requires the same
// answers and the same skipped rules. Lookups this package reports as
// unknown are counted, not compared.
func TestPostmapDifferential(t *testing.T) {
	env := needPostmap(t)
	gens := []struct {
		typ string
		n   int
		gen func(r *rand.Rand) (string, []string)
	}{
		{"cidr", 300, genCIDR},
		{"regexp", 400, genRegexp},
		{"pcre", 400, genPCRE},
		{"texthash", 100, genHashSource},
		{"hash", 40, genHashSource},
	}
	for _, g := range gens {
		t.Run(g.typ, func(t *testing.T) {
			if !env.types[g.typ] {
				if os.Getenv("CI") == "true" {
					t.Fatalf("postmap lacks %s: support (install postfix-%s)", g.typ, g.typ)
				}
				t.Skipf("this Postfix has no %s: support", g.typ)
			}
			t.Parallel()
			stats := &diffStats{}
			n := diffN(t, g.n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 8)
			for i := 0; i < n; i++ {
				r := rand.New(rand.NewPCG(*diffSeed, uint64(i)<<8|uint64(len(g.typ))))
				content, keys := g.gen(r)
				wg.Add(1)
				sem <- struct{}{}
				go func(i int) {
					defer wg.Done()
					defer func() { <-sem }()
					t.Run(strconv.Itoa(i), func(t *testing.T) {
						diffCase(t, env, stats, g.typ, content, keys)
					})
				}(i)
			}
			wg.Wait()
			t.Logf("%s: %d tables, %d keys, %d found, %d unknown lookups in %d tables, %d rules Postfix refused that pfaudit keeps as unknown",
				g.typ, stats.tables, stats.keys, stats.found, stats.unknown, stats.unknownTables, stats.skippedByPostfixUnknown)
			if stats.keys > 0 && stats.found == 0 {
				t.Errorf("no generated key was ever found: the generator is not testing matches")
			}
			if stats.keys > 0 && stats.unknown*5 > stats.keys {
				t.Errorf("%d of %d lookups unknown: too few comparisons", stats.unknown, stats.keys)
			}
		})
	}
}

// postmapBuild runs "postmap spec" and returns its warnings.
func postmapBuild(t *testing.T, env *postmapEnv, spec string) string {
	t.Helper()
	out, err := exec.Command(env.bin, "-c", env.dir, spec).CombinedOutput()
	if err != nil {
		t.Fatalf("postmap %s: %v\n%s", spec, err, out)
	}
	return string(out)
}

// TestPostmapInlineDifferential compares inline:, static: and the inline
// forms of cidr:/regexp:, including the syntax errors that make Postfix
// refuse the whole table.
func TestPostmapInlineDifferential(t *testing.T) {
	env := needPostmap(t)
	n := diffN(t, 200)
	stats := &diffStats{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	t.Run("cases", func(t *testing.T) {
		for i := 0; i < n; i++ {
			r := rand.New(rand.NewPCG(*diffSeed, uint64(i)<<8|0xAA))
			spec, keys := genInlineSpec(r)
			wg.Add(1)
			sem <- struct{}{}
			go func(i int) {
				defer wg.Done()
				defer func() { <-sem }()
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					found, stderr, fatal := env.query(t, spec, keys)
					tb, err := Open(spec, diag.Pos{File: "main.cf", Line: 7}, Options{Live: true})
					if fatal != (err != nil) {
						t.Fatalf("spec %q: postmap fatal=%v (%s), pfaudit err=%v", spec, fatal, strings.TrimSpace(stderr), err)
					}
					if err != nil {
						if IsUnknown(err) {
							t.Fatalf("spec %q: unexpected unknown: %v", spec, err)
						}
						return
					}
					compareLookups(t, tb, keys, found, spec, stats)
				})
			}(i)
		}
		wg.Wait()
	})
	t.Logf("inline: %d tables, %d keys, %d found", stats.tables, stats.keys, stats.found)
	if stats.found == 0 {
		t.Error("no generated key was ever found")
	}
}
