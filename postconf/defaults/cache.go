package defaults

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Running postconf -d costs two process runs (tens of milliseconds), more
// than the rest of an audit. Its answer depends only on the postconf
// binary, so it is cached on disk, keyed by the binary's identity (path,
// device, inode, size, modification and status-change times; see
// binaryIdentity): a Postfix upgrade replaces the binary and with it the
// key. Host-derived defaults (myhostname, mydomain, mynetworks) are recomputed from this host on every load, so a cached
// answer never carries a stale host name or address. PFAUDIT_NO_CACHE=1
// disables the cache.

// CacheDir is where cached answers live (under os.UserCacheDir, e.g.
// ~/.cache/pfaudit); a variable so tests can redirect it.
var CacheDir = func() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "pfaudit"), nil
}

// The cache is only as trustworthy as the directory it lives in: with HOME
// or XDG_CACHE_HOME pointing into another user's tree (sudo without -H),
// that user could hand root a forged answer (an empty smtpd_relay_
// restrictions default turns an open relay "closed"). So the cache is used
// only when its directory is private (package safefile: owned by the
// running user, not writable by others, no symbolic link, no ancestor
// another user controls); the file must be a regular file of ours, not a
// symbolic link, and carry in its first line the identity of the binary it
// describes and a SHA-256 checksum of the rest. Anything else is ignored
// (postconf is run instead), and nothing is written into a directory that
// failed the checks.

// cacheHeader starts a cache file: "# pfaudit postconf-d cache v3
// identity=HEX base=HEX sha256=HEX", then a comment line and the answer as
// changes to the built-in table named by base (BuiltinTableID): the values
// that differ from it or that it lacks, listed names first, then after
// hiddenMarker the by-name-only ones, then after goneMarker the built-in
// names this postconf does not know. A cache of the Postfix version the
// table was recorded from holds a few lines (the host-derived values); its
// reader builds no map of 900 values. A pfaudit with another table finds
// another base and runs postconf again.
const cacheHeader = "# pfaudit postconf-d cache v3 "

// goneMarker starts the cache's list of built-in names the answer lacks.
const goneMarker = "#gone"

// maxCacheSize bounds a cache file: 3.7's answer is about 50 KB.
const maxCacheSize = 4 << 20

// maxBinarySize bounds the postconf binary named by the identity; a
// larger one is not cached.
const maxBinarySize = 64 << 20

// FromPostconfCached is FromPostconf with the on-disk cache.
func FromPostconfCached(ctx context.Context, postconfPath string, timeout time.Duration) (*Set, error) {
	if postconfPath == "" {
		postconfPath = "postconf"
	}
	path, err := exec.LookPath(postconfPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFound, postconfPath, err)
	}
	var dir, file, id string
	use := os.Getenv("PFAUDIT_NO_CACHE") == ""
	if use {
		id, err = binaryIdentity(path)
		use = err == nil
	}
	if use {
		dir, err = CacheDir()
		use = err == nil
	}
	if use {
		file = filepath.Join(dir, "postconf-d-"+id[:24]+".txt")
		if s, err := readCache(dir, file, id); err == nil {
			s.Source, s.Path, s.Cached = SourcePostconf, path, true
			s.refreshDerived(ctx)
			if ctx.Err() != nil {
				// The host-derived values may still be the cache's.
				return nil, interrupted(ctx, "postconf -d (cached)")
			}
			return s, nil
		}
	}
	s, err := FromPostconf(ctx, path, timeout)
	if err != nil {
		return nil, err
	}
	if use {
		_ = writeCache(dir, file, id, s) // a cache that cannot be written only costs time
	}
	return s, nil
}

// binaryIdentity names one postconf binary: its path, size, modification
// time, and where the system gives them its status-change time, device
// and inode. Nothing can set a status-change time but the kernel, which
// sets it on every write, rename or time change: a binary replaced in
// place with its old modification time restored still differs, without
// reading it (hashing its 200 KB was 2% of `pfaudit config -x`).
// Elsewhere the identity hashes the binary's content.
func binaryIdentity(path string) (string, error) {
	f, st, err := safefile.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st.Size() > maxBinarySize {
		return "", &safefile.TooLargeError{Path: path, Limit: maxBinarySize}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", path, st.Size(), st.ModTime().UnixNano())
	if ctime, dev, ino, ok := statIdentity(st); ok {
		fmt.Fprintf(h, "ctime\x00%d\x00%d\x00%d\x00", ctime, dev, ino)
	} else if _, err := io.Copy(h, io.LimitReader(f, maxBinarySize)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readCache returns the cached answer in file when every check passes.
func readCache(dir, file, id string) (*Set, error) {
	if err := safefile.CheckPrivateDir(dir); err != nil {
		return nil, err
	}
	data, st, err := safefile.ReadFileNoFollow(file, maxCacheSize)
	if err != nil {
		return nil, err
	}
	if err := safefile.CheckPrivateFile(file, st); err != nil {
		return nil, err
	}
	// The body is checksummed as read; the values share one string.
	head, body, ok := bytes.Cut(data, []byte("\n"))
	var gotID, gotBase, gotSum string
	if ok && bytes.HasPrefix(head, []byte(cacheHeader)) {
		_, err = fmt.Sscanf(string(head[len(cacheHeader):]), "identity=%s base=%s sha256=%s", &gotID, &gotBase, &gotSum)
	}
	sum := sha256.Sum256(body)
	switch {
	case !ok || err != nil || gotID == "":
		return nil, fmt.Errorf("%s: no pfaudit cache header", file)
	case gotID != id:
		return nil, fmt.Errorf("%s: cached for another postconf binary", file)
	case gotBase != BuiltinTableID:
		return nil, fmt.Errorf("%s: written against another built-in table", file)
	case gotSum != hex.EncodeToString(sum[:]):
		return nil, fmt.Errorf("%s: checksum mismatch (truncated or edited)", file)
	}
	return parseDelta(file, string(body))
}

// parseDelta reads a cache body (see cacheHeader) over the built-in table.
func parseDelta(file, body string) (*Set, error) {
	s := overBuiltin()
	var added []string
	section := ""
	n := 0
	for line := range strings.SplitSeq(body, "\n") {
		n++
		bad := func(msg string) error {
			return &diag.Error{Pos: diag.Pos{File: file, Line: n + 1}, Msg: msg, Text: line}
		}
		switch {
		case line == hiddenMarker || line == goneMarker:
			if section == goneMarker || section == line {
				return nil, bad("section out of order") // #hidden, then #gone, each once
			}
			section = line
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		if section == goneMarker {
			_, inBase := s.base.lookup(line)
			_, set := s.raw[line]
			if !inBase || set || s.gone[line] {
				return nil, bad("not a built-in name, or listed twice")
			}
			if s.gone == nil {
				s.gone = map[string]bool{}
			}
			s.gone[line] = true
			delete(s.unlisted, line)
			continue
		}
		name, value, err := splitLine(line)
		if err != nil {
			return nil, bad(err.Error())
		}
		if _, dup := s.raw[name]; dup {
			return nil, bad("parameter " + name + " printed twice")
		}
		if s.change(name, value, section != hiddenMarker) {
			added = append(added, name)
		}
	}
	if err := s.finishOver(added); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}

// writeCache stores s as changes to the built-in table (see cacheHeader)
// behind the identity and checksum header, atomically, in a private
// directory only.
func writeCache(dir, file, id string, s *Set) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# pfaudit cache of `%s -d`, as changes to pfaudit's built-in table; safe to delete.\n", s.Path)
	changed := func(n string) bool {
		v, _ := s.get(n)
		bv, inBase := builtinTable.lookup(n)
		return !inBase || bv != v || builtinTable.listed(n) != s.Listed(n)
	}
	line := func(n string) {
		v, _ := s.get(n)
		fmt.Fprintf(&b, "%s = %s\n", n, v)
	}
	var hidden []string
	for _, n := range s.names {
		switch {
		case !changed(n):
		case s.Listed(n):
			line(n)
		default:
			hidden = append(hidden, n)
		}
	}
	b.WriteString(hiddenMarker + "\n")
	for _, n := range hidden {
		line(n)
	}
	b.WriteString(goneMarker + "\n")
	for _, n := range builtinTable.names {
		if !s.Known(n) {
			b.WriteString(n + "\n")
		}
	}
	body := b.String()
	sum := sha256.Sum256([]byte(body))
	if err := safefile.MkdirPrivate(dir); err != nil {
		return err
	}
	// CreateTemp opens with O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(dir, ".postconf-d-*")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(tmp, "%sidentity=%s base=%s sha256=%s\n%s", cacheHeader, id, BuiltinTableID, hex.EncodeToString(sum[:]), body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// refreshDerived recomputes the host-derived defaults for this host, as
// postconf -d would now (it ignores main.cf, so no lookup is given).
func (s *Set) refreshDerived(ctx context.Context) {
	for _, n := range []string{"myhostname", "mydomain", "mynetworks"} {
		if v, err := s.Live(ctx, n, nil); err == nil {
			s.raw[n] = v
		}
	}
}
