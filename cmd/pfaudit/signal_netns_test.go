//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// TestSignalDuringNetnsProbe: SIGTERM and SIGINT while `pfaudit probe`
// talks to a server from its own network namespace (the netns vantage).
// The binary runs inside a lab namespace the test made, against a server
// there that accepts and never greets, so that the probe sits in the
// vantage's session when the signal comes. It must exit promptly with
// 128+signal, say why, and leave neither its namespace nor the host end
// of its veth pair behind (README.md "Leftovers of the netns vantage").
func TestSignalDuringNetnsProbe(t *testing.T) {
	if addr := os.Getenv("PFAUDIT_STALL_LISTEN"); addr != "" {
		stallServer(addr)
		return
	}
	bin := pfauditBinary(t)
	lab.RequireNetns(t)
	pair := lab.NewNetns(t, lab.NetnsOptions{Subnet: netipPrefix("10.214.0.0/24")})
	ipBin, err := exec.LookPath("ip")
	if err != nil {
		ipBin = "/usr/sbin/ip"
	}
	// The stalling server, inside the pair's server namespace.
	target := net.JoinHostPort(pair.ServerAddr.String(), "2525")
	srv := exec.Command(ipBin, "netns", "exec", pair.Server, os.Args[0], "-test.run=^TestSignalDuringNetnsProbe$")
	srv.Env = append(os.Environ(), "PFAUDIT_STALL_LISTEN="+target)
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "READY" {
		t.Fatalf("stalling server said %q", line)
	}

	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			before := probeNamespaces(t)
			// ip netns exec execs pfaudit in place: the PID is pfaudit's.
			cmd := exec.Command(ipBin, "netns", "exec", pair.Server, bin, "probe", "--target", target,
				"--vantage", "netns", "--defaults", "builtin", "--command-timeout", "60s", "--timeout", "2m")
			r := start(t, cmd)
			// Wait until the probe's namespace exists and its session has
			// had time to connect.
			var made string
			deadline := time.Now().Add(20 * time.Second)
			for made == "" && time.Now().Before(deadline) {
				select {
				case err := <-r.exited:
					t.Fatalf("pfaudit ended before the signal (%v): %s", err, r.stderr.String())
				case <-time.After(50 * time.Millisecond):
				}
				for n := range probeNamespaces(t) {
					if !before[n] {
						made = n
					}
				}
			}
			if made == "" {
				_ = cmd.Process.Kill()
				<-r.exited
				t.Fatalf("no pfaudit-probe namespace appeared; stderr: %s", r.stderr.String())
			}
			hostIf := hostEnd(t, ipBin, pair.Server)
			time.Sleep(500 * time.Millisecond)
			took := r.stop(t, tc.sig, tc.code)
			if took > 3*time.Second {
				t.Errorf("took %v to stop after %v", took, tc.sig)
			}
			if _, err := os.Stat("/run/netns/" + made); err == nil {
				_ = exec.Command(ipBin, "netns", "del", made).Run()
				t.Errorf("namespace %s survived %v", made, tc.sig)
			}
			if hostIf != "" {
				if out, err := exec.Command(ipBin, "-n", pair.Server, "link", "show", hostIf).CombinedOutput(); err == nil {
					t.Errorf("host end %s survived %v: %s", hostIf, tc.sig, out)
				}
			}
			t.Logf("stopped %v after %v; namespace %s, host end %s removed", took, tc.sig, made, hostIf)
		})
	}
}

// stallServer accepts connections on addr and never answers (the child
// process of TestSignalDuringNetnsProbe, run inside a lab namespace).
func stallServer(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	fmt.Println("READY")
	var held []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(0)
		}
		held = append(held, c)
	}
}

// probeNamespaces lists the pfaudit-probe-* namespaces that exist now.
func probeNamespaces(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/run/netns")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "pfaudit-probe-") {
			out[e.Name()] = true
		}
	}
	return out
}

// hostEnd finds the probe's veth end (pfh...) in namespace ns.
func hostEnd(t *testing.T, ipBin, ns string) string {
	t.Helper()
	// The probe makes its namespace first and the veth pair next: on a
	// busy machine the pair can lag the namespace the caller saw.
	for deadline := time.Now().Add(5 * time.Second); ; {
		out, err := exec.Command(ipBin, "-n", ns, "-o", "link", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("ip link show: %v: %s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], "pfh") {
				return strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("no pfh* host end of the probe's veth pair in %s", ns)
	return ""
}

func netipPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
