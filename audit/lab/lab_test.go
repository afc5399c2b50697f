package lab_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

const (
	sender    = "s@example.org"
	remote    = "user@example.net" // a third-party domain: relaying
	untrusted = "203.0.113.5"      // RFC 5737, impersonated via XCLIENT
)

// check is one RCPT question and the answer the profile must give.
type check struct {
	client   lab.ClientOpts
	to       string
	wantCode int
	wantText string // substring of the reply text
}

var (
	fromLoopback = lab.ClientOpts{}
	fromOutside  = lab.ClientOpts{Addr: untrusted}
)

// leftovers collects what cleanup must have removed, checked after the
// group of parallel subtests (and so their cleanups) has finished.
type leftovers struct {
	mu    sync.Mutex
	pids  []int
	dirs  []string
	netns []string
}

func (l *leftovers) add(in *lab.Instance, ns *lab.Netns) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pids = append(l.pids, in.MasterPID())
	l.dirs = append(l.dirs, in.Dir())
	if ns != nil {
		l.netns = append(l.netns, ns.Server, ns.Client)
	}
}

// gone reports whether nothing is left.
func (l *leftovers) gone() bool {
	for _, pid := range l.pids {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:]); len(f) > 0 && f[0] != "Z" {
				return false
			}
		}
	}
	for _, d := range l.dirs {
		if _, err := os.Stat(d); err == nil {
			return false
		}
	}
	for _, ns := range l.netns {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			return false
		}
	}
	return true
}

func (l *leftovers) verify(t *testing.T) {
	t.Helper()
	for _, pid := range l.pids {
		if pid == 0 {
			t.Errorf("instance without a master PID")
			continue
		}
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+1:]); len(f) > 0 && f[0] != "Z" {
				t.Errorf("master %d still runs after cleanup: %s", pid, b)
			}
		}
	}
	for _, d := range l.dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("instance directory %s left behind", d)
		}
	}
	for _, ns := range l.netns {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("network namespace %s left behind", ns)
		}
	}
}

// TestProfiles starts every loopback profile and asks each the questions
// whose answers define it.
func TestProfiles(t *testing.T) {
	lab.Require(t)
	t.Parallel()
	const (
		tarpit = "smtpd_error_sleep_time = 1s\nsmtpd_soft_error_limit = 10\nsmtpd_hard_error_limit = 20\n"
		fast   = "smtpd_error_sleep_time = 0s\nsmtpd_soft_error_limit = 1000\nsmtpd_hard_error_limit = 1000\n"
	)
	cases := []struct {
		name   string
		opt    lab.Options
		checks []check
		// errors is what postconf -x says about the error limits: only
		// Tarpit keeps Postfix's delays (the probe's session planning is
		// tested against it).
		errors string
	}{
		{"Defaults36", lab.Defaults36(), []check{
			{fromLoopback, remote, 250, "2.1.5"},
			{fromOutside, remote, 454, "4.7.1 <user@example.net>: Relay access denied"},
		}, fast},
		{"Strict", lab.Strict(), []check{
			{fromLoopback, remote, 250, "2.1.5"},
			{fromOutside, remote, 554, "5.7.1 <user@example.net>: Relay access denied"},
			// Local mail is no relaying.
			{fromOutside, "postmaster@localhost", 250, "2.1.5"},
		}, fast},
		{"Open", lab.Open(), []check{
			{fromOutside, remote, 250, "2.1.5"},
		}, fast},
		{"MynetworksAll", lab.MynetworksAll(), []check{
			{fromOutside, remote, 250, "2.1.5"},
		}, fast},
		{"TrustNone", lab.TrustNone(), []check{
			{fromLoopback, remote, 454, "Relay access denied"},
			{fromOutside, remote, 454, "Relay access denied"},
		}, fast},
		{"SubmissionOpen", lab.SubmissionOpen(), []check{
			{fromOutside, remote, 554, "5.7.1"},
			{lab.ClientOpts{Listener: "submission", Addr: untrusted}, remote, 250, "2.1.5"},
		}, fast},
		{"Tarpit", lab.Tarpit(), []check{
			{fromOutside, remote, 554, "5.7.1"},
		}, tarpit},
		{"IPv6", withIPv6(lab.Strict()), []check{
			{lab.ClientOpts{Listener: "smtp6"}, remote, 250, "2.1.5"},
			{lab.ClientOpts{Listener: "smtp6", Addr: "2001:db8::5"}, remote, 554, "5.7.1"},
			{fromOutside, remote, 554, "5.7.1"},
		}, fast},
	}
	var left leftovers
	t.Run("group", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				in := lab.Start(t, tc.opt)
				left.add(in, nil)
				for _, c := range tc.checks {
					code, text := in.RCPTCheck(t, c.client, sender, c.to)
					if code != c.wantCode || !strings.Contains(text, c.wantText) {
						t.Errorf("%+v RCPT TO:<%s>: got %d %q, want %d %q", c.client, c.to, code, text, c.wantCode, c.wantText)
					}
				}
				got, err := in.Postconf("-x", "smtpd_error_sleep_time", "smtpd_soft_error_limit", "smtpd_hard_error_limit")
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.errors {
					t.Errorf("error settings:\n%swant\n%s", got, tc.errors)
				}
				in.AssertNothingSent(t)
			})
		}
	})
	left.verify(t)
}

func withIPv6(o lab.Options) lab.Options {
	o.IPv6 = true
	o.Label = "ipv6"
	return o
}

// TestPostscreen: postscreen answers first with a "220-" teaser and the
// final 220 comes later (after postscreen_greet_wait), then smtpd decides.
func TestPostscreen(t *testing.T) {
	lab.Require(t)
	t.Parallel()
	in := lab.Start(t, lab.Postscreen())
	c, err := net.DialTimeout("tcp", in.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	first, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "220-") {
		t.Errorf("first greeting line %q, want postscreen's 220- teaser", first)
	}
	var last string
	for last = first; strings.HasPrefix(last, "220-"); {
		if last, err = r.ReadString('\n'); err != nil {
			t.Fatalf("after %q: %v", first, err)
		}
	}
	if !strings.HasPrefix(last, "220 ") {
		t.Errorf("final greeting line %q, want 220", last)
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	if bye, _ := r.ReadString('\n'); !strings.HasPrefix(bye, "221") {
		t.Errorf("QUIT: %q", bye)
	}
	c.Close()
	code, text := in.RCPTCheck(t, fromOutside, sender, remote)
	if code != 554 {
		t.Errorf("through postscreen from %s: %d %s, want 554", untrusted, code, text)
	}
	if log := in.Maillog(); !strings.Contains(log, "/postscreen[") || !strings.Contains(log, "PASS NEW") {
		t.Errorf("maillog shows no postscreen PASS NEW:\n%s", log)
	}
}

// TestTables: table files land in etc/, hash tables are built by postmap,
// placeholders and $config_directory both name etc/.
func TestTables(t *testing.T) {
	lab.Require(t)
	t.Parallel()
	opt := lab.Defaults36()
	opt.Label = "tables"
	opt.Tables = []lab.Table{
		{Name: "clients.cidr", Content: "203.0.113.0/24 REJECT listed in clients.cidr\n"},
		{Name: "rcpt", Content: "blocked@example.net REJECT listed in rcpt\n", Postmap: "hash"},
	}
	opt.Main = []string{
		"smtpd_client_restrictions = check_client_access cidr:{etc}/clients.cidr",
		"smtpd_recipient_restrictions = check_recipient_access hash:$config_directory/rcpt",
	}
	in := lab.Start(t, opt)
	for _, c := range []check{
		{fromOutside, remote, 554, "listed in clients.cidr"},
		{lab.ClientOpts{Addr: "198.51.100.7"}, remote, 454, "Relay access denied"},
		{fromLoopback, "blocked@example.net", 554, "listed in rcpt"},
		{fromLoopback, remote, 250, "2.1.5"},
	} {
		code, text := in.RCPTCheck(t, c.client, sender, c.to)
		if code != c.wantCode || !strings.Contains(text, c.wantText) {
			t.Errorf("%+v RCPT TO:<%s>: got %d %q, want %d %q", c.client, c.to, code, text, c.wantCode, c.wantText)
		}
	}
	if _, err := os.Stat(in.ConfigDir() + "/rcpt.db"); err != nil {
		t.Errorf("postmap did not build rcpt.db: %v", err)
	}
}

// TestListenersAndPlaceholders: extra listeners get their own ports and
// the placeholders name them.
func TestListenersAndPlaceholders(t *testing.T) {
	lab.Require(t)
	t.Parallel()
	opt := lab.Strict()
	opt.Label = "listeners"
	opt.Listeners = []lab.Listener{
		{Name: "reinject", Args: []string{"-o smtpd_banner=reinject-{port:reinject}"}},
		{Name: "other", Args: []string{"-o smtpd_banner=other-{addr:smtp}"}},
	}
	in := lab.Start(t, opt)
	if in.ListenerAddr("nope") != "" {
		t.Errorf("unknown listener has an address")
	}
	seen := map[string]bool{}
	for _, name := range []string{"smtp", "reinject", "other"} {
		a := in.ListenerAddr(name)
		if !strings.HasPrefix(a, "127.0.0.1:") || seen[a] {
			t.Errorf("listener %s: address %q (seen %v)", name, a, seen)
		}
		seen[a] = true
	}
	_, port, _ := net.SplitHostPort(in.ListenerAddr("reinject"))
	for name, want := range map[string]string{"reinject": "220 reinject-" + port, "other": "220 other-" + in.Addr()} {
		if got := greeting(t, in.ListenerAddr(name)); !strings.HasPrefix(got, want) {
			t.Errorf("listener %s greets %q, want %q", name, got, want)
		}
	}
	out, err := in.Postconf("-M")
	if err != nil {
		t.Fatal(err)
	}
	for _, forbidden := range []string{" smtp\n", " lmtp\n", " local\n", " pipe\n", " virtual\n"} {
		if strings.Contains(out, forbidden) {
			t.Errorf("master.cf runs%s", strings.TrimRight(forbidden, "\n"))
		}
	}
}

func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("QUIT\r\n"))
	_, _ = r.ReadString('\n')
	return strings.TrimSpace(line)
}

// TestQueueTreeCopy: an instance that skips "postfix check" gets the same
// queue tree (names, modes, owners) as one that runs it, and works.
func TestQueueTreeCopy(t *testing.T) {
	lab.Require(t)
	t.Parallel()
	checked := lab.Strict()
	checked.Check = true
	a := lab.Start(t, checked)
	b := lab.Start(t, lab.Strict())
	ta, tb := queueTree(t, a.Dir()+"/queue"), queueTree(t, b.Dir()+"/queue")
	if ta != tb {
		t.Errorf("queue trees differ:\nchecked:\n%s\ncopied:\n%s", ta, tb)
	}
	if !strings.Contains(ta, "maildrop drwx-wx--- postfix postdrop") || !strings.Contains(ta, "public drwx--x--- postfix postdrop") {
		t.Errorf("unexpected queue tree:\n%s", ta)
	}
	for _, in := range []*lab.Instance{a, b} {
		if code, text := in.RCPTCheck(t, fromOutside, sender, remote); code != 554 {
			t.Errorf("%s: %d %s, want 554", in.Name(), code, text)
		}
	}
}

// queueTree lists the directories at the top of a queue tree as
// "name mode owner group" lines.
func queueTree(t *testing.T, queue string) string {
	t.Helper()
	entries, err := os.ReadDir(queue)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		fi, err := os.Stat(queue + "/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		u, _ := user.LookupId(strconv.Itoa(int(st.Uid)))
		g, _ := user.LookupGroupId(strconv.Itoa(int(st.Gid)))
		fmt.Fprintf(&b, "%s %v %s %s\n", e.Name(), fi.Mode(), u.Username, g.Name)
	}
	return b.String()
}
