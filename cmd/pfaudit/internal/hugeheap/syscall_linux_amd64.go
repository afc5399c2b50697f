package hugeheap

const (
	sysMincore = 27
	sysMadvise = 28
)

func syscall3(trap, a1, a2, a3 uintptr) (errno uintptr)
