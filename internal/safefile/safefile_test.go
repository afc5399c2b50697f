//go:build unix

package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// otherUID is the unprivileged user that plants files: nobody. The tests
// only need a uid that is neither root nor the running user; files are
// created as root and handed over with lchown, which is what the
// planting user could have done himself.
const otherUID = 65534

// requireRoot skips (or fails under CI=true) when the test cannot play
// the second user.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root to plant files owned by another user (CI=true: may not be skipped)")
	}
	t.Skip("needs root to plant files owned by another user")
}

// stickyDir is a world-writable sticky directory like /tmp.
func stickyDir(t *testing.T) string {
	d := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(d, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return d
}

func write(t *testing.T, p, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}

func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	write(t, big, strings.Repeat("x", 2000), 0o644)
	ok := filepath.Join(dir, "ok")
	write(t, ok, "a = 1\n", 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path string
		want       string // substring of the error; "" = read succeeds
	}{
		{"fifo", fifo, "is a FIFO (named pipe), not a regular file"},
		{"dev zero", "/dev/zero", "is a character device, not a regular file"},
		{"dev null", "/dev/null", "is a character device"},
		{"directory", dir, "is a directory"},
		{"too large", big, "larger than 1 KiB"},
		{"missing", filepath.Join(dir, "none"), "no such file"},
		{"regular", ok, ""},
		{"symlink followed", link, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := ReadFile(tt.path, 1024); done <- err }()
			select {
			case err := <-done:
				if tt.want == "" {
					if err != nil {
						t.Fatalf("ReadFile: %v", err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("ReadFile(%s) = %v, want an error with %q", tt.path, err, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("ReadFile(%s) hangs", tt.path)
			}
		})
	}
	if _, _, err := ReadFileNoFollow(link, 1024); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("ReadFileNoFollow(symlink) = %v", err)
	}
}

func TestCreateOutput(t *testing.T) {
	requireRoot(t)
	type setup struct {
		path   string // the --transcript argument
		victim string // a file that must stay unchanged ("" none)
	}
	for _, tt := range []struct {
		name string
		prep func(t *testing.T) setup
		want string // substring of the CreateOutput error; "" = allowed
	}{
		{"symlink planted by another user", func(t *testing.T) setup {
			d := stickyDir(t)
			victim := filepath.Join(t.TempDir(), "root-owned")
			write(t, victim, "precious\n", 0o600)
			p := filepath.Join(d, "transcript")
			if err := os.Symlink(victim, p); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return setup{p, victim}
		}, "symbolic link owned by uid 65534"},
		{"dangling symlink planted by another user", func(t *testing.T) setup {
			d := stickyDir(t)
			p := filepath.Join(d, "transcript")
			if err := os.Symlink(filepath.Join(t.TempDir(), "new"), p); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return setup{p, ""}
		}, "refusing to follow it"},
		{"file planted by another user", func(t *testing.T) setup {
			p := filepath.Join(stickyDir(t), "transcript")
			write(t, p, "theirs\n", 0o666)
			if err := os.Chown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return setup{p, p}
		}, "owned by uid 65534"},
		{"hard link to a root-owned file", func(t *testing.T) setup {
			d := t.TempDir()
			victim := filepath.Join(d, "root-owned")
			write(t, victim, "precious\n", 0o600)
			p := filepath.Join(d, "transcript")
			if err := os.Link(victim, p); err != nil {
				t.Fatal(err)
			}
			return setup{p, victim}
		}, "2 hard links"},
		{"FIFO planted by another user", func(t *testing.T) setup {
			p := filepath.Join(stickyDir(t), "transcript")
			if err := syscall.Mkfifo(p, 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, otherUID, otherUID); err != nil {
				t.Fatal(err)
			}
			return setup{p, ""}
		}, "FIFO owned by uid 65534"},
		{"own FIFO without a reader", func(t *testing.T) setup {
			p := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return setup{p, ""}
		}, "a FIFO nobody reads"},
		{"directory", func(t *testing.T) setup { return setup{t.TempDir(), ""} }, "is a directory"},
		{"new file", func(t *testing.T) setup { return setup{filepath.Join(stickyDir(t), "new"), ""} }, ""},
		{"own symlink", func(t *testing.T) setup {
			d := t.TempDir()
			p := filepath.Join(d, "link")
			if err := os.Symlink(filepath.Join(d, "target"), p); err != nil {
				t.Fatal(err)
			}
			return setup{p, ""}
		}, ""},
		{"dev null", func(t *testing.T) setup { return setup{"/dev/null", ""} }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.prep(t)
			var before []byte
			if s.victim != "" {
				before, _ = os.ReadFile(s.victim)
			}
			o, err := CreateOutput(s.path)
			if tt.want != "" {
				if err == nil {
					o.Write([]byte("overwritten\n"))
					o.Close(true)
					t.Fatalf("CreateOutput(%s) succeeded, want an error with %q", s.path, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("CreateOutput(%s) = %v, want %q", s.path, err, tt.want)
				}
			} else {
				if err != nil {
					t.Fatalf("CreateOutput(%s): %v", s.path, err)
				}
				if _, err := io.WriteString(o, "line\n"); err != nil {
					t.Fatal(err)
				}
				if err := o.Close(true); err != nil {
					t.Fatal(err)
				}
				if st, err := os.Stat(s.path); err == nil && st.Mode().IsRegular() {
					if b, _ := os.ReadFile(s.path); string(b) != "line\n" {
						t.Errorf("content %q", b)
					}
				}
			}
			if s.victim != "" {
				if after, _ := os.ReadFile(s.victim); string(after) != string(before) {
					t.Errorf("%s changed: %q -> %q", s.victim, before, after)
				}
			}
		})
	}
}

func TestOutputTruncatesOnlyWhenUsed(t *testing.T) {
	p := filepath.Join(t.TempDir(), "t")
	for _, tt := range []struct {
		name     string
		write    bool
		complete bool
		want     string
	}{
		{"refused run leaves the file", false, false, "old\n"},
		{"complete run with no lines empties it", false, true, ""},
		{"written", true, true, "new\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			write(t, p, "old\n", 0o644)
			o, err := CreateOutput(p)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); string(b) != "old\n" {
				t.Fatalf("truncated at open: %q", b)
			}
			if tt.write {
				io.WriteString(o, "new\n")
			}
			if err := o.Close(tt.complete); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); string(b) != tt.want {
				t.Errorf("content %q, want %q", b, tt.want)
			}
		})
	}
}

func TestOutputFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	o, err := CreateOutput("/dev/full")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := io.WriteString(o, "line\n")
	cerr := o.Close(true)
	for _, err := range []error{werr, cerr, o.Err()} {
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("error %v, want ENOSPC", err)
		}
	}
}

func TestCheckPrivateDir(t *testing.T) {
	requireRoot(t)
	for _, tt := range []struct {
		name string
		prep func(t *testing.T) string
		want string
	}{
		{"private", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "c")
			if err := MkdirPrivate(d); err != nil {
				t.Fatal(err)
			}
			return d
		}, ""},
		{"under a sticky /tmp", func(t *testing.T) string {
			d := filepath.Join(stickyDir(t), "c")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			return d
		}, ""},
		{"owned by another user", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
			os.Chown(d, otherUID, otherUID)
			return d
		}, "owned by uid 65534"},
		{"group-writable", func(t *testing.T) string {
			d := filepath.Join(t.TempDir(), "c")
			os.Mkdir(d, 0o700)
			os.Chmod(d, 0o770)
			return d
		}, "writable by group or others"},
		{"symlink", func(t *testing.T) string {
			base := t.TempDir()
			real := filepath.Join(base, "real")
			os.Mkdir(real, 0o700)
			l := filepath.Join(base, "c")
			os.Symlink(real, l)
			return l
		}, "symbolic link"},
		{"parent owned by another user", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "home")
			os.Mkdir(p, 0o755)
			os.Chown(p, otherUID, otherUID)
			d := filepath.Join(p, "c")
			os.Mkdir(d, 0o700)
			return d
		}, "neither root nor the running user"},
		{"parent world-writable, not sticky", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "open")
			os.Mkdir(p, 0o777)
			os.Chmod(p, 0o777)
			d := filepath.Join(p, "c")
			os.Mkdir(d, 0o700)
			return d
		}, "not sticky"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPrivateDir(tt.prep(t))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckPrivateDir = %v, want %q", err, tt.want)
			}
		})
	}
}
