package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// requireAnsible skips without ansible-playbook, or fails under CI=true
// (.ci/run installs Debian's ansible-core).
func requireAnsible(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ansible-playbook")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("ansible-playbook not found (CI=true: install Debian's ansible-core): %v", err)
	}
	t.Skipf("ansible-playbook not found (apt-get install ansible-core): %v", err)
	return ""
}

// TestAnsiblePlaybooks runs both shipped playbooks (testdata/ansible)
// against an inventory of local Postfix lab instances (local connection,
// each host's postfix_config_dir pointing at its instance), plus a host
// whose configuration does not exist, and holds the fleet reports to each
// host's own `pfaudit audit`.
func TestAnsiblePlaybooks(t *testing.T) {
	lab.Require(t)
	playbook := requireAnsible(t)
	tmp := t.TempDir()

	// The static binary the first playbook copies to the hosts.
	bin := filepath.Join(tmp, "pfaudit")
	build := exec.Command("go", "build", "-o", bin, "./cmd/pfaudit")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	hosts := map[string]lab.Options{
		"mx-strict":     lab.Strict(),
		"mx-open":       lab.Open(),
		"mx-trusting":   lab.MynetworksAll(),
		"mx-submission": lab.SubmissionOpen(),
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range hosts {
			if !yield(n) {
				return
			}
		}
	})
	var inv strings.Builder
	inv.WriteString("[mail]\n")
	dirs := map[string]string{}
	for _, n := range names {
		in := lab.Start(t, hosts[n])
		dirs[n] = in.ConfigDir()
		fmt.Fprintf(&inv, "%s ansible_connection=local postfix_config_dir=%s pfaudit_remote_dir=%s\n", n, in.ConfigDir(), filepath.Join(tmp, "remote", n))
	}
	// A host whose audit fails: its entry must be an error, and the others
	// must still be there.
	fmt.Fprintf(&inv, "mx-gone ansible_connection=local postfix_config_dir=%s pfaudit_remote_dir=%s\n", filepath.Join(tmp, "no-such-dir"), filepath.Join(tmp, "remote", "mx-gone"))
	invFile := filepath.Join(tmp, "inventory")
	writeFile(t, invFile, []byte(inv.String()))

	// Each host's own audit, as the first playbook runs it there.
	own := map[string]map[string]any{}
	for _, n := range names {
		out, err := exec.Command(bin, "audit", "-c", dirs[n], "--no-probe", "--format", "json").Output()
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
			t.Fatalf("%s: own audit: %v", n, err)
		}
		var r map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: own audit: %v", n, err)
		}
		own[n] = r
	}

	run := func(t *testing.T, book string, vars map[string]any) {
		t.Helper()
		ev, _ := json.Marshal(vars)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, playbook, "-i", invFile, "-e", string(ev), filepath.Join("..", "..", "testdata", "ansible", book))
		cmd.Env = append(os.Environ(), "ANSIBLE_FORKS=10",
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(tmp, "ansible-local"),
			"ANSIBLE_REMOTE_TEMP="+filepath.Join(tmp, "ansible-remote"),
			"ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=false",
			"ANSIBLE_PYTHON_INTERPRETER=auto_silent", "ANSIBLE_CONFIG="+filepath.Join(tmp, "no-ansible.cfg"))
		out, err := cmd.CombinedOutput()
		// ansible-playbook exits 2 because mx-gone failed; anything else
		// (a syntax error, an unreachable controller) is the test's failure.
		if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 2) {
			t.Fatalf("%s: %v\n%s", book, err, out)
		}
		if !strings.Contains(string(out), "mx-gone") || !strings.Contains(string(out), "Run pfaudit fleet") {
			t.Fatalf("%s: the fleet step did not run:\n%s", book, out)
		}
		if t.Failed() || testing.Verbose() {
			t.Logf("%s:\n%s", book, out)
		}
	}
	read := func(t *testing.T, file string) fleetJSON {
		t.Helper()
		var f fleetJSON
		if err := json.Unmarshal(readFile(t, file), &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if f.Summary.ExitCode != ExitError || f.Summary.Errors != 1 || len(f.Hosts) != len(names)+1 {
			t.Errorf("%s: summary %+v with %d hosts; want exit 2, 1 error, %d hosts", file, f.Summary, len(f.Hosts), len(names)+1)
		}
		return f
	}

	t.Run("audit-fleet", func(t *testing.T) {
		fleetDir := filepath.Join(tmp, "reports")
		run(t, "audit-fleet.yml", map[string]any{
			"pfaudit_binary": bin, "pfaudit_become": false, "pfaudit_audit_args": []string{"--no-probe"},
			"pfaudit_fleet_dir": fleetDir, "pfaudit_fleet_output": filepath.Join(tmp, "reports.json"),
		})
		f := read(t, filepath.Join(tmp, "reports.json"))
		for _, h := range f.Hosts {
			if h.Host == "mx-gone" {
				if h.Status != "error" || !strings.Contains(h.Error, "no audit.json") {
					t.Errorf("mx-gone: %s %q", h.Status, h.Error)
				}
				continue
			}
			if h.Input != KindReport || h.Status != "ok" {
				t.Errorf("%s: input %s, status %s %s", h.Host, h.Input, h.Status, h.Error)
				continue
			}
			var got map[string]any
			if err := json.Unmarshal(h.Report, &got); err != nil {
				t.Fatal(err)
			}
			// The two runs happened at different times.
			want := maps.Clone(own[h.Host])
			delete(got, "generated_at")
			delete(want, "generated_at")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: merged report differs from the host's own audit:\n got %s\nwant %s", h.Host, h.Report, mustJSON(own[h.Host]))
			}
		}
	})

	t.Run("collect-dumps", func(t *testing.T) {
		fleetDir := filepath.Join(tmp, "dumps")
		run(t, "collect-dumps.yml", map[string]any{
			"pfaudit_binary": bin, "postconf_command": postconfPath(t),
			"pfaudit_fleet_dir": fleetDir, "pfaudit_fleet_output": filepath.Join(tmp, "dumps.json"),
		})
		f := read(t, filepath.Join(tmp, "dumps.json"))
		for _, h := range f.Hosts {
			if h.Host == "mx-gone" {
				if h.Status != "error" {
					t.Errorf("mx-gone: %s", h.Status)
				}
				continue
			}
			if h.Input != KindDumps || h.Status != "ok" {
				t.Errorf("%s: input %s, status %s %s", h.Host, h.Input, h.Status, h.Error)
				continue
			}
			var got map[string]any
			if err := json.Unmarshal(h.Report, &got); err != nil {
				t.Fatal(err)
			}
			// Dumps carry no line numbers and name the dump files, so the
			// comparison is of what was decided: each listener's verdicts
			// and each finding's rule, severity, listener and parameter.
			if g, w := decided(got), decided(own[h.Host]); !slices.Equal(g, w) {
				t.Errorf("%s: from dumps\n  %s\nthe host's own audit\n  %s", h.Host, strings.Join(g, "\n  "), strings.Join(w, "\n  "))
			}
			if ds, _ := got["defaults_source"].(string); !strings.Contains(ds, "postconf -d dump") {
				t.Errorf("%s: defaults %q, want the host's postconf.d", h.Host, ds)
			}
		}
	})
}

func postconfPath(t *testing.T) string {
	for _, p := range []string{"/usr/sbin/postconf", "/usr/local/sbin/postconf"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("postconf")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// decided lists a report's listener verdicts and findings as sorted lines.
func decided(r map[string]any) []string {
	var out []string
	ls, _ := r["listeners"].([]any)
	for _, l := range ls {
		m, _ := l.(map[string]any)
		out = append(out, fmt.Sprintf("listener %v verdict=%v would_be=%v local=%v", m["service"], m["verdict"], m["would_be"], m["local"]))
	}
	fs, _ := r["findings"].([]any)
	for _, f := range fs {
		m, _ := f.(map[string]any)
		out = append(out, fmt.Sprintf("finding %v %v service=%v parameter=%v", m["id"], m["severity"], m["service"], m["parameter"]))
	}
	slices.Sort(out)
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
