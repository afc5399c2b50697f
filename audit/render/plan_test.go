package render

import (
	"regexp"
	"testing"

	"github.com/pfaudit/pfaudit/rules"
)

// The regular expressions target and MakePlan used before they parsed
// postconf commands by hand: the parsing must agree with them.
var (
	oracleTarget = []struct {
		re     *regexp.Regexp
		prefix string
	}{
		{regexp.MustCompile(`^postconf(?: -c \S+)? -e '([A-Za-z0-9_]+) = `), "main:"},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -X '?([A-Za-z0-9_]+)'?$`), "main:"},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -P '([^=']+)=`), "master:"},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -PX '([^']+)'$`), "master:"},
	}
	oracleStep = []struct {
		re   *regexp.Regexp
		step int
	}{
		{regexp.MustCompile(`^postconf(?: -c \S+)? -(e|X) `), stepMain},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -PX? `), stepParam},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -M `), stepAddEntry},
		{regexp.MustCompile(`^postconf(?: -c \S+)? -MX `), stepDelEntry},
	}
)

func oracle(cmd string) (target string, step int) {
	for _, x := range oracleTarget {
		if m := x.re.FindStringSubmatch(cmd); m != nil {
			target = x.prefix + m[1]
			break
		}
	}
	step = stepPrep
	for _, x := range oracleStep {
		if x.re.MatchString(cmd) {
			step = x.step
			break
		}
	}
	return target, step
}

func TestPostconfCommandParsing(t *testing.T) {
	cmds := []string{
		"postconf -e 'mynetworks = 127.0.0.0/8'",
		"postconf -c /etc/postfix-out -e 'relayhost = [mx]:25'",
		"postconf -c '/etc/post fix' -e 'relayhost = x'",
		"postconf -c  -e 'a = b'",
		"postconf -c\t/x -e 'a = b'",
		"postconf -c /x\t-e 'a = b'",
		"postconf -e 'bad-name = x'", "postconf -e 'a=b'", "postconf -e a = b", "postconf -e", "postconf -e ",
		"postconf -X smtpd_relay_restrictions", "postconf -X 'smtpd_relay_restrictions'",
		"postconf -X 'half", "postconf -X half'", "postconf -X ''", "postconf -X a b", "postconf -X",
		"postconf -P 'submission/inet/smtpd_relay_restrictions=permit_sasl_authenticated,reject'",
		"postconf -P 'x'", "postconf -P '=x'", "postconf -P 'a'b=c'", "postconf -P submission/inet/x=y",
		"postconf -PX 'submission/inet/smtpd_recipient_restrictions'", "postconf -PX ''", "postconf -PX 'a'b'",
		"postconf -PX submission/inet/x", "postconf -PX 'a' ",
		"postconf -M 'relay/unix=relay unix - - n - - smtp'", "postconf -MX 'old/inet'", "postconf -Mf",
		"postmap /etc/postfix/sender_access", "postconf", "postconf  -e 'a = b'", "postconfx -e 'a = b'",
		"postconf -c /d -c /e -e 'a = b'", "postconf -c /d -PX 'a/b/c'", "postconf -e 'a = b' -c /d",
	}
	for _, r := range rules.Catalogue() {
		cmds = append(cmds, r.Remediation...)
	}
	for _, cmd := range cmds {
		wantTarget, wantStep := oracle(cmd)
		if got := target(cmd); got != wantTarget {
			t.Errorf("target(%q) = %q, want %q", cmd, got, wantTarget)
		}
		if got := stepOf(cmd); got != wantStep {
			t.Errorf("stepOf(%q) = %d, want %d", cmd, got, wantStep)
		}
	}
}
