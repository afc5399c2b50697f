package relay

import (
	"strings"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// argRestrictions take the next list element as their argument (postconf(5)
// "smtpd_client_restrictions" and friends; smtpd_check.c).
var argRestrictions = map[string]bool{
	"check_client_access": true, "check_reverse_client_hostname_access": true,
	"check_helo_access": true, "check_sender_access": true, "check_recipient_access": true,
	"check_etrn_access": true, "check_ccert_access": true, "check_sasl_access": true,
	"check_client_mx_access": true, "check_client_ns_access": true, "check_client_a_access": true,
	"check_reverse_client_hostname_mx_access": true, "check_reverse_client_hostname_ns_access": true,
	"check_reverse_client_hostname_a_access": true,
	"check_helo_mx_access":                   true, "check_helo_ns_access": true, "check_helo_a_access": true,
	"check_sender_mx_access": true, "check_sender_ns_access": true, "check_sender_a_access": true,
	"check_recipient_mx_access": true, "check_recipient_ns_access": true, "check_recipient_a_access": true,
	"check_policy_service": true,
	"reject_rbl_client":    true, "reject_rhsbl_client": true, "reject_rhsbl_sender": true,
	"reject_rhsbl_recipient": true, "reject_rhsbl_helo": true, "reject_rhsbl_reverse_client": true,
	"permit_dnswl_client": true, "permit_rhswl_client": true, "reject_dnsbl_client": true,
	"sleep": true,
}

// attackerControlled are restrictions that can only refuse, on properties a
// determined client chooses itself (its DNS, its HELO, its sender domain):
// they do not stop an open relay, so the model passes over them.
var attackerControlled = map[string]bool{
	"reject_rbl_client": true, "reject_rhsbl_client": true, "reject_rhsbl_sender": true,
	"reject_rhsbl_recipient": true, "reject_rhsbl_helo": true, "reject_rhsbl_reverse_client": true,
	"reject_dnsbl_client":            true,
	"reject_unknown_client_hostname": true, "reject_unknown_client": true,
	"reject_unknown_reverse_client_hostname": true, "reject_unknown_helo_hostname": true,
	"reject_unknown_hostname": true, "reject_invalid_helo_hostname": true, "reject_invalid_hostname": true,
	"reject_non_fqdn_helo_hostname": true, "reject_non_fqdn_hostname": true,
	"reject_unknown_sender_domain": true, "reject_unknown_recipient_domain": true,
	"reject_unverified_sender": true, "reject_unverified_recipient": true,
	"reject_unauth_pipelining": true, "reject_multi_recipient_bounce": true,
	"reject_unlisted_sender": true, "reject_unlisted_recipient": true,
	"reject_sender_login_mismatch": true, "reject_authenticated_sender_login_mismatch": true,
	"reject_known_sender_login_mismatch": true, "reject_unauthenticated_sender_login_mismatch": true,
	"reject_plaintext_session": true, "reject_unknown_address": true,
	"reject_non_fqdn_sender": true, "reject_non_fqdn_recipient": true,
	"sleep": true, "permit_dnswl_client": true, "permit_rhswl_client": true,
	"check_ccert_access": true, "check_sasl_access": true,
}

// dnsAccess are the check_*_{mx,ns,a}_access restrictions: they look up
// DNS data of names the client picks, so a table entry that permits makes
// the outcome depend on what the client chooses.
func dnsAccess(name string) bool {
	return strings.HasPrefix(name, "check_") &&
		(strings.HasSuffix(name, "_mx_access") || strings.HasSuffix(name, "_ns_access") || strings.HasSuffix(name, "_a_access"))
}

// guardRestrictions make smtpd's startup check pass (smtpd_check.c
// "specify at least one working instance of reject_unauth_destination,
// defer_unauth_destination, reject, defer, defer_if_permit or
// check_relay_domains").
var guardRestrictions = map[string]bool{
	"reject_unauth_destination": true, "defer_unauth_destination": true,
	"reject": true, "defer": true, "defer_if_permit": true, "check_relay_domains": true,
}

// knownNoArg are the argument-less restrictions smtpd knows; any other name
// that is not a restriction class makes smtpd answer 451 4.3.5.
var knownNoArg = map[string]bool{
	"permit": true, "reject": true, "defer": true, "defer_if_permit": true, "defer_if_reject": true,
	"warn_if_reject": true, "permit_mynetworks": true, "permit_sasl_authenticated": true,
	"permit_tls_clientcerts": true, "permit_tls_all_clientcerts": true, "permit_inet_interfaces": true,
	"permit_mx_backup": true, "permit_auth_destination": true, "reject_unauth_destination": true,
	"defer_unauth_destination": true, "check_relay_domains": true, "permit_naked_ip_address": true,
	"reject_unlisted_sender": true, "reject_unlisted_recipient": true, "reject_unverified_sender": true,
	"reject_unverified_recipient": true, "reject_unauth_pipelining": true, "reject_non_fqdn_sender": true,
	"reject_non_fqdn_recipient": true, "reject_non_fqdn_helo_hostname": true, "reject_non_fqdn_hostname": true,
	"reject_invalid_helo_hostname": true, "reject_invalid_hostname": true, "reject_unknown_helo_hostname": true,
	"reject_unknown_hostname": true, "reject_unknown_client_hostname": true, "reject_unknown_client": true,
	"reject_unknown_reverse_client_hostname": true, "reject_unknown_sender_domain": true,
	"reject_unknown_recipient_domain": true, "reject_multi_recipient_bounce": true,
	"reject_sender_login_mismatch": true, "reject_authenticated_sender_login_mismatch": true,
	"reject_known_sender_login_mismatch": true, "reject_unauthenticated_sender_login_mismatch": true,
	"reject_plaintext_session": true, "reject_unknown_address": true, "reject_maps_rbl": true,
	"permit_auth_destination_routed": true,
}

// splitRestrictions splits a restriction list on commas and whitespace,
// keeping {...} groups (e.g. inline:{ a=b, c=d }) together, as Postfix's
// mystrtokq does.
func splitRestrictions(s string) []string { return table.SplitBraced(s, ", \t\n\r\v\f") }

// restriction is one element of a list, with its argument.
type restriction struct {
	Name string
	Arg  string
	Text string
}

// parseList groups a split restriction list into restrictions.
func parseList(items []string) []restriction {
	var out []restriction
	for i := 0; i < len(items); i++ {
		name := strings.ToLower(items[i])
		r := restriction{Name: name, Text: items[i]}
		if argRestrictions[name] && i+1 < len(items) {
			r.Arg = items[i+1]
			r.Text += " " + items[i+1]
			i++
		}
		out = append(out, r)
	}
	return out
}
