package fix

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
)

// rollbackTimeout bounds restoring a backup and the reload after it. The
// rollback runs on a context of its own: the signal that cancelled the fix
// must not cancel its undoing.
const rollbackTimeout = 2 * time.Minute

// Apply plans the fix, then applies, validates, reloads, probes, and rolls
// back on any failure (see the package documentation). A returned error
// means nothing was changed (exit ExitError); a Result with Outcome
// "rolled-back" means the files are as they were (ExitRolledBack).
func Apply(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if o.Input.Dir == "" {
		o.Input.Dir = "/etc/postfix"
	}
	if err := checkOnly(o.Only); err != nil {
		return nil, err
	}
	cfg, err := load(ctx, &o)
	if err != nil {
		return nil, err
	}
	r := o.result("apply", cfg.Dir)
	lock, err := AcquireLock(o.BackupDir, cfg.Dir)
	if err != nil {
		return nil, &UsageError{err}
	}
	defer lock.Release()
	r.step("lock", nil, "")
	if r.Recovered, err = recoverInterrupted(ctx, &o, cfg.Dir); err != nil {
		return nil, err
	}
	if len(r.Recovered) > 0 {
		// The directory changed back: read it again.
		if cfg, err = load(ctx, &o); err != nil {
			return nil, err
		}
	}
	p, err := MakePlan(ctx, cfg, &o)
	if err != nil {
		return nil, err
	}
	r.Plan = p
	if p.Empty() {
		r.Outcome, r.Exit = "nothing-to-do", ExitOK
		return r, nil
	}
	// Nothing is installed that does not verify on the staged copy.
	if _, _, err := verify(ctx, p, p.changed, &o); err != nil {
		r.step("validate", err, "")
		r.Outcome, r.Failure, r.Exit = "refused", err.Error(), ExitError
		return r, nil
	}
	if o.Confirm != nil {
		ok, err := o.Confirm(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			r.Outcome, r.Exit = "cancelled", ExitError
			return r, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted before any change: %w", err)
	}

	var paths, fixed []string
	for _, c := range p.Changes {
		paths = append(paths, c.Path)
	}
	for _, f := range p.Fixes {
		d := f.ID + " " + findingWhere(f)
		if !slices.Contains(fixed, d) {
			fixed = append(fixed, d)
		}
	}
	b, err := createBackup(o.BackupDir, cfg.Dir, o.Version, o.Now(), paths, p.Commands, fixed)
	if err != nil {
		r.step("backup", err, "")
		return nil, err
	}
	r.Backup = b
	r.step("backup", nil, b.Dir())
	o.logf("backup %s written to %s", b.ID, b.Dir())

	running := instanceRunning(ctx, &o, cfg.Dir)
	fail := func(step string, err error) (*Result, error) {
		r.step(step, err, "")
		o.logf("%s failed: %v; rolling back", step, err)
		rerr := rollback(b, &o, cfg.Dir, running, p.Reload, r)
		r.Outcome, r.Exit = "rolled-back", ExitRolledBack
		r.Failure = fmt.Sprintf("%s failed: %v", step, err)
		if rerr != nil {
			r.Failure += fmt.Sprintf("; THE ROLLBACK FAILED TOO: %v (the backup is in %s)", rerr, b.Dir())
		}
		return r, nil
	}
	interrupted := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted (%v)", context.Cause(ctx))
		}
		return nil
	}

	// install
	for i, c := range p.Changes {
		if err := interrupted(); err != nil {
			return fail("install", err)
		}
		meta := b.Files[i]
		if !meta.Existed {
			// A new file (a table and its index) is created as
			// touch and postmap would create it: 0644, ours.
			meta = BackupFile{Mode: 0o644, UID: os.Getuid(), GID: os.Getgid()}
		}
		meta.ModTime = time.Time{}
		if err := installFile(c.Path, c.content, meta); err != nil {
			return fail("install", fmt.Errorf("%s: %w", c.Path, err))
		}
		sum := sha256.Sum256(c.content)
		b.Files[i].After = hex.EncodeToString(sum[:])
		o.logf("installed %s", c.Path)
	}
	if err := b.save(); err != nil {
		return fail("install", err)
	}
	r.step("install", nil, fmt.Sprintf("%d file(s)", len(p.Changes)))

	// validate: the files as written, read again.
	if err := interrupted(); err != nil {
		return fail("validate", err)
	}
	now, err := reread(cfg)
	if err != nil {
		return fail("validate", err)
	}
	rep, analyses, err := verify(ctx, p, now, &o)
	if err != nil {
		return fail("validate", err)
	}
	r.step("validate", nil, "the fixed findings are gone; no listener is broken or more open; trusted clients still relay")
	o.logf("validated")
	if bin := lookTool(o.Tools.Postfix, "postfix"); bin != "" {
		if err := interrupted(); err != nil {
			return fail("check", err)
		}
		if err := postfixCmd(ctx, bin, cfg.Dir, "check"); err != nil {
			return fail("check", err)
		}
		r.step("check", nil, "postfix check")
	}

	// reload and probe
	switch {
	case o.NoReload:
		r.step("reload", nil, "skipped (--no-reload); the probe is skipped too: the running server still has the old configuration")
	case !running:
		r.step("reload", nil, "skipped: no running Postfix uses "+cfg.Dir)
	default:
		if err := interrupted(); err != nil {
			return fail("reload", err)
		}
		if err := reload(ctx, &o, cfg.Dir, p.Reload); err != nil {
			return fail("reload", err)
		}
		r.step("reload", nil, "postfix "+reloadVerb(p.Reload))
		o.logf("reloaded")
		if o.NoProbe {
			r.step("probe", nil, "skipped (--no-probe)")
			break
		}
		if err := sleepCtx(ctx, o.ReloadWait); err != nil {
			return fail("probe", fmt.Errorf("interrupted (%v)", context.Cause(ctx)))
		}
		detail, err := proveLive(ctx, &o, now, analyses, rep)
		if err == nil {
			err = interrupted()
		}
		if err != nil {
			return fail("probe", err)
		}
		r.Live = rep.Listeners
		r.step("probe", nil, detail)
		o.logf("probe: %s", detail)
	}
	if err := interrupted(); err != nil {
		return fail("finish", err)
	}
	if err := b.setStatus(StatusApplied, ""); err != nil {
		return fail("finish", err)
	}
	r.Outcome, r.Exit = "applied", ExitOK
	r.Remaining = rep.Findings
	for _, f := range rep.Findings {
		if f.Severity >= o.FailOn {
			r.Exit = ExitChanges
		}
	}
	return r, nil
}

// rollback restores b and reloads a running instance again.
func rollback(b *Backup, o *Options, dir string, running bool, how string, r *Result) error {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	err := b.restore()
	r.step("rollback", err, "restored backup "+b.ID+" byte-exact")
	if err == nil {
		err = b.setStatus(StatusRolledBack, r.failureSoFar())
	}
	if running && !o.NoReload {
		rerr := reload(ctx, o, dir, how)
		r.step("reload", rerr, "postfix "+reloadVerb(how)+" after the rollback")
		err = errors.Join(err, rerr)
	}
	return err
}

func (r *Result) failureSoFar() string {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		if !r.Steps[i].OK {
			return r.Steps[i].Name + ": " + r.Steps[i].Detail
		}
	}
	return ""
}

// recoverInterrupted restores the backups of fixes that died in progress.
// The caller holds the lock, so no live fix owns them.
func recoverInterrupted(ctx context.Context, o *Options, dir string) ([]string, error) {
	bs, err := ListBackups(o.BackupDir, dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		if b.Status != StatusInProgress {
			continue
		}
		o.logf("backup %s belongs to a fix that was interrupted; restoring it first", b.ID)
		if err := b.restore(); err != nil {
			return out, fmt.Errorf("restoring backup %s of an interrupted fix: %w", b.ID, err)
		}
		if err := b.setStatus(StatusRolledBack, "recovered: the fix was interrupted before it finished"); err != nil {
			return out, err
		}
		out = append(out, b.ID)
	}
	if len(out) > 0 && !o.NoReload && instanceRunning(ctx, o, dir) {
		if err := reload(ctx, o, dir, "reload"); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Rollback restores a backup (the latest applied one unless id is set),
// first saving the current files as a snapshot backup, and reloads.
func Rollback(ctx context.Context, o Options, id string) (*Result, error) {
	o.defaults()
	if o.Input.Dir == "" {
		o.Input.Dir = "/etc/postfix"
	}
	cfg, err := load(ctx, &o)
	if err != nil {
		return nil, err
	}
	dir := cfg.Dir
	r := o.result("rollback", dir)
	lock, err := AcquireLock(o.BackupDir, dir)
	if err != nil {
		return nil, &UsageError{err}
	}
	defer lock.Release()
	if r.Recovered, err = recoverInterrupted(ctx, &o, dir); err != nil {
		return nil, err
	}
	bs, err := ListBackups(o.BackupDir, dir)
	if err != nil {
		return nil, err
	}
	var b *Backup
	for i := len(bs) - 1; i >= 0; i-- {
		if (id == "" && bs[i].Status == StatusApplied) || (id != "" && bs[i].ID == id) {
			b = bs[i]
			break
		}
	}
	if b == nil {
		if id != "" {
			return nil, usage("no backup %q of %s in %s", id, dir, o.BackupDir)
		}
		if len(r.Recovered) > 0 {
			r.Outcome = "restored"
			return r, nil
		}
		return nil, usage("no applied fix of %s to roll back in %s", dir, o.BackupDir)
	}
	if b.Status == StatusSnapshot || b.Status == StatusInProgress {
		return nil, usage("backup %s is a %s, not a fix", b.ID, b.Status)
	}
	var paths []string
	var changed []string
	for _, f := range b.Files {
		paths = append(paths, f.Path)
		cur, err := os.ReadFile(f.Path)
		sum := sha256.Sum256(cur)
		if f.After != "" && (err != nil || hex.EncodeToString(sum[:]) != f.After) {
			changed = append(changed, f.Path)
		}
	}
	snap, err := createBackup(o.BackupDir, dir, o.Version, o.Now(), paths, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := snap.setStatus(StatusSnapshot, "the files --rollback replaced with backup "+b.ID); err != nil {
		return nil, err
	}
	r.step("backup", nil, "current files saved as "+snap.ID)
	if len(changed) > 0 {
		r.step("backup", nil, "changed since the fix: "+strings.Join(changed, ", ")+"; that version is kept in "+snap.ID)
	}
	if err := b.restore(); err != nil {
		r.step("rollback", err, "")
		r.Outcome, r.Failure, r.Exit = "failed", err.Error(), ExitRolledBack
		return r, nil
	}
	r.step("rollback", nil, "restored backup "+b.ID+" byte-exact")
	if err := b.setStatus(StatusRestored, ""); err != nil {
		return nil, err
	}
	r.Backup = b
	if !o.NoReload && instanceRunning(ctx, &o, dir) {
		err := reload(context.WithoutCancel(ctx), &o, dir, "reload")
		r.step("reload", err, "postfix reload")
		if err != nil {
			r.Outcome, r.Failure, r.Exit = "failed", err.Error(), ExitRolledBack
			return r, nil
		}
	}
	r.Outcome, r.Exit = "restored", ExitOK
	return r, nil
}

// ---- Postfix ----

func reloadVerb(how string) string {
	if how == "restart" {
		return "stop && postfix start"
	}
	return "reload"
}

func postfixCmd(ctx context.Context, bin, dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, append([]string{"-c", dir}, args...)...)
	c.Env = cleanEnv()
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	// postfix start leaves the master behind; do not wait on its pipes.
	c.WaitDelay = 5 * time.Second
	if err := c.Run(); err != nil {
		return fmt.Errorf("postfix -c %s %s: %v: %s", dir, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	if s := out.String(); strings.Contains(s, "fatal:") {
		return fmt.Errorf("postfix -c %s %s: %s", dir, strings.Join(args, " "), strings.TrimSpace(s))
	}
	return nil
}

// instanceRunning reports whether a master runs for dir (`postfix status`
// exits 0 only then).
func instanceRunning(ctx context.Context, o *Options, dir string) bool {
	bin := lookTool(o.Tools.Postfix, "postfix")
	if bin == "" {
		return false
	}
	return postfixCmd(ctx, bin, dir, "status") == nil
}

// reload makes the running master read the configuration again: a reload,
// or, for settings only a new master reads (inet_interfaces), a stop and
// start.
func reload(ctx context.Context, o *Options, dir, how string) error {
	bin := lookTool(o.Tools.Postfix, "postfix")
	if bin == "" {
		return errors.New("postfix is not installed")
	}
	if how != "restart" {
		return postfixCmd(ctx, bin, dir, "reload")
	}
	if err := postfixCmd(ctx, bin, dir, "stop"); err != nil {
		return err
	}
	// postfix stop returns before the master has exited and freed its
	// ports.
	deadline := time.Now().Add(30 * time.Second)
	for instanceRunning(ctx, o, dir) {
		if time.Now().After(deadline) {
			return errors.New("postfix stop: the master did not exit within 30s")
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return postfixCmd(ctx, bin, dir, "start")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- live proof ----

// proveLive probes the reloaded server and requires every listener an
// untrusted vantage reached to behave as the new model predicts.
func proveLive(ctx context.Context, o *Options, cfg *postconf.Config, analyses []*relay.Analysis, rep *render.Report) (string, error) {
	popt := o.Probe
	if _, err := audit.Probe(ctx, cfg, analyses, rep, audit.ProbeOptions{Probe: popt}); err != nil {
		return "", err
	}
	for _, f := range rep.Findings {
		if f.ID == audit.DriftID {
			return "", fmt.Errorf("the live server does not behave as the fixed configuration predicts: %s", f.Message)
		}
	}
	var proven, unproven []string
	for _, lr := range rep.Listeners {
		ev := lr.Probe
		if ev == nil {
			continue
		}
		want := lr.Verdict
		if lr.LoopbackOnly && lr.WouldBe != "" && ev.Vantage != probe.VantageLoopback {
			want = lr.WouldBe
		}
		switch {
		case ev.Vantage == probe.VantageLoopback || ev.Vantage == probe.VantageNone:
			unproven = append(unproven, fmt.Sprintf("%s: no untrusted vantage (%s)", lr.Service, ev.Note))
		case ev.Verdict == string(want):
			proven = append(proven, fmt.Sprintf("%s %s from %s", lr.Service, ev.Verdict, ev.Vantage))
		case want == relay.Unknown && ev.Verdict == probe.VerdictClosed:
			proven = append(proven, fmt.Sprintf("%s closed from %s (the model could not decide)", lr.Service, ev.Vantage))
		default:
			return "", fmt.Errorf("%s: the live server is %q for an untrusted client (%s vantage), the fixed configuration predicts %q: %s",
				lr.Service, ev.Verdict, ev.Vantage, want, ev.Note)
		}
	}
	if len(proven) == 0 {
		why := "no smtpd listener of " + cfg.Dir + " is reachable from this host"
		if len(unproven) > 0 {
			why = strings.Join(unproven, "; ")
		}
		return "", fmt.Errorf("the fix could not be proved live: %s (run with --no-probe to apply without the live proof)", why)
	}
	return strings.Join(append(proven, unproven...), "; "), nil
}
