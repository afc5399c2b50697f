package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The files-and-local-users part of issue 12: every hostile file gives a
// clear message and a documented exit code, never a panic, a hang or a
// change to a file pfaudit should not touch.

const otherUID = 65534 // nobody: a second, unprivileged local user

func requireRootCLI(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root to plant files owned by another user (CI=true: may not be skipped)")
	}
	t.Skip("needs root to plant files owned by another user")
}

// runBounded runs Main and fails the test when it does not return in 30s.
func runBounded(t *testing.T, out *os.File, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var ob, eb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		if out != nil {
			done <- Main(args, strings.NewReader(""), out, &eb)
			return
		}
		done <- Main(args, strings.NewReader(""), &ob, &eb)
	}()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("pfaudit %s hangs", strings.Join(args, " "))
	}
	return ob.String(), eb.String(), code
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}

func putFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

const stockMaster = "smtp inet n - y - - smtpd\n"

// confDir writes main.cf (and the stock master.cf) into a new directory.
func confDir(t *testing.T, main string) string {
	d := t.TempDir()
	putFile(t, filepath.Join(d, "main.cf"), main)
	putFile(t, filepath.Join(d, "master.cf"), stockMaster)
	return d
}

func TestHostileFiles(t *testing.T) {
	for _, tt := range []struct {
		name string
		args func(t *testing.T) []string
		code int    // -1: 0 or 1 (a report), else exact
		err  string // substring of stderr
		out  string // substring of stdout
	}{
		{"main.cf is a FIFO", func(t *testing.T) []string {
			d := t.TempDir()
			mkfifo(t, filepath.Join(d, "main.cf"))
			putFile(t, filepath.Join(d, "master.cf"), stockMaster)
			return []string{"audit", "--no-probe", "-c", d}
		}, ExitError, "main.cf: is a FIFO (named pipe), not a regular file", ""},
		{"master.cf is a FIFO", func(t *testing.T) []string {
			d := t.TempDir()
			putFile(t, filepath.Join(d, "main.cf"), "compatibility_level = 3.6\n")
			mkfifo(t, filepath.Join(d, "master.cf"))
			return []string{"config", "-M", "-c", d}
		}, ExitError, "master.cf: is a FIFO", ""},
		{"main.cf is /dev/zero", func(t *testing.T) []string {
			d := t.TempDir()
			os.Symlink("/dev/zero", filepath.Join(d, "main.cf"))
			putFile(t, filepath.Join(d, "master.cf"), stockMaster)
			return []string{"config", "-n", "-c", d}
		}, ExitError, "is a character device, not a regular file", ""},
		{"100 MB main.cf", func(t *testing.T) []string {
			d := confDir(t, "")
			// Sparse: the size is what matters, and it is refused before
			// a byte is read.
			if err := os.Truncate(filepath.Join(d, "main.cf"), 100<<20); err != nil {
				t.Fatal(err)
			}
			return []string{"config", "-n", "-c", d}
		}, ExitError, "larger than 4 MiB", ""},
		{"postconf -n dump is a FIFO", func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "n")
			mkfifo(t, p)
			return []string{"audit", "--no-probe", "--postconf-n", p}
		}, ExitError, "is a FIFO", ""},
		{"relay_domains = regexp:/dev/zero in a dump", func(t *testing.T) []string {
			d := t.TempDir()
			putFile(t, filepath.Join(d, "n"), "compatibility_level = 3.6\nrelay_domains = regexp:/dev/zero\n")
			putFile(t, filepath.Join(d, "m"), stockMaster)
			return []string{"audit", "--postconf-n", filepath.Join(d, "n"), "--postconf-M", filepath.Join(d, "m")}
		}, -1, "", "/dev/zero"},
		{"relay_domains = regexp:/dev/zero live", func(t *testing.T) []string {
			return []string{"audit", "--no-probe", "-c", confDir(t, "compatibility_level = 3.6\nrelay_domains = regexp:/dev/zero\n")}
		}, -1, "", "regexp:/dev/zero"},
		{"mynetworks file is a FIFO", func(t *testing.T) []string {
			d := confDir(t, "")
			fifo := filepath.Join(d, "nets")
			mkfifo(t, fifo)
			putFile(t, filepath.Join(d, "main.cf"), "compatibility_level = 3.6\nmynetworks = "+fifo+"\n")
			return []string{"audit", "--no-probe", "--format", "json", "-c", d}
		}, -1, "", "is a FIFO (named pipe), not a regular file"},
		{"regexp access table is a FIFO", func(t *testing.T) []string {
			d := confDir(t, "")
			fifo := filepath.Join(d, "access")
			mkfifo(t, fifo)
			putFile(t, filepath.Join(d, "main.cf"), "compatibility_level = 3.6\nsmtpd_relay_restrictions = check_client_access regexp:"+fifo+", reject_unauth_destination\n")
			return []string{"audit", "--no-probe", "--format", "json", "-c", d}
		}, -1, "", "is a FIFO"},
		{"policy file is a FIFO", func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "policy.toml")
			mkfifo(t, p)
			return []string{"audit", "--no-probe", "--policy", p, "-c", confDir(t, "compatibility_level = 3.6\n")}
		}, ExitError, "policy: ", ""},
		{"policy file is /dev/zero", func(t *testing.T) []string {
			return []string{"audit", "--no-probe", "--policy", "/dev/zero", "-c", confDir(t, "compatibility_level = 3.6\n")}
		}, ExitError, "is a character device", ""},
		{"policy of deeply nested inline tables", func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "policy.toml")
			putFile(t, p, "role = \"mx\"\nx = "+strings.Repeat("{a=", 8000)+strings.Repeat("}", 8000)+"\n")
			return []string{"audit", "--no-probe", "--policy", p, "-c", confDir(t, "compatibility_level = 3.6\n")}
		}, ExitError, "policy.toml:2: policy: arrays and inline tables nested more than 8 deep", ""},
		{"policy larger than the bound", func(t *testing.T) []string {
			p := filepath.Join(t.TempDir(), "policy.toml")
			putFile(t, p, "role = \"mx\"\n"+strings.Repeat("# padding\n", 30000))
			return []string{"audit", "--no-probe", "--policy", p, "-c", confDir(t, "compatibility_level = 3.6\n")}
		}, ExitError, "larger than 64 KiB", ""},
		{"negative --timeout", func(t *testing.T) []string {
			return []string{"probe", "--target", "127.0.0.1:1", "--timeout", "-1s"}
		}, ExitError, "--timeout: -1s is not a positive duration", ""},
		{"negative --command-timeout", func(t *testing.T) []string {
			return []string{"probe", "--target", "127.0.0.1:1", "--command-timeout", "-3s"}
		}, ExitError, "--command-timeout: -3s is not a positive duration", ""},
		{"negative --probe-timeout", func(t *testing.T) []string {
			return []string{"audit", "--probe-timeout", "-1m", "-c", confDir(t, "")}
		}, ExitError, "--probe-timeout: -1m0s is not a positive duration", ""},
		{"--files-root is not a directory", func(t *testing.T) []string {
			return []string{"config", "-n", "--files-root", "/dev/null", "-c", confDir(t, "")}
		}, ExitError, "--files-root: /dev/null is not a directory", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args(t)
			args = append(args, "--defaults", "builtin")
			stdout, stderr, code := runBounded(t, nil, args...)
			if (tt.code == -1 && code != ExitOK && code != ExitFindings) || (tt.code >= 0 && code != tt.code) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.err) {
				t.Errorf("stderr %q, want %q", stderr, tt.err)
			}
			if !strings.Contains(stdout, tt.out) {
				t.Errorf("stdout lacks %q:\n%s", tt.out, stdout)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("panic: %s", stderr)
			}
		})
	}
}

// TestOfflineDumpFiles: a dump that names a file is judged without this
// host's file of that name, unless --files-root supplies a copy.
func TestOfflineDumpFiles(t *testing.T) {
	d := t.TempDir()
	// This host's /srv file (under a fake root) trusts everybody; the
	// dump's server may not have such a file at all.
	nets := filepath.Join(d, "nets")
	putFile(t, nets, "0.0.0.0/0\n")
	putFile(t, filepath.Join(d, "n"), "compatibility_level = 3.6\nmynetworks = "+nets+"\n")
	putFile(t, filepath.Join(d, "m"), stockMaster)
	root := filepath.Join(d, "root")
	putFile(t, filepath.Join(root, nets), "0.0.0.0/0\n")
	base := []string{"audit", "--no-probe", "--defaults", "builtin", "--format", "json", "--postconf-n", filepath.Join(d, "n"), "--postconf-M", filepath.Join(d, "m")}
	for _, tt := range []struct {
		name    string
		extra   []string
		verdict string
		text    string
	}{
		{"without copies the file is unknown", nil, `"verdict": "unknown"`, "give --files-root DIR"},
		{"with --files-root the copy decides", []string{"--files-root", root}, `"verdict": "open"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, _ := runBounded(t, nil, append(base, tt.extra...)...)
			if !strings.Contains(stdout, tt.verdict) {
				t.Errorf("want %s\nstdout: %s\nstderr: %s", tt.verdict, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.text) {
				t.Errorf("stdout lacks %q", tt.text)
			}
		})
	}
}

// TestOutputWriteErrors: a report that cannot be written (a full disk) is
// exit 2 with a message, for every command.
func TestOutputWriteErrors(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full")
	}
	defer full.Close()
	dir := confDir(t, "compatibility_level = 3.6\n")
	for _, args := range [][]string{
		{"config", "-n", "-c", dir},
		{"config", "--format", "json", "-c", dir},
		{"audit", "--no-probe", "-c", dir},
		{"audit", "--no-probe", "--format", "markdown", "-c", dir},
		{"rules"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if args[0] != "rules" {
				args = append(args, "--defaults", "builtin")
			}
			_, stderr, code := runBounded(t, full, args...)
			if code != ExitError || !strings.Contains(stderr, "no space left on device") {
				t.Errorf("exit %d, stderr %q; want 2 and the write error", code, stderr)
			}
		})
	}
}

// refusingServer answers every command with 554 after a 220 greeting, so
// that a probe writes transcript lines.
func refusingServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				fmt.Fprintf(c, "220 test ESMTP\r\n")
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(strings.ToUpper(line), "QUIT") {
						fmt.Fprintf(c, "221 bye\r\n")
						return
					}
					if strings.HasPrefix(strings.ToUpper(line), "EHLO") || strings.HasPrefix(strings.ToUpper(line), "HELO") {
						fmt.Fprintf(c, "250 test\r\n")
						continue
					}
					fmt.Fprintf(c, "554 5.7.1 no \x1b[31mrelay\r\n")
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestTranscriptFile(t *testing.T) {
	requireRootCLI(t)
	target := refusingServer(t)
	probeArgs := []string{"probe", "--target", target, "--vantage", "loopback", "--timeout", "20s"}
	for _, tt := range []struct {
		name string
		// prep returns the --transcript argument and a file that must
		// keep its content.
		prep  func(t *testing.T) (path, keep string)
		extra []string
		code  int
		err   string
	}{
		{"symlink planted by another user", func(t *testing.T) (string, string) {
			tmp := filepath.Join(t.TempDir(), "tmp")
			os.Mkdir(tmp, 0o777)
			os.Chmod(tmp, 0o777|os.ModeSticky)
			victim := filepath.Join(t.TempDir(), "root-owned")
			putFile(t, victim, "precious\n")
			p := filepath.Join(tmp, "t.txt")
			os.Symlink(victim, p)
			if err := os.Lchown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return p, victim
		}, nil, ExitError, "refusing to follow it"},
		{"bad arguments leave the file alone", func(t *testing.T) (string, string) {
			p := filepath.Join(t.TempDir(), "t.txt")
			putFile(t, p, "earlier run\n")
			return p, p
		}, []string{"--vantage", "bogus"}, ExitError, "unknown vantage"},
		{"full disk", func(t *testing.T) (string, string) { return "/dev/full", "" }, nil, ExitError, "no space left on device"},
		{"transcript written, escaped", func(t *testing.T) (string, string) {
			return filepath.Join(t.TempDir(), "t.txt"), ""
		}, nil, ExitOK, ""}, // --vantage loopback asked for no untrusted view
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, keep := tt.prep(t)
			var before []byte
			if keep != "" {
				before, _ = os.ReadFile(keep)
			}
			args := append(append(append([]string{}, probeArgs...), tt.extra...), "--transcript", p)
			stdout, stderr, code := runBounded(t, nil, args...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Fatalf("exit %d, stderr %q; want %d and %q\nstdout: %s", code, stderr, tt.code, tt.err, stdout)
			}
			if keep != "" {
				if after, _ := os.ReadFile(keep); !bytes.Equal(after, before) {
					t.Errorf("%s changed: %q -> %q", keep, before, after)
				}
			}
			if tt.name == "transcript written, escaped" {
				b, _ := os.ReadFile(p)
				if !bytes.Contains(b, []byte(`no \x1b[31mrelay`)) || bytes.Contains(b, []byte("\x1b")) {
					t.Errorf("transcript does not show the reply escaped:\n%s", b)
				}
			}
		})
	}
}

// TestStaleNamespacesRemovedAtStart: a namespace left by a SIGKILLed
// probe is removed at the start of the next audit, before the host's
// default mynetworks is computed from its interfaces.
func TestStaleNamespacesRemovedAtStart(t *testing.T) {
	requireRootCLI(t)
	ip, err := exec.LookPath("ip")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("iproute2 is required under CI")
		}
		t.Skip("iproute2 (ip) not found")
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("pfaudit-probe-%d-1", dead.Process.Pid)
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", name).Run() })
	_, stderr, code := runBounded(t, nil, "audit", "--no-probe", "--defaults", "builtin", "-c", confDir(t, "compatibility_level = 3.6\n"))
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		t.Errorf("stale namespace %s survived an audit run", name)
	}
}

// TestOutputNotRegular: --output onto a device, a FIFO or a link to one
// is refused before anything is written: the report is renamed over the
// path, which as root turned `--output /dev/full` (and would turn
// /dev/null, or /dev/stdout's link) into a plain file.
func TestOutputNotRegular(t *testing.T) {
	dir := confDir(t, "compatibility_level = 3.6\n")
	fleetDir := t.TempDir()
	putFile(t, filepath.Join(fleetDir, "mx1", "main.cf"), "compatibility_level = 3.6\n")
	putFile(t, filepath.Join(fleetDir, "mx1", "master.cf"), stockMaster)
	for _, tt := range []struct {
		name string
		make func(t *testing.T, p string)
		kind string
	}{
		{"FIFO", func(t *testing.T, p string) { mkfifo(t, p) }, "a FIFO (named pipe)"},
		{"link to a FIFO", func(t *testing.T, p string) {
			mkfifo(t, p+".fifo")
			if err := os.Symlink(p+".fifo", p); err != nil {
				t.Fatal(err)
			}
		}, "a FIFO (named pipe)"},
		{"character device", func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("mknod needs root")
			}
			// The null device's numbers, in a private directory.
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
				t.Fatal(err)
			}
		}, "a character device"},
	} {
		for _, cmd := range [][]string{
			{"audit", "--no-probe", "--defaults", "builtin", "-c", dir},
			{"fleet", "--defaults", "builtin", fleetDir},
		} {
			t.Run(tt.name+" "+cmd[0], func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "report")
				tt.make(t, p)
				before, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				_, stderr, code := runBounded(t, nil, append(cmd, "--output", p)...)
				if code != ExitError || !strings.Contains(stderr, "is "+tt.kind+", not a regular file: refused") {
					t.Errorf("exit %d, stderr %q; want 2 and a refusal", code, stderr)
				}
				after, err := os.Lstat(p)
				if err != nil || after.Mode() != before.Mode() {
					t.Errorf("%s was replaced: %v -> %v (%v)", p, before.Mode(), after, err)
				}
			})
		}
	}
}
