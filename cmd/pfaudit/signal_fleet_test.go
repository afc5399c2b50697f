package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsFleet: SIGTERM while `pfaudit fleet --output FILE`
// audits a fleet of distinct hosts: exit 143 at once, say why, and leave
// neither the report nor its temporary file behind (README "Exit codes").
func TestSignalStopsFleet(t *testing.T) {
	bin := pfauditBinary(t)
	tmp := t.TempDir()
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
	r := start(t, cmd)
	r.busyFor(t, 500*time.Millisecond)
	took := r.stop(t, syscall.SIGTERM, 143)
	if took > 1500*time.Millisecond {
		t.Errorf("took %v to stop", took)
	}
	left, _ := os.ReadDir(outDir)
	for _, e := range left {
		t.Errorf("left behind in the output directory: %s", e.Name())
	}
	t.Logf("stopped %v after SIGTERM", took)
}
