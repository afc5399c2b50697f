package postconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

func TestParseMainCF(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  map[string]string
		lines map[string]int
		warns []string
		err   string
		eLine int
	}{
		{name: "spacing around =", in: "a=1\nb = 2\nc\t=\t3 \nd =\n",
			want: map[string]string{"a": "1", "b": "2", "c": "3", "d": ""}},
		{name: "hash inside a value", in: "mynetworks = 127.0.0.0/8 # lan\n",
			want: map[string]string{"mynetworks": "127.0.0.0/8 # lan"}},
		{name: "continuation with comments and blank lines", in: "a = x,\n# c\n\n    y\n\tz\nb = 1\n",
			want: map[string]string{"a": "x,    y\tz", "b": "1"}, lines: map[string]int{"a": 1, "b": 6}},
		{name: "last assignment wins", in: "a = 1\nb = 2\na = 3\n",
			want: map[string]string{"a": "3", "b": "2"}, lines: map[string]int{"a": 3},
			warns: []string{"overriding earlier entry: a=1"}},
		// dict_load_fp(): only a different value warns, and the warning
		// names the value in force just before.
		{name: "same value again is silent", in: "a = 1\na =   1  \n",
			want: map[string]string{"a": "1"}, lines: map[string]int{"a": 2}},
		{name: "back and forth", in: "a = 1\na = 2\na = 1\n",
			want: map[string]string{"a": "1"}, warns: []string{"overriding earlier entry: a=1", "overriding earlier entry: a=2"}},
		{name: "continuation blanks count", in: "a = x\n  y\na = x\n y\n",
			want: map[string]string{"a": "x y"}, warns: []string{"overriding earlier entry: a=x  y"}},
		{name: "first line with whitespace is ignored", in: "  a = 1\nb = 2\n",
			want: map[string]string{"b": "2"}, warns: []string{"logical line must not start with whitespace"}},
		{name: "CRLF", in: "a = 1\r\nb = 2\r\n  3\r\n",
			want: map[string]string{"a": "1", "b": "2\r  3"}},
		{name: "byte-order mark is part of the first name", in: "\xef\xbb\xbfa = 1\n",
			want: map[string]string{"\xef\xbb\xbfa": "1"}, warns: []string{"byte-order mark"}},
		{name: "value with = signs", in: "a = b=c = d\n", want: map[string]string{"a": "b=c = d"}},
		{name: "no equals sign", in: "a = 1\nfoo bar\n", err: "missing '=' after attribute name", eLine: 2},
		{name: "name only", in: "foo\n", err: "missing '=' after attribute name", eLine: 1},
		{name: "no name", in: "\n= x\n", err: "missing attribute name", eLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMainCF("main.cf", []byte(tt.in))
			if tt.err != "" {
				var de *diag.Error
				if !errors.As(err, &de) || !strings.Contains(de.Msg, tt.err) || de.Line != tt.eLine || de.File != "main.cf" {
					t.Fatalf("error %v, want main.cf:%d: %s", err, tt.eLine, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Params) != len(tt.want) {
				t.Errorf("params %v, want %v", m.Names(), tt.want)
			}
			for n, v := range tt.want {
				if got, ok := m.Get(n); !ok || got != v {
					t.Errorf("%s = %q (%v), want %q", n, got, ok, v)
				}
			}
			for n, l := range tt.lines {
				if m.Params[n].Pos.Line != l {
					t.Errorf("%s at line %d, want %d", n, m.Params[n].Pos.Line, l)
				}
			}
			if len(m.Warnings) != len(tt.warns) {
				t.Fatalf("warnings %v, want %q", m.Warnings, tt.warns)
			}
			for i, w := range tt.warns {
				if !strings.Contains(m.Warnings[i].Msg, w) {
					t.Errorf("warning %q, want %q", m.Warnings[i].Msg, w)
				}
			}
		})
	}
}

func TestMainCFEarlier(t *testing.T) {
	m, err := ParseMainCF("main.cf", []byte("a = 1\na = 2\na = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := m.Params["a"]
	if p.Value != "3" || len(p.Earlier) != 2 || p.Earlier[0].Value != "1" || p.Earlier[1].Pos.Line != 2 {
		t.Errorf("param %+v", p)
	}
	if len(m.Order) != 1 {
		t.Errorf("order %v", m.Order)
	}
}

func TestReadConfigFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadMainCF(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := ReadMainCF(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	p := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(p, []byte("a = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := ReadMainCF(p); err != nil || m.Params["a"].Pos.File != p {
		t.Errorf("read: %v", err)
	}
}

func TestDumps(t *testing.T) {
	n, err := ParseNDump("n.txt", []byte("postconf: warning: x\nconfig_directory = /etc/postfix\nmynetworks = 10.0.0.0/8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !n.NoLines || n.Params["mynetworks"].Pos != (diag.Pos{File: "n.txt"}) || len(n.Warnings) != 1 {
		t.Errorf("n dump %+v warnings %v", n.Params["mynetworks"], n.Warnings)
	}
	if _, err := ParseNDump("n.txt", []byte("garbage line\n")); err == nil || !strings.Contains(err.Error(), "postconf -n dump") {
		t.Errorf("bad n dump: %v", err)
	}
	m, err := ParseMDump("m.txt", []byte("smtp       inet  n       -       y       -       -       smtpd\nsubmission inet n - y - - smtpd\n    -o syslog_name=postfix/submission\n    -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Services) != 2 || !m.NoLines || m.Services[1].Pos.Line != 0 {
		t.Fatalf("m dump %+v", m.Services)
	}
	if o, ok := m.Services[1].Override("smtpd_client_restrictions"); !ok || o.Value != "permit_sasl_authenticated, reject" {
		t.Errorf("override %+v", o)
	}
	if _, err := ParseMDump("m.txt", []byte("smtp inet\n")); err == nil || !strings.Contains(err.Error(), "bad field count") {
		t.Errorf("bad m dump: %v", err)
	}
	err = ApplyPDump(m, "p.txt", []byte("submission/inet/syslog_name = postfix/sub2\n127.0.0.1:10025/inet/smtpd_client_restrictions = permit_mynetworks, reject\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := m.Services[1].Override("syslog_name"); o.Value != "postfix/sub2" {
		t.Errorf("P dump did not update: %+v", o)
	}
	s := m.Lookup("127.0.0.1:10025/inet")
	if s == nil || s.Command != "?" {
		t.Fatalf("P dump did not add the service: %+v", s)
	}
	if o, _ := s.Override("smtpd_client_restrictions"); o.Value != "permit_mynetworks, reject" {
		t.Errorf("added override %+v", o)
	}
	if err := ApplyPDump(m, "p.txt", []byte("nonsense = 1\n")); err == nil {
		t.Error("bad P dump accepted")
	}
}
