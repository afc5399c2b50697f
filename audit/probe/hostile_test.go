package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
	"go.uber.org/goleak"
)

// Each hostile server must end the run within its deadline with a clear
// error, and leave no goroutine behind.
func TestHostileServers(t *testing.T) {
	const timeout = 3 * time.Second
	tests := []struct {
		name      string
		configure func(*fakeServer)
		verdict   string
		text      string // substring of the first attempt's text
	}{
		{
			name: "endless multi-line greeting",
			configure: func(s *fakeServer) {
				s.greet = func(c *fakeConn) {
					for !c.done {
						if _, err := c.c.Write([]byte("220-still greeting you\r\n")); err != nil {
							return
						}
					}
				}
			},
			verdict: VerdictError, text: "reply longer than 65536 bytes",
		},
		{
			name: "endless multi-line EHLO reply",
			configure: func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					for {
						if _, err := c.c.Write([]byte("250-EXTENSION\r\n")); err != nil {
							c.close()
							return
						}
					}
				}
			},
			verdict: VerdictError, text: "reply longer than 65536 bytes",
		},
		{
			name: "10 MB line",
			configure: func(s *fakeServer) {
				s.greet = func(c *fakeConn) {
					c.c.Write([]byte("220 " + strings.Repeat("A", 10<<20) + "\r\n"))
				}
			},
			verdict: VerdictError, text: "reply line longer than 2000 bytes",
		},
		{
			name:      "banner never comes",
			configure: func(s *fakeServer) { s.greet = func(c *fakeConn) {} },
			verdict:   VerdictError, text: "timed out",
		},
		{
			name: "slow drip",
			configure: func(s *fakeServer) {
				s.greet = func(c *fakeConn) {
					for _, b := range []byte("220 mx.example.com ESMTP\r\n") {
						if _, err := c.c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(300 * time.Millisecond)
					}
				}
			},
			verdict: VerdictError, text: "timed out",
		},
		{
			name: "slow drip replies to commands",
			configure: func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
						c.send("250 mx.example.com")
						return
					}
					for _, b := range []byte("250 2.0.0 Ok\r\n") {
						if _, err := c.c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(200 * time.Millisecond)
					}
				}
			},
			verdict: VerdictError, text: "timed out",
		},
		{
			name: "TLS garbage after STARTTLS",
			configure: func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					switch strings.ToUpper(line) {
					case "STARTTLS":
						c.send("220 Ready")
						c.c.Write([]byte(strings.Repeat("\x16\x03\x01garbage", 100)))
					default:
						c.send("250-mx.example.com", "250 STARTTLS")
					}
				}
			},
			verdict: VerdictError, text: "TLS handshake",
		},
		{
			name: "421 on every RCPT",
			configure: func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					if strings.HasPrefix(strings.ToUpper(line), "RCPT") {
						c.send("421 4.3.2 Service shutting down")
						c.close()
						return
					}
					defaultHandle(c, line)
				}
			},
			verdict: VerdictError, text: "Service shutting down",
		},
		{
			name: "hostile host name in EHLO",
			configure: func(s *fakeServer) {
				s.handle = func(c *fakeConn, line string) {
					if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
						c.c.Write([]byte("250-evil\rDATA\r\n250 PIPELINING\r\n"))
						return
					}
					defaultHandle(c, line)
				}
			},
			verdict: VerdictClosed, text: "Relay access denied",
		},
		{
			name: "greeting 554",
			configure: func(s *fakeServer) {
				s.greet = func(c *fakeConn) { c.send("554 5.7.1 No SMTP service here"); c.close() }
			},
			verdict: VerdictClosed, text: "No SMTP service here",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv := startFake(t, tc.configure)
			start := time.Now()
			done := make(chan *Report, 1)
			go func() {
				rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
					Timeout: timeout, CommandTimeout: 500 * time.Millisecond, Limits: Limits{ErrorSleep: 10 * time.Millisecond}})
				if err != nil {
					t.Error(err)
				}
				done <- rep
			}()
			var rep *Report
			select {
			case rep = <-done:
			case <-time.After(timeout + 5*time.Second):
				t.Fatal("Run did not return within its deadline")
			}
			srv.stop()
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("Run took %v, past its %v deadline", took, timeout)
			}
			if rep == nil {
				t.Fatal("no report")
			}
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s", v.Verdict, tc.verdict)
			}
			if len(v.Attempts) == 0 || !strings.Contains(v.Attempts[0].Text, tc.text) {
				t.Errorf("first attempt text %q, want it to contain %q", firstText(v), tc.text)
			}
			assertNoData(t, append(srv.lines(), "NOOP"))
		})
	}
}

func firstText(v VantageReport) string {
	if len(v.Attempts) == 0 {
		return ""
	}
	return v.Attempts[0].Text
}

// acceptAll is a go-smtp backend that takes every recipient and records
// whether Data was ever called.
type acceptAll struct{ data *atomic.Int32 }

func (b acceptAll) NewSession(*smtp.Conn) (smtp.Session, error) { return b, nil }
func (acceptAll) Reset()                                        {}
func (acceptAll) Logout() error                                 { return nil }
func (acceptAll) Mail(string, *smtp.MailOptions) error          { return nil }
func (acceptAll) Rcpt(string, *smtp.RcptOptions) error          { return nil }
func (b acceptAll) Data(r io.Reader) error {
	b.data.Add(1)
	io.Copy(io.Discard, r)
	return nil
}

var _ smtp.Backend = acceptAll{}

// TestAcceptEverything: an open server (go-smtp's own server, STARTTLS
// offered, CHUNKING advertised) gets verdict open, and Data is never
// called.
func TestAcceptEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, implicit := range []bool{false, true} {
		name := "starttls"
		if implicit {
			name = "implicit TLS"
		}
		t.Run(name, func(t *testing.T) {
			var data atomic.Int32
			s := smtp.NewServer(acceptAll{&data})
			s.Domain = "open.example.com"
			s.TLSConfig = testTLSConfig(t)
			s.EnableBINARYMIME = true
			s.ErrorLog = discardLogger{}
			ln, err := listenLocal(implicit, s)
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- s.Serve(ln) }()
			target := ln.Addr().String()
			if implicit {
				target = "smtps://" + target
			}
			rep, err := Run(context.Background(), Options{Targets: []string{target}, Vantage: VantageRemote, Timeout: 10 * time.Second})
			s.Close()
			<-served
			if err != nil {
				t.Fatal(err)
			}
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != VerdictOpen || !v.TLS {
				t.Errorf("verdict %s tls %v, want open over TLS", v.Verdict, v.TLS)
			}
			if rep.Targets[0].Host != "open.example.com" {
				t.Errorf("host %q", rep.Targets[0].Host)
			}
			accepted := 0
			for _, a := range v.Attempts {
				if a.Outcome == OutcomeAccepted {
					accepted++
				}
			}
			if accepted < 25 || v.Attempts[1].Outcome != OutcomeAccepted {
				for _, a := range v.Attempts {
					if a.Outcome != OutcomeAccepted {
						t.Logf("%s %s %s: %d %s", a.Variant, a.MailFrom, a.RcptTo, a.Code, a.Text)
					}
				}
				t.Errorf("only %d of %d attempts accepted", accepted, len(v.Attempts))
			}
			if n := data.Load(); n != 0 {
				t.Fatalf("Data was called %d times", n)
			}
		})
	}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

// TestContextCancel: cancelling the caller's context ends a run stuck on a
// silent server at once.
func TestContextCancel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) { s.greet = func(c *fakeConn) {} })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	rep, err := Run(ctx, Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: time.Minute})
	srv.stop()
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
	if v := rep.Targets[0].Vantages[0]; v.Verdict != VerdictError {
		t.Errorf("verdict %s", v.Verdict)
	}
}

// TestWaitsForFinalGreeting: a postscreen-style "220-" greeting held for a
// while; nothing may reach the server before the final "220 " line. Both
// go-smtp's own client (verified, not assumed) and the probe wait.
func TestWaitsForFinalGreeting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var pregreet atomic.Int32
	srv := startFake(t, func(s *fakeServer) {
		s.greet = func(c *fakeConn) {
			c.send("220-mx.example.com ESMTP checking you")
			// Anything the client says now is a PREGREET violation.
			c.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if n, _ := c.r.Peek(1); len(n) > 0 {
				pregreet.Add(1)
			}
			c.c.SetReadDeadline(time.Time{})
			c.send("220-still checking", "220 mx.example.com ESMTP")
		}
	})
	t.Run("go-smtp client", func(t *testing.T) {
		conn, err := net.Dial("tcp", srv.addr())
		if err != nil {
			t.Fatal(err)
		}
		c := smtp.NewClient(conn)
		if err := c.Hello("probe.example.com"); err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("probe", func(t *testing.T) {
		rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if v := rep.Targets[0].Vantages[0]; v.Verdict != VerdictClosed {
			t.Errorf("verdict %s", v.Verdict)
		}
		if b := rep.Targets[0].Banner; b != "mx.example.com ESMTP checking you" {
			t.Errorf("banner %q", b)
		}
	})
	if n := pregreet.Load(); n != 0 {
		t.Errorf("%d sessions talked before the final 220", n)
	}
	// The detector itself: a client like nmap's, which sends EHLO at once,
	// is caught.
	conn, err := net.Dial("tcp", srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("EHLO eager.example.com\r\n"))
	io.ReadFull(conn, make([]byte, len("220-mx.example.com ESMTP checking you\r\n220-still checking\r\n220 mx.example.com ESMTP\r\n")))
	conn.Close()
	srv.stop()
	if n := pregreet.Load(); n != 1 {
		t.Errorf("the eager client was not detected (%d)", n)
	}
}

// TestGreeting421Retried: a server that says 421 at the first connection
// only (busy) gets a second try, and Progress reports the sessions.
func TestGreeting421Retried(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) {
		s.greet = func(c *fakeConn) {
			if c.n == 1 {
				c.send("421 4.3.2 Service busy, try later")
				c.close()
				return
			}
			c.send("220 mx.example.com ESMTP")
		}
	})
	var progress strings.Builder
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		Limits: Limits{ErrorSleep: time.Millisecond}, Progress: &progress, Parallel: 1})
	srv.stop()
	if err != nil {
		t.Fatal(err)
	}
	if v := rep.Targets[0].Vantages[0]; v.Verdict != VerdictClosed || v.Sessions != 5 {
		t.Errorf("verdict %s after %d sessions, want closed after 5 (one 421, four of 9/9/9/8)", v.Verdict, v.Sessions)
	}
	if !strings.Contains(progress.String(), "35/35 attempts") {
		t.Errorf("progress: %q", progress.String())
	}
}

// TestInterruptedRun: cancelling the run after some attempts were refused
// yields a report that says it was interrupted, an Err that wraps
// context.Canceled, and no attempt counted refused that was not answered
// at its own RCPT.
func TestInterruptedRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var refused atomic.Int32
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			time.Sleep(20 * time.Millisecond)
			if strings.HasPrefix(strings.ToUpper(line), "RCPT") {
				refused.Add(1)
			}
			defaultHandle(c, line)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for refused.Load() < 5 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	rep, err := Run(ctx, Options{Targets: []string{srv.addr(), srv.addr()}, Vantage: VantageRemote, Timeout: time.Minute})
	srv.stop()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Interrupted == "" || !errors.Is(rep.Err(), ErrInterrupted) || !errors.Is(rep.Err(), context.Canceled) {
		t.Fatalf("interrupted %q, err %v", rep.Interrupted, rep.Err())
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict == VerdictClosed || !strings.Contains(v.Note, "INTERRUPTED") {
		t.Errorf("verdict %s note %q: an interrupted vantage must not look finished", v.Verdict, v.Note)
	}
	n := 0
	for _, a := range v.Attempts {
		if a.Outcome == OutcomeRefused {
			n++
			if a.Stage != StageRcpt || a.Code != 554 {
				t.Errorf("%s counted refused without its own RCPT reply: %s %d %s", a.Variant, a.Stage, a.Code, a.Text)
			}
		}
	}
	if n == 0 || int32(n) > refused.Load() {
		t.Errorf("%d attempts refused, the server refused %d", n, refused.Load())
	}
	if v2 := rep.Targets[1].Vantages[0]; v2.Verdict != VerdictError || !strings.Contains(v2.Note, "not probed") {
		t.Errorf("second target: verdict %s note %q, want it not probed", v2.Verdict, v2.Note)
	}
	var b strings.Builder
	if err := WriteTable(&b, rep); err != nil || !strings.Contains(b.String(), "INTERRUPTED:") {
		t.Errorf("table does not say the run was interrupted: %v\n%s", err, b.String())
	}
}

// TestTimeoutIsInterruption: a run whose own timeout passes mid-catalogue
// is interrupted (Err wraps context.DeadlineExceeded), even though its
// sockets, which carry the same deadline, may time out a moment before
// the context does.
func TestTimeoutIsInterruption(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			time.Sleep(50 * time.Millisecond)
			defaultHandle(c, line)
		}
	})
	for i := 0; i < 3; i++ {
		rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Timeout: 700 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(rep.Err(), context.DeadlineExceeded) || !strings.Contains(rep.Interrupted, "timeout") {
			t.Fatalf("run %d: interrupted %q err %v, want the probe's timeout", i, rep.Interrupted, rep.Err())
		}
		if v := rep.Targets[0].Vantages[0]; v.Verdict == VerdictClosed {
			t.Fatalf("run %d: verdict closed after a timeout", i)
		}
	}
	srv.stop()
}

// TestServerThatSaysYesToEverything: a server that answers 250 to every
// command, a RCPT before any MAIL FROM included, proves nothing by
// accepting relay attempts (a honeypot or tarpit): its verdict is error
// (nothing tested, exit 2), not open. A server that accepts every
// recipient but keeps SMTP's order is a real open relay.
func TestServerThatSaysYesToEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	yes := func(c *fakeConn, line string) {
		verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
		switch verb {
		case "EHLO", "HELO":
			c.send(strings.Split(fakeEHLO, "\r\n")...)
		case "QUIT":
			c.send("221 2.0.0 Bye")
			c.close()
		default:
			c.send("250 2.0.0 Ok")
		}
	}
	for _, tc := range []struct {
		name     string
		anyOrder bool // a RCPT before MAIL FROM is answered 250 too
		verdict  string
		reason   string
	}{
		{"250 to everything", true, VerdictError, "accepted a recipient before any MAIL FROM (250 2.0.0 Ok)"},
		{"every recipient after MAIL", false, VerdictOpen, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, func(s *fakeServer) { s.handle, s.anyOrder = yes, tc.anyOrder })
			rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
				Timeout: 10 * time.Second, CommandTimeout: time.Second, Limits: Limits{ErrorSleep: 10 * time.Millisecond}})
			srv.stop()
			if err != nil {
				t.Fatal(err)
			}
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != tc.verdict || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict %s (%s), want %s (%s)", v.Verdict, v.Reason, tc.verdict, tc.reason)
			}
			assertNoData(t, srv.lines())
		})
	}
}

// TestParallelBounded: --parallel far past the number of attempts runs
// one worker per attempt at most (it started that many goroutines).
func TestParallelBounded(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, n := range []int{1, 4, 1_000_000, 100_000_000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv := startFake(t, nil)
			start := time.Now()
			rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
				Timeout: 20 * time.Second, Parallel: n, Limits: Limits{ErrorSleep: 10 * time.Millisecond}})
			srv.stop()
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d) // 100M idle workers burnt minutes of CPU
			}
			if v := rep.Targets[0].Vantages[0]; v.Verdict != VerdictClosed {
				t.Errorf("verdict %s (%s), want closed", v.Verdict, v.Reason)
			}
		})
	}
}
