package fix

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/postconf/input"
	"github.com/pfaudit/pfaudit/rules"
)

// Lab tests: `pfaudit fix` against real Postfix instances (package
// audit/lab). Backups always go to a temporary directory.

// snapshot is a configuration directory's files: bytes, mode and owner.
type snapshot map[string]fileState

type fileState struct {
	data     []byte
	mode     os.FileMode
	uid, gid int
}

func takeSnapshot(t *testing.T, dir string) snapshot {
	t.Helper()
	s := snapshot{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		uid, gid := owner(st)
		s[e.Name()] = fileState{b, st.Mode(), uid, gid}
	}
	return s
}

// same fails the test when dir differs from s in any file's bytes, mode
// or owner, or in the set of files.
func (s snapshot) same(t *testing.T, dir string) {
	t.Helper()
	now := takeSnapshot(t, dir)
	for name, a := range s {
		b, ok := now[name]
		switch {
		case !ok:
			t.Errorf("%s: gone", name)
		case !bytes.Equal(a.data, b.data):
			t.Errorf("%s: content differs from before the fix:\n%s", name, unifiedDiff(name, string(a.data), string(b.data), false))
		case a.mode != b.mode || a.uid != b.uid || a.gid != b.gid:
			t.Errorf("%s: mode/owner %v %d:%d, was %v %d:%d", name, b.mode, b.uid, b.gid, a.mode, a.uid, a.gid)
		}
	}
	for name := range now {
		if _, ok := s[name]; !ok {
			t.Errorf("%s: left behind", name)
		}
	}
}

// nsPostfix writes a postfix wrapper that runs inside the server
// namespace: Postfix's commands refuse an inet_interfaces address that is
// not local, and the lab server's address is local only there.
func nsPostfix(t *testing.T, n *lab.Netns) string {
	t.Helper()
	real := lookTool("", "postfix")
	ip := lookTool("", "ip")
	p := filepath.Join(t.TempDir(), "postfix")
	script := "#!/bin/sh\nexec " + ip + " netns exec " + n.Server + " " + real + " \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// rcpt asks addr, from namespace ns, whether it takes RCPT TO:<to>, and
// returns the reply line. DATA is never sent.
func rcpt(t *testing.T, ns, addr, to string) string {
	t.Helper()
	conn, err := lab.DialFrom(ns, "tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return converse(t, conn, to)
}

func converse(t *testing.T, conn net.Conn, to string) string {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	reply := func() string {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("SMTP: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if len(line) < 4 || line[3] != '-' {
				return line
			}
		}
	}
	send := func(cmd string) string {
		if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return reply()
	}
	if g := reply(); !strings.HasPrefix(g, "220") {
		t.Fatalf("greeting %q", g)
	}
	send("EHLO client.example.org")
	send("MAIL FROM:<relaytest@example.org>")
	got := send("RCPT TO:<" + to + ">")
	send("RSET")
	send("QUIT")
	return got
}

// netnsProbe makes the fix's live probe an outsider: a temporary
// namespace joined to the server's namespace.
func netnsProbe(n *lab.Netns) probe.Options {
	return probe.Options{Vantage: probe.VantageNetns, Netns: probe.NetnsConfig{Parent: n.Server}, Timeout: time.Minute}
}

// TestFixOpenRelayProfilesLive fixes each open-relay profile on a real
// Postfix running in a namespace pair and proves it: the fix's own probe
// (an outsider in a temporary namespace) requires the live verdict to be
// closed, and afterwards the pair's client, a genuine outsider, is refused
// relay but can still send to the local domain, while this host (in
// mynetworks) still relays. A second run finds nothing to do.
func TestFixOpenRelayProfilesLive(t *testing.T) {
	lab.RequireNetns(t)
	for _, tc := range []struct {
		name   string
		main   []string
		master func(*lab.Options)
		ids    []string
		// thisHost: the server's own address stays in mynetworks.
		thisHost bool
	}{
		{name: "access-map-ok-before-guard", ids: []string{"PFA-RELAY-001", "PFA-RELAY-013"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32", "smtpd_relay_restrictions = check_client_access static:OK, permit_mynetworks, reject_unauth_destination"}},
		{name: "mynetworks-everyone", ids: []string{"PFA-RELAY-001", "PFA-RELAY-005"},
			main: []string{"mynetworks = 0.0.0.0/0"}},
		{name: "relay-domains-everything", ids: []string{"PFA-RELAY-001", "PFA-RELAY-020"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32", "relay_domains = static:ALL", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"}},
		{name: "master-cf-override", ids: []string{"PFA-RELAY-001"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32"},
			master: func(o *lab.Options) {
				o.SMTPArgs = []string{"-o smtpd_relay_restrictions=check_client_access,static:OK,permit_mynetworks,reject_unauth_destination"}
			}},
		{name: "empty-relay-restrictions-level-0", ids: []string{"PFA-RELAY-001"}, thisHost: true,
			main: []string{"mynetworks = 127.0.0.0/8 {host}/32", "smtpd_relay_restrictions =",
				"smtpd_recipient_restrictions = check_client_access static:OK, reject_unauth_destination"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := lab.NewNetns(t, lab.NetnsOptions{Subnet: netip.MustParsePrefix("10.215.0.0/24")})
			opt := lab.Options{Label: "fix", Netns: n, Main: tc.main}
			if tc.master != nil {
				tc.master(&opt)
			}
			in := lab.Start(t, opt)
			addr := in.ListenerAddr("smtp")
			third := "relaytest@example.net"
			local := "root@" + in.Hostname()
			if got := rcpt(t, n.Client, addr, third); !strings.HasPrefix(got, "250") {
				t.Fatalf("before the fix the outsider does not relay: %q", got)
			}
			before := takeSnapshot(t, in.ConfigDir())

			o := Options{Input: input.Options{Dir: in.ConfigDir()}, BackupDir: t.TempDir(),
				Probe: netnsProbe(n), Tools: Tools{Postfix: nsPostfix(t, n)}, FailOn: rules.Critical}
			plan, err := PlanOnly(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Exit != ExitChanges || plan.Outcome != "planned" {
				t.Fatalf("plan: exit %d outcome %s (%s)", plan.Exit, plan.Outcome, plan.Failure)
			}
			var ids []string
			for _, f := range plan.Plan.Fixes {
				ids = append(ids, f.ID)
			}
			for _, id := range tc.ids {
				if !slices.Contains(ids, id) {
					t.Errorf("the plan does not fix %s (fixes %v)", id, ids)
				}
			}
			before.same(t, in.ConfigDir()) // the plan changed nothing
			pid := in.MasterPID()

			r, err := Apply(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != "applied" || r.Exit != ExitOK {
				t.Fatalf("apply: outcome %s exit %d: %s\nsteps %+v", r.Outcome, r.Exit, r.Failure, r.Steps)
			}
			probed := false
			for _, s := range r.Steps {
				if s.Name == "probe" && s.OK && strings.Contains(s.Detail, "closed from netns") {
					probed = true
				}
			}
			if !probed {
				t.Errorf("no live proof among the steps: %+v", r.Steps)
			}
			if got := rcpt(t, n.Client, addr, third); !strings.HasPrefix(got, "5") {
				t.Errorf("after the fix the outsider gets %q, want a 5xx refusal", got)
			}
			if got := rcpt(t, n.Client, addr, local); !strings.HasPrefix(got, "250") {
				t.Errorf("after the fix mail for the local domain (%s) is refused: %q", local, got)
			}
			if tc.thisHost {
				if got := rcpt(t, n.Server, addr, third); !strings.HasPrefix(got, "250") {
					t.Errorf("after the fix this host (mynetworks) no longer relays: %q", got)
				}
			}
			if in.MasterPID() != pid {
				t.Errorf("the master changed: %d, was %d", in.MasterPID(), pid)
			}
			again, err := PlanOnly(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if again.Exit != ExitOK || !again.Plan.Empty() {
				t.Errorf("a second run still has something to do: %s\n%v", again.Outcome, again.Plan.Commands)
			}
			t.Logf("fixed with %q", r.Plan.Commands)
		})
	}
}

// failingReload is a postfix wrapper whose first reload fails; every
// other command (and the reload after the rollback) runs the real one.
func failingReload(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "postfix")
	script := "#!/bin/sh\nif [ \"$3\" = reload ] && [ ! -e " + dir + "/failed ]; then touch " + dir + "/failed; echo 'postfix: fatal: induced reload failure' >&2; exit 1; fi\nexec " + lookTool("", "postfix") + " \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// startOpen starts an open relay on loopback with XCLIENT, so that the
// probe's XCLIENT vantage is the outsider, and checks it is open.
func startOpen(t *testing.T) *lab.Instance {
	t.Helper()
	o := lab.Open()
	o.Main = append(o.Main, "mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = check_client_access static:OK, permit_mynetworks, reject_unauth_destination")
	in := lab.Start(t, o)
	assertRelays(t, in, true)
	return in
}

func assertRelays(t *testing.T, in *lab.Instance, want bool) {
	t.Helper()
	code, text := in.RCPTCheck(t, lab.ClientOpts{Addr: "203.0.113.5"}, "relaytest@example.org", "relaytest@example.net")
	if (code == 250) != want {
		t.Errorf("an outsider (XCLIENT 203.0.113.5) gets %d %s; want relay %v", code, text, want)
	}
}

func xclientProbe() probe.Options {
	return probe.Options{Vantage: probe.VantageXClient, Timeout: time.Minute}
}

// TestFixRollbackOnReloadFailure induces a failing reload: the files are
// restored byte-identical (bytes, mode, owner), the same master still
// runs, and the server behaves as before.
func TestFixRollbackOnReloadFailure(t *testing.T) {
	lab.Require(t)
	in := startOpen(t)
	if err := os.Chmod(filepath.Join(in.ConfigDir(), "main.cf"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(in.ConfigDir(), "main.cf"), 0, postfixGID(t)); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, in.ConfigDir())
	pid := in.MasterPID()
	o := Options{Input: input.Options{Dir: in.ConfigDir()}, BackupDir: t.TempDir(),
		Probe: xclientProbe(), Tools: Tools{Postfix: failingReload(t)}}
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "rolled-back" || r.Exit != ExitRolledBack || !strings.Contains(r.Failure, "induced reload failure") {
		t.Fatalf("outcome %s exit %d failure %q", r.Outcome, r.Exit, r.Failure)
	}
	before.same(t, in.ConfigDir())
	if in.MasterPID() != pid || !instanceRunning(context.Background(), &o, in.ConfigDir()) {
		t.Errorf("the server is not running as before (master %d, was %d)", in.MasterPID(), pid)
	}
	assertRelays(t, in, true)
	bs, _ := ListBackups(o.BackupDir, in.ConfigDir())
	if len(bs) != 1 || bs[0].Status != StatusRolledBack {
		t.Errorf("backups %+v, want one rolled-back", bs)
	}
}

func postfixGID(t *testing.T) int {
	t.Helper()
	st, err := os.Stat(lookTool("", "postdrop"))
	if err == nil {
		if _, gid := owner(st); gid != 0 {
			return gid // the postdrop group: any non-root group will do
		}
	}
	return 1
}

// TestFixRollbackOnProbeMismatch induces a live verdict that contradicts
// the fixed configuration, as a NAT or proxy in front of the server would:
// the probe is sent to another, open instance. The fix is rolled back.
func TestFixRollbackOnProbeMismatch(t *testing.T) {
	lab.Require(t)
	in := startOpen(t)
	decoy := lab.Start(t, lab.Open())
	before := takeSnapshot(t, in.ConfigDir())
	pid := in.MasterPID()
	popt := probe.Options{Vantage: probe.VantageRemote, Timeout: time.Minute,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, decoy.Addr())
		}}
	o := Options{Input: input.Options{Dir: in.ConfigDir()}, BackupDir: t.TempDir(), Probe: popt}
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "rolled-back" || r.Exit != ExitRolledBack || !strings.Contains(r.Failure, "probe failed") {
		t.Fatalf("outcome %s exit %d failure %q\nsteps %+v", r.Outcome, r.Exit, r.Failure, r.Steps)
	}
	t.Logf("failure: %s", r.Failure)
	before.same(t, in.ConfigDir())
	if in.MasterPID() != pid {
		t.Errorf("the master changed: %d, was %d", in.MasterPID(), pid)
	}
	assertRelays(t, in, true) // reloaded back to the old configuration
}

// TestFixRollbackCommand applies a fix, then --rollback restores the
// files byte-identical and the server relays again as before.
func TestFixRollbackCommand(t *testing.T) {
	lab.Require(t)
	in := startOpen(t)
	before := takeSnapshot(t, in.ConfigDir())
	o := Options{Input: input.Options{Dir: in.ConfigDir()}, BackupDir: t.TempDir(), Probe: xclientProbe(), FailOn: rules.Critical}
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "applied" {
		t.Fatalf("apply: %s: %s", r.Outcome, r.Failure)
	}
	assertRelays(t, in, false)
	rb, err := Rollback(context.Background(), o, "")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Outcome != "restored" || rb.Exit != ExitOK {
		t.Fatalf("rollback: %s: %s", rb.Outcome, rb.Failure)
	}
	before.same(t, in.ConfigDir())
	time.Sleep(500 * time.Millisecond)
	assertRelays(t, in, true)
	// Nothing left to roll back.
	if _, err := Rollback(context.Background(), o, ""); err == nil {
		t.Error("a second rollback found something to restore")
	}
}

// TestFixLockRefusesConcurrentRuns: while one fix holds the lock of a
// directory, another is refused at once and changes nothing.
func TestFixLockRefusesConcurrentRuns(t *testing.T) {
	lab.Require(t)
	in := startOpen(t)
	before := takeSnapshot(t, in.ConfigDir())
	o := Options{Input: input.Options{Dir: in.ConfigDir()}, BackupDir: t.TempDir(), NoProbe: true}
	l, err := AcquireLock(o.BackupDir, in.ConfigDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(context.Background(), o)
	var ue *UsageError
	if err == nil || !asUsage(err, &ue) || !strings.Contains(err.Error(), ErrLocked.Error()) {
		t.Fatalf("second fix: %v, want a lock refusal", err)
	}
	before.same(t, in.ConfigDir())
	l.Release()
	if r, err := Apply(context.Background(), o); err != nil || r.Outcome != "applied" {
		t.Fatalf("after the lock is released: %v %+v", err, r)
	}
}

// signalBinary builds pfaudit once per test binary.
func buildPfaudit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pfaudit")
	goBin := lookTool("", "go")
	if goBin == "" {
		goBin = "/usr/local/go/bin/go"
	}
	cmd := execCommand(goBin, "build", "-o", bin, "github.com/pfaudit/pfaudit/cmd/pfaudit")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestFixSignalRollsBack runs the built binary and signals it as soon as
// it has replaced main.cf: SIGTERM and SIGINT roll back (exit 3, files
// byte-identical, server as before); SIGKILL cannot be caught, and the
// next run restores the backup it left in progress.
func TestFixSignalRollsBack(t *testing.T) {
	lab.Require(t)
	bin := buildPfaudit(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			in := startOpen(t)
			before := takeSnapshot(t, in.ConfigDir())
			pid := in.MasterPID()
			backups := t.TempDir()
			cmd := execCommand(bin, "fix", "-c", in.ConfigDir(), "--apply", "--yes", "--backup-dir", backups, "--format", "json")
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stderr)
			var log []string
			signalled := false
			for sc.Scan() {
				log = append(log, sc.Text())
				if !signalled && strings.HasPrefix(sc.Text(), "fix: installed") {
					if err := cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					signalled = true
				}
			}
			err = cmd.Wait()
			if !signalled {
				t.Fatalf("never saw the install; stderr:\n%s", strings.Join(log, "\n"))
			}
			code := cmd.ProcessState.ExitCode()
			if sig == syscall.SIGKILL {
				if code != -1 {
					t.Fatalf("exit %d after SIGKILL", code)
				}
				// The next run restores the interrupted fix first, and then
				// (here: --rollback) has nothing applied to restore.
				out, err := execCommand(bin, "fix", "-c", in.ConfigDir(), "--rollback", "--backup-dir", backups).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "interrupted") {
					t.Fatalf("recovery run: %v\n%s", err, out)
				}
			} else if code != ExitRolledBack {
				t.Fatalf("exit %d (%v), want %d\nstdout %s\nstderr:\n%s", code, err, ExitRolledBack, stdout.String(), strings.Join(log, "\n"))
			} else if !strings.Contains(stdout.String(), `"outcome": "rolled-back"`) || !strings.Contains(stdout.String(), "interrupted") {
				t.Errorf("output does not say it was interrupted and rolled back:\n%s", stdout.String())
			}
			before.same(t, in.ConfigDir())
			if in.MasterPID() != pid {
				t.Errorf("the master changed")
			}
			time.Sleep(300 * time.Millisecond)
			assertRelays(t, in, true)
		})
	}
}

// TestFixLockAcrossProcesses: a fix started while another process holds
// the lock exits 2 at once and changes nothing.
func TestFixLockAcrossProcesses(t *testing.T) {
	lab.Require(t)
	bin := buildPfaudit(t)
	in := startOpen(t)
	before := takeSnapshot(t, in.ConfigDir())
	backups := t.TempDir()
	l, err := AcquireLock(backups, in.ConfigDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	cmd := execCommand(bin, "fix", "-c", in.ConfigDir(), "--apply", "--yes", "--backup-dir", backups)
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != ExitError || !strings.Contains(string(out), "another pfaudit fix is running") {
		t.Fatalf("exit %d:\n%s", cmd.ProcessState.ExitCode(), out)
	}
	before.same(t, in.ConfigDir())
}
