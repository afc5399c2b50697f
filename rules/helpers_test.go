package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// ruleCase is one configuration and what one rule must make of it.
type ruleCase struct {
	id   string
	name string
	fire bool
	// main and master are main.cf and master.cf text; master "" means a
	// single port-25 smtpd listener.
	main, master string
	// policy is a policy file's text ("" = no policy).
	policy string
	// dir is the configuration directory (Config.Dir).
	dir string
	// analyses builds the relay analyses from the parsed configuration.
	analyses func(cfg *postconf.Config) []*relay.Analysis
	// want, for a firing case, constrains the first finding of the rule.
	want *want
}

type want struct {
	service, param, file string
	line                 int
	msg                  []string // substrings of the message
	fix                  []string // the exact remediation commands (nil: not checked)
	noFix                bool     // the remediation must be empty
	count                int      // number of findings of the rule (0: not checked)
	severity             string
}

const defaultMaster = "smtp inet n - y - - smtpd\n"

func buildConfig(t testing.TB, mainText, masterText, dir string) *postconf.Config {
	t.Helper()
	m, err := postconf.ParseMainCF("main.cf", []byte(mainText))
	if err != nil {
		t.Fatalf("main.cf: %v", err)
	}
	if masterText == "" {
		masterText = defaultMaster
	}
	ms, err := postconf.ParseMasterCF("master.cf", []byte(masterText))
	if err != nil {
		t.Fatalf("master.cf: %v", err)
	}
	cfg := postconf.New(m, ms, defaults.Builtin(), "built-in")
	cfg.Dir = dir
	return cfg
}

func (rc ruleCase) context(t testing.TB) *Context {
	t.Helper()
	cfg := buildConfig(t, rc.main, rc.master, rc.dir)
	c := &Context{Cfg: cfg}
	if rc.analyses != nil {
		c.Analyses = rc.analyses(cfg)
	}
	if rc.policy != "" {
		p, err := ParsePolicy("policy.toml", []byte(rc.policy))
		if err != nil {
			t.Fatalf("policy: %v", err)
		}
		c.Policy = p
	}
	return c
}

func findingsOf(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func runCases(t *testing.T, cases []ruleCase) {
	for _, rc := range cases {
		name := rc.id + "/" + rc.name
		if rc.fire {
			name += "/fires"
		} else {
			name += "/quiet"
		}
		t.Run(name, func(t *testing.T) {
			if _, ok := Lookup(rc.id); !ok {
				t.Fatalf("no rule %s in the catalogue", rc.id)
			}
			c := rc.context(t)
			got := findingsOf(Run(c), rc.id)
			if !rc.fire {
				if len(got) > 0 {
					t.Fatalf("want no %s finding, got:\n%s", rc.id, dumpFindings(got))
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("want a %s finding, got none (all findings:\n%s)", rc.id, dumpFindings(Run(c)))
			}
			checkWant(t, got, rc.want)
		})
	}
}

func checkWant(t *testing.T, got []Finding, w *want) {
	t.Helper()
	f := got[0]
	if f.Status != StatusStatic {
		t.Errorf("status %q, want static", f.Status)
	}
	if f.Message == "" || f.Title == "" {
		t.Errorf("finding without message or title: %+v", f)
	}
	if w == nil {
		return
	}
	if w.count > 0 && len(got) != w.count {
		t.Errorf("got %d findings, want %d:\n%s", len(got), w.count, dumpFindings(got))
	}
	if f.Service != w.service {
		t.Errorf("service %q, want %q", f.Service, w.service)
	}
	if w.param != "" && f.Parameter != w.param {
		t.Errorf("parameter %q, want %q", f.Parameter, w.param)
	}
	if w.file != "" && f.File != w.file {
		t.Errorf("file %q, want %q", f.File, w.file)
	}
	if w.line != 0 && f.Line != w.line {
		t.Errorf("line %d, want %d", f.Line, w.line)
	}
	if w.severity != "" && f.Severity.String() != w.severity {
		t.Errorf("severity %s, want %s", f.Severity, w.severity)
	}
	for _, m := range w.msg {
		if !strings.Contains(f.Message, m) {
			t.Errorf("message %q lacks %q", f.Message, m)
		}
	}
	if w.fix != nil && !slices.Equal(f.Remediation, w.fix) {
		t.Errorf("remediation\n got %q\nwant %q", f.Remediation, w.fix)
	}
	if w.noFix && len(f.Remediation) > 0 {
		t.Errorf("want no remediation, got %q", f.Remediation)
	}
}

func dumpFindings(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s svc=%q param=%s %s:%d %s\n    fix=%q\n", f.ID, f.Severity, f.Service, f.Parameter, f.File, f.Line, f.Message, f.Remediation)
	}
	return b.String()
}

// analysis builds a hand-made relay analysis for the listener key of cfg
// (the lead's relay.Analyze produces these for real).
func analysis(cfg *postconf.Config, key string, v relay.Verdict, mod func(a *relay.Analysis)) *relay.Analysis {
	var l relay.Listener
	for _, x := range relay.Listeners(cfg) {
		if x.Key == key {
			l = x
		}
	}
	if l.Key == "" {
		panic("no listener " + key)
	}
	a := &relay.Analysis{Listener: l, Verdict: v, Local: relay.Open, Guard: relay.Guard{OK: true, Reason: "reject_unauth_destination"}}
	if mod != nil {
		mod(a)
	}
	return a
}

// deciding is a deciding case with one permitting step.
func deciding(list, restriction string, index int, pos diag.Pos) *relay.Case {
	return &relay.Case{
		Request: relay.Request{
			Client:    relay.Client{Class: "internet-v4", Addr: mustAddr("203.0.113.5"), Name: "unknown", HELO: "probe.example"},
			Sender:    "s@example.org",
			Recipient: "u@example.net",
		},
		Decision: relay.Decision{Result: relay.Accept, Code: 250, Reason: "both lists permit",
			Trace: []relay.Step{{List: list, Index: index, Restriction: restriction, Outcome: "permit", Pos: pos}}},
	}
}
