package table

import (
	"fmt"
	"strings"
)

// translatePCRE rewrites a PCRE2 pattern (8-bit, no UTF mode, as Postfix
// compiles it) into Go syntax with the same meaning for keys without a
// newline (Lookup refuses keys with one). It returns the capture count.
//
// Rewritten: \s and \S (PCRE includes VT), \h \H \v \V \N, \e \a \cX \0nn
// \o{} \x{}, \G (start of subject at offset 0), \Z (no newline in the key),
// the A flag, x-mode whitespace and comments, (?#...) comments.
// Unsupported (the rule becomes unknown): look-around, atomic and
// possessive forms, back-references, recursion, conditionals, verbs, \K \R
// \X \C \p, inline x/n/J options, stacked quantifiers, non-ASCII literals
// under case folding.
func translatePCRE(pat string, o patOptions) (string, int, error) {
	p := &pcreParser{s: pat, extended: o.pextended, icase: o.icase}
	body, err := p.parseAlt(0)
	if err != nil {
		return "", p.nsub, err
	}
	if p.i < len(p.s) {
		return "", p.nsub, &invalidRE{"unmatched closing parenthesis"}
	}
	if p.maxRef > p.nsub {
		return "", p.nsub, &invalidRE{"reference to non-existent subpattern"}
	}
	if p.unsup != nil {
		return "", p.nsub, p.unsup
	}
	flags := ""
	if o.icase {
		flags += "i"
	}
	if o.multiline {
		flags += "m"
	}
	if o.dotall {
		flags += "s"
	}
	if o.ungreedy {
		flags += "U"
	}
	out := body
	if o.anchored {
		out = `\A(?:` + body + `)`
	}
	if flags != "" {
		out = "(?" + flags + ")" + out
	}
	return out, p.nsub, nil
}

type pcreParser struct {
	s        string
	i        int
	extended bool
	icase    bool // global caseless flag; inline (?i) is tracked loosely
	nsub     int
	names    map[string]bool
	maxRef   int   // highest numbered back-reference
	unsup    error // first construct without a Go equivalent
	// before is text an atom brings along ahead of itself: the leading
	// characters of \Q...\E, where a quantifier takes the last only.
	before string
}

// unsupported records the first construct without a Go equivalent; parsing
// goes on so that later errors and capture groups are still seen.
func (p *pcreParser) unsupported(format string, args ...any) {
	if p.unsup == nil {
		p.unsup = &unsupportedRE{fmt.Sprintf(format, args...)}
	}
}

// skipExtended skips whitespace and #comments in x mode.
func (p *pcreParser) skipExtended() {
	if !p.extended {
		return
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isSpace(c) {
			p.i++
			continue
		}
		if c == '#' {
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
			continue
		}
		return
	}
}

func (p *pcreParser) parseAlt(depth int) (string, error) {
	var branches []string
	for {
		b, err := p.parseBranch(depth)
		if err != nil {
			return "", err
		}
		branches = append(branches, b)
		if p.i < len(p.s) && p.s[p.i] == '|' {
			p.i++
			continue
		}
		return strings.Join(branches, "|"), nil
	}
}

func (p *pcreParser) parseBranch(depth int) (string, error) {
	var out strings.Builder
	// pending is the last item; a quantifier applies to it, also across a
	// (?#comment).
	pending, canQuant := "", false
	for {
		p.skipExtended()
		if p.i >= len(p.s) || p.s[p.i] == '|' || p.s[p.i] == ')' {
			if p.i < len(p.s) && p.s[p.i] == ')' && depth == 0 {
				return "", &invalidRE{"unmatched closing parenthesis"}
			}
			out.WriteString(pending)
			return out.String(), nil
		}
		if p.isQuant() {
			if !canQuant {
				return "", &invalidRE{"quantifier does not follow a repeatable item"}
			}
			q, err := p.parseQuant()
			if err != nil {
				return "", err
			}
			pending += q
			canQuant = false // a second quantifier is an error
			continue
		}
		atom, quantifiable, err := p.parseAtom(depth)
		if err != nil {
			return "", err
		}
		if atom == "" && !quantifiable {
			continue // (?#comment), \E
		}
		out.WriteString(pending)
		out.WriteString(p.before)
		p.before = ""
		pending, canQuant = atom, quantifiable
	}
}

// isQuant reports a quantifier at p.i; "{" counts only when it starts a
// valid {n}, {n,} or {n,m}, otherwise PCRE reads it literally.
func (p *pcreParser) isQuant() bool {
	switch p.s[p.i] {
	case '*', '+', '?':
		return true
	case '{':
		_, _, _, ok := p.scanBrace()
		return ok
	}
	return false
}

// scanBrace parses "{n}", "{n,}" or "{n,m}" at p.i without consuming it.
func (p *pcreParser) scanBrace() (lo, hi int, end int, ok bool) {
	j := p.i + 1
	num := func() (int, bool) {
		k := j
		n := 0
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			if n < 1<<20 {
				n = n*10 + int(p.s[j]-'0')
			}
			j++
		}
		return n, j > k
	}
	lo, ok = num()
	if !ok {
		return 0, 0, 0, false
	}
	hi = lo
	if j < len(p.s) && p.s[j] == ',' {
		j++
		var has bool
		hi, has = num()
		if !has {
			hi = -1
		}
	}
	if j >= len(p.s) || p.s[j] != '}' {
		return 0, 0, 0, false
	}
	return lo, hi, j + 1, true
}

func (p *pcreParser) parseQuant() (string, error) {
	var q string
	c := p.s[p.i]
	if c == '{' {
		lo, hi, end, _ := p.scanBrace()
		p.i = end
		if lo > 65535 || hi > 65535 {
			return "", &invalidRE{"number too big in {} quantifier"}
		}
		if hi >= 0 && hi < lo {
			return "", &invalidRE{"numbers out of order in {} quantifier"}
		}
		if lo > 1000 || hi > 1000 {
			p.unsupported("repetition count above 1000")
			lo, hi = 1, 1
		}
		switch {
		case hi < 0:
			q = fmt.Sprintf("{%d,}", lo)
		case hi == lo:
			q = fmt.Sprintf("{%d}", lo)
		default:
			q = fmt.Sprintf("{%d,%d}", lo, hi)
		}
	} else {
		q = string(c)
		p.i++
	}
	// A (?#comment) may stand between a quantifier and its modifier.
	for strings.HasPrefix(p.s[p.i:], "(?#") {
		end := strings.IndexByte(p.s[p.i:], ')')
		if end < 0 {
			break
		}
		p.i += end + 1
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '?':
			p.i++
			q += "?"
		case '+':
			p.i++
			p.unsupported("possessive quantifier")
		}
	}
	return q, nil
}

// parseAtom returns the Go text of one atom and whether a quantifier may
// follow it.
func (p *pcreParser) parseAtom(depth int) (string, bool, error) {
	c := p.s[p.i]
	switch c {
	case '(':
		return p.parseGroup(depth)
	case '[':
		cls, err := p.parseClass()
		return cls, true, err
	case '.':
		p.i++
		return ".", true, nil
	case '^':
		p.i++
		return "^", false, nil
	case '$':
		p.i++
		return "$", false, nil
	case '*', '+', '?':
		return "", false, &invalidRE{"quantifier does not follow a repeatable item"}
	case '{':
		if p.isQuant() {
			return "", false, &invalidRE{"quantifier does not follow a repeatable item"}
		}
		p.i++
		return `\{`, true, nil
	case '\\':
		return p.parseEscape()
	}
	p.i++
	return p.lit(rune(c)), true, nil
}

// lit writes one character. PCRE's default tables fold ASCII letters only,
// so a byte above 127 is matched case-sensitively.
func (p *pcreParser) lit(c rune) string {
	switch {
	case c < 0x80 && isAlnum(byte(c)):
		return string(c)
	case c >= 0x80 && p.icase:
		return "(?-i:" + hexRune(c) + ")"
	}
	return hexRune(c)
}

func (p *pcreParser) parseGroup(depth int) (string, bool, error) {
	if depth > 250 {
		return "", false, &invalidRE{"parentheses are too deeply nested"}
	}
	p.i++ // (
	prefix := "("
	if strings.HasPrefix(p.s[p.i:], "*") {
		p.unsupported("backtracking control verb")
		prefix = "(?:"
		p.i++
	}
	if strings.HasPrefix(p.s[p.i:], "?") {
		rest := p.s[p.i+1:]
		switch {
		case strings.HasPrefix(rest, "#"):
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, &invalidRE{"missing ) after (?# comment"}
			}
			p.i += 1 + end + 1
			return "", false, nil
		case strings.HasPrefix(rest, ":"):
			p.i += 2
			prefix = "(?:"
		case strings.HasPrefix(rest, "P<"), strings.HasPrefix(rest, "<") && !strings.HasPrefix(rest, "<=") && !strings.HasPrefix(rest, "<!"),
			strings.HasPrefix(rest, "'"):
			// Named group: a plain capture for our purposes.
			skip := 1
			closer := byte('>')
			if strings.HasPrefix(rest, "P<") {
				skip = 2
			} else if rest[0] == '\'' {
				closer = '\''
			}
			j := skip
			for j < len(rest) && (isAlnum(rest[j]) || rest[j] == '_') {
				j++
			}
			if j == skip || j >= len(rest) || rest[j] != closer || (rest[skip] >= '0' && rest[skip] <= '9') {
				return "", false, &invalidRE{"syntax error in subpattern name"}
			}
			name := rest[skip:j]
			if p.names[name] {
				return "", false, &invalidRE{"two named subpatterns have the same name (PCRE2_DUPNAMES not set)"}
			}
			if p.names == nil {
				p.names = map[string]bool{}
			}
			p.names[name] = true
			p.i += 1 + j + 1
			p.nsub++
		default:
			// Option setting: (?i) (?-i) (?i-s:...)
			j := 0
			for j < len(rest) && strings.IndexByte("imsU", rest[j]) >= 0 {
				j++
			}
			if j < len(rest) && rest[j] == '-' {
				j++
				for j < len(rest) && strings.IndexByte("imsU", rest[j]) >= 0 {
					j++
				}
			}
			if j == 0 || j >= len(rest) || (rest[j] != ')' && rest[j] != ':') || rest[:j] == "-" {
				return p.otherGroup(depth, rest)
			}
			flags := rest[:j]
			if i := strings.IndexByte(flags, 'i'); i >= 0 && !strings.Contains(flags[:i], "-") {
				// Case folding may now cover literals we did not check.
				p.icase = true
			}
			if rest[j] == ')' {
				p.i += 1 + j + 1
				return "(?" + flags + ")", false, nil
			}
			p.i += 1 + j + 1
			prefix = "(?" + flags + ":"
		}
	} else {
		p.nsub++
	}
	inner, err := p.parseAlt(depth + 1)
	if err != nil {
		return "", false, err
	}
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return "", false, &invalidRE{"missing closing parenthesis"}
	}
	p.i++
	return prefix + inner + ")", true, nil
}

// otherGroup handles "(?" constructs Go lacks: look-around, atomic and
// branch-reset groups, conditionals, recursion and callouts. The rule
// becomes unknown; the body is still parsed for errors and captures.
// p.i is at the '?'; rest is the text after it.
func (p *pcreParser) otherGroup(depth int, rest string) (string, bool, error) {
	p.unsupported("group construct (?%s", diag1(rest))
	skip := 0
	switch {
	case strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, "<!"):
		skip = 2
	case rest != "" && strings.IndexByte("=!>|", rest[0]) >= 0:
		skip = 1
	case strings.HasPrefix(rest, "("):
		n := strings.IndexByte(rest, ')')
		if n < 0 {
			return "", false, &invalidRE{"malformed conditional group"}
		}
		skip = n + 1
	default:
		// (?R) (?1) (?-1) (?&name) (?P=name) (?P>name) (?C...): no body.
		n := strings.IndexByte(rest, ')')
		if n < 0 {
			return "", false, &invalidRE{"missing closing parenthesis"}
		}
		p.i += 1 + n + 1
		return "", true, nil
	}
	p.i += 1 + skip
	if _, err := p.parseAlt(depth + 1); err != nil {
		return "", false, err
	}
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return "", false, &invalidRE{"missing closing parenthesis"}
	}
	p.i++
	return "", true, nil
}

func diag1(s string) string {
	if len(s) > 2 {
		return s[:2]
	}
	return s
}

// parseEscape handles a backslash outside a character class.
func (p *pcreParser) parseEscape() (string, bool, error) {
	if p.i+1 >= len(p.s) {
		return "", false, &invalidRE{"\\ at end of pattern"}
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case 'd', 'D', 'w', 'W':
		return `\` + string(c), true, nil
	case 's':
		return `[\t\n\v\f\r ]`, true, nil
	case 'S':
		return `[^\t\n\v\f\r ]`, true, nil
	case 'h':
		return `[\t \x{a0}]`, true, nil
	case 'H':
		return `[^\t \x{a0}]`, true, nil
	case 'v':
		return `[\n\v\f\r\x{85}]`, true, nil
	case 'V':
		return `[^\n\v\f\r\x{85}]`, true, nil
	case 'N':
		if strings.HasPrefix(p.s[p.i:], "{") && !p.isQuant() {
			return "", false, &invalidRE{"PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u"}
		}
		return `[^\n]`, true, nil
	case 'b', 'B', 'A', 'z':
		return `\` + string(c), false, nil
	case 'Z':
		return `\z`, false, nil
	case 'G':
		return `\A`, false, nil
	case 'Q':
		end := strings.Index(p.s[p.i:], `\E`)
		var lit string
		if end < 0 {
			lit, p.i = p.s[p.i:], len(p.s)
		} else {
			lit, p.i = p.s[p.i:p.i+end], p.i+end+2
		}
		if lit == "" {
			return "", false, nil
		}
		var b strings.Builder
		for k := 0; k < len(lit)-1; k++ {
			b.WriteString(p.lit(rune(lit[k])))
		}
		p.before = b.String()
		return p.lit(rune(lit[len(lit)-1])), true, nil
	case 'E':
		return "", false, nil
	case 'K':
		p.unsupported("escape \\K")
		return "(?:)", false, nil
	case 'C':
		// One code unit: one byte without UTF mode.
		return `(?s:.)`, true, nil
	}
	r, err := p.charEscape(c, false)
	if err != nil {
		return "", false, err
	}
	return p.lit(r), true, nil
}

// charEscape decodes an escape that stands for one character; c is the
// character after the backslash and p.i points after it.
func (p *pcreParser) charEscape(c byte, inClass bool) (rune, error) {
	switch c {
	case 'a':
		return 7, nil
	case 'e':
		return 27, nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'c':
		if p.i >= len(p.s) || p.s[p.i] < 0x20 || p.s[p.i] > 0x7e {
			return 0, &invalidRE{"\\c must be followed by a printable ASCII character"}
		}
		x := p.s[p.i]
		p.i++
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		return rune(x ^ 0x40), nil
	case 'x':
		if strings.HasPrefix(p.s[p.i:], "{") {
			end := strings.IndexByte(p.s[p.i:], '}')
			if end < 0 {
				return 0, &invalidRE{"missing terminating } in \\x{}"}
			}
			digits := p.s[p.i+1 : p.i+end]
			v, ok := parseBase(digits, 16)
			if !ok {
				return 0, &invalidRE{"non-hex character in \\x{}"}
			}
			p.i += end + 1
			if v > 0xff {
				return 0, &invalidRE{"character code point value in \\x{} or \\o{} is too large"}
			}
			return rune(v), nil
		}
		v, n := 0, 0
		for n < 2 && p.i < len(p.s) && isHex(p.s[p.i]) {
			v = v*16 + hexVal(p.s[p.i])
			p.i++
			n++
		}
		return rune(v), nil
	case 'o':
		if !strings.HasPrefix(p.s[p.i:], "{") {
			return 0, &invalidRE{"missing opening brace after \\o"}
		}
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return 0, &invalidRE{"missing terminating } in \\o{}"}
		}
		v, ok := parseBase(p.s[p.i+1:p.i+end], 8)
		if !ok {
			return 0, &invalidRE{"non-octal character in \\o{}"}
		}
		p.i += end + 1
		if v > 0xff {
			return 0, &invalidRE{"character code point value in \\x{} or \\o{} is too large"}
		}
		return rune(v), nil
	case '0':
		v, n := 0, 0
		for n < 2 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7' {
			v = v*8 + int(p.s[p.i]-'0')
			p.i++
			n++
		}
		return rune(v), nil
	}
	if c >= '1' && c <= '9' {
		// \1-\9, or a larger number when that many groups precede:
		// a back-reference (which Go lacks). Otherwise up to three octal
		// digits, or "\8"/"\9" followed by literal digits.
		start := p.i - 1
		n := int(c - '0')
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' && n < 1<<20 {
			n = n*10 + int(p.s[p.i]-'0')
			p.i++
		}
		if !inClass && (n < 10 || n <= p.nsub) {
			p.unsupported("back-reference")
			if n > p.maxRef {
				p.maxRef = n
			}
			return 'a', nil
		}
		p.i = start
		if c >= '8' {
			p.i++
			return rune(c), nil
		}
		v := 0
		for k := 0; k < 3 && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '7'; k++ {
			v = v*8 + int(p.s[p.i]-'0')
			p.i++
		}
		if v > 0xff {
			return 0, &invalidRE{"octal value is greater than \\377 in 8-bit non-UTF-8 mode"}
		}
		return rune(v), nil
	}
	if c >= 0x80 {
		return rune(c), nil
	}
	if isAlnum(c) {
		if inClass && c == 'b' {
			return '\b', nil
		}
		switch c {
		case 'g', 'k', 'p', 'P', 'X', 'R':
			p.unsupported("escape \\%c", c)
			return 'a', nil
		}
		return 0, &invalidRE{fmt.Sprintf("unrecognized character follows \\ (\\%c)", c)}
	}
	return rune(c), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	default:
		return int(c-'A') + 10
	}
}

func parseBase(s string, base int) (int, bool) {
	if s == "" || len(s) > 8 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		var d int
		switch {
		case s[i] >= '0' && s[i] <= '9':
			d = int(s[i] - '0')
		case base == 16 && isHex(s[i]):
			d = hexVal(s[i])
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
	}
	return v, true
}

// parseClass translates a PCRE character class; p.i is at '['.
func (p *pcreParser) parseClass() (string, error) {
	unterminated := &invalidRE{"missing terminating ] for character class"}
	p.i++
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '^' {
		neg = true
		p.i++
	}
	var cls charClass
	first := true
	// item returns one character, or a Go class fragment (escape class or
	// POSIX class) that cannot be a range end point.
	item := func() (r rune, frag string, err error) {
		c := p.s[p.i]
		if c == '[' && p.i+1 < len(p.s) && (p.s[p.i+1] == ':' || p.s[p.i+1] == '.' || p.s[p.i+1] == '=') {
			kind := p.s[p.i+1]
			end := strings.Index(p.s[p.i+2:], string(kind)+"]")
			if end >= 0 {
				name := p.s[p.i+2 : p.i+2+end]
				if kind != ':' {
					return 0, "", &invalidRE{"POSIX collating elements are not supported"}
				}
				base := strings.TrimPrefix(name, "^")
				if !posixClasses[base] && base != "word" && base != "ascii" {
					return 0, "", &invalidRE{"unknown POSIX class name"}
				}
				p.i += 2 + end + 2
				if base == "upper" || base == "lower" {
					cls.caseDependent = true
				}
				return 0, "[:" + name + ":]", nil
			}
		}
		if c == '\\' {
			if p.i+1 >= len(p.s) {
				return 0, "", &invalidRE{"\\ at end of pattern"}
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case 'd':
				return 0, `0-9`, nil
			case 'D':
				return 0, `\D`, nil
			case 'w':
				return 0, `0-9A-Za-z_`, nil
			case 'W':
				return 0, `\W`, nil
			case 's':
				return 0, `\t\n\v\f\r `, nil
			case 'S':
				return 0, `[:^space:]`, nil
			case 'h':
				return 0, `\t \x{a0}`, nil
			case 'v':
				return 0, `\n\v\f\r\x{85}`, nil
			case 'H', 'V', 'N', 'Q', 'E', 'p', 'P', 'X', 'R':
				p.unsupported("escape \\%c in a character class", e)
				return 0, "a", nil
			}
			r, err := p.charEscape(e, true)
			return r, "", err
		}
		p.i++
		return rune(c), "", nil
	}
	for {
		if p.i >= len(p.s) {
			return "", unterminated
		}
		if p.s[p.i] == ']' && !first {
			p.i++
			break
		}
		first = false
		lo, frag, err := item()
		if err != nil {
			return "", err
		}
		if frag != "" {
			cls.extra = append(cls.extra, frag)
			continue
		}
		if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
			p.i++
			hi, hfrag, err := item()
			if err != nil {
				return "", err
			}
			if hfrag != "" {
				return "", &invalidRE{"invalid range in character class"}
			}
			if hi < lo {
				return "", &invalidRE{"range out of order in character class"}
			}
			cls.ranges = append(cls.ranges, [2]byte{byte(lo), byte(hi)})
			continue
		}
		cls.ranges = append(cls.ranges, [2]byte{byte(lo), byte(lo)})
	}
	out, why := cls.goSyntax(neg, p.icase)
	if why != "" {
		p.unsupported("%s", why)
	}
	return out, nil
}
