package rules

import (
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// netKind is what a network-list element (mynetworks,
// smtpd_authorized_xclient_hosts, ...) is to Postfix's match_list.
type netKind int

const (
	netPrefix      netKind = iota // address or net/mask
	netUnbracketed                // IPv6 without []: Postfix reads it as type:table
	netBad                        // malformed net/mask
	netHostname                   // a host or domain name pattern
	netFile                       // /file/name (its contents follow as entries)
	netTable                      // type:table
	netComment                    // after a '#' inside the value: not a comment to Postfix
)

// netEntry is one element of a network list.
type netEntry struct {
	Text     string // as written, including any '!'
	Neg      bool
	Kind     netKind
	Prefix   netip.Prefix // masked; valid for netPrefix and netUnbracketed
	HostBits bool         // the address had bits set beyond the mask
	Why      string       // for netBad
	fromFile bool         // the entry came from a /file (Pos names it), not the value itself
	// Unchecked: a netFile over maxNetFileSize, whose entries the rules
	// did not read (the relay model did).
	Unchecked bool
	Pos       diag.Pos
}

// File is the /file the entry came from, "" for the value itself.
func (e *netEntry) File() string {
	if e.fromFile {
		return e.Pos.File
	}
	return ""
}

// maxNetFileSize bounds what the rules read of a /file/name list (and of
// the table files they look into). The relay model reads such a file up
// to table.DefaultMaxFileSize (64 MiB) and keeps it parsed for the whole
// audit; the rules' own copy of a million networks would add 120 MB to
// that and push a 1M-entry mynetworks past its memory budget (issue 8:
// a few hundred MB). A larger file is not skipped without a word: its
// entry is marked Unchecked, and PFA-POL-001 and policy expectations
// report it as a file they could not check.
const maxNetFileSize = 4 << 20

// netEntries parses a network list value, expanding /file/name elements
// the way match_list_parse() does (lines starting with '#' skipped, the
// rest split on commas and whitespace). Unreadable files are skipped:
// Postfix would fail on them, which postconf does not show either.
func (c *Context) netEntries(value string, pos diag.Pos) []netEntry {
	return netEntriesDepth(value, pos, "", 0, c.files())
}

// files says where the files the configuration names are read: this
// host's, a copy under --files-root, or none for a collected dump.
func (c *Context) files() table.Options {
	if c == nil || c.Cfg == nil {
		return table.Options{}
	}
	return table.ForFiles(c.Cfg.Files.Root, c.Cfg.Files.Offline)
}

func netEntriesDepth(value string, pos diag.Pos, file string, depth int, files table.Options) []netEntry {
	toks := splitList(value)
	out := make([]netEntry, 0, len(toks)) // sized: a long list must not grow by doubling
	comment := false
	for _, tok := range toks {
		if strings.HasPrefix(tok, "#") {
			comment = true
		}
		if comment {
			out = append(out, netEntry{Text: tok, Kind: netComment, fromFile: file != "", Pos: pos})
			continue
		}
		e := parseNetEntry(tok)
		e.fromFile, e.Pos = file != "", pos
		out = appendEntry(out, e, depth, files)
	}
	return out
}

// appendEntry appends e to out and, for a /file/name, the file's entries
// after it.
func appendEntry(out []netEntry, e netEntry, depth int, files table.Options) []netEntry {
	out = append(out, e)
	if e.Kind == netFile && depth < 4 {
		i := len(out) - 1
		var big bool
		out, big = readNetFile(out, e.Text, depth+1, files)
		out[i].Unchecked = big
	}
	return out
}

// readNetFile appends the entries of the /file name to out; big says
// the file was over maxNetFileSize and not read.
func readNetFile(out []netEntry, name string, depth int, files table.Options) (_ []netEntry, big bool) {
	files.MaxFileSize = maxNetFileSize
	data, err := table.ReadFile(name, files)
	if err != nil {
		var tl *safefile.TooLargeError
		return out, errors.As(err, &tl)
	}
	// Entries' texts are substrings of one copy of the file, and the
	// result grows once, in place: a file of a million networks (an
	// allowlist) made a million line strings and token slices, a doubling
	// result and a copy of it, 400 MB on top of the relay model's own
	// reading of the file.
	src := string(data)
	out = slices.Grow(out, strings.Count(src, "\n")+1)
	n := 0
	for off := 0; off < len(src); {
		var line string
		if i := strings.IndexByte(src[off:], '\n'); i >= 0 {
			line, off = src[off:off+i], off+i+1
		} else {
			line, off = src[off:], len(src)
		}
		line = strings.TrimSuffix(line, "\r") // as bufio.ScanLines, which read it before
		n++
		if strings.HasPrefix(line, "#") {
			continue
		}
		pos := diag.Pos{File: name, Line: n}
		if tok, ok := singleToken(line); ok {
			// The usual line: one network, no list to split.
			e := parseNetEntry(tok)
			e.fromFile, e.Pos = true, pos
			out = appendEntry(out, e, depth, files)
			continue
		}
		for _, e := range netEntriesDepth(line, pos, name, depth, files) {
			if e.Kind == netComment {
				// match_list_parse skips only lines that start with '#';
				// a '#' later on the line is a pattern like any other.
				e = parseNetEntry(e.Text)
				e.fromFile, e.Pos = true, pos
			}
			out = append(out, e)
		}
	}
	return out, false
}

// singleToken returns line without its leading and trailing separators
// when what is left is one list element (splitList would return just it).
func singleToken(line string) (string, bool) {
	i, j := 0, len(line)
	for i < j && isSep(line[i]) {
		i++
	}
	for j > i && isSep(line[j-1]) {
		j--
	}
	if i == j {
		return "", false
	}
	for k := i; k < j; k++ {
		if isSep(line[k]) || line[k] == '{' {
			return "", false
		}
	}
	return line[i:j], true
}

// parseNetEntry classifies one element as match_list and cidr_match do
// (postconf(5) mynetworks: "IPv6 address information must be specified
// inside [] ... IPv6 addresses contain the ':' character, and would
// otherwise be confused with a type:table pattern").
func parseNetEntry(tok string) netEntry {
	e := netEntry{Text: tok}
	s := tok
	for strings.HasPrefix(s, "!") {
		e.Neg = !e.Neg
		s = s[1:]
	}
	switch {
	case strings.HasPrefix(s, "/"):
		e.Kind = netFile
		e.Text = s
	case strings.HasPrefix(s, "["):
		inner, rest, ok := strings.Cut(s[1:], "]")
		switch {
		case !ok:
			e.Kind, e.Why = netBad, "missing ']'"
		case rest == "":
			e.setPrefix(inner, "")
		case strings.HasPrefix(rest, "/"):
			e.setPrefix(inner, rest[1:])
		default:
			e.Kind, e.Why = netBad, "garbage after ']'"
		}
	case strings.Contains(s, ":"):
		a, m, _ := strings.Cut(s, "/")
		if _, err := netip.ParseAddr(a); err == nil {
			e.setPrefix(a, m)
			if e.Kind == netPrefix {
				e.Kind = netUnbracketed
			}
		} else {
			e.Kind = netTable
		}
	case strings.Contains(s, "/"):
		a, m, _ := strings.Cut(s, "/")
		e.setPrefix(a, m)
	default:
		if _, err := netip.ParseAddr(s); err == nil {
			e.setPrefix(s, "")
		} else {
			e.Kind = netHostname
		}
	}
	return e
}

func (e *netEntry) setPrefix(addr, mask string) {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		e.Kind, e.Why = netBad, "bad address "+addr
		return
	}
	bits := a.BitLen()
	if mask != "" {
		n := 0
		for _, c := range mask {
			if c < '0' || c > '9' || n > 1000 {
				e.Kind, e.Why = netBad, "bad mask "+mask
				return
			}
			n = n*10 + int(c-'0')
		}
		if n > a.BitLen() {
			e.Kind, e.Why = netBad, "mask longer than the address"
			return
		}
		bits = n
	}
	p := netip.PrefixFrom(a, bits)
	e.Prefix = p.Masked()
	e.HostBits = e.Prefix.Addr() != a
	e.Kind = netPrefix
}

// String formats the entry's prefix as Postfix wants it: IPv6 in brackets.
func formatPrefix(p netip.Prefix) string {
	if p.Addr().Is6() {
		return "[" + p.Addr().String() + "]/" + itoa(p.Bits())
	}
	return p.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// norm maps an IPv4-mapped IPv6 prefix of /96 or longer to the IPv4 prefix
// it covers.
func norm(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p
}

var (
	loopback4 = netip.MustParsePrefix("127.0.0.0/8")
	loopback6 = netip.MustParsePrefix("::1/128")
	// rfc1918 and carrier-grade NAT space: the networks behind NAT, Docker
	// bridges and container gateways (rules-research.md failure 1).
	privateBlocks = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
	}
	otherLocal = []netip.Prefix{
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
	}
	dockerPool = netip.MustParsePrefix("172.16.0.0/12")
)

func within(p, outer netip.Prefix) bool {
	return p.Addr().Is4() == outer.Addr().Is4() && outer.Bits() <= p.Bits() && outer.Contains(p.Addr())
}

// breadth classes of a trusted prefix.
type breadth int

const (
	bOK          breadth = iota
	bEveryone            // 0.0.0.0/0, ::/0, [::ffff:0:0]/96
	bPublicBroad         // public, shorter than /24 (IPv4) or /48 (IPv6)
	bPrivateWide         // a whole RFC 1918 / CGNAT block, or /16 and wider inside one
	bMistyped            // not private itself but containing a private block: 172.0.0.0/8
)

// classify judges one trusted prefix (after norm).
func classify(p netip.Prefix) breadth {
	p = norm(p)
	if p.Bits() == 0 {
		return bEveryone
	}
	if within(p, loopback4) || within(p, loopback6) {
		return bOK
	}
	for _, b := range privateBlocks {
		if within(p, b) {
			if p.Bits() <= 16 {
				return bPrivateWide
			}
			return bOK
		}
	}
	for _, b := range otherLocal {
		if within(p, b) {
			if p.Addr().Is6() && p.Bits() < 48 {
				return bPrivateWide
			}
			return bOK
		}
	}
	if p.Addr().Is4() && p.Bits() >= 7 {
		for _, b := range privateBlocks {
			if within(b, p) {
				return bMistyped
			}
		}
	}
	if (p.Addr().Is4() && p.Bits() < 24) || (p.Addr().Is6() && p.Bits() < 48) {
		return bPublicBroad
	}
	return bOK
}

// coversAll reports whether the union of ps covers every IPv4 address or
// every IPv6 address (e.g. 0.0.0.0/1 plus 128.0.0.0/1): one sweep over the
// networks sorted by first address, O(n log n) however they nest.
func coversAll(ps []netip.Prefix) bool {
	var v4, v6 []netip.Prefix
	for _, p := range ps {
		p = norm(p).Masked()
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return sweepCovers(v4) || sweepCovers(v6)
}

// sweepCovers reports whether the networks of one family cover it all.
func sweepCovers(ps []netip.Prefix) bool {
	if len(ps) == 0 {
		return false
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	first := ps[0].Addr()
	if first != netip.IPv4Unspecified() && first != netip.IPv6Unspecified() {
		return false
	}
	end := lastOf(ps[0]) // every address up to end is covered
	for _, p := range ps[1:] {
		if next := end.Next(); !next.IsValid() {
			return true // end is the family's last address
		} else if p.Addr().Compare(next) > 0 {
			return false // a gap before p
		}
		if l := lastOf(p); l.Compare(end) > 0 {
			end = l
		}
	}
	return !end.Next().IsValid()
}

// lastOf is the last address of a masked prefix.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// netScope is one effective value of a parameter: main.cf's, or a
// listener's -o.
type netScope struct {
	Key string // "" for main.cf
	P   param
	// Loopback: the value is a loopback-only listener's own override, so
	// only this host's processes are subject to it (PFA-RELAY-003 covers
	// what would happen if it were exposed).
	Loopback bool
}

// netScopes lists main.cf's value of name and every listener's override.
func (c *Context) netScopes(name string) []netScope {
	out := []netScope{{Key: "", P: c.param(nil, name)}}
	for _, l := range c.listeners() {
		p := c.param(l.Service, name)
		if p.Svc != nil {
			out = append(out, netScope{Key: l.Key, P: p, Loopback: l.LoopbackOnly})
		}
	}
	return out
}

// cleanMynetworks is the one mynetworks value pfaudit proposes for a
// scope, so that every mynetworks rule proposes the same command: entries
// that trust everyone, too-wide or mistyped ranges and (with a policy)
// networks outside the allowed ones are dropped, host bits are cleared,
// IPv6 gets its brackets, text after a '#' goes. Files and tables stay
// (their problems are fixed in the file). When nothing trusted is left,
// loopback remains, as with mynetworks_style = host.
// ok is false when the value cannot be improved by editing it.
func (c *Context) cleanMynetworks(p param) (items []string, ok bool) {
	if !p.isSet() {
		return c.loopbackNets(), true
	}
	changed := false
	for _, e := range c.mynetEntriesOf(p) {
		if e.File() != "" {
			continue
		}
		switch e.Kind {
		case netComment, netBad:
			changed = true
			continue
		case netPrefix, netUnbracketed:
			neg := ""
			if e.Neg {
				neg = "!"
			}
			if !e.Neg && (classify(e.Prefix) != bOK || !c.allowedNet(e.Prefix)) {
				changed = true
				continue
			}
			s := neg + formatPrefix(e.Prefix)
			if e.Kind == netUnbracketed || e.HostBits {
				changed = true
			}
			items = append(items, s)
		default:
			items = append(items, e.Text)
		}
	}
	if !changed {
		return nil, false
	}
	if len(items) == 0 {
		items = c.loopbackNets()
	}
	return items, true
}

// loopbackNets is mynetworks for "trust only this host's loopback".
func (c *Context) loopbackNets() []string {
	_, v6 := protocols(c.Cfg)
	if v6 {
		return []string{"127.0.0.0/8", "[::1]/128"}
	}
	return []string{"127.0.0.0/8"}
}

// allowedNet reports whether the policy allows p in mynetworks (always
// true without a policy list).
func (c *Context) allowedNet(p netip.Prefix) bool {
	if c.Policy == nil || len(c.Policy.AllowedNetworks) == 0 {
		return true
	}
	if c.allowed == nil {
		c.allowed = newPrefixSet(c.Policy.AllowedNetworks)
	}
	return c.allowed.holds(p)
}

// mynetworksFix returns the command that sets the cleaned mynetworks
// (computed once per scope: every entry finding of a scope carries it).
func (c *Context) mynetworksFix(p param) []string {
	k := paramKey{p.Svc, p.Name}
	if fix, ok := c.mynetFixes[k]; ok {
		return slices.Clone(fix)
	}
	var fix []string
	if items, ok := c.cleanMynetworks(p); ok {
		if p.Svc != nil {
			fix = []string{c.svcSet(p.Svc, p.Name, strings.Join(items, ","))}
		} else {
			fix = []string{c.mainSet(p.Name, strings.Join(items, " "))}
		}
	}
	if c.mynetFixes == nil {
		c.mynetFixes = map[paramKey][]string{}
	}
	c.mynetFixes[k] = fix
	return slices.Clone(fix)
}

// netipPrefix shortens signatures.
type netipPrefix = netip.Prefix
