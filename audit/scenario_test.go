package audit_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/rules"
)

var update = flag.Bool("update", false, "rewrite the golden audit reports under testdata/scenarios")

type scenarioProblems struct {
	Problem []struct {
		Parameter string `toml:"parameter"`
		Service   string `toml:"service"`
		Severity  string `toml:"severity"`
		Summary   string `toml:"summary"`
	} `toml:"problem"`
}

// TestScenarioAudits audits every scenario under testdata/scenarios with
// the built-in defaults and no probe, and checks (1) that every problem the
// scenario's expect.toml names is reported for the same parameter (and
// service) at a severity no more than one step lower, and (2) the whole
// report against the golden audit.golden.md (refresh with -update).
func TestScenarioAudits(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*", "expect.toml"))
	if len(dirs) < 25 {
		t.Fatalf("%d scenarios, want at least 25", len(dirs))
	}
	root, _ := filepath.Abs(filepath.Join("..", "testdata", "scenarios"))
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var exp scenarioProblems
			if _, err := toml.DecodeFile(f, &exp); err != nil {
				t.Fatal(err)
			}
			cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
			if err != nil {
				t.Fatal(err)
			}
			rep, _ := audit.Run(context.Background(), cfg, audit.Options{})
			for _, p := range exp.Problem {
				want, err := rules.ParseSeverity(p.Severity)
				if err != nil {
					t.Fatalf("expect.toml: %v", err)
				}
				found := false
				for _, fd := range rep.Findings {
					if covers(fd, p.Parameter, p.Service) && fd.Severity+1 >= want {
						found = true
						break
					}
				}
				if !found {
					var got []string
					for _, fd := range rep.Findings {
						got = append(got, fd.ID+" "+fd.Severity.String()+" "+fd.Service+" "+fd.Parameter)
					}
					t.Errorf("expected problem not reported: %s %s %s: %s\n  findings: %s", p.Severity, p.Service, p.Parameter, p.Summary, strings.Join(got, "; "))
				}
			}
			var buf bytes.Buffer
			if err := render.Markdown(&buf, rep, render.Options{BaseDir: dir}); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(buf.String(), root, "testdata/scenarios")
			golden := filepath.Join(dir, "audit.golden.md")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./audit -run TestScenarioAudits -update)", err)
			}
			if got != string(want) {
				t.Errorf("audit report differs from %s (run with -update after checking the change):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// covers reports whether finding f reports the problem an expect.toml
// names for parameter in service. The verdict rules (PFA-RELAY-001..004)
// speak for a whole listener; the two RCPT lists are one guard; a
// master.cf-level problem is reported without a parameter; a problem on
// the smtpd pass service behind postscreen is reported on the postscreen
// listener.
func covers(f rules.Finding, parameter, service string) bool {
	svcOK := service == "" || f.Service == "" || f.Service == service || strings.HasSuffix(service, "/pass")
	if !svcOK {
		return false
	}
	switch {
	case f.Parameter == parameter:
		return true
	case service != "" && f.Service == service && strings.HasPrefix(f.ID, "PFA-RELAY-00") && f.ID <= "PFA-RELAY-004":
		return true
	case isRCPTList(f.Parameter) && isRCPTList(parameter):
		return true
	case parameter == "master.cf" && f.Parameter == "":
		return true
	}
	return false
}

func isRCPTList(p string) bool {
	return p == "smtpd_relay_restrictions" || p == "smtpd_recipient_restrictions"
}

// lineDiff shows the first differing lines.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n- " + x + "\n+ " + y
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
