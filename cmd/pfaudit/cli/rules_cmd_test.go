package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/rules"
)

// runRulesCmd runs the rules command as the root will, with in-memory
// streams, and returns the exit code Main would derive from its error.
func runRulesCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRulesCmd(Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.Execute()
	switch {
	case err == nil:
		code = ExitOK
	default:
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			code = ExitError // cobra's own usage errors: Main maps them to 2
		}
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestRulesList(t *testing.T) {
	out, _, code := runRulesCmd(t)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// Titles wrap under themselves: compare with runs of spaces folded.
	flat := strings.Join(strings.Fields(out), " ")
	for _, r := range rules.Catalogue() {
		if !strings.Contains(out, r.ID) || !strings.Contains(flat, r.Title) {
			t.Errorf("list lacks %s %q", r.ID, r.Title)
		}
	}
	if !strings.Contains(out, "SEVERITY") || !strings.Contains(out, "critical") {
		t.Errorf("no severity column:\n%s", out)
	}
	// A pipe gets 80 columns, and each rule's line starts with its ID.
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 80 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	for _, r := range rules.Catalogue() {
		if !regexp.MustCompile(`(?m)^` + r.ID + `  +` + r.Severity.String() + `  `).MatchString(out) {
			t.Errorf("no line starting with %s and its severity", r.ID)
		}
	}
}

func TestRulesListJSON(t *testing.T) {
	out, _, code := runRulesCmd(t, "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		SchemaVersion int              `json:"schema_version"`
		Rules         []map[string]any `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	rs := doc.Rules
	if doc.SchemaVersion != 1 {
		t.Errorf("schema_version %d", doc.SchemaVersion)
	}
	if len(rs) != len(rules.Catalogue()) {
		t.Fatalf("%d rules, want %d", len(rs), len(rules.Catalogue()))
	}
	for _, k := range []string{"id", "title", "severity", "family", "roles", "checks", "why", "references", "remediation", "apply"} {
		if _, ok := rs[0][k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if rs[0]["severity"] != "critical" {
		t.Errorf("severity %v", rs[0]["severity"])
	}
}

func TestRulesExplain(t *testing.T) {
	out, _, code := runRulesCmd(t, "explain", "pfa-relay-007")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	r, _ := rules.Lookup("PFA-RELAY-007")
	for _, want := range []string{"PFA-RELAY-007", r.Title, "Severity:   high", "Why:", "References:", "postconf(5) mynetworks", "Fix (example", "postfix reload", "docker-proxy"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 100 && !strings.HasPrefix(l, "  postconf") {
			t.Errorf("unwrapped line (%d): %q", len(l), l)
		}
	}
	out, _, code = runRulesCmd(t, "explain", "PFA-EXP-001", "--format", "json")
	if code != ExitOK || !strings.Contains(out, `"apply": "restart"`) {
		t.Errorf("json explain exit %d:\n%s", code, out)
	}
}

func TestRulesErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "PFA-RELAY-0007"}, `unknown rule "PFA-RELAY-0007"; did you mean PFA-RELAY-007?`},
		{[]string{"explain", "nonsense-that-matches-nothing"}, `unknown rule "nonsense-that-matches-nothing" (pfaudit rules lists them)`},
		{[]string{"--format", "yaml"}, `--format: "yaml" is not one of text, json`},
		{[]string{"explain"}, "accepts 1 arg"},
		{[]string{"extra"}, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runRulesCmd(t, tc.args...)
			if code != ExitError {
				t.Errorf("exit %d, want %d", code, ExitError)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", stderr, tc.want)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc ddd", 7, "> ")
	if got != "> aaa bbb\n> ccc ddd" {
		t.Errorf("wrap = %q", got)
	}
	if wrap("", 10, "  ") != "" {
		t.Error("empty text")
	}
}

func TestBuildVersion(t *testing.T) {
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{nil, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, "dev (rev 0123456789ab, modified)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261205191000-0123456789ab"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}}}, "v0.0.0-20261205191000-0123456789ab"},
	} {
		if got := buildVersion(tc.bi, tc.bi != nil); got != tc.want {
			t.Errorf("buildVersion(%+v) = %q, want %q", tc.bi, got, tc.want)
		}
	}
}
