package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pfaudit/pfaudit/audit/fix"
	"github.com/pfaudit/pfaudit/rules"
)

// FixOptions are the flags of `pfaudit fix`.
type FixOptions struct {
	Input       inputFlags
	Only        []string
	Apply       bool
	Yes         bool
	NoReload    bool
	NoProbe     bool
	BackupDir   string
	Format      string
	FailOn      string
	Policy      string
	Rollback    bool
	ID          string
	ListBackups bool
	// ProbeTimeout bounds the live probe after the reload.
	ProbeTimeout time.Duration
}

func newFixCmd(st Streams) *cobra.Command {
	o := &FixOptions{}
	cmd := &cobra.Command{
		Use:   "fix [flags]",
		Short: "Apply the verified fixes safely, prove them live, roll back on failure",
		Long: `Fix applies the remediation commands that pfaudit audit prints.

Without --apply nothing changes: the plan lists the findings it would fix, a
unified diff of every file it would touch and the commands. Exit 0 when there
is nothing to do, 1 when there is.

With --apply (confirmation on a terminal unless --yes) it takes a lock, backs
up every file byte-exact with mode and owner (under --backup-dir), edits the
files with postconf -c DIR as Postfix does (comments, order and continuation
lines kept), re-reads and re-audits the result, runs postfix check, reloads a
running instance of that directory, and probes it live: the live verdict for
an untrusted client must equal the model's. Any failure, SIGINT or SIGTERM
restores the backup byte-exact and reloads again.

Exit status: 0 applied and verified (or nothing to do); 1 applied and verified
but findings at or above --fail-on remain (plan: something to do); 2 usage or
input error, nothing changed; 3 the fix failed and was rolled back.`,
		Example: `  pfaudit fix                         # the plan, with diffs
  pfaudit fix --apply                 # apply, asking first
  pfaudit fix --apply --yes --only PFA-RELAY-005
  pfaudit fix --list-backups
  pfaudit fix --rollback              # undo the last applied fix`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunFix(cmd, o, st)
		},
	}
	o.Input.register(cmd)
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Only, "only", nil, "fix only the findings of these rule `ID`s (repeat or comma-separate)")
	fl.BoolVar(&o.Apply, "apply", false, "apply the plan (default: only show it)")
	fl.BoolVar(&o.Yes, "yes", false, "do not ask for confirmation (needed when standard input is not a terminal)")
	fl.BoolVar(&o.NoReload, "no-reload", false, "do not reload the running Postfix (and so do not probe it)")
	fl.BoolVar(&o.NoProbe, "no-probe", false, "do not prove the fix with a live probe after the reload")
	fl.StringVar(&o.BackupDir, "backup-dir", fix.DefaultBackupDir, "where backups are kept (one directory per configuration directory and fix)")
	fl.StringVar(&o.Format, "format", "text", "output format: "+strings.Join(fix.Formats, ", "))
	fl.StringVar(&o.FailOn, "fail-on", "high", "after --apply, exit 1 when a finding at or above this severity remains")
	fl.StringVar(&o.Policy, "policy", "", "site policy `FILE` (as for audit)")
	fl.BoolVar(&o.Rollback, "rollback", false, "restore the files as they were before the last applied fix (or --id)")
	fl.StringVar(&o.ID, "id", "", "with --rollback: the backup `ID` to restore (see --list-backups)")
	fl.BoolVar(&o.ListBackups, "list-backups", false, "list the backups of the configuration directory")
	fl.DurationVar(&o.ProbeTimeout, "probe-timeout", 2*time.Minute, "bound on the live probe")
	return cmd
}

// RunFix runs `pfaudit fix`.
func RunFix(cmd *cobra.Command, o *FixOptions, st Streams) error {
	if !slices.Contains(fix.Formats, o.Format) {
		return withCode(ExitError, fmt.Errorf("--format: %q is not one of %s", o.Format, strings.Join(fix.Formats, ", ")))
	}
	modes := 0
	for _, b := range []bool{o.Apply, o.Rollback, o.ListBackups} {
		if b {
			modes++
		}
	}
	if modes > 1 {
		return withCode(ExitError, errors.New("--apply, --rollback and --list-backups exclude each other"))
	}
	if o.ID != "" && !o.Rollback {
		return withCode(ExitError, errors.New("--id goes with --rollback"))
	}
	failOn, err := rules.ParseSeverity(o.FailOn)
	if err != nil {
		return withCode(ExitError, fmt.Errorf("--fail-on: %w", err))
	}
	fo := fix.Options{
		Input: o.Input.Options, Only: o.Only, NoReload: o.NoReload, NoProbe: o.NoProbe,
		BackupDir: o.BackupDir, FailOn: failOn, Version: Version,
	}
	fo.Input.Stdin = st.In
	fo.Probe.Timeout = o.ProbeTimeout
	if o.Policy != "" {
		if fo.Policy, err = rules.LoadPolicy(o.Policy); err != nil {
			return withCode(ExitError, err)
		}
	}
	ctx := cmd.Context()
	var r *fix.Result
	switch {
	case o.ListBackups:
		r, err = fix.List(ctx, fo)
	case o.Rollback:
		fo.Progress = st.Err
		r, err = fix.Rollback(ctx, fo, o.ID)
	case o.Apply:
		fo.Progress = st.Err
		if !o.Yes {
			if !isTerminal(st.In) {
				return withCode(ExitError, errors.New("--apply without --yes asks for confirmation, and standard input is not a terminal: add --yes"))
			}
			fo.Confirm = confirmOn(st)
		}
		r, err = fix.Apply(ctx, fo)
	default:
		r, err = fix.PlanOnly(ctx, fo)
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	if err := fix.Write(st.Out, o.Format, r); err != nil {
		return withCode(ExitError, err)
	}
	if r.Exit != ExitOK {
		return withCode(r.Exit, errSilent)
	}
	return nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirmOn shows the plan on standard error and asks there.
func confirmOn(st Streams) func(*fix.Plan) (bool, error) {
	return func(p *fix.Plan) (bool, error) {
		if err := fix.Write(st.Err, "text", &fix.Result{Action: "plan", ConfigDir: p.ConfigDir, Plan: p}); err != nil {
			return false, err
		}
		fmt.Fprintf(st.Err, "Apply these changes to %s and reload Postfix? [y/N] ", p.ConfigDir)
		line, err := bufio.NewReader(st.In).ReadString('\n')
		if err != nil && line == "" {
			return false, nil
		}
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	}
}
