package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFleetCommand checks the fleet command's flags and exit codes end to
// end on a small fleet of scenario configurations.
func TestFleetCommand(t *testing.T) {
	root := t.TempDir()
	copyCfg := func(scenario, host string) {
		t.Helper()
		for _, f := range []string{"main.cf", "master.cf"} {
			b, err := os.ReadFile(filepath.Join("../../../testdata/scenarios", scenario, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(root, host), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, host, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean := filepath.Join(root, "clean")
	copyCfg("clean-strict-mx", "clean/mx1")
	copyCfg("clean-strict-mx", "clean/mx2")
	copyCfg("mynetworks-everyone-v4", "open/relay")
	os.MkdirAll(filepath.Join(root, "bad", "nothing"), 0o755)
	copyCfg("clean-strict-mx", "bad/mx3")
	out := filepath.Join(root, "fleet.json")

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"clean fleet", []string{clean}, ExitOK},
		{"open relay", []string{clean, filepath.Join(root, "open")}, ExitFindings},
		{"open relay below --fail-on none", []string{"--fail-on", "none", filepath.Join(root, "open")}, ExitOK},
		{"unreadable host", []string{"--fail-on", "none", clean, filepath.Join(root, "bad")}, ExitError},
		{"json to a file", []string{"--format", "json", "--output", out, "-j", "1", clean, filepath.Join(root, "open")}, ExitFindings},
		{"no PATH", nil, ExitError},
		{"missing PATH", []string{filepath.Join(root, "missing")}, ExitError},
		{"bad --format", []string{"--format", "xml", clean}, ExitError},
		{"bad --fail-on", []string{"--fail-on", "loud", clean}, ExitError},
		{"bad --jobs", []string{"--jobs", "-1", clean}, ExitError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"fleet", "--defaults", "builtin"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout.String(), stderr.String())
			}
			if tc.code == ExitError && stdout.Len() == 0 && stderr.Len() == 0 {
				t.Error("exit 2 with nothing said")
			}
		})
	}
	var f struct {
		Hosts []struct {
			Host   string `json:"host"`
			Status string `json:"status"`
		} `json:"hosts"`
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &f); err != nil || len(f.Hosts) != 3 {
		t.Fatalf("--output: %v, %d hosts\n%s", err, len(f.Hosts), b)
	}
	if left, _ := filepath.Glob(filepath.Join(root, ".pfaudit-fleet-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
