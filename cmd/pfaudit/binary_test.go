package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built is the binary the tests of this package run, built once as
// `make build` builds it (static, trimmed, stripped).
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// pfauditBinary returns the built binary's path (building it on first use).
func pfauditBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "pfaudit-bin-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "pfaudit")
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", built.path, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		built.out, built.err = build.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// running is a started pfaudit whose output is captured.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	exited         chan error
}

func start(t *testing.T, cmd *exec.Cmd) *running {
	t.Helper()
	r := &running{cmd: cmd, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	return r
}

// busyFor fails the test if pfaudit ends within d: its input was too small
// to test interruption.
func (r *running) busyFor(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case err := <-r.exited:
		t.Fatalf("pfaudit finished before the signal (%v): the input is too small to test interruption; stderr: %s", err, r.stderr.String())
	case <-time.After(d):
	}
}

// stop sends sig and requires exit status code within 10 s and the
// reason on stderr ("interrupted by SIGTERM"); it returns how long the
// exit took.
func (r *running) stop(t *testing.T, sig syscall.Signal, code int) time.Duration {
	t.Helper()
	sent := time.Now()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		t.Fatalf("pfaudit still running 10s after %v", sig)
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != code {
		t.Errorf("exit %v, want status %d; stderr: %s", err, code, r.stderr.String())
	}
	name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
	if !strings.Contains(r.stderr.String(), "interrupted by "+name) {
		t.Errorf("stderr does not say why it stopped: %q", r.stderr.String())
	}
	return took
}
