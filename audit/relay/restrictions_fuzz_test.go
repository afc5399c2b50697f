package relay

import (
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// FuzzRestrictionLists analyses a listener whose two RCPT lists and one
// restriction class are the fuzz input: every list smtpd accepts or
// refuses must get a verdict, without a panic or a loop; a listener whose
// lists have no working guard is broken, never closed or open.
func FuzzRestrictionLists(f *testing.F) {
	for _, s := range [][3]string{
		{"permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", "", ""},
		{"", "permit_mynetworks, reject_unauth_destination", ""},
		{"friendly, reject_unauth_destination", "check_recipient_access inline:{x@example.net=OK}", "permit_auth_destination, reject"},
		{"warn_if_reject reject_unauth_destination", "permit", ""},
		{"friendly", "", "friendly"},
		{"check_client_access cidr:/nonexistent, hash:/etc/postfix/x, {check_sender_access inline:{a=OK}}", "defer_if_permit, permit", "sleep x"},
		{"reject_unauth_destination,,,{ } { , }", "check_policy_service inet:127.0.0.1:1, reject", "unknown_thing"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	master, err := postconf.ParseMasterCF("master.cf", []byte("smtp inet n - y - - smtpd\n"))
	if err != nil {
		f.Fatal(err)
	}
	d := defaults.Builtin()
	f.Fuzz(func(t *testing.T, relay, recipient, class string) {
		for _, v := range []string{relay, recipient, class} {
			if strings.ContainsAny(v, "\n\r\x00") || strings.Contains(v, "$") {
				return // one main.cf line each; $name expansion has its own fuzz target
			}
		}
		text := "compatibility_level = 3.6\nmyhostname = mail.example.com\n" +
			"smtpd_restriction_classes = friendly\nfriendly = " + class + "\n" +
			"smtpd_relay_restrictions = " + relay + "\nsmtpd_recipient_restrictions = " + recipient + "\n"
		main, err := postconf.ParseMainCF("main.cf", []byte(text))
		if err != nil {
			return
		}
		cfg := postconf.New(main, master, d, "built-in")
		as := Analyze(cfg, Options{})
		if len(as) != 1 {
			t.Fatalf("%d analyses", len(as))
		}
		a := as[0]
		switch a.Verdict {
		case Open, Closed, Unknown, Broken:
		default:
			t.Fatalf("verdict %q", a.Verdict)
		}
		if !a.Guard.OK && a.Verdict != Broken {
			t.Fatalf("no guard, verdict %s", a.Verdict)
		}
	})
}
