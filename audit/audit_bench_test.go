package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// BenchmarkAuditTypical is the in-process cost of `pfaudit audit
// --no-probe` on a typical configuration directory (reading, relay model
// for every listener, every rule), with the built-in defaults so that
// postconf -d's own run is not counted.
func BenchmarkAuditTypical(b *testing.B) {
	d := defaults.Builtin()
	for _, name := range []string{"debian-stock", "mx-dovecot", "tables"} {
		dir := filepath.Join("..", "testdata", "configs", name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				cfg, err := postconf.LoadDir(dir, d, "built-in")
				if err != nil {
					b.Fatal(err)
				}
				rep, _ := audit.Run(context.Background(), cfg, audit.Options{})
				if len(rep.Listeners) == 0 {
					b.Fatal("no listeners")
				}
			}
		})
	}
}

// BenchmarkAuditDumps audits 10,000 collected `postconf -n` + `postconf -M`
// dumps (variations of the bundled configurations' golden dumps) and
// reports dumps per second, the fleet-audit use case.
func BenchmarkAuditDumps(b *testing.B) {
	type dump struct{ n, m []byte }
	var base []dump
	ns, _ := filepath.Glob(filepath.Join("..", "testdata", "configs", "*", "postconf.n"))
	for _, nf := range ns {
		n, err := os.ReadFile(nf)
		if err != nil {
			b.Fatal(err)
		}
		m, err := os.ReadFile(filepath.Join(filepath.Dir(nf), "postconf.M"))
		if err != nil {
			b.Fatal(err)
		}
		base = append(base, dump{n, m})
	}
	if len(base) == 0 {
		b.Fatal("no golden dumps under testdata/configs")
	}
	const fleet = 10000
	dumps := make([]dump, fleet)
	for i := range dumps {
		d := base[i%len(base)]
		// Each host differs a little, as a fleet does.
		n := strings.Replace(string(d.n), "\nmyhostname = ", fmt.Sprintf("\nmyhostname = h%d.", i), 1)
		dumps[i] = dump{[]byte(n), d.m}
	}
	d := defaults.Builtin()
	for b.Loop() {
		for i, dp := range dumps {
			main, err := postconf.ParseNDump(fmt.Sprintf("host%d.n", i), dp.n)
			if err != nil {
				b.Fatal(err)
			}
			master, err := postconf.ParseMDump(fmt.Sprintf("host%d.M", i), dp.m)
			if err != nil {
				b.Fatal(err)
			}
			cfg := postconf.New(main, master, d, "built-in")
			audit.Run(context.Background(), cfg, audit.Options{})
		}
	}
	b.ReportMetric(float64(fleet*b.N)/b.Elapsed().Seconds(), "dumps/s")
}
