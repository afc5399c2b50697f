package table

import (
	"fmt"
	"strings"
)

// translatePOSIX rewrites a POSIX regular expression, as glibc regcomp()
// reads it in the C locale with Postfix's flags, into Go syntax with the
// same meaning. It returns the number of subexpressions (re_nsub).
//
// *invalidRE means regcomp() rejects the pattern (Postfix skips the rule);
// *unsupportedRE means the pattern is valid but has no faithful Go
// equivalent (back-references, \< \>, repetition counts above Go's limit
// of 1000). The parser keeps going after
// an unsupported construct so that an error later in the pattern is still
// recognised and the subexpressions are still counted.
//
// Facts checked against glibc through postmap -q (see the differential
// test): inside brackets a backslash is literal; a lone ')' in an ERE is an
// ordinary character; "{,n}" means "{0,n}"; stacked repetitions ("a**",
// "a{1,2}{2}") are allowed in an ERE and an error in a BRE; a repetition
// operator first in a branch or after an anchor is an error.
//
// REG_ICASE is modelled the way glibc implements it: the subject and the
// pattern are converted to upper case (ASCII only in the C locale), except
// for escaped characters, and then matched case-sensitively. The caller
// must upper-case the subject (matcher.upper). This reproduces, among
// others, that "\d" is no digit class and with the default flags matches
// nothing at all, that "[_-z]" is an invalid range under REG_ICASE, and
// that "[[:lower:]]" then means "[[:alpha:]]".
func translatePOSIX(pat string, o patOptions) (string, int, error) {
	p := &posixParser{s: pat, ere: o.extended, icase: o.icase, newline: o.newline}
	body, err := p.parseAlt(false)
	if err != nil {
		return "", p.nsub, err
	}
	if p.i < len(p.s) {
		// Only an unmatched BRE "\)" stops the top level early.
		return "", p.nsub, &invalidRE{"Unmatched ) or \\)"}
	}
	if p.unsup != nil {
		return "", p.nsub, p.unsup
	}
	flags := "(?s)"
	if o.newline {
		flags = "(?m)"
	}
	return flags + body, p.nsub, nil
}

type posixParser struct {
	s       string
	i       int
	ere     bool
	icase   bool
	newline bool
	nsub    int          // subexpressions opened so far
	done    map[int]bool // subexpressions closed so far
	depth   int
	unsup   error // first construct without a Go equivalent
}

// unsupported records the first construct without a Go equivalent.
func (p *posixParser) unsupported(format string, args ...any) {
	if p.unsup == nil {
		p.unsup = &unsupportedRE{fmt.Sprintf(format, args...)}
	}
}

// Atom kinds that matter for what may follow.
const (
	atomNormal = iota
	atomHat
	atomAnchor // $, \b, \B, \`, \', \<, \>
)

const reDupMax = 0x7fff // RE_DUP_MAX in glibc

func (p *posixParser) peek(s string) bool { return strings.HasPrefix(p.s[p.i:], s) }

func (p *posixParser) altSep() bool {
	if p.ere {
		return p.peek("|")
	}
	return p.peek(`\|`)
}

func (p *posixParser) groupClose() bool {
	if p.ere {
		return p.peek(")")
	}
	return p.peek(`\)`)
}

func (p *posixParser) parseAlt(inGroup bool) (string, error) {
	var branches []string
	for {
		b, err := p.parseBranch(inGroup)
		if err != nil {
			return "", err
		}
		branches = append(branches, b)
		if p.i < len(p.s) && p.altSep() {
			if p.ere {
				p.i++
			} else {
				p.i += 2
			}
			continue
		}
		return strings.Join(branches, "|"), nil
	}
}

func (p *posixParser) parseBranch(inGroup bool) (string, error) {
	var out strings.Builder
	// exprStart: where glibc's parse_expression() starts afresh: first in
	// a branch and after an anchor (anchors take no repetition). There a
	// repetition operator is an error in an ERE; in a BRE '*', "\+" and
	// "\?" are ordinary characters and "\{" is an error.
	exprStart := true
	branchStart := true
	for p.i < len(p.s) {
		if p.altSep() || (inGroup && p.groupClose()) {
			break
		}
		if !p.ere && p.groupClose() {
			// "\)" without "\(" in a BRE.
			return "", &invalidRE{"Unmatched ) or \\)"}
		}
		if exprStart && (p.ere && p.isQuant() || !p.ere && p.peek(`\{`)) {
			return "", &invalidRE{"Invalid preceding regular expression"}
		}
		atom, kind, err := p.parseAtom(branchStart)
		if err != nil {
			return "", err
		}
		branchStart = false
		if kind != atomNormal {
			out.WriteString(atom)
			exprStart = true
			continue
		}
		n := 0
		for p.i < len(p.s) && p.isQuant() {
			q, err := p.parseQuant()
			if err != nil {
				return "", err
			}
			if n == 0 {
				atom += q
			} else {
				atom = "(?:" + atom + ")" + q
			}
			n++
			// RE_CONTEXT_INVALID_DUP (BRE): '*' or "\{" right after a
			// repetition is an error.
			if !p.ere && (p.peek("*") || p.peek(`\{`)) {
				return "", &invalidRE{"Invalid preceding regular expression"}
			}
		}
		out.WriteString(atom)
		exprStart = false
	}
	return out.String(), nil
}

func (p *posixParser) isQuant() bool {
	if p.i >= len(p.s) {
		return false
	}
	if p.ere {
		switch p.s[p.i] {
		case '*', '+', '?', '{':
			return true
		}
		return false
	}
	return p.peek("*") || p.peek(`\{`) || p.peek(`\+`) || p.peek(`\?`)
}

func (p *posixParser) parseQuant() (string, error) {
	if p.ere {
		c := p.s[p.i]
		p.i++
		if c != '{' {
			return string(c), nil
		}
	} else {
		switch {
		case p.peek("*"):
			p.i++
			return "*", nil
		case p.peek(`\+`):
			p.i += 2
			return "+", nil
		case p.peek(`\?`):
			p.i += 2
			return "?", nil
		}
		p.i += 2 // \{
	}
	readNum := func() (int, bool) {
		j := p.i
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			if n <= reDupMax {
				n = n*10 + int(p.s[p.i]-'0')
			}
			p.i++
		}
		return n, p.i > j
	}
	lo, hasLo := readNum()
	hi, hasHi, comma := lo, hasLo, false
	if p.i < len(p.s) && p.s[p.i] == ',' {
		comma = true
		p.i++
		hi, hasHi = readNum()
	}
	closeTok := "}"
	if !p.ere {
		closeTok = `\}`
	}
	if !p.peek(closeTok) || (!hasLo && !comma) {
		return "", &invalidRE{"Unmatched \\{"}
	}
	p.i += len(closeTok)
	if !hasLo {
		lo = 0
	}
	if lo > reDupMax || (hasHi && hi > reDupMax) {
		return "", &invalidRE{"Regular expression too big"}
	}
	if comma && hasHi && hi < lo {
		return "", &invalidRE{"Invalid content of \\{\\}"}
	}
	if lo > 1000 || (comma && hasHi && hi > 1000) {
		p.unsupported("repetition count above 1000")
		return "", nil
	}
	switch {
	case !comma:
		return fmt.Sprintf("{%d}", lo), nil
	case !hasHi:
		return fmt.Sprintf("{%d,}", lo), nil
	default:
		return fmt.Sprintf("{%d,%d}", lo, hi), nil
	}
}

func (p *posixParser) parseAtom(branchStart bool) (string, int, error) {
	c := p.s[p.i]
	switch {
	case p.ere && c == '(' || !p.ere && p.peek(`\(`):
		if p.ere {
			p.i++
		} else {
			p.i += 2
		}
		p.nsub++
		n := p.nsub
		p.depth++
		if p.depth > 500 {
			return "", 0, &invalidRE{"Regular expression too big"}
		}
		inner, err := p.parseAlt(true)
		if err != nil {
			return "", 0, err
		}
		if p.i >= len(p.s) {
			return "", 0, &invalidRE{"Unmatched ( or \\("}
		}
		if p.ere {
			p.i++
		} else {
			p.i += 2
		}
		p.depth--
		if p.done == nil {
			p.done = map[int]bool{}
		}
		p.done[n] = true
		return "(" + inner + ")", atomNormal, nil
	case c == '.':
		p.i++
		return ".", atomNormal, nil
	case c == '[':
		cls, err := p.parseBracket()
		return cls, atomNormal, err
	case c == '^':
		// In a BRE '^' anchors only first in the pattern or right after
		// "\(".
		bre := p.i == 0 || p.i >= 2 && p.s[p.i-2:p.i] == `\(` && branchStart
		p.i++
		if p.ere || bre {
			return "^", atomHat, nil
		}
		return `\^`, atomNormal, nil
	case c == '$':
		p.i++
		if p.ere || p.i == len(p.s) || p.groupClose() || p.altSep() {
			return "$", atomAnchor, nil
		}
		return `\$`, atomNormal, nil
	case c == '*' && !p.ere:
		// Only reached where an expression starts: an ordinary character.
		p.i++
		return `\*`, atomNormal, nil
	case c == '\\':
		return p.parseEscape()
	}
	p.i++
	return p.literal(c), atomNormal, nil
}

// literal writes one unescaped pattern byte as a Go regexp literal,
// upper-cased under REG_ICASE.
func (p *posixParser) literal(c byte) string {
	return litByte(p.fold(c))
}

func (p *posixParser) fold(c byte) byte {
	if p.icase && c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func litByte(c byte) string {
	if isAlnum(c) {
		return string(c)
	}
	return hexRune(rune(c))
}

func (p *posixParser) parseEscape() (string, int, error) {
	if p.i+1 >= len(p.s) {
		return "", 0, &invalidRE{"Trailing backslash"}
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case 'w':
		return `[0-9A-Za-z_]`, atomNormal, nil
	case 'W':
		if p.newline {
			return `[^0-9A-Za-z_\n]`, atomNormal, nil
		}
		return `[^0-9A-Za-z_]`, atomNormal, nil
	case 's':
		return `[\t\n\v\f\r ]`, atomNormal, nil
	case 'S':
		return `[^\t\n\v\f\r ]`, atomNormal, nil
	case 'b':
		return `\b`, atomAnchor, nil
	case 'B':
		return `\B`, atomAnchor, nil
	case '`':
		return `\A`, atomAnchor, nil
	case '\'':
		return `\z`, atomAnchor, nil
	case '<', '>':
		p.unsupported("word anchor \\%c", c)
		return "", atomAnchor, nil
	}
	if c >= '1' && c <= '9' {
		if !p.done[int(c-'0')] {
			return "", 0, &invalidRE{"Invalid back reference"}
		}
		p.unsupported("back-reference")
		return "", atomNormal, nil
	}
	// Escaped characters keep their case: under REG_ICASE a lower-case one
	// never matches the upper-cased subject.
	return litByte(c), atomNormal, nil
}

var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "blank": true, "cntrl": true, "digit": true,
	"graph": true, "lower": true, "print": true, "punct": true, "space": true,
	"upper": true, "xdigit": true,
}

// parseBracket translates a bracket expression; p.i is at '['.
func (p *posixParser) parseBracket() (string, error) {
	unmatched := &invalidRE{"Unmatched [, [^, [:, [., or [="}
	p.i++
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '^' {
		neg = true
		p.i++
	}
	var cls charClass
	first := true
	// element reads one character (or a collating/equivalence element
	// naming one character); class is set for [:name:].
	element := func() (c byte, class string, err error) {
		if p.i >= len(p.s) {
			return 0, "", unmatched
		}
		if p.s[p.i] == '[' && p.i+1 < len(p.s) && strings.IndexByte(":=.", p.s[p.i+1]) >= 0 {
			kind := p.s[p.i+1]
			end := strings.Index(p.s[p.i+2:], string(kind)+"]")
			if end < 0 {
				return 0, "", unmatched
			}
			name := p.s[p.i+2 : p.i+2+end]
			p.i += 2 + end + 2
			switch kind {
			case ':':
				if !posixClasses[name] {
					return 0, "", &invalidRE{"Invalid character class name"}
				}
				if p.icase && (name == "upper" || name == "lower") {
					// build_charclass(): both mean "alpha" under REG_ICASE.
					name = "alpha"
				}
				return 0, name, nil
			default:
				if len(name) != 1 {
					// The C locale has no multi-character collating
					// elements.
					return 0, "", &invalidRE{"Invalid collation character"}
				}
				return p.fold(name[0]), "", nil
			}
		}
		c = p.fold(p.s[p.i])
		p.i++
		return c, "", nil
	}
	for {
		if p.i >= len(p.s) {
			return "", unmatched
		}
		if p.s[p.i] == ']' && !first {
			p.i++
			break
		}
		first = false
		c, class, err := element()
		if err != nil {
			return "", err
		}
		if class != "" {
			cls.classes = append(cls.classes, class)
			if p.peek("-") && p.i+1 < len(p.s) && p.s[p.i+1] != ']' {
				return "", &invalidRE{"Invalid range end"}
			}
			continue
		}
		// A range: "a-z", but '-' before the closing ']' is literal.
		if p.peek("-") && p.i+1 < len(p.s) && p.s[p.i+1] != ']' {
			p.i++
			hi, hclass, err := element()
			if err != nil {
				return "", err
			}
			if hclass != "" || hi < c {
				return "", &invalidRE{"Invalid range end"}
			}
			cls.ranges = append(cls.ranges, [2]byte{c, hi})
			// "a-c-e": a '-' right after a range is an error unless it
			// ends the list.
			if p.peek("-") && p.i+1 < len(p.s) && p.s[p.i+1] != ']' {
				return "", &invalidRE{"Invalid range end"}
			}
			continue
		}
		cls.ranges = append(cls.ranges, [2]byte{c, c})
	}
	if neg && p.newline {
		cls.ranges = append(cls.ranges, [2]byte{'\n', '\n'})
	}
	out, _ := cls.goSyntax(neg, false)
	return out, nil
}

// charClass is a bracket expression's members, byte ranges and named
// classes.
type charClass struct {
	ranges  [][2]byte
	classes []string // POSIX class names
	extra   []string // further Go class fragments
	// caseDependent is set when a fragment names upper or lower case.
	caseDependent bool
}

// goSyntax writes the class for Go. Under case folding a class that holds
// bytes above 127 is written case-sensitively with its ASCII letters
// folded by hand, because the C libraries fold ASCII only while Go would
// also fold Latin-1 letters.
func (c *charClass) goSyntax(neg, icase bool) (string, string) {
	high := false
	for _, r := range c.ranges {
		if r[1] >= 0x80 {
			high = true
		}
	}
	var b strings.Builder
	manual := icase && high
	if manual {
		b.WriteString("(?-i:")
	}
	b.WriteByte('[')
	if neg {
		b.WriteByte('^')
	}
	for _, r := range c.ranges {
		b.WriteString(hexRune(rune(r[0])))
		if r[1] != r[0] {
			b.WriteString("-" + hexRune(rune(r[1])))
		}
		if manual {
			for x := int(r[0]); x <= int(r[1]) && x < 0x80; x++ {
				switch {
				case x >= 'a' && x <= 'z':
					b.WriteString(hexRune(rune(x - 'a' + 'A')))
				case x >= 'A' && x <= 'Z':
					b.WriteString(hexRune(rune(x - 'A' + 'a')))
				}
			}
		}
	}
	why := ""
	for _, name := range c.classes {
		if name == "upper" || name == "lower" {
			c.caseDependent = true
		}
		b.WriteString("[:" + name + ":]")
	}
	for _, f := range c.extra {
		b.WriteString(f)
	}
	if manual && c.caseDependent {
		why = "upper/lower case class with bytes above 127 under case-insensitive matching"
	}
	b.WriteByte(']')
	if manual {
		b.WriteByte(')')
	}
	return b.String(), why
}
