package matchlist

import (
	"net/netip"
)

// span is an inclusive address range of one family.
type span struct{ lo, hi netip.Addr }

// addrSet is a sorted list of disjoint spans, all of one family.
type addrSet []span

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixSet(p netip.Prefix) addrSet {
	return addrSet{{p.Masked().Addr(), lastAddr(p)}}
}

func fullSet(v6 bool) addrSet {
	if v6 {
		return prefixSet(netip.MustParsePrefix("::/0"))
	}
	return prefixSet(netip.MustParsePrefix("0.0.0.0/0"))
}

func minAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) < 0 {
		return a
	}
	return b
}

func maxAddr(a, b netip.Addr) netip.Addr {
	if a.Compare(b) > 0 {
		return a
	}
	return b
}

func (s addrSet) intersect(t addrSet) addrSet {
	var out addrSet
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := maxAddr(s[i].lo, t[j].lo), minAddr(s[i].hi, t[j].hi)
		if lo.Compare(hi) <= 0 {
			out = append(out, span{lo, hi})
		}
		if s[i].hi.Compare(t[j].hi) < 0 {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s addrSet) union(t addrSet) addrSet {
	all := make(addrSet, 0, len(s)+len(t))
	i, j := 0, 0
	for i < len(s) || j < len(t) {
		var next span
		if j >= len(t) || i < len(s) && s[i].lo.Compare(t[j].lo) <= 0 {
			next, i = s[i], i+1
		} else {
			next, j = t[j], j+1
		}
		if n := len(all); n > 0 {
			last := &all[n-1]
			if adj := last.hi.Next(); !adj.IsValid() || next.lo.Compare(adj) <= 0 {
				last.hi = maxAddr(last.hi, next.hi)
				continue
			}
		}
		all = append(all, next)
	}
	return all
}

func (s addrSet) subtract(t addrSet) addrSet {
	var out addrSet
	j := 0
	for _, sp := range s {
		lo := sp.lo
		for j < len(t) && t[j].hi.Compare(lo) < 0 {
			j++
		}
		k := j
		done := false
		for k < len(t) && t[k].lo.Compare(sp.hi) <= 0 {
			if t[k].lo.Compare(lo) > 0 {
				out = append(out, span{lo, t[k].lo.Prev()})
			}
			if t[k].hi.Compare(sp.hi) >= 0 {
				done = true
				break
			}
			lo = t[k].hi.Next()
			k++
		}
		if !done {
			out = append(out, span{lo, sp.hi})
		}
	}
	return out
}

// appendSpan adds a span that starts after every span of s.
func (s addrSet) appendSpan(sp span) addrSet {
	if n := len(s); n > 0 && s[n-1].hi.Next() == sp.lo {
		s[n-1].hi = sp.hi
		return s
	}
	return append(s, sp)
}

func (s addrSet) equal(t addrSet) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// covers reports whether s contains all of t.
func (s addrSet) covers(t addrSet) bool { return len(t.subtract(s)) == 0 }

// prefixes writes the set as the fewest prefixes.
func (s addrSet) prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, sp := range s {
		lo := sp.lo
		for {
			bits := lo.BitLen()
			var p netip.Prefix
			for l := 0; l <= bits; l++ {
				c := netip.PrefixFrom(lo, l)
				if c.Masked().Addr() == lo && lastAddr(c).Compare(sp.hi) <= 0 {
					p = c
					break
				}
			}
			out = append(out, p)
			end := lastAddr(p)
			if end == sp.hi {
				break
			}
			lo = end.Next()
		}
	}
	return out
}

// count4 returns the number of addresses in an IPv4 set.
func (s addrSet) count4() uint64 {
	var n uint64
	for _, sp := range s {
		lo, hi := sp.lo.As4(), sp.hi.As4()
		a := uint64(lo[0])<<24 | uint64(lo[1])<<16 | uint64(lo[2])<<8 | uint64(lo[3])
		b := uint64(hi[0])<<24 | uint64(hi[1])<<16 | uint64(hi[2])<<8 | uint64(hi[3])
		n += b - a + 1
	}
	return n
}
