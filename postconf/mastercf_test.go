package postconf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// masterSample and its expected renderings were produced by postconf -M,
// -Mf and -P of Postfix 3.7.11.
const masterSample = `submission inet n - y - - smtpd -o syslog_name=postfix/submission -o { smtpd_client_restrictions = permit_sasl_authenticated, reject } -o smtpd_tls_security_level=encrypt
smtps inet n - y - - smtpd -vo smtpd_tls_wrappermode=yes -oa=b -v -- -o x=y {a b} c
maildrop  unix  -       n       n       -       -       pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
verylongservicename:12345 inet - - - - - smtpd
a unix - - - 10? - local {braced} -o x=1
b fifo - - - -? - x -o {x y} -o {=x} -o{ z = 1 }
`

func TestMasterFormat(t *testing.T) {
	m, err := ParseMasterCF("master.cf", []byte(masterSample))
	if err != nil {
		t.Fatal(err)
	}
	wantM := []string{
		"submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission -o {smtpd_client_restrictions=permit_sasl_authenticated, reject} -o smtpd_tls_security_level=encrypt",
		"smtps      inet  n       -       y       -       -       smtpd -v -o smtpd_tls_wrappermode=yes -o a=b -v -- -o x=y {a b} c",
		"maildrop   unix  -       n       n       -       -       pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}",
		"verylongservicename:12345 inet - - -     -       -       smtpd",
		"a          unix  -       -       -       10?     -       local braced -o x=1",
		"b          fifo  -       -       -       -?      -       x -o {x y} -o =x -o z=1",
	}
	wantMf := []string{
		"submission inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/submission\n    -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}\n    -o smtpd_tls_security_level=encrypt",
		"smtps      inet  n       -       y       -       -       smtpd -v\n    -o smtpd_tls_wrappermode=yes\n    -o a=b\n    -v -- -o x=y {a b} c",
		"maildrop   unix  -       n       n       -       -       pipe flags=DRXhu\n    user=vmail argv=/usr/bin/maildrop -d ${recipient}",
		"verylongservicename:12345 inet - - -     -       -       smtpd",
		"a          unix  -       -       -       10?     -       local braced -o x=1",
		"b          fifo  -       -       -       -?      -       x\n    -o {x y}\n    -o =x\n    -o z=1",
	}
	wantP := [][]string{
		{"smtpd_client_restrictions=permit_sasl_authenticated, reject", "smtpd_tls_security_level=encrypt", "syslog_name=postfix/submission"},
		{"a=b", "smtpd_tls_wrappermode=yes"},
		nil, nil, nil,
		{"z=1"},
	}
	if len(m.Services) != len(wantM) {
		t.Fatalf("%d services, want %d", len(m.Services), len(wantM))
	}
	for i, s := range m.Services {
		if got := s.FormatM(); got != wantM[i] {
			t.Errorf("FormatM:\n got %q\nwant %q", got, wantM[i])
		}
		if got := s.FormatMf(); got != wantMf[i] {
			t.Errorf("FormatMf:\n got %q\nwant %q", got, wantMf[i])
		}
		var got []string
		for _, o := range s.EffectiveOverrides() {
			got = append(got, o.Name+"="+o.Value)
		}
		if !slices.Equal(got, wantP[i]) {
			t.Errorf("%s overrides = %q, want %q", s.Key(), got, wantP[i])
		}
	}
	var warns []string
	for _, w := range m.Warnings {
		warns = append(warns, w.Msg)
		if w.Pos.Line != 6 {
			t.Errorf("warning %v: want line 6", w)
		}
	}
	wantW := []string{`missing '=' after attribute name: "x y"`, `missing attribute name: "=x"`}
	if !slices.Equal(warns, wantW) {
		t.Errorf("warnings %q, want %q", warns, wantW)
	}
}

// TestMasterFormatGolden renders the master.cf files of testdata/configs
// and compares them with the postconf -M output recorded beside them.
func TestMasterFormatGolden(t *testing.T) {
	dirs, _ := filepath.Glob("../testdata/configs/*/master.cf")
	if len(dirs) == 0 {
		t.Skip("no testdata/configs")
	}
	for _, path := range dirs {
		golden, err := os.ReadFile(filepath.Join(filepath.Dir(path), "postconf.M"))
		if err != nil {
			continue
		}
		m, err := ReadMasterCF(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var got []string
		for _, s := range m.Services {
			got = append(got, s.FormatM())
		}
		want := strings.Split(strings.TrimRight(string(golden), "\n"), "\n")
		if !slices.Equal(got, want) {
			t.Errorf("%s: FormatM differs from postconf.M:\n%s", path, strings.Join(got, "\n"))
		}
	}
}

func TestParseServiceLine(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		args      []string
		overrides []string
		other     []string
		err       string
	}{
		{name: "plain", line: "smtp inet n - y - - smtpd", args: nil},
		{name: "-o forms", line: "s inet n - y - - smtpd -o a=1 -ob=2 -o {c = 3 4} -o { d=5 }",
			args: []string{"-o", "a=1", "-o", "b=2", "-o", "c=3 4", "-o", "d=5"}, overrides: []string{"a=1", "b=2", "c=3 4", "d=5"}},
		{name: "duplicate -o keeps both", line: "s inet n - y - - smtpd -o a=1 -o a=2",
			args: []string{"-o", "a=1", "-o", "a=2"}, overrides: []string{"a=1", "a=2"}},
		{name: "-vo splits", line: "s inet n - y - - smtpd -vo a=1", args: []string{"-v", "-o", "a=1"}, overrides: []string{"a=1"}, other: []string{"-v"}},
		{name: "an o later in an option splits there", line: "s inet n - y - - smtpd -o{ x = restrictions }",
			args: []string{"-o", "x=restricti", "-o", "ns }"}, overrides: []string{"x=restricti"}, other: []string{"-o", "ns }"}},
		{name: "-- ends options", line: "s unix - n n - - pipe -o a=1 -- -o b=2",
			args: []string{"-o", "a=1", "--", "-o", "b=2"}, overrides: []string{"a=1"}, other: []string{"--", "-o", "b=2"}},
		{name: "non-option ends options", line: "s unix - n n - - pipe flags=R user=x argv=/bin/cat {a b} -o c=1",
			args: []string{"flags=R", "user=x", "argv=/bin/cat", "a b", "-o", "c=1"}, other: []string{"flags=R", "user=x", "argv=/bin/cat", "a b", "-o", "c=1"}},
		{name: "-o without = is not an override", line: "s inet n - y - - smtpd -o a -o b=1",
			args: []string{"-o", "a", "-o", "b=1"}, overrides: []string{"b=1"}, other: []string{"-o", "a"}},
		{name: "unclosed brace runs to the end", line: "s inet n - y - - smtpd -o {a=1 -o b=2",
			args: []string{"-o", "a=1 -o b=2"}, overrides: []string{"a=1 -o b=2"}},
		{name: "text after a closing brace is dropped", line: "s inet n - y - - smtpd -o {a=1}x",
			args: []string{"-o", "a=1"}, overrides: []string{"a=1"}},
		{name: "unbalanced closing brace is text", line: "s inet n - y - - smtpd -o a=}x",
			args: []string{"-o", "a=}x"}, overrides: []string{"a=}x"}},
		{name: "IPv6 listener", line: "[::1]:10025 inet n - n - - smtpd", args: nil},
		{name: "unix-dgram", line: "postlog unix-dgram n - n - 1 postlogd", args: nil},
		{name: "wakeup forms", line: "x unix - - n 60? 1 pickup", args: nil},
		{name: "too few fields", line: "smtp inet n - y", err: "bad field count"},
		{name: "bad type", line: "smtp bogus n - y - - smtpd", err: `invalid type field "bogus"`},
		{name: "bad private", line: "smtp inet x - y - - smtpd", err: `invalid private field "x"`},
		{name: "bad chroot", line: "smtp inet n - yes - - smtpd", err: `invalid chroot field "yes"`},
		{name: "bad wakeup", line: "smtp inet n - y 1m - smtpd", err: `invalid wakeup field "1m"`},
		{name: "bad maxproc", line: "smtp inet n - y - -1 smtpd", err: `invalid process_limit field "-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := parseServiceLine(tt.line, diag.Pos{File: "master.cf", Line: 7})
			if tt.err != "" {
				var de *diag.Error
				if !errors.As(err, &de) || !strings.Contains(de.Msg, tt.err) || de.Line != 7 || de.Text != tt.line {
					t.Fatalf("error %v, want a diag.Error at line 7 with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ov []string
			for _, o := range s.Overrides {
				ov = append(ov, o.Name+"="+o.Value)
			}
			if !slices.Equal(s.Args, tt.args) || !slices.Equal(ov, tt.overrides) || !slices.Equal(s.Other, tt.other) {
				t.Errorf("args %q overrides %q other %q\nwant args %q overrides %q other %q", s.Args, ov, s.Other, tt.args, tt.overrides, tt.other)
			}
		})
	}
}

func TestMasterContinuation(t *testing.T) {
	in := "# header\nsmtp inet n - y - - smtpd\n  # comment inside\n\n  -o a=1\n\t-o {b = 2}\npickup unix n - y 60 1 pickup\r\n"
	m, err := ParseMasterCF("master.cf", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Services) != 2 || m.Services[0].Pos.Line != 2 || m.Services[1].Pos.Line != 7 {
		t.Fatalf("services %+v", m.Services)
	}
	if got := m.Services[0].FormatM(); got != "smtp       inet  n       -       y       -       -       smtpd -o a=1 -o b=2" {
		t.Errorf("FormatM = %q", got)
	}
	if m.Lookup("pickup/unix") != m.Services[1] || m.Lookup("pickup/inet") != nil {
		t.Error("Lookup by name/type")
	}
}
