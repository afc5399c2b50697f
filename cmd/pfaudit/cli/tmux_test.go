package cli

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var updateTmux = flag.Bool("update", false, "rewrite the golden files under testdata/terminal")

// buildPfaudit builds the pfaudit binary once into a temporary directory.
func buildPfaudit(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build pfaudit with")
		}
	}
	bin := filepath.Join(t.TempDir(), "pfaudit")
	// No VCS stamp: the version then reads "dev" in the goldens.
	cmd := exec.Command(goBin, "build", "-buildvcs=false", "-o", bin, "github.com/pfaudit/pfaudit/cmd/pfaudit")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tmuxRun runs a command in a detached tmux pane of the given width and
// returns the pane's whole content (history included) once the command
// has finished, with soft-wrapped lines joined (capture-pane -J), so that
// a line wider than the pane shows as one long line.
func tmuxRun(t *testing.T, width int, command string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) ([]byte, error) {
		return exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput()
	}
	const done = "__PFAUDIT_DONE__"
	script := command + "; echo " + done + "; sleep 120"
	if out, err := tmux("new-session", "-d", "-x", fmt.Sprint(width), "-y", "50", "sh", "-c", script); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = tmux("kill-server") })
	if out, err := tmux("set-option", "-g", "history-limit", "10000"); err != nil {
		t.Fatalf("tmux set-option: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-")
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, out)
		}
		if i := bytes.Index(out, []byte(done)); i >= 0 {
			var lines []string
			for _, l := range strings.Split(string(out[:i]), "\n") {
				lines = append(lines, strings.TrimRight(l, " "))
			}
			return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
		}
		if time.Now().After(deadline) {
			t.Fatalf("command did not finish in the pane:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRealTerminal runs pfaudit in real terminals (tmux panes of 80 and
// 200 columns) and compares what the pane shows with golden files: the
// report adapts to the terminal's width, and at 80 columns no line but an
// unbreakable shell command is wider than the pane.
func TestRealTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (.ci/run installs it)")
		}
		t.Skip("tmux is not installed (Debian: tmux)")
	}
	bin := buildPfaudit(t)
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// The report wraps paths like any text, so the configuration must sit
	// at a path of the same length on every machine: a copy under
	// /tmp/pfaudit-tty-XXXXXXXX.
	conf := fixedLengthCopy(t, filepath.Join(root, "testdata", "configs", "docker-wide"))
	env := "NO_COLOR=1 SOURCE_DATE_EPOCH=1796497800 "
	for _, tc := range []struct {
		name  string
		width int
		args  string
	}{
		{"audit.80.txt", 80, "audit --no-probe --defaults builtin -c " + conf},
		{"audit.200.txt", 200, "audit --no-probe --defaults builtin -c " + conf},
		{"audit-quiet.80.txt", 80, "audit --no-probe --defaults builtin -c " + conf + " --quiet --fail-on medium"},
		{"rules.80.txt", 80, "rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tmuxRun(t, tc.width, env+bin+" "+tc.args)
			got = strings.ReplaceAll(got, conf, "$CONFIG")
			if !strings.HasPrefix(tc.name, "audit-quiet") {
				for _, l := range strings.Split(got, "\n") {
					if n := utf8.RuneCountInString(l); n > tc.width && !strings.Contains(l, "postconf ") {
						t.Errorf("line of %d columns in a %d-column terminal: %q", n, tc.width, l)
					}
				}
			}
			path := filepath.Join("testdata", "terminal", tc.name)
			if *updateTmux {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestRealTerminal -update creates it)", err)
			}
			if got != string(want) {
				t.Errorf("%s: the pane differs from the golden file (go test -update after checking):\n--- got ---\n%s\n--- want ---\n%s", tc.name, got, want)
			}
		})
	}
}

// fixedLengthCopy copies the files of dir into a new directory whose path
// has the same length on every machine and every run.
func fixedLengthCopy(t *testing.T, dir string) string {
	t.Helper()
	var dst string
	for i := 0; ; i++ {
		dst = fmt.Sprintf("/tmp/pfaudit-tty-%08x", rand.Uint32())
		err := os.Mkdir(dst, 0o755)
		if err == nil {
			break
		}
		if i > 100 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = os.RemoveAll(dst) })
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
