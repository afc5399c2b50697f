package table

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// patternTable is a regexp: or pcre: table (dict_regexp.c, dict_pcre.c).
type patternTable struct {
	spec  string
	typ   string
	rules []patRule
	errs  []*diag.Error
	warns []diag.Warning
	label string // prefix for messages about the rule being parsed
	// compiled is the length of the patterns compiled so far (see
	// maxPatternBytes); overBudget is set once a pattern was left out.
	compiled   int
	overBudget bool
}

// maxPatternBytes bounds the pattern text one regexp: or pcre: table
// compiles. A compiled Go regexp holds about 100 bytes per byte of
// pattern (measured: 25,000 patterns of 40 bytes, 100 MB live; 2 GB and
// 20 s for an 18 MB table of 400,000), so the 64 MiB file bound alone let
// one table take gigabytes, and a single 30 MB pattern ended in an
// out-of-memory crash. Patterns past the bound are unknown: a lookup that
// reaches one is never taken as a miss.
const maxPatternBytes = 1 << 20

const overBudgetWhy = "the table's patterns are longer than 1 MiB in all, the most pfaudit compiles of one table (to bound its memory)"

type patRule struct {
	op       int
	first    *matcher
	second   *matcher // regexp: "/p1/!/p2/" form only
	repl     []replPart
	literal  bool // replacement has no $number
	pos      diag.Pos
	text     string
	blockEnd int
}

// matcher is one compiled pattern. When the pattern cannot be expressed in
// Go's syntax with the same meaning, unknown says why and re is nil.
type matcher struct {
	re      *regexp.Regexp
	negate  bool
	nsub    int
	unknown string
	// upper: match against the upper-cased subject (POSIX REG_ICASE).
	upper bool
}

type replPart struct {
	lit string
	sub int // > 0: $sub
}

// invalidRE marks a pattern the C library would refuse: Postfix skips the
// rule. Any other translation failure leaves the rule unknown.
type invalidRE struct{ msg string }

func (e *invalidRE) Error() string { return e.msg }

type unsupportedRE struct{ msg string }

func (e *unsupportedRE) Error() string { return e.msg }

// Values returns the result templates of the match rules, in table order,
// with $$ as written.
func (t *patternTable) Values() []string {
	var out []string
	for _, r := range t.rules {
		if r.op != OpMatch {
			continue
		}
		var b strings.Builder
		for _, p := range r.repl {
			if p.sub > 0 {
				fmt.Fprintf(&b, "${%d}", p.sub)
			} else {
				b.WriteString(strings.ReplaceAll(p.lit, "$", "$$"))
			}
		}
		out = append(out, b.String())
	}
	return out
}

func (t *patternTable) Spec() string             { return t.spec }
func (t *patternTable) Type() string             { return t.typ }
func (t *patternTable) Fixed() bool              { return false }
func (t *patternTable) Errors() []*diag.Error    { return t.errs }
func (t *patternTable) Warnings() []diag.Warning { return t.warns }

// patOptions are the flags after the closing delimiter.
type patOptions struct {
	icase, newline, extended bool // regexp: REG_ICASE, REG_NEWLINE, REG_EXTENDED
	// pcre
	dotall, multiline, pextended, anchored, dollarEnd, ungreedy bool
}

type rawPattern struct {
	re     string
	negate bool
	opts   patOptions
}

func openPattern(spec, typ, name string, at diag.Pos, opt Options) (Table, error) {
	src, err := tableSource(spec, typ, name, at, opt)
	if err != nil {
		return nil, err
	}
	t := &patternTable{spec: spec, typ: typ, warns: src.warns, rules: make([]patRule, 0, len(src.lines))}
	var stack []int
	for i, ln := range src.lines {
		if i&4095 == 4095 && opt.Cancelled() {
			return nil, interruptedErr(spec, at)
		}
		p := trimRightSpace(ln.Text)
		if p == "" {
			continue
		}
		pos := src.pos(ln)
		t.label = src.label(ln)
		r, ok := t.parseRule(p, pos, len(stack))
		if !ok {
			continue
		}
		r.pos, r.text, r.blockEnd = pos, ln.Text, -1
		switch r.op {
		case OpIf:
			stack = append(stack, len(t.rules))
		case OpEndif:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			t.rules[top].blockEnd = len(t.rules)
		}
		t.rules = append(t.rules, r)
	}
	t.label = ""
	for i := len(stack) - 1; i >= 0; i-- {
		t.warns = append(t.warns, diag.Warning{Pos: t.rules[stack[i]].pos, Msg: "IF has no matching ENDIF"})
	}
	return t, nil
}

func (t *patternTable) skip(pos diag.Pos, text, format string, args ...any) {
	t.errs = append(t.errs, &diag.Error{Pos: pos, Msg: t.label + fmt.Sprintf(format, args...), Text: text})
}

func (t *patternTable) warn(pos diag.Pos, format string, args ...any) {
	t.warns = append(t.warns, diag.Warning{Pos: pos, Msg: t.label + fmt.Sprintf(format, args...)})
}

// parseRule follows dict_regexp_parseline() and dict_pcre_parse_rule().
func (t *patternTable) parseRule(line string, pos diag.Pos, nesting int) (patRule, bool) {
	p := line
	switch {
	case p != "" && !isAlnum(p[0]):
		first, rest, ok := t.getPattern(p, pos, line)
		if !ok {
			return patRule{}, false
		}
		var second *rawPattern
		if t.typ == "regexp" && strings.HasPrefix(rest, "!") {
			s, r2, ok := t.getPattern(rest, pos, line)
			if !ok {
				return patRule{}, false
			}
			second, rest = &s, r2
		}
		rest = trimLeftSpace(rest)
		if rest == "" {
			t.warn(pos, "no replacement text: using empty string")
		}
		repl, maxSub, why := parseReplacement(rest)
		if why != "" {
			t.skip(pos, line, "%s: bad replacement syntax: skipping this rule", why)
			return patRule{}, false
		}
		if maxSub > 0 && first.negate {
			t.skip(pos, line, "$number found in negative match replacement text: skipping this rule")
			return patRule{}, false
		}
		m1, ok := t.compile(first, pos, line)
		if !ok {
			return patRule{}, false
		}
		if m1.unknown == "" && maxSub > m1.nsub {
			t.skip(pos, line, "out of range replacement index \"%d\": skipping this rule", maxSub)
			return patRule{}, false
		}
		r := patRule{op: OpMatch, first: m1, repl: repl, literal: maxSub == 0}
		if second != nil {
			m2, ok := t.compile(*second, pos, line)
			if !ok {
				return patRule{}, false
			}
			r.second = m2
		}
		return r, true
	case hasKeyword(p, "IF"):
		p = trimLeftSpace(p[2:])
		pat, rest, ok := t.getPattern(p, pos, line)
		if !ok {
			return patRule{}, false
		}
		if rest = trimLeftSpace(rest); rest != "" {
			t.warn(pos, "ignoring extra text after IF statement: %q", rest)
			t.warn(pos, "do not prepend whitespace to statements between IF and ENDIF")
		}
		m, ok := t.compile(pat, pos, line)
		if !ok {
			return patRule{}, false
		}
		return patRule{op: OpIf, first: m}, true
	case hasKeyword(p, "ENDIF"):
		if nesting == 0 {
			t.warn(pos, "ignoring ENDIF without matching IF")
			return patRule{}, false
		}
		if trimSpace(p[5:]) != "" {
			t.warn(pos, "ignoring extra text after ENDIF")
		}
		return patRule{op: OpEndif}, true
	default:
		t.warn(pos, "ignoring unrecognized request")
		return patRule{}, false
	}
}

// getPattern extracts "!/pattern/flags" (dict_regexp_get_pat,
// dict_pcre_get_pattern).
func (t *patternTable) getPattern(p string, pos diag.Pos, line string) (rawPattern, string, bool) {
	var pat rawPattern
	pat.negate, p = negation(p)
	if p == "" {
		t.skip(pos, line, "no regexp: skipping this rule")
		return pat, "", false
	}
	delim := p[0]
	i := 1
	for i < len(p) {
		if p[i] == '\\' {
			if i+1 >= len(p) {
				break
			}
			i += 2
			continue
		}
		if p[i] == delim {
			break
		}
		i++
	}
	if i >= len(p) {
		verb := "skipping"
		if t.typ == "pcre" {
			verb = "ignoring"
		}
		t.skip(pos, line, "no closing regexp delimiter \"%c\": %s this rule", delim, verb)
		return pat, "", false
	}
	pat.re = p[1:i]
	p = p[i+1:]
	if t.typ == "regexp" {
		pat.opts = patOptions{icase: true, extended: true}
	} else {
		pat.opts = patOptions{icase: true, dotall: true}
	}
	for len(p) > 0 && !isSpace(p[0]) && !(t.typ == "regexp" && p[0] == '!') {
		c := p[0]
		o := &pat.opts
		switch {
		case c == 'i':
			o.icase = !o.icase
		case c == 'm' && t.typ == "regexp":
			o.newline = !o.newline
		case c == 'x' && t.typ == "regexp":
			o.extended = !o.extended
		case c == 'm':
			o.multiline = !o.multiline
		case c == 's' && t.typ == "pcre":
			o.dotall = !o.dotall
		case c == 'x':
			o.pextended = !o.pextended
		case c == 'A' && t.typ == "pcre":
			o.anchored = !o.anchored
		case c == 'E' && t.typ == "pcre":
			o.dollarEnd = !o.dollarEnd
		case c == 'U' && t.typ == "pcre":
			o.ungreedy = !o.ungreedy
		case c == 'X' && t.typ == "pcre":
			t.warn(pos, "ignoring obsolete regexp option \"X\"")
		default:
			t.skip(pos, line, "unknown regexp option \"%c\": skipping this rule", c)
			return pat, "", false
		}
		p = p[1:]
	}
	return pat, p, true
}

// compile translates one pattern. A pattern the C library refuses skips the
// rule (ok false); one that cannot be translated faithfully gives a matcher
// whose evaluation is unknown.
func (t *patternTable) compile(p rawPattern, pos diag.Pos, line string) (*matcher, bool) {
	var (
		goRE string
		nsub int
		err  error
	)
	if t.typ == "regexp" {
		goRE, nsub, err = translatePOSIX(p.re, p.opts)
	} else {
		goRE, nsub, err = translatePCRE(p.re, p.opts)
	}
	if inv, ok := err.(*invalidRE); ok {
		if t.typ == "pcre" {
			t.skip(pos, line, "error in regex: %s", inv.msg)
		} else {
			t.skip(pos, line, "%s", inv.msg)
		}
		return nil, false
	}
	m := &matcher{negate: p.negate, nsub: nsub, upper: t.typ == "regexp" && p.opts.icase}
	if err != nil {
		m.unknown = err.Error()
		t.warn(pos, "pattern /%s/ cannot be evaluated offline: %s", diag.Shorten(p.re), err)
		return m, true
	}
	if t.compiled += len(goRE); t.compiled > maxPatternBytes {
		m.unknown = overBudgetWhy
		if !t.overBudget {
			t.overBudget = true
			t.warn(pos, "pattern /%s/ and the rest of the table cannot be evaluated offline: %s", diag.Shorten(p.re), m.unknown)
		}
		return m, true
	}
	re, cerr := regexp.Compile(goRE)
	if cerr != nil {
		m.unknown = "no equivalent Go regular expression: " + cerr.Error()
		t.warn(pos, "pattern /%s/ cannot be evaluated offline: %s", diag.Shorten(p.re), m.unknown)
		return m, true
	}
	if t.typ == "regexp" {
		// POSIX matching is leftmost-longest.
		re.Longest()
	}
	m.re = re
	return m, true
}

// parseReplacement splits a result into literal text and $number
// references (mac_parse() with dict_regexp_prescan()). why is non-empty when
// Postfix refuses the rule.
func parseReplacement(s string) (parts []replPart, maxSub int, why string) {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit.WriteByte('$')
			i += 2
			continue
		}
		flush()
		i++
		var name string
		if i < len(s) && (s[i] == '{' || s[i] == '(') {
			open := s[i]
			closeC := byte('}')
			if open == '(' {
				closeC = ')'
			}
			level := 1
			j := i + 1
			for ; j < len(s) && level > 0; j++ {
				if s[j] == open {
					level++
				} else if s[j] == closeC {
					level--
				}
			}
			if level > 0 {
				return nil, 0, fmt.Sprintf("truncated macro reference: %q", s)
			}
			name = s[i+1 : j-1]
			i = j
		} else {
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			name = s[i:j]
			i = j
		}
		if name == "" {
			return nil, 0, fmt.Sprintf("empty macro name: %q", s)
		}
		if !allDigits(name) {
			return nil, 0, fmt.Sprintf("non-numeric replacement index %q", name)
		}
		// atoi(): the low 32 bits of strtol()'s result.
		n := int32(atol(name))
		if n < 1 {
			return nil, 0, fmt.Sprintf("out-of-range replacement index %q", name)
		}
		parts = append(parts, replPart{sub: int(n)})
		if int(n) > maxSub {
			maxSub = int(n)
		}
	}
	flush()
	return parts, maxSub, ""
}

// Lookup evaluates the rules in order (dict_regexp_lookup,
// dict_pcre_lookup).
func (t *patternTable) Lookup(key string) (Result, error) {
	if t.typ == "pcre" && strings.IndexByte(key, '\n') >= 0 {
		// PCRE's "$" also matches before a final newline; Go's does not.
		return Result{}, &UnknownError{Spec: t.spec, Reason: "PCRE lookup key contains a newline"}
	}
	if i := strings.IndexByte(key, 0); i >= 0 {
		key = key[:i]
	}
	s := &subject{plain: latin1(key)}
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		switch r.op {
		case OpMatch:
			ok, loc, err := r.first.match(s, !r.literal)
			if err != nil {
				return Result{}, t.unknownAt(r, err)
			}
			if !ok {
				continue
			}
			if r.second != nil {
				ok2, _, err := r.second.match(s, false)
				if err != nil {
					return Result{}, t.unknownAt(r, err)
				}
				if !ok2 {
					continue
				}
			}
			return Result{Value: expand(r.repl, s.plain, loc), Found: true, Pos: r.pos}, nil
		case OpIf:
			ok, _, err := r.first.match(s, false)
			if err != nil {
				return Result{}, t.unknownAt(r, err)
			}
			if ok {
				continue
			}
			if r.blockEnd < 0 {
				return Result{}, nil
			}
			i = r.blockEnd
		}
	}
	return Result{}, nil
}

func (t *patternTable) unknownAt(r *patRule, err error) error {
	return &UnknownError{Spec: t.spec, Pos: r.pos, Reason: err.Error()}
}

// subject is a lookup key prepared for matching; the upper-cased form is
// made on first use. Both have the same byte offsets.
type subject struct {
	plain    string
	upper    string
	hasUpper bool
}

func (s *subject) get(upper bool) string {
	if !upper {
		return s.plain
	}
	if !s.hasUpper {
		s.upper, s.hasUpper = asciiUpper(s.plain), true
	}
	return s.upper
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func (m *matcher) match(s *subject, wantSub bool) (bool, []int, error) {
	if m.re == nil {
		return false, nil, fmt.Errorf("%s", m.unknown)
	}
	subject := s.get(m.upper)
	if !wantSub {
		return m.re.MatchString(subject) != m.negate, nil, nil
	}
	loc := m.re.FindStringSubmatchIndex(subject)
	return (loc != nil) != m.negate, loc, nil
}

// expand substitutes $n; an unmatched or empty group expands to nothing.
func expand(parts []replPart, subject string, loc []int) string {
	var b strings.Builder
	for _, p := range parts {
		if p.sub == 0 {
			b.WriteString(p.lit)
			continue
		}
		if 2*p.sub+1 < len(loc) && loc[2*p.sub] >= 0 {
			b.WriteString(unlatin1(subject[loc[2*p.sub]:loc[2*p.sub+1]]))
		}
	}
	return b.String()
}

// latin1 maps each byte of a non-ASCII key to the rune of the same value,
// so that Go's rune-based matching sees the bytes the C libraries see.
func latin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

func unlatin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}

// hexRune writes c as a Go regexp escape.
func hexRune(c rune) string {
	return `\x{` + strconv.FormatInt(int64(c), 16) + `}`
}
