//go:build linux

package lab_test

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// TestCleanupOnFailure runs a child copy of this test binary whose test
// starts an instance inside a namespace pair and then fails; the parent
// checks that the child's cleanup still stopped master, deleted the
// namespaces and removed the directory.
func TestCleanupOnFailure(t *testing.T) {
	if os.Getenv("PFAUDIT_LAB_HELPER") == "1" {
		ns := lab.NewNetns(t, lab.NetnsOptions{})
		opt := lab.Strict()
		opt.Netns = ns
		in := lab.Start(t, opt)
		t.Logf("LEFTOVERS pid=%d srv=%s cli=%s dir=%s", in.MasterPID(), ns.Server, ns.Client, in.Dir())
		t.Fatal("deliberate failure")
	}
	lab.RequireNetns(t)
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCleanupOnFailure$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PFAUDIT_LAB_HELPER=1", "PFAUDIT_LAB_KEEP=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "deliberate failure") {
		t.Fatalf("child should have failed deliberately: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`LEFTOVERS pid=(\d+) srv=(\S+) cli=(\S+) dir=(\S+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("child did not report its instance:\n%s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	var left leftovers
	left.pids = []int{pid}
	left.netns = []string{m[2], m[3]}
	left.dirs = []string{m[4]}
	left.verify(t)
	if strings.Contains(string(out), "lab: ") && strings.Contains(string(out), "queue file") {
		t.Errorf("child's cleanup reported queue files:\n%s", out)
	}
}
