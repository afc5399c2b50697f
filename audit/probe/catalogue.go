package probe

import (
	"net/netip"
	"strings"
)

// Class says what an accepted RCPT proves.
type Class string

const (
	// ClassRelay: the recipient is plainly in the third-party test domain;
	// acceptance is relay.
	ClassRelay Class = "relay"
	// ClassRouted: the recipient is routed through the target's own name
	// or address (percent hack, source route, bang path, quoting, double @).
	// A server that resolves these forms, as Postfix does, relays when it
	// accepts one; nmap and abuse.net count acceptance as open, and so do we.
	ClassRouted Class = "routed"
	// ClassLocal: the recipient is the target itself (row 26). Accepting it
	// is local delivery, not relay, so it never makes a verdict open; a
	// refusal still counts towards closed.
	ClassLocal Class = "local"
)

// Params fills the catalogue's placeholders (relay-probes.md notation).
type Params struct {
	TestDomain   string // X: the third-party domain (default example.net, RFC 2606)
	SenderDomain string // the third-party sender domain of recipient tricks (default example.org)
	Host         string // H: the server's host name
	Domain       string // D: the server's mail domain
	Addr         netip.Addr
	Sender       string // s: sender local part (default "probe")
	Rcpt         string // u: recipient local part (default "relaytest")
	HELO         string // the probe's default HELO/EHLO name (default probe.example.com)
}

// Defaults for the reserved names and local parts.
const (
	DefaultTestDomain   = "example.net"
	DefaultSenderDomain = "example.org"
	DefaultHELO         = "probe.example.com"
	DefaultSender       = "probe"
	DefaultRcpt         = "relaytest"
)

func (p Params) withDefaults() Params {
	if p.TestDomain == "" {
		p.TestDomain = DefaultTestDomain
	}
	if p.SenderDomain == "" {
		p.SenderDomain = DefaultSenderDomain
	}
	if p.Sender == "" {
		p.Sender = DefaultSender
	}
	if p.Rcpt == "" {
		p.Rcpt = DefaultRcpt
	}
	if p.HELO == "" {
		p.HELO = DefaultHELO
	}
	if p.Host == "" {
		p.Host = IPLiteral(p.Addr)
	}
	if p.Domain == "" {
		p.Domain = DomainOf(p.Host)
	}
	return p
}

// IPLiteral formats an address as an SMTP address literal (RFC 5321
// 4.1.3): [192.0.2.1] or [IPv6:2001:db8::1].
func IPLiteral(a netip.Addr) string {
	if !a.IsValid() {
		return "[127.0.0.1]"
	}
	a = a.Unmap()
	if a.Is6() {
		return "[IPv6:" + a.WithZone("").String() + "]"
	}
	return "[" + a.String() + "]"
}

// DomainOf derives the mail domain from a host name as Postfix derives
// mydomain from myhostname (postconf(5) mydomain: "$myhostname minus the
// first component", "localdomain" when nothing is left).
func DomainOf(host string) string {
	if strings.HasPrefix(host, "[") {
		return host
	}
	if _, d, ok := strings.Cut(host, "."); ok && d != "" {
		return d
	}
	return "localdomain"
}

// Attempt is one relay attempt: an EHLO identity, a MAIL command and a RCPT
// command, exactly as they go on the wire.
type Attempt struct {
	Variant string // catalogue ID: "01".."27" with letters for sub-variants, or a session variant
	Trick   string // what it tests
	Class   Class
	HELO    string
	Mail    string // full MAIL command line without CRLF
	Rcpt    string // full RCPT command line without CRLF
	// AfterAuth asks for a bogus AUTH (never real credentials) in the same
	// session right before this attempt, when the server offers AUTH.
	AfterAuth bool
}

// MailFrom returns the MAIL argument as sent (after "MAIL FROM:").
func (a Attempt) MailFrom() string { return argOf(a.Mail) }

// RcptTo returns the RCPT argument as sent (after "RCPT TO:").
func (a Attempt) RcptTo() string { return argOf(a.Rcpt) }

func argOf(cmd string) string {
	_, arg, _ := strings.Cut(cmd, ":")
	return arg
}

// Catalogue returns every attempt for the given parameters: rows 1-27 of
// relay-probes.md (with lettered sub-variants where a row lists several
// forms) and the session-level variants (HELO identities, relay after a
// failed AUTH). The order is stable.
func Catalogue(p Params) []Attempt {
	p = p.withDefaults()
	X, H, D, IP := p.TestDomain, p.Host, p.Domain, IPLiteral(p.Addr)
	s, u := p.Sender, p.Rcpt
	sender := "<" + s + "@" + p.SenderDomain + ">"
	rcpt := "<" + u + "@" + X + ">"

	var out []Attempt
	add := func(id, trick string, class Class, mail, rcptArg string) {
		out = append(out, Attempt{Variant: id, Trick: trick, Class: class, HELO: p.HELO,
			Mail: "MAIL FROM:" + mail, Rcpt: "RCPT TO:" + rcptArg})
	}
	add("01", "null sender", ClassRelay, "<>", rcpt)
	add("02", "plain third-party relay", ClassRelay, "<"+s+"@"+X+">", rcpt)
	add("03", "random host in the test domain", ClassRelay, "<"+s+"@random."+X+">", rcpt)
	add("04", "localhost sender", ClassRelay, "<"+s+"@localhost>", rcpt)
	add("05", "unqualified sender", ClassRelay, "<"+s+">", rcpt)
	add("06", "sender spoofs the server's host", ClassRelay, "<"+s+"@"+H+">", rcpt)
	add("07", "IP-literal sender", ClassRelay, "<"+s+"@"+IP+">", rcpt)
	add("08a", "sender spoofs the server's domain", ClassRelay, "<"+s+"@"+D+">", rcpt)
	add("08b", "postmaster of the server's domain", ClassRelay, "<postmaster@"+D+">", rcpt)
	add("08c", "postmaster of the server's host", ClassRelay, "<postmaster@"+H+">", rcpt)
	add("09", "quoted sender", ClassRelay, `<"`+s+"@"+X+`"@`+H+">", rcpt)
	add("10", "percent hack", ClassRouted, sender, "<"+u+"%"+X+"@"+H+">")
	add("11", "percent hack at IP literal", ClassRouted, sender, "<"+u+"%"+X+"@"+IP+">")
	add("12", "quoted local part", ClassRouted, sender, `<"`+u+"@"+X+`">`)
	add("13", "quoted local part with percent", ClassRouted, sender, `<"`+u+"%"+X+`">`)
	add("14", "double @ at IP literal", ClassRouted, sender, "<"+u+"@"+X+"@"+IP+">")
	add("15", "quoted at IP literal", ClassRouted, sender, `<"`+u+"@"+X+`"@`+IP+">")
	add("16", "double @ at host", ClassRouted, sender, "<"+u+"@"+X+"@"+H+">")
	add("17", "quoted at host", ClassRouted, sender, `<"`+u+"@"+X+`"@`+H+">")
	add("18", "source route via IP literal", ClassRouted, sender, "<@"+IP+":"+u+"@"+X+">")
	add("19", "source route via host", ClassRouted, sender, "<@"+H+":"+u+"@"+X+">")
	add("20", "bang path", ClassRouted, sender, "<"+X+"!"+u+">")
	add("21", "bang path at IP literal", ClassRouted, sender, "<"+X+"!"+u+"@"+IP+">")
	add("22", "bang path at host", ClassRouted, sender, "<"+X+"!"+u+"@"+H+">")
	add("23", "percent hack, trailing null domain", ClassRouted, sender, "<"+u+"%"+X+"@>")
	add("24", "double @, trailing null domain", ClassRouted, sender, "<"+u+"@"+X+"@>")
	add("25", "recipient without angle brackets", ClassRelay, sender, u+"@"+X)
	add("26", "recipient at the server's own IP literal", ClassLocal, "<"+s+"@"+IP+">", "<"+u+"@"+IP+">")
	add("27a", "recipient in upper case", ClassRelay, sender, strings.ToUpper(rcpt))
	add("27b", "space after RCPT TO:", ClassRelay, sender, " "+rcpt)
	out = append(out, Attempt{Variant: "27c", Trick: "lower-case verbs", Class: ClassRelay,
		HELO: p.HELO, Mail: "mail from:" + sender, Rcpt: "rcpt to:" + rcpt})

	for _, h := range []struct{ id, name, trick string }{
		{"helo-localhost", "localhost", "HELO localhost"},
		{"helo-self", H, "HELO with the server's own name"},
		{"helo-test", X, "HELO with the test domain"},
	} {
		out = append(out, Attempt{Variant: h.id, Trick: h.trick, Class: ClassRelay, HELO: h.name,
			Mail: "MAIL FROM:" + sender, Rcpt: "RCPT TO:" + rcpt})
	}
	out = append(out, Attempt{Variant: "after-auth", Trick: "relay after a failed AUTH", Class: ClassRelay,
		HELO: p.HELO, Mail: "MAIL FROM:" + sender, Rcpt: "RCPT TO:" + rcpt, AfterAuth: true})
	return out
}

// bracketed reports whether a MAIL/RCPT line is exactly what go-smtp would
// write for some address (it writes "MAIL FROM:<%s>" and "RCPT TO:<%s>"),
// and returns that address. Anything else goes out on the raw path.
func bracketed(line, verb string) (string, bool) {
	rest, ok := strings.CutPrefix(line, verb)
	if !ok || len(rest) < 2 || rest[0] != '<' || rest[len(rest)-1] != '>' {
		return "", false
	}
	addr := rest[1 : len(rest)-1]
	if strings.ContainsAny(addr, "<>\r\n") {
		return "", false
	}
	return addr, true
}
