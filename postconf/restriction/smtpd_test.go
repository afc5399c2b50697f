package restriction_test

import (
	"fmt"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/postconf/restriction"
)

// TestNamesOnSmtpd asks a real smtpd whether it knows each name: the list
// must be exactly what Postfix accepts. Every name is reached through
// smtpd_etrn_restrictions (ETRN carries no sender or recipient, so nothing
// is verified or queued): check_etrn_access maps the ETRN domain nNN.example
// to the restriction class cNN = NAME [ARG] (an access table's answer may
// not name tables itself: "do not specify lookup tables inside SMTPD access
// maps", 451 4.3.5). smtpd
// answers an unknown name with 451 4.3.5 and logs `unknown smtpd
// restriction: "NAME"`; a known one never does. The instance runs in its
// own network namespace with no route: the DNS-based restrictions fail
// there at once instead of asking a resolver outside.
func TestNamesOnSmtpd(t *testing.T) {
	lab.Require(t)
	lab.RequireNetns(t)
	ns := lab.NewNetns(t, lab.NetnsOptions{})

	type probe struct {
		text    string // the restriction list the table returns
		name    string // the name smtpd must (not) know
		known   bool
		wantTxt string // a reply fragment that must appear instead
	}
	argFor := map[restriction.Arg]string{
		restriction.Table:   "texthash:{etc}/empty",
		restriction.Service: "inet:127.0.0.1:9",
		restriction.Domain:  "rbl.invalid",
		restriction.Seconds: "0",
	}
	var probes []probe
	for _, i := range restriction.All() {
		text := i.Name
		if i.TakesArg() {
			text += " " + argFor[i.Arg]
		}
		probes = append(probes, probe{text: text, name: i.Name, known: true})
	}
	probes = append(probes,
		probe{text: "Permit_MyNetworks", name: "Permit_MyNetworks", known: true},
		probe{text: "REJECT_SENDER_LOGIN_MISMATCH", name: "REJECT_SENDER_LOGIN_MISMATCH"},
		probe{text: "reject_dnsbl_client rbl.invalid", name: "reject_dnsbl_client"},
		probe{text: "permit_auth_destination_routed", name: "permit_auth_destination_routed"},
		probe{text: "reject_unauth_destiantion", name: "reject_unauth_destiantion"},
		// smtpd_check_parse() keeps the braces of a {...} element: one
		// in a name position is no restriction.
		probe{text: "{ permit_mynetworks }", name: "{ permit_mynetworks }"},
		// A check_*_access needs a type:table argument (is_map_command).
		probe{text: "check_client_access empty", name: "", wantTxt: "4.3.5"},
		// A bare table is check_etrn_access in this list, also inside a
		// table's answer (def_acl is passed down).
		probe{text: "texthash:{etc}/bare", name: "", wantTxt: "bare table hit"},
		// An access table's answer may not name a table
		// (check_table_result: "do not specify lookup tables inside
		// SMTPD access maps").
		probe{text: "check_etrn_access texthash:{etc}/answers", name: "", wantTxt: "4.3.5"},
	)
	if len(probes) < 80 {
		t.Fatalf("only %d probes", len(probes))
	}
	var names strings.Builder
	bare := ""
	var classes []string
	settings := []string{
		"smtpd_etrn_restrictions = check_etrn_access texthash:{etc}/names",
		"smtpd_policy_service_try_limit = 1",
		"smtpd_policy_service_default_action = DUNNO",
		"smtpd_sasl_auth_enable = no",
		// A server error mails the postmaster (notify_classes software).
		"notify_classes =",
	}
	for i, p := range probes {
		fmt.Fprintf(&names, "n%02d.example c%02d\n", i, i)
		bare += fmt.Sprintf("n%02d.example REJECT bare table hit\n", i)
		classes = append(classes, fmt.Sprintf("c%02d", i))
		settings = append(settings, fmt.Sprintf("c%02d = %s", i, p.text))
	}
	settings = append(settings, "smtpd_restriction_classes = "+strings.Join(classes, " "))
	opt := lab.Options{Label: "names", Netns: ns, Main: settings, Tables: []lab.Table{
		{Name: "names", Content: names.String()},
		{Name: "empty", Content: ""},
		{Name: "bare", Content: bare},
		{Name: "answers", Content: strings.ReplaceAll(bare, "REJECT bare table hit", "static:REJECT")},
	}}
	in := lab.Start(t, opt)

	conn, err := lab.DialFrom(ns.Client, "tcp", in.Addr(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	tp := textproto.NewConn(conn)
	ask := func(line string) (int, string) {
		if err := tp.PrintfLine("%s", line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		code, msg, err := tp.ReadResponse(0)
		if _, ok := err.(*textproto.Error); err != nil && !ok {
			t.Fatalf("%s: %v", line, err)
		}
		return code, msg
	}
	if code, msg, err := tp.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %d %s %v", code, msg, err)
	}
	ask("EHLO [" + ns.ClientAddr.String() + "]")
	replies := make([]string, len(probes))
	for i := range probes {
		code, msg := ask(fmt.Sprintf("ETRN n%02d.example", i))
		replies[i] = fmt.Sprintf("%d %s", code, msg)
	}
	ask("QUIT")
	in.AssertNothingSent(t)
	log := in.Maillog()

	for i, p := range probes {
		unknown := p.name != "" && strings.Contains(log, fmt.Sprintf("unknown smtpd restriction: \"%s\"", p.name))
		serverErr := strings.Contains(replies[i], "4.3.5")
		switch {
		case p.wantTxt != "":
			if !strings.Contains(replies[i], p.wantTxt) {
				t.Errorf("%q: smtpd answered %q, want %q", p.text, replies[i], p.wantTxt)
			}
		case p.known && (unknown || serverErr):
			t.Errorf("%q: in the list, but smtpd answered %q (logged unknown: %v)", p.text, replies[i], unknown)
		case !p.known && !(unknown && serverErr):
			t.Errorf("%q: not in the list, but smtpd answered %q (logged unknown: %v)", p.text, replies[i], unknown)
		}
		if restriction.Known(p.name) != p.known && p.name != "" {
			t.Errorf("%q: Known = %v, smtpd says %v", p.name, !p.known, p.known)
		}
	}
	if t.Failed() {
		t.Logf("maillog:\n%s", log)
	}
}
