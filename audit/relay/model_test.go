package relay

import (
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

func analyzeText(t *testing.T, main, master string) []*Analysis {
	t.Helper()
	m, err := postconf.ParseMainCF("main.cf", []byte(main))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := postconf.ParseMasterCF("master.cf", []byte(master))
	if err != nil {
		t.Fatal(err)
	}
	return Analyze(postconf.New(m, ms, defaults.Builtin(), "built-in"), Options{})
}

// TestModelBehaviours pins single behaviours of the model, each checked
// on Postfix 3.7.11 (see testdata/scenarios and the rules helper's lab
// notes).
func TestModelBehaviours(t *testing.T) {
	const base = "compatibility_level = 3.6\nmyhostname = mail.example.com\nmydestination = $myhostname, localhost\n"
	const smtp = "smtp inet n - y - - smtpd\n"
	cases := []struct {
		name, main string
		want       Verdict
	}{
		{"3.6 defaults defer outsiders", "", Closed},
		{"strict guard", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n", Closed},
		{"static OK before the guard", "smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination\n", Open},
		{"inline OK for the client", "smtpd_relay_restrictions = check_client_access inline:{203.0.113.5=OK}, reject_unauth_destination\n", Open},
		{"inline OK for another client", "smtpd_relay_restrictions = check_client_access inline:{198.51.100.7=OK}, reject_unauth_destination\n", Closed},
		{"mynetworks everyone", "mynetworks = 0.0.0.0/0\n", Open},
		{"negated everyone", "mynetworks = !203.0.113.0/24 0.0.0.0/0\n", Closed},
		{"no guard anywhere", "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks\n", Broken},
		{"bare permit truncates", "smtpd_relay_restrictions = permit_mynetworks, permit, reject_unauth_destination\n", Broken},
		{"warn_if_reject disarms", "smtpd_relay_restrictions = warn_if_reject, reject_unauth_destination\n", Broken},
		{"unbracketed ::1/128 kills smtpd", "mynetworks = 127.0.0.0/8 ::1/128\n", Broken},
		{"unbracketed fe80::/10 fails every later search", "mynetworks = 127.0.0.0/8 fe80::/10\n", Broken},
		{"host bits fail every lookup", "mynetworks = 192.168.1.1/24\n", Broken},
		{"policy service before the guard", "smtpd_relay_restrictions = check_policy_service inet:127.0.0.1:10023, reject_unauth_destination\n", Unknown},
		{"policy service after the guard", "smtpd_relay_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023\n", Closed},
		{"relay_domains static:ALL", "relay_domains = static:ALL\nsmtpd_relay_restrictions = reject_unauth_destination\n", Open},
		// The guard check looks into classes, and a bare permit there ends
		// only the class's own search (smtpd_check.c has_required).
		{"restriction class with permit", "smtpd_restriction_classes = friendly\nfriendly = permit\nsmtpd_relay_restrictions = friendly, reject_unauth_destination\n", Open},
		{"restriction class with a table OK", "smtpd_restriction_classes = friendly\nfriendly = check_client_access static:OK\nsmtpd_relay_restrictions = friendly, reject_unauth_destination\n", Open},
		// A bare type:table is the list's check_*_access (smtpd_check.c
		// generic_checks def_acl): keyed on the recipient in the RCPT
		// lists, on the client in the client list, also inside a class.
		{"bare table OK before the guard", "smtpd_relay_restrictions = static:OK, reject_unauth_destination\n", Open},
		{"bare table is keyed on the recipient", "smtpd_relay_restrictions = inline:{203.0.113.5=OK}, reject_unauth_destination\n", Closed},
		{"bare table as client blocklist", "smtpd_client_restrictions = permit_mynetworks, static:REJECT\nsmtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination\n", Closed},
		{"bare table in a class takes the caller's key", "smtpd_restriction_classes = c\nc = inline:{203.0.113.5=OK}\nsmtpd_relay_restrictions = c, reject_unauth_destination\nsmtpd_client_restrictions = c, static:REJECT\n", Closed},
		{"check_*_access needs a table", "smtpd_relay_restrictions = check_client_access static, reject_unauth_destination\n", Broken},
		// An access table's answer naming a table is a 451 4.3.5, not a
		// bare table (smtpd_check.c check_table_result).
		{"table inside an access answer", "smtpd_relay_restrictions = check_client_access inline:{203.0.113.5=static:OK}, reject_unauth_destination\n", Broken},
		{"reject_unknown_address is known", "smtpd_relay_restrictions = reject_unknown_address, reject_unauth_destination\n", Closed},
		// An unknown name answers 451 4.3.5 to every RCPT, local ones too.
		{"unknown restriction breaks every RCPT", "smtpd_relay_restrictions = reject_unauth_destinaton, reject_unauth_destination\n", Broken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			as := analyzeText(t, base+tc.main, smtp)
			if len(as) != 1 {
				t.Fatalf("%d listeners", len(as))
			}
			if as[0].Verdict != tc.want {
				t.Fatalf("verdict %s, want %s: %s", as[0].Verdict, tc.want, as[0].Reason)
			}
		})
	}
}
