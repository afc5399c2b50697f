package rules

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
)

// Impersonation: front-end protocols that let the connecting client name
// another client address. With smtpd_upstream_proxy_protocol = haproxy
// smtpd takes the client address from the PROXY header the peer sends
// first (postconf(5) smtpd_upstream_proxy_protocol; postscreen likewise
// with postscreen_upstream_proxy_protocol); with XCLIENT, from the ADDR=
// attribute (XCLIENT_README). Whoever can connect and speak the protocol
// is whoever they claim: 127.0.0.1, a mynetworks address. The relay model
// adds such a client to its untrusted classes ("internet-v4+proxy-
// impersonation", "...+xclient-impersonation", claiming 127.0.0.1).

const (
	proxyClass   = "+proxy-impersonation"
	xclientClass = "+xclient-impersonation"
)

// relayingCase is the first untrusted case of a that the model accepts
// whose client class ends in suffix ("" = one that is no impersonation).
func relayingCase(a *relay.Analysis, suffix string) *relay.Case {
	for i := range a.Cases {
		cs := &a.Cases[i]
		if trustedCase(*cs) || cs.Decision.Result != relay.Accept {
			continue
		}
		cl := cs.Client.Class
		imp := strings.HasSuffix(cl, proxyClass) || strings.HasSuffix(cl, xclientClass)
		if suffix == "" && !imp || suffix != "" && strings.HasSuffix(cl, suffix) {
			return cs
		}
	}
	return nil
}

// proxyParam is the setting that makes l's front end read PROXY headers:
// postscreen's own for a postscreen listener (postscreen hands smtpd the
// address it was told), else smtpd's.
func (c *Context) proxyParam(l relay.Listener) param {
	if l.Postscreen {
		if p := c.param(l.Front, "postscreen_upstream_proxy_protocol"); strings.TrimSpace(p.Value) != "" {
			return p
		}
	}
	return c.param(l.Service, "smtpd_upstream_proxy_protocol")
}

// proxyFix drops the PROXY protocol from l: the setting is removed where it
// is made (the listener's -o, or main.cf). Binding the listener to the
// address only the proxy reaches is the better fix, but pfaudit cannot know
// that address; the finding says so.
func (c *Context) proxyFix(l relay.Listener) []string {
	p := c.proxyParam(l)
	if strings.TrimSpace(p.Value) == "" {
		return nil
	}
	if !p.isSet() {
		return nil
	}
	return c.unset(p)
}

// xclientFix narrows smtpd_authorized_xclient_hosts to loopback and single
// addresses (PFA-RELAY-021's fix) in l's scope.
func (c *Context) xclientFix(l relay.Listener) []string {
	p := c.param(l.Service, "smtpd_authorized_xclient_hosts")
	return c.hostListFix(p, c.netEntries(p.Value, c.pos(p)))
}

// impersonationFix is the part of an open relay's fix that closes the
// impersonation paths the model found on a.
func (c *Context) impersonationFix(a *relay.Analysis) []string {
	var cmds []string
	if relayingCase(a, proxyClass) != nil {
		cmds = append(cmds, c.proxyFix(a.Listener)...)
	}
	if relayingCase(a, xclientClass) != nil {
		cmds = append(cmds, c.xclientFix(a.Listener)...)
	}
	return cmds
}

func checkProxyImpersonation(c *Context) []Finding {
	var out []Finding
	for _, a := range c.Analyses {
		if a == nil || a.Listener.LoopbackOnly {
			continue
		}
		cs := relayingCase(a, proxyClass)
		if cs == nil {
			continue
		}
		l := a.Listener
		p := c.proxyParam(l)
		where := scopeName(scope(l, p))
		if !p.isSet() {
			where = "the default"
		}
		msg := fmt.Sprintf("%s takes the PROXY protocol (%s = %s, %s) from any client that can connect: smtpd uses the client address the PROXY header names, so a client that sends \"PROXY TCP4 %s ...\" is treated as %s and relays (%s). "+
			"Only the proxy may reach this port: bind the listener to the address the proxy connects to (name the master.cf entry host:port), or let a firewall admit only the proxy. "+
			"The command below drops the PROXY protocol instead, which closes the relay but breaks mail through the proxy, and makes every proxied client appear with the proxy's address: never list that address in mynetworks",
			l.Key, p.Name, strings.TrimSpace(p.Value), where, cs.Client.Addr, cs.Client.Addr, describeCase(*cs))
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, c.pos(p))
		if !p.isSet() {
			f = at(f, l.Front.Pos)
		}
		f.Remediation = c.proxyFix(l)
		out = append(out, f)
	}
	return out
}

// relayFixFor is the fix of an open (or would-be open) verdict: the
// impersonation paths the model found closed where the protocol is
// allowed, and any other untrusted path closed by openRelayFix (the
// relay guard, mynetworks). A guard alone cannot close an impersonation:
// the impersonator is, to smtpd, a trusted client.
func (c *Context) relayFixFor(a *relay.Analysis) []string {
	imp := c.impersonationFix(a)
	other := relayingCase(a, "")
	if other == nil && len(imp) > 0 {
		return imp
	}
	step := permitStep(a.Deciding)
	if other != nil && a.Deciding != nil && a.Deciding.Client.Class != other.Client.Class {
		step = permitStep(other)
	}
	return append(c.openRelayFix(a.Listener, step), imp...)
}
