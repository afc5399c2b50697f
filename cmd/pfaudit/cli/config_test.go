package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// runConfig runs `pfaudit config ARGS` in-process. A run that does not
// finish within a minute is a hang; a panic crashes the test binary.
func runConfig(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		code = Main(append([]string{"config"}, args...), strings.NewReader(stdin), &out, &errb)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("pfaudit config %q: no answer after a minute", args)
	}
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// postconf waits for files changed in the last second or two.
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(path, past, past)
}

// configDir makes a configuration directory with main.cf and master.cf.
func configDir(t *testing.T, main, master string) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cf"), []byte(main))
	writeFile(t, filepath.Join(dir, "master.cf"), []byte(master))
	return dir
}

func chainMain(n int) string {
	var b strings.Builder
	b.WriteString("smtpd_banner = $c1\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "c%d = $c%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "c%d = end\n", n)
	return b.String()
}

// TestConfigBadInput: each bad input gets a clear message (file:line where
// there is one) and exit code 2, or is tolerated as postconf tolerates it.
// Where postconf is installed the test also asks it, and both must fail or
// succeed together.
func TestConfigBadInput(t *testing.T) {
	postconf, _ := defaults.FindPostconf()
	bin, _ := os.ReadFile("/bin/true")
	bigValue := "smtpd_banner = " + strings.Repeat("x", 2<<20) + "\n"
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		args    []string // after -c DIR
		code    int
		stderr  []string // substrings of stderr
		stdout  []string // substrings of stdout
		compare bool     // ask postconf too
	}{
		{name: "missing directory", dir: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"no readable Postfix configuration", "nope"}, compare: true},
		{name: "directory under a file", dir: func(t *testing.T) string {
			d := t.TempDir()
			writeFile(t, filepath.Join(d, "file"), []byte("x"))
			return filepath.Join(d, "file", "sub")
		}, args: []string{"-n"}, code: ExitError, stderr: []string{"no readable Postfix configuration", "not a directory"}, compare: true},
		{name: "directory is a file", dir: func(t *testing.T) string {
			d := t.TempDir()
			writeFile(t, filepath.Join(d, "file"), []byte("a = 1\n"))
			return filepath.Join(d, "file")
		}, args: []string{"-n"}, code: ExitError, stderr: []string{"is not a directory"}},
		{name: "main.cf missing", dir: func(t *testing.T) string { return t.TempDir() },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf", "no such file"}, compare: true},
		{name: "main.cf is a directory", dir: func(t *testing.T) string {
			d := t.TempDir()
			if err := os.Mkdir(filepath.Join(d, "main.cf"), 0o755); err != nil {
				t.Fatal(err)
			}
			return d
		}, args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf: is a directory"}, compare: true},
		{name: "master.cf is a directory", dir: func(t *testing.T) string {
			d := configDir(t, "a = 1\n", "")
			os.Remove(filepath.Join(d, "master.cf"))
			if err := os.Mkdir(filepath.Join(d, "master.cf"), 0o755); err != nil {
				t.Fatal(err)
			}
			return d
		}, args: []string{"-M"}, code: ExitError, stderr: []string{"master.cf: is a directory"}},
		{name: "binary main.cf", dir: func(t *testing.T) string { return configDir(t, string(bin), "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf:1: missing '=' after attribute name", "NUL bytes", `\x7fELF`}, compare: true},
		{name: "multi-megabyte value", dir: func(t *testing.T) string { return configDir(t, bigValue, "") },
			args: []string{"-x", "smtpd_banner"}, code: ExitOK, stdout: []string{"smtpd_banner = xxxx"}, compare: true},
		{name: "multi-megabyte line without =", dir: func(t *testing.T) string { return configDir(t, strings.Repeat("a", 2<<20)+"\n", "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf:1: missing '='", "(2097152 bytes)"}, compare: true},
		// Past postconf.MaxFileSize pfaudit refuses the file (issue 12:
		// bounded reads); postconf would read it.
		{name: "main.cf over the size bound", dir: func(t *testing.T) string { return configDir(t, strings.Repeat("a", 5<<20)+"\n", "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf: larger than 4 MiB", "refused"}},
		{name: "CRLF line ends", dir: func(t *testing.T) string {
			return configDir(t, "relay_domains = example.com,\r\n  example.net\r\nsmtpd_banner = $relay_domains\r\n", "smtp inet n - y - - smtpd\r\n  -o syslog_name=x\r\n")
		}, args: []string{"-x", "smtpd_banner"}, code: ExitOK, stdout: []string{"smtpd_banner = example.com, example.net\n"}, compare: true},
		{name: "byte-order mark", dir: func(t *testing.T) string {
			return configDir(t, "\xef\xbb\xbfmyhostname = bom.example\nmydomain = example.org\n", "")
		},
			args: []string{"-n"}, code: ExitOK, stderr: []string{"main.cf:1: file starts with a UTF-8 byte-order mark"}, stdout: []string{"mydomain = example.org"}, compare: true},
		{name: "invalid UTF-8", dir: func(t *testing.T) string { return configDir(t, "smtpd_banner = \xff\xfe caf\xe9\n", "") },
			args: []string{"-x", "smtpd_banner"}, code: ExitOK, stdout: []string{"smtpd_banner = \xff\xfe caf\xe9"}, compare: true},
		{name: "unterminated ${", dir: func(t *testing.T) string { return configDir(t, "# c\nsmtpd_banner = ${mail_name\n", "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf:2: smtpd_banner: truncated macro reference"}, compare: true},
		{name: "line without =", dir: func(t *testing.T) string { return configDir(t, "a = 1\nfoo bar\n", "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf:2: missing '=' after attribute name: \"foo bar\""}, compare: true},
		{name: "master.cf with too few fields", dir: func(t *testing.T) string { return configDir(t, "", "smtp inet n - y - - smtpd\n\nbroken inet n -\n") },
			args: []string{"-M"}, code: ExitError, stderr: []string{"master.cf:3: bad field count"}, compare: true},
		{name: "master.cf with a bad type", dir: func(t *testing.T) string { return configDir(t, "", "smtp bogus n - y - - smtpd\n") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"master.cf:1: invalid type field \"bogus\""}, compare: true},
		{name: "master.cf with an unclosed brace", dir: func(t *testing.T) string { return configDir(t, "", "smtp inet n - y - - smtpd -o {syslog_name = x\n") },
			args: []string{"-P"}, code: ExitOK, stderr: []string{"master.cf:1: missing '}'"}, stdout: []string{"smtp/inet/syslog_name = x"}, compare: true},
		{name: "3000 chained references", dir: func(t *testing.T) string { return configDir(t, chainMain(3000), "") },
			args: []string{"-x", "smtpd_banner"}, code: ExitError, stderr: []string{"smtpd_banner: unreasonable macro call nesting"}, compare: true},
		{name: "100 chained references", dir: func(t *testing.T) string { return configDir(t, chainMain(100), "") },
			args: []string{"-x", "smtpd_banner"}, code: ExitOK, stdout: []string{"smtpd_banner = end"}, compare: true},
		{name: "self-reference", dir: func(t *testing.T) string {
			return configDir(t, "smtpd_client_restrictions = $smtpd_client_restrictions, reject\n", "")
		},
			args: []string{"-n"}, code: ExitError, stderr: []string{"main.cf:1: smtpd_client_restrictions: unreasonable macro call nesting"}, compare: true},
		{name: "self-reference through a user parameter", dir: func(t *testing.T) string { return configDir(t, "smtpd_banner = $a\na = $b\nb = $a\n", "") },
			args: []string{"-x", "mail_name"}, code: ExitError, stderr: []string{"unreasonable macro call nesting"}, compare: true},
		{name: "unused broken parameter is tolerated", dir: func(t *testing.T) string { return configDir(t, "foo = ${bad\n", "") },
			args: []string{"-n"}, code: ExitOK, stderr: []string{"unused parameter: foo=${bad"}, compare: true},
		{name: "bad mynetworks_style", dir: func(t *testing.T) string { return configDir(t, "mynetworks_style = bogus\n", "") },
			args: []string{"-n"}, code: ExitError, stderr: []string{"mynetworks"}, compare: true},
		{name: "unknown --service", dir: func(t *testing.T) string { return configDir(t, "", "smtp inet n - y - - smtpd\n") },
			args: []string{"--service", "submission/inet", "-x", "smtpd_relay_restrictions"}, code: ExitError, stderr: []string{`no service "submission/inet"`}},
		{name: "bad --format", dir: func(t *testing.T) string { return configDir(t, "", "") },
			args: []string{"--format", "yaml"}, code: ExitError, stderr: []string{"--format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// postconf pauses a second before a fatal exit.
			t.Parallel()
			dir := tt.dir(t)
			stdout, stderr, code := runConfig(t, "", append([]string{"-c", dir}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", code, tt.code, clip(stderr))
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, clip(stderr))
				}
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, clip(stdout))
				}
			}
			if len(stderr) > 64<<10 {
				t.Errorf("stderr of %d bytes", len(stderr))
			}
			if tt.compare && postconf != "" {
				cmd := exec.Command(postconf, append([]string{"-c", dir}, tt.args...)...)
				cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/bin"}
				err := cmd.Run()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("postconf: %v", err)
				}
				if (err != nil) != (code != ExitOK) {
					t.Errorf("postconf failed: %v, pfaudit exit %d", err, code)
				}
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}

// TestConfigDumps reads collected postconf output (the golden files of
// testdata/configs) from files and from standard input and prints it
// back as postconf did.
func TestConfigDumps(t *testing.T) {
	dirs, _ := filepath.Glob("../../../testdata/configs/*/postconf.n")
	if len(dirs) == 0 {
		t.Fatal("no testdata/configs/*/postconf.n")
	}
	for _, n := range dirs {
		dir := filepath.Dir(n)
		name := filepath.Base(dir)
		m, p := filepath.Join(dir, "postconf.M"), filepath.Join(dir, "postconf.P")
		t.Run(name, func(t *testing.T) {
			for _, tc := range []struct {
				args   []string
				stdin  string
				golden string
			}{
				{[]string{"--postconf-n", n, "--postconf-M", m, "-n"}, "", n},
				{[]string{"--postconf-n", "-", "--postconf-M", m, "-n"}, read(t, n), n},
				{[]string{"--postconf-n", n, "--postconf-M", m, "-M"}, "", m},
				{[]string{"--postconf-n", n, "--postconf-M", "-", "-M"}, read(t, m), m},
				{[]string{"--postconf-n", n, "--postconf-M", m, "-P"}, "", p},
				{[]string{"--postconf-M", m, "--postconf-P", "-", "-P"}, read(t, p), p},
			} {
				args := append([]string{"--defaults", "builtin", "-q"}, tc.args...)
				stdout, stderr, code := runConfig(t, tc.stdin, args...)
				if code != ExitOK {
					t.Fatalf("%q: exit %d: %s", args, code, stderr)
				}
				if got, want := fields(stdout), fields(read(t, tc.golden)); got != want {
					t.Errorf("%q:\n got %s\nwant %s", args, got, want)
				}
			}
			stdout, _, code := runConfig(t, "", "--defaults", "builtin", "-q", "--postconf-n", n, "-n", "--format", "json")
			var out struct {
				LineNumbers bool `json:"line_numbers"`
				Entries     []struct {
					Name string `json:"name"`
					Pos  struct {
						File string `json:"file"`
						Line int    `json:"line"`
					} `json:"pos"`
				} `json:"entries"`
			}
			if code != ExitOK || json.Unmarshal([]byte(stdout), &out) != nil || out.LineNumbers || len(out.Entries) == 0 {
				t.Fatalf("json: exit %d, %q", code, clip(stdout))
			}
			for _, e := range out.Entries {
				if e.Pos.Line != 0 || (e.Pos.File != "" && e.Pos.File != n) {
					t.Errorf("%s: position %+v invented for a dump", e.Name, e.Pos)
				}
			}
		})
	}
	// Dumps and a directory exclude each other; two dumps cannot both be
	// read from standard input.
	for _, args := range [][]string{
		{"-c", "/etc/postfix", "--postconf-n", dirs[0]},
		{"--postconf-n", "-", "--postconf-M", "-"},
		{"--postconf-n", filepath.Join(t.TempDir(), "missing")},
	} {
		if _, stderr, code := runConfig(t, "", args...); code != ExitError || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fields collapses runs of whitespace, per line.
func fields(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(out, "\n")
}

// TestConfigScripts runs the testscript files of testdata/config: small
// end-to-end sessions with `pfaudit config` run in-process.
func TestConfigScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "config"),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pfaudit": func(ts *testscript.TestScript, neg bool, args []string) {
				var out, errb bytes.Buffer
				code := Main(args, strings.NewReader(""), &out, &errb)
				_, _ = ts.Stdout().Write(out.Bytes())
				_, _ = ts.Stderr().Write(errb.Bytes())
				if code != ExitOK && !neg {
					ts.Fatalf("pfaudit %s: exit %d", strings.Join(args, " "), code)
				}
				if code == ExitOK && neg {
					ts.Fatalf("pfaudit %s: unexpected success", strings.Join(args, " "))
				}
				if neg && code != ExitError {
					ts.Fatalf("pfaudit %s: exit %d, want %d", strings.Join(args, " "), code, ExitError)
				}
			},
		},
	})
}
