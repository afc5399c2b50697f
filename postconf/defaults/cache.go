package defaults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Running postconf -d costs two process runs (tens of milliseconds), more
// than the rest of an audit. Its answer depends only on the postconf
// binary, so it is cached on disk, keyed by the binary's path, size,
// modification time and inode: a Postfix upgrade replaces the binary and
// with it the key. Host-derived defaults (myhostname, mydomain,
// mynetworks) are recomputed from this host on every load, so a cached
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

// FromPostconfCached is FromPostconf with the on-disk cache.
func FromPostconfCached(ctx context.Context, postconfPath string, timeout time.Duration) (*Set, error) {
	if postconfPath == "" {
		postconfPath = "postconf"
	}
	path, err := exec.LookPath(postconfPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFound, postconfPath, err)
	}
	file, keyErr := cacheFile(path)
	if keyErr == nil && os.Getenv("PFAUDIT_NO_CACHE") == "" {
		if data, err := os.ReadFile(file); err == nil {
			if s, err := parseData(string(data)); err == nil {
				s.Source, s.Path, s.Cached = SourcePostconf, path, true
				s.refreshDerived(ctx)
				if ctx.Err() != nil {
					// The host-derived values may still be the cache's.
					return nil, interrupted(ctx, "postconf -d (cached)")
				}
				return s, nil
			}
		}
	}
	s, err := FromPostconf(ctx, path, timeout)
	if err != nil {
		return nil, err
	}
	if keyErr == nil && os.Getenv("PFAUDIT_NO_CACHE") == "" {
		_ = writeCache(file, s) // a cache that cannot be written only costs time
	}
	return s, nil
}

func cacheFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = uint64(sys.Ino)
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%d", path, st.Size(), st.ModTime().UnixNano(), ino)))
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "postconf-d-"+hex.EncodeToString(h[:12])+".txt"), nil
}

// writeCache stores s in the format of the embedded table (listed names,
// then the by-name-only ones after hiddenMarker), atomically.
func writeCache(file string, s *Set) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# pfaudit cache of `%s -d`; safe to delete.\n", s.Path)
	var hidden []string
	for _, n := range s.names {
		if !s.listed[n] {
			hidden = append(hidden, n)
			continue
		}
		fmt.Fprintf(&b, "%s = %s\n", n, s.raw[n])
	}
	b.WriteString(hiddenMarker + "\n")
	for _, n := range hidden {
		fmt.Fprintf(&b, "%s = %s\n", n, s.raw[n])
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".postconf-d-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
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
