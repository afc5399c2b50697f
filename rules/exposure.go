package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pfaudit/pfaudit/audit/relay"
)

// Exposure family: what the listeners show and accept from the Internet
// (postconf(5) inet_interfaces, smtpd_banner, disable_vrfy_command; the
// submission entries of Postfix's master.cf; CIS and DISA STIG mail
// benchmarks).

// exposedListeners are the listeners Internet clients can reach.
func (c *Context) exposedListeners() []relay.Listener {
	if c.exposedDone {
		return c.exposed
	}
	var out []relay.Listener
	for _, l := range c.listeners() {
		if exposed(l) {
			out = append(out, l)
		}
	}
	c.exposed, c.exposedDone = slices.Clip(out), true
	return c.exposed
}

func checkSendOnlyExposed(c *Context) []Finding {
	ls := c.exposedListeners()
	if len(ls) == 0 {
		return nil
	}
	var keys []string
	for _, l := range ls {
		keys = append(keys, l.Key)
	}
	p := c.param(nil, "inet_interfaces")
	msg := fmt.Sprintf("this host's role (%s) does not receive mail from other machines, but %s accept connections from the network (inet_interfaces = %s); a send-only host should listen on loopback only (CIS: local-only mode)",
		strings.Join(c.Roles(), ", "), strings.Join(keys, ", "), strings.TrimSpace(p.Value))
	f := at(Finding{Parameter: "inet_interfaces", Message: msg}, c.pos(p))
	for _, l := range ls {
		if l.Host != "" {
			// Bound to an explicit address: inet_interfaces does not apply.
			f.Remediation = append(f.Remediation, c.postconf()+" -MX "+quote(l.Front.Key()))
		}
	}
	if len(f.Remediation) < len(ls) {
		f.Remediation = append([]string{c.mainSet("inet_interfaces", "loopback-only")}, f.Remediation...)
	}
	f.Apply = "restart"
	return []Finding{f}
}

func checkSASLOnPort25(c *Context) []Finding {
	var out []Finding
	for _, l := range c.exposedListeners() {
		if !isPort25(l) || !c.isYes(l.Service, "smtpd_sasl_auth_enable") {
			continue
		}
		p := c.param(l.Service, "smtpd_sasl_auth_enable")
		msg := fmt.Sprintf("%s (port 25, the MX port) offers SASL AUTH (smtpd_sasl_auth_enable = yes from %s): password guessing and stolen-credential relaying hit the port every MX must expose; offer AUTH on submission (587) and submissions (465) only", l.Key, sourceName(p))
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, c.pos(p))
		f.Remediation = []string{c.svcSet(l.Service, p.Name, "no")}
		out = append(out, f)
	}
	return out
}

func sourceName(p param) string {
	switch {
	case p.Svc != nil:
		return "its master.cf -o"
	case p.isSet():
		return "main.cf"
	}
	return "the default"
}

func checkVRFY(c *Context) []Finding {
	if len(c.exposedListeners()) == 0 {
		return nil
	}
	var out []Finding
	for _, s := range c.netScopes("disable_vrfy_command") {
		if s.Key != "" && !slices.ContainsFunc(c.exposedListeners(), func(l relay.Listener) bool { return l.Key == s.Key }) {
			continue
		}
		if c.isYes(s.P.Svc, "disable_vrfy_command") {
			continue
		}
		msg := fmt.Sprintf("VRFY is enabled (disable_vrfy_command = %s, %s): anyone can probe which addresses exist here (Lynis MAIL-8820)", strings.TrimSpace(s.P.Value), scopeName(s.Key))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = []string{c.set(s.P, "yes")}
		out = append(out, f)
	}
	return out
}

// bannerPattern is what a disclosing banner contains: Postfix's own
// $mail_name/$mail_version, an operating system's name, or a version
// number. discloses matches it by hand: compiling it was a tenth of a
// millisecond of every audit's start (issue 8), and TestDisclosesMatchesRegexp
// and FuzzDiscloses hold the two to the same answers.
const bannerPattern = `(?i)\$\{?\(?mail_(name|version)\b|postfix|debian|ubuntu|centos|red ?hat|rhel|fedora|freebsd|openbsd|netbsd|suse|alpine|\b\d+\.\d+\.\d+\b`

var disclosingWords = []string{"postfix", "debian", "ubuntu", "centos", "redhat", "red hat", "rhel", "fedora", "freebsd", "openbsd", "netbsd", "suse", "alpine"}

// discloses reports whether bannerPattern matches s. Like the regexp, it
// folds case the Unicode way (the long s and the Kelvin sign match s and
// k) and its word boundaries know only ASCII letters, digits and '_'.
func discloses(s string) bool {
	// low is s a rune per byte: ASCII lower-cased, the two non-ASCII runes
	// that fold to ASCII letters as those letters, any other rune 0; word
	// says which runes are word characters to \b.
	low := make([]byte, 0, len(s))
	word := make([]bool, 0, len(s))
	for _, r := range s {
		b, w := byte(0), false
		switch {
		case r < utf8.RuneSelf:
			b = byte(r)
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			w = 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_'
		case r == '\u017f': // LATIN SMALL LETTER LONG S
			b = 's'
		case r == '\u212a': // KELVIN SIGN
			b = 'k'
		}
		low, word = append(low, b), append(word, w)
	}
	t := string(low)
	for _, w := range disclosingWords {
		if strings.Contains(t, w) {
			return true
		}
	}
	boundary := func(i int) bool { // \b before index i
		before := i > 0 && word[i-1]
		after := i < len(word) && word[i]
		return before != after
	}
	for _, name := range []string{"mail_name", "mail_version"} {
		for off := 0; ; {
			i := strings.Index(t[off:], name)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			j := i
			if j > 0 && t[j-1] == '(' {
				j--
			}
			if j > 0 && t[j-1] == '{' {
				j--
			}
			if j > 0 && t[j-1] == '$' && boundary(i+len(name)) {
				return true
			}
		}
	}
	digits := func(i int) int { // the end of the run of digits at i
		for i < len(t) && '0' <= t[i] && t[i] <= '9' {
			i++
		}
		return i
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' || !boundary(i) {
			continue
		}
		j := digits(i)
		ok := true
		for range 2 {
			if j < len(t) && t[j] == '.' && digits(j+1) > j+1 {
				j = digits(j + 1)
			} else {
				ok = false
				break
			}
		}
		if ok && boundary(j) {
			return true
		}
	}
	return false
}

func checkBanner(c *Context) []Finding {
	if len(c.exposedListeners()) == 0 {
		return nil
	}
	var out []Finding
	for _, s := range c.netScopes("smtpd_banner") {
		raw := s.P.Raw.Raw
		if !discloses(raw) {
			continue
		}
		msg := fmt.Sprintf("the SMTP greeting discloses software or version details (smtpd_banner = %s, %s, shown as %q): it tells attackers which exploits to try (Lynis MAIL-8818); RFC 5321 requires only the host name", raw, scopeName(s.Key), strings.TrimSpace(s.P.Value))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = []string{c.set(s.P, "$myhostname ESMTP")}
		out = append(out, f)
	}
	return out
}

func checkSubmissionEncrypt(c *Context) []Finding {
	var out []Finding
	for _, l := range c.exposedListeners() {
		if portNumber(l.Port) != "587" {
			continue
		}
		lvl := c.tlsLevel(l.Service)
		if lvl == "encrypt" || lvl == "dane" || lvl == "verify" || lvl == "secure" || c.isYes(l.Service, "smtpd_tls_wrappermode") {
			continue
		}
		p := c.param(l.Service, "smtpd_tls_security_level")
		msg := fmt.Sprintf("%s (submission, port 587) does not require TLS (smtpd_tls_security_level = %s): mail clients may send passwords and mail in clear text; Postfix's master.cf template sets -o smtpd_tls_security_level=encrypt", l.Key, lvl)
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, c.pos(p))
		if p.Svc == nil {
			f = at(f, l.Service.Pos)
		}
		f.Remediation = []string{c.svcSet(l.Service, p.Name, "encrypt")}
		out = append(out, f)
	}
	return out
}

func checkSmtpsWrapper(c *Context) []Finding {
	var out []Finding
	for _, l := range c.exposedListeners() {
		if portNumber(l.Port) != "465" || c.isYes(l.Service, "smtpd_tls_wrappermode") {
			continue
		}
		p := c.param(l.Service, "smtpd_tls_wrappermode")
		msg := fmt.Sprintf("%s (submissions, port 465) does not set smtpd_tls_wrappermode = yes: clients expect TLS from the first byte (RFC 8314) and fail, or talk to a plain-text SMTP server on a port they believe encrypted", l.Key)
		f := at(Finding{Service: l.Key, Parameter: p.Name, Message: msg}, l.Service.Pos)
		if p.Svc != nil {
			f = at(f, p.Raw.Pos)
		}
		f.Remediation = []string{c.svcSet(l.Service, p.Name, "yes")}
		out = append(out, f)
	}
	return out
}

func checkNonMXClientRestrictions(c *Context) []Finding {
	roles := c.Roles()
	if slices.Contains(roles, RoleMX) || slices.Contains(roles, RoleSubmission) {
		return nil
	}
	var out []Finding
	for _, l := range c.exposedListeners() {
		p := c.param(l.Service, "smtpd_client_restrictions")
		got := parseRestrictionsText(p.Value)
		if sameList(got, []string{"permit_mynetworks", "reject"}) {
			continue
		}
		key := scope(l, p)
		msg := fmt.Sprintf("this host is not a mail server (role %s) but smtpd_client_restrictions (%s) is %q, not \"permit_mynetworks, reject\": clients outside mynetworks can still talk SMTP to it (DISA STIG: prevent unrestricted mail relaying)", strings.Join(roles, ", "), scopeName(key), strings.TrimSpace(p.Value))
		f := at(Finding{Service: key, Parameter: p.Name, Message: msg}, c.pos(p))
		f.Remediation = c.setList(p, []string{"permit_mynetworks", "reject"})
		out = append(out, f)
	}
	return out
}
