package probe

import (
	"context"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/audit/netns"
)

// probeLab runs the probe against addr and returns the report's single
// target, failing the test on option errors.
func probeLab(t *testing.T, addr, vantage string, mod func(*Options)) TargetReport {
	t.Helper()
	opt := Options{Targets: []string{addr}, Vantage: vantage, Timeout: time.Minute}
	if mod != nil {
		mod(&opt)
	}
	rep, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Targets[0]
}

// checkNothingSent asserts the lab's proof plus the probe's own reading of
// the maillog: no data= or bdat= in any disconnect line, and every
// session ended with quit=.
func checkNothingSent(t *testing.T, in *lab.Instance) {
	t.Helper()
	log := settledLog(in)
	in.AssertNothingSent(t)
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "disconnect from") {
			continue
		}
		if strings.Contains(l, " data=") || strings.Contains(l, " bdat=") {
			t.Errorf("maillog: %s", l)
		}
	}
	if strings.Contains(log, "PREGREET") {
		t.Errorf("maillog shows a PREGREET violation: the probe talked before the final 220")
	}
}

// settledLog returns the maillog once every "connect from" has its
// "disconnect from" (or after 5 s).
func settledLog(in *lab.Instance) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := in.Maillog()
		if strings.Count(log, "]: connect from ") == strings.Count(log, "]: disconnect from ") || time.Now().After(deadline) {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func verdicts(tr TargetReport) map[string]string {
	m := map[string]string{}
	for _, v := range tr.Vantages {
		m[v.Vantage] = v.Verdict
	}
	return m
}

// TestPostfixProfiles asserts the verdict of each vantage against each lab
// profile, and that nothing was ever sent.
func TestPostfixProfiles(t *testing.T) {
	type expect map[string]string // vantage -> verdict
	tests := []struct {
		name string
		opt  lab.Options
		want map[string]expect // listener -> expectations
	}{
		{"defaults36", lab.Defaults36(), map[string]expect{"smtp": {VantageLoopback: VerdictOpen, VantageXClient: VerdictClosed}}},
		{"strict", lab.Strict(), map[string]expect{"smtp": {VantageLoopback: VerdictOpen, VantageXClient: VerdictClosed}}},
		{"open", lab.Open(), map[string]expect{"smtp": {VantageLoopback: VerdictOpen, VantageXClient: VerdictOpen}}},
		{"mynetworks-all", lab.MynetworksAll(), map[string]expect{"smtp": {VantageLoopback: VerdictOpen, VantageXClient: VerdictOpen}}},
		{"trust-none", lab.TrustNone(), map[string]expect{"smtp": {VantageLoopback: VerdictClosed, VantageXClient: VerdictClosed}}},
		{"submission-open", lab.SubmissionOpen(), map[string]expect{
			"smtp":       {VantageLoopback: VerdictOpen, VantageXClient: VerdictClosed},
			"submission": {VantageLoopback: VerdictOpen, VantageXClient: VerdictOpen},
		}},
		{"postscreen", lab.Postscreen(), map[string]expect{"smtp": {VantageLoopback: VerdictOpen, VantageXClient: VerdictClosed}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each instance has its own ports and name
			in := lab.Start(t, tc.opt)
			for listener, want := range tc.want {
				tr := probeLab(t, in.ListenerAddr(listener), "loopback,xclient,auto", nil)
				got := verdicts(tr)
				for v, w := range want {
					if got[v] != w {
						t.Errorf("%s %s: verdict %s, want %s", listener, v, got[v], w)
					}
				}
				// auto picks xclient (every lab profile authorises it)
				// and agrees with it.
				auto := tr.Vantages[2]
				if auto.Vantage != VantageXClient || auto.Verdict != want[VantageXClient] || !strings.HasPrefix(auto.Note, "auto chose xclient") {
					t.Errorf("%s auto: %s %s %q", listener, auto.Vantage, auto.Verdict, auto.Note)
				}
				// Real Postfix shows the claim took effect: with
				// smtpd_authorized_xclient_hosts = 127.0.0.1, XCLIENT is
				// no longer offered to the claimed 203.0.113.5.
				if xv := tr.Vantages[1]; xv.Verdict == VerdictOpen && !strings.Contains(xv.Note, "the claim took effect: XCLIENT was no longer offered") {
					t.Errorf("%s xclient: open without the claim shown to take effect: %q", listener, xv.Note)
				}
				if tr.Host != in.Hostname() {
					t.Errorf("host %q, want the instance's myhostname %q", tr.Host, in.Hostname())
				}
				for _, v := range tr.Vantages {
					if len(v.Attempts) != len(Catalogue(Params{})) {
						t.Errorf("%s %s: %d attempts", listener, v.Vantage, len(v.Attempts))
					}
					for _, a := range v.Attempts {
						if a.Outcome == OutcomeError {
							t.Errorf("%s %s %s: error %s", listener, v.Vantage, a.Variant, a.Text)
						}
					}
				}
				if tc.name == "defaults36" {
					// defer_unauth_destination: 454 4.7.1, the relay guard
					// deferring: closed (deferred).
					for _, a := range tr.Vantages[1].Attempts {
						if a.Class != ClassLocal && (a.Code != 454 || a.EnhancedCode != "4.7.1" || a.Outcome != OutcomeRelayDeferred) {
							t.Errorf("xclient %s: %d %s %s, want 454 4.7.1 relay-deferred", a.Variant, a.Code, a.EnhancedCode, a.Outcome)
						}
					}
					if q := tr.Vantages[1].Qualifier; q != QualifierDeferred {
						t.Errorf("xclient qualifier %q, want deferred", q)
					}
				}
			}
			checkNothingSent(t, in)
		})
	}
}

// TestPostfixIPv6 probes the [::1] twin listener: IP literals take the
// IPv6: form and the verdicts match the IPv4 listener's.
func TestPostfixIPv6(t *testing.T) {
	opt := lab.Strict()
	opt.IPv6 = true
	in := lab.Start(t, opt)
	addr := in.ListenerAddr("smtp6")
	if ap, err := netip.ParseAddrPort(addr); err != nil || !ap.Addr().Is6() {
		t.Fatalf("smtp6 listener %q is not IPv6", addr)
	}
	tr := probeLab(t, addr, "loopback,xclient", nil)
	got := verdicts(tr)
	if got[VantageLoopback] != VerdictOpen || got[VantageXClient] != VerdictClosed {
		t.Errorf("verdicts %v", got)
	}
	found := false
	for _, a := range tr.Vantages[1].Attempts {
		if a.Variant == "07" {
			found = a.MailFrom == "<probe@[IPv6:::1]>" && a.Outcome == OutcomeRefused
		}
	}
	if !found {
		t.Errorf("row 07 did not use the IPv6 literal or was not refused")
	}
	checkNothingSent(t, in)
}

var disconnectRE = regexp.MustCompile(`disconnect from \S+ .*?rcpt=(\d+)/(\d+)`)

// TestPostfixTarpit: against Postfix's default error limits the session
// plan keeps every session below smtpd_soft_error_limit, so no reply is
// delayed and smtpd never says 421.
func TestPostfixTarpit(t *testing.T) {
	in := lab.Start(t, lab.Tarpit())
	tr := probeLab(t, in.Addr(), VantageXClient, nil)
	v := tr.Vantages[0]
	if v.Verdict != VerdictClosed {
		t.Fatalf("verdict %s", v.Verdict)
	}
	// postlogd writes asynchronously: wait for every session's disconnect.
	log := settledLog(in)
	if strings.Contains(log, "too many errors") || strings.Contains(log, " 421 ") {
		t.Errorf("smtpd hit its hard error limit")
	}
	sessions := 0
	for _, m := range disconnectRE.FindAllStringSubmatch(log, -1) {
		total, _ := strconv.Atoi(m[2])
		ok, _ := strconv.Atoi(m[1])
		if total-ok >= 10 {
			t.Errorf("a session made %d refused RCPTs, reaching smtpd_soft_error_limit (10)", total-ok)
		}
		sessions++
	}
	if sessions != v.Sessions {
		t.Errorf("maillog shows %d sessions with RCPTs, the report %d", sessions, v.Sessions)
	}
	checkNothingSent(t, in)
}

// TestPostfixNetns: Postfix with mynetworks_style = subnet inside a lab
// namespace pair on a /24. The lab's client namespace is on that subnet and
// trusted (open); the probe's own namespace, attached to the server's
// namespace with a point-to-point pair, is not.
func TestPostfixNetns(t *testing.T) {
	lab.RequireNetns(t)
	pair := lab.NewNetns(t, lab.NetnsOptions{})
	opt := lab.Subnet()
	opt.Netns = pair
	opt.Main = append(opt.Main, "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination")
	in := lab.Start(t, opt)
	addr := in.Addr()

	fromPair := func(o *Options) {
		o.Dial = func(ctx context.Context, network, a string) (net.Conn, error) {
			return lab.DialFrom(pair.Client, network, a, 5*time.Second)
		}
	}
	tr := probeLab(t, addr, VantageRemote, fromPair)
	if v := tr.Vantages[0]; v.Verdict != VerdictOpen || v.Client != pair.ClientAddr.String() {
		t.Errorf("same-subnet client: verdict %s client %s, want open from %s", v.Verdict, v.Client, pair.ClientAddr)
	}

	tr = probeLab(t, addr, VantageNetns, func(o *Options) { o.Netns.Parent = pair.Server })
	v := tr.Vantages[0]
	if v.Verdict != VerdictClosed {
		t.Errorf("netns vantage: verdict %s (%s), want closed", v.Verdict, v.Note)
		for _, a := range v.Attempts {
			t.Logf("%s %s %d %s", a.Variant, a.Outcome, a.Code, a.Text)
		}
	}
	peer, err := netip.ParseAddr(v.Client)
	if err != nil || !netns.DefaultPrefix4.Contains(peer) {
		t.Errorf("netns client %q, want an address from %s", v.Client, netns.DefaultPrefix4)
	}

	// A loopback target is reached through the host end of the probe's
	// pair (here inside the lab's server namespace); this Postfix listens
	// on its veth address only, so an outsider cannot reach it there and
	// the report says so.
	tr = probeLab(t, "127.0.0.1:25", VantageNetns, func(o *Options) { o.Netns.Parent = pair.Server })
	v = tr.Vantages[0]
	if v.Verdict != VerdictError || !strings.Contains(v.Note, "outside clients cannot reach it") {
		t.Errorf("loopback-only: verdict %s note %q", v.Verdict, v.Note)
	}
	checkNothingSent(t, in)
}
