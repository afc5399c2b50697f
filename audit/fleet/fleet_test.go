package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/rules"
)

const configs = "../../testdata/configs"

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// copyInto copies files of a bundled configuration into dir under new
// names: copyInto(t, "debian-stock", dir, "postconf.n", "postconf.n").
func copyInto(t testing.TB, cfg, dir string, pairs ...string) {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		writeFile(t, filepath.Join(dir, pairs[i+1]), readFile(t, filepath.Join(configs, cfg, pairs[i])))
	}
}

// hostPostconfD makes a `postconf -d` listing as a host would print it:
// the built-in table's listed part with the host-derived placeholders
// replaced by that host's values.
func hostPostconfD(t testing.TB, mynetworks string) []byte {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(readFile(t, "../../postconf/defaults/postconf-d.txt")), "\n") {
		if l == "#hidden" {
			break
		}
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
			continue
		case strings.HasPrefix(l, "mynetworks = "):
			l = "mynetworks = " + mynetworks
		case strings.HasPrefix(l, "myhostname = "):
			l = "myhostname = mx.example.org"
		case strings.HasPrefix(l, "mydomain = "):
			l = "mydomain = example.org"
		case strings.Contains(l, " = <process: "):
			// process_id, process_name: any value will do.
			l = l[:strings.Index(l, " =")] + " = 1"
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

// standalone is what `pfaudit audit --no-probe --format json` says of the
// same inputs on their own; a fleet host's report must equal it.
func standaloneDumps(t testing.TB, dir string, d postconf.Defaults, src string) []byte {
	t.Helper()
	main, err := postconf.ParseNDump(filepath.Join(dir, NDumpFile), readFile(t, filepath.Join(dir, NDumpFile)))
	if err != nil {
		t.Fatal(err)
	}
	var master *postconf.MasterCF
	if b, err := os.ReadFile(filepath.Join(dir, MDumpFile)); err == nil {
		if master, err = postconf.ParseMDump(filepath.Join(dir, MDumpFile), b); err != nil {
			t.Fatal(err)
		}
	}
	if master == nil {
		master = postconf.StockMaster(filepath.Join(dir, NDumpFile)) // as pfaudit audit does
	}
	rep, _ := audit.Run(context.Background(), postconf.New(main, master, d, src), audit.Options{Version: "test"})
	var b bytes.Buffer
	if err := render.JSON(&b, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func standaloneDir(t testing.TB, dir string, d *defaults.Set) []byte {
	t.Helper()
	cfg, err := postconf.LoadDir(dir, d, string(d.Source))
	if err != nil {
		t.Fatal(err)
	}
	cfg.LiveDefaults = false
	rep, _ := audit.Run(context.Background(), cfg, audit.Options{Version: "test"})
	var b bytes.Buffer
	if err := render.JSON(&b, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type fleetJSON struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	FailOn        string `json:"fail_on"`
	Hosts         []struct {
		Host    string          `json:"host"`
		Input   Kind            `json:"input"`
		Status  string          `json:"status"`
		Error   string          `json:"error"`
		Shared  bool            `json:"shared_analysis"`
		Failing bool            `json:"failing"`
		Report  json.RawMessage `json:"report"`
	} `json:"hosts"`
	Summary struct {
		Hosts, Errors, Failing, Analysed, Shared, Merged int
		ExitCode                                         int `json:"exit_code"`
	} `json:"summary"`
}

func runFleet(t testing.TB, format string, o Options) (*Summary, []byte) {
	t.Helper()
	o.Format = format
	if o.Defaults == nil {
		o.Defaults, o.DefaultsSource = defaults.Builtin(), "built-in"
	}
	if o.Version == "" {
		o.Version = "test"
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), &out, o)
	if err != nil {
		t.Fatalf("Run(%s): %v", format, err)
	}
	return sum, out.Bytes()
}

// TestFleet builds a fleet of every kind of host, good and bad, and holds
// each good host's report equal to auditing it alone, each bad one to an
// error naming the problem.
func TestFleet(t *testing.T) {
	root := t.TempDir()
	fl := filepath.Join(root, "fleet")
	other := filepath.Join(root, "other")
	d := defaults.Builtin()

	// Three identical dump hosts (one analysis), one with a different
	// configuration, one with its own postconf -d.
	for _, h := range []string{"mx1", "mx2", "mx10"} {
		copyInto(t, "docker-wide", filepath.Join(fl, h), "postconf.n", NDumpFile, "postconf.M", MDumpFile)
	}
	copyInto(t, "mx-dovecot", filepath.Join(fl, "dovecot"), "postconf.n", NDumpFile, "postconf.M", MDumpFile, "postconf.P", PDumpFile)
	writeFile(t, filepath.Join(fl, "ownnets", NDumpFile), []byte("compatibility_level = 3.6\nmyhostname = mx.example.org\n"))
	writeFile(t, filepath.Join(fl, "ownnets", MDumpFile), []byte("smtp inet n - y - - smtpd\n"))
	writeFile(t, filepath.Join(fl, "ownnets", DDumpFile), hostPostconfD(t, "0.0.0.0/0"))
	// Configuration copies: at the top and where Ansible's fetch puts
	// /etc/postfix; the same configuration, so one analysis.
	copyInto(t, "debian-stock", filepath.Join(fl, "cfg-top"), "main.cf", "main.cf", "master.cf", "master.cf")
	copyInto(t, "debian-stock", filepath.Join(fl, "cfg-fetched"), "main.cf", "etc/postfix/main.cf", "master.cf", "etc/postfix/master.cf")
	// A report written on the host.
	cfg, err := postconf.LoadDir(filepath.Join(configs, "null-client"), d, "built-in")
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := audit.Run(context.Background(), cfg, audit.Options{Version: "host-build"})
	var rj bytes.Buffer
	if err := render.JSON(&rj, rep, render.Options{}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(fl, "reported", ReportFile), rj.Bytes())

	// Bad hosts.
	bad := map[string]string{
		"empty":      "no audit.json, postconf.n or main.cf",
		"both":       "holds more than one input (report, dumps)",
		"m-only":     "postconf.M without postconf.n",
		"badjson":    "audit.json: not a pfaudit JSON report: line 2",
		"notpfaudit": "not a pfaudit JSON report (no schema_version",
		"newer":      "schema_version 99 is newer",
		"badd":       "postconf.d:2: postconf -d dump: not a \"name = value\" line",
		"notd":       "not a postconf -d listing: no mail_version",
		"badmaster":  "postconf.M",
		"dup":        "host dup also appears in " + fl,
	}
	os.MkdirAll(filepath.Join(fl, "empty"), 0o755)
	writeFile(t, filepath.Join(fl, "both", ReportFile), rj.Bytes())
	writeFile(t, filepath.Join(fl, "both", NDumpFile), []byte("x = 1\n"))
	writeFile(t, filepath.Join(fl, "m-only", MDumpFile), []byte("smtp inet n - y - - smtpd\n"))
	writeFile(t, filepath.Join(fl, "badjson", ReportFile), []byte("{\n  \"schema_version\": 1,,\n}\n"))
	writeFile(t, filepath.Join(fl, "notpfaudit", ReportFile), []byte(`{"tool": "other"}`))
	writeFile(t, filepath.Join(fl, "newer", ReportFile), []byte(`{"schema_version": 99, "tool": "pfaudit"}`))
	writeFile(t, filepath.Join(fl, "badd", NDumpFile), []byte("compatibility_level = 3.6\n"))
	writeFile(t, filepath.Join(fl, "badd", DDumpFile), []byte("mail_version = 3.7.11\nthis is not postconf\n"))
	writeFile(t, filepath.Join(fl, "notd", NDumpFile), []byte("compatibility_level = 3.6\n"))
	writeFile(t, filepath.Join(fl, "notd", DDumpFile), []byte("compatibility_level = 3.6\n"))
	writeFile(t, filepath.Join(fl, "badmaster", NDumpFile), []byte("compatibility_level = 3.6\n"))
	writeFile(t, filepath.Join(fl, "badmaster", MDumpFile), []byte("smtp inet n\n"))
	copyInto(t, "debian-stock", filepath.Join(other, "dup"), "postconf.n", NDumpFile)
	copyInto(t, "debian-stock", filepath.Join(fl, "dup"), "postconf.n", NDumpFile)
	// Noise the discovery must skip: dot directories and plain files.
	os.MkdirAll(filepath.Join(fl, ".git"), 0o755)
	writeFile(t, filepath.Join(fl, "README"), []byte("not a host\n"))

	sum, out := runFleet(t, "json", Options{Paths: []string{fl, other}, Jobs: 3, FailOn: rules.High})
	var got fleetJSON
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("fleet JSON does not parse: %v\n%s", err, out)
	}
	byName := map[string]int{}
	var order []string
	for i, h := range got.Hosts {
		if _, dup := byName[h.Host]; !dup {
			byName[h.Host] = i
		}
		order = append(order, h.Host)
	}
	wantOrder := "badd badjson badmaster both cfg-fetched cfg-top dovecot dup empty m-only mx1 mx10 mx2 newer notd notpfaudit ownnets reported dup"
	if strings.Join(order, " ") != wantOrder {
		t.Errorf("host order:\n got %s\nwant %s", strings.Join(order, " "), wantOrder)
	}
	// The first "dup" (in fleet) is good; the second (in other) is the error.
	dupErr := got.Hosts[len(got.Hosts)-1]
	if dupErr.Status != "error" || !strings.Contains(dupErr.Error, bad["dup"]) {
		t.Errorf("second dup: %s %q", dupErr.Status, dupErr.Error)
	}
	for name, want := range bad {
		if name == "dup" {
			continue
		}
		h := got.Hosts[byName[name]]
		if h.Status != "error" || !strings.Contains(h.Error, want) || h.Report != nil {
			t.Errorf("%s: status %s, error %q, want one containing %q", name, h.Status, h.Error, want)
		}
	}

	// Good hosts equal their standalone audit.
	wantReport := map[string][]byte{
		"mx1":         standaloneDumps(t, filepath.Join(fl, "mx1"), d, "built-in"),
		"mx2":         standaloneDumps(t, filepath.Join(fl, "mx2"), d, "built-in"),
		"mx10":        standaloneDumps(t, filepath.Join(fl, "mx10"), d, "built-in"),
		"dup":         standaloneDumps(t, filepath.Join(fl, "dup"), d, "built-in"),
		"cfg-top":     standaloneDir(t, filepath.Join(fl, "cfg-top"), d),
		"cfg-fetched": standaloneDir(t, filepath.Join(fl, "cfg-fetched", "etc", "postfix"), d),
		"reported":    rj.Bytes(),
	}
	for name, want := range wantReport {
		h := got.Hosts[byName[name]]
		if h.Status != "ok" {
			t.Errorf("%s: %s %s", name, h.Status, h.Error)
			continue
		}
		var a, b bytes.Buffer
		json.Compact(&a, h.Report)
		json.Compact(&b, want)
		if a.String() != b.String() {
			t.Errorf("%s: fleet report differs from its own audit:\n got %s\nwant %s", name, a.String(), b.String())
		}
	}
	if !strings.Contains(string(got.Hosts[byName["mx2"]].Report), filepath.Join(fl, "mx2", NDumpFile)) {
		t.Errorf("mx2's report does not name its own postconf.n")
	}
	// mx1, mx2, mx10 share; cfg-top and cfg-fetched do not (a different
	// place inside the host is a different input for paths in messages).
	shared := 0
	for _, h := range got.Hosts {
		if h.Shared {
			shared++
		}
	}
	if shared != 2 || sum.Shared != 2 {
		t.Errorf("shared analyses: %d hosts in JSON, %d in the summary; want 2 (mx2 and mx10 or mx1)", shared, sum.Shared)
	}
	if got.Hosts[byName["reported"]].Input != KindReport || sum.Merged != 1 {
		t.Errorf("reported: input %s, merged %d", got.Hosts[byName["reported"]].Input, sum.Merged)
	}

	// The host's own postconf -d counts: its mynetworks default trusts
	// everyone, so the default relay restrictions let anyone relay.
	var own struct {
		Listeners []render.ListenerReport `json:"listeners"`
		Defaults  string                  `json:"defaults_source"`
	}
	if err := json.Unmarshal(got.Hosts[byName["ownnets"]].Report, &own); err != nil {
		t.Fatal(err)
	}
	if len(own.Listeners) != 1 || own.Listeners[0].Verdict != relay.Open || !strings.Contains(own.Defaults, "postconf -d dump") {
		t.Errorf("ownnets: %+v (defaults %q), want one open listener from the host's postconf.d", own.Listeners, own.Defaults)
	}

	if sum.ExitCode() != ExitError || got.Summary.ExitCode != ExitError || sum.Errors != len(bad) {
		t.Errorf("exit %d (JSON %d), errors %d, want 2 and %d", sum.ExitCode(), got.Summary.ExitCode, sum.Errors, len(bad))
	}
	if sum.Hosts != len(got.Hosts) {
		t.Errorf("summary hosts %d, JSON hosts %d", sum.Hosts, len(got.Hosts))
	}
}

// TestExitCodes: 0 without findings at --fail-on, 1 with, 2 with a bad host.
func TestExitCodes(t *testing.T) {
	root := t.TempDir()
	copyInto(t, "docker-wide", filepath.Join(root, "good", "mx"), "postconf.n", NDumpFile) // high findings
	bad := filepath.Join(root, "bad")
	copyInto(t, "docker-wide", filepath.Join(bad, "mx"), "postconf.n", NDumpFile)
	os.MkdirAll(filepath.Join(bad, "broken"), 0o755)
	for _, c := range []struct {
		path   string
		failOn rules.Severity
		want   int
	}{
		{"good", rules.Critical + 1, ExitOK},
		{"good", rules.Critical, ExitOK},
		{"good", rules.High, ExitFindings},
		{"bad", rules.Critical + 1, ExitError},
	} {
		sum, _ := runFleet(t, "table", Options{Paths: []string{filepath.Join(root, c.path)}, FailOn: c.failOn})
		if sum.ExitCode() != c.want {
			t.Errorf("%s --fail-on %v: exit %d, want %d", c.path, c.failOn, sum.ExitCode(), c.want)
		}
	}
	// A PATH that is not a directory is a usage error of the whole run.
	var out bytes.Buffer
	if _, err := Run(context.Background(), &out, Options{Paths: []string{filepath.Join(root, "missing")}, Defaults: defaults.Builtin()}); err == nil {
		t.Error("missing PATH: no error")
	}
	if _, err := Run(context.Background(), &out, Options{Defaults: defaults.Builtin()}); err == nil {
		t.Error("no PATH: no error")
	}
	if _, err := Run(context.Background(), &out, Options{Paths: []string{root}, Format: "xml", Defaults: defaults.Builtin()}); err == nil {
		t.Error("bad format: no error")
	}
}

// TestFormats renders one small fleet in every format and checks each
// against the fleet's contents.
func TestFormats(t *testing.T) {
	fl := t.TempDir()
	copyInto(t, "docker-wide", filepath.Join(fl, "mx1"), "postconf.n", NDumpFile, "postconf.M", MDumpFile)
	copyInto(t, "docker-wide", filepath.Join(fl, "mx2"), "postconf.n", NDumpFile, "postconf.M", MDumpFile)
	copyInto(t, "null-client", filepath.Join(fl, "quiet"), "postconf.n", NDumpFile, "postconf.M", MDumpFile)
	os.MkdirAll(filepath.Join(fl, "zz-broken"), 0o755)
	o := Options{Paths: []string{fl}, FailOn: rules.High, Jobs: 2}

	// Each host alone, for the expected numbers.
	failures := 0
	findings := map[string]int{}
	for _, h := range []string{"mx1", "mx2", "quiet"} {
		var r struct {
			Findings []rules.Finding `json:"findings"`
		}
		json.Unmarshal(standaloneDumps(t, filepath.Join(fl, h), defaults.Builtin(), "built-in"), &r)
		findings[h] = len(r.Findings)
		for _, f := range r.Findings {
			if f.Severity >= rules.High {
				failures++
			}
		}
	}

	t.Run("table", func(t *testing.T) {
		sum, out := runFleet(t, "table", o)
		s := string(out)
		table, details, ok := strings.Cut(s, "Hosts with problems")
		if !ok {
			t.Fatalf("no details section:\n%s", s)
		}
		for _, h := range []string{"mx1", "mx2", "quiet", "zz-broken"} {
			if !strings.Contains(table, "\n"+h+" ") {
				t.Errorf("no row for %s", h)
			}
		}
		if !strings.Contains(details, "== mx1 (dumps, ") || !strings.Contains(details, "== zz-broken (") || strings.Contains(details, "== quiet") != (sum.Problems == 4) {
			t.Errorf("details: want mx1, zz-broken (and quiet only if it has problems):\n%s", details)
		}
		if !strings.Contains(table, "4 hosts:") || !strings.Contains(table, "1 could not be audited") {
			t.Errorf("summary line missing:\n%s", table)
		}
	})
	t.Run("json", func(t *testing.T) {
		_, out := runFleet(t, "json", o)
		var got fleetJSON
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != "fleet" || got.SchemaVersion != FleetSchemaVersion || len(got.Hosts) != 4 || got.Summary.Analysed != 2 || got.Summary.Errors != 1 {
			t.Errorf("json: %+v", got.Summary)
		}
	})
	t.Run("sarif", func(t *testing.T) {
		_, out := runFleet(t, "sarif", o)
		var log struct {
			Version string `json:"version"`
			Runs    []struct {
				Results           []json.RawMessage   `json:"results"`
				AutomationDetails struct{ ID string } `json:"automationDetails"`
				Invocations       []struct {
					ExecutionSuccessful bool `json:"executionSuccessful"`
				} `json:"invocations"`
			} `json:"runs"`
		}
		if err := json.Unmarshal(out, &log); err != nil {
			t.Fatal(err)
		}
		if log.Version != "2.1.0" || len(log.Runs) != 4 {
			t.Fatalf("sarif: version %s, %d runs", log.Version, len(log.Runs))
		}
		for i, h := range []string{"mx1", "mx2", "quiet", "zz-broken"} {
			r := log.Runs[i]
			if r.AutomationDetails.ID != "pfaudit/"+h+"/" {
				t.Errorf("run %d: automationDetails.id %q", i, r.AutomationDetails.ID)
			}
			if h == "zz-broken" {
				if len(r.Invocations) != 1 || r.Invocations[0].ExecutionSuccessful {
					t.Errorf("broken host's run: %+v", r.Invocations)
				}
			} else if len(r.Results) != findings[h] {
				t.Errorf("%s: %d results, want %d", h, len(r.Results), findings[h])
			}
		}
	})
	t.Run("junit", func(t *testing.T) {
		_, out := runFleet(t, "junit", o)
		var suites struct {
			Suites []junitSuite `xml:"testsuite"`
		}
		if err := xml.Unmarshal(out, &suites); err != nil {
			t.Fatalf("junit: %v\n%s", err, out)
		}
		if len(suites.Suites) != 4 {
			t.Fatalf("%d suites", len(suites.Suites))
		}
		gotFail, gotErr := 0, 0
		for _, s := range suites.Suites {
			for _, c := range s.Cases {
				if c.Failure != nil && strings.HasPrefix(c.Name, "PFA-") {
					gotFail++
				}
				if c.Error != nil {
					gotErr++
				}
			}
		}
		if gotFail != failures || gotErr != 1 {
			t.Errorf("junit: %d finding failures (want %d), %d errors (want 1)", gotFail, failures, gotErr)
		}
	})
	t.Run("markdown", func(t *testing.T) {
		_, out := runFleet(t, "markdown", o)
		s := string(out)
		for _, want := range []string{"| mx1 |", "| zz-broken | **error** |", "# Hosts with problems", "\n## mx1\n", "\n### pfaudit report", "\n#### Findings"} {
			if !strings.Contains(s, want) {
				t.Errorf("markdown lacks %q", want)
			}
		}
	})
}

func TestRebaseString(t *testing.T) {
	r := rebaser{from: "/f/mx1", to: "/f/host-b"}
	for in, want := range map[string]string{
		"/f/mx1/main.cf:3":          "/f/host-b/main.cf:3",
		"/f/mx10/main.cf":           "/f/mx10/main.cf",
		"see /f/mx1 and /f/mx1/x":   "see /f/host-b and /f/host-b/x",
		"(/f/mx1/postconf.n)":       "(/f/host-b/postconf.n)",
		"/f/mx1_old/main.cf":        "/f/mx1_old/main.cf",
		"nothing to do":             "nothing to do",
		"/f/mx1: no such file":      "/f/host-b: no such file",
		`"/f/mx1/main.cf","/f/mx1"`: `"/f/host-b/main.cf","/f/host-b"`,
	} {
		if got := r.str(in); got != want {
			t.Errorf("rebase %q = %q, want %q", in, got, want)
		}
		if got := string(r.bytes([]byte(in))); got != want {
			t.Errorf("rebase bytes %q = %q, want %q", in, got, want)
		}
	}
	rel := rebaser{from: "/f/mx1"}
	for in, want := range map[string]string{
		"/f/mx1/main.cf:3 and /f/mx10/x": "main.cf:3 and /f/mx10/x",
		"audit of /f/mx1":                "audit of .",
		"(/f/mx1/etc/postfix/main.cf)":   "(etc/postfix/main.cf)",
	} {
		if got := rel.str(in); got != want {
			t.Errorf("relative %q = %q, want %q", in, got, want)
		}
	}
	// The copy is deep: the original is untouched.
	type inner struct{ File string }
	type outer struct {
		P    *inner
		S    []inner
		M    map[string]string
		priv string
	}
	orig := &outer{P: &inner{"/f/mx1/a"}, S: []inner{{"/f/mx1/b"}}, M: map[string]string{"k": "/f/mx1/c"}, priv: "/f/mx1/d"}
	got := rebase(orig, "/f/mx1", "/f/z")
	if got.P.File != "/f/z/a" || got.S[0].File != "/f/z/b" || got.M["k"] != "/f/z/c" || got.priv != "/f/mx1/d" {
		t.Errorf("rebased: %+v %+v", got.P, got)
	}
	if orig.P.File != "/f/mx1/a" || orig.S[0].File != "/f/mx1/b" || orig.M["k"] != "/f/mx1/c" {
		t.Errorf("original modified: %+v", orig)
	}
}

// TestCacheBounded: a fleet with more distinct configurations than the
// cache holds still gets every host right.
func TestCacheBounded(t *testing.T) {
	fl := t.TempDir()
	for i, c := range []string{"debian-stock", "docker-wide", "mx-dovecot", "null-client", "debian-stock", "docker-wide"} {
		copyInto(t, c, filepath.Join(fl, "h"+string(rune('a'+i))), "postconf.n", NDumpFile, "postconf.M", MDumpFile)
	}
	sum, out := runFleet(t, "json", Options{Paths: []string{fl}, CacheSize: 1, Jobs: 1})
	var got fleetJSON
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for _, h := range got.Hosts {
		want := standaloneDumps(t, filepath.Join(fl, h.Host), defaults.Builtin(), "built-in")
		var a, b bytes.Buffer
		json.Compact(&a, h.Report)
		json.Compact(&b, want)
		if a.String() != b.String() {
			t.Errorf("%s differs from its own audit", h.Host)
		}
	}
	if sum.Analysed != 6 {
		t.Errorf("analysed %d with a cache of 1 and no adjacent repeats, want 6", sum.Analysed)
	}
}

// TestProgress: "hosts done / total" on the progress writer, cleared at
// the end.
func TestProgress(t *testing.T) {
	fl := t.TempDir()
	copyInto(t, "debian-stock", filepath.Join(fl, "a"), "postconf.n", NDumpFile)
	copyInto(t, "debian-stock", filepath.Join(fl, "b"), "postconf.n", NDumpFile)
	var p bytes.Buffer
	runFleet(t, "table", Options{Paths: []string{fl}, Progress: &p})
	if s := p.String(); !strings.Contains(s, "pfaudit fleet: 2/2 hosts") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("progress %q", s)
	}
}
