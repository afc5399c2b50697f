//go:build unix

package fleet

import (
	"os"
	"path/filepath"
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
