package audit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/internal/scalegen"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// auditDir is what `pfaudit audit --no-probe` does in process: read the
// directory, analyse every listener, run every rule (fix verification
// included).
func auditDir(tb testing.TB, dir string) {
	cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
	if err != nil {
		tb.Fatal(err)
	}
	rep, _ := audit.Run(context.Background(), cfg, audit.Options{})
	if len(rep.Listeners) == 0 {
		tb.Fatal("no listeners")
	}
}

// measure returns the best wall time and the bytes allocated by one audit
// of dir, over runs runs.
func measure(tb testing.TB, dir string, runs int) (time.Duration, uint64) {
	best := time.Duration(1<<63 - 1)
	var alloc uint64
	for i := 0; i < runs; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		auditDir(tb, dir)
		best = min(best, time.Since(start))
		runtime.ReadMemStats(&after)
		alloc = after.TotalAlloc - before.TotalAlloc
	}
	return best, alloc
}

// TestGrowthNearLinear audits configurations of 1k and 16k entries in each
// input dimension (scalegen.Dims; 64 and 1,024 listeners) and requires
// that 16 times the input
// costs at most 16·4 = 64 times the memory and 16·6 = 96 times the time:
// within a constant factor of linear. The quadratic costs this guards against (one search of
// the whole mynetworks per mynetworks entry, every finding re-running its
// rule, pairwise scans) grow 256-fold. Ratios, not absolute times, so a
// slow or loaded machine passes as well as a fast one; the best of three
// runs keeps a busy neighbour from deciding.
func TestGrowthNearLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and audits configurations of 16k entries")
	}
	// Memory is counted exactly; time is measured on a machine others
	// share, so it gets more room. Quadratic growth is ×256 either way.
	const memFactor, timeFactor = 4.0, 6.0
	for _, dim := range scalegen.Dims {
		small, large := 1000, 16000
		if dim == "services" {
			// Every listener is a full relay analysis: 64 and 1,024 keep
			// the test cheap with the same ratio.
			small, large = 64, 1024
		}
		ratio := float64(large) / float64(small)
		t.Run(dim, func(t *testing.T) {
			tmp := t.TempDir()
			sd, ld := filepath.Join(tmp, "small"), filepath.Join(tmp, "large")
			if err := scalegen.Write(sd, dim, small); err != nil {
				t.Fatal(err)
			}
			if err := scalegen.Write(ld, dim, large); err != nil {
				t.Fatal(err)
			}
			ts, as := measure(t, sd, 3)
			tl, al := measure(t, ld, 3)
			tr := float64(tl) / float64(ts)
			ar := float64(al) / float64(as)
			t.Logf("%s: %d: %v %d B; %d: %v %d B; growth: time ×%.1f, memory ×%.1f (linear ×%d)",
				dim, small, ts, as, large, tl, al, tr, ar, large/small)
			// Tiny absolute times are noise: compare only when the large
			// audit takes long enough to measure.
			if lim := ratio * timeFactor; tl > 20*time.Millisecond && tr > lim {
				t.Errorf("%s: 16× the input took %.1f× the time (limit %.0f×): worse than linear", dim, tr, lim)
			}
			if lim := ratio * memFactor; ar > lim {
				t.Errorf("%s: 16× the input allocated %.1f× the memory (limit %.0f×): worse than linear", dim, ar, lim)
			}
		})
	}
}

// BenchmarkScale audits configurations of 1k, 16k, 256k and 1M entries in
// each input dimension (scalegen.Dims); scripts/bench-scale.sh runs the
// built binary on the same inputs and reports peak memory too. The
// largest sizes take a while: select them with -bench 'Scale/.*/1k'.
func BenchmarkScale(b *testing.B) {
	sizes := []int{1 << 10, 1 << 14, 1 << 18, 1 << 20}
	for _, dim := range scalegen.Dims {
		for _, n := range sizes {
			name := fmt.Sprintf("%s/%dk", dim, n>>10)
			b.Run(name, func(b *testing.B) {
				dir := filepath.Join(b.TempDir(), "c")
				if err := scalegen.Write(dir, dim, n); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					auditDir(b, dir)
				}
			})
		}
	}
}
