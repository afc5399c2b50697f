package postconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseErrorTextWithheld: a parse error in a main.cf or master.cf that
// other users may not read names the file and line but does not repeat
// the line (run as root, a main.cf linked to /etc/shadow would print a
// password hash into the report).
func TestParseErrorTextWithheld(t *testing.T) {
	const secret = "root:$6$c2VjcmV0$hash:20228:0:99999:7:::"
	const goodMain = "compatibility_level = 3.6\n"
	const goodMaster = "smtp inet n - y - - smtpd\n"
	for _, tt := range []struct {
		name       string
		file       string // which file holds the secret line
		mode       os.FileMode
		load       func(dir string) error
		wantLine   string
		wantSecret bool
	}{
		{"LoadDir main.cf 0640", "main.cf", 0o640, loadDir, "main.cf:1:", false},
		{"LoadDir main.cf 0600", "main.cf", 0o600, loadDir, "main.cf:1:", false},
		{"LoadDir main.cf 0644", "main.cf", 0o644, loadDir, "main.cf:1:", true},
		{"LoadDir master.cf 0600", "master.cf", 0o600, loadDir, "master.cf:1:", false},
		{"LoadDir master.cf 0644", "master.cf", 0o644, loadDir, "master.cf:1:", true},
		{"ReadMainCF 0600", "main.cf", 0o600, func(d string) error { _, err := ReadMainCF(filepath.Join(d, "main.cf")); return err }, "main.cf:1:", false},
		{"ReadMasterCF 0600", "master.cf", 0o600, func(d string) error { _, err := ReadMasterCF(filepath.Join(d, "master.cf")); return err }, "master.cf:1:", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			for name, s := range map[string]string{"main.cf": goodMain, "master.cf": goodMaster} {
				mode := os.FileMode(0o644)
				if name == tt.file {
					s, mode = secret+"\n", tt.mode
				}
				p := filepath.Join(d, name)
				if err := os.WriteFile(p, []byte(s), mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(p, mode); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			err := tt.load(d)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantLine) {
				t.Errorf("error %q does not name %s", msg, tt.wantLine)
			}
			if got := strings.Contains(msg, "c2VjcmV0"); got != tt.wantSecret {
				t.Errorf("error %q: shows the line = %v, want %v", msg, got, tt.wantSecret)
			}
			if !tt.wantSecret && !strings.Contains(msg, "not readable by other users") {
				t.Errorf("error %q does not say why the text is not shown", msg)
			}
		})
	}
}

func loadDir(dir string) error {
	_, err := LoadDir(dir, nil, "builtin")
	return err
}
