package defaults

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestDerived(t *testing.T) {
	for _, n := range DerivedNames() {
		d, ok := Derived(n)
		sym, sok := Symbolic(n)
		if !ok || !sok || !HostDerived(n) || sym != "<"+string(d)+": "+n+">" || !IsSymbolic(sym) {
			t.Errorf("%s: %v %v %q %v", n, d, ok, sym, sok)
		}
		if raw, _ := Builtin().Raw(n); raw != sym {
			t.Errorf("built-in %s = %q, want %q", n, raw, sym)
		}
	}
	if d, _ := Derived("mynetworks"); d != FromHost {
		t.Errorf("mynetworks derived from %s", d)
	}
	if d, _ := Derived("process_id"); d != FromProcess {
		t.Errorf("process_id derived from %s", d)
	}
	for _, n := range []string{"myorigin", "inet_interfaces", ""} {
		if HostDerived(n) {
			t.Errorf("%s is derived", n)
		}
		if _, ok := Symbolic(n); ok {
			t.Errorf("%s has a placeholder", n)
		}
	}
	if IsSymbolic("127.0.0.0/8") || IsSymbolic("<host: myorigin>") {
		t.Error("IsSymbolic accepts a non-placeholder")
	}
}

func TestMyHostnameMyDomain(t *testing.T) {
	tests := []struct {
		host, mydomain string
		set            bool
		wantHost       string
		wantDomain     string
	}{
		{"vm", "", false, "vm.localdomain", "localdomain"},
		{"vm", "example.org", true, "vm.example.org", "example.org"},
		{"vm", "", true, "vm.", ""},
		{"mx.example.net", "example.org", true, "mx.example.net", "example.net"},
		{"a.b.c", "", false, "a.b.c", "b.c"},
	}
	for _, tt := range tests {
		h := MyHostname(tt.host, tt.mydomain, tt.set)
		if h != tt.wantHost {
			t.Errorf("MyHostname(%q, %q, %v) = %q, want %q", tt.host, tt.mydomain, tt.set, h, tt.wantHost)
		}
		if d := MyDomain(h); d != tt.wantDomain {
			t.Errorf("MyDomain(%q) = %q, want %q", h, d, tt.wantDomain)
		}
	}
}

func TestValidHostname(t *testing.T) {
	good := []string{"vm", "mx.example.com", "a-b.c_d", "x1", "1a", strings.Repeat("a", 63) + ".b"}
	bad := []string{"", "123", "1.2.3.4", "-a", "a-", "a-.b", "a..b", "a.", ".a", "a b", "ä",
		strings.Repeat("a", 64), strings.Repeat("a.", 127) + "ab"}
	for _, h := range good {
		if err := ValidHostname(h); err != nil {
			t.Errorf("ValidHostname(%q) = %v", h, err)
		}
	}
	for _, h := range bad {
		if err := ValidHostname(h); err == nil {
			t.Errorf("ValidHostname(%q) accepted", h)
		}
	}
}

func TestLiveProcess(t *testing.T) {
	ctx := context.Background()
	if v, err := Builtin().Live(ctx, "process_id", nil); err != nil || v != strconv.Itoa(os.Getpid()) {
		t.Errorf("process_id = %q, %v", v, err)
	}
	if v, err := Builtin().Live(ctx, "process_name", nil); err != nil || v != filepath.Base(os.Args[0]) {
		t.Errorf("process_name = %q, %v", v, err)
	}
	if _, err := Builtin().Live(ctx, "myorigin", nil); err == nil {
		t.Error("Live of a constant default")
	}
}

// hostnameCases are main.cf settings for the myhostname/mydomain
// comparison.
var hostnameCases = []map[string]string{
	{},
	{"mydomain": "example.org"},
	{"mydomain": ""},
	{"myhostname": "mx.example.net"},
	{"myhostname": "single"},
	{"myhostname": "mx.example.net", "mydomain": "example.org"},
}

// compareHostnames checks Live against `postconf -d` and `postconf -x` for
// the current host name.
func compareHostnames(t *testing.T, pc string) {
	t.Helper()
	ctx := context.Background()
	for _, n := range []string{"myhostname", "mydomain"} {
		want, err := postconfValue(t, pc, n, "-c", configDir(t, "mydomain = ignored.example\n"), "-d")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Builtin().Live(ctx, n, nil); err != nil || got != want {
			t.Errorf("postconf -d %s = %q; Live = %q, %v", n, want, got, err)
		}
	}
	for _, settings := range hostnameCases {
		dir := configDir(t, mainCFText(settings))
		for _, n := range []string{"myhostname", "mydomain"} {
			if _, set := settings[n]; set {
				continue // not derived
			}
			want, err := postconfValue(t, pc, n, "-c", dir, "-x")
			if err != nil {
				t.Fatal(err)
			}
			got, err := Builtin().Live(ctx, n, mainCFLookup(settings))
			if err != nil || got != want {
				t.Errorf("%q: postconf -x %s = %q; Live = %q, %v", mainCFText(settings), n, want, got, err)
			}
		}
	}
}

func TestHostnameMatchesPostconf(t *testing.T) {
	compareHostnames(t, needPostconf(t))
}

const utsChildEnv = "PFAUDIT_DEFAULTS_UTS_CHILD"

// TestHostnameUTS re-runs the comparison under other host names, in a
// private UTS namespace.
func TestHostnameUTS(t *testing.T) {
	if os.Getenv(utsChildEnv) != "" {
		compareHostnames(t, needPostconf(t))
		return
	}
	needPostconf(t)
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for a UTS namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skipOrFail(t, "needs unshare(1): %v", err)
	}
	for _, h := range []string{"box", "mail.example.net", "a-b.c1.example"} {
		t.Run(h, func(t *testing.T) {
			cmd := exec.Command(unshare, "--uts", "--", "sh", "-c", `hostname "$1" && exec "$2" -test.run='^TestHostnameUTS$' -test.v`, "sh", h, os.Args[0])
			cmd.Env = append(os.Environ(), utsChildEnv+"="+h)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestHostnameUTS") {
				t.Fatalf("under hostname %s: %v\n%s", h, err, out)
			}
		})
	}
}
