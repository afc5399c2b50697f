package difftest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/cmd/pfaudit/cli"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// The differential test: every generated configuration is written to a
// directory and read by both `postconf -c DIR` and `pfaudit config -c DIR`
// (in-process), which must print the same lines (runs of whitespace
// collapsed) and fail in the same cases.
//
// One postconf run costs 100-200 ms on a small VM (most of it page faults
// while loading its shared libraries) and a fatal error adds Postfix's
// one-second pause before exit, so each configuration is checked in one
// postconf mode, rotating over all of them; -difftest.all checks every
// mode for every configuration. A mode that postconf answers for all
// parameters at once (-x without names) also serves to check pfaudit's
// `-x NAME...` output, and -Mf also serves -M.

var (
	flagN    = flag.Int("difftest.n", 0, "number of generated configurations (default 500, 60 with -short; env PFAUDIT_DIFFTEST_N)")
	flagSeed = flag.String("difftest.seed", "", "base seed, or \"random\" (default 1; env PFAUDIT_DIFFTEST_SEED)")
	flagAll  = flag.Bool("difftest.all", false, "check every postconf mode for every configuration (env PFAUDIT_DIFFTEST_ALL=1)")
	flagOnly = flag.Int("difftest.case", -1, "run only the configuration with this index")
	flagKeep = flag.String("difftest.keep", "", "copy the configurations that fail into this directory")
	flagDump = flag.String("difftest.dump", "", "write every generated configuration under this directory and stop")
)

// mode is one way of asking postconf.
type mode struct {
	name string
	args func(c Case) []string // postconf arguments after -c DIR
}

var modes = []mode{
	{"-x", func(Case) []string { return []string{"-x"} }},
	{"-x PARAMS", func(c Case) []string { return append([]string{"-x"}, c.Params...) }},
	{"-n", func(Case) []string { return []string{"-n"} }},
	{"-nx", func(Case) []string { return []string{"-n", "-x"} }},
	{"-P", func(Case) []string { return []string{"-P"} }},
	{"-Px", func(Case) []string { return []string{"-P", "-x"} }},
	{"-Mf", func(Case) []string { return []string{"-M", "-f"} }},
	{"PARAMS", func(c Case) []string { return c.Params }},
	{"-P PATTERNS", func(c Case) []string { return append([]string{"-P"}, c.Patterns...) }},
	{"-Mx PATTERNS", func(c Case) []string { return append([]string{"-M", "-x"}, c.Patterns...) }},
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func settings(t *testing.T) (n int, seed uint64, all bool) {
	n = 500
	if testing.Short() {
		n = 60
	}
	n = envInt("PFAUDIT_DIFFTEST_N", n)
	if *flagN > 0 {
		n = *flagN
	}
	s := os.Getenv("PFAUDIT_DIFFTEST_SEED")
	if *flagSeed != "" {
		s = *flagSeed
	}
	switch s {
	case "":
		seed = 1
	case "random":
		seed = uint64(time.Now().UnixNano())
	default:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("-difftest.seed: %v", err)
		}
		seed = v
	}
	all = *flagAll || os.Getenv("PFAUDIT_DIFFTEST_ALL") == "1"
	return n, seed, all
}

func findPostconf(t *testing.T) string {
	p, err := defaults.FindPostconf()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postconf is required under CI: %v", err)
		}
		t.Skipf("postconf not installed (%v): the differential test needs the real postconf", err)
	}
	return p
}

// result is what one command printed and whether it failed.
type result struct {
	out    string
	stderr string
	failed bool
}

// netnsAddr matches the host side of a netns vantage's veth pair
// (package audit/netns: 198.18.0.0/15, fd70:6661:7564::/64) as host-derived
// defaults list it. Probe tests of other packages create and remove such
// pairs while this test runs (go test runs packages in parallel), so
// postconf and pfaudit may see this host's interfaces a moment apart.
var netnsAddr = regexp.MustCompile(`^(198\.1[89]\.[0-9]+\.[0-9]+/32|\[fd70:6661:7564:[0-9a-f:]*\]/128)$`)

// normalize collapses runs of whitespace in each line and drops the lines
// of parameters whose value describes the printing process, and the
// transient netns vantage addresses (netnsAddr).
func normalize(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		kept := f[:0]
		for _, w := range f {
			if !netnsAddr.MatchString(w) {
				kept = append(kept, w)
			}
		}
		l = strings.Join(kept, " ")
		if l == "" {
			continue
		}
		if name, _, ok := strings.Cut(l, " ="); ok && Excluded(name) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// joinFolded turns `postconf -Mf` output into `postconf -M` output:
// folded continuation lines start with whitespace.
func joinFolded(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			b.WriteString(" " + strings.TrimSpace(l))
			continue
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}

// selectParams keeps the lines of a full `-x` listing that `-x NAME...`
// prints: the known names asked for, in the order asked.
func selectParams(full []string, params []string) []string {
	byName := map[string]string{}
	for _, l := range full {
		if name, _, ok := strings.Cut(l, " ="); ok {
			byName[name] = l
		}
	}
	var out []string
	for _, p := range params {
		if l, ok := byName[p]; ok {
			out = append(out, l)
		}
	}
	return out
}

func runPostconf(ctx context.Context, bin, dir string, args []string) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-c", dir}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return result{out: out.String(), stderr: errb.String()}, nil
	case errors.As(err, &ee) && ctx.Err() == nil:
		return result{out: out.String(), stderr: errb.String(), failed: true}, nil
	default:
		return result{}, fmt.Errorf("postconf %v: %v", args, err)
	}
}

func runPfaudit(dir string, args []string) result {
	var out, errb bytes.Buffer
	code := cli.Main(append([]string{"config", "-c", dir}, args...), strings.NewReader(""), &out, &errb)
	return result{out: out.String(), stderr: errb.String(), failed: code != 0}
}

// writeCase writes the configuration with modification times in the
// past: Postfix re-reads (and waits for) a file changed in the last second
// or two, which would cost every fresh configuration that much time.
func writeCase(dir string, c Case) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	past := time.Now().Add(-time.Hour)
	for name, text := range map[string]string{"main.cf": c.MainCF, "master.cf": c.MasterCF} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
		if err := os.Chtimes(p, past, past); err != nil {
			return err
		}
	}
	return nil
}

type mismatch struct {
	index int
	c     Case
	mode  string
	want  result // postconf
	got   result // pfaudit
	wantL []string
	gotL  []string
}

func (m mismatch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %d (seed %d, broken=%v), mode %q: pfaudit disagrees with postconf\n", m.index, m.c.Seed, m.c.Broken, m.mode)
	fmt.Fprintf(&b, "reproduce: go test ./postconf/difftest -run TestDifferential -difftest.seed=%d -difftest.case=%d -v\n", m.c.Seed-uint64(m.index), m.index)
	fmt.Fprintf(&b, "--- main.cf ---\n%s--- master.cf ---\n%s", m.c.MainCF, m.c.MasterCF)
	if strings.Contains(m.mode, "PARAMS") {
		fmt.Fprintf(&b, "--- params ---\n%s\n", strings.Join(m.c.Params, " "))
	}
	if strings.Contains(m.mode, "PATTERNS") {
		fmt.Fprintf(&b, "--- patterns ---\n%s\n", strings.Join(m.c.Patterns, " "))
	}
	fmt.Fprintf(&b, "--- postconf (failed=%v) stderr ---\n%s", m.want.failed, clip(m.want.stderr))
	fmt.Fprintf(&b, "--- pfaudit (failed=%v) stderr ---\n%s", m.got.failed, clip(m.got.stderr))
	fmt.Fprintf(&b, "--- diff (- postconf, + pfaudit) ---\n%s", lineDiff(m.wantL, m.gotL))
	return b.String()
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "...\n"
	}
	return s
}

// lineDiff shows the lines only one side has, in order, with a little
// context; enough to spot a discrepancy without a diff library.
func lineDiff(a, b []string) string {
	var out strings.Builder
	i, j, shown := 0, 0, 0
	for (i < len(a) || j < len(b)) && shown < 40 {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i++
			j++
		case i < len(a) && !slices.Contains(b[j:], a[i]):
			fmt.Fprintf(&out, "- %s\n", a[i])
			i++
			shown++
		case j < len(b) && !slices.Contains(a[i:], b[j]):
			fmt.Fprintf(&out, "+ %s\n", b[j])
			j++
			shown++
		default: // reordered
			if i < len(a) {
				fmt.Fprintf(&out, "- %s\n", a[i])
				i++
			}
			if j < len(b) {
				fmt.Fprintf(&out, "+ %s\n", b[j])
				j++
			}
			shown++
		}
	}
	return out.String()
}

// check compares one mode and returns the mismatches (the derived
// comparisons included).
func check(index int, c Case, m mode, dir string, pc result, legacy map[string]bool) []mismatch {
	var ms []mismatch
	compare := func(name string, want result, wantL []string, got result) {
		gotL := normalize(got.out)
		if got.failed && strings.TrimSpace(got.stderr) == "" {
			ms = append(ms, mismatch{index, c, name + " (pfaudit failed without a message)", want, got, wantL, gotL})
			return
		}
		if want.failed != got.failed {
			ms = append(ms, mismatch{index, c, name, want, got, wantL, gotL})
			return
		}
		if !want.failed && !slices.Equal(wantL, gotL) {
			ms = append(ms, mismatch{index, c, name, want, got, wantL, gotL})
		}
	}
	pfArgs := m.args(c)
	compare(m.name, pc, normalize(pc.out), runPfaudit(dir, pfArgs))
	switch m.name {
	case "-x":
		// The full listing omits legacy names (virtual_maps, ...) that
		// postconf -x NAME prints when asked: leave them out.
		var params []string
		for _, p := range c.Params {
			if !legacy[p] {
				params = append(params, p)
			}
		}
		compare("-x PARAMS (from -x)", pc, selectParams(normalize(pc.out), params), runPfaudit(dir, append([]string{"-x"}, params...)))
	case "-Mf":
		want := pc
		want.out = joinFolded(pc.out)
		compare("-M (from -Mf)", want, normalize(want.out), runPfaudit(dir, []string{"-M"}))
	}
	return ms
}

func TestDifferential(t *testing.T) {
	bin := findPostconf(t)
	n, seed, all := settings(t)
	t.Logf("postconf %s; %d configurations from seed %d; all modes: %v", bin, n, seed, all)

	// Warm the defaults cache (postconf -d) once, and give the generator
	// the names Postfix knows.
	d, err := defaults.FromPostconf(context.Background(), bin, 0)
	if err != nil {
		t.Fatalf("postconf -d: %v", err)
	}
	var builtin []string
	legacy := map[string]bool{}
	for _, name := range d.Names() {
		if d.Listed(name) && !Excluded(name) {
			builtin = append(builtin, name)
		}
		if !d.Listed(name) {
			legacy[name] = true
		}
	}
	runPfaudit(t.TempDir(), []string{"-n"})

	if *flagDump != "" {
		for i := 0; i < n; i++ {
			c := Generate(seed+uint64(i), Options{Builtin: builtin})
			if err := writeCase(filepath.Join(*flagDump, strconv.Itoa(i)), c); err != nil {
				t.Fatal(err)
			}
			_ = os.WriteFile(filepath.Join(*flagDump, strconv.Itoa(i), "params"), []byte(strings.Join(c.Params, "\n")+"\n"), 0o644)
		}
		t.Skipf("wrote %d configurations under %s", n, *flagDump)
	}
	base := t.TempDir()
	type job struct {
		index int
		mode  mode
	}
	var jobs []job
	for i := 0; i < n; i++ {
		if *flagOnly >= 0 && i != *flagOnly {
			continue
		}
		if all || *flagOnly >= 0 {
			for _, m := range modes {
				jobs = append(jobs, job{i, m})
			}
			continue
		}
		jobs = append(jobs, job{i, modes[(i+int(seed%uint64(len(modes))))%len(modes)]})
	}

	var (
		mu        sync.Mutex
		failures  []mismatch
		broken    atomic.Int64
		pcFailed  atomic.Int64
		execError error
		cases     sync.Map
		reasons   = map[string]int{}
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := make(chan job)
	var wg sync.WaitGroup
	// Postconf's fatal exits sleep a second; more workers than CPUs keep
	// those sleeps from serialising.
	workers := 6 * runtime.NumCPU()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				// Generated and written once: with -difftest.all several
				// jobs share a configuration.
				dir := filepath.Join(base, strconv.Itoa(j.index))
				type written struct {
					c   Case
					err error
				}
				v, _ := cases.LoadOrStore(j.index, sync.OnceValue(func() written {
					c := Generate(seed+uint64(j.index), Options{Builtin: builtin})
					return written{c, writeCase(dir, c)}
				}))
				w := v.(func() written)()
				c := w.c
				if err := w.err; err != nil {
					mu.Lock()
					execError = err
					mu.Unlock()
					cancel()
					continue
				}
				pc, err := runPostconf(ctx, bin, dir, j.mode.args(c))
				if err != nil {
					mu.Lock()
					if execError == nil {
						execError = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				if c.Broken {
					broken.Add(1)
				}
				if pc.failed {
					pcFailed.Add(1)
					if testing.Verbose() {
						mu.Lock()
						reasons[failureReason(pc.stderr)]++
						mu.Unlock()
					}
				}
				if ms := check(j.index, c, j.mode, dir, pc, legacy); len(ms) > 0 {
					mu.Lock()
					failures = append(failures, ms...)
					mu.Unlock()
					if *flagKeep != "" {
						_ = writeCase(filepath.Join(*flagKeep, strconv.Itoa(j.index)), c)
					}
				}
			}
		}()
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	if execError != nil {
		t.Fatal(execError)
	}
	t.Logf("%d postconf runs over %d configurations in %v; %d runs on deliberately broken configurations, %d postconf failures",
		len(jobs), n, time.Since(start).Round(time.Millisecond), broken.Load(), pcFailed.Load())
	for r, k := range reasons {
		t.Logf("postconf failed %d times: %s", k, r)
	}
	slices.SortFunc(failures, func(a, b mismatch) int { return a.index - b.index })
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more mismatches", len(failures)-10)
			break
		}
		t.Error(f.String())
	}
}

// failureReason is the warning that made postconf fail (the line before
// its "fatal: ... macro processing error"), or the fatal message, with
// file names removed.
func failureReason(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	r := lines[len(lines)-1]
	if strings.Contains(r, "macro processing error") && len(lines) > 1 {
		r = lines[len(lines)-2]
	}
	if i := strings.LastIndex(r, ".cf"); i >= 0 {
		r = r[i:]
	}
	return diagLine(r)
}

func diagLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}
