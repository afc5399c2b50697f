package relay

import (
	"net/netip"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// FuzzDecide feeds arbitrary envelopes (the probe catalogue's tricks as
// seeds) to the relay model of a configuration that uses every address
// rewriting feature: it must answer, without panicking or looping.
func FuzzDecide(f *testing.F) {
	main, err := postconf.ParseMainCF("main.cf", []byte("compatibility_level = 3.6\n"+
		"myhostname = mail.example.com\nmydestination = $myhostname, localhost\n"+
		"relay_domains = example-labs.test\nallow_untrusted_routing = yes\n"+
		"smtpd_restriction_classes = friendly\nfriendly = check_sender_access inline:{example.com=OK}\n"+
		"smtpd_relay_restrictions = permit_mynetworks, friendly, check_recipient_access inline:{postmaster@=OK}, reject_unauth_destination\n"))
	if err != nil {
		f.Fatal(err)
	}
	master, _ := postconf.ParseMasterCF("master.cf", []byte("smtp inet n - y - - smtpd\n"))
	cfg := postconf.New(main, master, defaults.Builtin(), "built-in")
	m := NewModel(cfg, master.Services[0], Options{})
	for _, r := range Requests(Client{}, "mail.example.com", "example.com", "[192.0.2.25]") {
		f.Add(r.Sender, r.Recipient, r.Client.HELO)
	}
	f.Add(`"a@b"@[`, `@@@:::%%%!!!""`, "")
	f.Fuzz(func(t *testing.T, from, to, helo string) {
		req := Request{Client: Client{Addr: netip.MustParseAddr("203.0.113.5"), Name: "unknown", HELO: helo}, Sender: from, Recipient: to}
		d := m.Decide(req)
		switch d.Result {
		case Accept, Reject, Defer, Undecidable:
		default:
			t.Fatalf("result %q for %q -> %q", d.Result, from, to)
		}
	})
}
