package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
)

// placeholder matches the placeholders of the package documentation.
var placeholder = regexp.MustCompile(`\{(etc|host|port:[A-Za-z0-9_.-]+|addr:[A-Za-z0-9_.-]+)\}`)

type expander struct {
	etc       string
	host      netip.Addr
	listeners map[string]netip.AddrPort
}

func (e *expander) expand(s string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		key := m[1 : len(m)-1]
		switch {
		case key == "etc":
			return e.etc
		case key == "host":
			return e.host.String()
		}
		kind, name, _ := strings.Cut(key, ":")
		ap, ok := e.listeners[name]
		if !ok {
			if err == nil {
				err = fmt.Errorf("placeholder %s: no listener named %q", m, name)
			}
			return m
		}
		if kind == "port" {
			return itoa(int(ap.Port()))
		}
		return ap.String()
	})
	return out, err
}

// fixedParams keep the instance private and non-delivering; Options.Main may
// not override them.
var fixedParams = map[string]bool{
	"queue_directory":       true,
	"data_directory":        true,
	"config_directory":      true,
	"mail_owner":            true,
	"setgid_group":          true,
	"multi_instance_name":   true,
	"syslog_name":           true,
	"maillog_file":          true,
	"maillog_file_prefixes": true,
	"default_transport":     true,
	"relay_transport":       true,
	"local_transport":       true,
	"virtual_transport":     true,
	// smtpd_data_restrictions = reject refuses DATA and BDAT (postconf(5)),
	// so no message can enter the queue through smtpd.
	"smtpd_data_restrictions": true,
}

// forbiddenCommands are master.cf commands that deliver or run programs.
var forbiddenCommands = map[string]bool{
	"smtp": true, "lmtp": true, "local": true, "virtual": true, "pipe": true, "spawn": true,
}

var (
	// Service-specific parameter names carry the master.cf service name,
	// which may contain '-' (e.g. smtp-amavis_destination_recipient_limit).
	paramName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	compatRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
)

// setting is one main.cf line.
type setting struct{ name, value string }

type mainCF struct {
	list  []setting
	index map[string]int
}

func (m *mainCF) set(name, value string) {
	if m.index == nil {
		m.index = map[string]int{}
	}
	if i, ok := m.index[name]; ok {
		m.list[i].value = value
		return
	}
	m.index[name] = len(m.list)
	m.list = append(m.list, setting{name, value})
}

func (m *mainCF) String() string {
	var b strings.Builder
	b.WriteString("# Written by the pfaudit lab harness: private, non-delivering.\n")
	for _, s := range m.list {
		if s.value == "" {
			fmt.Fprintf(&b, "%s =\n", s.name)
		} else {
			fmt.Fprintf(&b, "%s = %s\n", s.name, s.value)
		}
	}
	return b.String()
}

// parseSetting splits "name = value".
func parseSetting(s string) (setting, error) {
	if strings.ContainsAny(s, "\r\n") {
		return setting{}, fmt.Errorf("main.cf setting %q: contains a line break", s)
	}
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || !paramName.MatchString(name) {
		return setting{}, fmt.Errorf("main.cf setting %q: want \"name = value\"", s)
	}
	if fixedParams[name] {
		return setting{}, fmt.Errorf("main.cf setting %q: %s is fixed by the lab harness (it keeps the instance private and non-delivering)", s, name)
	}
	return setting{name, strings.TrimSpace(value)}, nil
}

// layout is what Start computed before writing files.
type layout struct {
	name, hostname   string
	root, etc, queue string
	data, logDir     string
	host             netip.Addr
	listeners        map[string]netip.AddrPort
	order            []string
}

// buildMain renders main.cf: the harness's settings in the order of
// shared/reference/postfix-lab.md, then the caller's.
func buildMain(l *layout, opt *Options, ex *expander) (string, error) {
	var m mainCF
	level := opt.CompatibilityLevel
	if level == "" {
		level = "3.6"
	}
	if !compatRE.MatchString(level) {
		return "", fmt.Errorf("CompatibilityLevel %q: want a level such as 3.6 or 2", level)
	}
	m.set("compatibility_level", level)
	m.set("queue_directory", l.queue)
	m.set("data_directory", l.data)
	m.set("mail_owner", "postfix")
	m.set("setgid_group", "postdrop")
	m.set("multi_instance_name", l.name)
	m.set("syslog_name", l.name)
	if opt.IPv6 {
		m.set("inet_interfaces", "127.0.0.1, [::1]")
		m.set("inet_protocols", "all")
	} else {
		m.set("inet_interfaces", l.host.String())
		m.set("inet_protocols", "ipv4")
	}
	m.set("myhostname", l.hostname)
	m.set("mydestination", "$myhostname, localhost.$mydomain, localhost")
	// No DNS: the lab has no resolver it may use.
	m.set("smtpd_peername_lookup", "no")
	m.set("alias_maps", "")
	m.set("alias_database", "")
	m.set("biff", "no")
	// Without maillog_file_prefixes naming the log directory, postfix start
	// fails silently (postconf(5) maillog_file_prefixes).
	m.set("maillog_file", filepath.Join(l.logDir, "maillog"))
	m.set("maillog_file_prefixes", l.logDir)
	// Nothing may leave. discard: rather than error: or retry:, which make
	// smtpd refuse remote recipients at RCPT time and hide the relay
	// decision.
	for _, p := range []string{"default_transport", "relay_transport", "local_transport", "virtual_transport"} {
		m.set(p, "discard:lab")
	}
	m.set("smtpd_data_restrictions", "reject")
	if opt.XCLIENT {
		hosts := "127.0.0.1"
		if opt.Netns != nil {
			hosts += ", " + opt.Netns.ClientAddr.String()
		}
		if opt.IPv6 {
			hosts += ", [::1]"
		}
		m.set("smtpd_authorized_xclient_hosts", hosts)
	}
	if !opt.Tarpit {
		m.set("smtpd_error_sleep_time", "0s")
		m.set("smtpd_soft_error_limit", "1000")
		m.set("smtpd_hard_error_limit", "1000")
		// Every accepted RCPT opens a queue file that RSET then aborts, so
		// qmgr never hands back the flow-control tokens cleanup consumed:
		// from the second probe run on, each accepted RCPT would wait
		// in_flow_delay (1s, postconf(5) in_flow_delay).
		m.set("in_flow_delay", "0s")
	}
	for _, s := range opt.Main {
		st, err := parseSetting(s)
		if err != nil {
			return "", err
		}
		if st.value, err = ex.expand(st.value); err != nil {
			return "", fmt.Errorf("main.cf setting %q: %v", s, err)
		}
		m.set(st.name, st.value)
	}
	return m.String(), nil
}

// internalServices are the unix-domain services master.cf needs, chroot off.
// No smtp, lmtp, local, virtual or pipe service: nothing can be delivered.
const internalServices = `pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`

func writeArgs(b *strings.Builder, args []string, ex *expander) error {
	for _, a := range args {
		if strings.ContainsAny(a, "\r\n") {
			return fmt.Errorf("master.cf argument %q: contains a line break", a)
		}
		a, err := ex.expand(strings.TrimSpace(a))
		if err != nil {
			return fmt.Errorf("master.cf argument %q: %v", a, err)
		}
		fmt.Fprintf(b, "  %s\n", a)
	}
	return nil
}

// buildMaster renders master.cf.
func buildMaster(l *layout, opt *Options, ex *expander) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by the pfaudit lab harness: private, non-delivering.\n")
	front := func(name string) error {
		ap := l.listeners[name]
		if opt.Postscreen {
			// postscreen(8) hands clients to the "smtpd pass" service below.
			fmt.Fprintf(&b, "%s inet n - n - 1 postscreen\n", ap)
			return nil
		}
		fmt.Fprintf(&b, "%s inet n - n - - smtpd\n", ap)
		return writeArgs(&b, opt.SMTPArgs, ex)
	}
	if err := front("smtp"); err != nil {
		return "", err
	}
	if opt.IPv6 {
		if err := front("smtp6"); err != nil {
			return "", err
		}
	}
	if opt.Postscreen {
		b.WriteString("smtpd pass - - n - - smtpd\n")
		if err := writeArgs(&b, opt.SMTPArgs, ex); err != nil {
			return "", err
		}
		b.WriteString("dnsblog unix - - n - 0 dnsblog\n")
		b.WriteString("tlsproxy unix - - n - 0 tlsproxy\n")
	}
	for _, li := range opt.Listeners {
		fmt.Fprintf(&b, "%s inet n - n - - smtpd\n", l.listeners[li.Name])
		if err := writeArgs(&b, li.Args, ex); err != nil {
			return "", err
		}
	}
	b.WriteString(internalServices)
	allowed := map[string]bool{l.host.String(): true}
	if opt.IPv6 {
		allowed["[::1]"] = true
	}
	for _, line := range opt.Master {
		if strings.ContainsAny(line, "\r\n") {
			return "", fmt.Errorf("master.cf line %q: contains a line break (give one line per entry)", line)
		}
		line, err := ex.expand(line)
		if err != nil {
			return "", fmt.Errorf("master.cf line %q: %v", line, err)
		}
		if err := checkMasterLine(line, allowed); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), nil
}

// checkMasterLine refuses entries that could reach outside the lab.
func checkMasterLine(line string, allowedHosts map[string]bool) error {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") || line[0] == ' ' || line[0] == '\t' {
		return nil // blank, comment or continuation (-o ...)
	}
	f := strings.Fields(line)
	if len(f) < 8 {
		return fmt.Errorf("master.cf line %q: want 8 fields (service type private unpriv chroot wakeup maxproc command)", line)
	}
	if cmd := filepath.Base(f[7]); forbiddenCommands[cmd] {
		return fmt.Errorf("master.cf line %q: command %s could deliver mail or run programs; the lab refuses it", line, cmd)
	}
	if f[1] == "inet" {
		i := strings.LastIndex(f[0], ":")
		if i < 0 || !allowedHosts[f[0][:i]] {
			return fmt.Errorf("master.cf line %q: an inet service must name a lab listen address as HOST:PORT (one of %s); use {host}:{port:NAME} or Options.Listeners", line, keys(allowedHosts))
		}
	}
	return nil
}

func keys(m map[string]bool) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return strings.Join(s, ", ")
}
