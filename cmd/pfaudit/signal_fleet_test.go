package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsFleet: SIGTERM while `pfaudit fleet --output FILE`
// audits a fleet of distinct hosts: exit 143 at once, say why, and leave
// neither the report nor its temporary file behind (README "Exit codes").
func TestSignalStopsFleet(t *testing.T) {
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
	// Distinct hosts: the bundled configurations' dumps, each with its own
	// myhostname, so that none shares another's analysis.
	var bases [][2][]byte
	for _, c := range []string{"debian-stock", "legacy-2.9", "mx-dovecot", "postscreen"} {
		dir := filepath.Join("..", "..", "testdata", "configs", c)
		n, err := os.ReadFile(filepath.Join(dir, "postconf.n"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := os.ReadFile(filepath.Join(dir, "postconf.M"))
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, [2][]byte{n, m})
	}
	fleetDir := filepath.Join(tmp, "fleet")
	const hosts = 6000
	for h := range hosts {
		d := filepath.Join(fleetDir, fmt.Sprintf("mx%05d", h))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		b := bases[h%len(bases)]
		n := append(append([]byte(nil), b[0]...), fmt.Sprintf("myhostname = v%d.example.org\n", h)...)
		if err := os.WriteFile(filepath.Join(d, "postconf.n"), n, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "postconf.M"), b[1], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outDir := filepath.Join(tmp, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "fleet", "--defaults", "builtin", "--format", "json", "--output", filepath.Join(outDir, "fleet.json"), fleetDir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("pfaudit fleet finished before the signal (%v): the fleet is too small to test interruption", err)
	case <-time.After(500 * time.Millisecond):
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("pfaudit fleet still running 10s after SIGTERM")
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Errorf("exit %v, want status 143; stderr: %s", err, stderr.String())
	}
	if took > 1500*time.Millisecond {
		t.Errorf("took %v to stop", took)
	}
	if !strings.Contains(stderr.String(), "interrupted by SIGTERM") {
		t.Errorf("stderr does not say why it stopped: %q", stderr.String())
	}
	left, _ := os.ReadDir(outDir)
	for _, e := range left {
		t.Errorf("left behind in the output directory: %s", e.Name())
	}
	t.Logf("stopped %v after SIGTERM", took)
}
