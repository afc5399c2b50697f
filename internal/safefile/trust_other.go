//go:build !unix

package safefile

import (
	"io/fs"
	"os"
)

// UntrustedError: a file or directory another user could have written.
type UntrustedError struct {
	Path   string
	Reason string
}

func (e *UntrustedError) Error() string { return e.Path + ": " + e.Reason }

// CheckPrivateFile checks only the file type where ownership is unknown.
func CheckPrivateFile(path string, st fs.FileInfo) error {
	if !st.Mode().IsRegular() {
		return &NotRegularError{Path: path, Mode: st.Mode()}
	}
	return nil
}

// CheckPrivateDir checks only that dir is a directory.
func CheckPrivateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return &NotRegularError{Path: dir, Mode: st.Mode()}
	}
	return nil
}

// MkdirPrivate creates dir (mode 0700) and its missing parents.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return CheckPrivateDir(dir)
}
