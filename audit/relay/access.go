package relay

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// clientKeys are the lookup keys of check_client_access (access(5) "CLIENT
// HOSTNAME/ADDRESS PATTERNS"): the hostname and its parent domains, the
// address, and for IPv4 the shorter net prefixes 1.2.3, 1.2, 1 (only
// exact-key tables see those; cidr/regexp/pcre tables see the address).
func (m *Model) clientKeys(c Client, restriction string) []lookupKey {
	var keys []lookupKey
	if c.Name != "" && !strings.EqualFold(c.Name, "unknown") {
		keys = append(keys, domainKeys(c.Name, true)...)
	}
	if restriction == "check_reverse_client_hostname_access" {
		return keys
	}
	if c.Addr.IsValid() {
		a := c.Addr.Unmap()
		keys = append(keys, lookupKey{key: a.String()})
		if a.Is4() {
			parts := strings.Split(a.String(), ".")
			for n := 3; n >= 1; n-- {
				keys = append(keys, lookupKey{key: strings.Join(parts[:n], "."), fixedOnly: true})
			}
		}
	}
	return keys
}

type lookupKey struct {
	key       string
	fixedOnly bool // partial keys: only tables of exact keys are asked
}

// domainKeys are the keys of a domain lookup: the name, then each parent
// domain as "parent" and ".parent" (access(5) "DOMAIN NAME PATTERNS";
// parent_domain_matches_subdomains includes smtpd_access_maps by default).
func domainKeys(name string, parents bool) []lookupKey {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return nil
	}
	keys := []lookupKey{{key: name}}
	if !parents {
		return keys
	}
	for rest := name; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if rest == "" {
			break
		}
		keys = append(keys, lookupKey{key: rest, fixedOnly: true}, lookupKey{key: "." + rest, fixedOnly: true})
	}
	return keys
}

// addressKeys are the keys of check_sender_access/check_recipient_access
// (access(5) "EMAIL ADDRESS PATTERNS"): user@domain, the domain and its
// parents, then user@. The null sender is looked up as
// smtpd_null_access_lookup_key ("<>").
func (m *Model) addressKeys(addr string, sender bool) []lookupKey {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	if a != "" {
		// Access maps see the address after rewriting and resolving
		// (smtpd_check.c check_mail_access uses the resolved address):
		// "user" becomes user@$myorigin, a quoted local part at a local
		// domain becomes the address inside the quotes.
		if r := m.resolve(a); r.addr != "" {
			a = strings.ToLower(r.addr)
		}
	}
	if a == "" && sender {
		k := m.expand("smtpd_null_access_lookup_key")
		if k == "" {
			k = "<>"
		}
		return []lookupKey{{key: k}}
	}
	keys := []lookupKey{{key: a}}
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		keys = append(keys, domainKeys(a[i+1:], true)...)
		keys = append(keys, lookupKey{key: a[:i+1], fixedOnly: true})
	}
	return keys
}

func (m *Model) accessCheck(st *state, list string, idx int, r restriction, pos diag.Pos, keys []lookupKey) outcome {
	t, err := m.openTable(r.Arg)
	if err != nil {
		return m.tableError(st, list, idx, r, pos, err)
	}
	for _, k := range keys {
		if k.fixedOnly && !t.Fixed() {
			continue
		}
		res, err := t.Lookup(k.key)
		if err != nil {
			return m.tableError(st, list, idx, r, pos, err)
		}
		if !res.Found {
			continue
		}
		return m.accessResult(st, list, idx, r, pos, k.key, res)
	}
	m.step(st, list, idx, r, "dunno", "no entry matches", pos)
	return oDunno
}

func (m *Model) tableError(st *state, list string, idx int, r restriction, pos diag.Pos, err error) outcome {
	if table.IsUnknown(err) {
		m.step(st, list, idx, r, "unknown", err.Error(), pos)
		st.why = fmt.Sprintf("%s: %s cannot be evaluated offline", list, r.Text)
		return oUnknown
	}
	// Postfix answers a failed lookup with a temporary error.
	m.step(st, list, idx, r, "defer", err.Error(), pos)
	m.setReply(st, 451, "4.3.0", "Temporary lookup failure", fmt.Sprintf("%s: %s: lookup failure", list, r.Text))
	return oDefer
}

// accessResult interprets an access(5) result.
func (m *Model) accessResult(st *state, list string, idx int, r restriction, pos diag.Pos, key string, res table.Result) outcome {
	where := ""
	if s := res.Pos.String(); s != "" {
		where = " (" + s + ")"
	}
	detail := fmt.Sprintf("%s -> %s%s", key, res.Value, where)
	f := strings.Fields(res.Value)
	if len(f) == 0 {
		m.step(st, list, idx, r, "defer", detail+": empty result", pos)
		m.setReply(st, 451, "4.3.5", "Server configuration error", fmt.Sprintf("%s: %s: empty access result", list, r.Text))
		return oDefer
	}
	action := strings.ToUpper(f[0])
	text := strings.TrimSpace(strings.TrimPrefix(res.Value, f[0]))
	switch action {
	case "OK", "PERMIT":
		m.step(st, list, idx, r, "permit", detail, pos)
		st.why = fmt.Sprintf("%s: %s: %s", list, r.Text, detail)
		return oPermit
	case "REJECT":
		if text == "" {
			text = "Access denied"
		}
		m.step(st, list, idx, r, "reject", detail, pos)
		m.setReply(st, m.intParam("access_map_reject_code", 554), "5.7.1", text, fmt.Sprintf("%s: %s: %s", list, r.Text, detail))
		return oReject
	case "DEFER":
		if text == "" {
			text = "Access denied"
		}
		m.step(st, list, idx, r, "defer", detail, pos)
		m.setReply(st, m.intParam("access_map_defer_code", 450), "4.7.1", text, fmt.Sprintf("%s: %s: %s", list, r.Text, detail))
		return oDefer
	case "DEFER_IF_PERMIT":
		st.deferIfPermit = true
		m.step(st, list, idx, r, "flag", detail, pos)
		return oDunno
	case "DEFER_IF_REJECT":
		st.deferIfReject = true
		m.step(st, list, idx, r, "flag", detail, pos)
		return oDunno
	case "DUNNO":
		// DUNNO also stops the search for shorter keys (access(5)).
		m.step(st, list, idx, r, "dunno", detail, pos)
		return oDunno
	case "HOLD", "DISCARD", "FILTER", "PREPEND", "REDIRECT", "WARN", "INFO", "BCC":
		m.step(st, list, idx, r, "dunno", detail+": an action, not an access decision", pos)
		return oDunno
	}
	if len(action) == 3 && (action[0] == '4' || action[0] == '5') && action[1] >= '0' && action[1] <= '9' {
		code := int(action[0]-'0')*100 + int(action[1]-'0')*10 + int(action[2]-'0')
		enh := ""
		if ff := strings.Fields(text); len(ff) > 0 && strings.Count(ff[0], ".") == 2 {
			enh, text = ff[0], strings.TrimSpace(strings.TrimPrefix(text, ff[0]))
		}
		m.step(st, list, idx, r, map[byte]string{'4': "defer", '5': "reject"}[action[0]], detail, pos)
		m.setReply(st, code, enh, text, fmt.Sprintf("%s: %s: %s", list, r.Text, detail))
		if action[0] == '4' {
			return oDefer
		}
		return oReject
	}
	// Anything else is a restriction list (a class name or restrictions),
	// which may not name a table: smtpd_check.c check_table_result() "do
	// not specify lookup tables inside SMTPD access maps", 451 4.3.5.
	if strings.IndexByte(res.Value, ':') >= 0 {
		m.step(st, list, idx, r, "defer", detail+": a lookup table inside an access table's answer", pos)
		m.setReply(st, 451, "4.3.5", "Server configuration error", fmt.Sprintf("%s: %s: %s names a lookup table", list, r.Text, detail))
		return oDefer
	}
	m.step(st, list, idx, r, "restrictions", detail, pos)
	return m.evalList(st, r.Arg, m.parsedList(res.Value), res.Pos)
}
