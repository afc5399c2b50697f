package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/rules"
)

// Every edit is made on a staged copy first: the files the commands touch
// are copied into a private temporary directory, the commands run there
// (the real postconf(1) with -c STAGE, so the result is byte for byte what
// Postfix itself would write, comments, order and continuation lines
// included), and the staged files are what the plan's diffs show and what
// --apply installs. The configuration directory is only ever changed by
// renaming a complete file over the old one.

// stage is a staged copy of a configuration directory.
type stage struct {
	dir  string // the configuration directory
	root string // the staging directory
	// orig are the files copied in, by path relative to dir, with their
	// original bytes (nil: the file did not exist).
	orig map[string][]byte
	// warnings are what postconf and postmap said on standard error.
	warnings []string
	tools    Tools
}

// Tools are the Postfix programs fix runs. An empty path is looked up in
// PATH and the sbin directories; BuiltinEditor makes the postconf edits
// with pfaudit's own editor (edit.go) even when postconf is installed.
type Tools struct {
	Postconf, Postmap, Postfix string
	BuiltinEditor              bool
}

// lookTool finds a Postfix program: the configured path, else PATH, else
// the sbin directories a root shell has but a service's PATH may lack.
func lookTool(configured, name string) string {
	if configured != "" {
		return configured
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func newStage(dir string, tools Tools) (*stage, error) {
	root, err := os.MkdirTemp("", "pfaudit-fix-")
	if err != nil {
		return nil, err
	}
	s := &stage{dir: dir, root: root, orig: map[string][]byte{}, tools: tools}
	for _, name := range []string{"main.cf", "master.cf"} {
		if err := s.bring(name); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *stage) close() { _ = os.RemoveAll(s.root) }

// bring copies dir/rel into the stage once (a missing file stays missing).
func (s *stage) bring(rel string) error {
	if _, ok := s.orig[rel]; ok {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(s.dir, rel))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.orig[rel] = nil
		return nil
	case err != nil:
		return err
	}
	s.orig[rel] = b
	dst := filepath.Join(s.root, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}

// inside maps a file the commands name to its path relative to the
// configuration directory; files elsewhere are refused.
func (s *stage) inside(p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("%s: not an absolute path", p)
	}
	rel, err := filepath.Rel(s.dir, filepath.Clean(p))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is outside %s: pfaudit fix only edits files in the configuration directory", p, s.dir)
	}
	return rel, nil
}

// run applies one remediation command to the stage.
func (s *stage) run(ctx context.Context, cmd string) error {
	w, err := rules.ShellWords(cmd)
	if err != nil {
		return fmt.Errorf("%s: %v", cmd, err)
	}
	if len(w) == 0 {
		return nil
	}
	prog, args := w[0], w[1:]
	if prog == "postconf" || prog == "postmap" {
		dir := rules.DefaultConfigDir
		if len(args) >= 2 && args[0] == "-c" {
			dir, args = args[1], args[2:]
		}
		if filepath.Clean(dir) != s.dir {
			return fmt.Errorf("%s: edits %s, not %s", cmd, dir, s.dir)
		}
	}
	switch prog {
	case "touch":
		if len(args) != 1 {
			return fmt.Errorf("%s: want one file", cmd)
		}
		rel, err := s.inside(args[0])
		if err != nil {
			return fmt.Errorf("%s: %v", cmd, err)
		}
		if err := s.bring(rel); err != nil {
			return err
		}
		if s.orig[rel] == nil {
			p := filepath.Join(s.root, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				return err
			}
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				// Created as touch(1) would: 0644 under root's umask 022.
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					return err
				}
			}
		}
		return nil
	case "postmap":
		if len(args) != 1 || strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("%s: pfaudit fix runs postmap on one file only", cmd)
		}
		table := args[0]
		typ := ""
		if t, f, ok := strings.Cut(table, ":"); ok && !strings.Contains(t, "/") {
			typ, table = t+":", f
		}
		rel, err := s.inside(table)
		if err != nil {
			return fmt.Errorf("%s: %v", cmd, err)
		}
		if err := s.bringTable(rel); err != nil {
			return err
		}
		bin := lookTool(s.tools.Postmap, "postmap")
		if bin == "" {
			return fmt.Errorf("%s: postmap is not installed", cmd)
		}
		return s.exec(ctx, cmd, bin, "-c", s.root, typ+filepath.Join(s.root, rel))
	case "postconf":
		if len(args) < 2 {
			return fmt.Errorf("%s: no edit", cmd)
		}
		bin := lookTool(s.tools.Postconf, "postconf")
		if bin == "" || s.tools.BuiltinEditor {
			return s.edit(args[0], args[1:])
		}
		if err := s.terminateLines(); err != nil {
			return err
		}
		return s.exec(ctx, cmd, bin, append([]string{"-c", s.root}, args...)...)
	}
	return fmt.Errorf("%s: pfaudit fix does not run %q", cmd, prog)
}

// terminateLines ends the staged main.cf and master.cf with a newline.
// Postfix 3.7's postconf appends a new setting or entry right after the
// last byte, so on a file without a final newline "myhostname = x" and
// "disable_vrfy_command = yes" become one line (TestPostconfFinalNewline).
func (s *stage) terminateLines() error {
	for _, name := range []string{"main.cf", "master.cf"} {
		p := filepath.Join(s.root, name)
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 || b[len(b)-1] == '\n' {
			continue
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// bringTable stages a table's source and the indexed files postmap may
// write next to it (postmap(1): FILE.db for hash and btree, .lmdb, .cdb,
// .dir/.pag for dbm).
func (s *stage) bringTable(rel string) error {
	for _, ext := range []string{"", ".db", ".lmdb", ".cdb", ".dir", ".pag"} {
		if err := s.bring(rel + ext); err != nil {
			return err
		}
	}
	return nil
}

// exec runs a Postfix program on the stage, without the MAIL_* variables
// that would point it at another configuration.
func (s *stage) exec(ctx context.Context, what, bin string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, args...)
	c.Env = cleanEnv()
	var stderr bytes.Buffer
	c.Stderr, c.Stdout = &stderr, &stderr
	c.WaitDelay = 5 * time.Second
	err := c.Run()
	msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), s.root, s.dir))
	if err != nil {
		return fmt.Errorf("%s: %v: %s", what, err, msg)
	}
	for _, line := range strings.Split(msg, "\n") {
		if line == "" {
			continue
		}
		// postconf -P on an entry that does not exist only warns
		// ("unmatched service_name/type") and exits 0: the edit did
		// nothing, so it is a failure here.
		if strings.Contains(line, "unmatched") || strings.Contains(line, "fatal") {
			return fmt.Errorf("%s: %s", what, line)
		}
		if !slices.Contains(s.warnings, line) {
			s.warnings = append(s.warnings, line)
		}
	}
	return nil
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAIL_") {
			env = append(env, kv)
		}
	}
	return env
}

// edit makes a postconf edit with pfaudit's own editor, for hosts without
// the postconf binary.
func (s *stage) edit(op string, args []string) error {
	file := "main.cf"
	if strings.HasPrefix(op, "-P") || strings.HasPrefix(op, "-M") {
		file = "master.cf"
	}
	p := filepath.Join(s.root, file)
	b, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, a := range args {
		if b, err = editConfig(file, b, op, a); err != nil {
			return fmt.Errorf("postconf %s %s: %v", op, a, err)
		}
	}
	return os.WriteFile(p, b, 0o600)
}

// Change is one file the fix writes.
type Change struct {
	// Path is the file's absolute path in the configuration directory.
	Path string `json:"path"`
	// Created is true for a file that does not exist yet.
	Created bool `json:"created"`
	// Binary marks an indexed table (postmap output): no diff is shown.
	Binary bool `json:"binary"`
	// Diff is the unified diff from the current to the new content.
	Diff string `json:"diff"`

	content []byte
}

// changes lists the staged files whose bytes differ from the real ones,
// in path order.
func (s *stage) changes() ([]Change, error) {
	var out []Change
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(s.root, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		old, known := s.orig[rel]
		if !known {
			// Written by postmap next to a table without being asked
			// for: compare with whatever is there.
			old, _ = os.ReadFile(filepath.Join(s.dir, rel))
		}
		if old != nil && bytes.Equal(old, b) {
			return nil
		}
		real := filepath.Join(s.dir, rel)
		c := Change{Path: real, Created: old == nil, content: b}
		if isBinary(b) || isBinary(old) {
			c.Binary = true
		} else {
			c.Diff = unifiedDiff(real, string(old), string(b), old == nil)
		}
		out = append(out, c)
		return nil
	})
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}

func isBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
