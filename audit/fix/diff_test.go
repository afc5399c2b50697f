package fix

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnifiedDiff(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		created        bool
		want           string
	}{
		{name: "equal", old: "a\n", new: "a\n", want: ""},
		{name: "replace", old: "a\nb\nc\n", new: "a\nB\nc\n",
			want: "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{name: "append", old: "a\n", new: "a\nb\n",
			want: "--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n a\n+b\n"},
		{name: "created", old: "", new: "a\n", created: true,
			want: "--- /dev/null\n+++ b/x\n@@ -0,0 +1 @@\n+a\n"},
		{name: "no final newline", old: "a", new: "b",
			want: "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unifiedDiff("/x", tc.old, tc.new, tc.created); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestUnifiedDiffAppliesWithPatch checks the hunks with patch(1) on
// random edits of a configuration file. Both are minimal edit scripts;
// when several minimal scripts exist they may pick different ones, so the
// check is that patch(1) turns old into new with ours.
func TestUnifiedDiffAppliesWithPatch(t *testing.T) {
	patch, err := exec.LookPath("patch")
	if err != nil {
		t.Skip("patch(1) not installed")
	}
	base, err := os.ReadFile("../../testdata/configs/debian-stock/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	lines := splitLines(string(base))
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	for i := 0; i < 40; i++ {
		var out []string
		for _, l := range lines {
			switch rng.IntN(12) {
			case 0: // drop
			case 1:
				out = append(out, "changed = "+l)
			case 2:
				out = append(out, l, "inserted = yes\n")
			default:
				out = append(out, l)
			}
		}
		newText := strings.Join(out, "")
		d := unifiedDiff(filepath.Join(dir, "f"), string(base), newText, false)
		f := filepath.Join(dir, "f")
		if err := os.WriteFile(f, base, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(patch, "-s", "-p0", f)
		cmd.Stdin = strings.NewReader(d)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch: %v\n%s\n%s", err, b, d)
		}
		got, _ := os.ReadFile(f)
		if string(got) != newText {
			t.Fatalf("round %d: the diff does not reproduce the new text:\n%s", i, d)
		}
	}
}
