package defaults

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is a Postfix compatibility level (postconf(5) compatibility_level,
// COMPATIBILITY_README) in comparable form. Postfix 3.6 introduced
// "major.minor[.patch]" levels that compare per component, numerically:
// 3.10 is above 3.9, which neither a string nor a float comparison gets right
// (compat_level.c).
type Level struct {
	Major, Minor, Patch int64
}

// Limits from compat_level.c: minor and patch have 10 bits each, the major
// number the rest of a C long (LONG_MAX >> 20 on LP64 systems).
const (
	maxMinor = 1023
	maxPatch = 1023
	maxMajor = (1<<63 - 1) >> 20
)

// ParseLevel converts a compatibility_level value ("0", "2", "3.6",
// "3.6.1") the way compat_level_from_string does: each component is read like
// C strtol (leading white space and a sign are accepted, "+2" is 2), missing
// components are zero, and anything else — "2.", "abc", "", "-1", "3.1024",
// "3.6.1.1" — is malformed. Postfix then fails with "macro processing error"
// wherever a <level comparison needs the value.
func ParseLevel(s string) (Level, error) {
	var l Level
	bad := func() (Level, error) {
		return Level{}, fmt.Errorf("malformed compatibility level syntax: %q", s)
	}
	maj, rest, ok := strtol(s)
	if !ok || maj < 0 || maj > maxMajor || (rest != "" && rest[0] != '.') {
		return bad()
	}
	l.Major = maj
	if rest == "" {
		return l, nil
	}
	minor, rest, ok := strtol(rest[1:])
	if !ok || minor < 0 || minor > maxMinor || (rest != "" && rest[0] != '.') {
		return bad()
	}
	l.Minor = minor
	if rest == "" {
		return l, nil
	}
	patch, rest, ok := strtol(rest[1:])
	if !ok || patch < 0 || patch > maxPatch || rest != "" {
		return bad()
	}
	l.Patch = patch
	return l, nil
}

// MustParseLevel is ParseLevel for constants; it panics on a malformed level.
func MustParseLevel(s string) Level {
	l, err := ParseLevel(s)
	if err != nil {
		panic("defaults: " + err.Error())
	}
	return l
}

// Compare returns -1, 0 or +1 as l is below, equal to or above o.
func (l Level) Compare(o Level) int {
	for _, d := range [3]int64{l.Major - o.Major, l.Minor - o.Minor, l.Patch - o.Patch} {
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
	}
	return 0
}

// String is the canonical form compat_level_to_string prints: levels up to
// 2 have no minor part ("2"), later ones always do ("3.6", "3.6.1").
func (l Level) String() string {
	s := strconv.FormatInt(l.Major, 10)
	if l.Major > 2 {
		s += "." + strconv.FormatInt(l.Minor, 10)
		if l.Patch != 0 {
			s += "." + strconv.FormatInt(l.Patch, 10)
		}
	}
	return s
}

// strtol mimics C strtol(s, &end, 10) for the cases compat_level.c cares
// about: ok is false when no digit was consumed or the value overflows
// (ERANGE).
func strtol(s string) (v int64, rest string, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, s, false
	}
	u, err := strconv.ParseInt(s[start:i], 10, 64)
	if err != nil {
		// Only overflow is possible here: the text is all digits.
		return 0, s[i:], false
	}
	if neg {
		u = -u
	}
	return u, s[i:], true
}

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ResolveForLevel evaluates, in a raw default value, the relational
// expressions that depend only on compatibility_level and returns the text
// of the chosen branches, still unexpanded otherwise. With level "2":
//
//	${{$compatibility_level} <level {2} ? {$mydestination} : {}}  →  ""
//	${{$compatibility_level} <level {2} ? {subnet} : {host}}      →  "host"
//
// level is the expanded compatibility_level in effect ("0" when main.cf does
// not set it). Expressions that also involve other parameters, like
// ${{$smtp_tls_security_level} == {dane} ? ...}, are left as they are for
// the caller's general expander. The error reports a malformed level (only
// when an expression actually compares it, as in Postfix) or a malformed
// expression.
//
// This is deliberately a minimal evaluator for the forms Postfix's own
// defaults use; package postconf's expander implements mac_expand in full.
func ResolveForLevel(raw, level string) (string, error) {
	if !strings.Contains(raw, "$") {
		return raw, nil
	}
	var b strings.Builder
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '$' || i+1 >= len(raw) {
			b.WriteByte(c)
			i++
			continue
		}
		switch raw[i+1] {
		case '$':
			b.WriteString("$$")
			i += 2
			continue
		case '{', '(':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end, ok := matchClose(raw, i+1)
		if !ok {
			// Unbalanced: not ours to diagnose; keep the text.
			b.WriteString(raw[i:])
			return b.String(), nil
		}
		whole := raw[i : end+1]
		inner := raw[i+2 : end]
		if raw[i+1] == '{' {
			res, handled, err := evalLevelExpr(inner, level)
			if err != nil {
				return "", fmt.Errorf("%s: %w", whole, err)
			}
			if handled {
				b.WriteString(res)
				i = end + 1
				continue
			}
		}
		b.WriteString(whole)
		i = end + 1
	}
	return b.String(), nil
}

// matchClose finds the bracket closing the one at raw[open], balancing
// nested pairs of the same kind as mac_parse does.
func matchClose(raw string, open int) (int, bool) {
	o := raw[open]
	c := byte('}')
	if o == '(' {
		c = ')'
	}
	depth := 0
	for j := open; j < len(raw); j++ {
		switch raw[j] {
		case o:
			depth++
		case c:
			depth--
			if depth == 0 {
				return j, true
			}
		}
	}
	return 0, false
}

// macWhitespace is CHARS_SPACE, what mac_expand skips around {} operands.
const macWhitespace = " \t\r\n"

func skipWS(s string) string { return strings.TrimLeft(s, macWhitespace) }

// curly extracts a balanced {payload} at the start of s (after white space)
// and returns the payload and the text after it and its trailing white
// space, like mac_exp_extract_curly_payload.
func curly(s string) (payload, rest string, ok bool) {
	s = skipWS(s)
	if s == "" || s[0] != '{' {
		return "", s, false
	}
	end, ok := matchClose(s, 0)
	if !ok {
		return "", s, false
	}
	return s[1:end], skipWS(s[end+1:]), true
}

// evalLevelExpr evaluates the body of ${...} when it is a relational
// expression whose operands mention no parameter other than
// compatibility_level. handled is false when the expression is anything
// else; the caller then keeps the text.
func evalLevelExpr(body, level string) (result string, handled bool, err error) {
	left, rest, ok := curly(body)
	if !ok {
		return "", false, nil
	}
	opLen := 0
	for opLen < len(rest) && strings.IndexByte("<>!=?+-*/~&|%", rest[opLen]) >= 0 {
		opLen++
	}
	op := rest[:opLen]
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
	default:
		return "", false, nil
	}
	rest = rest[opLen:]
	suffix := ""
	for len(suffix) < len(rest) && isAlnum(rest[len(suffix)]) {
		suffix = rest[:len(suffix)+1]
	}
	if suffix != "" && suffix != "level" {
		return "", false, nil
	}
	rest = rest[len(suffix):]
	right, rest, ok := curly(rest)
	if !ok {
		return "", false, nil
	}
	l, lok := substLevel(left, level)
	r, rok := substLevel(right, level)
	if !lok || !rok {
		return "", false, nil
	}
	var truth bool
	if suffix == "level" {
		lv, err := ParseLevel(l)
		if err != nil {
			return "", true, err
		}
		rv, err := ParseLevel(r)
		if err != nil {
			return "", true, err
		}
		truth = relop(op, lv.Compare(rv))
	} else {
		truth = relop(op, plainCompare(l, r))
	}
	// What follows: nothing, "? x", ": y" or "? x : y", each operand
	// either {braced} or the rest of the text.
	var iftrue, iffalse string
	switch {
	case rest == "":
		if truth {
			return "true", true, nil
		}
		return "", true, nil
	case rest[0] == '?':
		rest = rest[1:]
		if p, r2, ok := curly(rest); ok {
			iftrue, rest = p, r2
		} else {
			iftrue, rest = rest, ""
		}
		if rest != "" {
			if rest[0] != ':' {
				return "", false, nil
			}
			rest = rest[1:]
			if p, r2, ok := curly(rest); ok {
				iffalse, rest = p, r2
			} else {
				iffalse, rest = rest, ""
			}
		}
	case rest[0] == ':':
		rest = rest[1:]
		if p, r2, ok := curly(rest); ok {
			iffalse, rest = p, r2
		} else {
			iffalse, rest = rest, ""
		}
	default:
		return "", false, nil
	}
	if rest != "" {
		return "", false, nil
	}
	chosen := iffalse
	if truth {
		chosen = iftrue
	}
	// A branch may hold further level expressions.
	out, err := ResolveForLevel(chosen, level)
	return out, true, err
}

// substLevel replaces references to compatibility_level in an operand and
// reports whether nothing else needs expanding.
func substLevel(s, level string) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		var name string
		switch {
		case i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '('):
			end, ok := matchClose(s, i+1)
			if !ok {
				return s, false
			}
			name = s[i+2 : end]
			i = end + 1
		default:
			j := i + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			name = s[i+1 : j]
			i = j
		}
		if name != "compatibility_level" {
			return s, false
		}
		b.WriteString(level)
	}
	return b.String(), true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// plainCompare is mac_exp_eval: numeric when both sides are all digits,
// otherwise strcmp.
func plainCompare(l, r string) int {
	if allDigits(l) && allDigits(r) {
		lv, err1 := strconv.ParseInt(l, 10, 64)
		rv, err2 := strconv.ParseInt(r, 10, 64)
		if err1 == nil && err2 == nil {
			switch {
			case lv < rv:
				return -1
			case lv > rv:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(l, r)
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

func relop(op string, cmp int) bool {
	switch op {
	case "==":
		return cmp == 0
	case "!=":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}
