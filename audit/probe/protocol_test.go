package probe

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"go.uber.org/goleak"
)

// bangRelay answers RCPT like a server that relays bang paths
// ("example.net!relaytest", RFC 1123 5.2.16's UUCP form) and refuses every
// other foreign recipient.
func bangRelay(c *fakeConn, rcptLine string) {
	if strings.Contains(rcptLine, "!") {
		c.send("250 2.1.5 Ok")
		return
	}
	c.send("554 5.7.1 <x>: Relay access denied")
}

// brokenReset is a server that relays bang paths and whose RSET is
// broken: mode "502" refuses it, mode "noop" says 250 but keeps the
// transaction (through EHLO too), so the next MAIL gets Postfix's "503
// 5.5.1 Error: nested MAIL command".
func brokenReset(mode string) func(*fakeConn, string) {
	return func(c *fakeConn, line string) {
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		switch verb {
		case "RSET":
			if mode == "502" {
				c.send("502 5.5.2 Error: command not recognized")
				return
			}
			c.send("250 2.0.0 Ok") // and nothing is reset
		case "EHLO", "HELO":
			// RFC 5321 4.1.4 has EHLO reset too; this server does
			// not in mode "noop".
			if mode == "502" {
				c.data["mail"] = false
			}
			defaultHandle(c, line)
		case "MAIL":
			if c.data["mail"] == true {
				c.send("503 5.5.1 Error: nested MAIL command")
				return
			}
			c.data["mail"] = true
			c.send("250 2.1.0 Ok")
		case "RCPT":
			bangRelay(c, line)
		default:
			defaultHandle(c, line)
		}
	}
}

// runFake probes srv from vantage with short timeouts and checks that no
// DATA, BDAT, dot or header line ever reached it.
func runFake(t *testing.T, srv *fakeServer, vantage string) VantageReport {
	t.Helper()
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: vantage,
		Timeout: 20 * time.Second, CommandTimeout: 2 * time.Second, Limits: Limits{ErrorSleep: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Err() != nil {
		t.Fatalf("the run was interrupted: %v", rep.Err())
	}
	srv.stop()
	assertNoData(t, append(srv.lines(), "NOOP"))
	return rep.Targets[0].Vantages[0]
}

// TestBrokenResetIsNoRefusal: attempts after a failed RSET (or a MAIL
// refused as nested after an RSET that did nothing) are made again in a
// new session; none is counted refused for a reply that was not its own
// RCPT's, and the bang-path relay is found (issue 12: it was "closed").
func TestBrokenResetIsNoRefusal(t *testing.T) {
	for _, mode := range []string{"502", "noop"} {
		t.Run(mode, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFake(t, func(s *fakeServer) { s.handle = brokenReset(mode) })
			v := runFake(t, srv, VantageRemote)
			if v.Verdict != VerdictOpen {
				t.Errorf("verdict %s (%s), want open: the bang paths were relayed", v.Verdict, v.Reason)
			}
			bang := 0
			for _, a := range v.Attempts {
				switch {
				case strings.Contains(a.RcptTo, "!"):
					bang++
					if a.Outcome != OutcomeAccepted {
						t.Errorf("%s %s: outcome %s (%s %d %s), want accepted", a.Variant, a.RcptTo, a.Outcome, a.Stage, a.Code, a.Text)
					}
				case a.Outcome == OutcomeRefused && (a.Stage != StageRcpt || a.Code != 554):
					t.Errorf("%s: refused by %s %d %s, not by its own RCPT", a.Variant, a.Stage, a.Code, a.Text)
				case a.Outcome == OutcomeError:
					t.Errorf("%s: error %s %d %s: every attempt deserved its own session", a.Variant, a.Stage, a.Code, a.Text)
				}
			}
			if bang != 3 {
				t.Errorf("%d bang-path attempts, want 3", bang)
			}
			// One attempt per session: the RSET (or the MAIL after it)
			// fails every time.
			if v.Sessions < len(v.Attempts) {
				t.Errorf("%d sessions for %d attempts: the broken RSET was not met", v.Sessions, len(v.Attempts))
			}
		})
	}
}

// TestGreetingNot220: a server that greets with 250 (or any code that is
// neither 220, 421 nor 5xx) is an error, never open; the xclient vantage
// claims nothing.
func TestGreetingNot220(t *testing.T) {
	for _, greeting := range []string{"250 mx.example.com ESMTP", "354 go ahead", "200 hello"} {
		for _, vantage := range []string{VantageRemote, VantageXClient} {
			t.Run(greeting[:3]+" "+vantage, func(t *testing.T) {
				srv := startFake(t, func(s *fakeServer) {
					s.greet = func(c *fakeConn) { c.send(greeting) }
					s.handle = func(c *fakeConn, line string) {
						if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
							c.send("250-mx.example.com", "250 XCLIENT ADDR NAME")
							return
						}
						if strings.HasPrefix(strings.ToUpper(line), "XCLIENT") {
							c.send("220 mx.example.com ESMTP")
							return
						}
						c.send("250 2.0.0 Ok")
					}
				})
				rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: vantage,
					Timeout: 10 * time.Second, CommandTimeout: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				srv.stop()
				v := rep.Targets[0].Vantages[0]
				if v.Verdict != VerdictError {
					t.Errorf("verdict %s (%s), want error", v.Verdict, v.Reason)
				}
				if len(v.Attempts) != 1 || !strings.Contains(v.Attempts[0].Text, "not 220") && !strings.Contains(v.Attempts[0].Text, "354") {
					t.Errorf("attempts %+v, want one saying the greeting is not 220", v.Attempts)
				}
				if v.Client == DefaultClientAddr.String() || strings.Contains(v.Note, "every session claims") {
					t.Errorf("client %q note %q: the report claims XCLIENT that was never sent", v.Client, v.Note)
				}
				for _, l := range srv.lines() {
					if strings.HasPrefix(strings.ToUpper(l), "MAIL") || strings.HasPrefix(strings.ToUpper(l), "XCLIENT") {
						t.Errorf("sent %q after a greeting that was not 220", l)
					}
				}
			})
		}
	}
}

// TestUnsolicitedReplies: a server that sends a reply nobody asked for
// after its 554 (in the same write, or a moment later) or before it must
// not desynchronise the probe into reading a stray 250 as an acceptance.
func TestUnsolicitedReplies(t *testing.T) {
	tests := []struct {
		name string
		rcpt func(c *fakeConn)
		rtt  time.Duration // every reply this late: a distant server
	}{
		{"extra 250 in the same write", func(c *fakeConn) {
			c.c.Write([]byte("554 5.7.1 <x>: Relay access denied\r\n250 2.1.5 Ok\r\n"))
		}, 0},
		{"extra 250 a moment later", func(c *fakeConn) {
			c.send("554 5.7.1 <x>: Relay access denied")
			time.Sleep(time.Millisecond)
			c.send("250 2.1.5 Ok")
		}, 0},
		{"extra 250 before the 554", func(c *fakeConn) {
			c.send("250 2.1.5 Ok")
			c.send("554 5.7.1 <x>: Relay access denied")
		}, 0},
		// The stray 250 comes at once, the real answer a round trip
		// later: long after a fixed peek, within the settle after an
		// acceptance.
		{"stray 250 a round trip before the 554", func(c *fakeConn) {
			c.send("250 2.1.5 Ok")
			time.Sleep(30 * time.Millisecond)
			c.send("554 5.7.1 <x>: Relay access denied")
		}, 30 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFake(t, func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					if strings.HasPrefix(strings.ToUpper(line), "RCPT") {
						tc.rcpt(c)
						return
					}
					time.Sleep(tc.rtt)
					defaultHandle(c, line)
				}
			})
			v := runFake(t, srv, VantageRemote)
			if v.Verdict == VerdictOpen || v.Verdict == VerdictClosed {
				t.Errorf("verdict %s (%s): a server whose replies do not match the commands decides nothing", v.Verdict, v.Reason)
			}
			for _, a := range v.Attempts {
				if a.Outcome == OutcomeAccepted {
					t.Errorf("%s accepted: a stray 250 was read as the answer to RCPT", a.Variant)
				}
			}
			if !strings.Contains(v.Reason, "nobody asked for") {
				t.Errorf("reason %q does not name the protocol error", v.Reason)
			}
		})
	}
}

// TestNoLineAfter354: whatever command a server answers with 354, the
// probe drops that connection at once: not a byte more on it, no DATA or
// BDAT anywhere, and the verdict is never open.
func TestNoLineAfter354(t *testing.T) {
	for _, verb := range []string{"RCPT", "MAIL", "EHLO", "RSET"} {
		t.Run(verb, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			var mu sync.Mutex
			var after []string
			srv := startFake(t, func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					if c.data["354"] == true {
						mu.Lock()
						after = append(after, line)
						mu.Unlock()
						return
					}
					v, _, _ := strings.Cut(strings.ToUpper(line), " ")
					// EHLO: only the second one (the first set-up EHLO
					// answered 354 would end every session at once).
					ehlo, _ := c.data["ehlo"].(int)
					if v == "EHLO" {
						c.data["ehlo"] = ehlo + 1
					}
					if v == verb && (verb != "EHLO" || ehlo > 0) {
						c.data["354"] = true
						c.send("354 End data with <CR><LF>.<CR><LF>")
						return
					}
					if v == "RCPT" {
						c.send("250 2.1.5 Ok") // would be open, were it not for the 354s
						return
					}
					defaultHandle(c, line)
				}
			})
			v := runFake(t, srv, VantageRemote)
			mu.Lock()
			defer mu.Unlock()
			if len(after) > 0 {
				t.Errorf("%d lines sent after a 354 on the same connection: %q", len(after), after)
			}
			if verb == "RCPT" && v.Verdict == VerdictOpen {
				t.Errorf("verdict open: a 354 to RCPT is no acceptance")
			}
			n354 := 0
			for _, a := range v.Attempts {
				if a.Code == 354 {
					n354++
					if a.Outcome != OutcomeError || !strings.Contains(a.Text, "354") {
						t.Errorf("%s: outcome %s text %q after a 354", a.Variant, a.Outcome, a.Text)
					}
				}
			}
			if verb != "EHLO" && n354 == 0 {
				t.Errorf("no attempt records the 354: the test drove no code path")
			}
		})
	}
}

// xclientFake offers XCLIENT to everyone and relays for the client it
// believes in. honour: XCLIENT changes that client (else it is answered
// 220 and ignored); offerAfter: XCLIENT is still offered after a claim;
// relayFor: the client addresses it relays for ("127.0.0.1" is the real
// one, "203.0.113.5" the claimed one).
func xclientFake(honour, offerAfter bool, relayFor ...string) func(*fakeServer) {
	return func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			client, _ := c.data["client"].(string)
			if client == "" {
				client = "127.0.0.1"
			}
			verb, arg, _ := strings.Cut(strings.ToUpper(line), " ")
			switch verb {
			case "EHLO":
				ext := []string{"250-mx.example.com", "250-PIPELINING"}
				if client == "127.0.0.1" || offerAfter {
					ext = append(ext, "250-XCLIENT ADDR NAME")
				}
				c.send(append(ext, "250 ENHANCEDSTATUSCODES")...)
			case "XCLIENT":
				if honour {
					for _, f := range strings.Fields(arg) {
						if a, ok := strings.CutPrefix(f, "ADDR="); ok {
							c.data["client"] = a
						}
					}
				}
				c.send("220 mx.example.com ESMTP")
			case "RCPT":
				for _, r := range relayFor {
					if r == client {
						c.send("250 2.1.5 Ok")
						return
					}
				}
				c.send("554 5.7.1 <x>: Relay access denied")
			default:
				defaultHandle(c, line)
			}
		}
	}
}

// TestXCLIENTMustTakeEffect: the xclient vantage says open only when the
// claim is seen to take effect; a server that acknowledges XCLIENT and
// ignores it (so that the sessions are this host's, trusted) is unknown.
func TestXCLIENTMustTakeEffect(t *testing.T) {
	tests := []struct {
		name    string
		fake    func(*fakeServer)
		verdict string
		client  string
		reason  string
	}{
		{"ignored, open for this host", xclientFake(false, true, "127.0.0.1"), VerdictUnknown, "", "nothing shows the claim took effect"},
		{"honoured, no longer offered", xclientFake(true, false, "127.0.0.1", "203.0.113.5"), VerdictOpen, "203.0.113.5", "was accepted"},
		{"honoured, still offered, differs", xclientFake(true, true, "203.0.113.5"), VerdictOpen, "203.0.113.5", "was accepted"},
		{"honoured, still offered, same", xclientFake(true, true, "127.0.0.1", "203.0.113.5"), VerdictUnknown, "", "accepted there too"},
		{"honoured, refused", xclientFake(true, false, "127.0.0.1"), VerdictClosed, "203.0.113.5", "refused"},
		// XCLIENT offered to the claimed client too: anyone may claim
		// 127.0.0.1, and the difference shows the claims take effect.
		{"honoured, refused, offered to everyone", xclientFake(true, true, "127.0.0.1"), VerdictOpen, "203.0.113.5", "XCLIENT ADDR=127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFake(t, tc.fake)
			v := runFake(t, srv, VantageXClient)
			if v.Verdict != tc.verdict || v.Client != tc.client || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict %s client %q reason %q; want %s, %q, reason with %q", v.Verdict, v.Client, v.Reason, tc.verdict, tc.client, tc.reason)
			}
			if tc.verdict == VerdictUnknown && strings.Contains(v.Note, "every session claims") {
				t.Errorf("note %q claims the XCLIENT view", v.Note)
			}
		})
	}
}

// TestBrokenSTARTTLSNote: a STARTTLS that fails is an error with a note
// saying what failed and how to probe anyway.
func TestBrokenSTARTTLSNote(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			switch strings.ToUpper(line) {
			case "STARTTLS":
				c.send("220 2.0.0 Ready to start TLS")
				time.Sleep(50 * time.Millisecond)
				c.close() // no handshake
			default:
				c.send("250-mx.example.com", "250 STARTTLS")
			}
		}
	})
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		Timeout: 10 * time.Second, CommandTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv.stop()
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictError || !strings.Contains(v.Note, "STARTTLS failed") || !strings.Contains(v.Note, "--no-starttls") {
		t.Errorf("verdict %s note %q, want error with a STARTTLS note", v.Verdict, v.Note)
	}
}

// TestNegativeTimeouts: Run refuses negative timeouts instead of
// replacing them with the defaults.
func TestNegativeTimeouts(t *testing.T) {
	for _, o := range []Options{{Timeout: -time.Second}, {CommandTimeout: -time.Second}} {
		o.Targets = []string{"127.0.0.1:25"}
		if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "negative timeout") {
			t.Errorf("%+v: err %v", o, err)
		}
	}
}

// TestAutoLooksFurtherWhenClaimUnproven: auto does not settle for an
// XCLIENT view the server did not show to take effect; it moves on to the
// namespace (when it can make one) or says there is no other vantage.
func TestAutoLooksFurtherWhenClaimUnproven(t *testing.T) {
	srv := startFake(t, xclientFake(false, true, "127.0.0.1"))
	v := runFake(t, srv, VantageAuto)
	if v.Verdict == VerdictOpen || !strings.Contains(v.Note, "did not show that the claim took effect") {
		t.Errorf("auto: vantage %s verdict %s note %q", v.Vantage, v.Verdict, v.Note)
	}
	if v.Vantage == VantageXClient && !strings.Contains(v.Note, "no other untrusted vantage") {
		t.Errorf("auto kept the unproven xclient view without saying why: %q", v.Note)
	}
}

// refuseAll is a well-behaved go-smtp backend that refuses every
// recipient the way Postfix's relay guard does.
type refuseAll struct{ acceptAll }

func (b refuseAll) NewSession(*smtp.Conn) (smtp.Session, error) { return b, nil }
func (refuseAll) Rcpt(string, *smtp.RcptOptions) error {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "<x>: Relay access denied"}
}

// TestWellBehavedServerNoFalseErrors: the reply matching (peeks before
// each command, the settle after an acceptance, the RSET checks) costs a
// well-behaved server nothing: go-smtp's own server, closed or open, with
// STARTTLS, gets a clean verdict and not one error.
func TestWellBehavedServerNoFalseErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend smtp.Backend
		verdict string
	}{
		{"closed", refuseAll{acceptAll{new(atomic.Int32)}}, VerdictClosed},
		{"open", acceptAll{new(atomic.Int32)}, VerdictOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			s := smtp.NewServer(tc.backend)
			s.Domain = "mx.example.com"
			s.TLSConfig = testTLSConfig(t)
			s.ErrorLog = discardLogger{}
			ln, err := listenLocal(false, s)
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()
			rep, err := Run(context.Background(), Options{Targets: []string{ln.Addr().String()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
			s.Close()
			<-served
			if err != nil {
				t.Fatal(err)
			}
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != tc.verdict || !v.TLS || rep.Err() != nil {
				t.Errorf("verdict %s tls %v err %v, want %s over TLS", v.Verdict, v.TLS, rep.Err(), tc.verdict)
			}
			for _, a := range v.Attempts {
				if a.Outcome == OutcomeError || a.Outcome == "" {
					t.Errorf("%s: %s %s", a.Variant, a.Outcome, a.Text)
				}
			}
		})
	}
}
