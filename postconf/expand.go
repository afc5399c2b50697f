package postconf

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// This file implements Postfix's $name expansion as postconf(5) describes it
// ("$name", "${name}", "$(name)", "$$", "${name?value}", "${name:value}", the
// {value} forms and "${{text} op {text} ? {v1} : {v2}}"), with the semantics
// of Postfix's mac_parse/mac_expand that are visible from postconf -x:
//   - $$ is a literal '$' that is not expanded again;
//   - an undefined name expands to nothing and is reported;
//   - a callback deeper than 100 levels fails with "unreasonable macro call
//     nesting", which is how Postfix stops self-reference (a = $a);
//   - relational operands are compared numerically when both are all digits,
//     else as strings; "<level" etc. compare compatibility levels
//     (COMPATIBILITY_README);
//   - syntax errors make the whole expansion fail.

// LookupFunc returns the raw value of a parameter and whether it is defined.
type LookupFunc func(name string) (value string, defined bool)

// lookupErrFunc is a LookupFunc that can fail (a default that cannot be
// computed); the failure ends the expansion.
type lookupErrFunc func(name string) (value string, defined bool, err error)

// ExpandError is an expansion failure. Name is the parameter being expanded
// when the caller knows it.
type ExpandError struct {
	Name string
	Msg  string
}

func (e *ExpandError) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return e.Msg
}

// maxNesting is Postfix's mac_expand limit; maxTotalDepth additionally bounds
// recursion through relational operands, where Postfix restarts its counter
// (and would recurse until it crashes).
//
// maxWork bounds the bytes one expansion may scan and produce: a value that
// refers to a large value many times (a = $b $b $b ..., b = 1 MB) or a
// huge, deeply nested expression must end in an error, not in minutes of
// work or gigabytes of output.
const (
	maxNesting    = 100
	maxTotalDepth = 2000
	maxWork       = 32 << 20
)

// Expansion is the outcome of expanding one value.
type Expansion struct {
	Value     string
	Undefined []string // names referenced but not defined, in order, deduplicated
}

type expander struct {
	lookup lookupErrFunc
	scan   bool         // MAC_EXP_FLAG_SCAN: visit every branch, output nothing
	onName func(string) // called for each name referenced (scan mode)
	out    output
	level  int
	total  *int
	work   *int
	limit  int // bound on *work; maxWork unless the configuration holds larger values
	err    error
	undef  *nameSet // shared with the expanders of relational operands

	// memo, when set, supplies and keeps the expansions of names in this
	// scope (see memoEntry). peak and peakTotal are the deepest level and
	// total depth reached so far, ms what the entry being computed
	// records.
	memo      memoScope
	peak      int
	peakTotal *int
	ms        *memoState
	steps     *int // work done, in callbacks and 64-byte units of text parsed

	home *expanderState // what newExpander allocated (nil for operands)
}

// memoMinSteps is the least work (steps) beyond the memoised expansions it
// reuses that an expansion must cost to be kept: one cheaper costs no more
// to redo than to keep, and a chain of a million $name links then keeps
// one link in sixteen, not every one. (A variable: tests also run with
// every expansion kept.)
var memoMinSteps = 16

// output is the expansion's text. Its first piece is kept as it is, not
// copied, while nothing follows it: the expansion of a value that is one
// $name (an alias, a link of a chain, a parameter naming mynetworks) is
// then the referenced value itself, which costs neither time nor memory
// however large it is.
type output struct {
	first string // the text so far when it is one piece
	buf   strings.Builder
}

func (o *output) write(s string) {
	switch {
	case s == "":
	case o.buf.Len() == 0 && o.first == "":
		o.first = s
	default:
		if o.first != "" {
			o.buf.WriteString(o.first)
			o.first = ""
		}
		o.buf.WriteString(s)
	}
}

func (o *output) len() int { return len(o.first) + o.buf.Len() }

// from returns the text written from offset start on. A later write never
// changes it (strings.Builder only appends).
func (o *output) from(start int) string {
	if o.first != "" {
		return o.first[start:]
	}
	return o.buf.String()[start:]
}

func (o *output) String() string { return o.from(0) }

// nameSet is an ordered set of names.
type nameSet struct {
	list []string
	seen map[string]bool
}

func (s *nameSet) add(name string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if !s.seen[name] {
		s.seen[name] = true
		s.list = append(s.list, name)
	}
}

// memoScope is the memo of one expansion scope (Config: main.cf, or one
// master.cf service with its -o settings).
type memoScope interface {
	// get returns the memoised expansion of name's value, or nil.
	get(name string) *memoEntry
	// put keeps it; a scoped entry is valid in this scope only.
	put(name string, m *memoEntry)
	// sensitive reports whether name can have a different value in
	// another scope (a -o setting somewhere, service_name, process_name).
	sensitive(name string) bool
}

// memoEntry is the recursive expansion of one name's value, with
// everything a fresh expansion of it would do to the expander's state, so
// that reusing it is indistinguishable from expanding again: the work it
// counts, how deep below the reference it nests (mac_expand's level and
// the absolute depth), and the undefined names it meets in order. An
// expansion reached at a depth where the same subtree would exceed the
// limits is expanded afresh, so that it fails exactly as Postfix does.
type memoEntry struct {
	value  string
	undef  []string
	work   int
	level  int
	total  int
	scoped bool // it read a scope-sensitive name
}

// memoState is what the expanders of one expansion share for the memo:
// whether the entry being computed read a scope-sensitive name, and the
// undefined names met, in order and with repeats (an entry's are those
// from where its computation began).
type memoState struct {
	scoped bool
	undef  []string
}

// Expand expands s recursively (MAC_EXP_FLAG_RECURSE), the way Postfix
// evaluates a parameter value at use time.
func Expand(s string, lookup LookupFunc) (Expansion, error) {
	return expandErr(s, func(name string) (string, bool, error) {
		v, ok := lookup(name)
		return v, ok, nil
	})
}

func expandErr(s string, lookup lookupErrFunc) (Expansion, error) {
	return expandLimit(s, lookup, maxWork)
}

// expandLimit is expandErr with a bound on the work of limit bytes (at
// least maxWork). Config passes a bound proportional to its largest value:
// a value of megabytes (a mynetworks of a million networks) expands, while
// a blow-up (a = $b $b $b ...) still ends within a constant factor of the
// input's size.
func expandLimit(s string, lookup lookupErrFunc, limit int) (Expansion, error) {
	e := newExpander(lookup, limit, nil)
	defer e.release()
	e.parse(s)
	return e.result()
}

// expanderState is an expander with the state its operands' expanders
// share: one allocation, from expanderPool. Config.Expand runs once per
// parameter a rule reads or a listing prints, so that is hundreds of
// expanders per configuration (145 KB for `pfaudit config -x`, and as much
// per host of a fleet) that can be the same few.
type expanderState struct {
	e                             expander
	total, work, peakTotal, steps int
	undef                         nameSet
	ms                            memoState
}

var expanderPool = sync.Pool{New: func() any { return new(expanderState) }}

func newExpander(lookup lookupErrFunc, limit int, memo memoScope) *expander {
	r := expanderPool.Get().(*expanderState)
	r.e = expander{lookup: lookup, total: &r.total, work: &r.work, peakTotal: &r.peakTotal, steps: &r.steps,
		limit: max(limit, maxWork), undef: &r.undef, memo: memo, ms: &r.ms, home: r}
	return &r.e
}

// release hands an expander made by newExpander back for reuse, after its
// result was taken: what result returns (the value's string, the list of
// undefined names) is not part of the state and stays valid. Neither e nor
// its operands' expanders may be used after.
func (e *expander) release() {
	if r := e.home; r != nil {
		*r = expanderState{} // drops every reference, and is the next user's zero state
		expanderPool.Put(r)
	}
}

func (e *expander) result() (Expansion, error) {
	if e.err != nil {
		return Expansion{Undefined: e.undef.list}, e.err
	}
	return Expansion{Value: e.out.String(), Undefined: e.undef.list}, nil
}

// ScanNames reports every $name that s references in any branch, without
// expanding, as postconf does to find which user-defined parameters are in
// use. Syntax errors end the scan and are returned.
func ScanNames(s string, visit func(name string)) error {
	e := newExpander(func(string) (string, bool, error) { return "", false, nil }, 2*len(s), nil)
	defer e.release()
	e.scan, e.onName = true, visit
	e.parse(s)
	return e.err
}

func (e *expander) fail(format string, args ...any) {
	if e.err == nil {
		e.err = &ExpandError{Msg: fmt.Sprintf(format, args...)}
	}
}

func (e *expander) noteUndefined(name string) {
	e.undef.add(name)
	if e.memo != nil {
		e.ms.undef = append(e.ms.undef, name)
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parse is mac_parse: it splits value into literal text and macro
// expressions and hands each to the callback.
func (e *expander) parse(value string) {
	*e.steps += len(value) >> 6
	if *e.work += len(value); *e.work > e.limit {
		e.fail("expansion exceeds %d MiB: %q", e.limit>>20, diagShort(value))
		return
	}
	// The literal text before a macro is handed on as the substring of
	// value it is; only a "$$" (one '$' of two) makes it text of its own,
	// built in lit. Copying every literal was most of the allocations of
	// expanding a configuration.
	var lit strings.Builder
	litStart, litEnd := 0, 0 // the literal is value[litStart:litEnd] while lit is empty
	addLit := func(from, to int) {
		switch {
		case lit.Len() == 0 && (litStart == litEnd || litEnd == from):
			if litStart == litEnd {
				litStart = from
			}
			litEnd = to
		default:
			if lit.Len() == 0 {
				lit.WriteString(value[litStart:litEnd])
			}
			lit.WriteString(value[from:to])
		}
	}
	flushLit := func() {
		switch {
		case lit.Len() > 0:
			e.callback(false, lit.String())
			lit.Reset()
		case litEnd > litStart:
			e.callback(false, value[litStart:litEnd])
		}
		litStart, litEnd = 0, 0
	}
	i := 0
	for i < len(value) && e.err == nil {
		if value[i] != '$' {
			j := strings.IndexByte(value[i:], '$')
			if j < 0 {
				j = len(value) - i
			}
			addLit(i, i+j)
			i += j
			continue
		}
		if i+1 < len(value) && value[i+1] == '$' {
			addLit(i, i+1) // the first '$'
			i += 2
			continue
		}
		flushLit()
		i++
		var expr string
		if i < len(value) && (value[i] == '{' || value[i] == '(') {
			open := value[i]
			closing := byte('}')
			if open == '(' {
				closing = ')'
			}
			level := 1
			j := i + 1
			for level > 0 {
				if j >= len(value) {
					e.fail("truncated macro reference: %q", diagShort(value))
					return
				}
				if value[j] == open {
					level++
				} else if value[j] == closing {
					level--
				}
				j++
			}
			expr = value[i+1 : j-1]
			i = j
		} else {
			j := i
			for j < len(value) && isNameByte(value[j]) {
				j++
			}
			expr = value[i:j]
			i = j
		}
		if expr == "" {
			e.fail("empty macro name: %q", diagShort(value))
			return
		}
		e.callback(true, expr)
	}
	if e.err == nil {
		flushLit()
	}
}

// isMacSpace is MAC_EXP_WHITESPACE (CHARS_SPACE): the blanks mac_expand
// skips around operators and {} operands.
func isMacSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func skipSpace(s string) string {
	i := 0
	for i < len(s) && isMacSpace(s[i]) {
		i++
	}
	return s[i:]
}

// curlyPayload extracts a balanced {payload} at the start of s (which must
// begin with '{'), skipping whitespace after the closing brace.
func (e *expander) curlyPayload(s string) (payload, rest string, ok bool) {
	level := 1
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				return s[1:j], skipSpace(s[j+1:]), true
			}
		}
	}
	e.fail("unbalanced {} in attribute expression: %q", diagShort(s))
	return "", "", false
}

// callback is mac_expand_callback.
func (e *expander) callback(isExpr bool, buf string) {
	e.level++
	*e.total++
	defer func() { e.level--; *e.total-- }()
	e.peak = max(e.peak, e.level)
	*e.peakTotal = max(*e.peakTotal, *e.total)
	*e.steps++
	if e.level > maxNesting+1 || *e.total > maxTotalDepth {
		e.fail("unreasonable macro call nesting: %q", diagShort(buf))
	}
	if e.err != nil {
		return
	}
	if !isExpr {
		if !e.scan {
			if *e.work += len(buf); *e.work > e.limit {
				e.fail("expansion exceeds %d MiB", e.limit>>20)
				return
			}
			e.out.write(buf)
		}
		return
	}
	var (
		value   string
		defined bool
		op      byte
		cp      string
		name    string // "" for a relational expression
	)
	if t := skipSpace(buf); len(t) > 0 && t[0] == '{' {
		var ok bool
		value, cp, ok = e.relational(t)
		if !ok {
			return
		}
		defined = true
		if cp != "" {
			if cp[0] != '?' && cp[0] != ':' {
				e.fail(`"?" or ":" expected at: "...}>>>%.20s"`, cp)
				return
			}
			op, cp = cp[0], cp[1:]
		}
	} else {
		start := skipSpace(buf)
		j := 0
		for {
			k := j
			for k < len(start) && isMacSpace(start[k]) {
				k++
			}
			if k >= len(start) {
				name = start[:j]
				break
			}
			if start[k] == '?' || start[k] == ':' {
				name, op, cp = start[:j], start[k], start[k+1:]
				break
			}
			if !isNameByte(start[j]) {
				e.fail(`attribute name syntax error at: "...%s>>>%.20s"`, diagTail(start[:j]), start[j:])
				return
			}
			j++
		}
		if e.onName != nil {
			e.onName(name)
		}
		if e.memo != nil && !e.scan {
			if e.memo.sensitive(name) {
				e.ms.scoped = true
			}
			if op == 0 && e.reuse(name) {
				return
			}
		}
		if !e.scan {
			var err error
			value, defined, err = e.lookup(name)
			if err != nil {
				e.err = err
				return
			}
			if !defined {
				e.noteUndefined(name)
			}
		}
	}
	switch op {
	case '?':
		var iftrue string
		if t := skipSpace(cp); len(t) > 0 && t[0] == '{' {
			var ok bool
			if iftrue, cp, ok = e.curlyPayload(t); !ok {
				return
			}
		} else {
			iftrue, cp = cp, ""
		}
		if (defined && value != "") || e.scan {
			e.parse(iftrue)
			if e.err != nil {
				return
			}
		}
		if cp == "" {
			return
		}
		if cp[0] != ':' {
			e.fail(`":" expected at: "...%s}>>>%.20s"`, diagTail(iftrue), cp)
			return
		}
		cp = cp[1:]
		fallthrough
	case ':':
		var iffalse string
		if t := skipSpace(cp); len(t) > 0 && t[0] == '{' {
			var ok bool
			if iffalse, cp, ok = e.curlyPayload(t); !ok {
				return
			}
		} else {
			iffalse, cp = cp, ""
		}
		if !defined || value == "" || e.scan {
			e.parse(iffalse)
			if e.err != nil {
				return
			}
		}
		if cp != "" {
			e.fail(`unexpected input at: "...%s}>>>%.20s"`, diagTail(iffalse), cp)
		}
	default:
		if defined && value != "" && !e.scan {
			if name == "" {
				e.parse(value) // a relational result, "true"
			} else {
				e.expandName(name, value) // MAC_EXP_FLAG_RECURSE
			}
		}
	}
}

// expandName is e.parse(value), value being name's value, through the
// memo when there is one: a name referenced again (from another value,
// another parameter, or a chain of $names) is expanded once per scope,
// which keeps the cost of deep and wide references linear.
func (e *expander) expandName(name, value string) {
	if e.memo == nil || strings.IndexByte(value, '$') < 0 {
		// Literal text costs no more to copy than to look up.
		e.parse(value)
		return
	}
	if e.reuse(name) {
		return
	}
	level, total, work, steps, outStart := e.level, *e.total, *e.work, *e.steps, e.out.len()
	parentPeak, parentPeakTotal, parentScoped, undefStart := e.peak, *e.peakTotal, e.ms.scoped, len(e.ms.undef)
	e.peak, *e.peakTotal = level, total
	e.ms.scoped = e.memo.sensitive(name)
	e.parse(value)
	if e.err == nil && *e.steps-steps >= memoMinSteps {
		var undef []string
		if met := e.ms.undef[undefStart:]; len(met) > 0 {
			var set nameSet
			for _, u := range met {
				set.add(u)
			}
			undef = set.list
		}
		m := &memoEntry{value: e.out.from(outStart), undef: undef,
			work: *e.work - work, level: e.peak - level, total: *e.peakTotal - total, scoped: e.ms.scoped}
		e.memo.put(name, m)
		*e.steps = steps + 1 // to the expansions above, as cheap as a reuse
	}
	e.peak, *e.peakTotal = max(parentPeak, e.peak), max(parentPeakTotal, *e.peakTotal)
	e.ms.scoped = parentScoped || e.ms.scoped
}

// reuse applies the memoised expansion of name, if any, at the current
// depth, and reports whether it did. An entry that would exceed a limit
// here is not used: expanding afresh then fails where Postfix fails.
func (e *expander) reuse(name string) bool {
	m := e.memo.get(name)
	if m == nil || e.level+m.level > maxNesting+1 || *e.total+m.total > maxTotalDepth || *e.work+m.work > e.limit {
		return false
	}
	e.out.write(m.value)
	*e.work += m.work
	*e.steps++
	e.peak = max(e.peak, e.level+m.level)
	*e.peakTotal = max(*e.peakTotal, *e.total+m.total)
	for _, u := range m.undef {
		e.noteUndefined(u)
	}
	if m.scoped {
		e.ms.scoped = true
	}
	return true
}

// relational parses and evaluates "{left} op {right}" at the start of s,
// returning "true" or "" and the text after the right operand.
func (e *expander) relational(s string) (result, rest string, ok bool) {
	left, cp, ok := e.curlyPayload(s)
	if !ok {
		return "", "", false
	}
	n := 0
	for n < len(cp) && strings.IndexByte("<>!=?+-*/~&|%", cp[n]) >= 0 {
		n++
	}
	opText := cp[:n]
	switch opText {
	case "==", "!=", "<", "<=", ">=", ">":
	default:
		e.fail(`"==" or "!=" or "<" or "<=" or ">=" or ">" expected at: "...%s}>>>%.20s"`, diagTail(left), cp)
		return "", "", false
	}
	cp = cp[n:]
	suffix := ""
	if len(cp) > 0 && isAlnum(cp[0]) {
		k := 0
		for k < len(cp) && isAlnum(cp[k]) {
			k++
		}
		suffix, cp = cp[:k], cp[k:]
		if suffix != "level" {
			e.fail(`bad operator suffix at: "...%s>>>%s"`, diagTail(opText), diagShort(suffix))
			return "", "", false
		}
	}
	cp = skipSpace(cp)
	if len(cp) == 0 || cp[0] != '{' {
		e.fail(`"{expression}" expected at: "...{%s} %s>>>%.20s"`, diagTail(left), diagTail(opText), cp)
		return "", "", false
	}
	right, cp, ok := e.curlyPayload(cp)
	if !ok {
		return "", "", false
	}
	// Each operand is expanded in a fresh context, as mac_expand does.
	// An error in the left operand ends the expansion: the right one is
	// not expanded (through a self-reference each would double the work).
	lv, ok := e.sub(left)
	if !ok {
		return "", "", false
	}
	rv, ok := e.sub(right)
	if !ok {
		return "", "", false
	}
	if e.scan {
		return "", cp, true
	}
	var delta int
	if suffix == "level" {
		l, err1 := defaults.ParseLevel(lv)
		r, err2 := defaults.ParseLevel(rv)
		if err1 != nil || err2 != nil {
			bad := lv
			if err1 == nil {
				bad = rv
			}
			e.fail("malformed compatibility level syntax: %q", diagShort(bad))
			return "", "", false
		}
		delta = l.Compare(r)
	} else if allDigits(lv) && allDigits(rv) {
		a, err1 := strconv.ParseInt(lv, 10, 64)
		b, err2 := strconv.ParseInt(rv, 10, 64)
		if err1 != nil || err2 != nil {
			e.fail("bad numerical conversion: %q %s %q", diagShort(lv), opText, diagShort(rv))
			return "", "", false
		}
		delta = cmpInt(a, b)
	} else {
		delta = strings.Compare(lv, rv)
	}
	var truth bool
	switch opText {
	case "==":
		truth = delta == 0
	case "!=":
		truth = delta != 0
	case "<":
		truth = delta < 0
	case "<=":
		truth = delta <= 0
	case ">=":
		truth = delta >= 0
	case ">":
		truth = delta > 0
	}
	if truth {
		return "true", cp, true
	}
	return "", cp, true
}

// sub expands an operand in a fresh nesting context that shares the lookup,
// the undefined-name record and the absolute depth guard.
func (e *expander) sub(s string) (string, bool) {
	c := &expander{lookup: e.lookup, scan: e.scan, onName: e.onName, total: e.total, work: e.work, limit: e.limit,
		undef: e.undef, memo: e.memo, peakTotal: e.peakTotal, ms: e.ms, steps: e.steps}
	c.parse(s)
	if c.err != nil {
		if e.err == nil {
			e.err = c.err
		}
		return "", false
	}
	return c.out.String(), true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// diagShort and diagTail bound the text an expansion error quotes: an
// unbalanced value of megabytes (a line up to main.cf's 4 MiB bound) would
// otherwise be repeated whole in the message and in every report that
// quotes it. postconf repeats it whole; its first (or, before a ">>>"
// marker, last) 60 bytes say where the mistake is.
func diagShort(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func diagTail(s string) string {
	if len(s) > 60 {
		return s[len(s)-60:]
	}
	return s
}
