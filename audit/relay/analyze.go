package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/matchlist"
)

// Untrusted documentation addresses (RFC 5737, RFC 3849) stand in for an
// Internet client; reserved names (RFC 2606) for the third-party domain.
var (
	internetV4 = netip.MustParseAddr("203.0.113.5")
	internetV6 = netip.MustParseAddr("2001:db8::5")
)

const (
	testDomain   = "example.net"
	senderDomain = "example.org"
)

// reservedCandidates are the third-party domains tried, in order: RFC 2606
// second-level names first (they resolve in the public DNS, with a null
// MX), then names under reserved top-level domains.
var reservedCandidates = []string{"example.net", "example.com", "example.org", "relaytest.example", "relaytest.test", "relaytest.invalid"}

// Domains are the third-party names of the relay attempts.
type Domains struct {
	Test, Sender string
	Note         string
	// RelayAll is set when relay_domains matches even reserved names
	// nobody would list: its matches then count as third parties.
	RelayAll bool
}

// PickDomains chooses the test and sender domains for this scope: the
// first reserved names that are in no address class of the configuration
// (mydestination, inet_interfaces, virtual_alias_domains,
// virtual_mailbox_domains, relay_domains; matched as trivial-rewrite does,
// parent_domain_matches_subdomains included). A server that hosts
// example.net gets example.com, and so on.
func (m *Model) PickDomains() Domains {
	if sd := m.scope.domains; sd != nil {
		for _, a := range sd.assumed {
			m.assume(a)
		}
		return sd.dom
	}
	var d Domains
	assumed := m.capture(func() { d = m.pickDomains() })
	m.scope.domains = &sharedDomains{dom: d, assumed: assumed}
	return d
}

func (m *Model) pickDomains() Domains {
	var d Domains
	var skipped []string
	firstRelay := ""
	tldRelay := 0 // reserved-TLD names (relaytest.example ...) in relay_domains
	for _, c := range reservedCandidates {
		cls, param, unknown := m.domainClass(c)
		if unknown != "" {
			skipped = append(skipped, c+" cannot be classified ("+unknown+")")
			continue
		}
		if cls != classDefault {
			skipped = append(skipped, c+" is hosted here ("+param+")")
			if cls == classRelay {
				if firstRelay == "" {
					firstRelay = c
				}
				if strings.HasPrefix(c, "relaytest.") {
					tldRelay++
				}
			}
			continue
		}
		if d.Test == "" {
			d.Test = c
		} else if d.Sender == "" {
			d.Sender = c
		}
	}
	if d.Test == "" {
		d.Test = testDomain
		if tldRelay == 3 {
			// Nobody lists relaytest.example, .test and .invalid on
			// purpose: relay_domains matches any domain.
			d.Test, d.RelayAll = firstRelay, true
			d.Note = "relay_domains matches every reserved test domain, even " + strings.Join(reservedCandidates[3:], ", ") + ": it matches domains nobody would list, so its matches count as third parties"
		} else {
			d.Note = "no reserved test domain is foreign to this configuration: " + strings.Join(skipped, "; ")
		}
	}
	if d.Sender == "" {
		d.Sender = senderDomain
		if d.Sender == d.Test {
			d.Sender = "example.com"
		}
	}
	if d.Note == "" {
		d.Note = d.Test + " is in no address class of this configuration (mydestination, inet_interfaces, proxy_interfaces, virtual_alias_domains, virtual_mailbox_domains, relay_domains)"
		if len(skipped) > 0 {
			d.Note += "; skipped: " + strings.Join(skipped, "; ")
		}
	}
	return d
}

// destination says whether an accepted recipient would leave for a third
// party, and how it resolves.
func (m *Model) destination(rcpt string, dom Domains) (string, string) {
	sr := m.resolveShared(rcpt)
	res := sr.res
	if res.unknown != "" {
		return "", ""
	}
	switch {
	case res.class == classDefault:
		return ThirdParty, sr.desc
	case res.class == classRelay && (res.routed || dom.RelayAll):
		// A routed address at a relay_domains destination is handed to
		// that domain's server, which may route it on (resolve.c: the
		// reason for the routed flag).
		return ThirdParty, sr.desc
	}
	return Hosted, sr.desc
}

// describe is how Case.Resolved shows a resolution.
func (r resolution) describe() string {
	if r.unknown != "" {
		return ""
	}
	desc := r.addr + " (" + r.class.String()
	if r.routed {
		desc += ", routed"
	}
	return desc + ")"
}

// Guard runs smtpd's startup check on the two RCPT lists in this scope.
func (m *Model) Guard() Guard {
	for _, p := range []string{"smtpd_relay_restrictions", "smtpd_recipient_restrictions"} {
		l := m.getList(p)
		if ok, _ := m.hasGuard(l.Items, 0); ok {
			return Guard{OK: true, Reason: p + " has a working guard", Pos: l.Pos}
		}
	}
	l := m.getList("smtpd_relay_restrictions")
	return Guard{Reason: "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has a working reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains (a bare permit ends the search, warn_if_reject disarms the next one): smtpd exits on every connection with \"fatal: specify at least one working instance of...\"", Pos: l.Pos}
}

// hasGuard follows smtpd_check.c: restriction classes are followed, a bare
// permit truncates the list, and a guard right after warn_if_reject does
// not count.
func (m *Model) hasGuard(items []restriction, depth int) (bool, string) {
	if depth > 10 {
		return false, ""
	}
	warn := false
	for _, r := range items {
		switch {
		case r.Name == "permit":
			return false, ""
		case r.Name == "warn_if_reject":
			warn = true
			continue
		case guardRestrictions[r.Name]:
			if !warn {
				return true, r.Text
			}
		case m.classes[r.Text]:
			v := m.expand(r.Text)
			if ok, g := m.hasGuard(m.parsedList(v), depth+1); ok {
				return true, g
			}
		}
		warn = false
	}
	return false, ""
}

// Analyze computes the relay analysis of every smtpd listener.
func Analyze(cfg *postconf.Config, opt Options) []*Analysis {
	var out []*Analysis
	for _, l := range Listeners(cfg) {
		if opt.Cancelled() {
			break
		}
		out = append(out, AnalyzeListener(cfg, l, opt))
	}
	return out
}

// interrupted is the analysis of a listener whose analysis was stopped: it
// is never reported closed.
func interrupted(a *Analysis, opt Options) *Analysis {
	a.Verdict, a.Local, a.WouldBe, a.Deciding = Unknown, Unknown, "", nil
	a.Reason = "analysis " + opt.Interruption()
	return a
}

// Requests builds the relay attempts of an untrusted client for a listener
// whose host name is h, mail domain d and address literal ip: the
// relay-probe catalogue's sender and recipient tricks and HELO identities.
func Requests(c Client, h, d, ip string) []Request {
	return requests(c, Domains{Test: testDomain, Sender: senderDomain}, h, d, ip)
}

func requests(c Client, dom Domains, h, d, ip string) []Request {
	x, senderDomain := dom.Test, dom.Sender
	u := "relaytest"
	s := "relaytest"
	type row struct{ trick, from, to string }
	rows := []row{
		{"null sender", "", u + "@" + x},
		{"third-party sender", s + "@" + senderDomain, u + "@" + x},
		{"random host in test domain", s + "@random." + senderDomain, u + "@" + x},
		{"localhost sender", s + "@localhost", u + "@" + x},
		{"unqualified sender", s, u + "@" + x},
		{"sender spoofs the server's host", s + "@" + h, u + "@" + x},
		{"IP-literal sender", s + "@" + ip, u + "@" + x},
		{"sender spoofs the own domain", "postmaster@" + d, u + "@" + x},
		{"quoted sender", `"` + s + "@" + senderDomain + `"@` + h, u + "@" + x},
		{"percent hack", s + "@" + senderDomain, u + "%" + x + "@" + h},
		{"percent hack at IP literal", s + "@" + senderDomain, u + "%" + x + "@" + ip},
		{"quoted local part", s + "@" + senderDomain, `"` + u + "@" + x + `"`},
		{"quoted percent", s + "@" + senderDomain, `"` + u + "%" + x + `"`},
		{"double @ at IP literal", s + "@" + senderDomain, u + "@" + x + "@" + ip},
		{"quoted at IP literal", s + "@" + senderDomain, `"` + u + "@" + x + `"@` + ip},
		{"double @ at host", s + "@" + senderDomain, u + "@" + x + "@" + h},
		{"quoted at host", s + "@" + senderDomain, `"` + u + "@" + x + `"@` + h},
		{"source route via IP literal", s + "@" + senderDomain, "@" + ip + ":" + u + "@" + x},
		{"source route via host", s + "@" + senderDomain, "@" + h + ":" + u + "@" + x},
		{"bang path", s + "@" + senderDomain, x + "!" + u},
		{"bang path at IP literal", s + "@" + senderDomain, x + "!" + u + "@" + ip},
		{"bang path at host", s + "@" + senderDomain, x + "!" + u + "@" + h},
		{"percent hack, null domain", s + "@" + senderDomain, u + "%" + x + "@"},
		{"double @, null domain", s + "@" + senderDomain, u + "@" + x + "@"},
		{"upper case", s + "@" + senderDomain, strings.ToUpper(u + "@" + x)},
		{"role address postmaster", s + "@" + senderDomain, "postmaster@" + x},
		{"role address abuse", s + "@" + senderDomain, "abuse@" + x},
	}
	helos := []string{"relaytest." + senderDomain, "localhost", h, x}
	out := make([]Request, 0, len(rows)+2*(len(helos)-1))
	for i, hl := range helos {
		cl := c
		cl.HELO = hl
		for j, r := range rows {
			if i > 0 && j > 1 {
				continue // the HELO variants matter for the plain attempts
			}
			trick := r.trick
			if i > 0 {
				trick += ", HELO " + hl
			}
			out = append(out, Request{Client: cl, Sender: r.from, Recipient: r.to, Trick: trick})
		}
	}
	return out
}

// AnalyzeListener computes one listener's verdicts.
func AnalyzeListener(cfg *postconf.Config, l Listener, opt Options) *Analysis {
	m := NewModel(cfg, l.Service, opt)
	if l.Postscreen {
		m.front = l.Front
	}
	a := &Analysis{Listener: l, Guard: m.Guard()}
	if opt.Cancelled() {
		return interrupted(a, opt)
	}
	var fe *fatalListError
	if errors.As(m.mynetErr, &fe) {
		a.Verdict, a.Local, a.Reason = Broken, Broken, fe.Error()
		if l.LoopbackOnly {
			a.Verdict, a.WouldBe = Closed, Broken
		}
		return a
	}
	if name, err := m.expansionError(); err != nil {
		a.Verdict, a.Local, a.Unexpandable = Broken, Broken, name
		a.Reason = fmt.Sprintf("smtpd exits on every connection: %s cannot be expanded (%v); Postfix logs \"fatal: macro processing error\"", name, err)
		if l.LoopbackOnly {
			a.Verdict, a.WouldBe = Closed, Broken
		}
		return a
	}
	if !a.Guard.OK {
		a.Verdict, a.Local = Broken, Broken
		a.Reason = a.Guard.Reason
		if l.LoopbackOnly {
			a.Verdict, a.WouldBe = Closed, Broken
		}
		return a
	}
	h := m.expand("myhostname")
	d := m.expand("mydomain")
	ip := "[" + l.Host + "]"
	if _, err := netip.ParseAddr(l.Host); err != nil {
		ip = "[192.0.2.25]"
		if len(m.ifaceAddrs) > 0 {
			ip = "[" + m.ifaceAddrs[0].String() + "]"
		}
	}
	var clients []Client
	if l.IPv4 || !l.IPv6 {
		clients = append(clients, Client{Class: "internet-v4", Addr: internetV4, Name: "unknown"})
	}
	if l.IPv6 {
		clients = append(clients, Client{Class: "internet-v6", Addr: internetV6, Name: "unknown"})
	}
	clients = append(clients, m.extraClients(clients)...)
	dom := m.PickDomains()
	a.TestDomain, a.SenderDomain, a.TestDomainNote = dom.Test, dom.Sender, dom.Note
	defer func() { a.Assumptions = m.Assumptions() }()
	verdict, reason, deciding := Closed, "every relay attempt from an untrusted client is refused", (*Case)(nil)
	unknownCase := (*Case)(nil)
	relayDomain := m.literalRelayDomain()
	perClient := make([][]Request, len(clients))
	n := 0
	for i, c := range clients {
		perClient[i] = m.sharedRequests(c, dom, h, d, ip, relayDomain)
		n += len(perClient[i])
	}
	trusted := m.trustedClients(dom)
	// Room for exactly the cases below (the catalogue's per client, the
	// local control, loopback, the trusted ones): a case is large, growing
	// the slice by doubling copied them all, and room to spare is memory
	// cleared and scanned for nothing. Cases are pointed to (deciding), so
	// the array must not move either.
	a.Cases = make([]Case, 0, n+2+len(trusted))
	for i, reqs := range perClient {
		c := clients[i]
		for _, req := range reqs {
			if opt.Cancelled() {
				return interrupted(a, opt)
			}
			cs := Case{Request: req, Decision: m.Decide(req)}
			cs.Destination, cs.Resolved = m.destination(req.Recipient, dom)
			a.Cases = append(a.Cases, cs)
			if cs.Destination == Hosted {
				// Mail for a destination this server hosts stays here:
				// accepting it is not relay, refusing it proves nothing.
				continue
			}
			switch cs.Decision.Result {
			case Accept:
				if verdict != Open {
					verdict, deciding = Open, &a.Cases[len(a.Cases)-1]
					reason = fmt.Sprintf("%s relays to %s: %s", describeClient(c), req.Recipient, cs.Decision.Reason)
				}
			case Undecidable:
				if unknownCase == nil {
					unknownCase = &a.Cases[len(a.Cases)-1]
				}
			}
		}
	}
	if verdict != Open && unknownCase != nil {
		verdict, deciding = Unknown, unknownCase
		reason = "the decision depends on something pfaudit cannot evaluate: " + unknownCase.Decision.Reason
	}
	if verdict == Closed && len(a.Cases) > 0 {
		deciding = &a.Cases[1] // the plain third-party attempt
		// Every RCPT failing with a server-side error is a broken listener:
		// check a local recipient too.
		ctl := Request{Client: clients[0], Sender: "relaytest@" + dom.Sender, Recipient: "postmaster@" + firstLocal(m, h)}
		ctlCase := Case{Request: ctl, Decision: m.Decide(ctl)}
		ctlCase.Destination, ctlCase.Resolved = m.destination(ctl.Recipient, dom)
		if isServerError(ctlCase.Decision) && isServerError(deciding.Decision) {
			verdict, deciding = Broken, &ctlCase
			reason = "every RCPT fails with a server error: " + ctlCase.Decision.Reason
			a.Cases = append(a.Cases, ctlCase)
		} else {
			reason = "every relay attempt from an untrusted client is refused; the plain attempt: " + deciding.Decision.Reason
		}
	}
	a.Reason = reason
	if deciding != nil {
		dc := *deciding
		a.Deciding = &dc
	}
	a.Verdict = verdict
	if l.LoopbackOnly {
		a.WouldBe = verdict
		a.Verdict = Closed
		a.Reason = "listens on loopback only; exposed, it would be " + string(verdict) + ": " + reason
	}
	lo := Request{Client: Client{Class: "loopback", Addr: netip.MustParseAddr("127.0.0.1"), Name: "localhost", HELO: "localhost"},
		Sender: "relaytest@" + dom.Sender, Recipient: "relaytest@" + dom.Test, Trick: "loopback client"}
	loCase := Case{Request: lo, Decision: m.Decide(lo)}
	loCase.Destination, loCase.Resolved = m.destination(lo.Recipient, dom)
	a.Cases = append(a.Cases, loCase)
	switch loCase.Decision.Result {
	case Accept:
		a.Local = Open
	case Undecidable:
		a.Local = Unknown
	default:
		a.Local = Closed
	}
	// The trusted classes, for the report: this host's addresses, a client
	// in each mynetworks network, an authenticated client.
	for _, c := range trusted {
		if opt.Cancelled() {
			return interrupted(a, opt)
		}
		req := Request{Client: c, Sender: "relaytest@" + dom.Sender, Recipient: "relaytest@" + dom.Test, Trick: c.Class + " client"}
		cs := Case{Request: req, Decision: m.Decide(req)}
		cs.Destination, cs.Resolved = m.destination(req.Recipient, dom)
		a.Cases = append(a.Cases, cs)
	}
	return a
}

// describeClient names an untrusted client for a verdict's reason.
func describeClient(c Client) string {
	switch {
	case strings.HasSuffix(c.Class, "+proxy-impersonation"):
		return fmt.Sprintf("any client that can connect, claiming %s in a PROXY header (smtpd_upstream_proxy_protocol),", c.Addr)
	case strings.HasSuffix(c.Class, "+xclient-impersonation"):
		return fmt.Sprintf("an untrusted client that smtpd_authorized_xclient_hosts lets claim %s with XCLIENT", c.Addr)
	case strings.HasSuffix(c.Class, "+public-ca-cert"):
		return fmt.Sprintf("an untrusted client (%s) with a certificate from a public CA", c.Addr)
	}
	return fmt.Sprintf("an untrusted client (%s)", c.Addr)
}

// smtpdGlobals are parameters smtpd expands besides its own smtpd_*
// ones: the address classes it resolves and the host lists it matches.
var smtpdGlobals = []string{"mynetworks", "mydestination", "myhostname", "mydomain", "myorigin",
	"relay_domains", "virtual_alias_domains", "virtual_mailbox_domains", "inet_interfaces",
	"proxy_interfaces", "parent_domain_matches_subdomains", "permit_mx_backup_networks"}

// expansionError returns the first parameter smtpd reads that cannot be
// expanded ("0.0.0.0/0 ${x"): smtpd then dies at startup with "fatal:
// macro processing error", whatever the rest says (postconf(5): $name
// expansion happens when the value is used).
func (m *Model) expansionError() (string, error) {
	// Nearly every configuration expands cleanly: first try every name in
	// any order, without collecting and sorting them; only when one fails
	// is the first failing name in sorted order looked for.
	//
	// The model has expanded most of these names already (the address
	// classes, mynetworks, the restriction lists): their answer is in its
	// memo. A main.cf value without "$" expands to itself and cannot fail
	// (postconf.Config.Expand); where a -o setting replaces it, the
	// override is checked below.
	fails := func(n string) bool {
		if _, ok := m.memo[n]; ok {
			return m.unexpandable[n]
		}
		_, err := m.cfg.Expand(m.svc, n)
		return err != nil
	}
	failed := false
	for _, n := range smtpdGlobals {
		failed = failed || fails(n)
	}
	for n, p := range m.cfg.Main.Params {
		if failed || !strings.HasPrefix(n, "smtpd_") && !m.classes[n] {
			continue
		}
		if strings.IndexByte(p.Value, '$') < 0 && n != "service_name" && n != "process_name" {
			continue
		}
		failed = fails(n)
	}
	if m.svc != nil && !failed {
		for _, o := range m.cfg.EffectiveOverrides(m.svc) {
			if !failed && (strings.HasPrefix(o.Name, "smtpd_") || slices.Contains(smtpdGlobals, o.Name) || m.classes[o.Name]) {
				failed = fails(o.Name)
			}
		}
	}
	if !failed {
		return "", nil
	}
	names := map[string]bool{}
	for _, n := range smtpdGlobals {
		names[n] = true
	}
	for n := range m.cfg.Main.Params {
		if strings.HasPrefix(n, "smtpd_") || m.classes[n] {
			names[n] = true
		}
	}
	if m.svc != nil {
		for _, o := range m.cfg.EffectiveOverrides(m.svc) {
			if strings.HasPrefix(o.Name, "smtpd_") || slices.Contains(smtpdGlobals, o.Name) || m.classes[o.Name] {
				names[o.Name] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if _, err := m.cfg.Expand(m.svc, n); err != nil {
			return n, err
		}
	}
	return "", nil
}

// trustedClients are the client classes a site trusts on purpose.
func (m *Model) trustedClients(dom Domains) []Client {
	senderDomain := dom.Sender
	var out []Client
	for _, ad := range m.opt.LocalAddrs {
		if !ad.IsLoopback() {
			out = append(out, Client{Class: "this-host", Addr: ad, Name: "unknown", HELO: "localhost", Trusted: true})
			break
		}
	}
	if hl, ok := m.mynet.(hostList); ok {
		for _, e := range sampleNetworks(hl.l.Prefixes(), maxTrustedNetworks) {
			ad := representative(e.Prefix)
			out = append(out, Client{Class: "mynetworks " + e.Raw, Addr: ad, Name: "unknown", HELO: "client." + senderDomain, Trusted: true})
		}
	}
	if m.yes("smtpd_sasl_auth_enable") {
		out = append(out, Client{Class: "sasl-authenticated", Addr: internetV4, Name: "unknown", HELO: "client." + senderDomain, SASLLogin: "user", Trusted: true})
	}
	return out
}

// maxTrustedNetworks bounds the mynetworks clients a listener's analysis
// tries. They are there for the report and for fix verification (a fix must
// not stop trusted clients relaying); one client per entry made the cost of
// an audit grow with the square of mynetworks (every client searches the
// whole list, and fix verification compares every client with every
// network), and a sample spread over the list shows the same trust.
const maxTrustedNetworks = 32

// sampleNetworks returns the usable (positive, valid, not failing)
// networks of es, at most max of them spread evenly over the list (the
// first and the last always among them), each network once.
func sampleNetworks(es []*matchlist.Entry, max int) []*matchlist.Entry {
	usable := make([]int32, 0, len(es))
	for i, e := range es {
		if !e.Negate && e.Prefix.IsValid() && e.Err == nil {
			usable = append(usable, int32(i))
		}
	}
	pick := usable
	if len(usable) > max {
		pick = make([]int32, 0, max)
		for i := 0; i < max; i++ {
			pick = append(pick, usable[i*(len(usable)-1)/(max-1)])
		}
	}
	var out []*matchlist.Entry
	seen := map[netip.Prefix]bool{}
	for _, i := range pick {
		if e := es[i]; !seen[e.Prefix] {
			seen[e.Prefix] = true
			out = append(out, e)
		}
	}
	return out
}

func firstLocal(m *Model, h string) string {
	for _, d := range postconf.SplitList(m.expand("mydestination")) {
		if !strings.Contains(d, ":") && !strings.HasPrefix(d, "/") {
			return d
		}
	}
	return h
}

func isServerError(d Decision) bool {
	return d.Result == Defer && (strings.HasPrefix(d.Enhanced, "4.3.") || d.Code == 451)
}

// extraClients are the untrusted clients that can present more than an
// address: one whose certificate a public CA signed, where
// permit_tls_all_clientcerts trusts every CA smtpd knows (postconf(5)
// permit_tls_all_clientcerts), and one that may send XCLIENT itself, where
// smtpd_authorized_xclient_hosts covers it: it then claims a loopback
// address and a SASL login (XCLIENT_README).
func (m *Model) extraClients(base []Client) []Client {
	var out []Client
	if m.publicClientCAs() {
		for _, c := range base {
			c.Class += "+public-ca-cert"
			c.ClientCert = true
			out = append(out, c)
		}
	}
	if p := m.proxyProtocol(); p != "" {
		// The client address is whatever the PROXY header says
		// (postconf(5) smtpd_upstream_proxy_protocol,
		// postscreen_upstream_proxy_protocol): whoever can connect can
		// claim loopback or any mynetworks address.
		for _, c := range base {
			imp := c
			imp.Class += "+proxy-impersonation"
			imp.Addr = netip.MustParseAddr("127.0.0.1")
			imp.Name = "localhost"
			out = append(out, imp)
		}
		if hl, ok := m.mynet.(hostList); ok {
			for _, e := range hl.l.Prefixes() {
				if e.Negate || !e.Prefix.IsValid() || e.Err != nil || e.Prefix.Addr().IsLoopback() {
					continue
				}
				imp := base[0]
				imp.Class += "+proxy-impersonation"
				imp.Addr = representative(e.Prefix)
				imp.Name = "unknown"
				out = append(out, imp)
				break
			}
		}
	}
	xc, _ := m.value("smtpd_authorized_xclient_hosts")
	if strings.TrimSpace(xc) != "" {
		if hl, err := buildHostList("smtpd_authorized_xclient_hosts", xc, diag.Pos{}, m); err == nil {
			for _, c := range base {
				if hm := hl.MatchHost(c.Addr, c.Name); hm.Matched {
					imp := c
					imp.Class += "+xclient-impersonation"
					imp.Addr = netip.MustParseAddr("127.0.0.1")
					imp.Name = "localhost"
					if m.yes("smtpd_sasl_auth_enable") {
						imp.SASLLogin = "xclient-claimed"
					}
					out = append(out, imp)
				}
			}
		}
	}
	return out
}

// proxyProtocol names the PROXY protocol the listener expects from every
// client ("haproxy"), "" when none. For postscreen it is
// postscreen_upstream_proxy_protocol of the front entry; smtpd behind
// postscreen then gets the address from postscreen.
func (m *Model) proxyProtocol() string {
	if m.front != nil {
		v, _ := m.cfg.Expand(m.front, "postscreen_upstream_proxy_protocol")
		return strings.TrimSpace(v)
	}
	return strings.TrimSpace(m.expand("smtpd_upstream_proxy_protocol"))
}

// publicClientCAs reports whether smtpd verifies client certificates
// against public CAs: it asks for them, and its CA file or directory is
// the system bundle or tls_append_default_CA = yes. Anyone can buy such a
// certificate.
func (m *Model) publicClientCAs() bool {
	if !m.yes("smtpd_tls_ask_ccert") && !m.yes("smtpd_tls_req_ccert") {
		return false
	}
	if lvl := strings.ToLower(m.expand("smtpd_tls_security_level")); lvl == "" || lvl == "none" {
		if !m.yes("smtpd_use_tls") && !m.yes("smtpd_enforce_tls") {
			return false
		}
	}
	if m.yes("tls_append_default_CA") {
		return true
	}
	for _, p := range []string{"smtpd_tls_CAfile", "smtpd_tls_CApath"} {
		v := strings.ToLower(m.expand(p))
		for _, public := range []string{"ca-certificates", "ca-bundle", "/etc/ssl/certs", "/etc/pki/tls/certs", "tls-ca-bundle", "cert.pem"} {
			if v != "" && strings.Contains(v, public) {
				return true
			}
		}
	}
	return false
}

// literalRelayDomain is the first relay_domains entry that is a plain
// domain name, for the sender-routed tricks that allow_untrusted_routing
// lets through.
func (m *Model) literalRelayDomain() string {
	for _, d := range splitRestrictions(m.expand("relay_domains")) {
		if strings.HasPrefix(d, "!") || strings.HasPrefix(d, "/") || isTableSpec(d) || strings.HasPrefix(d, "$") {
			continue
		}
		return strings.TrimPrefix(d, ".")
	}
	return ""
}

// routedViaRelayDomain are sender-routed recipients at a relay_domains
// destination (relay-probes.md rows 10, 14, 20-22 aimed at a relayed
// domain): the next hop would route them on to the third party.
func routedViaRelayDomain(c Client, dom Domains, r string) []Request {
	x, u, s := dom.Test, "relaytest", "relaytest@"+dom.Sender
	c.HELO = "relaytest." + dom.Sender
	return []Request{
		{Client: c, Sender: s, Recipient: u + "%" + x + "@" + r, Trick: "percent hack via relay domain " + r},
		{Client: c, Sender: s, Recipient: x + "!" + u + "@" + r, Trick: "bang path via relay domain " + r},
		{Client: c, Sender: s, Recipient: u + "@" + x + "@" + r, Trick: "double @ via relay domain " + r},
	}
}

// representative picks a usable client address inside p: a documentation
// or private address when p holds one (0.0.0.1 is no client Postfix
// accepts, even through XCLIENT), else the first host address.
func representative(p netip.Prefix) netip.Addr {
	for _, c := range []string{"198.51.100.7", "192.0.2.7", "203.0.113.7", "10.0.0.7", "2001:db8::7", "fd00::7"} {
		if a := netip.MustParseAddr(c); p.Contains(a) {
			return a
		}
	}
	ad := p.Masked().Addr()
	if p.Bits() < ad.BitLen() {
		ad = ad.Next()
	}
	return ad
}
