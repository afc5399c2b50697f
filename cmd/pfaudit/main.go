// A run lasts seconds: GOMAXPROCS follows the CPU limit found at start,
// and the runtime's watcher for later changes (a goroutine, and a thread
// woken, at every start) is not needed (scripts/bench-startup.sh).
//go:debug updatemaxprocs=0

// Command pfaudit audits a Postfix server's relay policy. See README.md.
package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/pfaudit/pfaudit/cmd/pfaudit/cli"
	_ "github.com/pfaudit/pfaudit/cmd/pfaudit/internal/hugeheap" // first init: see its doc
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
		watchHeap(memoryLimit)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// heapSentinel is garbage from the moment it is made: its cleanup runs
// after the next collection.
type heapSentinel struct{ _ *byte } // a pointer: not from the tiny allocator, whose blocks outlive their objects

// watchHeap raises the soft limit when the live heap itself comes near
// it: below the live data the limit would only make the collector run
// without end (a master.cf of ten thousand listeners needs more than
// 384 MB), so it then moves to twice the live heap, as GOGC=100 would.
// It looks once after every collection, which is when the heap in use is
// the live heap, and costs nothing until the first one (most runs have
// none): no polling goroutine, and no runtime/metrics, whose
// initialisation alone took half a millisecond of every start.
func watchHeap(limit int64) {
	runtime.AddCleanup(&heapSentinel{}, func(limit int64) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if live := int64(ms.HeapAlloc); live > limit*3/4 {
			limit = 2 * live
			debug.SetMemoryLimit(limit)
		}
		watchHeap(limit)
	}, limit)
}
