package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pfaudit/pfaudit/internal/safefile"
)

// writeAtomic replaces path with data as one step: the report goes to a
// temporary file in the same directory, is synced, and is renamed over
// path, so that cron jobs, Ansible and monitoring never read half a
// report, and a failed write leaves the previous report in place.
func writeAtomic(path string, data []byte) error {
	if err := outputTarget(path); err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--output %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("--output %s: %w", path, err)
	}
	return nil
}

// outputTo returns the writer a report goes to and a function that
// finishes it: standard output directly, or a buffer written atomically
// to path.
func outputTo(path string, stdout io.Writer) (io.Writer, func() error) {
	if path == "" {
		return stdout, func() error { return nil }
	}
	var b bytes.Buffer
	return &b, func() error { return writeAtomic(path, b.Bytes()) }
}

// outputTarget refuses an --output path that is (or is a symbolic link
// to) something other than a regular file. The report is renamed over
// the path, and run as root a rename replaces whatever is there:
// `--output /dev/null` or `--output /dev/stdout` would turn a device
// node or /dev's own link into a report file for the whole system.
func outputTarget(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // a new file, or a dangling link the rename replaces
	case err != nil:
		return fmt.Errorf("--output %s: %w", path, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("--output %s: is %s, not a regular file: refused (without --output the report goes to standard output)", path, safefile.Kind(st.Mode()))
	}
	return nil
}
