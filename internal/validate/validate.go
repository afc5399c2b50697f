// Package validate checks, in tests, pfaudit's machine-readable output
// with external validators: JSON documents against the published JSON
// Schemas (schema/, with Debian's python3-jsonschema) and SARIF logs with
// Microsoft's SARIF validator (npm @microsoft/sarif-multitool, the GitHub
// ingestion rule set). A missing validator skips the test with the reason,
// and fails it under CI=true, where .ci/run installs both.
package validate

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/schema"
)

// missing skips t (fails it under CI=true) for a missing validator.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed (.ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

const jsonschemaScript = `
import json, sys
from jsonschema import Draft202012Validator, FormatChecker
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema, format_checker=FormatChecker())
bad = 0
for p in sys.argv[2:]:
    doc = json.load(open(p))
    for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        print("%s: /%s: %s" % (p, "/".join(str(x) for x in e.absolute_path), e.message))
        bad += 1
sys.exit(1 if bad else 0)
`

// python finds a python3 that can import jsonschema: Debian's first.
func python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import jsonschema").Run() == nil {
			return p
		}
	}
	missing(t, "python3 with the jsonschema module (Debian: python3-jsonschema)")
	return ""
}

// JSON validates every document of docs (name -> content) against
// schema/NAME.schema.json.
func JSON(t testing.TB, name string, docs map[string][]byte) {
	t.Helper()
	if len(docs) == 0 {
		t.Fatal("validate.JSON: no documents")
	}
	py := python(t)
	sch, err := schema.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sp := filepath.Join(dir, name+".schema.json")
	if err := os.WriteFile(sp, sch, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-c", jsonschemaScript, sp}
	for _, k := range sortedKeys(docs) {
		p := filepath.Join(dir, safeName(k)+".json")
		if err := os.WriteFile(p, docs[k], 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Errorf("%s schema: documents do not validate (%v):\n%s", name, err, strings.ReplaceAll(string(out), dir+"/", ""))
	}
}

// sarifTool finds Microsoft's SARIF multitool.
func sarifTool(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("sarif-multitool"); err == nil {
		return p
	}
	missing(t, "sarif-multitool (npm install -g @microsoft/sarif-multitool)")
	return ""
}

// SARIF validates every log of docs with the SARIF multitool, twice: the
// GitHub ingestion rules (--rule-kind Gh), where any error or warning
// fails, and the SARIF specification rules, where errors fail.
func SARIF(t testing.TB, docs map[string][]byte) {
	t.Helper()
	if len(docs) == 0 {
		t.Fatal("validate.SARIF: no documents")
	}
	tool := sarifTool(t)
	dir := t.TempDir()
	var ins []string
	for _, k := range sortedKeys(docs) {
		in := filepath.Join(dir, safeName(k)+".sarif")
		if err := os.WriteFile(in, docs[k], 0o644); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	// One run per rule set over every log: the validator is a large .NET
	// program whose start-up dominates.
	for _, kind := range []string{"Gh", ""} {
		out := filepath.Join(dir, "validation"+kind+".out")
		args := append([]string{"validate"}, ins...)
		args = append(args, "--output", out, "--log", "ForceOverwrite")
		if kind != "" {
			args = append(args, "--rule-kind", kind)
		}
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		// .NET needs ICU unless told to run culture-invariant, which is
		// all a validator needs: no dependency on the machine's libicu.
		cmd.Env = append(os.Environ(), "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sarif-multitool validate: %v\n%s", err, b)
			continue
		}
		problems, err := readValidation(out, kind == "Gh")
		if err != nil {
			t.Error(err)
			continue
		}
		for _, p := range problems {
			t.Errorf("SARIF validator (%s rules): %s", map[string]string{"Gh": "GitHub", "": "SARIF"}[kind], strings.ReplaceAll(p, dir+"/", ""))
		}
	}
}

// readValidation reads the validator's own SARIF log: its results are the
// problems found (errors, and warnings when strict).
func readValidation(path string, strict bool) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no validation log: %w", err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Message struct {
					Text      string   `json:"text"`
					ID        string   `json:"id"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
			} `json:"results"`
			Tool struct {
				Driver struct {
					Rules []struct {
						ID             string `json:"id"`
						MessageStrings map[string]struct {
							Text string `json:"text"`
						} `json:"messageStrings"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Invocations []struct {
				ToolExecutionNotifications []struct {
					Level   string `json:"level"`
					Message struct {
						Text string `json:"text"`
					} `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		return nil, fmt.Errorf("validation log: %w", err)
	}
	var out []string
	for _, run := range log.Runs {
		// Results carry a message id and arguments; the text is the
		// rule's message string with {0}, {1}... filled in.
		texts := map[string]string{}
		for _, ru := range run.Tool.Driver.Rules {
			for id, m := range ru.MessageStrings {
				texts[ru.ID+"/"+id] = m.Text
			}
		}
		for _, r := range run.Results {
			if r.Message.Text == "" {
				if tmpl, ok := texts[r.RuleID+"/"+r.Message.ID]; ok {
					for i, a := range r.Message.Arguments {
						tmpl = strings.ReplaceAll(tmpl, fmt.Sprintf("{%d}", i), a)
					}
					r.Message.Text, r.Message.Arguments = tmpl, nil
				}
			}
			if r.Level == "error" || (strict && r.Level == "warning") {
				where := ""
				if len(r.Locations) > 0 {
					pl := r.Locations[0].PhysicalLocation
					where = fmt.Sprintf("%s:%d: ", strings.TrimPrefix(pl.ArtifactLocation.URI, "file://"), pl.Region.StartLine)
				}
				out = append(out, fmt.Sprintf("%s%s %s %s %s", where, r.Level, r.RuleID, r.Message.Text, strings.Join(r.Message.Arguments, "; ")))
			}
		}
		for _, inv := range run.Invocations {
			for _, n := range inv.ToolExecutionNotifications {
				if n.Level == "error" {
					out = append(out, "tool error: "+n.Message.Text)
				}
			}
		}
	}
	return out, nil
}

func sortedKeys(m map[string][]byte) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// safeName makes a document name a file name (the multitool's npm
// wrapper runs it through a shell, so no spaces or metacharacters).
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
