package fix

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requirePostconf returns the postconf binary, or skips (fails under
// CI=true) when it is not installed.
func requirePostconf(t *testing.T) string {
	t.Helper()
	p := lookTool("", "postconf")
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("postconf not installed (CI=true: this test may not be skipped)")
		}
		t.Skip("postconf not installed")
	}
	return p
}

const editMainCF = `# Global Postfix configuration file.
compatibility_level = 3.6

smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
mynetworks =
	127.0.0.0/8
	# office
	192.168.0.0/16   # office LAN
	172.16.0.0/12
relay_domains = example.com
mynetworks = 0.0.0.0/0
smtpd_relay_restrictions = check_client_access static:OK,
    permit_mynetworks, reject_unauth_destination
# the end
myhostname = mx.example.com
`

const editMasterCF = `# master.cf
smtp      inet  n       -       y       -       -       smtpd
  -o smtpd_relay_restrictions=check_client_access,static:OK,reject_unauth_destination
  # a comment inside the entry
  -o syslog_name=postfix/smtp
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
`

// TestBuiltinEditorMatchesPostconf makes the same edits with pfaudit's
// editor and with Postfix's postconf and requires the same bytes.
func TestBuiltinEditorMatchesPostconf(t *testing.T) {
	postconf := requirePostconf(t)
	for _, tc := range []struct {
		name string
		op   string
		args []string
	}{
		{"set existing with continuation and duplicate", "-e", []string{"mynetworks = 127.0.0.0/8"}},
		{"set continued restriction list", "-e", []string{"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination"}},
		{"set new", "-e", []string{"disable_vrfy_command = yes"}},
		{"set several", "-e", []string{"relay_domains =", "smtpd_banner = $myhostname ESMTP"}},
		{"remove", "-X", []string{"relay_domains"}},
		{"remove continued", "-X", []string{"mynetworks"}},
		{"remove absent", "-X", []string{"nonexistent"}},
		{"override replace", "-P", []string{"smtp/inet/smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination"}},
		{"override add", "-P", []string{"submission/inet/smtpd_tls_security_level=encrypt"}},
		{"override add to bare entry", "-P", []string{"pickup/unix/syslog_name=postfix/pickup"}},
		{"override remove", "-PX", []string{"smtp/inet/syslog_name"}},
		{"override remove group", "-PX", []string{"submission/inet/smtpd_client_restrictions"}},
		{"entry remove", "-MX", []string{"submission/inet"}},
		{"entry replace", "-M", []string{"smtp/inet = smtp inet n - y - - smtpd -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func() {
				for name, s := range map[string]string{"main.cf": editMainCF, "master.cf": editMasterCF} {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			write()
			file := "main.cf"
			if strings.HasPrefix(tc.op, "-P") || strings.HasPrefix(tc.op, "-M") {
				file = "master.cf"
			}
			cmd := exec.Command(postconf, append([]string{"-c", dir, tc.op}, tc.args...)...)
			cmd.Env = cleanEnv()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("postconf: %v\n%s", err, out)
			}
			want, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			src := editMainCF
			if file == "master.cf" {
				src = editMasterCF
			}
			got := []byte(src)
			for _, a := range tc.args {
				if got, err = editConfig(file, got, tc.op, a); err != nil {
					t.Fatal(err)
				}
			}
			if string(got) != string(want) {
				t.Errorf("the built-in editor differs from postconf:\n%s", unifiedDiff("/"+file, string(want), string(got), false))
			}
		})
	}
}

// TestPostconfFinalNewline: postconf -e on a main.cf without a final
// newline glues the new setting to the last line; the stage adds the
// newline first, and the built-in editor does too.
func TestPostconfFinalNewline(t *testing.T) {
	requirePostconf(t)
	for _, builtin := range []bool{false, true} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.com"), 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := newStage(dir, Tools{BuiltinEditor: builtin})
		if err != nil {
			t.Fatal(err)
		}
		defer st.close()
		if err := st.run(t.Context(), "postconf -c "+dir+" -e 'disable_vrfy_command = yes'"); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(filepath.Join(st.root, "main.cf"))
		if want := "myhostname = mx.example.com\ndisable_vrfy_command = yes\n"; string(got) != want {
			t.Errorf("builtin=%v: %q, want %q", builtin, got, want)
		}
	}
}
