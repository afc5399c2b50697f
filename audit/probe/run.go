package probe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// targetState is what one vantage learnt about a target that holds for
// every vantage: the listener is broken, or it expects a PROXY header.
type targetState struct {
	broken string // why the listener is broken
	proxy  int    // PROXY protocol version it accepts, 0 when none
	by     string // the vantage that found it out
}

func (e *runEnv) targetState(addr string) targetState {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st := e.state[addr]; st != nil {
		return *st
	}
	return targetState{}
}

func (e *runEnv) setTargetState(addr string, st targetState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.state[addr] = &st
}

// vantageRun is one vantage's run against one target: the session
// factory and the counters every session shares.
type vantageRun struct {
	ctx     context.Context
	opt     Options
	vantage string
	tr      transcriptFunc
	prog    func(string)

	mu       sync.Mutex
	sessions int
}

// mk numbers a copy of cfg for a new session and hooks it to the
// transcript.
func (r *vantageRun) mk(cfg sessionConfig) *sessionConfig {
	r.mu.Lock()
	r.sessions++
	n := r.sessions
	r.mu.Unlock()
	c := cfg
	c.no = n
	if r.tr != nil {
		tr := r.tr
		c.transcript = func(dir byte, line string) { tr(n, dir, line) }
	}
	return &c
}

func (r *vantageRun) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sessions
}

// runVantage runs the catalogue for one target from one dialing set-up.
// The first session discovers the server (its name fills the
// placeholders; a silent listener is diagnosed, see greet), chooses the
// test domain (chooseDomain) and makes the first batch; the others run in
// parallel. A server that lets this untrusted vantage claim a trusted
// address (XCLIENT offered, PROXY header accepted) is tried with it.
func (e *runEnv) runVantage(ctx context.Context, opt Options, t Target, vantage string, cfg sessionConfig, tr transcriptFunc, prog func(string)) (VantageReport, targetInfo) {
	r := &vantageRun{ctx: ctx, opt: opt, vantage: vantage, tr: tr, prog: prog}
	var vr VantageReport
	vr.Attempts = []AttemptResult{}

	st := e.targetState(t.Address)
	if st.broken != "" {
		vr.Verdict, vr.Reason = VerdictBroken, st.broken+" (found by the "+st.by+" vantage; not tried again)"
		return vr, targetInfo{err: errors.New(st.broken)}
	}
	cfg.proxy = st.proxy
	first, proxy, broken, err := r.greet(cfg)
	if broken != "" {
		e.setTargetState(t.Address, targetState{broken: broken, by: vantage})
		vr.Sessions = r.count()
		vr.Attempts = []AttemptResult{sessionFailure(err, cfg.helo)}
		vr.Verdict, vr.Reason = VerdictBroken, broken
		return vr, targetInfo{err: err}
	}
	if proxy != 0 && st.proxy == 0 {
		e.setTargetState(t.Address, targetState{proxy: proxy, by: vantage})
	}
	cfg.proxy = proxy
	for try := 1; err != nil && try <= opt.MaxRetries && retryable(ctx, err); try++ {
		// 421 at the greeting (overload, postscreen's 421 for a client it
		// does not want right now) or a dropped connection: try again.
		sleepCtx(ctx, opt.Limits.ErrorSleep)
		first, err = openSession(ctx, r.mk(cfg))
	}
	if err != nil {
		vr.Sessions = r.count()
		vr.Attempts = []AttemptResult{sessionFailure(err, cfg.helo)}
		vr.Verdict, _, vr.Reason = judgeAttempts(vr.Attempts)
		var se *sessionError
		if errors.As(err, &se) && se.stage == StageTLS {
			vr.Note = join(vr.Note, "STARTTLS failed ("+firstLine(vr.Attempts[0].Text)+"): the relay policy was not tested; a client that skips STARTTLS is not bothered by it, so probe again in plaintext (--no-starttls)")
		}
		return vr, targetInfo{err: err}
	}
	info := first.info
	vr.Client, vr.TLS = info.ClientAddr, info.TLS
	host := serverName(opt.Hostname, info)

	dc := chooseDomain(first, opt, host, info.Banner)
	if dc.err != nil {
		first.abort()
		first = nil
	}
	vr.DomainChecks, vr.Warnings = dc.checks, dc.warnings
	params := Params{TestDomain: dc.test, SenderDomain: dc.sender, Host: host, Addr: t.AddrPort.Addr(), HELO: cfg.helo}
	attempts := Catalogue(params)
	reserve := 0
	if first != nil {
		reserve = first.errors
	}
	results := r.catalogue(cfg, first, attempts, reserve, len(info.AuthMechs) > 0)
	for redo := 0; redo < 2 && !opt.TestDomainFixed && hostedRelay(results); redo++ {
		// The catalogue's own replies say X is hosted here ("User
		// unknown in local recipient table" for plain u@X): those
		// attempts tested nothing. Move on and do it again.
		next := dc.next()
		if next == "" {
			break
		}
		dc.note = join(dc.note, fmt.Sprintf("the replies to the catalogue showed %s is hosted here; redone with %s", dc.test, next))
		dc.test = next
		dc.sender = dc.senderFor(next)
		params.TestDomain, params.SenderDomain = dc.test, dc.sender
		attempts = Catalogue(params)
		results = r.catalogue(cfg, nil, attempts, 0, len(info.AuthMechs) > 0)
	}
	if opt.TestDomainFixed && hostedRelay(results) && !dc.hosted[dc.test] {
		dc.hosted[dc.test] = true
		vr.Warnings = append(vr.Warnings, fmt.Sprintf("the server's replies say it hosts the test domain %s (user unknown in a recipient table): those attempts say nothing about relay; choose another --test-domain (or leave it out: the probe then picks a foreign one)", dc.test))
	}
	if dc.hosted[dc.test] {
		// X is hosted here (every reserved name was, or the user insisted):
		// a recipient that ends up at X is local or virtual delivery, and
		// accepting it is never relay.
		for i, a := range results {
			if a.Outcome == OutcomeAccepted && a.Class != ClassLocal {
				results[i].Outcome = OutcomeHosted
				results[i].Note = join(a.Note, dc.test+" is hosted here: accepting this recipient is not relay")
			}
		}
	}
	vr.TestDomain, vr.SenderDomain, vr.TestDomainNote = dc.test, dc.sender, dc.note
	vr.Sessions = r.count()
	vr.Attempts = results
	vr.Verdict, vr.Qualifier, vr.Reason = judgeAttempts(results)
	catalogueOpen := vr.Verdict == VerdictOpen
	if vantage == VantageXClient && catalogueOpen {
		r.verifyClaim(cfg, info, &vr)
	}

	// Impersonation: whoever can connect claims a trusted address.
	untrusted := vantage != VantageLoopback
	var imp []AttemptResult
	var how string
	switch {
	case untrusted && proxy != 0:
		c := cfg
		c.proxyClaim = loopbackLike(t.AddrPort.Addr())
		c.xclient, c.xclientThen = netip.Addr{}, netip.Addr{} // the header alone makes the claim
		how = fmt.Sprintf("a PROXY v%d header claiming %s (the listener takes the client address from the header: smtpd_upstream_proxy_protocol)", proxy, c.proxyClaim)
		imp, how = r.impersonate(c, params, how)
	case (vantage == VantageNetns || vantage == VantageRemote) && info.XClient,
		// From the xclient vantage the second claim says something only
		// when the first one was seen to matter (the catalogue was not
		// accepted as it is from this host).
		vantage == VantageXClient && info.XClientAfter && !catalogueOpen:
		c := cfg
		lo := netip.MustParseAddr("127.0.0.1")
		if vantage == VantageXClient {
			c.xclientThen = lo
		} else {
			c.xclient = lo
		}
		c.xclientLogin = impersonatedLogin
		how = "XCLIENT ADDR=" + lo.String() + " (the server offers XCLIENT to this untrusted client: smtpd_authorized_xclient_hosts covers it)"
		imp, how = r.impersonate(c, params, how)
	}
	if len(imp) > 0 {
		vr.Impersonation = imp
		vr.Sessions = r.count()
		for _, a := range imp {
			if a.Outcome == OutcomeAccepted && a.Class != ClassLocal {
				vr.Verdict, vr.Qualifier = VerdictOpen, ""
				vr.Reason = fmt.Sprintf("with %s this untrusted client relayed: RCPT TO:%s after MAIL FROM:%s was accepted (%s); anyone who can connect can do the same", how, a.RcptTo, a.MailFrom, replyLine(a))
				break
			}
		}
	}
	if vr.Verdict == VerdictOpen {
		if rep, lies := r.acceptsAnything(cfg, params); lies {
			vr.Sessions = r.count()
			vr.Verdict, vr.Qualifier = VerdictError, ""
			vr.Reason = fmt.Sprintf("the server accepted a recipient before any MAIL FROM (%s), which every SMTP server refuses: it answers 250 to anything (a honeypot, a tarpit or a broken server), so its accepted relay attempts prove nothing", replyLine(AttemptResult{Code: rep.Code, EnhancedCode: rep.Enhanced, Text: rep.Text}))
		}
	}
	return vr, targetInfo{host: host, banner: info.Banner}
}

// acceptsAnything asks, in a session of its own, for a recipient before
// any MAIL FROM. RFC 5321 (4.1.1.3, 4.1.4) requires MAIL first, and every
// SMTP server refuses (Postfix's smtpd: "503 5.5.1 Error: need MAIL
// command"; go-smtp: "502 5.5.1 Missing MAIL FROM command"). A server that
// says 2xx to that says 2xx to anything: its accepted relay attempts are
// no evidence of relay. Nothing can be delivered without a MAIL FROM.
func (r *vantageRun) acceptsAnything(cfg sessionConfig, p Params) (reply, bool) {
	s, err := openSession(r.ctx, r.mk(cfg))
	if err != nil {
		return reply{}, false
	}
	rep, err := s.rawCmd("RCPT TO:<" + DefaultRcpt + "@" + p.TestDomain + ">")
	if err != nil {
		s.abort()
		return reply{}, false
	}
	s.close()
	return rep, rep.Code/100 == 2
}

// verifyClaim checks that an open verdict of the xclient vantage is the
// claimed client's, not this host's. A server may answer XCLIENT with 220
// and ignore it; then the sessions are this (usually trusted) host's and
// an accepted relay attempt proves nothing about outsiders.
//
// Postfix re-evaluates smtpd_authorized_xclient_hosts for the claimed
// address (smtpd.c; XCLIENT_README), so a server that offered XCLIENT to
// us and no longer offers it after the claim has taken it. Otherwise the
// claim is checked by difference: the accepted attempt is made again in a
// session without XCLIENT; refused there, the claim changed the answer.
// When it is accepted there too, nothing shows that the claim took
// effect and the verdict is unknown.
func (r *vantageRun) verifyClaim(cfg sessionConfig, info serverInfo, vr *VantageReport) {
	if info.XClientUsed && info.XClient && !info.XClientAfter {
		vr.Note = join(vr.Note, "the claim took effect: XCLIENT was no longer offered after it (smtpd re-evaluates smtpd_authorized_xclient_hosts for the claimed address)")
		return
	}
	var acc *AttemptResult
	for i, a := range vr.Attempts {
		if a.Outcome == OutcomeAccepted && isEvidence(a) {
			acc = &vr.Attempts[i]
			break
		}
	}
	if acc == nil {
		return
	}
	var a Attempt
	for _, c := range Catalogue(Params{TestDomain: vr.TestDomain, SenderDomain: vr.SenderDomain, HELO: cfg.helo}) {
		if c.Variant == acc.Variant {
			a = c
			break
		}
	}
	// The attempt is replayed byte for byte as it was sent.
	a.Mail, a.Rcpt, a.HELO = "MAIL FROM:"+acc.MailFrom, "RCPT TO:"+acc.RcptTo, acc.HELO
	c := cfg
	c.xclient, c.xclientThen, c.xclientLogin = netip.Addr{}, netip.Addr{}, ""
	res := AttemptResult{Variant: "verify-xclient", Outcome: OutcomeError}
	s, err := openSession(r.ctx, r.mk(c))
	if err == nil {
		var done map[int]AttemptResult
		done, _, err = runJob(s, []int{0}, []Attempt{a})
		if err == nil {
			s.close()
		} else {
			s.abort()
		}
		if d, ok := done[0]; ok {
			res = d
		}
	}
	if err != nil && res.Outcome == OutcomeError {
		res = failed(a, err)
	}
	res.Variant = "verify-xclient-" + acc.Variant
	res.Note = join("the accepted attempt made again without XCLIENT", res.Note)
	vr.Impersonation = append(vr.Impersonation, res)
	vr.Sessions = r.count()
	switch res.Outcome {
	case OutcomeAccepted, OutcomeError:
		why := "accepted there too"
		if res.Outcome == OutcomeError {
			why = "could not be made (" + firstLine(res.Text) + ")"
		}
		vr.Verdict, vr.Qualifier = VerdictUnknown, ""
		vr.claimUnproven = true
		vr.Reason = fmt.Sprintf("the server answered XCLIENT but nothing shows the claim took effect: XCLIENT is still offered after it, and the accepted attempt (%s) made again without XCLIENT was %s; the sessions may be this host's own (%s), whose acceptance says nothing about outsiders", acc.Variant, why, info.LocalAddr.Addr().Unmap())
		vr.Client = ""
	default:
		vr.Note = join(vr.Note, fmt.Sprintf("the claim took effect: the accepted attempt (%s) made again without XCLIENT was %s (%s)", acc.Variant, res.Outcome, replyLine(res)))
	}
}

// impersonatedLogin is the SASL login an impersonating XCLIENT claims
// (LOGIN=), so that permit_sasl_authenticated is tested as well.
const impersonatedLogin = "pfaudit-impersonated"

// loopbackLike is the loopback address of a's family: what a PROXY header
// claims to look like a local client.
func loopbackLike(a netip.Addr) netip.Addr {
	if a.Unmap().Is4() {
		return netip.MustParseAddr("127.0.0.1")
	}
	return netip.IPv6Loopback()
}

// impersonate makes the plain relay attempts (rows 01 and 02) in one
// session set up by cfg to claim a trusted client address.
func (r *vantageRun) impersonate(cfg sessionConfig, p Params, how string) ([]AttemptResult, string) {
	var attempts []Attempt
	for _, a := range Catalogue(p) {
		if a.Variant == "01" || a.Variant == "02" {
			attempts = append(attempts, a)
		}
	}
	s, err := openSession(r.ctx, r.mk(cfg))
	var out []AttemptResult
	if err != nil {
		res := sessionFailure(err, cfg.helo)
		res.Variant, res.Note = "impersonate", how
		return []AttemptResult{res}, how
	}
	if s.info.XClientLogin != "" {
		how = strings.Replace(how, "XCLIENT ADDR="+s.info.ClientAddr, "XCLIENT ADDR="+s.info.ClientAddr+" LOGIN="+s.info.XClientLogin, 1)
	}
	idx := []int{0, 1}
	done, rest, serr := runJob(s, idx, attempts)
	if serr == nil {
		s.close()
	} else {
		s.abort()
	}
	for _, i := range idx {
		res, ok := done[i]
		if !ok {
			res = failed(attempts[i], serr)
		}
		res.Variant = "impersonate-" + res.Variant
		res.Note = join(how, res.Note)
		out = append(out, res)
	}
	_ = rest
	return out, how
}

// hostedRelay reports whether a plain relay attempt (recipient u@X) was
// answered as for a hosted domain.
func hostedRelay(rs []AttemptResult) bool {
	for _, a := range rs {
		if a.Class == ClassRelay && a.Outcome == OutcomeHosted {
			return true
		}
	}
	return false
}

// catalogue makes the attempts, first (when not nil, having spent
// reserve errors) taking the first batch.
func (r *vantageRun) catalogue(cfg sessionConfig, first *session, attempts []Attempt, reserve int, auth bool) []AttemptResult {
	ctx, opt := r.ctx, r.opt
	var mu sync.Mutex // guards results
	results := make([]AttemptResult, len(attempts))
	pl := newPool(attempts, opt.Limits.perSession(0), auth)

	runSession := func(s *session, idx []int) {
		var serr error
		if s == nil {
			s, serr = openSession(ctx, r.mk(cfg))
		}
		var done map[int]AttemptResult
		rest := idx
		if serr == nil {
			done, rest, serr = runJob(s, idx, attempts)
			if serr == nil {
				s.close()
			} else {
				s.abort()
			}
		}
		var se *sessionError
		retry := serr != nil && errors.As(serr, &se) && se.retry && !ended(ctx)
		// Who pays a try: a session that decided nothing charges every
		// attempt it held (a server that fails every session must not
		// be retried forever); one that made progress charges only the
		// attempt in flight (rest[0]): the others were never started,
		// and counting them would turn a server that fails every RSET
		// into a wall of errors.
		charged := len(rest)
		switch {
		case retry && se.fresh:
			charged = 0
		case len(done) > 0:
			charged = min(1, len(rest))
		}
		if retry && se.reply != nil && se.reply.Code == 421 {
			if s != nil && s.errors > 0 {
				pl.learn(s.errors)
			}
			if len(rest) > 0 {
				sleepCtx(ctx, opt.Limits.ErrorSleep) // smtpd is closing: give it a moment
			}
		}
		mu.Lock()
		for i, res := range done {
			results[i] = res
		}
		mu.Unlock()
		pl.giveBack(rest, retry, charged, opt.MaxRetries, func(i int) {
			mu.Lock()
			results[i] = failed(attempts[i], serr)
			mu.Unlock()
		})
		if r.prog != nil {
			mu.Lock()
			ndone := 0
			for _, res := range results {
				if res.Outcome != "" {
					ndone++
				}
			}
			mu.Unlock()
			r.prog(fmt.Sprintf("%d/%d attempts, %d sessions", ndone, len(attempts), r.count()))
		}
	}

	var firstBatch []int
	if first != nil {
		firstBatch = pl.takeUpTo(opt.Limits.perSession(reserve))
	}
	var workers sync.WaitGroup
	// A worker per attempt at most: more would never get one, and
	// --parallel 1000000000 started that many goroutines.
	for w := range min(opt.Parallel, max(len(attempts), 1)) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			if w == 0 && first != nil {
				runSession(first, firstBatch)
			}
			for idx := pl.take(); idx != nil; idx = pl.take() {
				runSession(nil, idx)
			}
		}()
	}
	workers.Wait()

	for i, res := range results {
		if res.Outcome == "" {
			results[i] = failed(attempts[i], errors.New("probe: attempt not made"))
		}
	}
	return results
}

// Windows of the greeting diagnosis (variables for tests).
var (
	// quietWindow: smtpd and postscreen send their first byte at once;
	// a listener silent this long may want a PROXY header.
	quietWindow = 2 * time.Second
	// silentWindow: nothing from two connections (one plain, one with a
	// PROXY header) for this long means no smtpd is answering. It is
	// longer than postscreen_greet_wait (6s), in case postscreen sends no
	// "220-" teaser (postscreen_greet_banner empty).
	silentWindow = 8 * time.Second
)

// greet opens the vantage's first session. smtpd greets at once; a
// listener that stays silent is diagnosed:
//
//   - after quietWindow without a byte, a second connection sends a PROXY
//     v1 (then v2) header: a listener with smtpd_upstream_proxy_protocol =
//     haproxy reads one before it greets, and drops clients that send
//     none after smtpd_upstream_proxy_timeout (postconf(5));
//   - when neither connection hears anything for silentWindow, or two
//     connections in a row are closed before any byte, no smtpd is
//     answering: it exits at start-up (a fatal configuration error such
//     as "specify at least one working instance of
//     reject_unauth_destination ...") and master throttles the service
//     ("bad command startup -- throttling"), so connections wait in the
//     listen queue. The listener is broken.
//
// It returns the session, the PROXY version the listener needs (0 when
// none), and the reason when the listener is broken.
func (r *vantageRun) greet(cfg sessionConfig) (*session, int, string, error) {
	ctx := r.ctx
	type result struct {
		s   *session
		err error
		v   int
	}
	fctx, fcancel := context.WithCancel(ctx)
	c := r.mk(cfg)
	heard := new(atomic.Bool)
	c.heard = heard
	ch := make(chan result, 1)
	go func() {
		s, err := openSession(fctx, c)
		if s != nil {
			s.release = fcancel
		}
		ch <- result{s: s, err: err}
	}()
	quiet := time.NewTimer(quietWindow)
	defer quiet.Stop()
	select {
	case res := <-ch:
		if res.err == nil || heard.Load() || !isDropped(res.err) || cfg.proxy != 0 {
			if res.err != nil {
				fcancel()
			}
			return res.s, cfg.proxy, "", res.err
		}
		fcancel()
		// Closed before a single byte: once may be chance, twice is a
		// listener whose smtpd dies on every connection.
		c2 := r.mk(cfg)
		heard2 := new(atomic.Bool)
		c2.heard = heard2
		s, err := openSession(ctx, c2)
		if err != nil && !heard2.Load() && isDropped(err) {
			return nil, 0, "the listener closed two connections in a row before any greeting, without sending a byte: its smtpd exits at start-up (a fatal configuration error, e.g. no working relay guard)", err
		}
		return s, 0, "", err
	case <-quiet.C:
	}
	if heard.Load() || cfg.proxy != 0 {
		res := <-ch
		if res.err != nil {
			fcancel()
		}
		return res.s, cfg.proxy, "", res.err
	}
	dctx, dcancel := context.WithCancel(ctx)
	dch := make(chan result, 1)
	go func() {
		for _, v := range []int{1, 2} {
			pc := r.mk(cfg)
			pc.proxy = v
			pc.proxyCheck = true
			pc.greetTimeout = silentWindow
			s, err := openSession(dctx, pc)
			if err == nil {
				s.release = dcancel
				dch <- result{s: s, v: v}
				return
			}
			if greeted(err) {
				// The header got a greeting; what failed later (XCLIENT
				// not offered, STARTTLS) is the session's own business.
				dch <- result{v: v, err: err}
				return
			}
			if dctx.Err() != nil {
				break
			}
		}
		dch <- result{}
	}()
	timer := time.NewTimer(silentWindow - quietWindow)
	defer timer.Stop()
	var firstErr error
	firstDone, diagDone := false, false
	stopAll := func() {
		fcancel()
		dcancel()
		if !firstDone {
			if res := <-ch; res.s != nil {
				res.s.abort()
			}
		}
		if !diagDone {
			if res := <-dch; res.s != nil {
				res.s.abort()
			}
		}
	}
	for !firstDone || !diagDone {
		select {
		case res := <-ch:
			firstDone = true
			if res.err == nil || heard.Load() {
				// The listener speaks plain SMTP after all, slowly.
				dcancel()
				if !diagDone {
					if d := <-dch; d.s != nil {
						d.s.abort()
					}
				}
				if res.err != nil {
					fcancel()
				}
				return res.s, 0, "", res.err
			}
			firstErr = res.err
		case d := <-dch:
			diagDone = true
			if d.v != 0 && heard.Load() && !firstDone {
				// The plain connection has started talking meanwhile: a
				// slow server, not a PROXY listener (a plain smtpd greets
				// before reading the header, which then desynchronises
				// the second session). Keep the plain one.
				if d.s != nil {
					d.s.abort()
				} else {
					dcancel()
				}
				res := <-ch
				if res.err != nil {
					fcancel()
				}
				return res.s, 0, "", res.err
			}
			if d.v != 0 {
				fcancel()
				if !firstDone {
					if res := <-ch; res.s != nil {
						res.s.abort()
					}
				}
				if d.s == nil {
					dcancel()
				}
				return d.s, d.v, "", d.err
			}
		case <-timer.C:
			stopAll()
			return nil, 0, fmt.Sprintf("the listener accepts connections but nothing answered within %v, on a plain connection nor after a PROXY header: no smtpd is serving it (smtpd exits at start-up on a fatal configuration error, e.g. no working relay guard, and master throttles the service; see the maillog)", silentWindow), errSilent
		}
	}
	fcancel()
	dcancel()
	if firstErr == nil {
		firstErr = errSilent
	}
	return nil, 0, "", &sessionError{stage: StageGreeting, err: firstErr}
}

// greeted reports whether a session failed after the server's greeting.
func greeted(err error) bool {
	var se *sessionError
	if !errors.As(err, &se) {
		return false
	}
	switch se.stage {
	case StageConnect, StageProxy, StageGreeting:
		return false
	}
	return true
}

var errSilent = &sessionError{stage: StageGreeting, err: errors.New("no greeting: the listener accepted the connection and sent nothing")}
