package probe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// Lab tests for the verdicts of issue 7: a test domain the server hosts,
// Debian's stock configuration, XCLIENT offered to everyone, a PROXY
// protocol listener, a listener without a working relay guard, and
// reject_unknown_recipient_domain in front of an open guard.

// labPort returns a free loopback port for an extra master.cf listener the
// lab does not wait for (one that never greets a plain client).
func labPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

const openRelay = "check_client_access,static:OK,reject_unauth_destination"

func logAttempts(t *testing.T, v VantageReport) {
	t.Helper()
	for _, list := range [][]AttemptResult{v.DomainChecks, v.Attempts, v.Impersonation} {
		for _, a := range list {
			t.Logf("  %s %s %s: %d %s %s (%s)", a.Variant, a.MailFrom, a.RcptTo, a.Code, a.EnhancedCode, a.Outcome, firstLine(a.Text))
		}
	}
	t.Logf("  verdict %s %s: %s; test domain %s (%s)", v.Verdict, v.Qualifier, v.Reason, v.TestDomain, v.TestDomainNote)
}

// TestPostfixHostedTestDomain: mydestination holds example.net and
// local_recipient_maps is Postfix's default, so a RCPT to
// relaytest@example.net gets "550 5.1.1 User unknown in local recipient
// table" whatever the relay policy. The open relay must still be open,
// the closed server closed, a hosted catch-all (local_recipient_maps
// empty) must not look open, and --test-domain example.net is kept with a
// warning.
func TestPostfixHostedTestDomain(t *testing.T) {
	opt := lab.Strict()
	opt.Label = "hosted"
	opt.Main = append(opt.Main, "mydestination = $myhostname, example.net, localhost")
	opt.Listeners = []lab.Listener{
		{Name: "open", Args: []string{"-o smtpd_relay_restrictions=" + openRelay}},
		{Name: "catchall", Args: []string{"-o local_recipient_maps="}},
	}
	in := lab.Start(t, opt)
	tests := []struct {
		listener string
		fixed    bool
		verdict  string
		domain   string
	}{
		{"smtp", false, VerdictClosed, "example.com"},
		{"open", false, VerdictOpen, "example.com"},
		{"catchall", false, VerdictClosed, "example.com"},
		{"open", true, "", "example.net"},
	}
	for _, tc := range tests {
		tr := probeLab(t, in.ListenerAddr(tc.listener), VantageXClient, func(o *Options) { o.TestDomainFixed = tc.fixed })
		v := tr.Vantages[0]
		switch {
		case tc.fixed:
			if v.Verdict == VerdictClosed || len(v.Warnings) == 0 || !strings.Contains(v.Warnings[0], "hosts the test domain example.net") {
				t.Errorf("%s --test-domain example.net: verdict %s warnings %q, want a warning and no closed verdict", tc.listener, v.Verdict, v.Warnings)
				logAttempts(t, v)
			}
		case v.Verdict != tc.verdict || v.TestDomain != tc.domain:
			t.Errorf("%s: verdict %s with test domain %s, want %s with %s", tc.listener, v.Verdict, v.TestDomain, tc.verdict, tc.domain)
			logAttempts(t, v)
		}
		if !tc.fixed && (len(v.DomainChecks) == 0 || v.DomainChecks[0].RcptTo[len(v.DomainChecks[0].RcptTo)-len("example.net>"):] != "example.net>") {
			t.Errorf("%s: the first control RCPT did not ask about example.net: %+v", tc.listener, v.DomainChecks)
		}
		if tc.listener == "catchall" && !strings.Contains(v.TestDomainNote, "catch-all") {
			t.Errorf("catchall: note %q does not say why example.net was left", v.TestDomainNote)
		}
	}
	checkNothingSent(t, in)
}

// debianStock is Debian 12's main.cf as dpkg-reconfigure writes it for
// "Internet Site" (mail name example.net), minus what the lab must own
// (paths, myhostname, inet_interfaces, alias_maps: no aliases database,
// the discard transports); compatibility_level 3.6 supplies the rest.
func debianStock() lab.Options {
	return lab.Options{Label: "debian", XCLIENT: true, Main: []string{
		"smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)",
		"biff = no",
		"append_dot_mydomain = no",
		"readme_directory = no",
		"compatibility_level = 3.6",
		"smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem",
		"smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key",
		"smtpd_tls_security_level = may",
		"smtp_tls_CApath = /etc/ssl/certs",
		"smtp_tls_security_level = may",
		"smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination",
		"mydestination = $myhostname, example.net, localhost.example.net, , localhost",
		"relayhost =",
		"mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
		"mailbox_size_limit = 0",
		"recipient_delimiter = +",
	}, Master: []string{"tlsmgr unix - - n 1000? 1 tlsmgr"}}
}

// TestPostfixDebianStock: the stock Debian/Ubuntu server is closed for an
// untrusted client ("closed (deferred)": defer_unauth_destination's 454
// 4.7.1), not unknown, and its own domain example.net is not used as the
// third party.
func TestPostfixDebianStock(t *testing.T) {
	in := lab.Start(t, debianStock())
	tr := probeLab(t, in.Addr(), "loopback,xclient", nil)
	got := verdicts(tr)
	if got[VantageLoopback] != VerdictOpen || got[VantageXClient] != VerdictClosed {
		t.Errorf("verdicts %v, want loopback open, xclient closed", got)
	}
	v := tr.Vantages[1]
	if v.Qualifier != QualifierDeferred || !strings.Contains(v.Reason, "454 4.7.1") || v.TestDomain == "example.net" {
		t.Errorf("xclient: qualifier %q reason %q test domain %s", v.Qualifier, v.Reason, v.TestDomain)
		logAttempts(t, v)
	}
	checkNothingSent(t, in)
}

// TestPostfixXCLIENTForEveryone: smtpd_authorized_xclient_hosts covers
// every address, so an untrusted client may claim 127.0.0.1 and relay. The
// xclient vantage sees XCLIENT still offered to 203.0.113.5, a remote
// client at 127.0.0.2 (not in mynetworks) sees it offered to itself: both
// must say open, with what was done.
func TestPostfixXCLIENTForEveryone(t *testing.T) {
	opt := lab.Strict()
	opt.Label = "xclient-all"
	opt.Main = append(opt.Main, "smtpd_authorized_xclient_hosts = 0.0.0.0/0", "mynetworks = 127.0.0.1/32")
	in := lab.Start(t, opt)
	from2 := func(o *Options) {
		o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			return d.DialContext(ctx, network, addr)
		}
	}
	for _, vantage := range []string{VantageXClient, VantageRemote} {
		tr := probeLab(t, in.Addr(), vantage, from2)
		v := tr.Vantages[0]
		if v.Verdict != VerdictOpen || len(v.Impersonation) == 0 || !strings.Contains(v.Reason, "XCLIENT ADDR=127.0.0.1") {
			t.Errorf("%s: verdict %s reason %q, want open through XCLIENT ADDR=127.0.0.1", vantage, v.Verdict, v.Reason)
			logAttempts(t, v)
		}
		// Without the impersonation the catalogue itself is refused.
		if verdictOf(v.Attempts) != VerdictClosed {
			t.Errorf("%s: catalogue verdict %s, want closed", vantage, verdictOf(v.Attempts))
		}
	}
	// The stock lab profile authorises 127.0.0.1 only: nothing to impersonate.
	in2 := lab.Start(t, lab.Strict())
	v := probeLab(t, in2.Addr(), VantageXClient, nil).Vantages[0]
	if v.Verdict != VerdictClosed || len(v.Impersonation) != 0 {
		t.Errorf("strict: verdict %s with %d impersonation attempts", v.Verdict, len(v.Impersonation))
	}
	checkNothingSent(t, in)
}

// TestPostfixProxyProtocol: a listener with smtpd_upstream_proxy_protocol
// = haproxy reads a PROXY header before it greets; the probe finds that
// out quickly and, claiming 127.0.0.1 in the header, relays: open for
// anyone who can connect.
func TestPostfixProxyProtocol(t *testing.T) {
	port := labPort(t)
	opt := lab.Strict()
	opt.Label = "proxy"
	opt.Master = []string{
		"{host}:" + port + " inet n - n - - smtpd",
		"  -o smtpd_upstream_proxy_protocol=haproxy",
	}
	in := lab.Start(t, opt)
	addr := "127.0.0.1:" + port
	start := time.Now()
	tr := probeLab(t, addr, "loopback,xclient", nil)
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("probe took %v", took)
	}
	lo, xc := tr.Vantages[0], tr.Vantages[1]
	if lo.Verdict != VerdictOpen || len(lo.Impersonation) != 0 {
		t.Errorf("loopback: verdict %s, %d impersonation attempts; want open (trusted) without impersonation", lo.Verdict, len(lo.Impersonation))
	}
	if xc.Verdict != VerdictOpen || verdictOf(xc.Attempts) != VerdictClosed || !strings.Contains(xc.Reason, "PROXY v1 header claiming 127.0.0.1") {
		t.Errorf("xclient: verdict %s (catalogue %s), reason %q; want open through the PROXY header", xc.Verdict, verdictOf(xc.Attempts), xc.Reason)
		logAttempts(t, xc)
	}
	for _, a := range append(append([]AttemptResult(nil), lo.Attempts...), xc.Attempts...) {
		if a.Outcome == OutcomeError {
			t.Errorf("%s: error %s", a.Variant, a.Text)
		}
	}
	checkNothingSent(t, in)
}

// TestPostfixBrokenListener: smtpd_relay_restrictions = permit leaves no
// working guard; smtpd exits at start-up ("fatal: ... specify at least
// one working instance of: reject_unauth_destination ...") and master
// throttles the service. The probe says broken within seconds, for every
// vantage.
func TestPostfixBrokenListener(t *testing.T) {
	port := labPort(t)
	opt := lab.Strict()
	opt.Label = "broken"
	opt.Master = []string{
		"{host}:" + port + " inet n - n - - smtpd",
		"  -o smtpd_relay_restrictions=permit",
	}
	in := lab.Start(t, opt)
	start := time.Now()
	tr := probeLab(t, "127.0.0.1:"+port, "loopback,xclient", nil)
	took := time.Since(start)
	for _, v := range tr.Vantages {
		if v.Verdict != VerdictBroken || !strings.Contains(v.Reason, "smtpd") {
			t.Errorf("%s: verdict %s reason %q, want broken", v.Vantage, v.Verdict, v.Reason)
		}
	}
	if took > silentWindow+4*time.Second {
		t.Errorf("two vantages took %v, want about %v", took, silentWindow)
	}
	if log := in.Maillog(); !strings.Contains(log, "specify at least one working instance") {
		t.Errorf("the maillog does not show smtpd's fatal error:\n%s", log)
	}
}

// TestPostfixUnknownRecipientDomain: reject_unknown_recipient_domain in
// front of the guard. The lab has no DNS, so the reserved test domains
// fail the lookup (450 4.1.2 Domain not found, as NXDOMAIN or a null MX
// would in the wild), before the guard, for every form of the address
// (the percent hack and source routes are rewritten first): an open relay
// must not look closed, and neither can a closed one, whose guard is
// never reached: both are unknown, with the reason.
func TestPostfixUnknownRecipientDomain(t *testing.T) {
	opt := lab.Strict()
	opt.Label = "rcptdomain"
	opt.Main = append(opt.Main, "smtpd_relay_restrictions = reject_unknown_recipient_domain, "+strings.ReplaceAll(openRelay, ",", ", "))
	opt.Listeners = []lab.Listener{{Name: "closed", Args: []string{"-o smtpd_relay_restrictions=reject_unknown_recipient_domain,reject_unauth_destination"}}}
	in := lab.Start(t, opt)
	v := probeLab(t, in.Addr(), VantageXClient, nil).Vantages[0]
	if v.Verdict == VerdictClosed {
		t.Errorf("open relay behind reject_unknown_recipient_domain: verdict closed (%s)", v.Reason)
		logAttempts(t, v)
	}
	n := 0
	for _, a := range v.Attempts {
		if a.Outcome == OutcomeInconclusive && a.EnhancedCode == "4.1.2" {
			n++
		}
	}
	if n == 0 {
		t.Errorf("no attempt was answered 450 4.1.2 (inconclusive)")
		logAttempts(t, v)
	}
	if v := probeLab(t, in.ListenerAddr("closed"), VantageXClient, nil).Vantages[0]; v.Verdict != VerdictUnknown || !strings.Contains(v.Reason, "test domain's DNS") {
		t.Errorf("closed server behind reject_unknown_recipient_domain: verdict %s (%s), want unknown for the DNS", v.Verdict, v.Reason)
		logAttempts(t, v)
	}
	checkNothingSent(t, in)
}

// TestPostfixSoftBounce: reject_unauth_destination under soft_bounce = yes
// answers 454 4.7.1 Relay access denied (soft_bounce turns 5xx into 4xx):
// the guard refusing, closed (deferred).
func TestPostfixSoftBounce(t *testing.T) {
	opt := lab.Strict()
	opt.Label = "soft-bounce"
	opt.Main = append(opt.Main, "soft_bounce = yes")
	in := lab.Start(t, opt)
	v := probeLab(t, in.Addr(), VantageXClient, nil).Vantages[0]
	if v.Verdict != VerdictClosed || v.Qualifier != QualifierDeferred {
		t.Errorf("verdict %s (%s): %s", v.Verdict, v.Qualifier, v.Reason)
		logAttempts(t, v)
	}
	for _, a := range v.Attempts {
		if a.Variant == "02" && (a.Code != 454 || a.Outcome != OutcomeRelayDeferred) {
			t.Errorf("row 02: %d %s %s", a.Code, a.Outcome, a.Text)
		}
	}
	checkNothingSent(t, in)
}

// TestPostfixLookupFailure: an access table that cannot be opened before
// the guard makes smtpd answer 451 4.3.x (a server-side failure) to every
// RCPT: inconclusive, never closed, with the reason.
func TestPostfixLookupFailure(t *testing.T) {
	opt := lab.Strict()
	opt.Label = "lookup-failure"
	opt.Main = append(opt.Main, "smtpd_relay_restrictions = check_recipient_access hash:{etc}/missing, permit_mynetworks, reject_unauth_destination")
	in := lab.Start(t, opt)
	v := probeLab(t, in.Addr(), VantageXClient, nil).Vantages[0]
	if v.Verdict != VerdictUnknown || !strings.Contains(v.Reason, " 4.3.") {
		t.Errorf("verdict %s: %s; want unknown with the 451 4.3.x reason", v.Verdict, v.Reason)
		logAttempts(t, v)
	}
}
