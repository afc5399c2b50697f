package lab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testLayout() (*layout, *expander) {
	l := &layout{
		name: "lab1-1", hostname: "lab1-1.lab.test",
		root: "/x", etc: "/x/etc", queue: "/x/queue", data: "/x/data", logDir: "/x/log",
		host: netip.MustParseAddr("127.0.0.1"),
		listeners: map[string]netip.AddrPort{
			"smtp":       netip.MustParseAddrPort("127.0.0.1:2525"),
			"submission": netip.MustParseAddrPort("127.0.0.1:2587"),
		},
		order: []string{"smtp", "submission"},
	}
	return l, &expander{etc: l.etc, host: l.host, listeners: l.listeners}
}

func TestBuildMain(t *testing.T) {
	cases := []struct {
		name    string
		opt     Options
		want    []string // lines that must appear, in this order
		notWant []string
		wantErr string
	}{
		{name: "defaults", opt: Options{}, want: []string{
			"compatibility_level = 3.6", "queue_directory = /x/queue", "data_directory = /x/data",
			"mail_owner = postfix", "setgid_group = postdrop", "multi_instance_name = lab1-1",
			"syslog_name = lab1-1", "inet_interfaces = 127.0.0.1", "inet_protocols = ipv4",
			"myhostname = lab1-1.lab.test", "smtpd_peername_lookup = no", "alias_maps =",
			"maillog_file = /x/log/maillog", "maillog_file_prefixes = /x/log",
			"default_transport = discard:lab", "relay_transport = discard:lab",
			"local_transport = discard:lab", "virtual_transport = discard:lab",
			"smtpd_data_restrictions = reject", "smtpd_error_sleep_time = 0s",
		}, notWant: []string{"smtpd_authorized_xclient_hosts"}},
		{name: "tarpit and xclient", opt: Options{Tarpit: true, XCLIENT: true, CompatibilityLevel: "2"},
			want:    []string{"compatibility_level = 2", "smtpd_authorized_xclient_hosts = 127.0.0.1"},
			notWant: []string{"smtpd_error_sleep_time", "smtpd_soft_error_limit", "smtpd_hard_error_limit"}},
		{name: "override in place, append, last wins", opt: Options{Main: []string{
			"myhostname=mx.example.test", "mynetworks = 10.0.0.0/8", "mynetworks = 192.0.2.0/24",
			"smtpd_error_sleep_time = 1s", "check = {etc}/a {addr:submission} {port:smtp} {host}",
		}}, want: []string{
			"myhostname = mx.example.test", "smtpd_error_sleep_time = 1s",
			"mynetworks = 192.0.2.0/24", "check = /x/etc/a 127.0.0.1:2587 2525 127.0.0.1",
		}, notWant: []string{"mynetworks = 10.0.0.0/8", "lab1-1.lab.test"}},
		{name: "postfix syntax untouched", opt: Options{Main: []string{"x = ${a?{b}:{c}} $d {etc2}"}},
			want: []string{"x = ${a?{b}:{c}} $d {etc2}"}},
		{name: "fixed transport", opt: Options{Main: []string{"default_transport = smtp"}}, wantErr: "fixed by the lab harness"},
		{name: "fixed data restrictions", opt: Options{Main: []string{"smtpd_data_restrictions ="}}, wantErr: "fixed by the lab harness"},
		{name: "fixed queue", opt: Options{Main: []string{"queue_directory = /var/spool/postfix"}}, wantErr: "fixed"},
		{name: "no equals", opt: Options{Main: []string{"mynetworks"}}, wantErr: `want "name = value"`},
		{name: "line break", opt: Options{Main: []string{"a = b\nDATA"}}, wantErr: "line break"},
		{name: "bad compatibility level", opt: Options{CompatibilityLevel: "3.6\nsmtpd_data_restrictions ="}, wantErr: "CompatibilityLevel"},
		{name: "unknown listener", opt: Options{Main: []string{"a = {port:nope}"}}, wantErr: `no listener named "nope"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, ex := testLayout()
			got, err := buildMain(l, &tc.opt, ex)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(got, "\n")
			pos := -1
			for _, w := range tc.want {
				i := index(lines, w)
				if i < 0 {
					t.Errorf("missing %q in\n%s", w, got)
				} else if i < pos {
					t.Errorf("%q out of order in\n%s", w, got)
				} else {
					pos = i
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("unexpected %q in\n%s", nw, got)
				}
			}
		})
	}
}

func index(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}

func TestBuildMaster(t *testing.T) {
	cases := []struct {
		name    string
		opt     Options
		want    []string
		notWant []string
		wantErr string
	}{
		{name: "plain", opt: Options{SMTPArgs: []string{"-o smtpd_tls_security_level=none"}},
			want: []string{"127.0.0.1:2525 inet n - n - - smtpd", "  -o smtpd_tls_security_level=none",
				"postlog   unix-dgram n  -       n       -       1       postlogd", "discard   unix  -       -       n       -       -       discard"},
			notWant: []string{"postscreen", " smtp\n", " local\n", " lmtp\n", " pipe\n", " virtual\n"}},
		{name: "postscreen", opt: Options{Postscreen: true, SMTPArgs: []string{"-o a=b"}},
			want: []string{"127.0.0.1:2525 inet n - n - 1 postscreen", "smtpd pass - - n - - smtpd", "  -o a=b", "dnsblog unix - - n - 0 dnsblog"}},
		{name: "listener", opt: Options{Listeners: []Listener{{Name: "submission", Args: []string{"-o x={port:smtp}"}}}},
			want: []string{"127.0.0.1:2587 inet n - n - - smtpd", "  -o x=2525"}},
		{name: "extra line allowed", opt: Options{Master: []string{"{host}:{port:submission} inet n - n - - smtpd", "  -o y=z", "# c"}},
			want: []string{"127.0.0.1:2587 inet n - n - - smtpd", "  -o y=z"}},
		{name: "smtp client refused", opt: Options{Master: []string{"smtp unix - - n - - smtp"}}, wantErr: "command smtp"},
		{name: "pipe refused", opt: Options{Master: []string{"x unix - n n - - pipe flags=R user=nobody argv=/bin/true"}}, wantErr: "command pipe"},
		{name: "local path refused", opt: Options{Master: []string{"l unix - n n - - /usr/lib/postfix/sbin/local"}}, wantErr: "command local"},
		{name: "wildcard inet refused", opt: Options{Master: []string{"smtp inet n - n - - smtpd"}}, wantErr: "must name a lab listen address"},
		{name: "public inet refused", opt: Options{Master: []string{"192.0.2.1:25 inet n - n - - smtpd"}}, wantErr: "must name a lab listen address"},
		{name: "short line", opt: Options{Master: []string{"x unix -"}}, wantErr: "want 8 fields"},
		{name: "arg line break", opt: Options{SMTPArgs: []string{"-o a=b\nsmtp unix - - n - - smtp"}}, wantErr: "line break"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, ex := testLayout()
			got, err := buildMaster(l, &tc.opt, ex)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if index(strings.Split(got, "\n"), w) < 0 {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, nw := range tc.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("unexpected %q in\n%s", nw, got)
				}
			}
		})
	}
}

func TestNothingSentProblems(t *testing.T) {
	const pre = "Nov 27 20:58:35 lab1-1 lab1-1/"
	cases := []struct {
		name string
		log  string
		want int
	}{
		{"clean", pre + "smtpd[1]: connect from unknown[127.0.0.1]\n" +
			pre + "smtpd[1]: NOQUEUE: reject: RCPT from unknown[203.0.113.5]: 554 5.7.1 <u@example.net>: Relay access denied; from=<s@example.org> to=<u@example.net>\n" +
			pre + "smtpd[1]: disconnect from unknown[203.0.113.5] ehlo=2 xclient=0/1 mail=1 rcpt=0/1 rset=1 quit=1 commands=5/7\n", 0},
		{"data refused", pre + "smtpd[1]: disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=0/1 quit=1\n", 1},
		{"bdat", pre + "smtpd[1]: disconnect from unknown[127.0.0.1] ehlo=1 mail=1 rcpt=1 bdat=1 quit=1\n", 1},
		{"message", pre + "cleanup[2]: 4ABC: message-id=<x@y>\n" + pre + "qmgr[3]: 4ABC: from=<s@example.org>, size=300, nrcpt=1 (queue active)\n" +
			pre + "discard[4]: 4ABC: to=<u@example.net>, relay=none, delay=0, status=sent (lab)\n", 3},
		{"data in an address is no command", pre + "smtpd[1]: NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 x; from=<data=1@example.org>\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nothingSentProblems(tc.log); len(got) != tc.want {
				t.Errorf("got %d problems %q, want %d", len(got), got, tc.want)
			}
		})
	}
}

func TestOpenSessions(t *testing.T) {
	const pre = "Nov 27 20:58:35 l l/"
	log := pre + "smtpd[1]: connect from unknown[127.0.0.1]\n" +
		pre + "smtpd[1]: disconnect from unknown[127.0.0.1] quit=1\n" +
		pre + "smtpd[1]: connect from unknown[127.0.0.1]\n" +
		pre + "postscreen[2]: CONNECT from [127.0.0.1]:4 to [127.0.0.1]:25\n"
	if got := openSessions(log); got != 1 {
		t.Errorf("openSessions = %d, want 1", got)
	}
	if got := openSessions(log + pre + "smtpd[1]: disconnect from unknown[127.0.0.1] ehlo=1\n"); got != 0 {
		t.Errorf("openSessions = %d, want 0", got)
	}
}

func TestQueueFiles(t *testing.T) {
	q := t.TempDir()
	for _, d := range []string{"pid", "private", "public", "incoming", "deferred/A", "active"} {
		if err := os.MkdirAll(filepath.Join(q, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"quick-start", "pid/master.pid", "private/smtp", "public/pickup"} {
		if err := os.WriteFile(filepath.Join(q, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := queueFiles(q); len(got) != 0 {
		t.Fatalf("empty queue reported %q", got)
	}
	if err := os.WriteFile(filepath.Join(q, "deferred/A/ABC123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := queueFiles(q); len(got) != 1 || !strings.HasSuffix(got[0], "deferred/A/ABC123") {
		t.Errorf("queueFiles = %q, want the deferred file", got)
	}
}

// fakeTB records how skipOrFail ends a test.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestSkipOrFail(t *testing.T) {
	cases := []struct {
		ci, reason        string
		wantSkip, wantErr bool
	}{
		{"", "needs root", true, false},
		{"false", "needs root", true, false},
		{"true", "needs root", false, true},
		{"true", "", false, false},
		{"", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.ci+"/"+tc.reason, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			f := &fakeTB{TB: t}
			skipOrFail(f, tc.reason)
			if (f.skipped != "") != tc.wantSkip || (f.fatal != "") != tc.wantErr {
				t.Errorf("skipped %q, fatal %q; want skip %v, fatal %v", f.skipped, f.fatal, tc.wantSkip, tc.wantErr)
			}
			if msg := f.skipped + f.fatal; tc.reason != "" && !strings.Contains(msg, tc.reason) {
				t.Errorf("message %q lacks the reason %q", msg, tc.reason)
			}
		})
	}
}

func TestCheckRCPTRefusesUnsafeArguments(t *testing.T) {
	in := &Instance{name: "x", listeners: map[string]netip.AddrPort{"smtp": netip.MustParseAddrPort("127.0.0.1:1")}}
	for _, tc := range []struct {
		c        ClientOpts
		from, to string
		want     string
	}{
		{ClientOpts{}, "s@example.org", "u@example.net>\r\nDATA", "control character"},
		{ClientOpts{HELO: "x\nDATA"}, "s@example.org", "u@example.net", "control character"},
		{ClientOpts{Addr: "203.0.113.5"}, "s@example.org", "u@example.net", "does not authorise"},
		{ClientOpts{Addr: "not-an-ip"}, "s@example.org", "u@example.net", "client address"},
		{ClientOpts{Listener: "nope"}, "s@example.org", "u@example.net", `no listener "nope"`},
	} {
		if _, err := in.CheckRCPT(tc.c, tc.from, tc.to); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckRCPT(%+v, %q, %q) = %v, want %q", tc.c, tc.from, tc.to, err, tc.want)
		}
	}
}
