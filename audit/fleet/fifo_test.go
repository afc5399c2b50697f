//go:build unix

package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPlantedFIFO: a copied configuration whose directory holds a FIFO
// behind a symlink (a hostile or botched copy) is audited without hanging:
// the FIFO is never opened for reading.
func TestPlantedFIFO(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "mx")
	copyInto(t, "debian-stock", dir, "main.cf", "main.cf", "master.cf", "master.cf")
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "access")); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Summary, 1)
	go func() {
		sum, _ := runFleet(t, "json", Options{Paths: []string{root}})
		done <- sum
	}()
	select {
	case sum := <-done:
		if sum.Hosts != 1 || sum.Errors != 0 {
			t.Errorf("%d hosts, %d errors; want the host audited", sum.Hosts, sum.Errors)
		}
	case <-time.After(20 * time.Second):
		// Unblock the reader so that the test binary can end.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("the fleet blocked on a FIFO in a copied configuration")
	}
}

// TestInputNotRegular: a host whose input file (audit.json, postconf.n,
// main.cf) is a FIFO, or a link to one, is an error that says so, not
// "no audit.json, postconf.n or main.cf".
func TestInputNotRegular(t *testing.T) {
	for _, tt := range []struct{ name, file string }{
		{"audit.json FIFO", ReportFile},
		{"postconf.n FIFO", NDumpFile},
		{"main.cf FIFO", "main.cf"},
		{"postconf.n link to a FIFO", NDumpFile + " link"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name, link := strings.CutSuffix(tt.file, " link")
			fifo := filepath.Join(dir, name)
			if link {
				fifo = filepath.Join(t.TempDir(), "fifo")
				if err := os.Symlink(fifo, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := classifyFiles(dir)
			want := filepath.Join(dir, name) + ": is a FIFO (named pipe), not a regular file"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
}

// TestJobsBounded: a --jobs far past the number of hosts runs the fleet
// with one worker per host at most (it ended in an out-of-memory crash
// sizing the look-ahead queue).
func TestJobsBounded(t *testing.T) {
	root := t.TempDir()
	for _, h := range []string{"mx1", "mx2"} {
		copyInto(t, "debian-stock", filepath.Join(root, h), "main.cf", "main.cf", "master.cf", "master.cf")
	}
	for _, jobs := range []int{1, 3, 1_000_000, 1 << 40} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			sum, _ := runFleet(t, "json", Options{Paths: []string{root}, Jobs: jobs})
			if sum.Hosts != 2 || sum.Errors != 0 {
				t.Errorf("%d hosts, %d errors; want 2 hosts audited", sum.Hosts, sum.Errors)
			}
		})
	}
}
