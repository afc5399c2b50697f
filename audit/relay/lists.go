package relay

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// hostMatcher and domainMatcher are the match lists the model asks
// (match_list.c semantics: first match wins, "!pattern" ends the search
// with no match). unknown is set when the answer cannot be known offline.
type hostMatcher interface {
	MatchHost(addr netip.Addr, name string) hostMatch
}

// hostMatch is the answer of a host list. Fail is a lookup failure Postfix
// reports as 451 4.3.0 (e.g. an entry with host bits set, reached before a
// match).
type hostMatch struct {
	Matched, Unknown, Fail bool
	Why                    string
}

type domainMatcher interface {
	MatchDomain(domain string) (matched, unknown bool, why string)
}

type errDomainList struct{ err error }

func (e errDomainList) MatchDomain(string) (bool, bool, string) { return false, true, e.err.Error() }

type listEntry struct {
	negate bool
	prefix netip.Prefix
	host   string
	tbl    table.Table
	tblErr error
	raw    string
	pos    diag.Pos
	bad    string // an entry Postfix cannot use: fails the lookup when reached
}

type matchList struct {
	param   string
	entries []listEntry
	parents bool // parent_domain_matches_subdomains names this list
}

// expandEntries splits a list value, reading /file/name entries in place
// (their entries carry the file's own file:line).
func expandEntries(value string, pos diag.Pos, depth int) ([]listEntry, error) {
	var out []listEntry
	for _, it := range splitRestrictions(value) {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg = !neg
			it = it[1:]
		}
		if strings.HasPrefix(it, "/") && depth < 5 {
			data, err := os.ReadFile(it)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it, err)
			}
			for i, line := range strings.Split(string(data), "\n") {
				if j := strings.IndexByte(line, '#'); j >= 0 {
					line = line[:j]
				}
				sub, err := expandEntries(line, diag.Pos{File: it, Line: i + 1}, depth+1)
				if err != nil {
					return nil, err
				}
				for k := range sub {
					sub[k].negate = sub[k].negate != neg
				}
				out = append(out, sub...)
			}
			continue
		}
		out = append(out, listEntry{negate: neg, raw: it, pos: pos})
	}
	return out, nil
}

func parentsFor(m *Model, param string) bool {
	for _, p := range postconf.SplitList(m.expand("parent_domain_matches_subdomains")) {
		if p == param {
			return true
		}
	}
	return false
}

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

// buildHostList parses a host/address list such as mynetworks.
func buildHostList(param, value string, pos diag.Pos, m *Model) (hostMatcher, error) {
	ents, err := expandEntries(value, pos, 0)
	if err != nil {
		return nil, err
	}
	l := &matchList{param: param, parents: parentsFor(m, param)}
	for _, e := range ents {
		if unbracketedIPv6(e.raw) {
			// Postfix reads "::1/128" or "fe80::/10" as a type:name table
			// and smtpd dies opening it ("expecting type:name form" or an
			// unsupported dictionary type) on every connection.
			return nil, &fatalListError{fmt.Sprintf("%s: %s: IPv6 network %q without brackets: Postfix reads it as a lookup table and smtpd exits on every connection (write [addr]/len)", e.pos, param, e.raw)}
		}
		switch {
		case isTableSpec(e.raw):
			e.tbl, e.tblErr = m.openTable(e.raw)
		default:
			p, isNet, err := parseNet(e.raw)
			if err != nil {
				e.bad = fmt.Sprintf("%s: %v", param, err)
				if s := e.pos.String(); s != "" {
					e.bad = s + ": " + e.bad
				}
			} else if isNet {
				e.prefix = p
			} else {
				e.host = strings.ToLower(e.raw)
			}
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}

// parseNet parses "a.b.c.d", "a.b.c.d/n", "[v6]", "[v6]/n". Host bits set
// make Postfix fail the whole list ("non-null host address bits").
func parseNet(s string) (netip.Prefix, bool, error) {
	addr, bits, hasLen := s, "", false
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		addr, bits, hasLen = s[:i], s[i+1:], true
	}
	bracketed := strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]")
	addr = strings.Trim(addr, "[]")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		if hasLen {
			return netip.Prefix{}, false, fmt.Errorf("bad network pattern %q", s)
		}
		return netip.Prefix{}, false, nil // a hostname
	}
	if a.Is4In6() && hasLen {
		// [::ffff:a.b.c.d]/len: the IPv4-mapped form of an IPv4 network.
		var v int
		if _, err := fmt.Sscanf(bits, "%d", &v); err != nil || v < 96 || v > 128 {
			return netip.Prefix{}, false, fmt.Errorf("bad mask length in %q", s)
		}
		p := netip.PrefixFrom(a.Unmap(), v-96)
		if p.Masked().Addr() != a.Unmap() {
			return netip.Prefix{}, false, fmt.Errorf("non-null host address bits in %q (Postfix then fails every lookup: 451 4.3.0)", s)
		}
		return p, true, nil
	}
	a = a.Unmap()
	if a.Is6() && !bracketed && hasLen {
		return netip.Prefix{}, false, fmt.Errorf("IPv6 network %q must be written in brackets, [addr]/len", s)
	}
	n := a.BitLen()
	if hasLen {
		var v int
		if _, err := fmt.Sscanf(bits, "%d", &v); err != nil || v < 0 || v > a.BitLen() || fmt.Sprint(v) != bits {
			return netip.Prefix{}, false, fmt.Errorf("bad mask length in %q", s)
		}
		n = v
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked().Addr() != a {
		return netip.Prefix{}, false, fmt.Errorf("non-null host address bits in %q, perhaps you should use %q instead (Postfix then fails every lookup: 451 4.3.0)", s, p.Masked().String())
	}
	return p, true, nil
}

func (l *matchList) MatchHost(addr netip.Addr, name string) hostMatch {
	addr = addr.Unmap()
	name = strings.ToLower(name)
	for _, e := range l.entries {
		hit, unknown, why := false, false, ""
		switch {
		case e.bad != "":
			return hostMatch{Fail: true, Why: e.bad}
		case e.tbl != nil || e.tblErr != nil:
			if e.tblErr != nil {
				if table.IsUnknown(e.tblErr) {
					return hostMatch{Unknown: true, Why: e.tblErr.Error()}
				}
				return hostMatch{Fail: true, Why: e.tblErr.Error()}
			}
			for _, k := range []string{addr.String(), name} {
				if k == "" || k == "unknown" {
					continue
				}
				r, err := e.tbl.Lookup(k)
				if err != nil {
					return hostMatch{Unknown: table.IsUnknown(err), Fail: !table.IsUnknown(err), Why: err.Error()}
				}
				if r.Found {
					hit, why = true, e.raw+" has "+k
					break
				}
			}
		case e.prefix.IsValid():
			hit, why = e.prefix.Contains(addr), e.raw
		default:
			if name != "" && name != "unknown" {
				hit = name == e.host || (l.parents && strings.HasSuffix(name, "."+e.host)) || (strings.HasPrefix(e.host, ".") && strings.HasSuffix(name, e.host))
				why = e.raw
			}
		}
		if unknown {
			return hostMatch{Unknown: true, Why: why}
		}
		if hit {
			if e.negate {
				return hostMatch{Why: "!" + why}
			}
			where := ""
			if s := e.pos.String(); s != "" {
				where = " at " + s
			}
			return hostMatch{Matched: true, Why: why + where}
		}
	}
	return hostMatch{}
}

// buildDomainList parses a domain list such as relay_domains.
func buildDomainList(param, value string, pos diag.Pos, m *Model) (domainMatcher, error) {
	ents, err := expandEntries(value, pos, 0)
	if err != nil {
		return nil, err
	}
	l := &matchList{param: param, parents: parentsFor(m, param)}
	for _, e := range ents {
		if isTableSpec(e.raw) {
			e.tbl, e.tblErr = m.openTable(e.raw)
		} else {
			e.host = strings.ToLower(strings.TrimSuffix(e.raw, "."))
		}
		l.entries = append(l.entries, e)
	}
	return l, nil
}

func (l *matchList) MatchDomain(d string) (bool, bool, string) {
	d = strings.ToLower(d)
	for _, e := range l.entries {
		hit := false
		if e.tbl != nil || e.tblErr != nil {
			if e.tblErr != nil {
				return false, true, e.tblErr.Error()
			}
			keys := []string{d}
			if l.parents {
				for rest := d; strings.Contains(rest, "."); {
					rest = rest[strings.IndexByte(rest, '.')+1:]
					keys = append(keys, rest, "."+rest)
				}
			}
			for _, k := range keys {
				r, err := e.tbl.Lookup(k)
				if err != nil {
					return false, true, err.Error()
				}
				if r.Found {
					hit = true
					break
				}
			}
		} else {
			h := e.host
			hit = d == h || (l.parents && strings.HasSuffix(d, "."+h)) || (strings.HasPrefix(h, ".") && strings.HasSuffix(d, h))
		}
		if hit {
			if e.negate {
				return false, false, "!" + e.raw
			}
			return true, false, e.raw
		}
	}
	return false, false, ""
}

// fatalListError is a list smtpd cannot even build: it exits.
type fatalListError struct{ msg string }

func (e *fatalListError) Error() string { return e.msg }

func unbracketedIPv6(s string) bool {
	if strings.HasPrefix(s, "[") || !strings.Contains(s, ":") {
		return false
	}
	a := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		a = s[:i]
	}
	ip, err := netip.ParseAddr(a)
	return err == nil && ip.Is6()
}
