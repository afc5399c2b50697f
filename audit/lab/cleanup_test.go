//go:build linux

package lab_test

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// TestCleanupOnFailure runs a child copy of this test binary whose test
// starts an instance inside a namespace pair and then fails; the parent
// checks that the child's cleanup still stopped master, deleted the
// namespaces and removed the directory.
func TestCleanupOnFailure(t *testing.T) {
	if mode := os.Getenv("PFAUDIT_LAB_HELPER"); mode != "" {
		ns := lab.NewNetns(t, lab.NetnsOptions{})
		opt := lab.Strict()
		opt.Netns = ns
		in := lab.Start(t, opt)
		t.Logf("LEFTOVERS pid=%d srv=%s cli=%s dir=%s", in.MasterPID(), ns.Server, ns.Client, in.Dir())
		if mode == "hang" {
			time.Sleep(time.Minute) // until the parent kills us
		}
		t.Fatal("deliberate failure")
	}
	lab.RequireNetns(t)
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCleanupOnFailure$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PFAUDIT_LAB_HELPER=fail", "PFAUDIT_LAB_KEEP=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "deliberate failure") {
		t.Fatalf("child should have failed deliberately: %v\n%s", err, out)
	}
	left := parseLeftovers(t, string(out))
	left.verify(t)
	if strings.Contains(string(out), "lab: ") && strings.Contains(string(out), "queue file") {
		t.Errorf("child's cleanup reported queue files:\n%s", out)
	}
}

var leftoversRE = regexp.MustCompile(`LEFTOVERS pid=(\d+) srv=(\S+) cli=(\S+) dir=(\S+)`)

func parseLeftovers(t *testing.T, out string) *leftovers {
	t.Helper()
	m := leftoversRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("child did not report its instance:\n%s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	return &leftovers{pids: []int{pid}, netns: []string{m[2], m[3]}, dirs: []string{m[4]}}
}

// TestWatchdogAfterKill: a test binary killed with SIGKILL runs no
// cleanup; the watchdog must still stop its instance, delete its
// namespaces and remove its directory.
func TestWatchdogAfterKill(t *testing.T) {
	if os.Getenv("PFAUDIT_LAB_HELPER") != "" {
		t.Skip("helper run")
	}
	lab.RequireNetns(t)
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCleanupOnFailure$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PFAUDIT_LAB_HELPER=hang", "PFAUDIT_LAB_KEEP=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
	}()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if leftoversRE.MatchString(sc.Text()) {
			break
		}
	}
	left := parseLeftovers(t, out.String())
	// The child is ours: kill it by its PID, no cleanup can run.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if left.gone() || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	left.verify(t)
}
