package matchlist

import (
	"net/netip"

	"github.com/pfaudit/pfaudit/postconf/table"
)

// Coverage describes which client addresses a host list matches on their
// address alone, following first-match order and negation.
type Coverage struct {
	// Trusted are the addresses the list certainly matches, whatever the
	// client's name, as the fewest prefixes (IPv4 first).
	Trusted []netip.Prefix
	// Undetermined are further addresses that may match: through a host
	// name pattern, a table pfaudit cannot enumerate, an entry that cannot
	// be evaluated offline, or after a negated entry of that kind.
	Undetermined []netip.Prefix
	// Failing are addresses for which Postfix fails the search (unless an
	// earlier name or table entry matched): smtpd answers 451 4.3.0.
	Failing []netip.Prefix
	// AllIPv4 and AllIPv6: Trusted holds every address of the family.
	AllIPv4, AllIPv6 bool
	// AllMappedIPv4: Trusted holds ::ffff:0.0.0.0/96, every IPv4 client
	// when Postfix sees IPv4 clients as IPv4-mapped IPv6 addresses
	// (inet_protocols without ipv4).
	AllMappedIPv4 bool
	// TrustedIPv4 is the number of IPv4 addresses in Trusted.
	TrustedIPv4 uint64
	// UnknownName: an entry "unknown" is reached by addresses not yet
	// decided. It matches every client whose address has no verified
	// reverse name, which any client can arrange for itself.
	UnknownName bool
	// Entries are the entries that made addresses Trusted.
	Entries []*Entry
}

// famState tracks one address family through the list.
type famState struct {
	v6        bool
	undecided addrSet // not yet decided by an address-based entry
	trusted   addrSet
	maybe     addrSet
	failing   addrSet
	tainted   addrSet // passed a negated entry that may have matched
	// unknownName: a non-negated "unknown" name pattern was reached.
	unknownName bool
}

// Coverage computes what the list matches by address. Host name patterns
// count as undetermined; "unknown" also sets UnknownName.
func (l *HostList) Coverage() Coverage {
	fams := []*famState{
		{v6: false, undecided: fullSet(false)},
		{v6: true, undecided: fullSet(true)},
	}
	var c Coverage
	contributed := map[*Entry]bool{}
	for _, e := range l.Entries {
		for _, f := range fams {
			if len(f.undecided) == 0 {
				continue
			}
			if f.apply(e, l) {
				contributed[e] = true
			}
		}
	}
	for _, e := range l.Entries {
		if contributed[e] {
			c.Entries = append(c.Entries, e)
		}
	}
	for _, f := range fams {
		c.UnknownName = c.UnknownName || f.unknownName
		c.Trusted = append(c.Trusted, f.trusted.prefixes()...)
		c.Undetermined = append(c.Undetermined, f.maybe.subtract(f.trusted).prefixes()...)
		c.Failing = append(c.Failing, f.failing.prefixes()...)
		if f.v6 {
			c.AllIPv6 = f.trusted.covers(fullSet(true))
			c.AllMappedIPv4 = f.trusted.covers(prefixSet(netip.MustParsePrefix("::ffff:0.0.0.0/96")))
		} else {
			c.AllIPv4 = f.trusted.covers(fullSet(false))
			c.TrustedIPv4 = f.trusted.count4()
		}
	}
	return c
}

// CoversEveryone reports whether the list trusts every IPv4 client, every
// IPv6 client, or every IPv4 client arriving as an IPv4-mapped address:
// 0.0.0.0/0, [::]/0, [::ffff:0.0.0.0]/96, prefixes (and cidr:/static:
// tables) that add up to one of them, or the name pattern "unknown" (see
// Coverage.UnknownName). It returns the entries responsible.
func (l *HostList) CoversEveryone() (bool, []*Entry) {
	c := l.Coverage()
	ents := c.Entries
	if c.UnknownName {
		for _, e := range l.Entries {
			if e.Kind == EntryName && e.Pattern == "unknown" && !e.Negate {
				ents = append(ents, e)
				break
			}
		}
	}
	return c.AllIPv4 || c.AllIPv6 || c.AllMappedIPv4 || c.UnknownName, ents
}

// Prefixes returns the address and network entries (from files too), in
// order, with their negation and position. Entries Postfix refuses carry
// Err.
func (l *HostList) Prefixes() []*Entry {
	var out []*Entry
	for _, e := range l.Entries {
		if e.Kind == EntryAddress || e.Kind == EntryNetwork {
			out = append(out, e)
		}
	}
	return out
}

// UnknownEntries returns the entries that cannot be evaluated offline.
func (l *List) UnknownEntries() []*Entry {
	var out []*Entry
	for _, e := range l.Entries {
		if e.Unknown() {
			out = append(out, e)
		}
	}
	return out
}

// FailingEntries returns the entries Postfix fails on when a search
// reaches them (with an address of the entry's family, for networks).
func (l *List) FailingEntries() []*Entry {
	var out []*Entry
	for _, e := range l.Entries {
		if e.Err != nil && !e.Unknown() {
			out = append(out, e)
		}
	}
	return out
}

// decide records that the addresses in s match (or, negated, do not
// match) entry e; it reports whether addresses became trusted.
func (f *famState) decide(s addrSet, negate bool) bool {
	hit := f.undecided.intersect(s)
	f.undecided = f.undecided.subtract(s)
	if negate || len(hit) == 0 {
		return false
	}
	sure := hit.subtract(f.tainted)
	f.maybe = f.maybe.union(hit.intersect(f.tainted))
	f.trusted = f.trusted.union(sure)
	return len(sure) > 0
}

// uncertain records an entry whose answer pfaudit cannot derive from the
// address.
func (f *famState) uncertain(negate bool) {
	if negate {
		f.tainted = f.tainted.union(f.undecided)
	} else {
		f.maybe = f.maybe.union(f.undecided)
	}
}

func (f *famState) fail() {
	f.failing = f.failing.union(f.undecided)
	f.undecided = nil
}

// apply walks one entry for one family.
func (f *famState) apply(e *Entry, l *HostList) bool {
	switch e.Kind {
	case EntryAddress, EntryNetwork:
		if e.Err != nil {
			if e.v6 == f.v6 && e.addrCand {
				f.fail()
			}
			return false
		}
		if !e.Prefix.IsValid() || e.Prefix.Addr().Is6() != f.v6 {
			return false
		}
		return f.decide(prefixSet(e.Prefix), e.Negate)
	case EntryTable, EntryFile:
		if e.Err != nil {
			if e.Unknown() {
				f.uncertain(e.Negate)
			} else {
				f.fail()
			}
			return false
		}
		if s, ok := tableSet(e.Table, f.v6); ok {
			return f.decide(s, e.Negate)
		}
		f.uncertain(e.Negate)
		return false
	default: // EntryName
		if e.Pattern == "unknown" && !e.Negate && len(f.undecided.subtract(f.tainted)) > 0 {
			f.unknownName = true
		}
		f.uncertain(e.Negate)
		return false
	}
}

// tableSet returns the addresses a table matches when that can be derived:
// static: matches everything, cidr: tables are evaluated rule by rule.
func tableSet(t table.Table, v6 bool) (addrSet, bool) {
	for {
		u, ok := t.(interface{ Unwrap() table.Table })
		if !ok {
			break
		}
		t = u.Unwrap()
	}
	switch tt := t.(type) {
	case *table.CIDRTable:
		m, _ := cidrSet(tt.Rules(), 0, len(tt.Rules()), fullSet(v6), v6)
		return m, true
	}
	if t.Type() == "static" {
		return fullSet(v6), true
	}
	return nil, false
}

// cidrSet evaluates rules[lo:hi] for the addresses in u, as
// cidr_match_execute() does for each of them: it returns the addresses
// found and those still undecided.
func cidrSet(rules []table.CIDRRule, lo, hi int, u addrSet, v6 bool) (found, rest addrSet) {
	ruleSet := func(r table.CIDRRule) addrSet {
		if r.Prefix.Addr().Is6() != v6 {
			return nil
		}
		s := prefixSet(r.Prefix)
		if r.Negate {
			return fullSet(v6).subtract(s)
		}
		return s
	}
	for i := lo; i < hi && len(u) > 0; i++ {
		r := rules[i]
		switch r.Op {
		case table.OpMatch:
			s := ruleSet(r)
			found = found.union(u.intersect(s))
			u = u.subtract(s)
		case table.OpIf:
			s := ruleSet(r)
			inside, outside := u.intersect(s), u.subtract(s)
			end := r.BlockEnd
			if end < 0 {
				f, _ := cidrSet(rules, i+1, hi, inside, v6)
				return found.union(f), nil
			}
			f, left := cidrSet(rules, i+1, end, inside, v6)
			found = found.union(f)
			u = left.union(outside)
			i = end
		}
	}
	return found, u
}
