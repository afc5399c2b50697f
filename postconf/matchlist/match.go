package matchlist

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// subject is what one search looks for, case-folded.
type subject struct {
	name string     // host or domain name, or the string of a KindString
	addr string     // client address text ("" when none)
	ip   netip.Addr // addr parsed, when valid
	// addrOK: addr holds only the characters match_hostaddr() accepts;
	// otherwise no address pattern can match it.
	addrOK bool
}

type outcome int

const (
	noMatch outcome = iota
	matched
	unknown
	failed
)

func (l *List) match(name, addr string) Match {
	s := &subject{name: name, addr: addr, addrOK: addr != "" && onlyChars(addr, v6Chars)}
	if a, ok := table.ParseAddr(addr); ok {
		s.ip = a
	}
	return l.evalFrom(0, 0, s)
}

// phases is how many match functions a pattern goes through
// (match_list_init()'s count): name then address for host lists.
func (l *List) phases() int {
	if l.Kind == KindHost {
		return 2
	}
	return 1
}

// evalFrom searches from entry i, match function phase, on. When an entry
// cannot be evaluated the rest of the list is searched too: if the answer is
// the same whether or not the entry matches, it is still definite.
func (l *List) evalFrom(i, phase int, s *subject) Match {
	n := l.phases()
	var cur *cursor
	if x := l.index(); x != nil {
		cur = x.cursor(l, s)
	}
	for ; i < len(l.Entries); i, phase = i+1, 0 {
		if cur != nil && phase == 0 {
			if i = cur.next(i); i < 0 {
				break
			}
		}
		e := l.Entries[i]
		for ; phase < n; phase++ {
			o, err := l.step(e, phase, s)
			switch o {
			case matched:
				return Match{Matched: !e.Negate, Entry: e, Reason: what(s, l, phase) + " matches " + e.Raw + at(e)}
			case failed:
				return Match{Err: err, Entry: e, Reason: fmt.Sprintf("Postfix fails the search at %s%s", e.Raw, at(e))}
			case unknown:
				// An entry that failed to open answers no phase; a table
				// may still answer the address lookup.
				next, nextPhase := i, phase+1
				if e.Err != nil {
					next, nextPhase = i+1, 0
				}
				rest := l.evalFrom(next, nextPhase, s)
				if !rest.Unknown && rest.Err == nil && rest.Matched == !e.Negate {
					rest.Reason = rest.Why()
					if !strings.HasSuffix(rest.Reason, offlineNote) {
						rest.Reason += fmt.Sprintf(" (the same whether or not %s%s matches%s", e.Raw, at(e), offlineNote)
					}
					return rest
				}
				verb := "cannot be evaluated offline"
				if errors.Is(err, fs.ErrPermission) {
					verb = "cannot be read"
				}
				return Match{Unknown: true, Entry: e, Reason: fmt.Sprintf("%s%s %s: %v", e.Raw, at(e), verb, err)}
			}
		}
	}
	return Match{missOf: l, missName: s.name, missAddr: s.addr}
}

// Why explains the answer for a report: Reason, or for a search that
// found no entry, the words that say so. Those are made only when asked:
// most searches of an analysis find nothing (each untrusted client in
// mynetworks, each test domain in every domain list), and the relay model
// words a miss itself.
func (m Match) Why() string {
	if m.Reason != "" || m.missOf == nil {
		return m.Reason
	}
	s := subject{name: m.missName, addr: m.missAddr}
	return "no entry of " + m.missOf.Param + " matches " + what(&s, m.missOf, -1)
}

const offlineNote = ", which cannot be evaluated offline)"

func at(e *Entry) string {
	if p := e.Pos.String(); p != "" {
		return " (" + p + ")"
	}
	return ""
}

func what(s *subject, l *List, phase int) string {
	switch {
	case l.Kind == KindHost && phase == 1:
		return "address " + s.addr
	case l.Kind == KindHost && phase == 0:
		return "name " + s.name
	case l.Kind == KindHost:
		return s.name + "[" + s.addr + "]"
	}
	return s.name
}

// step applies one match function to one entry.
func (l *List) step(e *Entry, phase int, s *subject) (outcome, error) {
	if e.Kind == EntryTable || e.Kind == EntryFile {
		if e.Err != nil {
			// The table (or "nofile" stand-in) fails its first lookup.
			return errOutcome(e.Err), e.Err
		}
	}
	switch {
	case l.Kind == KindString:
		return l.matchString(e, s.name)
	case phase == 0:
		return l.matchHostname(e, s.name)
	default:
		return l.matchHostaddr(e, s)
	}
}

func errOutcome(err error) outcome {
	if table.IsUnknown(err) {
		return unknown
	}
	return failed
}

// lookup asks a table; any error ends the search (match_list.c).
func lookup(t table.Table, key string) (outcome, error) {
	r, err := t.Lookup(key)
	if err != nil {
		return errOutcome(err), err
	}
	if r.Found {
		return matched, nil
	}
	return noMatch, nil
}

// matchString is match_string(): a table lookup or a case-insensitive
// comparison.
func (l *List) matchString(e *Entry, s string) (outcome, error) {
	if e.Kind == EntryTable {
		return lookup(e.Table, s)
	}
	if s == e.Pattern {
		return matched, nil
	}
	return noMatch, nil
}

// matchHostname is match_hostname(): exact name, parent domains per
// parent_domain_matches_subdomains or ".domain" patterns; fixed tables are
// also asked for the parent domains.
func (l *List) matchHostname(e *Entry, name string) (outcome, error) {
	if e.Kind == EntryTable {
		fixed := e.Table.Fixed()
		entry := name
		for entry != "" {
			if entry == name || fixed {
				if o, err := lookup(e.Table, entry); o != noMatch {
					return o, err
				}
			}
			j := strings.IndexByte(entry[1:], '.')
			if j < 0 {
				break
			}
			entry = entry[1+j:]
			if l.Parent {
				entry = entry[1:]
			}
		}
		return noMatch, nil
	}
	p := e.Pattern
	if name == p {
		return matched, nil
	}
	if len(name) > len(p) && strings.HasSuffix(name, p) {
		if l.Parent {
			if name[len(name)-len(p)-1] == '.' {
				return matched, nil
			}
		} else if p != "" && p[0] == '.' {
			return matched, nil
		}
	}
	return noMatch, nil
}

// matchHostaddr is match_hostaddr(): exact address text, [address], or
// net/mask parsed by cidr_match_parse(), with Postfix's filters deciding
// which patterns are parsed at all.
func (l *List) matchHostaddr(e *Entry, s *subject) (outcome, error) {
	a := s.addr
	if !s.addrOK {
		return noMatch, nil
	}
	if e.Kind == EntryTable {
		return lookup(e.Table, a)
	}
	p := e.Pattern
	if p[0] != '[' {
		if a == p {
			return matched, nil
		}
	} else if len(p) == len(a)+2 && p[1:len(p)-1] == a && p[len(p)-1] == ']' {
		return matched, nil
	}
	if strings.Contains(a, ":") != e.v6 || !e.addrCand {
		return noMatch, nil
	}
	if e.cidrWhy != "" {
		return failed, e.Err
	}
	if !s.ip.IsValid() || s.ip.Is6() != e.Prefix.Addr().Is6() {
		return noMatch, nil
	}
	if e.Prefix.Contains(s.ip) {
		return matched, nil
	}
	return noMatch, nil
}
