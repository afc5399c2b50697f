package rules

import (
	"bufio"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestVerifiedFixesLive applies the fixes pfaudit verified to a real
// Postfix and asks it again: the untrusted client that relayed before is
// refused afterwards. The server runs in a namespace pair, so its listener
// is exposed and the client is a genuine outsider (no XCLIENT). The PROXY
// case also checks the rule's premise on the live server: a PROXY header
// claiming 127.0.0.1 relays.
func TestVerifiedFixesLive(t *testing.T) {
	lab.RequireNetns(t)
	for _, tc := range []struct {
		name  string
		label string
		main  []string
		// proxyOn turns smtpd_upstream_proxy_protocol = haproxy on for the
		// listener once it runs (the harness's readiness check speaks no
		// PROXY), and the client sends a PROXY header claiming 127.0.0.1.
		proxyOn bool
		ids     []string
		// thisHost says whether the server's own address still relays
		// after the fix (mynetworks narrowed to loopback drops it).
		thisHost bool
	}{
		{name: "access-map-ok-before-guard", label: "fix-access", ids: []string{"PFA-RELAY-001", "PFA-RELAY-013"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32", "smtpd_relay_restrictions = check_client_access static:OK, permit_mynetworks, reject_unauth_destination"}},
		{name: "mynetworks-everyone", label: "fix-mynet", ids: []string{"PFA-RELAY-001", "PFA-RELAY-005"},
			main: []string{"mynetworks = 0.0.0.0/0"}},
		{name: "relay-domains-everything", label: "fix-reldom", ids: []string{"PFA-RELAY-001", "PFA-RELAY-020"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32", "relay_domains = static:ALL", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"}},
		{name: "proxy-protocol", label: "fix-proxy", ids: []string{"PFA-RELAY-001", "PFA-RELAY-027"},
			main:    []string{"mynetworks = 127.0.0.0/8", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"},
			proxyOn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := lab.NewNetns(t, lab.NetnsOptions{Subnet: netip.MustParsePrefix("10.214.0.0/24")})
			in := lab.Start(t, lab.Options{Label: tc.label, Netns: n, Main: tc.main})
			addr := in.ListenerAddr("smtp")
			if tc.proxyOn {
				if _, err := in.Postconf("-P", addr+"/inet/smtpd_upstream_proxy_protocol=haproxy"); err != nil {
					t.Fatal(err)
				}
				if err := in.Reload(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond)
			}
			ask := func(from string) string {
				t.Helper()
				header := ""
				if tc.proxyOn {
					header = "PROXY TCP4 127.0.0.1 " + n.ServerAddr.String() + " 40000 25"
				}
				return rcptReply(t, n, from, addr, header)
			}
			if got := ask(n.Client); !strings.HasPrefix(got, "250") {
				t.Fatalf("before the fix the outsider does not relay: %q", got)
			}

			cfg, err := postconf.LoadDir(in.ConfigDir(), defaults.Builtin(), "built-in")
			if err != nil {
				t.Fatal(err)
			}
			opt := relay.Options{LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), n.ServerAddr}}
			c := &Context{Cfg: cfg, Relay: opt}
			if tc.proxyOn {
				// The lead's model adds the PROXY-impersonating class; until
				// then the test adds it (proxied).
				c.Analyses = proxied(relay.Listeners(cfg)[0].Key)(cfg)
			} else {
				c.Analyses = relay.Analyze(cfg, opt)
			}
			var cmds []string
			var fired []string
			for _, f := range Run(c) {
				fired = append(fired, f.ID)
				if strings.Contains(f.Message, noVerifiedFix) {
					t.Errorf("%s: %s", f.ID, f.Message)
				}
				for _, cmd := range f.Remediation {
					if !slices.Contains(cmds, cmd) {
						cmds = append(cmds, cmd)
					}
				}
			}
			for _, id := range tc.ids {
				if !slices.Contains(fired, id) {
					t.Errorf("%s did not fire (fired: %v)", id, fired)
				}
			}
			for _, cmd := range cmds {
				runFix(t, cmd)
			}
			if err := in.Reload(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
			if got := ask(n.Client); strings.HasPrefix(got, "250") {
				t.Errorf("after the fix %q the outsider still relays: %q", cmds, got)
			} else if !strings.HasPrefix(got, "5") {
				t.Errorf("after the fix the outsider gets %q, want a 5xx refusal", got)
			}
			if tc.thisHost {
				if got := rcptReply(t, n, n.Server, addr, ""); !strings.HasPrefix(got, "250") {
					t.Errorf("after the fix this host no longer relays: %q", got)
				}
			}
			t.Logf("fix %q", cmds)
		})
	}
}

// runFix runs one remediation command with the real postconf and postmap.
func runFix(t *testing.T, cmd string) {
	t.Helper()
	for _, bin := range []string{"postconf", "postmap"} {
		if strings.HasPrefix(cmd, bin+" ") {
			p, err := exec.LookPath(bin)
			if err != nil {
				p = "/usr/sbin/" + bin
			}
			cmd = p + strings.TrimPrefix(cmd, bin)
		}
	}
	out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
	if err != nil || strings.Contains(string(out), "warning") || strings.Contains(string(out), "fatal") {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
}

// rcptReply opens an SMTP session from namespace ns to addr, sends header
// first when not empty (a PROXY line), and asks RCPT TO a third-party
// domain: it returns the RCPT reply line. The commands after the greeting
// are sent one at a time and every reply line is read, so an extra reply
// (a server without the PROXY protocol answering the header as a command)
// does not shift the answers: the RCPT reply is the last reply line read
// after RCPT was sent. DATA is never sent.
func rcptReply(t *testing.T, n *lab.Netns, ns, addr, header string) string {
	t.Helper()
	conn, err := lab.DialFrom(ns, "tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	if header != "" {
		if _, err := conn.Write([]byte(header + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// readReplies reads reply lines until the server has been quiet for a
	// moment after a final line.
	readReplies := func() []string {
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return lines
			}
			line = strings.TrimRight(line, "\r\n")
			lines = append(lines, line)
			if len(line) >= 4 && line[3] == ' ' {
				_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
				if _, err := r.Peek(1); err != nil {
					_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
					return lines
				}
				_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			}
		}
	}
	send := func(cmd string) []string {
		if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return readReplies()
	}
	greet := readReplies()
	if len(greet) == 0 || !strings.HasPrefix(greet[0], "220") {
		t.Fatalf("greeting: %q", greet)
	}
	send("EHLO client.example.org")
	send("MAIL FROM:<relaytest@example.org>")
	rc := send("RCPT TO:<relaytest@example.net>")
	send("RSET")
	send("QUIT")
	if len(rc) == 0 {
		return ""
	}
	return rc[len(rc)-1]
}
