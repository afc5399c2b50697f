package table

import (
	"io/fs"

	"github.com/pfaudit/pfaudit/internal/safefile"
)

// fileID is the file's device and inode: with its size and times, what
// tells one file from another for the table cache. Where there are none
// (0, 0) the cache keys files by path, size, time and mode alone.
func fileID(st fs.FileInfo) (dev, ino uint64) {
	dev, ino, _ = safefile.FileID(st)
	return dev, ino
}
