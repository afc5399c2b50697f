package lab_test

import (
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// BenchmarkStartStop starts and stops one Strict instance per iteration
// and reports the mean start time (configuration written to the last 220)
// and stop time (postfix stop to master's exit) separately.
func BenchmarkStartStop(b *testing.B) {
	lab.Require(b)
	var start, stop time.Duration
	for i := 0; i < b.N; i++ {
		in := lab.Start(b, lab.Strict())
		start += in.StartDuration()
		t0 := time.Now()
		if err := in.Stop(); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(t0)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms/op")
}
