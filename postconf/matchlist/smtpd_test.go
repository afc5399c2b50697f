package matchlist

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// groundTruthLists are mynetworks values for the smtpd ground-truth test.
// {etc} is the instance's configuration directory.
var groundTruthLists = []string{
	"127.0.0.0/8, 10.0.0.0/8 !10.1.0.0/16",
	"!10.1.0.0/16 10.0.0.0/8",
	"168.100.3.1/27 10.0.0.0/8",
	"10.0.0.0/8 168.100.3.1/27",
	"[::1]/128 [2001:db8::]/32",
	"2001:db8::/32 10.0.0.0/8",
	"10.0.0.0/8 2001:db8::/32",
	"0.0.0.0/1 128.0.0.0/1",
	"[::ffff:0.0.0.0]/96",
	"[::]/0",
	"unknown",
	"10.0.0.0/8 # lan 192.168.0.0/16",
	"{etc}/nets",
	"!{etc}/nets 0.0.0.0/0",
	"cidr:{etc}/t.cidr",
	"inline:{10.1.2.3=x, {192.168.1.1 = y z}}",
	"texthash:{etc}/t.txt",
	"10.0.0.0/8x 192.168.1.1",
	"10.0.0.1/33, 192.168.1.1",
	"192.168.1, 10.0.0.0/8",
	"[10.1.2.3] [192.168.1.200]/32",
	"010.1.2.3 10.0.0.0/08",
	"!!10.0.0.0/8",
	"hash:{etc}/h",
	"{etc}/missing, 10.0.0.0/8",
	"regexp:{etc}/t.re",
	"static:yes",
	"!static:x 10.0.0.0/8",
	"",
	"10.0.0.0/8,,, 192.168.0.0/16",
	"cidr:{{10.0.0.0/8 ok}, {!192.168.0.0/16 notlan}}",
	"[2001:db8::1] [fe80::]/10",
	"[2001:db8::]/33 10.0.0.0/8",
	"[2001:DB8::1]/128",
	"0.0.0.0/0",
	"pcre:{etc}/t.pcre",
	"unionmap:{inline:{10.2.3.4=a}, cidr:{etc}/t.cidr}",
}

// fatalLists make smtpd exit when it builds the list: no client gets an
// answer, and ParseHostList must return an error.
var fatalLists = []struct{ value, fatal string }{
	{"::1/128 10.0.0.0/8", `expecting "type:name" form`},
	{"10.0.0.0/8 ::/0", `expecting "type:name" form`},
	{"10.0.0.0/8 !", "no pattern after '!'"},
}

var groundTruthClients = []string{
	"10.1.2.3", "10.2.3.4", "192.168.1.1", "192.168.1.200", "203.0.113.5",
	"168.100.3.5", "2001:db8::1", "2001:db8:ffff::1", "fe80::1", "2a00::1",
}

var groundTruthTables = []lab.Table{
	{Name: "nets", Content: "# trusted networks\n10.1.0.0/16 !10.2.3.0/24\n\n  192.168.1.0/24 # lan\n!203.0.113.0/24, [2001:db8::]/32\n"},
	{Name: "t.cidr", Content: "10.1.2.0/24 OK\n!192.168.0.0/16 OK\n"},
	{Name: "t.txt", Content: "10.1.2.3 x\n192.168.1.200 y\n2001:db8::1 z\n"},
	{Name: "h", Content: "10.2.3.4 x\n203.0.113.5 y\n", Postmap: "hash"},
	{Name: "t.re", Content: "/^10\\.2\\./ x\nif /^2001:/\n/:1$/ y\nendif\n"},
	{Name: "t.pcre", Content: "/^(?:10|192)\\.\\d+\\.\\d+\\.1$/ x\n/^2001:db8::\\d$/ y\n"},
}

// TestSMTPDGroundTruth starts a private Postfix instance with one smtpd
// listener per mynetworks value (relay allowed for mynetworks only) and asks
// it, through XCLIENT, whether each client may relay. The answers (250:
// match, 5xx: no match, 4xx: Postfix failed the search) must agree with
// HostList.Match. It needs root and Postfix: skipped otherwise, except under
// CI=true.
func TestSMTPDGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Postfix instance")
	}
	opt := lab.Options{Label: "matchlist", XCLIENT: true, Tables: groundTruthTables,
		// IPv6 client addresses in XCLIENT need IPv6 enabled; a short
		// throttle lets smtpd restart quickly after the fatal cases.
		Main: []string{"inet_protocols = all", "service_throttle_time = 1s"}}
	for i, v := range groundTruthLists {
		opt.Listeners = append(opt.Listeners, lab.Listener{
			Name: fmt.Sprintf("l%d", i),
			Args: []string{
				"-o { mynetworks = " + v + " }",
				"-o smtpd_relay_restrictions=permit_mynetworks,reject",
				"-o smtpd_recipient_restrictions=",
				"-o smtpd_client_restrictions=",
				"-o smtpd_helo_restrictions=",
				"-o smtpd_sender_restrictions=",
			},
		})
	}
	in := lab.Start(t, opt)
	etc := in.ConfigDir()
	topt := Options{Table: table.Options{Live: true}}

	type result struct{ code int }
	var (
		mu      sync.Mutex
		answers = map[[2]int]int{}
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 8)
	)
	for i := range groundTruthLists {
		for j, c := range groundTruthClients {
			wg.Add(1)
			sem <- struct{}{}
			go func(i, j int, c string) {
				defer wg.Done()
				defer func() { <-sem }()
				r, err := in.CheckRCPT(lab.ClientOpts{Listener: fmt.Sprintf("l%d", i), Addr: c}, "sender@example.org", "rcpt@remote.example")
				if err != nil {
					t.Errorf("list %d client %s: %v", i, c, err)
					return
				}
				mu.Lock()
				answers[[2]int{i, j}] = r.Code
				mu.Unlock()
			}(i, j, c)
		}
	}
	wg.Wait()

	for i, v := range groundTruthLists {
		value := strings.ReplaceAll(v, "{etc}", etc)
		l, _, err := ParseHostList("mynetworks", value, diag.Pos{File: "master.cf", Line: i + 1}, topt)
		if err != nil {
			t.Errorf("mynetworks = %s: %v", value, err)
			continue
		}
		for j, c := range groundTruthClients {
			code, ok := answers[[2]int{i, j}]
			if !ok {
				continue
			}
			m := l.Match(netip.MustParseAddr(c), "unknown")
			var got string
			switch {
			case m.Unknown:
				t.Errorf("mynetworks = %s, client %s: unknown (%s); smtpd answered %d", value, c, m.Why(), code)
				continue
			case m.Err != nil:
				got = "4xx"
			case m.Matched:
				got = "2xx"
			default:
				got = "5xx"
			}
			want := fmt.Sprintf("%dxx", code/100)
			if got != want {
				t.Errorf("mynetworks = %s, client %s: smtpd %d, pfaudit %s (%s)", value, c, code, got, m.Why())
			}
		}
	}

	// Lists smtpd cannot build make it exit; the lab cannot start such a
	// listener, so main.cf's mynetworks is changed afterwards and the
	// main listener (which has no override) must stop answering.
	for _, f := range fatalLists {
		if _, _, perr := ParseHostList("mynetworks", f.value, diag.Pos{File: "main.cf"}, Options{}); perr == nil {
			t.Errorf("mynetworks = %s: ParseHostList accepted a list smtpd cannot build", f.value)
		}
		before := len(in.Maillog())
		if _, err := in.Postconf("-e", "mynetworks = "+f.value); err != nil {
			t.Fatal(err)
		}
		if err := in.Reload(); err != nil {
			t.Fatal(err)
		}
		seen := false
		for try := 0; try < 30 && !seen; try++ {
			// Connecting makes master start an smtpd with the new
			// configuration, which exits while building mynetworks.
			in.CheckRCPT(lab.ClientOpts{Addr: "10.1.2.3", Timeout: 3 * time.Second}, "sender@example.org", "rcpt@remote.example")
			log := in.Maillog()
			seen = len(log) > before && strings.Contains(log[before:], "fatal: ") && strings.Contains(log[before:], f.fatal)
			if !seen {
				time.Sleep(300 * time.Millisecond)
			}
		}
		if !seen {
			t.Errorf("mynetworks = %s: smtpd logged no fatal %q", f.value, f.fatal)
		}
	}
}

// TestSMTPDDomainGroundTruth checks domain lists (relay_domains) and string
// lists (mydestination, virtual_alias_domains) against
// reject_unauth_destination in a private Postfix, with and without
// parent-domain matching.
func TestSMTPDDomainGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postfix instances")
	}
	const (
		mydest = "dest.example, .dotdest.example, texthash:{etc}/mydest, Upper.Example"
		relays = "relay.example, .dotrelay.example, !no.relay2.example, relay2.example, texthash:{etc}/relays, inline:{tbl.example=x}, regexp:{etc}/relay.re"
		valias = "valias.example, .dotvalias.example"
	)
	domains := []string{
		"dest.example", "sub.dest.example", "dotdest.example", "x.dotdest.example", "mydest.example", "x.mydest.example",
		"upper.example", "relay.example", "sub.relay.example", "a.b.relay.example", "dotrelay.example", "x.dotrelay.example",
		"no.relay2.example", "relay2.example", "x.relay2.example", "tbl.example", "sub.tbl.example", "tblfile.example",
		"sub.tblfile.example", "x.y.org", "org.example", "re.example", "foo.re.example", "valias.example", "sub.valias.example",
		"x.dotvalias.example", "other.example", "DEST.EXAMPLE", "Relay.Example",
	}
	tables := []lab.Table{
		{Name: "mydest", Content: "mydest.example x\n"},
		{Name: "relays", Content: "tblfile.example x\norg y\n"},
		{Name: "relay.re", Content: "/^re\\.example$/ x\n"},
	}
	for _, parent := range []string{"default", ""} {
		name := "parent-default"
		if parent == "" {
			name = "parent-none"
		}
		t.Run(name, func(t *testing.T) {
			main := []string{
				"mydestination = " + mydest,
				"relay_domains = " + relays,
				"virtual_alias_domains = " + valias,
				"smtpd_relay_restrictions = reject_unauth_destination",
				"smtpd_recipient_restrictions =",
			}
			var opt Options
			if parent == "" {
				main = append(main, "parent_domain_matches_subdomains =")
				empty := ""
				opt.ParentDomainMatchesSubdomains = &empty
			}
			in := lab.Start(t, lab.Options{Label: "domains", Tables: tables, Main: main})
			opt.Table = table.Options{Live: true}
			etc := in.ConfigDir()
			parse := func(param, v string) *DomainList {
				l, _, err := ParseDomainList(param, strings.ReplaceAll(v, "{etc}", etc), diag.Pos{File: "main.cf"}, opt)
				if err != nil {
					t.Fatalf("%s: %v", param, err)
				}
				return l
			}
			lists := []*DomainList{parse("mydestination", mydest), parse("relay_domains", relays), parse("virtual_alias_domains", valias)}
			var nAllowed, nDenied int
			defer func() {
				if nAllowed == 0 || nDenied == 0 {
					t.Errorf("%d allowed, %d denied: the cases do not test both outcomes", nAllowed, nDenied)
				}
			}()
			for _, d := range domains {
				r, err := in.CheckRCPT(lab.ClientOpts{}, "sender@example.org", "root@"+d)
				if err != nil {
					t.Fatalf("%s: %v", d, err)
				}
				denied := r.Code == 554 && strings.Contains(r.Text, "Relay access denied")
				allowed := false
				for _, l := range lists {
					m := l.Match(d)
					if m.Unknown || m.Err != nil {
						t.Fatalf("%s in %s: unexpected %+v", d, l.Param, m)
					}
					allowed = allowed || m.Matched
				}
				if allowed == denied {
					t.Errorf("%s: smtpd %d %s; pfaudit allowed=%v", d, r.Code, r.Text, allowed)
				}
				if denied {
					nDenied++
				} else {
					nAllowed++
				}
			}
		})
	}
}
