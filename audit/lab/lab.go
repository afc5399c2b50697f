// Package lab starts private, non-delivering Postfix instances for tests.
//
// Every instance lives in its own temporary directory (etc/, queue/, data/,
// log/), listens on loopback ports chosen by the harness (or on an address
// inside a network namespace pair created by NewNetns), has its own instance
// name, cannot deliver anything (every transport is discard:, no smtp, lmtp,
// local or pipe service exists, and smtpd_data_restrictions = reject refuses
// DATA and BDAT), and is stopped by t.Cleanup, which also proves that nothing
// was sent (see AssertNothingSent).
//
// Tests that use the package call Start (which calls Require): without the
// Postfix binaries or root the test is skipped with the reason, unless the
// environment variable CI is "true", in which case it fails.
//
// Ready-made profiles (Defaults36, Strict, Open, MynetworksAll, Subnet,
// TrustNone, SubmissionOpen, Postscreen, Tarpit) return Options to start or
// adjust; they all authorise XCLIENT from loopback, so RCPTCheck can ask as
// an untrusted client (ClientOpts.Addr = "203.0.113.5").
//
// Placeholders are expanded in Options.Main, Options.Master,
// Options.SMTPArgs, Listener.Args and Table.Content, because ports are only
// known once Start has chosen them:
//
//	{etc}        the configuration directory (Postfix's own $config_directory
//	             works as well)
//	{host}       the address the listeners bind to (127.0.0.1, or the
//	             server namespace's address)
//	{port:NAME}  the port of listener NAME ("smtp" is the main listener)
//	{addr:NAME}  HOST:PORT of listener NAME
//
// Postfix's own syntax (${name}, $name, "-o { name = value }") never matches
// these patterns and is left alone.
//
// The recipe follows shared/reference/postfix-lab.md: tried on Debian 12 with
// Postfix 3.7.
package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options describe one instance. The zero value is an instance with
// compatibility_level = 3.6 and Postfix's defaults otherwise, no XCLIENT,
// and the fast (non-tarpit) error settings.
type Options struct {
	// Label names the instance in logs and in its instance name
	// (default "lab"): letters, digits and '-' only.
	Label string

	// CompatibilityLevel is written as compatibility_level (default "3.6").
	CompatibilityLevel string

	// Main holds main.cf settings as "name = value" (or "name=value"),
	// applied in order after the harness's own settings: a setting the
	// harness writes is replaced in place, a new one is appended, a later
	// duplicate wins. The settings that keep the instance private and
	// non-delivering (directories, identities, logging, the transports,
	// smtpd_data_restrictions) cannot be overridden. Placeholders are
	// expanded (see the package documentation).
	Main []string

	// Master holds extra master.cf lines, written verbatim after placeholder
	// expansion. inet services must name one of the instance's listen
	// addresses (HOST:PORT), and services running smtp, lmtp, local,
	// virtual, pipe or spawn are refused: nothing may leave the lab.
	Master []string

	// SMTPArgs are extra arguments of the main smtpd service (the "smtpd
	// pass" service when Postscreen is set), one per master.cf continuation
	// line, e.g. "-o smtpd_relay_restrictions=...".
	SMTPArgs []string

	// Listeners are extra smtpd listeners; the harness allocates their
	// ports. The main listener is named "smtp" (and "smtp6" with IPv6).
	Listeners []Listener

	// Tables are files written into etc/ before Postfix starts; refer to
	// them as TYPE:$config_directory/NAME (or TYPE:{etc}/NAME).
	Tables []Table

	// Postscreen puts postscreen(8) on the main port with an "smtpd pass"
	// service behind it.
	Postscreen bool

	// Tarpit keeps Postfix's default smtpd_error_sleep_time and soft/hard
	// error limits. Otherwise the harness sets smtpd_error_sleep_time = 0s
	// and limits of 1000 so that tests run fast.
	Tarpit bool

	// XCLIENT authorises 127.0.0.1 (and, inside a network namespace, the
	// client namespace's address) in smtpd_authorized_xclient_hosts.
	XCLIENT bool

	// IPv6 adds a twin of the main listener on [::1] named "smtp6" and sets
	// inet_protocols = all. Not available together with Netns.
	IPv6 bool

	// Netns, when set, starts Postfix inside n.Server, listening on
	// n.ServerAddr (main listener on port 25). Reach it with DialFrom from
	// n.Client only, never from the root namespace.
	Netns *Netns

	// Check runs "postfix -c DIR check" for this instance even when an
	// earlier instance of this test binary has already run it (see Start).
	Check bool

	// StartTimeout bounds the wait, after "postfix start" has returned, for
	// every listener's 220 (default 15s).
	StartTimeout time.Duration
}

// Listener is an extra smtpd service in master.cf.
type Listener struct {
	// Name is how ListenerAddr and the {port:NAME} and {addr:NAME}
	// placeholders refer to it, e.g. "submission" or "reinject".
	Name string
	// Args are the smtpd arguments, one per continuation line, e.g.
	// "-o smtpd_relay_restrictions=permit_mynetworks,reject".
	Args []string
}

// Table is a file written into the instance's etc/ directory.
type Table struct {
	Name    string // file name relative to etc/
	Content string // placeholders are expanded
	// Postmap, when set (e.g. "hash", "lmdb", "cdb"), runs
	// "postmap -c ETC TYPE:ETC/NAME" after writing the file.
	Postmap string
}

// ErrNotRunnable is wrapped by the reason Require reports.
var ErrNotRunnable = errors.New("lab: cannot run Postfix here")

var (
	probeOnce   sync.Once
	probeReason string
	bins        struct{ postfix, postconf, postmap string }
)

// Require skips the test with the reason when Postfix cannot be run here
// (binaries, root, or the postfix user and postdrop group missing). When the
// environment variable CI is "true" it fails the test instead: in CI the
// Postfix tests must run.
func Require(t testing.TB) {
	t.Helper()
	probeOnce.Do(func() { probeReason = probe() })
	skipOrFail(t, probeReason)
}

// skipOrFail skips the test for reason, or fails it when CI is "true";
// nothing when reason is empty.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if reason == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v: %s (CI=true: these tests may not be skipped)", ErrNotRunnable, reason)
		return
	}
	t.Skipf("%v: %s", ErrNotRunnable, reason)
}

func probe() string {
	if runtime.GOOS != "linux" {
		return "the lab runs on Linux only, not " + runtime.GOOS
	}
	if os.Geteuid() != 0 {
		return "needs root (Postfix's master must start as root)"
	}
	var missing []string
	for _, b := range []struct {
		name string
		dst  *string
	}{{"postfix", &bins.postfix}, {"postconf", &bins.postconf}, {"postmap", &bins.postmap}} {
		p, err := lookSbin(b.name)
		if err != nil {
			missing = append(missing, b.name)
			continue
		}
		*b.dst = p
	}
	if len(missing) > 0 {
		return "Postfix binaries not found: " + strings.Join(missing, ", ") +
			" (apt-get install postfix, see shared/reference/postfix-lab.md)"
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return "user postfix does not exist"
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		return "group postdrop does not exist"
	}
	out, err := exec.Command(bins.postconf, "-dh", "daemon_directory").Output()
	if err != nil {
		return "postconf -d failed: " + err.Error()
	}
	master := strings.TrimSpace(string(out)) + "/master"
	if _, err := os.Stat(master); err != nil {
		return "Postfix master not found: " + err.Error()
	}
	return ""
}

// lookSbin finds a command on PATH or in the sbin directories, which a
// test's PATH often lacks.
func lookSbin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// seq numbers instances and namespaces within this test binary; the PID is
// added to names so that parallel test binaries never clash.
var seq atomic.Int64

func nextName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1))
}

// Instance is a running private Postfix instance.
type Instance struct {
	name      string // multi_instance_name and syslog_name
	hostname  string
	root      string // DIR
	etc       string // DIR/etc
	queue     string // DIR/queue
	maillog   string // DIR/log/maillog
	listeners map[string]netip.AddrPort
	// proxied names the listeners that expect a PROXY header.
	proxied    map[string]bool
	order      []string
	netns      *Netns
	xclient    bool
	postscreen bool
	started    time.Duration

	pidMu       sync.Mutex
	masterPID   int
	masterStart uint64 // process start time, guards against PID reuse
	stopOnce    sync.Once
	stopErr     error

	unwatchPostfix, unwatchDir func() // take entries off the watchdog's list
}

// Addr is the main listener's address, "127.0.0.1:PORT" (or
// "ADDR:25" inside a network namespace).
func (in *Instance) Addr() string { return in.listeners["smtp"].String() }

// ListenerAddr is the address of the listener with that name ("smtp" is the
// main one), or "" when there is none.
func (in *Instance) ListenerAddr(name string) string {
	ap, ok := in.listeners[name]
	if !ok {
		return ""
	}
	return ap.String()
}

// Listeners lists the listener names in master.cf order.
func (in *Instance) Listeners() []string { return append([]string(nil), in.order...) }

// ConfigDir is the absolute configuration directory (DIR/etc), the
// argument of postconf -c and postfix -c.
func (in *Instance) ConfigDir() string { return in.etc }

// Dir is the instance's root directory holding etc/, queue/, data/, log/.
func (in *Instance) Dir() string { return in.root }

// Name is the instance's multi_instance_name and syslog_name.
func (in *Instance) Name() string { return in.name }

// Hostname is the instance's myhostname as written by the harness (a Main
// override of myhostname is not reflected).
func (in *Instance) Hostname() string { return in.hostname }

// Netns is the namespace pair the instance runs in, or nil.
func (in *Instance) Netns() *Netns { return in.netns }

// XCLIENT reports whether the harness authorised XCLIENT.
func (in *Instance) XCLIENT() bool { return in.xclient }

// MasterPID is the PID of the instance's master process (0 before start).
func (in *Instance) MasterPID() int {
	in.pidMu.Lock()
	defer in.pidMu.Unlock()
	return in.masterPID
}

// StartDuration is the time Start took, from its call to the last
// listener's 220.
func (in *Instance) StartDuration() time.Duration { return in.started }

// Maillog returns the instance's maillog so far ("" when there is none).
func (in *Instance) Maillog() string {
	b, err := os.ReadFile(in.maillog)
	if err != nil {
		return ""
	}
	return string(b)
}

// Postconf runs "postconf -c CONFIGDIR ARGS..." and returns its standard
// output; the error carries standard error.
func (in *Instance) Postconf(args ...string) (string, error) {
	return runCmd(append([]string{bins.postconf, "-c", in.etc}, args...)...)
}

// Reload runs "postfix -c CONFIGDIR reload": main.cf changes made with
// Postconf("-e", ...) take effect only after it (new smtpd processes).
func (in *Instance) Reload() error {
	_, err := runCmd(in.postfixArgv("reload")...)
	return err
}

// runCmd runs a command without MAIL_* variables from the test's
// environment (they would redirect Postfix to another configuration).
func runCmd(argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAIL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// postfix start leaves a daemon behind; should it ever keep our pipes
	// open, do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String() + stdout.String())
		return stdout.String(), fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, msg)
	}
	return stdout.String(), nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func itoa(i int) string { return strconv.Itoa(i) }
