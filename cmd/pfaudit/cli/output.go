package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic replaces path with data as one step: the report goes to a
// temporary file in the same directory, is synced, and is renamed over
// path, so that cron jobs, Ansible and monitoring never read half a
// report, and a failed write leaves the previous report in place.
func writeAtomic(path string, data []byte) error {
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
