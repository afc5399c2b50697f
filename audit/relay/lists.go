package relay

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/matchlist"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// hostMatcher and domainMatcher are the match lists the model asks; the
// semantics (first match wins, "!pattern", files, tables, host bits) are
// package matchlist's.
type hostMatcher interface {
	MatchHost(addr netip.Addr, name string) hostMatch
}

type domainMatcher interface {
	MatchDomain(domain string) domainMatch
}

// domainMatch is the answer of a domain list. Unknown is a table pfaudit
// cannot read offline (mysql:, ldap:, ...); Fail is a list Postfix itself
// cannot search (a missing file, a bad pattern).
type domainMatch struct {
	Matched, Unknown, Fail bool
	Why                    string
}

// hostMatch is the answer of a host list. Fail is a lookup failure Postfix
// reports as 451 4.3.0 (e.g. an entry with host bits set, reached before a
// match). Why is empty for a plain miss (no entry matched), as in
// domainMatch.
type hostMatch struct {
	Matched, Unknown, Fail bool
	Why                    string
}

type errDomainList struct{ err error }

func (e errDomainList) MatchDomain(string) domainMatch {
	return domainMatch{Fail: true, Why: e.err.Error()}
}

// fatalListError is a list smtpd cannot even build: it exits on every
// connection.
type fatalListError struct{ msg string }

func (e *fatalListError) Error() string { return e.msg }

func (m *Model) tableOptions() table.Options {
	topt := m.opt.Tables
	if topt.Cancel == nil && m.opt.Context != nil {
		topt.Cancel = m.opt.Cancelled
	}
	if topt.Dir == "" {
		topt.Dir = m.expand("queue_directory")
	}
	return topt
}

func (m *Model) listOptions() matchlist.Options {
	pd := m.expand("parent_domain_matches_subdomains")
	return matchlist.Options{Table: m.tableOptions(), ParentDomainMatchesSubdomains: &pd}
}

type hostList struct{ l *matchlist.HostList }

// buildHostList parses a host/address list such as mynetworks.
func buildHostList(param, value string, pos diag.Pos, m *Model) (hostMatcher, error) {
	// Postfix reads an unbracketed IPv6 network as a type:name table: one
	// starting with "::" ("::1/128") has an empty type and smtpd exits on
	// every connection (matchlist reports it as a parse error); others
	// ("fe80::/10") fail every search that reaches them (451).
	l, _, err := matchlist.ParseHostList(param, value, pos, m.listOptions())
	if err != nil {
		return nil, &fatalListError{fmt.Sprintf("%s: smtpd exits on every connection: %v", param, err)}
	}
	return hostList{l}, nil
}

func (h hostList) MatchHost(addr netip.Addr, name string) hostMatch {
	r := h.l.Match(addr.Unmap(), name)
	if r.Entry == nil && !r.Unknown && r.Err == nil && !r.Matched && r.Reason == "" {
		// A plain miss: the model words it itself (notInMynetworks).
		return hostMatch{}
	}
	why := r.Why()
	if r.Entry != nil {
		why = r.Entry.Raw
		if s := r.Entry.Pos.String(); s != "" {
			why += " at " + s
		}
		if r.Reason != "" && (r.Unknown || r.Err != nil) {
			why += ": " + r.Reason
		}
	}
	switch {
	case r.Unknown:
		return hostMatch{Unknown: true, Why: why}
	case r.Err != nil:
		if why == "" {
			why = r.Err.Error()
		}
		return hostMatch{Fail: true, Why: why}
	}
	return hostMatch{Matched: r.Matched, Why: why}
}

type domainList struct{ l *matchlist.DomainList }

// buildDomainList parses a domain list such as relay_domains.
func buildDomainList(param, value string, pos diag.Pos, m *Model) (domainMatcher, error) {
	l, _, err := matchlist.ParseDomainList(param, value, pos, m.listOptions())
	if err != nil {
		return nil, err
	}
	return domainList{l}, nil
}

func (d domainList) MatchDomain(dom string) domainMatch {
	r := d.l.Match(dom)
	if r.Entry == nil && !r.Unknown && r.Err == nil && !r.Matched && r.Reason == "" {
		// A plain miss: nothing reports why a domain is in no list.
		return domainMatch{}
	}
	why := r.Why()
	if r.Entry != nil {
		why = r.Entry.Raw
	}
	switch {
	case r.Err != nil:
		if why == "" {
			why = r.Err.Error()
		} else if r.Reason != "" && r.Entry != nil {
			why += ": " + r.Reason
		}
		return domainMatch{Fail: true, Why: why}
	case r.Unknown:
		if r.Reason != "" {
			why = r.Reason // it names the entry already
		}
		return domainMatch{Unknown: true, Why: why}
	}
	return domainMatch{Matched: r.Matched, Why: why}
}

// isTableSpec reports whether an entry is type:name.
func isTableSpec(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || strings.HasPrefix(s, "[") {
		return false
	}
	for _, c := range s[:i] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
