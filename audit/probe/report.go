package probe

import (
	"strconv"
	"strings"
)

// Outcomes of one attempt.
const (
	// OutcomeAccepted: RCPT answered 2xx (250, 251). The server took the
	// recipient; nothing more was sent.
	OutcomeAccepted = "accepted"
	// OutcomeDeferred: a 4xx reply. Not proof of closed: soft_bounce = yes
	// turns every reject into a 4xx, and defer_unauth_destination says 4xx.
	OutcomeDeferred = "deferred"
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
	// VerdictClosed: every attempt was refused with a 5xx.
	VerdictClosed = "closed"
	// VerdictUnknown: nothing accepted, but not everything refused either
	// (deferrals, authentication required, errors mixed with refusals), or
	// no untrusted vantage was available.
	VerdictUnknown = "unknown"
	// VerdictError: no attempt got an SMTP answer.
	VerdictError = "error"
)

// Stages name the command whose reply decided an attempt.
const (
	StageConnect  = "connect"
	StageGreeting = "greeting"
	StageHelo     = "helo"
	StageTLS      = "starttls"
	StageXClient  = "xclient"
	StageAuth     = "auth"
	StageMail     = "mail"
	StageRcpt     = "rcpt"
)

// Report is the result of Run: one entry per target, in the order given.
type Report struct {
	Targets []TargetReport `json:"targets"`
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
	// Verdict: open, closed, unknown or error (see the Verdict constants).
	Verdict string `json:"verdict"`
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

// verdictOf judges one vantage's attempts. Attempts of class local never
// make a verdict open (accepting mail for the server itself is not relay).
func verdictOf(rs []AttemptResult) string {
	counts := map[string]int{}
	n := 0
	for _, r := range rs {
		if r.Outcome == OutcomeAccepted && r.Class != ClassLocal {
			return VerdictOpen
		}
		if r.Outcome == OutcomeAccepted {
			continue // a local recipient accepted: neither open nor refused
		}
		counts[r.Outcome]++
		n++
	}
	switch {
	case n == 0 && len(rs) == 0:
		return VerdictError
	case counts[OutcomeRefused] == n && n > 0:
		return VerdictClosed
	case counts[OutcomeError] == n && n > 0:
		return VerdictError
	}
	return VerdictUnknown
}
