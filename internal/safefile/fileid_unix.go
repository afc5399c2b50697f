//go:build unix

package safefile

import (
	"io/fs"
	"syscall"
)

// FileID is the device and inode of the file st describes: with its size
// and times, what tells one file from another for the caches that remember
// a file's contents (lookup tables, postconf -d's answer).
func FileID(st fs.FileInfo) (dev, ino uint64, ok bool) {
	if sys, isStat := st.Sys().(*syscall.Stat_t); isStat {
		return uint64(sys.Dev), uint64(sys.Ino), true
	}
	return 0, 0, false
}
