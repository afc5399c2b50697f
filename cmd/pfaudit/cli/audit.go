package cli

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/netns"
	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/rules"
)

// AuditOptions are the flags of `pfaudit audit`.
type AuditOptions struct {
	Input   inputFlags
	Format  string
	FailOn  string
	Policy  string
	NoProbe bool
	// ProbeTimeout bounds the live probe.
	ProbeTimeout time.Duration
	Transcript   string
	// Color: "auto" (a terminal and NO_COLOR unset), "always", "never".
	Color string
	// Quiet prints only the summary line and the findings at or above
	// FailOn (table format).
	Quiet bool
	// Output, when set, is the file the report replaces atomically.
	Output string
	// SARIFRoot is the directory SARIF artifact URIs are relative to
	// (default: the configuration directory).
	SARIFRoot string
	// Now is the report's time (tests); zero means the clock, or
	// SOURCE_DATE_EPOCH when set (reproducible reports).
	Now time.Time
}

func newAuditCmd(st Streams) *cobra.Command {
	o := &AuditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [flags]",
		Short: "Decide, for every smtpd listener, whether an untrusted client can relay",
		Long: `Audit reads the configuration (a directory, or collected postconf dumps), models
how smtpd decides relay for every smtpd listener, runs the rule catalogue
(pfaudit rules), and prints each listener's verdict for untrusted Internet
clients (open, closed, broken, unknown) and the findings with the exact
commands that fix them.

Collected dumps: without --postconf-M, master.cf is assumed to be Postfix's
stock one (a public smtpd on port 25), and the report says so.

The table fits the terminal (80 columns in a pipe): a summary row per
listener and per finding, a short block for each, then the commands to run.
JSON follows schema/audit.schema.json; SARIF is accepted by GitHub code
scanning; JUnit has one test case per rule and listener.

Exit status: 0 when no finding is at or above --fail-on, 1 when one is,
2 on usage or input errors.`,
		Example: `  pfaudit audit --no-probe
  pfaudit audit -c testdata/configs/docker-wide --no-probe --format json
  pfaudit audit --policy site.toml --fail-on medium
  pfaudit audit --postconf-n mx1.n --postconf-M mx1.M --no-probe --format sarif > mx1.sarif
  pfaudit audit --quiet                      # the summary line and the findings at or above --fail-on
  pfaudit audit --format summary             # one line, for cron mail and monitoring
  pfaudit audit --no-probe -c configs/mx1 --format sarif --sarif-root . > mx1.sarif
  pfaudit audit --format junit > pfaudit-junit.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input.Stdin = st.In
			return RunAudit(cmd, o, st)
		},
	}
	o.Input.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.Format, "format", "table", "output format: "+strings.Join(render.Formats, ", "))
	fl.StringVar(&o.FailOn, "fail-on", "high", "exit 1 when a finding is at or above this severity (info, low, medium, high, critical, none)")
	fl.StringVar(&o.Policy, "policy", "", "site policy `FILE` (TOML; see testdata/policy/example.toml)")
	fl.BoolVar(&o.NoProbe, "no-probe", false, "do not confirm the findings with a live SMTP probe of this host's listeners (findings then say status \"static\")")
	fl.DurationVar(&o.ProbeTimeout, "probe-timeout", 2*time.Minute, "bound on the live probe")
	fl.StringVar(&o.Transcript, "transcript", "", "write every SMTP line the probe sends and receives to `FILE`")
	fl.StringVar(&o.Color, "color", "auto", "colour the table: auto (terminal and NO_COLOR unset), always, never")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "print only the one-line summary and the findings at or above --fail-on (table format)")
	fl.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` (atomically: a temporary file renamed over it) instead of standard output")
	fl.StringVar(&o.SARIFRoot, "sarif-root", "", "with --format sarif: write file locations relative to `DIR` (the repository root code scanning sees; default: the configuration directory)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(render.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"info", "low", "medium", "high", "critical", "none"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// RunAudit runs the audit and prints the report.
func RunAudit(cmd *cobra.Command, o *AuditOptions, st Streams) error {
	failOn, err := rules.ParseSeverity(o.FailOn)
	if err != nil {
		return withCode(ExitError, fmt.Errorf("--fail-on: %w", err))
	}
	if !slices.Contains(render.Formats, o.Format) {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of %s", o.Format, strings.Join(render.Formats, ", ")))
	}
	if o.Quiet && o.Format != "table" {
		return withCode(ExitError, fmt.Errorf("--quiet applies to --format table only (--format summary prints the one-line summary alone)"))
	}
	if o.SARIFRoot != "" && o.Format != "sarif" {
		return withCode(ExitError, fmt.Errorf("--sarif-root applies to --format sarif only"))
	}
	if err := checkDurations(map[string]time.Duration{"probe-timeout": o.ProbeTimeout}); err != nil {
		return err
	}
	// Before the configuration is read: a SIGKILLed probe's veth would
	// add its networks to this host's default mynetworks.
	netns.RemoveStale()
	var pol *rules.Policy
	if o.Policy != "" {
		if pol, err = rules.LoadPolicy(o.Policy); err != nil {
			return withCode(ExitError, err)
		}
	}
	// A -n dump alone says nothing about master.cf: audit it with the stock
	// master.cf (its public smtpd) rather than as a host without
	// listeners, and say so in the report.
	o.Input.StockMaster = true
	cfg, err := loadInput(cmd, o.Input)
	if err != nil {
		return err
	}
	live := o.Input.NDump == "" && o.Input.MDump == "" && o.Input.PDump == ""
	rep, analyses := audit.Run(cmd.Context(), cfg, audit.Options{Live: live, Policy: pol, Version: Version})
	if err := stopped(cmd); err != nil {
		return err // a partial report is no report
	}
	rep.Time = reportTime(o.Now)
	var transcriptErr error
	switch {
	case o.NoProbe:
	case !live:
		rep.Warnings = append(rep.Warnings, "probe: skipped for collected dumps (their server is elsewhere: run `pfaudit probe --target HOST:PORT --vantage remote`)")
	default:
		popt := probe.Options{Timeout: o.ProbeTimeout}
		closeT, err := openTranscript(o.Transcript, &popt)
		if err != nil {
			return err
		}
		if f, ok := st.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			popt.Progress = st.Err
		}
		pr, err := audit.Probe(cmd.Context(), cfg, analyses, rep, audit.ProbeOptions{Probe: popt})
		if err := stopped(cmd); err != nil {
			closeT(false)
			return err
		}
		if err != nil {
			closeT(false)
			return withCode(ExitError, fmt.Errorf("probe: %w", err))
		}
		transcriptErr = closeT(true)
		render.AttachProbe(rep, pr, probedServices(cfg, analyses))
	}
	ropt := render.Options{Color: useColor(o.Color, st), BaseDir: cfg.Dir, Width: terminalWidth(st),
		FailOn: failOn.String(), Quiet: o.Quiet, SARIFRoot: o.SARIFRoot}
	if failOn > rules.Critical {
		ropt.FailOn = "none"
	}
	if o.Output != "" {
		// A file is not a terminal, whatever standard output is.
		ropt.Width, ropt.Color = 0, o.Color == "always"
	}
	out, finish := outputTo(o.Output, st.Out)
	if err := render.Write(out, o.Format, rep, ropt); err != nil {
		return withCode(ExitError, err)
	}
	if err := finish(); err != nil {
		return withCode(ExitError, err)
	}
	if transcriptErr != nil {
		// The report stands; the transcript it refers to is incomplete.
		return transcriptErr
	}
	for _, f := range rep.Findings {
		if f.Severity >= failOn {
			return withCode(ExitFindings, errSilent)
		}
	}
	return nil
}

// terminalWidth is the width of standard output when it is a terminal,
// else 0 (fixed column widths for files and pipes).
func terminalWidth(st Streams) int {
	f, ok := st.outFile()
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}

// useColor colours only a terminal, and never when NO_COLOR is set
// (no-color.org).
func useColor(mode string, st Streams) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := st.outFile()
	return ok && term.IsTerminal(int(f.Fd()))
}

// probedServices maps the addresses the audit's probe targets to their
// listeners, as audit.Probe chose them.
func probedServices(cfg *postconf.Config, analyses []*relay.Analysis) map[string]string {
	var ls []relay.Listener
	for _, a := range analyses {
		ls = append(ls, a.Listener)
	}
	m := map[string]string{}
	for _, t := range audit.ProbeTargets(cfg, ls) {
		m[t.Address] = t.Service
	}
	return m
}

// reportTime is when the report says it was made: now, or
// SOURCE_DATE_EPOCH (reproducible-builds.org) when set, so that tests
// and packaging can produce byte-identical reports.
func reportTime(now time.Time) time.Time {
	if !now.IsZero() {
		return now.UTC()
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC().Truncate(time.Second)
}
