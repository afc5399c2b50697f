//go:build linux || openbsd || dragonfly

package defaults

import (
	"os"
	"syscall"

	"github.com/pfaudit/pfaudit/internal/safefile"
)

// statIdentity is the status-change time, device and inode of a file:
// with its size and modification time, what tells one postconf binary
// from another without reading it.
func statIdentity(st os.FileInfo) (ctime int64, dev, ino uint64, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	dev, ino, _ = safefile.FileID(st)
	return sys.Ctim.Nano(), dev, ino, true
}
