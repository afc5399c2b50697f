package relay_test

// Ground truth from a real Postfix (issue 3, "Tests"): every scenario of
// testdata/scenarios is started as a private, non-delivering Postfix
// instance (package audit/lab) with the scenario's relay-relevant main.cf
// settings, tables and listener -o overrides, and every relay attempt the
// model evaluated is asked live (XCLIENT makes the loopback client look like
// the model's Internet client). The RCPT reply class must equal the model's
// Decision.Result, and the listener verdicts must equal Analysis.Verdict
// and Analysis.Local.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// knownDiscrepancies are cases where Postfix 3.7.11 answers differently
// from the model although the lab reproduces the scenario faithfully: model
// bugs, each explained from Postfix's source. A mismatch listed here is
// logged, not failed; a listed case that matches, or that no longer exists,
// fails (the list must not go stale). Keep it short.
var knownDiscrepancies = []knownDiscrepancy{}

type knownDiscrepancy struct {
	scenario string
	service  string   // listener as postconf -M names it ("smtp/inet"); "" for every listener
	tricks   []string // Case.Trick, for every client class
	why      string
}

// allKnown is knownDiscrepancies and corpusKnownDiscrepancies
// (corpus_groundtruth_test.go): scenario and corpus directory names do not
// collide.
func allKnown() []knownDiscrepancy {
	return append(append([]knownDiscrepancy(nil), knownDiscrepancies...), corpusKnownDiscrepancies...)
}

func knownWhy(scenario, service, trick string) (string, bool) {
	for _, k := range allKnown() {
		if k.scenario != scenario || (k.service != "" && k.service != service) {
			continue
		}
		for _, tr := range k.tricks {
			if tr == trick {
				return k.why, true
			}
		}
	}
	return "", false
}

// gtMynetworks replaces an unset mynetworks, as in TestScenarioVerdicts.
const gtMynetworks = "127.0.0.0/8 [::1]/128"

// gtWorkers bounds the concurrent SMTP sessions per instance.
const gtWorkers = 8

// gtStats are totals over all scenarios, logged at the end.
type gtStats struct {
	scenarios, listeners, compared, skipped, notRepro, known, verdicts atomic.Int64
}

// TestGroundTruth compares the relay model with a real Postfix for every
// scenario. It needs Postfix and root (lab.Require: skipped outside CI,
// fatal under CI=true).
func TestGroundTruth(t *testing.T) {
	runGroundTruth(t, "../../testdata/scenarios/*/main.cf", "scenarios")
}

// runGroundTruth runs groundTruth on every directory whose main.cf
// matches glob, in parallel, and logs the totals.
func runGroundTruth(t *testing.T, glob, what string) {
	lab.Require(t)
	files, _ := filepath.Glob(glob)
	if len(files) == 0 {
		t.Fatalf("no %s found (%s)", what, glob)
	}
	begin := time.Now()
	stub := startPolicyStub(t)
	var st gtStats
	t.Cleanup(func() {
		t.Logf("ground truth: %d %s, %d listeners, %d verdicts and %d cases compared, %d cases skipped (model unknown), %d not reproducible in the lab, %d known discrepancies, %d policy queries answered DUNNO, %v",
			st.scenarios.Load(), what, st.listeners.Load(), st.verdicts.Load(), st.compared.Load(), st.skipped.Load(), st.notRepro.Load(), st.known.Load(), stub.queries.Load(), time.Since(begin).Round(time.Millisecond))
	})
	for _, f := range files {
		dir, err := filepath.Abs(filepath.Dir(f))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			groundTruth(t, dir, stub.addr, &st)
		})
	}
}

// gtListener is one scenario listener in the lab.
type gtListener struct {
	a    *relay.Analysis
	name string // lab listener name (for CheckRCPT)
	tag  string // its syslog_name, to attribute maillog lines
	// pki is set when the instance verifies client certificates against
	// the lab CA, so that certificate cases can be asked.
	pki *gtPKI
	// proxy is set when the listener expects a PROXY protocol header
	// (smtpd_upstream_proxy_protocol): every case is asked with one
	// claiming the case's client address, instead of XCLIENT.
	proxy bool
	// own is the address of a listener written as a plain master.cf line
	// (port chosen here): the model expects smtpd to exit at startup, and
	// the harness would wait for its 220 in vain.
	own string
}

// gtOutcome is the live answer to one case.
type gtOutcome struct {
	code int
	text string
	err  error
}

func (o gtOutcome) result() relay.Result {
	if o.err != nil {
		return ""
	}
	switch o.code / 100 {
	case 2:
		return relay.Accept
	case 4:
		return relay.Defer
	case 5:
		return relay.Reject
	}
	return ""
}

func (o gtOutcome) String() string {
	if o.err != nil {
		return "error: " + o.err.Error()
	}
	return fmt.Sprintf("%d %s", o.code, strings.ReplaceAll(o.text, "\n", " / "))
}

// serverError is a reply that says the server, not the policy, failed
// (451 4.3.x), as the model's broken-listener rule has it.
func (o gtOutcome) serverError() bool {
	return o.err == nil && (o.code == 451 || strings.HasPrefix(o.text, "4.3."))
}

func groundTruth(t *testing.T, dir, stubAddr string, st *gtStats) {
	scenario := filepath.Base(dir)
	cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
	if err != nil {
		t.Fatal(err)
	}
	analyses := relay.Analyze(cfg, relay.Options{Mynetworks: gtMynetworks})
	if len(analyses) == 0 {
		t.Skipf("%s: no smtpd listener", scenario)
	}
	var exp struct {
		// LiveFatal: Postfix refuses the configuration itself (postfix
		// start, reload and check run postconf, which dies): the lab
		// checks that postconf -P fails with this message, and the model
		// must call some listener broken.
		LiveFatal string `toml:"live_fatal"`
	}
	if _, err := toml.DecodeFile(filepath.Join(dir, "expect.toml"), &exp); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err) // the corpus has no expect.toml
	}
	if exp.LiveFatal != "" {
		liveFatal(t, dir, exp.LiveFatal, analyses, st)
		return
	}
	tr := newTranslator(t, cfg, dir, stubAddr)
	opt, lis := tr.options(scenario, analyses)
	for _, n := range tr.notes() {
		t.Logf("lab setup: %s", n)
	}
	in := lab.Start(t, opt)
	st.scenarios.Add(1)
	checkFaithful(t, cfg, dir, in, tr)
	tricks := map[string]bool{} // every trick compared, for the stale check

	for _, l := range lis {
		st.listeners.Add(1)
		a := l.a
		if v, err := cfg.Expand(a.Listener.Service, "smtpd_upstream_proxy_protocol"); err == nil && strings.TrimSpace(v) != "" {
			l.proxy = true
		}
		key := a.Listener.Key
		model := a.Verdict
		if a.Listener.LoopbackOnly {
			// The lab listens on loopback anyway and asks as an outsider:
			// that is what the listener would do if it were exposed.
			model = a.WouldBe
		}
		if l.own != "" {
			live, detail := startupState(t, in, l)
			compareVerdict(t, st, scenario, key, "external", model, live, a.Reason, detail)
			compareVerdict(t, st, scenario, key, "loopback", a.Local, live, a.Reason, detail)
			continue
		}
		begin := time.Now()
		out := askAll(in, l, a.Cases)
		t.Logf("%s: %d cases asked in %v", key, len(a.Cases), time.Since(begin).Round(time.Millisecond))
		var relayCases []int
		loop := -1
		modelOpen := false // the model relays in a case the lab can ask
		// openUnlisted: the model relays in a case that is not a listed
		// known discrepancy; when it is open only through listed cases,
		// a closed live verdict is that same known discrepancy.
		openUnlisted := false
		for i, c := range a.Cases {
			o := out[i]
			switch {
			case unreproducible(c, l) != "":
			case c.Client.Class == "loopback":
				loop = i
			case c.Client.Trusted:
				// compared one by one below, not part of the verdict
			case c.Trick != "" && c.Destination != relay.Hosted:
				// A hosted recipient is no relay evidence (issue 7).
				relayCases = append(relayCases, i)
				modelOpen = modelOpen || c.Decision.Result == relay.Accept
				if _, known := knownWhy(scenario, key, c.Trick); !known && c.Decision.Result == relay.Accept {
					openUnlisted = true
				}
			}
			compareCase(t, st, scenario, key, c, o, l)
			if c.Decision.Result != relay.Undecidable && unreproducible(c, l) == "" {
				tricks[c.Trick] = true
				tricks[key+"|"+c.Trick] = true
			}
		}
		// The listener verdicts from the live replies alone.
		live, detail := relay.Closed, "every relay attempt refused"
		for _, i := range relayCases {
			if out[i].result() == relay.Accept {
				live, detail = relay.Open, fmt.Sprintf("%q accepted: %s", a.Cases[i].Trick, out[i])
				break
			}
		}
		if live == relay.Closed {
			if plain := findCase(a.Cases, "third-party sender"); plain >= 0 && out[plain].serverError() {
				ctl := controlCase(cfg, a, a.Cases[plain].Client)
				o := askAll(in, l, []relay.Case{ctl})[0]
				if o.serverError() {
					live, detail = relay.Broken, fmt.Sprintf("plain attempt %s; local recipient %s: %s", out[plain], ctl.Recipient, o)
				}
			}
		}
		if model == relay.Open && modelOpen && !openUnlisted && live != relay.Open {
			st.known.Add(1)
			t.Logf("KNOWN DISCREPANCY (verdict): %s external verdict: model open only through listed known discrepancies (%s); live %s (%s)", key, a.Reason, live, detail)
		} else if model == relay.Open && !modelOpen {
			t.Logf("%s external verdict: model open only through cases the lab cannot reproduce (%s); live for the rest: %s (%s)", key, a.Reason, live, detail)
		} else {
			compareVerdict(t, st, scenario, key, "external", model, live, a.Reason, detail)
		}
		if loop >= 0 {
			local := relay.Closed
			if out[loop].result() == relay.Accept {
				local = relay.Open
			}
			compareVerdict(t, st, scenario, key, "loopback", a.Local, local, "", out[loop].String())
		}
	}
	for _, k := range allKnown() {
		if k.scenario != scenario {
			continue
		}
		for _, tr := range k.tricks {
			if k.service != "" {
				tr = k.service + "|" + tr
			}
			if !tricks[tr] {
				t.Errorf("knownDiscrepancies lists %s %q, but the model evaluated no such case: remove it", scenario, tr)
			}
		}
	}
	in.AssertNothingSent(t)
}

// liveFatal runs the real postconf on a configuration Postfix refuses.
func liveFatal(t *testing.T, dir, want string, analyses []*relay.Analysis, st *gtStats) {
	t.Helper()
	bin, err := exec.LookPath("postconf")
	if err != nil {
		bin = "/usr/sbin/postconf"
	}
	out, err := exec.Command(bin, "-c", dir, "-P").CombinedOutput()
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("postconf -c %s -P: want failure with %q, got %v: %s", dir, want, err, out)
	}
	broken := false
	for _, a := range analyses {
		broken = broken || a.Verdict == relay.Broken || a.WouldBe == relay.Broken
	}
	st.verdicts.Add(1)
	if !broken {
		t.Errorf("Postfix refuses the configuration (%s), but the model has no broken listener", want)
	}
	t.Logf("live: postconf refuses the configuration: %s", strings.TrimSpace(string(out)))
}

// faithfulParams decide where a recipient domain resolves and how an
// address is rewritten (trivial-rewrite), so the lab must see exactly the
// scenario's values.
var faithfulParams = []string{
	"compatibility_level", "myhostname", "mydomain", "myorigin", "mydestination", "mynetworks",
	"relay_domains", "virtual_alias_domains", "virtual_mailbox_domains", "allow_untrusted_routing",
	"allow_percent_hack", "swap_bangpath", "resolve_dequoted_address", "resolve_null_domain",
	"smtpd_relay_before_recipient_restrictions", "soft_bounce", "relay_domains_reject_code",
	"parent_domain_matches_subdomains", "recipient_delimiter", "smtpd_restriction_classes",
}

// checkFaithful compares what the instance's postconf says of
// faithfulParams with the model's main.cf-scope expansion (table paths
// point into the instance's etc/ instead of the scenario directory).
func checkFaithful(t *testing.T, cfg *postconf.Config, dir string, in *lab.Instance, tr *translator) {
	t.Helper()
	out, err := in.Postconf(append([]string{"-x"}, faithfulParams...)...)
	if err != nil {
		t.Fatalf("postconf -x: %v", err)
	}
	live := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, " ="); ok {
			live[k] = strings.TrimSpace(v)
		}
	}
	for _, p := range faithfulParams {
		want, err := cfg.Expand(nil, p)
		if err != nil {
			t.Errorf("model cannot expand %s: %v", p, err)
			continue
		}
		if _, set := cfg.Main.Params["mynetworks"]; p == "mynetworks" && !set {
			want = gtMynetworks
		}
		// Tables the lab cannot open were replaced (labTables): compare
		// with the same replacement applied to the model's value.
		want, _ = tr.substituteTables(want, "")
		want = strings.ReplaceAll(tr.paths(want), "$config_directory", in.ConfigDir())
		want = strings.Join(strings.Fields(strings.ReplaceAll(want, dir, in.ConfigDir())), " ")
		got := strings.Join(strings.Fields(live[p]), " ")
		if got != want {
			t.Errorf("lab is not faithful: %s = %q in the instance, the model has %q", p, got, want)
		}
	}
}

func findCase(cs []relay.Case, trick string) int {
	for i, c := range cs {
		if c.Trick == trick {
			return i
		}
	}
	return -1
}

// controlCase is the model's own control request when it made one, else an
// equivalent: the untrusted client sending to a local recipient, which no
// relay policy refuses (only a broken server does).
func controlCase(cfg *postconf.Config, a *relay.Analysis, c relay.Client) relay.Case {
	for _, cs := range a.Cases {
		if cs.Trick == "" && cs.Client.Class != "loopback" && !cs.Client.Trusted {
			return cs
		}
	}
	dom := ""
	if v, err := cfg.Expand(a.Listener.Service, "mydestination"); err == nil {
		for _, d := range postconf.SplitList(v) {
			if !strings.ContainsAny(d, ":/") {
				dom = d
				break
			}
		}
	}
	if dom == "" {
		dom, _ = cfg.Expand(a.Listener.Service, "myhostname")
	}
	return relay.Case{Request: relay.Request{Client: c, Sender: "relaytest@example.org", Recipient: "postmaster@" + dom}, Decision: relay.Decision{Result: relay.Undecidable}}
}

// unreproducible says why the lab cannot ask a case as the model means it,
// or "" when it can. The lab client speaks neither STARTTLS nor AUTH, and
// the lab has no SASL server. An outsider impersonating a loopback client
// through XCLIENT (class "...+xclient-impersonation", address 127.0.0.1)
// is asked as a direct loopback client: smtpd decides the same for both;
// whether the outsider may send XCLIENT is not what this test checks.
func unreproducible(c relay.Case, l *gtListener) string {
	pki := l.pki
	switch {
	case l.proxy && c.Client.Addr.Is6() && !c.Client.Addr.Is4In6():
		// The lab runs IPv4 only; smtpd answers a PROXY header with an
		// IPv6 address "421 4.3.0 Server local error" then.
		return "a PROXY header with an IPv6 client address to an IPv4-only lab"
	case c.Client.CertTrusted:
		return "the client's certificate fingerprint is in relay_clientcerts"
	case c.Client.ClientCert && pki == nil:
		return "the client presents a TLS client certificate"
	case c.Client.SASLLogin != "":
		return "the client is SASL-authenticated"
	}
	return ""
}

// askAll asks every case the lab can reproduce live, gtWorkers sessions
// at a time.
func askAll(in *lab.Instance, l *gtListener, cs []relay.Case) []gtOutcome {
	out := make([]gtOutcome, len(cs))
	sem := make(chan struct{}, gtWorkers)
	var wg sync.WaitGroup
	for i, c := range cs {
		if why := unreproducible(c, l); why != "" {
			out[i] = gtOutcome{err: fmt.Errorf("not asked: %s", why)}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if c.Client.ClientCert {
				out[i] = certRCPT(in.ListenerAddr(l.name), c, l.pki)
				return
			}
			r, err := in.CheckRCPT(lab.ClientOpts{Listener: l.name, Addr: c.Client.Addr.String(), HELO: c.Client.HELO, Proxy: l.proxy}, c.Sender, c.Recipient)
			if err == nil && r.Command != "RCPT" {
				r.Text = "(" + r.Command + ") " + r.Text
			}
			out[i] = gtOutcome{r.Code, r.Text, err}
		}()
	}
	wg.Wait()
	return out
}

func caseKey(scenario, service string, c relay.Case) string {
	trick := c.Trick
	if trick == "" {
		trick = "control: local recipient"
	}
	return scenario + "|" + service + "|" + c.Client.Class + "|" + trick
}

func compareCase(t *testing.T, st *gtStats, scenario, service string, c relay.Case, o gtOutcome, l *gtListener) {
	t.Helper()
	key := caseKey(scenario, service, c)
	if why := unreproducible(c, l); why != "" {
		st.notRepro.Add(1)
		t.Logf("not reproducible in the lab (%s): %s; model: %s", why, key, c.Decision.Result)
		return
	}
	if c.Decision.Result == relay.Undecidable {
		st.skipped.Add(1)
		t.Logf("skipped (model unknown: %s): %s; live: %s", c.Decision.Reason, key, o)
		return
	}
	st.compared.Add(1)
	if c.Destination == relay.Hosted && c.Decision.Result == relay.Accept && o.err == nil && o.code/100 == 5 && strings.HasPrefix(o.text, "5.1.") {
		// The relay decision let a hosted recipient through; smtpd then
		// checks the address itself (5.1.x: smtpd_reject_unlisted_recipient,
		// local_recipient_maps, virtual tables), which the model leaves to
		// the server: a hosted recipient is no relay evidence either way.
		t.Logf("hosted recipient: %s; model accept (relay restrictions), live %s (recipient validation)", caseKey(scenario, service, c), o)
		return
	}
	if refusal(c.Decision.Result) && refusal(o.result()) && passedOverRefusal(c.Decision) != "" {
		// Both refuse; the model passed over a restriction that refuses
		// only on what the client chooses (reject_unlisted_sender,
		// reject_non_fqdn_*, ...), which may well be the one that refused
		// live. Such a refusal is no relay protection, and the verdict
		// rests on the other attempts.
		t.Logf("both refuse: %s; model %s %d, live %s (the model passed over %s)", caseKey(scenario, service, c), c.Decision.Result, c.Decision.Code, o, passedOverRefusal(c.Decision))
		return
	}
	why, known := knownWhy(scenario, service, c.Trick)
	if o.result() == c.Decision.Result {
		if known {
			t.Errorf("%s is on knownDiscrepancies (%s) but now matches (%s): remove it", key, why, o)
		}
		return
	}
	msg := describeMismatch(scenario, service, c, o)
	if known {
		st.known.Add(1)
		t.Logf("KNOWN DISCREPANCY (%s)\n%s", why, msg)
		return
	}
	t.Errorf("%s", msg)
}

func refusal(r relay.Result) bool { return r == relay.Reject || r == relay.Defer }

// passedOverRefusal names the first restriction the model passed over as
// one that can only refuse on properties the client chooses.
func passedOverRefusal(d relay.Decision) string {
	for _, s := range d.Trace {
		if strings.HasPrefix(s.Detail, "can only refuse") || s.Outcome == "unknown" {
			// An undecidable step may have refused first, with another
			// code.
			return s.Restriction
		}
	}
	return ""
}

func describeMismatch(scenario, service string, c relay.Case, o gtOutcome) string {
	var b strings.Builder
	trick := c.Trick
	if trick == "" {
		trick = "control: local recipient"
	}
	fmt.Fprintf(&b, "scenario %s, listener %s, case %q\n", scenario, service, trick)
	fmt.Fprintf(&b, "  request: client %s (%s), HELO %s, MAIL FROM:<%s>, RCPT TO:<%s>\n", c.Client.Addr, c.Client.Class, c.Client.HELO, c.Sender, c.Recipient)
	d := c.Decision
	fmt.Fprintf(&b, "  model:   %s %d %s %s -- %s\n", d.Result, d.Code, d.Enhanced, d.Text, d.Reason)
	for _, s := range d.Trace {
		fmt.Fprintf(&b, "           %s[%d] %s -> %s", s.List, s.Index, s.Restriction, s.Outcome)
		if s.Detail != "" {
			fmt.Fprintf(&b, " (%s)", s.Detail)
		}
		if !s.Pos.IsZero() {
			fmt.Fprintf(&b, " at %s", s.Pos)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "  live:    %s", o)
	return b.String()
}

func compareVerdict(t *testing.T, st *gtStats, scenario, service, which string, model, live relay.Verdict, reason, detail string) {
	t.Helper()
	if model == relay.Unknown {
		t.Logf("%s %s verdict: model unknown (%s), live %s (%s)", service, which, reason, live, detail)
		return
	}
	st.verdicts.Add(1)
	if model != live {
		t.Errorf("scenario %s, listener %s: %s verdict: model %s, live %s\n  model: %s\n  live:  %s", scenario, service, which, model, live, reason, detail)
		return
	}
	t.Logf("%s %s verdict: %s (live: %s)", service, which, live, detail)
}

// notBroken is the live state of a listener whose smtpd greets: it cannot
// be the model's broken, and no relay case was asked to tell more.
const notBroken = relay.Verdict("not broken (smtpd greets)")

// startupState connects to a listener the harness did not wait for and
// reports broken when smtpd logs a fatal error instead of greeting.
func startupState(t *testing.T, in *lab.Instance, l *gtListener) (relay.Verdict, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var conn net.Conn
	var err error
	for {
		conn, err = net.DialTimeout("tcp", l.own, time.Second)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("listener %s (%s): %v", l.a.Listener.Key, l.own, err)
		return "", err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(deadline)
	lines := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(conn).ReadString('\n')
		lines <- s
	}()
	fatal := regexp.MustCompile(regexp.QuoteMeta(l.tag) + `/smtpd\[\d+\]: fatal: .*`)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case s := <-lines:
			if strings.HasPrefix(s, "220") {
				_, _ = conn.Write([]byte("QUIT\r\n"))
				return notBroken, "smtpd started and greeted: " + strings.TrimSpace(s)
			}
			if m := fatal.FindString(in.Maillog()); m != "" {
				return relay.Broken, m
			}
			return "", fmt.Sprintf("no greeting (%q) and no fatal error logged", s)
		case <-tick.C:
			if m := fatal.FindString(in.Maillog()); m != "" {
				return relay.Broken, m
			}
		}
	}
}

// translator turns a scenario's configuration into lab Options.
type translator struct {
	t        *testing.T
	cfg      *postconf.Config
	dir      string
	stubAddr string
	pki      *gtPKI // set when some case presents a client certificate
	// scope is the service whose -o overrides keep is translating (nil:
	// main.cf), for $name expansion in labTables.
	scope    *postconf.Service
	files    map[string]*lab.Table
	classes  map[string]bool
	noteSet  map[string]bool
	noteList []string
}

func newTranslator(t *testing.T, cfg *postconf.Config, dir, stubAddr string) *translator {
	tr := &translator{t: t, cfg: cfg, dir: dir, stubAddr: stubAddr, files: map[string]*lab.Table{}, classes: map[string]bool{}, noteSet: map[string]bool{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case e.IsDir(), n == "main.cf", n == "master.cf", n == "expect.toml", strings.HasSuffix(n, ".md"):
		default:
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				t.Fatal(err)
			}
			tr.files[n] = &lab.Table{Name: n, Content: string(b)}
		}
	}
	if v, err := cfg.Expand(nil, "smtpd_restriction_classes"); err == nil {
		for _, c := range postconf.SplitList(v) {
			tr.classes[c] = true
		}
	}
	return tr
}

func (tr *translator) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !tr.noteSet[s] {
		tr.noteSet[s] = true
		tr.noteList = append(tr.noteList, s)
	}
}

func (tr *translator) notes() []string { return tr.noteList }

// harnessParams are set by the lab harness (they keep the instance private
// and non-delivering) or describe the scenario host's file system.
var harnessParams = map[string]bool{
	"queue_directory": true, "data_directory": true, "config_directory": true, "mail_owner": true,
	"setgid_group": true, "multi_instance_name": true, "multi_instance_directories": true,
	"multi_instance_enable": true, "multi_instance_group": true, "multi_instance_wrapper": true,
	"syslog_name": true, "syslog_facility": true, "maillog_file": true, "maillog_file_prefixes": true,
	"default_transport": true, "relay_transport": true, "local_transport": true, "virtual_transport": true,
	"smtpd_data_restrictions": true, "inet_interfaces": true, "inet_protocols": true,
	"sendmail_path": true, "newaliases_path": true, "mailq_path": true, "import_environment": true,
	"alias_maps": true, "alias_database": true,
}

// droppedParams would make the lab talk to programs that are not there
// (milters, content filters, SASL servers) or need certificates; none of
// them takes part in the RCPT relay decision the model computes.
var droppedParams = map[string]string{
	"content_filter":         "acts after DATA, which the lab never sends",
	"smtpd_proxy_filter":     "acts after RCPT and would connect to a filter that is not there",
	"smtpd_milters":          "milters are not part of the relay model and are not there",
	"non_smtpd_milters":      "milters are not part of the relay model and are not there",
	"smtpd_sasl_type":        "no SASL server in the lab; the model's untrusted clients do not authenticate",
	"smtpd_sasl_path":        "no SASL server in the lab; the model's untrusted clients do not authenticate",
	"smtpd_use_tls":          "no certificates in the lab; any client can satisfy a TLS requirement before MAIL",
	"smtpd_enforce_tls":      "no certificates in the lab; any client can satisfy a TLS requirement before MAIL",
	"smtpd_tls_auth_only":    "no certificates in the lab",
	"proxy_interfaces":       "recomputed (see proxy_interfaces note)",
	"compatibility_level":    "passed as lab.Options.CompatibilityLevel",
	"smtpd_sasl_auth_enable": "set to no: no SASL server in the lab",
	// The lab runs only the harness's own internal services: a listener's
	// private cleanup service (a header-scrubbing cleanup for submission)
	// is not there, and smtpd would answer every accepted RCPT with 451
	// when it opens the queue file. Which cleanup receives the message
	// does not take part in the RCPT decision.
	"cleanup_service_name": "names a cleanup service the lab does not run; the RCPT decision does not depend on it",
}

// keep decides what becomes of a scenario setting: the value to write, or
// ok = false to leave it out.
func (tr *translator) keep(name, value, where string) (string, bool) {
	switch {
	case harnessParams[name], strings.HasSuffix(name, "_directory"):
		tr.note("%s: %s left to the lab harness", where, name)
		return "", false
	case strings.HasPrefix(name, "smtpd_tls_"), strings.HasPrefix(name, "tls_"):
		if tr.pki != nil {
			tr.note("%s: %s dropped: the lab sets its own TLS server settings (see smtpd_tls_CAfile)", where, name)
		} else {
			tr.note("%s: %s dropped: no certificates in the lab, and a TLS requirement before MAIL is one any client can satisfy", where, name)
		}
		return "", false
	case droppedParams[name] != "":
		if name != "compatibility_level" && name != "proxy_interfaces" {
			tr.note("%s: %s dropped: %s", where, name, droppedParams[name])
		}
		return "", false
	}
	v := strings.Join(strings.Fields(value), " ")
	v = tr.labTables(name, v, where)
	v = tr.paths(v)
	if strings.HasSuffix(name, "_restrictions") || tr.classes[name] || !tr.cfg.IsBuiltin(name) {
		v = tr.restrictions(v, where+": "+name)
	}
	return v, true
}

var absPath = regexp.MustCompile(`(/[^\s,{}"]*/)([^/\s,{}"]+)`)

// paths points absolute table paths at the instance's copy of the file
// when the scenario ships it ($config_directory is the instance's etc/).
func (tr *translator) paths(v string) string {
	return absPath.ReplaceAllStringFunc(v, func(m string) string {
		base := m[strings.LastIndexByte(m, '/')+1:]
		if tr.files[base] != nil {
			return "$config_directory/" + base
		}
		return m
	})
}

// dnsRestrictions look up DNS (or send verification probes). The lab may
// not use the network, and the model passes over all of them as refusals a
// relaying client can avoid (or, permit_mx_backup, as unknown), so the lab
// leaves them out. true: the restriction takes an argument.
var dnsRestrictions = map[string]bool{
	"reject_rbl_client": true, "reject_rhsbl_client": true, "reject_rhsbl_sender": true,
	"reject_rhsbl_recipient": true, "reject_rhsbl_helo": true, "reject_rhsbl_reverse_client": true,
	"permit_dnswl_client": true, "permit_rhswl_client": true, "reject_rbl": true,
	"reject_unknown_client_hostname": false, "reject_unknown_client": false,
	"reject_unknown_reverse_client_hostname": false, "reject_unknown_helo_hostname": false,
	"reject_unknown_hostname": false, "reject_unknown_sender_domain": false,
	"reject_unknown_recipient_domain": false, "reject_unverified_sender": false,
	"reject_unverified_recipient": false, "reject_unknown_address": false,
	"permit_mx_backup": false, "reject_maps_rbl": false,
}

func isDNSAccess(n string) bool {
	return strings.HasPrefix(n, "check_") && (strings.HasSuffix(n, "_mx_access") || strings.HasSuffix(n, "_ns_access") || strings.HasSuffix(n, "_a_access"))
}

// restrictions rewrites a restriction list for the lab: DNS restrictions
// out, every policy service pointed at the DUNNO stub (the model assumes
// DUNNO).
func (tr *translator) restrictions(v, where string) string {
	items := splitItems(v)
	var out []string
	for i := 0; i < len(items); i++ {
		it := items[i]
		n := strings.ToLower(it)
		_, dns := dnsRestrictions[n]
		switch {
		case n == "check_policy_service":
			out = append(out, it, "inet:"+tr.stubAddr)
			if i+1 < len(items) {
				tr.note("%s: %s %s -> a stub answering DUNNO on %s (the model assumes DUNNO)", where, it, items[i+1], tr.stubAddr)
				i++
			}
		case dns, isDNSAccess(n):
			arg := ""
			if (dnsRestrictions[n] || isDNSAccess(n)) && i+1 < len(items) {
				arg = " " + items[i+1]
				i++
			}
			// warn_if_reject applies to the next restriction only.
			if len(out) > 0 && strings.EqualFold(out[len(out)-1], "warn_if_reject") {
				out = out[:len(out)-1]
			}
			tr.note("%s: %s%s left out: it needs DNS, which the lab may not use (the model passes over it)", where, it, arg)
		default:
			out = append(out, it)
		}
	}
	return strings.Join(out, ", ")
}

// splitItems splits a list on commas and blanks, keeping {...} groups.
func splitItems(s string) []string { return table.SplitBraced(s, ", \t") }

var hashedMap = regexp.MustCompile(`\b(hash|btree|lmdb|cdb|dbm|sdbm):\$\{?config_directory\}?/([^\s,{}]+)`)

// options builds the lab instance: the harness's main listener is a healthy
// control (the harness waits for its 220); each scenario listener is an
// extra listener with the scenario's -o overrides.
func (tr *translator) options(scenario string, analyses []*relay.Analysis) (lab.Options, []*gtListener) {
	cfg := tr.cfg
	opt := lab.Options{Label: labLabel(scenario), XCLIENT: true, CompatibilityLevel: "0"}
	if p, ok := cfg.Main.Params["compatibility_level"]; ok {
		if v, err := cfg.Expand(nil, "compatibility_level"); err == nil && v != "" {
			opt.CompatibilityLevel = v
		} else {
			opt.CompatibilityLevel = p.Value
		}
	}
	for _, a := range analyses {
		for _, c := range a.Cases {
			if c.Client.ClientCert {
				tr.pki = labPKI(tr.t)
			}
		}
	}
	var hashed []string
	for _, name := range cfg.Main.Order {
		p := cfg.Main.Params[name]
		v, ok := tr.keep(name, p.Value, "main.cf")
		if !ok {
			continue
		}
		// Only what the lab is given is postmapped: a dropped setting or
		// a replaced table (labTables) may name a type the lab lacks.
		hashed = append(hashed, v)
		opt.Main = append(opt.Main, name+" = "+v)
	}
	set := func(name, value, why string) {
		opt.Main = append(opt.Main, name+" = "+value)
		if why != "" {
			tr.note("main.cf: %s = %s (%s)", name, value, why)
		}
	}
	for _, p := range []string{"myhostname", "mydomain"} {
		if _, ok := cfg.Main.Params[p]; !ok {
			if v, err := cfg.Expand(nil, p); err == nil && !strings.ContainsAny(v, "<> ") && v != "" {
				set(p, v, "the model's value")
			}
		}
	}
	if _, ok := cfg.Main.Params["mynetworks"]; !ok {
		set("mynetworks", gtMynetworks, "the model's stand-in for the host-derived default")
	}
	set("smtpd_sasl_auth_enable", "no", "")
	if tr.pki != nil {
		// The model lets a client with a certificate from a public CA relay
		// when smtpd asks for certificates and trusts the public CAs; a lab
		// CA stands in for them.
		set("smtpd_tls_security_level", "may", "")
		set("smtpd_tls_cert_file", "$config_directory/gt-server.pem", "")
		set("smtpd_tls_key_file", "$config_directory/gt-server.key", "")
		set("smtpd_tls_CAfile", "$config_directory/gt-ca.pem", "a lab CA stands in for the public CAs the scenario trusts")
		set("smtpd_tls_ask_ccert", "yes", "")
		// smtpd gets its TLS entropy from tlsmgr(8); without it smtpd
		// disables TLS and notifies the postmaster.
		opt.Master = append(opt.Master, "tlsmgr unix - - n 1000? 1 tlsmgr")
		tr.files["gt-ca.pem"] = &lab.Table{Name: "gt-ca.pem", Content: tr.pki.caPEM}
		tr.files["gt-server.pem"] = &lab.Table{Name: "gt-server.pem", Content: tr.pki.certPEM}
		tr.files["gt-server.key"] = &lab.Table{Name: "gt-server.key", Content: tr.pki.keyPEM}
	}
	xc := "127.0.0.1"
	if v, ok := cfg.Main.Params["smtpd_authorized_xclient_hosts"]; ok && strings.TrimSpace(v.Value) != "" {
		xc += ", " + tr.paths(strings.Join(strings.Fields(v.Value), " "))
		tr.note("main.cf: smtpd_authorized_xclient_hosts keeps the scenario's value and adds 127.0.0.1 (the lab's XCLIENT)")
	}
	set("smtpd_authorized_xclient_hosts", xc, "")

	// An [address] recipient is local when the address is one of
	// inet_interfaces or proxy_interfaces (resolve_local). The lab binds
	// loopback only, so the scenario's own addresses go to proxy_interfaces;
	// with inet_interfaces = all the model takes the address literal it
	// probes with as this host's.
	var proxy []string
	addProxy := func(s string) {
		a, err := netip.ParseAddr(strings.Trim(s, "[]"))
		if err != nil || a.IsLoopback() {
			return
		}
		for _, p := range proxy {
			if p == a.String() {
				return
			}
		}
		proxy = append(proxy, a.String())
	}
	ifaces, _ := cfg.Expand(nil, "inet_interfaces")
	all := false
	for _, it := range postconf.SplitList(ifaces) {
		if strings.EqualFold(it, "all") {
			all = true
		}
		addProxy(it)
	}
	if v, err := cfg.Expand(nil, "proxy_interfaces"); err == nil {
		for _, it := range postconf.SplitList(v) {
			addProxy(it)
		}
	}
	literal := regexp.MustCompile(`@\[([0-9A-Fa-f.:]+)\]$`)
	for _, a := range analyses {
		if all {
			for _, c := range a.Cases {
				if m := literal.FindStringSubmatch(c.Recipient); m != nil {
					addProxy(m[1])
				}
			}
		}
		if a.Listener.IPv6 {
			opt.IPv6 = true
		}
	}
	if len(proxy) > 0 {
		set("proxy_interfaces", strings.Join(proxy, ", "), "the scenario server's own addresses, so that [address] recipients are local as on that server")
	}

	// The control listener must start whatever the scenario's lists say.
	opt.SMTPArgs = []string{
		"-o smtpd_client_restrictions=", "-o smtpd_helo_restrictions=", "-o smtpd_sender_restrictions=",
		"-o smtpd_recipient_restrictions=", "-o smtpd_relay_restrictions=reject_unauth_destination",
	}

	var lis []*gtListener
	for i, a := range analyses {
		l := &gtListener{a: a, name: fmt.Sprintf("gt%d", i+1), tag: fmt.Sprintf("gt-%d", i+1), pki: tr.pki}
		where := "master.cf " + a.Listener.Key
		if a.Listener.Postscreen {
			tr.note("%s: postscreen is not run (it decides no relay); the lab listener is smtpd with the %s service's overrides", where, a.Listener.Service.Key())
		}
		args := []string{"-o syslog_name=" + l.tag}
		tr.scope = a.Listener.Service
		for _, o := range a.Listener.Service.Overrides {
			if o.Name == "smtpd_authorized_xclient_hosts" {
				v := "127.0.0.1"
				if s := strings.Join(strings.Fields(o.Value), " "); s != "" {
					v += ", " + s
				}
				args = append(args, overrideArg(o.Name, v))
				continue
			}
			v, ok := tr.keep(o.Name, o.Value, where)
			if !ok {
				continue
			}
			hashed = append(hashed, v)
			args = append(args, overrideArg(o.Name, v))
		}
		tr.scope = nil
		args = append(args, "-o smtpd_sasl_auth_enable=no")
		if a.Guard.OK {
			opt.Listeners = append(opt.Listeners, lab.Listener{Name: l.name, Args: args})
		} else {
			l.own = "127.0.0.1:" + strconv.Itoa(gtPort(tr.t))
			opt.Master = append(opt.Master, l.own+" inet n - n - - smtpd")
			for _, a := range args {
				opt.Master = append(opt.Master, "  "+a)
			}
			tr.note("%s: the model says smtpd exits at startup; listener %s written to master.cf directly so the harness does not wait for its 220", where, l.own)
		}
		lis = append(lis, l)
	}

	for _, v := range hashed {
		for _, m := range hashedMap.FindAllStringSubmatch(tr.paths(v), -1) {
			if f := tr.files[m[2]]; f != nil {
				f.Postmap = m[1]
			}
		}
	}
	names := make([]string, 0, len(tr.files))
	for n := range tr.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		opt.Tables = append(opt.Tables, *tr.files[n])
	}
	return opt, lis
}

// overrideArg writes a master.cf -o setting; values with blanks use the
// "-o { name = value }" form (master(5), Postfix 3.0 and later).
func overrideArg(name, value string) string {
	if strings.ContainsAny(value, " \t") {
		return "-o { " + name + " = " + value + " }"
	}
	return "-o " + name + "=" + value
}

var labelChars = regexp.MustCompile(`[^A-Za-z0-9-]+`)

func labLabel(scenario string) string {
	s := labelChars.ReplaceAllString(scenario, "-")
	if len(s) > 20 {
		s = s[:20]
	}
	return strings.Trim(s, "-")
}

var (
	portMu    sync.Mutex
	portsUsed = map[int]bool{}
)

// gtPort picks a free loopback port below the kernel's ephemeral range, so
// that the ports the harness asks the kernel for can never be the same.
func gtPort(t *testing.T) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	portMu.Lock()
	defer portMu.Unlock()
	for i := 0; i < 200; i++ {
		p := low - 10000 + rand.IntN(9000)
		if portsUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		portsUsed[p] = true
		return p
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// policyStub is a Postfix policy service (SMTPD_POLICY_README) answering
// DUNNO to every query: what the model assumes of a policy service.
type policyStub struct {
	addr    string
	queries atomic.Int64
}

func startPolicyStub(t *testing.T) *policyStub {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &policyStub{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.TrimRight(line, "\r\n") == "" {
						s.queries.Add(1)
						if _, err := c.Write([]byte("action=DUNNO\n\n")); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// gtPKI is a throw-away CA, standing in for the public CAs a scenario's
// smtpd_tls_CAfile trusts, with a server certificate for smtpd and a
// client certificate it signed.
type gtPKI struct {
	caPEM, certPEM, keyPEM string
	client                 tls.Certificate
}

var (
	pkiOnce sync.Once
	pkiVal  *gtPKI
	pkiErr  error
)

func labPKI(t *testing.T) *gtPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = newPKI() })
	if pkiErr != nil {
		t.Fatalf("lab CA: %v", pkiErr)
	}
	return pkiVal
}

func newPKI() (*gtPKI, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pfaudit ground-truth CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(crand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, []byte, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(crand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		kd, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
	}
	sc, sk, err := leaf(2, "mail.lab.test", x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	cc, ck, err := leaf(3, "client.example.org", x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	client, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		return nil, err
	}
	return &gtPKI{
		caPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		certPEM: string(sc), keyPEM: string(sk), client: client,
	}, nil
}

// certRCPT asks one case as a client with a certificate: EHLO, XCLIENT (as
// the lab harness does), EHLO, STARTTLS presenting the client certificate,
// EHLO, MAIL, RCPT, RSET, QUIT. Never DATA.
func certRCPT(addr string, c relay.Case, pki *gtPKI) gtOutcome {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return gtOutcome{err: fmt.Errorf("refusing to dial %q (loopback only)", addr)}
	}
	for _, a := range []string{c.Client.HELO, c.Sender, c.Recipient} {
		if strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return gtOutcome{err: fmt.Errorf("argument %q contains a control character", a)}
		}
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return gtOutcome{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	tp := textproto.NewConn(conn)
	cmd := func(line string) (int, string, error) {
		if line != "" {
			if err := tp.PrintfLine("%s", line); err != nil {
				return 0, "", err
			}
		}
		code, msg, err := tp.ReadResponse(0)
		var perr *textproto.Error
		if errors.As(err, &perr) {
			err = nil
		}
		return code, msg, err
	}
	xaddr := c.Client.Addr.String()
	if c.Client.Addr.Is6() {
		xaddr = "IPV6:" + xaddr
	}
	steps := []struct {
		line string
		want int
	}{{"", 220}, {"EHLO " + c.Client.HELO, 250}, {"XCLIENT ADDR=" + xaddr + " NAME=[UNAVAILABLE]", 220},
		{"EHLO " + c.Client.HELO, 250}, {"STARTTLS", 220}}
	for _, s := range steps {
		code, msg, err := cmd(s.line)
		if err != nil {
			return gtOutcome{err: fmt.Errorf("%q: %v", s.line, err)}
		}
		if code != s.want {
			return gtOutcome{err: fmt.Errorf("%q: %d %s", s.line, code, msg)}
		}
	}
	tc := tls.Client(conn, &tls.Config{
		InsecureSkipVerify: true, // the lab's own server certificate; the test is about the client's
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pki.client, nil
		},
	})
	if err := tc.Handshake(); err != nil {
		return gtOutcome{err: fmt.Errorf("TLS handshake: %v", err)}
	}
	tp = textproto.NewConn(tc)
	quit := func() {
		_, _, _ = cmd("RSET")
		_, _, _ = cmd("QUIT")
	}
	if code, msg, err := cmd("EHLO " + c.Client.HELO); err != nil || code != 250 {
		return gtOutcome{err: fmt.Errorf("EHLO after STARTTLS: %d %s %v", code, msg, err)}
	}
	code, msg, err := cmd("MAIL FROM:<" + c.Sender + ">")
	if err != nil {
		return gtOutcome{err: err}
	}
	if code/100 != 2 {
		quit()
		return gtOutcome{code: code, text: "(MAIL) " + msg}
	}
	code, msg, err = cmd("RCPT TO:<" + c.Recipient + ">")
	if err != nil {
		return gtOutcome{err: err}
	}
	quit()
	return gtOutcome{code: code, text: msg + " [TLS client certificate]"}
}
