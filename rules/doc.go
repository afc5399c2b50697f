// Package rules is pfaudit's rule set: a catalogue of checks (metadata in
// catalogue.toml, compiled into catalogue_gen.go by go generate, logic in small Go functions grouped by family
// in relay.go, exposure.go, auth.go and hygiene.go) run over a Postfix
// configuration and the relay analysis of its listeners, filtered and
// adjusted by an optional site policy (policy.go).
//
// Every Finding names the listener (postconf -M style, "" for main.cf-wide
// problems), the parameter, the file and line the value came from (a
// master.cf -o line for overrides, the main.cf line otherwise, line 0 for
// postconf dumps and built-in defaults) and copy-paste remediation commands
// computed from the actual values (postconf(1) -e, -X, -P, -PX, -M, -MX).
//
// Fixes that touch the same parameter are computed by one function from the
// current value (safeRelayList, cleanMynetworks, ...), so that every rule
// proposing a change to that parameter proposes the same command and the
// command list deduplicates cleanly.
package rules
