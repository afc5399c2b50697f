//go:build unix

package table

import (
	"io/fs"
	"syscall"
)

// fileID is the file's device and inode: with its size and times, what
// tells one file from another for the table cache.
func fileID(st fs.FileInfo) (dev, ino uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), sys.Ino
	}
	return 0, 0
}
