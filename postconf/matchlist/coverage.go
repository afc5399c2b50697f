package matchlist

import (
	"container/heap"
	"net/netip"
	"sort"

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

// effect is what an entry does to the addresses it decides.
type effect int

const (
	effTrust   effect = iota // matches: the search ends with "match"
	effExclude               // negated match: the search ends with "no match"
	effFail                  // Postfix fails the search
)

// decider is an entry that decides the addresses in spans.
type decider struct {
	entry *Entry
	eff   effect
	spans addrSet
}

// famResult is the coverage of one address family.
type famResult struct {
	trusted, maybe, failing addrSet
	unknownName             bool
	contributed             map[*Entry]bool
}

// Coverage computes what the list matches by address. Host name patterns
// count as undetermined; "unknown" also sets UnknownName.
//
// The list is walked once per family: entries that decide addresses by
// address alone (networks, cidr: and static: tables, entries Postfix fails
// on) are painted first-match-wins over the address space; entries that
// cannot be decided by address (names, other tables, unknown entries)
// apply to every address still undecided where they stand.
func (l *HostList) Coverage() Coverage {
	var c Coverage
	contributed := map[*Entry]bool{}
	for _, v6 := range []bool{false, true} {
		r := l.familyCoverage(v6)
		for e := range r.contributed {
			contributed[e] = true
		}
		c.UnknownName = c.UnknownName || r.unknownName
		c.Trusted = append(c.Trusted, r.trusted.prefixes()...)
		c.Undetermined = append(c.Undetermined, r.maybe.subtract(r.trusted).prefixes()...)
		c.Failing = append(c.Failing, r.failing.prefixes()...)
		if v6 {
			c.AllIPv6 = r.trusted.covers(fullSet(true))
			c.AllMappedIPv4 = r.trusted.covers(prefixSet(netip.MustParsePrefix("::ffff:0.0.0.0/96")))
		} else {
			c.AllIPv4 = r.trusted.covers(fullSet(false))
			c.TrustedIPv4 = r.trusted.count4()
		}
	}
	for _, e := range l.Entries {
		if contributed[e] {
			c.Entries = append(c.Entries, e)
		}
	}
	return c
}

func (l *HostList) familyCoverage(v6 bool) famResult {
	const never = int(^uint(0) >> 1)
	var (
		deciders         []decider
		idx              []int // entry position of each decider
		firstUncPos      = never
		firstUncNeg      = never
		firstUnknownName = never
	)
	uncertain := func(i int, e *Entry) {
		if e.Negate {
			firstUncNeg = min(firstUncNeg, i)
		} else {
			firstUncPos = min(firstUncPos, i)
		}
	}
	add := func(i int, e *Entry, eff effect, s addrSet) {
		if eff == effTrust && e.Negate {
			eff = effExclude
		}
		deciders = append(deciders, decider{e, eff, s})
		idx = append(idx, i)
	}
	for i, e := range l.Entries {
		switch e.Kind {
		case EntryAddress, EntryNetwork:
			switch {
			case e.Err != nil:
				if e.v6 == v6 && e.addrCand {
					add(i, e, effFail, fullSet(v6))
				}
			case e.Prefix.IsValid() && e.Prefix.Addr().Is6() == v6:
				add(i, e, effTrust, prefixSet(e.Prefix))
			}
		case EntryTable, EntryFile:
			switch {
			case e.Err != nil && e.Unknown():
				uncertain(i, e)
			case e.Err != nil:
				add(i, e, effFail, fullSet(v6))
			default:
				if s, ok := tableSet(e.Table, v6); ok {
					add(i, e, effTrust, s)
				} else {
					uncertain(i, e)
				}
			}
		default:
			if e.Pattern == "unknown" && !e.Negate {
				firstUnknownName = min(firstUnknownName, i)
			}
			uncertain(i, e)
		}
	}
	r := famResult{contributed: map[*Entry]bool{}}
	for _, iv := range paint(deciders, v6) {
		k := never
		var d *decider
		if iv.first >= 0 {
			d = &deciders[iv.first]
			k = idx[iv.first]
		}
		if firstUnknownName < k && firstUnknownName < firstUncNeg {
			r.unknownName = true
		}
		// A non-negated uncertain entry before the decider may have
		// matched first: the address is then possibly trusted.
		possiblyEarlier := firstUncPos < k
		switch {
		case d == nil:
			if possiblyEarlier {
				r.maybe = r.maybe.appendSpan(iv.span)
			}
		case d.eff == effTrust:
			if firstUncNeg < k {
				r.maybe = r.maybe.appendSpan(iv.span)
			} else {
				r.trusted = r.trusted.appendSpan(iv.span)
				r.contributed[d.entry] = true
			}
		case d.eff == effExclude:
			if possiblyEarlier {
				r.maybe = r.maybe.appendSpan(iv.span)
			}
		case d.eff == effFail:
			r.failing = r.failing.appendSpan(iv.span)
			if possiblyEarlier {
				r.maybe = r.maybe.appendSpan(iv.span)
			}
		}
	}
	return r
}

// interval is an elementary address range and the first decider covering
// it (-1: none).
type interval struct {
	span
	first int
}

// paint splits the family's address space at every span boundary and
// finds, for each piece, the first decider (lowest index) that covers it,
// in O(n log n).
func paint(ds []decider, v6 bool) []interval {
	type event struct {
		at    netip.Addr
		open  bool
		which int
	}
	var evs []event
	for i, d := range ds {
		for _, sp := range d.spans {
			evs = append(evs, event{sp.lo, true, i})
			if next := sp.hi.Next(); next.IsValid() {
				evs = append(evs, event{next, false, i})
			}
		}
	}
	full := fullSet(v6)[0]
	evs = append(evs, event{full.lo, false, -1})
	sort.Slice(evs, func(a, b int) bool { return evs[a].at.Less(evs[b].at) })
	var (
		out    []interval
		active = &intHeap{}
		counts = map[int]int{}
	)
	for i := 0; i < len(evs); {
		at := evs[i].at
		for ; i < len(evs) && evs[i].at == at; i++ {
			ev := evs[i]
			if ev.which < 0 {
				continue
			}
			if ev.open {
				if counts[ev.which] == 0 {
					heap.Push(active, ev.which)
				}
				counts[ev.which]++
			} else {
				counts[ev.which]--
			}
		}
		for active.Len() > 0 && counts[(*active)[0]] == 0 {
			heap.Pop(active)
		}
		hi := full.hi
		if i < len(evs) {
			hi = evs[i].at.Prev()
		}
		first := -1
		if active.Len() > 0 {
			first = (*active)[0]
		}
		if n := len(out); n > 0 && out[n-1].first == first {
			out[n-1].hi = hi
		} else {
			out = append(out, interval{span{at, hi}, first})
		}
	}
	return out
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
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
