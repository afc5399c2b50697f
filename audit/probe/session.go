package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	smtp "github.com/emersion/go-smtp"
)

// sessionConfig is what one SMTP session needs to know.
type sessionConfig struct {
	no          int    // session number within its vantage, for the report
	addr        string // host:port to dial (already mapped for the vantage)
	implicitTLS bool
	dial        func(ctx context.Context, addr string) (net.Conn, error)
	xclient     netip.Addr // when valid: impersonate this address with XCLIENT
	// xclientThen, when valid, is claimed with a second XCLIENT after the
	// first, when the server still offers XCLIENT to the claimed address.
	xclientThen netip.Addr
	// xclientLogin, when set, is claimed as the SASL login (LOGIN=) with
	// the last XCLIENT, when the server lists LOGIN and offers AUTH.
	xclientLogin string
	helo         string // EHLO name for the set-up
	noTLS        bool   // do not use STARTTLS even when offered
	cmdTimeout   time.Duration
	greetTimeout time.Duration
	transcript   func(dir byte, line string)
	// proxy, when 1 or 2, sends a PROXY protocol header of that version
	// first, claiming proxyClaim as the client (invalid: our own address).
	proxy      int
	proxyClaim netip.Addr
	// proxyCheck makes sure, after the greeting, that the server did not
	// take the PROXY header for a command (see setup).
	proxyCheck bool
	// heard, when set, is set on the first byte received.
	heard *atomic.Bool
}

// serverInfo is what the set-up of a session learnt about the server.
type serverInfo struct {
	Banner  string // text of the final 220 line
	Host    string // first word of the EHLO reply (RFC 5321 4.1.1.1)
	XClient bool   // XCLIENT offered to us before we used it
	// XClientAfter: XCLIENT still offered once we claimed cfg.xclient:
	// smtpd re-evaluates smtpd_authorized_xclient_hosts for the claimed
	// address (smtpd.c), so the server offers XCLIENT to that address.
	XClientAfter bool
	// XClientUsed: XCLIENT was sent and answered 220.
	XClientUsed bool
	// XClientLogin is the SASL login claimed with XCLIENT LOGIN=, if any.
	XClientLogin string
	TLS          bool
	AuthMechs    []string
	LocalAddr    netip.AddrPort // our end of the connection
	ClientAddr   string         // what the server believes the client is
}

// sessionError is a failure of the session itself (set-up, connection,
// protocol). reply is set when the server answered with a refusal code.
type sessionError struct {
	stage string
	reply *reply
	err   error
	// retry: the failure says nothing about the remaining attempts (421,
	// dropped connection): they deserve a new session.
	retry bool
	// fresh: the session ended because an attempt was decided in a way
	// that spoils it (a refused EHLO); moving on costs no retry.
	fresh bool
}

func (e *sessionError) Error() string {
	if e.reply != nil {
		return fmt.Sprintf("probe: %s: %d %s", e.stage, e.reply.Code, e.reply.Text)
	}
	return fmt.Sprintf("probe: %s: %v", e.stage, e.err)
}

func (e *sessionError) Unwrap() error { return e.err }

// session is one SMTP connection. go-smtp's Client speaks EHLO, MAIL, RCPT
// and RSET; the raw path (textproto over the same wire) speaks STARTTLS,
// XCLIENT, AUTH, QUIT and the MAIL/RCPT lines go-smtp cannot produce
// byte-exactly. Both paths write through the wire, so its policy applies to
// every byte.
//
// Why STARTTLS is raw: go-smtp layers TLS above the net.Conn it is given,
// which would put the plaintext out of the wire's sight. We negotiate TLS
// ourselves, swap the transport under the wire and hand a fresh go-smtp
// client the server's greeting again (RFC 3207 4.2: after TLS the session
// is back at its start, the client sends EHLO first).
type session struct {
	release  func() // called when the session ends (its own context)
	cfg      *sessionConfig
	w        *wire
	c        *smtp.Client
	raw      *textproto.Reader
	info     serverInfo
	helo     string // name of the last successful EHLO/HELO
	dirty    bool   // a MAIL was sent since the last EHLO
	errors   int    // 4xx/5xx replies in this session (smtpd's error counter)
	stop     func() bool
	ctx      context.Context
	greeting []byte
}

// openSession dials and sets the session up: greeting, EHLO, STARTTLS when
// offered, XCLIENT when asked for. Errors are *sessionError.
func openSession(ctx context.Context, cfg *sessionConfig) (*session, error) {
	conn, err := cfg.dial(ctx, cfg.addr)
	if err != nil {
		return nil, &sessionError{stage: StageConnect, err: err}
	}
	deadline, _ := ctx.Deadline()
	s := &session{cfg: cfg, w: newWire(conn, deadline, cfg.transcript), ctx: ctx}
	s.w.heardAt = cfg.heard
	// Cancelling ctx closes the socket: go-smtp has no context support and
	// any blocked read or write then returns at once.
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	if lp, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		s.info.LocalAddr = lp
		s.info.ClientAddr = lp.Addr().Unmap().String()
	}
	if cfg.proxy != 0 {
		if err := s.w.preamble(proxyHeader(cfg.proxy, cfg.proxyClaim, s.info.LocalAddr, conn.RemoteAddr())); err != nil {
			s.abort()
			return nil, &sessionError{stage: StageProxy, err: err}
		}
		if cfg.proxyClaim.IsValid() {
			s.info.ClientAddr = cfg.proxyClaim.String()
		}
	}
	if err := s.setup(ctx); err != nil {
		s.abort()
		return nil, err
	}
	return s, nil
}

// proxyHeader builds the PROXY protocol header (haproxy's
// proxy-protocol.txt, which Postfix implements for
// smtpd_upstream_proxy_protocol = haproxy) that claims the connection
// comes from claim (default: our own address, the honest header) to the
// target. The claimed address takes the target's family: v1 and v2 carry
// one family for both ends.
func proxyHeader(version int, claim netip.Addr, local netip.AddrPort, remote net.Addr) []byte {
	dst, _ := netip.ParseAddrPort(remote.String())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	src := netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	if claim.IsValid() {
		src = netip.AddrPortFrom(claim.Unmap(), 12345)
	}
	if src.Addr().Is4() != dst.Addr().Is4() {
		if dst.Addr().Is4() {
			src = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), src.Port())
		} else {
			src = netip.AddrPortFrom(netip.IPv6Loopback(), src.Port())
		}
	}
	if version == 1 {
		fam := "TCP4"
		if dst.Addr().Is6() {
			fam = "TCP6"
		}
		return []byte(fmt.Sprintf("PROXY %s %s %s %d %d\r\n", fam, src.Addr(), dst.Addr(), src.Port(), dst.Port()))
	}
	b := append([]byte(nil), proxyV2Sig...)
	b = append(b, 0x21) // version 2, PROXY command
	var addrs []byte
	if dst.Addr().Is4() {
		b = append(b, 0x11) // AF_INET, STREAM
		s4, d4 := src.Addr().As4(), dst.Addr().As4()
		addrs = append(append(addrs, s4[:]...), d4[:]...)
	} else {
		b = append(b, 0x21) // AF_INET6, STREAM
		s6, d6 := src.Addr().As16(), dst.Addr().As16()
		addrs = append(append(addrs, s6[:]...), d6[:]...)
	}
	addrs = append(addrs, byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port()))
	b = append(b, byte(len(addrs)>>8), byte(len(addrs)))
	return append(b, addrs...)
}

func (s *session) setup(ctx context.Context) error {
	if s.cfg.implicitTLS {
		if err := s.handshake(ctx); err != nil {
			return err
		}
	}
	s.raw = textproto.NewReader(bufio.NewReader(s.w))
	// The greeting is read on the raw path with its own timeout: postscreen
	// sends "220-" and holds the final "220 " for postscreen_greet_wait
	// (6 s by default); ReadResponse returns only after the final line, and
	// nothing is written before it, so there is no PREGREET.
	r, err := s.readReply(s.cfg.greetTimeout)
	if err != nil && s.cfg.proxyCheck && errors.Is(err, ErrDesync) {
		// The greeting and the answer to our PROXY line came together.
		return &sessionError{stage: StageProxy, err: errNotProxy}
	}
	if err != nil {
		return &sessionError{stage: StageGreeting, err: err, retry: isDropped(err)}
	}
	switch {
	case r.Code == 421:
		return &sessionError{stage: StageGreeting, reply: &r, retry: true}
	case r.Code >= 500:
		// RFC 5321 3.1: a server may answer the connection with 554
		// instead of 220 ("no SMTP service here"): a refusal of this
		// client, by the server itself.
		return &sessionError{stage: StageGreeting, reply: &r}
	case r.Code != 220:
		// A 250 (or anything else) is no greeting: the server does not
		// speak SMTP as RFC 5321 3.1 has it, and nothing it says later
		// can be trusted to answer our commands.
		return &sessionError{stage: StageGreeting, err: fmt.Errorf("%w: the greeting is %q, not 220", ErrProtocol, replyText(r))}
	}
	s.info.Banner = firstLine(r.Text)
	s.greeting = []byte("220 " + s.info.Banner + "\r\n")
	if s.cfg.proxyCheck {
		// A server that greets on its own and then answers our PROXY
		// line as a command ("502 5.5.2 Error: command not recognized")
		// is a plain one that was merely slow: a PROXY listener reads the
		// header before it greets and says nothing more until spoken to.
		s.w.SetReadDeadline(time.Now().Add(proxySettle))
		_, perr := s.raw.R.Peek(1)
		s.w.SetReadDeadline(time.Time{})
		if perr == nil {
			return &sessionError{stage: StageProxy, err: errNotProxy}
		}
		var ne net.Error
		if !errors.As(perr, &ne) || !ne.Timeout() {
			return &sessionError{stage: StageProxy, err: perr}
		}
		s.w.clearTimeout()
	}
	if err := s.hello(s.cfg.helo); err != nil {
		return err
	}
	if ok, _ := s.c.Extension("STARTTLS"); ok && !s.info.TLS && !s.cfg.noTLS {
		r, err := s.rawCmd("STARTTLS")
		if errors.Is(err, ErrDesync) {
			err = fmt.Errorf("TLS handshake not started: the server sent data right after its 220 to STARTTLS (RFC 3207 section 6): %w", err)
		}
		if err != nil {
			return &sessionError{stage: StageTLS, err: err, retry: isDropped(err)}
		}
		if r.Code != 220 {
			return &sessionError{stage: StageTLS, reply: &r, retry: r.Code == 421}
		}
		if s.w.extraData() {
			// RFC 3207 section 6: plaintext after the 220 would be read
			// as if it came over TLS (command injection).
			return &sessionError{stage: StageTLS, err: fmt.Errorf("TLS handshake not started: the server sent data right after its 220 to STARTTLS (RFC 3207 section 6): %w", ErrDesync)}
		}
		if err := s.handshake(ctx); err != nil {
			return err
		}
		if err := s.hello(s.cfg.helo); err != nil {
			return err
		}
	}
	ok, _ := s.c.Extension("XCLIENT")
	s.info.XClient = ok
	if s.cfg.xclient.IsValid() {
		if !ok {
			return &sessionError{stage: StageXClient, err: errNoXClient}
		}
		login := s.cfg.xclientLogin
		if s.cfg.xclientThen.IsValid() {
			login = ""
		}
		if err := s.xclient(s.cfg.xclient, login); err != nil {
			return err
		}
		s.info.XClientUsed = true
		s.info.XClientAfter, _ = s.c.Extension("XCLIENT")
		if s.cfg.xclientThen.IsValid() {
			if !s.info.XClientAfter {
				return &sessionError{stage: StageXClient, err: errNoXClient}
			}
			if err := s.xclient(s.cfg.xclientThen, s.cfg.xclientLogin); err != nil {
				return err
			}
		}
	}
	if ok, mechs := s.c.Extension("AUTH"); ok {
		s.info.AuthMechs = strings.Fields(mechs)
	}
	return nil
}

// proxySettle is how long a greeting after a PROXY header is watched for
// an unprompted reply to the header.
const proxySettle = 300 * time.Millisecond

var errNotProxy = errors.New("the server answered the PROXY header as a command: it speaks plain SMTP")

var errNoXClient = errors.New("the server does not offer XCLIENT to this client (smtpd_authorized_xclient_hosts)")

// xclient makes smtpd treat the session as coming from a. Postfix
// answers with a fresh 220 greeting and expects EHLO again (XCLIENT_README).
func (s *session) xclient(a netip.Addr, login string) error {
	a = a.Unmap()
	addr := a.String()
	if a.Is6() {
		addr = "IPV6:" + addr // XCLIENT_README: IPv6 addresses carry the IPV6: prefix
	}
	line := "XCLIENT ADDR=" + addr + " NAME=[UNAVAILABLE]"
	if login != "" {
		// XCLIENT_README: LOGIN= sets the SASL login name, which
		// permit_sasl_authenticated honours when SASL is enabled (the
		// server offers AUTH).
		if ok, attrs := s.c.Extension("XCLIENT"); ok && strings.Contains(" "+strings.ToUpper(attrs)+" ", " LOGIN ") {
			if ok, _ := s.c.Extension("AUTH"); ok {
				line += " LOGIN=" + login
				s.info.XClientLogin = login
			}
		}
	}
	r, err := s.rawCmd(line)
	if err != nil {
		return &sessionError{stage: StageXClient, err: err, retry: isDropped(err)}
	}
	if r.Code != 220 {
		return &sessionError{stage: StageXClient, reply: &r, retry: r.Code == 421}
	}
	s.greeting = []byte("220 " + firstLine(r.Text) + "\r\n")
	s.info.ClientAddr = a.String()
	s.c = nil // the next hello starts a fresh client on this greeting
	return s.hello(s.cfg.helo)
}

// handshake runs TLS over the current transport. We test relay policy, not
// certificates: verification is off on purpose.
func (s *session) handshake(ctx context.Context) error {
	tc := tls.Client(s.w.transport(), &tls.Config{
		InsecureSkipVerify: true, // policy probe: certificate checks are another tool's job
		ServerName:         hostOnly(s.cfg.addr),
	})
	hctx, cancel := context.WithTimeout(ctx, s.cfg.cmdTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return &sessionError{stage: StageTLS, err: fmt.Errorf("TLS handshake: %w", err)}
	}
	s.w.swap(tc)
	s.info.TLS = true
	s.c = nil
	// Anything buffered on the raw path before TLS is discarded
	// (RFC 3207 section 6, command injection).
	s.raw = textproto.NewReader(bufio.NewReader(s.w))
	return nil
}

// hello sends EHLO (go-smtp falls back to HELO on 500/502). A fresh go-smtp
// client is made when needed; it reads the greeting from the wire's replay.
func (s *session) hello(name string) error {
	if s.c == nil {
		s.w.setReplay(s.greeting)
		s.c = smtp.NewClient(s.w)
		s.c.CommandTimeout = s.cfg.cmdTimeout
	}
	r, err := s.result(s.c.Hello(name))
	if err != nil {
		return s.failed(StageHelo, err)
	}
	if r.Code >= 400 {
		s.errors++
		return &sessionError{stage: StageHelo, reply: &r, retry: r.Code == 421}
	}
	if r.Code != 250 {
		return &sessionError{stage: StageHelo, err: fmt.Errorf("%w: EHLO/HELO answered %q, not 250", ErrProtocol, replyText(r))}
	}
	s.helo, s.dirty = name, false
	if s.info.Host == "" {
		s.info.Host, _, _ = strings.Cut(strings.TrimSpace(firstLine(r.Text)), " ")
	}
	return nil
}

// readReply reads one reply on the raw path within d.
func (s *session) readReply(d time.Duration) (reply, error) {
	s.w.SetDeadline(time.Now().Add(d))
	defer s.w.SetDeadline(time.Time{})
	_, _, err := s.raw.ReadResponse(0)
	if err != nil {
		if _, isTP := err.(*textproto.Error); !isTP {
			return reply{}, s.explain(err)
		}
	}
	return s.tapped()
}

// tapped parses the reply the wire recorded. textproto and bufio hand a
// line cut short by EOF or a timeout over as if it were complete; the tap
// only records lines that ended in LF, so a truncated "250 ok" is never
// taken for an answer.
func (s *session) tapped() (reply, error) {
	if err := s.w.failure(); errors.Is(err, ErrDataPrompt) || errors.Is(err, ErrDesync) {
		return reply{}, err
	}
	if s.w.extraData() {
		// More came in the same read as the reply: which of the replies
		// answers this command cannot be told.
		return reply{}, ErrDesync
	}
	if r, ok := parseReply(s.w.replyLines()); ok {
		return r, nil
	}
	if err := s.w.failure(); err != nil {
		return reply{}, s.explain(err)
	}
	return reply{}, errors.New("malformed reply")
}

// rawCmd writes one command line on the raw path and reads its reply.
func (s *session) rawCmd(line string) (reply, error) {
	s.w.SetWriteDeadline(time.Now().Add(s.cfg.cmdTimeout))
	if _, err := io.WriteString(s.w, line+"\r\n"); err != nil {
		return reply{}, err
	}
	return s.readReply(s.cfg.cmdTimeout)
}

// result turns the outcome of one go-smtp command into the reply the
// wire's tap recorded (go-smtp returns no text for successes). A failure
// that is not an SMTP reply wins over the tap, which may hold a partial
// reply (an endless "250-" cut off by the budget is no acceptance).
func (s *session) result(err error) (reply, error) {
	var se *smtp.SMTPError
	if err != nil && !errors.As(err, &se) {
		if ferr := s.w.failure(); ferr != nil {
			err = ferr // the cause, rather than go-smtp's view of a cut-off line
		}
		return reply{}, s.explain(err)
	}
	return s.tapped()
}

// run makes one attempt. A non-nil error means the session is unusable
// afterwards; res then holds whatever was decided (Outcome "" when the
// attempt must be retried on a new session).
func (s *session) run(a Attempt) (res AttemptResult, err error) {
	res = AttemptResult{Variant: a.Variant, Class: a.Class, HELO: a.HELO,
		MailFrom: a.MailFrom(), RcptTo: a.RcptTo()}
	if s.dirty || s.helo != a.HELO {
		if s.dirty {
			if err := s.reset(); err != nil {
				return s.decide(&res, StageRset, err)
			}
		} else {
			// A clean session changes its name without RSET: EHLO alone
			// resets (RFC 5321 4.1.4), and a server whose RSET fails
			// still gets the first attempt of every session made. go-smtp
			// says Hello once per client: a fresh one takes over.
			s.c = nil
		}
		if err := s.hello(a.HELO); err != nil {
			var se *sessionError
			if errors.As(err, &se) && se.reply == nil {
				return s.decide(&res, StageHelo, err)
			}
			if errors.As(err, &se) && se.reply != nil && se.reply.Code != 421 {
				// A refused EHLO/HELO decides this attempt; go-smtp keeps
				// the error, so the session ends and the rest moves on.
				fill(&res, StageHelo, *se.reply)
				se.retry, se.fresh = true, true
			}
			return res, err
		}
	}
	if a.AfterAuth {
		res.Note = s.bogusAuth()
		if err := s.w.poisonErr(); err != nil {
			return res, &sessionError{stage: StageAuth, err: err}
		}
	}
	s.dirty = true
	var r reply
	if addr, ok := bracketed(a.Mail, "MAIL FROM:"); ok {
		r, err = s.result(s.c.Mail(addr, nil))
	} else {
		r, err = s.rawCmd(a.Mail)
	}
	if done, err := s.judge(&res, StageMail, r, err); done {
		return res, err
	}
	if addr, ok := bracketed(a.Rcpt, "RCPT TO:"); ok {
		r, err = s.result(s.c.Rcpt(addr, nil))
	} else {
		r, err = s.rawCmd(a.Rcpt)
	}
	_, err = s.judge(&res, StageRcpt, r, err)
	if err == nil && res.Outcome == "" {
		fill(&res, StageRcpt, r)
	}
	if err == nil && res.Outcome == OutcomeAccepted {
		// An acceptance is believed only when nothing follows it: a
		// stray 250 read in place of the real reply would be.
		if serr := s.w.settleAccepted(); serr != nil {
			return s.decide(&res, StageRcpt, serr)
		}
	}
	return res, err
}

// reset sends RSET. Its reply must be 250 (RFC 5321 4.1.1.5): a server
// that does not reset may take the next MAIL as nested ("503 5.5.1
// Error: nested MAIL command") or add the next RCPT to the old
// transaction.
func (s *session) reset() error {
	r, err := s.result(s.c.Reset())
	if err == nil && r.Code != 250 {
		return &sessionError{stage: StageRset, reply: &r, retry: true}
	}
	if err == nil {
		s.dirty = false
	}
	return err
}

// decide turns a failure while making attempt res at stage into the
// session's error, deciding res where the failure is the answer:
//
//   - a 354 (ErrDataPrompt): the connection is already dropped; the
//     attempt is an error and the rest go to a new session;
//   - a reply that is no answer at all (ErrProtocol): the attempt is an
//     error, the rest go to a new session;
//   - replies that no longer match commands (ErrDesync): nothing is
//     decided, nothing is retried (runJob also voids the reply before);
//   - anything else (a refused RSET, a dropped connection): the attempt
//     is retried on a new session; its outcome stays empty.
func (s *session) decide(res *AttemptResult, stage string, err error) (AttemptResult, error) {
	var se *sessionError
	if !errors.As(err, &se) {
		se = s.failed(stage, err).(*sessionError)
	}
	switch {
	case errors.Is(se.err, ErrDataPrompt):
		res.Stage, res.Code, res.Text, res.Outcome = stage, 354, ErrDataPrompt.Error(), OutcomeError
		se.retry, se.fresh = true, true
	case errors.Is(se.err, ErrProtocol):
		res.Stage, res.Code, res.Text, res.Outcome = stage, 0, se.err.Error(), OutcomeError
		se.retry, se.fresh = true, true
	case errors.Is(se.err, ErrDesync):
		res.Outcome = ""
	}
	return *res, se
}

// failed is the session error of a command that got no usable reply.
func (s *session) failed(stage string, err error) error {
	se := &sessionError{stage: stage, err: err, retry: isDropped(err)}
	if errors.Is(err, ErrDesync) || errors.Is(err, ErrDataPrompt) {
		se.retry = false
	}
	return se
}

// ErrProtocol marks a reply that answers no command the way SMTP allows
// (a greeting that is not 220, a 3xx to RCPT): the session ends and the
// attempt is an error, never a refusal nor an acceptance.
var ErrProtocol = errors.New("probe: protocol error")

// replyText is "250 text" for messages.
func replyText(r reply) string {
	t := strconv.Itoa(r.Code)
	if r.Enhanced != "" {
		t += " " + r.Enhanced
	}
	if l := firstLine(r.Text); l != "" {
		t += " " + l
	}
	return t
}

// judge records a MAIL or RCPT reply. done is true when the attempt is
// decided here (a non-2xx reply or a failure).
func (s *session) judge(res *AttemptResult, stage string, r reply, err error) (done bool, _ error) {
	if err != nil {
		_, serr := s.decide(res, stage, err)
		return true, serr
	}
	switch {
	case r.Code == 421:
		// smtpd is closing (smtpd_hard_error_limit, overload, shutdown):
		// the attempt is retried on a new session.
		return true, &sessionError{stage: stage, reply: &r, retry: true}
	case r.Code == 503:
		// "503 5.5.1 Error: nested MAIL command", "need MAIL command":
		// Postfix's (smtpd.c) and RFC 5321's bad sequence of commands.
		// The server's state is not the one we think (an RSET that did
		// nothing): this says nothing about the attempt, which is
		// retried on a new session.
		s.errors++
		return true, &sessionError{stage: stage, reply: &r, retry: true}
	case r.Code < 200 || r.Code >= 300 && r.Code < 400:
		_, serr := s.decide(res, stage, fmt.Errorf("%w: %s answered %q", ErrProtocol, strings.ToUpper(stage), replyText(r)))
		return true, serr
	}
	if r.Code >= 400 {
		s.errors++
	}
	if r.Code >= 200 && r.Code < 300 && stage == StageMail {
		return false, nil
	}
	fill(res, stage, r)
	return true, nil
}

func fill(res *AttemptResult, stage string, r reply) {
	res.Stage, res.Code, res.EnhancedCode, res.Text = stage, r.Code, r.Enhanced, r.Text
	classify(res)
}

// bogusAuth sends an AUTH that must fail and returns a note for the
// report. PLAIN gets an initial response with a made-up identity (never
// real credentials); any other mechanism is cancelled with "*" at its
// first challenge (RFC 4954 section 4).
func (s *session) bogusAuth() string {
	if len(s.info.AuthMechs) == 0 {
		return "AUTH not offered: attempt made without it"
	}
	mech := s.info.AuthMechs[0]
	line := "AUTH " + mech
	for _, m := range s.info.AuthMechs {
		if strings.EqualFold(m, "PLAIN") {
			mech = "PLAIN"
			line = "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00pfaudit-bogus-user\x00pfaudit-bogus-password"))
			break
		}
	}
	r, err := s.rawCmd(line)
	if err == nil && r.Code == 334 {
		r, err = s.rawCmd("*")
	}
	if err != nil {
		return "AUTH " + mech + ": " + err.Error()
	}
	if r.Code >= 400 {
		s.errors++
	}
	note := fmt.Sprintf("AUTH %s with bogus credentials: %d %s", mech, r.Code, firstLine(r.Text))
	if r.Code >= 200 && r.Code < 300 {
		note += " (AUTHENTICATION SUCCEEDED with bogus credentials)"
	}
	return note
}

// finish ends the last transaction with RSET and makes sure nothing
// follows its reply: a reply nobody asked for after the last RCPT would
// show up here, and void that RCPT's answer (ErrDesync).
func (s *session) finish() error {
	if s.c == nil || s.w.poisonErr() != nil {
		return nil
	}
	if s.dirty {
		if err := s.reset(); err != nil {
			return err
		}
	}
	return s.w.settle()
}

// close ends a healthy session with RSET and QUIT; the replies do not
// matter any more.
func (s *session) close() {
	if s.c != nil && s.w.poisonErr() == nil {
		if s.dirty {
			s.c.Reset()
		}
		s.rawCmd("QUIT")
	}
	s.abort()
}

// abort drops the connection.
func (s *session) abort() {
	s.stop()
	s.w.Close()
	if s.release != nil {
		s.release()
	}
}

func replyPtr(r reply, err error) *reply {
	if err != nil {
		return nil
	}
	return &r
}

// isDropped reports a connection the server closed or reset: the attempts
// still to make are worth a new session.
func isDropped(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && !oe.Timeout() {
		return oe.Op == "read" || oe.Op == "write"
	}
	return false
}

// explain makes timeouts and the run's deadline read as such: "i/o
// timeout" or "use of closed network connection" alone do not say that
// the server kept us waiting.
func (s *session) explain(err error) error {
	if s.ctx != nil && ended(s.ctx) {
		if s.ctx.Err() == nil || errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("timed out: the run's deadline passed while waiting for the server (%v)", err)
		}
		return fmt.Errorf("cancelled while waiting for the server (%v)", err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("timed out waiting for the server's reply: %w", err)
	}
	return err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func hostOnly(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}
