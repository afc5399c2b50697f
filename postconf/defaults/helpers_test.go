package defaults

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// inCI reports whether missing prerequisites must fail the test.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips outside CI and fails under CI=true.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// needPostconf returns the installed postconf or skips (fails under CI).
func needPostconf(t testing.TB) string {
	t.Helper()
	p, err := FindPostconf()
	if err != nil {
		skipOrFail(t, "needs Postfix's postconf: %v", err)
	}
	return p
}

// configDir writes main.cf (and an empty master.cf) into a fresh absolute
// directory.
func configDir(t testing.TB, mainCF string) string {
	t.Helper()
	dir, err := filepath.Abs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// postconf pauses when main.cf is less than about 2 s old (it waits for
	// an editor to finish); backdate the files.
	old := time.Now().Add(-time.Minute)
	for _, f := range []string{"main.cf", "master.cf"} {
		if err := os.Chtimes(filepath.Join(dir, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// postconfOut runs postconf with args and returns stdout, or an error that
// carries stderr (postconf's "fatal: ..." message).
func postconfOut(t testing.TB, path string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", errors.New(strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// postconfValue runs `postconf ARGS` for one parameter and returns its
// value ("name = value" → "value").
func postconfValue(t testing.TB, path, name string, args ...string) (string, error) {
	t.Helper()
	out, err := postconfOut(t, path, append(args, name)...)
	if err != nil {
		return "", err
	}
	line := strings.TrimRight(out, "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("postconf %v %s printed more than one line: %q", args, name, out)
	}
	got, value, err := splitLine(line)
	if err != nil || got != name {
		t.Fatalf("postconf %v %s printed %q", args, name, out)
	}
	return value, nil
}

// mainCFLookup is a Lookup over literal settings, as a main.cf with those
// lines would answer it.
func mainCFLookup(settings map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := settings[name]
		return v, ok
	}
}

// mainCFText renders settings as main.cf lines.
func mainCFText(settings map[string]string) string {
	var b strings.Builder
	for k, v := range settings {
		b.WriteString(k + " = " + v + "\n")
	}
	return b.String()
}
