package rules

import (
	"strings"
	"sync"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	rlist "github.com/pfaudit/pfaudit/postconf/restriction"
)

// splitList splits a Postfix list value the way mystrtokq(" ,\t\r\n", "{}")
// does for restriction lists and match lists (postconf(5) "3.0 and later: a
// list element may be enclosed in {}"): separators are commas and
// whitespace, and a {...} group, which may hold both, stays one element,
// braces included.
func splitList(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && isSep(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		start, depth := i, 0
		for i < len(s) && (depth > 0 || !isSep(s[i])) {
			switch s[i] {
			case '{':
				depth++
			case '}':
				if depth > 0 {
					depth--
				}
			}
			i++
		}
		out = append(out, s[start:i])
	}
	return out
}

func isSep(c byte) bool {
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// restriction is one element of an smtpd restriction list with its
// argument.
type restriction struct {
	Name  string // as written; for a bare table, the table
	Key   string // lower case: smtpd compares names case-insensitively; "" for a bare table
	Arg   string // table, service, DNS domain or seconds, for those that take one
	Index int    // 1-based position among the list's restrictions
	Warn  bool   // preceded by warn_if_reject: can no longer reject
	// Table is a bare type:table: the check_*_access of the list it is
	// evaluated for (check_recipient_access in the RCPT lists;
	// restriction.List.BareTable).
	Table bool
}

// Text is the restriction as written, with its argument.
func (r restriction) Text() string {
	if r.Arg != "" {
		return r.Name + " " + r.Arg
	}
	return r.Name
}

// parseRestrictions splits a restriction list value into restrictions as
// smtpd_check_parse() and generic_checks() read it.
//
// The result is shared: several rules parse the same lists, a list of a
// million entries four times per audit. Callers must not modify it.
func parseRestrictions(v string) []restriction {
	parsed.Lock()
	if rs, ok := parsed.m[v]; ok {
		parsed.Unlock()
		return rs
	}
	parsed.Unlock()
	rs := parseRestrictionsUncached(v)
	parsed.Lock()
	if len(parsed.m) >= 256 {
		clear(parsed.m)
	}
	parsed.m[v] = rs
	parsed.Unlock()
	return rs
}

var parsed = struct {
	sync.Mutex
	m map[string][]restriction
}{m: map[string][]restriction{}}

func parseRestrictionsUncached(v string) []restriction {
	var out []restriction
	warn := false
	for _, e := range rlist.Parse(v) {
		if !e.Table && e.Key() == "warn_if_reject" {
			warn = true
			continue
		}
		r := restriction{Name: e.Name, Key: e.Key(), Arg: e.Arg, Index: len(out) + 1, Warn: warn, Table: e.Table}
		warn = false
		out = append(out, r)
	}
	return out
}

// Restriction kinds for relay reasoning.
type kind int

const (
	kOther   kind = iota
	kGuard        // refuses an untrusted client's remote recipient
	kTrusted      // permits only clients trusted by configuration or login
	kRisky        // may permit an untrusted client
)

// isGuard reports whether a restriction refuses an untrusted client's
// remote recipient: the names smtpd's startup check accepts as relay
// guards (postconf/restriction), except check_relay_domains, which also
// permits clients whose host name (DNS the client controls) matches
// relay_domains and is a risky permit here.
func isGuard(key string) bool { return rlist.IsGuard(key) && !riskyPermits[key] }

// trusted permits let through only what the configuration trusts: a
// client in mynetworks, a SASL login, a certificate in relay_clientcerts,
// or a recipient this host may receive for anyway.
var trusted = map[string]bool{
	"permit_mynetworks": true, "permit_sasl_authenticated": true,
	"permit_tls_clientcerts": true, "permit_auth_destination": true,
}

// accessMap reports whether key is a check_*_access restriction whose
// lookup key the client chooses or influences (everything except the
// certificate and SASL-login keyed ones).
func accessMap(key string) bool {
	if !strings.HasPrefix(key, "check_") || !strings.HasSuffix(key, "_access") {
		return false
	}
	return key != "check_ccert_access" && key != "check_sasl_access" && key != "check_etrn_access"
}

// riskyPermits are the built-in restrictions that can return PERMIT for a
// client nobody vouched for (SMTPD_ACCESS_README; postconf(5) for each).
var riskyPermits = map[string]bool{
	"permit": true, "permit_mx_backup": true, "permit_tls_all_clientcerts": true,
	"permit_inet_interfaces": true, "permit_naked_ip_address": true,
	"permit_dnswl_client": true, "permit_rhswl_client": true, "check_relay_domains": true,
	"check_policy_service": true,
}

// scope is everything needed to reason about one listener's lists.
type listScope struct {
	c       *Context
	svc     *postconf.Service
	classes map[string]bool
}

func (c *Context) scopeFor(svc *postconf.Service) *listScope {
	if s, ok := c.scopes[svc]; ok {
		return s
	}
	s := &listScope{c: c, svc: svc}
	for _, n := range postconf.SplitList(c.param(svc, "smtpd_restriction_classes").Value) {
		if s.classes == nil {
			s.classes = map[string]bool{} // most configurations have no classes
		}
		s.classes[n] = true
	}
	if c.scopes == nil {
		c.scopes = map[*postconf.Service]*listScope{}
	}
	c.scopes[svc] = s
	return s
}

// isClass reports whether name is a restriction class in this scope.
func (s *listScope) isClass(name string) bool { return s.classes[name] }

// classList returns the restrictions of class name.
func (s *listScope) classList(name string) []restriction {
	return parseRestrictions(s.c.param(s.svc, name).Value)
}

// kindOf classifies r; restriction classes are followed (depth-bounded:
// smtpd itself refuses recursive classes at startup).
func (s *listScope) kindOf(r restriction, depth int) kind {
	switch {
	case r.Warn:
		return kOther
	case r.Table:
		// A bare table is an access map whose key the client chooses
		// (check_recipient_access in the RCPT lists).
		return kRisky
	case isGuard(r.Key):
		return kGuard
	case trusted[r.Key]:
		return kTrusted
	case riskyPermits[r.Key] || accessMap(r.Key):
		return kRisky
	case s.isClass(r.Name):
		if depth > 8 {
			return kRisky
		}
		a := s.analyze(s.classList(r.Name), depth+1)
		switch {
		case a.Guard != nil && len(a.Risky) == 0:
			return kGuard
		case len(a.Risky) > 0 || a.Truncated:
			return kRisky
		}
		return kOther
	}
	return kOther
}

// listAnalysis is the structure of one restriction list for relay.
type listAnalysis struct {
	// Guard is the first reachable guard, nil when none.
	Guard *restriction
	// Risky are the restrictions before Guard that may permit an
	// untrusted client.
	Risky []restriction
	// Truncated: a bare permit ends the list before any guard.
	Truncated bool
}

// Protects reports whether the list refuses an untrusted client's remote
// recipient whatever its tables say.
func (a listAnalysis) Protects() bool { return a.Guard != nil && len(a.Risky) == 0 }

func (s *listScope) analyze(rs []restriction, depth int) listAnalysis {
	var a listAnalysis
	for i := range rs {
		switch s.kindOf(rs[i], depth) {
		case kGuard:
			a.Guard = &rs[i]
			return a
		case kRisky:
			a.Risky = append(a.Risky, rs[i])
			if rs[i].Key == "permit" {
				a.Truncated = true
				return a
			}
		}
	}
	return a
}

// relayLists is the pair of RCPT lists of a listener.
type relayLists struct {
	scope       *listScope
	Relay, Rcpt param
	RelayA      listAnalysis
	RcptA       listAnalysis
}

func (c *Context) relayLists(l relay.Listener) relayLists {
	if rl, ok := c.lists[l.Service]; ok {
		return rl
	}
	s := c.scopeFor(l.Service)
	rl := relayLists{scope: s, Relay: c.param(l.Service, "smtpd_relay_restrictions"),
		Rcpt: c.param(l.Service, "smtpd_recipient_restrictions")}
	rl.RelayA = s.analyze(parseRestrictions(rl.Relay.Value), 0)
	rl.RcptA = s.analyze(parseRestrictions(rl.Rcpt.Value), 0)
	if c.lists == nil {
		c.lists = map[*postconf.Service]relayLists{}
	}
	c.lists[l.Service] = rl
	return rl
}

// Protected reports whether one of the two lists refuses untrusted relay
// regardless of table contents: the recipient is refused when either list
// refuses (SMTPD_ACCESS_README).
func (rl relayLists) Protected() bool { return rl.RelayA.Protects() || rl.RcptA.Protects() }

// exposedRisky returns the risky restrictions that decide relay: those
// before the guard in a list, when neither list protects.
func (rl relayLists) exposedRisky() []listedRestriction {
	if rl.Protected() {
		return nil
	}
	var out []listedRestriction
	for _, r := range rl.RelayA.Risky {
		out = append(out, listedRestriction{r, rl.Relay})
	}
	for _, r := range rl.RcptA.Risky {
		out = append(out, listedRestriction{r, rl.Rcpt})
	}
	return out
}

type listedRestriction struct {
	restriction
	List param
}

// defaultRelayList is the smtpd_relay_restrictions default of
// compatibility_level >= 1 with the 5xx guard (COMPATIBILITY_README).
var defaultRelayList = []string{"permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"}

// safeRelayList is the one fix pfaudit proposes for a listener's
// smtpd_relay_restrictions, computed from the current list so that every
// rule asking for a relay guard proposes the same value:
//   - an empty list becomes permit_mynetworks, permit_sasl_authenticated,
//     reject_unauth_destination;
//   - defer_unauth_destination and check_relay_domains become
//     reject_unauth_destination (a 4xx invites retries, postconf(5);
//     check_relay_domains trusts client names and is removed in 3.9);
//   - when something that may permit an untrusted client comes before the
//     guard (or there is no guard), reject_unauth_destination is placed
//     right before it, preceded by the trusted permits (permit_mynetworks,
//     permit_sasl_authenticated, ...) of that part of the list so that
//     they keep working: moved there when it is the guard, inserted
//     otherwise (a `reject` guard keeps its meaning and place).
func (s *listScope) safeRelayList(v string) []string {
	rs := parseRestrictions(v)
	if len(rs) == 0 {
		return append([]string(nil), defaultRelayList...)
	}
	type item struct {
		text string
		r    restriction
	}
	items := make([]item, 0, len(rs)+1)
	for _, r := range rs {
		if (r.Key == "defer_unauth_destination" || r.Key == "check_relay_domains") && !r.Warn {
			// check_relay_domains is gone in Postfix 3.9 (a server
			// error there) and trusts client host names before that.
			r.Name, r.Key = "reject_unauth_destination", "reject_unauth_destination"
		}
		t := r.Text()
		if r.Warn {
			t = "warn_if_reject " + t
		}
		items = append(items, item{t, r})
	}
	// warn_if_reject disarms a guard; with no other guard, re-arm it
	// rather than add a second one.
	armed := false
	for _, it := range items {
		if s.kindOf(it.r, 0) == kGuard {
			armed = true
		}
	}
	if !armed {
		for i, it := range items {
			if it.r.Warn && isGuard(it.r.Key) {
				items[i].r.Warn = false
				items[i].text = it.r.Text()
				break
			}
		}
	}
	firstRisky, guard := -1, -1
	for i, it := range items {
		k := s.kindOf(it.r, 0)
		if k == kGuard {
			guard = i
			break
		}
		if k == kRisky && firstRisky < 0 {
			firstRisky = i
		}
	}
	var out []string
	texts := func(its []item) {
		for _, it := range its {
			out = append(out, it.text)
		}
	}
	switch {
	case firstRisky < 0 && guard >= 0:
		texts(items)
		return out
	case firstRisky < 0:
		texts(items)
		return append(out, "reject_unauth_destination")
	}
	pre, rest := items, []item(nil)
	if guard >= 0 {
		pre, rest = items[:guard], items[guard:]
		if items[guard].r.Key == "reject_unauth_destination" {
			rest = items[guard+1:] // moved, not duplicated
		}
	}
	// Trusted permits keep working: they move in front of the guard, the
	// restrictions that could permit anyone go behind it.
	var trustedLater, tail []item
	for _, it := range pre[firstRisky:] {
		if s.kindOf(it.r, 0) == kTrusted {
			trustedLater = append(trustedLater, it)
		} else {
			tail = append(tail, it)
		}
	}
	texts(pre[:firstRisky])
	texts(trustedLater)
	out = append(out, "reject_unauth_destination")
	texts(tail)
	texts(rest)
	// A bare permit at the end does what the end of the list does.
	for len(out) > 1 && strings.EqualFold(out[len(out)-1], "permit") {
		out = out[:len(out)-1]
	}
	return out
}

// relayFix returns the command that gives l's smtpd_relay_restrictions a
// working 5xx guard in the scope its value comes from.
func (c *Context) relayFix(l relay.Listener) []string {
	rl := c.relayLists(l)
	want := rl.scope.safeRelayList(rl.Relay.Value)
	if sameList(parseRestrictionsText(rl.Relay.Value), want) {
		return nil
	}
	return c.setList(rl.Relay, want)
}

func parseRestrictionsText(v string) []string {
	var out []string
	for _, r := range parseRestrictions(v) {
		t := r.Text()
		if r.Warn {
			t = "warn_if_reject " + t
		}
		out = append(out, t)
	}
	return out
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// restrictionParams are the main.cf lists of smtpd restrictions.
var restrictionParams = []string{
	"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
	"smtpd_end_of_data_restrictions", "smtpd_etrn_restrictions",
}
