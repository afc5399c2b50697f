package main

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/internal/scalegen"
)

// TestSignalStopsPromptly builds pfaudit, starts it on inputs large enough
// to keep it busy for seconds, signals it at several moments (while it
// reads, while it analyses, while it runs the rules) and requires that it
// exits within a fraction of a second, with 128+signal (README.md "Exit
// codes"), saying why on stderr and leaving standard output empty.
func TestSignalStopsPromptly(t *testing.T) {
	bin := pfauditBinary(t)
	tmp := t.TempDir()
	// Many listeners keep the relay analysis and the rules busy; a huge
	// mynetworks keeps the reading busy.
	busy := filepath.Join(tmp, "services")
	if err := scalegen.Write(busy, "services", 30000); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(tmp, "mynetworks")
	if err := scalegen.Write(big, "mynetworks-file", 1<<20); err != nil {
		t.Fatal(err)
	}
	// Deep $name nesting keeps config -x busy for seconds within the
	// 4 MiB that pfaudit reads of a main.cf (postconf.MaxFileSize).
	inline := filepath.Join(tmp, "inline")
	if err := scalegen.Write(inline, "nesting", 130000); err != nil {
		t.Fatal(err)
	}
	const limit = 1500 * time.Millisecond // generous for a loaded CI machine
	cases := []struct {
		name  string
		args  []string
		after time.Duration
		sig   syscall.Signal
		code  int
	}{
		{"term while reading", []string{"audit", "--no-probe", "--defaults", "builtin", "-c", big}, 30 * time.Millisecond, syscall.SIGTERM, 143},
		{"int while reading", []string{"config", "--defaults", "builtin", "-c", inline, "-x"}, 30 * time.Millisecond, syscall.SIGINT, 130},
		{"term while expanding", []string{"config", "--defaults", "builtin", "-c", inline, "-x"}, 300 * time.Millisecond, syscall.SIGTERM, 143},
		{"term while analysing", []string{"audit", "--no-probe", "--defaults", "builtin", "-c", busy}, 400 * time.Millisecond, syscall.SIGTERM, 143},
		{"int while analysing", []string{"audit", "--no-probe", "--defaults", "builtin", "--format", "json", "-c", busy}, 1200 * time.Millisecond, syscall.SIGINT, 130},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, exec.Command(bin, tc.args...))
			r.busyFor(t, tc.after)
			took := r.stop(t, tc.sig, tc.code)
			if took > limit {
				t.Errorf("took %v to stop after %v, want under %v", took, tc.sig, limit)
			}
			if r.stdout.Len() != 0 {
				t.Errorf("a partial report was printed: %q", shorten(r.stdout.String()))
			}
			t.Logf("stopped %v after %v", took, tc.sig)
		})
	}
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}
