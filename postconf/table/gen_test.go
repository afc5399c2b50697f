package table

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// Generators for the postmap differential test. They favour small
// alphabets and address pools so that random keys often match, and mix in
// the malformed input Postfix has to skip.

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

var (
	v4Pool = []string{"10.0.0.0", "10.1.2.0", "192.168.1.0", "172.16.0.0", "0.0.0.0", "127.0.0.1", "203.0.113.7"}
	v6Pool = []string{"2001:db8::", "2001:db8:1::", "::1", "fe80::", "::ffff:10.0.0.0", "::", "2001:db8::7"}
)

func randAddrNear(r *rand.Rand, v6 bool) netip.Addr {
	var a netip.Addr
	if v6 {
		a = netip.MustParseAddr(pick(r, v6Pool...))
	} else {
		a = netip.MustParseAddr(pick(r, v4Pool...))
	}
	b := a.AsSlice()
	// Perturb a few low bytes, sometimes a high one.
	for k := 0; k < 1+r.IntN(2); k++ {
		i := len(b) - 1 - r.IntN(min(3, len(b)))
		if r.IntN(4) == 0 {
			i = r.IntN(len(b))
		}
		b[i] = byte(r.IntN(256))
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func genCIDRPattern(r *rand.Rand) string {
	v6 := r.IntN(3) == 0
	a := randAddrNear(r, v6)
	bits := 32
	if v6 {
		bits = 128
	}
	if r.IntN(5) == 0 {
		return fmtAddr(r, a, v6)
	}
	l := r.IntN(bits + 1)
	if r.IntN(8) == 0 {
		l = pick(r, 0, 1, 8, 16, 24, bits)
	}
	p := netip.PrefixFrom(a, l)
	if r.IntN(4) != 0 {
		p = p.Masked() // mostly valid networks; the rest keep host bits
	}
	mask := fmt.Sprint(l)
	switch r.IntN(12) {
	case 0:
		mask = "0" + mask
	case 1:
		mask = fmt.Sprint(l + 256)
	}
	addr := fmtAddr(r, p.Addr(), v6)
	switch r.IntN(6) {
	case 0:
		return "[" + addr + "]/" + mask
	case 1:
		return "[" + addr + "/" + mask + "]"
	}
	return addr + "/" + mask
}

func fmtAddr(r *rand.Rand, a netip.Addr, v6 bool) string {
	s := a.String()
	if v6 && r.IntN(4) == 0 {
		s = a.StringExpanded()
	}
	if v6 && r.IntN(5) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

func genValue(r *rand.Rand) string {
	return pick(r, "OK", "REJECT", "REJECT go away", "DUNNO", "V1", "V2", "550 5.7.1 no", "permit_mynetworks", "x  y   z")
}

func genCIDR(r *rand.Rand) (string, []string) {
	var b strings.Builder
	depth := 0
	n := 2 + r.IntN(14)
	for i := 0; i < n; i++ {
		k := r.IntN(100)
		switch {
		case k < 6:
			b.WriteString(pick(r, "", "# comment", "   ", "  # indented comment", "#", "\t"))
		case k < 13:
			neg := pick(r, "", "", "!", "! ", "!!")
			b.WriteString(pick(r, "if ", "IF ", "if\t") + neg + genCIDRPattern(r))
			depth++
		case k < 20 && depth > 0:
			b.WriteString(pick(r, "endif", "ENDIF", "endif  "))
			depth--
		case k < 22:
			b.WriteString(pick(r, "endif", "endif junk", "if", "if 10.0.0.0/8 junk", "ifx 10.0.0.0/8 X"))
		case k < 30:
			b.WriteString(pick(r,
				"10.0.0.0/8", "bogus X", "[1.2.3.4 X", "1.2.3.4/33 X", "010.1.2.3 X", "1.2.3.4/ab X",
				"[::1]x X", "!", "! X", "/8 X", "1.2.3.4/ X", "10.0.0.1/8 X", "a:b X", "1.2.3 X",
				"10.0.0.0/+8 X", "2001:db8::/129 X", "[2001:db8::]/32 BR6", "::ffff:10.0.0.0/104 MAP",
				"10.0.0.0/4294967304 WRAP", "0.0.0.0/4294967296 WRAP0", "fe80::1%eth0 ZONE"))
		default:
			neg := pick(r, "", "", "", "!", "! ")
			b.WriteString(neg + genCIDRPattern(r))
			if r.IntN(8) == 0 {
				b.WriteString("\n  ")
			} else {
				b.WriteString(pick(r, " ", "\t", "   "))
			}
			b.WriteString(genValue(r))
			b.WriteString(pick(r, "", "", " ", "\t"))
		}
		b.WriteByte('\n')
	}
	keys := map[string]bool{}
	for len(keys) < 25 {
		v6 := r.IntN(3) == 0
		a := randAddrNear(r, v6)
		switch r.IntN(14) {
		case 0:
			keys[pick(r, "10.0.0", "[10.0.0.1]", "1.2.3.04", "fe80::1%eth0", "foo", "", "10.0.0.1/8", "256.1.1.1", "::ffff:10.0.0.1")] = true
		case 1:
			keys[strings.ToUpper(a.String())] = true
		case 2:
			keys[a.StringExpanded()] = true
		default:
			keys[a.String()] = true
		}
	}
	return b.String(), setList(keys)
}

func setList(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// Deterministic order for reproducible failures.
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// genPOSIXRegex builds a random POSIX ERE over a small alphabet.
func genPOSIXRegex(r *rand.Rand, depth int) (string, int) {
	var b strings.Builder
	groups := 0
	n := 1 + r.IntN(4)
	for i := 0; i < n; i++ {
		k := r.IntN(100)
		switch {
		case k < 30:
			b.WriteString(pick(r, "a", "b", "A", "c", "1", `\.`, "-", "_", "@", " ", "é"))
		case k < 36:
			b.WriteString(".")
		case k < 50:
			b.WriteString(pick(r, "[abc]", "[^a]", "[a-c]", "[[:digit:]]", "[[:alpha:]_]", "[]a]", `[\.]`, "[^]a]",
				"[a-]", "[-a]", "[%--]", "[[:space:]]", "[[=a=]]", "[[.b.]]", "[A-C]", "[[:upper:]]", "[^[:alnum:]]",
				"[_-z]", "[Z-a]", "[A-z]", "[[:lower:]]", "[^[:lower:]]", "[[.-.]a]", "[é-é]", "[^é]", "[[.hyphen.]]", "[[=ab=]]", "[[.a.]-c]"))
		case k < 58:
			b.WriteString(pick(r, `\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\b`, `\B`, `\q`, `\Q`, `\(`, `\{`, `\|`, `\+`, `\1`))
		case k < 64:
			b.WriteString(pick(r, "^", "$"))
		case k < 74 && depth < 3:
			inner, g := genPOSIXRegex(r, depth+1)
			groups += g + 1
			if r.IntN(3) == 0 {
				inner2, g2 := genPOSIXRegex(r, depth+1)
				groups += g2
				inner += "|" + inner2
			}
			b.WriteString("(" + inner + ")")
		case k < 77:
			b.WriteString(pick(r, "*x", "(", "[a", "a{x", "[z-a]", "a)", "}", "]", "{1}", "a{,2}", "x|*y", "^*", `\<a`,
				"a{2,1}", "[[:foo:]]", "a|", "()", "[a-c-e]", "a{1001}", "$*"))
		default:
			b.WriteString(pick(r, "a", "b", "ab", "."))
		}
		if r.IntN(4) == 0 {
			b.WriteString(pick(r, "*", "+", "?", "{2}", "{1,2}", "{,2}", "{1,}", "**", "+?", "{1,2}{2}", "?*"))
		}
	}
	return b.String(), groups
}

func genReplacement(r *rand.Rand, groups int) string {
	v := pick(r, "R", "OK", "REJECT x", "a b")
	if groups > 0 && r.IntN(2) == 0 {
		g := 1 + r.IntN(groups)
		v += pick(r, fmt.Sprintf(" $%d", g), fmt.Sprintf("[${%d}]", g), fmt.Sprintf("$(%d)x", g), fmt.Sprintf("<$%d>", g))
	}
	switch r.IntN(14) {
	case 0:
		v += pick(r, " $$", "$$1", " $x", " $", " ${1", " $0", " ${1?x}", fmt.Sprintf(" $%d", groups+1))
	case 1:
		v = ""
	}
	return v
}

func genPatternTable(r *rand.Rand, typ string, regex func(*rand.Rand, int) (string, int), flags string) (string, []string) {
	var b strings.Builder
	depth := 0
	n := 1 + r.IntN(10)
	for i := 0; i < n; i++ {
		k := r.IntN(100)
		pat, groups := regex(r, 0)
		pat = strings.ReplaceAll(pat, "/", `\/`)
		fl := ""
		for r.IntN(3) == 0 {
			fl += string(flags[r.IntN(len(flags))])
		}
		neg := ""
		if r.IntN(7) == 0 {
			neg = pick(r, "!", "! ", "!!")
		}
		switch {
		case k < 5:
			b.WriteString(pick(r, "", "# comment", "  ", " # x"))
		case k < 13:
			b.WriteString(pick(r, "if ", "IF ", "if\t") + neg + "/" + pat + "/" + fl)
			if r.IntN(10) == 0 {
				b.WriteString(" extra")
			}
			depth++
		case k < 20 && depth > 0:
			b.WriteString(pick(r, "endif", "ENDIF", "endif x"))
			depth--
		case k < 23:
			b.WriteString(pick(r, "endif", "bogus line", "/unterminated", "/a/q X", "/a/ix!/b/ AB", "/a/!/b/ NOTB",
				"!", "/a/ $1", "!/(a)/ $1", "#/x/ comment"))
		default:
			line := neg + "/" + pat + "/" + fl
			if typ == "regexp" && r.IntN(12) == 0 {
				p2, _ := regex(r, 2)
				line += "!/" + strings.ReplaceAll(p2, "/", `\/`) + "/"
			}
			if r.IntN(10) == 0 {
				line += "\n "
			} else {
				line += pick(r, " ", "\t", "  ")
			}
			g := groups
			if neg != "" && neg != "!!" {
				g = 0
			}
			line += genReplacement(r, g)
			b.WriteString(line)
		}
		b.WriteByte('\n')
	}
	keys := map[string]bool{}
	for len(keys) < 30 {
		var kb strings.Builder
		l := r.IntN(6)
		for j := 0; j < l; j++ {
			kb.WriteString(pick(r, "a", "b", "A", "B", "c", "1", "5", ".", "-", "_", "@", " ", "d", "q", "Q", "é", "\\", "(", "x"))
		}
		keys[kb.String()] = true
	}
	return b.String(), setList(keys)
}

func genRegexp(r *rand.Rand) (string, []string) {
	return genPatternTable(r, "regexp", genPOSIXRegex, "imxi")
}

func genPCRERegex(r *rand.Rand, depth int) (string, int) {
	var b strings.Builder
	groups := 0
	n := 1 + r.IntN(4)
	for i := 0; i < n; i++ {
		k := r.IntN(100)
		switch {
		case k < 28:
			b.WriteString(pick(r, "a", "b", "A", "c", "1", `\.`, "-", "_", "@", " ", "é", `\x41`, `\x{62}`, `\e`, `\t`))
		case k < 33:
			b.WriteString(".")
		case k < 47:
			b.WriteString(pick(r, "[abc]", "[^a]", "[a-c]", "[[:digit:]]", `[\d_]`, "[]a]", `[\.]`, "[^]a]",
				"[a-]", `[\w-]`, `[\x41-\x43]`, "[[:^alpha:]]", `[\s]`, `[\S]`, `[\W]`, "[A-C]", `[\\]`))
		case k < 57:
			b.WriteString(pick(r, `\d`, `\D`, `\w`, `\W`, `\s`, `\S`, `\b`, `\B`, `\h`, `\N`, `\Z`, `\z`, `\A`, `\G`,
				`\Q.a\E`, `\Qa\E`, `(?#c)`, `\v`, `\q`, `\1`, `\C`, `\cA`, `\0101`, `\o{141}`))
			if r.IntN(10) == 0 {
				b.WriteString(pick(r, `\R`, `\K`, `\p{L}`, `\X`, `\L`))
			}
		case k < 62:
			b.WriteString(pick(r, "^", "$"))
		case k < 74 && depth < 3:
			inner, g := genPCRERegex(r, depth+1)
			open := pick(r, "(", "(", "(", "(?:", "(?:", "(?i)(", "(?i:", "(?-i:", "(?<n>")
			if r.IntN(8) == 0 {
				open = pick(r, "(?=", "(?!", "(?>", "(?<=", "(?|")
			}
			if open == "(" || open == "(?i)(" || open == "(?<n>" {
				groups++
			}
			groups += g
			if r.IntN(3) == 0 {
				inner2, g2 := genPCRERegex(r, depth+1)
				groups += g2
				inner += "|" + inner2
			}
			b.WriteString(open + inner + ")")
		case k < 77:
			b.WriteString(pick(r, "*x", "(", "[a", "a{x", "[z-a]", "a)", "}", "]", "{1}", "a{,2}", "x|*y", "a{2,1}",
				"[[:foo:]]", "a|", "()", `\`, "a**", "a++", `\x{100}`, "(?P<x>a)", "(?'y'b)", "a{1001}"))
		default:
			b.WriteString(pick(r, "a", "b", "ab", "."))
		}
		if r.IntN(4) == 0 {
			b.WriteString(pick(r, "*", "+", "?", "{2}", "{1,2}", "{,2}", "{1,}", "*?", "+?", "??", "{1,2}?"))
		}
	}
	return b.String(), groups
}

func genPCRE(r *rand.Rand) (string, []string) {
	return genPatternTable(r, "pcre", genPCRERegex, "imsxAEUX")
}

var hashKeys = []string{"example.com", "Example.COM", "foo@example.com", "user@", "10.0.0.1", "mail.example.org", "@example.net", "key:", "a", "B"}

func genHashSource(r *rand.Rand) (string, []string) {
	var b strings.Builder
	n := 1 + r.IntN(12)
	for i := 0; i < n; i++ {
		switch k := r.IntN(100); {
		case k < 8:
			b.WriteString(pick(r, "", "# comment", "   ", "\t# x"))
		case k < 14:
			b.WriteString(pick(r, "lonely", "  indented value", "key:", "nokey"))
		default:
			key := pick(r, hashKeys...)
			if r.IntN(3) == 0 {
				key = strings.ToUpper(key)
			}
			b.WriteString(key)
			if r.IntN(8) == 0 {
				b.WriteString("\n\t")
			} else {
				b.WriteString(pick(r, " ", "\t", "   "))
			}
			b.WriteString(genValue(r))
			if r.IntN(10) == 0 {
				b.WriteString("\n  continued")
			}
		}
		b.WriteByte('\n')
	}
	keys := map[string]bool{}
	for _, k := range hashKeys {
		keys[k] = true
		keys[strings.ToUpper(k)] = true
	}
	keys["missing.example"] = true
	return b.String(), setList(keys)
}

func genInlineSpec(r *rand.Rand) (string, []string) {
	keys := []string{"a", "A", "b", "c", "x y", "10.0.0.1", "192.168.1.5", "2001:db8::1", "ab", "zz"}
	switch r.IntN(7) {
	case 0, 1:
		var parts []string
		for n := r.IntN(4); n >= 0; n-- {
			k := pick(r, "a", "A", "b", "c", "10.0.0.1")
			switch r.IntN(12) {
			case 0:
				parts = append(parts, pick(r, "a", "=v", "a b", "{a}", "{a=b}x", "{ }", "{a = b", "a=b}"))
			case 1, 2:
				parts = append(parts, "{ "+k+" = "+genValue(r)+" }")
			default:
				parts = append(parts, k+"="+pick(r, "v1", "v2", "OK", ""))
			}
		}
		return "inline:{" + pick(r, "", " ") + strings.Join(parts, pick(r, ", ", ",", " ")) + pick(r, "", " ") + "}", keys
	case 2:
		return pick(r, "static:OK", "static:{REJECT go away}", "static:{ spaced }", "static:{bad", "static:{}", "static:a b"), keys
	case 3, 4:
		var rules []string
		for n := r.IntN(4); n >= 0; n-- {
			rules = append(rules, "{"+pick(r, " ", "")+pick(r, "!", "", "")+genCIDRPattern(r)+" "+genValue(r)+"}")
		}
		if r.IntN(8) == 0 {
			rules = append(rules, pick(r, "{bogus}", "{10.0.0.0/8 unclosed", "x"))
		}
		return "cidr:{" + strings.Join(rules, pick(r, ", ", " ", ",")) + "}", keys
	case 5:
		var rules []string
		for n := r.IntN(4); n >= 0; n-- {
			p, _ := genPOSIXRegex(r, 2)
			p = strings.NewReplacer("{", "", "}", "", "/", "").Replace(p)
			rules = append(rules, "{/"+p+"/ "+pick(r, "R1", "R2", "OK")+"}")
		}
		return "regexp:{" + strings.Join(rules, ", ") + "}", keys
	default:
		return pick(r, "pipemap:{inline:{a=b}, inline:{b=c}}", "unionmap:{inline:{a=1}, inline:{a=2, b=3}}",
			"pipemap:{inline:{a=b}}", "unionmap:{}", "pipemap:{inline:{a=b}, static:{Z}}", "unionmap:{inline:{a=1}, cidr:{{10.0.0.0/8 N}}}", "unionmap:{static:X}", "pipemap:{cidr:{{10.0.0.0/8 x}}, inline:{x=y}}"), keys
	}
}
