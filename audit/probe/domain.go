package probe

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// ReservedDomains are the third-party test domains the probe may use, in
// order of preference: RFC 2606 second-level names first (in the public
// DNS with a null MX, RFC 7505), then names under reserved top-level
// domains (NXDOMAIN). The relay model (audit/relay) tries the same list.
var ReservedDomains = []string{"example.net", "example.com", "example.org", "relaytest.example", "relaytest.test", "relaytest.invalid"}

// domainChoice is the test domain a vantage uses and how it was chosen.
type domainChoice struct {
	test, sender string
	note         string
	checks       []AttemptResult
	warnings     []string
	cands        []string        // candidates in order, the server's own names left out
	hosted       map[string]bool // shown hosted by the replies
	err          error           // the first session failed during the checks
}

// next returns the next candidate after test that is not known hosted.
func (d *domainChoice) next() string {
	d.hosted[d.test] = true
	for _, c := range d.cands {
		if !d.hosted[c] && c != d.test {
			return c
		}
	}
	return ""
}

// senderFor keeps the sender domain apart from the test domain and from
// domains shown hosted.
func (d *domainChoice) senderFor(test string) string {
	if d.sender != "" && d.sender != test && !d.hosted[d.sender] {
		return d.sender
	}
	for _, c := range ReservedDomains {
		if c != test && !d.hosted[c] {
			return c
		}
	}
	return DefaultSenderDomain
}

// ownName reports whether dom is the server's own name, its mail domain
// or a parent of either: the server is the final destination there, so it
// can never be the third party.
func ownName(dom string, names []string) bool {
	dom = strings.ToLower(strings.TrimSuffix(dom, "."))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == "" || strings.HasPrefix(n, "[") {
			continue
		}
		if n == dom || strings.HasSuffix(n, "."+dom) {
			return true
		}
	}
	return false
}

// controlLocal is an improbable local part: no mailbox has it, so only a
// catch-all or a relay accepts it.
func controlLocal() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "pfaudit-control-" + hex.EncodeToString(b)
}

// chooseDomain picks the test domain X so that it is foreign to the
// server (relay-probes.md: a relay attempt is evidence only when its
// recipient domain is foreign). It starts from opt.TestDomain (the
// configuration's choice in an audit, else example.net), leaves out the
// server's own names (EHLO/banner host, its domain and their parents),
// and asks control RCPTs with an improbable local part on s:
//
//   - "User unknown in local/virtual/relay recipient table" or 5.1.1
//     "Recipient address rejected": X is hosted here; next candidate;
//   - 250: a hosted catch-all, or an open relay. The next foreign-looking
//     candidate decides: refused there means X is hosted (use that one),
//     accepted there too means the server takes any domain;
//   - anything else (refused, deferred): X is foreign as far as the
//     server says; it is used.
//
// With opt.TestDomainFixed nothing is switched; the same controls make a
// warning when the server hosts X (and mark X hosted, see runVantage).
func chooseDomain(s *session, opt Options, host, banner string) *domainChoice {
	d := &domainChoice{hosted: map[string]bool{}, sender: opt.SenderDomain}
	bannerHost, _, _ := strings.Cut(banner, " ")
	own := []string{host, bannerHost, s.info.Host}
	for _, n := range []string{host, bannerHost, s.info.Host} {
		if !strings.HasPrefix(n, "[") && strings.Contains(n, ".") {
			own = append(own, DomainOf(n))
		}
	}
	control := func(dom string) (AttemptResult, error) {
		sender := d.senderFor(dom)
		a := Attempt{Variant: "control", Class: ClassRelay, HELO: s.cfg.helo,
			Mail: "MAIL FROM:<" + DefaultSender + "@" + sender + ">", Rcpt: "RCPT TO:<" + controlLocal() + "@" + dom + ">"}
		res, err := s.run(a)
		res.Session = s.cfg.no
		if res.Outcome == "" {
			res = failed(a, err)
		}
		d.checks = append(d.checks, res)
		return res, err
	}
	if opt.TestDomainFixed {
		// The user's domain is kept; the controls only say whether the
		// server hosts it, for the warning (and so that accepting mail
		// there is not taken for relay).
		x := opt.TestDomain
		d.test = x
		d.sender = d.senderFor(x)
		d.note = "given with --test-domain"
		if ownName(x, own) {
			d.hosted[x] = true
			d.warnings = append(d.warnings, fmt.Sprintf("the test domain %s is the server's own name or a parent of it (%s): the server is the final destination there, so those attempts say nothing about relay", x, host))
			return d
		}
		res, err := control(x)
		if err != nil {
			d.err = err
			return d
		}
		switch res.Outcome {
		case OutcomeHosted:
			d.hosted[x] = true
			d.warnings = append(d.warnings, fmt.Sprintf("the server's replies say it hosts the test domain %s (%s): those attempts say nothing about relay; choose another --test-domain (or leave it out: the probe then picks a foreign one)", x, replyLine(res)))
		case OutcomeAccepted:
			for _, o := range ReservedDomains {
				if strings.EqualFold(o, x) || ownName(o, own) {
					continue
				}
				res2, err := control(o)
				if err != nil {
					d.err = err
					return d
				}
				switch res2.Outcome {
				case OutcomeHosted:
					continue
				case OutcomeAccepted:
					return d
				}
				d.hosted[x] = true
				d.warnings = append(d.warnings, fmt.Sprintf("the server accepts an improbable user at the test domain %s but not at %s (%s): it hosts %s with a catch-all, so accepting mail there is not relay; choose another --test-domain (or leave it out)", x, o, replyLine(res2), x))
				return d
			}
		}
		return d
	}
	var skipped []string
	for _, c := range append([]string{opt.TestDomain}, ReservedDomains...) {
		dup := false
		for _, x := range d.cands {
			dup = dup || strings.EqualFold(x, c)
		}
		if dup {
			continue
		}
		if ownName(c, own) {
			skipped = append(skipped, c+" is the server's own name or a parent of it")
			continue
		}
		d.cands = append(d.cands, c)
	}
	d.note = opt.TestDomainNote
	if d.note == "" {
		d.note = "no configuration at hand: chosen from the server's replies"
	}
	if len(skipped) > 0 {
		d.note = join(d.note, strings.Join(skipped, "; "))
	}
	if len(d.cands) == 0 {
		d.test, d.sender = opt.TestDomain, d.senderFor(opt.TestDomain)
		return d
	}
	pick := func(c, why string) *domainChoice {
		d.test = c
		d.sender = d.senderFor(c)
		d.note = join(d.note, why)
		return d
	}
	for i, c := range d.cands {
		res, err := control(c)
		if err != nil {
			d.err = err
			return pick(c, "the control RCPT failed ("+firstLine(res.Text)+"): "+c+" used unchecked")
		}
		switch res.Outcome {
		case OutcomeHosted:
			d.hosted[c] = true
			d.note = join(d.note, fmt.Sprintf("%s is hosted here (%s)", c, replyLine(res)))
			continue
		case OutcomeAccepted:
			for _, o := range d.cands[i+1:] {
				res2, err := control(o)
				if err != nil {
					d.err = err
					return pick(c, "a control RCPT to "+c+" was accepted; the comparison failed")
				}
				switch res2.Outcome {
				case OutcomeHosted:
					d.hosted[o] = true
					continue
				case OutcomeAccepted:
					return pick(c, fmt.Sprintf("control RCPTs to improbable users at %s and %s were both accepted: the server takes any domain, %s is used", c, o, c))
				}
				d.hosted[c] = true
				return pick(o, fmt.Sprintf("a control RCPT to an improbable user at %s was accepted but at %s not (%s): %s is hosted here (a catch-all), %s is used", c, o, replyLine(res2), c, o))
			}
			return pick(c, "a control RCPT to "+c+" was accepted and no other reserved domain could be compared")
		}
		return pick(c, fmt.Sprintf("a control RCPT to %s was answered as for a foreign domain (%s)", c, replyLine(res)))
	}
	return pick(d.cands[0], "every reserved test domain is hosted here")
}
