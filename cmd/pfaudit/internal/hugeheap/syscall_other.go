//go:build linux && !amd64 && !arm64

package hugeheap

import "syscall"

const (
	sysMincore = syscall.SYS_MINCORE
	sysMadvise = syscall.SYS_MADVISE
)

// syscall3 goes through package syscall where there is no stub of ours;
// the init then runs later, after syscall's.
func syscall3(trap, a1, a2, a3 uintptr) (errno uintptr) {
	_, _, e := syscall.RawSyscall(trap, a1, a2, a3)
	return uintptr(e)
}
