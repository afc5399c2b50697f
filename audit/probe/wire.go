package probe

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrForbidden is returned (wrapped) when anything tries to put a line on the
// wire that the probe must never send: DATA, BDAT, any verb outside the
// envelope-only allowlist, or a header-like "Label:" line. The probe
// decides relay at RCPT time and stops there (relay-probes.md: "Never send
// DATA or BDAT, never a body, never a line that looks like a header").
var ErrForbidden = errors.New("probe: refusing to send a forbidden line")

// allowedVerbs are the only commands the wire lets through. Everything the
// probe needs is here; DATA and BDAT are deliberately absent, so no code path
// (go-smtp's Data/SendMail included) can start a message transfer. "*" is
// the SASL cancellation (RFC 4954 section 4) used after a bogus AUTH.
var allowedVerbs = map[string]bool{
	"EHLO": true, "HELO": true, "STARTTLS": true, "XCLIENT": true,
	"AUTH": true, "MAIL": true, "RCPT": true, "RSET": true,
	"NOOP": true, "QUIT": true, "*": true,
}

const (
	// maxCommandLine bounds one outgoing command line (RFC 5321 4.5.3.1.4
	// allows 512 octets; our longest catalogue line is far shorter).
	maxCommandLine = 1024
	// defaultReplyBudget bounds the bytes of the replies to one command.
	// Postfix's longest reply (EHLO) is well under 1 KiB; 64 KiB leaves room
	// for chatty servers while stopping an endless multi-line reply.
	defaultReplyBudget = 64 << 10
	// maxReplyLine bounds one reply line. RFC 5321 4.5.3.1.5 allows 512
	// octets; go-smtp allows 2000; so do we, on the raw path too.
	maxReplyLine = 2000
)

// checkLine applies the wire policy to one outgoing line without its CRLF.
func checkLine(line string) error {
	if strings.ContainsAny(line, "\r\x00") {
		return fmt.Errorf("%w: control character in %q", ErrForbidden, line)
	}
	verb, _, _ := strings.Cut(line, " ")
	if strings.Contains(verb, ":") {
		// "Subject: x" and friends: Postfix treats such a line as an attack
		// (smtpd_forbidden_commands) and it would be header text anyway.
		return fmt.Errorf("%w: header-like line %q", ErrForbidden, line)
	}
	if !allowedVerbs[strings.ToUpper(verb)] {
		return fmt.Errorf("%w: verb %q is not an envelope command", ErrForbidden, verb)
	}
	return nil
}

// wire is the net.Conn every byte of a probe session passes through, on
// both the go-smtp path and the raw path. It sits above TLS (the probe
// negotiates STARTTLS itself and swaps the transport underneath), so its
// policy sees the plaintext of every command:
//
//   - Write assembles lines and refuses any line checkLine rejects; after
//     one refusal the wire is poisoned and writes nothing more.
//   - Read enforces a per-command byte budget and a line-length limit, so
//     an endless reply or a 10 MB line ends with an error, not a hang or
//     unbounded memory.
//   - Deadlines asked for by go-smtp are clamped to the session deadline
//     (go-smtp resets deadlines to "none" after each command).
//   - replay serves bytes to the next reader before the transport: used to
//     hand a fresh go-smtp client the 220 it expects after STARTTLS or
//     XCLIENT, where the greeting was already read on the raw path.
//   - The transcript callback and the reply tap record what was said.
type wire struct {
	tcp net.Conn // the socket; Close always closes it

	mu       sync.Mutex
	cur      net.Conn // tcp, or a *tls.Conn over it
	deadline time.Time
	poisoned error
	pending  []byte // outgoing partial line
	replay   []byte
	budget   int
	read     int // reply bytes since the last command
	lineLen  int // bytes since the last '\n' read
	inLine   []byte
	reply    []string // reply lines since the last command
	readErr  error    // the first read failure: the stream is unusable after it
	wrote    bool     // something was written
	heard    bool     // some byte was received
	// final: the reply to the last command is complete (its last line,
	// "ddd text" or "ddd", was received); extra: bytes came after it
	// before the next command. The probe never pipelines (one command,
	// then its whole reply), so anything after a complete reply is a
	// reply nobody asked for, and every later reply could belong to
	// another command.
	final    bool
	extra    bool
	rdl      time.Time     // the read deadline last asked for, to restore after a peek
	sentAt   time.Time     // when the last command was written
	rtt      time.Duration // how long the first command waited for its answer
	protoErr error         // a protocol error the wire found (desync, 354)
	heardAt  *atomic.Bool  // also set on the first byte, for watchers outside the session
	onLine   func(dir byte, line string)
}

func newWire(c net.Conn, deadline time.Time, onLine func(dir byte, line string)) *wire {
	w := &wire{tcp: c, cur: c, deadline: deadline, budget: defaultReplyBudget, onLine: onLine}
	if !deadline.IsZero() {
		c.SetDeadline(deadline)
	}
	return w
}

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.poisoned != nil {
		return 0, w.poisoned
	}
	w.pending = append(w.pending, p...)
	var out []byte
	var lines []string
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		raw := w.pending[:i+1]
		if i == 0 || raw[i-1] != '\r' {
			return 0, w.poison(fmt.Errorf("%w: bare LF in %q", ErrForbidden, raw))
		}
		line := string(raw[:i-1])
		if err := checkLine(line); err != nil {
			return 0, w.poison(err)
		}
		lines = append(lines, line)
		out = append(out, raw...)
		w.pending = w.pending[i+1:]
	}
	if len(w.pending) > maxCommandLine {
		return 0, w.poison(fmt.Errorf("%w: command line longer than %d bytes", ErrForbidden, maxCommandLine))
	}
	if len(out) == 0 {
		return len(p), nil
	}
	if err := w.checkQuiet(); err != nil {
		w.pending = nil
		return 0, err
	}
	w.read, w.reply, w.wrote, w.final = 0, w.reply[:0], true, false
	w.sentAt = time.Now()
	for _, l := range lines {
		if w.onLine != nil {
			w.onLine('>', l)
		}
	}
	if _, err := w.cur.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// proxyV1RE is the only PROXY protocol v1 line the wire lets through
// (haproxy proxy-protocol.txt section 2.1; at most 107 bytes).
var proxyV1RE = lazyRegexp(`^PROXY TCP[46] [0-9a-fA-F.:]+ [0-9a-fA-F.:]+ [0-9]{1,5} [0-9]{1,5}\r\n$`)

// proxyV2Sig starts every PROXY protocol v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// preamble writes a PROXY protocol header, the one thing that may precede
// the greeting: only as the very first bytes of the connection, and only
// a well-formed v1 line or a v2 header (signature, version 2 PROXY
// command, length matching the addresses).
func (w *wire) preamble(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.poisoned != nil {
		return w.poisoned
	}
	if w.wrote || w.read > 0 || len(w.pending) > 0 {
		return w.poison(fmt.Errorf("%w: PROXY header after the session started", ErrForbidden))
	}
	desc := ""
	switch {
	case proxyV1RE().Match(b) && len(b) <= 107:
		desc = strings.TrimSuffix(string(b), "\r\n")
	case len(b) >= 16 && bytes.HasPrefix(b, proxyV2Sig) && b[12] == 0x21 &&
		int(b[14])<<8|int(b[15]) == len(b)-16 && (b[13] == 0x11 && len(b) == 16+12 || b[13] == 0x21 && len(b) == 16+36):
		desc = fmt.Sprintf("[PROXY v2 header, %d bytes]", len(b))
	default:
		return w.poison(fmt.Errorf("%w: malformed PROXY header %q", ErrForbidden, b))
	}
	if w.onLine != nil {
		w.onLine('>', desc)
	}
	w.wrote = true
	_, err := w.cur.Write(b)
	return err
}

func (w *wire) poison(err error) error {
	w.poisoned = err
	w.pending = nil
	return err
}

func (w *wire) Read(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.replay) > 0 {
		n := copy(p, w.replay)
		w.replay = w.replay[n:]
		w.mu.Unlock()
		return n, nil
	}
	cur := w.cur
	w.mu.Unlock()

	n, err := cur.Read(p)

	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil && w.readErr == nil {
		w.readErr = err
	}
	if n > 0 && w.read == 0 && !w.sentAt.IsZero() && w.rtt == 0 {
		// The first command's answer (EHLO after the greeting, which
		// was checked to stand alone) times the round trip.
		w.rtt = time.Since(w.sentAt)
	}
	w.read += n
	if n > 0 {
		w.heard = true
		if w.heardAt != nil {
			w.heardAt.Store(true)
		}
	}
	for _, b := range p[:n] {
		if w.final {
			w.extra = true
		}
		if b == '\n' {
			line := strings.TrimSuffix(string(w.inLine), "\r")
			w.reply = append(w.reply, line)
			if w.onLine != nil {
				w.onLine('<', line)
			}
			w.inLine, w.lineLen = w.inLine[:0], 0
			w.final = w.final || isFinalLine(line)
			if isCode(line, 354) && w.poisoned == nil {
				w.dataPrompt()
			}
			continue
		}
		w.lineLen++
		if w.lineLen > maxReplyLine {
			w.readErr = fmt.Errorf("probe: reply line longer than %d bytes", maxReplyLine)
			return 0, w.readErr
		}
		w.inLine = append(w.inLine, b)
	}
	if w.read > w.budget {
		w.readErr = fmt.Errorf("probe: reply longer than %d bytes", w.budget)
		return 0, w.readErr
	}
	return n, err
}

// ErrDataPrompt is the protocol error of a server that answered 354
// (RFC 5321 4.2: "start mail input") to a command that was not DATA. The
// server may now take every further line as message text, so the wire
// closes the connection the moment the line arrives: not one more byte
// is written (not even QUIT).
var ErrDataPrompt = errors.New("probe: the server answered 354 (start mail input) to a command that was not DATA: connection dropped at once, nothing more sent")

// ErrDesync is the protocol error of a server whose replies cannot be
// matched to the probe's commands: it sent data after a complete reply,
// before the next command (an unsolicited extra reply). The probe never
// pipelines, so from then on any reply could be the answer to another
// command: the session ends, and the last reply it decided on is void.
var ErrDesync = errors.New("probe: protocol error: the server sent a reply nobody asked for (data after a complete reply, before the next command): its replies can no longer be matched to commands")

// dataPrompt poisons the wire and closes the socket (the caller holds mu).
func (w *wire) dataPrompt() {
	w.poisoned = ErrDataPrompt
	w.protoErr = ErrDataPrompt
	w.pending = nil
	w.tcp.Close()
}

// isCode reports whether line is a reply line with the given code.
func isCode(line string, code int) bool {
	c := strconv.Itoa(code)
	return strings.HasPrefix(line, c) && (len(line) == 3 || line[3] == ' ' || line[3] == '-')
}

// isFinalLine reports whether line ends a reply: "ddd" or "ddd text"
// (RFC 5321 4.2.1; "ddd-text" continues it).
func isFinalLine(line string) bool {
	if len(line) < 3 || strings.Trim(line[:3], "0123456789") != "" {
		return false
	}
	return len(line) == 3 || line[3] == ' '
}

// peekWait is how long the wire listens, before each command, for data
// the server sent after its last reply. Data the server wrote right
// behind a reply is in the socket by then; a delay costs each command
// this much on a quiet connection.
var peekWait = 2 * time.Millisecond

// checkQuiet fails when the server said anything after its last complete
// reply: buffered already (extra) or arriving within peekWait. The caller
// holds mu.
func (w *wire) checkQuiet() error {
	return w.checkQuietFor(peekWait)
}

// checkQuietFor is checkQuiet listening for up to wait.
func (w *wire) checkQuietFor(wait time.Duration) error {
	if w.protoErr != nil {
		return w.protoErr
	}
	if !w.final && !w.extra {
		// Nothing read since the last command (the first command after a
		// replayed greeting, or a reply still being read): nothing to check.
		return nil
	}
	if !w.extra {
		cur := w.cur
		cur.SetReadDeadline(time.Now().Add(wait))
		var buf [512]byte
		n, _ := cur.Read(buf[:])
		cur.SetReadDeadline(w.clamp(w.rdl))
		if n > 0 {
			w.extra = true
			if w.onLine != nil {
				w.onLine('<', strings.TrimRight(string(buf[:n]), "\r\n"))
			}
		}
	}
	if w.extra {
		w.protoErr = ErrDesync
		return ErrDesync
	}
	return nil
}

// extraData reports whether data followed the last complete reply.
func (w *wire) extraData() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.extra
}

// settle waits up to peekWait for data after the last complete reply; it
// returns ErrDesync when some came.
func (w *wire) settle() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checkQuiet()
}

// settleAccepted is settle after a reply that accepted a relay attempt,
// the one reply a desynchronised stream must never be trusted for: a
// stray 250 read in place of the real answer is followed by that answer
// about one round trip later, so the wire listens for twice the round
// trip it measured (at least peekWait, at most maxSettle).
func (w *wire) settleAccepted() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checkQuietFor(min(max(peekWait, 2*w.rtt+peekWait), maxSettle))
}

// maxSettle bounds the wait after an accepted RCPT.
const maxSettle = time.Second

func (w *wire) poisonErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.poisoned
}

// silent reports whether the server has not sent a single byte yet.
func (w *wire) silent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.heard
}

// clearTimeout forgets a read timeout the caller provoked on purpose.
func (w *wire) clearTimeout() {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ne net.Error
	if errors.As(w.readErr, &ne) && ne.Timeout() {
		w.readErr = nil
	}
}

// failure returns the protocol error the wire found, else the first read
// error, if any.
func (w *wire) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.protoErr != nil {
		return w.protoErr
	}
	return w.readErr
}

// replyLines returns the reply lines received since the last command.
func (w *wire) replyLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.reply...)
}

func (w *wire) setReplay(b []byte) {
	w.mu.Lock()
	w.replay = append(w.replay[:0], b...)
	w.mu.Unlock()
}

// swap replaces the transport (after a TLS handshake). Pending reply state
// is dropped: RFC 3207 section 4.2 has the client forget everything learnt
// before TLS.
func (w *wire) swap(c net.Conn) {
	w.mu.Lock()
	w.cur = c
	w.read, w.lineLen, w.inLine, w.reply = 0, 0, w.inLine[:0], w.reply[:0]
	w.final, w.extra = false, false
	w.mu.Unlock()
}

func (w *wire) transport() net.Conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

func (w *wire) clamp(t time.Time) time.Time {
	if w.deadline.IsZero() {
		return t
	}
	if t.IsZero() || t.After(w.deadline) {
		return w.deadline
	}
	return t
}

func (w *wire) Close() error         { return w.tcp.Close() }
func (w *wire) LocalAddr() net.Addr  { return w.tcp.LocalAddr() }
func (w *wire) RemoteAddr() net.Addr { return w.tcp.RemoteAddr() }
func (w *wire) SetDeadline(t time.Time) error {
	w.mu.Lock()
	w.rdl = t
	w.mu.Unlock()
	return w.transport().SetDeadline(w.clamp(t))
}

func (w *wire) SetReadDeadline(t time.Time) error {
	w.mu.Lock()
	w.rdl = t
	w.mu.Unlock()
	return w.transport().SetReadDeadline(w.clamp(t))
}

func (w *wire) SetWriteDeadline(t time.Time) error { return w.transport().SetWriteDeadline(w.clamp(t)) }

var _ net.Conn = (*wire)(nil)
