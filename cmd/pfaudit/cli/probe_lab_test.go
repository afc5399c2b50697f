package cli

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// debianStockMain is Debian 12's main.cf as dpkg-reconfigure writes it for
// "Internet Site" with mail name example.net, minus what the lab owns
// (paths, myhostname, inet_interfaces, alias_maps, the discard
// transports); compatibility_level 3.6 defaults supply the rest.
var debianStockMain = []string{
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
}

type probeJSON struct {
	Targets []struct {
		Vantages []struct {
			Vantage        string   `json:"vantage"`
			Verdict        string   `json:"verdict"`
			Qualifier      string   `json:"qualifier"`
			Reason         string   `json:"reason"`
			TestDomain     string   `json:"test_domain"`
			TestDomainNote string   `json:"test_domain_note"`
			Warnings       []string `json:"warnings"`
		} `json:"vantages"`
	} `json:"targets"`
}

// TestProbeDebianStock: `pfaudit probe` against a stock Debian/Ubuntu
// server says closed (deferred) for the untrusted vantage and exits 0;
// with -c the test domain comes from the configuration (example.net is
// the server's own domain there), and a --test-domain the server hosts is
// kept with a warning.
func TestProbeDebianStock(t *testing.T) {
	in := lab.Start(t, lab.Options{Label: "debian-cli", XCLIENT: true, Main: debianStockMain,
		Master: []string{"tlsmgr unix - - n 1000? 1 tlsmgr"}})

	var out, errb bytes.Buffer
	code := Main([]string{"probe", "--target", in.Addr(), "--vantage", "loopback,auto", "--timeout", "60s"}, strings.NewReader(""), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "xclient: CLOSED (deferred)") || !strings.Contains(out.String(), "reason: ") {
		t.Fatalf("exit %d, want 0 with CLOSED (deferred) and its reason\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}

	run := func(args ...string) probeJSON {
		t.Helper()
		var out, errb bytes.Buffer
		code := Main(append([]string{"probe", "--format", "json", "--vantage", "xclient", "--timeout", "60s"}, args...), strings.NewReader(""), &out, &errb)
		var rep probeJSON
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || code != 0 || len(rep.Targets) != 1 || len(rep.Targets[0].Vantages) != 1 {
			t.Fatalf("exit %d, %v\nstdout: %s\nstderr: %s", code, err, out.String(), errb.String())
		}
		return rep
	}
	v := run("-c", in.ConfigDir()).Targets[0].Vantages[0]
	if v.Verdict != "closed" || v.Qualifier != "deferred" || v.TestDomain != "example.com" || !strings.Contains(v.TestDomainNote, "from the configuration") {
		t.Errorf("probe -c: %+v, want closed (deferred) with example.com from the configuration", v)
	}
	v = run("-c", in.ConfigDir(), "--target", in.Addr()).Targets[0].Vantages[0]
	if v.TestDomain != "example.com" || !strings.Contains(v.TestDomainNote, "from the configuration") {
		t.Errorf("probe -c --target: %+v, want example.com from the configuration", v)
	}
	v = run("--target", in.Addr(), "--test-domain", "example.net").Targets[0].Vantages[0]
	if v.TestDomain != "example.net" || len(v.Warnings) == 0 || v.Verdict == "open" {
		t.Errorf("--test-domain example.net: %+v, want it kept, with a warning", v)
	}
	in.AssertNothingSent(t)
}

// TestAuditProbeBrokenAndProxy: an audit of a configuration with a
// listener that has no working relay guard and one behind the PROXY
// protocol. The live probe confirms the broken listener quickly (not two
// 30 s greeting timeouts per vantage) and finds the PROXY listener open to
// anyone who can connect.
func TestAuditProbeBrokenAndProxy(t *testing.T) {
	ports := make([]string, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, ports[i], _ = net.SplitHostPort(l.Addr().String())
		l.Close()
	}
	opt := lab.Strict()
	opt.Label = "broken-proxy"
	opt.Master = []string{
		"{host}:" + ports[0] + " inet n - n - - smtpd", "  -o smtpd_relay_restrictions=permit",
		"{host}:" + ports[1] + " inet n - n - - smtpd", "  -o smtpd_upstream_proxy_protocol=haproxy",
	}
	in := lab.Start(t, opt)
	start := time.Now()
	rep, _, stderr := runAuditJSON(t, in.ConfigDir())
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("audit took %v", took)
	}
	broken, proxy := "127.0.0.1:"+ports[0]+"/inet", "127.0.0.1:"+ports[1]+"/inet"
	for _, l := range rep.Listeners {
		switch l.Service {
		case broken:
			if l.Probe == nil || l.Probe.Verdict != "broken" {
				t.Errorf("%s: probe %+v, want broken; stderr %s", l.Service, l.Probe, stderr)
			}
		case proxy:
			if l.Probe == nil || l.Probe.Verdict != "open" {
				t.Errorf("%s: probe %+v, want open (PROXY header claiming 127.0.0.1)", l.Service, l.Probe)
			}
		}
	}
	confirmed := false
	for _, f := range rep.Findings {
		if f.ID == "PFA-RELAY-002" && f.Service == broken {
			confirmed = f.Status == "confirmed" && strings.Contains(f.Evidence, "broken")
		}
	}
	if !confirmed {
		t.Errorf("no confirmed PFA-RELAY-002 for %s: %+v", broken, rep.Findings)
	}
}
