package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// The watchdog covers what t.Cleanup cannot: a test binary that dies
// without running its cleanups (SIGINT, SIGKILL, os.Exit, a test timeout).
// One detached shell per test process waits for that process to end and
// then stops the instances, deletes the namespaces and removes the
// directories still listed in its list file. Normal cleanups take their
// entries off the list, so after a clean exit the watchdog finds it empty.

// watchScript: $1 PID, $2 its start time, $3 list file, $4 postfix, $5 ip.
// Field 22 of /proc/PID/stat is the start time; a recycled PID differs.
const watchScript = `pid=$1 st=$2 list=$3 postfix=$4 ip=$5
alive() { [ "$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f20)" = "$st" ]; }
while alive; do sleep 1; done
[ -f "$list" ] || exit 0
grep '^postfix ' "$list" | while read -r _ etc ns; do
	if [ -n "$ns" ]; then "$ip" netns exec "$ns" "$postfix" -c "$etc" stop; else "$postfix" -c "$etc" stop; fi
done
grep '^netns ' "$list" | while read -r _ n; do "$ip" netns del "$n"; done
grep '^dir ' "$list" | while read -r _ d; do rm -rf -- "$d"; done
rm -f "$list"
`

var watch struct {
	once    sync.Once
	mu      sync.Mutex
	list    string
	entries map[string]int
	err     error
}

func startWatchdog() {
	self := os.Getpid()
	st, err := procStart(self)
	if err != nil {
		watch.err = err
		return
	}
	watch.list = filepath.Join(os.TempDir(), fmt.Sprintf("pfaudit-lab-watch-%d", self))
	watch.entries = map[string]int{}
	if err := os.WriteFile(watch.list, nil, 0o600); err != nil {
		watch.err = err
		return
	}
	cmd := exec.Command("/bin/sh", "-c", watchScript, "pfaudit-lab-watchdog",
		itoa(self), fmt.Sprint(st), watch.list, bins.postfix, ipBin())
	// Own session: a ^C to the test's process group must not reach it.
	// No stdout/stderr: go test would wait for the pipe to close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		watch.err = err
		return
	}
	// Never waited for: it outlives this process by design. Release lets
	// the runtime forget it.
	_ = cmd.Process.Release()
}

// watchAdd lists a resource for the watchdog ("postfix ETC [NETNS]",
// "netns NAME", "dir PATH") and returns the function that takes it off.
func watchAdd(entry string) (remove func()) {
	watch.once.Do(startWatchdog)
	watch.mu.Lock()
	defer watch.mu.Unlock()
	if watch.err != nil {
		return func() {}
	}
	watch.entries[entry]++
	writeWatchList()
	return func() {
		watch.mu.Lock()
		defer watch.mu.Unlock()
		if watch.entries[entry]--; watch.entries[entry] <= 0 {
			delete(watch.entries, entry)
		}
		writeWatchList()
	}
}

// writeWatchList replaces the list atomically (the watchdog may read it at
// any moment). Called with watch.mu held.
func writeWatchList() {
	var b strings.Builder
	for e := range watch.entries {
		b.WriteString(e + "\n")
	}
	tmp := watch.list + ".tmp"
	if os.WriteFile(tmp, []byte(b.String()), 0o600) == nil {
		_ = os.Rename(tmp, watch.list)
	}
}
