package lab_test

import (
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// BenchmarkStartStop starts and stops one Strict instance per iteration
// and reports the mean start time (Start's call to the last 220) and stop
// time (postfix stop to master's exit). "check" runs postfix check for
// every instance, "copy" copies the checked queue tree (the default after
// the first instance of a test binary).
func BenchmarkStartStop(b *testing.B) {
	lab.Require(b)
	for _, bc := range []struct {
		name  string
		check bool
	}{{"check", true}, {"copy", false}} {
		b.Run(bc.name, func(b *testing.B) {
			var start, stop time.Duration
			for i := 0; i < b.N; i++ {
				opt := lab.Strict()
				opt.Check = bc.check
				in := lab.Start(b, opt)
				start += in.StartDuration()
				t0 := time.Now()
				if err := in.Stop(); err != nil {
					b.Fatal(err)
				}
				stop += time.Since(t0)
			}
			b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
			b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "stop-ms/op")
		})
	}
}
