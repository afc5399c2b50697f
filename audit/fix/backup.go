package fix

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DefaultBackupDir is where backups go unless --backup-dir says otherwise.
const DefaultBackupDir = "/var/lib/pfaudit/backups"

// Backups live in BACKUPDIR/KEY/ID/, KEY naming the configuration
// directory (etc_postfix for /etc/postfix) and ID the time of the fix
// (20261205T194501Z, with -2, -3 ... when two fall in one second). Each
// holds manifest.json and files/, the byte-exact copies. The manifest is
// written before any file of the configuration directory changes, and its
// status says how far the fix got:
//
//	in-progress   files are being replaced or checked: if pfaudit died
//	              here (SIGKILL, a crash, power loss) the next `pfaudit fix`
//	              on that directory restores this backup first
//	applied       the fix was applied and verified
//	rolled-back   the fix failed and the backup was restored
//	restored      `pfaudit fix --rollback` restored it later
const (
	StatusInProgress = "in-progress"
	StatusApplied    = "applied"
	StatusRolledBack = "rolled-back"
	StatusRestored   = "restored"
	StatusSnapshot   = "snapshot" // the state --rollback replaced
)

// Backup is one backup's manifest.
type Backup struct {
	ID        string    `json:"id"`
	ConfigDir string    `json:"config_directory"`
	Created   time.Time `json:"created"`
	Version   string    `json:"pfaudit_version"`
	Status    string    `json:"status"`
	// Reason is why a fix was rolled back.
	Reason   string       `json:"reason,omitempty"`
	Commands []string     `json:"commands"`
	Fixed    []string     `json:"fixed"` // "RULE service parameter" of the findings fixed
	Files    []BackupFile `json:"files"`

	dir string // the backup's directory
}

// BackupFile is one file as it was before the fix.
type BackupFile struct {
	Path    string      `json:"path"`
	Existed bool        `json:"existed"`
	Mode    fs.FileMode `json:"mode,omitempty"`
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
	ModTime time.Time   `json:"mtime,omitzero"`
	Size    int64       `json:"size"`
	SHA256  string      `json:"sha256,omitempty"`
	// After is the SHA-256 of what the fix wrote: --rollback tells when
	// the file changed again since.
	After string `json:"after_sha256,omitempty"`
	// Stored is the copy's name under files/.
	Stored string `json:"stored,omitempty"`
}

// dirKey names a configuration directory's backups.
func dirKey(dir string) string {
	k := strings.ReplaceAll(strings.Trim(filepath.Clean(dir), "/"), "/", "_")
	if k == "" {
		k = "root"
	}
	return k
}

// createBackup copies paths (absolute, in the configuration directory)
// into a new backup directory and writes its manifest with status
// in-progress. Copies are synced to disk before the manifest is.
func createBackup(root, configDir, version string, now time.Time, paths []string, cmds, fixed []string) (*Backup, error) {
	base := filepath.Join(root, dirKey(configDir))
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	id := now.UTC().Format("20060102T150405Z")
	dir := filepath.Join(base, id)
	for n := 2; ; n++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("backup: %w", err)
		}
		id = fmt.Sprintf("%s-%d", now.UTC().Format("20060102T150405Z"), n)
		dir = filepath.Join(base, id)
	}
	b := &Backup{ID: id, ConfigDir: configDir, Created: now.UTC(), Version: version, Status: StatusInProgress,
		Commands: cmds, Fixed: fixed, dir: dir}
	if err := os.Mkdir(filepath.Join(dir, "files"), 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	for i, p := range paths {
		bf := BackupFile{Path: p}
		st, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			b.Files = append(b.Files, bf)
			continue
		case err != nil:
			return nil, fmt.Errorf("backup: %w", err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("backup: %s is not a regular file", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		bf.Existed, bf.Mode, bf.ModTime, bf.Size = true, st.Mode(), st.ModTime(), int64(len(data))
		bf.UID, bf.GID = owner(st)
		sum := sha256.Sum256(data)
		bf.SHA256 = hex.EncodeToString(sum[:])
		bf.Stored = fmt.Sprintf("%02d-%s", i, filepath.Base(p))
		if err := writeSynced(filepath.Join(dir, "files", bf.Stored), data, 0o600); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		b.Files = append(b.Files, bf)
	}
	if err := b.save(); err != nil {
		return nil, err
	}
	return b, nil
}

// save writes the manifest atomically.
func (b *Backup) save() error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(b.dir, "manifest.json")
	tmp := p + ".tmp"
	if err := writeSynced(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("backup manifest: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("backup manifest: %w", err)
	}
	return syncDir(b.dir)
}

func (b *Backup) setStatus(status, reason string) error {
	b.Status, b.Reason = status, reason
	return b.save()
}

// Dir is the backup's directory.
func (b *Backup) Dir() string { return b.dir }

// restore puts every file back byte-exact with its mode, owner and
// modification time, and removes the files that did not exist. It goes on
// after an error, so that as much as possible is restored, and returns
// every error.
func (b *Backup) restore() error {
	var errs []error
	for _, f := range b.Files {
		if !f.Existed {
			if err := os.Remove(f.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.dir, "files", f.Stored))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			errs = append(errs, fmt.Errorf("backup %s: the copy of %s is damaged (checksum mismatch); not restored", b.ID, f.Path))
			continue
		}
		if cur, err := os.ReadFile(f.Path); err == nil && bytes.Equal(cur, data) {
			// Already as it was: only the metadata may differ.
			errs = append(errs, setMeta(f.Path, f))
			continue
		}
		errs = append(errs, installFile(f.Path, data, f))
	}
	return errors.Join(errs...)
}

// installFile replaces path with data atomically: a temporary file in the
// same directory gets the bytes, mode and owner, is synced, and is renamed
// over path. A symbolic link is followed, so its target is replaced.
func installFile(path string, data []byte, meta BackupFile) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pfaudit-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := setMeta(name, meta); err != nil {
		os.Remove(name)
		return err
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func setMeta(path string, f BackupFile) error {
	if err := os.Chmod(path, f.Mode.Perm()|f.Mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	if err := chown(path, f.UID, f.GID); err != nil {
		return err
	}
	if !f.ModTime.IsZero() {
		return os.Chtimes(path, f.ModTime, f.ModTime)
	}
	return nil
}

func writeSynced(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // not every file system syncs directories
	return nil
}

// ListBackups returns the backups of configDir under root, oldest first.
func ListBackups(root, configDir string) ([]*Backup, error) {
	base := filepath.Join(root, dirKey(configDir))
	ents, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return []*Backup{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []*Backup{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := readBackup(filepath.Join(base, e.Name()))
		if err != nil {
			continue // a backup interrupted before its manifest: nothing was changed
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *Backup) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func readBackup(dir string) (*Backup, error) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	b := &Backup{}
	if err := json.Unmarshal(data, b); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	b.dir = dir
	return b, nil
}
