package rules

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// safeMain is a configuration none of the relay rules should object to.
const safeMain = `compatibility_level = 3.6
mynetworks = 127.0.0.0/8 [::1]/128
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
`

const defaultRelayFix = "postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'"

const submissionTemplate = `smtp inet n - y - - smtpd
submission inet n - y - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
`

var relayCases = []ruleCase{
	// PFA-RELAY-001
	{id: "PFA-RELAY-001", name: "access map permit decides", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Open, func(a *relay.Analysis) {
				a.Reason = "check_sender_access returned OK for s@example.org"
				a.Deciding = deciding("smtpd_recipient_restrictions", "check_sender_access hash:/etc/postfix/sender_access", 1, diag.Pos{File: "main.cf", Line: 3})
			})}
		},
		want: &want{service: "smtp/inet", param: "smtpd_recipient_restrictions", file: "main.cf", line: 3, severity: "critical",
			msg: []string{"relays mail for untrusted", "check_sender_access returned OK", "203.0.113.5", "[main.cf:3]"},
			fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-001", name: "mynetworks permit decides", fire: true,
		main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 0.0.0.0/0\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Open, func(a *relay.Analysis) {
				a.Deciding = deciding("smtpd_relay_restrictions", "permit_mynetworks", 1, diag.Pos{})
			})}
		},
		want: &want{service: "smtp/inet", param: "smtpd_relay_restrictions", fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-001", name: "override in a non-default directory", fire: true, dir: "/srv/postfix-out",
		main:   safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=check_client_access,cidr:/etc/postfix/clients.cidr,reject_unauth_destination\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "submission/inet", relay.Open, func(a *relay.Analysis) {
				a.Deciding = deciding("smtpd_recipient_restrictions", "check_client_access cidr:/etc/postfix/clients.cidr", 1, diag.Pos{File: "master.cf", Line: 4})
			})}
		},
		want: &want{service: "submission/inet", file: "master.cf", line: 4,
			fix: []string{"postconf -c /srv/postfix-out -P 'submission/inet/smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination'"}}},
	{id: "PFA-RELAY-001", name: "closed", main: safeMain,
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Closed, nil)}
		}},

	// PFA-RELAY-002
	{id: "PFA-RELAY-002", name: "no guard", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Broken, func(a *relay.Analysis) {
				a.Guard = relay.Guard{OK: false, Reason: "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has a working reject_unauth_destination", Pos: diag.Pos{File: "main.cf", Line: 2}}
			})}
		},
		want: &want{service: "smtp/inet", param: "smtpd_relay_restrictions", line: 2, msg: []string{"cannot take mail", "master throttles"},
			fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-002", name: "every RCPT fails on host bits", fire: true,
		main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 192.168.1.1/24\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Broken, func(a *relay.Analysis) {
				a.Reason = "every RCPT fails: mynetworks lookup error (451 4.3.0)"
			})}
		},
		want: &want{service: "smtp/inet", param: "mynetworks", line: 2, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 192.168.1.0/24'"}}},
	{id: "PFA-RELAY-002", name: "guard present", main: safeMain,
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Closed, nil)}
		}},

	// PFA-RELAY-003
	{id: "PFA-RELAY-003", name: "re-injection listener would relay", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\n127.0.0.1:10025 inet n - n - - smtpd\n  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=check_client_access,static:OK,reject_unauth_destination\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{
				analysis(cfg, "smtp/inet", relay.Closed, nil),
				analysis(cfg, "127.0.0.1:10025/inet", relay.Closed, func(a *relay.Analysis) { a.WouldBe = relay.Open }),
			}
		},
		want: &want{service: "127.0.0.1:10025/inet", severity: "low", msg: []string{"loopback only"},
			fix: []string{"postconf -P '127.0.0.1:10025/inet/smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination'"}}},
	{id: "PFA-RELAY-003", name: "loopback listener that stays closed", main: safeMain,
		master: "127.0.0.1:10025 inet n - n - - smtpd\n  -o mynetworks=127.0.0.0/8\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "127.0.0.1:10025/inet", relay.Closed, func(a *relay.Analysis) { a.WouldBe = relay.Closed })}
		}},

	// PFA-RELAY-004
	{id: "PFA-RELAY-004", name: "policy service decides", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = check_policy_service unix:private/policy, permit_mynetworks, reject_unauth_destination\nmyhostname = mx.example.com\nmydomain = example.com\n",
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Unknown, func(a *relay.Analysis) {
				a.Reason = "check_policy_service cannot be evaluated offline"
				a.Deciding = deciding("smtpd_relay_restrictions", "check_policy_service unix:private/policy", 1, diag.Pos{File: "main.cf", Line: 2})
				a.Deciding.Decision.Trace[0].Outcome = "unknown"
				a.Deciding.Decision.Result = relay.Undecidable
			})}
		},
		want: &want{service: "smtp/inet", param: "smtpd_relay_restrictions", line: 2, msg: []string{"cannot decide", "not assumed safe"},
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policy'"}}},
	{id: "PFA-RELAY-004", name: "decided", main: safeMain,
		analyses: func(cfg *postconf.Config) []*relay.Analysis {
			return []*relay.Analysis{analysis(cfg, "smtp/inet", relay.Closed, nil)}
		}},

	// PFA-RELAY-012
	{id: "PFA-RELAY-012", name: "empty in main.cf", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", line: 2, msg: []string{"set empty in main.cf"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-012", name: "empty by default at level 0", fire: true,
		main: "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", file: "main.cf", line: 0, msg: []string{"compatibility_level 0"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-012", name: "default at 3.6", main: "compatibility_level = 3.6\n"},
	{id: "PFA-RELAY-012", name: "submission template empties it by override", main: safeMain, master: submissionTemplate},

	// PFA-RELAY-013
	{id: "PFA-RELAY-013", name: "sender access before the guard, relay list empty", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination\n",
		want: &want{param: "smtpd_recipient_restrictions", line: 3, msg: []string{"position 2", "client chooses"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-013", name: "helo access inside the relay list", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, check_helo_access pcre:/etc/postfix/helo.pcre, permit_sasl_authenticated, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", line: 2,
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_helo_access pcre:/etc/postfix/helo.pcre'"}}},
	// The issue-7 report: a bare table is check_recipient_access, and the
	// fix keeps it (after the guard).
	{id: "PFA-RELAY-013", name: "bare table before the guard", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_mynetworks, hash:/etc/postfix/access, reject_unauth_destination\n",
		want: &want{param: "smtpd_recipient_restrictions", line: 3, msg: []string{"hash:/etc/postfix/access (position 2", "check_recipient_access"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-013", name: "bare table before the guard in the relay list", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, texthash:/etc/postfix/rcpt_ok, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", line: 2,
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, texthash:/etc/postfix/rcpt_ok'"}}},
	{id: "PFA-RELAY-013", name: "bare table after the guard", main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, hash:/etc/postfix/access\n"},
	{id: "PFA-RELAY-013", name: "relay list protects", main: safeMain + "smtpd_recipient_restrictions = check_sender_access hash:/etc/postfix/sender_access, reject_unauth_destination\n"},
	{id: "PFA-RELAY-013", name: "access map after the guard", main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, check_client_access cidr:/etc/postfix/c.cidr\n"},

	// PFA-RELAY-014
	{id: "PFA-RELAY-014", name: "class before the guard", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_restriction_classes = insiders\ninsiders = check_client_access cidr:/etc/postfix/insiders.cidr\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = insiders, reject_unauth_destination\n",
		want: &want{param: "smtpd_recipient_restrictions", line: 5, msg: []string{"insiders", "restriction class"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-014", name: "class after the guard",
		main: "compatibility_level = 3.6\nsmtpd_restriction_classes = insiders\ninsiders = check_client_access cidr:/etc/postfix/insiders.cidr\nsmtpd_relay_restrictions =\nsmtpd_recipient_restrictions = reject_unauth_destination, insiders\n"},

	// PFA-RELAY-015
	{id: "PFA-RELAY-015", name: "policy service first", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = check_policy_service unix:private/policyd, permit_mynetworks, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", line: 2,
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policyd'"}}},
	{id: "PFA-RELAY-015", name: "policy service after the guard",
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policyd\n"},

	// PFA-RELAY-016
	{id: "PFA-RELAY-016", name: "mx backup for anyone", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, permit_mx_backup, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions", msg: []string{"MX record", "deprecated"},
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, permit_mx_backup'"}}},
	{id: "PFA-RELAY-016", name: "mx backup limited to networks",
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, permit_mx_backup, reject_unauth_destination\npermit_mx_backup_networks = 192.0.2.0/24\n"},

	// PFA-RELAY-017
	{id: "PFA-RELAY-017", name: "all client certs with public CAs", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination\ntls_append_default_CA = yes\n",
		want: &want{param: "smtpd_relay_restrictions", msg: []string{"public CA"}}},
	{id: "PFA-RELAY-017", name: "all client certs with a private CA",
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks, permit_tls_all_clientcerts, reject_unauth_destination\nsmtpd_tls_CAfile = /etc/postfix/private-ca.pem\n"},

	// PFA-RELAY-018
	{id: "PFA-RELAY-018", name: "inet interfaces first", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_inet_interfaces, permit_mynetworks, reject_unauth_destination\n",
		want: &want{param: "smtpd_relay_restrictions",
			fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination, permit_inet_interfaces'"}}},
	{id: "PFA-RELAY-018", name: "recipient list protects",
		main: "compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_inet_interfaces\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"},

	// PFA-RELAY-019
	{id: "PFA-RELAY-019", name: "main.cf", fire: true, main: safeMain + "allow_untrusted_routing = yes\n",
		want: &want{param: "allow_untrusted_routing", line: 4, fix: []string{"postconf -X allow_untrusted_routing"}}},
	{id: "PFA-RELAY-019", name: "override", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nrelay2 inet n - y - - smtpd\n  -o allow_untrusted_routing=yes\n",
		want:   &want{service: "relay2/inet", file: "master.cf", line: 3, fix: []string{"postconf -PX 'relay2/inet/allow_untrusted_routing'"}}},
	{id: "PFA-RELAY-019", name: "default", main: safeMain},

	// PFA-RELAY-020
	{id: "PFA-RELAY-020", name: "static table", fire: true, main: safeMain + "relay_domains = example.org, static:ALL\nmyhostname = mx.example.com\nmydomain = example.com\n",
		want: &want{param: "relay_domains", line: 4, severity: "critical", fix: []string{"postconf -e 'relay_domains = example.org'"}}},
	{id: "PFA-RELAY-020", name: "inline pcre matching everything", fire: true, main: safeMain + "relay_domains = pcre:{{/.*/ OK}}\n",
		want: &want{param: "relay_domains", fix: []string{"postconf -e 'relay_domains = '"}}},
	{id: "PFA-RELAY-020", name: "plain domains", main: safeMain + "relay_domains = example.org, hash:/etc/postfix/relay_domains\n"},

	// PFA-RELAY-021
	{id: "PFA-RELAY-021", name: "a whole network", fire: true, main: safeMain + "smtpd_authorized_xclient_hosts = 192.0.2.0/24\n",
		want: &want{param: "smtpd_authorized_xclient_hosts", line: 4, msg: []string{"192.0.2.0/24", "bypasses permit_mynetworks"},
			fix: []string{"postconf -X smtpd_authorized_xclient_hosts"}}},
	{id: "PFA-RELAY-021", name: "mixed: proxy host kept", fire: true, main: safeMain + "smtpd_authorized_xclient_hosts = 127.0.0.1, 192.0.2.25, $mynetworks, 10.0.0.0/8\n",
		want: &want{fix: []string{"postconf -e 'smtpd_authorized_xclient_hosts = 127.0.0.1 192.0.2.25 127.0.0.0/8 [::1]/128'"}}},
	{id: "PFA-RELAY-021", name: "loopback and one proxy", main: safeMain + "smtpd_authorized_xclient_hosts = 127.0.0.1, 192.0.2.25\n"},

	// PFA-RELAY-022
	{id: "PFA-RELAY-022", name: "xforward from a network", fire: true, main: safeMain + "smtpd_authorized_xforward_hosts = 10.0.0.0/8\n",
		want: &want{param: "smtpd_authorized_xforward_hosts", fix: []string{"postconf -X smtpd_authorized_xforward_hosts"}}},
	{id: "PFA-RELAY-022", name: "xforward from loopback", main: safeMain + "smtpd_authorized_xforward_hosts = 127.0.0.0/8\n"},

	// PFA-RELAY-023
	{id: "PFA-RELAY-023", name: "wider mynetworks on submission", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o mynetworks=127.0.0.0/8,192.168.0.0/24\n",
		want: &want{service: "submission/inet", param: "mynetworks", file: "master.cf", line: 3, msg: []string{"192.168.0.0/24"},
			fix: []string{"postconf -PX 'submission/inet/mynetworks'"}}},
	{id: "PFA-RELAY-023", name: "lists lose the guard", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_relay_restrictions=\n  -o smtpd_recipient_restrictions=permit_sasl_authenticated,check_sender_access,hash:/etc/postfix/senders\n",
		want: &want{service: "submission/inet", param: "smtpd_relay_restrictions",
			fix: []string{"postconf -P 'submission/inet/smtpd_relay_restrictions=permit_mynetworks,permit_sasl_authenticated,reject_unauth_destination'"}}},
	{id: "PFA-RELAY-023", name: "submission template", main: safeMain, master: submissionTemplate},
	{id: "PFA-RELAY-023", name: "narrower mynetworks", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 192.168.0.0/24\n",
		master: "smtp inet n - y - - smtpd\n10025 inet n - n - - smtpd\n  -o mynetworks=127.0.0.0/8\n"},

	// PFA-RELAY-024
	{id: "PFA-RELAY-024", name: "re-injection on all interfaces", fire: true, main: safeMain + "myhostname = mx.example.com\nmydomain = example.com\n",
		master: "smtp inet n - y - - smtpd\n10025 inet n - n - - smtpd\n  -o content_filter=\n  -o mynetworks=127.0.0.0/8\n",
		want: &want{service: "10025/inet", file: "master.cf", line: 2, msg: []string{"re-injection"},
			fix: []string{"postconf -M '127.0.0.1:10025/inet = 127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o mynetworks=127.0.0.0/8'", "postconf -MX '10025/inet'"}}},
	{id: "PFA-RELAY-024", name: "re-injection on loopback", main: safeMain,
		master: "smtp inet n - y - - smtpd\n127.0.0.1:10025 inet n - n - - smtpd\n  -o content_filter=\n  -o mynetworks=127.0.0.0/8\n"},

	// PFA-RELAY-025
	{id: "PFA-RELAY-025", name: "recipient list", fire: true,
		main: "compatibility_level = 3.6\nsmtpd_recipient_restrictions = permit_mynetworks, check_relay_domains\n",
		want: &want{param: "smtpd_recipient_restrictions", line: 2, msg: []string{"removed in Postfix 3.9"},
			fix: []string{"postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination'"}}},
	{id: "PFA-RELAY-025", name: "not used", main: safeMain},

	// PFA-RELAY-026
	{id: "PFA-RELAY-026", name: "the 3.6 default", fire: true, main: "compatibility_level = 3.6\n",
		want: &want{param: "smtpd_relay_restrictions", file: "main.cf", line: 0, msg: []string{"454 4.7.1"}, fix: []string{defaultRelayFix}}},
	{id: "PFA-RELAY-026", name: "reject guard", main: safeMain},
	{id: "PFA-RELAY-026", name: "defer guard backed by a reject in the other list",
		main: "compatibility_level = 3.6\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n"},
}

func TestRelayRules(t *testing.T) { runCases(t, relayCases) }

var mynetworksCases = []ruleCase{
	// PFA-RELAY-005
	{id: "PFA-RELAY-005", name: "0.0.0.0/0", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 0.0.0.0/0\n",
		want: &want{param: "mynetworks", line: 2, severity: "critical", fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-005", name: "two halves", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8, 0.0.0.0/1, 128.0.0.0/1\n",
		want: &want{msg: []string{"0.0.0.0/1 128.0.0.0/1"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-005", name: "mapped IPv4 /96", fire: true, main: "compatibility_level = 3.6\nmynetworks = [::ffff:0.0.0.0]/96\n",
		want: &want{fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"}}},
	{id: "PFA-RELAY-005", name: "override on submission", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o mynetworks=0.0.0.0/0\n",
		want:   &want{service: "submission/inet", file: "master.cf", line: 3, fix: []string{"postconf -P 'submission/inet/mynetworks=127.0.0.0/8,[::1]/128'"}}},
	{id: "PFA-RELAY-005", name: "narrow", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128 192.0.2.0/24\n"},

	// PFA-RELAY-006
	{id: "PFA-RELAY-006", name: "public /16", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 198.51.0.0/16\n",
		want: &want{param: "mynetworks", line: 2, msg: []string{"198.51.0.0/16", "65536"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-006", name: "public IPv6 /32", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [2001:db8::]/32\n",
		want: &want{fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-006", name: "public /24 and /64", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 198.51.100.0/24 [2001:db8:1:2::]/64\n"},

	// PFA-RELAY-007
	{id: "PFA-RELAY-007", name: "docker pool", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128 172.16.0.0/12\n",
		want: &want{param: "mynetworks", line: 2, msg: []string{"Docker", "172.17.0.0/16"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"}}},
	{id: "PFA-RELAY-007", name: "10/8 from a file", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 NETFILE\n",
		want: &want{param: "mynetworks", line: 2, noFix: true, msg: []string{"10.0.0.0/8", "edit that file"}}},
	{id: "PFA-RELAY-007", name: "one LAN", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 192.168.1.0/24\n"},

	// PFA-RELAY-008
	{id: "PFA-RELAY-008", name: "172.0.0.0/8", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8, 172.0.0.0/8\n",
		want: &want{param: "mynetworks", msg: []string{"mistyped", "172.16.0.0/12"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-008", name: "the right block", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8, 172.16.5.0/24\n"},

	// PFA-RELAY-009
	{id: "PFA-RELAY-009", name: "host bits", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 168.100.3.1/27\n",
		want: &want{param: "mynetworks", line: 2, msg: []string{"451 4.3.0", "168.100.3.0/27", "own domains included"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 168.100.3.0/27'"}}},
	{id: "PFA-RELAY-009", name: "not an address", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 10/8\n",
		want: &want{fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-009", name: "clean", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 168.100.3.0/27\n"},

	// PFA-RELAY-010
	{id: "PFA-RELAY-010", name: "unbracketed", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 ::1/128\n",
		want: &want{param: "mynetworks", msg: []string{"type:table", "[::1]/128", "exits on every connection"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"}}},
	{id: "PFA-RELAY-010", name: "bracketed", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128 cidr:/etc/postfix/trusted.cidr\n"},

	// PFA-RELAY-011
	{id: "PFA-RELAY-011", name: "implicit subnet at level 0", fire: true, main: "myhostname = mx.example.com\nmydomain = example.com\n",
		want: &want{param: "mynetworks", file: "main.cf", line: 0, msg: []string{"below compatibility_level 2"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"}}},
	{id: "PFA-RELAY-011", name: "explicit class", fire: true, main: "compatibility_level = 3.6\ninet_protocols = ipv4\nmynetworks_style = class\n",
		want: &want{line: 3, msg: []string{"class A/B/C"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-RELAY-011", name: "host style at 3.6", main: "compatibility_level = 3.6\n"},
	{id: "PFA-RELAY-011", name: "mynetworks set", main: "mynetworks = 127.0.0.0/8\n"},
}

func TestMynetworksRules(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mynetworks")
	if err := os.WriteFile(file, []byte("# trusted\n10.0.0.0/8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := make([]ruleCase, len(mynetworksCases))
	copy(cases, mynetworksCases)
	for i := range cases {
		if cases[i].name == "10/8 from a file" {
			cases[i].main = "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 " + file + "\n"
			w := *cases[i].want
			w.file, w.line = file, 2
			cases[i].want = &w
		}
	}
	runCases(t, cases)
}

func TestSafeRelayList(t *testing.T) {
	cfg := buildConfig(t, "smtpd_restriction_classes = permissive\npermissive = permit\n", "", "")
	s := (&Context{Cfg: cfg}).scopeFor(nil)
	for _, tc := range []struct{ in, want string }{
		{"", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination"},
		{"permit_mynetworks, reject_unauth_destination", "permit_mynetworks, reject_unauth_destination"},
		{"permit_mynetworks, defer_unauth_destination", "permit_mynetworks, reject_unauth_destination"},
		{"permit_mynetworks", "permit_mynetworks, reject_unauth_destination"},
		{"check_sender_access hash:/x, permit_mynetworks, reject_unauth_destination", "permit_mynetworks, reject_unauth_destination, check_sender_access hash:/x"},
		{"permit_mynetworks, permissive, reject", "permit_mynetworks, reject_unauth_destination, permissive, reject"},
		{"permit_mynetworks, check_relay_domains", "permit_mynetworks, reject_unauth_destination"},
		{"permit_mynetworks, permit, reject_unauth_destination", "permit_mynetworks, reject_unauth_destination"},
		{"permit_mynetworks, permit, check_client_access cidr:/c, reject_unauth_destination", "permit_mynetworks, reject_unauth_destination, permit, check_client_access cidr:/c"},
		{"warn_if_reject reject_unauth_destination, check_client_access cidr:/c", "reject_unauth_destination, check_client_access cidr:/c"},
		{"permit_mynetworks, warn_if_reject reject_unauth_destination, reject", "permit_mynetworks, warn_if_reject reject_unauth_destination, reject"},
	} {
		got := joinComma(s.safeRelayList(tc.in))
		if got != tc.want {
			t.Errorf("safeRelayList(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// The fix is a fixed point: applying it again changes nothing.
		if again := joinComma(s.safeRelayList(got)); again != got {
			t.Errorf("safeRelayList not idempotent on %q: %q", got, again)
		}
		a := s.analyze(parseRestrictions(got), 0)
		if !a.Protects() {
			t.Errorf("safeRelayList(%q) = %q does not protect", tc.in, got)
		}
	}
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
