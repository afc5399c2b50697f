//go:build unix

package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// UntrustedError: a file or directory another user could have written or
// could still replace.
type UntrustedError struct {
	Path   string
	Reason string
}

func (e *UntrustedError) Error() string { return e.Path + ": " + e.Reason }

func owner(st fs.FileInfo) (uid uint32, nlink uint64, ok bool) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return s.Uid, uint64(s.Nlink), true
}

// CheckPrivateFile reports whether st (from fstat of an open file) is a
// regular file only the running user can have written: owned by the
// effective uid, not writable by group or others, one link.
func CheckPrivateFile(path string, st fs.FileInfo) error {
	uid, nlink, ok := owner(st)
	if !ok {
		return nil
	}
	euid := uint32(os.Geteuid())
	switch {
	case !st.Mode().IsRegular():
		return &NotRegularError{Path: path, Mode: st.Mode()}
	case uid != euid:
		return &UntrustedError{path, fmt.Sprintf("owned by uid %d, not by the running user (uid %d)", uid, euid)}
	case st.Mode().Perm()&0o022 != 0:
		return &UntrustedError{path, fmt.Sprintf("writable by group or others (mode %04o)", st.Mode().Perm())}
	case nlink > 1:
		return &UntrustedError{path, fmt.Sprintf("has %d hard links", nlink)}
	}
	return nil
}

// CheckPrivateDir reports whether dir is a directory that only the running
// user (and root) can change: dir itself is no symbolic link, is owned by
// the effective uid and is not writable by group or others; every
// directory above it (as written and as resolved) is owned by root or the
// effective uid and is not writable by group or others unless it is
// sticky (/tmp), where others cannot rename or remove what we own. A
// symbolic link on the way must be owned by root or the effective uid.
func CheckPrivateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return &UntrustedError{abs, "is a symbolic link: refused"}
	}
	if !st.IsDir() {
		return &NotRegularError{Path: abs, Mode: st.Mode()}
	}
	euid := uint32(os.Geteuid())
	if uid, _, ok := owner(st); ok && uid != euid {
		return &UntrustedError{abs, fmt.Sprintf("owned by uid %d, not by the running user (uid %d)", uid, euid)}
	}
	if st.Mode().Perm()&0o022 != 0 {
		return &UntrustedError{abs, fmt.Sprintf("writable by group or others (mode %04o)", st.Mode().Perm())}
	}
	if err := checkAncestors(filepath.Dir(abs), euid); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return err
	}
	return checkAncestors(real, euid)
}

func checkAncestors(dir string, euid uint32) error {
	for {
		st, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		uid, _, ok := owner(st)
		if ok && uid != 0 && uid != euid {
			return &UntrustedError{dir, fmt.Sprintf("owned by uid %d, neither root nor the running user (uid %d)", uid, euid)}
		}
		if st.Mode()&fs.ModeSymlink == 0 && st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 {
			return &UntrustedError{dir, fmt.Sprintf("writable by group or others and not sticky (mode %04o)", st.Mode().Perm())}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// MkdirPrivate creates dir (mode 0700) and its missing parents, then
// checks it with CheckPrivateDir. The existing part of the path is checked
// first, so nothing is created inside a tree another user controls (a
// symbolic link planted there would lead the mkdir anywhere).
func MkdirPrivate(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var missing []string
	p := abs
	for {
		if _, err := os.Lstat(p); err == nil {
			break
		} else if !os.IsNotExist(err) {
			return err
		}
		missing = append(missing, p)
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	if len(missing) > 0 {
		euid := uint32(os.Geteuid())
		if err := checkAncestors(p, euid); err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return err
		}
		if err := checkAncestors(real, euid); err != nil {
			return err
		}
		for i := len(missing) - 1; i >= 0; i-- {
			if err := os.Mkdir(missing[i], 0o700); err != nil && !os.IsExist(err) {
				return err
			}
		}
	}
	return CheckPrivateDir(abs)
}
