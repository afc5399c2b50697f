// Package safefile opens the files pfaudit reads and writes so that a file
// another local user controls cannot hang it, exhaust its memory or make it
// write where it should not.
//
// Reading: a configuration file, a table or a cache must be a regular file.
// A FIFO would block open(2) and read(2) forever, and a device (/dev/zero,
// /dev/urandom) never ends, so files are opened with O_NONBLOCK (a FIFO
// without a writer then opens at once), checked with fstat(2) on the open
// descriptor (no window between the check and the use), and read with a
// size bound.
//
// Writing: see CreateOutput.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError: the path names something other than a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s: is %s, not a regular file: refused", e.Path, Kind(e.Mode))
}

// TooLargeError: the file is larger than the bound its reader sets.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: larger than %s, the most pfaudit reads of such a file: refused", e.Path, Size(e.Limit))
}

// Kind names a file type for messages.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "a special file"
}

// Size formats a byte count for messages.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Open opens path for reading when it is a regular file (symbolic links
// are followed, as Postfix follows them) and returns it with its fstat
// information. Anything else is a *NotRegularError, without blocking.
func Open(path string) (*os.File, fs.FileInfo, error) {
	return open(path, false)
}

// OpenNoFollow is Open that also refuses a symbolic link as the last
// component (ELOOP is reported as a *NotRegularError).
func OpenNoFollow(path string) (*os.File, fs.FileInfo, error) {
	return open(path, true)
}

func open(path string, noFollow bool) (*os.File, fs.FileInfo, error) {
	// A stat first spares opening a device at all (opening some has side
	// effects); the fstat below is what decides.
	var st fs.FileInfo
	var err error
	flags := os.O_RDONLY | oNonBlock
	if noFollow {
		flags |= oNoFollow
		st, err = os.Lstat(path)
	} else {
		st, err = os.Stat(path)
	}
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if isLoop(err) {
			return nil, nil, &NotRegularError{Path: path, Mode: fs.ModeSymlink}
		}
		return nil, nil, err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return f, st, nil
}

// ReadFile reads the regular file at path, at most limit bytes; a larger
// file is a *TooLargeError.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readOpen(f, st, path, limit)
}

// ReadFileStat is ReadFile that also returns the file's fstat information.
func ReadFileStat(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, st, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := readOpen(f, st, path, limit)
	return b, st, err
}

// Private reports whether st is a file other users may not read (no
// read permission for "other"): /etc/shadow, a 0600 sasl_passwd. Text
// from such a file is not repeated in messages, which end up in reports,
// CI logs and code-scanning uploads that other people read.
func Private(st fs.FileInfo) bool {
	return st != nil && st.Mode().Perm()&0o004 == 0
}

// ReadFileNoFollow is ReadFile that refuses a symbolic link.
func ReadFileNoFollow(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, st, err := OpenNoFollow(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	b, err := readOpen(f, st, path, limit)
	return b, st, err
}

func readOpen(f *os.File, st fs.FileInfo, path string, limit int64) ([]byte, error) {
	if st.Size() > limit {
		return nil, &TooLargeError{Path: path, Limit: limit}
	}
	return ReadAll(f, path, limit, st.Size())
}

// ReadAll reads r up to limit bytes (hint: the expected size, for one
// allocation); more is a *TooLargeError naming name.
func ReadAll(r io.Reader, name string, limit, hint int64) ([]byte, error) {
	if hint < 0 || hint > limit {
		hint = 0
	}
	buf := make([]byte, 0, hint+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if int64(len(buf)) > limit {
		return nil, &TooLargeError{Path: name, Limit: limit}
	}
	return buf, nil
}

// IsRefused reports whether err is a refusal of this package (not a
// regular file, too large, not trusted).
func IsRefused(err error) bool {
	var nr *NotRegularError
	var tl *TooLargeError
	var ut *UntrustedError
	return errors.As(err, &nr) || errors.As(err, &tl) || errors.As(err, &ut)
}
