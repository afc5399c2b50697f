// Package input turns the command line's choice of configuration source (a
// live directory, or collected postconf dumps) into a postconf.Config with
// the right defaults. Both `pfaudit config` and `pfaudit audit` use it.
package input

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// Options selects the configuration to read.
type Options struct {
	// Dir is the configuration directory (default /etc/postfix) when no
	// dump is given.
	Dir string
	// NDump, MDump, PDump are files holding `postconf -n`, `postconf -M`
	// and `postconf -P` output; "-" reads standard input (at most one).
	NDump, MDump, PDump string
	// Defaults is "auto" (postconf -d when the binary is installed, else
	// built-in), "postconf" or "builtin".
	Defaults string
	// Postconf is the postconf binary for -d (default: found in PATH or
	// /usr/sbin/postconf).
	Postconf string
	// FilesRoot is a directory holding copies of the files the
	// configuration names (/etc/postfix/network_table is read as
	// FilesRoot/etc/postfix/network_table). Without it a collected dump's
	// files are unknown, and a directory's are read from this host.
	FilesRoot string
	Stdin     io.Reader
	// StockMaster makes dumps without a `postconf -M` dump run with
	// Postfix's stock master.cf (postconf.StockMaster), with a warning
	// saying so: what an audit needs, since no master.cf would mean no
	// listener and an all-clear. `pfaudit config` leaves it off and shows
	// only what the dumps hold.
	StockMaster bool
}

// UsageError marks a problem with how pfaudit was invoked.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Load reads the configuration Options describe. A done ctx ends it at
// once with context.Cause(ctx): the reading goes on in the background and
// its result is dropped (a process that was told to stop exits anyway).
func Load(ctx context.Context, o Options) (*postconf.Config, error) {
	if o.FilesRoot != "" {
		st, err := os.Stat(o.FilesRoot)
		if err != nil {
			return nil, &UsageError{fmt.Sprintf("--files-root: %v", err)}
		}
		if !st.IsDir() {
			return nil, &UsageError{fmt.Sprintf("--files-root: %s is not a directory", o.FilesRoot)}
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	type result struct {
		cfg *postconf.Config
		err error
	}
	ch := make(chan result, 1)
	go func() {
		cfg, err := load(ctx, o)
		ch <- result{cfg, err}
	}()
	select {
	case r := <-ch:
		return r.cfg, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func load(ctx context.Context, o Options) (*postconf.Config, error) {
	d, err := loadDefaults(ctx, o)
	if err != nil {
		return nil, err
	}
	src := string(d.Source)
	if o.NDump == "" && o.MDump == "" && o.PDump == "" {
		dir := o.Dir
		if dir == "" {
			dir = "/etc/postfix"
		}
		cfg, err := postconf.LoadDir(dir, d, src)
		if err != nil {
			return nil, err
		}
		cfg.Files = postconf.FileAccess{Root: o.FilesRoot}
		return cfg, nil
	}
	if o.Dir != "" {
		return nil, &UsageError{"-c/--config-dir and --postconf-n/-M/-P dumps exclude each other"}
	}
	stdinUsed := 0
	for _, f := range []string{o.NDump, o.MDump, o.PDump} {
		if f == "-" {
			stdinUsed++
		}
	}
	if stdinUsed > 1 {
		return nil, &UsageError{"only one dump can be read from standard input"}
	}
	read := func(name string) ([]byte, string, error) {
		if name == "-" {
			if o.Stdin == nil {
				return nil, "", &UsageError{"no standard input"}
			}
			b, err := safefile.ReadAll(o.Stdin, "<stdin>", postconf.MaxFileSize, 0)
			return b, "<stdin>", err
		}
		b, err := readBounded(name)
		return b, name, err
	}
	var main *postconf.MainCF
	var master *postconf.MasterCF
	if o.NDump != "" {
		b, name, err := read(o.NDump)
		if err != nil {
			return nil, err
		}
		if main, err = postconf.ParseNDump(name, b); err != nil {
			return nil, err
		}
	}
	if o.MDump != "" {
		b, name, err := read(o.MDump)
		if err != nil {
			return nil, err
		}
		if master, err = postconf.ParseMDump(name, b); err != nil {
			return nil, err
		}
	}
	if master == nil && o.StockMaster {
		about := o.NDump
		if about == "" {
			about = o.PDump
		}
		if about == "-" {
			about = "<stdin>"
		}
		master = postconf.StockMaster(about)
	}
	if o.PDump != "" {
		if master == nil {
			master = &postconf.MasterCF{NoLines: true}
		}
		b, name, err := read(o.PDump)
		if err != nil {
			return nil, err
		}
		if err := postconf.ApplyPDump(master, name, b); err != nil {
			return nil, err
		}
	}
	cfg := postconf.New(main, master, d, src)
	// A dump comes from another server (or another time): its /file
	// names must not be read from this host.
	cfg.Files = postconf.FileAccess{Root: o.FilesRoot, Offline: true}
	return cfg, nil
}

// readBounded reads a dump: a regular file of at most postconf.MaxFileSize
// bytes (a FIFO or a device is refused without blocking).
func readBounded(name string) ([]byte, error) {
	return safefile.ReadFile(name, postconf.MaxFileSize)
}

func loadDefaults(ctx context.Context, o Options) (*defaults.Set, error) {
	switch o.Defaults {
	case "", "auto":
		return detectCached(ctx)
	case "builtin":
		return defaults.Builtin(), nil
	case "postconf":
		return defaults.FromPostconfCached(ctx, o.Postconf, defaults.DefaultTimeout)
	default:
		return nil, &UsageError{fmt.Sprintf("--defaults: %q is not one of auto, postconf, builtin", o.Defaults)}
	}
}

// IsNotFound reports whether err means the configuration could not be found.
func IsNotFound(err error) bool { return errors.Is(err, postconf.ErrNoConfigDir) }

// detected caches the answer of `postconf -d`: it describes the installed
// Postfix and this host, which do not change while pfaudit runs, and costs
// two postconf runs (tens of milliseconds) that a test or a long-running
// caller would otherwise pay for every configuration it loads. Fallbacks
// to the built-in table are not cached: they are cheap, and a later call
// may find postconf working.
var detected struct {
	sync.Mutex
	set *defaults.Set
}

func detectCached(ctx context.Context) (*defaults.Set, error) {
	detected.Lock()
	defer detected.Unlock()
	if detected.set != nil {
		return detected.set, nil
	}
	s, err := defaults.Detect(ctx)
	if err != nil {
		return nil, err // interrupted: never the built-in table in its place
	}
	if s.Source == defaults.SourcePostconf {
		detected.set = s
	}
	return s, nil
}
