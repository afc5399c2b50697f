package table

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// fixedTable holds exact keys: texthash:, and hash:/btree:/lmdb:/cdb:/
// dbm:/sdbm: read from the text file postmap(1) builds them from.
type fixedTable struct {
	spec    string
	typ     string
	entries map[string]fixedEntry
	// small holds the entries instead of entries when there are few (an
	// inline: table), in order: a map costs half a kilobyte even for one
	// entry, and a restriction list can name a million inline tables.
	small []smallEntry
	fold  bool // fold lookup keys (DICT_FLAG_FOLD_FIX)
	errs  []*diag.Error
	warns []diag.Warning
}

type fixedEntry struct {
	value string
	pos   diag.Pos
}

type smallEntry struct {
	key string
	fixedEntry
}

// maxSmall is the most entries fixedTable.small holds.
const maxSmall = 8

// set stores key = value; the last value of a key wins (dict_ht update).
func (t *fixedTable) set(key string, e fixedEntry) {
	if t.entries == nil {
		for i := range t.small {
			if t.small[i].key == key {
				t.small[i].fixedEntry = e
				return
			}
		}
		if len(t.small) < maxSmall {
			t.small = append(t.small, smallEntry{key, e})
			return
		}
		t.entries = make(map[string]fixedEntry, 2*maxSmall)
		for _, s := range t.small {
			t.entries[s.key] = s.fixedEntry
		}
		t.small = nil
	}
	t.entries[key] = e
}

// Values returns the results in file order.
func (t *fixedTable) Values() []string {
	if t.entries == nil {
		out := make([]string, len(t.small))
		for i, e := range t.small {
			out[i] = e.value
		}
		return out
	}
	type kv struct {
		line  int
		value string
	}
	all := make([]kv, 0, len(t.entries))
	for _, e := range t.entries {
		all = append(all, kv{e.pos.Line, e.value})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].line < all[j].line })
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.value
	}
	return out
}

func (t *fixedTable) Spec() string             { return t.spec }
func (t *fixedTable) Type() string             { return t.typ }
func (t *fixedTable) Fixed() bool              { return true }
func (t *fixedTable) Errors() []*diag.Error    { return t.errs }
func (t *fixedTable) Warnings() []diag.Warning { return t.warns }

func (t *fixedTable) Lookup(key string) (Result, error) {
	if t.fold {
		key = ASCIILower(key)
	}
	if t.entries == nil {
		for _, e := range t.small {
			if e.key == key {
				return Result{Value: e.value, Found: true, Pos: e.pos}, nil
			}
		}
		return Result{}, nil
	}
	if e, ok := t.entries[key]; ok {
		return Result{Value: e.value, Found: true, Pos: e.pos}, nil
	}
	return Result{}, nil
}

// openIndexed reads hash:NAME and friends from NAME, the source postmap(1)
// compiles into NAME.db (NAME.lmdb, ...). postmap folds keys to lower case
// when it builds the database, so keys are folded here regardless of
// Options.NoFoldFix.
func openIndexed(spec, typ, name string, at diag.Pos, opt Options) (Table, error) {
	dbName := name + dbSuffix[typ]
	dbInfo, dbErr := statSource(dbName, opt)
	if dbErr != nil && errors.Is(dbErr, fs.ErrNotExist) && opt.Live {
		return nil, &diag.Error{Pos: at, Msg: fmt.Sprintf("open database %s: no such file or directory", dbName), Text: spec}
	}
	data, err := ReadFile(name, opt)
	if err != nil {
		reason := fmt.Sprintf("pfaudit reads %s tables from their source file %s, which cannot be read: %v", typ, name, err)
		var u *UnknownError
		if errors.As(err, &u) {
			reason = fmt.Sprintf("pfaudit reads %s tables from their source file: %s", typ, u.Reason)
		}
		return nil, &UnknownError{Spec: spec, Pos: at, Reason: reason, Err: err}
	}
	t := &fixedTable{spec: spec, typ: typ, fold: !opt.NoFoldFix}
	t.load(data, name, true)
	switch {
	case dbErr != nil:
		t.warns = append(t.warns, diag.Warning{Pos: at, Msg: fmt.Sprintf(
			"database %s is not available; lookups assume it was built from %s", dbName, name)})
	default:
		if srcInfo, err := statSource(name, opt); err == nil && srcInfo.ModTime().After(dbInfo.ModTime()) {
			t.warns = append(t.warns, diag.Warning{Pos: at, Msg: fmt.Sprintf(
				"source %s is newer than %s: Postfix uses the database, run \"postmap %s:%s\"", name, dbName, typ, name)})
		}
	}
	return t, nil
}

// openTexthash reads texthash:NAME (dict_thash.c). Keys are folded when the
// table is opened with DICT_FLAG_FOLD_FIX, as access maps and postmap -q do.
func openTexthash(spec, name string, at diag.Pos, opt Options) (Table, error) {
	data, err := readSource(spec, name, at, opt)
	if err != nil {
		return nil, err
	}
	t := &fixedTable{spec: spec, typ: "texthash", fold: !opt.NoFoldFix}
	t.load(data, name, !opt.NoFoldFix)
	return t, nil
}

// load parses postmap(1) input: "key whitespace value" on logical lines.
// The first of duplicate keys wins, with a warning, as with postmap.
func (t *fixedTable) load(data []byte, file string, foldKeys bool) {
	lines, warns := LogicalLines(data, file)
	t.warns = append(t.warns, warns...)
	t.entries = make(map[string]fixedEntry, len(lines))
	for _, ln := range lines {
		pos := diag.Pos{File: file, Line: ln.First}
		s := ln.Text
		i := 0
		for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' {
			i++
		}
		key := trimRightSpace(s[:i])
		value := ""
		if i < len(s) {
			value = trimSpace(s[i+1:])
		}
		if key == "" || value == "" {
			t.errs = append(t.errs, &diag.Error{Pos: pos, Msg: "expected format: key whitespace value", Text: s})
			continue
		}
		if key[len(key)-1] == ':' {
			t.warns = append(t.warns, diag.Warning{Pos: pos,
				Msg: "record is in \"key: value\" format; is this an alias file?"})
		}
		if foldKeys {
			key = ASCIILower(key)
		}
		if _, dup := t.entries[key]; dup {
			t.warns = append(t.warns, diag.Warning{Pos: pos, Msg: fmt.Sprintf("duplicate entry: %q", key)})
			continue
		}
		t.entries[key] = fixedEntry{value: value, pos: pos}
	}
}
