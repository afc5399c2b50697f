package rules

import (
	"net/netip"
	"slices"
)

// prefixSet answers "is p inside one of these networks?" in time
// independent of how many networks there are: the networks are kept per
// prefix length, sorted, and p is masked to each length in use and
// searched for. A mynetworks of a million entries, checked against a
// site policy's allowed networks or a listener's override against
// main.cf's, costs n·log n, not n·m.
type prefixSet struct {
	byBits map[int][]netip.Addr // masked network addresses per length
	bits4  []int                // lengths in use, IPv4
	bits6  []int                // lengths in use, IPv6
}

func newPrefixSet(ps []netip.Prefix) *prefixSet {
	s := &prefixSet{byBits: map[int][]netip.Addr{}}
	for _, p := range ps {
		p = norm(p).Masked()
		if !p.IsValid() {
			continue
		}
		k := p.Bits()
		if p.Addr().Is6() {
			k += 1000 // IPv6 lengths apart from IPv4 ones
		}
		if _, ok := s.byBits[k]; !ok {
			if p.Addr().Is6() {
				s.bits6 = append(s.bits6, p.Bits())
			} else {
				s.bits4 = append(s.bits4, p.Bits())
			}
		}
		s.byBits[k] = append(s.byBits[k], p.Addr())
	}
	for k, as := range s.byBits {
		slices.SortFunc(as, netip.Addr.Compare)
		s.byBits[k] = slices.CompactFunc(as, func(a, b netip.Addr) bool { return a == b })
	}
	return s
}

// holds reports whether p lies within one of the set's networks.
func (s *prefixSet) holds(p netip.Prefix) bool {
	p = norm(p)
	if !p.IsValid() {
		return false
	}
	bits, off := s.bits4, 0
	if p.Addr().Is6() {
		bits, off = s.bits6, 1000
	}
	for _, b := range bits {
		if b > p.Bits() {
			continue
		}
		m, err := p.Addr().Prefix(b)
		if err != nil {
			continue
		}
		if _, found := slices.BinarySearchFunc(s.byBits[b+off], m.Addr(), netip.Addr.Compare); found {
			return true
		}
	}
	return false
}
