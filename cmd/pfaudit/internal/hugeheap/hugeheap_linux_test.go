package hugeheap

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// thpMode is the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled.
func thpMode(t *testing.T) string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	s := string(b)
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		t.Fatalf("unexpected transparent_hugepage/enabled: %q", s)
	}
	return s[i+1 : j]
}

// kernelAtLeast reports whether uname's release is at least major.minor.
func kernelAtLeast(t *testing.T, major, minor int) bool {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	f := strings.FieldsFunc(string(rel), func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		t.Fatalf("kernel release %q", rel)
	}
	ma, _ := strconv.Atoi(f[0])
	mi, _ := strconv.Atoi(f[1])
	return ma > major || ma == major && mi >= minor
}

// vma is one mapping of /proc/self/smaps with the fields the test reads.
type vma struct {
	start, end uintptr
	flags      []string
	anonHugeKB int
}

func smapsAt(t *testing.T, addr uintptr) vma {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var cur *vma
	var found vma
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			s, e1 := strconv.ParseUint(lo, 16, 64)
			e, e2 := strconv.ParseUint(hi, 16, 64)
			if e1 == nil && e2 == nil {
				cur = nil
				if uintptr(s) <= addr && addr < uintptr(e) {
					found = vma{start: uintptr(s), end: uintptr(e)}
					cur = &found
				}
				continue
			}
		}
		if cur == nil {
			continue
		}
		switch f[0] {
		case "AnonHugePages:":
			cur.anonHugeKB, _ = strconv.Atoi(f[1])
		case "VmFlags:":
			cur.flags = f[1:]
		}
	}
	if found.end == 0 {
		t.Fatalf("no mapping holds %#x", addr)
	}
	return found
}

func TestHeapStartIsHuge(t *testing.T) {
	mode := thpMode(t)
	if mode == "" || mode == "never" {
		t.Skipf("transparent huge pages unavailable here (mode %q): the advice changes nothing", mode)
	}
	p := uintptr(unsafe.Pointer(probe))
	if len(regions) == 0 {
		t.Fatalf("no region around the heap probe %#x was advised", p)
	}
	own := false
	for _, r := range regions {
		if r.start <= p && p < r.start+hugePage {
			own = true
		}
		if !r.advised {
			t.Errorf("region %#x: MADV_HUGEPAGE failed, errno %d", r.start, r.adviseErr)
		}
	}
	if !own {
		t.Fatalf("the probe's own region (%#x) is not among those advised: %+v", p&^(hugePage-1), regions)
	}
	m := smapsAt(t, p)
	hg := false
	for _, f := range m.flags {
		hg = hg || f == "hg"
	}
	if !hg {
		t.Errorf("mapping %#x-%#x holding the heap probe lacks the hg flag: %v", m.start, m.end, m.flags)
	}
	if !kernelAtLeast(t, 6, 1) {
		t.Logf("kernel before 6.1: no MADV_COLLAPSE; regions %+v", regions)
		return
	}
	collapsed, busy := false, false
	for _, r := range regions {
		switch {
		case r.collapsed:
			collapsed = true
		case r.collErr == uintptr(syscall.EAGAIN) || r.collErr == uintptr(syscall.ENOMEM):
			// No free 2 MB page at that moment: the kernel's answer under
			// memory pressure, not a fault of ours.
			t.Logf("region %#x: MADV_COLLAPSE errno %d (no huge page free)", r.start, r.collErr)
			busy = true
		case r.collErr != 0:
			t.Errorf("region %#x: MADV_COLLAPSE errno %d", r.start, r.collErr)
		}
	}
	// The runtime has allocated in the heap before any package init, so
	// some region has resident 4 KB pages to collapse.
	if !collapsed && !busy {
		t.Errorf("no region was collapsed: %+v", regions)
	}
	if collapsed && m.anonHugeKB == 0 {
		t.Errorf("MADV_COLLAPSE succeeded but the heap probe's mapping has no huge pages: %+v", m)
	}
	t.Logf("regions %+v; probe mapping %#x-%#x holds %d kB in huge pages", regions, m.start, m.end, m.anonHugeKB)
}

var keep [][]byte

func TestReserveReused(t *testing.T) {
	mode := thpMode(t)
	if mode == "" || mode == "never" {
		t.Skipf("transparent huge pages unavailable here (mode %q): the advice changes nothing", mode)
	}
	Reserve(16 << 20)
	if reserved.end <= reserved.start {
		t.Fatalf("Reserve marked nothing: %+v", reserved)
	}
	// Ordinary small objects, more than the heap's free space before the
	// reserved block: some must land in it, in huge pages.
	in := 0
	for i := 0; i < 8<<10; i++ {
		b := make([]byte, 1<<10)
		b[0] = 1 // touched, as a real object is
		keep = append(keep, b)
		if p := uintptr(unsafe.Pointer(&b[0])); reserved.start <= p && p < reserved.end {
			in++
		}
	}
	if in == 0 {
		t.Fatalf("none of 8,192 objects of 1 KB was allocated in the reserved range %#x-%#x", reserved.start, reserved.end)
	}
	m := smapsAt(t, reserved.start)
	hg := false
	for _, f := range m.flags {
		hg = hg || f == "hg"
	}
	if !hg {
		t.Errorf("reserved mapping %#x-%#x lacks the hg flag: %v", m.start, m.end, m.flags)
	}
	if m.anonHugeKB == 0 {
		t.Errorf("%d objects in the reserved range, but its mapping holds no huge page: %+v", in, m)
	}
	t.Logf("%d of 8,192 objects in the reserved range; mapping %#x-%#x holds %d kB in huge pages", in, m.start, m.end, m.anonHugeKB)
	keep = nil
}
