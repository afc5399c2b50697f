package postconf

import (
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// StockMasterName names the assumed master.cf in positions and messages.
const StockMasterName = "stock master.cf (assumed)"

// stockMasterCF is the active part of the master.cf that Postfix 3.7
// installs (Debian's postfix 3.7.11 /usr/share/postfix/master.cf.dist,
// comments dropped): one public smtpd on port 25 and the internal
// services. A `postconf -n` dump without its `postconf -M` companion says
// nothing about master.cf, and an unedited master.cf is what such a host
// most likely runs; assuming no listener at all would call an open relay
// "send-only".
const stockMasterCF = `smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
uucp      unix  -       n       n       -       -       pipe
  flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)
ifmail    unix  -       n       n       -       -       pipe
  flags=F user=ftn argv=/usr/lib/ifmail/ifmail -r $nexthop ($recipient)
bsmtp     unix  -       n       n       -       -       pipe
  flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient
scalemail-backend unix -       n       n       -       2       pipe
  flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} ${user} ${extension}
mailman   unix  -       n       n       -       -       pipe
  flags=FRX user=list argv=/usr/lib/mailman/bin/postfix-to-mailman.py ${nexthop} ${user}
`

// StockMaster returns Postfix 3.7's stock master.cf, parsed, with a
// warning that says it was assumed; about names what lacked a view of
// master.cf (the dump given instead).
func StockMaster(about string) *MasterCF {
	m, err := ParseMasterCF(StockMasterName, []byte(stockMasterCF))
	if err != nil {
		panic("stock master.cf: " + err.Error()) // a constant: covered by tests
	}
	m.NoLines = true
	for _, s := range m.Services {
		s.Pos.Line = 0
		for i := range s.Overrides {
			s.Overrides[i].Pos.Line = 0
		}
	}
	m.Warnings = append(m.Warnings, diag.Warning{Pos: diag.Pos{File: about},
		Msg: "no master.cf view (postconf -M dump) was given: assuming Postfix 3.7's stock master.cf, whose \"smtp inet n - y - - smtpd\" listener takes mail on port 25 from everyone; give the host's `postconf -M` output with --postconf-M for its real listeners"})
	return m
}
