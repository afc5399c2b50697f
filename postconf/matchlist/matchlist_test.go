package matchlist

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

var pos40 = diag.Pos{File: "main.cf", Line: 40}

// result is a Match summarised for table-driven tests.
type result string

const (
	yes  result = "match"
	no   result = "no match"
	fail result = "postfix fails"
	unk  result = "unknown"
)

func summary(m Match) result {
	switch {
	case m.Unknown:
		return unk
	case m.Err != nil:
		return fail
	case m.Matched:
		return yes
	}
	return no
}

var testFS = fstest.MapFS{
	"etc/postfix/nets":        {Data: []byte("# office\n10.1.0.0/16, !10.2.3.0/24\n\n  192.168.1.0/24 # trailing comment 172.16.0.0/12\n[2001:db8::]/32\n")},
	"etc/postfix/client.cidr": {Data: []byte("10.9.0.0/16 OK\n!10.0.0.0/8 OK\n")},
	"etc/postfix/relays":      {Data: []byte("Relay.Example x\nexample x\n")},
	"etc/postfix/hosts":       {Data: []byte("10.5.5.5 x\nmx.partner.example x\n")},
	"etc/postfix/domains.re":  {Data: []byte("/^re\\.example$/ x\n")},
	"etc/postfix/loop":        {Data: []byte("/etc/postfix/loop\n")},
}

func opts() Options { return Options{Table: table.Options{FS: testFS}} }

func TestHostListMatch(t *testing.T) {
	type probe struct {
		addr, name string
		want       result
	}
	tests := []struct {
		name   string
		value  string
		probes []probe
	}{
		{"networks, first match, negation", "127.0.0.0/8, !10.1.0.0/16 10.0.0.0/8", []probe{
			{"127.0.0.1", "", yes}, {"10.1.2.3", "", no}, {"10.2.3.4", "", yes}, {"8.8.8.8", "", no}, {"::1", "", no}}},
		{"negation after the match has no effect", "10.0.0.0/8 !10.1.0.0/16", []probe{{"10.1.2.3", "", yes}}},
		{"double negation", "!!10.0.0.0/8", []probe{{"10.1.2.3", "", yes}}},
		{"bare IPv4, bracketed IPv4 and IPv6", "192.0.2.1 [192.0.2.2] [2001:db8::1] [2001:db8:1::]/48", []probe{
			{"192.0.2.1", "", yes}, {"192.0.2.2", "", yes}, {"2001:db8::1", "", yes}, {"2001:db8:1:2::3", "", yes}, {"192.0.2.3", "", no}}},
		{"host bits: Postfix fails v4 checks that reach the entry", "127.0.0.0/8 168.100.3.1/27 10.0.0.0/8", []probe{
			{"127.0.0.1", "", yes}, {"10.0.0.1", "", fail}, {"168.100.3.5", "", fail}, {"2001:db8::1", "", no}}},
		{"unbracketed IPv6 is a table Postfix cannot open", "10.0.0.0/8 2001:db8::/32", []probe{
			{"10.0.0.1", "", yes}, {"192.0.2.1", "", fail}, {"2001:db8::1", "", fail}}},
		{"bad mask is a failure, 10.0.0.0/8x never matches", "10.0.0.0/8x 10.0.0.1/33 10.0.0.0/8", []probe{{"10.0.0.1", "", fail}}},
		{"leading zero and partial address never match", "010.0.0.1 10.0.0 10.0.0.1", []probe{{"10.0.0.1", "", yes}, {"10.0.0.2", "", no}}},
		{"mask with leading zero", "10.0.0.0/08", []probe{{"10.200.0.1", "", yes}}},
		{"comment ends the value", "10.0.0.0/8 # lan 192.168.0.0/16", []probe{{"192.168.1.1", "", no}}},
		{"hostnames, parent domains (mynetworks is parent style)", "mx.partner.example example.net .dot.example", []probe{
			{"192.0.2.1", "mx.partner.example", yes}, {"192.0.2.1", "MX.Partner.Example", yes}, {"192.0.2.1", "a.example.net", yes},
			{"192.0.2.1", "notexample.net", no}, {"192.0.2.1", "a.dot.example", no}, {"192.0.2.1", "unknown", no}}},
		{"the name unknown matches clients without rDNS", "unknown", []probe{{"192.0.2.1", "", yes}, {"192.0.2.1", "mail.example", no}}},
		{"file with positions, comments and negation", "/etc/postfix/nets", []probe{
			{"10.1.0.1", "", yes}, {"10.2.3.4", "", no}, {"192.168.1.7", "", yes}, {"172.16.0.1", "", no}, {"2001:db8::5", "", yes}}},
		{"negated file", "!/etc/postfix/nets 0.0.0.0/0", []probe{{"10.1.0.1", "", no}, {"10.2.3.4", "", yes}, {"8.8.8.8", "", yes}}},
		{"cidr table", "cidr:/etc/postfix/client.cidr", []probe{{"10.9.1.1", "", yes}, {"10.8.1.1", "", no}, {"8.8.8.8", "", yes}}},
		{"inline table with braces and spaces", "inline:{10.1.2.3=x, {192.168.1.1 = y z}}", []probe{
			{"10.1.2.3", "", yes}, {"192.168.1.1", "", yes}, {"10.1.2.4", "", no}}},
		{"fixed table: name, parent domains, address", "texthash:/etc/postfix/hosts", []probe{
			{"10.5.5.5", "", yes}, {"192.0.2.1", "mx.partner.example", yes}, {"192.0.2.1", "a.mx.partner.example", yes}, {"192.0.2.1", "", no}}},
		{"static matches everyone, negated nobody", "!static:x 10.0.0.0/8", []probe{{"10.0.0.1", "", no}}},
		{"missing file offline is unknown unless the rest decides", "/etc/postfix/missing 10.0.0.0/8", []probe{{"10.0.0.1", "", yes}, {"8.8.8.8", "", unk}}},
		{"unknown entry that cannot change the answer", "!ldap:/etc/postfix/ldap.cf 10.0.0.0/8", []probe{{"10.0.0.1", "", unk}, {"8.8.8.8", "", no}}},
		{"unknown entry before a definite match", "ldap:/etc/postfix/ldap.cf 0.0.0.0/0", []probe{{"8.8.8.8", "", yes}, {"::1", "", unk}}},
		{"empty list", "", []probe{{"127.0.0.1", "", no}}},
		{"commas and blanks", " 10.0.0.0/8,,, ,192.168.0.0/16 ", []probe{{"192.168.0.1", "", yes}}},
		{"IPv4-mapped network needs mapped clients", "[::ffff:0.0.0.0]/96", []probe{{"10.0.0.1", "", no}, {"::ffff:10.0.0.1", "", yes}}},
		{"file that names itself is cut off", "/etc/postfix/loop", []probe{{"10.0.0.1", "", unk}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _, err := ParseHostList("mynetworks", tt.value, pos40, opts())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.probes {
				m := l.Match(netip.MustParseAddr(p.addr), p.name)
				if got := summary(m); got != p.want {
					t.Errorf("Match(%s, %q) = %s (%s), want %s", p.addr, p.name, got, m.Why(), p.want)
				}
				if m.Why() == "" {
					t.Errorf("Match(%s) without a reason", p.addr)
				}
			}
		})
	}
}

func TestParseHostListEntries(t *testing.T) {
	l, warns, err := ParseHostList("mynetworks", "!10.1.0.0/16 127.0.0.1 [::1] 168.100.3.1/27 2001:db8::/32 mail.example /etc/postfix/nets cidr:/etc/postfix/client.cidr", pos40, opts())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.Entries {
		s := fmt.Sprintf("%s %s neg=%v %s", e.Raw, e.Kind, e.Negate, e.Pos)
		if e.Prefix.IsValid() {
			s += " " + e.Prefix.String()
		}
		if e.Err != nil {
			s += " err"
		}
		got = append(got, s)
	}
	want := []string{
		"!10.1.0.0/16 network neg=true main.cf:40 10.1.0.0/16",
		"127.0.0.1 address neg=false main.cf:40 127.0.0.1/32",
		"[::1] address neg=false main.cf:40 ::1/128",
		"168.100.3.1/27 network neg=false main.cf:40 168.100.3.0/27 err",
		"2001:db8::/32 table neg=false main.cf:40 err",
		"mail.example name neg=false main.cf:40",
		"10.1.0.0/16, network neg=false /etc/postfix/nets:2 10.1.0.0/16",
		"!10.2.3.0/24 network neg=true /etc/postfix/nets:2 10.2.3.0/24",
		"192.168.1.0/24 network neg=false /etc/postfix/nets:4 192.168.1.0/24",
		"[2001:db8::]/32 network neg=false /etc/postfix/nets:5 2001:db8::/32",
		"cidr:/etc/postfix/client.cidr table neg=false main.cf:40",
	}
	// Raw keeps the token as split: the comma separates, it is not kept.
	want[6] = "10.1.0.0/16 network neg=false /etc/postfix/nets:2 10.1.0.0/16"
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{"non-null host address bits", "must be written in []", "comment at end of line"} {
		found := false
		for _, x := range warns {
			found = found || strings.Contains(x.Msg, w)
		}
		if !found {
			t.Errorf("no warning %q in %v", w, warns)
		}
	}
	for _, x := range warns {
		if x.Pos.IsZero() {
			t.Errorf("warning without position: %v", x)
		}
	}
	if n := len(l.Prefixes()); n != 8 {
		t.Errorf("Prefixes() = %d entries, want 8", n)
	}
	if n := len(l.FailingEntries()); n != 2 {
		t.Errorf("FailingEntries() = %d, want 2", n)
	}
}

func TestParseErrors(t *testing.T) {
	for _, v := range []string{"10.0.0.0/8 !", "!!", "a, !, b"} {
		_, _, err := ParseHostList("mynetworks", v, pos40, opts())
		var de *diag.Error
		if !errors.As(err, &de) || de.Pos != pos40 || !strings.Contains(de.Msg, "no pattern after '!'") {
			t.Errorf("%q: err = %v, want a diag.Error at %s", v, err, pos40)
		}
	}
	_, _, err := ParseHostList("mynetworks", "/etc/postfix/bad", pos40, Options{Table: table.Options{FS: fstest.MapFS{
		"etc/postfix/bad": {Data: []byte("10.0.0.0/8\n!\n")}}}})
	var de *diag.Error
	if !errors.As(err, &de) || de.Pos.File != "/etc/postfix/bad" || de.Pos.Line != 2 {
		t.Errorf("error in a file: %v, want /etc/postfix/bad:2", err)
	}
}

func TestLiveMissingFile(t *testing.T) {
	l, warns, err := ParseHostList("mynetworks", "/nonexistent/pfaudit/nets 10.0.0.0/8", pos40, Options{Table: table.Options{Live: true}})
	if err != nil {
		t.Fatal(err)
	}
	if m := l.Match(netip.MustParseAddr("10.0.0.1"), ""); m.Err == nil || m.Unknown {
		t.Errorf("missing file on a live system: %+v, want a Postfix failure", m)
	}
	if len(warns) == 0 {
		t.Error("no warning for the missing file")
	}
}

func TestDomainList(t *testing.T) {
	type probe struct {
		domain string
		want   result
	}
	none := ""
	tests := []struct {
		param, value string
		parent       *string
		probes       []probe
	}{
		{"relay_domains", "relay.example, .dot.example, !no.relay2.example relay2.example", nil, []probe{
			{"relay.example", yes}, {"a.b.relay.example", yes}, {"RELAY.example", yes}, {"dot.example", no},
			{"x.dot.example", no}, {"no.relay2.example", no}, {"x.relay2.example", yes}, {"other.example", no}}},
		{"relay_domains", "relay.example, .dot.example", &none, []probe{
			{"relay.example", yes}, {"a.relay.example", no}, {"x.dot.example", yes}, {"dot.example", no}}},
		{"relay_domains", "texthash:/etc/postfix/relays", nil, []probe{
			{"relay.example", yes}, {"sub.relay.example", yes}, {"anything.example", yes}, {"example.org", no}}},
		{"relay_domains", "texthash:/etc/postfix/relays", &none, []probe{
			{"sub.relay.example", no}, {"anything.example", no}}},
		{"relay_domains", "regexp:/etc/postfix/domains.re", nil, []probe{{"re.example", yes}, {"x.re.example", no}}},
		// Match lists open texthash: without case folding: the key
		// "Relay.Example" is never found.
		{"mydestination", "dest.example, .dotdest.example, texthash:/etc/postfix/relays", nil, []probe{
			{"dest.example", yes}, {"DEST.example", yes}, {"sub.dest.example", no}, {"x.dotdest.example", no}, {"relay.example", no}, {"example", yes}}},
		{"virtual_alias_domains", "valias.example ldap:/etc/postfix/ldap.cf", nil, []probe{{"valias.example", yes}, {"other.example", unk}}},
		{"relay_domains", "static:ALL", nil, []probe{{"anything.example", yes}}},
	}
	for _, tt := range tests {
		t.Run(tt.param+" "+tt.value, func(t *testing.T) {
			o := opts()
			o.ParentDomainMatchesSubdomains = tt.parent
			l, _, err := ParseDomainList(tt.param, tt.value, pos40, o)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.probes {
				m := l.Match(p.domain)
				if got := summary(m); got != p.want {
					t.Errorf("Match(%s) = %s (%s), want %s", p.domain, got, m.Why(), p.want)
				}
			}
		})
	}
}

func TestKindAndParentStyle(t *testing.T) {
	for param, k := range map[string]Kind{"mynetworks": KindHost, "mydestination": KindString, "relay_domains": KindDomain, "virtual_mailbox_domains": KindString} {
		if KindOf(param) != k {
			t.Errorf("KindOf(%s) = %v, want %v", param, KindOf(param), k)
		}
	}
	var o Options
	if !o.ParentStyle("relay_domains") || !o.ParentStyle("mynetworks") || o.ParentStyle("mydestination") {
		t.Error("default parent_domain_matches_subdomains wrong")
	}
	v := "debug_peer_list, Relay_Domains"
	o.ParentDomainMatchesSubdomains = &v
	if !o.ParentStyle("relay_domains") || o.ParentStyle("mynetworks") {
		t.Error("explicit parent_domain_matches_subdomains not honoured")
	}
}

func TestDotPatternWarnings(t *testing.T) {
	_, w, _ := ParseDomainList("relay_domains", ".example.com", pos40, opts())
	if len(w) != 1 || !strings.Contains(w[0].Msg, "matches no subdomain") {
		t.Errorf("relay_domains .example.com: warnings %v", w)
	}
	_, w, _ = ParseDomainList("mydestination", ".example.com", pos40, opts())
	if len(w) != 1 || !strings.Contains(w[0].Msg, "never matches") {
		t.Errorf("mydestination .example.com: warnings %v", w)
	}
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		value     string
		everyone  bool
		trusted   string
		undecided string
		failing   string
		count     uint64
	}{
		{"0.0.0.0/0", true, "[0.0.0.0/0]", "[]", "[]", 1 << 32},
		{"[::]/0", true, "[::/0]", "[]", "[]", 0},
		{"0.0.0.0/1 128.0.0.0/1", true, "[0.0.0.0/0]", "[]", "[]", 1 << 32},
		{"[::ffff:0.0.0.0]/96", true, "[::ffff:0.0.0.0/96]", "[]", "[]", 0},
		{"!10.0.0.0/8 0.0.0.0/0", false, "[0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1]", "[]", "[]", 1<<32 - 1<<24},
		{"127.0.0.0/8 10.0.0.0/8 10.1.0.0/16", false, "[10.0.0.0/8 127.0.0.0/8]", "[]", "[]", 2 << 24},
		{"cidr:/etc/postfix/client.cidr", false, "[0.0.0.0/5 8.0.0.0/7 10.9.0.0/16 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1]", "[]", "[]", 1<<32 - 1<<24 + 1<<16},
		{"static:ok", true, "[0.0.0.0/0 ::/0]", "[]", "[]", 1 << 32},
		{"unknown", true, "[]", "[0.0.0.0/0 ::/0]", "[]", 0},
		{"mail.example 10.0.0.0/8", false, "[10.0.0.0/8]", "[0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1 ::/0]", "[]", 1 << 24},
		{"!mail.example 10.0.0.0/8", false, "[]", "[10.0.0.0/8]", "[]", 0},
		{"10.0.0.0/8 168.100.3.1/27 192.168.0.0/16", false, "[10.0.0.0/8]", "[]", "[0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1]", 1 << 24},
		{"ldap:/x 10.0.0.0/8", false, "[10.0.0.0/8]", "[0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 128.0.0.0/1 ::/0]", "[]", 1 << 24},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			l, _, err := ParseHostList("mynetworks", tt.value, pos40, opts())
			if err != nil {
				t.Fatal(err)
			}
			c := l.Coverage()
			every, ents := l.CoversEveryone()
			if every != tt.everyone {
				t.Errorf("CoversEveryone = %v, want %v", every, tt.everyone)
			}
			if every && len(ents) == 0 {
				t.Error("CoversEveryone without the responsible entries")
			}
			if fmt.Sprint(c.Trusted) != tt.trusted || fmt.Sprint(c.Undetermined) != tt.undecided || fmt.Sprint(c.Failing) != tt.failing {
				t.Errorf("trusted %v undetermined %v failing %v\nwant %s %s %s", c.Trusted, c.Undetermined, c.Failing, tt.trusted, tt.undecided, tt.failing)
			}
			if c.TrustedIPv4 != tt.count {
				t.Errorf("TrustedIPv4 = %d, want %d", c.TrustedIPv4, tt.count)
			}
		})
	}
}

// TestCoverageAgreesWithMatch checks Coverage against Match for random
// lists over a small address space.
func TestCoverageAgreesWithMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		var items []string
		for k := r.IntN(6); k >= 0; k-- {
			bits := 24 + r.IntN(9)
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))}), bits).Masked()
			neg := ""
			if r.IntN(3) == 0 {
				neg = "!"
			}
			items = append(items, neg+p.String())
		}
		value := strings.Join(items, " ")
		l, _, err := ParseHostList("mynetworks", value, pos40, opts())
		if err != nil {
			t.Fatal(err)
		}
		c := l.Coverage()
		for i := 0; i < 256; i++ {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
			inTrusted := false
			for _, p := range c.Trusted {
				inTrusted = inTrusted || p.Contains(a)
			}
			if m := l.Match(a, "unknown"); m.Matched != inTrusted {
				t.Fatalf("%s: %s matched=%v, coverage says %v (%v)", value, a, m.Matched, inTrusted, c.Trusted)
			}
		}
	}
}

func TestRangeSet(t *testing.T) {
	// Set operations against a bitmap of 10.0.0.0/24.
	r := rand.New(rand.NewPCG(3, 4))
	randSet := func() (addrSet, [256]bool) {
		var s addrSet
		var bm [256]bool
		for k := r.IntN(4); k >= 0; k-- {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))}), 24+r.IntN(9)).Masked()
			s = s.union(prefixSet(p))
			for i := 0; i < 256; i++ {
				if p.Contains(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})) {
					bm[i] = true
				}
			}
		}
		return s, bm
	}
	check := func(what string, s addrSet, want func(int) bool) {
		t.Helper()
		for i := 0; i < 256; i++ {
			a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
			in := false
			for _, sp := range s {
				in = in || (sp.lo.Compare(a) <= 0 && a.Compare(sp.hi) <= 0)
			}
			if in != want(i) {
				t.Fatalf("%s: %s in=%v", what, a, in)
			}
		}
		var again addrSet
		for _, p := range s.prefixes() {
			again = again.union(prefixSet(p))
		}
		if !again.equal(s) {
			t.Fatalf("%s: prefixes %v do not rebuild %v", what, s.prefixes(), s)
		}
	}
	for n := 0; n < 500; n++ {
		a, am := randSet()
		b, bm := randSet()
		check("union", a.union(b), func(i int) bool { return am[i] || bm[i] })
		check("intersect", a.intersect(b), func(i int) bool { return am[i] && bm[i] })
		check("subtract", a.subtract(b), func(i int) bool { return am[i] && !bm[i] })
	}
	if !fullSet(true).subtract(fullSet(true)).equal(nil) || fullSet(false).count4() != 1<<32 {
		t.Error("full sets wrong")
	}
}

func ExampleHostList_Match() {
	l, warns, _ := ParseHostList("mynetworks", "127.0.0.0/8 168.100.3.1/27 [::1]/128", diag.Pos{File: "main.cf", Line: 3}, Options{})
	for _, w := range warns {
		fmt.Println(w.Pos, "warning:", strings.SplitN(w.Msg, ":", 3)[1])
	}
	for _, a := range []string{"127.0.0.1", "192.0.2.1", "2001:db8::1"} {
		m := l.Match(netip.MustParseAddr(a), "unknown")
		fmt.Printf("%s: matched=%v postfix-fails=%v\n", a, m.Matched, m.Err != nil)
	}
	// Output:
	// main.cf:3 warning:  non-null host address bits in "168.100.3.1/27", perhaps you should use "168.100.3.0/27" instead
	// 127.0.0.1: matched=true postfix-fails=false
	// 192.0.2.1: matched=false postfix-fails=true
	// 2001:db8::1: matched=false postfix-fails=false
}

// TestMissWhy: a search that finds no entry leaves Reason empty and words
// the miss when asked.
func TestMissWhy(t *testing.T) {
	hl, _, err := ParseHostList("mynetworks", "127.0.0.0/8 [::1]/128", pos40, opts())
	if err != nil {
		t.Fatal(err)
	}
	m := hl.Match(netip.MustParseAddr("203.0.113.5"), "")
	if m.Matched || m.Reason != "" || m.Why() != "no entry of mynetworks matches unknown[203.0.113.5]" {
		t.Errorf("host miss: %+v, Why %q", m, m.Why())
	}
	if m := hl.Match(netip.MustParseAddr("127.0.0.2"), ""); !m.Matched || m.Why() != m.Reason || m.Reason == "" {
		t.Errorf("host match: Reason %q, Why %q", m.Reason, m.Why())
	}
	dl, _, err := ParseDomainList("relay_domains", "example.com", pos40, opts())
	if err != nil {
		t.Fatal(err)
	}
	if m := dl.Match("example.net"); m.Matched || m.Why() != "no entry of relay_domains matches example.net" {
		t.Errorf("domain miss: Why %q", m.Why())
	}
}
