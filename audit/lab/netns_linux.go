//go:build linux

package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/netns"
)

var (
	netnsOnce   sync.Once
	netnsReason string
)

// RequireNetns is Require for tests that need network namespaces: root,
// iproute2 and the right to create a namespace (tried once per binary).
// Skips with the reason, or fails when CI is "true".
func RequireNetns(t testing.TB) {
	t.Helper()
	Require(t)
	netnsOnce.Do(func() {
		if _, err := lookSbin("ip"); err != nil {
			netnsReason = "iproute2 (ip) not found"
			return
		}
		name := nextName("pfaudit-lab-probe")
		if _, err := runCmd(ipBin(), "netns", "add", name); err != nil {
			netnsReason = "cannot create a network namespace: " + err.Error()
			return
		}
		_, _ = runCmd(ipBin(), "netns", "del", name)
	})
	skipOrFail(t, netnsReason)
}

// NewNetns creates a namespace pair "pfaudit-lab-PID-N-srv" and
// "...-cli" with a veth pair between them, and deletes both with
// t.Cleanup (also when the test fails). Cleanups run last-in first-out, so
// an instance started in the pair after NewNetns is stopped before the
// namespaces go.
func NewNetns(t testing.TB, opt NetnsOptions) *Netns {
	t.Helper()
	RequireNetns(t)
	sub := opt.Subnet
	if !sub.IsValid() {
		sub = netip.MustParsePrefix("10.213.0.0/24")
	}
	sub = sub.Masked()
	if !sub.Addr().Is4() || !sub.Addr().IsPrivate() || sub.Bits() < 8 || sub.Bits() > 30 {
		t.Fatalf("lab: netns subnet %s: want a private IPv4 prefix between /8 and /30", sub)
	}
	srvAddr := sub.Addr().Next()
	cliAddr := srvAddr.Next()
	base := nextName("pfaudit-lab-")
	n := &Netns{
		Server: base + "-srv", Client: base + "-cli",
		ServerAddr: srvAddr, ClientAddr: cliAddr,
		Subnet: sub, PointToPoint: opt.PointToPoint,
	}
	ip := func(args ...string) {
		t.Helper()
		if _, err := runCmd(append([]string{ipBin()}, args...)...); err != nil {
			t.Fatalf("lab: %v", err)
		}
	}
	for _, ns := range []string{n.Server, n.Client} {
		unwatch := watchAdd("netns " + ns)
		if _, err := runCmd(ipBin(), "netns", "add", ns); err != nil {
			unwatch()
			t.Fatalf("lab: %v", err)
		}
		t.Cleanup(func() {
			if _, err := runCmd(ipBin(), "netns", "del", ns); err != nil {
				t.Errorf("lab: %v", err)
			}
			unwatch()
		})
	}
	// Created directly inside the namespaces, so the names never meet in
	// the root namespace.
	ip("link", "add", "veth0", "netns", n.Server, "type", "veth", "peer", "name", "veth0", "netns", n.Client)
	for _, side := range []struct {
		ns         string
		self, peer netip.Addr
	}{{n.Server, srvAddr, cliAddr}, {n.Client, cliAddr, srvAddr}} {
		if opt.PointToPoint {
			ip("-n", side.ns, "addr", "add", side.self.String(), "peer", side.peer.String()+"/32", "dev", "veth0")
		} else {
			ip("-n", side.ns, "addr", "add", netip.PrefixFrom(side.self, sub.Bits()).String(), "dev", "veth0")
		}
		ip("-n", side.ns, "link", "set", "lo", "up")
		ip("-n", side.ns, "link", "set", "veth0", "up")
	}
	return n
}

// DialFrom dials addr (an IP literal with port: no name resolution runs
// inside the namespace) from inside the network namespace nsName, with
// audit/netns's DialIn: the connection keeps working after the dialing
// thread has returned to its own namespace.
func DialFrom(nsName, network, addr string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := netns.DialIn(ctx, nsName, network, addr)
	if err != nil {
		return nil, fmt.Errorf("lab: DialFrom %s in %s: %w", addr, nsName, err)
	}
	return c, nil
}
