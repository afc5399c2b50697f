// Package difftest generates random Postfix configurations (a main.cf and a
// master.cf) for differential tests of package postconf against the real
// postconf(1). Every case is a pure function of its seed, so a failure is
// reproduced from the seed alone.
//
// The generator aims at the rules a reader of Postfix configuration can get
// wrong (postconf(5) "SYNTAX", master(5), mac_expand(3)): continuation lines
// with comments and blank lines in between, a first line that starts with
// whitespace, duplicate assignments, CRLF line ends, '#' inside values, every
// $name expansion form including the {} conditionals and the relational
// operators with <level, user-defined parameters referenced from main.cf
// and from master.cf -o settings, smtpd_restriction_classes, chains of
// references (some deeper than Postfix's nesting limit of 100),
// self-reference, syntax errors, and master.cf services of every type with
// both -o forms. Most cases are valid: Postfix pauses for a second before it
// exits on a fatal error, so broken cases are kept rare.
package difftest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Case is one generated configuration.
type Case struct {
	Seed     uint64
	MainCF   string
	MasterCF string
	// Params are the names to ask for with -x: built-in names, the names
	// main.cf assigns, user-defined names (used, unused and undefined),
	// service-derived names, and names Postfix does not know.
	Params []string
	// Patterns are service[/type[/parameter]] requests for -M and -P.
	Patterns []string
	// Broken says that the generator inserted a deliberate error (Postfix
	// may still tolerate it).
	Broken bool
}

// Options tune the generator.
type Options struct {
	// Builtin are the parameter names Postfix knows (postconf -d); random
	// picks come from here in addition to a curated list.
	Builtin []string
	// ErrorRate is the probability that a case contains a deliberate error
	// (0 means the default, 0.08; negative means never).
	ErrorRate float64
}

// excluded are names whose value differs between any two processes
// (postconf -d prints its own pid and name), so no comparison can hold.
var excluded = map[string]bool{"process_id": true, "process_name": true}

// Excluded reports whether name is left out of comparisons (its value
// describes the process that prints it).
func Excluded(name string) bool { return excluded[name] }

// relayParams are the parameters pfaudit's checks read; the generator
// assigns them more often than others.
var relayParams = []string{
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_client_restrictions",
	"smtpd_helo_restrictions", "smtpd_sender_restrictions", "smtpd_data_restrictions",
	"relay_domains", "mydestination", "relayhost", "permit_mx_backup_networks",
	"smtpd_sasl_auth_enable", "smtpd_tls_auth_only", "smtpd_tls_security_level",
	"allow_untrusted_routing", "smtpd_authorized_xclient_hosts", "virtual_alias_domains",
	"virtual_mailbox_domains", "relay_recipient_maps", "transport_maps", "smtpd_banner",
	"alias_maps", "local_recipient_maps", "soft_bounce", "proxy_interfaces",
	"smtpd_sasl_type", "smtpd_sasl_path", "smtpd_milters", "non_smtpd_milters",
	"default_transport", "relay_transport", "header_checks", "myorigin",
	"smtpd_relay_before_recipient_restrictions", "allow_percent_hack", "swap_bangpath",
	"smtpd_helo_required", "disable_vrfy_command", "smtpd_delay_reject",
	"smtp_tls_security_level", "smtp_helo_name", "lmtp_lhlo_name", "notify_classes",
}

// leafParams are built-in parameters whose defaults reference nothing that
// could close a reference cycle; most references point at these or at
// names assigned later in the file.
var leafParams = []string{
	"mail_name", "mail_version", "queue_directory", "daemon_directory", "command_directory",
	"default_process_limit", "mail_owner", "smtpd_soft_error_limit", "mydomain", "myhostname",
	"mynetworks", "inet_interfaces", "compatibility_level", "config_directory", "relayhost",
	"myorigin", "mydestination", "smtpd_tls_security_level", "service_name",
}

// rawParams keep their $names unexpanded in postconf -x; the generator puts
// references in them on purpose.
var rawParams = []string{"luser_relay", "mailbox_command", "smtpd_reject_footer", "default_rbl_reply",
	"forward_path", "smtpd_expansion_filter"}

// legacyParams are names postconf knows but does not list; defaults of
// other parameters refer to some of them (virtual_alias_maps =
// $virtual_maps).
var legacyParams = []string{"virtual_maps", "fallback_relay", "authorized_verp_clients",
	"smtpd_client_connection_limit_exceptions", "postscreen_blacklist_action", "postscreen_dnsbl_whitelist_threshold"}

var words = []string{
	"permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination",
	"defer_unauth_destination", "reject", "permit", "reject_unknown_client_hostname",
	"check_client_access cidr:/etc/postfix/client.cidr", "hash:/etc/postfix/relay_domains",
	"texthash:/etc/postfix/x", "inline:{a.example=OK}", "static:ALL", "127.0.0.0/8",
	"[::1]/128", "!192.168.0.0/16", "10.0.0.0/8", "/etc/postfix/mynetworks", "example.com",
	".example.com", "yes", "no", "10s", "550", "0", "1", "42", "-", "a,b", "x#y", "# lan",
	"\"quoted text\"", "{braced}", "{a b}", "user@example.org", "[relay.example]:587",
	"smtp:[mx.example]", "lmtp:unix:private/dovecot-lmtp", "cidr:{{10.0.0.0/8 OK}}",
	"reject_rbl_client zen.spamhaus.org", "sleep 1", "3.6", "2", "a=b", "%", "?", ":", "(paren)",
}

// plainWords can stand in the unbraced operand of ${name?text}: no braces,
// no parentheses, no '$'.
var plainWords = []string{"permit_mynetworks", "reject", "yes", "no", "10s", "example.com", "a,b",
	"x#y", "127.0.0.0/8", "[::1]/128", "hash:/etc/postfix/x", "a=b", "?", ":", "a b", "$$", ""}

// special are the parameters with generators of their own: random values
// would make nearly every configuration fail (an unknown mynetworks_style
// or an unresolvable inet_interfaces host is fatal).
var special = map[string]bool{"compatibility_level": true, "mynetworks_style": true, "inet_interfaces": true,
	"inet_protocols": true, "mydomain": true, "myhostname": true, "mynetworks": true, "config_directory": true,
	"process_id": true, "process_name": true, "service_name": true, "smtpd_restriction_classes": true}

var compatLevels = []string{"0", "1", "2", "3.6", "3.7", "3.10", "3.6.1", "+2", " 3", "2147483648"}

var badLevels = []string{"3.", "abc", "", "3 ", "1.2147483648", "3.6.1.2", "-1"}

type gen struct {
	r       *rand.Rand
	o       Options
	broken  bool
	user    []string        // user-defined names of this case
	assign  []assignment    // main.cf assignments, in file order
	order   map[string]int  // name -> rank: references go to higher ranks
	cur     int             // rank of the value being generated
	plan    []service       // master.cf services beyond the standard ones
	std     []string        // standard master.cf lines in use
	known   map[string]bool // built-in names
	service []string        // master.cf service names
	keys    []string        // master.cf service name/type
	derived []string        // service-derived parameter names
	params  []string
}

type assignment struct {
	name, value string
}

// Generate returns the case for seed.
func Generate(seed uint64, o Options) Case {
	if o.ErrorRate == 0 {
		o.ErrorRate = 0.08
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), o: o,
		order: map[string]int{}, known: map[string]bool{}}
	for _, n := range o.Builtin {
		g.known[n] = true
	}
	g.broken = o.ErrorRate > 0 && g.r.Float64() < o.ErrorRate
	nUser := 1 + g.r.IntN(6)
	for i := 0; i < nUser; i++ {
		g.user = append(g.user, g.pick([]string{"mua_client_restrictions", "mua_sender_restrictions",
			"mua_relay_restrictions", "my_networks_extra", "my_level", "local_checks"})+fmt.Sprintf("_%d", i))
	}
	g.planServices()
	main := g.mainCF()
	master := g.masterCF()
	return Case{Seed: seed, MainCF: main, MasterCF: master, Params: g.queryParams(), Patterns: g.patterns(), Broken: g.broken}
}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// ---- main.cf ----

func (g *gen) mainCF() string {
	var names []string
	// Host-derived and level-dependent settings.
	if g.chance(0.5) {
		g.add("compatibility_level", g.level())
	}
	for _, p := range []struct {
		name string
		vals []string
		prob float64
	}{
		{"mynetworks_style", []string{"host", "subnet", "class", "$my_style", " host "}, 0.3},
		{"inet_interfaces", []string{"all", "loopback-only", "127.0.0.1", "127.0.0.1, [::1]", "localhost", "$my_if"}, 0.25},
		{"inet_protocols", []string{"all", "ipv4", "ipv6", "ipv4, ipv6"}, 0.25},
		{"mydomain", []string{"example.org", "sub.example.net", "$my_dom", "localdomain"}, 0.25},
		{"myhostname", []string{"mail", "mx.example.com", "$my_host", "mail.$mydomain", "host.${mydomain}"}, 0.25},
	} {
		if g.chance(p.prob) {
			v := g.pick(p.vals)
			g.add(p.name, v)
			if strings.Contains(v, "$my_") {
				ref := strings.TrimSpace(v[1:])
				g.add(ref, map[string]string{"my_style": g.pick([]string{"host", "subnet"}), "my_if": "loopback-only",
					"my_dom": "example.com", "my_host": "relay.example.com"}[ref])
			}
		}
	}
	if g.chance(0.35) {
		g.add("mynetworks", g.mynetworks())
	}
	for _, n := range relayParams {
		if g.chance(0.18) {
			names = append(names, n)
		}
	}
	for i := g.r.IntN(6); i > 0 && len(g.o.Builtin) > 0; i-- {
		n := g.pick(g.o.Builtin)
		if !special[n] {
			names = append(names, n)
		}
	}
	for _, n := range rawParams {
		if g.chance(0.06) {
			names = append(names, n)
		}
	}
	for _, n := range legacyParams {
		if g.chance(0.05) {
			names = append(names, n)
		}
	}
	for _, n := range names {
		g.add(n, "")
	}
	for _, n := range g.user {
		if g.chance(0.8) {
			g.add(n, "")
		}
	}
	if g.chance(0.3) {
		g.restrictionClasses()
	}
	if g.chance(0.2) {
		g.chain()
	}
	if g.chance(0.05) {
		g.add(g.pick([]string{"service_name", "process_name", "process_id"}), "ro")
	}
	if g.chance(0.05) {
		g.add("config_directory", "/elsewhere")
	}
	if g.chance(0.1) {
		g.add("foo-bar", "x") // not a name Postfix could use
	}
	if g.chance(0.15) { // a duplicate: the last assignment wins
		a := g.assign[g.r.IntN(len(g.assign))]
		v := a.value
		if !special[a.name] && !strings.HasPrefix(a.name, "chain") {
			v = g.value(1)
		}
		g.assign = append(g.assign, assignment{a.name, v})
	}
	g.rank()
	// Values are generated once all names are known, so that references
	// can point at names assigned anywhere in the file.
	for i, a := range g.assign {
		if a.value == "" {
			g.cur = g.order[a.name]
			g.assign[i].value = g.valueFor(a.name)
		}
	}
	if g.broken {
		g.breakMain()
	}
	return g.render(g.assign)
}

func (g *gen) add(name, value string) {
	g.assign = append(g.assign, assignment{name, value})
}

// rank orders the assigned names randomly; a reference from a name goes to
// a higher rank (or to a leaf), which keeps accidental cycles out.
func (g *gen) rank() {
	var names []string
	for _, a := range g.assign {
		if _, ok := g.order[a.name]; !ok {
			g.order[a.name] = 0
			names = append(names, a.name)
		}
	}
	g.r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for i, n := range names {
		g.order[n] = i + 1
	}
}

func (g *gen) level() string {
	if g.broken && g.chance(0.3) {
		return g.pick(badLevels)
	}
	switch g.r.IntN(8) {
	case 0:
		return "${{1} < {2} ? {3.6} : {2}}"
	case 1:
		g.add("my_level_src", g.pick(compatLevels[:6]))
		return "$my_level_src"
	}
	return g.pick(compatLevels)
}

func (g *gen) mynetworks() string {
	var parts []string
	for i := 1 + g.r.IntN(4); i > 0; i-- {
		parts = append(parts, g.pick([]string{"127.0.0.0/8", "[::1]/128", "[fe80::]/10", "10.0.0.0/8",
			"!10.1.0.0/16", "192.168.1.0/24", "/etc/postfix/mynetworks", "hash:/etc/postfix/network_table",
			"cidr:/etc/postfix/networks.cidr", "$my_networks_extra_0", "# lan", "host.example.com",
			"[2001:db8::]/32", "0.0.0.0/0"}))
	}
	return strings.Join(parts, g.pick([]string{" ", ", ", ",", "\t"}))
}

func (g *gen) restrictionClasses() {
	var classes []string
	for i := 1 + g.r.IntN(3); i > 0; i-- {
		c := fmt.Sprintf("rclass_%d", g.r.IntN(100))
		classes = append(classes, c)
		if g.chance(0.8) {
			g.add(c, "")
		}
	}
	g.add("smtpd_restriction_classes", strings.Join(classes, g.pick([]string{", ", " ", ","})))
	g.user = append(g.user, classes...)
	if g.chance(0.5) {
		// Use a class in a restriction list.
		g.add("smtpd_recipient_restrictions", "check_recipient_access inline:{x.example="+classes[0]+"}, reject_unauth_destination")
	}
}

// chain adds c1 = $c2, c2 = $c3, ..., cN = end and references c1 from a
// built-in parameter. Postfix stops at a nesting depth of 100, so chains
// near and beyond that length probe the limit.
func (g *gen) chain() {
	n := 2 + g.r.IntN(12)
	switch {
	case g.chance(0.15):
		n = 95 + g.r.IntN(12)
	case g.broken && g.chance(0.5):
		n = 101 + g.r.IntN(40)
	}
	id := g.r.IntN(1000)
	name := func(i int) string { return fmt.Sprintf("chain%d_%d", id, i) }
	for i := 1; i < n; i++ {
		form := g.pick([]string{"$%s", "${%s}", "$(%s)", "x $%s", "${%s?{$%[1]s}}", "${%s:never}$%[1]s"})
		g.assign = append(g.assign, assignment{name(i), fmt.Sprintf(form, name(i+1))})
	}
	g.assign = append(g.assign, assignment{name(n), "end"})
	g.assign = append(g.assign, assignment{g.pick([]string{"smtpd_banner", "relay_domains", "smtpd_client_restrictions", "header_checks"}), "$" + name(1)})
	g.user = append(g.user, name(1), name(n/2+1), name(n))
	// chain names must keep the order set by construction
	for i := 1; i <= n; i++ {
		g.order[name(i)] = -1
	}
}

// serviceDefaults are the parameters service-derived ones fall back to
// ($default_destination_concurrency_limit for relay_destination_...).
// They get plain values: postconf 3.7 expands a service-derived default
// from a static buffer that a nested conversion may overwrite, and then
// prints garbage (e.g. "3.6rency", the tail of
// "$initial_destination_concurrency").
var serviceDefaults = map[string]bool{"default_delivery_slot_cost": true, "default_delivery_slot_discount": true,
	"default_delivery_slot_loan": true, "default_destination_concurrency_failed_cohort_limit": true,
	"default_destination_concurrency_limit": true, "default_destination_concurrency_negative_feedback": true,
	"default_destination_concurrency_positive_feedback": true, "default_destination_rate_delay": true,
	"default_destination_recipient_limit": true, "default_extra_recipient_limit": true,
	"initial_destination_concurrency": true, "default_minimum_delivery_slots": true,
	"default_recipient_limit": true, "default_recipient_refill_delay": true, "default_recipient_refill_limit": true,
	"default_transport_rate_delay": true, "command_time_limit": true}

func (g *gen) valueFor(name string) string {
	switch name {
	case "smtpd_restriction_classes":
		return ""
	}
	if serviceDefaults[name] {
		return g.pick([]string{"1", "20", "0", "5s", "1000s", "yes"})
	}
	if strings.HasPrefix(name, "rclass_") {
		return g.pick([]string{"check_client_access cidr:/etc/postfix/c.cidr, reject", "permit_mynetworks, reject", "$mua_client_restrictions_0", "reject_unauth_destination"})
	}
	if slices.Contains(rawParams, name) {
		return g.pick([]string{"$user@other.example", "/usr/bin/procmail -a \"$EXTENSION\"", "\\c$myhostname $mail_name", "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}", "$home/.forward${recipient_delimiter}${extension}"})
	}
	return g.value(2)
}

// value builds a random parameter value of up to depth nested expressions.
func (g *gen) value(depth int) string {
	n := 1 + g.r.IntN(4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sep := g.pick([]string{" ", ", ", ",", "", "  ", "\t"})
			if g.chance(0.02) {
				// Blanks for readllines and split_nameval (isspace), but
				// not for mac_expand (" \t\r\n").
				sep = g.pick([]string{"\f", "\v", " \f "})
			}
			b.WriteString(sep)
		}
		b.WriteString(g.part(depth))
	}
	return strings.TrimSpace(b.String())
}

func (g *gen) part(depth int) string {
	k := g.r.IntN(100)
	if depth <= 0 && k >= 40 {
		k = g.r.IntN(40)
	}
	switch {
	case k < 35:
		return g.pick(words)
	case k < 40:
		return g.pick([]string{"$$", "$$name", "a$$b", "$${x}"})
	case k < 65:
		return g.ref()
	case k < 82:
		return g.cond(depth - 1)
	default:
		return g.relational(depth - 1)
	}
}

// refName picks a name to reference: mostly user-defined names and leaves,
// sometimes undefined or service-derived names.
func (g *gen) refName() string {
	for i := 0; i < 8; i++ {
		n := g.refCandidate()
		if r, ok := g.order[n]; !ok || r < 0 || r > g.cur {
			return n
		}
	}
	return fmt.Sprintf("undefined_%d", g.r.IntN(5))
}

func (g *gen) refCandidate() string {
	switch k := g.r.IntN(100); {
	case k < 40 && len(g.user) > 0:
		return g.pick(g.user)
	case k < 75:
		return g.pick(leafParams)
	case k < 85 && len(g.derived) > 0:
		return g.pick(g.derived)
	case k < 93:
		return fmt.Sprintf("undefined_%d", g.r.IntN(5))
	case k < 95:
		return g.pick(legacyParams)
	}
	return g.pick(relayParams)
}

func (g *gen) ref() string {
	n := g.refName()
	if strings.Contains(n, "-") {
		return "$" + n
	}
	return fmt.Sprintf(g.pick([]string{"$%s", "${%s}", "$(%s)", "${ %s }", "${%s }", "$%s.suffix"}), n)
}

func (g *gen) operand(depth int) string {
	if depth <= 0 || g.chance(0.5) {
		return g.pick([]string{"yes", "", "x", "a b", "{nested}", "$$", ","})
	}
	return g.value(depth)
}

func (g *gen) cond(depth int) string {
	n := g.refName()
	a, b := g.operand(depth), g.operand(depth)
	sp := func() string { return g.pick([]string{"", "", " ", "\t", "  "}) }
	plain := func() string {
		if g.chance(0.3) {
			return "$" + g.refName()
		}
		return g.pick(plainWords)
	}
	if strings.Contains(n, "-") {
		return "$" + n // only the bare form can reference such a name
	}
	switch g.r.IntN(7) {
	case 0:
		return "${" + n + "?" + plain() + "}"
	case 1:
		return "${" + n + ":" + plain() + "}"
	case 2:
		return "${" + n + sp() + "?" + sp() + "{" + a + "}" + sp() + "}"
	case 3:
		return "${" + n + sp() + ":" + sp() + "{" + a + "}" + sp() + "}"
	case 4:
		return "${" + n + sp() + "?" + sp() + "{" + a + "}" + sp() + ":" + sp() + "{" + b + "}" + sp() + "}"
	case 5:
		return "${" + n + "?{" + a + "}:" + plain() + "}"
	default:
		return "$(" + n + "?" + plain() + ")"
	}
}

func (g *gen) relational(depth int) string {
	sp := func() string { return g.pick([]string{"", " ", " ", "\t"}) }
	var left, right, op string
	if g.chance(0.4) {
		op = g.pick([]string{"<level", "<=level", ">level", ">=level", "==level", "!=level"})
		left = g.pick([]string{"$compatibility_level", "$compatibility_level", "3.6", "2", "3.10"})
		right = g.pick(compatLevels[:7])
	} else {
		op = g.pick([]string{"==", "!=", "<", "<=", ">", ">="})
		left = g.pick([]string{"$compatibility_level", "10", "9", "007", "7", "abc", "", g.ref()})
		right = g.pick([]string{"10", "9", "7", "abc", "ABC", "", g.ref(), "$mail_name"})
	}
	x, y := g.operand(depth), g.operand(depth)
	switch g.r.IntN(4) {
	case 0:
		return "${{" + left + "}" + sp() + op + sp() + "{" + right + "}}"
	case 1:
		return "${{" + left + "}" + sp() + op + sp() + "{" + right + "}" + sp() + "?" + sp() + "{" + x + "}}"
	case 2:
		return "${" + sp() + "{" + left + "}" + sp() + op + sp() + "{" + right + "}" + sp() + ":" + sp() + "{" + y + "}" + sp() + "}"
	}
	return "${{" + left + "}" + sp() + op + sp() + "{" + right + "}" + sp() + "?" + sp() + "{" + x + "}" + sp() + ":" + sp() + "{" + y + "}}"
}

// breakMain inserts one error Postfix reports (or, for some, tolerates).
func (g *gen) breakMain() {
	i := g.r.IntN(len(g.assign))
	a := &g.assign[i]
	switch g.r.IntN(9) {
	case 0:
		a.value += " ${unterminated"
	case 1:
		a.value += " ${{a} = {b}}"
	case 2:
		a.value += " ${bad name}"
	case 3:
		a.value += " $"
	case 4:
		a.value = "$" + a.name + " self" // self-reference
	case 5:
		a.value += " ${{x}==level{3}}"
	case 6:
		a.value += " ${{a}=={b}?{x}junk}"
	case 7:
		a.value += " ${{99999999999999999999}=={1}}"
	default:
		a.value += " ${x?{y}:{z}} ${{a}<foo{b}}"
	}
}

// render writes the assignments as main.cf text with the syntax variations
// postconf(5) allows.
func (g *gen) render(as []assignment) string {
	var lines []string
	if g.chance(0.1) {
		lines = append(lines, "  orphan_first_line = ignored")
	}
	if g.chance(0.5) {
		lines = append(lines, "# main.cf generated by difftest", "")
	}
	for _, a := range as {
		eq := g.pick([]string{" = ", "=", " =", "= ", "\t=\t", "  =  "})
		val := a.value
		if val == "" || !g.chance(0.25) {
			lines = append(lines, a.name+eq+val+g.pick([]string{"", "", " ", "\t"}))
		} else {
			lines = append(lines, g.continued(a.name+eq, val)...)
		}
		if g.chance(0.15) {
			lines = append(lines, g.filler())
		}
	}
	if g.broken && g.chance(0.15) {
		lines = append(lines, g.pick([]string{"no_equals_sign here", "= no name", "name_only"}))
	}
	if g.chance(0.02) {
		// A NUL byte ends the text of its logical line for Postfix.
		i := g.r.IntN(len(lines))
		lines[i] += "\x00ignored ${"
	}
	nl := "\n"
	if g.chance(0.1) {
		nl = "\r\n"
	}
	out := strings.Join(lines, nl) + nl
	if nl == "\n" && g.chance(0.05) {
		out = strings.Replace(out, "\n", "\r\n", 1+g.r.IntN(5)) // mixed line ends
	}
	return out
}

// continued splits val at whitespace into continuation lines with
// comments and blank lines in between.
func (g *gen) continued(head, val string) []string {
	fields := strings.Split(val, " ")
	out := []string{head + fields[0]}
	for _, f := range fields[1:] {
		if f == "" {
			continue
		}
		if g.chance(0.5) {
			out[len(out)-1] += " " + f
			continue
		}
		if g.chance(0.3) {
			out = append(out, g.filler())
		}
		out = append(out, g.pick([]string{" ", "\t", "    ", "  "})+f)
	}
	return out
}

func (g *gen) filler() string {
	return g.pick([]string{"", "#", "# comment", "   # indented comment", "   ", "\t", "#  key = value"})
}

// ---- master.cf ----

type service struct {
	fields []string // the eight fixed fields
}

var stdServices = []string{
	"smtp      inet  n       -       y       -       -       smtpd",
	"pickup    unix  n       -       y       60      1       pickup",
	"cleanup   unix  n       -       y       -       0       cleanup",
	"qmgr      unix  n       -       n       300     1       qmgr",
	"tlsmgr    unix  -       -       y       1000?   1       tlsmgr",
	"rewrite   unix  -       -       y       -       -       trivial-rewrite",
	"bounce    unix  -       -       y       -       0       bounce",
	"verify    unix  -       -       y       -       1       verify",
	"flush     unix  n       -       y       1000?   0       flush",
	"proxymap  unix  -       -       n       -       -       proxymap",
	"smtp      unix  -       -       y       -       -       smtp",
	"relay     unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name",
	"showq     unix  n       -       y       -       -       showq",
	"error     unix  -       -       y       -       -       error",
	"discard   unix  -       -       y       -       -       discard",
	"local     unix  -       n       n       -       -       local",
	"virtual   unix  -       n       n       -       -       virtual",
	"lmtp      unix  -       -       y       -       -       lmtp",
	"anvil     unix  -       -       y       -       1       anvil",
	"scache    unix  -       -       y       -       1       scache",
	"postlog   unix-dgram n  -       n       -       1       postlogd",
	"maildrop  unix  -       n       n       -       -       pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}",
	"uucp      unix  -       n       n       -       -       pipe flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)",
}

var serviceNames = []string{"submission", "smtps", "submissions", "465", "2525", "127.0.0.1:10025",
	"[::1]:10026", "localhost:10027", "0.0.0.0:2526", "myfilter", "dovecot", "bsmtp", "scalemail-backend",
	"mailman", "amavis", "spamassassin", "retry", "policy", "dnsblog", "tlsproxy", "smtpd", "postscreen"}

var overrideNames = []string{"syslog_name", "smtpd_tls_security_level", "smtpd_sasl_auth_enable",
	"smtpd_tls_auth_only", "smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions", "smtpd_recipient_restrictions",
	"milter_macro_daemon_name", "smtpd_tls_wrappermode", "mynetworks", "content_filter",
	"receive_override_options", "smtpd_authorized_xforward_hosts", "smtp_data_done_timeout",
	"smtpd_reject_unlisted_recipient", "smtpd_upstream_proxy_protocol", "myhostname",
	"local_svc_param", "service_name", "relay_domains"}

func (g *gen) planServices() {
	std := slices.Clone(stdServices)
	g.r.Shuffle(len(std), func(i, j int) { std[i], std[j] = std[j], std[i] })
	g.std = std[:g.r.IntN(len(std))]
	for _, l := range g.std {
		g.noteService(strings.Fields(l))
	}
	for i := g.r.IntN(6); i > 0; i-- {
		g.plan = append(g.plan, g.planService())
	}
}

func (g *gen) masterCF() string {
	var lines []string
	if g.chance(0.5) {
		lines = append(lines, "#", "# service type  private unpriv  chroot  wakeup  maxproc command + args", "#")
	}
	var entries [][]string
	for _, l := range g.std {
		entries = append(entries, []string{l})
	}
	for _, s := range g.plan {
		entries = append(entries, g.serviceLines(s))
	}
	if g.broken && g.chance(0.3) {
		entries = append(entries, []string{g.pick([]string{
			"badcount inet n - n",
			"badtype bogus n - n - - smtpd",
			"badpriv inet x - n - - smtpd",
			"badwake unix - - n abc - smtp",
			"badmax unix - - n - -1 smtp",
			"badbrace inet n - n - - smtpd -o {smtpd_banner=x",
			"noeq inet n - n - - smtpd -o smtpd_banner",
		})})
	}
	g.r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	for _, e := range entries {
		lines = append(lines, e...)
	}
	nl := "\n"
	if g.chance(0.1) {
		nl = "\r\n"
	}
	return strings.Join(lines, nl) + nl
}

var deliveryCommands = map[string]bool{"smtp": true, "lmtp": true, "pipe": true, "local": true, "virtual": true, "error": true, "spawn": true}

var serviceSuffixes = []string{"_destination_concurrency_limit", "_destination_recipient_limit",
	"_recipient_limit", "_initial_destination_concurrency", "_delivery_slot_cost",
	"_destination_rate_delay", "_time_limit", "_transport_rate_delay", "_extra_recipient_limit"}

func (g *gen) noteService(f []string) {
	if len(f) < 8 {
		return
	}
	g.service = append(g.service, f[0])
	g.keys = append(g.keys, f[0]+"/"+f[1])
	if deliveryCommands[f[7]] {
		for i := 0; i < 3; i++ {
			g.derived = append(g.derived, f[0]+g.pick(serviceSuffixes))
		}
	}
}

func (g *gen) planService() service {
	name := g.pick(serviceNames)
	var typ, cmd string
	switch {
	case strings.ContainsAny(name, "0123456789") || name == "submission" || name == "smtps" || name == "submissions":
		typ, cmd = "inet", g.pick([]string{"smtpd", "smtpd", "postscreen", "qmqpd"})
	case name == "smtpd":
		typ, cmd = "pass", "smtpd"
	case name == "postscreen":
		typ, cmd = "inet", "postscreen"
	default:
		typ = g.pick([]string{"unix", "unix", "unix-dgram", "fifo", "inet", "pass"})
		cmd = g.pick([]string{"smtp", "pipe", "lmtp", "local", "spawn", "virtual", "error", "dnsblog", "tlsproxy", "cleanup", "smtpd"})
	}
	f := []string{name, typ, g.pick([]string{"n", "-", "y"}), g.pick([]string{"-", "n", "y"}),
		g.pick([]string{"n", "-", "y"}), g.pick([]string{"-", "0", "60", "300?"}), g.pick([]string{"-", "0", "1", "100"}), cmd}
	g.noteService(f)
	return service{fields: f}
}

func (g *gen) serviceLines(s service) []string {
	f, cmd := s.fields, s.fields[7]
	var head strings.Builder
	for i, x := range f {
		if i > 0 {
			head.WriteString(g.pick([]string{" ", "\t", "   ", "     "}))
		}
		head.WriteString(x)
	}
	var args []string
	for i := g.r.IntN(5); i > 0; i-- {
		args = append(args, g.override())
	}
	if g.chance(0.1) {
		args = append([]string{g.pick([]string{"-v", "-D", "-vv"})}, args...)
	}
	if cmd == "pipe" || cmd == "spawn" {
		args = append(args, g.pick([]string{"flags=Rq user=filter argv=/usr/bin/filter -f ${sender} -- ${recipient}",
			"user=nobody argv=/usr/bin/policyd", "flags=F user=x argv=/bin/cat {$recipient with space}"}))
	}
	if g.chance(0.1) {
		args = append(args, g.pick([]string{"-- -o notanoverride=1", "extra -o after_arg=1"}))
	}
	lines := []string{head.String()}
	for _, a := range args {
		if g.chance(0.5) {
			lines[len(lines)-1] += " " + a
		} else {
			if g.chance(0.2) {
				lines = append(lines, g.filler())
			}
			lines = append(lines, g.pick([]string{"  ", "\t", "    "})+a)
		}
	}
	return lines
}

func (g *gen) override() string {
	var name string
	switch k := g.r.IntN(10); {
	case k < 6:
		name = g.pick(overrideNames)
	case k < 8 && len(g.user) > 0:
		name = g.pick(g.user)
	default:
		name = fmt.Sprintf("svc_local_%d", g.r.IntN(3))
	}
	// A reference from an -o value must not lead back to the -o name (it
	// shadows main.cf in the service's scope).
	g.cur = g.order[name]
	var val string
	switch g.r.IntN(6) {
	case 0:
		val = "$" + g.pick(append([]string{"svc_local_0", "service_name", "mail_name"}, g.user...))
	case 1:
		val = ""
	default:
		val = g.value(1)
	}
	if strings.ContainsAny(val, " \t,") || g.chance(0.2) {
		if strings.Count(val, "{") != strings.Count(val, "}") {
			val = strings.NewReplacer("{", "", "}", "").Replace(val)
		}
		form := g.pick([]string{"-o { %s = %s }", "-o {%s=%s}", "-o {%s = %s}"})
		if g.chance(0.05) {
			// postconf splits an attached -o{...} at any later 'o'.
			form = "-o{ %s = %s }"
		}
		return fmt.Sprintf(form, name, val)
	}
	return fmt.Sprintf(g.pick([]string{"-o %s=%s", "-o %s=%s", "-o%s=%s", "-o %s= %s"}), name, val)
}

// ---- -x query ----

func (g *gen) queryParams() []string {
	var ps []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] && !excluded[n] && !strings.ContainsAny(n, "=") && !strings.HasPrefix(n, "-") {
			seen[n] = true
			ps = append(ps, n)
		}
	}
	for i := 0; i < 15 && len(g.o.Builtin) > 0; i++ {
		add(g.pick(g.o.Builtin))
	}
	for _, n := range relayParams {
		if g.chance(0.3) {
			add(n)
		}
	}
	for _, a := range g.assign {
		if g.chance(0.7) {
			add(a.name)
		}
	}
	for _, n := range g.user {
		add(n)
	}
	for _, n := range g.derived {
		add(n)
	}
	add("undefined_1")
	add("no_such_parameter")
	add(g.pick(legacyParams))
	for _, n := range []string{"mynetworks", "myhostname", "mydomain", "relay_domains", "smtpd_relay_restrictions", "mydestination", "mynetworks_style", "proxy_read_maps"} {
		add(n)
	}
	g.r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
	return ps
}

// patterns picks -M/-P requests: whole services, name/type, parameters,
// "*" components and requests that match nothing.
func (g *gen) patterns() []string {
	var ps []string
	params := append([]string{"syslog_name", "smtpd_client_restrictions", "svc_local_0"}, overrideNames...)
	for i := 1 + g.r.IntN(4); i > 0; i-- {
		key := "nosuch/inet"
		if len(g.keys) > 0 {
			key = g.pick(g.keys)
		}
		name, typ, _ := strings.Cut(key, "/")
		switch g.r.IntN(7) {
		case 0:
			ps = append(ps, name)
		case 1:
			ps = append(ps, key)
		case 2:
			ps = append(ps, "*/"+typ)
		case 3:
			ps = append(ps, name+"/*/"+g.pick(params))
		case 4:
			ps = append(ps, key+"/*")
		case 5:
			ps = append(ps, "nosuch")
		default:
			ps = append(ps, key+"/"+g.pick(params))
		}
	}
	return ps
}
