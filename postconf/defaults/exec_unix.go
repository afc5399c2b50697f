//go:build unix

package defaults

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the command in a process group of its own, and
// makes cancellation kill that group: a wrapper script's children (a stuck
// "sleep") die with it instead of outliving the timeout.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The group id is the pid of the process we started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
