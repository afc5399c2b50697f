package probe

import (
	"bufio"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

func freeLabPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

func rawTalk(t *testing.T, addr string, pre string, lines ...string) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Logf("%s dial: %v", addr, err)
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(12 * time.Second))
	r := bufio.NewReader(c)
	if pre != "" {
		c.Write([]byte(pre))
	}
	l, err := r.ReadString('\n')
	t.Logf("%s greet %q %v after %v", addr, l, err, time.Since(start))
	for _, s := range lines {
		c.Write([]byte(s + "\r\n"))
		for {
			l, err := r.ReadString('\n')
			t.Logf("  %s -> %q %v", s, l, err)
			if err != nil || len(l) < 4 || l[3] == ' ' {
				break
			}
		}
	}
}

func TestZZExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	pb, pp := freeLabPort(t), freeLabPort(t)
	pu := freeLabPort(t)
	opt := lab.Open()
	opt.Master = []string{
		"{host}:" + pb + " inet n - n - - smtpd",
		"  -o smtpd_relay_restrictions=permit",
		"{host}:" + pp + " inet n - n - - smtpd",
		"  -o smtpd_upstream_proxy_protocol=haproxy",
		"  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination",
		"{host}:" + pu + " inet n - n - - smtpd",
		"  -o smtpd_relay_restrictions=reject_unknown_recipient_domain,check_client_access,static:OK,reject_unauth_destination",
	}
	opt.Main = append(opt.Main, "mydestination = $myhostname, example.net, localhost")
	in := lab.Start(t, opt)
	rawTalk(t, "127.0.0.1:"+pb, "")
	rawTalk(t, "127.0.0.1:"+pb, "")
	rawTalk(t, "127.0.0.1:"+pp, "")
	rawTalk(t, "127.0.0.1:"+pp, "PROXY TCP4 203.0.113.5 127.0.0.1 12345 "+pp+"\r\n", "EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<relaytest@example.com>")
	rawTalk(t, "127.0.0.1:"+pp, "PROXY TCP4 127.0.0.1 127.0.0.1 12345 "+pp+"\r\n", "EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<relaytest@example.com>")
	rawTalk(t, "127.0.0.1:"+pu, "", "EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<relaytest@example.com>", "RCPT TO:<relaytest%example.com@"+in.Hostname()+">", "RCPT TO:<relaytest@relaytest.invalid>")
	rawTalk(t, in.Addr(), "", "EHLO x", "XCLIENT ADDR=203.0.113.5", "EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<relaytest@example.net>", "RCPT TO:<pfaudit-zz@example.net>", "RCPT TO:<relaytest@example.com>")
	t.Log(in.Maillog())
}
