package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// AuditOptions are the flags of `pfaudit audit`.
type AuditOptions struct {
	Input   inputFlags
	Format  string
	FailOn  string
	NoProbe bool
}

func newAuditCmd(st Streams) *cobra.Command {
	o := &AuditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [flags]",
		Short: "Decide, for every smtpd listener, whether an untrusted client can relay",
		Long: `Audit reads the configuration (a directory, or collected postconf dumps), models
how smtpd decides relay for every smtpd listener, and reports each listener's
verdict for untrusted Internet clients (open, closed, broken, unknown) with the
restriction that decides it and its file:line.

Exit status: 0 when nothing is at or above --fail-on, 1 when something is,
2 on usage or input errors. Verdict severities: open = critical,
broken = high, unknown = medium, loopback-only but open if exposed = low.`,
		Example: `  pfaudit audit --no-probe
  pfaudit audit -c testdata/configs/docker-wide --no-probe --format json
  pfaudit audit --postconf-n mx1.n --postconf-M mx1.M --no-probe --fail-on critical`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Input.Stdin = st.In
			return RunAudit(cmd, o, st)
		},
	}
	o.Input.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.Format, "format", "table", "output format: table or json")
	fl.StringVar(&o.FailOn, "fail-on", "high", "exit 1 when a verdict is at or above this severity (info, low, medium, high, critical, none)")
	fl.BoolVar(&o.NoProbe, "no-probe", false, "do not confirm the verdicts with a live SMTP probe (the live probe joins the audit in a later release; audits are static today)")
	return cmd
}

// verdictSeverity maps a listener verdict to the severity it is reported at.
func verdictSeverity(l audit.ListenerReport) (rules.Severity, bool) {
	switch {
	case l.Verdict == relay.Open:
		return rules.Critical, true
	case l.Verdict == relay.Broken:
		return rules.High, true
	case l.Verdict == relay.Unknown:
		return rules.Medium, true
	case l.WouldBe == relay.Open:
		return rules.Low, true
	}
	return rules.Info, false
}

// RunAudit runs the audit and prints the report.
func RunAudit(cmd *cobra.Command, o *AuditOptions, st Streams) error {
	failOn, err := rules.ParseSeverity(o.FailOn)
	if err != nil {
		return withCode(ExitError, fmt.Errorf("--fail-on: %w", err))
	}
	if o.Format != "table" && o.Format != "json" {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of table, json", o.Format))
	}
	cfg, err := loadInput(cmd, o.Input)
	if err != nil {
		return err
	}
	live := o.Input.NDump == "" && o.Input.MDump == "" && o.Input.PDump == ""
	rep := audit.Run(cmd.Context(), cfg, audit.Options{Live: live})
	if o.Format == "json" {
		enc := json.NewEncoder(st.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return withCode(ExitError, err)
		}
	} else if err := writeAuditTable(st.Out, rep); err != nil {
		return withCode(ExitError, err)
	}
	for _, l := range rep.Listeners {
		if sev, ok := verdictSeverity(l); ok && sev >= failOn {
			return withCode(ExitFindings, errSilent)
		}
	}
	return nil
}

func writeAuditTable(w io.Writer, rep *audit.Report) error {
	if len(rep.Listeners) == 0 {
		_, err := fmt.Fprintln(w, "No smtpd listener in master.cf: nothing accepts mail over SMTP.")
		return err
	}
	tbl := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	)
	tbl.Header([]string{"SERVICE", "EXTERNAL", "LOCAL", "DECIDED BY", "WHERE"})
	for _, l := range rep.Listeners {
		verdict := strings.ToUpper(string(l.Verdict))
		if l.WouldBe != "" {
			verdict += " (loopback only; exposed: " + strings.ToUpper(string(l.WouldBe)) + ")"
		}
		where := ""
		decided := l.Reason
		if n := len(l.Trace); n > 0 {
			last := l.Trace[n-1]
			where = last.Pos.String()
		}
		if err := tbl.Append([]string{l.Service, verdict, string(l.Local), decided, where}); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Defaults: %s. Verdicts are static (from the configuration); run with a live probe to confirm them.\n", rep.DefaultsSource)
	return nil
}
