package probe

import (
	"context"
	"errors"

	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// invite describes a server that does everything to get a message: it
// advertises CHUNKING, BINARYMIME, AUTH, XCLIENT and STARTTLS, accepts every
// recipient with a reply asking for DATA, and answers anything unexpected
// with 354.
type invite struct {
	starttls   bool
	xclient    bool
	auth       string // "", "PLAIN LOGIN", "LOGIN", "ACCEPT" (bogus AUTH succeeds)
	drop421    int    // say 421 and hang up at this RCPT of session 1 (0: never)
	dropEOF    int    // hang up without a word at this RCPT of session 1
	refuseHelo string // refuse EHLO/HELO with this name
}

func (iv invite) handle(c *fakeConn, line string) {
	up := strings.ToUpper(line)
	verb, arg, _ := strings.Cut(up, " ")
	rcpts, _ := c.data["rcpts"].(int)
	switch verb {
	case "EHLO", "HELO":
		if iv.refuseHelo != "" && strings.EqualFold(arg, iv.refuseHelo) {
			c.send("550 5.7.1 <" + arg + ">: Helo command rejected, and now DATA")
			return
		}
		ext := []string{"250-mx.example.com", "250-PIPELINING", "250-CHUNKING", "250-BINARYMIME", "250-8BITMIME", "250-SMTPUTF8"}
		if iv.starttls && c.data["tls"] == nil {
			ext = append(ext, "250-STARTTLS")
		}
		if iv.xclient {
			ext = append(ext, "250-XCLIENT ADDR NAME")
		}
		if iv.auth != "" {
			mech := iv.auth
			if mech == "ACCEPT" {
				mech = "PLAIN"
			}
			ext = append(ext, "250-AUTH "+mech)
		}
		c.send(append(ext, "250 DSN")...)
	case "STARTTLS":
		c.send("220 2.0.0 Ready to start TLS")
		c.startTLS()
		c.data["tls"] = true
	case "XCLIENT":
		c.send("220 mx.example.com ESMTP now send DATA")
	case "AUTH":
		switch {
		case iv.auth == "ACCEPT":
			c.send("235 2.7.0 Authentication successful")
		case strings.HasPrefix(arg, "PLAIN "):
			c.send("535 5.7.8 Error: authentication failed")
		default:
			c.send("334 VXNlcm5hbWU6")
		}
	case "*":
		c.send("501 5.7.0 Authentication aborted")
	case "MAIL":
		c.send("250 2.1.0 Ok, DATA next please")
	case "RCPT":
		rcpts++
		c.data["rcpts"] = rcpts
		switch {
		case c.n == 1 && rcpts == iv.drop421:
			c.send("421 4.7.0 mx.example.com Error: too many errors")
			c.close()
		case c.n == 1 && rcpts == iv.dropEOF:
			c.close()
		default:
			c.send("250 2.1.5 Ok, go ahead with DATA or BDAT")
		}
	case "RSET", "NOOP":
		c.send("250 2.0.0 Ok, DATA?")
	case "QUIT":
		c.send("221 2.0.0 Bye")
		c.close()
	default:
		c.send("354 End data with <CR><LF>.<CR><LF>")
	}
}

// assertNoData fails on any line that is DATA, BDAT, a lone dot or
// header-like, in any session.
func assertNoData(t *testing.T, lines []string) {
	t.Helper()
	if len(lines) == 0 {
		t.Fatal("the server received nothing: the test drove no code path")
	}
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r\n")
		if strings.IndexFunc(l, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			continue // TLS records seen by a server that never completed the handshake
		}
		verb, _, _ := strings.Cut(strings.ToUpper(l), " ")
		if verb == "DATA" || verb == "BDAT" || l == "." || strings.Contains(verb, ":") {
			t.Errorf("the server received %q", l)
		}
	}
}

func TestNeverDataWhateverTheServerSays(t *testing.T) {
	tests := []struct {
		name     string
		iv       invite
		vantage  string
		noTLS    bool
		verdict  string
		tls      bool
		authNote string
	}{
		{"plain", invite{}, VantageRemote, false, VerdictOpen, false, "AUTH not offered"},
		{"starttls", invite{starttls: true}, VantageRemote, false, VerdictOpen, true, ""},
		{"starttls refused by option", invite{starttls: true}, VantageRemote, true, VerdictOpen, false, ""},
		// The invite server answers XCLIENT with 220 and ignores it: its
		// acceptance is this host's, not the claimed client's (issue 12).
		{"xclient", invite{xclient: true}, VantageXClient, false, VerdictUnknown, false, ""},
		{"xclient over starttls", invite{xclient: true, starttls: true}, VantageXClient, false, VerdictUnknown, true, ""},
		{"auth plain", invite{auth: "PLAIN LOGIN"}, VantageRemote, false, VerdictOpen, false, "AUTH PLAIN with bogus credentials: 535"},
		{"auth login cancelled", invite{auth: "LOGIN"}, VantageRemote, false, VerdictOpen, false, "AUTH LOGIN with bogus credentials: 501"},
		{"auth accepts anything", invite{auth: "ACCEPT"}, VantageRemote, false, VerdictOpen, false, "SUCCEEDED"},
		{"421 mid-session", invite{drop421: 3}, VantageRemote, false, VerdictOpen, false, ""},
		{"dropped mid-session", invite{dropEOF: 2}, VantageRemote, false, VerdictOpen, false, ""},
		{"helo refused", invite{refuseHelo: "localhost"}, VantageRemote, false, VerdictOpen, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, func(s *fakeServer) { s.handle = tc.iv.handle })
			rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: tc.vantage,
				NoSTARTTLS: tc.noTLS, Timeout: 10 * time.Second, CommandTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			srv.stop()
			assertNoData(t, srv.lines())
			v := rep.Targets[0].Vantages[0]
			if v.Verdict != tc.verdict || v.TLS != tc.tls {
				t.Errorf("verdict %s tls %v, want %s %v (%s)", v.Verdict, v.TLS, tc.verdict, tc.tls, v.Note)
			}
			for _, a := range v.Attempts {
				if a.Outcome == "" || a.Outcome == OutcomeError {
					t.Errorf("%s: outcome %q %s", a.Variant, a.Outcome, a.Text)
				}
				if a.Variant == "after-auth" && !strings.Contains(a.Note, tc.authNote) {
					t.Errorf("after-auth note %q, want %q", a.Note, tc.authNote)
				}
				if a.Variant == "helo-localhost" && tc.iv.refuseHelo != "" && (a.Stage != StageHelo || a.Outcome != OutcomeRefused) {
					t.Errorf("helo-localhost: stage %s outcome %s, want helo refused", a.Stage, a.Outcome)
				}
			}
			if len(v.Attempts) != len(Catalogue(Params{})) {
				t.Errorf("%d attempts reported, want the whole catalogue", len(v.Attempts))
			}
			if tc.iv.drop421 > 0 || tc.iv.dropEOF > 0 {
				if v.Sessions < 5 {
					t.Errorf("%d sessions: the interrupted attempts were not moved to a new session", v.Sessions)
				}
			}
			if tc.iv.xclient && v.Vantage != VantageXClient {
				t.Errorf("vantage %s, want xclient", v.Vantage)
			}
		})
	}
}

// TestGoSMTPDataIsStructurallyBlocked calls go-smtp's own Data and
// SendMail on a live session: the wire must refuse before a byte of them
// reaches the server.
func TestGoSMTPDataIsStructurallyBlocked(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := startFake(t, func(s *fakeServer) { s.handle = invite{}.handle })
	for _, try := range []struct {
		name string
		do   func(s *session) error
	}{
		{"Data", func(s *session) error {
			if err := s.c.Mail("a@example.org", nil); err != nil {
				return err
			}
			if err := s.c.Rcpt("b@example.net", nil); err != nil {
				return err
			}
			_, err := s.c.Data()
			return err
		}},
		{"SendMail", func(s *session) error {
			return s.c.SendMail("a@example.org", []string{"b@example.net"}, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
		}},
		{"raw DATA", func(s *session) error { _, err := s.rawCmd("DATA"); return err }},
		{"raw BDAT", func(s *session) error { _, err := s.rawCmd("BDAT 4 LAST"); return err }},
		{"raw header", func(s *session) error { _, err := s.rawCmd("Subject: hi"); return err }},
	} {
		t.Run(try.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := openSession(ctx, &sessionConfig{addr: srv.addr(), dial: plainDialer, helo: "probe.example.com",
				cmdTimeout: time.Second, greetTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer s.abort()
			err = try.do(s)
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("error %v, want ErrForbidden", err)
			}
			// The session is poisoned: even an allowed command is refused.
			if _, err := s.rawCmd("RSET"); !errors.Is(err, ErrForbidden) {
				t.Errorf("after a refusal RSET gave %v, want ErrForbidden", err)
			}
		})
	}
	srv.stop()
	assertNoData(t, srv.lines())
}

func plainDialer(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// TestLearnsHardLimit: a server that hangs up with 421 after five refusals
// (lower than the limits the probe was told) makes the probe move the rest
// to new, smaller sessions; every attempt still gets its answer.
func TestLearnsHardLimit(t *testing.T) {
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			if strings.HasPrefix(strings.ToUpper(line), "RCPT") {
				n, _ := c.data["refused"].(int)
				if n == 5 {
					c.send("421 4.7.0 mx.example.com Error: too many errors")
					c.close()
					return
				}
				c.data["refused"] = n + 1
			}
			defaultHandle(c, line)
		}
	})
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		Parallel: 1, Limits: Limits{ErrorSleep: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictClosed {
		for _, a := range v.Attempts {
			t.Logf("%s %s %d %s", a.Variant, a.Outcome, a.Code, a.Text)
		}
		t.Fatalf("verdict %s", v.Verdict)
	}
	// Session 1 makes 5 attempts before the 421; the remaining 30 go in
	// sessions of 4: 1 + 8 = 9 sessions, and no later session is cut.
	if v.Sessions != 9 {
		t.Errorf("%d sessions, want 9", v.Sessions)
	}
	hangups := 0
	for _, l := range srv.lines() {
		if strings.HasPrefix(l, "QUIT") {
			hangups++
		}
	}
	if hangups != 8 {
		t.Errorf("%d sessions ended with QUIT, want 8 (all but the first)", hangups)
	}
}
