package fleet

import (
	"container/list"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/pfaudit/pfaudit/audit/render"
)

// key identifies an effective configuration: a SHA-256 over the host's
// inputs with every host-specific path left out (see load.go).
type key [32]byte

// analysis is one configuration's audit, computed for the host directory
// base; other hosts with the same key get it rebased to their directory.
type analysis struct {
	done chan struct{}
	base string
	rep  *render.Report
	err  string // why the configuration could not be read ("" when rep is set)

	// The output format's rendering of rep (a run has one format), made
	// once and shared by every host with this configuration: renderers
	// are slower than the analysis lookup, and a fleet is repetitive.
	renderOnce sync.Once
	rendered   []byte
	renderErr  error
}

// cache holds the analyses of recent configurations. Concurrent requests
// for one key wait for the first (single flight). It is bounded: a fleet
// of 10,000 distinct hosts must not hold 10,000 reports, so the least
// recently used finished analyses are dropped beyond max.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[key]*list.Element // value: *cacheEntry
	lru     *list.List
	// analysed counts the analyses actually run (the distinct
	// configurations, unless the cache evicted some that came back).
	analysed int
}

type cacheEntry struct {
	k key
	a *analysis
}

func newCache(max int) *cache {
	if max < 1 {
		max = 1
	}
	return &cache{max: max, entries: map[key]*list.Element{}, lru: list.New()}
}

// get returns the analysis for k, running compute (once, in the calling
// goroutine) when nobody has; shared reports whether it came from another
// host.
func (c *cache) get(k key, base string, compute func() (*render.Report, error)) (a *analysis, shared bool) {
	c.mu.Lock()
	if el, ok := c.entries[k]; ok {
		c.lru.MoveToFront(el)
		a := el.Value.(*cacheEntry).a
		c.mu.Unlock()
		<-a.done
		return a, true
	}
	a = &analysis{done: make(chan struct{}), base: base}
	c.entries[k] = c.lru.PushFront(&cacheEntry{k: k, a: a})
	c.analysed++
	c.evict()
	c.mu.Unlock()

	func() {
		defer close(a.done)
		defer func() {
			// A bug tripped by one configuration becomes that
			// configuration's error, for every host that has it.
			if p := recover(); p != nil {
				a.rep, a.err = nil, fmt.Sprintf("internal error auditing %s: %v\n%s", base, p, debug.Stack())
			}
		}()
		rep, err := compute()
		if err != nil {
			a.err = err.Error()
			return
		}
		a.rep = rep
	}()
	return a, false
}

// evict drops finished entries from the back while over the bound. An
// entry still being computed stays (its waiters hold it anyway).
func (c *cache) evict() {
	for el := c.lru.Back(); el != nil && c.lru.Len() > c.max; {
		prev := el.Prev()
		e := el.Value.(*cacheEntry)
		select {
		case <-e.a.done:
			c.lru.Remove(el)
			delete(c.entries, e.k)
		default:
		}
		el = prev
	}
}
