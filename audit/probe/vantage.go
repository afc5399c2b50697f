package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/pfaudit/pfaudit/audit/netns"
)

type transcriptFunc func(session int, dir byte, line string)

// runEnv holds what vantages share across targets: the network namespace
// (made on first use, removed when Run returns) and the output streams.
type runEnv struct {
	opt Options

	mu     sync.Mutex
	state  map[string]*targetState // by target address
	ns     *netns.Namespace
	nsErr  error
	nsDone bool
}

func (e *runEnv) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ns != nil {
		e.ns.Close()
		e.ns = nil
	}
}

func (e *runEnv) namespace() (*netns.Namespace, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.nsDone {
		e.nsDone = true
		e.ns, e.nsErr = netns.New(netns.Config{Prefix4: e.opt.Netns.Prefix4,
			Prefix6: e.opt.Netns.Prefix6, Parent: e.opt.Netns.Parent})
	}
	return e.ns, e.nsErr
}

func (e *runEnv) plainDial(ctx context.Context, addr string) (net.Conn, error) {
	if e.opt.Dial != nil {
		return e.opt.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (e *runEnv) baseConfig(t Target) sessionConfig {
	o := e.opt
	return sessionConfig{
		addr: t.AddrPort.String(), implicitTLS: t.ImplicitTLS, dial: e.plainDial,
		helo: o.HELO, noTLS: o.NoSTARTTLS, cmdTimeout: o.CommandTimeout,
		greetTimeout: max(o.CommandTimeout, greetingFloor),
	}
}

// greetingFloor is the least time the greeting gets: postscreen holds the
// final 220 for postscreen_greet_wait (6s) plus DNSBL lookups.
const greetingFloor = 30e9

func (e *runEnv) transcript(t Target, vantage string) transcriptFunc {
	w := e.opt.Transcript
	if w == nil {
		return nil
	}
	return func(n int, dir byte, line string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		fmt.Fprintf(w, "%s %s #%d %c %s\n", t.Address, vantage, n, dir, line)
	}
}

func (e *runEnv) progress(t Target, vantage string) func(string) {
	w := e.opt.Progress
	if w == nil {
		return nil
	}
	return func(s string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		fmt.Fprintf(w, "probe %s %s: %s\n", t.Address, vantage, s)
	}
}

// probe runs one vantage against one target.
func (e *runEnv) probe(ctx context.Context, opt Options, t Target, vantage string) (VantageReport, targetInfo) {
	switch vantage {
	case VantageLoopback:
		vr, info := e.run(ctx, opt, t, vantage, e.baseConfig(t))
		desc := "loopback: the view of local clients only; mynetworks trusts 127.0.0.0/8 and ::1 by default, so an open verdict here does not make the server an open relay"
		if !t.AddrPort.Addr().IsLoopback() {
			desc = "loopback: the target is not a loopback address, so this is the view of a client on this host at " + vr.Client
		}
		vr.Note = join(desc, vr.Note)
		return vr, info
	case VantageRemote:
		vr, info := e.run(ctx, opt, t, vantage, e.baseConfig(t))
		if vr.Client != "" {
			vr.Note = join("remote: the view of a client at "+vr.Client+" (as the server sees it unless NAT or a proxy stands between)", vr.Note)
		}
		return vr, info
	case VantageXClient:
		return e.xclient(ctx, opt, t)
	case VantageNetns:
		return e.netns(ctx, opt, t)
	}
	// auto: XCLIENT when the server offers it to us, else a namespace when
	// we can make one and the target is on this host.
	vr, info := e.xclient(ctx, opt, t)
	if !isXClientUnavailable(vr) && !vr.claimUnproven {
		vr.Note = join("auto chose xclient", vr.Note)
		return vr, info
	}
	why := "the server does not offer XCLIENT to this host"
	if vr.claimUnproven {
		why = "the server answered XCLIENT but did not show that the claim took effect"
	}
	if err := netns.Available(); err != nil {
		why += "; netns: " + err.Error()
	} else if !isLocal(t.AddrPort.Addr()) {
		why += "; netns: the target is not an address of this host"
	} else {
		vr, info := e.netns(ctx, opt, t)
		vr.Note = join("auto chose netns ("+why+")", vr.Note)
		return vr, info
	}
	if vr.claimUnproven {
		vr.Note = join("auto: "+why+"; no other untrusted vantage", vr.Note)
		return vr, info
	}
	return VantageReport{Vantage: VantageNone, Verdict: VerdictUnknown, Attempts: []AttemptResult{},
		Note: "no untrusted vantage available: " + why + "; run `pfaudit probe --vantage remote` from another host"}, info
}

func (e *runEnv) run(ctx context.Context, opt Options, t Target, vantage string, cfg sessionConfig) (VantageReport, targetInfo) {
	vr, info := e.runVantage(ctx, opt, t, vantage, cfg, e.transcript(t, vantage), e.progress(t, vantage))
	vr.Vantage = vantage
	return vr, info
}

func (e *runEnv) xclient(ctx context.Context, opt Options, t Target) (VantageReport, targetInfo) {
	cfg := e.baseConfig(t)
	cfg.xclient = e.opt.ClientAddr
	vr, info := e.run(ctx, opt, t, VantageXClient, cfg)
	if isXClientUnavailable(vr) {
		vr.Note = join("XCLIENT unavailable: "+vr.Attempts[0].Text, vr.Note)
		return vr, info
	}
	// Say what was claimed only when it was: a session that ended before
	// XCLIENT (a bad greeting, STARTTLS trouble) claimed nothing, and a
	// claim the server did not show to take (verifyClaim) is no view of
	// that client.
	claimed := e.opt.ClientAddr.Unmap().String()
	switch {
	case vr.Client == claimed:
		vr.Note = join("xclient: every session claims to come from "+claimed+
			" (XCLIENT ADDR=); the view of an untrusted Internet client unless mynetworks or an access map names that address", vr.Note)
	case vr.claimUnproven:
		vr.Note = join("xclient: the sessions claimed to come from "+claimed+" (XCLIENT ADDR=), but the server did not show that the claim took effect", vr.Note)
	default:
		vr.Note = join("xclient: no session got as far as XCLIENT; nothing was claimed", vr.Note)
	}
	return vr, info
}

func isXClientUnavailable(vr VantageReport) bool {
	return len(vr.Attempts) == 1 && vr.Attempts[0].Variant == "session" && vr.Attempts[0].Stage == StageXClient
}

func (e *runEnv) netns(ctx context.Context, opt Options, t Target) (VantageReport, targetInfo) {
	ns, err := e.namespace()
	if err != nil {
		return VantageReport{Vantage: VantageNetns, Verdict: VerdictError, Attempts: []AttemptResult{},
			Note: "netns unavailable: " + err.Error()}, targetInfo{}
	}
	cfg := e.baseConfig(t)
	cfg.dial = func(ctx context.Context, addr string) (net.Conn, error) {
		return ns.DialContext(ctx, "tcp", addr)
	}
	vr, info := e.run(ctx, opt, t, VantageNetns, cfg)
	peer := ns.Peer(t.AddrPort.Addr())
	vr.Note = join("netns: a client at "+peer.String()+" in a temporary network namespace, joined to this host by a point-to-point veth pair: the view of an untrusted outside client", vr.Note)
	if errors.Is(info.err, syscall.ECONNREFUSED) {
		vr.Note = join(vr.Note, "connection refused from outside: the listener accepts local connections only (inet_interfaces), so outside clients cannot reach it")
	}
	return vr, info
}

// isLocal reports whether a is an address of this host.
func isLocal(a netip.Addr) bool {
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr().Unmap() == a.Unmap() {
			return true
		}
	}
	return false
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
