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

type resolution struct {
	class   addrClass
	addr    string // the resolved address, local@domain
	domain  string
	routed  bool // sender-specified routing left in the local part
	unknown string
}

// resolve follows trivial-rewrite's resolve(): the source route is stripped,
// quotes are looked through when resolve_dequoted_address = yes, an address
// without a domain is rewritten (swap_bangpath, allow_percent_hack,
// @$myorigin), and while the domain is local and the local part still holds
// @, % or ! (ADDRESS_REWRITING_README), the local domain is stripped and the
// address marked as sender-routed.
func (m *Model) resolve(addr string) resolution {
	a := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(addr), "<"), ">"))
	if strings.HasPrefix(a, "@") {
		if i := strings.IndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
	}
	dequote := m.yes("resolve_dequoted_address")
	percent := m.yes("allow_percent_hack")
	bang := m.yes("swap_bangpath")
	routed := false
	for iter := 0; iter < 16; iter++ {
		local, domain, hasAt := splitAddress(a, dequote)
		if !hasAt {
			switch {
			case bang && strings.Contains(local, "!"):
				i := strings.IndexByte(local, '!')
				a = local[i+1:] + "@" + local[:i]
			case percent && strings.Contains(local, "%"):
				i := strings.LastIndexByte(local, '%')
				a = local[:i] + "@" + local[i+1:]
			default:
				a = local + "@" + m.expand("myorigin")
			}
			continue
		}
		if domain == "" {
			// A trailing "@" is stripped like a local domain and the rest
			// resolved (observed on Postfix 3.7 with either value of
			// resolve_null_domain; resolve.c).
			a = local
			continue
		}
		domain = strings.ToLower(strings.TrimSuffix(domain, "."))
		cls, unknown := m.domainClass(domain)
		if unknown != "" {
			return resolution{domain: domain, unknown: unknown, routed: routed}
		}
		// A local domain is stripped and what the local part routes to is
		// resolved in turn; only routing operators left in the local part
		// of the final, non-local address mark it sender-routed
		// (resolve.c RESOLVE_FLAG_ROUTED).
		if cls == classLocal {
			switch {
			case strings.Contains(local, "@"):
				a = local
				continue
			case percent && strings.Contains(local, "%"):
				i := strings.LastIndexByte(local, '%')
				a = local[:i] + "@" + local[i+1:]
				continue
			case bang && strings.Contains(local, "!"):
				i := strings.IndexByte(local, '!')
				a = local[i+1:] + "@" + local[:i]
				continue
			}
		}
		if cls != classLocal && strings.ContainsAny(local, "@%!") {
			routed = true
		}
		return resolution{class: cls, addr: local + "@" + domain, domain: domain, routed: routed}
	}
	return resolution{unknown: "address rewriting does not settle"}
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

func (m *Model) domainClass(domain string) (addrClass, string) {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := strings.TrimPrefix(strings.Trim(domain, "[]"), "ipv6:")
		if a, err := netip.ParseAddr(lit); err == nil {
			for _, x := range m.ifaceAddrs {
				if x == a.Unmap() {
					return classLocal, ""
				}
			}
			if m.ifaceUnknown {
				// inet_interfaces = all offline: the probe's [IP] is the
				// server's own address, which is local.
				return classLocal, ""
			}
		}
		return classDefault, ""
	}
	for _, c := range []struct {
		d   domainMatcher
		cls addrClass
		p   string
	}{{m.local, classLocal, "mydestination"}, {m.virtA, classVirtual, "virtual_alias_domains"}, {m.virtM, classVirtual, "virtual_mailbox_domains"}, {m.relayD, classRelay, "relay_domains"}} {
		ok, unknown, why := c.d.MatchDomain(domain)
		if unknown {
			return classDefault, fmt.Sprintf("%s: %s", c.p, why)
		}
		if ok {
			return c.cls, ""
		}
	}
	return classDefault, ""
}

// authDestination implements reject_unauth_destination,
// defer_unauth_destination, permit_auth_destination and the legacy
// check_relay_domains (smtpd_check.c permit_auth_destination()).
func (m *Model) authDestination(st *state, list string, idx int, r restriction, pos diag.Pos) outcome {
	req := st.req
	res := m.resolve(req.Recipient)
	if res.unknown != "" {
		m.step(st, list, idx, r, "unknown", res.unknown, pos)
		st.why = fmt.Sprintf("%s: %s: %s", list, r.Text, res.unknown)
		return oUnknown
	}
	untrusted := m.yes("allow_untrusted_routing")
	permitted := false
	why := ""
	switch {
	case res.routed && !untrusted:
		why = "sender-specified routing in the address (allow_untrusted_routing = no)"
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
			st.why = fmt.Sprintf("%s: permit_auth_destination: %s", list, why)
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", why, pos)
		return oDunno
	case "check_relay_domains":
		if permitted {
			m.step(st, list, idx, r, "permit", why, pos)
			st.why = fmt.Sprintf("%s: check_relay_domains: %s", list, why)
			return oPermit
		}
	}
	if permitted {
		m.step(st, list, idx, r, "dunno", why, pos)
		return oDunno
	}
	if r.Name == "defer_unauth_destination" {
		m.step(st, list, idx, r, "defer", why, pos)
		m.setReply(st, 454, "4.7.1", "<"+req.Recipient+">: Relay access denied", fmt.Sprintf("%s: defer_unauth_destination: %s", list, why))
		return oDefer
	}
	m.step(st, list, idx, r, "reject", why, pos)
	m.setReply(st, m.intParam("relay_domains_reject_code", 554), "5.7.1", "<"+req.Recipient+">: Relay access denied", fmt.Sprintf("%s: %s: %s", list, r.Name, why))
	return oReject
}
