package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.txt")
	for _, content := range []string{"first\n", "second, longer report\n"} {
		if err := writeAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("read %q, %v; want %q", b, err, content)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Errorf("temporary files left: %v", ents)
		}
	}
	if err := writeAtomic(filepath.Join(dir, "missing", "r.txt"), []byte("x")); err == nil {
		t.Error("no error for a missing directory")
	}
}
