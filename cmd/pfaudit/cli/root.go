// Package cli holds pfaudit's cobra commands. Commands stay thin: flags fill
// an options struct, and a function of a library package does the work, so
// tests call those functions directly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pfaudit/pfaudit/audit/netns"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/input"
)

// Exit codes, declared once (README.md "Exit codes").
const (
	ExitOK       = 0 // nothing at or above --fail-on; the command did its job
	ExitFindings = 1 // audit/probe: something at or above --fail-on (or an open relay)
	ExitError    = 2 // usage error, unreadable or invalid input, internal error
	// ExitRolledBack: fix --apply failed and restored the backup.
	ExitRolledBack = 3
)

// Version is set at build time with -ldflags "-X .../cli.Version=...";
// otherwise it comes from the build information Go records (the module
// version with go install, the VCS revision with go build in a checkout).
var Version = "dev"

func init() {
	if Version == "dev" {
		Version = buildVersion(debug.ReadBuildInfo())
	}
}

// buildVersion is "v1.2.3", "v1.2.3 (rev 0123abcd)", "dev (rev
// 0123abcd, modified)" or "dev", from the build information.
func buildVersion(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" || strings.Contains(v, rev[:min(12, len(rev))]) {
		return v
	}
	rev = "rev " + rev[:min(12, len(rev))]
	if modified == "true" {
		rev += ", modified"
	}
	return v + " (" + rev + ")"
}

// Streams are the command's standard streams, injected for tests.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that Main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// Interrupted is the cause of the command context's cancellation when
// pfaudit receives SIGINT or SIGTERM; it exits with 128 + the signal's
// number, as shells report a process a signal ended (130, 143).
type Interrupted struct{ Signal os.Signal }

func (e *Interrupted) Error() string { return "interrupted by " + signalName(e.Signal) }

// Code is the exit status for the signal.
func (e *Interrupted) Code() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return ExitError
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// stopGrace is how long a command may take to wind down after a signal
// (every stage polls the context, so it needs milliseconds); after it, or
// at a second signal, pfaudit exits at once.
const stopGrace = 2 * time.Second

// Main runs pfaudit with args and returns the exit code.
func Main(args []string, in io.Reader, out, errw io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// A signal during the netns vantage must end like any other stage:
	// the namespace goes, the command returns, Main says why.
	netns.SetCallerHandlesSignals(true)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		var first os.Signal
		select {
		case first = <-sigs:
		case <-done:
			return
		}
		cancel(&Interrupted{Signal: first})
		// The command cleans up (probe namespaces, temporary files) as
		// it returns; a second signal or a command that does not return
		// in time ends the process here.
		select {
		case s := <-sigs:
			ie := &Interrupted{Signal: s}
			fmt.Fprintf(errw, "pfaudit: %v again; exiting at once\n", ie)
			os.Exit(ie.Code())
		case <-time.After(stopGrace):
			ie := &Interrupted{Signal: first}
			fmt.Fprintf(errw, "pfaudit: %v; did not stop within %v, exiting (clean-up may be incomplete)\n", ie, stopGrace)
			os.Exit(ie.Code())
		case <-done:
		}
	}()
	ow := &outWriter{w: out}
	st := Streams{In: in, Out: ow, Err: errw}
	root := newRootFor(st, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var ie *Interrupted
	if errors.As(context.Cause(ctx), &ie) {
		fmt.Fprintf(errw, "pfaudit: %v; stopped before finishing\n", ie)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == ExitRolledBack {
			// pfaudit fix --apply restored the backup before it returned:
			// its own status says so (README "Exit codes": 3).
			return exitCode(errw, err)
		}
		return ie.Code()
	}
	code := exitCode(errw, err)
	if ow.err != nil && code != ExitError {
		// A report that did not reach its reader (a full disk, a closed
		// file) must not pass for one that did.
		printError(errw, fmt.Errorf("writing the output: %w", ow.err))
		return ExitError
	}
	return code
}

func exitCode(errw io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !errors.Is(ee.err, errSilent) {
			printError(errw, ee.err)
		}
		return ee.code
	}
	// Anything cobra itself reports (unknown flag, bad args) is usage.
	printError(errw, err)
	return ExitError
}

// outWriter keeps the first error of writing standard output, whoever
// wrote (a renderer, cobra's help, fmt.Fprintln ignoring the result).
type outWriter struct {
	w   io.Writer
	err error
}

func (o *outWriter) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(p)
	if err != nil {
		o.err = err
	}
	return n, err
}

// outFile returns the *os.File behind standard output, for terminal
// checks.
func (st Streams) outFile() (*os.File, bool) {
	w := st.Out
	if o, ok := w.(*outWriter); ok {
		w = o.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// errSilent is returned when the command already printed what it had to say.
var errSilent = errors.New("silent")

func printError(w io.Writer, err error) {
	var de *diag.Error
	if errors.As(err, &de) {
		fmt.Fprintf(w, "pfaudit: %s\n", de.ErrorWithPosition())
		return
	}
	fmt.Fprintf(w, "pfaudit: %v\n", err)
}

// subcommands are pfaudit's commands in the order help lists them.
var subcommands = []struct {
	name  string
	build func(Streams) *cobra.Command
}{
	{"config", newConfigCmd},
	{"audit", newAuditCmd},
	{"rules", newRulesCmd},
	{"probe", newProbeCmd},
	{"fleet", newFleetCmd},
	{"fix", newFixCmd},
}

// NewRoot builds the command tree.
func NewRoot(st Streams) *cobra.Command {
	root := newRootCmd(st)
	for _, c := range subcommands {
		root.AddCommand(c.build(st))
	}
	return root
}

// newRootFor builds what running args needs: when args name a command
// outright (`pfaudit config -x`), only that command, since building every
// command's flags and help is start-up time that command does not use
// (issue 8); otherwise (help, completion, --version, a mistyped name
// that cobra suggests a command for) the whole tree.
func newRootFor(st Streams, args []string) *cobra.Command {
	if len(args) > 0 {
		for _, c := range subcommands {
			if args[0] == c.name {
				root := newRootCmd(st)
				root.AddCommand(c.build(st))
				// Not `pfaudit completion`: cobra need not build it.
				root.CompletionOptions.DisableDefaultCmd = true
				return root
			}
		}
	}
	return NewRoot(st)
}

func newRootCmd(st Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "pfaudit",
		Short: "Audit a Postfix server's relay policy",
		Long: `pfaudit reads Postfix's configuration the way Postfix does, decides for every
smtpd listener whether an untrusted client can relay, and prints the commands
that fix what it finds.`,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(st.In)
	root.SetOut(st.Out)
	root.SetErr(st.Err)
	return root
}

// inputFlags are the configuration-source flags `config` and `audit` share.
type inputFlags struct {
	input.Options
}

func (f *inputFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.Dir, "config-dir", "c", "", "Postfix configuration directory (default /etc/postfix)")
	fl.StringVar(&f.NDump, "postconf-n", "", "read collected postconf -n output from `FILE` (- for stdin) instead of a directory")
	fl.StringVar(&f.MDump, "postconf-M", "", "read collected postconf -M output from `FILE` (- for stdin)")
	fl.StringVar(&f.PDump, "postconf-P", "", "read collected postconf -P output from `FILE` (- for stdin)")
	fl.StringVar(&f.Defaults, "defaults", "auto", "where defaults come from: auto (postconf -d if installed), postconf, builtin")
	fl.StringVar(&f.Postconf, "postconf", "", "path of the postconf binary used for defaults")
	fl.StringVar(&f.FilesRoot, "files-root", "", "read the files the configuration names (/file lists, tables) under `DIR` (a copy of the server's files) instead of this host's; without it a collected dump's files are unknown")
}

// loadInput reads the configuration the flags name; every failure to do so
// is exit code 2.
func loadInput(cmd *cobra.Command, f inputFlags) (*postconf.Config, error) {
	cfg, err := input.Load(cmd.Context(), f.Options)
	if err := stopped(cmd); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, withCode(ExitError, err)
	}
	return cfg, nil
}

// stopped returns the interruption once the command's context is done
// (Main turns it into the exit status); nil while the command may go on.
func stopped(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if ctx == nil || ctx.Err() == nil {
		return nil
	}
	return withCode(ExitError, context.Cause(ctx))
}
