// Package gentest checks generated Go files in tests: the file in the tree
// must be what its generator makes now, and -update rewrites it.
package gentest

import (
	"bytes"
	"os"
	"testing"
)

// Check fails t when file differs from src, saying how to regenerate it;
// with update it writes src to file instead.
func Check(t *testing.T, file string, src []byte, update bool, regenerate string) {
	t.Helper()
	if update {
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, src) {
		t.Fatalf("%s is stale: run %s", file, regenerate)
	}
}
