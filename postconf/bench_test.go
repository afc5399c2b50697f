package postconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// Benchmarks use the built-in defaults: with postconf installed,
// defaults.Detect runs `postconf -d` (tens of milliseconds) once per
// process, which is not what is measured here.

// benchQuery is what `pfaudit config -x` of a handful of relay
// parameters does after loading.
var benchQuery = ViewOptions{Expand: true, Params: []string{"mynetworks", "relay_domains", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "mydestination", "smtpd_client_restrictions"}}

func benchDir(b *testing.B, dir string) {
	d := defaults.Builtin()
	b.ReportAllocs()
	for b.Loop() {
		c, err := LoadDir(dir, d, "built-in")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Query(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTypical(b *testing.B) {
	for _, name := range []string{"mx-dovecot", "debian-stock"} {
		b.Run(name, func(b *testing.B) { benchDir(b, filepath.Join("..", "testdata", "configs", name)) })
	}
}

// WriteLargeConfig writes the large configuration of the benchmarks and
// of scripts/bench-config.sh into dir: a main.cf of 5,000 lines (user
// parameters, references among them, continuation lines, comments), a
// master.cf with 500 services, and a mynetworks file of 10,000 entries
// that main.cf names as /file/name.
func writeLargeConfig(dir string) error {
	var nets strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&nets, "10.%d.%d.0/24\n", i/256, i%256)
	}
	if err := os.WriteFile(filepath.Join(dir, "mynetworks"), []byte(nets.String()), 0o644); err != nil {
		return err
	}
	var m strings.Builder
	m.WriteString("# large main.cf\ncompatibility_level = 3.6\nmyhostname = mx.example.com\n")
	fmt.Fprintf(&m, "mynetworks = 127.0.0.0/8 [::1]/128 %s/mynetworks\n", dir)
	m.WriteString("smtpd_relay_restrictions = permit_mynetworks, $extra_relay_0, reject_unauth_destination\n")
	lines := 6
	for i := 0; lines < 5000; i++ {
		switch i % 4 {
		case 0:
			// Chains of 20 references: long, within Postfix's limit.
			next := fmt.Sprintf("$extra_relay_%d", i+4)
			if i%80 == 76 {
				next = "permit"
			}
			fmt.Fprintf(&m, "extra_relay_%d = check_client_access cidr:/etc/postfix/c%d.cidr, %s\n", i, i, next)
			lines++
		case 1:
			fmt.Fprintf(&m, "# comment %d\nuser_list_%d = a%d,\n    b%d\n    # inner comment\n    c%d\n", i, i, i, i, i)
			lines += 5
		case 2:
			fmt.Fprintf(&m, "cond_%d = ${user_list_%d?{$user_list_%d}:{none}} ${{$compatibility_level} <level {2} ? {old} : {new}}\n", i, i-1, i-1)
			lines++
		default:
			fmt.Fprintf(&m, "plain_%d = value %d\n", i, i)
			lines++
		}
	}
	m.WriteString("extra_relay_0 = permit_sasl_authenticated\n")
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(m.String()), 0o644); err != nil {
		return err
	}
	var ms strings.Builder
	for i := 0; i < 500; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&ms, "127.0.0.%d:%d inet n - n - - smtpd\n  -o syslog_name=postfix/$service_name\n  -o { smtpd_client_restrictions = permit_mynetworks, $extra_relay_%d }\n", i%250+1, 10000+i, 4*(i%100))
		case 1:
			fmt.Fprintf(&ms, "transport%d unix - - n - - smtp -o smtp_helo_name=$myhostname\n", i)
		default:
			fmt.Fprintf(&ms, "pipe%d unix - n n - - pipe flags=R user=nobody argv=/bin/cat ${recipient}\n", i)
		}
	}
	return os.WriteFile(filepath.Join(dir, "master.cf"), []byte(ms.String()), 0o644)
}

func BenchmarkLarge(b *testing.B) {
	dir := b.TempDir()
	if err := writeLargeConfig(dir); err != nil {
		b.Fatal(err)
	}
	benchDir(b, dir)
}
