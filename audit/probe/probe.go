// Package probe confirms a Postfix server's relay policy live, without ever
// delivering anything.
//
// For each target and vantage it opens SMTP sessions and makes the relay
// attempts of the catalogue (every row of relay-probes.md, the superset of
// what nmap smtp-open-relay, abuse.net, Nessus and RBL.JP send, plus HELO
// identities and a relay after a failed AUTH). Each attempt stops at RCPT:
// relay is decided there. The probe never sends DATA, BDAT, a body or a
// header-like line, whatever the server answers: the wire every byte passes
// through allows envelope commands only (see ErrForbidden).
//
// Sessions are planned from the server's limits (Limits): fewer refusals per
// session than smtpd_soft_error_limit, so Postfix's tarpit never engages;
// a 421 or a dropped connection moves the remaining attempts to a new
// session. The greeting is read to its final "220 " line before anything is
// said (postscreen). STARTTLS is used when offered, implicit TLS on port 465
// or with an smtps:// target; certificates are not verified (this tests
// policy, not PKI).
//
// Evidence needs a foreign recipient domain: the test domain comes from
// the configuration when there is one (Options.PerTarget), is never the
// server's own name, and control RCPTs move it to another reserved name
// when the server hosts it (chooseDomain). Replies are read as Postfix
// writes them (classify): the relay guard's 454 4.7.1 is a refusal
// ("closed (deferred)"), a recipient hosted here or a test domain refused
// for its DNS decides nothing. A listener that never greets is tried with
// a PROXY header and otherwise reported broken (greet); an untrusted
// vantage that may claim a trusted address (XCLIENT offered to it, a
// PROXY-protocol listener) does so, and relaying then is open.
//
// Vantages: loopback (a local client; mynetworks trusts it by default, so
// its verdict describes local clients only), xclient (XCLIENT ADDR= an
// untrusted documentation address, when the server offers XCLIENT to us),
// netns (Linux, root: a client in a temporary network namespace, see
// package audit/netns), remote (dial the target from here), and auto (the
// best untrusted vantage available).
//
// Go-smtp (github.com/emersion/go-smtp) speaks EHLO, MAIL, RCPT and RSET;
// the raw path (net/textproto over the same wire) speaks STARTTLS, XCLIENT,
// AUTH, QUIT and the lines go-smtp cannot write byte-exactly (a RCPT
// without angle brackets, odd spacing, lower-case verbs). Note that go-smtp
// appends " BODY=8BITMIME" to MAIL when the server offers 8BITMIME; the
// parameter does not affect relay decisions.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits are the server's error limits (smtpd(8) TARPIT CONTROLS). Zero
// fields take Postfix's defaults; the caller fills them from the
// configuration when it is at hand.
type Limits struct {
	SoftErrorLimit int           // smtpd_soft_error_limit, default 10
	HardErrorLimit int           // smtpd_hard_error_limit, default 20
	ErrorSleep     time.Duration // smtpd_error_sleep_time, default 1s
}

func (l Limits) withDefaults() Limits {
	if l.SoftErrorLimit <= 0 {
		l.SoftErrorLimit = 10
	}
	if l.HardErrorLimit <= 0 {
		l.HardErrorLimit = 20
	}
	if l.ErrorSleep <= 0 {
		l.ErrorSleep = time.Second
	}
	return l
}

// perSession is how many attempts one session may make: every attempt can
// cost one error, and smtpd delays every reply once its error count reaches
// the soft limit, so a session stays one below it. Reserve counts errors
// spent on other commands (the bogus AUTH).
func (l Limits) perSession(reserve int) int {
	n := min(l.SoftErrorLimit, l.HardErrorLimit) - 1 - reserve
	return max(n, 1)
}

// Vantage names accepted in Options.Vantage.
const (
	VantageAuto     = "auto"
	VantageLoopback = "loopback"
	VantageXClient  = "xclient"
	VantageNetns    = "netns"
	VantageRemote   = "remote"
	// VantageNone is reported when auto finds no untrusted vantage.
	VantageNone = "none"
)

// Vantages lists the names Options.Vantage accepts, for flag help.
var Vantages = []string{VantageAuto, VantageLoopback, VantageXClient, VantageNetns, VantageRemote}

// Options configure Run. Zero values take the documented defaults.
type Options struct {
	// Targets are "host:port", "[v6]:port", "host" (port 25) or
	// "smtps://host:port" (implicit TLS, also implied by port 465). Host
	// names are resolved here; the first address is used.
	Targets []string
	// Vantage is one of Vantages or a comma-separated list of them
	// (default auto).
	Vantage string
	// Timeout bounds the whole run (default 2m).
	Timeout time.Duration
	// CommandTimeout bounds each command's reply (default 10s). The
	// greeting gets max(CommandTimeout, 30s): postscreen holds it back for
	// postscreen_greet_wait (6s) plus DNSBL time.
	CommandTimeout time.Duration
	// TestDomain is the third-party recipient domain X (default
	// example.net); SenderDomain the third-party sender domain (default
	// example.org). Both should be reserved names (RFC 2606). The probe
	// moves to another reserved domain when the server's replies show it
	// hosts X (see chooseDomain), unless TestDomainFixed is set.
	TestDomain, SenderDomain string
	// TestDomainFixed keeps TestDomain whatever the replies say (the user
	// chose it with --test-domain); the report then warns when the
	// server hosts it.
	TestDomainFixed bool
	// TestDomainNote says where TestDomain came from (e.g. the relay
	// model's choice for this configuration), for the report.
	TestDomainNote string
	// PerTarget overrides the domains, host name and limits of one target,
	// keyed by the target string exactly as given in Targets (audit: each
	// listener's own scope).
	PerTarget map[string]TargetOptions
	// HELO is the probe's own EHLO name (default probe.example.com).
	HELO string
	// Hostname is the server's myhostname when known; it replaces what the
	// EHLO reply says for the H placeholder.
	Hostname string
	// ClientAddr is the untrusted address claimed with XCLIENT (default
	// 203.0.113.5, RFC 5737 documentation space).
	ClientAddr netip.Addr
	// Limits are the server's error limits, for session planning.
	Limits Limits
	// Parallel bounds the sessions open at once per target and vantage
	// (default 4).
	Parallel int
	// MaxRetries bounds how often an attempt moves to a new session after
	// a 421 or a dropped connection (default 2).
	MaxRetries int
	// NoSTARTTLS keeps sessions in plaintext even when STARTTLS is offered.
	NoSTARTTLS bool
	// Netns configures the netns vantage.
	Netns NetnsConfig
	// Dial, when set, replaces the plain dialer of the loopback and remote
	// vantages (tests use it to dial from a namespace they created).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Progress, when set, receives one line per finished session.
	Progress io.Writer
	// Transcript, when set, receives every line sent ("> ") and received
	// ("< "), prefixed with the target, vantage and session number.
	Transcript io.Writer
}

// TargetOptions are the per-target settings of Options.PerTarget; empty
// fields keep the run-wide value.
type TargetOptions struct {
	TestDomain, SenderDomain, TestDomainNote string
	Hostname                                 string
	Limits                                   Limits
}

// forTarget returns the options for target s.
func (o Options) forTarget(s string) Options {
	to, ok := o.PerTarget[s]
	if !ok {
		return o
	}
	if to.TestDomain != "" && !o.TestDomainFixed {
		o.TestDomain, o.TestDomainNote = to.TestDomain, to.TestDomainNote
	}
	if to.SenderDomain != "" && !o.TestDomainFixed {
		o.SenderDomain = to.SenderDomain
	}
	if to.Hostname != "" {
		o.Hostname = to.Hostname
	}
	if to.Limits != (Limits{}) {
		o.Limits = to.Limits.withDefaults()
	}
	return o
}

// NetnsConfig configures the netns vantage (see package audit/netns).
type NetnsConfig struct {
	// Prefix4 and Prefix6 are the ranges the point-to-point address pair
	// comes from (defaults in package netns).
	Prefix4, Prefix6 netip.Prefix
	// Parent names the network namespace (under /run/netns) where the
	// host end of the veth pair lives; default: the caller's.
	Parent string
}

// DefaultClientAddr is the address XCLIENT claims by default.
var DefaultClientAddr = netip.MustParseAddr("203.0.113.5")

func (o Options) withDefaults() Options {
	if o.Vantage == "" {
		o.Vantage = VantageAuto
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if o.TestDomain == "" {
		o.TestDomain = DefaultTestDomain
	}
	if o.SenderDomain == "" {
		o.SenderDomain = DefaultSenderDomain
	}
	if o.HELO == "" {
		o.HELO = DefaultHELO
	}
	if !o.ClientAddr.IsValid() {
		o.ClientAddr = DefaultClientAddr
	}
	o.Limits = o.Limits.withDefaults()
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 2
	}
	return o
}

// Target is a parsed target.
type Target struct {
	Address     string // normalised host:port, as reported
	Host        string // the host as given (name or address)
	AddrPort    netip.AddrPort
	ImplicitTLS bool
}

// ParseTarget parses one target (see Options.Targets) without resolving
// names: AddrPort is set only for address literals.
func ParseTarget(s string) (Target, error) {
	var t Target
	in := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(in, "smtps://"):
		t.ImplicitTLS = true
		in = strings.TrimPrefix(in, "smtps://")
	case strings.HasPrefix(in, "smtp://"):
		in = strings.TrimPrefix(in, "smtp://")
	}
	in = strings.TrimSuffix(in, "/")
	host, port, err := net.SplitHostPort(in)
	if err != nil {
		// No port: "host", "192.0.2.1", "::1" or "[::1]".
		host, port = strings.TrimSuffix(strings.TrimPrefix(in, "["), "]"), "25"
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return t, fmt.Errorf("probe: bad target %q: want HOST:PORT", s)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return t, fmt.Errorf("probe: bad target %q: port %q is not a number from 1 to 65535", s, port)
	}
	if p == 465 {
		t.ImplicitTLS = true // submissions (RFC 8314) speaks TLS from the first byte
	}
	t.Host = host
	t.Address = net.JoinHostPort(host, port)
	if a, err := netip.ParseAddr(host); err == nil {
		t.AddrPort = netip.AddrPortFrom(a.Unmap(), uint16(p))
		t.Address = t.AddrPort.String()
	}
	return t, nil
}

// Run probes every target from the vantages asked for and returns the
// report. An error is returned only for unusable options (bad target,
// unknown vantage, a negative timeout); failures while probing are part of
// the report. A run cut short by ctx or its timeout returns its partial
// report with Report.Interrupted set: check Report.Err.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.Timeout < 0 || opt.CommandTimeout < 0 {
		return nil, fmt.Errorf("probe: negative timeout (%v, command timeout %v): give a positive duration, or 0 for the default", opt.Timeout, opt.CommandTimeout)
	}
	opt = opt.withDefaults()
	vantages, err := parseVantages(opt.Vantage)
	if err != nil {
		return nil, err
	}
	if len(opt.Targets) == 0 {
		return nil, errors.New("probe: no target")
	}
	names := []struct{ name, v string }{{"test domain", opt.TestDomain},
		{"sender domain", opt.SenderDomain}, {"HELO name", opt.HELO}, {"hostname", opt.Hostname}}
	for _, to := range opt.PerTarget {
		names = append(names, struct{ name, v string }{"test domain", to.TestDomain},
			struct{ name, v string }{"sender domain", to.SenderDomain}, struct{ name, v string }{"hostname", to.Hostname})
	}
	for _, f := range names {
		if f.v != "" && !validName(f.v) {
			return nil, fmt.Errorf("probe: bad %s %q: want a domain name or an address literal", f.name, f.v)
		}
	}
	var targets []Target
	var topts []Options
	for _, s := range opt.Targets {
		t, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
		topts = append(topts, opt.forTarget(s))
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()

	env := &runEnv{opt: opt, state: map[string]*targetState{}}
	defer env.close()
	rep := &Report{}
	interrupted := func() bool {
		if !ended(ctx) {
			return false
		}
		if rep.Interrupted == "" {
			rep.Interrupted, rep.cause = interruption(parent, ctx, opt.Timeout)
		}
		return true
	}
	for i, t := range targets {
		topt := topts[i]
		tr := TargetReport{Address: t.Address}
		if interrupted() {
			tr.Vantages = append(tr.Vantages, VantageReport{Vantage: strings.Join(vantages, ","),
				Verdict: VerdictError, Note: "not probed: " + rep.Interrupted, Attempts: []AttemptResult{}})
			rep.Targets = append(rep.Targets, tr)
			continue
		}
		if !t.AddrPort.IsValid() {
			if err := resolve(ctx, &t); err != nil {
				tr.Vantages = append(tr.Vantages, VantageReport{Vantage: strings.Join(vantages, ","),
					Verdict: VerdictError, Note: err.Error(), Attempts: []AttemptResult{}})
				rep.Targets = append(rep.Targets, tr)
				continue
			}
		}
		for _, v := range vantages {
			if interrupted() {
				tr.Vantages = append(tr.Vantages, VantageReport{Vantage: v, Verdict: VerdictError,
					Note: "not probed: " + rep.Interrupted, Attempts: []AttemptResult{}})
				continue
			}
			vr, info := env.probe(ctx, topt, t, v)
			if interrupted() {
				vr.Note = join(vr.Note, "INTERRUPTED ("+rep.Interrupted+"): this vantage did not finish; attempts not made are errors, not refusals")
			}
			if tr.Host == "" {
				tr.Host, tr.Banner = info.host, info.banner
			}
			tr.Vantages = append(tr.Vantages, vr)
		}
		rep.Targets = append(rep.Targets, tr)
	}
	interrupted()
	return rep, nil
}

// interruption says why ctx (Run's own, bounded by timeout) ended, and
// returns the error behind it: the caller's cancellation (a signal) or
// deadline, or the run's own timeout.
func interruption(parent, ctx context.Context, timeout time.Duration) (string, error) {
	if ended(parent) {
		err := parent.Err()
		if err == nil {
			err = context.DeadlineExceeded
		}
		why := "cancelled by the caller (a signal or a stop request)"
		if errors.Is(err, context.DeadlineExceeded) {
			why = "the caller's deadline passed"
		}
		if c := context.Cause(parent); c != nil && c != err {
			why += ": " + c.Error()
		}
		return why, err
	}
	return fmt.Sprintf("the probe's timeout (%v) passed before it finished", timeout), context.DeadlineExceeded
}

// ended reports whether ctx is done or its deadline has passed. The
// sockets carry the run's deadline too, and their timeouts can fire a
// moment before the context's own timer: a run whose sessions all timed
// out at the deadline must not look finished because ctx.Err() was still
// nil when it returned.
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

func parseVantages(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		v = strings.ToLower(strings.TrimSpace(v))
		ok := false
		for _, k := range Vantages {
			ok = ok || k == v
		}
		if !ok {
			return nil, fmt.Errorf("probe: unknown vantage %q (want %s)", v, strings.Join(Vantages, ", "))
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

func resolve(ctx context.Context, t *Target) error {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil {
		return fmt.Errorf("probe: resolving %s: %w", t.Host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("probe: %s has no address", t.Host)
	}
	t.AddrPort = netip.AddrPortFrom(addrs[0].Unmap(), t.AddrPort.Port())
	if t.AddrPort.Port() == 0 {
		_, port, _ := net.SplitHostPort(t.Address)
		p, _ := strconv.ParseUint(port, 10, 16)
		t.AddrPort = netip.AddrPortFrom(addrs[0].Unmap(), uint16(p))
	}
	return nil
}

// targetInfo is what the first session learnt, for the TargetReport.
type targetInfo struct {
	host, banner string
	err          error // why the first session failed, if it did
}

// pool hands attempts to sessions. Sessions take their attempts when they
// start, so a limit learnt from one session's 421 applies to every later
// one; attempts a failed session did not finish go back to the pool.
type pool struct {
	mu       sync.Mutex
	cond     *sync.Cond
	attempts []Attempt
	todo     []int // catalogue indices waiting, in catalogue order
	tries    []int // per attempt: sessions it was lost in
	inflight int
	batch    int  // attempts per session
	auth     bool // the server offers AUTH: after-auth attempts go alone
}

func newPool(attempts []Attempt, batch int, auth bool) *pool {
	p := &pool{attempts: attempts, tries: make([]int, len(attempts)), batch: batch, auth: auth}
	p.cond = sync.NewCond(&p.mu)
	for i := range attempts {
		p.todo = append(p.todo, i)
	}
	return p
}

// take returns the next session's attempts, waiting while sessions in
// flight may still return some; nil when everything is done. When the
// server offers AUTH, an attempt after a bogus AUTH gets a session of its
// own, so that the AUTH error never pushes a session over the limit.
func (p *pool) take() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.todo) == 0 && p.inflight > 0 {
		p.cond.Wait()
	}
	if len(p.todo) == 0 {
		return nil
	}
	var got, keep []int
	for _, i := range p.todo {
		if len(got) < p.batch && !(p.auth && p.attempts[i].AfterAuth) {
			got = append(got, i)
		} else {
			keep = append(keep, i)
		}
	}
	if len(got) == 0 {
		got, keep = keep[:1], keep[1:]
	}
	p.todo = keep
	p.inflight++
	return got
}

// takeUpTo is take for a session that may make at most n attempts (the
// first session, which spent errors on choosing the test domain).
func (p *pool) takeUpTo(n int) []int {
	p.mu.Lock()
	b := p.batch
	p.batch = max(1, min(b, n))
	p.mu.Unlock()
	got := p.take()
	p.mu.Lock()
	p.batch = b
	p.mu.Unlock()
	return got
}

// giveBack ends a session: rest goes back to the pool (in catalogue
// order), or, when it may not be retried, is reported failed. The first
// charged attempts of rest have lost a try.
func (p *pool) giveBack(rest []int, retry bool, charged, maxRetries int, fail func(i int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, i := range rest {
		if k < charged {
			p.tries[i]++
		}
		if retry && p.tries[i] <= maxRetries {
			p.todo = append(p.todo, i)
		} else {
			fail(i)
		}
	}
	sort.Ints(p.todo)
	p.inflight--
	p.cond.Broadcast()
}

// learn lowers the batch size after the server hung up with 421 having
// counted errs errors: later sessions stay below that.
func (p *pool) learn(errs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batch = max(1, min(p.batch, errs-1))
}

// serverName picks H: the configured myhostname, else the first word of
// the EHLO reply (RFC 5321 4.1.1.1 makes it the server's domain; Postfix
// sends $myhostname), else the banner's first word (Postfix's smtpd_banner
// starts with $myhostname), whichever looks like a host name first.
func serverName(configured string, info serverInfo) string {
	if configured != "" {
		return configured
	}
	banner, _, _ := strings.Cut(info.Banner, " ")
	for _, h := range []string{info.Host, banner} {
		if validName(h) && (strings.Contains(h, ".") || strings.HasPrefix(h, "[")) {
			return h
		}
	}
	for _, h := range []string{info.Host, banner} {
		if validName(h) {
			return h
		}
	}
	return "" // the catalogue then uses the IP literal
}

// validName accepts what may stand for H, D or X in a command line: a
// domain name (letters, digits, '-', '.', '_') or an address literal.
// Server-supplied names that fail it are not used: a hostile EHLO reply
// must not be able to shape the probe's commands.
func validName(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	if strings.HasPrefix(h, "[") {
		lit := strings.TrimPrefix(strings.TrimSuffix(h[1:], "]"), "IPv6:")
		_, err := netip.ParseAddr(lit)
		return strings.HasSuffix(h, "]") && err == nil
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// runJob makes the attempts of one session in order. It returns the decided
// results by catalogue index, the attempts still to make, and the error
// that ended the session early.
//
// When the server's replies stop matching the commands (ErrDesync), the
// reply that decided the previous attempt is void as well: the extra data
// may have been that reply, or have come before it (a stray 250 read as
// the answer to RCPT). After the last attempt, finish (RSET, then a
// check that nothing follows) gives the last RCPT the same scrutiny.
func runJob(s *session, idx []int, attempts []Attempt) (map[int]AttemptResult, []int, error) {
	done := map[int]AttemptResult{}
	last := -1 // position in idx of the last decided attempt
	stop := func(from int, err error) (map[int]AttemptResult, []int, error) {
		if errors.Is(err, ErrDesync) && last >= 0 && last < from {
			delete(done, idx[last])
			from = last
		}
		return done, append([]int(nil), idx[from:]...), err
	}
	for k, i := range idx {
		res, err := s.run(attempts[i])
		res.Session = s.cfg.no
		if res.Outcome != "" {
			done[i] = res
		}
		if err != nil {
			if res.Outcome == "" {
				return stop(k, err)
			}
			return stop(k+1, err)
		}
		last = k
	}
	if err := s.finish(); err != nil {
		return stop(len(idx), err)
	}
	return done, nil, nil
}

// failed is the result of an attempt that was not made, or whose own
// RCPT got no answer: always an error. An attempt counts only by the
// reply to its own commands; a refused RSET, a 503 after an RSET that did
// nothing, a 421 or a dropped connection in the session that held it says
// nothing about it (issue 12: recording those as refusals made a relaying
// server look closed).
func failed(a Attempt, err error) AttemptResult {
	res := AttemptResult{Variant: a.Variant, Class: a.Class, HELO: a.HELO,
		MailFrom: a.MailFrom(), RcptTo: a.RcptTo(), Outcome: OutcomeError}
	var se *sessionError
	if errors.As(err, &se) {
		res.Stage = se.stage
		if se.reply != nil {
			res.Code, res.EnhancedCode, res.Text = se.reply.Code, se.reply.Enhanced, se.reply.Text
		}
	}
	if err != nil && res.Text == "" {
		res.Text = err.Error()
	}
	if a.Variant != "session" {
		res.Note = "not decided: no reply to this attempt's own RCPT (the reply shown ended its session)"
		if se == nil || se.reply == nil {
			res.Note = "not decided: no reply to this attempt's own RCPT"
		}
	}
	return res
}

// sessionFailure is the single result reported when not even the first
// session could be set up. Only the server's own refusal of this client
// decides it: a 5xx instead of the greeting (RFC 5321 3.1 allows 554) or
// a refused EHLO/HELO. Everything else (421, a greeting that is not 220,
// STARTTLS or XCLIENT trouble, timeouts) is an error.
func sessionFailure(err error, helo string) AttemptResult {
	res := failed(Attempt{Variant: "session", HELO: helo}, err)
	var se *sessionError
	if errors.As(err, &se) && se.reply != nil {
		switch {
		case se.stage == StageGreeting && se.reply.Code >= 500,
			se.stage == StageHelo && se.reply.Code >= 400 && se.reply.Code != 421:
			classify(&res)
		}
	}
	return res
}

func retryable(ctx context.Context, err error) bool {
	var se *sessionError
	return !ended(ctx) && errors.As(err, &se) && se.retry
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
