package defaults

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Source says where a Set's values come from.
type Source string

const (
	// SourcePostconf: the installed Postfix answered `postconf -d`.
	SourcePostconf Source = "postconf -d"
	// SourceBuiltin: the table recorded from Postfix 3.7.11 (Debian 12).
	SourceBuiltin Source = "built-in"
)

// BuiltinVersion is the Postfix version the built-in table was recorded from.
const BuiltinVersion = "3.7.11"

// Set is one answer to "which parameters does Postfix know, and what are
// their defaults". A Set is immutable (callers must not modify its fields)
// and safe for concurrent use.
type Set struct {
	// Source is where the values come from.
	Source Source
	// Version is the default of mail_version in this set ("3.7.11").
	Version string
	// Path is the postconf binary that answered (SourcePostconf only).
	Path string
	// Reason explains the choice of source when Detect had to fall back to
	// the built-in table ("postconf not found in $PATH or /usr/sbin"); empty
	// otherwise.
	Reason string
	// Warnings are lines postconf wrote to stderr while succeeding.
	Warnings []string
	// Cached is true when the answer came from pfaudit's on-disk cache of
	// this binary's postconf -d (see FromPostconfCached).
	Cached bool

	// base, when set, holds the values this Set shares with the built-in
	// table; raw then holds only the values that differ from it or that
	// it lacks, and gone the base names this Set does not know. Without
	// base, raw holds every value.
	base *table
	raw  map[string]string
	gone map[string]bool
	// unlisted are the known names the full listing omits (a handful:
	// legacy and renamed ones); every other known name is listed.
	unlisted map[string]bool
	names    []string // sorted, listed and by-name-only alike; shared with base when equal
}

// get is the raw default of name and whether the Set knows it.
func (s *Set) get(name string) (string, bool) {
	if v, ok := s.raw[name]; ok {
		return v, true
	}
	if s.base == nil || s.gone[name] {
		return "", false
	}
	return s.base.lookup(name)
}

// Raw returns the unexpanded default of name as `postconf -d name` prints it,
// and whether Postfix knows name at all. For a host- or process-derived name
// (see Derived) the built-in Set returns the symbolic placeholder, a Set
// from postconf the value computed on that host; evaluate a configuration
// with Live instead.
func (s *Set) Raw(name string) (string, bool) { return s.get(name) }

// Known reports whether Postfix knows name as a built-in parameter. That
// includes legacy and renamed names (virtual_maps,
// postscreen_blacklist_action, ...) that `postconf -d name` answers although
// the full `postconf -d` listing omits them, and that `postconf -n` prints.
// Service-derived names (smtp_delivery_slot_cost for a master.cf service
// "smtp") and user-defined ones are not here: they depend on the
// configuration.
func (s *Set) Known(name string) bool {
	_, ok := s.get(name)
	return ok
}

// Listed reports whether the full `postconf -d` listing prints name (true
// for all known names except the legacy and renamed ones, see Known).
func (s *Set) Listed(name string) bool {
	_, known := s.get(name)
	return known && !s.unlisted[name]
}

// Names returns every known name, sorted. The slice is a copy.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Len is the number of known names.
func (s *Set) Len() int { return len(s.names) }

// ForLevel returns the default of name with the compatibility_level
// expressions resolved for level (see ResolveForLevel).
func (s *Set) ForLevel(name, level string) (string, bool, error) {
	raw, ok := s.get(name)
	if !ok {
		return "", false, nil
	}
	v, err := ResolveForLevel(raw, level)
	return v, true, err
}

// String names the source for messages: "postconf -d (/usr/sbin/postconf,
// Postfix 3.7.11)" or "built-in (Postfix 3.7.11)".
func (s *Set) String() string {
	if s.Path != "" {
		cached := ""
		if s.Cached {
			cached = ", cached"
		}
		return fmt.Sprintf("%s (%s, Postfix %s%s)", s.Source, s.Path, s.Version, cached)
	}
	return fmt.Sprintf("%s (Postfix %s)", s.Source, s.Version)
}

//go:generate go run gen_defaults.go -o postconf-d.txt
//go:generate go test -run ^TestBuiltinTableGenerated$ -update

// hiddenMarker separates, in postconf-d.txt and in the cache, the listed
// names from those `postconf -d` answers only when asked by name.
const hiddenMarker = "#hidden"

// builtinSet is the built-in table of builtin_gen.go (postconf-d.txt:
// `postconf -d` of Postfix 3.7.11 run on an empty configuration directory,
// host-derived values replaced by placeholders, then the names postconf
// answers only by name; see gen_defaults.go). Nothing is parsed or copied.
var builtinSet = sync.OnceValue(func() *Set {
	s := overBuiltin()
	s.Source = SourceBuiltin
	s.finishOver(nil)
	return s
})

// overBuiltin is a Set over the built-in table with nothing changed yet:
// see change and finishOver.
func overBuiltin() *Set {
	b := &builtinTable
	s := &Set{base: b, raw: map[string]string{}, unlisted: make(map[string]bool, len(b.unlisted))}
	for _, n := range b.unlisted {
		s.unlisted[n] = true
	}
	return s
}

// change sets name's default in a Set over the built-in table, listed or
// by name only, and reports whether the table lacks name.
func (s *Set) change(name, value string, listed bool) (added bool) {
	s.raw[name] = value
	if listed {
		delete(s.unlisted, name)
	} else {
		s.unlisted[name] = true
	}
	_, inBase := s.base.lookup(name)
	return !inBase
}

// finishOver completes a Set over the built-in table: its names are the
// table's (shared when nothing was added or is gone), and mail_version and
// compatibility_level must be known (finish).
func (s *Set) finishOver(added []string) error {
	if len(added) == 0 && len(s.gone) == 0 {
		s.names = s.base.names
		s.Version, _ = s.get("mail_version")
		return nil
	}
	s.names = make([]string, 0, len(s.base.names)+len(added))
	for _, n := range s.base.names {
		if !s.gone[n] {
			s.names = append(s.names, n)
		}
	}
	s.names = append(s.names, added...)
	return s.finish()
}

// Builtin returns the built-in Set recorded from Postfix 3.7.11. Every call
// returns the same immutable Set.
func Builtin() *Set { return builtinSet() }

// parseData reads the embedded file: comment lines, then postconf output,
// then hiddenMarker and more postconf output.
func parseData(data string) (*Set, error) {
	s := newSet()
	listed := true
	n := 0
	for line := range strings.SplitSeq(data, "\n") {
		n++
		pos := diag.Pos{File: "postconf-d.txt", Line: n}
		switch {
		case line == hiddenMarker:
			listed = false
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		name, value, err := splitLine(line)
		if err != nil {
			return nil, &diag.Error{Pos: pos, Msg: err.Error(), Text: line}
		}
		if err := s.add(name, value, listed); err != nil {
			return nil, &diag.Error{Pos: pos, Msg: err.Error(), Text: line}
		}
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

func newSet() *Set {
	return &Set{raw: make(map[string]string, 900), unlisted: map[string]bool{}, names: make([]string, 0, 900)}
}

func (s *Set) add(name, value string, listed bool) error {
	if _, dup := s.get(name); dup {
		return fmt.Errorf("parameter %s printed twice", name)
	}
	s.raw[name] = value
	if !listed {
		s.unlisted[name] = true
	}
	s.names = append(s.names, name)
	return nil
}

// finish sorts the names and checks that the answer came from Postfix: every
// postconf -d prints mail_version and compatibility_level.
func (s *Set) finish() error {
	for _, must := range []string{"mail_version", "compatibility_level"} {
		if _, ok := s.get(must); !ok {
			return fmt.Errorf("%w: no %s parameter (%d parameters read)", ErrBadOutput, must, len(s.names))
		}
	}
	s.Version, _ = s.get("mail_version")
	slices.Sort(s.names)
	return nil
}

// splitLine splits one line of postconf output, "name = value" or "name ="
// for an empty value.
func splitLine(line string) (name, value string, err error) {
	i := strings.Index(line, " =")
	if i <= 0 {
		return "", "", fmt.Errorf("not a \"name = value\" line")
	}
	name, value = line[:i], line[i+2:]
	if !validName(name) {
		return "", "", fmt.Errorf("bad parameter name %q", name)
	}
	switch {
	case value == "":
	case value[0] == ' ':
		value = value[1:]
	default:
		return "", "", fmt.Errorf("not a \"name = value\" line")
	}
	return name, value, nil
}

// validName accepts the characters of built-in and service-derived parameter
// names (service names may contain '-' and '.').
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(isAlnum(c) || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// scanLines calls fn for each line of postconf output; lines longer than
// max bytes are an error.
func scanLines(data []byte, max int, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), max)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d: line too long (more than %d bytes)", ErrBadOutput, n+1, max)
		}
		return fmt.Errorf("%w: line %d: %v", ErrBadOutput, n+1, err)
	}
	return nil
}

// SortedNames is Names without the copy, for callers that only read it:
// the slice is shared and must not be modified.
func (s *Set) SortedNames() []string { return s.names }

// Changes reports how s differs from the built-in table (BuiltinTableID):
// the names whose default s holds itself (a value the table lacks or
// disagrees with), sorted. ok is false when s is not expressed over the
// table (an answer fresh from postconf) or lacks some of its names; then
// nothing can be derived from the table's own analysis.
func (s *Set) Changes() (names []string, ok bool) {
	if s.base != &builtinTable || len(s.gone) > 0 {
		return nil, false
	}
	for n := range s.raw {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, true
}

// Overlay returns the built-in Set with the given defaults replaced or
// added (as listed names): a Postfix whose answer differs from the
// recorded one in a few values, expressed over the table as the postconf
// -d cache is.
func Overlay(values map[string]string) *Set {
	s := overBuiltin()
	s.Source = SourceBuiltin
	var added []string
	for n, v := range values {
		if s.change(n, v, true) {
			added = append(added, n)
		}
	}
	if err := s.finishOver(added); err != nil {
		panic("defaults: Overlay: " + err.Error()) // the built-in table has both names
	}
	return s
}
