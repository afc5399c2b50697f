// Package fix applies the remediation that `pfaudit audit` prints, and
// proves it: `pfaudit fix`.
//
// The commands are the findings' own (rules.Run has already verified each
// one against the relay model on a patched copy of the configuration in
// memory), in the order render.MakePlan gives them. Plan runs them on a
// staged copy of the files (stage.go: the real postconf -c STAGE where it
// is installed, else pfaudit's own editor) and shows a unified diff of
// every file. Apply then, holding a lock per configuration directory:
//
//  1. backs up every file it will touch, byte-exact with mode, owner and
//     modification time (backup.go), under a manifest marked in-progress;
//  2. installs the staged files, each by an atomic rename;
//  3. validates: re-reads the directory, re-runs the relay model and the
//     rules (the fixed findings are gone, no listener became broken or
//     more open, trusted clients still relay: rules.CompareAnalyses), and
//     runs `postfix -c DIR check`;
//  4. reloads (or restarts) a running instance of that directory and
//     probes it live (audit.Probe), requiring the live verdict of an
//     untrusted client to equal the new model's;
//  5. on any failure, or when the context is cancelled (SIGINT, SIGTERM),
//     restores the backup byte-exact and reloads again.
//
// A fix that is killed outright (SIGKILL, power loss) leaves its manifest
// in-progress; the next Apply or Rollback on that directory restores it
// before anything else.
package fix

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/input"
	"github.com/pfaudit/pfaudit/rules"
)

// Exit codes of `pfaudit fix` (README.md "pfaudit fix").
const (
	ExitOK         = 0 // nothing to do; or applied and verified
	ExitChanges    = 1 // plan: would change something; apply: verified, but findings at or above FailOn remain
	ExitError      = 2 // usage or input error: nothing changed
	ExitRolledBack = 3 // the fix failed and was rolled back
)

// Options configure a fix.
type Options struct {
	// Input names the configuration directory (Input.Dir, default
	// /etc/postfix) and where defaults come from. Dumps are refused: a
	// fix edits files.
	Input input.Options
	// Only restricts the fix to the findings of these rule IDs.
	Only []string
	// NoReload skips reloading the running instance (and so the probe,
	// which would only see the old configuration).
	NoReload bool
	// NoProbe skips the live probe after the reload.
	NoProbe bool
	// BackupDir is the root of the backups (default DefaultBackupDir).
	BackupDir string
	// FailOn: Apply exits ExitChanges when findings at or above it remain
	// (the zero value, rules.Info, counts every finding; the CLI's default
	// is high).
	FailOn rules.Severity
	// Policy is the site policy (nil: none).
	Policy *rules.Policy
	// Version names the pfaudit build in reports and manifests.
	Version string
	// Probe tunes the live probe (vantage, timeouts); targets come from
	// the configuration.
	Probe probe.Options
	// Tools are the Postfix programs to run.
	Tools Tools
	// ReloadWait is how long to let a reloaded master replace its smtpd
	// processes before probing (default 1s).
	ReloadWait time.Duration
	// Progress receives one line per step (nil: none).
	Progress io.Writer
	// Confirm, when set, is asked before anything changes; false cancels.
	Confirm func(*Plan) (bool, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.BackupDir == "" {
		o.BackupDir = DefaultBackupDir
	}
	if o.ReloadWait == 0 {
		o.ReloadWait = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "fix: "+format+"\n", args...)
	}
}

// Plan is what a fix would do.
type Plan struct {
	ConfigDir string `json:"config_directory"`
	// Fixes are the findings the commands remove.
	Fixes []rules.Finding `json:"fixes"`
	// Unfixed are the findings left as they are: no verified automatic
	// fix, not selected with --only, or a fix left out as a conflict.
	Unfixed []rules.Finding `json:"unfixed"`
	// Commands are the edits, in render.MakePlan's order, without the
	// reload: Apply reloads itself (Reload says how).
	Commands  []string `json:"commands"`
	Conflicts []string `json:"conflicts"`
	// Reload is what Postfix needs afterwards: "reload", "restart" or "".
	Reload  string   `json:"reload"`
	Changes []Change `json:"changes"`
	// Warnings are what postconf and postmap said while editing.
	Warnings []string `json:"warnings"`

	cfg      *postconf.Config
	before   []*relay.Analysis
	editsNet bool
	changed  *postconf.Config // the staged result
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Step is one step of Apply or Rollback and how it went.
type Step struct {
	Name   string `json:"name"` // lock, backup, install, validate, check, reload, probe, rollback
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Result is the outcome of Plan, Apply or Rollback.
type Result struct {
	SchemaVersion int    `json:"schema_version"`
	Tool          string `json:"tool"`
	Version       string `json:"version"`
	// Action is plan, apply, rollback or list-backups.
	Action    string `json:"action"`
	ConfigDir string `json:"config_directory"`
	// Outcome: nothing-to-do, planned, applied, rolled-back, restored,
	// cancelled, refused, listed.
	Outcome string `json:"outcome"`
	Plan    *Plan  `json:"plan,omitempty"`
	// Backup is the backup this run made (apply) or restored (rollback).
	Backup  *Backup   `json:"backup,omitempty"`
	Backups []*Backup `json:"backups,omitempty"`
	Steps   []Step    `json:"steps"`
	// Failure says what failed, for outcomes rolled-back and refused.
	Failure string `json:"failure,omitempty"`
	// Recovered lists backups of interrupted fixes restored first.
	Recovered []string `json:"recovered,omitempty"`
	// Remaining are the findings after a successful apply.
	Remaining []rules.Finding `json:"remaining,omitempty"`
	// Live is the probe's view after the fix, per listener.
	Live []render.ListenerReport `json:"live,omitempty"`
	Exit int                     `json:"exit"`
}

func (o *Options) result(action, dir string) *Result {
	return &Result{SchemaVersion: render.SchemaVersion, Tool: "pfaudit", Version: o.Version,
		Action: action, ConfigDir: dir, Steps: []Step{}}
}

func (r *Result) step(name string, err error, detail string) {
	s := Step{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		s.Detail = err.Error()
	}
	r.Steps = append(r.Steps, s)
}

// UsageError is an invocation or input problem (exit 2, nothing changed).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(format string, args ...any) error { return &UsageError{fmt.Errorf(format, args...)} }

// load reads the configuration directory the options name.
func load(ctx context.Context, o *Options) (*postconf.Config, error) {
	if o.Input.NDump != "" || o.Input.MDump != "" || o.Input.PDump != "" {
		return nil, usage("pfaudit fix edits a configuration directory (-c DIR), not postconf dumps")
	}
	if o.Input.Dir == "" {
		o.Input.Dir = rules.DefaultConfigDir
	}
	abs, err := filepath.Abs(o.Input.Dir)
	if err != nil {
		return nil, usage("%s: %v", o.Input.Dir, err)
	}
	o.Input.Dir = abs
	cfg, err := input.Load(ctx, o.Input)
	if err != nil {
		return nil, &UsageError{err}
	}
	return cfg, nil
}

// reread loads the configuration directory again with the same defaults.
func reread(cfg *postconf.Config) (*postconf.Config, error) {
	return postconf.LoadDir(cfg.Dir, cfg.Defaults, cfg.DefaultsSource)
}

// analyze runs the audit: the relay model and the rules.
func analyze(ctx context.Context, cfg *postconf.Config, o *Options) (*render.Report, []*relay.Analysis) {
	return audit.Run(ctx, cfg, audit.Options{Live: true, Policy: o.Policy, Version: o.Version})
}

// checkOnly refuses unknown rule IDs, with a suggestion.
func checkOnly(ids []string) error {
	for _, id := range ids {
		if _, ok := rules.Lookup(id); ok {
			continue
		}
		msg := fmt.Sprintf("--only: unknown rule %q", id)
		if s := rules.SuggestID(id); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return usage("%s", msg)
	}
	return nil
}

// maxRounds bounds how often MakePlan audits its own staged result for
// findings the earlier fixes revealed (removing a docker network from
// mynetworks leaves the parameter that named it unused).
const maxRounds = 4

// MakePlan audits cfg and stages the fix of its findings. The staged
// result is audited again, and the fixes of findings that only appear
// there are staged too, until nothing new is fixable: the plan is a fixed
// point, so a second run finds nothing to do.
func MakePlan(ctx context.Context, cfg *postconf.Config, o *Options) (*Plan, error) {
	o.defaults()
	if err := checkOnly(o.Only); err != nil {
		return nil, err
	}
	p := &Plan{ConfigDir: cfg.Dir, Fixes: []rules.Finding{}, Unfixed: []rules.Finding{},
		Commands: []string{}, Conflicts: []string{}, Changes: []Change{}, Warnings: []string{},
		cfg: cfg}
	var st *stage
	defer func() {
		if st != nil {
			st.close()
		}
	}()
	seen := map[string]bool{}
	cur := cfg
	for round := 0; round < maxRounds; round++ {
		rep, analyses := analyze(ctx, cur, o)
		if round == 0 {
			p.before = analyses
		}
		var chosen []rules.Finding
		for _, f := range rep.Findings {
			k := f.ID + "\x00" + f.Service + "\x00" + f.Parameter + "\x00" + f.Message
			if seen[k] {
				continue
			}
			seen[k] = true
			if len(f.Remediation) == 0 || (len(o.Only) > 0 && !slices.Contains(o.Only, f.ID)) {
				if round == 0 {
					p.Unfixed = append(p.Unfixed, f)
				}
				continue
			}
			chosen = append(chosen, f)
		}
		mp := render.MakePlan(&render.Report{ConfigDir: cfg.Dir, Findings: chosen})
		flag := rules.ConfigDirFlag(cfg.Dir)
		var cmds []string
		for _, c := range mp.Commands {
			switch c {
			case "postfix" + flag + " reload":
				if p.Reload == "" {
					p.Reload = "reload"
				}
			case "systemctl restart postfix", "postfix" + flag + " stop && postfix" + flag + " start":
				p.Reload = "restart"
			default:
				if !slices.Contains(p.Commands, c) {
					cmds = append(cmds, c)
				}
			}
		}
		p.Conflicts = append(p.Conflicts, mp.Conflicts...)
		for _, f := range chosen {
			if slices.ContainsFunc(f.Remediation, func(c string) bool { return slices.Contains(mp.Conflicts, c) }) {
				p.Unfixed = append(p.Unfixed, f)
			} else {
				p.Fixes = append(p.Fixes, f)
			}
		}
		if len(cmds) == 0 {
			break
		}
		if st == nil {
			var err error
			if st, err = newStage(cfg.Dir, o.Tools); err != nil {
				return nil, err
			}
		}
		for _, c := range cmds {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := st.run(ctx, c); err != nil {
				return nil, fmt.Errorf("staging the fix: %w", err)
			}
		}
		p.Commands = append(p.Commands, cmds...)
		changes, err := st.changes()
		if err != nil {
			return nil, err
		}
		// The staged files, read as Postfix reads them: what Apply
		// installs, and what the next round audits.
		if cur, err = stagedConfig(cfg, changes); err != nil {
			return nil, fmt.Errorf("the edited configuration does not read back: %w", err)
		}
		p.Changes, p.changed = changes, cur
	}
	if st != nil {
		p.Warnings = append(p.Warnings, st.warnings...)
	}
	p.editsNet = editsParam(p.Commands, "mynetworks")
	return p, nil
}

// stagedConfig is cfg with main.cf and master.cf replaced by their staged
// versions (positions keep the real file names).
func stagedConfig(cfg *postconf.Config, changes []Change) (*postconf.Config, error) {
	main, master := cfg.Main, cfg.Master
	for _, c := range changes {
		switch c.Path {
		case filepath.Join(cfg.Dir, "main.cf"):
			m, err := postconf.ParseMainCF(c.Path, c.content)
			if err != nil {
				return nil, err
			}
			main = m
		case filepath.Join(cfg.Dir, "master.cf"):
			m, err := postconf.ParseMasterCF(c.Path, c.content)
			if err != nil {
				return nil, err
			}
			master = m
		}
	}
	out := postconf.New(main, master, cfg.Defaults, cfg.DefaultsSource)
	out.Dir, out.LiveDefaults, out.Files = cfg.Dir, cfg.LiveDefaults, cfg.Files
	return out, nil
}

// editsParam reports whether a command sets or removes name, in main.cf or
// as a master.cf -o.
func editsParam(cmds []string, name string) bool {
	for _, c := range cmds {
		w, err := rules.ShellWords(c)
		if err != nil || len(w) < 3 || w[0] != "postconf" {
			continue
		}
		if w[1] == "-c" && len(w) >= 5 {
			w = w[2:]
		}
		for _, a := range w[2:] {
			k, _, _ := strings.Cut(a, "=")
			k = strings.TrimSpace(k)
			if k == name || strings.HasSuffix(k, "/"+name) {
				return true
			}
			if w[1] == "-M" && strings.Contains(a, "-o "+name+"=") {
				return true
			}
		}
	}
	return false
}

// verify checks an edited configuration against the plan: the fixed
// findings are gone and the relay model is no worse (the same check
// rules.Run made in memory, now on the files as written).
func verify(ctx context.Context, p *Plan, cfg *postconf.Config, o *Options) (*render.Report, []*relay.Analysis, error) {
	rep, after := analyze(ctx, cfg, o)
	var left []string
	for _, f := range p.Fixes {
		if slices.ContainsFunc(rep.Findings, func(g rules.Finding) bool {
			return g.ID == f.ID && g.Service == f.Service && g.Parameter == f.Parameter
		}) {
			left = append(left, fmt.Sprintf("%s (%s)", f.ID, findingWhere(f)))
		}
	}
	if len(left) > 0 {
		return rep, after, fmt.Errorf("the edited configuration still has %s", strings.Join(left, ", "))
	}
	if why := rules.CompareAnalyses(p.before, after, p.editsNet); why != "" {
		return rep, after, fmt.Errorf("the edited configuration is worse: %s", why)
	}
	return rep, after, nil
}

func findingWhere(f rules.Finding) string {
	var parts []string
	for _, s := range []string{f.Service, f.Parameter} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "main.cf"
	}
	return strings.Join(parts, " ")
}

// PlanOnly audits the directory and returns what a fix would do, changing
// nothing: exit 0 when there is nothing to do, 1 when there is.
func PlanOnly(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	cfg, err := load(ctx, &o)
	if err != nil {
		return nil, err
	}
	r := o.result("plan", cfg.Dir)
	p, err := MakePlan(ctx, cfg, &o)
	if err != nil {
		return nil, err
	}
	r.Plan = p
	if p.Empty() {
		r.Outcome, r.Exit = "nothing-to-do", ExitOK
		return r, nil
	}
	if _, _, err := verify(ctx, p, p.changed, &o); err != nil {
		r.Outcome, r.Failure, r.Exit = "refused", err.Error(), ExitError
		return r, nil
	}
	r.Outcome, r.Exit = "planned", ExitChanges
	return r, nil
}

// List returns the backups of the directory.
func List(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.Input.Dir == "" {
		o.Input.Dir = rules.DefaultConfigDir
	}
	dir, err := filepath.Abs(o.Input.Dir)
	if err != nil {
		return nil, usage("%v", err)
	}
	r := o.result("list-backups", dir)
	if r.Backups, err = ListBackups(o.BackupDir, dir); err != nil {
		return nil, err
	}
	r.Outcome = "listed"
	return r, nil
}

// isRoot reports whether pfaudit runs as root (files keep their owner only
// then).
func isRoot() bool { return os.Geteuid() == 0 }
