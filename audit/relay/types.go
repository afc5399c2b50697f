// Package relay models how Postfix's smtpd decides, at RCPT time, whether a
// client may send to a recipient (smtpd_check.c; SMTPD_ACCESS_README;
// postconf(5) smtpd_relay_restrictions, smtpd_recipient_restrictions), and
// from that the relay verdict of every smtpd listener.
package relay

import (
	"net/netip"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Verdict is a listener's relay verdict for a class of clients.
type Verdict string

const (
	Open    Verdict = "open"    // some untrusted client can relay to a remote domain
	Closed  Verdict = "closed"  // every relay attempt is refused
	Broken  Verdict = "broken"  // smtpd exits on every connection, or every RCPT fails
	Unknown Verdict = "unknown" // depends on something pfaudit cannot evaluate
)

// Result is what smtpd answers to one RCPT.
type Result string

const (
	Accept      Result = "accept"
	Reject      Result = "reject"
	Defer       Result = "defer"
	Undecidable Result = "unknown"
)

// Step is one restriction evaluated, for the trace.
type Step struct {
	List        string   `json:"list"`        // parameter name, or the table/class it came from
	Index       int      `json:"index"`       // 1-based position in that list
	Restriction string   `json:"restriction"` // as written, e.g. "check_sender_access hash:/etc/postfix/access"
	Outcome     string   `json:"outcome"`     // permit, reject, defer, dunno, unknown, warn, ...
	Detail      string   `json:"detail,omitempty"`
	Pos         diag.Pos `json:"pos"`
}

// Decision is smtpd's answer to one RCPT with the trace that led to it.
type Decision struct {
	Result   Result `json:"result"`
	Code     int    `json:"code,omitempty"`
	Enhanced string `json:"enhanced_code,omitempty"`
	Text     string `json:"text,omitempty"`
	Reason   string `json:"reason"`
	Trace    []Step `json:"trace"`
}

// Client describes the SMTP client of a request.
type Client struct {
	Class       string     `json:"class"` // loopback, this-host, mynetworks, internet-v4, internet-v6, sasl, trick...
	Addr        netip.Addr `json:"addr"`
	Name        string     `json:"name"` // reverse name, "unknown" when none
	HELO        string     `json:"helo"`
	SASLLogin   string     `json:"sasl_login,omitempty"`
	ClientCert  bool       `json:"client_cert,omitempty"`  // presented a verified certificate
	CertTrusted bool       `json:"cert_trusted,omitempty"` // its fingerprint is in relay_clientcerts
	// Trusted marks the classes a site trusts on purpose (this host,
	// mynetworks, authenticated): reported, never part of the verdict for
	// untrusted clients.
	Trusted bool `json:"trusted,omitempty"`
}

// Request is one MAIL FROM / RCPT TO pair from a client. Sender and
// Recipient are the addresses as sent, without the angle brackets.
type Request struct {
	Client    Client `json:"client"`
	Sender    string `json:"sender"`
	Recipient string `json:"recipient"`
	Trick     string `json:"trick,omitempty"` // the relay-probe catalogue row, when one
}

// Destinations of a recipient (Case.Destination).
const (
	// ThirdParty: the recipient resolves to a domain this server does not
	// host: accepting it is relay.
	ThirdParty = "third-party"
	// Hosted: the recipient resolves to a local, virtual or relay_domains
	// destination of this server: accepting it is not relay, and a refusal
	// says nothing about relay either.
	Hosted = "hosted"
)

// Case is an evaluated request.
type Case struct {
	Request
	Decision Decision `json:"decision"`
	// Destination is ThirdParty or Hosted ("" when the model cannot tell).
	Destination string `json:"destination,omitempty"`
	// Resolved is the recipient as trivial-rewrite resolves it, with its
	// address class ("relaytest%example.net@mail.example.com (local,
	// routed)").
	Resolved string `json:"resolved,omitempty"`
}

// Listener is an smtpd endpoint: an inet master.cf entry running smtpd, or
// postscreen with the `smtpd pass` service behind it.
type Listener struct {
	// Key names the inet entry as postconf -M does: "smtp/inet",
	// "127.0.0.1:10025/inet".
	Key string `json:"service"`
	// Front is the inet entry; Service the entry whose -o settings smtpd
	// runs with (the pass service behind postscreen, else Front).
	Front      *postconf.Service `json:"-"`
	Service    *postconf.Service `json:"-"`
	Postscreen bool              `json:"postscreen"`
	// Host is the bind address from the service name ("" = every
	// inet_interfaces address), Port the port or service name.
	Host string `json:"host,omitempty"`
	Port string `json:"port"`
	// LoopbackOnly is true when the listener binds only loopback
	// addresses, so Internet clients cannot reach it.
	LoopbackOnly bool `json:"loopback_only"`
	IPv4         bool `json:"ipv4"`
	IPv6         bool `json:"ipv6"`
}

// Guard is the startup check of smtpd_check.c: at least one of the two RCPT
// lists must hold a working reject_unauth_destination (or equivalent), else
// smtpd exits on every connection.
type Guard struct {
	OK     bool     `json:"ok"`
	Reason string   `json:"reason"`
	Pos    diag.Pos `json:"pos"`
}

// Analysis is the relay analysis of one listener.
type Analysis struct {
	Listener Listener `json:"listener"`
	// Verdict is what an untrusted Internet client gets. For a
	// loopback-only listener it is Closed, and WouldBe says what it would
	// be if the listener were exposed.
	Verdict  Verdict `json:"verdict"`
	WouldBe  Verdict `json:"would_be,omitempty"`
	Reason   string  `json:"reason"`
	Deciding *Case   `json:"deciding,omitempty"`
	Guard    Guard   `json:"guard"`
	// Local is the verdict for clients on this host (loopback).
	Local Verdict `json:"local"`
	// Unexpandable names the parameter smtpd cannot expand when that is
	// what breaks the listener ("" otherwise).
	Unexpandable string `json:"unexpandable,omitempty"`
	// TestDomain is the third-party recipient domain of the relay
	// attempts, SenderDomain the third-party sender domain: reserved names
	// (RFC 2606) outside every address class of this listener's
	// configuration. TestDomainNote says why they were chosen.
	TestDomain     string `json:"test_domain"`
	SenderDomain   string `json:"sender_domain"`
	TestDomainNote string `json:"test_domain_note,omitempty"`
	// Assumptions are what the verdict rests on that the configuration
	// does not say (e.g. a reserved test domain absent from an SQL table).
	Assumptions []string `json:"assumptions,omitempty"`
	Cases       []Case   `json:"cases"`
}
