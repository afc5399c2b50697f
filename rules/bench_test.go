package rules_test

import (
	"path/filepath"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/rules"
)

// BenchmarkRun measures the rule set alone on realistic configurations
// (the relay analysis is computed once, outside the loop).
func BenchmarkRun(b *testing.B) {
	for _, name := range []string{"mx-dovecot", "legacy-2.9", "docker-wide", "postscreen"} {
		b.Run(name, func(b *testing.B) {
			cfg, err := postconf.LoadDir(filepath.Join("..", "testdata", "configs", name), defaults.Builtin(), "built-in")
			if err != nil {
				b.Fatal(err)
			}
			as := relay.Analyze(cfg, relay.Options{})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rules.Run(&rules.Context{Cfg: cfg, Analyses: as})
			}
		})
	}
}
