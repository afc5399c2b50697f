package relay

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
	rlist "github.com/pfaudit/pfaudit/postconf/restriction"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// Options tune the model.
type Options struct {
	// Tables controls how lookup tables are read (offline root, ...).
	Tables table.Options
	// LocalAddrs are this host's addresses when the configuration is the
	// live one (for inet_interfaces = all and default mynetworks); nil for
	// offline dumps.
	LocalAddrs []netip.Addr
	// Mynetworks, when not empty, replaces an unset mynetworks (the
	// host-derived default computed by the caller for this host).
	Mynetworks string
	// Context, when set, stops the analysis once it is done (SIGINT,
	// SIGTERM, a deadline): Analyze then returns at once, the listener
	// being analysed marked Unknown (never closed) with the reason, the
	// rest left out. Callers check
	// Context.Err() before they use the result. It lives here, and not in
	// Analyze's parameters, so that every caller of Analyze keeps working.
	Context context.Context
	// Share, when set, lets the models of one audit reuse each other's
	// address classes, lists and requests (share.go); nil shares nothing.
	Share *Share
}

// Cancelled reports whether the analysis must stop (Context is done).
func (o Options) Cancelled() bool { return o.Context != nil && o.Context.Err() != nil }

// Interruption says why the analysis stopped.
func (o Options) Interruption() string {
	if o.Context == nil {
		return "interrupted"
	}
	return "interrupted: " + context.Cause(o.Context).Error()
}

// Model decides RCPT requests for one smtpd listener's effective settings.
type Model struct {
	cfg      *postconf.Config
	svc      *postconf.Service
	opt      Options
	lists    map[string]*list
	classes  map[string]bool
	tables   map[string]tableOrErr
	mynet    hostMatcher
	mynetErr error
	local    domainMatcher // mydestination
	relayD   domainMatcher // relay_domains
	virtA    domainMatcher
	virtM    domainMatcher
	memo     map[string]string
	// unexpandable are the names in memo whose expansion failed (their
	// value there is ""), for expansionError.
	unexpandable map[string]bool
	decided      decisionMemo
	// mynetMemo: mynetworks' answers per client (matchMynetworks).
	mynetMemo map[mynetKey]hostMatch
	// steps holds the traces of every decision, one after another: a
	// listener's analysis makes hundreds of decisions of a few steps each,
	// and arrays of stepChunk steps (pushStep) cost a handful of
	// allocations instead of a few per decision.
	steps        []Step
	ifaceAddrs   []netip.Addr
	ifaceUnknown bool
	// front is the postscreen entry in front of svc, when there is one.
	front *postconf.Service
	// assumptions the model made, in the order made (deduplicated).
	assumptions []string
	// scope is the address-class part, perhaps shared (share.go);
	// captured collects the assumptions a shared computation makes.
	scope    *addrScope
	captured *[]string
	// parsed are the restriction lists parsed so far, by value
	// (parsedList).
	parsed map[string][]restriction
	// order is decideLists' answer, once worked out.
	order []decideList
	// notIn are notInMynetworks' texts per address (a listener has two
	// or three untrusted client addresses).
	notIn map[netip.Addr]string
}

// assume records an assumption a decision rests on.
func (m *Model) assume(a string) {
	if m.captured != nil {
		*m.captured = append(*m.captured, a)
	}
	for _, x := range m.assumptions {
		if x == a {
			return
		}
	}
	m.assumptions = append(m.assumptions, a)
}

// Assumptions are the assumptions the model's decisions rest on so far.
func (m *Model) Assumptions() []string { return m.assumptions }

type tableOrErr struct {
	t   table.Table
	err error
}

// list is an expanded restriction list.
type list struct {
	Param string
	Items []restriction
	Pos   diag.Pos
	Src   postconf.Source
}

// NewModel prepares the model of svc's scope (nil: main.cf only).
func NewModel(cfg *postconf.Config, svc *postconf.Service, opt Options) *Model {
	// The expansion memo is sized for the parameters an analysis reads
	// (about 30): grown from empty it was rehashed several times per
	// model; sized for 64 it had 128 slots (a map for 48 has 64).
	m := &Model{cfg: cfg, svc: svc, opt: opt, lists: map[string]*list{}, tables: map[string]tableOrErr{}, memo: make(map[string]string, 48)}
	m.classes = map[string]bool{}
	for _, c := range postconf.SplitList(m.expand("smtpd_restriction_classes")) {
		m.classes[c] = true
	}
	mn, mnPos := m.value("mynetworks")
	if v, _ := m.cfg.Raw(svc, "mynetworks"); v.Source == postconf.SourceDefault && opt.Mynetworks != "" {
		mn = opt.Mynetworks
	}
	if defaults.IsSymbolic(mn) {
		// A dump from another host: its interfaces are unknown. Every
		// mynetworks_style includes loopback; an Internet client is not on
		// the server's own networks (PFA-RELAY-011 covers the styles that
		// trust whole subnets).
		mn = "127.0.0.0/8 [::1]/128"
	}
	m.setMynetworks(mn, mnPos)
	m.setScope()
	sc := m.scope
	m.local, m.relayD, m.virtA, m.virtM = sc.local, sc.relayD, sc.virtA, sc.virtM
	m.ifaceAddrs, m.ifaceUnknown = sc.ifaceAddrs, sc.ifaceUnknown
	return m
}

// expand returns a parameter's expanded value in this scope, memoised:
// every request asks for the same handful of parameters.
func (m *Model) expand(name string) string {
	if v, ok := m.memo[name]; ok {
		return v
	}
	v, err := m.cfg.Expand(m.svc, name)
	if err != nil {
		v = ""
		if m.unexpandable == nil {
			m.unexpandable = map[string]bool{}
		}
		m.unexpandable[name] = true
	}
	if m.memo == nil {
		m.memo = map[string]string{}
	}
	m.memo[name] = v
	return v
}

func (m *Model) value(name string) (string, diag.Pos) {
	raw, _ := m.cfg.Raw(m.svc, name)
	return m.expand(name), raw.Pos
}

func (m *Model) yes(name string) bool {
	return strings.EqualFold(strings.TrimSpace(m.expand(name)), "yes")
}

// interfaceAddrs returns the addresses inet_interfaces and
// proxy_interfaces name (resolve_local: a recipient at [addr] is local).
func (m *Model) interfaceAddrs() ([]netip.Addr, bool) {
	var out []netip.Addr
	unknown := false
	for _, p := range []string{"inet_interfaces", "proxy_interfaces"} {
		for _, it := range postconf.SplitList(m.expand(p)) {
			switch strings.ToLower(it) {
			case "all":
				if m.opt.LocalAddrs == nil {
					unknown = true
				}
				out = append(out, m.opt.LocalAddrs...)
			case "loopback-only":
				out = append(out, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"))
			default:
				if a, err := netip.ParseAddr(strings.Trim(it, "[]")); err == nil {
					out = append(out, a.Unmap())
				} else if strings.EqualFold(it, "localhost") {
					out = append(out, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"))
				} else {
					unknown = true
				}
			}
		}
	}
	return out, unknown
}

func (m *Model) getList(param string) *list {
	if l, ok := m.lists[param]; ok {
		return l
	}
	raw, _ := m.cfg.Raw(m.svc, param)
	l := &list{Param: param, Pos: raw.Pos, Src: raw.Source}
	l.Items = m.parsedList(m.expand(param))
	m.lists[param] = l
	return l
}

func (m *Model) openTable(spec string) (table.Table, error) {
	if t, ok := m.tables[spec]; ok {
		return t.t, t.err
	}
	t, err := table.Open(spec, diag.Pos{}, m.tableOptions())
	m.tables[spec] = tableOrErr{t, err}
	return t, err
}

// outcome of evaluating restrictions.
type outcome int

const (
	oDunno outcome = iota
	oPermit
	oReject
	oDefer
	oUnknown
)

type state struct {
	req Request
	// used are the request fields the decision read (memo.go).
	used reqField
	// dunnoRun counts the steps in a row that did not decide; elided of
	// them were left out of the trace, the last being lastElided (step).
	dunnoRun   int
	elided     int
	lastElided Step
	// start is where this decision's trace begins in Model.steps.
	start         int
	code          int
	enh           string
	text          string
	why           string
	deferIfPermit bool
	deferIfReject bool
	warnIfReject  bool
	depth         int
	// policy names the check_policy_service restrictions passed over,
	// per list: the model assumes DUNNO (the service neither permits nor
	// refuses); a refusal later in the same list then depends on the
	// service (it could have answered OK first).
	policy  map[string]string
	assumed []string
	// bareTable is what a bare type:table element means in the list
	// being evaluated: smtpd passes the list's check_*_access (def_acl)
	// down into restriction classes and access-table answers.
	bareTable string
}

// Decide computes smtpd's answer to RCPT for req in this scope. Client,
// HELO and sender restrictions are evaluated at RCPT time as with the
// default smtpd_delay_reject = yes; then both RCPT lists, the relay list
// first when smtpd_relay_before_recipient_restrictions = yes. Each list
// stops at its first permit, reject or defer, its end being a permit; the
// recipient is refused when any list refuses (SMTPD_ACCESS_README).
func (m *Model) Decide(req Request) Decision {
	if d, ok := m.decided.get(&req, m); ok {
		return d
	}
	st := &state{req: req, start: len(m.steps)}
	d := m.decide(st)
	m.decided.put(&req, st.used, d)
	return d
}

// decideList is one list decide evaluates, with what a bare type:table
// means in it.
type decideList struct {
	l         *list
	bareTable string
}

// decideLists are the lists of every decision, in smtpd's order: the
// same for every decision of the model, so worked out at its first
// (each decision looked all five up, and the order, again).
func (m *Model) decideLists() []decideList {
	if m.order != nil {
		return m.order
	}
	names := []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions"}
	if m.yes("smtpd_relay_before_recipient_restrictions") {
		names = append(names, "smtpd_relay_restrictions", "smtpd_recipient_restrictions")
	} else {
		names = append(names, "smtpd_recipient_restrictions", "smtpd_relay_restrictions")
	}
	m.order = make([]decideList, len(names))
	for i, p := range names {
		rl, _ := rlist.ListOf(p)
		m.order[i] = decideList{m.getList(p), rl.BareTable()}
	}
	return m.order
}

func (m *Model) decide(st *state) Decision {
	// A list whose answer cannot be known offline ends that list either
	// way (a permit ends only its own list): a later list that refuses
	// then decides, whatever the undecidable one would have said
	// (SMTPD_ACCESS_README: the recipient is refused when any list
	// refuses).
	undecided := ""
	for _, dl := range m.decideLists() {
		l := dl.l
		st.bareTable = dl.bareTable
		o := m.evalList(st, l.Param, l.Items, l.Pos)
		switch o {
		case oReject, oDefer:
			if undecided != "" {
				st.why += " (whatever " + undecided + " would answer)"
			}
			return m.finish(st, o)
		case oUnknown:
			if undecided == "" {
				undecided = st.why
			}
		}
		st.deferIfPermit, st.deferIfReject, st.warnIfReject = false, false, false
	}
	if undecided != "" {
		st.why = undecided
		return m.finish(st, oUnknown)
	}
	st.why = "no restriction list refused the recipient"
	if len(st.assumed) > 0 {
		st.why += " (assuming " + strings.Join(st.assumed, ", ") + " does not refuse)"
	}
	return m.finish(st, oPermit)
}

func (m *Model) finish(st *state, o outcome) Decision {
	m.closeRun(st)
	n := len(m.steps)
	d := Decision{Trace: m.steps[st.start:n:n], Reason: st.why, Code: st.code, Enhanced: st.enh, Text: st.text}
	switch o {
	case oPermit:
		d.Result = Accept
		d.Code, d.Enhanced, d.Text = 250, "2.1.5", "Ok"
	case oReject:
		d.Result = Reject
	case oDefer:
		d.Result = Defer
	default:
		d.Result = Undecidable
		d.Code, d.Enhanced = 0, ""
	}
	// soft_bounce turns 5xx into 4xx replies (postconf(5) soft_bounce).
	if m.yes("soft_bounce") && d.Result == Reject && d.Code >= 500 {
		d.Result = Defer
		d.Code -= 100
		if strings.HasPrefix(d.Enhanced, "5") {
			d.Enhanced = "4" + d.Enhanced[1:]
		}
		d.Reason += " (soft_bounce = yes turns the 5xx into 4xx)"
	}
	return d
}

// maxDunnoRun bounds the steps a decision's trace keeps in a row that did
// not decide (a restriction that did not apply, or the entry into a
// restriction class): past it, the run's last step stands for the rest.
// maxTraceSteps bounds the trace of one decision: past it, only the steps
// that decide (permit, reject, defer, unknown, flags) are kept. A
// restriction list of a million entries made every trace a million steps
// long, and a class every few entries broke any run.
const (
	maxDunnoRun   = 16
	maxTraceSteps = 64
)

func (m *Model) step(st *state, list string, idx int, r restriction, out, detail string, pos diag.Pos) {
	s := Step{List: list, Index: idx, Restriction: r.Text, Outcome: out, Detail: detail, Pos: pos}
	if out == "dunno" || out == "class" {
		st.dunnoRun++
		if st.dunnoRun > maxDunnoRun || len(m.steps)-st.start >= maxTraceSteps {
			st.elided++
			st.lastElided = s
			return
		}
	} else {
		m.closeRun(st)
		st.dunnoRun = 0
	}
	m.pushStep(st, s)
}

// firstStepChunk is how many steps the trace array holds at first,
// stepChunk how many it grows by.
const (
	firstStepChunk = 64
	stepChunk      = 128
)

// pushStep appends s to the decision's trace. When the array is full, the
// decision's steps so far move to a new one: earlier decisions keep theirs
// in the old array, so the steps are allocated about once instead of
// copied at every doubling (with every old array kept alive by the traces
// that point into it).
func (m *Model) pushStep(st *state, s Step) {
	if len(m.steps) == cap(m.steps) {
		cur := m.steps[st.start:]
		n := stepChunk
		if m.steps == nil {
			// Most models take fewer than firstStepChunk steps (a few dozen
			// decisions of a few steps), and a full chunk was mostly
			// cleared and scanned for nothing.
			n = firstStepChunk
		}
		next := make([]Step, len(cur), max(n, 2*len(cur)))
		copy(next, cur)
		m.steps, st.start = next, 0
	}
	m.steps = append(m.steps, s)
}

// closeRun writes the step that stands for a shortened run of steps that
// did not decide: the run's last one, saying how many came before it.
func (m *Model) closeRun(st *state) {
	if st.elided == 0 {
		return
	}
	s := st.lastElided
	if st.elided > 1 {
		more := strconv.Itoa(st.elided-1) + " restrictions before this one did not decide either (not listed)"
		if s.Detail != "" {
			s.Detail += "; " + more
		} else {
			s.Detail = more
		}
	}
	m.pushStep(st, s)
	st.elided, st.lastElided = 0, Step{}
}

// matchMynetworks is mynetworks' answer for a client, memoised: every
// request of a client class asks it again.
func (m *Model) matchMynetworks(c Client) hostMatch {
	k := mynetKey{c.Addr, c.Name}
	if hm, ok := m.mynetMemo[k]; ok {
		return hm
	}
	hm := m.mynet.MatchHost(c.Addr, c.Name)
	if m.mynetMemo == nil {
		m.mynetMemo = map[mynetKey]hostMatch{}
	}
	m.mynetMemo[k] = hm
	return hm
}

type mynetKey struct {
	addr netip.Addr
	name string
}

func (m *Model) setReply(st *state, code int, enh, text, why string) {
	st.code, st.enh, st.text, st.why = code, enh, text, why
}

func (m *Model) intParam(name string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(m.expand(name))); err == nil {
		return v
	}
	return def
}

// evalList evaluates one restriction list; reaching its end is oDunno
// (the caller treats it as permit for that list).
func (m *Model) evalList(st *state, name string, items []restriction, pos diag.Pos) outcome {
	st.depth++
	defer func() { st.depth-- }()
	if st.depth > 20 {
		st.why = "restriction classes nest too deeply (a loop?)"
		return oUnknown
	}
	for i, r := range items {
		o := m.evalOne(st, name, i+1, r, pos)
		switch o {
		case oDunno:
			continue
		case oPermit:
			if st.deferIfPermit {
				m.setReply(st, m.intParam("defer_code", 450), "4.7.1", "Service unavailable", "defer_if_permit earlier in the list turns this permit into a deferral")
				return oDefer
			}
			return oPermit
		}
		switch o {
		case oReject:
			if st.warnIfReject {
				st.warnIfReject = false
				last := &m.steps[len(m.steps)-1]
				last.Outcome = "warn"
				last.Detail += " (warn_if_reject: logged only)"
				continue
			}
			if st.deferIfReject {
				m.setReply(st, m.intParam("defer_code", 450), "4.7.1", "Service unavailable", "defer_if_reject turns this reject into a deferral")
				return m.policyDecides(st, name, r, oDefer)
			}
			return m.policyDecides(st, name, r, oReject)
		case oDefer:
			return m.policyDecides(st, name, r, oDefer)
		default:
			return o
		}
	}
	return oDunno
}

// policyDecides turns a refusal into unknown when a check_policy_service
// earlier in the same list could have answered OK and ended the list.
func (m *Model) policyDecides(st *state, list string, r restriction, o outcome) outcome {
	if p, ok := st.policy[list]; ok {
		st.why = fmt.Sprintf("%s: %s comes before %s: the policy service's answer decides (OK would permit)", list, p, r.Text)
		return oUnknown
	}
	return o
}

func (m *Model) evalOne(st *state, list string, idx int, r restriction, pos diag.Pos) outcome {
	warn := st.warnIfReject
	if r.Name != "warn_if_reject" {
		defer func() {
			if warn {
				st.warnIfReject = false
			}
		}()
	}
	if r.Table {
		// generic_checks(): an element with ':' is the list's def_acl on
		// that table (check_client_access in the client list,
		// check_recipient_access in both RCPT lists, ...).
		if st.bareTable == "" {
			m.step(st, list, idx, r, "defer", "a bare table where smtpd has no default check_*_access", pos)
			m.setReply(st, 451, "4.3.5", "Server configuration error", fmt.Sprintf("%s: bare table %s: specify one of check_client_access, ... before it", list, r.Text))
			return oDefer
		}
		r.Name = st.bareTable
	} else if msg := r.bad; msg != "" {
		m.step(st, list, idx, r, "defer", msg+": smtpd answers 451 4.3.5 Server configuration error", pos)
		m.setReply(st, 451, "4.3.5", "Server configuration error", fmt.Sprintf("%s: %s", list, msg))
		return oDefer
	}
	switch r.Name {
	case "permit":
		m.step(st, list, idx, r, "permit", "", pos)
		st.why = list + ": " + r.Text
		return oPermit
	case "reject":
		m.step(st, list, idx, r, "reject", "", pos)
		m.setReply(st, m.intParam("reject_code", 554), "5.7.1", "Access denied", list+": reject")
		return oReject
	case "defer":
		m.step(st, list, idx, r, "defer", "", pos)
		m.setReply(st, m.intParam("defer_code", 450), "4.7.1", "Service unavailable", list+": defer")
		return oDefer
	case "defer_if_permit":
		st.deferIfPermit = true
		m.step(st, list, idx, r, "flag", "a later permit in this list becomes a deferral", pos)
		return oDunno
	case "defer_if_reject":
		st.deferIfReject = true
		m.step(st, list, idx, r, "flag", "a later reject in this list becomes a deferral", pos)
		return oDunno
	case "warn_if_reject":
		st.warnIfReject = true
		m.step(st, list, idx, r, "flag", "the next restriction only logs instead of rejecting", pos)
		return oDunno
	case "permit_mynetworks":
		if m.mynetErr != nil {
			m.step(st, list, idx, r, "defer", m.mynetErr.Error(), pos)
			m.setReply(st, 451, "4.3.0", "Temporary lookup failure", "mynetworks cannot be evaluated by Postfix: "+m.mynetErr.Error())
			return oDefer
		}
		c := st.mynetClient()
		hm := m.matchMynetworks(c)
		st.mynetRead(hm)
		ok, unknown, why := hm.Matched, hm.Unknown, hm.Why
		switch {
		case hm.Fail:
			m.step(st, list, idx, r, "defer", why, pos)
			m.setReply(st, 451, "4.3.0", "Temporary lookup failure", "mynetworks lookup fails: "+why)
			return oDefer
		case unknown:
			m.step(st, list, idx, r, "unknown", why, pos)
			st.why = "mynetworks: " + why
			return oUnknown
		case ok:
			m.step(st, list, idx, r, "permit", "client "+c.Addr.String()+" matches mynetworks ("+why+")", pos)
			st.why = list + ": permit_mynetworks (client " + c.Addr.String() + " in mynetworks: " + why + ")"
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", m.notInMynetworks(c.Addr), pos)
		return oDunno
	case "permit_sasl_authenticated":
		if login := st.sasl(); login != "" && m.yes("smtpd_sasl_auth_enable") {
			m.step(st, list, idx, r, "permit", "client authenticated as "+login, pos)
			st.why = list + ": permit_sasl_authenticated"
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", "client not authenticated", pos)
		return oDunno
	case "permit_tls_all_clientcerts":
		if st.cert() {
			m.step(st, list, idx, r, "permit", "client presented a certificate a trusted CA signed", pos)
			st.why = list + ": permit_tls_all_clientcerts"
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", "no client certificate", pos)
		return oDunno
	case "permit_tls_clientcerts":
		if st.certTrusted() {
			m.step(st, list, idx, r, "permit", "client certificate listed in relay_clientcerts", pos)
			st.why = list + ": permit_tls_clientcerts"
			return oPermit
		}
		m.step(st, list, idx, r, "dunno", "no listed client certificate", pos)
		return oDunno
	case "permit_inet_interfaces":
		addr := st.addr()
		for _, a := range m.ifaceAddrs {
			if a == addr.Unmap() {
				m.step(st, list, idx, r, "permit", "client address is one of inet_interfaces", pos)
				st.why = list + ": permit_inet_interfaces"
				return oPermit
			}
		}
		if m.ifaceUnknown && addr.IsLoopback() {
			m.step(st, list, idx, r, "unknown", "inet_interfaces cannot be resolved offline", pos)
			st.why = "permit_inet_interfaces with inet_interfaces that cannot be resolved offline"
			return oUnknown
		}
		m.step(st, list, idx, r, "dunno", "client is not a local interface address", pos)
		return oDunno
	case "permit_mx_backup":
		res := m.resolve(st.rcpt())
		if res.class == classDefault && !res.routed && res.unknown == "" {
			m.step(st, list, idx, r, "unknown", "permits when this host is an MX for "+res.domain+": depends on DNS the sender's domain owner controls", pos)
			st.why = "permit_mx_backup: relay depends on DNS MX records (the recipient domain's owner can point an MX at this host)"
			return oUnknown
		}
		m.step(st, list, idx, r, "dunno", "", pos)
		return oDunno
	case "reject_unauth_destination", "defer_unauth_destination", "check_relay_domains", "permit_auth_destination":
		return m.authDestination(st, list, idx, r, pos)
	case "check_client_access", "check_reverse_client_hostname_access":
		return m.accessCheck(st, list, idx, r, pos, m.clientKeys(st.client(), r.Name))
	case "check_helo_access":
		return m.accessCheck(st, list, idx, r, pos, domainKeys(st.helo(), true))
	case "check_sender_access":
		return m.accessCheck(st, list, idx, r, pos, m.addressKeys(st.sender(), true))
	case "check_recipient_access":
		return m.accessCheck(st, list, idx, r, pos, m.addressKeys(st.rcpt(), false))
	case "check_policy_service":
		m.step(st, list, idx, r, "unknown", "an external policy service answers here; pfaudit assumes DUNNO and marks what depends on it", pos)
		if st.policy == nil {
			st.policy = map[string]string{}
		}
		st.policy[list] = r.Text
		st.assumed = append(st.assumed, r.Text)
		return oDunno
	}
	if dnsAccess(r.Name) {
		t, err := m.openTable(r.Arg)
		if err != nil || tableCanPermit(t) {
			m.step(st, list, idx, r, "unknown", "looks up DNS data the client chooses in a table that can permit", pos)
			st.why = fmt.Sprintf("%s: %s permits on DNS data the client controls", list, r.Text)
			return oUnknown
		}
		m.step(st, list, idx, r, "dunno", "table cannot permit", pos)
		return oDunno
	}
	if attackerControlled[r.Name] && r.known {
		m.step(st, list, idx, r, "dunno", "can only refuse, on properties the client chooses: not a relay protection", pos)
		return oDunno
	}
	// Built-in names come before restriction classes (generic_checks()
	// looks classes up last).
	if r.known {
		m.step(st, list, idx, r, "dunno", "does not apply to this request", pos)
		return oDunno
	}
	if m.classes[r.Text] {
		v, err := m.cfg.Expand(m.svc, r.Text)
		if err != nil {
			m.step(st, list, idx, r, "unknown", err.Error(), pos)
			st.why = err.Error()
			return oUnknown
		}
		raw, _ := m.cfg.Raw(m.svc, r.Text)
		m.step(st, list, idx, r, "class", "restriction class: "+v, pos)
		return m.evalList(st, r.Text, m.parsedList(v), raw.Pos)
	}
	// smtpd logs "unknown smtpd restriction" and answers 451 4.3.5 Server
	// configuration error (smtpd_check.c).
	m.step(st, list, idx, r, "defer", "unknown restriction: smtpd answers 451 4.3.5 Server configuration error", pos)
	m.setReply(st, 451, "4.3.5", "Server configuration error", fmt.Sprintf("%s: unknown restriction %q", list, r.Text))
	return oDefer
}

// badArgument is the 451 4.3.5 smtpd gives a restriction whose argument is
// missing or malformed (smtpd_check.c: is_map_command() "need
// maptype:mapname", check_policy_service "must be followed by
// transport:server", sleep "must be followed by number"); "" when fine.
// A DNS list restriction without its domain is only logged.
func badArgument(r restriction) string {
	i, ok := rlist.Lookup(r.Raw)
	if !ok {
		return ""
	}
	switch i.Arg {
	case rlist.Table:
		if !rlist.IsTable(r.Arg) {
			return fmt.Sprintf("restriction %s: bad argument %q: need maptype:mapname", r.Name, r.Arg)
		}
	case rlist.Service:
		if !rlist.IsTable(r.Arg) {
			return fmt.Sprintf("restriction %s must be followed by transport:server", r.Name)
		}
	case rlist.Seconds:
		if r.Arg == "" || strings.Trim(r.Arg, "0123456789") != "" {
			return fmt.Sprintf("restriction %s must be followed by number", r.Name)
		}
	}
	return ""
}

// tableCanPermit reports whether a table holds a result that permits (OK,
// PERMIT, or something that is not a plain refusal).
func tableCanPermit(t table.Table) bool {
	type lister interface{ Values() []string }
	if l, ok := t.(lister); ok {
		for _, v := range l.Values() {
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			switch strings.ToUpper(f[0]) {
			case "REJECT", "DEFER", "DUNNO", "WARN", "INFO", "HOLD", "DISCARD", "PREPEND", "FILTER", "REDIRECT", "BCC", "DEFER_IF_PERMIT", "DEFER_IF_REJECT":
				continue
			}
			if len(f[0]) == 3 && (f[0][0] == '4' || f[0][0] == '5') {
				continue
			}
			return true
		}
		return false
	}
	return true
}
