#include "textflag.h"

// func syscall3(trap, a1, a2, a3 uintptr) (errno uintptr)
//
// A raw system call: madvise and mincore do not block, and going through
// package syscall would order this package's init after syscall's and
// the many packages sorted before it.
TEXT ·syscall3(SB),NOSPLIT,$0-40
	MOVQ	trap+0(FP), AX
	MOVQ	a1+8(FP), DI
	MOVQ	a2+16(FP), SI
	MOVQ	a3+24(FP), DX
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	AX, errno+32(FP)
	RET
ok:
	MOVQ	$0, errno+32(FP)
	RET
