//go:build linux

package lab

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// nsPath is where ip netns keeps a namespace's handle.
func nsPath(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return "", fmt.Errorf("lab: bad namespace name %q", name)
	}
	for _, dir := range []string{"/run/netns", "/var/run/netns"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("lab: network namespace %q not found", name)
}

// DialFrom dials addr (an IP literal with port: no name resolution runs
// inside the namespace) from inside the network namespace nsName. A socket
// belongs to the namespace it was created in, so the connection keeps
// working after the dialing thread has returned to its own namespace.
//
// The dial runs on a dedicated goroutine locked to its OS thread, which
// enters the namespace with setns(2) and goes back before unlocking. If
// going back fails, the goroutine exits still locked, and the Go runtime
// then discards the thread instead of reusing it.
func DialFrom(nsName, network, addr string, timeout time.Duration) (net.Conn, error) {
	path, err := nsPath(nsName)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("lab: DialFrom %s: want IP:PORT (no name lookups inside a namespace): %v", addr, err)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := dialIn(path, network, addr, timeout)
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// dialIn must run on a locked thread. restored reports whether the thread
// is back in its original namespace.
func dialIn(path, network, addr string, timeout time.Duration) (c net.Conn, restored bool, err error) {
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("lab: own network namespace: %v", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("lab: %s: %v", path, err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("lab: setns %s: %v", path, err)
	}
	c, err = (&net.Dialer{Timeout: timeout}).Dial(network, addr)
	if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
		if c != nil {
			c.Close()
		}
		return nil, false, fmt.Errorf("lab: returning to the original network namespace: %v", rerr)
	}
	return c, true, err
}
