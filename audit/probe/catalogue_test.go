package probe

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The rows of relay-probes.md and which public testers send them; the
// catalogue must cover every row, hence every tester's set.
var referenceRows = map[int][]string{
	1: {"nmap", "nessus", "abuse.net"}, 2: {"nmap", "nessus", "abuse.net", "rbl.jp"}, 3: {"nessus"},
	4: {"nessus"}, 5: {"nessus", "abuse.net"}, 6: {"nmap", "nessus"}, 7: {"nmap", "nessus", "abuse.net"},
	8: {"abuse.net", "nessus"}, 9: {"njabl"}, 10: {"nmap", "nessus", "abuse.net"}, 11: {"nmap", "nessus", "abuse.net"},
	12: {"nmap", "abuse.net"}, 13: {"nmap", "abuse.net"}, 14: {"nmap", "nessus", "abuse.net"}, 15: {"nmap", "nessus"},
	16: {"nmap", "nessus", "abuse.net"}, 17: {"abuse.net"}, 18: {"nmap", "nessus", "abuse.net"},
	19: {"nmap", "nessus", "abuse.net"}, 20: {"nmap", "abuse.net"}, 21: {"nmap", "nessus", "abuse.net"},
	22: {"nmap", "abuse.net"}, 23: {"njabl"}, 24: {"mailradar"}, 25: {"mailcheck"}, 26: {"metasploit"}, 27: nil,
}

func TestCatalogueCoversEveryRow(t *testing.T) {
	cat := Catalogue(Params{Host: "mx.example.com", Addr: netip.MustParseAddr("192.0.2.25")})
	rows := map[int]bool{}
	seen := map[string]bool{}
	for _, a := range cat {
		if seen[a.Variant] {
			t.Errorf("duplicate variant %s", a.Variant)
		}
		seen[a.Variant] = true
		var n int
		if _, err := fmt.Sscanf(a.Variant, "%d", &n); err == nil {
			rows[n] = true
		}
		for _, l := range []string{a.Mail, a.Rcpt} {
			if err := checkLine(l); err != nil {
				t.Errorf("%s: catalogue line %q fails the wire policy: %v", a.Variant, l, err)
			}
		}
	}
	nmap := 0
	for row, tools := range referenceRows {
		if !rows[row] {
			t.Errorf("row %d of relay-probes.md missing", row)
		}
		for _, tool := range tools {
			if tool == "nmap" {
				nmap++
			}
		}
	}
	if nmap != 16 {
		t.Errorf("reference rows list %d nmap tests, relay-probes.md says 16", nmap)
	}
	for _, v := range []string{"helo-localhost", "helo-self", "helo-test", "after-auth"} {
		if !seen[v] {
			t.Errorf("session variant %s missing", v)
		}
	}
}

func TestCataloguePlaceholders(t *testing.T) {
	tests := []struct {
		name   string
		p      Params
		want   map[string][2]string // variant -> MAIL, RCPT lines
		helo   map[string]string
		domain string
	}{
		{
			name: "IPv4 and defaults",
			p:    Params{Host: "mx.example.com", Addr: netip.MustParseAddr("192.0.2.25")},
			want: map[string][2]string{
				"06":  {"MAIL FROM:<probe@mx.example.com>", "RCPT TO:<relaytest@example.net>"},
				"08a": {"MAIL FROM:<probe@example.com>", "RCPT TO:<relaytest@example.net>"},
				"11":  {"MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest%example.net@[192.0.2.25]>"},
				"26":  {"MAIL FROM:<probe@[192.0.2.25]>", "RCPT TO:<relaytest@[192.0.2.25]>"},
			},
			helo: map[string]string{"helo-self": "mx.example.com", "helo-test": "example.net", "01": "probe.example.com"},
		},
		{
			name: "IPv6 literal and custom domains",
			p: Params{Host: "mail.lab.test", Addr: netip.MustParseAddr("::1"), TestDomain: "relay.invalid",
				SenderDomain: "sender.test", HELO: "me.test"},
			want: map[string][2]string{
				"07":  {"MAIL FROM:<probe@[IPv6:::1]>", "RCPT TO:<relaytest@relay.invalid>"},
				"18":  {"MAIL FROM:<probe@sender.test>", "RCPT TO:<@[IPv6:::1]:relaytest@relay.invalid>"},
				"08b": {"MAIL FROM:<postmaster@lab.test>", "RCPT TO:<relaytest@relay.invalid>"},
			},
			helo: map[string]string{"helo-test": "relay.invalid", "02": "me.test"},
		},
		{
			name: "no host name: IP literal, Postfix's localdomain",
			p:    Params{Addr: netip.MustParseAddr("198.51.100.7")},
			want: map[string][2]string{
				"06": {"MAIL FROM:<probe@[198.51.100.7]>", "RCPT TO:<relaytest@example.net>"},
			},
		},
		{
			name: "single-label host",
			p:    Params{Host: "localhost", Addr: netip.MustParseAddr("127.0.0.1")},
			want: map[string][2]string{
				"08a": {"MAIL FROM:<probe@localdomain>", "RCPT TO:<relaytest@example.net>"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			byID := map[string]Attempt{}
			for _, a := range Catalogue(tc.p) {
				byID[a.Variant] = a
			}
			for id, w := range tc.want {
				a := byID[id]
				if a.Mail != w[0] || a.Rcpt != w[1] {
					t.Errorf("%s: %q %q, want %q %q", id, a.Mail, a.Rcpt, w[0], w[1])
				}
			}
			for id, h := range tc.helo {
				if byID[id].HELO != h {
					t.Errorf("%s: HELO %q, want %q", id, byID[id].HELO, h)
				}
			}
		})
	}
}

// TestTranscriptBytes proves that every catalogue row reaches the wire
// exactly as relay-probes.md writes it, whichever path (go-smtp or raw)
// sends it, and that sessions are shaped EHLO, MAIL, RCPT, RSET, ...,
// RSET, QUIT.
func TestTranscriptBytes(t *testing.T) {
	srv := startFake(t, nil)
	rep, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote,
		Parallel: 1, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]string{ // EHLO name, MAIL line, RCPT line
		{"probe.example.com", "MAIL FROM:<>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.net>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@random.example.net>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@localhost>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@mx.example.com>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@[127.0.0.1]>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.com>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<postmaster@example.com>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<postmaster@mx.example.com>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", `MAIL FROM:<"probe@example.net"@mx.example.com>`, "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest%example.net@mx.example.com>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest%example.net@[127.0.0.1]>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", `RCPT TO:<"relaytest@example.net">`},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", `RCPT TO:<"relaytest%example.net">`},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net@[127.0.0.1]>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", `RCPT TO:<"relaytest@example.net"@[127.0.0.1]>`},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net@mx.example.com>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", `RCPT TO:<"relaytest@example.net"@mx.example.com>`},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<@[127.0.0.1]:relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<@mx.example.com:relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<example.net!relaytest>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<example.net!relaytest@[127.0.0.1]>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<example.net!relaytest@mx.example.com>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest%example.net@>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net@>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:relaytest@example.net"},
		{"probe.example.com", "MAIL FROM:<probe@[127.0.0.1]>", "RCPT TO:<relaytest@[127.0.0.1]>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<RELAYTEST@EXAMPLE.NET>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO: <relaytest@example.net>"},
		{"probe.example.com", "mail from:<probe@example.org>", "rcpt to:<relaytest@example.net>"},
		{"localhost", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net>"},
		{"mx.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net>"},
		{"example.net", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net>"},
		{"probe.example.com", "MAIL FROM:<probe@example.org>", "RCPT TO:<relaytest@example.net>"},
	}
	lines := srv.lines()
	for _, l := range lines {
		if !strings.HasSuffix(l, "\r\n") || strings.Count(l, "\n") != 1 {
			t.Errorf("line not CRLF-terminated exactly once: %q", l)
		}
	}
	// Cut the stream into attempts: the EHLO before each MAIL, then RCPT.
	var got [][3]string
	ehlo := ""
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r\n")
		up := strings.ToUpper(l)
		switch {
		case strings.HasPrefix(up, "EHLO "):
			ehlo = l[5:]
		case strings.HasPrefix(up, "MAIL "):
			rcpt := ""
			if i+1 < len(lines) {
				rcpt = strings.TrimSuffix(lines[i+1], "\r\n")
			}
			got = append(got, [3]string{ehlo, l, rcpt})
		}
	}
	// The first RCPT is the control that chooses the test domain: an
	// improbable user at example.net.
	if len(got) == 0 || got[0][1] != "MAIL FROM:<probe@example.org>" || !regexp.MustCompile(`^RCPT TO:<pfaudit-control-[0-9a-f]{12}@example\.net>$`).MatchString(got[0][2]) {
		t.Fatalf("first attempt on the wire %q, want the control RCPT", got[:min(1, len(got))])
	}
	got = got[1:]
	if len(got) != len(want) {
		t.Fatalf("%d attempts on the wire, want %d:\n%q", len(got), len(want), lines)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attempt %d: got %q, want %q", i, got[i], want[i])
		}
	}

	// Session shape: every session starts with EHLO, alternates
	// EHLO/MAIL/RCPT/RSET and ends with RSET, QUIT.
	var sess []string
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r\n")
		verb, _, _ := strings.Cut(strings.ToUpper(l), " ")
		sess = append(sess, verb)
	}
	shape := strings.Join(sess, " ")
	unit := "EHLO MAIL RCPT RSET"
	perSession := strings.TrimSpace(strings.Repeat(unit+" ", 9)) + " QUIT"
	if !strings.HasPrefix(shape, perSession+" EHLO") {
		t.Errorf("first session's shape:\n%s\nwant it to start with\n%s", shape, perSession)
	}
	if !strings.HasSuffix(shape, "RSET QUIT") {
		t.Errorf("the run does not end with RSET QUIT: %s", shape)
	}
	if n := srv.sessionCount(); n != 4 {
		t.Errorf("%d sessions, want 4 (the control and 35 attempts, 9 per session)", n)
	}
	v := rep.Targets[0].Vantages[0]
	if v.Verdict != VerdictClosed || len(v.Attempts) != len(want) {
		t.Errorf("verdict %s with %d attempts, want closed with %d", v.Verdict, len(v.Attempts), len(want))
	}
	if rep.Targets[0].Host != "mx.example.com" {
		t.Errorf("host %q from EHLO, want mx.example.com", rep.Targets[0].Host)
	}
}

// TestBody8BITMIME documents go-smtp's one addition to MAIL: when the
// server offers 8BITMIME it appends BODY=8BITMIME, on the go-smtp path
// only.
func TestBody8BITMIME(t *testing.T) {
	srv := startFake(t, func(s *fakeServer) {
		s.handle = func(c *fakeConn, line string) {
			if strings.HasPrefix(strings.ToUpper(line), "EHLO") {
				c.send("250-mx.example.com", "250 8BITMIME")
				return
			}
			defaultHandle(c, line)
		}
	})
	_, err := Run(context.Background(), Options{Targets: []string{srv.addr()}, Vantage: VantageRemote, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	var mails []string
	for _, l := range srv.lines() {
		if strings.HasPrefix(strings.ToUpper(l), "MAIL") {
			mails = append(mails, strings.TrimSuffix(l, "\r\n"))
		}
	}
	if len(mails) < 2 || mails[0] != "MAIL FROM:<probe@example.org> BODY=8BITMIME" || mails[1] != "MAIL FROM:<> BODY=8BITMIME" {
		t.Fatalf("first MAILs (control, row 01) %q", mails)
	}
	for _, m := range mails {
		if strings.HasPrefix(m, "mail from:") && strings.Contains(m, "BODY=") {
			t.Errorf("raw path added a parameter: %q", m)
		}
	}
}
