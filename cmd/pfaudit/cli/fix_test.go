package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenarioCopy copies a scenario's main.cf and master.cf into a
// temporary directory that a test may let pfaudit fix edit.
func scenarioCopy(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join("../../../testdata/scenarios", name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFixCommand checks the flag handling and exit codes of `pfaudit fix`
// without --apply reaching a Postfix (the lab tests of package audit/fix
// apply for real).
func TestFixCommand(t *testing.T) {
	open := scenarioCopy(t, "mynetworks-everyone-v4")
	orig, _ := os.ReadFile(filepath.Join(open, "main.cf"))
	backups := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in standard output (or error, for exit 2)
	}{
		{"plan of an open relay", []string{"-c", open}, ExitFindings, "+mynetworks = "},
		{"plan as JSON", []string{"-c", open, "--format", "json"}, ExitFindings, `"outcome": "planned"`},
		{"nothing to roll back", []string{"-c", open, "--rollback"}, ExitError, "no applied fix"},
		{"no backups", []string{"-c", open, "--list-backups"}, ExitOK, "No backups of"},
		{"apply needs --yes off a terminal", []string{"-c", open, "--apply"}, ExitError, "add --yes"},
		{"modes exclude each other", []string{"-c", open, "--apply", "--rollback"}, ExitError, "exclude each other"},
		{"--id needs --rollback", []string{"-c", open, "--id", "x"}, ExitError, "--id goes with --rollback"},
		{"unknown rule", []string{"-c", open, "--only", "PFA-RELAY-05"}, ExitError, "unknown rule"},
		{"bad format", []string{"-c", open, "--format", "sarif"}, ExitError, "--format"},
		{"dumps refused", []string{"--postconf-n", "/dev/null"}, ExitError, "not postconf dumps"},
		{"missing directory", []string{"-c", "/nonexistent/pfaudit"}, ExitError, "/nonexistent/pfaudit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"fix", "--defaults", "builtin", "--backup-dir", backups}, tc.args...)
			code := Main(args, strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			where := out.String()
			if code == ExitError {
				where = errb.String()
			}
			if !strings.Contains(where, tc.out) {
				t.Errorf("output lacks %q:\nstdout: %s\nstderr: %s", tc.out, out.String(), errb.String())
			}
			if strings.Contains(tc.name, "JSON") {
				var m map[string]any
				if err := json.Unmarshal(out.Bytes(), &m); err != nil {
					t.Errorf("bad JSON: %v", err)
				}
			}
		})
	}
	if now, _ := os.ReadFile(filepath.Join(open, "main.cf")); !bytes.Equal(now, orig) {
		t.Error("a command without --apply changed main.cf")
	}
}
