//go:build !unix

package defaults

import "os/exec"

// setProcessGroup: without process groups, exec.CommandContext's default
// (kill the process) and WaitDelay are all there is.
func setProcessGroup(cmd *exec.Cmd) {}
