// Package fleet audits many mail hosts in one batch (`pfaudit fleet`).
//
// Each fleet PATH is a directory whose subdirectories are hosts, named by
// the subdirectory. A host directory holds exactly one of:
//
//   - a copied configuration directory (main.cf, master.cf, tables), at
//     its top or under etc/postfix/ or postfix/;
//   - collected dumps: postconf.n (`postconf -n`), and optionally
//     postconf.M, postconf.P and postconf.d (that host's `postconf -d`,
//     whose host-derived defaults such as mynetworks the controller
//     cannot compute);
//   - audit.json, a report `pfaudit audit --format json` wrote on the host,
//     merged as is.
//
// Configurations and dumps are audited with audit.Run exactly as `pfaudit
// audit --no-probe` audits them. Hosts are audited in parallel; hosts
// whose inputs are identical (fleets are repetitive) share one analysis,
// keyed by a hash of their contents with host paths left out, and each
// host's report is rebased onto its own files. Output streams in host
// order: a table, JSON, SARIF or JUnit for 10,000 hosts never holds all
// the reports at once. One bad host gets an error entry and never stops
// the others.
package fleet

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/rules"
)

// Formats are the values of Options.Format.
var Formats = []string{"table", "json", "markdown", "sarif", "junit"}

// Exit codes of a fleet run (Summary.ExitCode), as `pfaudit audit`'s.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Options tune a fleet run.
type Options struct {
	// Paths are the fleet directories; their subdirectories are hosts.
	Paths []string
	// Format is one of Formats (default "table").
	Format string
	// Jobs is how many hosts are audited at once (default: the number of
	// CPUs).
	Jobs int
	// FailOn: a finding at or above it makes a host failing (exit 1).
	// rules.Critical+1 ("none") never fails.
	FailOn rules.Severity
	// Policy applies to every host audited here (not to merged
	// audit.json reports, whose findings were decided on the host).
	Policy *rules.Policy
	// Defaults stand in for hosts without a postconf.d; DefaultsSource
	// names them in reports. Required.
	Defaults       postconf.Defaults
	DefaultsSource string
	// Version names the pfaudit build in reports.
	Version string
	// Color and Width are passed to the per-host table renderer (see
	// render.Options).
	Color bool
	Width int
	// Progress, when set, receives "hosts done / total" updates (a
	// terminal's standard error).
	Progress io.Writer
	// CacheSize bounds how many distinct analyses are kept for reuse
	// (default 256).
	CacheSize int
}

// Host is one host's result.
type Host struct {
	// Name is the host directory's name, Dir its absolute path.
	Name, Dir string
	// Kind is what the directory held ("" when it could not be told).
	Kind Kind
	// Err says why the host could not be audited ("" on success).
	Err string
	// Shared is true when the analysis was reused from an identical host.
	Shared bool
	// Report is a merged audit.json's report; the reports of audited
	// hosts come from their (shared) analysis through Host.report.
	// Formats drop both once they rendered the host, to keep memory
	// bounded.
	Report *render.Report
	// Raw is the audit.json as the host wrote it (KindReport).
	Raw []byte

	// The summary, kept after Report is dropped.
	Listeners []render.ListenerReport // only Service, Verdict, WouldBe, LoopbackOnly
	Counts    [rules.Critical + 1]int // findings per severity
	Worst     *rules.Finding          // the most severe finding (first in report order)
	Failing   bool                    // a finding at or above FailOn

	an  *analysis // the analysis this host's inputs map to
	out []byte    // the format's rendering of this host
}

// report is the host's full report, paths naming its own files.
func (h *Host) report() *render.Report {
	if h.an != nil {
		return rebase(h.an.rep, h.an.base, h.Dir)
	}
	return h.Report
}

// rendered returns what render makes of the host's report, computed once
// per analysis and shared by every host that has it; base is the
// directory the report's paths are under (the first such host's), which
// the caller rebases or makes relative in the rendered bytes or before
// rendering.
func (h *Host) rendered(render func(rep *render.Report, base string) ([]byte, error)) (out []byte, base string, err error) {
	if h.an == nil {
		out, err := render(h.Report, h.Dir)
		return out, h.Dir, err
	}
	a := h.an
	a.renderOnce.Do(func() { a.rendered, a.renderErr = render(a.rep, a.base) })
	return a.rendered, a.base, a.renderErr
}

// drop releases what the host no longer needs once rendered.
func (h *Host) drop() { h.Report, h.Raw, h.an = nil, nil, nil }

// Problem reports whether the host's details belong in the table: it could
// not be read, a finding reached --fail-on, or a listener is not closed.
func (h *Host) Problem() bool {
	if h.Err != "" || h.Failing {
		return true
	}
	for _, l := range h.Listeners {
		if l.Verdict != relay.Closed {
			return true
		}
	}
	return false
}

// summarise fills the summary fields from the report.
func (h *Host) summarise(failOn rules.Severity) {
	rep := h.Report
	if h.an != nil {
		rep = h.an.rep
	}
	if rep == nil {
		return
	}
	for _, l := range rep.Listeners {
		h.Listeners = append(h.Listeners, render.ListenerReport{Service: l.Service, Verdict: l.Verdict, WouldBe: l.WouldBe, LoopbackOnly: l.LoopbackOnly})
	}
	for i, f := range rep.Findings {
		if f.Severity >= rules.Info && f.Severity <= rules.Critical {
			h.Counts[f.Severity]++
		}
		if f.Severity >= failOn {
			h.Failing = true
		}
		if h.Worst == nil || f.Severity > h.Worst.Severity {
			w := rep.Findings[i]
			h.Worst = &w
		}
	}
}

// Summary is the whole run's outcome.
type Summary struct {
	Hosts  int // hosts found
	Errors int // hosts that could not be audited
	// Failing hosts have a finding at or above FailOn.
	Failing int
	// Problems are hosts shown in the table's details.
	Problems int
	// Analysed is how many analyses ran (the distinct configurations,
	// unless the bounded cache had to forget some); Shared counts hosts
	// that reused one, Merged the audit.json reports.
	Analysed, Shared, Merged int
	// Verdicts counts listeners per verdict across the fleet.
	Verdicts map[relay.Verdict]int
	// Findings counts findings per severity across the fleet.
	Findings [rules.Critical + 1]int
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
}

// ExitCode is 2 when a host could not be read, else 1 when a finding
// reached FailOn, else 0.
func (s *Summary) ExitCode() int {
	switch {
	case s.Errors > 0:
		return ExitError
	case s.Failing > 0:
		return ExitFindings
	}
	return ExitOK
}

func (s *Summary) add(h *Host) {
	switch {
	case h.Err != "":
		s.Errors++
	case h.Kind == KindReport:
		s.Merged++
	case h.Shared:
		s.Shared++
	}
	if h.Failing {
		s.Failing++
	}
	if h.Problem() {
		s.Problems++
	}
	for _, l := range h.Listeners {
		s.Verdicts[l.Verdict]++
	}
	for i, n := range h.Counts {
		s.Findings[i] += n
	}
}

// format renders a fleet. prepare runs in the workers (in parallel, in
// any order) and renders what it can of one host into h.out; the other
// methods run in one goroutine, in host order.
type format interface {
	begin(w io.Writer, hosts []hostDir) error
	prepare(h *Host) error
	host(w io.Writer, h *Host) error
	end(w io.Writer, s *Summary) error
}

type runner struct {
	ctx       context.Context
	opts      Options
	defaults  postconf.Defaults
	defSource string
	cache     *cache
}

// Run audits the fleet under o.Paths and writes the report to w. The error
// is for the run as a whole (no PATH, an unreadable PATH, a bad option, a
// failed write, cancellation); bad hosts are in the report and the
// Summary, whose ExitCode is the command's exit status.
// fleetGCPercent is the garbage collector's GOGC while a fleet runs.
const fleetGCPercent = 400

// maxJobs bounds --jobs: far past the cores of any controller, and
// small enough that the workers and their look-ahead queue cost little.
const maxJobs = 1024

func Run(ctx context.Context, w io.Writer, o Options) (*Summary, error) {
	start := time.Now()
	if o.Format == "" {
		o.Format = "table"
	}
	f, err := newFormat(o)
	if err != nil {
		return nil, err
	}
	if o.Defaults == nil {
		return nil, fmt.Errorf("fleet: no defaults given")
	}
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 256
	}
	hosts, err := discover(o.Paths)
	if err != nil {
		return nil, err
	}
	// A worker more than there are hosts does nothing, and each one sizes
	// the look-ahead queue: --jobs 1000000000 ended in an out-of-memory
	// crash before the first host.
	o.Jobs = min(o.Jobs, max(len(hosts), 1), maxJobs)
	if _, set := os.LookupEnv("GOGC"); !set {
		// The batch keeps little alive (the analysis cache, streamed
		// output) and allocates fast: collecting at 5x the live heap
		// instead of 2x (GOGC 100) costs a few tens of MB and saves
		// about a fifth of the CPU. Measured on 2,000 distinct hosts,
		// alternating runs (scripts/bench-fleet.sh), medians of 8: GOGC
		// 300 1.05 s wall / 1.98 s CPU / 59 MB, 400 1.02 / 1.92 / 71 MB,
		// 500 0.99 / 1.88 / 81 MB in one series and no better than 400
		// in the next, 800 no better with 118 MB; a smaller cache (a
		// smaller live heap) only made the collections more frequent.
		// The soft memory limit (cmd/pfaudit) still bounds the heap.
		defer debug.SetGCPercent(debug.SetGCPercent(fleetGCPercent))
	}
	r := &runner{ctx: ctx, opts: o, defaults: o.Defaults, defSource: o.DefaultsSource, cache: newCache(o.CacheSize)}

	sum := &Summary{Hosts: len(hosts), Verdicts: map[relay.Verdict]int{}}
	if c, ok := f.(io.Closer); ok {
		// Formats with a temporary file release it however the run ends.
		defer c.Close()
	}
	if err := f.begin(w, hosts); err != nil {
		return nil, err
	}

	// Hosts go to the workers in order, and their results come back in
	// the same order through a bounded queue of per-host channels: the
	// writer waits for the oldest host while the workers run ahead by at
	// most the queue's length, which bounds memory.
	type job struct {
		hd  hostDir
		out chan *Host
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job)
	order := make(chan chan *Host, 8*o.Jobs)
	for range o.Jobs {
		go func() {
			for j := range jobs {
				h := r.audit(j.hd)
				h.summarise(o.FailOn)
				if err := prepare(f, h); err != nil {
					h.Err = err.Error()
					h.drop()
					h.Listeners, h.Counts, h.Worst, h.Failing = nil, [rules.Critical + 1]int{}, nil, false
					// The error entry itself must render.
					if err := prepare(f, h); err != nil {
						h.out = nil
					}
				}
				j.out <- h
			}
		}()
	}
	go func() {
		defer close(jobs)
		defer close(order)
		for _, hd := range hosts {
			j := job{hd: hd, out: make(chan *Host, 1)}
			select {
			case order <- j.out:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()

	prog := newProgress(o.Progress, len(hosts))
	for ch := range order {
		var h *Host
		select {
		case h = <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		sum.add(h)
		// The progress line and the report may share a terminal: take the
		// line away before the report writes.
		prog.clear()
		if err := f.host(w, h); err != nil {
			return nil, err
		}
		prog.step()
	}
	prog.done()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.cache.mu.Lock()
	sum.Analysed = r.cache.analysed
	r.cache.mu.Unlock()
	sum.Elapsed = time.Since(start)
	if err := f.end(w, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// prepare runs the format's prepare, a panic becoming the host's error.
func prepare(f format, h *Host) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error rendering %s: %v\n%s", h.Dir, p, debug.Stack())
		}
	}()
	return f.prepare(h)
}

func newFormat(o Options) (format, error) {
	switch o.Format {
	case "table":
		return &tableFormat{o: o}, nil
	case "markdown", "md":
		return &markdownFormat{o: o}, nil
	case "json":
		return &jsonFormat{o: o}, nil
	case "sarif":
		return &sarifFormat{o: o}, nil
	case "junit":
		return &junitFormat{o: o}, nil
	}
	return nil, fmt.Errorf("--format: %q is not one of %s", o.Format, strings.Join(Formats, ", "))
}

// progress writes "hosts done / total" over itself, at most ten times a
// second.
type progress struct {
	w        io.Writer
	n, total int
	last     time.Time
	shown    bool
}

func newProgress(w io.Writer, total int) *progress { return &progress{w: w, total: total} }

func (p *progress) step() {
	p.n++
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || p.n == p.total {
		p.last = now
		fmt.Fprintf(p.w, "\rpfaudit fleet: %d/%d hosts", p.n, p.total)
		p.shown = true
	}
}

func (p *progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) done() { p.clear() }

// severityOrder lists severities from the most severe down.
var severityOrder = func() []rules.Severity {
	s := []rules.Severity{rules.Info, rules.Low, rules.Medium, rules.High, rules.Critical}
	slices.Reverse(s)
	return s
}()
