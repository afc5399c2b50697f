package rules

import (
	"slices"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
)

// proxied adds to the model's analyses the client the relay model gives a
// listener that takes the PROXY protocol (the lead's model change): an
// Internet client that claims 127.0.0.1, decided by the model for that
// address. Until the model has the class itself, tests build it here.
func proxied(keys ...string) func(cfg *postconf.Config) []*relay.Analysis {
	return func(cfg *postconf.Config) []*relay.Analysis {
		as := relay.Analyze(cfg, relay.Options{})
		for _, a := range as {
			if !slices.Contains(keys, a.Listener.Key) {
				continue
			}
			m := relay.NewModel(cfg, a.Listener.Service, relay.Options{})
			req := relay.Request{Client: relay.Client{Class: "internet-v4" + proxyClass, Addr: mustAddr("127.0.0.1"), Name: "localhost", HELO: "relaytest.example.org"},
				Sender: "relaytest@example.org", Recipient: "relaytest@example.net", Trick: "PROXY header claims 127.0.0.1"}
			cs := relay.Case{Request: req, Decision: m.Decide(req)}
			a.Cases = append(a.Cases, cs)
			if cs.Decision.Result == relay.Accept && a.Verdict != relay.Open {
				if a.Listener.LoopbackOnly {
					a.WouldBe = relay.Open
				} else {
					a.Verdict, a.Deciding, a.Reason = relay.Open, &cs, "an untrusted client (127.0.0.1 by its PROXY header) relays"
				}
			}
		}
		return as
	}
}

const proxyMain = verifiedMain + "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n"

var proxyCases = []ruleCase{
	{id: "PFA-RELAY-027", name: "haproxy on the public listener", fire: true, main: proxyMain,
		master:   "smtp inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n",
		analyses: proxied("smtp/inet"),
		want: &want{service: "smtp/inet", param: "smtpd_upstream_proxy_protocol", file: "master.cf", line: 2, severity: "critical",
			msg: []string{"PROXY TCP4 127.0.0.1", "bind the listener", "firewall", "breaks mail through the proxy"},
			fix: []string{"postconf -PX 'smtp/inet/smtpd_upstream_proxy_protocol'"}}},
	{id: "PFA-RELAY-027", name: "haproxy in main.cf", fire: true, main: proxyMain + "smtpd_upstream_proxy_protocol = haproxy\n",
		analyses: proxied("smtp/inet"),
		want:     &want{service: "smtp/inet", file: "main.cf", line: 7, fix: []string{"postconf -X smtpd_upstream_proxy_protocol"}}},
	{id: "PFA-RELAY-027", name: "behind postscreen", fire: true, main: proxyMain,
		master:   "smtp inet n - n - 1 postscreen\n  -o postscreen_upstream_proxy_protocol=haproxy\nsmtpd pass - - n - - smtpd\n",
		analyses: proxied("smtp/inet"),
		want:     &want{param: "postscreen_upstream_proxy_protocol", service: "smtp/inet", fix: []string{"postconf -PX 'smtp/inet/postscreen_upstream_proxy_protocol'"}}},
	{id: "PFA-RELAY-027", name: "loopback-only listener behind a local proxy", main: proxyMain,
		master:   "smtp inet n - y - - smtpd\n127.0.0.1:10025 inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n",
		analyses: proxied("127.0.0.1:10025/inet")},
	{id: "PFA-RELAY-027", name: "impersonation refused (nothing trusted)", main: verifiedMain + "mynetworks =\n",
		master:   "smtp inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n",
		analyses: proxied("smtp/inet")},
	{id: "PFA-RELAY-027", name: "no proxy class in the model", main: proxyMain,
		master: "smtp inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n"},

	// PFA-RELAY-001 through the proxy: the fix is the proxy's, not the
	// relay guard (which is already there and cannot stop a client that
	// smtpd sees as 127.0.0.1).
	{id: "PFA-RELAY-001", name: "open only through the PROXY header", fire: true, main: proxyMain,
		master:   "smtp inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n",
		analyses: proxied("smtp/inet"),
		want:     &want{service: "smtp/inet", severity: "critical", fix: []string{"postconf -PX 'smtp/inet/smtpd_upstream_proxy_protocol'"}}},
	{id: "PFA-RELAY-001", name: "open through the PROXY header and a HELO hole", fire: true,
		main:     verifiedMain + "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, check_helo_access inline:{localhost=OK}, reject_unauth_destination\n",
		master:   "smtp inet n - y - - smtpd\n  -o smtpd_upstream_proxy_protocol=haproxy\n",
		analyses: proxied("smtp/inet"),
		want: &want{service: "smtp/inet", fix: []string{
			"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, check_helo_access inline:{localhost=OK}'",
			"postconf -PX 'smtp/inet/smtpd_upstream_proxy_protocol'"}}},
}

func TestProxyRules(t *testing.T) { runCases(t, proxyCases) }

// TestProxyGuardAloneRefused: the relay guard is no fix for a relay open
// through the PROXY header; the verification says so.
func TestProxyGuardAloneRefused(t *testing.T) {
	rc := proxyCases[0]
	rc.main = verifiedMain + "mynetworks = 127.0.0.0/8\nsmtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination\n"
	c := rc.context(t)
	fs := checkOpenRelay(c)
	if len(fs) != 1 {
		t.Fatalf("want one open relay, got:\n%s", dumpFindings(fs))
	}
	f := fs[0]
	f.Remediation = c.relayFix(c.Analyses[0].Listener)
	if len(f.Remediation) == 0 {
		t.Fatal("no guard fix to try")
	}
	// The patched model is re-run with the proxy class too.
	v := &verifier{c: c}
	p := v.patch(f.Remediation)
	p.analyses = proxied("smtp/inet")(p.sim.cfg)
	if why := v.verifyFix(f, checkOpenRelay, fs); !strings.Contains(why, "does not remove the finding") {
		t.Errorf("guard alone: %q", why)
	}
	f.Remediation = c.relayFixFor(c.Analyses[0])
	if why := v.verifyFix(f, checkOpenRelay, fs); why != "" || !slices.Contains(f.Remediation, "postconf -PX 'smtp/inet/smtpd_upstream_proxy_protocol'") {
		t.Errorf("proxy fix %q: %q", f.Remediation, why)
	}
}
