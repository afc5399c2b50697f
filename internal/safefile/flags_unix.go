//go:build unix

package safefile

import (
	"errors"
	"syscall"
)

const (
	oNonBlock = syscall.O_NONBLOCK
	oNoFollow = syscall.O_NOFOLLOW
)

func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }
