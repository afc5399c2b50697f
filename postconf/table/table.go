// Package table evaluates Postfix lookup tables from their source text, the
// way postmap(1) and the dict_* code of Postfix 3.7 read them.
//
// Supported offline (see the *_table(5) manual pages and postconf(5)):
//
//   - cidr:FILE and cidr:{{rule}, ...}      cidr_table(5): first match, IPv4 and
//     IPv6, optional [], "!pattern", if/endif blocks.
//   - regexp:FILE and regexp:{{rule}, ...}  regexp_table(5): POSIX regular
//     expressions translated to Go's RE2 syntax where the meaning is the same.
//   - pcre:FILE and pcre:{{rule}, ...}      pcre_table(5): likewise for PCRE.
//   - texthash:FILE                         read directly, postmap(1) format.
//   - hash:, btree:, lmdb:, cdb:, dbm:, sdbm: read from the source text file
//     beside the database (FILE, where the database is FILE.db, FILE.lmdb ...).
//   - inline:{key=value, {key = value}}     postconf(5) "inline:".
//   - static:VALUE and static:{VALUE}       postconf(5) "static:".
//   - proxy:TYPE:NAME                       transparently TYPE:NAME.
//   - pipemap:{...} and unionmap:{...}      when every member is readable.
//
// Three outcomes must stay apart, because callers decide relay on them:
//
//   - a lookup result (Result.Found true or false);
//   - *UnknownError: pfaudit cannot evaluate the table offline (ldap:, mysql:,
//     socketmap:, a database without its source file, a PCRE construct RE2
//     cannot express ...). Callers must treat the answer as unknown, never as
//     "not found";
//   - any other error: Postfix itself cannot use the table (bad inline syntax,
//     "unsupported dictionary type", fail:, a missing file on the live
//     system). Postfix then fails every lookup; smtpd answers 451 4.3.0 (or
//     4.3.5) "temporary lookup failure" for restrictions that consult it.
//
// Postfix skips a malformed rule in a cidr/regexp/pcre/hash source with a
// warning and keeps the rest of the table; Table.Errors lists those rules as
// *diag.Error with file:line and the text, in the order Postfix reports them.
//
// The behaviour is checked against postmap -q (Postfix 3.7.11 on Debian 12)
// by a differential test over generated tables. Opened tables are read-only
// and safe for concurrent use.
package table

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Table is one opened lookup table.
type Table interface {
	// Spec is the table as written, "type:name".
	Spec() string
	// Type is the dictionary type ("cidr", "hash", ...); for proxy:TYPE:NAME
	// it is TYPE.
	Type() string
	// Fixed reports whether keys are exact strings (hash, texthash, inline,
	// static ...) rather than patterns (cidr, regexp, pcre). Postfix looks up
	// parent domains only in fixed tables (match_ops.c match_hostname).
	Fixed() bool
	// Lookup returns the result for key. A non-nil error is either
	// *UnknownError (cannot be evaluated offline) or a Postfix lookup failure.
	Lookup(key string) (Result, error)
	// Errors lists the rules Postfix skips ("skipping this rule").
	Errors() []*diag.Error
	// Warnings lists other remarks Postfix would log while opening the table.
	Warnings() []diag.Warning
}

// Result is the answer of one lookup.
type Result struct {
	// Value is the lookup result. An empty Value with Found set is what
	// Postfix calls "empty string result is not allowed": access maps treat
	// it as a configuration error, match lists as a match.
	Value string
	Found bool
	// Pos is the file:line of the matching entry, when there is one.
	Pos diag.Pos
}

// DefaultMaxFileSize bounds how much of a table file is read.
const DefaultMaxFileSize = 64 << 20

// Options control how table files are found and read.
type Options struct {
	// FS, when set, serves every file: the absolute path /etc/postfix/x is
	// read as "etc/postfix/x" from FS. It takes precedence over Root.
	FS fs.FS
	// Root prefixes absolute paths, for an offline copy of a server's files.
	// Empty reads paths as they are.
	Root string
	// Dir is the directory Postfix resolves relative table names against.
	// Postfix daemons run in queue_directory, so callers pass that. Empty:
	// relative names cannot be evaluated (*UnknownError).
	Dir string
	// Live states that the files are the server's own (not a partial copy):
	// a missing file or database is then a Postfix failure rather than
	// unknown.
	Live bool
	// NoFoldFix opens tables the way match lists do (match_list.c): without
	// DICT_FLAG_FOLD_FIX, so inline:/texthash: keys keep their case and
	// lookups are exact. The zero value folds, as access maps and
	// postmap -q do.
	NoFoldFix bool
	// MaxFileSize caps the size of a file read; 0 means DefaultMaxFileSize.
	MaxFileSize int64
	// Cancel, when set, is polled while tables and lists are read (a
	// signal, a deadline): once it returns true, opening a table fails
	// with ErrInterrupted, an *UnknownError.
	Cancel func() bool
}

// Cancelled reports whether o.Cancel says reading must stop.
func (o Options) Cancelled() bool { return o.Cancel != nil && o.Cancel() }

// errInterrupted is the cause of the unknown answer of a table whose
// reading was stopped.
var errInterrupted = errors.New("reading interrupted")

// interruptedErr is the error of a table whose reading was stopped: its
// answers are unknown, never "not found".
func interruptedErr(spec string, at diag.Pos) error {
	return &UnknownError{Spec: spec, Pos: at, Reason: "reading was interrupted", Err: errInterrupted}
}

// Offline is an fs.FS for Options.FS that holds no file: every file a
// collected dump names is unknown, and the reason says how to supply the
// server's files.
var Offline fs.FS = offlineFS{}

// ErrOffline is the error Offline answers with.
var ErrOffline = errors.New("named by a collected dump: this host's file of that name says nothing about the server it came from (give --files-root DIR holding copies of the server's files)")

// ForFiles returns the Options that read files from root (a copy of a
// server's files; "" is this host), or from Offline when offline is set
// and no root is given.
func ForFiles(root string, offline bool) Options {
	switch {
	case root != "":
		return Options{Root: root}
	case offline:
		return Options{FS: Offline}
	}
	return Options{}
}

type offlineFS struct{}

func (offlineFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: "/" + name, Err: ErrOffline}
}

// UnknownError reports that a table, or one lookup in it, cannot be
// evaluated offline. Callers must treat the lookup as unknown.
type UnknownError struct {
	Spec   string
	Pos    diag.Pos
	Reason string
	Err    error
}

func (e *UnknownError) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Spec != "" {
		fmt.Fprintf(&b, "%s: ", diag.Shorten(e.Spec))
	}
	if errors.Is(e.Err, fs.ErrPermission) {
		// Not a limit of offline evaluation: this user may not read what
		// Postfix (opening tables as root) can.
		b.WriteString("permission denied (run pfaudit as root to read it): ")
	} else {
		b.WriteString("cannot be evaluated offline: ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

func (e *UnknownError) Unwrap() error { return e.Err }

// IsUnknown reports whether err is (or wraps) an *UnknownError.
func IsUnknown(err error) bool {
	var u *UnknownError
	return errors.As(err, &u)
}

// Types evaluated from their source text.
var (
	// dbSuffix maps indexed types to the database file postmap(1) writes.
	dbSuffix = map[string]string{
		"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb",
		"dbm": ".pag", "sdbm": ".pag",
	}
	// opaque are types Postfix 3.7 knows that need a server, a network or
	// the host's own state: they can only be unknown offline.
	opaque = map[string]string{
		"environ":   "the lookup reads the process environment of the Postfix daemon",
		"internal":  "internal tables exist only inside a running process",
		"ldap":      "LDAP lookups need the directory server",
		"memcache":  "memcache lookups need the server",
		"mongodb":   "MongoDB lookups need the server",
		"mysql":     "MySQL lookups need the database server",
		"netinfo":   "NetInfo lookups need the host's directory service",
		"nis":       "NIS lookups need the NIS server",
		"nisplus":   "NIS+ lookups need the NIS+ server",
		"pgsql":     "PostgreSQL lookups need the database server",
		"randmap":   "randmap returns a random member on each lookup",
		"socketmap": "socketmap lookups need the socketmap server",
		"sqlite":    "SQLite lookups read a binary database",
		"tcp":       "tcp lookups need the tcp_table server",
		"unix":      "unix: tables read the host's passwd/group database",
	}
)

// Open opens spec ("type:name") found at position at (where the spec is
// written, e.g. main.cf:12). See the package documentation for the meaning
// of the error kinds.
func Open(spec string, at diag.Pos, opt Options) (Table, error) {
	return open(spec, at, opt, 0)
}

// maxNesting bounds proxy:/pipemap:/unionmap: recursion.
const maxNesting = 20

func open(spec string, at diag.Pos, opt Options, depth int) (Table, error) {
	if depth > maxNesting {
		return nil, diag.Errorf(at, spec, "table nesting deeper than %d levels", maxNesting)
	}
	if opt.Cancelled() {
		return nil, interruptedErr(spec, at)
	}
	typ, name, ok := strings.Cut(spec, ":")
	if !ok || typ == "" || name == "" {
		// dict_open(): msg_fatal, the daemon exits.
		return nil, diag.Errorf(at, spec, "open dictionary: expecting \"type:name\" form")
	}
	if fileBacked(typ) {
		key, size, ok := cacheKey(spec, typ, name, at, opt)
		if ok {
			if t := cached(key); t != nil {
				return t, nil
			}
		}
		t, err := openFile(spec, typ, name, at, opt)
		if ok && err == nil {
			keep(key, t, size)
		}
		return t, err
	}
	switch typ {
	case "inline":
		return openInline(spec, name, at, opt)
	case "static":
		return openStatic(spec, name, at)
	case "fail":
		return &failTable{spec: spec, at: at}, nil
	case "proxy":
		t, err := open(name, at, opt, depth+1)
		if err != nil {
			return nil, err
		}
		return &proxyTable{Table: t, spec: spec}, nil
	case "pipemap", "unionmap":
		return openCompound(spec, typ, name, at, opt, depth)
	}
	if why, ok := opaque[typ]; ok {
		return nil, &UnknownError{Spec: spec, Pos: at, Reason: why}
	}
	if plausibleType(typ) {
		return nil, &UnknownError{Spec: spec, Pos: at, Reason: fmt.Sprintf(
			"dictionary type %q is not one pfaudit knows; Postfix fails every lookup unless a plug-in provides it", typ)}
	}
	// dict_open3(): a surrogate table whose lookups all fail.
	return nil, diag.Errorf(at, spec, "unsupported dictionary type: %s", typ)
}

// openFile opens a fileBacked table.
func openFile(spec, typ, name string, at diag.Pos, opt Options) (Table, error) {
	switch typ {
	case "cidr":
		return openCIDR(spec, name, at, opt)
	case "regexp", "pcre":
		return openPattern(spec, typ, name, at, opt)
	case "texthash":
		return openTexthash(spec, name, at, opt)
	}
	return openIndexed(spec, typ, name, at, opt)
}

// plausibleType tells a type name a plug-in might provide from text that is
// certainly no type, such as the "2001" of an unbracketed IPv6 network.
func plausibleType(t string) bool {
	hexOnly := true
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'f', c >= '0' && c <= '9':
		case c >= 'g' && c <= 'z', c == '_':
			hexOnly = false
		default:
			return false
		}
	}
	return !hexOnly
}

// readSource reads a table file the way Postfix would find it, bounded in
// size. Missing files are a Postfix failure on a live system and unknown on
// an offline copy.
func readSource(spec, name string, at diag.Pos, opt Options) ([]byte, error) {
	data, err := ReadFile(name, opt)
	if err == nil {
		return data, nil
	}
	if errors.Is(err, fs.ErrNotExist) && opt.Live {
		return nil, &diag.Error{Pos: at, Msg: fmt.Sprintf("open %s: no such file or directory", name), Text: spec}
	}
	var u *UnknownError
	if errors.As(err, &u) {
		u.Spec, u.Pos = spec, at
		return nil, u
	}
	return nil, &UnknownError{Spec: spec, Pos: at, Reason: err.Error(), Err: err}
}

// ReadFile reads the file Postfix knows as name, through opt.FS or opt.Root,
// refusing anything but a regular file and anything larger than
// opt.MaxFileSize. Relative names resolve against opt.Dir.
func ReadFile(name string, opt Options) ([]byte, error) {
	limit := opt.MaxFileSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	abs := name
	if !strings.HasPrefix(name, "/") {
		if opt.Dir == "" {
			return nil, &UnknownError{Reason: fmt.Sprintf(
				"relative file name %q: Postfix resolves it against the daemon's working directory (queue_directory)", name)}
		}
		abs = path.Join(opt.Dir, name)
	}
	if opt.FS != nil {
		rel := strings.TrimLeft(path.Clean(abs), "/")
		if rel == "" {
			rel = "."
		}
		st, err := fs.Stat(opt.FS, rel)
		if err != nil {
			return nil, err
		}
		if !st.Mode().IsRegular() {
			return nil, &UnknownError{Reason: fmt.Sprintf("%s is not a regular file", abs)}
		}
		f, err := opt.FS.Open(rel)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readLimited(f, abs, limit, st.Size(), opt)
	}
	host := abs
	if opt.Root != "" {
		host = filepath.Join(opt.Root, filepath.FromSlash(abs))
	}
	// Opening a FIFO would block, and /dev/zero never ends: safefile
	// opens without blocking and checks the open file.
	data, err := safefile.ReadFile(host, limit)
	var nr *safefile.NotRegularError
	var tl *safefile.TooLargeError
	switch {
	case errors.As(err, &nr):
		return nil, &UnknownError{Reason: fmt.Sprintf("%s is %s, not a regular file: refused", abs, safefile.Kind(nr.Mode)), Err: err}
	case errors.As(err, &tl):
		return nil, &UnknownError{Reason: fmt.Sprintf("%s is larger than the %s pfaudit reads of a table", abs, safefile.Size(limit)), Err: err}
	}
	return data, err
}

// readLimited reads at most limit+1 bytes of r in chunks, into a buffer
// sized from the file's size: a file of tens of megabytes costs no
// doubling copies, and opt.Cancel is asked between chunks so that a signal
// stops the reading.
func readLimited(r io.Reader, name string, limit, size int64, opt Options) ([]byte, error) {
	const chunk = 1 << 20
	data := make([]byte, 0, min(max(size, 512), limit)+1)
	lr := io.LimitReader(r, limit+1)
	for {
		if opt.Cancelled() {
			return nil, interruptedErr(name, diag.Pos{})
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := lr.Read(data[len(data):min(cap(data), len(data)+chunk)])
		data = data[:len(data)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(data)) > limit {
		return nil, &UnknownError{Reason: fmt.Sprintf("%s is larger than the %d byte limit pfaudit reads", name, limit)}
	}
	return data, nil
}

// statSource reports whether the file Postfix knows as name exists.
func statSource(name string, opt Options) (fs.FileInfo, error) {
	abs := name
	if !strings.HasPrefix(name, "/") {
		if opt.Dir == "" {
			return nil, fs.ErrNotExist
		}
		abs = path.Join(opt.Dir, name)
	}
	if opt.FS != nil {
		return fs.Stat(opt.FS, strings.TrimLeft(path.Clean(abs), "/"))
	}
	if opt.Root != "" {
		abs = filepath.Join(opt.Root, filepath.FromSlash(abs))
	}
	return os.Stat(abs)
}

// failTable is fail:NAME, whose lookups always fail (dict_fail.c).
type failTable struct {
	spec string
	at   diag.Pos
}

func (t *failTable) Spec() string             { return t.spec }
func (t *failTable) Type() string             { return "fail" }
func (t *failTable) Fixed() bool              { return true }
func (t *failTable) Errors() []*diag.Error    { return nil }
func (t *failTable) Warnings() []diag.Warning { return nil }
func (t *failTable) Lookup(string) (Result, error) {
	return Result{}, &diag.Error{Pos: t.at, Msg: "fail: table lookups always fail", Text: t.spec}
}

// proxyTable is proxy:TYPE:NAME: proxymap(8) performs the same lookup.
type proxyTable struct {
	Table
	spec string
}

func (t *proxyTable) Spec() string { return t.spec }

// Unwrap returns the proxied table.
func (t *proxyTable) Unwrap() Table { return t.Table }

// Values forwards to the proxied table.
func (t *proxyTable) Values() []string { return Values(t.Table) }

// Valuer is implemented by tables whose possible results are known: every
// readable table type of this package. Regexp and pcre tables report their
// result templates, $number references included.
type Valuer interface {
	Values() []string
}

// Values returns the results t can give, in table order, or nil when they
// are not known (t does not implement Valuer).
func Values(t Table) []string {
	if v, ok := t.(Valuer); ok {
		return v.Values()
	}
	return nil
}

// ASCIILower folds ASCII letters only, as Postfix's lowercase() does.
func ASCIILower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// isSpace is Postfix's ISSPACE (C isspace in the C locale).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// trimSpace trims Postfix ISSPACE characters from both ends.
func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func trimRightSpace(s string) string {
	j := len(s)
	for j > 0 && isSpace(s[j-1]) {
		j--
	}
	return s[:j]
}

func trimLeftSpace(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}
