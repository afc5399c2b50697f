//go:build unix

package fleet

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/rules"
)

// benchConfigs are the bundled configurations whose golden dumps seed the
// benchmark fleets.
var benchConfigs = []string{"content-filter", "debian-stock", "docker-wide", "legacy-2.9", "mx-dovecot", "null-client", "postscreen", "tables"}

// makeFleet writes hosts host directories of collected dumps drawn from
// distinct configurations: variant v is a bundled configuration with its
// own myhostname (which changes mydestination's $myhostname, so the
// variants are distinct effective configurations, not copies).
func makeFleet(tb testing.TB, dir string, hosts, distinct int) {
	tb.Helper()
	type dump struct{ n, m []byte }
	var base []dump
	for _, c := range benchConfigs {
		base = append(base, dump{readFile(tb, filepath.Join(configs, c, "postconf.n")), readFile(tb, filepath.Join(configs, c, "postconf.M"))})
	}
	variants := make([]dump, distinct)
	for v := range variants {
		d := base[v%len(base)]
		n := string(d.n)
		if strings.Contains(n, "\nmyhostname = ") {
			n = strings.Replace(n, "\nmyhostname = ", fmt.Sprintf("\nmyhostname = v%d.", v), 1)
		} else {
			n += fmt.Sprintf("myhostname = v%d.example.org\n", v)
		}
		variants[v] = dump{[]byte(n), d.m}
	}
	for h := range hosts {
		d := variants[h%distinct]
		hd := filepath.Join(dir, fmt.Sprintf("mx%05d", h))
		if err := os.MkdirAll(hd, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hd, NDumpFile), d.n, 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hd, MDumpFile), d.m, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// peakHeap samples the live heap while a run lasts: the figure that shows
// the output streams instead of holding every report.
type peakHeap struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  uint64
}

func startPeak() *peakHeap {
	p := &peakHeap{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			p.max = max(p.max, ms.HeapInuse)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakHeap) end() uint64 { close(p.stop); p.wg.Wait(); return p.max }

func benchFleet(b *testing.B, hosts, distinct int, format string) {
	dir := b.TempDir()
	makeFleet(b, dir, hosts, distinct)
	d := defaults.Builtin()
	o := Options{Paths: []string{dir}, Format: format, FailOn: rules.High, Defaults: d, DefaultsSource: "built-in", Version: "bench"}
	var peak uint64
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		runtime.GC()
		p := startPeak()
		c0 := cpuTime()
		sum, err := Run(context.Background(), io.Discard, o)
		cpu += cpuTime() - c0
		peak = max(peak, p.end())
		if err != nil {
			b.Fatal(err)
		}
		if sum.Hosts != hosts || sum.Errors != 0 || sum.Analysed != distinct {
			b.Fatalf("%d hosts, %d errors, %d analysed; want %d, 0, %d", sum.Hosts, sum.Errors, sum.Analysed, hosts, distinct)
		}
	}
	b.ReportMetric(float64(hosts*b.N)/b.Elapsed().Seconds(), "hosts/s")
	b.ReportMetric(float64(distinct*b.N)/b.Elapsed().Seconds(), "distinct/s")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-heap")
	// CPU seconds (user+system) per run: on a shared machine the wall
	// time depends on the other load, the CPU time much less; divided by
	// the cores it is the wall time an idle machine would need.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFleet10k is the goal: 10,000 hosts drawn from 50
// distinct configurations in under 2 s on a 2-core machine.
func BenchmarkFleet10k(b *testing.B) {
	for _, f := range []string{"table", "json"} {
		b.Run(f, func(b *testing.B) { benchFleet(b, 10000, 50, f) })
	}
}

// BenchmarkFleetDistinct: every host a distinct configuration; the
// distinct/s metric is the goal of at least 2,000 distinct hosts per
// second.
func BenchmarkFleetDistinct(b *testing.B) {
	benchFleet(b, 2000, 2000, "table")
}
