package defaults

import "slices"

// table is a sorted listing of defaults held in the binary's read-only
// data: the built-in table is generated Go (builtin_gen.go, from
// postconf-d.txt), so a process never parses it or builds a map of it. A
// short command such as `pfaudit config -x` pays for a page fault per 4 KB
// of heap it touches; a map of 900 defaults, and the parse that filled it,
// were a sizeable share of its start-up.
type table struct {
	names    []string // sorted
	values   []string // values[i] is the default of names[i]
	unlisted []string // sorted: names the full listing omits (see Set.Known)
	// slots is a generated open-addressing index: slot hash(name) (then
	// the next ones, wrapping) holds 1 + the index of name, 0 ends the
	// search. A fleet looks defaults up millions of times: this costs a
	// map's lookup without a map.
	slots []uint16
}

// tableHash is 32-bit FNV-1a; the generator and lookup must agree.
func tableHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

func (t *table) index(name string) (int, bool) {
	mask := uint32(len(t.slots) - 1)
	for i := tableHash(name) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if t.names[s-1] == name {
			return int(s - 1), true
		}
	}
}

func (t *table) lookup(name string) (string, bool) {
	i, ok := t.index(name)
	if !ok {
		return "", false
	}
	return t.values[i], true
}

func (t *table) listed(name string) bool {
	_, unlisted := slices.BinarySearch(t.unlisted, name)
	return !unlisted
}
