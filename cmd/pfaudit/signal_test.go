package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "pfaudit")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
			cmd := exec.Command(bin, tc.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Fatalf("pfaudit finished before the signal (%v): the input is too small to test interruption", err)
			case <-time.After(tc.after):
			}
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("pfaudit still running 10s after %v", tc.sig)
			}
			took := time.Since(sent)
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("exit: %v, want status %d", err, tc.code)
			}
			if ee.ExitCode() != tc.code {
				t.Errorf("exit status %d, want %d; stderr: %s", ee.ExitCode(), tc.code, stderr.String())
			}
			if took > limit {
				t.Errorf("took %v to stop after %v, want under %v", took, tc.sig, limit)
			}
			name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[tc.sig]
			if !strings.Contains(stderr.String(), "interrupted by "+name) {
				t.Errorf("stderr does not say why it stopped: %q", stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("a partial report was printed: %q", shorten(stdout.String()))
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
