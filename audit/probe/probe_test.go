package probe

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in, addr string
		tls      bool
		err      string
	}{
		{"127.0.0.1:25", "127.0.0.1:25", false, ""},
		{"127.0.0.1", "127.0.0.1:25", false, ""},
		{"[::1]:587", "[::1]:587", false, ""},
		{"::1", "[::1]:25", false, ""},
		{"[::1]", "[::1]:25", false, ""},
		{"127.0.0.1:465", "127.0.0.1:465", true, ""},
		{"smtps://127.0.0.1:10465", "127.0.0.1:10465", true, ""},
		{"smtp://127.0.0.1:2525/", "127.0.0.1:2525", false, ""},
		{"mail.example.com:25", "mail.example.com:25", false, ""},
		{"[::ffff:127.0.0.1]:25", "127.0.0.1:25", false, ""},
		{"127.0.0.1:0", "", false, "port"},
		{"127.0.0.1:99999", "", false, "port"},
		{"127.0.0.1:smtp", "", false, "port"},
		{"", "", false, "bad target"},
		{"user@host:25", "", false, "bad target"},
	}
	for _, tc := range tests {
		got, err := ParseTarget(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseTarget(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.Address != tc.addr || got.ImplicitTLS != tc.tls {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %s tls=%v", tc.in, got, err, tc.addr, tc.tls)
		}
	}
}

func TestRunOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{Options{}, "no target"},
		{Options{Targets: []string{"127.0.0.1:25"}, Vantage: "sideways"}, "unknown vantage"},
		{Options{Targets: []string{"127.0.0.1:25"}, Vantage: "loopback,bogus"}, "unknown vantage"},
		{Options{Targets: []string{"127.0.0.1:x"}, Vantage: "loopback"}, "bad target"},
		{Options{Targets: []string{"127.0.0.1:25"}, TestDomain: "example.net>\r\nDATA"}, "bad test domain"},
		{Options{Targets: []string{"127.0.0.1:25"}, HELO: "a b"}, "bad HELO name"},
	} {
		_, err := Run(context.Background(), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) error %v, want %q", tc.opt, err, tc.want)
		}
	}
}

func TestPerSession(t *testing.T) {
	for _, tc := range []struct {
		l       Limits
		reserve int
		want    int
	}{
		{Limits{}, 0, 9},
		{Limits{SoftErrorLimit: 5}, 0, 4},
		{Limits{SoftErrorLimit: 30, HardErrorLimit: 20}, 0, 19},
		{Limits{SoftErrorLimit: 1}, 0, 1},
		{Limits{}, 1, 8},
	} {
		if got := tc.l.withDefaults().perSession(tc.reserve); got != tc.want {
			t.Errorf("%+v reserve %d: %d per session, want %d", tc.l, tc.reserve, got, tc.want)
		}
	}
}

func TestPool(t *testing.T) {
	attempts := Catalogue(Params{})
	p := newPool(attempts, 9, true)
	var sizes []int
	seen := map[int]bool{}
	for idx := p.take(); idx != nil; idx = p.take() {
		sizes = append(sizes, len(idx))
		for _, i := range idx {
			seen[i] = true
			if attempts[i].AfterAuth && len(idx) != 1 {
				t.Errorf("after-auth attempt shares a session: %v", idx)
			}
		}
		p.giveBack(nil, false, 0, 2, nil)
	}
	if fmt.Sprint(sizes) != "[9 9 9 7 1]" || len(seen) != len(attempts) {
		t.Errorf("session sizes %v, %d attempts covered", sizes, len(seen))
	}

	// A lost session's attempts come back, at most maxRetries times, then
	// fail; a learnt limit shrinks the next sessions.
	p = newPool(attempts[:6], 9, false)
	idx := p.take()
	p.learn(3)
	failed := 0
	p.giveBack(idx[1:], true, len(idx)-1, 1, func(int) { failed++ })
	idx = p.take()
	if len(idx) != 2 {
		t.Fatalf("after learning 3 errors a session takes %d attempts, want 2", len(idx))
	}
	p.giveBack(idx, true, len(idx), 1, func(int) { failed++ })
	if failed != 2 {
		t.Errorf("%d attempts failed after their retry ran out, want 2", failed)
	}
	for idx := p.take(); idx != nil; idx = p.take() {
		p.giveBack(nil, false, 0, 1, nil)
	}
}

func TestServerName(t *testing.T) {
	for _, tc := range []struct {
		configured string
		info       serverInfo
		want       string
	}{
		{"", serverInfo{Host: "mx.example.com", Banner: "other.example.com ESMTP"}, "mx.example.com"},
		{"conf.example.com", serverInfo{Host: "mx.example.com"}, "conf.example.com"},
		{"", serverInfo{Host: "Hello", Banner: "open.example.com ESMTP Service Ready"}, "open.example.com"},
		{"", serverInfo{Host: "localhost", Banner: "localhost ESMTP"}, "localhost"},
		{"", serverInfo{Banner: "[192.0.2.1] ESMTP"}, "[192.0.2.1]"},
		{"", serverInfo{Host: "evil\rDATA", Banner: "x<y> ESMTP"}, ""},
		{"", serverInfo{Host: "[IPv6:::1]"}, "[IPv6:::1]"},
		{"", serverInfo{Host: "[not-an-ip]", Banner: "mx.example.com"}, "mx.example.com"},
	} {
		if got := serverName(tc.configured, tc.info); got != tc.want {
			t.Errorf("serverName(%q, %+v) = %q, want %q", tc.configured, tc.info, got, tc.want)
		}
	}
}

// ExampleCatalogue shows how the placeholders are filled.
func ExampleCatalogue() {
	for _, a := range Catalogue(Params{Host: "mx.example.com", Addr: netip.MustParseAddr("192.0.2.25")})[9:12] {
		fmt.Printf("%-4s %-42s %s\n", a.Variant, a.Mail, a.Rcpt)
	}
	// Output:
	// 08c  MAIL FROM:<postmaster@mx.example.com>      RCPT TO:<relaytest@example.net>
	// 09   MAIL FROM:<"probe@example.net"@mx.example.com> RCPT TO:<relaytest@example.net>
	// 10   MAIL FROM:<probe@example.org>              RCPT TO:<relaytest%example.net@mx.example.com>
}
