package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport exercises every part of the model: an open, a closed and a
// loopback listener (one with probe evidence), findings at main.cf and
// master.cf lines, at line 0, global and per listener, with a restart, a
// conflict and a probe status.
func sampleReport() *Report {
	open := &relay.Case{
		Request: relay.Request{
			Client:    relay.Client{Class: "internet-v4", Addr: netip.MustParseAddr("203.0.113.5"), Name: "unknown", HELO: "probe.example"},
			Sender:    "s@example.org",
			Recipient: "u@example.net",
		},
		Decision: relay.Decision{Result: relay.Accept, Code: 250, Enhanced: "2.1.5", Text: "Ok", Reason: "both lists permit",
			Trace: []relay.Step{
				{List: "smtpd_relay_restrictions", Index: 1, Restriction: "permit_mynetworks", Outcome: "dunno", Pos: diag.Pos{File: "/etc/postfix/main.cf", Line: 40}},
				{List: "smtpd_relay_restrictions", Index: 2, Restriction: "check_sender_access hash:/etc/postfix/sender_access", Outcome: "permit", Detail: "s@example.org OK", Pos: diag.Pos{File: "/etc/postfix/main.cf", Line: 40}},
			}},
	}
	as := []*relay.Analysis{
		{Listener: relay.Listener{Key: "smtp/inet", Port: "smtp", IPv4: true}, Verdict: relay.Open, Local: relay.Open,
			Reason: "check_sender_access returns OK before reject_unauth_destination", Deciding: open,
			Guard: relay.Guard{OK: true, Reason: "reject_unauth_destination", Pos: diag.Pos{File: "/etc/postfix/main.cf", Line: 40}}},
		{Listener: relay.Listener{Key: "submission/inet", Port: "submission", IPv4: true}, Verdict: relay.Closed, Local: relay.Closed,
			Reason: "only authenticated clients may relay", Guard: relay.Guard{OK: true, Reason: "reject", Pos: diag.Pos{File: "/etc/postfix/master.cf", Line: 22}}},
		{Listener: relay.Listener{Key: "127.0.0.1:10025/inet", Host: "127.0.0.1", Port: "10025", LoopbackOnly: true, IPv4: true}, Verdict: relay.Closed, WouldBe: relay.Open, Local: relay.Open,
			Reason: "loopback only", Guard: relay.Guard{OK: true, Reason: "reject_unauth_destination"}},
	}
	ls := FromAnalyses(as)
	ls[1].Probe = &ProbeEvidence{Vantage: "xclient", Verdict: "closed", Client: "203.0.113.5", Note: "every relay attempt refused with 554 5.7.1",
		Address: "127.0.0.1:587", Banner: "mail.example.com ESMTP", Attempts: 33, Outcomes: map[string]int{"refused": 33}}
	ls[0].TestDomain, ls[0].TestDomainNote = "example.com", "the server hosts example.net (mydestination)"
	ls[0].Assumptions = []string{"mysql:/etc/postfix/relay.cf does not list the reserved test domains"}
	fs := []rules.Finding{
		{ID: "PFA-RELAY-001", Title: "Listener is an open relay", Severity: rules.Critical, Service: "smtp/inet", Parameter: "smtpd_relay_restrictions",
			File: "/etc/postfix/main.cf", Line: 40, Message: "smtp/inet relays mail for untrusted Internet clients: check_sender_access returns OK | before the guard",
			Remediation: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access hash:/etc/postfix/sender_access'"},
			Apply:       "reload", Status: rules.StatusConfirmed, Evidence: "RCPT TO:<u@example.net> -> 250 2.1.5 Ok"},
		{ID: "PFA-RELAY-013", Title: "Access table (or DNS allowlist) can permit before the relay guard", Severity: rules.High, Parameter: "smtpd_relay_restrictions",
			File: "/etc/postfix/main.cf", Line: 40, Message: "check_sender_access hash:/etc/postfix/sender_access (position 2 of smtpd_relay_restrictions) comes before the relay guard",
			Remediation: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access hash:/etc/postfix/sender_access'"},
			Apply:       "reload", Status: rules.StatusStatic},
		{ID: "PFA-RELAY-024", Title: "Content-filter re-injection listener reachable from the network", Severity: rules.High, Service: "10026/inet",
			File: "/etc/postfix/master.cf", Line: 31, Message: "10026/inet looks like a content filter's re-injection listener but listens on every inet_interfaces address",
			Remediation: []string{"postconf -M '127.0.0.1:10026/inet = 127.0.0.1:10026 inet n - n - - smtpd -o content_filter='", "postconf -MX '10026/inet'"},
			Apply:       "restart", Status: rules.StatusStatic},
		{ID: "PFA-EXP-005", Title: "Submission port does not require TLS", Severity: rules.Medium, Service: "submission/inet", Parameter: "smtpd_tls_security_level",
			File: "/etc/postfix/master.cf", Line: 22, Message: "submission/inet (submission, port 587) does not require TLS (smtpd_tls_security_level = may)",
			Remediation: []string{"postconf -P 'submission/inet/smtpd_tls_security_level=encrypt'"}, Apply: "reload", Status: rules.StatusStatic},
		{ID: "PFA-POL-002", Title: "Configuration does not meet a site policy expectation", Severity: rules.Medium, Parameter: "smtpd_relay_restrictions",
			File: "/etc/postfix/main.cf", Line: 40, Message: "site policy policy.toml:9 expects smtpd_relay_restrictions not to contain check_sender_access",
			Remediation: []string{"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'"}, Apply: "reload", Status: rules.StatusStatic},
		{ID: "PFA-HYG-001", Title: "compatibility_level missing or below 2", Severity: rules.Medium, Parameter: "compatibility_level",
			File: "/etc/postfix/main.cf", Message: "compatibility_level is not set, so Postfix runs with the defaults of level 0",
			Remediation: []string{"postconf -e 'compatibility_level = 3.6'"}, Apply: "reload", Status: rules.StatusStatic},
		{ID: "PFA-AUTH-004", Title: "Authenticated users may send as anyone", Severity: rules.Medium, Service: "submission/inet", Parameter: "smtpd_sender_restrictions",
			File: "/etc/postfix/master.cf", Line: 22, Message: "submission/inet lets authenticated users send with any MAIL FROM address",
			Remediation: []string{"touch /etc/postfix/sender_login", "postmap /etc/postfix/sender_login",
				"postconf -e 'smtpd_sender_login_maps = ${default_database_type}:${config_directory}/sender_login'",
				"postconf -P 'submission/inet/smtpd_sender_restrictions=reject_known_sender_login_mismatch'"}, Apply: "reload", Status: rules.StatusStatic},
		{ID: "PFA-HYG-009", Title: "Parameter assigned more than once in main.cf", Severity: rules.Info, Parameter: "mynetworks",
			File: "/etc/postfix/main.cf", Line: 12, Message: "mynetworks is set 2 times; the last assignment wins", Remediation: []string{}, Status: rules.StatusNotTested},
		{ID: "PFA-EXP-003", Title: "VRFY command enabled", Severity: rules.Low, Service: "submission/inet", Parameter: "disable_vrfy_command",
			Message: "VRFY is enabled", Remediation: []string{"postconf -e 'disable_vrfy_command = yes'"}, Apply: "reload", Status: rules.StatusNotTested},
		{ID: "PFA-PROBE-001", Title: "Live relay behaviour differs from the configuration", Severity: rules.Critical, Service: "submission/inet",
			Message: "submission/inet at 127.0.0.1:587: the configuration predicts \"closed\", the live server is \"open\"", Remediation: []string{},
			Status: rules.StatusDrift, Evidence: "xclient vantage: open"},
	}
	return &Report{Tool: "pfaudit", Version: "1.0.0-test", ConfigDir: "/etc/postfix", Defaults: "postconf -d (/usr/sbin/postconf, Postfix 3.7.11)",
		Host: "mail.example.com", PostfixVersion: "3.7.11", Time: time.Date(2026, 12, 5, 19, 10, 0, 0, time.UTC),
		LineNumbers: true, Roles: []string{"mx", "submission"}, Listeners: ls, Findings: fs,
		Warnings: []string{"/etc/postfix/main.cf: unused parameter: foo=bar"}}
}

// dumpReport is an audit of postconf dumps in a non-default directory
// scope: line numbers 0 and no listeners analysed.
func dumpReport() *Report {
	return &Report{Tool: "pfaudit", Version: "1.0.0-test", Defaults: "built-in (Postfix 3.7.11)", Host: "mx1.example.org", PostfixVersion: "3.7.11",
		Findings: []rules.Finding{
			{ID: "PFA-RELAY-007", Title: "mynetworks trusts a whole private, NAT or Docker range", Severity: rules.High, Parameter: "mynetworks",
				File: "postconf-n.txt", Message: "mynetworks entry 172.16.0.0/12 trusts a whole private range",
				Remediation: []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}, Apply: "reload", Status: rules.StatusStatic},
			{ID: "PFA-EXP-003", Title: "VRFY command enabled", Severity: rules.Low, Parameter: "disable_vrfy_command",
				Message: "VRFY is enabled", Remediation: []string{"postconf -e 'disable_vrfy_command = yes'"}, Apply: "reload", Status: rules.StatusStatic},
		}}
}

// testCatalogue keeps the SARIF goldens independent of the real
// catalogue's wording: one descriptor per rule the sample reports use.
func testCatalogue() []rules.Rule {
	var out []rules.Rule
	for _, id := range []string{"PFA-RELAY-001", "PFA-RELAY-007", "PFA-RELAY-013", "PFA-RELAY-024", "PFA-EXP-003", "PFA-EXP-005", "PFA-AUTH-004", "PFA-HYG-001", "PFA-HYG-009", "PFA-POL-002"} {
		out = append(out, rules.Rule{ID: id, Title: "Title of " + id, Severity: rules.Medium, Family: "test",
			Checks: "What " + id + " checks.", Why: "Why " + id + " matters.", References: []string{"postconf(5)"},
			Remediation: []string{"postconf -e 'x = y'"}, Apply: "reload"})
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format string
		r      *Report
		o      Options
	}{
		{"sample.table.txt", "table", sampleReport(), Options{}},
		{"sample.80.txt", "table", sampleReport(), Options{Width: 80}},
		{"sample.200.txt", "table", sampleReport(), Options{Width: 200}},
		{"sample.quiet.txt", "table", sampleReport(), Options{Quiet: true, FailOn: "medium"}},
		{"sample.summary.txt", "summary", sampleReport(), Options{}},
		{"sample.junit.xml", "junit", sampleReport(), Options{Catalogue: testCatalogue()}},
		{"sample.color.txt", "table", sampleReport(), Options{Color: true}},
		{"sample.json", "json", sampleReport(), Options{}},
		{"sample.md", "markdown", sampleReport(), Options{}},
		{"sample.sarif", "sarif", sampleReport(), Options{BaseDir: "/etc", Catalogue: testCatalogue()}},
		{"dump.table.txt", "table", dumpReport(), Options{}},
		{"dump.json", "json", dumpReport(), Options{}},
		{"dump.sarif", "sarif", dumpReport(), Options{Catalogue: testCatalogue()[:2]}},
		{"dump.md", "markdown", dumpReport(), Options{}},
		{"dump.junit.xml", "junit", dumpReport(), Options{Catalogue: testCatalogue()[:2], FailOn: "low"}},
		{"empty.table.txt", "table", &Report{Tool: "pfaudit", ConfigDir: "/srv/postfix"}, Options{}},
		{"empty.md", "markdown", &Report{Tool: "pfaudit", ConfigDir: "/srv/postfix"}, Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tc.format, tc.r, tc.o); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes())
		})
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "xml", sampleReport(), Options{}); err == nil || !strings.Contains(err.Error(), "table, json, markdown, sarif") {
		t.Errorf("err = %v", err)
	}
}

func TestColourOnlyWhenAsked(t *testing.T) {
	var plain, colour bytes.Buffer
	if err := Table(&plain, sampleReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Table(&colour, sampleReport(), Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("\x1b[")) {
		t.Error("escape sequences without Color")
	}
	if !bytes.Contains(colour.Bytes(), []byte(ansiBold+ansiRed+"CRITICAL"+ansiReset)) {
		t.Error("no coloured CRITICAL with Color")
	}
}

func TestJSONSchema(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, dumpReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema_version", "tool", "version", "config_directory", "defaults_source", "line_numbers", "roles", "summary", "listeners", "findings", "commands", "conflicts", "warnings"} {
		if _, ok := top[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	for _, k := range []string{"listeners", "roles", "warnings", "conflicts"} {
		if string(top[k]) == "null" {
			t.Errorf("%s is null, want []", k)
		}
	}
	var fs []map[string]any
	if err := json.Unmarshal(top["findings"], &fs); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		for _, k := range []string{"id", "severity", "service", "parameter", "file", "line", "message", "remediation", "status"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding key %q missing in %v", k, f)
			}
		}
	}
	if fs[1]["line"].(float64) != 0 || fs[1]["file"].(string) != "" || fs[0]["status"] != "static" {
		t.Errorf("finding fields: %v", fs)
	}
	// The listener trace is never null, even without a deciding case.
	b.Reset()
	if err := JSON(&b, sampleReport(), Options{}); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Listeners []struct {
			Service string            `json:"service"`
			Trace   []json.RawMessage `json:"trace"`
		} `json:"listeners"`
	}
	if err := json.Unmarshal(b.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Listeners) != 3 || len(rep.Listeners[0].Trace) != 2 || rep.Listeners[1].Trace == nil {
		t.Errorf("listeners %+v", rep.Listeners)
	}
	if !strings.Contains(b.String(), `"trace": []`) {
		t.Error("empty trace not rendered as []")
	}
}

func TestSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, sampleReport(), Options{BaseDir: "/etc/postfix"}); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %q runs %d", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	// The catalogue, and the drift finding that has no catalogue entry.
	if len(run.Tool.Driver.Rules) != len(rules.Catalogue())+1 {
		t.Errorf("%d rule descriptors, catalogue has %d", len(run.Tool.Driver.Rules), len(rules.Catalogue()))
	}
	for _, d := range run.Tool.Driver.Rules {
		if d.Help.Text == "" || !strings.HasPrefix(d.HelpURI, "https://") {
			t.Errorf("rule %s: help %q helpUri %q", d.ID, d.Help.Text, d.HelpURI)
		}
		if ps := d.Properties["problem.severity"]; ps != "error" && ps != "warning" && ps != "recommendation" {
			t.Errorf("rule %s: problem.severity %v", d.ID, ps)
		}
	}
	if run.AutomationDetails.ID != "pfaudit/mail.example.com/" {
		t.Errorf("automation id %q", run.AutomationDetails.ID)
	}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("ruleIndex %d does not point at %s", res.RuleIndex, res.RuleID)
		}
	}
	first := run.Results[0]
	if first.Level != "error" || len(first.Locations) != 1 {
		t.Fatalf("first result %+v", first)
	}
	loc := first.Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "main.cf" || loc.ArtifactLocation.URIBaseID != sarifRootID || loc.Region == nil || loc.Region.StartLine != 40 {
		t.Errorf("location %+v region %+v", loc.ArtifactLocation, loc.Region)
	}
	// compatibility_level: line 0, so line 1 (code scanning needs a
	// region), and the drift finding without a file is at main.cf.
	var hyg *sarifResult
	for i := range run.Results {
		if run.Results[i].RuleID == "PFA-HYG-001" {
			hyg = &run.Results[i]
		}
	}
	if hyg == nil || hyg.Locations[0].PhysicalLocation.Region.StartLine != 1 || hyg.Properties["lineKnown"] != false {
		t.Errorf("line-0 finding must be at line 1: %+v", hyg)
	}
	for _, res := range run.Results {
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.Region == nil {
			t.Errorf("%s: not located: %+v", res.RuleID, res.Locations)
		}
		if strings.Contains(res.Message.Text, "/etc/postfix/") {
			t.Errorf("%s: absolute path in message %q", res.RuleID, res.Message.Text)
		}
	}
	// Policy-adjusted severity: the descriptor follows the findings.
	for _, d := range run.Tool.Driver.Rules {
		if d.ID == "PFA-HYG-009" && d.Properties["security-severity"] != securitySeverity(rules.Info) {
			t.Errorf("PFA-HYG-009 security-severity %v, want the finding's (info)", d.Properties["security-severity"])
		}
	}
	fps := map[string]bool{}
	for _, res := range run.Results {
		fp := res.PartialFingerprints["pfauditFinding/v2"]
		if fp == "" {
			t.Errorf("%s: no fingerprint", res.RuleID)
		}
		if fps[fp] {
			t.Errorf("duplicate fingerprint %s", fp)
		}
		fps[fp] = true
	}
}

// TestFingerprintsStable: the same findings audited from another checkout
// (another root) on another run (other probe evidence, line numbers moved)
// keep their fingerprints.
func TestFingerprintsStable(t *testing.T) {
	fps := func(r *Report, root string) []string {
		var b bytes.Buffer
		if err := SARIF(&b, r, Options{SARIFRoot: root}); err != nil {
			t.Fatal(err)
		}
		var log sarifLog
		if err := json.Unmarshal(b.Bytes(), &log); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, res := range log.Runs[0].Results {
			out = append(out, res.PartialFingerprints["pfauditFinding/v2"])
		}
		return out
	}
	move := func(dir string) *Report {
		r := sampleReport()
		r.ConfigDir = dir
		for i := range r.Findings {
			f := &r.Findings[i]
			f.File = strings.Replace(f.File, "/etc/postfix", dir, 1)
			f.Message = strings.ReplaceAll(f.Message, "/etc/postfix", dir)
			if f.Line > 0 {
				f.Line += 3
			}
		}
		r.Listeners[1].Probe.Banner = "other banner"
		r.Listeners[1].Probe.Attempts = 30
		return r
	}
	a := fps(sampleReport(), "/etc/postfix")
	b := fps(move("/home/runner/work/repo/configs/mx1"), "/home/runner/work/repo/configs/mx1")
	if !slices.Equal(a, b) {
		t.Errorf("fingerprints moved with the checkout or the run:\n%q\n%q", a, b)
	}
}

func TestArtifactURI(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, base, want, id string }{
		{"/etc/postfix/main.cf", "/etc/postfix", "main.cf", sarifRootID},
		{"/etc/postfix/main.cf", "/etc", "postfix/main.cf", sarifRootID},
		{"/etc/postfix/main.cf", "/srv", "file:///etc/postfix/main.cf", ""},
		{"/etc/postfix/main.cf", "", "file:///etc/postfix/main.cf", ""},
		{"/srv/my configs/main.cf", "", "file:///srv/my%20configs/main.cf", ""},
		{"configs/mx1/master.cf", "", "configs/mx1/master.cf", ""},
		{"configs/mx1/master.cf", wd, "configs/mx1/master.cf", sarifRootID},
	} {
		if got, id := artifactURI(tc.file, tc.base); got != tc.want || id != tc.id {
			t.Errorf("artifactURI(%q, %q) = %q, %q, want %q, %q", tc.file, tc.base, got, id, tc.want, tc.id)
		}
	}
}

func TestMakePlan(t *testing.T) {
	p := MakePlan(sampleReport())
	want := []string{
		"touch /etc/postfix/sender_login",
		"postmap /etc/postfix/sender_login",
		"postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, check_sender_access hash:/etc/postfix/sender_access'",
		"postconf -e 'compatibility_level = 3.6'",
		"postconf -e 'smtpd_sender_login_maps = ${default_database_type}:${config_directory}/sender_login'",
		"postconf -e 'disable_vrfy_command = yes'",
		"postconf -P 'submission/inet/smtpd_tls_security_level=encrypt'",
		"postconf -P 'submission/inet/smtpd_sender_restrictions=reject_known_sender_login_mismatch'",
		"postconf -M '127.0.0.1:10026/inet = 127.0.0.1:10026 inet n - n - - smtpd -o content_filter='",
		"postconf -MX '10026/inet'",
		"systemctl restart postfix",
	}
	if !slices.Equal(p.Commands, want) {
		t.Errorf("commands\n got %q\nwant %q", p.Commands, want)
	}
	if len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0], "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'") {
		t.Errorf("conflicts %q", p.Conflicts)
	}

	// Reload only, in a non-default directory.
	r := &Report{ConfigDir: "/srv/pf", Findings: []rules.Finding{
		{Remediation: []string{"postconf -c /srv/pf -P 'smtp/inet/smtpd_sasl_auth_enable=no'"}, Apply: "reload"},
		{Remediation: []string{"postconf -c /srv/pf -X soft_bounce"}, Apply: "reload"},
		{Remediation: []string{"postconf -c /srv/pf -X soft_bounce"}, Apply: "reload"},
		{Remediation: []string{}, Apply: "restart"},                                                            // no commands: nothing to apply
		{Remediation: []string{"postconf -c /srv/pf -e 'soft_bounce = no'"}, Apply: "reload"},                  // conflicts with -X
		{Remediation: []string{"postconf -c /srv/pf -PX 'smtp/inet/smtpd_sasl_auth_enable'"}, Apply: "reload"}, // conflicts with -P
	}}
	p = MakePlan(r)
	want = []string{"postconf -c /srv/pf -X soft_bounce", "postconf -c /srv/pf -P 'smtp/inet/smtpd_sasl_auth_enable=no'", "postfix -c /srv/pf reload"}
	if !slices.Equal(p.Commands, want) {
		t.Errorf("commands\n got %q\nwant %q", p.Commands, want)
	}
	if len(p.Conflicts) != 2 {
		t.Errorf("conflicts %q", p.Conflicts)
	}
	if p := MakePlan(&Report{}); len(p.Commands) != 0 {
		t.Errorf("empty report plan %q", p.Commands)
	}
}
