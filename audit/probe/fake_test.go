package probe

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// fakeServer is a scripted SMTP server on 127.0.0.1:0. Every line it
// receives, in every session, is recorded byte for byte (CRLF included).
type fakeServer struct {
	t  testing.TB
	ln net.Listener
	// greet writes the greeting; default "220 mx.example.com ESMTP fake".
	greet func(c *fakeConn)
	// handle answers one line; default: defaultHandle.
	handle func(c *fakeConn, line string)
	// anyOrder hands a RCPT before MAIL FROM to handle too; otherwise
	// the fake refuses it with 503, as every SMTP server does.
	anyOrder bool

	mu       sync.Mutex
	received []string
	sessions int
	wg       sync.WaitGroup
	conns    map[net.Conn]bool
	closed   bool
}

// fakeConn is one session on the fake server.
type fakeConn struct {
	s    *fakeServer
	c    net.Conn
	r    *bufio.Reader
	n    int // session number
	data map[string]any
	done bool
}

func (c *fakeConn) send(lines ...string) {
	for _, l := range lines {
		c.c.Write([]byte(l + "\r\n"))
	}
}

func (c *fakeConn) close() { c.done = true; c.c.Close() }

// startTLS upgrades the session after the 220 to STARTTLS.
func (c *fakeConn) startTLS() {
	tc := tls.Server(c.c, testTLSConfig(c.s.t))
	c.c = tc
	c.r = bufio.NewReader(tc)
}

const fakeEHLO = "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 ENHANCEDSTATUSCODES"

// defaultHandle behaves like a closed server that refuses relay.
func defaultHandle(c *fakeConn, line string) {
	verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
	switch {
	case verb == "EHLO" || verb == "HELO":
		c.send(strings.Split(fakeEHLO, "\r\n")...)
	case verb == "MAIL" || verb == "RSET" || verb == "NOOP":
		c.send("250 2.0.0 Ok")
	case verb == "RCPT":
		c.send("554 5.7.1 <x>: Relay access denied")
	case verb == "QUIT":
		c.send("221 2.0.0 Bye")
		c.close()
	default:
		c.send("502 5.5.2 Error: command not recognized")
	}
}

func startFake(t testing.TB, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, conns: map[net.Conn]bool{}}
	s.greet = func(c *fakeConn) { c.send("220 mx.example.com ESMTP fake") }
	s.handle = defaultHandle
	if configure != nil {
		configure(s)
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.stop)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.sessions++
		n := s.sessions
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.session(&fakeConn{s: s, c: c, r: bufio.NewReader(c), n: n, data: map[string]any{}})
	}
}

func (s *fakeServer) session(c *fakeConn) {
	defer s.wg.Done()
	raw := c.c
	defer func() {
		raw.Close()
		s.mu.Lock()
		delete(s.conns, raw)
		s.mu.Unlock()
	}()
	s.greet(c)
	for !c.done {
		line, err := c.r.ReadString('\n')
		if line != "" {
			s.mu.Lock()
			s.received = append(s.received, line)
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if !s.anyOrder && outOfOrder(c, line) {
			c.send("503 5.5.1 Error: need MAIL command")
			continue
		}
		s.handle(c, line)
	}
}

// outOfOrder reports a RCPT before any MAIL FROM in the session's current
// transaction, which every SMTP server refuses (RFC 5321 4.1.4; smtpd's
// "503 5.5.1 Error: need MAIL command"), whatever the fake's handler
// would say to a RCPT.
func outOfOrder(c *fakeConn, line string) bool {
	verb, _, _ := strings.Cut(strings.ToUpper(line), " ")
	switch verb {
	case "MAIL":
		c.data[mailSeen] = true
	case "RSET", "EHLO", "HELO", "STARTTLS", "XCLIENT":
		delete(c.data, mailSeen)
	case "RCPT":
		return c.data[mailSeen] == nil
	}
	return false
}

const mailSeen = "fake: MAIL seen"

// stop closes the listener and every connection and waits for the
// server's goroutines, so that goleak sees only the probe's.
func (s *fakeServer) stop() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// lines returns what the server received, CRLF included.
func (s *fakeServer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.received...)
}

func (s *fakeServer) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

var (
	tlsOnce sync.Once
	tlsCert tls.Certificate
)

// testTLSConfig is a self-signed certificate made once per test binary.
func testTLSConfig(t testing.TB) *tls.Config {
	tlsOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "mx.example.com"},
			DNSNames:     []string{"mx.example.com"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		tlsCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return &tls.Config{Certificates: []tls.Certificate{tlsCert}}
}

// listenLocal listens on 127.0.0.1:0, with TLS from the first byte when
// implicit is set.
func listenLocal(implicit bool, s *smtp.Server) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil || !implicit {
		return ln, err
	}
	return tls.NewListener(ln, s.TLSConfig), nil
}
