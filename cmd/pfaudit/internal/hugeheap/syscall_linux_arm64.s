#include "textflag.h"

// func syscall3(trap, a1, a2, a3 uintptr) (errno uintptr)
//
// See syscall_linux_amd64.s.
TEXT ·syscall3(SB),NOSPLIT,$0-40
	MOVD	a1+8(FP), R0
	MOVD	a2+16(FP), R1
	MOVD	a3+24(FP), R2
	MOVD	trap+0(FP), R8
	SVC
	CMN	$4095, R0
	BCC	ok
	NEG	R0, R0
	MOVD	R0, errno+32(FP)
	RET
ok:
	MOVD	ZR, errno+32(FP)
	RET
