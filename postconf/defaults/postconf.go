package defaults

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Errors FromPostconf wraps, for errors.Is.
var (
	// ErrNotFound: the postconf binary does not exist or is not executable.
	ErrNotFound = errors.New("postconf not found")
	// ErrTimeout: postconf did not finish within the timeout.
	ErrTimeout = errors.New("postconf timed out")
	// ErrFailed: postconf exited with an error status.
	ErrFailed = errors.New("postconf failed")
	// ErrBadOutput: postconf's output is not a `postconf -d` listing.
	ErrBadOutput = errors.New("unexpected postconf output")
	// ErrInterrupted: the caller's context ended (a signal, a deadline)
	// while postconf ran. Unlike the errors above it is no reason to fall
	// back to the built-in table: the run itself is over.
	ErrInterrupted = errors.New("interrupted")
)

// DefaultTimeout bounds one postconf run when the caller gives none.
// postconf -d takes about 20 ms; ten seconds leave room for a loaded host
// (or a slow NSS setup) while keeping a wedged binary from stalling an
// audit.
const DefaultTimeout = 10 * time.Second

// maxOutput caps what is read from postconf: 3.7's listing is about 50 KB.
// A binary that floods stdout is not postconf.
const maxOutput = 8 << 20

// maxLine caps one line of postconf output; the longest 3.7 default
// (proxy_read_maps) has about 2 KB.
const maxLine = 1 << 20

// legacyNames are registered by postconf_builtin.c as legacy parameters:
// `postconf -d name` answers for them but the full listing does not print
// them. The renamed 3.6 names (postscreen_blacklist_action, ...) are found
// through the defaults that still reference them.
var legacyNames = []string{
	"authorized_verp_clients",
	"fallback_relay",
	"smtpd_client_connection_limit_exceptions",
	"virtual_maps",
}

// FromPostconf runs `postconf -c SCRATCH -d` with the given binary
// (postconfPath "" means "postconf" from $PATH) and returns its answer.
// SCRATCH is an empty temporary configuration directory: with the host's
// real master.cf postconf would add service-derived names (bsmtp_*,
// scalemail-backend_*, ...), which depend on a configuration, not on the
// version. A second run asks for the names postconf knows but does not list
// (legacy and renamed parameters, see Set.Known).
//
// No shell is involved. timeout bounds each run (DefaultTimeout when <= 0);
// on expiry the process group is killed and the error wraps ErrTimeout. A
// missing binary wraps ErrNotFound, an error exit ErrFailed (with postconf's
// stderr), output that is not a postconf listing ErrBadOutput (with the
// offending line).
func FromPostconf(ctx context.Context, postconfPath string, timeout time.Duration) (*Set, error) {
	if postconfPath == "" {
		postconfPath = "postconf"
	}
	path, err := exec.LookPath(postconfPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFound, postconfPath, err)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dir, err := scratchDir()
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	out, stderr, err := runPostconf(ctx, path, timeout, "-c", dir, "-d")
	if err != nil {
		return nil, err
	}
	s := newSet()
	s.Source = SourcePostconf
	s.Path = path
	src := diag.Pos{File: "postconf -d output"}
	err = scanLines(out, maxLine, func(n int, line string) error {
		name, value, err := splitLine(line)
		if err == nil {
			err = s.add(name, value, true)
		}
		if err != nil {
			pos := src
			pos.Line = n
			return fmt.Errorf("%w: %w", ErrBadOutput, &diag.Error{Pos: pos, Msg: err.Error(), Text: line})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s -d: %w", path, err)
	}
	if err := s.finish(); err != nil {
		return nil, fmt.Errorf("%s -d: %w", path, err)
	}
	s.Warnings = warningLines(stderr)

	if err := s.addHidden(ctx, path, timeout, dir); err != nil {
		return nil, err
	}
	return s, nil
}

// refPattern finds $name, ${name and $(name references in default values.
var refPattern = lazyRegexp(`\$[{(]?([A-Za-z0-9_]+)`)

// addHidden asks postconf, by name, for the legacy names and for names that
// listed defaults reference but the listing lacks. postconf prints those it
// knows and warns "unknown parameter" about the rest ($home, $rbl_code and
// the like are local(8) and RBL reply macros, not parameters).
func (s *Set) addHidden(ctx context.Context, path string, timeout time.Duration, dir string) error {
	cand := map[string]bool{}
	for _, n := range legacyNames {
		cand[n] = true
	}
	for _, n := range s.names {
		v, _ := s.get(n)
		for _, m := range refPattern().FindAllStringSubmatch(v, -1) {
			cand[m[1]] = true
		}
	}
	var ask []string
	for n := range cand {
		if _, ok := s.get(n); !ok {
			ask = append(ask, n)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	slices.Sort(ask)
	args := append([]string{"-c", dir, "-d"}, ask...)
	out, _, err := runPostconf(ctx, path, timeout, args...)
	if err != nil {
		return err
	}
	src := diag.Pos{File: "postconf -d NAME... output"}
	err = scanLines(out, maxLine, func(n int, line string) error {
		name, value, err := splitLine(line)
		if err == nil && !cand[name] {
			err = fmt.Errorf("parameter %s was not asked for", name)
		}
		if err == nil {
			err = s.add(name, value, false)
		}
		if err != nil {
			pos := src
			pos.Line = n
			return fmt.Errorf("%w: %w", ErrBadOutput, &diag.Error{Pos: pos, Msg: err.Error(), Text: line})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s -d NAME...: %w", path, err)
	}
	slices.Sort(s.names)
	return nil
}

// scratchDir makes an empty configuration directory. postconf needs an
// absolute -c path (a relative one makes it exit 1 without a message).
func scratchDir() (string, error) {
	dir, err := os.MkdirTemp("", "pfaudit-postconf-")
	if err != nil {
		return "", fmt.Errorf("postconf scratch directory: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", fmt.Errorf("postconf scratch directory: %w", err)
	}
	// Postfix waits for a main.cf younger than a few seconds to settle (an
	// editor may still be writing it); backdated files spare that pause.
	old := time.Now().Add(-time.Minute)
	for _, f := range []string{"main.cf", "master.cf"} {
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("postconf scratch directory: %w", err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("postconf scratch directory: %w", err)
		}
	}
	return dir, nil
}

// runPostconf runs the binary without a shell and returns stdout and stderr.
func runPostconf(parent context.Context, path string, timeout time.Duration, args ...string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	// MAIL_CONFIG would be overridden by -c anyway; drop it so that nothing
	// of the caller's environment points postconf at a real configuration.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAIL_CONFIG=")
	})
	cmd.Stdin = nil
	var out, errb limitedBuffer
	out.max, errb.max = maxOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &out, &errb
	setProcessGroup(cmd)
	// If a grandchild keeps the pipes open after the kill, stop waiting for
	// it instead of hanging.
	cmd.WaitDelay = 500 * time.Millisecond

	runErr := cmd.Run()
	what := path + " " + strings.Join(args, " ")
	switch {
	case parent.Err() != nil:
		// The caller's end, not postconf's: checked first, so that a
		// caller's deadline is not taken for postconf being slow.
		return nil, nil, interrupted(parent, what)
	case ctx.Err() == context.DeadlineExceeded:
		return nil, nil, fmt.Errorf("%w after %v: %s", ErrTimeout, timeout, what)
	case ctx.Err() != nil:
		return nil, nil, fmt.Errorf("%s: %w", what, ctx.Err())
	case out.overflow:
		return nil, nil, fmt.Errorf("%w: %s: more than %d bytes of output", ErrBadOutput, what, maxOutput)
	case runErr != nil:
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			msg := strings.TrimSpace(errb.String())
			if msg == "" {
				msg = "no message"
			}
			return nil, nil, fmt.Errorf("%w: %s: %v: %s", ErrFailed, what, runErr, diag.Shorten(msg))
		}
		if errors.Is(runErr, os.ErrNotExist) || errors.Is(runErr, os.ErrPermission) {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrNotFound, path, runErr)
		}
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrFailed, what, runErr)
	}
	return out.Bytes(), errb.Bytes(), nil
}

// limitedBuffer keeps at most max bytes and notes that more were offered.
// It never returns a write error: postconf must not die of SIGPIPE while we
// decide what to report.
// The buffer is a field, not embedded: an embedded bytes.Buffer would lend
// its ReadFrom to io.Copy, which would then bypass the limit.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte  { return b.buf.Bytes() }
func (b *limitedBuffer) String() string { return b.buf.String() }

var _ io.Writer = (*limitedBuffer)(nil)

func warningLines(stderr []byte) []string {
	var w []string
	for _, l := range strings.Split(strings.TrimSpace(string(stderr)), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			w = append(w, l)
		}
	}
	return w
}

// postconfLocations are tried after $PATH: root's PATH has /usr/sbin, a
// user's often does not.
var postconfLocations = []string{"/usr/sbin/postconf", "/usr/local/sbin/postconf"}

// FindPostconf returns the postconf binary Detect would use: "postconf" in
// $PATH, else /usr/sbin/postconf or /usr/local/sbin/postconf.
func FindPostconf() (string, error) {
	if p, err := exec.LookPath("postconf"); err == nil {
		return p, nil
	}
	for _, p := range postconfLocations {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w in $PATH or %s", ErrNotFound, strings.Join(postconfLocations, ", "))
}

// interrupted is the error for a caller's context that ended during what.
func interrupted(ctx context.Context, what string) error {
	err := ctx.Err()
	if c := context.Cause(ctx); c != nil && c != err {
		return fmt.Errorf("%w: %s: %w (%v)", ErrInterrupted, what, err, c)
	}
	return fmt.Errorf("%w: %s: %w", ErrInterrupted, what, err)
}

// Detect returns the installed Postfix's defaults when postconf is found and
// answers within DefaultTimeout, and the built-in table otherwise:
// Set.Source says which answer it is, and Set.Reason why the built-in table
// was used. It fails only when ctx ends first (an error wrapping
// ErrInterrupted and ctx's error): an interrupted run must stop, not go on
// quietly with the built-in table in place of the installed Postfix's.
func Detect(ctx context.Context) (*Set, error) {
	return detect(ctx, FindPostconf, DefaultTimeout)
}

func detect(ctx context.Context, find func() (string, error), timeout time.Duration) (*Set, error) {
	fallback := func(why string) (*Set, error) {
		if ctx.Err() != nil {
			// "postconf missing" and "postconf failed" fall back;
			// "cancelled" does not, however the failure was worded.
			return nil, interrupted(ctx, "postconf -d")
		}
		b := *Builtin()
		b.Reason = why + "; using the built-in defaults of Postfix " + BuiltinVersion
		return &b, nil
	}
	path, err := find()
	if err != nil {
		return fallback(err.Error())
	}
	s, err := FromPostconfCached(ctx, path, timeout)
	if err != nil {
		return fallback(err.Error())
	}
	if ctx.Err() != nil {
		// A cached answer's host-derived values were recomputed under a
		// context that ended: they may be the cache's, not this host's.
		return nil, interrupted(ctx, "postconf -d")
	}
	return s, nil
}
