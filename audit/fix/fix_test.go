package fix

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/postconf/input"
	"github.com/pfaudit/pfaudit/rules"
)

// copyConfig copies a testdata configuration's main.cf and master.cf into
// a temporary directory.
func copyConfig(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/configs", name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakePostfix is a postfix command that logs its arguments: `status` says
// no instance runs, `check` exits checkExit.
func fakePostfix(t *testing.T, checkExit int) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	bin, log = filepath.Join(dir, "postfix"), filepath.Join(dir, "log")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\ncase \"$3\" in status) exit 1;; check) exit " + itoa(checkExit) + ";; esac\nexit 0\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestPlanApplyRollbackOffline runs the whole cycle on a copy of a
// testdata configuration with no running instance, with Postfix's
// postconf and with the built-in editor.
func TestPlanApplyRollbackOffline(t *testing.T) {
	for _, builtin := range []bool{false, true} {
		t.Run(map[bool]string{false: "postconf", true: "builtin"}[builtin], func(t *testing.T) {
			if !builtin {
				requirePostconf(t)
			}
			dir := copyConfig(t, "docker-wide")
			before := takeSnapshot(t, dir)
			pf, log := fakePostfix(t, 0)
			o := Options{Input: input.Options{Dir: dir, Defaults: "builtin"}, BackupDir: t.TempDir(),
				Tools: Tools{Postfix: pf, BuiltinEditor: builtin}, FailOn: rules.Critical}
			ctx := context.Background()

			r, err := PlanOnly(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Exit != ExitChanges || r.Outcome != "planned" || len(r.Plan.Changes) != 1 {
				t.Fatalf("plan: exit %d outcome %s changes %d (%s)", r.Exit, r.Outcome, len(r.Plan.Changes), r.Failure)
			}
			d := r.Plan.Changes[0].Diff
			for _, want := range []string{"+mynetworks = 127.0.0.0/8", "-\t$docker_bridge", "-docker_bridge = 172.17.0.0/16", "+disable_vrfy_command = yes", "\t# compose networks"} {
				if !strings.Contains(d, want) {
					t.Errorf("the diff lacks %q:\n%s", want, d)
				}
			}
			before.same(t, dir)

			a, err := Apply(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if a.Outcome != "applied" || a.Exit != ExitOK {
				t.Fatalf("apply: %s exit %d: %s %+v", a.Outcome, a.Exit, a.Failure, a.Steps)
			}
			st, _ := os.Stat(filepath.Join(dir, "main.cf"))
			if st.Mode().Perm() != 0o640 {
				t.Errorf("main.cf mode %v, want 0640 kept", st.Mode())
			}
			calls, _ := os.ReadFile(log)
			if !strings.Contains(string(calls), "-c "+dir+" check") || strings.Contains(string(calls), "reload") {
				t.Errorf("postfix calls:\n%s", calls)
			}
			// Idempotent: nothing left to do.
			again, err := PlanOnly(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if again.Exit != ExitOK || !again.Plan.Empty() {
				t.Errorf("second plan: %s %v", again.Outcome, again.Plan.Commands)
			}
			rb, err := Rollback(ctx, o, "")
			if err != nil || rb.Outcome != "restored" {
				t.Fatalf("rollback: %v %+v", err, rb)
			}
			before.same(t, dir)
			l, err := List(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var statuses []string
			for _, b := range l.Backups {
				statuses = append(statuses, b.Status)
			}
			if strings.Join(statuses, ",") != "restored,snapshot" {
				t.Errorf("backups: %v", statuses)
			}
		})
	}
}

// TestApplyCheckFailureRollsBack: `postfix check` failing after the files
// are installed rolls them back byte-exact, exit 3.
func TestApplyCheckFailureRollsBack(t *testing.T) {
	dir := copyConfig(t, "docker-wide")
	before := takeSnapshot(t, dir)
	pf, _ := fakePostfix(t, 1)
	o := Options{Input: input.Options{Dir: dir, Defaults: "builtin"}, BackupDir: t.TempDir(),
		Tools: Tools{Postfix: pf, BuiltinEditor: true}}
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != "rolled-back" || r.Exit != ExitRolledBack || !strings.HasPrefix(r.Failure, "check failed") {
		t.Fatalf("%s exit %d: %s", r.Outcome, r.Exit, r.Failure)
	}
	before.same(t, dir)
	var buf bytes.Buffer
	if err := Write(&buf, "json", r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "action", "outcome", "plan", "backup", "steps", "failure", "exit"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if m["exit"].(float64) != ExitRolledBack {
		t.Errorf("JSON exit %v", m["exit"])
	}
}

func TestOnlyAndInputErrors(t *testing.T) {
	dir := copyConfig(t, "docker-wide")
	pf, _ := fakePostfix(t, 0)
	base := Options{Input: input.Options{Dir: dir, Defaults: "builtin"}, BackupDir: t.TempDir(), Tools: Tools{Postfix: pf, BuiltinEditor: true}}
	ctx := context.Background()

	o := base
	o.Only = []string{"PFA-EXP-003"}
	r, err := PlanOnly(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Plan.Commands) != 1 || !strings.Contains(r.Plan.Commands[0], "disable_vrfy_command = yes") {
		t.Errorf("--only PFA-EXP-003: %q", r.Plan.Commands)
	}

	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"unknown rule", func(o *Options) { o.Only = []string{"PFA-RELAY-0005"} }, "did you mean"},
		{"dump", func(o *Options) { o.Input = input.Options{NDump: "x.n"} }, "not postconf dumps"},
		{"missing dir", func(o *Options) { o.Input.Dir = filepath.Join(dir, "nope") }, "no readable Postfix configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base
			tc.mod(&o)
			for _, run := range []func() error{
				func() error { _, err := PlanOnly(ctx, o); return err },
				func() error { _, err := Apply(ctx, o); return err },
			} {
				err := run()
				var ue *UsageError
				if err == nil || !asUsage(err, &ue) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want a usage error with %q", err, tc.want)
				}
			}
		})
	}
}

// TestInterruptedFixRecovered: a backup left in-progress (the process
// died) is restored by the next run before it plans.
func TestInterruptedFixRecovered(t *testing.T) {
	dir := copyConfig(t, "docker-wide")
	before := takeSnapshot(t, dir)
	pf, _ := fakePostfix(t, 0)
	o := Options{Input: input.Options{Dir: dir, Defaults: "builtin"}, BackupDir: t.TempDir(), Tools: Tools{Postfix: pf, BuiltinEditor: true}, FailOn: rules.Critical}
	main := filepath.Join(dir, "main.cf")
	if _, err := createBackup(o.BackupDir, dir, "test", time.Now(), []string{main}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, []byte("half-applied = yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Apply(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Recovered) != 1 || r.Outcome != "applied" {
		t.Fatalf("recovered %v outcome %s: %s", r.Recovered, r.Outcome, r.Failure)
	}
	// The fix ran on the recovered files: rolling it back gives them.
	if _, err := Rollback(context.Background(), o, ""); err != nil {
		t.Fatal(err)
	}
	before.same(t, dir)
}

// TestUnverifiedFixNotApplied: an open relay whose only fix would stop
// this host relaying (static:OK before the guard and no
// permit_mynetworks) has no verified fix, and fix leaves it to a person
// rather than apply something unproven.
func TestUnverifiedFixNotApplied(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"main.cf": "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8\n" +
			"smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination\n",
		"master.cf": "smtp inet n - n - - smtpd\n",
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pf, _ := fakePostfix(t, 0)
	o := Options{Input: input.Options{Dir: dir, Defaults: "builtin"}, BackupDir: t.TempDir(),
		Tools: Tools{Postfix: pf, BuiltinEditor: true}, Only: []string{"PFA-RELAY-001", "PFA-RELAY-013"}}
	r, err := PlanOnly(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != ExitOK || !r.Plan.Empty() {
		t.Fatalf("plan: %s %v", r.Outcome, r.Plan.Commands)
	}
	found := false
	for _, f := range r.Plan.Unfixed {
		if f.ID == "PFA-RELAY-001" && strings.Contains(f.Message, "no verified automatic fix") {
			found = true
		}
	}
	if !found {
		t.Errorf("PFA-RELAY-001 is not reported as left without a verified fix: %+v", r.Plan.Unfixed)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "text", r); err != nil || !strings.Contains(buf.String(), "need a person") {
		t.Errorf("text: %v\n%s", err, buf.String())
	}
}

// TestRestartWaitsForMaster: a fix that needs a restart stops the master,
// waits until `postfix status` says it is gone, and starts it again.
func TestRestartWaitsForMaster(t *testing.T) {
	dir := t.TempDir()
	bin, log := filepath.Join(dir, "postfix"), filepath.Join(dir, "log")
	// The fake master needs two status polls to go away after stop.
	script := "#!/bin/sh\necho \"$3\" >> " + log + "\ncase \"$3\" in\n" +
		"stop) echo 2 > " + dir + "/dying;;\n" +
		"status) n=$(cat " + dir + "/dying 2>/dev/null || echo 0); if [ \"$n\" -gt 0 ]; then echo $((n-1)) > " + dir + "/dying; exit 0; fi; [ -e " + dir + "/up ] && exit 0; exit 1;;\n" +
		"start) touch " + dir + "/up;;\nesac\nexit 0\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	o := &Options{Tools: Tools{Postfix: bin}}
	if err := reload(context.Background(), o, "/etc/postfix", "restart"); err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	if got := strings.Join(strings.Fields(string(calls)), " "); got != "stop status status status start" {
		t.Errorf("calls %q", got)
	}
	if err := reload(context.Background(), o, "/etc/postfix", "reload"); err != nil {
		t.Fatal(err)
	}
	calls, _ = os.ReadFile(log)
	if !strings.HasSuffix(strings.TrimSpace(string(calls)), "reload") {
		t.Errorf("calls %q", calls)
	}
}
