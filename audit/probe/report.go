package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Outcomes of one attempt.
const (
	// OutcomeAccepted: RCPT answered 2xx (250, 251). The server took the
	// recipient; nothing more was sent.
	OutcomeAccepted = "accepted"
	// OutcomeDeferred: a 4xx reply other than the relay guard's (greylisting,
	// 451 4.3.x lookup or policy-service failures): inconclusive.
	OutcomeDeferred = "deferred"
	// OutcomeRelayDeferred: "454 4.7.1 <...>: Relay access denied", the
	// relay guard deferring (defer_unauth_destination, Debian's stock
	// setting and Postfix's default since compatibility_level 3.6, or
	// reject_unauth_destination under soft_bounce = yes; smtpd_check.c
	// says "Relay access denied" only from the guard). The attempt reached
	// the guard and was not let through: a refusal.
	OutcomeRelayDeferred = "relay-deferred"
	// OutcomeHosted: the reply shows the recipient's domain is hosted by
	// the server ("User unknown in local recipient table", 5.1.1): the
	// attempt was local or virtual delivery, not relay, and is evidence
	// neither way.
	OutcomeHosted = "hosted"
	// OutcomeInconclusive: the test domain failed a DNS check before the
	// relay question was asked (reject_unknown_recipient_domain: 4.1.2 or
	// 5.1.2 "Domain not found", 5.1.10 or "does not accept mail" for a null
	// MX, RFC 7505). A real relay target would pass, so this is no refusal.
	OutcomeInconclusive = "inconclusive"
	// OutcomeRefused: a 5xx reply (at greeting, HELO, MAIL or RCPT).
	OutcomeRefused = "refused"
	// OutcomeAuthRequired: 530, authentication required.
	OutcomeAuthRequired = "auth-required"
	// OutcomeError: no usable reply (timeout, dropped connection, protocol
	// error, retries exhausted after 421).
	OutcomeError = "error"
)

// Verdicts per target and vantage.
const (
	// VerdictOpen: at least one relay attempt (class relay or routed) was
	// accepted from this vantage.
	VerdictOpen = "open"
	// VerdictClosed: every relay attempt was refused with a 5xx or
	// deferred by the relay guard (Qualifier "deferred").
	VerdictClosed = "closed"
	// VerdictUnknown: nothing accepted, but not everything refused either
	// (deferrals, authentication required, errors mixed with refusals, a
	// test domain refused for its DNS), or no untrusted vantage was
	// available. Reason says why.
	VerdictUnknown = "unknown"
	// VerdictBroken: the listener accepts connections but no smtpd ever
	// greets (it exits at start-up, e.g. without a working relay guard,
	// and master throttles the service), the static verdict's word.
	VerdictBroken = "broken"
	// VerdictError: no attempt got an SMTP answer.
	VerdictError = "error"

	// QualifierDeferred marks a closed verdict whose refusals include the
	// relay guard's 454 4.7.1: shown as "closed (deferred)".
	QualifierDeferred = "deferred"
)

// Stages name the command whose reply decided an attempt.
const (
	StageConnect  = "connect"
	StageProxy    = "proxy"
	StageGreeting = "greeting"
	StageHelo     = "helo"
	StageTLS      = "starttls"
	StageXClient  = "xclient"
	StageAuth     = "auth"
	StageRset     = "rset"
	StageMail     = "mail"
	StageRcpt     = "rcpt"
)

// Report is the result of Run: one entry per target, in the order given.
type Report struct {
	Targets []TargetReport `json:"targets"`
	// Interrupted says why the run stopped before it was done (the
	// caller's context was cancelled, e.g. by a signal, or a deadline
	// passed); empty for a run that finished. An interrupted report is
	// incomplete: attempts not made are errors, never refusals, and
	// vantages not reached say so. Err turns it into an error.
	Interrupted string `json:"interrupted,omitempty"`
	cause       error  // the context's error behind Interrupted
}

// ErrInterrupted is wrapped by Report.Err for a run that was cut short.
var ErrInterrupted = errors.New("interrupted")

// Err is nil for a run that finished, and for an interrupted one an error
// wrapping ErrInterrupted and the context's error (context.Canceled or
// context.DeadlineExceeded), so that callers can tell a signal from a
// timeout. A caller must never present an interrupted run as clean.
func (r *Report) Err() error {
	if r == nil || r.Interrupted == "" {
		return nil
	}
	if r.cause != nil {
		return fmt.Errorf("%w: %s (%w)", ErrInterrupted, r.Interrupted, r.cause)
	}
	return fmt.Errorf("%w: %s", ErrInterrupted, r.Interrupted)
}

// TargetReport holds what each vantage saw of one target.
type TargetReport struct {
	Address  string          `json:"address"`          // the target as given, normalised to host:port
	Host     string          `json:"host,omitempty"`   // the server's name used for H (EHLO reply, banner or Options.Hostname)
	Banner   string          `json:"banner,omitempty"` // first line of the final 220 greeting
	Vantages []VantageReport `json:"vantages"`
}

// VantageReport is the verdict and the evidence of one vantage.
type VantageReport struct {
	// Vantage actually used: loopback, xclient, netns, remote; "none" when
	// auto found no untrusted vantage.
	Vantage string `json:"vantage"`
	// Verdict: open, closed, unknown, broken or error (see the Verdict
	// constants).
	Verdict string `json:"verdict"`
	// Qualifier refines the verdict: "deferred" for a closed verdict
	// resting on the relay guard's 454 4.7.1.
	Qualifier string `json:"qualifier,omitempty"`
	// Reason says in one sentence why the verdict is what it is (what was
	// accepted, what deferred, why nothing could be decided).
	Reason string `json:"reason,omitempty"`
	// TestDomain is the third-party recipient domain the attempts used,
	// SenderDomain the sender domain; TestDomainNote says how it was
	// chosen (configuration, replies, --test-domain).
	TestDomain     string `json:"test_domain,omitempty"`
	SenderDomain   string `json:"sender_domain,omitempty"`
	TestDomainNote string `json:"test_domain_note,omitempty"`
	// DomainChecks are the control RCPTs that chose the test domain.
	DomainChecks []AttemptResult `json:"domain_checks,omitempty"`
	// Impersonation holds the attempts made claiming a trusted client
	// address, when this untrusted vantage could (XCLIENT offered to it,
	// a listener that takes the client address from a PROXY header).
	Impersonation []AttemptResult `json:"impersonation,omitempty"`
	// Warnings are problems with the evidence the user must know about
	// (a --test-domain the server hosts).
	Warnings []string `json:"warnings,omitempty"`
	// Note explains the verdict's reach (what kind of client it speaks for)
	// and anything that limited the test.
	Note string `json:"note,omitempty"`
	// Client is the client address the server saw, or was told with
	// XCLIENT.
	Client string `json:"client,omitempty"`
	// TLS reports whether the sessions ran over TLS (STARTTLS or implicit).
	TLS bool `json:"tls"`
	// Sessions is the number of SMTP sessions opened.
	Sessions int `json:"sessions"`
	// Attempts in catalogue order.
	Attempts []AttemptResult `json:"attempts"`

	// claimUnproven: the xclient vantage's claim was not shown to take
	// effect (verifyClaim); auto then looks for another vantage.
	claimUnproven bool
}

// AttemptResult is one attempt and the server's answer.
type AttemptResult struct {
	Variant  string `json:"variant"`
	Class    Class  `json:"class"`
	Stage    string `json:"stage"` // the command whose reply is recorded
	HELO     string `json:"helo"`
	MailFrom string `json:"mail_from"` // argument after "MAIL FROM:", as sent
	RcptTo   string `json:"rcpt_to"`   // argument after "RCPT TO:", as sent
	// Code is the SMTP reply code, 0 when there was none.
	Code int `json:"code"`
	// EnhancedCode is the RFC 3463 status code ("5.7.1"), empty when absent.
	EnhancedCode string `json:"enhanced_code"`
	// Text is the reply text without codes (lines joined by "\n"), or the
	// error for outcome "error".
	Text    string `json:"text"`
	Outcome string `json:"outcome"`
	// Note records side facts, such as the bogus AUTH's reply.
	Note string `json:"note,omitempty"`
	// Session numbers the SMTP session (1-based) that made the attempt.
	Session int `json:"session"`
}

// reply is a parsed SMTP reply.
type reply struct {
	Code     int
	Enhanced string
	Text     string
}

// parseReply parses reply lines ("250-a", "250 b") as read from the wire.
// The enhanced status code (RFC 2034) is taken from the first line and
// stripped from every line that repeats it.
func parseReply(lines []string) (reply, bool) {
	var r reply
	var texts []string
	for i, l := range lines {
		if len(l) < 3 {
			return r, false
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil || code < 100 || code > 599 {
			return r, false
		}
		if i == 0 {
			r.Code = code
		}
		t := strings.TrimLeft(l[3:], " -")
		if i == 0 {
			if ec, rest, ok := splitEnhanced(t, code); ok {
				r.Enhanced, t = ec, rest
			}
		} else if r.Enhanced != "" {
			t = strings.TrimPrefix(t, r.Enhanced+" ")
		}
		texts = append(texts, t)
	}
	if r.Code == 0 {
		return r, false
	}
	r.Text = strings.Join(texts, "\n")
	return r, true
}

func splitEnhanced(t string, code int) (string, string, bool) {
	ec, rest, _ := strings.Cut(t, " ")
	parts := strings.Split(ec, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return "", t, false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return "", t, false
		}
	}
	return ec, rest, true
}

// outcomeOf classifies a reply code. Callers handle 421 before this.
func outcomeOf(code int) string {
	switch {
	case code >= 200 && code < 300:
		return OutcomeAccepted
	case code == 530:
		return OutcomeAuthRequired
	case code >= 400 && code < 500:
		return OutcomeDeferred
	case code >= 500 && code < 600:
		return OutcomeRefused
	}
	return OutcomeError
}

var (
	// hostedRE: smtpd_check.c's replies for a recipient in a domain the
	// server hosts whose user does not exist: "User unknown in local
	// recipient table" (local_recipient_maps), "... virtual mailbox
	// table", "... virtual alias table", "... relay recipient table".
	hostedRE = lazyRegexp(`(?i)user unknown in [a-z ]*(recipient|mailbox|alias) table`)
	// domainDNSRE: reject_unknown_recipient_domain's replies
	// (smtpd_check.c reject_unknown_mailhost): "Domain not found" for no
	// A/AAAA/MX (temporary DNS failures too), "Domain ... does not accept
	// mail (nullMX)" for an RFC 7505 null MX.
	domainDNSRE = lazyRegexp(`(?i)recipient address rejected: (domain not found|.*does not accept mail)`)
	// senderDNSRE: reject_unknown_sender_domain's temporary refusal of
	// the probe's reserved sender domain (450 4.1.8).
	senderDNSRE   = lazyRegexp(`(?i)sender address rejected: domain not found`)
	relayDeniedRE = lazyRegexp(`(?i)relay access denied`)
)

// classify sets an attempt's outcome from its deciding reply: the code
// first, then what Postfix's texts and RFC 3463 codes say about it.
func classify(res *AttemptResult) {
	res.Outcome = outcomeOf(res.Code)
	if res.Stage != StageRcpt && res.Stage != StageMail {
		return
	}
	rcpt := res.Stage == StageRcpt
	switch res.Outcome {
	case OutcomeDeferred:
		switch {
		case rcpt && relayDeniedRE().MatchString(res.Text):
			res.Outcome = OutcomeRelayDeferred
		case rcpt && (res.EnhancedCode == "4.1.2" || domainDNSRE().MatchString(res.Text)),
			res.EnhancedCode == "4.1.8" || senderDNSRE().MatchString(res.Text):
			res.Outcome = OutcomeInconclusive
		}
	case OutcomeRefused:
		switch {
		case rcpt && (hostedRE().MatchString(res.Text) || res.EnhancedCode == "5.1.1" && strings.Contains(strings.ToLower(res.Text), "recipient address rejected")):
			res.Outcome = OutcomeHosted
		case rcpt && (res.EnhancedCode == "5.1.2" || res.EnhancedCode == "5.1.10" || domainDNSRE().MatchString(res.Text)):
			res.Outcome = OutcomeInconclusive
		}
	}
}

// isEvidence reports whether an attempt speaks to the relay question:
// its recipient is not the server itself and not hosted by it.
func isEvidence(r AttemptResult) bool {
	return r.Class != ClassLocal && r.Outcome != OutcomeHosted
}

// verdictOf judges one vantage's attempts. Attempts of class local and
// attempts whose recipient turned out hosted never decide anything
// (accepting mail for the server itself is not relay, refusing it is not
// a refusal to relay).
func verdictOf(rs []AttemptResult) string {
	v, _, _ := judgeAttempts(rs)
	return v
}

// judgeAttempts returns the verdict, its qualifier and its reason.
func judgeAttempts(rs []AttemptResult) (verdict, qualifier, reason string) {
	counts := map[string]int{}
	n := 0
	var first = map[string]AttemptResult{}
	for _, r := range rs {
		if !isEvidence(r) {
			counts["ignored:"+r.Outcome]++
			continue
		}
		if r.Outcome == OutcomeAccepted {
			return VerdictOpen, "", fmt.Sprintf("RCPT TO:%s (%s) after MAIL FROM:%s was accepted: %s", r.RcptTo, r.Variant, r.MailFrom, replyLine(r))
		}
		if _, ok := first[r.Outcome]; !ok {
			first[r.Outcome] = r
		}
		counts[r.Outcome]++
		n++
	}
	refusedAll := counts[OutcomeRefused]+counts[OutcomeRelayDeferred] == n
	// Attempts refused for the test domain's DNS never reached the relay
	// guard. When the guard itself was seen refusing the others ("Relay
	// access denied"), the guard is what stands in the way and the
	// verdict is closed; otherwise nothing answered the relay question.
	guardSeen := guardRefusals(rs) > 0
	dnsOnly := counts[OutcomeRefused]+counts[OutcomeRelayDeferred]+counts[OutcomeInconclusive] == n && guardSeen
	switch {
	case n == 0 && len(rs) == 0:
		return VerdictError, "", "no attempt was made"
	case n == 0:
		return VerdictUnknown, "", "every attempt's recipient is hosted by this server or is the server itself: no attempt tested relay (the test domain is hosted here; give another with --test-domain)"
	case refusedAll || dnsOnly && counts[OutcomeRefused]+counts[OutcomeRelayDeferred] > 0:
		var extra string
		if c := counts[OutcomeInconclusive]; c > 0 {
			extra = fmt.Sprintf("; %d more were refused for the test domain's DNS (%s) before the guard", c, replyLine(first[OutcomeInconclusive]))
		}
		if d := counts[OutcomeRelayDeferred]; d > 0 {
			refused := ""
			if r := counts[OutcomeRefused]; r > 0 {
				refused = fmt.Sprintf("%d relay attempts refused, ", r)
			}
			return VerdictClosed, QualifierDeferred, fmt.Sprintf("%s%d deferred by the relay guard (%s): defer_unauth_destination, or reject_unauth_destination under soft_bounce = yes; the guard let none through, the client is only told to try again later%s",
				refused, d, replyLine(first[OutcomeRelayDeferred]), extra)
		}
		return VerdictClosed, "", fmt.Sprintf("every relay attempt was refused (%d)%s", counts[OutcomeRefused], extra)
	case counts[OutcomeError] == n:
		return VerdictError, "", "no attempt got an SMTP answer: " + firstLine(first[OutcomeError].Text)
	}
	var why []string
	if c := counts[OutcomeInconclusive]; c > 0 {
		why = append(why, fmt.Sprintf("%d refused for the test domain's DNS, not by the relay guard (%s): reject_unknown_recipient_domain and the reserved test domain without usable DNS; a real relay target would pass",
			c, replyLine(first[OutcomeInconclusive])))
	}
	if c := counts[OutcomeDeferred]; c > 0 {
		why = append(why, fmt.Sprintf("%d deferred (%s): a temporary failure (greylisting, a lookup or policy service failing) is not a refusal", c, replyLine(first[OutcomeDeferred])))
	}
	if c := counts[OutcomeAuthRequired]; c > 0 {
		why = append(why, fmt.Sprintf("%d need authentication (530): relay without credentials was not accepted; authenticated relay was not tested", c))
	}
	if c := counts[OutcomeError]; c > 0 {
		why = append(why, fmt.Sprintf("%d without an answer (%s)", c, firstLine(first[OutcomeError].Text)))
	}
	return VerdictUnknown, "", "nothing accepted, but not every relay attempt was refused: " + strings.Join(why, "; ")
}

// replyLine is "454 4.7.1 text" on one line.
func replyLine(r AttemptResult) string {
	s := strconv.Itoa(r.Code)
	if r.EnhancedCode != "" {
		s += " " + r.EnhancedCode
	}
	if t := firstLine(r.Text); t != "" {
		s += " " + t
	}
	return s
}

// guardRefusals counts evidence attempts the relay guard itself refused
// ("Relay access denied", smtpd_check.c's text for
// reject_unauth_destination and defer_unauth_destination).
func guardRefusals(rs []AttemptResult) int {
	n := 0
	for _, r := range rs {
		if isEvidence(r) && r.Stage == StageRcpt && r.Code >= 400 && relayDeniedRE().MatchString(r.Text) {
			n++
		}
	}
	return n
}
