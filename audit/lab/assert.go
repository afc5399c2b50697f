package lab

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// logLine matches the "NAME/PROGRAM[PID]: TEXT" part of a maillog line.
var logLine = regexp.MustCompile(`\S+/([a-z0-9_-]+)\[\d+\]: (.*)$`)

// AssertNothingSent fails the test (t.Errorf) unless the instance provably
// sent and queued nothing:
//   - no smtpd "disconnect from" line counts a data= or bdat= command
//     (smtpd logs per-command counts there, e.g. "ehlo=1 mail=1 rcpt=0/1
//     quit=1");
//   - no cleanup, qmgr or discard line shows a message (message-id=,
//     from=<...>, status=);
//   - every queue directory except pid/ and the socket directories private/
//     and public/ holds no file;
//   - every smtpd session that logged "connect from" also logged its
//     disconnect (otherwise its command counts are unknown).
//
// It first waits (up to 5s) for sessions the test has just closed to log
// their disconnect and for the incomplete queue file of an aborted
// transaction (an accepted RCPT opens one; RSET or QUIT discards it) to go.
// Cleanup calls it after the instance has stopped; tests may call it at any
// time.
func (in *Instance) AssertNothingSent(t testing.TB) {
	t.Helper()
	in.assertNothingSent(t, 5*time.Second)
}

func (in *Instance) assertNothingSent(t testing.TB, wait time.Duration) {
	t.Helper()
	in.waitQuiet(wait)
	log := in.Maillog()
	for _, p := range nothingSentProblems(log) {
		t.Errorf("lab: %s: %s", in.name, p)
	}
	if open := openSessions(log); open > 0 {
		t.Errorf("lab: %s: %d smtpd session(s) without a disconnect line: cannot prove nothing was sent", in.name, open)
	}
	for _, f := range queueFiles(in.queue) {
		t.Errorf("lab: %s: queue file %s: something entered the queue", in.name, f)
	}
}

// nothingSentProblems lists the maillog lines that show a message.
func nothingSentProblems(log string) []string {
	var problems []string
	for _, line := range strings.Split(log, "\n") {
		m := logLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		prog, text := m[1], m[2]
		switch prog {
		case "smtpd":
			if !strings.HasPrefix(text, "disconnect from ") {
				continue
			}
			for _, f := range strings.Fields(text) {
				if strings.HasPrefix(f, "data=") || strings.HasPrefix(f, "bdat=") {
					problems = append(problems, "DATA/BDAT was sent: "+line)
					break
				}
			}
		case "cleanup", "qmgr", "discard", "pickup", "bounce":
			if strings.Contains(text, "message-id=") || strings.Contains(text, "from=<") ||
				strings.Contains(text, "status=") || strings.Contains(text, "uid=") {
				problems = append(problems, "a message was handled: "+line)
			}
		}
	}
	return problems
}

// openSessions counts smtpd sessions whose disconnect line is missing.
func openSessions(log string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		m := logLine.FindStringSubmatch(line)
		if m == nil || m[1] != "smtpd" {
			continue
		}
		switch {
		case strings.HasPrefix(m[2], "connect from "):
			n++
		case strings.HasPrefix(m[2], "disconnect from "):
			n--
		}
	}
	return n
}

// waitQuiet gives smtpd time to log the disconnect of sessions the test
// has just closed (smtpd answers QUIT before it logs; stopping master
// earlier would lose the line), and cleanup time to remove the incomplete
// queue file of an aborted transaction.
func (in *Instance) waitQuiet(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if openSessions(in.Maillog()) <= 0 && len(queueFiles(in.queue)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queueFiles lists files in the queue directories that hold messages.
func queueFiles(queue string) []string {
	var files []string
	entries, err := os.ReadDir(queue)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		switch {
		case !e.IsDir():
			// quick-start and other control files live at the top.
			continue
		case e.Name() == "pid", e.Name() == "private", e.Name() == "public":
			// pid files and the services' sockets.
			continue
		}
		_ = filepath.WalkDir(filepath.Join(queue, e.Name()), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
	}
	return files
}
