package defaults

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
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
