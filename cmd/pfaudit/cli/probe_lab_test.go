package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

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
	v = run("--target", in.Addr(), "--test-domain", "example.net").Targets[0].Vantages[0]
	if v.TestDomain != "example.net" || len(v.Warnings) == 0 || v.Verdict == "open" {
		t.Errorf("--test-domain example.net: %+v, want it kept, with a warning", v)
	}
	in.AssertNothingSent(t)
}
