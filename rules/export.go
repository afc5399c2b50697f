package rules

import "github.com/pfaudit/pfaudit/audit/relay"

// Exported entry points for `pfaudit fix` (package audit/fix), which
// applies the same commands to the files that Run verified in memory.

// ShellWords splits one remediation command into its words the way a
// POSIX shell splits the commands pfaudit writes (quotes, backslashes); a
// command that needs more of the shell (;, &, |, $, ...) is an error.
func ShellWords(cmd string) ([]string, error) { return shellWords(cmd) }

// CompareAnalyses returns why the analyses after a fix are worse than the
// ones before it, or "": a listener became broken or more open for
// untrusted clients, or a trusted client (this host, mynetworks, an
// authenticated client) that relayed before no longer does. mynet says the
// fix narrows mynetworks on purpose, so mynetworks clients other than this
// host may lose their trust. It is the check every remediation passed in
// memory before Run printed it.
func CompareAnalyses(before, after []*relay.Analysis, mynet bool) string {
	return compareAnalyses(before, after, mynet)
}
