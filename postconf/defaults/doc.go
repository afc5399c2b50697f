// Package defaults knows Postfix's built-in main.cf parameters: their names
// and their default values, unexpanded, exactly as `postconf -d` prints them.
//
// A [Set] comes from one of two sources:
//
//   - [FromPostconf] runs the installed `postconf -d` (no shell, a timeout,
//     an empty scratch configuration directory so that the host's master.cf
//     adds no service-derived names). It is the authority for the installed
//     version.
//   - [Builtin] is the same answer recorded from Postfix 3.7.11 on Debian 12
//     (postconf-d.txt, regenerated with `go generate`), for auditing
//     collected dumps on a machine without Postfix.
//
// [Detect] picks the first that works and the Set says which one it is.
//
// Some defaults are not constants: myhostname, mydomain and mynetworks are
// computed from this host (gethostname, the network interfaces), and
// process_id/process_name describe the running process. [Derived] names
// them; the built-in Set holds a symbolic placeholder such as
// "<host: mynetworks>" for them, and [Set.Live] computes them the way
// Postfix does, from the settings they depend on (mynetworks_style,
// inet_interfaces, inet_protocols, mydomain).
//
// Several defaults depend on compatibility_level, e.g.
//
//	smtpd_relay_restrictions = ${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}
//
// [ResolveForLevel] evaluates such expressions for a given level, and
// [ParseLevel]/[Level.Compare] implement Postfix's numeric, per-component
// comparison of levels such as "3.6" (compat_level.c).
//
// [Curated] is a hand-written table of the parameters pfaudit's relay,
// SASL/TLS and exposure checks read, with the Postfix 3.7 default and the
// documentation that explains it; tests hold it equal to `postconf -d`.
//
// This package must not import package postconf (which imports it).
package defaults
