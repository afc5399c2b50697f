//go:build linux

package lab_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// TestNetnsSubnet: the Subnet profile inside a namespace trusts a client on
// its /24 and not a point-to-point /32 peer; the sessions run over sockets
// made by DialFrom, after the dialing thread has left the namespace; and no
// thread of this process stays in a lab namespace.
//
// The thread check needs all of this process's DialFrom calls to be over:
// keep every other use of namespaces in this binary inside this test (or in
// a child process).
func TestNetnsSubnet(t *testing.T) {
	lab.RequireNetns(t)
	t.Parallel()
	cases := []struct {
		name     string
		opt      lab.NetnsOptions
		wantCode int
	}{
		{"subnet24", lab.NetnsOptions{}, 250},
		{"ptp32", lab.NetnsOptions{PointToPoint: true, Subnet: netip.MustParsePrefix("10.213.7.0/24")}, 454},
	}
	var left leftovers
	t.Run("group", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ns := lab.NewNetns(t, tc.opt)
				opt := lab.Subnet()
				opt.Netns = ns
				in := lab.Start(t, opt)
				left.add(in, ns)
				if want := ns.ServerAddr.String() + ":25"; in.Addr() != want {
					t.Errorf("Addr() = %s, want %s", in.Addr(), want)
				}
				code, text := in.RCPTCheck(t, lab.ClientOpts{}, sender, remote)
				if code != tc.wantCode {
					t.Errorf("client %s relaying: %d %s, want %d", ns.ClientAddr, code, text, tc.wantCode)
				}
				// The server saw the client's own address.
				if log := in.Maillog(); !strings.Contains(log, "connect from unknown["+ns.ClientAddr.String()+"]") {
					t.Errorf("maillog does not show client %s:\n%s", ns.ClientAddr, log)
				}
				// XCLIENT works from the namespace client as well.
				code, text = in.RCPTCheck(t, lab.ClientOpts{Addr: untrusted}, sender, remote)
				if code != 454 {
					t.Errorf("XCLIENT %s relaying: %d %s, want 454", untrusted, code, text)
				}
				// DialFrom takes literals only, and dials from inside:
				// nothing listens on port 26 there.
				if _, err := ns.Dial("tcp", "localhost:25", time.Second); err == nil || !strings.Contains(err.Error(), "want IP:PORT") {
					t.Errorf("DialFrom with a host name: %v", err)
				}
				if _, err := ns.Dial("tcp", ns.ServerAddr.String()+":26", time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
					t.Errorf("dial to a closed port in the namespace: %v, want connection refused", err)
				}
			})
		}
	})
	left.verify(t)
	assertThreadsHome(t)
}

// assertThreadsHome fails when a thread of this process is not in the
// process's original network namespace.
func assertThreadsHome(t *testing.T) {
	t.Helper()
	home, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("no threads found: %v", err)
	}
	for _, p := range tasks {
		if ns, err := os.Readlink(p); err == nil && ns != home {
			t.Errorf("thread %s is in %s, not %s", p, ns, home)
		}
	}
}

// TestDialFromRefuses: DialFrom takes existing namespaces only.
func TestDialFromRefuses(t *testing.T) {
	for _, tc := range []struct{ ns, addr, want string }{
		{"../etc", "10.213.0.1:25", "bad namespace name"},
		{"pfaudit-lab-does-not-exist", "10.213.0.1:25", "not found"},
		{"", "10.213.0.1:25", "bad namespace name"},
	} {
		_, err := lab.DialFrom(tc.ns, "tcp", tc.addr, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DialFrom(%q, %q): %v, want %q", tc.ns, tc.addr, err, tc.want)
		}
	}
}
