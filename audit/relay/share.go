package relay

import (
	"net/netip"
	"slices"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Share holds what the models of one audit can reuse from each other: an
// audit analyses every listener of a configuration, and fix verification
// analyses patched copies of it again, and most of them agree on the
// address classes (mydestination, relay_domains, ...), mynetworks and the
// catalogue's requests. Each entry is keyed by every input it was computed
// from (the expanded values, positions and list options it read), so a
// model that finds one computes the same thing it would have computed
// itself; what a computation also recorded (the model's assumptions) is
// replayed, in the order it was made.
//
// A Share is for one audit: it must only be used with one Options value
// (tables, local addresses), and by one goroutine at a time. Options.Share
// nil shares nothing.
type Share struct {
	domains map[listKey]domainMatcher
	hosts   map[listKey]*sharedHosts
	scopes  map[scopeKey]*addrScope
	reqs    map[reqsKey][]Request
	lists   map[string][]restriction
}

// NewShare returns an empty Share.
func NewShare() *Share {
	return &Share{domains: map[listKey]domainMatcher{}, hosts: map[listKey]*sharedHosts{},
		scopes: map[scopeKey]*addrScope{}, reqs: map[reqsKey][]Request{}, lists: map[string][]restriction{}}
}

// listKey is what a match list is built from: the parameter (it names the
// list in messages), its value and position, and the list options the
// model passes (parent_domain_matches_subdomains, queue_directory).
type listKey struct {
	param, value string
	pos          diag.Pos
	pd, qdir     string
}

func (m *Model) listKey(param, value string, pos diag.Pos) listKey {
	return listKey{param: param, value: value, pos: pos, pd: m.expand("parent_domain_matches_subdomains"), qdir: m.expand("queue_directory")}
}

type sharedHosts struct {
	h    hostMatcher
	err  error
	memo map[mynetKey]hostMatch
}

// scopeKey is everything resolve and domainClass read besides the address:
// the four domain lists, the interface addresses and the rewriting
// switches.
type scopeKey struct {
	local, relayD, virtA, virtM listKey
	inet, proxy                 string
	dequote, percent, bang      string
	myorigin, myhostname        string
}

// addrScope is the address-class part of a model: the domain lists, the
// interface addresses, and resolve's and PickDomains' answers, each with
// the assumptions its computation made.
type addrScope struct {
	local, relayD, virtA, virtM domainMatcher
	ifaceAddrs                  []netip.Addr
	ifaceUnknown                bool
	resolved                    map[string]sharedResolution
	domains                     *sharedDomains
}

type sharedResolution struct {
	res     resolution
	assumed []string
	desc    string // res.describe()
}

type sharedDomains struct {
	dom     Domains
	assumed []string
}

type reqsKey struct {
	c           Client
	dom         Domains
	h, d, ip    string
	relayDomain string
}

// capture runs f and returns the assumptions it made (also those the model
// had already made), while they are recorded as usual.
func (m *Model) capture(f func()) []string {
	outer := m.captured
	var mine []string
	m.captured = &mine
	f()
	m.captured = outer
	if outer != nil {
		*outer = append(*outer, mine...)
	}
	return mine
}

// sharedDomainList is m.domainList through the Share.
func (m *Model) sharedDomainList(name string) (domainMatcher, listKey) {
	v, pos := m.value(name)
	k := m.listKey(name, v, pos)
	if m.opt.Share != nil {
		if d, ok := m.opt.Share.domains[k]; ok {
			return d, k
		}
	}
	var d domainMatcher
	if l, err := buildDomainList(name, v, pos, m); err != nil {
		d = errDomainList{err}
	} else {
		d = l
	}
	if m.opt.Share != nil {
		m.opt.Share.domains[k] = d
	}
	return d, k
}

// shareMaxValue is the longest mynetworks value a Share keeps parsed for
// the rest of the audit. The rules parse the same value for their own
// checks while the analyses are alive; a Share holding a million-entry
// list as well (230 MB) put both in memory at once, and a 1M-entry
// mynetworks went from 400 to 700 MB. Such a list is parsed again by the
// few fix verifications that need it instead.
const shareMaxValue = 1 << 20

// setMynetworks builds (or finds) the mynetworks list of value mn.
func (m *Model) setMynetworks(mn string, pos diag.Pos) {
	var k listKey
	if m.opt.Share != nil {
		k = m.listKey("mynetworks", mn, pos)
		if s, ok := m.opt.Share.hosts[k]; ok {
			m.mynet, m.mynetErr, m.mynetMemo = s.h, s.err, s.memo
			return
		}
	}
	m.mynet, m.mynetErr = buildHostList("mynetworks", mn, pos, m)
	m.mynetMemo = map[mynetKey]hostMatch{}
	if m.opt.Share != nil && len(mn) <= shareMaxValue {
		m.opt.Share.hosts[k] = &sharedHosts{h: m.mynet, err: m.mynetErr, memo: m.mynetMemo}
	}
}

// scopeRecipients is the room a scope's resolutions start with: an
// analysis resolves a few dozen recipients (the catalogue's, the local
// control). A map for 48 has 64 slots; one sized for 64 had 128, most of
// them never used, cleared and scanned in every scope.
const scopeRecipients = 48

// setScope builds (or finds) the model's address classes.
func (m *Model) setScope() {
	var k scopeKey
	var lk [4]listKey
	var ds [4]domainMatcher
	for i, p := range []string{"mydestination", "relay_domains", "virtual_alias_domains", "virtual_mailbox_domains"} {
		ds[i], lk[i] = m.sharedDomainList(p)
	}
	if m.opt.Share != nil {
		k = scopeKey{local: lk[0], relayD: lk[1], virtA: lk[2], virtM: lk[3],
			inet: m.expand("inet_interfaces"), proxy: m.expand("proxy_interfaces"),
			dequote: m.expand("resolve_dequoted_address"), percent: m.expand("allow_percent_hack"), bang: m.expand("swap_bangpath"),
			myorigin: m.expand("myorigin"), myhostname: m.expand("myhostname")}
		if s, ok := m.opt.Share.scopes[k]; ok {
			m.scope = s
			return
		}
	}
	s := &addrScope{local: ds[0], relayD: ds[1], virtA: ds[2], virtM: ds[3], resolved: make(map[string]sharedResolution, scopeRecipients)}
	s.ifaceAddrs, s.ifaceUnknown = m.interfaceAddrs()
	m.scope = s
	if m.opt.Share != nil {
		m.opt.Share.scopes[k] = s
	}
}

// parsedList is parseList(splitRestrictions(v)), parsed once per value
// in the model (a restriction class was parsed again by every decision
// that entered it) and in the Share. The restrictions are only read.
func (m *Model) parsedList(v string) []restriction {
	if l, ok := m.parsed[v]; ok {
		return l
	}
	l, ok := []restriction(nil), false
	if m.opt.Share != nil {
		l, ok = m.opt.Share.lists[v]
	}
	if !ok {
		l = parseList(splitRestrictions(v))
		if m.opt.Share != nil {
			m.opt.Share.lists[v] = l
		}
	}
	if m.parsed == nil {
		m.parsed = map[string][]restriction{}
	}
	m.parsed[v] = l
	return l
}

// sharedRequests is requests() (and the routed ones via relayDomain)
// through the Share. The result is clipped: appending to it copies.
func (m *Model) sharedRequests(c Client, dom Domains, h, d, ip, relayDomain string) []Request {
	build := func() []Request {
		reqs := requests(c, dom, h, d, ip)
		if relayDomain != "" {
			reqs = append(reqs, routedViaRelayDomain(c, dom, relayDomain)...)
		}
		return slices.Clip(reqs)
	}
	if m.opt.Share == nil {
		return build()
	}
	k := reqsKey{c: c, dom: dom, h: h, d: d, ip: ip, relayDomain: relayDomain}
	if r, ok := m.opt.Share.reqs[k]; ok {
		return r
	}
	r := build()
	m.opt.Share.reqs[k] = r
	return r
}
