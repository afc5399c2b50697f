package relay

import (
	"strings"

	rlist "github.com/pfaudit/pfaudit/postconf/restriction"
)

// attackerControlled are restrictions that can only refuse, on properties a
// determined client chooses itself (its DNS, its HELO, its sender domain):
// they do not stop an open relay, so the model passes over them.
var attackerControlled = map[string]bool{
	"reject_rbl_client": true, "reject_rhsbl_client": true, "reject_rhsbl_sender": true,
	"reject_rhsbl_recipient": true, "reject_rhsbl_helo": true, "reject_rhsbl_reverse_client": true,
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
// check_relay_domains"): the Guard names of the shared list.
var guardRestrictions = func() map[string]bool {
	m := map[string]bool{}
	for _, i := range rlist.All() {
		if i.Guard {
			m[i.Name] = true
		}
	}
	return m
}()

// splitRestrictions splits a restriction list as smtpd_check_parse() does
// (commas and blanks, {...} groups kept together).
func splitRestrictions(s string) []string { return rlist.Split(s) }

// restriction is one element of a list, with its argument.
type restriction struct {
	Name string // lower case, as smtpd compares it; "" for a bare table
	Raw  string // the name as written (the built-in class compares exactly)
	Arg  string
	Text string
	// Table is a bare type:table element: the check_*_access of the list
	// that is being evaluated, on table Arg.
	Table bool
	// known: smtpd knows the name; bad: badArgument's answer. Both are
	// asked on every decision, so they are worked out once per list.
	known bool
	bad   string
}

// parseList groups a split restriction list into restrictions (the shared
// list says which names take an argument).
func parseList(items []string) []restriction {
	var out []restriction
	for _, e := range rlist.Group(items) {
		r := restriction{Name: e.Key(), Raw: e.Name, Arg: e.Arg, Text: e.Text(), Table: e.Table}
		if e.Table {
			r.Arg = e.Name
		}
		r.known = rlist.Known(r.Raw)
		r.bad = badArgument(r)
		out = append(out, r)
	}
	return out
}
