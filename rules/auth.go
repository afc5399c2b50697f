package rules

import (
	"fmt"
	"path"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
)

// Auth family: SASL and TLS on the listeners (SASL_README, TLS_README,
// postconf(5) smtpd_sasl_*, smtpd_tls_*, smtpd_sender_login_maps).

// saslListeners are the exposed listeners that offer AUTH.
func (c *Context) saslListeners() []relay.Listener {
	var out []relay.Listener
	for _, l := range c.exposedListeners() {
		if c.isYes(l.Service, "smtpd_sasl_auth_enable") {
			out = append(out, l)
		}
	}
	return out
}

// tlsBeforeAuth reports whether AUTH can only happen inside TLS anyway:
// implicit TLS, or mandatory STARTTLS (smtpd then refuses AUTH before it).
func (c *Context) tlsBeforeAuth(l relay.Listener) bool {
	if c.isYes(l.Service, "smtpd_tls_wrappermode") {
		return true
	}
	switch c.tlsLevel(l.Service) {
	case "encrypt", "verify", "secure", "dane", "dane-only", "fingerprint":
		return true
	}
	return false
}

// listenerSet writes name for one listener: as its -o when SASL (or the
// setting itself) is specific to it, in main.cf otherwise.
func (c *Context) listenerSet(l relay.Listener, trigger param, name, value string) string {
	if trigger.Svc != nil || c.param(l.Service, name).Svc != nil {
		return c.svcSet(l.Service, name, value)
	}
	return c.mainSet(name, value)
}

func checkTLSAuthOnly(c *Context) []Finding {
	var out []Finding
	for _, l := range c.saslListeners() {
		if c.isYes(l.Service, "smtpd_tls_auth_only") || c.tlsBeforeAuth(l) {
			continue
		}
		sasl := c.param(l.Service, "smtpd_sasl_auth_enable")
		p := c.param(l.Service, "smtpd_tls_auth_only")
		key := ""
		if sasl.Svc != nil || p.Svc != nil {
			key = l.Key
		}
		who := "main.cf's settings offer"
		if key != "" {
			who = l.Key + " offers"
		}
		msg := fmt.Sprintf("%s AUTH before STARTTLS (smtpd_tls_auth_only = %s, TLS level %s): PLAIN and LOGIN passwords can cross the network in clear text", who, strings.TrimSpace(p.Value), c.tlsLevel(l.Service))
		if c.tlsLevel(l.Service) == "none" {
			msg += "; TLS is off here, so enable it (smtpd_tls_security_level = may with a certificate) as well"
		}
		f := at(Finding{Service: key, Parameter: p.Name, Message: msg}, c.pos(sasl))
		f.Remediation = []string{c.listenerSet(l, sasl, p.Name, "yes")}
		out = append(out, f)
	}
	return out
}

func checkNoAnonymous(c *Context) []Finding {
	var out []Finding
	for _, l := range c.saslListeners() {
		p := c.param(l.Service, "smtpd_sasl_security_options")
		opts := postconfFields(p.Value)
		if containsFold(opts, "noanonymous") {
			continue
		}
		msg := fmt.Sprintf("smtpd_sasl_security_options = %q does not contain noanonymous: if the SASL backend offers ANONYMOUS, anyone authenticates without a password and passes permit_sasl_authenticated", strings.TrimSpace(p.Value))
		f := at(Finding{Service: scope(l, p), Parameter: p.Name, Message: msg}, c.pos(p))
		f.Remediation = []string{c.set(p, strings.Join(append(opts, "noanonymous"), sepFor(p)))}
		out = append(out, f)
	}
	return out
}

func postconfFields(v string) []string { return splitList(v) }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func checkBrokenSASLClients(c *Context) []Finding {
	var out []Finding
	for _, s := range c.netScopes("broken_sasl_auth_clients") {
		if strings.ToLower(strings.TrimSpace(s.P.Value)) != "yes" {
			continue
		}
		msg := fmt.Sprintf("broken_sasl_auth_clients = yes (%s) advertises AUTH a second time in the obsolete \"AUTH=\" form for Outlook Express 4 and Exchange 5: no current client needs it, and it shows AUTH to scanners that look for it", scopeName(s.Key))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = c.unset(s.P)
		out = append(out, f)
	}
	return out
}

var loginMismatch = map[string]bool{
	"reject_sender_login_mismatch": true, "reject_authenticated_sender_login_mismatch": true,
	"reject_known_sender_login_mismatch": true, "reject_unauthenticated_sender_login_mismatch": true,
}

// loginBound reports whether one of l's lists evaluated at MAIL FROM or
// later checks the sender against the SASL login.
func (c *Context) loginBound(l relay.Listener) bool {
	for _, n := range []string{"smtpd_sender_restrictions", "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions"} {
		for _, r := range parseRestrictions(c.param(l.Service, n).Value) {
			if loginMismatch[r.Key] && r.Key != "reject_unauthenticated_sender_login_mismatch" {
				return true
			}
		}
	}
	return false
}

// senderLoginMapFix creates an empty sender-login map and points
// smtpd_sender_login_maps at it.
func (c *Context) senderLoginMapFix() []string {
	dir := c.Cfg.Dir
	if dir == "" {
		dir = DefaultConfigDir
	}
	file := path.Join(dir, "sender_login")
	postmap := "postmap" + ConfigDirFlag(c.Cfg.Dir)
	return []string{
		"touch " + shellQuote(file),
		postmap + " " + shellQuote(file),
		c.mainSet("smtpd_sender_login_maps", "${default_database_type}:${config_directory}/sender_login"),
	}
}

func checkSenderLoginBinding(c *Context) []Finding {
	var out []Finding
	for _, l := range c.saslListeners() {
		if c.loginBound(l) || isPort25(l) {
			continue // port 25 should not offer AUTH at all: PFA-EXP-002
		}
		maps := strings.TrimSpace(c.value(l.Service, "smtpd_sender_login_maps"))
		p := c.param(l.Service, "smtpd_sender_restrictions")
		msg := fmt.Sprintf("%s lets authenticated users send with any MAIL FROM address: no reject_sender_login_mismatch in its sender, relay or recipient restrictions, so one stolen or shared login can send as anyone in your domains", l.Key)
		restr := "reject_sender_login_mismatch"
		var fix []string
		if maps == "" {
			restr = "reject_known_sender_login_mismatch"
			msg += "; smtpd_sender_login_maps is unset too: the fix creates an empty map (fill it with \"address login\" lines and run postmap again) and binds the addresses listed there"
			fix = c.senderLoginMapFix()
		}
		items := append([]string{restr}, parseRestrictionsText(p.Value)...)
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = strings.Join(strings.Fields(it), ",")
		}
		fix = append(fix, c.svcSet(l.Service, p.Name, strings.Join(parts, ",")))
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, c.pos(p))
		if p.Svc == nil {
			f = at(f, l.Service.Pos)
		}
		f.Remediation = fix
		out = append(out, f)
	}
	return out
}

func checkTLSWithoutCert(c *Context) []Finding {
	var out []Finding
	for _, l := range c.exposedListeners() {
		wrap := c.isYes(l.Service, "smtpd_tls_wrappermode")
		lvl := c.tlsLevel(l.Service)
		if !wrap && lvl != "encrypt" {
			continue
		}
		have := false
		for _, n := range []string{"smtpd_tls_chain_files", "smtpd_tls_cert_file", "smtpd_tls_eccert_file", "smtpd_tls_dcert_file"} {
			if strings.TrimSpace(c.value(l.Service, n)) != "" {
				have = true
			}
		}
		if have {
			continue
		}
		why := "smtpd_tls_security_level = encrypt"
		if wrap {
			why = "smtpd_tls_wrappermode = yes"
		}
		msg := fmt.Sprintf("%s requires TLS (%s) but no server certificate is configured (smtpd_tls_chain_files and smtpd_tls_cert_file are empty): every session fails; install a certificate and set smtpd_tls_chain_files", l.Key, why)
		p := c.param(l.Service, "smtpd_tls_chain_files")
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, l.Service.Pos)
		out = append(out, f)
	}
	return out
}

func checkLoginMismatchWithoutMaps(c *Context) []Finding {
	var out []Finding
	for _, s := range c.restrictionScopes() {
		for _, r := range parseRestrictions(s.P.Value) {
			if r.Key != "reject_sender_login_mismatch" && r.Key != "reject_authenticated_sender_login_mismatch" {
				continue
			}
			if strings.TrimSpace(c.value(s.P.Svc, "smtpd_sender_login_maps")) != "" {
				continue
			}
			msg := fmt.Sprintf("%s (%s) uses %s but smtpd_sender_login_maps is empty: no login owns any address, so every authenticated client's MAIL FROM is rejected (553 5.7.1 \"not owned by user\")", s.P.Name, scopeName(s.Key), r.Name)
			f := at(Finding{Service: s.Key, Parameter: "smtpd_sender_login_maps", Message: msg}, c.pos(s.P))
			f.Remediation = c.senderLoginMapFix()
			f.Message += "; the fix creates the map empty: fill it with \"address login\" lines and run postmap before reloading"
			out = append(out, f)
			break
		}
	}
	return out
}
