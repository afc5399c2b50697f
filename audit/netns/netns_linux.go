//go:build linux

package netns

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// namePrefix marks this package's namespaces:
// pfaudit-probe-PID-START-N, where START is the owning process's start
// time (clock ticks since boot, base 36), so that a namespace whose PID
// was reused by another process is still recognised as stale. Older
// names, pfaudit-probe-PID-N, are judged by the PID alone.
const namePrefix = "pfaudit-probe-"

type impl struct {
	mu     sync.Mutex
	routes map[netip.Addr]bool
	closed bool
}

var seq atomic.Int64

// Available reports why namespaces cannot be made here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root", ErrUnsupported)
	}
	if _, err := ipBin(); err != nil {
		return err
	}
	return nil
}

func ipBin() (string, error) {
	if p, err := exec.LookPath("ip"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: iproute2's ip command not found", ErrUnsupported)
}

func ip(args ...string) error {
	bin, err := ipBin()
	if err != nil {
		return err
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// New creates the namespace and its veth pair. On error nothing is left
// behind.
func New(cfg Config) (*Namespace, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if cfg.Parent != "" {
		if _, err := nsPath(cfg.Parent); err != nil {
			return nil, err
		}
	}
	removeStale()
	p4, p6 := cfg.Prefix4, cfg.Prefix6
	if !p4.IsValid() {
		p4 = DefaultPrefix4
	}
	if !p6.IsValid() {
		p6 = DefaultPrefix6
	}
	h4, q4, err := pickPair(p4.Masked(), cfg.Parent == "")
	if err != nil {
		return nil, err
	}
	h6, q6, err := pickPair(p6.Masked(), cfg.Parent == "")
	if err != nil {
		return nil, err
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	n := &Namespace{
		Name:   fmt.Sprintf("%s%d-%s-%d", namePrefix, os.Getpid(), startTag(os.Getpid()), seq.Add(1)),
		HostIf: "pfh" + tag, PeerIf: "pfp" + tag, // 11 bytes: IFNAMSIZ allows 15
		Host4: h4, Peer4: q4, Host6: h6, Peer6: q6,
		parent: cfg.Parent,
	}
	n.routes = map[netip.Addr]bool{}
	register(n)
	if err := n.setup(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// inParent prefixes an ip command so that it runs in the parent namespace.
func (n *Namespace) inParent(args ...string) []string {
	if n.parent == "" {
		return args
	}
	return append([]string{"-n", n.parent}, args...)
}

func (n *Namespace) setup() error {
	// Links go up before the addresses are added: an IPv6 address with a
	// peer added while its link is down gets no route to the peer when the
	// link comes up.
	steps := [][]string{
		{"netns", "add", n.Name},
		n.inParent("link", "add", n.HostIf, "type", "veth", "peer", "name", n.PeerIf, "netns", n.Name),
		n.inParent("link", "set", n.HostIf, "up"),
		{"-n", n.Name, "link", "set", "lo", "up"},
		{"-n", n.Name, "link", "set", n.PeerIf, "up"},
		n.inParent("addr", "add", n.Host4.String()+"/32", "peer", n.Peer4.String()+"/32", "dev", n.HostIf),
		// nodad: without it the addresses stay "tentative" (unusable) for
		// a second or two while duplicate address detection runs.
		n.inParent("addr", "add", n.Host6.String()+"/128", "peer", n.Peer6.String()+"/128", "dev", n.HostIf, "nodad"),
		{"-n", n.Name, "addr", "add", n.Peer4.String() + "/32", "peer", n.Host4.String() + "/32", "dev", n.PeerIf},
		{"-n", n.Name, "addr", "add", n.Peer6.String() + "/128", "peer", n.Host6.String() + "/128", "dev", n.PeerIf, "nodad"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// pickPair takes a random aligned pair (host = even, peer = odd) from p,
// avoiding the network's first pair and addresses already on this host.
func pickPair(p netip.Prefix, checkLocal bool) (netip.Addr, netip.Addr, error) {
	bits := p.Addr().BitLen() - p.Bits()
	if bits < 2 {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("netns: prefix %s is too small for an address pair", p)
	}
	local := map[netip.Addr]bool{}
	if checkLocal {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if pp, err := netip.ParsePrefix(a.String()); err == nil {
					local[pp.Addr().Unmap()] = true
				}
			}
		}
	}
	pairs := uint64(1) << min(bits-1, 62)
	for range 64 {
		var b [8]byte
		rand.Read(b[:])
		k := binary.BigEndian.Uint64(b[:]) % pairs
		if (k == 0 && pairs > 1) || (k == pairs-1 && pairs > 2) {
			continue // keep clear of the network and broadcast addresses
		}
		h := addOffset(p.Addr(), 2*k)
		q := h.Next()
		if !local[h] && !local[q] && p.Contains(q) {
			return h, q, nil
		}
	}
	return netip.Addr{}, netip.Addr{}, fmt.Errorf("netns: no free address pair in %s", p)
}

func addOffset(a netip.Addr, off uint64) netip.Addr {
	b := a.AsSlice()
	for i := len(b) - 1; i >= 0 && off > 0; i-- {
		sum := uint64(b[i]) + off&0xff
		b[i] = byte(sum)
		off = off>>8 + sum>>8
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

// DialContext connects to address (IP:port) from inside the namespace.
// Loopback and unspecified targets are reached through the host end of the
// veth pair; any other address gets a host route through it first.
func (n *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, fmt.Errorf("netns: dial %s: want IP:PORT: %v", address, err)
	}
	dst := ap.Addr().Unmap()
	if dst.IsLoopback() || dst.IsUnspecified() {
		if dst.Is4() {
			dst = n.Host4
		} else {
			dst = n.Host6
		}
	} else if err := n.route(dst); err != nil {
		return nil, err
	}
	return DialIn(ctx, n.Name, network, netip.AddrPortFrom(dst, ap.Port()).String())
}

// DialIn connects to addr (IP:port; no name lookups run inside) from inside
// the named network namespace (as `ip netns` names it). A socket belongs
// to the namespace it was created in, so the connection keeps working
// after the dialing thread has gone back. The dial runs on a goroutine
// locked to its OS thread, which enters the namespace with setns(2) and
// returns before unlocking; if returning fails, the goroutine ends locked
// and the runtime discards the thread rather than reuse it.
func DialIn(ctx context.Context, name, network, addr string) (net.Conn, error) {
	path, err := nsPath(name)
	if err != nil {
		return nil, err
	}
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("netns: dial %s: want IP:PORT: %v", addr, err)
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, back, err := dialInside(ctx, path, network, addr)
		if back {
			runtime.UnlockOSThread()
		}
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

func (n *Namespace) route(dst netip.Addr) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.routes[dst] {
		return nil
	}
	via, bits := n.Host4, 32
	if dst.Is6() {
		via, bits = n.Host6, 128
	}
	if err := ip("-n", n.Name, "route", "replace", netip.PrefixFrom(dst, bits).String(), "via", via.String(), "dev", n.PeerIf); err != nil {
		return err
	}
	n.routes[dst] = true
	return nil
}

// dialInside runs on a locked thread: enter the namespace, create the
// socket and connect, go back. back reports whether the thread is in its
// original namespace again.
func dialInside(ctx context.Context, path, network, addr string) (c net.Conn, back bool, err error) {
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("netns: own namespace: %v", err)
	}
	defer unix.Close(self)
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("netns: %v", err)
	}
	defer unix.Close(target)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("netns: setns: %v", err)
	}
	var d net.Dialer
	c, err = d.DialContext(ctx, network, addr)
	if rerr := unix.Setns(self, unix.CLONE_NEWNET); rerr != nil {
		if c != nil {
			c.Close()
		}
		return nil, false, fmt.Errorf("netns: back to the original namespace: %v", rerr)
	}
	return c, true, err
}

// Close removes the veth pair and the namespace. Safe to call twice.
func (n *Namespace) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	err := n.teardown()
	unregister(n)
	return err
}

func (n *Namespace) teardown() error {
	// Deleting one end of a veth pair deletes both; the namespace itself
	// disappears once its last socket is closed.
	_ = ip(n.inParent("link", "del", n.HostIf)...)
	var err error
	if _, e := nsPath(n.Name); e == nil {
		err = ip("netns", "del", n.Name)
	}
	return err
}

func nsPath(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return "", fmt.Errorf("netns: bad namespace name %q", name)
	}
	for _, dir := range []string{"/run/netns", "/var/run/netns"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("netns: namespace %q not found", name)
}

// removeStale deletes namespaces of this package whose process is gone
// (killed before it could clean up).
func removeStale() { RemoveStale() }

// RemoveStale deletes the namespaces Stale lists (root only; without the
// privilege nothing happens). pfaudit calls it at the start of every
// probe and audit run: a leftover veth's 198.18.x/fd70: addresses would
// otherwise widen this host's default mynetworks (mynetworks_style =
// subnet) and skew the audit.
func RemoveStale() {
	if os.Geteuid() != 0 {
		return
	}
	for _, name := range Stale() {
		// Deleting the namespace destroys the veth end inside it, and
		// with it the host end, its addresses and its routes.
		_ = ip("netns", "del", name)
	}
}

// Stale lists the namespaces under /run/netns that this package made for
// a process that no longer runs (killed outright, e.g. by SIGKILL or the
// OOM killer, before it could remove them). Only names of this package's
// form are considered, and only when the owning process is dead or its PID
// now belongs to a process started at another time.
func Stale() []string {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		parts := strings.Split(rest, "-")
		pid, err := strconv.Atoi(parts[0])
		if err != nil || pid <= 0 || pid == os.Getpid() || len(parts) < 2 {
			continue
		}
		dead := errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
		if !dead && len(parts) == 3 {
			if now := startTag(pid); now != "" && now != parts[1] {
				dead = true // the PID was reused
			}
		}
		if dead {
			out = append(out, e.Name())
		}
	}
	return out
}

// startTag is the start time of process pid (field 22 of /proc/PID/stat,
// in clock ticks since boot) in base 36, "" when unknown.
func startTag(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return ""
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return ""
	}
	return strconv.FormatUint(t, 36)
}

// Signal handling: while any namespace exists, SIGINT and SIGTERM tear
// them all down and are then re-raised with the default action.
var (
	regMu sync.Mutex
	live  = map[*Namespace]bool{}
	sigCh chan os.Signal
)

func register(n *Namespace) {
	regMu.Lock()
	defer regMu.Unlock()
	live[n] = true
	if sigCh == nil {
		sigCh = make(chan os.Signal, 1)
		signal.Notify(sigCh, syscall.SIGINT, syscall.SIGTERM)
		go watch(sigCh)
	}
}

func unregister(n *Namespace) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(live, n)
	if len(live) == 0 && sigCh != nil {
		signal.Stop(sigCh)
		close(sigCh)
		sigCh = nil
	}
}

func watch(ch chan os.Signal) {
	for sig := range ch {
		regMu.Lock()
		for n := range live {
			n.teardown()
		}
		regMu.Unlock()
		if callerHandlesSignals.Load() {
			// The program cancels its work and reports the interruption
			// itself (pfaudit's CLI: exit 130/143 with a message).
			continue
		}
		s, _ := sig.(syscall.Signal)
		signal.Reset(s)
		syscall.Kill(os.Getpid(), s)
	}
}
