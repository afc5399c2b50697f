// Package matchlist evaluates Postfix match lists the way Postfix 3.7 does
// (match_list.c, match_ops.c, namadr_list.c, domain_list.c, string_list.c).
//
// A list is a value such as mynetworks or relay_domains: patterns separated
// by commas and/or whitespace, evaluated left to right until one matches.
// "!pattern" negates: when it matches, the search ends with "no match".
// "/file/name" is replaced by the file's patterns (each keeps the file's own
// file:line; "!/file/name" negates every one of them). "type:table" matches
// when a lookup finds the key; the result is ignored.
//
// Three kinds of list exist (Kind):
//
//   - KindHost (namadr_list): mynetworks, permit_mx_backup_networks,
//     smtpd_authorized_xclient_hosts, smtpd_authorized_xforward_hosts ...
//     Each pattern is tried against the client name, then the address:
//     net/mask, a bare IPv4 address, [ipv6] and [ipv6]/len (the brackets
//     are required: an unbracketed IPv6 address reads as a "type:table"
//     with an unknown type), host names with parent-domain matching per
//     parent_domain_matches_subdomains.
//   - KindDomain (domain_list): relay_domains and other domain lists: host
//     name patterns; tables are looked up with the domain and its parents.
//   - StringList (string_list): mydestination, virtual_alias_domains,
//     virtual_mailbox_domains: exact, case-insensitive strings; tables are
//     looked up with the whole domain only (trivial-rewrite resolve.c).
//
// A Match is definite (Matched true or false), Unknown (some entry the
// search reached cannot be evaluated offline: ldap:, a database without its
// source ...), or carries Err: Postfix itself fails the search (a pattern
// such as 168.100.3.1/27 with host bits set, an unbracketed IPv6 address, a
// table that cannot be opened, a missing /file/name on the live system).
// smtpd then answers 451 4.3.0 for the restriction that consulted the list.
// "Cannot evaluate" is never reported as "no match".
//
// Parsed lists are read-only and safe for concurrent use.
package matchlist

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// Kind selects the matching rules of a list.
type Kind int

const (
	// KindString matches whole strings (string_list.c, match_string).
	KindString Kind = iota
	// KindDomain matches host and domain names (domain_list.c,
	// match_hostname).
	KindDomain
	// KindHost matches client names and addresses (namadr_list.c,
	// match_hostname then match_hostaddr).
	KindHost
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string list"
	case KindDomain:
		return "domain list"
	case KindHost:
		return "host/address list"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// kinds maps parameters to the list type Postfix builds from them.
var kinds = map[string]Kind{
	"mynetworks":                          KindHost,
	"permit_mx_backup_networks":           KindHost,
	"smtpd_authorized_xclient_hosts":      KindHost,
	"smtpd_authorized_xforward_hosts":     KindHost,
	"smtpd_authorized_verp_clients":       KindHost,
	"smtpd_client_event_limit_exceptions": KindHost,
	"debug_peer_list":                     KindHost,
	"qmqpd_authorized_clients":            KindHost,
	"mydestination":                       KindString,
	"virtual_alias_domains":               KindString,
	"virtual_mailbox_domains":             KindString,
	"relay_domains":                       KindDomain,
	"fast_flush_domains":                  KindDomain,
}

// KindOf returns the kind of list Postfix builds from param; unknown
// parameters are reported as KindDomain.
func KindOf(param string) Kind {
	if k, ok := kinds[param]; ok {
		return k
	}
	return KindDomain
}

// DefaultParentDomainMatchesSubdomains is `postconf -d
// parent_domain_matches_subdomains` for Postfix 3.7.
const DefaultParentDomainMatchesSubdomains = "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps"

// Options control parsing.
type Options struct {
	// Table is passed to table.Open for type:table entries and is also
	// used to read /file/name entries. NoFoldFix is forced on, as
	// match_list.c opens tables without DICT_FLAG_FOLD_FIX.
	Table table.Options
	// ParentDomainMatchesSubdomains is the expanded value of
	// parent_domain_matches_subdomains; nil means its Postfix 3.7 default.
	ParentDomainMatchesSubdomains *string
}

// ParentStyle reports whether param is listed in
// parent_domain_matches_subdomains (match_parent_style.c): then the pattern
// "example.com" also matches subdomains.
func (o Options) ParentStyle(param string) bool {
	v := DefaultParentDomainMatchesSubdomains
	if o.ParentDomainMatchesSubdomains != nil {
		v = *o.ParentDomainMatchesSubdomains
	}
	for _, f := range strings.FieldsFunc(v, isSep) {
		if strings.EqualFold(f, param) {
			return true
		}
	}
	return false
}

// EntryKind classifies an entry for reporting; matching follows Postfix's
// string rules whatever the kind.
type EntryKind int

const (
	// EntryName is a host/domain name or any other plain string.
	EntryName EntryKind = iota
	// EntryAddress is a bare IPv4 address or a bracketed IPv6 address.
	EntryAddress
	// EntryNetwork is net/mask or [ipv6]/len (Prefix; Err when Postfix
	// refuses it).
	EntryNetwork
	// EntryTable is type:table.
	EntryTable
	// EntryFile stands for a /file/name that could not be read.
	EntryFile
)

func (k EntryKind) String() string {
	return [...]string{"name", "address", "network", "table", "file"}[k]
}

// Entry is one pattern of a list, in evaluation order.
type Entry struct {
	// Raw is the pattern as written, with its '!'s (file entries: as in
	// the file).
	Raw    string
	Negate bool
	Kind   EntryKind
	// Pattern is the pattern without '!', case-folded as Postfix folds it
	// (tables: the type:name as written).
	Pattern string
	// Prefix is the network of an EntryAddress or EntryNetwork entry (for
	// an entry with host bits set: the network Postfix suggests).
	Prefix netip.Prefix
	// Table is the opened table of an EntryTable entry, nil when Err is
	// set.
	Table table.Table
	// Err is set when evaluating the entry cannot give an answer: a
	// *table.UnknownError (unknown offline) or anything else (Postfix fails
	// every search that reaches the entry with an address of the entry's
	// family (networks) or at all (tables, files)).
	Err error
	// Pos is where the entry is written (main.cf:line or the file's
	// file:line).
	Pos diag.Pos

	cidrWhy  string // cidr_match_parse() error text, if any
	cidrOK   bool   // pattern passed match_hostaddr()'s filters and parses
	v6       bool   // pattern contains ':'
	addrCand bool   // pattern reaches cidr_match_parse() in match_hostaddr()
}

// Unknown reports whether the entry cannot be evaluated offline.
func (e *Entry) Unknown() bool { return table.IsUnknown(e.Err) }

// Match is the result of a search.
type Match struct {
	// Matched is the answer when neither Unknown nor Err is set.
	Matched bool
	// Unknown: an entry the search reached cannot be evaluated offline and
	// the answer depends on it.
	Unknown bool
	// Err: Postfix itself fails this search (list->error); smtpd answers
	// 451 4.3.0 "Temporary lookup failure" for the restriction.
	Err error
	// Reason explains the answer for a report; it is empty when no entry
	// matched (a miss), which Why words on demand.
	Reason string
	// Entry is the deciding entry, if any.
	Entry *Entry
	// missOf, missName and missAddr are what Why needs to word a miss.
	missOf             *List
	missName, missAddr string
}

// List is a parsed match list.
type List struct {
	Param   string
	Kind    Kind
	Parent  bool // parent-domain matching (parent_domain_matches_subdomains)
	Entries []*Entry

	ix *indexedList // built on first search of a long list (index.go)
}

// HostList is a list of client names and addresses (namadr_list).
type HostList struct{ List }

// DomainList is a list of domains, of KindDomain or KindString.
type DomainList struct{ List }

// ParseHostList parses a host/address list such as mynetworks found at
// position at. The error is non-nil only when Postfix itself refuses the
// list at start-up and the daemon exits (see Parse).
func ParseHostList(param, value string, at diag.Pos, opt Options) (*HostList, []diag.Warning, error) {
	l, w, err := Parse(KindHost, param, value, at, opt)
	if err != nil {
		return nil, w, err
	}
	return &HostList{*l}, w, nil
}

// ParseDomainList parses a domain list. mydestination and the
// virtual_*_domains parameters are string lists in Postfix (no subdomain
// matching at all); other parameters are domain lists.
func ParseDomainList(param, value string, at diag.Pos, opt Options) (*DomainList, []diag.Warning, error) {
	k := KindOf(param)
	if k == KindHost {
		k = KindDomain
	}
	l, w, err := Parse(k, param, value, at, opt)
	if err != nil {
		return nil, w, err
	}
	return &DomainList{*l}, w, nil
}

// Match matches a client. addr is the address as smtpd sees it: Postfix
// converts IPv4-mapped IPv6 addresses to IPv4 when IPv4 is enabled, so
// callers Unmap() them in that case. hostname is the verified client name,
// or "unknown" (also used when empty).
func (l *HostList) Match(addr netip.Addr, hostname string) Match {
	if hostname == "" {
		hostname = "unknown"
	}
	a := ""
	if addr.IsValid() {
		a = table.FormatAddr(addr)
	}
	return l.match(fold(hostname), fold(a))
}

// Match matches a domain (the recipient domain, without a trailing dot).
func (l *DomainList) Match(domain string) Match {
	return l.match(fold(domain), "")
}

// MatchString matches one string against any kind of list.
func (l *List) MatchString(s string) Match {
	return l.match(fold(s), fold(s))
}

// isSep matches the separators of match lists (CHARS_COMMA_SP).
func isSep(r rune) bool {
	return r == ' ' || r == ',' || r == '\t' || r == '\r' || r == '\n'
}

// fold is casefold() without SMTPUTF8: ASCII letters only.
func fold(s string) string { return table.ASCIILower(s) }

// unknownErr wraps a reason as an unknown result.
func unknownErr(pos diag.Pos, spec, reason string, err error) error {
	return &table.UnknownError{Spec: spec, Pos: pos, Reason: reason, Err: err}
}
