// Package restriction is pfaudit's one list of the smtpd restriction names
// Postfix 3.7 accepts, with what each takes as argument, which request data
// it reads (and so in which lists it can ever match), and whether smtpd's
// startup check counts it as a relay guard. It also splits and groups a
// restriction list exactly as smtpd does.
//
// The list is derived from smtpd_check.c of Postfix 3.7: generic_checks()
// (every list, client to end-of-data, is evaluated by that one function, so
// every name below is accepted in every list), smtpd_check_init() (the
// built-in restriction class reject_sender_login_mismatch and the
// rcpt_required guard list) and smtpd_check_parse(). A name that is not in
// this list, not a restriction class and not a type:table makes smtpd log
// "unknown smtpd restriction" and answer 451 4.3.5 Server configuration
// error when a list reaches it.
package restriction

import (
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// List is one of smtpd's restriction lists.
type List int

const (
	Client    List = iota // smtpd_client_restrictions
	HELO                  // smtpd_helo_restrictions
	Sender                // smtpd_sender_restrictions
	Relay                 // smtpd_relay_restrictions
	Recipient             // smtpd_recipient_restrictions
	ETRN                  // smtpd_etrn_restrictions
	Data                  // smtpd_data_restrictions
	EndOfData             // smtpd_end_of_data_restrictions
	numLists
)

var listParams = [numLists]string{
	"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_etrn_restrictions",
	"smtpd_data_restrictions", "smtpd_end_of_data_restrictions",
}

// Lists are all restriction lists, in smtpd's order of evaluation.
var Lists = []List{Client, HELO, Sender, Relay, Recipient, ETRN, Data, EndOfData}

// Param is the main.cf parameter that holds the list.
func (l List) Param() string {
	if l < 0 || l >= numLists {
		return ""
	}
	return listParams[l]
}

func (l List) String() string { return l.Param() }

// ListOf returns the list a main.cf parameter holds.
func ListOf(param string) (List, bool) {
	for i, p := range listParams {
		if p == param {
			return List(i), true
		}
	}
	return 0, false
}

// BareTable is the restriction a bare type:table element stands for in
// list l: smtpd_check.c generic_checks() replaces it by its def_acl
// argument, which smtpd_check_client/helo/mail/rcpt/etrn() pass as
// check_client_access, check_helo_access, check_sender_access,
// check_recipient_access (both RCPT lists) and check_etrn_access. The data
// and end-of-data lists pass none: there smtpd logs "specify one of (...)
// before ... restriction" and answers 451 4.3.5, and BareTable is "".
// Inside a restriction class, or a restriction list returned by an access
// table, the list that invoked it decides (def_acl is passed down).
func (l List) BareTable() string {
	switch l {
	case Client:
		return "check_client_access"
	case HELO:
		return "check_helo_access"
	case Sender:
		return "check_sender_access"
	case Relay, Recipient:
		return "check_recipient_access"
	case ETRN:
		return "check_etrn_access"
	}
	return ""
}

// ListSet is a set of lists.
type ListSet uint16

// Has reports whether l is in the set.
func (s ListSet) Has(l List) bool { return s&(1<<l) != 0 }

func setOf(ls ...List) ListSet {
	var s ListSet
	for _, l := range ls {
		s |= 1 << l
	}
	return s
}

// Arg is what a restriction reads as its argument: the next list element.
type Arg int

const (
	NoArg   Arg = iota
	Table       // type:table; anything else makes smtpd answer 451 4.3.5 (is_map_command)
	Service     // transport:endpoint of check_policy_service; likewise 451 4.3.5 without ':'
	Domain      // a DNS list domain, optionally =address pattern; missing: smtpd only warns
	Seconds     // sleep's number; 451 4.3.5 when not all digits
)

func (a Arg) String() string {
	return [...]string{"none", "type:table", "transport:endpoint", "DNS domain", "seconds"}[a]
}

// Reads is the request data a restriction looks at: the section of
// generic_checks() it is in, corrected for the few that sit in another
// section (permit_sasl_authenticated and the TLS permits look at the
// client although smtpd_check.c lists them with the recipient ones).
type Reads int

const (
	Session    Reads = iota // nothing request-specific: permit, reject, sleep, policy ...
	ClientID                // client address, name, TLS certificate, SASL login
	HELOName                // the HELO/EHLO argument
	SenderAddr              // MAIL FROM address (nothing for the null sender)
	RcptAddr                // RCPT TO address
	ETRNDomain              // the ETRN argument
)

func (r Reads) String() string {
	return [...]string{"session", "client", "helo", "sender", "recipient", "etrn"}[r]
}

// Lists returns the lists where the data r reads exists, so that a
// restriction reading it can match. smtpd accepts every name in every
// list; elsewhere it simply does nothing. RCPT data exists in the client,
// HELO and sender lists only because smtpd_delay_reject = yes (the
// default) evaluates them at RCPT time, and in the data lists only when
// the transaction has one recipient (smtpd_check_data()).
func (r Reads) Lists() ListSet {
	switch r {
	case SenderAddr:
		return setOf(Client, HELO, Sender, Relay, Recipient, Data, EndOfData)
	case RcptAddr:
		return setOf(Client, HELO, Sender, Relay, Recipient, Data, EndOfData)
	case ETRNDomain:
		return setOf(ETRN)
	}
	return setOf(Lists...)
}

// Info describes one restriction name.
type Info struct {
	Name string
	Arg  Arg
	// Reads is the data it looks at; Reads.Lists() where it can match.
	Reads Reads
	// Guard: smtpd's startup check accepts it as the relay guard
	// (smtpd_check_init() rcpt_required: "specify at least one working
	// instance of ...").
	Guard bool
	// Replaced names the current restriction an older name is a synonym
	// of (smtpd_check.c compares both names to the same code).
	Replaced string
	// Class is a built-in restriction class: smtpd looks it up
	// case-sensitively, after every other name (htable_find).
	Class bool
}

// TakesArg reports whether smtpd reads the next element as its argument.
func (i Info) TakesArg() bool { return i.Arg != NoArg }

// Lists is where it can match (see Reads.Lists).
func (i Info) Lists() ListSet { return i.Reads.Lists() }

// names is the list: generic_checks() of Postfix 3.7, in its order.
var names = []Info{
	// Pseudo and generic restrictions.
	{Name: "warn_if_reject"},
	{Name: "permit"},
	{Name: "defer", Guard: true},
	{Name: "reject", Guard: true},
	{Name: "reject_unauth_pipelining"},
	{Name: "check_policy_service", Arg: Service},
	{Name: "defer_if_permit", Guard: true},
	{Name: "defer_if_reject"},
	{Name: "sleep", Arg: Seconds},
	{Name: "reject_plaintext_session"},

	// Client name and address.
	{Name: "reject_unknown_client_hostname", Reads: ClientID},
	{Name: "reject_unknown_client", Reads: ClientID, Replaced: "reject_unknown_client_hostname"},
	{Name: "reject_unknown_reverse_client_hostname", Reads: ClientID},
	{Name: "permit_inet_interfaces", Reads: ClientID},
	{Name: "permit_mynetworks", Reads: ClientID},
	{Name: "check_client_access", Arg: Table, Reads: ClientID},
	{Name: "check_reverse_client_hostname_access", Arg: Table, Reads: ClientID},
	{Name: "reject_maps_rbl", Reads: ClientID, Replaced: "reject_rbl_client"},
	{Name: "reject_rbl_client", Arg: Domain, Reads: ClientID},
	{Name: "reject_rbl", Arg: Domain, Reads: ClientID, Replaced: "reject_rbl_client"},
	{Name: "permit_dnswl_client", Arg: Domain, Reads: ClientID},
	{Name: "reject_rhsbl_client", Arg: Domain, Reads: ClientID},
	{Name: "permit_rhswl_client", Arg: Domain, Reads: ClientID},
	{Name: "reject_rhsbl_reverse_client", Arg: Domain, Reads: ClientID},
	{Name: "check_ccert_access", Arg: Table, Reads: ClientID},
	{Name: "check_sasl_access", Arg: Table, Reads: ClientID},
	{Name: "check_client_ns_access", Arg: Table, Reads: ClientID},
	{Name: "check_client_mx_access", Arg: Table, Reads: ClientID},
	{Name: "check_client_a_access", Arg: Table, Reads: ClientID},
	{Name: "check_reverse_client_hostname_ns_access", Arg: Table, Reads: ClientID},
	{Name: "check_reverse_client_hostname_mx_access", Arg: Table, Reads: ClientID},
	{Name: "check_reverse_client_hostname_a_access", Arg: Table, Reads: ClientID},

	// HELO/EHLO argument.
	{Name: "check_helo_access", Arg: Table, Reads: HELOName},
	{Name: "reject_invalid_helo_hostname", Reads: HELOName},
	{Name: "reject_invalid_hostname", Reads: HELOName, Replaced: "reject_invalid_helo_hostname"},
	{Name: "reject_unknown_helo_hostname", Reads: HELOName},
	{Name: "reject_unknown_hostname", Reads: HELOName, Replaced: "reject_unknown_helo_hostname"},
	{Name: "permit_naked_ip_address", Reads: HELOName},
	{Name: "check_helo_ns_access", Arg: Table, Reads: HELOName},
	{Name: "check_helo_mx_access", Arg: Table, Reads: HELOName},
	{Name: "check_helo_a_access", Arg: Table, Reads: HELOName},
	{Name: "reject_non_fqdn_helo_hostname", Reads: HELOName},
	{Name: "reject_non_fqdn_hostname", Reads: HELOName, Replaced: "reject_non_fqdn_helo_hostname"},
	{Name: "reject_rhsbl_helo", Arg: Domain, Reads: HELOName},

	// Sender address. reject_unknown_address runs the same code as
	// reject_unknown_sender_domain (undocumented, still accepted).
	{Name: "check_sender_access", Arg: Table, Reads: SenderAddr},
	{Name: "reject_unknown_address", Reads: SenderAddr, Replaced: "reject_unknown_sender_domain"},
	{Name: "reject_unknown_sender_domain", Reads: SenderAddr},
	{Name: "reject_unverified_sender", Reads: SenderAddr},
	{Name: "reject_non_fqdn_sender", Reads: SenderAddr},
	{Name: "reject_authenticated_sender_login_mismatch", Reads: SenderAddr},
	{Name: "reject_known_sender_login_mismatch", Reads: SenderAddr},
	{Name: "reject_unauthenticated_sender_login_mismatch", Reads: SenderAddr},
	{Name: "check_sender_ns_access", Arg: Table, Reads: SenderAddr},
	{Name: "check_sender_mx_access", Arg: Table, Reads: SenderAddr},
	{Name: "check_sender_a_access", Arg: Table, Reads: SenderAddr},
	{Name: "reject_rhsbl_sender", Arg: Domain, Reads: SenderAddr},
	{Name: "reject_unlisted_sender", Reads: SenderAddr},

	// Recipient address.
	{Name: "check_recipient_access", Arg: Table, Reads: RcptAddr},
	{Name: "permit_mx_backup", Reads: RcptAddr},
	{Name: "permit_auth_destination", Reads: RcptAddr},
	{Name: "reject_unauth_destination", Reads: RcptAddr, Guard: true},
	{Name: "defer_unauth_destination", Reads: RcptAddr, Guard: true},
	{Name: "check_relay_domains", Reads: RcptAddr, Guard: true},
	{Name: "permit_sasl_authenticated", Reads: ClientID},
	{Name: "permit_tls_all_clientcerts", Reads: ClientID},
	{Name: "permit_tls_clientcerts", Reads: ClientID},
	{Name: "reject_unknown_recipient_domain", Reads: RcptAddr},
	{Name: "reject_non_fqdn_recipient", Reads: RcptAddr},
	{Name: "check_recipient_ns_access", Arg: Table, Reads: RcptAddr},
	{Name: "check_recipient_mx_access", Arg: Table, Reads: RcptAddr},
	{Name: "check_recipient_a_access", Arg: Table, Reads: RcptAddr},
	{Name: "reject_rhsbl_recipient", Arg: Domain, Reads: RcptAddr},
	{Name: "check_recipient_maps", Reads: RcptAddr, Replaced: "reject_unlisted_recipient"},
	{Name: "reject_unlisted_recipient", Reads: RcptAddr},
	{Name: "reject_multi_recipient_bounce", Reads: RcptAddr},
	{Name: "reject_unverified_recipient", Reads: RcptAddr},

	// ETRN argument.
	{Name: "check_etrn_access", Arg: Table, Reads: ETRNDomain},

	// Built-in restriction class (smtpd_check_init()): expands to
	// reject_authenticated_sender_login_mismatch
	// reject_unauthenticated_sender_login_mismatch.
	{Name: "reject_sender_login_mismatch", Reads: SenderAddr, Class: true},
}

var byName = func() map[string]Info {
	m := make(map[string]Info, len(names))
	for _, i := range names {
		m[i.Name] = i
	}
	return m
}()

// Lookup returns what smtpd knows of name. Names compare case-insensitively
// (strcasecmp), except the built-in class, which compares exactly.
func Lookup(name string) (Info, bool) {
	i, ok := byName[strings.ToLower(name)]
	if !ok || (i.Class && name != i.Name) {
		return Info{}, false
	}
	return i, true
}

// Known reports whether smtpd 3.7 accepts name as a built-in restriction.
func Known(name string) bool {
	_, ok := Lookup(name)
	return ok
}

// TakesArg reports whether smtpd reads the element after name as its
// argument.
func TakesArg(name string) bool {
	i, ok := Lookup(name)
	return ok && i.TakesArg()
}

// IsGuard reports whether smtpd's startup check counts name as a relay
// guard.
func IsGuard(name string) bool {
	i, ok := Lookup(name)
	return ok && i.Guard
}

// Names returns every built-in name, sorted (for "did you mean").
func Names() []string {
	out := make([]string, 0, len(names))
	for _, i := range names {
		out = append(out, i.Name)
	}
	sort.Strings(out)
	return out
}

// All returns the whole list in smtpd_check.c's order.
func All() []Info { return append([]Info(nil), names...) }

// IsTable reports whether a list element in a name position is a bare
// type:table: generic_checks() tests strchr(name, ':') before any name
// comparison, so any element with a colon is one.
func IsTable(elem string) bool { return strings.IndexByte(elem, ':') >= 0 }

// Separators are CHARS_COMMA_SP, the separators of smtpd_check_parse()'s
// mystrtokq() (sys_defs.h).
const Separators = ", \t\r\n"

// Split splits a restriction list value into elements as
// smtpd_check_parse() does: on commas and blanks, a {...} group (Postfix
// 3.0 and later) staying one element, braces included.
func Split(value string) []string { return table.SplitBraced(value, Separators) }

// Element is one restriction of a list with its argument.
type Element struct {
	Name string // as written; for a bare table, the table
	Arg  string // the argument, when Name takes one and an element follows
	// Table marks a bare type:table: List.BareTable() on that table.
	Table bool
}

// Key is the name as smtpd compares it (lower case); "" for a bare table.
func (e Element) Key() string {
	if e.Table {
		return ""
	}
	return strings.ToLower(e.Name)
}

// Text is the element as written, with its argument.
func (e Element) Text() string {
	if e.Arg != "" {
		return e.Name + " " + e.Arg
	}
	return e.Name
}

// Group groups split elements into restrictions: a name that takes an
// argument consumes the next element, whatever it is (generic_checks()
// advances past it; a check_*_access whose argument has no ':' is a 451
// 4.3.5 there, not a restriction of its own).
func Group(elems []string) []Element {
	// Counted first: a list can hold a million restrictions, and a
	// growing slice would copy them over and over.
	n := 0
	for i := 0; i < len(elems); i++ {
		if !IsTable(elems[i]) && TakesArg(elems[i]) {
			i++
		}
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]Element, 0, n)
	for i := 0; i < len(elems); i++ {
		if IsTable(elems[i]) {
			out = append(out, Element{Name: elems[i], Table: true})
			continue
		}
		e := Element{Name: elems[i]}
		if TakesArg(elems[i]) && i+1 < len(elems) {
			e.Arg = elems[i+1]
			i++
		}
		out = append(out, e)
	}
	return out
}

// Parse splits and groups a restriction list value.
func Parse(value string) []Element { return Group(Split(value)) }
