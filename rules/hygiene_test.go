package rules

import "testing"

var hygieneCases = []ruleCase{
	// PFA-HYG-001
	{id: "PFA-HYG-001", name: "missing", fire: true, main: "mynetworks = 127.0.0.0/8\n",
		want: &want{param: "compatibility_level", file: "main.cf", line: 0, msg: []string{"level 0"}, fix: []string{"postconf -e 'compatibility_level = 3.6'"}}},
	{id: "PFA-HYG-001", name: "level 1", fire: true, main: "compatibility_level = 1\n",
		want: &want{line: 1, fix: []string{"postconf -e 'compatibility_level = 3.6'"}}},
	{id: "PFA-HYG-001", name: "3.6", main: "compatibility_level = 3.6\n"},
	{id: "PFA-HYG-001", name: "level 2", main: "compatibility_level = 2\n"},

	// PFA-HYG-002
	{id: "PFA-HYG-002", name: "typo", fire: true, main: safeMain + "smtpd_tls_auth_onyl = yes\n",
		want: &want{param: "smtpd_tls_auth_onyl", line: 4, msg: []string{"did you mean smtpd_tls_auth_only?"},
			fix: []string{"postconf -e 'smtpd_tls_auth_only = yes'", "postconf -X smtpd_tls_auth_onyl"}}},
	{id: "PFA-HYG-002", name: "unknown without a near miss", fire: true, main: safeMain + "site_owner_contact = hostmaster\n",
		want: &want{param: "site_owner_contact", fix: []string{"postconf -X site_owner_contact"}}},
	{id: "PFA-HYG-002", name: "user parameter in use", main: safeMain + "mua_client_restrictions = permit_sasl_authenticated, reject\n",
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_client_restrictions=$mua_client_restrictions\n"},

	// PFA-HYG-003
	{id: "PFA-HYG-003", name: "typo in -o", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_tls_auth_onyl=yes\n",
		want: &want{service: "submission/inet", param: "smtpd_tls_auth_onyl", file: "master.cf", line: 3, msg: []string{"did you mean smtpd_tls_auth_only?"},
			fix: []string{"postconf -P 'submission/inet/smtpd_tls_auth_only=yes'", "postconf -PX 'submission/inet/smtpd_tls_auth_onyl'"}}},
	{id: "PFA-HYG-003", name: "service-local variable", main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o mua_client=permit_sasl_authenticated,reject\n  -o smtpd_client_restrictions=$mua_client\n"},
	{id: "PFA-HYG-003", name: "template", main: safeMain, master: submissionTemplate},

	// PFA-HYG-004
	{id: "PFA-HYG-004", name: "misspelt guard", fire: true, main: "compatibility_level = 3.6\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destiantion\n",
		want: &want{param: "smtpd_recipient_restrictions", line: 2, msg: []string{"451 4.3.5", "did you mean reject_unauth_destination?"},
			fix: []string{"postconf -e 'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination'"}}},
	{id: "PFA-HYG-004", name: "unknown word dropped", fire: true, main: "compatibility_level = 3.6\nsmtpd_client_restrictions = permit_mynetworks, OK_clients, reject\n",
		want: &want{param: "smtpd_client_restrictions", fix: []string{"postconf -e 'smtpd_client_restrictions = permit_mynetworks, reject'"}}},
	// A bare table is the list's check_*_access, not an unknown name:
	// the fix for a misspelling elsewhere keeps it.
	{id: "PFA-HYG-004", name: "bare table is not unknown", main: "compatibility_level = 3.6\nsmtpd_client_restrictions = permit_mynetworks, cidr:/etc/postfix/blocklist.cidr\nsmtpd_recipient_restrictions = permit_mynetworks, hash:/etc/postfix/access, reject_unauth_destination\n"},
	{id: "PFA-HYG-004", name: "bare table kept by the fix", fire: true, main: "compatibility_level = 3.6\nsmtpd_client_restrictions = permit_mynetworks, texthash:/etc/postfix/blocklist, reject_unknwon_client_hostname\n",
		want: &want{param: "smtpd_client_restrictions", msg: []string{"did you mean reject_unknown_client_hostname?"},
			fix: []string{"postconf -e 'smtpd_client_restrictions = permit_mynetworks, texthash:/etc/postfix/blocklist, reject_unknown_client_hostname'"}}},
	{id: "PFA-HYG-004", name: "names smtpd 3.7 still accepts", main: "compatibility_level = 3.6\nsmtpd_sender_restrictions = reject_unknown_address, reject_sender_login_mismatch, check_etrn_access hash:/etc/postfix/etrn\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, check_recipient_maps, reject_maps_rbl\n"},
	{id: "PFA-HYG-004", name: "built-in class is case-sensitive", fire: true, main: "compatibility_level = 3.6\nsmtpd_sender_restrictions = REJECT_SENDER_LOGIN_MISMATCH\n",
		want: &want{param: "smtpd_sender_restrictions", msg: []string{"did you mean reject_sender_login_mismatch?"}, fix: []string{"postconf -e 'smtpd_sender_restrictions = reject_sender_login_mismatch'"}}},
	{id: "PFA-HYG-004", name: "not a 3.7 name", fire: true, main: "compatibility_level = 3.6\nsmtpd_client_restrictions = reject_dnsbl_client zen.spamhaus.org\n",
		want: &want{param: "smtpd_client_restrictions"}},
	{id: "PFA-HYG-004", name: "bare table in the DATA list", fire: true, main: "compatibility_level = 3.6\nsmtpd_data_restrictions = reject_unauth_pipelining, hash:/etc/postfix/data_access\n",
		want: &want{param: "smtpd_data_restrictions", msg: []string{"bare table hash:/etc/postfix/data_access", "before Data command restriction"}, noFix: true}},
	{id: "PFA-HYG-004", name: "braces around a name", fire: true, main: "compatibility_level = 3.6\nsmtpd_client_restrictions = { permit_mynetworks }, reject\n",
		want: &want{param: "smtpd_client_restrictions", msg: []string{"did you mean permit_mynetworks?"}, fix: []string{"postconf -e 'smtpd_client_restrictions = permit_mynetworks, reject'"}}},
	{id: "PFA-HYG-004", name: "classes and arguments", main: "compatibility_level = 3.6\nsmtpd_restriction_classes = staff\nstaff = check_sender_access hash:/etc/postfix/staff, reject\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, check_recipient_access hash:/etc/postfix/protected, reject_rbl_client zen.spamhaus.org, check_policy_service { inet:127.0.0.1:10023, timeout=10s }, staff\n"},

	// PFA-HYG-005
	{id: "PFA-HYG-005", name: "backup MX without recipients", fire: true, main: safeMain + "relay_domains = example.net\n",
		want: &want{param: "relay_recipient_maps", line: 4, noFix: true, msg: []string{"backscatter"}}},
	{id: "PFA-HYG-005", name: "with recipients", main: safeMain + "relay_domains = example.net\nrelay_recipient_maps = hash:/etc/postfix/relay_recipients\n"},
	{id: "PFA-HYG-005", name: "level-0 default", main: "mynetworks = 127.0.0.0/8\n"},

	// PFA-HYG-006
	{id: "PFA-HYG-006", name: "MX accepts unknown users", fire: true, main: safeMain + "smtpd_reject_unlisted_recipient = no\n",
		want: &want{param: "smtpd_reject_unlisted_recipient", line: 4, fix: []string{"postconf -X smtpd_reject_unlisted_recipient"}}},
	{id: "PFA-HYG-006", name: "only on submission", main: safeMain,
		master: submissionTemplate + "  -o smtpd_reject_unlisted_recipient=no\n"},

	// PFA-HYG-007
	{id: "PFA-HYG-007", name: "soft bounce", fire: true, main: safeMain + "soft_bounce = yes\n",
		want: &want{param: "soft_bounce", line: 4, fix: []string{"postconf -X soft_bounce"}}},
	{id: "PFA-HYG-007", name: "off", main: safeMain + "soft_bounce = no\n"},

	// PFA-HYG-008
	{id: "PFA-HYG-008", name: "comment in mynetworks", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 # office lan\n",
		want: &want{param: "mynetworks", line: 2, msg: []string{"comment at end of line is not supported"}, fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-HYG-008", name: "comment in relayhost", fire: true, main: "compatibility_level = 3.6\nrelayhost = [smtp.example.com]:587 # provider\n",
		want: &want{param: "relayhost", fix: []string{"postconf -e 'relayhost = [smtp.example.com]:587'"}}},
	{id: "PFA-HYG-008", name: "comment lines", main: "# trusted networks\ncompatibility_level = 3.6\nmynetworks = 127.0.0.0/8\n    # continued comment\n"},

	// PFA-HYG-009
	{id: "PFA-HYG-009", name: "assigned twice", fire: true, main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\nmynetworks = 127.0.0.0/8 [::1]/128\n",
		want: &want{param: "mynetworks", line: 3, severity: "info", msg: []string{"main.cf:2"}, noFix: true}},
	{id: "PFA-HYG-009", name: "once", main: safeMain},

	// PFA-HYG-010
	{id: "PFA-HYG-010", name: "misspelt reference", fire: true, main: safeMain + "smtpd_authorized_xforward_hosts = $mynetwork\n",
		want: &want{param: "smtpd_authorized_xforward_hosts", line: 4, msg: []string{"$mynetwork,", "did you mean $mynetworks?"},
			fix: []string{"postconf -e 'smtpd_authorized_xforward_hosts = $mynetworks'"}}},
	{id: "PFA-HYG-010", name: "defined", main: safeMain + "smtpd_authorized_xforward_hosts = $mynetworks\n"},

	// PFA-HYG-011
	{id: "PFA-HYG-011", name: "both set", fire: true, main: safeMain + "mynetworks_style = subnet\n",
		want: &want{param: "mynetworks_style", line: 4, fix: []string{"postconf -X mynetworks_style"}}},
	{id: "PFA-HYG-011", name: "style alone", main: "compatibility_level = 3.6\nmynetworks_style = host\n"},

	// PFA-HYG-012
	{id: "PFA-HYG-012", name: "old order with a policy server", fire: true,
		main: safeMain + "smtpd_relay_before_recipient_restrictions = no\nsmtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023\n",
		want: &want{param: "smtpd_relay_before_recipient_restrictions", line: 4, fix: []string{"postconf -e 'smtpd_relay_before_recipient_restrictions = yes'"}}},
	{id: "PFA-HYG-012", name: "3.6 order", main: safeMain + "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10023\n"},
}

func TestHygieneRules(t *testing.T) { runCases(t, hygieneCases) }

var policyCases = []ruleCase{
	// PFA-POL-001
	{id: "PFA-POL-001", name: "outside the allowed networks", fire: true,
		main:   "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128 198.51.100.0/24\n",
		policy: "allowed_networks = [\"127.0.0.0/8\", \"192.0.2.0/24\"]\n",
		want: &want{param: "mynetworks", line: 2, count: 2, msg: []string{"lies outside", "127.0.0.0/8 192.0.2.0/24"},
			fix: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}}},
	{id: "PFA-POL-001", name: "inside", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 192.0.2.0/25\n",
		policy: "allowed_networks = [\"127.0.0.0/8\", \"192.0.2.0/24\"]\n"},
	{id: "PFA-POL-001", name: "no policy", main: "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 198.51.100.0/24\n"},

	// PFA-POL-002
	{id: "PFA-POL-002", name: "per-listener equals", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n",
		policy: "[[expect]]\nparameter = \"smtpd_tls_security_level\"\nservice = \"submission/inet\"\nequals = \"encrypt\"\nseverity = \"high\"\nreason = \"MUAs must use TLS\"\n",
		want: &want{service: "submission/inet", param: "smtpd_tls_security_level", severity: "high", msg: []string{"policy.toml:1", "MUAs must use TLS"},
			fix: []string{"postconf -P 'submission/inet/smtpd_tls_security_level=encrypt'"}}},
	{id: "PFA-POL-002", name: "contains", fire: true, main: "compatibility_level = 3.6\n",
		policy: "[[expect]]\nparameter = \"smtpd_relay_restrictions\"\ncontains = [\"reject_unauth_destination\"]\n",
		want:   &want{severity: "medium", fix: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination, reject_unauth_destination'"}}},
	{id: "PFA-POL-002", name: "excludes", fire: true, main: safeMain + "smtpd_recipient_restrictions = permit_mx_backup, reject_unauth_destination\n",
		policy: "[[expect]]\nparameter = \"smtpd_recipient_restrictions\"\nexcludes = [\"permit_mx_backup\"]\n",
		want:   &want{line: 4, fix: []string{"postconf -e 'smtpd_recipient_restrictions = reject_unauth_destination'"}}},
	{id: "PFA-POL-002", name: "within", fire: true, main: safeMain + "smtpd_authorized_xclient_hosts = 127.0.0.1 192.0.2.1\n",
		policy: "[[expect]]\nparameter = \"smtpd_authorized_xclient_hosts\"\nwithin = [\"127.0.0.0/8\"]\n",
		want:   &want{msg: []string{"192.0.2.1 does not"}, fix: []string{"postconf -e 'smtpd_authorized_xclient_hosts = 127.0.0.1'"}}},
	{id: "PFA-POL-002", name: "missing service", fire: true, main: safeMain,
		policy: "[[expect]]\nparameter = \"smtpd_tls_security_level\"\nservice = \"submission/inet\"\nequals = \"encrypt\"\n",
		want:   &want{service: "submission/inet", msg: []string{"has no service submission/inet"}, noFix: true}},
	{id: "PFA-POL-002", name: "met", main: safeMain, master: submissionTemplate,
		policy: "[[expect]]\nparameter = \"smtpd_tls_security_level\"\nservice = \"submission/inet\"\nequals = \"encrypt\"\n[[expect]]\nparameter = \"mynetworks\"\nwithin = [\"127.0.0.0/8\", \"::1/128\"]\n"},
}

func TestPolicyRules(t *testing.T) { runCases(t, policyCases) }
