package hugeheap

import (
	"runtime"
	"unsafe"
)

// Linux madvise(2) advice values.
const (
	madvHugepage = 14 // MADV_HUGEPAGE: fault this range in 2 MB at a time
	madvCollapse = 25 // MADV_COLLAPSE (6.1): make the resident 4 KB pages one 2 MB page now
	hugePage     = 2 << 20
	smallPage    = 4 << 10
)

// probe is allocated on the heap during initialisation; its address tells
// where the heap's first mapping is.
var probe = new([64]byte)

// Outcome of one region's advice, kept for the package's tests.
type region struct {
	start              uintptr
	advised, collapsed bool
	adviseErr, collErr uintptr // errno, 0 for none
}

var regions []region

func init() {
	// The runtime maps the heap 4 MB at a time, 4 MB aligned (its page
	// allocator's chunk), so the probe's 4 MB block is the first mapping:
	// two huge-page regions.
	block := uintptr(unsafe.Pointer(probe)) &^ (2*hugePage - 1)
	var resident [hugePage / smallPage]byte
	var out [2]region
	n := 0
	for r := block; r < block+2*hugePage; r += hugePage {
		// mincore fails (ENOMEM) unless the whole region is mapped; what
		// it reports tells whether anything there is resident yet.
		if syscall3(sysMincore, r, hugePage, uintptr(unsafe.Pointer(&resident[0]))) != 0 {
			continue
		}
		reg := region{start: r}
		reg.adviseErr = syscall3(sysMadvise, r, hugePage, madvHugepage)
		reg.advised = reg.adviseErr == 0
		// A region that already has 4 KB pages goes on getting 4 KB pages
		// (the kernel maps a huge page only where no page table exists
		// yet), so those are collapsed into one now: about 1 ms (a few ms
		// one run in ten), against 2-4 ms of the faults it saves a stock
		// audit.
		for _, b := range resident {
			if b&1 != 0 {
				reg.collErr = syscall3(sysMadvise, r, hugePage, madvCollapse)
				reg.collapsed = reg.collErr == 0
				break
			}
		}
		out[n] = reg
		n++
	}
	regions = out[:n]
}

// reserved is the range Reserve last marked, for the package's tests.
var reserved struct{ start, end uintptr }

// Reserve makes about n bytes of the heap's next growth fault in 2 MB at
// a time, for a run that will build a heap of that size (a fleet: about
// 70 MB, 17,000 faults of 4 KB, a fifth of its time on a virtual
// machine). The runtime maps new heap memory without the huge-page
// advice, so Reserve has it map the space now, as one block it never
// touches, marks the block, and frees it with a collection: the runtime
// then hands the same address space out for ordinary objects, and their
// first touch of each 2 MB maps a huge page.
func Reserve(n int) {
	if n < 2*hugePage {
		return
	}
	// Fresh memory from the kernel is known to be zero, so the runtime
	// does not clear the block: nothing in it is touched.
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + uintptr(n)) &^ (hugePage - 1)
	if syscall3(sysMadvise, start, end-start, madvHugepage) == 0 {
		reserved.start, reserved.end = start, end
	}
	runtime.KeepAlive(b)
	runtime.GC()
}
