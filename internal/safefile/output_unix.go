//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CreateOutput opens path for writing without being led astray by what
// another local user planted there (a symbolic link to a root-owned file,
// a hard link, a FIFO):
//
//   - a path that does not exist is created with O_EXCL|O_NOFOLLOW, mode
//     0644 (before umask);
//   - a symbolic link is followed only when it is owned by the running
//     user or root (the rule of Linux's fs.protected_symlinks, applied
//     everywhere), and what it leads to is then checked as below;
//   - an existing regular file must be owned by the running user and have
//     one link; it is truncated only at the first write (see Output);
//   - a character device (/dev/null, /dev/full, a terminal) is written as
//     is; a FIFO must be owned by the running user and have a reader;
//   - directories, sockets and block devices are refused.
func CreateOutput(path string) (*Output, error) {
	if path == "" {
		return nil, errors.New("empty output file name")
	}
	return createOutput(path, 0)
}

func createOutput(path string, depth int) (*Output, error) {
	euid := uint32(os.Geteuid())
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return nil, &UntrustedError{path, "appeared while pfaudit was creating it: refused"}
			}
			return nil, err
		}
		return &Output{f: f, name: path}, nil
	case err != nil:
		return nil, err
	}
	uid, nlink, _ := owner(st)
	mode := st.Mode()
	if mode&fs.ModeSymlink != 0 {
		if uid != euid && uid != 0 {
			return nil, &UntrustedError{path, fmt.Sprintf("is a symbolic link owned by uid %d, neither root nor the running user (uid %d): refusing to follow it", uid, euid)}
		}
		if depth >= 8 {
			return nil, &UntrustedError{path, "too many levels of symbolic links"}
		}
		target, err := os.Readlink(path)
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		o, err := createOutput(target, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%s (a symbolic link): %w", path, err)
		}
		o.name = path
		return o, nil
	}
	switch {
	case mode.IsRegular():
		if uid != euid {
			return nil, &UntrustedError{path, fmt.Sprintf("exists and is owned by uid %d, not by the running user (uid %d): refusing to overwrite it (remove it or choose another file)", uid, euid)}
		}
		if nlink > 1 {
			return nil, &UntrustedError{path, fmt.Sprintf("has %d hard links: refusing to overwrite it", nlink)}
		}
	case mode&fs.ModeCharDevice != 0:
	case mode&fs.ModeNamedPipe != 0:
		if uid != euid {
			return nil, &UntrustedError{path, fmt.Sprintf("is a FIFO owned by uid %d, not by the running user: refused", uid)}
		}
	default:
		return nil, &NotRegularError{Path: path, Mode: mode}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) {
			return nil, fmt.Errorf("%s: a FIFO nobody reads", path)
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, &UntrustedError{path, "was replaced by a symbolic link while pfaudit opened it: refused"}
		}
		return nil, err
	}
	// The file opened must be the one checked: a rename in between would
	// otherwise let another one through.
	fst, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !os.SameFile(st, fst) {
		f.Close()
		return nil, &UntrustedError{path, "was replaced while pfaudit opened it: refused"}
	}
	return &Output{f: f, name: path, truncate: fst.Mode().IsRegular()}, nil
}
