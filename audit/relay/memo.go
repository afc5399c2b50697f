package relay

import "net/netip"

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

type reqField uint8

const (
	fAddr reqField = 1 << iota
	fName
	fSASL
	fCert
	fCertTrusted
	fHELO
	fSender
	fRecipient
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
	byKey map[reqField]map[memoKey]Decision
}

func (d *decisionMemo) get(req Request) (Decision, bool) {
	for _, mask := range d.masks {
		if dec, ok := d.byKey[mask][keyOf(req, mask)]; ok {
			return dec, true
		}
	}
	return Decision{}, false
}

func (d *decisionMemo) put(req Request, mask reqField, dec Decision) {
	if d.byKey == nil {
		d.byKey = map[reqField]map[memoKey]Decision{}
	}
	byKey, ok := d.byKey[mask]
	if !ok {
		byKey = map[memoKey]Decision{}
		d.byKey[mask] = byKey
		d.masks = append(d.masks, mask)
	}
	byKey[keyOf(req, mask)] = dec
}
