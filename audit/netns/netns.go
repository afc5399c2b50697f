// Package netns gives the probe an outsider's vantage on this host: a
// temporary network namespace joined to the caller's namespace by a veth
// pair, with a point-to-point address pair (each side a /32 or /128 with
// the other as its peer), so that a server using mynetworks_style = subnet
// does not count the client as part of its own networks (postconf(5)
// mynetworks_style: "subnet" trusts the subnets of the server's interfaces).
//
// Connections are dialled from inside the namespace on a dedicated OS
// thread (runtime.LockOSThread and setns(2)); a socket stays in the
// namespace it was created in, so the connection is used from any
// goroutine afterwards. A loopback target (127.0.0.1, ::1) is reached
// through the host end of the veth pair, which only works when the
// listener is bound to a wildcard address: a listener bound to loopback is
// unreachable from outside, which is what the probe should find out.
//
// The namespace is removed by Close, and also when the process receives
// SIGINT or SIGTERM while it exists (the signal is then re-raised with its
// default action, so the process still ends). Namespaces left behind by a
// process that was killed outright are removed by the next New.
//
// Linux only, and it needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and
// iproute2's ip command.
package netns

import (
	"errors"
	"net/netip"
	"sync/atomic"
)

// Defaults for Config.
var (
	// DefaultPrefix4 is RFC 2544's benchmarking range: not routed on the
	// Internet, and unlike RFC 1918 space rarely listed in mynetworks.
	DefaultPrefix4 = netip.MustParsePrefix("198.18.0.0/15")
	// DefaultPrefix6 is a unique local prefix (RFC 4193) for this package.
	DefaultPrefix6 = netip.MustParsePrefix("fd70:6661:7564::/64")
)

// Config configures New.
type Config struct {
	// Prefix4 and Prefix6 are the ranges the address pairs are taken from
	// (defaults DefaultPrefix4 and DefaultPrefix6). A free pair is picked
	// at random.
	Prefix4, Prefix6 netip.Prefix
	// Parent names the network namespace (under /run/netns) where the
	// host end of the veth pair goes; default: the caller's namespace.
	Parent string
}

// ErrUnsupported is wrapped by Available and New when namespaces cannot be
// made here.
var ErrUnsupported = errors.New("netns: network namespaces unavailable")

// Namespace is a temporary network namespace with a veth pair to its
// parent.
type Namespace struct {
	Name           string     // ip netns name
	HostIf, PeerIf string     // interface names: host end, namespace end
	Host4, Peer4   netip.Addr // IPv4 pair: host end, namespace end
	Host6, Peer6   netip.Addr // IPv6 pair
	parent         string
	impl
}

// Peer returns the namespace's address of the family of target: the
// address the server sees as the client.
func (n *Namespace) Peer(target netip.Addr) netip.Addr {
	if target.Unmap().Is6() {
		return n.Peer6
	}
	return n.Peer4
}

// callerHandlesSignals: see SetCallerHandlesSignals.
var callerHandlesSignals atomic.Bool

// SetCallerHandlesSignals tells the package that the program handles
// SIGINT and SIGTERM itself (it cancels its work, closes what it opened and
// exits with a message). Live namespaces are still torn down at once on
// such a signal, but the signal is no longer re-raised to end the process.
func SetCallerHandlesSignals(v bool) { callerHandlesSignals.Store(v) }
