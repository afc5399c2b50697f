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
}

func (t *table) lookup(name string) (string, bool) {
	i, ok := slices.BinarySearch(t.names, name)
	if !ok {
		return "", false
	}
	return t.values[i], true
}

func (t *table) listed(name string) bool {
	_, unlisted := slices.BinarySearch(t.unlisted, name)
	return !unlisted
}
