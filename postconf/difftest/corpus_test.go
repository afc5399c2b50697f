package difftest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCorpus: reading equals postconf on the real-world configurations of
// testdata/corpus (issue 7). Every directory is read by the installed
// postconf(1) and by `pfaudit config` in every mode below; the outputs
// must be the same lines (runs of whitespace collapsed), and both must
// succeed or both fail.
//
// The directories are copied to a temporary directory with modification
// times in the past: postconf re-reads (and waits for) a main.cf changed
// in the last two seconds, and a fresh checkout may be that young. Table
// files are referenced as $config_directory/NAME, so the copy is complete.
func TestCorpus(t *testing.T) {
	bin := findPostconf(t)
	dirs, _ := filepath.Glob("../../testdata/corpus/*/main.cf")
	if len(dirs) == 0 {
		t.Fatal("no corpus configurations found under testdata/corpus")
	}
	corpusModes := []struct {
		name string
		args []string
	}{
		{"-n", []string{"-n"}},
		{"-x", []string{"-x"}},
		{"-nx", []string{"-n", "-x"}},
		{"-P", []string{"-P"}},
		{"-Px", []string{"-P", "-x"}},
		{"-M", []string{"-M"}},
		{"-Mf", []string{"-M", "-f"}},
		{"-Mx", []string{"-M", "-x"}},
	}
	for _, f := range dirs {
		src := filepath.Dir(f)
		name := filepath.Base(src)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), name)
			if err := copyBackdated(src, dir); err != nil {
				t.Fatal(err)
			}
			for _, m := range corpusModes {
				pc, err := runPostconf(context.Background(), bin, dir, m.args)
				if err != nil {
					t.Fatal(err)
				}
				if pc.failed {
					t.Errorf("%s: postconf %s failed on a corpus configuration: %s", name, m.name, clip(pc.stderr))
					continue
				}
				got := runPfaudit(dir, m.args)
				wantL, gotL := normalize(pc.out), normalize(got.out)
				samePID(wantL, gotL)
				if got.failed {
					t.Errorf("%s: pfaudit config %s failed where postconf succeeded: %s", name, m.name, clip(got.stderr))
					continue
				}
				if strings.Join(wantL, "\n") != strings.Join(gotL, "\n") {
					t.Errorf("%s: pfaudit config %s disagrees with postconf %s\n--- diff (- postconf, + pfaudit) ---\n%s",
						name, m.name, m.name, lineDiff(wantL, gotL))
				}
				if len(wantL) == 0 {
					t.Errorf("%s: postconf %s printed nothing: the comparison proves nothing", name, m.name)
				}
			}
		})
	}
}

// samePID makes postconf's debugger_command line equal to pfaudit's when
// they differ only in numbers: its default value expands $process_id
// (postconf(5) debugger_command, process_id), which is the printing
// process's and can never agree between two readers (difftest leaves
// process_id itself out, see Excluded).
func samePID(want, got []string) {
	digits := regexp.MustCompile(`[0-9]+`)
	for i := range want {
		if i >= len(got) || want[i] == got[i] || !strings.HasPrefix(want[i], "debugger_command =") {
			continue
		}
		if digits.ReplaceAllString(want[i], "N") == digits.ReplaceAllString(got[i], "N") {
			want[i] = got[i]
		}
	}
}

// copyBackdated copies the directory tree src to dst with modification
// times an hour in the past.
func copyBackdated(src, dst string) error {
	past := time.Now().Add(-time.Hour)
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
		return os.Chtimes(target, past, past)
	})
}
