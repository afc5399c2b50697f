package relay

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"
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

// memoKey is the request with the fields outside mask cleared, but for
// the client address: every entry keeps that (memoEntry.addr).
type memoKey struct {
	name, sasl              string
	cert, certTrusted       bool
	helo, sender, recipient string
}

func keyOf(req *Request, mask reqField) memoKey {
	var k memoKey
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

// memoSeed seeds the memo's string hashes. The hashes only find entries
// (equal keys have equal hashes; every hit is confirmed by comparing the
// keys), so their values never reach an output.
var memoSeed = maphash.MakeSeed()

// memoHash hashes mask and the request fields under it. A map keyed by
// memoKey hashed all of its fields, cleared or not, with the generic
// struct hash at every lookup (most of the memo's cost); this hashes only
// the fields the mask keeps, the common mask being three of them.
func memoHash(req *Request, mask reqField) uint64 {
	h := mix(uint64(mask))
	if mask&fAddr != 0 {
		a := req.Client.Addr.As16()
		h = mix(h ^ binary.LittleEndian.Uint64(a[:8]))
		h = mix(h ^ binary.LittleEndian.Uint64(a[8:]) ^ uint64(req.Client.Addr.BitLen()))
	}
	if mask&fName != 0 {
		h = mix(h ^ maphash.String(memoSeed, req.Client.Name))
	}
	if mask&fSASL != 0 {
		h = mix(h ^ maphash.String(memoSeed, req.Client.SASLLogin))
	}
	if mask&fCert != 0 && req.Client.ClientCert {
		h = mix(h ^ 1)
	}
	if mask&fCertTrusted != 0 && req.Client.CertTrusted {
		h = mix(h ^ 2)
	}
	if mask&fHELO != 0 {
		h = mix(h ^ maphash.String(memoSeed, req.Client.HELO))
	}
	if mask&fSender != 0 {
		h = mix(h ^ maphash.String(memoSeed, req.Sender))
	}
	if mask&fRecipient != 0 {
		h = mix(h ^ maphash.String(memoSeed, req.Recipient))
	}
	return h
}

// mix is a 64-bit finaliser (MurmurHash3's fmix64): it spreads every input
// bit over the result, so that combined field hashes do not cancel out.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// decisionMemo holds the decisions made so far. Each is an entry with its
// mask and key; index finds, by memoHash, the latest entry of that hash,
// and each entry the one before it with the same hash (a chain: hash
// collisions, and a key decided again for another client address when
// mynetworks did not miss that one cleanly).
type decisionMemo struct {
	masks   []reqField // in the order first seen
	entries []memoEntry
	index   map[uint64]int32
	// collide makes every key of a mask hash alike (tests: every lookup
	// then walks a chain and must tell the keys apart).
	collide bool
}

// memoEntry is a decision, the fields it read and the client address it
// was made for.
type memoEntry struct {
	mask reqField
	prev int32 // the entry before it with the same hash; -1: none
	key  memoKey
	addr netip.Addr
	dec  Decision
}

func (d *decisionMemo) hash(req *Request, mask reqField) uint64 {
	if d.collide {
		return uint64(mask)
	}
	return memoHash(req, mask)
}

func (d *decisionMemo) get(req *Request, m *Model) (Decision, bool) {
	for _, mask := range d.masks {
		h := d.hash(req, mask)
		i, ok := d.index[h]
		if !ok {
			continue
		}
		k := keyOf(req, mask)
		cand := int32(-1)
		for ; i >= 0; i = d.entries[i].prev {
			e := &d.entries[i]
			if e.mask != mask || e.key != k || mask&fAddr != 0 && e.addr != req.Client.Addr {
				continue
			}
			if mask&fMynetMiss == 0 || mask&fAddr != 0 || e.addr == req.Client.Addr {
				return e.dec, true
			}
			if cand < 0 {
				cand = i
			}
		}
		if cand >= 0 && m.cleanMiss(req.Client) {
			e := &d.entries[cand]
			return m.readdress(e.dec, e.addr, req.Client.Addr), true
		}
	}
	return Decision{}, false
}

func (d *decisionMemo) put(req *Request, mask reqField, dec Decision) {
	if !slices.Contains(d.masks, mask) {
		d.masks = append(d.masks, mask)
	}
	d.add(d.hash(req, mask), mask, keyOf(req, mask), req.Client.Addr, dec)
}

func (d *decisionMemo) add(h uint64, mask reqField, k memoKey, addr netip.Addr, dec Decision) {
	if d.index == nil {
		// Room for the decisions most analyses make (about a dozen): the
		// entries are large, and growing them from one copied each
		// several times.
		d.index = map[uint64]int32{}
		d.entries = make([]memoEntry, 0, 16)
	}
	prev, ok := d.index[h]
	if !ok {
		prev = -1
	}
	d.index[h] = int32(len(d.entries))
	d.entries = append(d.entries, memoEntry{mask: mask, prev: prev, key: k, addr: addr, dec: dec})
}
