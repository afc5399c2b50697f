// Package scalegen writes Postfix configuration directories that grow in
// one input dimension at a time, for pfaudit's scaling benchmarks
// (scripts/bench-scale.sh) and the growth test (audit/scale_test.go).
//
// Every directory is a stock-like configuration (a public smtpd on port 25
// with the usual internal services) whose relay policy is sound, so that
// the cost measured is the cost of reading and deciding, not of a report
// full of findings, plus one dimension of size n:
//
//   - mynetworks: n distinct networks (IPv4 and IPv6) written in main.cf;
//   - mynetworks-repeat: one too-wide network (10.0.0.0/8, a finding with
//     a fix to verify) written n times, the hostile case of issue 8;
//   - mynetworks-file: the same n networks in a /file/name mynetworks names;
//   - table: a cidr: access table of n rules asked by
//     check_client_access in smtpd_relay_restrictions;
//   - restrictions: smtpd_recipient_restrictions of n restrictions
//     (check_*_access inline: tables and classes that answer DUNNO);
//   - services: n smtpd listeners in master.cf, each with two -o overrides;
//   - overrides: one smtpd listener with n -o overrides;
//   - nesting: n parameters chained through $name 90 deep (Postfix allows
//     100), whose chain ends are networks mynetworks lists;
//   - garbage: a main.cf of n lines of junk (no '=' on most of them).
package scalegen

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Dims are the dimensions Write knows, in the order benchmarks report them.
var Dims = []string{"mynetworks", "mynetworks-repeat", "mynetworks-file", "table", "restrictions", "services", "overrides", "nesting"}

const head = `compatibility_level = 3.6
myhostname = mail.example.com
mydomain = example.com
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = all
inet_protocols = all
smtpd_banner = $myhostname ESMTP
disable_vrfy_command = yes
smtpd_sasl_auth_enable = no
smtpd_tls_security_level = none
append_dot_mydomain = no
alias_maps =
alias_database =
`

const stockMaster = `smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
error     unix  -       -       y       -       -       error
local     unix  -       n       n       -       -       local
`

// Network returns the i-th generated network: distinct private /24s,
// every eighth one an IPv6 /64 in 2001:db8::/32 (documentation space, so
// that an Internet client of the model is in none).
func Network(i int) string {
	if i%8 == 7 {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		b[4], b[5], b[6], b[7] = 0x10, byte(i>>16), byte(i>>8), byte(i)
		return fmt.Sprintf("[%s]/64", netip.AddrFrom16(b))
	}
	// 10.0.0.0/8 holds 65,536 /24s; beyond, 172.16.0.0/12 and
	// 100.64.0.0/10 (shared address space) hold more, then /28s.
	j := i % (1 << 16)
	switch k := i >> 16; k {
	case 0:
		return fmt.Sprintf("10.%d.%d.0/24", j>>8, j&255)
	default:
		return fmt.Sprintf("10.%d.%d.%d/28", j>>8, j&255, (k%16)*16)
	}
}

// Write creates dir (if needed) and writes main.cf, master.cf and any file
// they name for dimension dim at size n.
func Write(dir, dim string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mainCF, err := create(filepath.Join(dir, "main.cf"))
	if err != nil {
		return err
	}
	masterCF, err := create(filepath.Join(dir, "master.cf"))
	if err != nil {
		return err
	}
	m, ms := mainCF.w, masterCF.w
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if dim != "garbage" {
		m.WriteString(head)
	}
	relay := "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
	mynet := "mynetworks = 127.0.0.0/8 [::1]/128\n"
	master := stockMaster
	switch dim {
	case "mynetworks":
		var b strings.Builder
		b.WriteString("mynetworks = 127.0.0.0/8 [::1]/128")
		for i := 0; i < n; i++ {
			if i%8 == 0 {
				b.WriteString("\n   ")
			}
			b.WriteString(" " + Network(i))
		}
		b.WriteString("\n")
		mynet = b.String()
	case "mynetworks-repeat":
		var b strings.Builder
		b.WriteString("mynetworks = 127.0.0.0/8 [::1]/128")
		for i := 0; i < n; i++ {
			if i%8 == 0 {
				b.WriteString("\n   ")
			}
			b.WriteString(" 10.0.0.0/8")
		}
		b.WriteString("\n")
		mynet = b.String()
	case "mynetworks-file":
		f, err := create(filepath.Join(abs, "mynetworks"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			fmt.Fprintln(f.w, Network(i))
		}
		if err := f.close(); err != nil {
			return err
		}
		mynet = "mynetworks = 127.0.0.0/8 [::1]/128 " + filepath.Join(abs, "mynetworks") + "\n"
	case "table":
		f, err := create(filepath.Join(abs, "clients.cidr"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			// Alternating REJECT and DUNNO: never an OK an untrusted
			// client could reach.
			act := "REJECT"
			if i%2 == 1 {
				act = "DUNNO"
			}
			fmt.Fprintf(f.w, "%s %s\n", Network(i), act)
		}
		if err := f.close(); err != nil {
			return err
		}
		relay = "smtpd_relay_restrictions = permit_mynetworks, check_client_access cidr:" + filepath.Join(abs, "clients.cidr") + ", reject_unauth_destination\n"
	case "restrictions":
		fmt.Fprintln(m, "smtpd_restriction_classes = dunno_class")
		fmt.Fprintln(m, "dunno_class = check_helo_access inline:{nothing.invalid=DUNNO}")
		m.WriteString("smtpd_recipient_restrictions = permit_mynetworks,")
		for i := 0; i < n; i++ {
			switch i % 4 {
			case 0:
				fmt.Fprintf(m, "\n    check_client_access inline:{192.0.2.%d=DUNNO},", i%250+1)
			case 1:
				fmt.Fprintf(m, "\n    check_sender_access inline:{s%d.invalid=REJECT},", i)
			case 2:
				m.WriteString("\n    dunno_class,")
			default:
				fmt.Fprintf(m, "\n    check_recipient_access inline:{r%d.invalid=REJECT},", i)
			}
		}
		m.WriteString("\n    reject_unauth_destination\n")
	case "services":
		for i := 0; i < n; i++ {
			fmt.Fprintf(ms, "127.0.%d.%d:%d inet n - y - - smtpd\n  -o syslog_name=postfix/l%d\n  -o smtpd_client_restrictions=permit_mynetworks,reject\n",
				(i>>8)&255, i&255+1, 10000+i%50000, i)
		}
	case "overrides":
		const first = "smtp      inet  n       -       y       -       -       smtpd\n"
		ms.WriteString(first)
		for i := 0; i < n; i++ {
			switch i % 3 {
			case 0:
				fmt.Fprintf(ms, "  -o syslog_name=postfix/o%d\n", i)
			case 1:
				fmt.Fprintf(ms, "  -o smtpd_client_restrictions=permit_mynetworks,reject\n")
			default:
				fmt.Fprintf(ms, "  -o smtpd_helo_required=yes\n")
			}
		}
		master = stockMaster[len(first):]
	case "nesting":
		const depth = 90
		var b strings.Builder
		b.WriteString("mynetworks = 127.0.0.0/8 [::1]/128")
		for i := 0; i < n; i++ {
			if i%depth == depth-1 || i == n-1 {
				fmt.Fprintf(m, "chain_%d = %s\n", i, Network(i))
				fmt.Fprintf(&b, " $chain_%d", i-i%depth)
			} else {
				fmt.Fprintf(m, "chain_%d = ${chain_%d}\n", i, i+1)
			}
		}
		b.WriteString("\n")
		mynet = b.String()
	case "garbage":
		for i := 0; i < n; i++ {
			fmt.Fprintf(m, "garbage line %d without any assignment }{ $$ ${ %% \\\n", i)
		}
		mynet, relay = "", ""
	default:
		return fmt.Errorf("scalegen: unknown dimension %q", dim)
	}
	m.WriteString(mynet)
	m.WriteString(relay)
	ms.WriteString(master)
	if err := masterCF.close(); err != nil {
		mainCF.close()
		return err
	}
	return mainCF.close()
}

type file struct {
	f *os.File
	w *bufio.Writer
}

func create(name string) (*file, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	return &file{f, bufio.NewWriterSize(f, 1<<16)}, nil
}

func (f *file) close() error {
	if err := f.w.Flush(); err != nil {
		f.f.Close()
		return err
	}
	return f.f.Close()
}
