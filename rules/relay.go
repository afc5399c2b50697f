package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// Relay family: what lets an untrusted client relay, and what stops smtpd
// from deciding at all (SMTPD_ACCESS_README, postconf(5)
// smtpd_relay_restrictions, smtpd_recipient_restrictions, mynetworks).

// at fills a finding's location from pos.
func at(f Finding, pos diag.Pos) Finding {
	f.File, f.Line = pos.File, pos.Line
	return f
}

// ---- verdicts of the relay model ----

func checkOpenRelay(c *Context) []Finding {
	var out []Finding
	for _, a := range c.Analyses {
		if a == nil || a.Verdict != relay.Open {
			continue
		}
		l := a.Listener
		step := permitStep(a.Deciding)
		msg := fmt.Sprintf("%s relays mail for untrusted Internet clients", l.Key)
		if a.Reason != "" {
			msg += ": " + a.Reason
		}
		if a.Deciding != nil {
			msg += "; " + describeCase(*a.Deciding)
		}
		f := Finding{Service: l.Key, Parameter: "smtpd_relay_restrictions", Message: msg}
		rl := c.relayLists(l)
		f = at(f, c.pos(rl.Relay))
		if step != nil {
			if isParamName(step.List) {
				f.Parameter = step.List
			}
			if !step.Pos.IsZero() {
				f = at(f, step.Pos)
			}
		}
		f.Remediation = c.relayFixFor(a)
		out = append(out, f)
	}
	return out
}

// permitStep is the step whose permit let the deciding request through,
// preferring one that is not a plain end-of-list.
func permitStep(cs *relay.Case) *relay.Step {
	if cs == nil {
		return nil
	}
	for i := range cs.Decision.Trace {
		s := &cs.Decision.Trace[i]
		if strings.EqualFold(s.Outcome, "permit") || strings.EqualFold(s.Outcome, "ok") {
			return s
		}
	}
	return nil
}

func isParamName(s string) bool { return paramName().MatchString(s) && strings.Contains(s, "_") }

// describeCase renders a request and its trace on one line.
func describeCase(cs relay.Case) string {
	var b strings.Builder
	cl := cs.Client
	fmt.Fprintf(&b, "client %s", cl.Addr)
	if cl.Class != "" {
		fmt.Fprintf(&b, " (%s)", cl.Class)
	}
	if cl.HELO != "" {
		fmt.Fprintf(&b, " HELO %s", cl.HELO)
	}
	fmt.Fprintf(&b, ", MAIL FROM:<%s> RCPT TO:<%s> -> %s", cs.Sender, cs.Recipient, cs.Decision.Result)
	if cs.Decision.Code != 0 {
		fmt.Fprintf(&b, " %d", cs.Decision.Code)
	}
	for _, s := range cs.Decision.Trace {
		fmt.Fprintf(&b, "; %s #%d %s: %s", s.List, s.Index, s.Restriction, s.Outcome)
		if s.Detail != "" {
			fmt.Fprintf(&b, " (%s)", s.Detail)
		}
		if p := s.Pos.String(); p != "" {
			fmt.Fprintf(&b, " [%s]", p)
		}
	}
	return b.String()
}

// openRelayFix chooses the fix from what let the request through: a
// mynetworks that trusts the client is narrowed; anything else gets the
// relay guard, plus the relay-widening settings this listener has.
func (c *Context) openRelayFix(l relay.Listener, step *relay.Step) []string {
	var cmds []string
	if step != nil && strings.HasPrefix(strings.ToLower(step.Restriction), "permit_mynetworks") {
		p := c.param(l.Service, "mynetworks")
		if fix := c.mynetworksFix(p); fix != nil {
			return fix
		}
		if !p.isSet() {
			return []string{c.set(p, strings.Join(c.loopbackNets(), " "))}
		}
	}
	cmds = append(cmds, c.relayFix(l)...)
	if p := c.param(l.Service, "allow_untrusted_routing"); c.isYes(l.Service, "allow_untrusted_routing") {
		cmds = append(cmds, c.unset(p)...)
	}
	if p := c.param(l.Service, "relay_domains"); len(c.relayDomainsEverything(p.Value)) > 0 {
		cmds = append(cmds, c.relayDomainsFix(p))
	}
	return cmds
}

func checkBrokenListener(c *Context) []Finding {
	var out []Finding
	for _, a := range c.Analyses {
		if a == nil {
			continue
		}
		noGuard := !a.Guard.OK && a.Guard.Reason != ""
		if a.Verdict != relay.Broken && !noGuard {
			continue
		}
		l := a.Listener
		rl := c.relayLists(l)
		reason := a.Reason
		if noGuard {
			reason = a.Guard.Reason
		}
		msg := fmt.Sprintf("%s cannot take mail: %s", l.Key, reason)
		if noGuard && !strings.Contains(reason, "exits") {
			msg += " (smtpd exits with \"specify at least one working instance of reject_unauth_destination\" on every connection and master throttles the service)"
		}
		f := at(Finding{Service: l.Key, Parameter: "smtpd_relay_restrictions", Message: msg}, c.pos(rl.Relay))
		if !a.Guard.Pos.IsZero() {
			f = at(f, a.Guard.Pos)
		}
		if a.Unexpandable != "" {
			// A -o override that cannot be expanded goes: the listener
			// then takes main.cf's value. A main.cf value needs a person
			// to say what it meant.
			p := c.param(l.Service, a.Unexpandable)
			f.Parameter = a.Unexpandable
			f = at(f, c.pos(p))
			if p.Svc != nil {
				f.Remediation = c.unset(p)
			}
		} else if noGuard || !rl.Protected() {
			f.Remediation = c.relayFix(l)
		} else {
			p := c.param(l.Service, "mynetworks")
			if hasMalformed(c.mynetEntriesOf(p)) {
				f.Parameter = "mynetworks"
				f = at(f, c.pos(p))
				f.Remediation = c.mynetworksFix(p)
			}
		}
		out = append(out, f)
	}
	return out
}

func hasMalformed(es []netEntry) bool {
	for _, e := range es {
		if e.Kind == netBad || e.Kind == netUnbracketed || (e.Kind == netPrefix && e.HostBits) {
			return true
		}
	}
	return false
}

func checkWouldRelayIfExposed(c *Context) []Finding {
	var out []Finding
	for _, a := range c.Analyses {
		if a == nil || !a.Listener.LoopbackOnly || a.WouldBe != relay.Open {
			continue
		}
		l := a.Listener
		rl := c.relayLists(l)
		msg := fmt.Sprintf("%s listens on loopback only, so Internet clients cannot reach it, but it would relay for them if it were exposed (a firewall or inet_interfaces change, a proxy, a container port mapping)", l.Key)
		if a.Reason != "" {
			msg += ": " + a.Reason
		}
		f := at(Finding{Service: l.Key, Parameter: "smtpd_relay_restrictions", Message: msg}, c.pos(rl.Relay))
		f.Remediation = c.relayFixFor(a)
		out = append(out, f)
	}
	return out
}

func checkUnknownVerdict(c *Context) []Finding {
	var out []Finding
	for _, a := range c.Analyses {
		if a == nil || a.Verdict != relay.Unknown {
			continue
		}
		l := a.Listener
		rl := c.relayLists(l)
		msg := fmt.Sprintf("pfaudit cannot decide whether %s relays for untrusted clients", l.Key)
		if a.Reason != "" {
			msg += ": " + a.Reason
		}
		msg += "; it is not assumed safe (run the live probe, or put reject_unauth_destination before what cannot be evaluated)"
		f := at(Finding{Service: l.Key, Parameter: "smtpd_relay_restrictions", Message: msg}, c.pos(rl.Relay))
		if a.Deciding != nil {
			for _, s := range a.Deciding.Decision.Trace {
				if strings.EqualFold(s.Outcome, "unknown") && !s.Pos.IsZero() {
					f = at(f, s.Pos)
					if isParamName(s.List) {
						f.Parameter = s.List
					}
					break
				}
			}
		}
		f.Remediation = c.relayFix(l)
		out = append(out, f)
	}
	return out
}

// ---- mynetworks ----

// mynetScope is a scope whose mynetworks is set, with its parsed entries.
type mynetScope struct {
	netScope
	Entries []netEntry
	// Trusted indexes the entries that can match a client
	// (trustedPrefixes), and CoversAll says whether they cover a whole
	// address family.
	Trusted   []int32
	CoversAll bool
}

// trusted returns the i-th trusted entry.
func (s *mynetScope) trusted(i int32) *netEntry { return &s.Entries[i] }

// mynetworksEntries returns the scopes whose mynetworks is set, with their
// parsed entries (computed once per Context).
func (c *Context) mynetworksEntries() []mynetScope {
	if c.mynetsDone {
		return c.mynets
	}
	var out []mynetScope
	for _, s := range c.netScopes("mynetworks") {
		if !s.P.isSet() {
			continue
		}
		ms := mynetScope{netScope: s, Entries: c.netEntries(s.P.Value, c.pos(s.P))}
		ps := trustedPrefixes(ms.Entries)
		ms.Trusted = make([]int32, 0, len(ps))
		for i, e := range ms.Entries {
			if isTrusted(e) {
				ms.Trusted = append(ms.Trusted, int32(i))
			}
		}
		ms.CoversAll = coversAll(ps)
		out = append(out, ms)
	}
	c.mynets, c.mynetsDone = out, true
	return out
}

// mynetEntriesOf returns the parsed entries of p, a mynetworks value: the
// ones mynetworksEntries keeps when p is one of its scopes.
func (c *Context) mynetEntriesOf(p param) []netEntry {
	for _, s := range c.mynetworksEntries() {
		if s.P.Svc == p.Svc && s.P.Name == p.Name && s.P.Value == p.Value {
			return s.Entries
		}
	}
	return c.netEntries(p.Value, c.pos(p))
}

// isTrusted reports whether an entry can match a client.
func isTrusted(e netEntry) bool { return e.Kind == netPrefix && !e.Neg && !e.HostBits }

// trustedPrefixes are the prefixes of entries that can match a client.
func trustedPrefixes(es []netEntry) []netip.Prefix {
	n := 0
	for _, e := range es {
		if isTrusted(e) {
			n++
		}
	}
	out := make([]netip.Prefix, 0, n)
	for _, e := range es {
		if isTrusted(e) {
			out = append(out, e.Prefix)
		}
	}
	return out
}

// maxEntryFindings bounds the findings one rule reports about the
// entries of one scope: past it, one more finding counts the rest. A
// mynetworks of a million bad entries is one problem, not a million rows,
// and the report must stay bounded.
const maxEntryFindings = 50

// entryReport collects a rule's findings about the entries of one scope:
// an entry written several times is reported once, and past
// maxEntryFindings the rest are counted.
type entryReport struct {
	c     *Context
	s     netScope
	out   []Finding
	seen  map[string]bool
	more  int
	first netEntry // the first entry not reported on its own
}

func (c *Context) entryReport(s netScope) *entryReport {
	return &entryReport{c: c, s: s, seen: map[string]bool{}}
}

func (r *entryReport) add(e netEntry, msg func() string) {
	k := e.Text + "\x00" + e.Pos.String()
	if r.seen[k] {
		return
	}
	if len(r.out) >= maxEntryFindings {
		if r.more == 0 {
			r.first = e
		}
		r.more++
		return
	}
	r.seen[k] = true
	r.out = append(r.out, r.c.entryFinding(r.s, e, msg()))
}

// findings returns the findings, the count of the rest last.
func (r *entryReport) findings() []Finding {
	if r.more == 0 {
		return r.out
	}
	msg := fmt.Sprintf("%d more %s entries (%s) have the same problem, the first of them %s", r.more, r.s.P.Name, scopeName(r.s.Key), r.first.Text)
	return append(r.out, r.c.entryFinding(r.s, r.first, msg))
}

// entryFinding builds a finding about one mynetworks entry: located at the
// file line for entries read from a /file, with the cleaned value as fix.
func (c *Context) entryFinding(s netScope, e netEntry, msg string) Finding {
	f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, e.Pos)
	if e.File() != "" {
		f.Message += fmt.Sprintf(" (from %s; edit that file)", e.File())
		return f
	}
	f.Remediation = c.mynetworksFix(s.P)
	return f
}

func scopeName(key string) string {
	if key == "" {
		return "main.cf"
	}
	return key
}

func checkMynetworksEveryone(c *Context) []Finding {
	var out []Finding
	for _, s := range c.mynetworksEntries() {
		if s.Loopback {
			continue
		}
		var ps []string
		for _, i := range s.Trusted {
			if e := s.trusted(i); classify(e.Prefix) == bEveryone {
				ps = append(ps, e.Text)
			}
		}
		if len(ps) == 0 && s.CoversAll {
			for _, i := range s.Trusted {
				if e := s.trusted(i); classify(e.Prefix) != bOK {
					ps = append(ps, e.Text)
				}
			}
		}
		if len(ps) == 0 {
			continue
		}
		msg := fmt.Sprintf("mynetworks (%s) trusts every client on the Internet through %s: permit_mynetworks lets anyone relay", scopeName(s.Key), strings.Join(ps, " "))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = c.mynetworksFix(s.P)
		out = append(out, f)
	}
	return out
}

// breadthFindings reports the trusted entries of one breadth class, in
// scopes that do not already trust everyone (PFA-RELAY-005 covers those).
func (c *Context) breadthFindings(want breadth, describe func(netEntry) string) []Finding {
	var out []Finding
	for _, s := range c.mynetworksEntries() {
		if s.Loopback || s.CoversAll {
			continue
		}
		r := c.entryReport(s.netScope)
		for _, i := range s.Trusted {
			if e := s.trusted(i); classify(e.Prefix) == want {
				r.add(*e, func() string { return describe(*e) })
			}
		}
		out = append(out, r.findings()...)
	}
	return out
}

func checkMynetworksPublicBroad(c *Context) []Finding {
	return c.breadthFindings(bPublicBroad, func(e netEntry) string {
		return fmt.Sprintf("mynetworks entry %s trusts %s public addresses (shorter than /24 for IPv4 or /48 for IPv6): every client in that range may relay", e.Text, sizeOf(e.Prefix))
	})
}

func checkMynetworksPrivateWide(c *Context) []Finding {
	return c.breadthFindings(bPrivateWide, func(e netEntry) string {
		msg := fmt.Sprintf("mynetworks entry %s trusts a whole private range (%s addresses)", e.Text, sizeOf(e.Prefix))
		if e.Prefix.Overlaps(dockerPool) {
			msg += "; it includes Docker's default bridge networks (172.17.0.0/16 and up): with docker-proxy or NAT every Internet client arrives from the bridge gateway and is trusted"
		} else {
			msg += "; behind NAT, a load balancer or a container gateway, Internet clients can arrive from such addresses and be trusted"
		}
		return msg + ". List only the subnets your own clients use"
	})
}

func checkMynetworksMistyped(c *Context) []Finding {
	return c.breadthFindings(bMistyped, func(e netEntry) string {
		var meant string
		for _, b := range privateBlocks {
			if within(b, e.Prefix) {
				meant = b.String()
				break
			}
		}
		return fmt.Sprintf("mynetworks entry %s looks like a mistyped private range: it covers %s (%s addresses), most of them public Internet addresses that may now relay; the private block inside it is %s", e.Text, e.Prefix, sizeOf(e.Prefix), meant)
	})
}

func checkMynetworksMalformed(c *Context) []Finding {
	var out []Finding
	for _, s := range c.mynetworksEntries() {
		r := c.entryReport(s.netScope)
		for _, e := range s.Entries {
			var msg string
			switch {
			case e.Kind == netPrefix && e.HostBits:
				msg = fmt.Sprintf("mynetworks entry %s has host bits set beyond the /%d mask: smtpd logs \"non-null host address bits ... perhaps you should use %s\", and every RCPT from a client that no earlier entry matched fails with 451 4.3.0 Temporary lookup failure, mail to this host's own domains included", e.Text, e.Prefix.Bits(), formatPrefix(e.Prefix))
			case e.Kind == netBad:
				msg = fmt.Sprintf("mynetworks entry %s is not a valid address or net/mask (%s): every RCPT from a client that no earlier entry matched fails with 451 4.3.0 Temporary lookup failure", e.Text, e.Why)
			default:
				continue
			}
			r.add(e, func() string { return msg })
		}
		out = append(out, r.findings()...)
	}
	return out
}

func checkMynetworksUnbracketed(c *Context) []Finding {
	var out []Finding
	for _, s := range c.mynetworksEntries() {
		r := c.entryReport(s.netScope)
		for _, e := range s.Entries {
			if e.Kind != netUnbracketed {
				continue
			}
			msg := fmt.Sprintf("mynetworks entry %s is an IPv6 address without brackets: Postfix reads it as a type:table name (postconf(5) mynetworks: write %s), and smtpd exits on every connection with \"fatal: open dictionary: expecting \\\"type:name\\\" form instead of \\\"%s\\\"\" while master throttles the service: no mail is received", e.Text, formatPrefix(e.Prefix), e.Text)
			r.add(e, func() string { return msg })
		}
		out = append(out, r.findings()...)
	}
	return out
}

func checkMynetworksStyle(c *Context) []Finding {
	p := c.param(nil, "mynetworks")
	if p.isSet() {
		return nil
	}
	sp := c.param(nil, "mynetworks_style")
	style := strings.ToLower(strings.TrimSpace(sp.Value))
	if style != "subnet" && style != "class" {
		return nil
	}
	what := "every client on the subnets of this host's interfaces"
	if style == "class" {
		what = "every client in the whole class A/B/C networks of this host's interfaces"
	}
	why := "mynetworks_style = " + style
	if !sp.isSet() {
		lvl := c.value(nil, "compatibility_level")
		why += fmt.Sprintf(" (the default below compatibility_level 2; it is %s)", lvl)
	}
	msg := fmt.Sprintf("mynetworks is not set and %s, so Postfix trusts %s: on a hosting or cloud network that includes other customers' machines", why, what)
	f := at(Finding{Parameter: "mynetworks", Message: msg}, c.pos(sp))
	f.Remediation = c.mynetworksFix(p)
	return []Finding{f}
}

// ---- restriction lists ----

func checkEmptyRelayRestrictions(c *Context) []Finding {
	var out []Finding
	for _, l := range c.listeners() {
		rl := c.relayLists(l)
		if strings.TrimSpace(rl.Relay.Value) != "" || rl.Relay.Svc != nil {
			continue
		}
		why := "set empty in main.cf"
		if !rl.Relay.isSet() {
			why = fmt.Sprintf("empty by default at compatibility_level %s (below 1)", c.value(nil, "compatibility_level"))
		}
		msg := fmt.Sprintf("smtpd_relay_restrictions is %s: relay protection rests on smtpd_recipient_restrictions alone, where any permit placed before reject_unauth_destination opens the relay (the safety net added in Postfix 2.10 is off)", why)
		f := at(Finding{Parameter: "smtpd_relay_restrictions", Message: msg}, c.pos(rl.Relay))
		f.Remediation = c.relayFix(l)
		out = append(out, f)
	}
	return out
}

// riskyFindings reports the restrictions selected by match that decide
// relay for untrusted clients on some listener.
func (c *Context) riskyFindings(match func(s *listScope, r restriction) bool, explain func(r listedRestriction) string) []Finding {
	var out []Finding
	for _, l := range c.listeners() {
		rl := c.relayLists(l)
		key := ""
		if rl.Relay.Svc != nil || rl.Rcpt.Svc != nil {
			key = l.Key
		}
		other := map[string]string{"smtpd_relay_restrictions": "smtpd_recipient_restrictions", "smtpd_recipient_restrictions": "smtpd_relay_restrictions"}
		for _, r := range rl.exposedRisky() {
			if !match(rl.scope, r.restriction) {
				continue
			}
			msg := fmt.Sprintf("%s (position %d of %s) comes before the relay guard, and %s does not refuse relaying either: %s",
				r.Text(), r.Index, r.List.Name, other[r.List.Name], explain(r))
			if key != "" {
				msg = key + ": " + msg
			}
			f := at(Finding{Service: key, Parameter: r.List.Name, Message: msg}, c.pos(r.List))
			f.Remediation = c.relayFix(l)
			out = append(out, f)
		}
	}
	return out
}

func checkAccessMapBeforeGuard(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		return accessMap(r.Key) || r.Table || r.Key == "permit_naked_ip_address" || r.Key == "permit_dnswl_client" || r.Key == "permit_rhswl_client"
	}, func(r listedRestriction) string {
		switch {
		case r.Table:
			return "a bare table in this list is check_recipient_access on it (smtpd_check.c): an OK or PERMIT result for a recipient address or domain lets anyone relay to it"
		case strings.HasPrefix(r.Key, "check_sender") || strings.HasPrefix(r.Key, "check_helo"):
			return "the client chooses the key it is looked up with, so an OK or PERMIT result for any sender or HELO name lets anyone relay by sending it"
		case r.Key == "permit_naked_ip_address":
			return "any client that says HELO with an IP address may relay"
		case r.Key == "permit_dnswl_client" || r.Key == "permit_rhswl_client":
			return "every client a third-party DNS allowlist lists may relay"
		}
		return "an OK or PERMIT result in that table lets the matching client relay to any destination"
	})
}

func checkClassBeforeGuard(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		return s.isClass(r.Name) && !riskyPermits[r.Key] && !accessMap(r.Key)
	}, func(r listedRestriction) string {
		return "the restriction class can end in a permit (a permit inside it, or an access table result) that lets an untrusted client relay"
	})
}

func checkPolicyBeforeGuard(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		return r.Key == "check_policy_service"
	}, func(r listedRestriction) string {
		return "whenever the policy server answers OK or PERMIT (greylisting and quota servers do for clients they know), the client may relay"
	})
}

func checkMXBackup(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		if r.Key != "permit_mx_backup" {
			return false
		}
		return strings.TrimSpace(s.c.value(s.svc, "permit_mx_backup_networks")) == ""
	}, func(r listedRestriction) string {
		return "with permit_mx_backup_networks empty, anyone who publishes an MX record naming this host may relay through it to their domain; list the domains you back up in relay_domains instead (permit_mx_backup is deprecated since Postfix 3.9)"
	})
}

func checkAllClientCerts(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		return r.Key == "permit_tls_all_clientcerts" && (s.c.isYes(s.svc, "tls_append_default_CA") || systemCAStore(s.c, s.svc))
	}, func(r listedRestriction) string {
		return "the trusted CAs include the system's public CA bundle (tls_append_default_CA = yes, or smtpd_tls_CAfile/CApath pointing at it), so any client with a certificate from a public CA may relay"
	})
}

// systemCAStore reports whether smtpd trusts the operating system's bundle
// of public CAs for client certificates.
func systemCAStore(c *Context, svc *postconf.Service) bool {
	for _, n := range []string{"smtpd_tls_CAfile", "smtpd_tls_CApath"} {
		v := c.value(svc, n)
		if v == "/etc/ssl/certs" || strings.Contains(v, "ca-certificates") || strings.Contains(v, "ca-bundle") {
			return true
		}
	}
	return false
}

func checkInetInterfacesPermit(c *Context) []Finding {
	return c.riskyFindings(func(s *listScope, r restriction) bool {
		return r.Key == "permit_inet_interfaces"
	}, func(r listedRestriction) string {
		return "a client connecting from any of this host's own addresses may relay, which behind NAT, a proxy or a container port mapping includes Internet clients"
	})
}

// ---- relay-widening settings ----

func checkUntrustedRouting(c *Context) []Finding {
	var out []Finding
	for _, s := range c.netScopes("allow_untrusted_routing") {
		if strings.ToLower(strings.TrimSpace(s.P.Value)) != "yes" {
			continue
		}
		msg := fmt.Sprintf("allow_untrusted_routing = yes (%s): a sender-routed recipient such as user%%remote@relayed-domain or user@remote@relayed-domain from an untrusted client passes the relay check, and the next hop may forward it anywhere", scopeName(s.Key))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		if cs := c.routedRelay(s.Key); cs != nil {
			f.Message += "; the relay model has one: " + describeCase(*cs)
		} else {
			// Routed addresses at this host's own domains resolve
			// locally (resolve.c): with no relay_domains destination to
			// hand them to, nothing leaves today.
			f.Message += "; today no routed recipient from an untrusted client leaves this host (no relay_domains destination accepts one), so this is a latent risk that a later relay_domains entry would open"
			f.Severity, f.severitySet = Low, true
		}
		f.Remediation = c.unset(s.P)
		out = append(out, f)
	}
	return out
}

// routedRelay is an accepted relay attempt of an untrusted client whose
// recipient is sender-routed and leaves for a third party, on a listener in
// scope key ("" = main.cf: any listener that takes main.cf's value).
func (c *Context) routedRelay(key string) *relay.Case {
	for _, a := range c.Analyses {
		if a == nil || (key != "" && a.Listener.Key != key) {
			continue
		}
		for i := range a.Cases {
			cs := &a.Cases[i]
			if cs.Client.Trusted || cs.Decision.Result != relay.Accept || cs.Destination != relay.ThirdParty {
				continue
			}
			if strings.Contains(cs.Resolved, "routed") {
				return cs
			}
		}
	}
	return nil
}

// relayDomainsEverything returns the elements of a relay_domains value
// that match every domain.
func (c *Context) relayDomainsEverything(v string) []string {
	var out []string
	for _, t := range splitList(v) {
		lt := strings.ToLower(t)
		switch {
		case strings.HasPrefix(lt, "static:"):
			out = append(out, t)
		case strings.HasPrefix(lt, "regexp:") || strings.HasPrefix(lt, "pcre:"):
			_, spec, _ := strings.Cut(t, ":")
			if strings.HasPrefix(spec, "{") {
				if matchAllPattern(strings.Trim(spec, "{} ")) {
					out = append(out, t)
				}
			} else if data, err := c.readSmall(spec); err == nil {
				for _, line := range strings.Split(data, "\n") {
					if matchAllPattern(strings.TrimSpace(line)) {
						out = append(out, t)
						break
					}
				}
			}
		}
	}
	return out
}

// matchAllPattern recognises regexp/pcre table lines whose pattern matches
// any string and whose result is not a refusal.
func matchAllPattern(line string) bool {
	for _, p := range []string{"/.*/", "/./", "/^/", "/.+/", "/^.*$/", "/^.+$/", "/$/", "/^.*/", "/.*$/"} {
		if strings.HasPrefix(line, p) {
			rest := strings.ToUpper(strings.TrimSpace(strings.TrimPrefix(line, p)))
			return !strings.HasPrefix(rest, "REJECT") && !strings.HasPrefix(rest, "DEFER") && !strings.HasPrefix(rest, "5") && !strings.HasPrefix(rest, "4")
		}
	}
	return false
}

// readSmall reads a table file the configuration names, bounded and
// only when it is a regular file (regexp:/dev/zero must not exhaust
// memory).
func (c *Context) readSmall(name string) (string, error) {
	files := c.files()
	files.MaxFileSize = maxNetFileSize
	b, err := table.ReadFile(name, files)
	return string(b), err
}

func (c *Context) relayDomainsFix(p param) string {
	bad := c.relayDomainsEverything(p.Value)
	var keep []string
	for _, t := range splitList(p.Value) {
		drop := false
		for _, b := range bad {
			if t == b {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, t)
		}
	}
	if p.Svc != nil {
		return c.svcSet(p.Svc, p.Name, strings.Join(keep, ","))
	}
	return c.mainSet(p.Name, strings.Join(keep, ", "))
}

func checkRelayDomainsEverything(c *Context) []Finding {
	var out []Finding
	for _, s := range c.netScopes("relay_domains") {
		bad := c.relayDomainsEverything(s.P.Value)
		if len(bad) == 0 {
			continue
		}
		msg := fmt.Sprintf("relay_domains (%s) contains %s, which matches every domain: reject_unauth_destination then permits every recipient, and this host relays for anyone", scopeName(s.Key), strings.Join(bad, " "))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = []string{c.relayDomainsFix(s.P)}
		out = append(out, f)
	}
	return out
}

// broadHosts returns the elements of a host list (XCLIENT, XFORWARD) that
// trust more than single, named addresses.
func broadHosts(es []netEntry) []netEntry {
	var out []netEntry
	for _, e := range es {
		if e.Neg {
			continue
		}
		switch e.Kind {
		case netPrefix:
			p := norm(e.Prefix)
			if within(p, loopback4) || within(p, loopback6) || p.Bits() == p.Addr().BitLen() {
				continue
			}
			out = append(out, e)
		case netHostname, netTable, netComment:
			out = append(out, e)
		}
	}
	return out
}

// keptHosts are the elements of a host list that are not broad.
func keptHosts(es []netEntry) []string {
	bad := map[string]bool{}
	for _, e := range broadHosts(es) {
		bad[e.Text] = true
	}
	var keep []string
	for _, e := range es {
		if e.File() != "" || bad[e.Text] || e.Kind == netComment {
			continue
		}
		if e.Kind == netUnbracketed {
			keep = append(keep, formatPrefix(e.Prefix))
			continue
		}
		keep = append(keep, e.Text)
	}
	return keep
}

// hostListFix keeps loopback and single addresses, and removes the setting
// when nothing is left.
func (c *Context) hostListFix(p param, es []netEntry) []string {
	keep := keptHosts(es)
	if len(keep) == 0 {
		if p.Svc != nil || p.Raw.Source == postconf.SourceMainCF {
			return c.unset(p)
		}
		return nil
	}
	return []string{c.set(p, strings.Join(keep, sepFor(p)))}
}

func sepFor(p param) string {
	if p.Svc != nil {
		return ","
	}
	return " "
}

func (c *Context) hostListFindings(name, what string) []Finding {
	var out []Finding
	for _, s := range c.netScopes(name) {
		if s.Loopback {
			continue
		}
		es := c.netEntries(s.P.Value, c.pos(s.P))
		bad := broadHosts(es)
		if len(bad) == 0 {
			continue
		}
		var texts []string
		for _, e := range bad {
			texts = append(texts, e.Text)
		}
		msg := fmt.Sprintf("%s (%s) trusts %s: %s", name, scopeName(s.Key), strings.Join(texts, " "), what)
		f := at(Finding{Service: s.Key, Parameter: name, Message: msg}, c.pos(s.P))
		f.Remediation = c.hostListFix(s.P, es)
		out = append(out, f)
	}
	return out
}

func checkXclientHosts(c *Context) []Finding {
	return c.hostListFindings("smtpd_authorized_xclient_hosts",
		"any client there may send XCLIENT ADDR=... LOGIN=... and be treated as a trusted address or an authenticated user, which bypasses permit_mynetworks and permit_sasl_authenticated; allow XCLIENT only from the specific proxy hosts that need it")
}

func checkXforwardHosts(c *Context) []Finding {
	return c.hostListFindings("smtpd_authorized_xforward_hosts",
		"any client there may rewrite the client name, address and HELO that Postfix logs and passes to content filters and milters; allow XFORWARD only from the content filter's own address")
}

// ---- master.cf overrides ----

func checkWeakeningOverride(c *Context) []Finding {
	var out []Finding
	globalSet := c.param(nil, "mynetworks").isSet()
	var globalNets *prefixSet
	if globalSet {
		globalNets = newPrefixSet(trustedPrefixes(c.mynetEntriesOf(c.param(nil, "mynetworks"))))
	}
	for _, l := range c.listeners() {
		if l.LoopbackOnly {
			continue // only this host can reach it; PFA-RELAY-003 covers exposure
		}
		svc := l.Service
		if p := c.param(svc, "mynetworks"); p.Svc != nil {
			var wider []string
			for _, e := range c.netEntries(p.Value, c.pos(p)) {
				if isTrusted(e) && !coveredBy(e.Prefix, globalNets) {
					wider = append(wider, e.Text)
				}
			}
			if len(wider) > 0 {
				msg := fmt.Sprintf("%s overrides mynetworks with %s, which trusts clients main.cf's mynetworks does not", l.Key, strings.Join(wider, " "))
				f := at(Finding{Service: l.Key, Parameter: "mynetworks", Message: msg}, c.pos(p))
				// The cleaned value when cleaning applies (the same command
				// the mynetworks rules propose), else back to main.cf's.
				if f.Remediation = c.mynetworksFix(p); f.Remediation == nil {
					f.Remediation = c.unset(p)
				}
				out = append(out, f)
			}
		}
		if p := c.param(svc, "mynetworks_style"); p.Svc != nil && !c.param(svc, "mynetworks").isSet() {
			st := strings.ToLower(strings.TrimSpace(p.Value))
			if st == "subnet" || st == "class" {
				msg := fmt.Sprintf("%s overrides mynetworks_style = %s while mynetworks is unset: the listener trusts every client on this host's %s networks", l.Key, st, st)
				f := at(Finding{Service: l.Key, Parameter: "mynetworks_style", Message: msg}, c.pos(p))
				f.Remediation = c.unset(p)
				out = append(out, f)
			}
		}
		if p := c.param(svc, "relay_domains"); p.Svc != nil {
			global := map[string]bool{}
			for _, t := range splitList(c.param(nil, "relay_domains").Value) {
				global[strings.ToLower(t)] = true
			}
			var extra []string
			for _, t := range splitList(p.Value) {
				if !global[strings.ToLower(t)] {
					extra = append(extra, t)
				}
			}
			if len(extra) > 0 {
				msg := fmt.Sprintf("%s overrides relay_domains and adds %s: this listener relays to destinations the rest of the configuration does not", l.Key, strings.Join(extra, " "))
				f := at(Finding{Service: l.Key, Parameter: "relay_domains", Message: msg}, c.pos(p))
				f.Remediation = c.unset(p)
				out = append(out, f)
			}
		}
		rl := c.relayLists(l)
		if (rl.Relay.Svc != nil || rl.Rcpt.Svc != nil) && !rl.Protected() && c.globalProtected() {
			p := rl.Relay
			if p.Svc == nil {
				p = rl.Rcpt
			}
			msg := fmt.Sprintf("%s overrides its restriction lists (smtpd_relay_restrictions = %q, smtpd_recipient_restrictions = %q) and loses the relay protection main.cf's lists give", l.Key, rl.Relay.Value, rl.Rcpt.Value)
			f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, c.pos(p))
			f.Remediation = c.relayFix(l)
			out = append(out, f)
		}
	}
	return out
}

// globalProtected reports whether main.cf's own lists refuse untrusted
// relay.
func (c *Context) globalProtected() bool {
	s := c.scopeFor(nil)
	return s.analyze(parseRestrictions(c.param(nil, "smtpd_relay_restrictions").Value), 0).Protects() ||
		s.analyze(parseRestrictions(c.param(nil, "smtpd_recipient_restrictions").Value), 0).Protects()
}

// coveredBy reports whether p lies inside one of the global entries. An
// unset global mynetworks (style host) covers only loopback offline.
func coveredBy(p netipPrefix, global *prefixSet) bool {
	p = norm(p)
	if within(p, loopback4) || within(p, loopback6) {
		return true
	}
	return global != nil && global.holds(p)
}

// reinjection reports whether an smtpd service is a content filter's
// re-injection listener (FILTER_README: content_filter= cleared, or
// receive_override_options that skip checks already done).
func reinjection(svc *postconf.Service) bool {
	if o, ok := svc.Override("content_filter"); ok && strings.TrimSpace(o.Value) == "" {
		return true
	}
	if o, ok := svc.Override("receive_override_options"); ok {
		v := strings.ToLower(o.Value)
		return strings.Contains(v, "no_unknown_recipient_checks") || strings.Contains(v, "no_header_body_checks")
	}
	return false
}

func checkReinjectionExposed(c *Context) []Finding {
	var out []Finding
	for _, l := range c.listeners() {
		if l.Postscreen || l.LoopbackOnly || !reinjection(l.Service) {
			continue
		}
		host := l.Host
		if host == "" {
			host = "every inet_interfaces address"
		}
		msg := fmt.Sprintf("%s looks like a content filter's re-injection listener (content_filter cleared, checks skipped) but listens on %s: it should accept only the filter on 127.0.0.1", l.Key, host)
		f := at(Finding{Service: l.Key, Message: msg}, l.Front.Pos)
		newName := "127.0.0.1:" + l.Port
		if c.Cfg.Master.Lookup(newName+"/inet") == nil {
			f.Remediation = []string{
				c.postconf() + " -M " + quote(newName+"/inet = "+c.renamedEntry(l.Front, newName)),
				c.postconf() + " -MX " + quote(l.Front.Key()),
			}
		}
		out = append(out, f)
	}
	return out
}

// renamedEntry is svc's master.cf entry under a new name, with the -o
// settings other rules would fix (mynetworks, XCLIENT and XFORWARD hosts)
// already fixed: their postconf -P commands target the old entry, which
// the rename removes.
func (c *Context) renamedEntry(svc *postconf.Service, name string) string {
	cp := *svc
	cp.Name = name
	cp.Args = nil
	for i := 0; i < len(svc.Args); i++ {
		if svc.Args[i] != "-o" || i+1 >= len(svc.Args) {
			cp.Args = append(cp.Args, svc.Args[i])
			continue
		}
		n, v, _ := strings.Cut(svc.Args[i+1], "=")
		i++
		p := c.param(svc, n)
		switch n {
		case "mynetworks":
			if items, ok := c.cleanMynetworks(p); ok {
				v = strings.Join(items, ",")
			}
		case "smtpd_authorized_xclient_hosts", "smtpd_authorized_xforward_hosts":
			es := c.netEntries(p.Value, c.pos(p))
			if len(broadHosts(es)) > 0 {
				v = strings.Join(keptHosts(es), ",")
				if v == "" {
					continue
				}
			}
		}
		cp.Args = append(cp.Args, "-o", n+"="+v)
	}
	return strings.Join(strings.Fields(cp.FormatM()), " ")
}

// restrictionScopes lists every restriction list in effect: main.cf's,
// every listener override, and the restriction classes.
func (c *Context) restrictionScopes() []struct {
	Key string
	P   param
} {
	if c.rscopesDone {
		return c.rscopes
	}
	c.rscopes, c.rscopesDone = c.restrictionScopesUncached(), true
	return c.rscopes
}

func (c *Context) restrictionScopesUncached() []struct {
	Key string
	P   param
} {
	var out []struct {
		Key string
		P   param
	}
	seen := map[string]bool{}
	add := func(key string, p param) {
		k := key + "\x00" + p.Name
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, struct {
			Key string
			P   param
		}{key, p})
	}
	for _, n := range restrictionParams {
		add("", c.param(nil, n))
	}
	for n := range c.scopeFor(nil).classes {
		add("", c.param(nil, n))
	}
	for _, l := range c.listeners() {
		for _, n := range restrictionParams {
			if p := c.param(l.Service, n); p.Svc != nil {
				add(l.Key, p)
			}
		}
		for n := range c.scopeFor(l.Service).classes {
			if p := c.param(l.Service, n); p.Svc != nil {
				add(l.Key, p)
			}
		}
	}
	return out
}

func checkRelayDomainsRestriction(c *Context) []Finding {
	var out []Finding
	for _, s := range c.restrictionScopes() {
		rs := parseRestrictions(s.P.Value)
		found := false
		for _, r := range rs {
			if r.Key == "check_relay_domains" {
				found = true
			}
		}
		if !found {
			continue
		}
		msg := fmt.Sprintf("%s (%s) uses check_relay_domains: it permits any client whose host name matches relay_domains (a name the client's DNS controls) and is removed in Postfix 3.9, where it is a server configuration error; use reject_unauth_destination", s.P.Name, scopeName(s.Key))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		if s.P.Name == "smtpd_relay_restrictions" {
			ls := c.scopeFor(s.P.Svc)
			f.Remediation = c.setList(s.P, ls.safeRelayList(s.P.Value))
		} else {
			var items []string
			for _, r := range rs {
				if r.Key == "check_relay_domains" {
					r.Name, r.Arg = "reject_unauth_destination", ""
				}
				items = append(items, r.Text())
			}
			f.Remediation = c.setList(s.P, items)
		}
		out = append(out, f)
	}
	return out
}

func checkDeferOnlyGuard(c *Context) []Finding {
	var out []Finding
	for _, l := range c.listeners() {
		if l.LoopbackOnly {
			continue
		}
		rl := c.relayLists(l)
		if !rl.Protected() {
			continue
		}
		deferOnly := true
		var guardList param
		for _, x := range []struct {
			a listAnalysis
			p param
		}{{rl.RelayA, rl.Relay}, {rl.RcptA, rl.Rcpt}} {
			if !x.a.Protects() {
				continue
			}
			if x.a.Guard.Key != "defer_unauth_destination" {
				deferOnly = false
			} else if guardList.Name == "" {
				guardList = x.p
			}
		}
		if !deferOnly {
			continue
		}
		key := ""
		if guardList.Svc != nil {
			key = l.Key
		}
		msg := fmt.Sprintf("the only relay guard is defer_unauth_destination in %s (%s): relay attempts get 454 4.7.1, a temporary error that spam senders retry and that hides the refusal from tests; reject_unauth_destination answers 554 5.7.1", guardList.Name, scopeName(key))
		f := at(Finding{Service: key, Parameter: guardList.Name, Message: msg}, c.pos(guardList))
		f.Remediation = c.relayFix(l)
		out = append(out, f)
	}
	return out
}

// sizeOf describes how many addresses a prefix holds.
func sizeOf(p netipPrefix) string {
	host := p.Addr().BitLen() - p.Bits()
	switch {
	case host >= 64:
		return fmt.Sprintf("2^%d", host)
	case host > 24:
		return fmt.Sprintf("%d million", (uint64(1)<<host)/1000000)
	}
	return fmt.Sprintf("%d", uint64(1)<<host)
}
