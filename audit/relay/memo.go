package relay

import (
	"net/netip"
	"strings"
)

// Decisions are memoised by what they read of the request. The catalogue
// sends the same recipient with many senders and HELO names, and most
// configurations never look at either: their decisions are the same, and
// computing each again was most of an analysis's cost (and of each fix
// verification, which analyses again).
//
// Every read of the request during a decision goes through state's
// accessors, which note the field. Evaluation is deterministic given the
// model and the fields it read, and the fields it reads next depend only
// on the values read so far: a request that agrees with a decided one on
// every field that decision read takes the same path to the same answer.

type reqField uint16

const (
	fAddr reqField = 1 << iota
	fName
	fSASL
	fCert
	fCertTrusted
	fHELO
	fSender
	fRecipient
	// fMynetMiss: the address was read only by permit_mynetworks, which
	// found it in no mynetworks entry (a clean miss: not unknown, no
	// lookup failure). Such a decision holds for any address that
	// mynetworks misses as cleanly, with the address in the steps that
	// say so (readdress): an Internet client's IPv4 and IPv6 requests
	// are then decided once.
	fMynetMiss
)

func (st *state) addr() netip.Addr { st.used |= fAddr; return st.req.Client.Addr }
func (st *state) sasl() string     { st.used |= fSASL; return st.req.Client.SASLLogin }
func (st *state) cert() bool       { st.used |= fCert; return st.req.Client.ClientCert }
func (st *state) certTrusted() bool {
	st.used |= fCertTrusted
	return st.req.Client.CertTrusted
}
func (st *state) helo() string   { st.used |= fHELO; return st.req.Client.HELO }
func (st *state) sender() string { st.used |= fSender; return st.req.Sender }
func (st *state) rcpt() string   { st.used |= fRecipient; return st.req.Recipient }

// mynetClient is the client permit_mynetworks matches; mynetRead notes
// what the answer makes the decision depend on.
func (st *state) mynetClient() Client {
	return Client{Addr: st.req.Client.Addr, Name: st.req.Client.Name}
}

func (st *state) mynetRead(hm hostMatch) {
	if hm.Matched || hm.Unknown || hm.Fail {
		st.used |= fAddr | fName
		return
	}
	st.used |= fName | fMynetMiss
}

// cleanMiss reports whether mynetworks misses c the way fMynetMiss
// decisions rest on.
func (m *Model) cleanMiss(c Client) bool {
	if m.mynetErr != nil {
		return false
	}
	hm := m.matchMynetworks(Client{Addr: c.Addr, Name: c.Name})
	return !hm.Matched && !hm.Unknown && !hm.Fail
}

// readdress is d, decided for a client at from, as a client at to gets it:
// the permit_mynetworks steps that found the client in no entry name the
// client's address ("client 203.0.113.5 not in mynetworks", perhaps with
// closeRun's note after it); nothing else in a fMynetMiss decision does.
func (m *Model) readdress(d Decision, from, to netip.Addr) Decision {
	if from == to {
		return d
	}
	old, repl := m.notInMynetworks(from), m.notInMynetworks(to)
	var tr []Step
	for i := range d.Trace {
		s := &d.Trace[i]
		if s.Outcome == "dunno" && strings.EqualFold(s.Restriction, "permit_mynetworks") && strings.HasPrefix(s.Detail, old) {
			if tr == nil {
				tr = make([]Step, len(d.Trace))
				copy(tr, d.Trace)
			}
			if len(s.Detail) == len(old) {
				tr[i].Detail = repl
			} else {
				tr[i].Detail = repl + s.Detail[len(old):]
			}
		}
	}
	if tr != nil {
		d.Trace = tr
	}
	return d
}

// notInMynetworks is the step text of a client address mynetworks misses.
func (m *Model) notInMynetworks(a netip.Addr) string {
	if s, ok := m.notIn[a]; ok {
		return s
	}
	s := "client " + a.String() + " not in mynetworks"
	if m.notIn == nil {
		m.notIn = map[netip.Addr]string{}
	}
	m.notIn[a] = s
	return s
}

// client is the client for access-table keys (its name and address).
func (st *state) client() Client {
	st.used |= fAddr | fName
	return Client{Addr: st.req.Client.Addr, Name: st.req.Client.Name}
}

// memoKey is the request with the fields outside mask cleared.
type memoKey struct {
	addr                    netip.Addr
	name, sasl              string
	cert, certTrusted       bool
	helo, sender, recipient string
}

func keyOf(req Request, mask reqField) memoKey {
	var k memoKey
	if mask&fAddr != 0 {
		k.addr = req.Client.Addr
	}
	if mask&fName != 0 {
		k.name = req.Client.Name
	}
	if mask&fSASL != 0 {
		k.sasl = req.Client.SASLLogin
	}
	if mask&fCert != 0 {
		k.cert = req.Client.ClientCert
	}
	if mask&fCertTrusted != 0 {
		k.certTrusted = req.Client.CertTrusted
	}
	if mask&fHELO != 0 {
		k.helo = req.Client.HELO
	}
	if mask&fSender != 0 {
		k.sender = req.Sender
	}
	if mask&fRecipient != 0 {
		k.recipient = req.Recipient
	}
	return k
}

type decisionMemo struct {
	masks []reqField // in the order first seen
	byKey map[reqField]map[memoKey]memoEntry
}

// memoEntry is a decision and the client address it was made for.
type memoEntry struct {
	dec  Decision
	addr netip.Addr
}

func (d *decisionMemo) get(req Request, m *Model) (Decision, bool) {
	for _, mask := range d.masks {
		e, ok := d.byKey[mask][keyOf(req, mask)]
		if !ok {
			continue
		}
		if mask&fMynetMiss == 0 || mask&fAddr != 0 || e.addr == req.Client.Addr {
			return e.dec, true
		}
		if m.cleanMiss(req.Client) {
			return m.readdress(e.dec, e.addr, req.Client.Addr), true
		}
	}
	return Decision{}, false
}

func (d *decisionMemo) put(req Request, mask reqField, dec Decision) {
	if d.byKey == nil {
		d.byKey = map[reqField]map[memoKey]memoEntry{}
	}
	byKey, ok := d.byKey[mask]
	if !ok {
		byKey = map[memoKey]memoEntry{}
		d.byKey[mask] = byKey
		d.masks = append(d.masks, mask)
	}
	byKey[keyOf(req, mask)] = memoEntry{dec, req.Client.Addr}
}
