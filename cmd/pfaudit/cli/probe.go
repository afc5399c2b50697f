package cli

import (
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/netns"
	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/internal/display"
	"github.com/pfaudit/pfaudit/internal/safefile"
)

// ProbeOptions are the flags of `pfaudit probe`.
type ProbeOptions struct {
	Input          inputFlags
	Targets        []string
	Vantage        string
	Format         string
	Timeout        time.Duration
	CommandTimeout time.Duration
	TestDomain     string
	SenderDomain   string
	HELO           string
	ClientAddr     string
	Parallel       int
	NoSTARTTLS     bool
	Transcript     string
}

func newProbeCmd(st Streams) *cobra.Command {
	o := &ProbeOptions{}
	cmd := &cobra.Command{
		Use:   "probe [--target HOST:PORT ...] [flags]",
		Short: "Try every relay trick against SMTP listeners, stopping after RCPT",
		Long: `Probe opens SMTP sessions and tries the relay tricks the well-known relay
testers use (null and spoofed senders, HELO identities, percent hack, bang
paths, source routes, quoting, ...), stopping after RCPT. It never sends
DATA, BDAT or a message body, whatever the server answers.

Vantages: loopback (a local client), xclient (impersonate an untrusted
documentation address when the server offers XCLIENT to us), netns (root:
a temporary network namespace probes the host's listeners as an outsider),
remote (dial the target from here), auto (the best untrusted vantage
available; never loopback). A loopback verdict describes local clients only.

Without --target the listeners of the configuration (-c, default
/etc/postfix) that are reachable on this host are probed, with session
planning from their error limits.

Verdicts: open (a relay attempt was accepted, or this untrusted client
could claim a trusted address with XCLIENT or a PROXY header), closed
(every relay attempt refused; "closed (deferred)" when the relay guard
answered 454 4.7.1), unknown (nothing accepted but not everything refused:
greylisting, lookup failures, a test domain refused for its DNS), broken
(the listener accepts connections but no smtpd ever greets), error (no
SMTP answer at all).

The test domain must be foreign to the server: it comes from the
configuration (-c) when there is one, else example.net; control RCPTs and
the server's replies ("User unknown in local recipient table", a catch-all)
move the probe to another reserved domain. --test-domain is kept as given,
with a warning when the server hosts it.

Exit status: 1 when an untrusted vantage saw an open relay or a listener
is broken, 0 otherwise, 2 on usage errors, when no vantage could test any
target, when an untrusted view was asked for (auto, xclient, netns,
remote) and none was available, or when the run was interrupted (a signal
or --timeout) before it finished.`,
		Example: `  pfaudit probe
  pfaudit probe --target 127.0.0.1:25 --vantage loopback,xclient
  pfaudit probe --target mx.example.com:25 --vantage remote --format json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input.Stdin = st.In
			return RunProbe(cmd, o, st)
		},
	}
	o.Input.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&o.Targets, "target", nil, "`HOST:PORT` to probe (repeatable; smtps://HOST:PORT for implicit TLS)")
	fl.StringVar(&o.Vantage, "vantage", "auto", "auto, loopback, xclient, netns, remote, or a comma-separated list")
	fl.StringVar(&o.Format, "format", "table", "output format: table or json")
	fl.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "bound on the whole run")
	fl.DurationVar(&o.CommandTimeout, "command-timeout", 10*time.Second, "bound on each SMTP reply (the greeting gets at least 30s for postscreen)")
	fl.StringVar(&o.TestDomain, "test-domain", probe.DefaultTestDomain, "third-party recipient domain, kept even when the server hosts it (default: the configuration's choice, else example.net, moved to another reserved name when the replies show it is hosted)")
	fl.StringVar(&o.SenderDomain, "sender-domain", probe.DefaultSenderDomain, "third-party sender domain")
	fl.StringVar(&o.HELO, "helo", probe.DefaultHELO, "the probe's own EHLO name")
	fl.StringVar(&o.ClientAddr, "client-addr", "203.0.113.5", "untrusted address claimed with XCLIENT (RFC 5737)")
	fl.IntVar(&o.Parallel, "parallel", 4, "sessions open at once per target and vantage")
	fl.BoolVar(&o.NoSTARTTLS, "no-starttls", false, "stay in plaintext even when STARTTLS is offered")
	fl.StringVar(&o.Transcript, "transcript", "", "write every SMTP line sent and received to `FILE`")
	return cmd
}

// RunProbe probes and prints the attempts and verdicts.
func RunProbe(cmd *cobra.Command, o *ProbeOptions, st Streams) error {
	if o.Format != "table" && o.Format != "json" {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of table, json", o.Format))
	}
	if err := checkDurations(map[string]time.Duration{"timeout": o.Timeout, "command-timeout": o.CommandTimeout}); err != nil {
		return err
	}
	netns.RemoveStale()
	popt := probe.Options{Targets: o.Targets, Vantage: o.Vantage, Timeout: o.Timeout, CommandTimeout: o.CommandTimeout,
		TestDomain: o.TestDomain, SenderDomain: o.SenderDomain, HELO: o.HELO, Parallel: o.Parallel, NoSTARTTLS: o.NoSTARTTLS}
	// A --test-domain the user chose is kept whatever the replies say
	// (the report warns when the server hosts it); otherwise the probe
	// starts from the configuration's choice or example.net and moves
	// away from a domain the server turns out to host.
	popt.TestDomainFixed = cmd.Flags().Changed("test-domain")
	senderGiven := cmd.Flags().Changed("sender-domain")
	if o.ClientAddr != "" {
		a, err := netip.ParseAddr(o.ClientAddr)
		if err != nil {
			return withCode(ExitError, fmt.Errorf("--client-addr: %v", err))
		}
		popt.ClientAddr = a
	}
	if len(o.Targets) == 0 || o.Input.Dir != "" {
		cfg, err := loadInput(cmd, o.Input)
		if err != nil {
			if len(o.Targets) == 0 {
				return err
			}
		} else {
			ls := relay.Listeners(cfg)
			targets := audit.ProbeTargets(cfg, ls)
			byAddr := audit.ProbeTargetOptions(cfg, targets, ls, nil)
			if len(o.Targets) == 0 {
				for _, t := range targets {
					popt.Targets = append(popt.Targets, t.Address)
				}
				if len(popt.Targets) == 0 {
					return withCode(ExitError, fmt.Errorf("no smtpd listener of %s is reachable on this host; give --target", cfg.Dir))
				}
			}
			// Each target that is a listener of the configuration gets the
			// test domain the model chose for that listener's scope.
			popt.PerTarget = map[string]probe.TargetOptions{}
			for _, s := range popt.Targets {
				t, err := probe.ParseTarget(s)
				if err != nil {
					continue // Run reports it
				}
				if to, ok := byAddr[t.Address]; ok {
					if senderGiven {
						to.SenderDomain = ""
					}
					popt.PerTarget[s] = to
				}
			}
			if len(ls) > 0 {
				popt.Limits = audit.ProbeLimits(cfg, ls[0].Service)
			}
			popt.Hostname, _ = cfg.Expand(nil, "myhostname")
		}
	}
	if f, ok := st.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		popt.Progress = st.Err
	}
	closeT, err := openTranscript(o.Transcript, &popt)
	if err != nil {
		return err
	}
	rep, err := probe.Run(cmd.Context(), popt)
	if err != nil {
		closeT(false)
		return withCode(ExitError, err)
	}
	// The report is printed even when the transcript failed; the exit
	// status then says the run is incomplete.
	transcriptErr := closeT(true)
	if o.Format == "json" {
		host, _ := os.Hostname()
		err = render.ProbeJSON(st.Out, rep, render.ProbeMeta{Version: Version, Host: host, Time: reportTime(time.Time{})})
	} else {
		err = render.ProbeTable(st.Out, rep, terminalWidth(st))
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	if transcriptErr != nil {
		return transcriptErr
	}
	if err := rep.Err(); err != nil {
		// An interrupted run is never a clean one, whatever it saw before
		// it stopped: the report above says what was done.
		return withCode(ExitError, fmt.Errorf("%w; the report is incomplete", err))
	}
	tested, untrusted, broken := false, false, false
	for _, t := range rep.Targets {
		for _, v := range t.Vantages {
			if v.Vantage != probe.VantageLoopback && v.Verdict == probe.VerdictOpen {
				return withCode(ExitFindings, errSilent)
			}
			broken = broken || v.Verdict == probe.VerdictBroken
			if v.Verdict != probe.VerdictError && v.Vantage != probe.VantageNone {
				tested = true
				untrusted = untrusted || v.Vantage != probe.VantageLoopback
			}
		}
	}
	switch {
	case broken:
		// No smtpd answers on that listener: not a relay, but a finding
		// (the static verdict's "broken"), not "nothing to see".
		return withCode(ExitFindings, errSilent)
	case !tested:
		// Nothing could be tested (unreachable, stalled or lying
		// servers): a provisioning step must not read that as "closed".
		return withCode(ExitError, fmt.Errorf("no vantage could test any target (see the errors above)"))
	case !untrusted && wantsUntrusted(o.Vantage):
		return withCode(ExitError, fmt.Errorf("no untrusted vantage was available: the loopback view says nothing about outside clients (use --vantage xclient, netns as root, or remote from another host)"))
	}
	return nil
}

// wantsUntrusted reports whether the requested vantages include one that
// is meant to look like an outsider.
func wantsUntrusted(v string) bool {
	if v == "" {
		return true
	}
	for _, x := range strings.Split(v, ",") {
		if strings.TrimSpace(x) != probe.VantageLoopback {
			return true
		}
	}
	return false
}

// openTranscript points popt.Transcript at path ("" = none) and returns
// the function that closes it. The file is opened with safefile's checks
// (no symbolic link or file planted by another user is followed or
// overwritten) and an existing one is truncated only when the probe
// writes its first line, so a run refused for its arguments leaves it
// alone. closeT(complete) returns the first write error: a transcript cut
// short by a full disk is an error, not a success.
func openTranscript(path string, popt *probe.Options) (closeT func(complete bool) error, err error) {
	if path == "" {
		return func(bool) error { return nil }, nil
	}
	out, err := safefile.CreateOutput(path)
	if err != nil {
		return nil, withCode(ExitError, fmt.Errorf("--transcript: %w", err))
	}
	popt.Transcript = escapingWriter{out}
	return func(complete bool) error {
		if err := out.Close(complete); err != nil {
			return withCode(ExitError, fmt.Errorf("--transcript: %w", err))
		}
		return nil
	}, nil
}

// escapingWriter shows a server's control characters escaped in the
// transcript (it is read with cat and less; package display).
type escapingWriter struct{ w io.Writer }

func (e escapingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(e.w, display.Escape(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// checkDurations refuses durations that are not positive: a zero or
// negative timeout would make every wait expire at once and read as
// "unreachable".
func checkDurations(flags map[string]time.Duration) error {
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		if d := flags[name]; d <= 0 {
			return withCode(ExitError, fmt.Errorf("--%s: %v is not a positive duration", name, d))
		}
	}
	return nil
}
