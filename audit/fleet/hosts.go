package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pfaudit/pfaudit/internal/safefile"
)

// Kind is what a host directory holds.
type Kind string

const (
	// KindConfig: a copied configuration directory (main.cf, master.cf,
	// tables), directly in the host directory or under etc/postfix/ or
	// postfix/ (where Ansible's fetch module puts /etc/postfix/main.cf).
	KindConfig Kind = "config"
	// KindDumps: collected postconf.n, and optionally postconf.M,
	// postconf.P and postconf.d (that host's `postconf -d`).
	KindDumps Kind = "dumps"
	// KindReport: audit.json, what `pfaudit audit --format json` wrote on
	// the host; merged as is.
	KindReport Kind = "report"
)

// Names of the files a host directory may hold.
const (
	ReportFile = "audit.json"
	NDumpFile  = "postconf.n"
	MDumpFile  = "postconf.M"
	PDumpFile  = "postconf.P"
	DDumpFile  = "postconf.d"
)

// configSubdirs are where a copied configuration directory may sit inside a
// host directory, in the order they are tried.
var configSubdirs = []string{".", "etc/postfix", "postfix"}

// hostDir is one host found under a fleet PATH.
type hostDir struct {
	name string // the subdirectory's name
	dir  string // absolute path of the host directory
	// err, when set, is why the host cannot be read at all (a duplicate
	// name, an unreadable directory).
	err error
}

// discover lists the hosts under each path: every subdirectory (or symbolic
// link to one) whose name does not start with a dot, sorted by name within
// a path, paths in the order given. A path that is not a readable
// directory is an error for the whole run: it is a usage mistake, not a bad
// host.
func discover(paths []string) ([]hostDir, error) {
	if len(paths) == 0 {
		return nil, errors.New("no PATH given: name at least one directory whose subdirectories are hosts")
	}
	var out []hostDir
	seen := map[string]string{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		ents, err := os.ReadDir(abs)
		if err != nil {
			return nil, fmt.Errorf("fleet directory %s: %w", p, unwrapPath(err))
		}
		var names []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				st, err := os.Stat(filepath.Join(abs, e.Name()))
				isDir = err == nil && st.IsDir()
			}
			if isDir {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, n := range names {
			h := hostDir{name: n, dir: filepath.Join(abs, n)}
			if first, dup := seen[n]; dup {
				h.err = fmt.Errorf("host %s also appears in %s: host names must be unique across the fleet", n, first)
			} else {
				seen[n] = abs
			}
			out = append(out, h)
		}
	}
	return out, nil
}

// unwrapPath drops the *PathError's own repetition of the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// classifyFiles decides what a host directory holds. Exactly one kind must be
// present: a directory holding both a report and dumps is ambiguous (which
// one is current?), and guessing would hide the mistake.
//
// It also returns which regular files the host directory holds, from one
// listing of it: a fleet of thousands of hosts paid a stat per name it
// looked for, and a failed open per absent dump.
func classifyFiles(dir string) (Kind, string, map[string]bool, error) {
	files := map[string]bool{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", "", nil, fmt.Errorf("%s: %w", dir, unwrapPath(err))
	}
	subdirs := false
	var odd error // an input's name on something that is not a regular file
	for _, e := range ents {
		switch {
		case e.Type().IsRegular():
			files[e.Name()] = true
		case e.Type()&fs.ModeSymlink != 0:
			if isFile(filepath.Join(dir, e.Name())) {
				files[e.Name()] = true
			} else {
				subdirs = true
			}
		case e.IsDir():
			subdirs = true
		}
		if !files[e.Name()] && odd == nil && inputName(e.Name()) {
			if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && !st.IsDir() {
				odd = &safefile.NotRegularError{Path: filepath.Join(dir, e.Name()), Mode: st.Mode()}
			}
		}
	}
	var kinds []Kind
	var cfgDir string
	if files[ReportFile] {
		kinds = append(kinds, KindReport)
	}
	if files[NDumpFile] {
		kinds = append(kinds, KindDumps)
	}
	for _, sub := range configSubdirs {
		d := filepath.Join(dir, sub)
		if sub == "." && files["main.cf"] || sub != "." && subdirs && isFile(filepath.Join(d, "main.cf")) {
			kinds = append(kinds, KindConfig)
			cfgDir = d
			break
		}
	}
	switch len(kinds) {
	case 1:
		return kinds[0], cfgDir, files, nil
	case 0:
		if odd != nil {
			// A FIFO or a device planted under an input's name: say so,
			// rather than that the input is missing.
			return "", "", nil, odd
		}
		var why string
		for _, f := range []string{MDumpFile, PDumpFile, DDumpFile} {
			if files[f] {
				why = fmt.Sprintf(" (%s without %s: postconf.n is required)", f, NDumpFile)
				break
			}
		}
		return "", "", nil, fmt.Errorf("%s: no %s, %s or main.cf (also looked in etc/postfix/ and postfix/)%s", dir, ReportFile, NDumpFile, why)
	}
	var names []string
	for _, k := range kinds {
		names = append(names, string(k))
	}
	return "", "", nil, fmt.Errorf("%s: holds more than one input (%s): keep exactly one of %s, the postconf dumps, or a configuration directory", dir, strings.Join(names, ", "), ReportFile)
}

// inputName reports whether name is one of the files a host directory's
// input is recognised by.
func inputName(name string) bool {
	switch name {
	case ReportFile, NDumpFile, MDumpFile, PDumpFile, DDumpFile, "main.cf":
		return true
	}
	return false
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
