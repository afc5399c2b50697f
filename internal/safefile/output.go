package safefile

import (
	"fmt"
	"os"
	"sync"
)

// Output is a file pfaudit writes a report or transcript to. The file is
// opened (and checked) by CreateOutput, but an existing file is truncated
// only at the first Write, so a run that fails on its arguments before
// writing leaves the file as it was. The first write error is kept (a full
// disk must not pass for a complete transcript) and returned by Close.
type Output struct {
	mu       sync.Mutex
	f        *os.File
	name     string
	truncate bool
	written  bool
	err      error
}

// Write writes p, truncating an existing file on the first call. After a
// failure it writes nothing more and returns the first error.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return 0, o.err
	}
	if !o.written {
		o.written = true
		if o.truncate {
			if err := o.f.Truncate(0); err != nil {
				o.err = fmt.Errorf("%s: %w", o.name, err)
				return 0, o.err
			}
		}
	}
	n, err := o.f.Write(p)
	if err != nil {
		o.err = fmt.Errorf("%s: %w", o.name, err)
	}
	return n, o.err
}

// Err returns the first write error.
func (o *Output) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Close closes the file. complete says the run finished: a file that was
// never written is then truncated (it held an earlier run's output). It
// returns the first write, truncate, sync or close error.
func (o *Output) Close(complete bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if complete && !o.written && o.truncate && o.err == nil {
		if err := o.f.Truncate(0); err != nil {
			o.err = fmt.Errorf("%s: %w", o.name, err)
		}
	}
	if st, err := o.f.Stat(); err == nil && st.Mode().IsRegular() && o.err == nil {
		// Data a full disk or a quota refuses can surface only here.
		if err := o.f.Sync(); err != nil {
			o.err = fmt.Errorf("%s: %w", o.name, err)
		}
	}
	if err := o.f.Close(); err != nil && o.err == nil {
		o.err = fmt.Errorf("%s: %w", o.name, err)
	}
	return o.err
}
