package input

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("relay_domains = example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ndump := filepath.Join(dir, "n.txt")
	if err := os.WriteFile(ndump, []byte("relay_domains = example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	c, err := Load(ctx, Options{Dir: dir, Defaults: "builtin"})
	if err != nil || c.Dir != dir || !c.LiveDefaults {
		t.Fatalf("directory: %v %+v", err, c)
	}
	if v, _ := c.Expand(nil, "relay_domains"); v != "example.com" {
		t.Errorf("relay_domains = %q", v)
	}

	c, err = Load(ctx, Options{NDump: "-", Defaults: "builtin", Stdin: strings.NewReader("relay_domains = example.net\n")})
	if err != nil || c.LiveDefaults || !c.Main.NoLines {
		t.Fatalf("stdin dump: %v", err)
	}
	if v, _ := c.Expand(nil, "relay_domains"); v != "example.net" {
		t.Errorf("relay_domains from stdin = %q", v)
	}

	for name, o := range map[string]Options{
		"dir and dump":        {Dir: dir, NDump: ndump, Defaults: "builtin"},
		"two dumps on stdin":  {NDump: "-", MDump: "-", Defaults: "builtin", Stdin: strings.NewReader("")},
		"bad defaults choice": {Dir: dir, Defaults: "sometimes"},
	} {
		var ue *UsageError
		if _, err := Load(ctx, o); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a UsageError", name, err)
		}
	}
	if _, err := Load(ctx, Options{Dir: filepath.Join(dir, "missing"), Defaults: "builtin"}); !IsNotFound(err) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := Load(ctx, Options{NDump: filepath.Join(dir, "missing"), Defaults: "builtin"}); err == nil || IsNotFound(err) {
		t.Errorf("missing dump: %v", err)
	}
	if _, err := Load(ctx, Options{NDump: ndump, Defaults: "postconf", Postconf: filepath.Join(dir, "no-postconf")}); !errors.Is(err, defaults.ErrNotFound) {
		t.Errorf("missing postconf binary: %v", err)
	}
	var _ *postconf.Config = c
}

// TestDetectCached: postconf -d runs once per process.
func TestDetectCached(t *testing.T) {
	if _, err := defaults.FindPostconf(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postconf is required under CI: %v", err)
		}
		t.Skip("postconf not installed: Detect falls back to the built-in table, which is not cached here")
	}
	a, err := detectCached(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := detectCached(context.Background())
	if a.Source != defaults.SourcePostconf || a != b {
		t.Errorf("detectCached: %s %p, then %p", a.Source, a, b)
	}
}

// TestLoadInterrupted: a context that has ended makes Load fail with
// defaults.ErrInterrupted (when postconf -d would have run), never go on
// with the built-in table.
func TestLoadInterrupted(t *testing.T) {
	t.Setenv("PFAUDIT_NO_CACHE", "1")
	detected.Lock()
	saved := detected.set
	detected.set = nil
	detected.Unlock()
	t.Cleanup(func() { detected.Lock(); detected.set = saved; detected.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, Options{Dir: t.TempDir()})
	// Load returns at once with the context's cause (or, when the
	// cancellation reaches postconf -d first, defaults.ErrInterrupted
	// wrapping it): never a configuration read with built-in defaults.
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context: %v, want an error wrapping context.Canceled", err)
	}
}

// TestStockMaster: a -n dump alone, with StockMaster, runs with the stock
// master.cf (its public smtpd and the internal services, exactly as
// Postfix 3.7 installs it) and a warning naming the dump; a -P dump
// applies on top; without StockMaster, or with a -M dump, nothing is
// assumed.
func TestStockMaster(t *testing.T) {
	dir := t.TempDir()
	ndump := filepath.Join(dir, "host.n")
	pdump := filepath.Join(dir, "host.P")
	mdump := filepath.Join(dir, "host.M")
	for f, s := range map[string]string{
		ndump: "mynetworks = 0.0.0.0/0\n",
		pdump: "smtp/inet/smtpd_tls_security_level = may\n",
		mdump: "submission inet n - y - - smtpd\n",
	} {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	assumed := func(c *postconf.Config) bool {
		for _, w := range c.Warnings {
			if strings.Contains(w.Msg, "assuming Postfix 3.7's stock master.cf") {
				return w.Pos.File == ndump
			}
		}
		return false
	}
	c, err := Load(ctx, Options{NDump: ndump, PDump: pdump, Defaults: "builtin", StockMaster: true})
	if err != nil {
		t.Fatal(err)
	}
	smtp := c.Master.Lookup("smtp/inet")
	if smtp == nil || smtp.Command != "smtpd" || smtp.Chroot != "y" || !assumed(c) {
		t.Fatalf("stock smtp/inet missing or no warning: %+v %v", smtp, c.Warnings)
	}
	if o, ok := smtp.Override("smtpd_tls_security_level"); !ok || o.Value != "may" {
		t.Errorf("-P dump not applied on the stock entry: %+v", smtp.Overrides)
	}
	for _, k := range []string{"pickup/unix", "cleanup/unix", "qmgr/unix", "relay/unix", "postlog/unix-dgram", "mailman/unix"} {
		if c.Master.Lookup(k) == nil {
			t.Errorf("stock master.cf lacks %s", k)
		}
	}
	if _, err := c.Check(); err != nil {
		t.Errorf("stock master.cf does not pass postconf's check: %v", err)
	}
	for name, o := range map[string]Options{
		"no StockMaster": {NDump: ndump, Defaults: "builtin"},
		"with -M dump":   {NDump: ndump, MDump: mdump, Defaults: "builtin", StockMaster: true},
	} {
		c, err := Load(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Master.Lookup("smtp/inet") != nil || assumed(c) {
			t.Errorf("%s: stock master.cf assumed", name)
		}
	}
}
