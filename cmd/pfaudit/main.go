// Command pfaudit audits a Postfix server's relay policy. See README.md.
package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/pfaudit/pfaudit/cmd/pfaudit/cli"
)

// memoryLimit is the soft heap limit pfaudit starts with unless GOMEMLIMIT
// says otherwise: a huge configuration (a mynetworks of a million
// entries) then audits in about 400 MB instead of twice its live data, at
// the price of more garbage collection; ordinary configurations never
// come near it.
const memoryLimit = 384 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
		go relaxLimit()
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// relaxLimit raises the soft limit when the live heap itself comes near
// it: below the live data the limit would only make the collector run
// without end (a master.cf of ten thousand listeners needs more than
// 384 MB), so it then moves to twice the live heap, as GOGC=100 would.
func relaxLimit() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	limit := int64(memoryLimit)
	for {
		time.Sleep(50 * time.Millisecond)
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if live := int64(sample[0].Value.Uint64()); live > limit*3/4 {
			limit = 2 * live
			debug.SetMemoryLimit(limit)
		}
	}
}
