package probe

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// rcptDomain is the domain of a RCPT line's address, "" when none.
func rcptDomain(line string) string {
	_, arg, _ := strings.Cut(line, ":")
	arg = strings.Trim(strings.TrimSpace(arg), "<>")
	i := strings.LastIndex(arg, "@")
	if i < 0 {
		return ""
	}
	return strings.ToLower(arg[i+1:])
}

// replyServer answers RCPT by the recipient's domain: byDomain first,
// else other.
func replyServer(byDomain map[string]string, other string) func(*fakeServer) {
	return func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			if strings.HasPrefix(strings.ToUpper(line), "RCPT") {
				if r, ok := byDomain[rcptDomain(line)]; ok {
					c.send(r)
				} else {
					c.send(other)
				}
				return
			}
			defaultHandle(c, line)
		}
	}
}

const relayDenied454 = "454 4.7.1 <x>: Relay access denied"

// TestReplyVerdicts: replies a lab Postfix cannot easily give (a null MX,
// greylisting, a failing lookup table, virtual domains, catch-alls) and
// the verdict, qualifier, test domain and printed reason each must give.
func TestReplyVerdicts(t *testing.T) {
	tests := []struct {
		name      string
		byDomain  map[string]string
		other     string
		verdict   string
		qualifier string
		domain    string
		reason    string // in the reason and in the table
	}{
		{"relay guard defers (defer_unauth_destination)", nil, relayDenied454,
			VerdictClosed, QualifierDeferred, "example.net", "deferred by the relay guard"},
		{"greylisting", nil, "450 4.7.1 <x>: Recipient address rejected: Greylisted, see https://example.org/greylist",
			VerdictUnknown, "", "example.net", "deferred (450 4.7.1"},
		{"lookup table failure", nil, "451 4.3.0 <x>: Temporary lookup failure",
			VerdictUnknown, "", "example.net", "451 4.3.0 <x>: Temporary lookup failure"},
		{"policy service down", nil, "451 4.3.5 Server configuration problem",
			VerdictUnknown, "", "example.net", "451 4.3.5"},
		{"null MX (RFC 7505)", nil, "556 5.1.10 <x>: Recipient address rejected: Domain example.net does not accept mail (nullMX)",
			VerdictUnknown, "", "example.net", "test domain's DNS"},
		{"NXDOMAIN", nil, "550 5.1.2 <x>: Recipient address rejected: Domain not found",
			VerdictUnknown, "", "example.net", "test domain's DNS"},
		{"virtual mailbox domain example.net, closed", map[string]string{"example.net": "550 5.1.1 <x>: Recipient address rejected: User unknown in virtual mailbox table"},
			"554 5.7.1 <x>: Relay access denied", VerdictClosed, "", "example.org", "refused"},
		{"virtual alias domain example.net, open", map[string]string{"example.net": "550 5.1.1 <x>: Recipient address rejected: User unknown in virtual alias table"},
			"250 2.1.5 Ok", VerdictOpen, "", "example.org", "accepted"},
		{"catch-all at example.net, closed", map[string]string{"example.net": "250 2.1.5 Ok"},
			"554 5.7.1 <x>: Relay access denied", VerdictClosed, "", "example.org", "refused"},
		{"every domain accepted", nil, "250 2.1.5 Ok", VerdictOpen, "", "example.net", "accepted"},
		// The fake server is mx.example.com: example.com, its own domain,
		// is never tried.
		{"example.net and example.org hosted", map[string]string{
			"example.net": "550 5.1.1 <x>: Recipient address rejected: User unknown in local recipient table",
			"example.org": "550 5.1.1 <x>: Recipient address rejected: User unknown in relay recipient table"},
			relayDenied454, VerdictClosed, QualifierDeferred, "relaytest.example", "deferred"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, replyServer(tc.byDomain, tc.other))
			rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != tc.verdict || v.Qualifier != tc.qualifier || v.TestDomain != tc.domain || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict %s (%s), test domain %s, reason %q; want %s (%s), %s, reason with %q",
					v.Verdict, v.Qualifier, v.TestDomain, v.Reason, tc.verdict, tc.qualifier, tc.domain, tc.reason)
				logAttempts(t, v)
			}
			var b bytes.Buffer
			if err := WriteTable(&b, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "reason: ") || !strings.Contains(b.String(), tc.reason) {
				t.Errorf("the table does not print the reason:\n%s", b.String())
			}
			if tc.qualifier != "" && !strings.Contains(b.String(), "CLOSED (deferred)") {
				t.Errorf("the table does not say CLOSED (deferred):\n%s", b.String())
			}
			assertNoData(t, srv.lines())
		})
	}
}

// TestFixedTestDomainWarns: --test-domain is kept even when the replies
// say the server hosts it, with a warning.
func TestFixedTestDomainWarns(t *testing.T) {
	srv := startFake(t, replyServer(map[string]string{"example.net": "550 5.1.1 <x>: Recipient address rejected: User unknown in local recipient table"}, "250 2.1.5 Ok"))
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		TestDomain: "example.net", TestDomainFixed: true, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Targets[0].Vantages[0]
	if v.TestDomain != "example.net" || len(v.DomainChecks) != 1 || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "hosts the test domain example.net") {
		t.Errorf("test domain %s, %d control RCPTs, warnings %q", v.TestDomain, len(v.DomainChecks), v.Warnings)
	}
	// Routed forms through the server's own name (mx.example.com) were
	// accepted, but they end at example.net, which the server hosts:
	// local delivery, not relay.
	if v.Verdict != VerdictUnknown || !strings.Contains(v.Reason, "hosted") {
		t.Errorf("verdict %s (%s), want unknown: every recipient is hosted", v.Verdict, v.Reason)
	}
	// A catch-all at the user's domain: accepted everywhere at
	// example.net, refused elsewhere: warned, and never open.
	srv2 := startFake(t, replyServer(map[string]string{"example.net": "250 2.1.5 Ok"}, "554 5.7.1 <x>: Relay access denied"))
	rep, _ = Run(context.Background(), Options{Targets: []string{srv2.addr()}, Vantage: VantageRemote,
		TestDomain: "example.net", TestDomainFixed: true, Timeout: 20 * time.Second})
	if v := rep.Targets[0].Vantages[0]; v.Verdict == VerdictOpen || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "catch-all") {
		t.Errorf("catch-all at --test-domain: verdict %s, warnings %q", v.Verdict, v.Warnings)
	}
	// The server's own domain is never used as the test domain.
	rep, _ = Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		TestDomain: "example.com", Timeout: 20 * time.Second})
	if v := rep.Targets[0].Vantages[0]; v.TestDomain == "example.com" {
		t.Errorf("the server's own domain example.com (mx.example.com) was used as the test domain: %s", v.TestDomainNote)
	}
}

// shortWindows makes the greeting diagnosis fast for a test.
func shortWindows(t *testing.T, quiet, silent time.Duration) {
	q, s := quietWindow, silentWindow
	quietWindow, silentWindow = quiet, silent
	t.Cleanup(func() { quietWindow, silentWindow = q, s })
}

// TestBrokenListeners: a listener that closes every connection before a
// byte, and one that accepts and never says anything (Postfix's master
// throttling an smtpd that exits at start-up), are broken, fast, and the
// second vantage does not wait again.
func TestBrokenListeners(t *testing.T) {
	shortWindows(t, 200*time.Millisecond, time.Second)
	for _, tc := range []struct {
		name   string
		greet  func(c *fakeConn)
		max    time.Duration
		reason string
	}{
		{"closed before a byte", func(c *fakeConn) { c.close() }, time.Second, "closed two connections in a row"},
		{"silent", func(c *fakeConn) {
			c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.r.ReadString('\n') // a PROXY line, or nothing
			c.close()
		}, 2 * time.Second, "nothing answered within 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFake(t, func(s *fakeServer) { s.greet = tc.greet })
			start := time.Now()
			rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: "loopback,remote", Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > tc.max {
				t.Errorf("took %v, want under %v", took, tc.max)
			}
			for _, v := range rep.Targets[0].Vantages {
				if v.Verdict != VerdictBroken || !strings.Contains(v.Reason, tc.reason) {
					t.Errorf("%s: verdict %s reason %q, want broken", v.Vantage, v.Verdict, v.Reason)
				}
			}
			srv.stop()
		})
	}
}

// proxyV2Server is a listener that takes the client address from a PROXY
// v2 header only (a v1 line or no header: dropped) and relays for
// 127.0.0.1 alone.
func proxyV2Server(s *fakeServer) {
	s.greet = func(c *fakeConn) {
		c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		hdr := make([]byte, 16)
		if _, err := io.ReadFull(c.r, hdr); err != nil || !bytes.HasPrefix(hdr, proxyV2Sig) || hdr[13] != 0x11 {
			c.close()
			return
		}
		addrs := make([]byte, int(hdr[14])<<8|int(hdr[15]))
		if _, err := io.ReadFull(c.r, addrs); err != nil {
			c.close()
			return
		}
		c.c.SetReadDeadline(time.Time{})
		c.data["trusted"] = bytes.Equal(addrs[:4], []byte{127, 0, 0, 1})
		c.send("220 mx.example.com ESMTP behind a proxy")
	}
	s.handle = func(c *fakeConn, line string) {
		if strings.HasPrefix(strings.ToUpper(line), "RCPT") && c.data["trusted"] == true {
			c.send("250 2.1.5 Ok")
			return
		}
		defaultHandle(c, line)
	}
}

// TestProxyProtocolV2: the listener wants a v2 header; the probe finds
// out after the quiet window, claims 127.0.0.1 and reports open with what
// it did. Its honest sessions (the catalogue) claim its own address.
func TestProxyProtocolV2(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	shortWindows(t, 200*time.Millisecond, 3*time.Second)
	srv := startFake(t, proxyV2Server)
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictOpen || !strings.Contains(v.Reason, "PROXY v2 header claiming 127.0.0.1") {
		t.Errorf("verdict %s reason %q", v.Verdict, v.Reason)
		logAttempts(t, v)
	}
	// The catalogue went through honest headers: 127.0.0.1 is the probe's
	// own address here, so the catalogue relays too; what matters is
	// that every session got through the header.
	for _, a := range v.Attempts {
		if a.Outcome == OutcomeError {
			t.Errorf("%s: %s", a.Variant, a.Text)
		}
	}
	srv.stop()
	assertNoData(t, append(srv.lines(), "NOOP"))
}

// TestPreambleOnlyFirst: the wire lets a PROXY header through only as the
// very first bytes, well-formed; nothing else reaches the server.
func TestPreambleOnlyFirst(t *testing.T) {
	local := netip.MustParseAddrPort("127.0.0.1:5")
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 25}
	v2 := proxyHeader(2, netip.MustParseAddr("127.0.0.1"), local, remote)
	for _, tc := range []struct {
		name string
		pre  []byte
		ok   bool
	}{
		{"v1", proxyHeader(1, netip.Addr{}, local, remote), true},
		{"v1 with DATA", []byte("PROXY TCP4 127.0.0.1 127.0.0.1 12345 25\r\nDATA\r\n"), false},
		{"v1 bad family", []byte("PROXY UNKNOWN\r\n"), false},
		{"v2", v2, true},
		{"v2 truncated", v2[:20], false},
	} {
		w, got := pipeWire(t)
		err := w.preamble(tc.pre)
		w.Close()
		sent := <-got
		if (err == nil) != tc.ok || tc.ok != (sent == string(tc.pre)) {
			t.Errorf("%s: error %v, sent %q; want ok=%v", tc.name, err, sent, tc.ok)
		}
	}
	if h := string(proxyHeader(1, netip.Addr{}, local, remote)); h != "PROXY TCP4 127.0.0.1 127.0.0.1 5 25\r\n" {
		t.Errorf("v1 header %q", h)
	}
	w, got := pipeWire(t)
	go w.Write([]byte("EHLO x\r\n"))
	time.Sleep(50 * time.Millisecond)
	if err := w.preamble([]byte("PROXY TCP4 127.0.0.1 127.0.0.1 12345 25\r\n")); err == nil {
		t.Error("a PROXY header after EHLO was let through")
	}
	w.Close()
	if s := <-got; strings.Contains(s, "PROXY") {
		t.Errorf("sent %q", s)
	}
}

// TestProxyWithoutXCLIENT: a PROXY-protocol listener that does not offer
// XCLIENT: the xclient vantage reports XCLIENT unavailable (so auto moves
// on), not a broken listener, and remembers the header for later
// vantages.
func TestProxyWithoutXCLIENT(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	shortWindows(t, 200*time.Millisecond, 3*time.Second)
	srv := startFake(t, proxyV2Server)
	start := time.Now()
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: "xclient,remote", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	xc, rm := rep.Targets[0].Vantages[0], rep.Targets[0].Vantages[1]
	if !isXClientUnavailable(xc) || xc.Verdict == VerdictBroken {
		t.Errorf("xclient: verdict %s note %q, want XCLIENT unavailable", xc.Verdict, xc.Note)
	}
	if rm.Verdict != VerdictOpen {
		t.Errorf("remote: verdict %s (%s)", rm.Verdict, rm.Reason)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v: the second vantage should not wait for the quiet window again", took)
	}
	srv.stop()
}

// TestSlowGreetingIsNotProxy: a plain server that greets late (after the
// quiet window) gets a PROXY line from the diagnosis as its first command
// (502); the probe must keep treating it as plain SMTP.
func TestSlowGreetingIsNotProxy(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	shortWindows(t, 100*time.Millisecond, 3*time.Second)
	srv := startFake(t, func(s *fakeServer) {
		s.greet = func(c *fakeConn) {
			if c.n == 1 {
				time.Sleep(400 * time.Millisecond)
			}
			c.send("220 mx.example.com ESMTP slow")
		}
	})
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictClosed {
		t.Errorf("verdict %s (%s)", v.Verdict, v.Reason)
		logAttempts(t, v)
	}
	srv.stop()
	n := 0
	for _, l := range srv.lines() {
		if strings.HasPrefix(l, "PROXY") {
			n++
		}
	}
	if n > 1 {
		t.Errorf("%d PROXY headers sent: the probe took the slow server for a PROXY listener", n)
	}
}

// TestXCLIENTLoginImpersonation: a server that offers XCLIENT (with the
// LOGIN attribute) to an untrusted client and relays for SASL-authenticated
// clients only: claiming LOGIN= with XCLIENT passes
// permit_sasl_authenticated, so the server is open to anyone.
func TestXCLIENTLoginImpersonation(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			up := strings.ToUpper(line)
			switch {
			case strings.HasPrefix(up, "EHLO"):
				c.send("250-mx.example.com", "250-XCLIENT NAME ADDR PROTO HELO LOGIN", "250 AUTH PLAIN LOGIN")
			case strings.HasPrefix(up, "XCLIENT"):
				c.data["login"] = strings.Contains(up, " LOGIN=")
				c.send("220 mx.example.com ESMTP")
			case strings.HasPrefix(up, "AUTH"):
				c.send("535 5.7.8 Error: authentication failed")
			case strings.HasPrefix(up, "RCPT") && c.data["login"] == true:
				c.send("250 2.1.5 Ok")
			default:
				defaultHandle(c, line)
			}
		}
	})
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictOpen || !strings.Contains(v.Reason, "XCLIENT ADDR=127.0.0.1 LOGIN=pfaudit-impersonated") {
		t.Errorf("verdict %s reason %q, want open through XCLIENT LOGIN=", v.Verdict, v.Reason)
		logAttempts(t, v)
	}
	srv.stop()
	assertNoData(t, srv.lines())
}

// TestClassify: Postfix's reply texts and RFC 3463 codes, as classify
// reads them.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		stage, enh, text string
		code             int
		want             string
	}{
		{StageRcpt, "4.7.1", "<a@example.net>: Relay access denied", 454, OutcomeRelayDeferred},
		{StageRcpt, "5.7.1", "<a@example.net>: Relay access denied", 554, OutcomeRefused},
		{StageRcpt, "4.7.1", "<a@example.net>: Recipient address rejected: Greylisted", 450, OutcomeDeferred},
		{StageRcpt, "4.3.0", "<a@example.net>: Temporary lookup failure", 451, OutcomeDeferred},
		{StageRcpt, "4.1.2", "<a@example.net>: Recipient address rejected: Domain not found", 450, OutcomeInconclusive},
		{StageRcpt, "5.1.2", "<a@example.net>: Recipient address rejected: Domain not found", 550, OutcomeInconclusive},
		{StageRcpt, "5.1.10", "<a@example.net>: Recipient address rejected: Domain example.net does not accept mail (nullMX)", 556, OutcomeInconclusive},
		{StageRcpt, "4.1.8", "<p@example.org>: Sender address rejected: Domain not found", 450, OutcomeInconclusive},
		{StageRcpt, "5.1.1", "<a@example.net>: Recipient address rejected: User unknown in local recipient table", 550, OutcomeHosted},
		{StageRcpt, "5.1.1", "<a@example.net>: Recipient address rejected: User unknown in virtual alias table", 550, OutcomeHosted},
		{StageRcpt, "", "User unknown in virtual mailbox table", 550, OutcomeHosted},
		{StageRcpt, "5.1.1", "<a@example.net>: Recipient address rejected: undeliverable address", 550, OutcomeHosted},
		{StageRcpt, "2.1.5", "Ok", 250, OutcomeAccepted},
		{StageRcpt, "5.7.0", "Authentication required", 530, OutcomeAuthRequired},
		{StageMail, "5.1.1", "User unknown in local recipient table", 550, OutcomeRefused},
		{StageHelo, "4.7.1", "Relay access denied", 454, OutcomeDeferred},
	} {
		r := AttemptResult{Stage: tc.stage, Code: tc.code, EnhancedCode: tc.enh, Text: tc.text}
		classify(&r)
		if r.Outcome != tc.want {
			t.Errorf("%s %d %s %q: %s, want %s", tc.stage, tc.code, tc.enh, tc.text, r.Outcome, tc.want)
		}
	}
}

// TestJudgeAttempts: the verdict rules over classified attempts.
func TestJudgeAttempts(t *testing.T) {
	r := func(class Class, outcome string, text string) AttemptResult {
		return AttemptResult{Class: class, Stage: StageRcpt, Outcome: outcome, Code: 554, Text: text}
	}
	denied := "Relay access denied"
	for _, tc := range []struct {
		name      string
		rs        []AttemptResult
		verdict   string
		qualifier string
	}{
		{"refused", []AttemptResult{r(ClassRelay, OutcomeRefused, denied)}, VerdictClosed, ""},
		{"guard deferred", []AttemptResult{r(ClassRelay, OutcomeRelayDeferred, denied), r(ClassRouted, OutcomeRefused, "x")}, VerdictClosed, QualifierDeferred},
		{"hosted only", []AttemptResult{r(ClassRelay, OutcomeHosted, "")}, VerdictUnknown, ""},
		{"hosted does not stop closed", []AttemptResult{r(ClassRelay, OutcomeHosted, ""), r(ClassRouted, OutcomeRefused, denied)}, VerdictClosed, ""},
		{"local accepted", []AttemptResult{r(ClassLocal, OutcomeAccepted, ""), r(ClassRelay, OutcomeRefused, denied)}, VerdictClosed, ""},
		{"dns only", []AttemptResult{r(ClassRelay, OutcomeInconclusive, "")}, VerdictUnknown, ""},
		{"dns and refusals without the guard", []AttemptResult{r(ClassRelay, OutcomeInconclusive, ""), r(ClassRelay, OutcomeRefused, "Client host rejected")}, VerdictUnknown, ""},
		{"dns and the guard refusing", []AttemptResult{r(ClassRelay, OutcomeInconclusive, ""), r(ClassRouted, OutcomeRefused, denied)}, VerdictClosed, ""},
		{"greylisted", []AttemptResult{r(ClassRelay, OutcomeDeferred, "Greylisted"), r(ClassRelay, OutcomeRefused, denied)}, VerdictUnknown, ""},
		{"accepted wins", []AttemptResult{r(ClassRelay, OutcomeDeferred, ""), r(ClassRouted, OutcomeAccepted, "")}, VerdictOpen, ""},
	} {
		v, q, why := judgeAttempts(tc.rs)
		if v != tc.verdict || q != tc.qualifier || why == "" {
			t.Errorf("%s: %s (%s) %q, want %s (%s) with a reason", tc.name, v, q, why, tc.verdict, tc.qualifier)
		}
	}
}
