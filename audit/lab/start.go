package lab

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	labelRE    = regexp.MustCompile(`^[A-Za-z0-9-]{1,20}$`)
	listenerRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// Start starts a private, non-delivering Postfix instance and registers its
// stop with t.Cleanup: "postfix stop", a bounded wait for the master process
// to exit (then SIGKILL of that PID only), AssertNothingSent, and removal
// of the directory (kept when the test failed and PFAUDIT_LAB_KEEP=1).
// Start calls Require first. Any error fails the test with the tail of the
// maillog.
//
// The first instance of each test binary (and every instance with
// Options.Check) runs "postfix -c DIR check", which creates the queue tree
// and checks the installation; later instances get an exact copy of that
// tree (same directories, owners and modes). The check is about 85% of an
// instance's start-up CPU (~1.5 s of forks of postconf), and its result
// does not depend on the rest of the configuration. Then "postfix start"
// runs with postfix-script's quick-start file, which skips its own repeat
// of the check.
func Start(t testing.TB, opt Options) *Instance {
	t.Helper()
	Require(t)
	begin := time.Now()
	label := opt.Label
	if label == "" {
		label = "lab"
	}
	if !labelRE.MatchString(label) {
		t.Fatalf("lab: Label %q: want 1-20 letters, digits or '-'", label)
	}
	if opt.IPv6 && opt.Netns != nil {
		t.Fatalf("lab: IPv6 together with Netns is not supported")
	}
	if err := checkListenerNames(&opt); err != nil {
		t.Fatalf("lab: %v", err)
	}

	root, err := os.MkdirTemp("", "pfaudit-lab-")
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	// Values such as maillog_file_prefixes are lists: a path with blanks or
	// commas would be split.
	if strings.ContainsAny(root, " \t,$") {
		os.RemoveAll(root)
		t.Fatalf("lab: temporary directory %q contains blanks, commas or '$'; set TMPDIR", root)
	}
	in := &Instance{
		name:       nextName(label + "-"),
		root:       root,
		etc:        filepath.Join(root, "etc"),
		queue:      filepath.Join(root, "queue"),
		maillog:    filepath.Join(root, "log", "maillog"),
		netns:      opt.Netns,
		xclient:    opt.XCLIENT,
		postscreen: opt.Postscreen,
	}
	in.hostname = in.name + ".lab.test"
	in.unwatchDir = watchAdd("dir " + root)
	watchEntry := "postfix " + in.etc
	if opt.Netns != nil {
		watchEntry += " " + opt.Netns.Server
	}
	in.unwatchPostfix = watchAdd(watchEntry)
	t.Cleanup(func() { in.cleanup(t) })

	l := &layout{
		name: in.name, hostname: in.hostname,
		root: root, etc: in.etc, queue: in.queue,
		data: filepath.Join(root, "data"), logDir: filepath.Join(root, "log"),
	}
	if err := makeDirs(l); err != nil {
		t.Fatalf("lab: %v", err)
	}

	// A port taken by someone else between our probe and master's bind
	// makes master exit; allocate again then.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if err := allocate(l, &opt); err != nil {
			t.Fatalf("lab: %v", err)
		}
		in.listeners, in.order = l.listeners, l.order
		in.proxied = map[string]bool{}
		for _, li := range opt.Listeners {
			for _, a := range li.Args {
				if strings.Contains(strings.ReplaceAll(a, " ", ""), "smtpd_upstream_proxy_protocol=haproxy") {
					in.proxied[li.Name] = true
				}
			}
		}
		if err := writeConfig(l, &opt); err != nil {
			t.Fatalf("lab: %v", err)
		}
		lastErr = in.start(opt.Check)
		if lastErr == nil {
			break
		}
		if !strings.Contains(in.Maillog(), "Address already in use") {
			break
		}
		_ = os.Truncate(in.maillog, 0)
	}
	if lastErr != nil {
		t.Fatalf("lab: starting %s: %v\nmaillog (tail):\n%s", in.name, lastErr, tail(in.Maillog(), 20))
	}
	timeout := opt.StartTimeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	if err := in.waitReady(time.Now().Add(timeout)); err != nil {
		t.Fatalf("lab: %s: %v\nmaillog (tail):\n%s", in.name, err, tail(in.Maillog(), 20))
	}
	in.started = time.Since(begin)
	t.Logf("lab: %s started in %v, listeners %s", in.name, in.started.Round(time.Millisecond), in.describeListeners())
	return in
}

func checkListenerNames(opt *Options) error {
	seen := map[string]bool{"smtp": true, "smtp6": true}
	for _, li := range opt.Listeners {
		if !listenerRE.MatchString(li.Name) {
			return fmt.Errorf("listener name %q: want letters, digits, '_', '.', '-'", li.Name)
		}
		if seen[li.Name] {
			return fmt.Errorf("listener name %q used twice (smtp and smtp6 are the main listener's)", li.Name)
		}
		seen[li.Name] = true
	}
	return nil
}

func (in *Instance) describeListeners() string {
	var s []string
	for _, n := range in.order {
		s = append(s, n+"="+in.listeners[n].String())
	}
	return strings.Join(s, " ")
}

// makeDirs creates DIR/etc (root), DIR/queue (root, 0755), DIR/data
// (postfix, 0700) and DIR/log. DIR itself must be searchable by the
// postfix user, which MkdirTemp's 0700 is not.
func makeDirs(l *layout) error {
	if err := os.Chmod(l.root, 0o755); err != nil {
		return err
	}
	for _, d := range []string{l.etc, l.queue, l.data, l.logDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(l.data, uid, gid); err != nil {
		return err
	}
	return os.Chmod(l.data, 0o700)
}

// portMu and handedOut keep this binary from giving one port to two
// instances; other processes are handled by the retry in Start.
var (
	portMu    sync.Mutex
	handedOut = map[string]bool{}
)

// freePort listens on ADDR:0, closes, and returns the port the kernel chose.
func freePort(host string) (uint16, error) {
	portMu.Lock()
	defer portMu.Unlock()
	for i := 0; i < 50; i++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return 0, err
		}
		p := uint16(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		key := host + ":" + itoa(int(p))
		if !handedOut[key] {
			handedOut[key] = true
			return p, nil
		}
	}
	return 0, errors.New("no free port found")
}

// allocate chooses the listen address and ports. Inside a namespace the
// ports are fixed: the namespace is ours alone, and port 25 looks real.
func allocate(l *layout, opt *Options) error {
	l.listeners = map[string]netip.AddrPort{}
	l.order = nil
	add := func(name string, ap netip.AddrPort) {
		l.listeners[name] = ap
		l.order = append(l.order, name)
	}
	if opt.Netns != nil {
		l.host = opt.Netns.ServerAddr
		add("smtp", netip.AddrPortFrom(l.host, 25))
		for i, li := range opt.Listeners {
			add(li.Name, netip.AddrPortFrom(l.host, uint16(10025+i)))
		}
		return nil
	}
	l.host = netip.MustParseAddr("127.0.0.1")
	alloc := func(name string, host netip.Addr) error {
		p, err := freePort(host.String())
		if err != nil {
			return fmt.Errorf("allocating a port on %s: %v", host, err)
		}
		add(name, netip.AddrPortFrom(host, p))
		return nil
	}
	if err := alloc("smtp", l.host); err != nil {
		return err
	}
	if opt.IPv6 {
		if err := alloc("smtp6", netip.IPv6Loopback()); err != nil {
			return err
		}
	}
	for _, li := range opt.Listeners {
		if err := alloc(li.Name, l.host); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig writes main.cf, master.cf and the tables, runs postmap, and
// backdates everything: Postfix pauses to re-read a main.cf modified in the
// last seconds, which makes start take ~2.4 s instead of ~0.3 s.
func writeConfig(l *layout, opt *Options) error {
	ex := &expander{etc: l.etc, host: l.host, listeners: l.listeners}
	mainText, err := buildMain(l, opt, ex)
	if err != nil {
		return err
	}
	masterText, err := buildMaster(l, opt, ex)
	if err != nil {
		return err
	}
	files := map[string]string{"main.cf": mainText, "master.cf": masterText}
	for _, tb := range opt.Tables {
		if !filepath.IsLocal(tb.Name) || tb.Name == "main.cf" || tb.Name == "master.cf" {
			return fmt.Errorf("table %q: want a file name inside etc/ other than main.cf and master.cf", tb.Name)
		}
		c, err := ex.expand(tb.Content)
		if err != nil {
			return fmt.Errorf("table %s: %v", tb.Name, err)
		}
		files[tb.Name] = c
	}
	for name, text := range files {
		p := filepath.Join(l.etc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return err
		}
	}
	for _, tb := range opt.Tables {
		if tb.Postmap == "" {
			continue
		}
		if strings.ContainsAny(tb.Postmap, ":/ ") {
			return fmt.Errorf("table %s: Postmap %q: want a map type such as hash", tb.Name, tb.Postmap)
		}
		if _, err := runCmd(bins.postmap, "-c", l.etc, tb.Postmap+":"+filepath.Join(l.etc, tb.Name)); err != nil {
			return fmt.Errorf("table %s: %v", tb.Name, err)
		}
	}
	past := time.Now().Add(-10 * time.Second)
	return filepath.WalkDir(l.etc, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, past, past)
	})
}

// start prepares the queue tree (see Start) and runs "postfix start". The
// quick-start file makes postfix-script skip the second, identical check
// that start would run (postfix-script, "quick-stop"/"quick-start").
func (in *Instance) start(forceCheck bool) error {
	if err := in.prepareQueue(forceCheck); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(in.queue, "quick-start"), nil, 0o644); err != nil {
		return err
	}
	if _, err := runCmd(in.postfixArgv("start")...); err != nil {
		return err
	}
	pid, err := readPID(filepath.Join(in.queue, "pid", "master.pid"))
	if err != nil {
		return fmt.Errorf("master.pid: %v", err)
	}
	st, err := procStart(pid)
	if err != nil {
		return fmt.Errorf("master process %d: %v", pid, err)
	}
	in.pidMu.Lock()
	in.masterPID, in.masterStart = pid, st
	in.pidMu.Unlock()
	return nil
}

// skeleton is the queue tree the first "postfix check" of this process
// created; mu is held during that check so that concurrent starts wait for
// it instead of running their own.
var skeleton struct {
	mu   sync.Mutex
	dirs []queueDir
}

type queueDir struct {
	name     string
	mode     os.FileMode
	uid, gid int
}

func (in *Instance) prepareQueue(forceCheck bool) error {
	skeleton.mu.Lock()
	defer skeleton.mu.Unlock()
	if forceCheck || skeleton.dirs == nil {
		if _, err := runCmd(in.postfixArgv("check")...); err != nil {
			return err
		}
		if skeleton.dirs == nil {
			dirs, err := readQueueTree(in.queue)
			if err != nil {
				return err
			}
			skeleton.dirs = dirs
		}
		return nil
	}
	for _, d := range skeleton.dirs {
		p := filepath.Join(in.queue, d.name)
		if err := os.Mkdir(p, d.mode); err != nil && !os.IsExist(err) {
			return err
		}
		// Mkdir's mode passes through the umask; set it exactly.
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
		if err := os.Lchown(p, d.uid, d.gid); err != nil {
			return err
		}
	}
	return nil
}

// readQueueTree records the directories at the top of a queue tree.
func readQueueTree(queue string) ([]queueDir, error) {
	entries, err := os.ReadDir(queue)
	if err != nil {
		return nil, err
	}
	var dirs []queueDir
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		fi, err := os.Lstat(filepath.Join(queue, e.Name()))
		if err != nil {
			return nil, err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil, fmt.Errorf("%s: no owner information", e.Name())
		}
		dirs = append(dirs, queueDir{e.Name(), fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSetuid | os.ModeSticky), int(st.Uid), int(st.Gid)})
	}
	if len(dirs) == 0 {
		return nil, errors.New("postfix check created no queue directories")
	}
	return dirs, nil
}

// postfixArgv is "postfix -c ETC VERB", run inside the server namespace
// when there is one: Postfix's commands insist that inet_interfaces names
// local addresses.
func (in *Instance) postfixArgv(verb string) []string {
	argv := []string{bins.postfix, "-c", in.etc, verb}
	if in.netns != nil {
		argv = append([]string{ipBin(), "netns", "exec", in.netns.Server}, argv...)
	}
	return argv
}

// waitReady waits until every listener answers with a 220 (or postscreen's
// "220-" teaser).
func (in *Instance) waitReady(deadline time.Time) error {
	for _, name := range in.order {
		addr := in.listeners[name].String()
		var last error
		for {
			last = in.greet(addr, in.proxied[name])
			if last == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("listener %s (%s) gave no 220 in time: %v", name, addr, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func (in *Instance) greet(addr string, proxy bool) error {
	c, err := in.dial(addr, "", time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if proxy {
		// smtpd_upstream_proxy_protocol = haproxy: smtpd waits for the
		// PROXY header before it greets.
		if err := proxyHeader(textproto.NewConn(c), "", addr); err != nil {
			return err
		}
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220") {
		return fmt.Errorf("greeting %q", strings.TrimSpace(line))
	}
	if strings.HasPrefix(line, "220 ") {
		// smtpd: end the session properly so its disconnect line is
		// logged. postscreen ("220-"): just hang up; saying anything
		// before the final 220 would be a PREGREET.
		_, _ = c.Write([]byte("QUIT\r\n"))
		_, _ = r.ReadString('\n')
	}
	return nil
}

// dial connects from the namespace ns, or from the instance's client
// namespace, or (for a loopback instance) directly.
func (in *Instance) dial(addr, ns string, timeout time.Duration) (net.Conn, error) {
	if ns == "" && in.netns != nil {
		ns = in.netns.Client
	}
	if ns != "" {
		return DialFrom(ns, "tcp", addr, timeout)
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("lab: refusing to dial %s from the root namespace (loopback only)", addr)
	}
	return net.DialTimeout("tcp", addr, timeout)
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("bad pid %q", strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// procStart returns the start time of a live process (field 22 of
// /proc/PID/stat); an error means the process is gone or a zombie.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, errors.New("short /proc stat")
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, errors.New("process has exited")
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the process that was pid with start time st still
// runs (a recycled PID is another process).
func alive(pid int, st uint64) bool {
	cur, err := procStart(pid)
	return err == nil && cur == st
}

// Stop stops the instance now (Cleanup does it otherwise): "postfix stop",
// then a bounded wait for master's exit, SIGKILL of master's PID only if it
// does not exit. Safe to call more than once.
func (in *Instance) Stop() error {
	in.stopOnce.Do(func() { in.stopErr = in.stop() })
	return in.stopErr
}

func (in *Instance) stop() error {
	in.pidMu.Lock()
	pid, st := in.masterPID, in.masterStart
	in.pidMu.Unlock()
	if pid == 0 {
		// Start may have failed after master came up.
		p, err := readPID(filepath.Join(in.queue, "pid", "master.pid"))
		if err != nil {
			return nil
		}
		s, err := procStart(p)
		if err != nil || !strings.Contains(cmdline(p), "master") {
			return nil
		}
		pid, st = p, s
	}
	if !alive(pid, st) {
		return nil
	}
	_, stopErr := runCmd(in.postfixArgv("stop")...)
	if stopErr != nil && alive(pid, st) {
		// postfix stop could not run (say, the namespace is gone): send
		// the signal it would have sent. master(8) stops on SIGTERM.
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid, st) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("master %d did not exit within 10s of postfix stop (%v); killed it", pid, stopErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + itoa(pid) + "/cmdline")
	return string(b)
}

func (in *Instance) cleanup(t testing.TB) {
	if in.MasterPID() != 0 {
		in.waitQuiet(5 * time.Second)
	}
	if err := in.Stop(); err != nil {
		t.Errorf("lab: %s: %v", in.name, err)
	}
	in.unwatchPostfix()
	if in.MasterPID() != 0 {
		in.assertNothingSent(t, 0)
	}
	if t.Failed() {
		t.Logf("lab: %s maillog (tail):\n%s", in.name, tail(in.Maillog(), 30))
		if os.Getenv("PFAUDIT_LAB_KEEP") == "1" {
			t.Logf("lab: kept %s", in.root)
			in.unwatchDir()
			return
		}
	}
	if err := os.RemoveAll(in.root); err != nil {
		t.Errorf("lab: removing %s: %v", in.root, err)
	}
	in.unwatchDir()
}
