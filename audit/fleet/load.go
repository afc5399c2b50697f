package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime/debug"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/rules"
)

// Limits on what one host directory may make pfaudit read: a fleet
// directory is data from many machines, and one runaway copy (a mailbox
// tree copied by mistake) must not exhaust the controller.
const (
	maxConfigFiles = 4096
	maxConfigBytes = 256 << 20
)

// audit reads and audits one host. It never fails the run: whatever goes
// wrong becomes the host's error entry.
func (r *runner) audit(hd hostDir) (h *Host) {
	h = &Host{Name: hd.name, Dir: hd.dir}
	defer func() {
		// A bug tripped by one host's configuration must not take the
		// fleet down with it.
		if p := recover(); p != nil {
			h.Report, h.Raw = nil, nil
			h.Err = fmt.Sprintf("internal error auditing %s: %v\n%s", hd.dir, p, debug.Stack())
		}
	}()
	if hd.err != nil {
		h.Err = hd.err.Error()
		return h
	}
	kind, cfgDir, files, err := classifyFiles(hd.dir)
	if err != nil {
		h.Err = err.Error()
		return h
	}
	h.Kind = kind
	switch kind {
	case KindReport:
		r.readReport(h)
		return h
	case KindDumps:
		r.auditDumps(h, files)
	case KindConfig:
		r.auditConfig(h, cfgDir)
	}
	return h
}

// finish attaches an analysis; the formats rebase it from the directory it
// was computed for to this host's (see Host.report and Host.rendered).
func (r *runner) finish(h *Host, a *analysis, shared bool) {
	h.Shared = shared
	if a.err != "" {
		h.Err = rebaser{from: a.base, to: h.Dir}.str(a.err)
		return
	}
	h.an = a
}

// auditDumps reads postconf.n (required), postconf.M, postconf.P and
// postconf.d. The key hashes their contents, each tagged with its role,
// and which controller defaults stand in for a missing postconf.d; the
// file names (which contain the host directory) are left out, so
// identical dumps from different hosts share one analysis.
// files are the regular files the host directory holds (classifyFiles).
func (r *runner) auditDumps(h *Host, files map[string]bool) {
	names := []string{NDumpFile, MDumpFile, PDumpFile, DDumpFile}
	data := make([][]byte, len(names))
	hs := sha256.New()
	io.WriteString(hs, "dumps\x00")
	for i, n := range names {
		var b []byte
		err := error(fs.ErrNotExist)
		if files[n] {
			b, err = readBounded(filepath.Join(h.Dir, n))
		}
		switch {
		case err == nil:
			data[i] = b
			writeField(hs, n, b)
		case errors.Is(err, fs.ErrNotExist) && n != NDumpFile:
			writeField(hs, n+" absent", nil)
		default:
			h.Err = err.Error()
			return
		}
	}
	if data[3] == nil {
		writeField(hs, "controller defaults", []byte(r.defSource))
	}
	var k key
	hs.Sum(k[:0])
	a, shared := r.cache.get(k, h.Dir, func() (*render.Report, error) {
		file := func(i int) string { return filepath.Join(h.Dir, names[i]) }
		main, err := postconf.ParseNDump(file(0), data[0])
		if err != nil {
			return nil, err
		}
		var master *postconf.MasterCF
		if data[1] != nil {
			if master, err = postconf.ParseMDump(file(1), data[1]); err != nil {
				return nil, err
			}
		}
		if master == nil {
			// No master.cf view: audit with Postfix's stock master.cf (its
			// public smtpd on port 25), as pfaudit audit does, and say so;
			// no listener at all would read as a send-only all-clear.
			master = postconf.StockMaster(file(0))
		}
		if data[2] != nil {
			if err := postconf.ApplyPDump(master, file(2), data[2]); err != nil {
				return nil, err
			}
		}
		var d postconf.Defaults = r.defaults
		src := r.defSource
		if data[3] != nil {
			hd, err := parseHostDefaults(file(3), data[3])
			if err != nil {
				return nil, err
			}
			d, src = hd, hd.source()
		}
		cfg := postconf.New(main, master, d, src)
		return r.run(cfg), nil
	})
	r.finish(h, a, shared)
}

// auditConfig audits a copied configuration directory. The key hashes
// every regular file under it (relative name and content): main.cf,
// master.cf and the tables they name through $config_directory. The
// configuration is not this controller's, so host-derived defaults are
// not computed from the controller's interfaces (audit.Options.Live is
// false, as for dumps).
func (r *runner) auditConfig(h *Host, cfgDir string) {
	hs := sha256.New()
	io.WriteString(hs, "config\x00")
	rel, _ := filepath.Rel(h.Dir, cfgDir)
	writeField(hs, "at", []byte(rel))
	files, total := 0, 0
	err := filepath.WalkDir(cfgDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !(e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) {
			return nil
		}
		if files++; files > maxConfigFiles {
			return fmt.Errorf("%s: more than %d files: not a Postfix configuration directory", cfgDir, maxConfigFiles)
		}
		b, err := readBounded(p)
		if err != nil {
			if errors.Is(err, errNotRegular) || errors.Is(err, fs.ErrNotExist) {
				return nil // a dangling or non-file symlink: Postfix could not read it either
			}
			return err
		}
		if total += len(b); total > maxConfigBytes {
			return fmt.Errorf("%s: more than %d MiB of files: not a Postfix configuration directory", cfgDir, maxConfigBytes>>20)
		}
		name, _ := filepath.Rel(cfgDir, p)
		writeField(hs, filepath.ToSlash(name), b)
		return nil
	})
	if err != nil {
		h.Err = err.Error()
		return
	}
	writeField(hs, "controller defaults", []byte(r.defSource))
	var k key
	hs.Sum(k[:0])
	a, shared := r.cache.get(k, h.Dir, func() (*render.Report, error) {
		cfg, err := postconf.LoadDir(cfgDir, r.defaults, r.defSource)
		if err != nil {
			return nil, err
		}
		cfg.LiveDefaults = false
		return r.run(cfg), nil
	})
	r.finish(h, a, shared)
}

// run is `pfaudit audit --no-probe` on a configuration from elsewhere.
func (r *runner) run(cfg *postconf.Config) *render.Report {
	rep, _ := audit.Run(r.ctx, cfg, audit.Options{Live: false, Policy: r.opts.Policy, Version: r.opts.Version})
	return rep
}

// writeField adds a length-prefixed, named field to the hash, so that no
// two different inputs can produce the same byte stream.
func writeField(w io.Writer, name string, b []byte) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(name)))
	w.Write(n[:])
	io.WriteString(w, name)
	binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
	w.Write(n[:])
	w.Write(b)
}

var errNotRegular = errors.New("not a regular file")

// readBounded reads a host's file through safefile: opened without
// blocking (a FIFO planted in a copied configuration must not hang the
// fleet), regular files only, at most postconf.MaxFileSize in one sized
// read.
func readBounded(name string) ([]byte, error) {
	b, err := safefile.ReadFile(name, postconf.MaxFileSize)
	var nr *safefile.NotRegularError
	if errors.As(err, &nr) {
		return nil, fmt.Errorf("%s: %w", name, errNotRegular)
	}
	var tl *safefile.TooLargeError
	if errors.As(err, &tl) {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, postconf.MaxFileSize>>20)
	}
	return b, err
}

// reportIn is the part of `pfaudit audit --format json`'s schema (see
// audit/render/json.go) that the fleet reads back to summarise and
// re-render a merged report.
type reportIn struct {
	SchemaVersion   *int                    `json:"schema_version"`
	Tool            string                  `json:"tool"`
	Version         string                  `json:"version"`
	ConfigDirectory string                  `json:"config_directory"`
	DefaultsSource  string                  `json:"defaults_source"`
	LineNumbers     bool                    `json:"line_numbers"`
	Roles           []string                `json:"roles"`
	Listeners       []render.ListenerReport `json:"listeners"`
	Findings        []rules.Finding         `json:"findings"`
	Warnings        []string                `json:"warnings"`
}

// readReport merges an audit.json as the host wrote it: JSON output keeps
// its bytes; the other formats read it back into a render.Report. Its
// findings were decided on the host (with that host's policy and live
// probe), so --policy does not apply to it.
func (r *runner) readReport(h *Host) {
	file := filepath.Join(h.Dir, ReportFile)
	b, err := readBounded(file)
	if err != nil {
		h.Err = err.Error()
		return
	}
	var in reportIn
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&in); err != nil {
		h.Err = fmt.Sprintf("%s: not a pfaudit JSON report: %v", file, jsonErr(b, err))
		return
	}
	if dec.More() {
		h.Err = fmt.Sprintf("%s: more than one JSON value", file)
		return
	}
	switch {
	case in.SchemaVersion == nil || in.Tool != "pfaudit":
		h.Err = fmt.Sprintf("%s: not a pfaudit JSON report (no schema_version, or tool is not \"pfaudit\"): write it with `pfaudit audit --format json`", file)
		return
	case *in.SchemaVersion > render.SchemaVersion:
		h.Err = fmt.Sprintf("%s: schema_version %d is newer than this pfaudit reads (%d): upgrade pfaudit on the controller", file, *in.SchemaVersion, render.SchemaVersion)
		return
	}
	for i, f := range in.Findings {
		if f.ID == "" {
			h.Err = fmt.Sprintf("%s: finding %d has no id", file, i+1)
			return
		}
	}
	h.Raw = b
	h.Report = &render.Report{
		Tool: in.Tool, Version: in.Version, ConfigDir: in.ConfigDirectory, Defaults: in.DefaultsSource,
		LineNumbers: in.LineNumbers, Roles: in.Roles, Listeners: in.Listeners, Findings: in.Findings, Warnings: in.Warnings,
	}
}

// jsonErr adds the line of a JSON syntax error.
func jsonErr(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return err
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	return fmt.Errorf("line %d: %w", line, err)
}
