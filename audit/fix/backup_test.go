package fix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupRestoreByteExact: restore brings back bytes, mode, owner and
// modification time, removes files the fix created, and refuses a damaged
// copy.
func TestBackupRestoreByteExact(t *testing.T) {
	dir := t.TempDir()
	main := filepath.Join(dir, "main.cf")
	master := filepath.Join(dir, "master.cf")
	created := filepath.Join(dir, "sender_login")
	if err := os.WriteFile(main, []byte("mynetworks = 0.0.0.0/0\n# no final newline"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(master, []byte("smtp inet n - y - - smtpd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gid := os.Getgid()
	if os.Geteuid() == 0 {
		gid = 7 // any group other than root's shows that the owner comes back
		if err := os.Chown(main, 0, gid); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(main, old, old); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, dir)
	root := t.TempDir()
	b, err := createBackup(root, dir, "test", time.Now(), []string{main, master, created}, []string{"postconf -e x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != StatusInProgress {
		t.Errorf("status %s", b.Status)
	}
	// What a fix does: replace, chmod, create.
	if err := installFile(main, []byte("mynetworks = 127.0.0.0/8\n"), BackupFile{Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(created, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(master); err != nil {
		t.Fatal(err)
	}
	if err := b.restore(); err != nil {
		t.Fatal(err)
	}
	before.same(t, dir)
	st, _ := os.Stat(main)
	if !st.ModTime().Equal(old) {
		t.Errorf("mtime %v, want %v", st.ModTime(), old)
	}
	if _, gotGID := owner(st); gotGID != gid {
		t.Errorf("group %d, want %d", gotGID, gid)
	}

	// A second backup in the same second gets its own directory; the
	// list is in order.
	b2, err := createBackup(root, dir, "test", b.Created, []string{main}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b2.ID == b.ID || !strings.HasPrefix(b2.ID, b.ID) {
		t.Errorf("second ID %q after %q", b2.ID, b.ID)
	}
	bs, err := ListBackups(root, dir)
	if err != nil || len(bs) != 2 || bs[0].ID != b.ID || bs[1].ID != b2.ID {
		t.Fatalf("ListBackups: %v %+v", err, bs)
	}

	// A damaged copy is not restored.
	if err := os.WriteFile(filepath.Join(b.Dir(), "files", b.Files[0].Stored), []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.restore(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("restore of a damaged copy: %v", err)
	}
	if got, _ := os.ReadFile(main); string(got) != "changed\n" {
		t.Errorf("a damaged copy overwrote main.cf: %q", got)
	}
}

// TestLockExclusive: a second lock on the same directory fails at once,
// another directory is independent, and a released lock can be taken.
func TestLockExclusive(t *testing.T) {
	root := t.TempDir()
	l, err := AcquireLock(root, "/etc/postfix")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLock(root, "/etc/postfix"); err == nil || !strings.Contains(err.Error(), ErrLocked.Error()) {
		t.Fatalf("second lock: %v", err)
	}
	l2, err := AcquireLock(root, "/etc/postfix-out")
	if err != nil {
		t.Fatalf("another directory: %v", err)
	}
	l2.Release()
	l.Release()
	l3, err := AcquireLock(root, "/etc/postfix")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l3.Release()
}
