package hugeheap

const (
	sysMincore = 232
	sysMadvise = 233
)

func syscall3(trap, a1, a2, a3 uintptr) (errno uintptr)
