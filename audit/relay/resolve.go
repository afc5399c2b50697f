package relay

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

type addrClass int

const (
	classDefault addrClass = iota // remote: relay
	classLocal                    // mydestination, inet_interfaces/proxy_interfaces literals
	classVirtual                  // virtual_alias_domains, virtual_mailbox_domains
	classRelay                    // relay_domains
)

func (c addrClass) String() string {
	switch c {
	case classLocal:
		return "local"
	case classVirtual:
		return "virtual"
	case classRelay:
		return "relay"
	}
	return "default"
}

type resolution struct {
	class  addrClass
	addr   string // the resolved address, local@domain
	domain string
	// routed is trivial-rewrite's RESOLVE_FLAG_ROUTED: the resolved local
	// part still holds @, ! or %.
	routed bool
	// unknown says why the class cannot be decided offline (a table
	// pfaudit cannot read); "" when it can.
	unknown string
}

// resolve follows trivial-rewrite's resolve_addr() (resolve.c): the source
// route is stripped by smtpd; then, while the domain is local
// (mydestination, inet_interfaces, proxy_interfaces), the local domain is
// stripped and a local part holding "@", "!" (swap_bangpath) or "%"
// (allow_percent_hack) is rewritten to user@domain and resolved again; a
// quoted local part is cracked open the same way when
// resolve_dequoted_address = yes. An address left without a domain gets the
// last stripped local domain back, or $myhostname.
//
// The result is flagged routed when its local part still holds "@", "!" or
// "%", whatever swap_bangpath and allow_percent_hack say and whatever the
// class: resolve.c notes that the next hop may honour those operators, so
// permit_auth_destination refuses to vouch for such an address unless
// allow_untrusted_routing = yes.
func (m *Model) resolve(addr string) resolution {
	// Every client class sends the same recipients, and each request asks
	// several times (the guard, permit_mx_backup, the destination): the
	// answer depends on the address and the address scope only (the
	// scope's key). The assumptions the answer rests on are recorded
	// again: the model notes each once, so a model gets them at its first
	// resolve of the address, as if it had computed the answer.
	return m.resolveShared(addr).res
}

// resolveShared is resolve's entry for addr in the scope, made when
// missing. The entry also holds the resolution's description for
// destination: every resolved recipient is a case's, and a second map
// for destination's answers cost a lookup and its room in every scope.
func (m *Model) resolveShared(addr string) sharedResolution {
	if sr, ok := m.scope.resolved[addr]; ok {
		for _, a := range sr.assumed {
			m.assume(a)
		}
		return sr
	}
	var r resolution
	assumed := m.capture(func() { r = m.resolveUncached(addr) })
	sr := sharedResolution{res: r, assumed: assumed, desc: r.describe()}
	m.scope.resolved[addr] = sr
	return sr
}

func (m *Model) resolveUncached(addr string) resolution {
	a := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">"))
	if strings.HasPrefix(a, "@") {
		if i := strings.IndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
	}
	dequote := m.yes("resolve_dequoted_address")
	percent := m.yes("allow_percent_hack")
	bang := m.yes("swap_bangpath")
	saved := "" // the last local domain stripped
	final := ""
	for iter := 0; ; iter++ {
		if iter > len(addr)+100 {
			return resolution{unknown: "address rewriting does not settle"}
		}
		local, domain, hasAt := splitAddress(a, dequote)
		if hasAt && domain == "" {
			// A trailing "@" is stripped (resolve.c).
			a = local
			continue
		}
		if hasAt {
			domain = strings.ToLower(strings.TrimSuffix(domain, "."))
			isLocal, unknown := m.isLocalDomain(domain)
			if unknown != "" {
				return resolution{domain: domain, unknown: unknown}
			}
			if !isLocal {
				final = local + "@" + domain
				break
			}
			saved = domain
		}
		// The local domain (if any) is stripped: rewrite routing operators
		// (REWRITE_CANON: swap_bangpath, allow_percent_hack, @$myorigin).
		// Operators inside quotes are one token to the resolver; with
		// resolve_dequoted_address = yes splitAddress has removed the
		// quotes already.
		switch {
		case unquotedIndex(local, '@', false) >= 0:
			a = local
			continue
		case bang && unquotedIndex(local, '!', false) >= 0:
			i := unquotedIndex(local, '!', false)
			a = local[i+1:] + "@" + local[:i]
			continue
		case percent && unquotedIndex(local, '%', true) >= 0:
			i := unquotedIndex(local, '%', true)
			a = local[:i] + "@" + local[i+1:]
			continue
		}
		if saved == "" {
			if !hasAt && iter == 0 {
				// smtpd rewrites the address in the "local" context
				// before resolving it (smtpd_resolve.c): an address
				// without a domain gets @$myorigin (append_at_myorigin).
				if o := strings.TrimSpace(m.expand("myorigin")); o != "" {
					a = local + "@" + o
					continue
				}
			}
			saved = strings.ToLower(m.expand("myhostname"))
		}
		final = local + "@" + saved
		return resolution{class: classLocal, addr: final, domain: saved, routed: routedLocal(local)}
	}
	local, domain, _ := splitAddress(final, false)
	res := resolution{addr: final, domain: domain, routed: routedLocal(local)}
	res.class, _, res.unknown = m.remoteClass(domain)
	return res
}

// unquotedIndex is the first (or last) index of c outside double quotes,
// -1 when there is none.
func unquotedIndex(s string, c byte, last bool) int {
	inQ, at := false, -1
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			inQ = !inQ
		case s[i] == c && !inQ:
			if !last {
				return i
			}
			at = i
		}
	}
	return at
}

// routedLocal reports whether a resolved local part holds a routing
// operator (resolve.c: the first of "@!%" is not the domain's "@"). Quotes
// do not hide them: the resolver looks at the unquoted internal form.
func routedLocal(local string) bool {
	return strings.ContainsAny(local, "@!%")
}

// splitAddress splits at the rightmost '@' that is not inside quotes (or
// any '@' when dequoting).
func splitAddress(a string, dequote bool) (local, domain string, ok bool) {
	if dequote {
		a = strings.ReplaceAll(a, `"`, "")
		if i := strings.LastIndexByte(a, '@'); i >= 0 {
			return a[:i], a[i+1:], true
		}
		return a, "", false
	}
	inQ := false
	at := -1
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case '"':
			inQ = !inQ
		case '@':
			if !inQ {
				at = i
			}
		}
	}
	if at < 0 {
		return a, "", false
	}
	return a[:at], a[at+1:], true
}

// isLocalDomain is trivial-rewrite's resolve_local(): the domain matches
// mydestination, or is an address literal of inet_interfaces or
// proxy_interfaces.
func (m *Model) isLocalDomain(domain string) (bool, string) {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := strings.TrimPrefix(strings.Trim(domain, "[]"), "ipv6:")
		if a, err := netip.ParseAddr(lit); err == nil {
			for _, x := range m.ifaceAddrs {
				if x == a.Unmap() {
					return true, ""
				}
			}
			if m.ifaceUnknown {
				// inet_interfaces = all offline: the probe's [IP] is the
				// server's own address, which is local.
				return true, ""
			}
		}
		return false, ""
	}
	r := m.local.MatchDomain(domain)
	switch {
	case r.Fail:
		return false, "mydestination: " + r.Why
	case r.Unknown:
		if reservedDomain(domain) {
			m.assume(assumption("mydestination", r.Why))
			return false, ""
		}
		return false, "mydestination: " + r.Why
	}
	return r.Matched, ""
}

// remoteClass is the class of a domain that is not local: virtual alias,
// virtual mailbox, relay_domains, or default (resolve.c, in that order),
// with the parameter that matched. A table pfaudit cannot read (mysql:,
// ldap:, ...) leaves the class unknown, except for the reserved test
// domains, which nobody's table lists: the model then assumes no match and
// records the assumption (Model.Assumptions).
func (m *Model) remoteClass(domain string) (cls addrClass, param, unknown string) {
	for _, c := range []struct {
		d   domainMatcher
		cls addrClass
		p   string
	}{{m.virtA, classVirtual, "virtual_alias_domains"}, {m.virtM, classVirtual, "virtual_mailbox_domains"}, {m.relayD, classRelay, "relay_domains"}} {
		r := c.d.MatchDomain(domain)
		switch {
		case r.Fail:
			return classDefault, "", fmt.Sprintf("%s: %s", c.p, r.Why)
		case r.Unknown:
			if !reservedDomain(domain) {
				return classDefault, "", fmt.Sprintf("%s: %s", c.p, r.Why)
			}
			m.assume(assumption(c.p, r.Why))
		case r.Matched:
			return c.cls, c.p, ""
		}
	}
	return classDefault, "", ""
}

// domainClass is the class of a recipient domain as such (the test domain
// choice asks it without an address around it), with the parameter that
// put it there.
func (m *Model) domainClass(domain string) (addrClass, string, string) {
	isLocal, unknown := m.isLocalDomain(domain)
	if unknown != "" {
		return classDefault, "", unknown
	}
	if isLocal {
		if strings.HasPrefix(domain, "[") {
			return classLocal, "inet_interfaces", ""
		}
		return classLocal, "mydestination", ""
	}
	return m.remoteClass(domain)
}

// assumption words the assumption about a table pfaudit cannot read.
func assumption(param, why string) string {
	if i := strings.Index(why, " cannot be evaluated offline"); i > 0 {
		why = why[:i]
	}
	return param + ": " + why + " cannot be read offline; the reserved test domains are taken to be absent from it (nobody lists them)"
}

// reservedDomain reports whether d is one of the reserved names pfaudit
// uses for third parties (RFC 2606, RFC 6761), or a subdomain of one.
func reservedDomain(d string) bool {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for _, r := range []string{"example.com", "example.net", "example.org", "example", "test", "invalid"} {
		if d == r || strings.HasSuffix(d, "."+r) {
			return true
		}
	}
	return false
}

// authDestination implements reject_unauth_destination,
// defer_unauth_destination, permit_auth_destination and the legacy
// check_relay_domains (smtpd_check.c permit_auth_destination()).
func (m *Model) authDestination(st *state, list string, idx int, r restriction, pos diag.Pos) outcome {
	rcpt := st.rcpt()
	res := m.resolve(rcpt)
	untrusted := m.yes("allow_untrusted_routing")
	// permit_auth_destination looks at the routed flag before the class
	// (smtpd_check.c): a routed address is refused whatever its class.
	if res.unknown != "" && !(res.routed && !untrusted) {
		m.step(st, list, idx, r, "unknown", res.unknown, pos)
		st.why = list + ": " + r.Text + ": " + res.unknown
		return oUnknown
	}
	permitted := false
	why := ""
	switch {
	case res.routed && !untrusted:
		why = res.addr + " is sender-routed (its local part holds @, ! or %) and allow_untrusted_routing = no"
	case res.class == classLocal || res.class == classVirtual:
		permitted, why = true, res.domain+" is a local or virtual destination"
	case res.class == classRelay:
		permitted, why = true, res.domain+" matches relay_domains"
	default:
		why = res.domain + " is not a local, virtual or relay_domains destination"
	}
	switch r.Name {
	case "permit_auth_destination":
		if permitted {
			m.step(st, list, idx, r, "permit", why, pos)
			st.why = list + ": permit_auth_destination: " + why
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", why, pos)
		return oDunno
	case "check_relay_domains":
		if permitted {
			m.step(st, list, idx, r, "permit", why, pos)
			st.why = list + ": check_relay_domains: " + why
			return oPermit
		}
	}
	if permitted {
		m.step(st, list, idx, r, "dunno", why, pos)
		return oDunno
	}
	if r.Name == "defer_unauth_destination" {
		m.step(st, list, idx, r, "defer", why, pos)
		m.setReply(st, 454, "4.7.1", "<"+rcpt+">: Relay access denied", list+": defer_unauth_destination: "+why)
		return oDefer
	}
	m.step(st, list, idx, r, "reject", why, pos)
	m.setReply(st, m.intParam("relay_domains_reject_code", 554), "5.7.1", "<"+rcpt+">: Relay access denied", list+": "+r.Name+": "+why)
	return oReject
}
