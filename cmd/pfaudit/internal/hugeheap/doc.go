// Package hugeheap backs the start of the Go heap with transparent huge
// pages, from the first package initialisation on (main imports it for
// its init), and on request the next stretch of its growth (Reserve).
//
// A pfaudit run is short and its heap small (about 1 MB for a stock
// audit), so nearly all of its memory is touched for the first time
// during the run, one 4 KB page fault at a time. On virtual machines whose
// host backs guest memory on demand, such a fault costs 10-20 µs: a stock
// audit took about 300 of them in its heap, 4-5 ms of a run that must
// cost no more than `postconf -x` (issue 8, scripts/bench-startup.sh).
// One 2 MB page for the same range costs about 0.2 ms.
//
// The Go runtime stopped asking for huge pages itself (Go 1.21.1) because
// long-running programs with sparse heaps paid for them in memory, and
// because collapsing can stall: the kernel allocates the 2 MB page on the
// spot, compacting memory if it must (here: 0.5-1 ms usually, a 5 ms
// tail one run in ten). Only the two 2 MB regions of the heap's first
// mapping are marked (the runtime maps the heap 4 MB at a time), so a run
// holds at most 4 MB more, and later growth of the heap keeps ordinary
// pages unless a command that knows it will build a large heap asks for
// more with Reserve (pfaudit fleet).
//
// The package imports only unsafe and runtime (which is initialised
// before every package anyway), so it is initialised before almost every
// other package (the Go spec orders ready packages by import path),
// before their allocations fault in.
// With transparent huge pages set to "never", under PR_SET_THP_DISABLE,
// or on kernels before 6.1 (no MADV_COLLAPSE), the calls fail and change
// nothing.
package hugeheap
