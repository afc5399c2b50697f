package defaults

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func requirePostconfBinary(t *testing.T) string {
	t.Helper()
	p, err := FindPostconf()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postconf is required under CI: %v", err)
		}
		t.Skipf("postconf not installed: %v", err)
	}
	return p
}

// TestCacheAgreesWithPostconf checks that a cached answer equals a fresh
// postconf -d run, that a corrupt cache file is replaced by a fresh run,
// and that PFAUDIT_NO_CACHE bypasses the cache.
func TestCacheAgreesWithPostconf(t *testing.T) {
	path := requirePostconfBinary(t)
	dir := t.TempDir()
	old := CacheDir
	CacheDir = func() (string, error) { return dir, nil }
	defer func() { CacheDir = old }()
	ctx := context.Background()

	fresh, err := FromPostconfCached(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Cached {
		t.Fatal("first run claims to come from the cache")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "postconf-d-*.txt"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	cached, err := FromPostconfCached(ctx, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !cached.Cached {
		t.Fatal("second run did not use the cache")
	}
	if !slices.Equal(fresh.Names(), cached.Names()) {
		t.Fatal("cached names differ from postconf -d")
	}
	for _, n := range fresh.Names() {
		if n == "process_id" {
			continue // differs per process
		}
		a, _ := fresh.Raw(n)
		b, _ := cached.Raw(n)
		if a != b {
			t.Errorf("%s: cached %q, postconf -d %q", n, b, a)
		}
		if fresh.Listed(n) != cached.Listed(n) {
			t.Errorf("%s: listed %v vs %v", n, cached.Listed(n), fresh.Listed(n))
		}
	}
	if err := os.WriteFile(files[0], []byte("garbage without equals sign\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := FromPostconfCached(ctx, path, 0)
	if err != nil || again.Cached || again.Len() != fresh.Len() {
		t.Fatalf("after corrupting the cache: cached=%v len=%d err=%v, want a fresh run", again != nil && again.Cached, again.Len(), err)
	}
	t.Setenv("PFAUDIT_NO_CACHE", "1")
	nc, err := FromPostconfCached(ctx, path, 0)
	if err != nil || nc.Cached {
		t.Fatalf("PFAUDIT_NO_CACHE: cached=%v err=%v", nc != nil && nc.Cached, err)
	}
}

// TestCacheRefusesUntrusted plays a second local user who controls the
// cache location (HOME or XDG_CACHE_HOME pointing into his tree): a
// forged cache must not be used, and nothing may be written there or
// through a symbolic link he planted.
func TestCacheRefusesUntrusted(t *testing.T) {
	path := requirePostconfBinary(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to play a second user (CI=true: may not be skipped)")
		}
		t.Skip("needs root to play a second user")
	}
	const other = 65534 // nobody: neither root nor us
	ctx := context.Background()
	id, err := binaryIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	// A genuine answer, to forge from.
	good := t.TempDir()
	old := CacheDir
	defer func() { CacheDir = old }()
	CacheDir = func() (string, error) { return good, nil }
	if _, err := FromPostconfCached(ctx, path, 0); err != nil {
		t.Fatal(err)
	}
	name := "postconf-d-" + id[:24] + ".txt"
	genuine, err := os.ReadFile(filepath.Join(good, name))
	if err != nil {
		t.Fatal(err)
	}
	// The cache holds changes to the built-in table: the forgery adds one.
	forged := strings.Replace(string(genuine), "\n"+hiddenMarker+"\n", "\nsmtpd_relay_restrictions = permit, reject_unauth_destination\n"+hiddenMarker+"\n", 1)
	if forged == string(genuine) {
		t.Fatal("no smtpd_relay_restrictions line to forge")
	}
	// Re-sign the forgery, as an attacker who read this code would.
	head, body, _ := strings.Cut(forged, "\n")
	_ = head
	sum := sha256.Sum256([]byte(body))
	signed := fmt.Sprintf("%sidentity=%s base=%s sha256=%s\n%s", cacheHeader, id, BuiltinTableID, hex.EncodeToString(sum[:]), body)

	for _, tt := range []struct {
		name string
		// prep returns the cache directory and a file that must stay
		// unchanged (or must not appear).
		prep func(t *testing.T) (dir, watch string)
	}{
		{"directory owned by another user", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o755)
			write(t, filepath.Join(d, name), signed)
			chownAll(t, other, d, filepath.Join(d, name))
			return d, filepath.Join(d, name)
		}},
		{"parent (HOME) owned by another user", func(t *testing.T) (string, string) {
			home := filepath.Join(t.TempDir(), "home")
			d := filepath.Join(home, ".cache", "pfaudit")
			os.MkdirAll(d, 0o700)
			write(t, filepath.Join(d, name), signed)
			chownAll(t, other, home)
			return d, filepath.Join(d, name)
		}},
		{"world-writable directory", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			os.Chmod(d, 0o777)
			write(t, filepath.Join(d, name), signed)
			return d, filepath.Join(d, name)
		}},
		{"file owned by another user", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			write(t, filepath.Join(d, name), signed)
			chownAll(t, other, filepath.Join(d, name))
			return d, "" // our own directory: a fresh answer replaces it
		}},
		{"symlinked cache directory", func(t *testing.T) (string, string) {
			base := t.TempDir()
			target := filepath.Join(base, "elsewhere")
			os.Mkdir(target, 0o700)
			d := filepath.Join(base, "pfaudit")
			os.Symlink(target, d)
			chownAll(t, other, d)
			return d, filepath.Join(target, name)
		}},
		{"symlinked cache file", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			src := filepath.Join(t.TempDir(), "forged")
			write(t, src, signed)
			os.Symlink(src, filepath.Join(d, name))
			return d, src
		}},
		{"truncated cache", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			write(t, filepath.Join(d, name), string(genuine[:len(genuine)/2]))
			return d, ""
		}},
		{"unsigned forgery", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			write(t, filepath.Join(d, name), forged)
			return d, ""
		}},
		{"FIFO as the cache", func(t *testing.T) (string, string) {
			d := filepath.Join(t.TempDir(), "pfaudit")
			os.Mkdir(d, 0o700)
			if err := syscall.Mkfifo(filepath.Join(d, name), 0o600); err != nil {
				t.Fatal(err)
			}
			return d, "" // our own directory: a fresh answer replaces it
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, watch := tt.prep(t)
			var before []byte
			var beforeErr error
			if fi, err := os.Lstat(watch); watch != "" && (err != nil || fi.Mode()&os.ModeNamedPipe == 0) {
				before, beforeErr = os.ReadFile(watch)
			}
			CacheDir = func() (string, error) { return dir, nil }
			done := make(chan struct{})
			var s *Set
			go func() { defer close(done); s, err = FromPostconfCached(ctx, path, 0) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("FromPostconfCached hangs")
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Cached {
				t.Error("an untrusted cache was used")
			}
			if v, _ := s.Raw("smtpd_relay_restrictions"); strings.HasPrefix(v, "permit, ") {
				t.Errorf("forged default used: %q", v)
			}
			if watch != "" {
				fi, _ := os.Lstat(watch)
				if fi == nil || fi.Mode()&os.ModeNamedPipe == 0 {
					after, afterErr := os.ReadFile(watch)
					if string(after) != string(before) || (beforeErr == nil) != (afterErr == nil) {
						t.Errorf("%s was written", watch)
					}
				}
			}
		})
	}
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func chownAll(t *testing.T, uid int, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
}

// The identity must change with the binary even when its size and
// modification time are put back, and only then.
func TestBinaryIdentityFollowsChanges(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "postconf")
	write(t, bin, "version one")
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	first, err := binaryIdentity(bin)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := binaryIdentity(bin); err != nil || again != first {
		t.Fatalf("unchanged binary: identity %s then %s (%v)", first, again, err)
	}
	time.Sleep(10 * time.Millisecond) // a status-change time of its own
	write(t, bin, "version two")      // same size
	if err := os.Chtimes(bin, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st2, err := os.Stat(bin); err != nil || st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatalf("size and time not restored: %v", err)
	}
	if second, err := binaryIdentity(bin); err != nil || second == first {
		t.Errorf("binary rewritten with its time restored keeps identity %s (%v)", first, err)
	}
}
