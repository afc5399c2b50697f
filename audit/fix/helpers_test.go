package fix

import (
	"errors"
	"os/exec"
)

// execCommand is exec.Command without the MAIL_* variables that would
// point Postfix's commands elsewhere.
func execCommand(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = cleanEnv()
	return c
}

func asUsage(err error, ue **UsageError) bool { return errors.As(err, ue) }
