package relay_test

import (
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

type scenarioExpect struct {
	Description string `toml:"description"`
	Why         string `toml:"why"`
	GroundTruth string `toml:"ground_truth"`
	Listener    []struct {
		Service  string `toml:"service"`
		External string `toml:"external"`
		Loopback string `toml:"loopback"`
		Reason   string `toml:"reason"`
	} `toml:"listener"`
	Problem []map[string]any `toml:"problem"`
}

// TestScenarioVerdicts checks the model's verdict for every listener of
// every scenario under testdata/scenarios against the verdict observed on a
// real Postfix (recorded in each expect.toml).
func TestScenarioVerdicts(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/scenarios/*/expect.toml")
	if len(dirs) == 0 {
		t.Fatal("no scenarios found")
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var exp scenarioExpect
			if _, err := toml.DecodeFile(f, &exp); err != nil {
				t.Fatal(err)
			}
			cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*relay.Analysis{}
			for _, a := range relay.Analyze(cfg, relay.Options{Mynetworks: "127.0.0.0/8 [::1]/128"}) {
				got[a.Listener.Key] = a
			}
			for _, l := range exp.Listener {
				a, ok := got[l.Service]
				if !ok {
					t.Errorf("%s: listener not found (have %v)", l.Service, keys(got))
					continue
				}
				if string(a.Verdict) != l.External {
					t.Errorf("%s: external verdict %s, want %s\n  model: %s\n  expected because: %s", l.Service, a.Verdict, l.External, a.Reason, l.Reason)
				}
				if l.Loopback != "" && string(a.Local) != l.Loopback {
					t.Errorf("%s: loopback verdict %s, want %s", l.Service, a.Local, l.Loopback)
				}
			}
		})
	}
}

func keys(m map[string]*relay.Analysis) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
