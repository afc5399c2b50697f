//go:build linux

package netns_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/audit/netns"
)

// listenIn opens a TCP listener inside the named namespace.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, _ := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{nil, err}
			return // thread stays locked and is discarded
		}
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, err}
			return
		}
		ln, err := net.Listen("tcp", addr)
		if unix.Setns(self, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		unix.Close(self)
		unix.Close(target)
		ch <- result{ln, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.ln.Close() })
	return r.ln
}

// accept returns the client address of the next connection.
func accept(ln net.Listener) <-chan string {
	ch := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		ch <- c.RemoteAddr().String()
		c.Close()
	}()
	return ch
}

// All traffic here stays between namespaces the test created: the lab's
// "server" namespace (the Parent) and the probe's own.
func TestNamespaceDialAndClose(t *testing.T) {
	lab.RequireNetns(t)
	pair := lab.NewNetns(t, lab.NetnsOptions{PointToPoint: true})
	n, err := netns.New(netns.Config{Parent: pair.Server})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !netns.DefaultPrefix4.Contains(n.Peer4) || !netns.DefaultPrefix6.Contains(n.Peer6) {
		t.Fatalf("pair %s %s outside the defaults", n.Peer4, n.Peer6)
	}

	tests := []struct {
		name, listen, dial string
		peer               netip.Addr
	}{
		// A non-loopback target gets a host route through the pair.
		{"route to the server's address", pair.ServerAddr.String() + ":0", pair.ServerAddr.String(), n.Peer4},
		// Loopback targets map to the host end: a wildcard listener is
		// reachable there.
		{"loopback IPv4 to the host end", "0.0.0.0:0", "127.0.0.1", n.Peer4},
		{"loopback IPv6 to the host end", "[::]:0", "::1", n.Peer6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln := listenIn(t, pair.Server, tc.listen)
			port := ln.Addr().(*net.TCPAddr).Port
			got := accept(ln)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := n.DialContext(ctx, "tcp", netip.AddrPortFrom(netip.MustParseAddr(tc.dial), uint16(port)).String())
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			remote := <-got
			ap, err := netip.ParseAddrPort(remote)
			if err != nil || ap.Addr().Unmap() != tc.peer {
				t.Fatalf("server saw %s, want %s", remote, tc.peer)
			}
		})
	}

	// A listener bound to the server's loopback is out of reach.
	ln := listenIn(t, pair.Server, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = n.DialContext(ctx, "tcp", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("dial to a loopback-only listener: %v, want connection refused", err)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/run/netns/" + n.Name); err == nil {
		t.Errorf("namespace %s still exists", n.Name)
	}
	if out, err := exec.Command("ip", "-n", pair.Server, "link", "show", n.HostIf).CombinedOutput(); err == nil {
		t.Errorf("host end %s still exists: %s", n.HostIf, out)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSignalTeardown runs a child process that makes a namespace and
// waits; SIGTERM and SIGINT must remove the namespace and still end the
// child by that signal.
func TestSignalTeardown(t *testing.T) {
	if parent := os.Getenv("PFAUDIT_NETNS_CHILD"); parent != "" {
		n, err := netns.New(netns.Config{Parent: parent})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("NS", n.Name)
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	lab.RequireNetns(t)
	pair := lab.NewNetns(t, lab.NetnsOptions{})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSignalTeardown$")
			cmd.Env = append(os.Environ(), "PFAUDIT_NETNS_CHILD="+pair.Server)
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			name, ok := strings.CutPrefix(strings.TrimSpace(line), "NS ")
			if !ok {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q", line)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("child ended with %v, want death by %v", err, sig)
			}
			if _, err := os.Stat("/run/netns/" + name); err == nil {
				exec.Command("ip", "netns", "del", name).Run()
				t.Errorf("namespace %s survived %v", name, sig)
			}
		})
	}
}

// TestSIGKILLLeftoversCleaned: a probe process killed outright (SIGKILL
// cannot be caught) leaves its namespace and veth pair behind; the next
// namespace made by any process removes them.
func TestSIGKILLLeftoversCleaned(t *testing.T) {
	if parent := os.Getenv("PFAUDIT_NETNS_KILL_CHILD"); parent != "" {
		n, err := netns.New(netns.Config{Parent: parent})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("NS", n.Name, n.HostIf)
		time.Sleep(time.Minute)
		os.Exit(4)
	}
	lab.RequireNetns(t)
	pair := lab.NewNetns(t, lab.NetnsOptions{})
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILLLeftoversCleaned$")
	cmd.Env = append(os.Environ(), "PFAUDIT_NETNS_KILL_CHILD="+pair.Server)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "NS" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q", line)
	}
	name, hostIf := f[1], f[2]
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, err := os.Stat("/run/netns/" + name); err != nil {
		t.Fatalf("precondition: the killed child's namespace %s is already gone: %v", name, err)
	}
	if !slices.Contains(netns.Stale(), name) {
		t.Errorf("Stale() = %v, want it to list %s", netns.Stale(), name)
	}
	n, err := netns.New(netns.Config{Parent: pair.Server})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		t.Errorf("namespace %s of the SIGKILLed child survived the next New", name)
	}
	if out, err := exec.Command("ip", "-n", pair.Server, "link", "show", hostIf).CombinedOutput(); err == nil {
		t.Errorf("host end %s of the SIGKILLed child survived: %s", hostIf, out)
	}
	if _, err := os.Stat("/run/netns/" + n.Name); err != nil {
		t.Errorf("the new namespace %s was removed too: %v", n.Name, err)
	}
}
