package table

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// CIDR rule operations (cidr_match.h).
const (
	OpMatch = iota // pattern result
	OpIf           // if pattern ... endif
	OpEndif
)

// CIDRRule is one rule of a cidr table, as Postfix keeps it after parsing.
type CIDRRule struct {
	Op     int
	Prefix netip.Prefix // network; the family is the pattern's
	Negate bool
	Value  string
	Pos    diag.Pos
	Text   string
	// BlockEnd is, for OpIf, the index of the matching endif rule, or -1
	// when the if has none (a lookup that fails the if then ends with "not
	// found").
	BlockEnd int
}

// CIDRTable is a parsed cidr table.
type CIDRTable struct {
	spec  string
	rules []CIDRRule
	errs  []*diag.Error
	warns []diag.Warning
}

var _ Table = (*CIDRTable)(nil)

func (t *CIDRTable) Spec() string             { return t.spec }
func (t *CIDRTable) Type() string             { return "cidr" }
func (t *CIDRTable) Fixed() bool              { return false }
func (t *CIDRTable) Errors() []*diag.Error    { return t.errs }
func (t *CIDRTable) Warnings() []diag.Warning { return t.warns }

// Rules returns the rules in table order (skipped rules excluded).
func (t *CIDRTable) Rules() []CIDRRule { return t.rules }

// Values returns the results of the match rules, in table order.
func (t *CIDRTable) Values() []string {
	var out []string
	for _, r := range t.rules {
		if r.Op == OpMatch {
			out = append(out, r.Value)
		}
	}
	return out
}

func openCIDR(spec, name string, at diag.Pos, opt Options) (Table, error) {
	src, err := tableSource(spec, "cidr", name, at, opt)
	if err != nil {
		return nil, err
	}
	t := &CIDRTable{spec: spec, warns: src.warns, rules: make([]CIDRRule, 0, len(src.lines))}
	var stack []int
	for i, ln := range src.lines {
		if i&4095 == 4095 && opt.Cancelled() {
			return nil, interruptedErr(spec, at)
		}
		pos := src.pos(ln)
		r, why := parseCIDRRule(ln.Text, len(stack))
		if why != "" {
			t.errs = append(t.errs, &diag.Error{Pos: pos, Msg: src.label(ln) + why + ": skipping this rule", Text: ln.Text})
			continue
		}
		r.Pos, r.Text, r.BlockEnd = pos, ln.Text, -1
		switch r.Op {
		case OpIf:
			stack = append(stack, len(t.rules))
		case OpEndif:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			t.rules[top].BlockEnd = len(t.rules)
		}
		t.rules = append(t.rules, r)
	}
	for i := len(stack) - 1; i >= 0; i-- {
		t.warns = append(t.warns, diag.Warning{Pos: t.rules[stack[i]].Pos, Msg: "IF has no matching ENDIF"})
	}
	return t, nil
}

// parseCIDRRule parses one logical line (dict_cidr_parse_rule); why is
// Postfix's reason for skipping it.
func parseCIDRRule(p string, nesting int) (r CIDRRule, why string) {
	switch {
	case hasKeyword(p, "IF"):
		p = p[2:]
		negate, rest := negation(p)
		if rest == "" {
			return r, "no address pattern"
		}
		pfx, why := ParseCIDR(trimRightSpace(rest))
		if why != "" {
			return r, why
		}
		return CIDRRule{Op: OpIf, Prefix: pfx, Negate: negate}, ""
	case hasKeyword(p, "ENDIF"):
		if trimSpace(p[5:]) != "" {
			return r, "garbage after ENDIF"
		}
		if nesting == 0 {
			return r, "ENDIF without IF"
		}
		return CIDRRule{Op: OpEndif}, ""
	}
	negate, p := negation(p)
	i := 0
	for i < len(p) && !isSpace(p[i]) {
		i++
	}
	pattern, value := p[:i], trimSpace(p[i:])
	if pattern == "" {
		return r, "no address pattern"
	}
	pfx, why := ParseCIDR(pattern)
	if why != "" {
		return r, why
	}
	if value == "" {
		return r, "no lookup result"
	}
	return CIDRRule{Op: OpMatch, Prefix: pfx, Negate: negate, Value: value}, ""
}

// hasKeyword reports whether p starts with kw (any case) not followed by a
// letter or digit.
func hasKeyword(p, kw string) bool {
	return len(p) >= len(kw) && strings.EqualFold(p[:len(kw)], kw) &&
		(len(p) == len(kw) || !isAlnum(p[len(kw)]))
}

// negation consumes leading '!' and whitespace, toggling for each '!'.
func negation(p string) (bool, string) {
	neg := false
	i := 0
	for ; i < len(p); i++ {
		if p[i] == '!' {
			neg = !neg
		} else if !isSpace(p[i]) {
			break
		}
	}
	return neg, p[i:]
}

// ParseCIDR parses an address or address/length pattern exactly as
// cidr_match_parse() does, brackets optional. why is Postfix's error text;
// empty on success. A bare address gives a full-length prefix.
func ParseCIDR(pattern string) (pfx netip.Prefix, why string) {
	maskSearch := pattern
	var mask string
	hasMask := false
	if strings.HasPrefix(pattern, "[") {
		inner := pattern[1:]
		j := strings.IndexByte(inner, ']')
		if j < 0 {
			return pfx, fmt.Sprintf("missing ']' character after \"[%s\"", inner)
		}
		after := inner[j+1:]
		pattern = inner[:j]
		switch {
		case strings.HasPrefix(after, "/"):
			mask, hasMask = after[1:], true
		case after != "":
			return pfx, fmt.Sprintf("garbage after \"[%s]\"", pattern)
		default:
			maskSearch = pattern
			if k := strings.IndexByte(maskSearch, '/'); k >= 0 {
				pattern, mask, hasMask = maskSearch[:k], maskSearch[k+1:], true
			}
		}
	} else if k := strings.IndexByte(maskSearch, '/'); k >= 0 {
		pattern, mask, hasMask = maskSearch[:k], maskSearch[k+1:], true
	}
	v6 := strings.IndexByte(pattern, ':') >= 0
	bits := 32
	if v6 {
		bits = 128
	}
	if !hasMask {
		addr, ok := ParseAddr(pattern)
		if !ok {
			return pfx, fmt.Sprintf("bad address pattern: \"%s\"", pattern)
		}
		return netip.PrefixFrom(addr, bits), ""
	}
	if !allDigits(mask) {
		return pfx, fmt.Sprintf("bad mask value in \"%s/%s\"", pattern, mask)
	}
	// atoi() into an unsigned char (cidr_match.h): only the low 8 bits of
	// the number count, so "/264" is "/8".
	shift := int(uint8(atol(mask)))
	if shift > bits {
		return pfx, fmt.Sprintf("bad mask length in \"%s/%s\"", pattern, mask)
	}
	addr, ok := ParseAddr(pattern)
	if !ok {
		return pfx, fmt.Sprintf("bad network value in \"%s/%s\"", pattern, mask)
	}
	p := netip.PrefixFrom(addr, shift)
	if p.Masked().Addr() != addr {
		return p, fmt.Sprintf("non-null host address bits in \"%s/%s\", perhaps you should use \"%s/%d\" instead",
			pattern, mask, ntop(p.Masked().Addr()), shift)
	}
	return p, ""
}

// ParseAddr parses an address like inet_pton() with the family chosen as
// Postfix chooses it: IPv6 when the text contains ':'. Zones are refused.
// IPv4-mapped IPv6 addresses stay IPv6.
func ParseAddr(s string) (netip.Addr, bool) {
	if strings.ContainsAny(s, "%") || s == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	if strings.IndexByte(s, ':') >= 0 != a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

// ntop formats an address as inet_ntop() does.
func ntop(a netip.Addr) string { return FormatAddr(a) }

// FormatAddr formats an address exactly as glibc's inet_ntop() does, which
// is how Postfix prints client addresses (and so the text that match lists
// and tables compare and look up). It differs from netip.Addr.String only
// for IPv4-compatible IPv6 addresses such as ::1.2.3.4. Zones are dropped.
func FormatAddr(a netip.Addr) string {
	if !a.Is6() {
		return a.String()
	}
	b := a.As16()
	var w [8]int
	for i := range w {
		w[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i := 0; i < 8; i++ {
		if w[i] == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
		} else if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	var out strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				out.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			out.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 7 && w[7] != 1) || (bestLen == 5 && w[5] == 0xffff)) {
			fmt.Fprintf(&out, "%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			return out.String()
		}
		fmt.Fprintf(&out, "%x", w[i])
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		out.WriteByte(':')
	}
	return out.String()
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

// atol converts a digit string as strtol() does: overflow saturates.
func atol(s string) int64 {
	const max = int64(^uint64(0) >> 1)
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (max-d)/10 {
			return max
		}
		n = n*10 + d
	}
	return n
}

// Lookup implements cidr_match_execute(): keys that are not addresses never
// match.
func (t *CIDRTable) Lookup(key string) (Result, error) {
	addr, ok := ParseAddr(key)
	if !ok {
		return Result{}, nil
	}
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		switch r.Op {
		case OpMatch:
			if cidrMatch(r, addr) {
				return Result{Value: r.Value, Found: true, Pos: r.Pos}, nil
			}
		case OpIf:
			if cidrMatch(r, addr) {
				continue
			}
			if r.BlockEnd < 0 {
				return Result{}, nil
			}
			i = r.BlockEnd
		}
	}
	return Result{}, nil
}

// cidrMatch matches one rule; a rule never matches (negated or not) an
// address of the other family.
func cidrMatch(r *CIDRRule, a netip.Addr) bool {
	if r.Prefix.Addr().Is6() != a.Is6() {
		return false
	}
	return r.Prefix.Contains(a) != r.Negate
}

// source is the logical lines of a file or of an inline {...} table.
type source struct {
	file   string
	inline bool
	at     diag.Pos
	lines  []Line
	warns  []diag.Warning
}

// pos is where a rule comes from: file:line, or for inline tables the
// position of the table spec (rule numbers are in the rule text).
func (s *source) pos(l Line) diag.Pos {
	if s.inline {
		return s.at
	}
	return diag.Pos{File: s.file, Line: l.First}
}

// label names a rule of an inline table in messages ("inline rule 2: "),
// since its position is the table's own.
func (s *source) label(l Line) string {
	if s.inline {
		return fmt.Sprintf("inline rule %d: ", l.First)
	}
	return ""
}

// tableSource reads the rules of a cidr/regexp/pcre table from a file or
// from the inline {...} form.
func tableSource(spec, typ, name string, at diag.Pos, opt Options) (*source, error) {
	if strings.HasPrefix(name, "{") {
		rules, err := inlineRules(name)
		if err != nil {
			return nil, &diag.Error{Pos: at, Msg: fmt.Sprintf("%s map: %v", typ, err), Text: spec}
		}
		lines, warns := LogicalLines([]byte(strings.Join(rules, "\n")+"\n"), at.String())
		for i := range warns {
			warns[i].Pos = at
		}
		return &source{file: at.File, inline: true, at: at, lines: lines, warns: warns}, nil
	}
	data, err := readSource(spec, name, at, opt)
	if err != nil {
		return nil, err
	}
	lines, warns := LogicalLines(data, name)
	return &source{file: name, at: at, lines: lines, warns: warns}, nil
}
