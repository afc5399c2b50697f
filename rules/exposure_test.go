package rules

import "testing"

const sendOnlyPolicy = "role = \"send-only\"\n"

var exposureCases = []ruleCase{
	// PFA-EXP-001
	{id: "PFA-EXP-001", name: "send-only host on all interfaces", fire: true, main: safeMain, policy: sendOnlyPolicy,
		want: &want{param: "inet_interfaces", file: "main.cf", line: 0, msg: []string{"send-only", "smtp/inet"},
			fix: []string{"postconf -e 'inet_interfaces = loopback-only'"}}},
	{id: "PFA-EXP-001", name: "null client with a listener on a public address", fire: true,
		main:   safeMain + "inet_interfaces = loopback-only\nrelayhost = [smtp.example.com]:587\nmydestination =\n",
		master: "192.0.2.1:smtp inet n - y - - smtpd\n", policy: "role = \"null-client\"\n",
		want: &want{fix: []string{"postconf -MX '192.0.2.1:smtp/inet'"}}},
	{id: "PFA-EXP-001", name: "loopback-only send-only host", main: safeMain + "inet_interfaces = loopback-only\n", policy: sendOnlyPolicy},
	{id: "PFA-EXP-001", name: "an MX listens on purpose", main: safeMain, policy: "role = \"mx\"\n"},

	// PFA-EXP-002
	{id: "PFA-EXP-002", name: "SASL inherited by port 25", fire: true, main: safeMain + "smtpd_sasl_auth_enable = yes\n",
		want: &want{service: "smtp/inet", param: "smtpd_sasl_auth_enable", line: 4, fix: []string{"postconf -P 'smtp/inet/smtpd_sasl_auth_enable=no'"}}},
	{id: "PFA-EXP-002", name: "SASL on submission only", main: safeMain, master: submissionTemplate},

	// PFA-EXP-003
	{id: "PFA-EXP-003", name: "VRFY by default", fire: true, main: safeMain,
		want: &want{param: "disable_vrfy_command", file: "main.cf", line: 0, fix: []string{"postconf -e 'disable_vrfy_command = yes'"}}},
	{id: "PFA-EXP-003", name: "VRFY disabled", main: safeMain + "disable_vrfy_command = yes\n"},
	{id: "PFA-EXP-003", name: "nothing exposed", main: safeMain + "inet_interfaces = loopback-only\n"},

	// PFA-EXP-004
	{id: "PFA-EXP-004", name: "default banner", fire: true, main: safeMain,
		want: &want{param: "smtpd_banner", msg: []string{"$mail_name", "ESMTP Postfix"}, fix: []string{"postconf -e 'smtpd_banner = $myhostname ESMTP'"}}},
	{id: "PFA-EXP-004", name: "Debian banner", fire: true, main: safeMain + "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)\n",
		want: &want{line: 4}},
	{id: "PFA-EXP-004", name: "host name only", main: safeMain + "smtpd_banner = $myhostname ESMTP\n"},

	// PFA-EXP-005
	{id: "PFA-EXP-005", name: "submission without encrypt", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n",
		want:   &want{service: "submission/inet", file: "master.cf", line: 2, fix: []string{"postconf -P 'submission/inet/smtpd_tls_security_level=encrypt'"}}},
	{id: "PFA-EXP-005", name: "submission template", main: safeMain, master: submissionTemplate},

	// PFA-EXP-006
	{id: "PFA-EXP-006", name: "465 without wrapper mode", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmissions inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n",
		want:   &want{service: "submissions/inet", line: 2, fix: []string{"postconf -P 'submissions/inet/smtpd_tls_wrappermode=yes'"}}},
	{id: "PFA-EXP-006", name: "465 with wrapper mode", main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmissions inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n"},

	// PFA-EXP-007
	{id: "PFA-EXP-007", name: "smarthost client open to all", fire: true, main: safeMain + "relayhost = [smtp.example.com]:587\n",
		policy: "role = \"smarthost-client\"\n",
		want:   &want{param: "smtpd_client_restrictions", fix: []string{"postconf -e 'smtpd_client_restrictions = permit_mynetworks, reject'"}}},
	{id: "PFA-EXP-007", name: "smarthost client restricted", main: safeMain + "smtpd_client_restrictions = permit_mynetworks, reject\n",
		policy: "role = \"smarthost-client\"\n"},
	{id: "PFA-EXP-007", name: "also an MX", main: safeMain, policy: "roles = [\"mx\", \"smarthost-client\"]\n"},
}

func TestExposureRules(t *testing.T) { runCases(t, exposureCases) }

var authCases = []ruleCase{
	// PFA-AUTH-001
	{id: "PFA-AUTH-001", name: "global SASL without TLS-only", fire: true, main: safeMain + "smtpd_sasl_auth_enable = yes\n",
		want: &want{param: "smtpd_tls_auth_only", line: 4, fix: []string{"postconf -e 'smtpd_tls_auth_only = yes'"}}},
	{id: "PFA-AUTH-001", name: "submission SASL without TLS", fire: true, main: safeMain,
		master: "smtp inet n - y - - smtpd\nsubmission inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n",
		want:   &want{service: "submission/inet", file: "master.cf", line: 3, msg: []string{"TLS is off"}, fix: []string{"postconf -P 'submission/inet/smtpd_tls_auth_only=yes'"}}},
	{id: "PFA-AUTH-001", name: "submission template", main: safeMain, master: submissionTemplate},

	// PFA-AUTH-002
	{id: "PFA-AUTH-002", name: "anonymous allowed", fire: true, main: safeMain + "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_security_options = noplaintext\n",
		want: &want{param: "smtpd_sasl_security_options", line: 5, fix: []string{"postconf -e 'smtpd_sasl_security_options = noplaintext noanonymous'"}}},
	{id: "PFA-AUTH-002", name: "default noanonymous", main: safeMain + "smtpd_sasl_auth_enable = yes\n"},

	// PFA-AUTH-003
	{id: "PFA-AUTH-003", name: "set", fire: true, main: safeMain + "broken_sasl_auth_clients = yes\n",
		want: &want{param: "broken_sasl_auth_clients", line: 4, fix: []string{"postconf -X broken_sasl_auth_clients"}}},
	{id: "PFA-AUTH-003", name: "unset", main: safeMain},

	// PFA-AUTH-004
	{id: "PFA-AUTH-004", name: "no map, no binding", fire: true, main: safeMain, master: submissionTemplate,
		want: &want{service: "submission/inet", param: "smtpd_sender_restrictions", file: "master.cf", line: 2, fix: []string{
			"touch /etc/postfix/sender_login",
			"postmap /etc/postfix/sender_login",
			"postconf -e 'smtpd_sender_login_maps = ${default_database_type}:${config_directory}/sender_login'",
			"postconf -P 'submission/inet/smtpd_sender_restrictions=reject_known_sender_login_mismatch'",
		}}},
	{id: "PFA-AUTH-004", name: "map present", fire: true, main: safeMain + "smtpd_sender_login_maps = hash:/etc/postfix/sender_login\n",
		master: submissionTemplate + "  -o smtpd_sender_restrictions=reject_non_fqdn_sender\n",
		want:   &want{service: "submission/inet", line: 9, fix: []string{"postconf -P 'submission/inet/smtpd_sender_restrictions=reject_sender_login_mismatch,reject_non_fqdn_sender'"}}},
	{id: "PFA-AUTH-004", name: "bound", main: safeMain + "smtpd_sender_login_maps = hash:/etc/postfix/sender_login\n",
		master: submissionTemplate + "  -o smtpd_sender_restrictions=reject_sender_login_mismatch\n"},

	// PFA-AUTH-005
	{id: "PFA-AUTH-005", name: "encrypt without certificate", fire: true, main: safeMain, master: submissionTemplate,
		want: &want{service: "submission/inet", line: 2, noFix: true, msg: []string{"every session fails"}}},
	{id: "PFA-AUTH-005", name: "certificate configured", main: safeMain + "smtpd_tls_chain_files = /etc/postfix/tls/key.pem, /etc/postfix/tls/fullchain.pem\n", master: submissionTemplate},

	// PFA-AUTH-006
	{id: "PFA-AUTH-006", name: "mismatch without maps", fire: true, main: safeMain + "smtpd_sender_restrictions = reject_sender_login_mismatch\n",
		want: &want{param: "smtpd_sender_login_maps", line: 4, msg: []string{"not owned by user"}}},
	{id: "PFA-AUTH-006", name: "mismatch with maps", main: safeMain + "smtpd_sender_restrictions = reject_sender_login_mismatch\nsmtpd_sender_login_maps = hash:/etc/postfix/sender_login\n"},
	{id: "PFA-AUTH-006", name: "known-only variant", main: safeMain + "smtpd_sender_restrictions = reject_known_sender_login_mismatch\n"},
}

func TestAuthRules(t *testing.T) { runCases(t, authCases) }
