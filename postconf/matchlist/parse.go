package matchlist

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// Bounds on /file/name expansion. Postfix has none and recurses until it
// runs out of memory on a file that names itself; pfaudit stops and reports
// the entry as unknown.
const (
	maxFileDepth = 16
	maxFileBytes = 256 << 20 // all expansions together
	maxFiles     = 1000      // expansions in one list
)

type parser struct {
	l         *List
	opt       Options
	warns     []diag.Warning
	fileBytes int  // bytes of /file/name content expanded so far
	files     int  // /file/name expansions so far
	tooMuch   bool // a bound was reached
	stopped   bool // opt.Table.Cancel said stop: the list ends in an unknown entry
	polls     int  // patterns since Cancel was last asked
}

// stop reports whether parsing must stop; the first time it does, the list
// gets an entry that cannot be evaluated, so that nothing after the point
// reached reads as "no match".
func (p *parser) stop(pos diag.Pos) bool {
	if p.stopped {
		return true
	}
	if p.polls++; p.polls < 1024 {
		return false
	}
	p.polls = 0
	if !p.opt.Table.Cancelled() {
		return false
	}
	p.stopped = true
	p.l.Entries = append(p.l.Entries, &Entry{Raw: "...", Kind: EntryFile, Pos: pos,
		Err: unknownErr(pos, p.l.Param, "reading the list was interrupted", nil)})
	return true
}

// Parse parses value, the expanded value of param found at position at, as
// a list of the given kind. Warnings describe entries Postfix will fail on
// or never match. The error is non-nil only when Postfix refuses the whole
// list at start-up and the daemon exits: "no pattern after '!'", or a
// "type:name" with an empty type or name ("::1/128", "hash:").
func Parse(kind Kind, param, value string, at diag.Pos, opt Options) (*List, []diag.Warning, error) {
	opt.Table.NoFoldFix = true
	p := &parser{
		l:   &List{Param: param, Kind: kind, Parent: opt.ParentStyle(param), ix: &indexedList{}},
		opt: opt,
	}
	if err := p.parseString(value, at, false, 0); err != nil {
		return nil, p.warns, err
	}
	return p.l, p.warns, nil
}

func (p *parser) warn(pos diag.Pos, format string, args ...any) {
	p.warns = append(p.warns, diag.Warning{Pos: pos, Msg: p.l.Param + ": " + fmt.Sprintf(format, args...)})
}

// tokens splits a string on commas and whitespace; text between balanced
// braces stays together, so "inline:{a, b}" is one pattern.
func tokens(s string) []string { return table.SplitBraced(s, " ,\t\r\n") }

// parseString follows match_list_parse(); negate is the state inherited
// from "!/file/name".
func (p *parser) parseString(s string, pos diag.Pos, negate bool, depth int) error {
	toks := tokens(s)
	for k, tok := range toks {
		if p.stop(pos) {
			return nil
		}
		if tok[0] == '#' {
			p.warn(pos, "comment at end of line is not supported: %q is ignored", diag.Shorten(strings.Join(toks[k:], " ")))
			return nil
		}
		neg := negate
		item := tok
		for strings.HasPrefix(item, "!") {
			neg = !neg
			item = item[1:]
		}
		if item == "" {
			return &diag.Error{Pos: pos, Msg: p.l.Param + ": no pattern after '!'", Text: tok}
		}
		switch {
		case item[0] == '/':
			if err := p.parseFile(tok, item, pos, neg, depth); err != nil {
				return err
			}
		case item[0] != '[' && strings.Contains(item, ":"):
			if typ, name, _ := strings.Cut(item, ":"); typ == "" || name == "" {
				// dict_open() exits: "::1/128", "::/0", "hash:".
				return &diag.Error{Pos: pos, Text: tok, Msg: fmt.Sprintf(
					"%s: open dictionary: expecting \"type:name\" form instead of %q (Postfix exits; IPv6 addresses must be written in [])", p.l.Param, item)}
			}
			p.addTable(tok, item, pos, neg)
		default:
			p.addPattern(tok, item, pos, neg)
		}
	}
	return nil
}

// parseFile expands /file/name in place, each line parsed like the value,
// each entry keeping the file's own file:line.
func (p *parser) parseFile(raw, name string, pos diag.Pos, neg bool, depth int) error {
	e := &Entry{Raw: raw, Negate: neg, Kind: EntryFile, Pattern: name, Pos: pos}
	if depth >= maxFileDepth || p.tooMuch {
		e.Err = unknownErr(pos, name, fmt.Sprintf("/file/name entries nested more than %d deep, more than %d of them, or more than %d bytes in all", maxFileDepth, maxFiles, maxFileBytes), nil)
		p.l.Entries = append(p.l.Entries, e)
		p.warn(pos, "%s: files nested too deeply or too large (Postfix would recurse without end)", name)
		return nil
	}
	data, err := table.ReadFile(name, p.opt.Table)
	if err == nil {
		p.fileBytes += len(data)
		p.files++
		if p.fileBytes > maxFileBytes || p.files > maxFiles {
			p.tooMuch = true
			return p.parseFile(raw, name, pos, neg, depth)
		}
	}
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist) && p.opt.Table.Live:
			// match_list.c puts a "nofile" table in its place whose
			// lookups all fail.
			e.Err = &diag.Error{Pos: pos, Msg: fmt.Sprintf("open file %s: no such file or directory", name), Text: raw}
			p.warn(pos, "open file %s: no such file or directory; Postfix fails every search that reaches this entry", name)
		case table.IsUnknown(err):
			e.Err = err
			p.warn(pos, "%v", err)
		default:
			e.Err = unknownErr(pos, name, "cannot read "+name+": "+err.Error(), err)
			p.warn(pos, "cannot read %s: %v", name, err)
		}
		p.l.Entries = append(p.l.Entries, e)
		return nil
	}
	// Line by line, without splitting the whole file first: a file of a
	// million lines costs no second copy, and a cancellation (p.stop) is
	// seen while it is read.
	rest := string(data)
	for n := 1; rest != "" && !p.stopped; n++ {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		if err := p.parseString(line, diag.Pos{File: name, Line: n}, neg, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// addTable adds a type:table entry. Postfix opens the table when the list
// is built; a table it cannot open fails every search that reaches it.
func (p *parser) addTable(raw, spec string, pos diag.Pos, neg bool) {
	e := &Entry{Raw: raw, Negate: neg, Kind: EntryTable, Pattern: spec, Pos: pos}
	t, err := table.Open(spec, pos, p.opt.Table)
	switch {
	case err == nil:
		e.Table = t
		for _, te := range t.Errors() {
			p.warn(te.Pos, "%s: %s", spec, te.Msg)
		}
		for _, tw := range t.Warnings() {
			p.warn(tw.Pos, "%s: %s", spec, tw.Msg)
		}
	case table.IsUnknown(err):
		e.Err = err
		p.warn(pos, "%v", err)
	default:
		e.Err = err
		if looksIPv6(spec) {
			p.warn(pos, "%q: IPv6 addresses must be written in [] here; Postfix reads this as a lookup table of type %q and fails every search that reaches it",
				spec, spec[:strings.IndexByte(spec, ':')])
		} else {
			p.warn(pos, "%v; Postfix fails every search that reaches this entry", err)
		}
	}
	p.l.Entries = append(p.l.Entries, e)
}

// looksIPv6 reports text that is an IPv6 address or network without [].
func looksIPv6(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

const (
	v4Chars = "01234567890."
	v6Chars = v4Chars + "abcdefABCDEF:"
)

func onlyChars(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// addPattern adds a plain pattern, classified the way match_hostaddr()
// will treat it.
func (p *parser) addPattern(raw, item string, pos diag.Pos, neg bool) {
	pat := fold(item)
	e := &Entry{Raw: raw, Negate: neg, Kind: EntryName, Pattern: pat, Pos: pos}
	p.l.Entries = append(p.l.Entries, e)
	if strings.HasPrefix(pat, ".") {
		switch {
		case p.l.Kind == KindString:
			p.warn(pos, "%q never matches: %s is matched exactly, without subdomains", item, p.l.Param)
		case p.l.Parent:
			p.warn(pos, "%q matches no subdomain: parent_domain_matches_subdomains lists %s, so Postfix expects %q instead",
				item, p.l.Param, strings.TrimLeft(item, "."))
		}
	}
	if p.l.Kind != KindHost {
		return
	}
	e.v6 = strings.Contains(pat, ":")
	// match_hostaddr() compares strings first, and parses the pattern as
	// net/mask only when it has ':' or '/', is not a bare IPv4 address and
	// holds nothing but address characters, brackets and '/'.
	e.addrCand = strings.ContainsAny(pat, ":/") && !onlyChars(pat, v4Chars) && onlyChars(pat, v6Chars+"[]/")
	switch {
	case e.addrCand:
		pfx, why := table.ParseCIDR(pat)
		e.Prefix = pfx
		if strings.Contains(pat, "/") {
			e.Kind = EntryNetwork
		} else {
			e.Kind = EntryAddress
		}
		if why != "" {
			e.cidrWhy = why
			if pfx.IsValid() {
				e.Prefix = pfx.Masked()
			}
			e.Err = &diag.Error{Pos: pos, Msg: p.l.Param + ": " + why, Text: raw}
			family := "IPv4"
			if e.v6 {
				family = "IPv6"
			}
			p.warn(pos, "%s: Postfix fails every check that reaches this entry with an %s client (smtpd: 451 4.3.0 Temporary lookup failure)", why, family)
			return
		}
		e.cidrOK = true
	case onlyChars(pat, v4Chars):
		if a, ok := table.ParseAddr(pat); ok {
			e.Kind, e.Prefix = EntryAddress, netip.PrefixFrom(a, 32)
		} else {
			p.warn(pos, "%q is not an IPv4 address Postfix recognises; it never matches a client address", item)
		}
	case strings.HasPrefix(pat, "[") && strings.HasSuffix(pat, "]"):
		if a, ok := table.ParseAddr(pat[1 : len(pat)-1]); ok && a.Is4() {
			e.Kind, e.Prefix = EntryAddress, netip.PrefixFrom(a, 32)
		}
	case strings.Contains(pat, "/"):
		p.warn(pos, "%q is not a network Postfix recognises (only address characters, [] and / are allowed); it never matches a client address", item)
	}
}
