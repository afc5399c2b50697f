package matchlist

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Searching a list is first-match in written order, so a plain search costs
// one step per entry, and the relay model searches mynetworks once per
// client it tries (one per mynetworks entry among them): a list of n
// entries cost O(n²). Long lists get an index instead, a filter that yields
// the entries that may decide a subject in ascending order. The entries it
// yields still go through step(), so the index only has to be sound (never
// skip an entry that could match or fail), never exact.
//
//   - plain patterns by their folded text: a name matches its own text or,
//     with parent-style matching or a ".domain" pattern, the text of one of
//     its parent domains (match_hostname()); an address matches its own
//     text or "[address]" (match_hostaddr()'s string comparisons);
//   - valid networks by prefix, one hash per prefix length in use: the
//     networks holding an address are among its masked prefixes, at most
//     33 or 129 lookups (a trie level per length in use);
//   - networks Postfix fails on (host bits set ...), per family;
//   - tables and unreadable files, which are asked whatever the subject.

// indexMin is the list length from which an index pays for itself.
const indexMin = 32

type listIndex struct {
	text  sortedRuns[string]              // folded pattern -> entries
	nets4 map[int]*sortedRuns[netip.Addr] // per prefix length: network address -> entries
	nets6 map[int]*sortedRuns[netip.Addr]
	bits4 []int   // prefix lengths in use, IPv4
	bits6 []int   // prefix lengths in use, IPv6
	fail4 []int32 // failing network patterns, IPv4
	fail6 []int32 // failing network patterns, IPv6
	// special are tables and unreadable files, asked whatever the subject.
	special []int32
}

// sortedRuns maps keys to ascending entry numbers in two parallel sorted
// slices: some 30 bytes an entry, where a map of slices took over 100.
type sortedRuns[K comparable] struct {
	keys []K
	idx  []int32
	cmp  func(a, b K) int
}

func (r *sortedRuns[K]) add(k K, i int32) {
	r.keys = append(r.keys, k)
	r.idx = append(r.idx, i)
}

// sort orders by key, then entry number (stable: entries were added in
// ascending order).
func (r *sortedRuns[K]) sort() {
	perm := make([]int32, len(r.keys))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortStableFunc(perm, func(a, b int32) int { return r.cmp(r.keys[a], r.keys[b]) })
	keys := make([]K, len(perm))
	idx := make([]int32, len(perm))
	for i, p := range perm {
		keys[i], idx[i] = r.keys[p], r.idx[p]
	}
	r.keys, r.idx = keys, idx
}

// run returns the entries of key k, ascending.
func (r *sortedRuns[K]) run(k K) []int32 {
	if r == nil {
		return nil
	}
	lo, found := slices.BinarySearchFunc(r.keys, k, r.cmp)
	if !found {
		return nil
	}
	hi := lo + 1
	for hi < len(r.keys) && r.keys[hi] == k {
		hi++
	}
	return r.idx[lo:hi]
}

type indexedList struct {
	once sync.Once
	idx  *listIndex
}

// index returns the list's index, built on first use; nil for short lists.
func (l *List) index() *listIndex {
	if len(l.Entries) < indexMin || l.ix == nil {
		return nil
	}
	l.ix.once.Do(func() { l.ix.idx = buildIndex(l) })
	return l.ix.idx
}

func buildIndex(l *List) *listIndex {
	x := &listIndex{nets4: map[int]*sortedRuns[netip.Addr]{}, nets6: map[int]*sortedRuns[netip.Addr]{}}
	x.text.cmp = strings.Compare
	for i, e := range l.Entries {
		n := int32(i)
		if e.Kind == EntryTable || e.Kind == EntryFile {
			x.special = append(x.special, n)
			continue
		}
		x.text.add(e.Pattern, n)
		if l.Kind != KindHost || !e.addrCand {
			continue
		}
		switch {
		case e.cidrWhy != "" && e.v6:
			x.fail6 = append(x.fail6, n)
		case e.cidrWhy != "":
			x.fail4 = append(x.fail4, n)
		case e.cidrOK && e.Prefix.IsValid():
			p := e.Prefix.Masked()
			nets, bits := x.nets4, &x.bits4
			if p.Addr().Is6() {
				nets, bits = x.nets6, &x.bits6
			}
			r := nets[p.Bits()]
			if r == nil {
				r = &sortedRuns[netip.Addr]{cmp: netip.Addr.Compare}
				nets[p.Bits()] = r
				*bits = append(*bits, p.Bits())
			}
			r.add(p.Addr(), n)
		}
	}
	x.text.sort()
	for _, r := range x.nets4 {
		r.sort()
	}
	for _, r := range x.nets6 {
		r.sort()
	}
	return x
}

// cursor yields, in ascending order, the entries the index cannot rule out
// for one subject: a k-way merge of a few sorted runs.
type cursor struct {
	runs [][]int32
}

func (x *listIndex) cursor(l *List, s *subject) *cursor {
	c := &cursor{}
	add := func(r []int32) {
		if len(r) > 0 {
			c.runs = append(c.runs, r)
		}
	}
	add(x.special)
	// The name phase (every kind): the name itself and, for domain and
	// host lists, its parent domains with and without the leading dot.
	add(x.text.run(s.name))
	if l.Kind != KindString {
		for rest := s.name; ; {
			j := strings.IndexByte(rest, '.')
			if j < 0 {
				break
			}
			add(x.text.run(rest[j:]))
			rest = rest[j+1:]
			add(x.text.run(rest))
		}
	}
	if l.Kind == KindHost && s.addr != "" && s.addrOK {
		if s.addr != s.name {
			add(x.text.run(s.addr))
		}
		add(x.text.run("[" + s.addr + "]"))
		if strings.Contains(s.addr, ":") {
			add(x.fail6)
		} else {
			add(x.fail4)
		}
		if s.ip.IsValid() {
			bits, nets := x.bits4, x.nets4
			if s.ip.Is6() {
				bits, nets = x.bits6, x.nets6
			}
			for _, b := range bits {
				p, err := s.ip.WithZone("").Prefix(b)
				if err != nil {
					return nil // cannot happen for a valid address: search linearly
				}
				add(nets[b].run(p.Addr()))
			}
		}
	}
	return c
}

// next returns the first candidate entry at or after i, or -1.
func (c *cursor) next(i int) int {
	best := -1
	for k, r := range c.runs {
		j, _ := slices.BinarySearch(r, int32(i))
		r = r[j:]
		c.runs[k] = r
		if len(r) > 0 && (best < 0 || int(r[0]) < best) {
			best = int(r[0])
		}
	}
	return best
}
