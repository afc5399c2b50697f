package defaults

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakePostconf writes an executable shell script standing in for postconf.
func fakePostconf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "postconf")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// minimalListing is the smallest output FromPostconf accepts.
const minimalListing = "compatibility_level = 0\nmail_version = 9.9.9\nmyhostname = h.example\nrelay_domains = $mydestination\n"

func TestFromPostconfFailures(t *testing.T) {
	tests := []struct {
		name    string
		script  string // "" → a path that does not exist
		timeout time.Duration
		want    error
		msg     string // must appear in the error text
	}{
		{name: "missing binary", want: ErrNotFound, msg: "postconf"},
		{name: "not executable", script: "-", want: ErrNotFound},
		{name: "timeout", script: "sleep 30 & wait", timeout: 200 * time.Millisecond, want: ErrTimeout, msg: "timed out after 200ms"},
		{name: "error exit", script: "echo 'postconf: fatal: bad things' >&2; exit 1", want: ErrFailed, msg: "postconf: fatal: bad things"},
		{name: "error exit, silent", script: "exit 3", want: ErrFailed, msg: "no message"},
		{name: "garbage", script: "echo compatibility_level = 0; echo 'hello world'", want: ErrBadOutput, msg: `postconf -d output:2: not a "name = value" line: "hello world"`},
		{name: "binary garbage", script: "printf 'mail_version = 1\\n\\001\\002\\377 = x\\n'", want: ErrBadOutput, msg: "output:2: bad parameter name"},
		{name: "no equals spacing", script: "echo 'mail_version=3'", want: ErrBadOutput, msg: "output:1"},
		{name: "not postconf", script: "echo 'a = b'", want: ErrBadOutput, msg: "no mail_version"},
		{name: "empty", script: "true", want: ErrBadOutput, msg: "0 parameters read"},
		{name: "duplicate", script: "printf '" + strings.ReplaceAll(minimalListing, "\n", "\\n") + "mail_version = 2\\n'", want: ErrBadOutput, msg: "printed twice"},
		{name: "flood", script: "head -c 9000000 /dev/zero | tr '\\0' x", want: ErrBadOutput, msg: "more than"},
		{name: "long line", script: "printf 'mail_version = '; head -c 3000000 /dev/zero | tr '\\0' x; echo", want: ErrBadOutput, msg: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			switch tt.script {
			case "":
				path = filepath.Join(t.TempDir(), "no-such-postconf")
			case "-":
				path = filepath.Join(t.TempDir(), "postconf")
				if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				path = fakePostconf(t, tt.script)
			}
			s, err := FromPostconf(context.Background(), path, tt.timeout)
			if err == nil {
				t.Fatalf("FromPostconf = %v, want error", s)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

// TestFromPostconfKillsGroup: on timeout the whole process group dies, not
// only the shell that FromPostconf started.
func TestFromPostconfKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	p := fakePostconf(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	_, err := FromPostconf(context.Background(), p, 300*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The orphaned sleep is reaped by init eventually; until then it is a
	// zombie. Either way it no longer runs.
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return // gone
		}
		if f := strings.Fields(string(stat)); len(f) > 2 && (f[2] == "Z" || f[2] == "X") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleep %d still running after the timeout: %s", pid, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFromPostconfContextCanceled(t *testing.T) {
	p := fakePostconf(t, "sleep 30 & wait")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FromPostconf(ctx, p, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestFromPostconfArgs checks how postconf is called: no shell, -c with an
// absolute scratch directory holding an empty main.cf and master.cf, -d;
// then a second run asking by name for the names referenced but unlisted.
func TestFromPostconfArgs(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	p := fakePostconf(t, `
echo "$#|$*" >> `+log+`
[ -f "$2/main.cf" ] && [ ! -s "$2/main.cf" ] && [ -f "$2/master.cf" ] || { echo "bad scratch dir $2" >&2; exit 1; }
if [ $# -eq 3 ]; then printf '`+strings.ReplaceAll(minimalListing, "\n", "\\n")+`'; exit 0; fi
echo "postconf: warning: home: unknown parameter" >&2
echo "mydestination = \$myhostname"`)
	s, err := FromPostconf(context.Background(), p, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(calls) != 2 {
		t.Fatalf("postconf called %d times: %q", len(calls), calls)
	}
	first := strings.Split(strings.SplitN(calls[0], "|", 2)[1], " ")
	if len(first) != 3 || first[0] != "-c" || !filepath.IsAbs(first[1]) || first[2] != "-d" {
		t.Errorf("first call %q, want -c ABSDIR -d", calls[0])
	}
	second := strings.Split(strings.SplitN(calls[1], "|", 2)[1], " ")
	wantAsk := append([]string{"-c", first[1], "-d"}, "authorized_verp_clients", "fallback_relay", "mydestination", "smtpd_client_connection_limit_exceptions", "virtual_maps")
	if !slices.Equal(second, wantAsk) {
		t.Errorf("second call %q, want %q", second, wantAsk)
	}
	if _, err := os.Stat(first[1]); !os.IsNotExist(err) {
		t.Errorf("scratch directory %s left behind", first[1])
	}
	if s.Source != SourcePostconf || s.Path != p || s.Version != "9.9.9" {
		t.Errorf("set = %+v", s)
	}
	if v, ok := s.Raw("mydestination"); !ok || v != "$myhostname" || s.Listed("mydestination") {
		t.Errorf("mydestination = %q, %v, listed %v", v, ok, s.Listed("mydestination"))
	}
	if !slices.Equal(s.Names(), []string{"compatibility_level", "mail_version", "mydestination", "myhostname", "relay_domains"}) {
		t.Errorf("names = %q", s.Names())
	}
	if s.Known("home") || s.Known("virtual_maps") {
		t.Error("names postconf did not answer are known")
	}
}

// TestBuiltinMatchesPostconf: the recorded table is what the installed
// postconf says, name for name and value for value (derived values aside).
func TestBuiltinMatchesPostconf(t *testing.T) {
	pc := needPostconf(t)
	s, err := FromPostconf(context.Background(), pc, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := Builtin()
	if s.Version != BuiltinVersion {
		skipOrFail(t, "installed Postfix is %s, the built-in table is %s", s.Version, BuiltinVersion)
	}
	if !slices.Equal(s.Names(), b.Names()) {
		t.Errorf("names differ: postconf has %d, built-in %d", s.Len(), b.Len())
	}
	for _, n := range s.Names() {
		pv, _ := s.Raw(n)
		bv, ok := b.Raw(n)
		if sym, derived := Symbolic(n); derived {
			if bv != sym {
				t.Errorf("built-in %s = %q, want placeholder %q", n, bv, sym)
			}
			continue
		}
		if !ok || pv != bv {
			t.Errorf("%s: postconf -d %q, built-in %q", n, pv, bv)
		}
		if s.Listed(n) != b.Listed(n) {
			t.Errorf("%s: listed %v by postconf, %v built-in", n, s.Listed(n), b.Listed(n))
		}
	}
}

func TestBuiltin(t *testing.T) {
	b := Builtin()
	if b != Builtin() {
		t.Error("Builtin returns a new Set each time")
	}
	if b.Source != SourceBuiltin || b.Version != BuiltinVersion || b.Path != "" {
		t.Errorf("Builtin() = %+v", b)
	}
	names := b.Names()
	if !slices.IsSorted(names) || len(names) != b.Len() {
		t.Error("names not sorted or Len wrong")
	}
	// 831 listed by postconf -d of 3.7.11 with an empty master.cf, 13 more
	// answered by name.
	listed := 0
	for _, n := range names {
		if b.Listed(n) {
			listed++
		}
	}
	if listed != 831 || len(names) != 844 {
		t.Errorf("%d names, %d listed; want 844 and 831", len(names), listed)
	}
	for _, n := range []string{"virtual_maps", "postscreen_blacklist_action", "smtpd_per_record_deadline"} {
		if !b.Known(n) || b.Listed(n) {
			t.Errorf("%s: known %v listed %v; want known, unlisted", n, b.Known(n), b.Listed(n))
		}
	}
	for _, n := range []string{"home", "smtp_delivery_slot_cost", "bsmtp_time_limit", "foo_bar", ""} {
		if b.Known(n) {
			t.Errorf("%s is known", n)
		}
	}
	names[0] = "mutated"
	if b.Names()[0] == "mutated" {
		t.Error("Names exposes the internal slice")
	}
	if v, ok, err := b.ForLevel("mynetworks_style", "2"); v != "host" || !ok || err != nil {
		t.Errorf("ForLevel(mynetworks_style, 2) = %q %v %v", v, ok, err)
	}
	if _, ok, _ := b.ForLevel("nope", "2"); ok {
		t.Error("ForLevel of an unknown name")
	}
	if got := b.String(); got != "built-in (Postfix 3.7.11)" {
		t.Errorf("String() = %q", got)
	}
}

func TestParseDataErrors(t *testing.T) {
	tests := []struct{ data, msg string }{
		{"mail_version = 1\nbogus line\ncompatibility_level = 0\n", `postconf-d.txt:2: not a "name = value" line`},
		{"mail_version = 1\nmail_version = 2\ncompatibility_level = 0\n", "postconf-d.txt:2: parameter mail_version printed twice"},
		{"# only comments\n", "no mail_version"},
		{"mail_version = 1\n" + hiddenMarker + "\nx=1\ncompatibility_level = 0\n", "postconf-d.txt:3"},
	}
	for _, tt := range tests {
		_, err := parseData(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("parseData(%q) = %v, want %q", tt.data, err, tt.msg)
		}
	}
	s, err := parseData("# c\nmail_version = 1\ncompatibility_level =\n" + hiddenMarker + "\nold = x = y\n")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Raw("old"); v != "x = y" || s.Listed("old") || !s.Listed("mail_version") {
		t.Errorf("old = %q listed %v", v, s.Listed("old"))
	}
	if v, ok := s.Raw("compatibility_level"); !ok || v != "" {
		t.Errorf("empty value = %q %v", v, ok)
	}
}

func TestDetect(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		s, err := detect(context.Background(), func() (string, error) { return "", errors.New("postconf not found in $PATH") }, time.Second)
		if err != nil || s.Source != SourceBuiltin || !strings.Contains(s.Reason, "postconf not found in $PATH; using the built-in defaults of Postfix 3.7.11") {
			t.Errorf("got %v reason %q", s, s.Reason)
		}
		if Builtin().Reason != "" {
			t.Error("Detect modified the shared built-in Set")
		}
	})
	t.Run("broken postconf", func(t *testing.T) {
		p := fakePostconf(t, "echo garbage")
		s, err := detect(context.Background(), func() (string, error) { return p, nil }, time.Second)
		if err != nil || s.Source != SourceBuiltin || !strings.Contains(s.Reason, "unexpected postconf output") {
			t.Errorf("got %v reason %q", s, s.Reason)
		}
	})
	t.Run("installed", func(t *testing.T) {
		pc := needPostconf(t)
		s, err := Detect(context.Background())
		if err != nil || s.Source != SourcePostconf || s.Path != pc || s.Reason != "" || !s.Known("smtpd_relay_restrictions") {
			t.Errorf("Detect() = %v, reason %q", s, s.Reason)
		}
	})
}

// TestDetectInterrupted: a context that ends while postconf runs (or
// before) is an error, never a quiet fall back to the built-in table;
// postconf missing still falls back.
func TestDetectInterrupted(t *testing.T) {
	t.Setenv("PFAUDIT_NO_CACHE", "1")
	slow := fakePostconf(t, "sleep 5")
	missing := func() (string, error) { return "", errors.New("postconf not found in $PATH") }
	found := func() (string, error) { return slow, nil }

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	s, err := detect(ctx, found, 10*time.Second)
	if s != nil || !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during postconf: set %v, err %v; want ErrInterrupted", s, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v: the cancellation did not stop postconf", d)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer dcancel()
	if _, err := detect(dctx, found, 10*time.Second); !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("caller's deadline during postconf: err %v; want ErrInterrupted, not postconf's own timeout", err)
	}
	// postconf's own timeout is no interruption: the built-in table.
	if s, err := detect(context.Background(), found, 100*time.Millisecond); err != nil || s.Source != SourceBuiltin || !strings.Contains(s.Reason, "timed out") {
		t.Errorf("postconf's own timeout: set %v err %v", s, err)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if s, err := detect(done, missing, time.Second); s != nil || !errors.Is(err, ErrInterrupted) {
		t.Errorf("already cancelled, postconf missing: set %v, err %v; want ErrInterrupted", s, err)
	}
	if s, err := detect(context.Background(), missing, time.Second); err != nil || s.Source != SourceBuiltin {
		t.Errorf("postconf missing: set %v, err %v; want the built-in table", s, err)
	}
}

func BenchmarkFromPostconf(b *testing.B) {
	pc := needPostconf(b)
	for b.Loop() {
		if _, err := FromPostconf(context.Background(), pc, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseData is the cost of reading a whole `postconf -d`
// listing in the table format (postconf-d.txt).
func BenchmarkParseData(b *testing.B) {
	data, err := os.ReadFile("postconf-d.txt")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := parseData(string(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuiltin(b *testing.B) {
	for b.Loop() {
		if _, ok := Builtin().Raw("smtpd_relay_restrictions"); !ok {
			b.Fatal("missing")
		}
	}
}
