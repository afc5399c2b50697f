package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// ClientOpts describe the client side of RCPTCheck.
type ClientOpts struct {
	// Listener is the listener to connect to (default "smtp").
	Listener string
	// Addr is the client address smtpd should see. Empty or a loopback
	// address: no XCLIENT. Anything else is sent as
	// "XCLIENT ADDR=... NAME=[UNAVAILABLE]", which needs Options.XCLIENT.
	Addr string
	// HELO is the EHLO name (default "client.example.org").
	HELO string
	// Netns is the namespace to dial from; default: the instance's client
	// namespace when it runs in a pair, else loopback.
	Netns string
	// Raw sends the MAIL FROM and RCPT TO arguments as given; otherwise
	// they are wrapped in angle brackets.
	Raw bool
	// Timeout bounds the whole session (default 20s; postscreen's greeting
	// alone takes 6s).
	Timeout time.Duration
	// Proxy sends a PROXY protocol v1 header claiming Addr (loopback when
	// empty) before anything else, instead of XCLIENT: for listeners with
	// smtpd_upstream_proxy_protocol = haproxy.
	Proxy bool
}

// Reply is the answer RCPTCheck reports: normally the RCPT reply, or the
// earlier reply that ended the attempt (a refused MAIL, a 421).
type Reply struct {
	Command string // "RCPT", or the command whose reply ended the attempt
	Code    int
	Text    string // reply text without the code; lines joined by "\n"
}

// RCPTCheck asks the instance whether it accepts RCPT TO:<to> after MAIL
// FROM:<from> for the client described by c: EHLO, XCLIENT when c.Addr is
// not loopback, EHLO again, MAIL, RCPT, RSET, QUIT. It never sends DATA.
// It returns the RCPT reply's code and text; when an earlier reply ended the
// attempt, that reply with the text prefixed by "(COMMAND) ". A protocol or
// network failure fails the test.
func (in *Instance) RCPTCheck(t testing.TB, c ClientOpts, from, to string) (code int, text string) {
	t.Helper()
	r, err := in.CheckRCPT(c, from, to)
	if err != nil {
		t.Fatalf("lab: %s: %v", in.name, err)
	}
	if r.Command != "RCPT" {
		return r.Code, "(" + r.Command + ") " + r.Text
	}
	return r.Code, r.Text
}

// CheckRCPT is RCPTCheck returning an error instead of failing the test.
func (in *Instance) CheckRCPT(c ClientOpts, from, to string) (Reply, error) {
	listener := c.Listener
	if listener == "" {
		listener = "smtp"
	}
	addr := in.ListenerAddr(listener)
	if addr == "" {
		return Reply{}, fmt.Errorf("no listener %q", listener)
	}
	helo := c.HELO
	if helo == "" {
		helo = "client.example.org"
	}
	for _, s := range []string{helo, from, to, c.Addr} {
		if err := safeArg(s); err != nil {
			return Reply{}, err
		}
	}
	var xclient string
	if c.Addr != "" && !c.Proxy {
		a, err := netip.ParseAddr(c.Addr)
		if err != nil {
			return Reply{}, fmt.Errorf("client address %q: %v", c.Addr, err)
		}
		if !a.IsLoopback() {
			if !in.xclient {
				return Reply{}, fmt.Errorf("client address %s needs XCLIENT, which this instance does not authorise (Options.XCLIENT)", a)
			}
			if a.Is6() && !a.Is4In6() {
				xclient = "IPV6:" + a.String()
			} else {
				xclient = a.Unmap().String()
			}
		}
	}
	if !c.Raw {
		from, to = "<"+from+">", "<"+to+">"
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	deadline := time.Now().Add(timeout)
	conn, err := in.dial(addr, c.Netns, timeout)
	if err != nil {
		return Reply{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	tp := textproto.NewConn(conn)
	if c.Proxy {
		if err := proxyHeader(tp, c.Addr, addr); err != nil {
			return Reply{}, err
		}
	}

	// read reads one (possibly multi-line) reply. textproto waits for the
	// final line, so postscreen's "220-" teaser is waited out, never
	// answered early (that would be a PREGREET).
	read := func() (int, string, error) {
		code, msg, err := tp.ReadResponse(0)
		var perr *textproto.Error
		if errors.As(err, &perr) {
			err = nil // a non-2xx reply is an answer, not a failure
		}
		return code, msg, err
	}
	cmd := func(name, line string) (Reply, error) {
		if err := tp.PrintfLine("%s", line); err != nil {
			return Reply{}, fmt.Errorf("%s: %v", name, err)
		}
		code, msg, err := read()
		if err != nil {
			return Reply{}, fmt.Errorf("%s: %v", name, err)
		}
		return Reply{Command: name, Code: code, Text: msg}, nil
	}
	ended := func(r Reply, want int) bool { return r.Code/100 != want }

	code, msg, err := read()
	if err != nil {
		return Reply{}, fmt.Errorf("greeting: %v", err)
	}
	if code != 220 {
		return Reply{Command: "greeting", Code: code, Text: msg}, nil
	}
	r, err := cmd("EHLO", "EHLO "+helo)
	if err != nil || ended(r, 2) {
		return r, err
	}
	if xclient != "" {
		if !hasKeyword(r.Text, "XCLIENT") {
			return Reply{}, fmt.Errorf("EHLO does not offer XCLIENT to %s", addr)
		}
		r, err = cmd("XCLIENT", "XCLIENT ADDR="+xclient+" NAME=[UNAVAILABLE]")
		if err != nil || r.Code != 220 {
			return r, err
		}
		r, err = cmd("EHLO", "EHLO "+helo)
		if err != nil || ended(r, 2) {
			return r, err
		}
	}
	r, err = cmd("MAIL", "MAIL FROM:"+from)
	if err != nil || ended(r, 2) {
		in.quit(tp)
		return r, err
	}
	r, err = cmd("RCPT", "RCPT TO:"+to)
	if err != nil {
		return r, err
	}
	if r.Code != 421 {
		in.quit(tp)
	}
	return r, nil
}

// proxyHeader sends a PROXY v1 line (haproxy's proxy-protocol.txt, the
// format smtpd_upstream_proxy_protocol = haproxy reads) claiming client as
// the source of a connection to dst.
func proxyHeader(tp *textproto.Conn, client, dst string) error {
	src := netip.MustParseAddr("127.0.0.1")
	if client != "" {
		a, err := netip.ParseAddr(client)
		if err != nil {
			return fmt.Errorf("client address %q: %v", client, err)
		}
		src = a.Unmap()
	}
	d, err := netip.ParseAddrPort(dst)
	if err != nil {
		return fmt.Errorf("listener address %q: %v", dst, err)
	}
	da := d.Addr().Unmap()
	fam := "TCP4"
	if src.Is6() {
		fam = "TCP6"
		if da.Is4() {
			da = netip.AddrFrom16(da.As16())
		}
	} else if da.Is6() {
		return fmt.Errorf("PROXY: IPv4 client %s to IPv6 listener %s", src, da)
	}
	return tp.PrintfLine("PROXY %s %s %s 40000 %d", fam, src, da, d.Port())
}

// quit ends the session politely: RSET, QUIT, and read what comes back so
// that smtpd logs a complete disconnect line.
func (in *Instance) quit(tp *textproto.Conn) {
	for _, c := range []string{"RSET", "QUIT"} {
		if tp.PrintfLine("%s", c) != nil {
			return
		}
		if _, _, err := tp.ReadResponse(0); err != nil {
			var perr *textproto.Error
			if !errors.As(err, &perr) {
				return
			}
		}
	}
}

// hasKeyword reports whether an EHLO reply lists an extension.
func hasKeyword(ehlo, kw string) bool {
	for _, line := range strings.Split(ehlo, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.EqualFold(f[0], kw) {
			return true
		}
	}
	return false
}

// safeArg refuses anything that could end a command line early: a CR or
// LF would let a test smuggle a second command (DATA) into the session.
func safeArg(s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("argument %q contains a control character", s)
		}
	}
	return nil
}
