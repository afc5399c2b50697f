package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
)

// Every finding's words and fix are checked against the relay model before
// they are shown (issue 7, "never a silent all-clear"):
//
//   - A finding that says an untrusted client relays ("lets anyone
//     relay") keeps that claim only when the model has an untrusted
//     request that an exposed listener accepts; otherwise it says what
//     the setting would do, and is not critical.
//   - A fix is applied to a copy of the configuration in memory
//     (simulate), the relay model and the rule run again on the copy, and
//     the commands are printed only when the finding is gone, no listener
//     becomes broken (smtpd's startup guard, every RCPT failing) or more
//     open, and every trusted client (this host over loopback, mynetworks,
//     authenticated clients) that relayed before still does, unless the
//     fix removed that trust on purpose (the class is gone from the
//     model). A fix that fails says why instead.

// noVerifiedFix is the message suffix of a finding whose fix failed.
const noVerifiedFix = "no verified automatic fix is available"

// relayNeutral are settings the relay model never reads, directly or
// through another setting's value: a fix that edits only these keeps the
// relay analyses as they are (TestRelayNeutralUnread keeps the list
// honest).
var relayNeutral = map[string]bool{
	"smtpd_banner": true, "disable_vrfy_command": true, "smtpd_tls_auth_only": true,
	"broken_sasl_auth_clients": true, "smtpd_sender_login_maps": true,
}

// neutralReaders are the parameters whose defaults refer to a
// relayNeutral setting and that the relay model does not read either
// (postscreen's banner and VRFY switch, proxymap's list of tables).
var neutralReaders = map[string]bool{
	"postscreen_disable_vrfy_command": true, "postscreen_greet_banner": true, "proxy_read_maps": true,
}

// verifier caches the patched configurations and their analyses: findings
// of several rules often carry the same commands.
type verifier struct {
	c     *Context
	cache map[string]*patched
	// after are the findings of one rule on one patched configuration,
	// and before how many findings of that rule each scope had: a rule
	// that reports every entry of a long list carries the same fix on
	// every finding, and must not run again, nor be searched, per finding.
	after  map[string]*afterIndex
	before map[string]map[scopeKey]int
	// model is the relay model's own analysis of the unpatched
	// configuration, computed only when a comparison with the context's
	// analyses fails (they may be hand-made, or from other options).
	model []*relay.Analysis
}

type patched struct {
	sim      *simulated
	analyses []*relay.Analysis
	err      error
	// compared: why holds compareAnalyses' answer for this patch.
	compared bool
	why      string
}

// scopeKey is where a finding is: its listener and parameter.
type scopeKey struct{ service, parameter string }

// afterIndex indexes a rule's findings on a patched configuration: the
// first per scope, and the first per scope and message.
type afterIndex struct {
	first map[scopeKey]Finding
	byMsg map[scopeKey]map[string]Finding
}

func indexFindings(fs []Finding) *afterIndex {
	x := &afterIndex{first: map[scopeKey]Finding{}, byMsg: map[scopeKey]map[string]Finding{}}
	for _, f := range fs {
		k := scopeKey{f.Service, f.Parameter}
		if _, ok := x.first[k]; !ok {
			x.first[k] = f
			x.byMsg[k] = map[string]Finding{}
		}
		if _, ok := x.byMsg[k][f.Message]; !ok {
			x.byMsg[k][f.Message] = f
		}
	}
	return x
}

// base are the analyses of the unpatched configuration.
func (v *verifier) base() []*relay.Analysis {
	if v.c.Analyses != nil {
		return v.c.Analyses
	}
	return v.modelBase()
}

func (v *verifier) modelBase() []*relay.Analysis {
	if v.model == nil {
		v.model = relay.Analyze(v.c.Cfg, v.c.Relay)
	}
	return v.model
}

func (v *verifier) patch(cmds []string) *patched {
	key := strings.Join(cmds, "\x00")
	if p, ok := v.cache[key]; ok {
		return p
	}
	p := &patched{}
	p.sim, p.err = simulate(v.c.Cfg, cmds)
	if p.err == nil {
		p.analyses = v.reanalyze(p.sim, v.base())
	}
	if v.cache == nil {
		v.cache = map[string]*patched{}
	}
	v.cache[key] = p
	return p
}

// reanalyze runs the relay model on the patched configuration, again only
// for the listeners whose settings the commands changed: a -o edit
// concerns only its entry (and, behind postscreen, the pass service), a
// relay-neutral setting none. The others keep their analyses, bound to the
// patched configuration's entries.
func (v *verifier) reanalyze(s *simulated, base []*relay.Analysis) []*relay.Analysis {
	if s.master || !v.allNeutral(s.main) {
		return relay.Analyze(s.cfg, v.c.Relay)
	}
	old := map[string]*relay.Analysis{}
	for _, a := range base {
		if a != nil {
			old[a.Listener.Key] = a
		}
	}
	touched := func(svc *postconf.Service) bool { return svc != nil && !v.allNeutral(s.svc[svc.Key()]) }
	var out []*relay.Analysis
	for _, l := range relay.Listeners(s.cfg) {
		b := old[l.Key]
		if b == nil || touched(l.Front) || touched(l.Service) {
			out = append(out, relay.AnalyzeListener(s.cfg, l, v.c.Relay))
			continue
		}
		cp := *b
		cp.Listener = l
		out = append(out, &cp)
	}
	return out
}

// allNeutral reports whether none of names can change a relay decision:
// each is relay-neutral, or a name postconf does not know in the
// unpatched configuration (an "unused parameter" nothing refers to, such
// as a misspelt one the fix removes).
func (v *verifier) allNeutral(names map[string]bool) bool {
	for n := range names {
		if !relayNeutral[n] && v.c.Cfg.Known(n) {
			return false
		}
	}
	return true
}

// verifyFix returns "" when f's remediation passes, else why it does not.
// fs are the findings the rule made on the original configuration.
func (v *verifier) verifyFix(f Finding, check CheckFunc, fs []Finding) string {
	p := v.patch(f.Remediation)
	if p.err != nil {
		return "the fix could not be checked: " + p.err.Error()
	}
	key := f.ID + "\x00" + strings.Join(f.Remediation, "\x00")
	after, ok := v.after[key]
	if !ok {
		// One rule runs on the copy and reads a handful of parameters:
		// the audit's presized memo (Context.param) would be mostly empty.
		ctx := &Context{Cfg: p.sim.cfg, Analyses: p.analyses, Policy: v.c.Policy, Relay: v.c.Relay, params: make(map[paramKey]int32, 8)}
		after = indexFindings(check(ctx))
		if v.after == nil {
			v.after = map[string]*afterIndex{}
		}
		v.after[key] = after
	}
	before, ok := v.before[f.ID]
	if !ok {
		before = map[scopeKey]int{}
		for _, b := range fs {
			before[scopeKey{b.Service, b.Parameter}]++
		}
		if v.before == nil {
			v.before = map[string]map[scopeKey]int{}
		}
		v.before[f.ID] = before
	}
	if g, ok := stillThere(f, before, after); ok {
		msg := "the fix does not remove the finding"
		if g.Message != f.Message {
			msg += " (afterwards: " + shorten(g.Message, 200) + ")"
		}
		return msg
	}
	if !p.compared {
		mynet := p.sim.edits("mynetworks")
		why := compareAnalyses(v.base(), p.analyses, mynet)
		if why != "" && v.c.Analyses != nil {
			// Compare like with like: the model's own view of the
			// unpatched configuration (the context's analyses may be
			// hand-made).
			why = compareAnalyses(v.modelBase(), v.reanalyze(p.sim, v.modelBase()), mynet)
		}
		p.compared, p.why = true, why
	}
	return p.why
}

// stillThere finds f among the findings after the fix: same rule,
// listener and parameter, and the same words when the rule reported more
// than one such finding before.
func stillThere(f Finding, before map[scopeKey]int, after *afterIndex) (Finding, bool) {
	k := scopeKey{f.Service, f.Parameter}
	if before[k] <= 1 {
		a, ok := after.first[k]
		return a, ok
	}
	a, ok := after.byMsg[k][f.Message]
	return a, ok
}

// compareAnalyses returns why the patched analyses are worse than the
// original ones, or "". mynet says the fix narrows mynetworks on purpose.
func compareAnalyses(before, after []*relay.Analysis, mynet bool) string {
	old := map[string]*relay.Analysis{}
	for _, a := range before {
		if a != nil {
			old[a.Listener.Key] = a
		}
	}
	for _, a := range after {
		if a == nil {
			continue
		}
		key := a.Listener.Key
		b := old[key]
		if isBroken(a) && (b == nil || !isBroken(b)) {
			return fmt.Sprintf("the fix would break %s: %s", key, shorten(brokenReason(a), 200))
		}
		if moreOpen(b, a) {
			return fmt.Sprintf("the fix would leave %s %s for untrusted clients: %s", key, exposedVerdict(a), shorten(a.Reason, 200))
		}
		if b == nil {
			continue
		}
		if why := lostTrust(b, a, mynet); why != "" {
			return why
		}
	}
	return ""
}

func isBroken(a *relay.Analysis) bool {
	return a.Verdict == relay.Broken || a.WouldBe == relay.Broken || !a.Guard.OK
}

func brokenReason(a *relay.Analysis) string {
	if !a.Guard.OK && a.Guard.Reason != "" {
		return a.Guard.Reason
	}
	return a.Reason
}

// exposedVerdict is what untrusted clients get, or would get if a
// loopback-only listener were exposed.
func exposedVerdict(a *relay.Analysis) relay.Verdict {
	if a.Listener.LoopbackOnly && a.WouldBe != "" {
		return a.WouldBe
	}
	return a.Verdict
}

// moreOpen reports whether the patched analysis a lets untrusted clients
// further than b did: open where it was not, or undecidable where every
// attempt was refused. (A broken listener that becomes undecidable is not
// worse: the model could not look past the breakage before.)
func moreOpen(b, a *relay.Analysis) bool {
	av := exposedVerdict(a)
	bv := relay.Closed
	if b != nil {
		bv = exposedVerdict(b)
	}
	switch av {
	case relay.Open:
		return bv != relay.Open
	case relay.Unknown:
		return bv == relay.Closed
	}
	return false
}

// trustedCase reports whether a case is one of the clients a site trusts
// on purpose: this host over loopback, and the model's trusted classes.
func trustedCase(cs relay.Case) bool { return cs.Client.Trusted || cs.Client.Class == "loopback" }

// lostTrust returns why a client the configuration trusts, and that
// relayed through the listener before the fix, no longer does after it.
//
// Trusted are the mynetworks and authenticated classes of the model, and
// this host (loopback or its own address) where mynetworks covers it or a
// trust restriction (permit_mynetworks, permit_sasl_authenticated, a
// client certificate) let it through. This host relaying only through the
// hole the finding is about (a HELO or sender OK, relay_domains matching
// everything) is not trust. A class the patched model no longer has (a
// mynetworks entry the fix removed, SASL turned off) is the fix's purpose,
// and so, for a fix that narrows mynetworks, is the loss of mynetworks
// trust by any client but loopback.
func lostTrust(before, after *relay.Analysis, mynet bool) string {
	// Indexes into after.Cases by class and trick: a Case (272 bytes)
	// as a map value, and a key concatenated per case, were allocated
	// one by one.
	type classTrick struct{ class, trick string }
	now := make(map[classTrick]int, 8)
	for i, cs := range after.Cases {
		if trustedCase(cs) {
			now[classTrick{cs.Client.Class, cs.Trick}] = i
		}
	}
	var nets []netip.Prefix
	for _, cs := range before.Cases {
		if p, ok := mynetworksClass(cs.Client.Class); ok {
			nets = append(nets, p)
		}
	}
	for _, cs := range before.Cases {
		if !trustedCase(cs) || cs.Decision.Result != relay.Accept || !trustedByConfig(cs, nets) {
			continue
		}
		if mynet && cs.Client.Class != "loopback" {
			continue
		}
		i, ok := now[classTrick{cs.Client.Class, cs.Trick}]
		if !ok || after.Cases[i].Decision.Result == relay.Accept {
			continue
		}
		n := after.Cases[i]
		return fmt.Sprintf("the fix would stop the trusted %s client (%s) from relaying through %s: %s", cs.Client.Class, cs.Client.Addr, after.Listener.Key, shorten(n.Decision.Reason, 200))
	}
	return ""
}

// trustRestrictions grant relay for who the client is, not for what it
// sends.
var trustRestrictions = map[string]bool{
	"permit_mynetworks": true, "permit_sasl_authenticated": true,
	"permit_tls_clientcerts": true, "permit_tls_all_clientcerts": true,
}

func trustedByConfig(cs relay.Case, nets []netip.Prefix) bool {
	if _, ok := mynetworksClass(cs.Client.Class); ok || cs.Client.Class == "sasl-authenticated" {
		return true
	}
	for _, p := range nets {
		if p.Contains(cs.Client.Addr) {
			return true
		}
	}
	for _, st := range cs.Decision.Trace {
		name, _, _ := strings.Cut(strings.ToLower(st.Restriction), " ")
		if trustRestrictions[name] && strings.EqualFold(st.Outcome, "permit") {
			return true
		}
	}
	return false
}

// mynetworksClass parses the model's "mynetworks 10.0.0.0/8" (or
// "mynetworks [2001:db8::]/32") class names.
func mynetworksClass(class string) (netip.Prefix, bool) {
	e, ok := strings.CutPrefix(class, "mynetworks ")
	if !ok {
		return netip.Prefix{}, false
	}
	e = strings.Replace(strings.TrimPrefix(e, "["), "]", "", 1)
	p, err := netip.ParsePrefix(e)
	if err != nil {
		if a, err := netip.ParseAddr(e); err == nil {
			return netip.PrefixFrom(a, a.BitLen()), true
		}
		return netip.Prefix{}, true // still a mynetworks class
	}
	return p, true
}

// ---- claims ----

// relayClaims are the words of findings that say an untrusted client
// relays, and how to say it when the model finds none that does.
var relayClaims = []struct{ claim, hedged string }{
	{"permit_mynetworks lets anyone relay", "permit_mynetworks would let anyone relay"},
	{"lets anyone relay", "would let anyone relay"},
	{"this host relays for anyone", "this host would relay for anyone"},
	{"relays mail for untrusted Internet clients", "would relay mail for untrusted Internet clients"},
}

// untrustedRelay reports whether an untrusted client relays through a
// listener Internet clients reach: the one named by service, or any when
// service is "" (a main.cf setting). unknown is set when a relevant
// listener's verdict is unknown.
func untrustedRelay(as []*relay.Analysis, service string) (relays, unknown bool) {
	for _, a := range as {
		if a == nil || a.Listener.LoopbackOnly || (service != "" && a.Listener.Key != service) {
			continue
		}
		if a.Verdict == relay.Open {
			return true, unknown
		}
		if a.Verdict == relay.Unknown {
			unknown = true
		}
		for _, cs := range a.Cases {
			if !trustedCase(cs) && cs.Decision.Result == relay.Accept {
				return true, unknown
			}
		}
	}
	return false, unknown
}

// checkClaim rewrites f's claim that anyone relays when the model finds no
// untrusted client that does, and caps its severity below critical.
func (v *verifier) checkClaim(f *Finding) {
	for _, rc := range relayClaims {
		if !strings.Contains(f.Message, rc.claim) {
			continue
		}
		relays, unknown := untrustedRelay(v.base(), f.Service)
		if relays {
			return
		}
		f.Message = strings.Replace(f.Message, rc.claim, rc.hedged, 1)
		where := "on any listener Internet clients reach"
		if f.Service != "" {
			where = "on " + f.Service
		}
		if unknown {
			f.Message += "; the relay model cannot decide whether an untrusted client relays " + where + " today (see PFA-RELAY-004)"
		} else {
			f.Message += "; the relay model finds no untrusted client that relays " + where + " today"
		}
		if f.Severity > High {
			f.Severity = High
		}
		f.severitySet = true
		return
	}
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
