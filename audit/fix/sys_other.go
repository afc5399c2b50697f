//go:build !unix

package fix

import (
	"errors"
	"io/fs"
	"os"
)

func owner(fs.FileInfo) (uid, gid int) { return -1, -1 }

func chown(string, int, int) error { return nil }

// Lock is not available on this system.
type Lock struct{}

// ErrLocked is wrapped when another pfaudit fix holds the lock.
var ErrLocked = errors.New("another pfaudit fix is running on this configuration directory")

// AcquireLock fails: pfaudit fix needs flock(2).
func AcquireLock(root, configDir string) (*Lock, error) {
	_ = os.MkdirAll(root, 0o700)
	return nil, errors.New("pfaudit fix --apply needs a Unix system")
}

// Release does nothing.
func (l *Lock) Release() {}
