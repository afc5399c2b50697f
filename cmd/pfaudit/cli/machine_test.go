package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/internal/validate"
)

// machineOutputs runs every JSON- and SARIF-producing command on every
// bundled configuration and returns the documents per schema ("sarif"
// for SARIF logs).
func machineOutputs(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "testdata", "configs", "*", "main.cf"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no bundled configurations (%v)", err)
	}
	docs := map[string]map[string][]byte{"audit": {}, "config": {}, "rules": {}, "sarif": {}}
	run := func(schema, name string, args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := Main(args, strings.NewReader(""), &out, &errb)
		if code == ExitError {
			t.Fatalf("pfaudit %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		docs[schema][name] = out.Bytes()
	}
	for _, m := range dirs {
		dir := filepath.Dir(m)
		name := filepath.Base(dir)
		run("audit", name, "audit", "--no-probe", "--defaults", "builtin", "-c", dir, "--format", "json")
		run("sarif", name, "audit", "--no-probe", "--defaults", "builtin", "-c", dir, "--format", "sarif", "--sarif-root", root)
		run("sarif", name+"-default-root", "audit", "--no-probe", "--defaults", "builtin", "-c", dir, "--format", "sarif", "--fail-on", "none")
		run("config", name, "config", "--defaults", "builtin", "-c", dir, "--format", "json", "-q")
		run("config", name+"-n", "config", "--defaults", "builtin", "-c", dir, "-n", "--format", "json", "-q")
		run("config", name+"-P", "config", "--defaults", "builtin", "-c", dir, "-P", "--format", "json", "-q")
		run("config", name+"-M", "config", "--defaults", "builtin", "-c", dir, "-M", "--format", "json", "-q")
	}
	run("rules", "list", "rules", "--format", "json")
	run("rules", "explain", "rules", "explain", "PFA-RELAY-001", "--format", "json")
	return docs
}

// TestMachineReadableOutput validates what the commands print for every
// bundled configuration: JSON against schema/, SARIF with Microsoft's
// validator and GitHub's ingestion rules; no SARIF message names a path
// of this checkout.
func TestMachineReadableOutput(t *testing.T) {
	docs := machineOutputs(t)
	root, _ := filepath.Abs(filepath.Join("..", "..", ".."))
	for name, d := range docs["sarif"] {
		var log struct {
			Runs []struct {
				Results []struct {
					Message struct {
						Text string `json:"text"`
					} `json:"message"`
				} `json:"results"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(d, &log); err != nil || len(log.Runs) != 1 {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range log.Runs[0].Results {
			if strings.Contains(r.Message.Text, root) {
				t.Errorf("%s: SARIF message names the checkout path: %q", name, r.Message.Text)
			}
		}
	}
	for _, s := range []string{"audit", "config", "rules"} {
		t.Run(s, func(t *testing.T) { validate.JSON(t, s, docs[s]) })
	}
	t.Run("sarif", func(t *testing.T) { validate.SARIF(t, docs["sarif"]) })
}

func TestMain(m *testing.M) {
	// Reports say when they were made; tests want them reproducible.
	os.Setenv("SOURCE_DATE_EPOCH", "1796497800")
	os.Exit(m.Run())
}
