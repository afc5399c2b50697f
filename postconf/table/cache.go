package table

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Tables read from files are kept for the life of the process, keyed by
// the file's identity (device, inode, size, modification time): an audit
// opens the same tables from every listener's model and again for every
// fix it verifies, and a fleet opens the same file from many hosts. A
// file that changes gets a new key. issue 8: "each table loaded once".

// cacheBudget bounds the bytes of source text the cached tables were read
// from; past it the cache starts over (tables are at most
// DefaultMaxFileSize each).
const cacheBudget = 256 << 20

// racyWindow: files modified more recently are not cached.
const racyWindow = 2 * time.Second

var cache = struct {
	sync.Mutex
	m     map[string]Table
	bytes int64
}{m: map[string]Table{}}

// fileBacked are the types whose content is a file pfaudit reads.
func fileBacked(typ string) bool {
	switch typ {
	case "cidr", "regexp", "pcre", "texthash":
		return true
	}
	_, ok := dbSuffix[typ]
	return ok
}

// cacheKey identifies a file-backed table: everything open depends on.
// ok is false when the table is not to be cached (an fs.FS, a file that
// cannot be stat'ed: opening it reports why).
func cacheKey(spec, typ, name string, at diag.Pos, opt Options) (key string, size int64, ok bool) {
	if opt.FS != nil {
		return "", 0, false
	}
	id := func(n string) (string, int64, bool) {
		st, err := statSource(n, opt)
		if err != nil {
			if n != name {
				// A missing database: openIndexed warns, keyed below by
				// its absence.
				return "-", 0, true
			}
			return "", 0, false
		}
		if time.Since(st.ModTime()) < racyWindow {
			// Modification times are coarse: a file rewritten with the
			// same size within a clock tick keeps its key. A file that
			// recent is read every time (git's "racy" entries).
			return "", 0, false
		}
		dev, ino := fileID(st)
		return fmt.Sprintf("%d:%d:%d:%d:%o", dev, ino, st.Size(), st.ModTime().UnixNano(), st.Mode()), st.Size(), true
	}
	src, size, ok := id(name)
	if !ok {
		return "", 0, false
	}
	db := ""
	if sfx, indexed := dbSuffix[typ]; indexed {
		if db, _, ok = id(name + sfx); !ok {
			return "", 0, false
		}
	}
	key = strings.Join([]string{spec, at.String(), opt.Root, opt.Dir, fmt.Sprint(opt.Live, opt.NoFoldFix, opt.MaxFileSize), src, db}, "\x00")
	return key, size, true
}

func cached(key string) Table {
	cache.Lock()
	defer cache.Unlock()
	return cache.m[key]
}

func keep(key string, t Table, size int64) {
	cache.Lock()
	defer cache.Unlock()
	if cache.bytes+size > cacheBudget {
		clear(cache.m)
		cache.bytes = 0
	}
	cache.m[key] = t
	cache.bytes += size
}
