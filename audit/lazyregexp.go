package audit

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles pattern on first use, so that starting pfaudit
// compiles no regular expression the command does not need (issue 8:
// start-up no slower than postconf).
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
