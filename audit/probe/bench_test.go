package probe

import (
	"context"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// benchProbe runs the whole catalogue b.N times against one instance.
func benchProbe(b *testing.B, opt lab.Options, vantage, want string) {
	in := lab.Start(b, opt)
	run := func() VantageReport {
		rep, err := Run(context.Background(), Options{Targets: []string{in.Addr()}, Vantage: vantage, Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		return rep.Targets[0].Vantages[0]
	}
	if v := run(); v.Verdict != want { // warm-up: smtpd processes started
		b.Fatalf("verdict %s, want %s", v.Verdict, want)
	}
	b.ResetTimer()
	sessions := 0
	for b.Loop() {
		v := run()
		if v.Verdict != want {
			b.Fatalf("verdict %s, want %s", v.Verdict, want)
		}
		sessions += v.Sessions
	}
	b.ReportMetric(float64(sessions)/float64(b.N), "sessions/op")
	b.ReportMetric(float64(len(Catalogue(Params{}))), "attempts/op")
}

// BenchmarkCatalogueClosed: the complete catalogue against a closed local
// Postfix (reject_unauth_destination, no postscreen), as an untrusted
// client via XCLIENT. Target: well under a second per op.
func BenchmarkCatalogueClosed(b *testing.B) {
	benchProbe(b, lab.Strict(), VantageXClient, VerdictClosed)
}

// BenchmarkCatalogueTarpit: the same against Postfix's default error
// limits and error sleep; session planning keeps it as fast.
func BenchmarkCatalogueTarpit(b *testing.B) {
	benchProbe(b, lab.Tarpit(), VantageXClient, VerdictClosed)
}

// BenchmarkCatalogueTrustNoneTarpit: a closed server with the default
// tarpit that does not trust loopback either (the instance nmap is
// compared on by scripts/bench-nmap.sh), probed from loopback.
func BenchmarkCatalogueTrustNoneTarpit(b *testing.B) {
	benchProbe(b, closedTarpit(), VantageLoopback, VerdictClosed)
}

// closedTarpit refuses relay to every client, loopback included, with
// Postfix's default error limits: what nmap, which cannot impersonate an
// outsider, needs to see a closed server.
func closedTarpit() lab.Options {
	o := lab.TrustNone()
	o.Label = "closed-tarpit"
	o.Tarpit = true
	o.Main = append(o.Main, "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination")
	return o
}
