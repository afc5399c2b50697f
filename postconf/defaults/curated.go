package defaults

import "slices"

// Param is a parameter pfaudit's checks read, with its Postfix 3.7 default
// and why it matters.
type Param struct {
	// Name is the main.cf parameter name.
	Name string
	// Default is the raw default exactly as `postconf -d` of Postfix 3.7
	// prints it (level expressions unevaluated, $references unexpanded);
	// for a derived parameter, its Symbolic placeholder.
	Default string
	// Doc says what the parameter decides, in pfaudit's terms.
	Doc string
	// Ref cites the Postfix documentation the Doc comes from.
	Ref string
}

// LevelDependent reports whether the default changes with
// compatibility_level.
func (p Param) LevelDependent() bool {
	return levelDiffers(p.Default)
}

// levelDiffers reports whether raw resolves differently for some
// compatibility level that Postfix 3.7 distinguishes (0, 1, 2, 3.6).
func levelDiffers(raw string) bool {
	first := ""
	for i, l := range []string{"0", "1", "2", "3.6"} {
		v, err := ResolveForLevel(raw, l)
		if err != nil {
			return false
		}
		if i == 0 {
			first = v
		} else if v != first {
			return true
		}
	}
	return false
}

// Citations used below.
const (
	refPostconf  = "postconf(5)"
	refCompat    = "postconf(5), COMPATIBILITY_README"
	refAccess    = "postconf(5), SMTPD_ACCESS_README"
	refRelay     = "postconf(5), ADDRESS_CLASS_README"
	refRewrite   = "postconf(5), ADDRESS_REWRITING_README"
	refSASL      = "postconf(5), SASL_README"
	refTLS       = "postconf(5), TLS_README"
	refPostscrn  = "postconf(5), POSTSCREEN_README"
	refXclient   = "postconf(5), XCLIENT_README"
	refTuning    = "postconf(5), TUNING_README"
	refFilter    = "postconf(5), FILTER_README"
	refHaproxy   = "postconf(5), SMTPD_PROXY_README"
	refHostnames = "postconf(5), BASIC_CONFIGURATION_README"
)

// curated is hand-written: the values are Postfix 3.7's `postconf -d`
// answers (TestCuratedMatchesPostconf holds them to it), the docs are
// summaries of the cited Postfix documentation.
var curated = []Param{
	// Version and compatibility.
	{"compatibility_level", "0",
		"Selects the defaults of older or newer Postfix versions. 0 when main.cf does not set it: then smtpd_relay_restrictions is empty (level < 1), mynetworks_style is subnet and relay_domains is $mydestination (level < 2), and the relay list runs after the recipient list (level < 3.6). Levels since 3.6 compare per component (3.10 > 3.9).",
		refCompat},
	{"mail_version", "3.7.11",
		"The Postfix version; pfaudit's expectations of defaults depend on it (check_relay_domains is gone in 3.9).",
		refPostconf},
	{"mail_name", "Postfix",
		"Software name shown in the default smtpd_banner.",
		refPostconf},
	{"smtpd_banner", "$myhostname ESMTP $mail_name",
		"The 220 greeting. Custom banners that add $mail_version or the OS disclose software versions (Lynis MAIL-8818).",
		refPostconf},

	// Who and where this host is.
	{"myhostname", "<host: myhostname>",
		"This host's mail name. Default: gethostname(), with \".$mydomain\" (when set) or \".localdomain\" appended to a name without a dot. Never from DNS.",
		refHostnames},
	{"mydomain", "<host: mydomain>",
		"The domain: $myhostname after its first dot, \"localdomain\" when it has none.",
		refHostnames},
	{"myorigin", "$myhostname",
		"Domain appended to unqualified sender addresses of locally posted mail.",
		refRewrite},
	{"mydestination", "$myhostname, localhost.$mydomain, localhost",
		"Domains delivered locally; reject_unauth_destination lets mail to them through, and relay_domains defaults to it below level 2.",
		refRelay},

	// Trusted clients.
	{"mynetworks", "<host: mynetworks>",
		"Trusted client networks (permit_mynetworks). When unset, computed from this host's interfaces per mynetworks_style: subnet trusts every host on each attached subnet, class the whole classful network. Host bits set in an entry make every RCPT fail with 451 4.3.0.",
		refAccess},
	{"mynetworks_style", "${{$compatibility_level} <level {2} ? {subnet} : {host}}",
		"How the default mynetworks is computed: host (only this host's addresses), subnet (attached subnets), class (class A/B/C networks; IPv6 treated as subnet). Ignored when mynetworks is set. subnet below compatibility level 2.",
		refCompat},
	{"inet_interfaces", "all",
		"Addresses the SMTP server listens on and that count as local; also limits the default mynetworks to these interfaces. \"loopback-only\" makes a send-only host (CIS). \"all\" exposes every interface.",
		refPostconf},
	{"inet_protocols", "all",
		"IP versions Postfix uses: all, ipv4, ipv6. Limits listeners and the default mynetworks.",
		refPostconf},
	{"proxy_interfaces", "",
		"Addresses of a proxy or NAT in front of this host; reject_unauth_destination treats user@[address] for them as local.",
		refRelay},

	// Relay destinations.
	{"relay_domains", "${{$compatibility_level} <level {2} ? {$mydestination} : {}}",
		"Remote domains this host relays to for anyone (and their subdomains, see parent_domain_matches_subdomains). A table matching everything (static:ALL) makes an open relay. $mydestination below level 2.",
		refCompat},
	{"relay_recipient_maps", "",
		"Valid recipients in relay_domains. Empty accepts every address there, which causes backscatter.",
		refRelay},
	{"relay_domains_reject_code", "554",
		"Reply code of reject_unauth_destination (\"Relay access denied\").",
		refAccess},
	{"relay_transport", "relay",
		"Default transport for relay_domains.",
		refRelay},
	{"relayhost", "",
		"Next-hop for non-local mail; empty means direct delivery via MX.",
		refPostconf},
	{"relay_clientcerts", "",
		"Client certificate fingerprints (smtpd_tls_fingerprint_digest) or public-key fingerprints that permit_tls_clientcerts trusts for relaying.",
		refTLS},
	{"permit_mx_backup_networks", "",
		"Restricts permit_mx_backup to domains whose primary MX is in these networks. Empty: any domain that lists this host as backup MX is relayed, which anyone can arrange in DNS.",
		refAccess},
	{"parent_domain_matches_subdomains", "debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps",
		"Lists whose \"domain\" pattern also matches subdomains. With relay_domains here, example.com relays for a.example.com too; otherwise \".example.com\" is needed.",
		refPostconf},
	{"virtual_alias_domains", "$virtual_alias_maps",
		"Virtual alias domains; reject_unauth_destination treats them as local.",
		refRelay},
	{"virtual_alias_maps", "$virtual_maps",
		"Alias table for virtual alias domains (and all recipients).",
		refRelay},
	{"virtual_mailbox_domains", "$virtual_mailbox_maps",
		"Virtual mailbox domains; local for reject_unauth_destination.",
		refRelay},
	{"virtual_mailbox_maps", "",
		"Valid recipients of virtual mailbox domains.",
		refRelay},
	{"local_recipient_maps", "proxy:unix:passwd.byname $alias_maps",
		"Valid local recipients; empty accepts every local address.",
		refRelay},
	{"unknown_local_recipient_reject_code", "550",
		"Reply code for an unknown local recipient.",
		refPostconf},
	{"unknown_relay_recipient_reject_code", "550",
		"Reply code for a recipient in relay_domains not in relay_recipient_maps.",
		refPostconf},
	{"unknown_virtual_alias_reject_code", "550",
		"Reply code for an unknown virtual alias recipient.",
		refPostconf},
	{"unknown_virtual_mailbox_reject_code", "550",
		"Reply code for an unknown virtual mailbox recipient.",
		refPostconf},
	{"smtpd_reject_unlisted_recipient", "yes",
		"Reject recipients not listed in their domain's recipient table even when no restriction asks for it; \"no\" invites backscatter.",
		refPostconf},
	{"smtpd_reject_unlisted_sender", "no",
		"Same check for sender addresses in domains this host handles.",
		refPostconf},

	// Restriction lists.
	{"smtpd_client_restrictions", "",
		"Restrictions at connect time (evaluated at RCPT with smtpd_delay_reject = yes). A PERMIT here ends only this list.",
		refAccess},
	{"smtpd_helo_restrictions", "",
		"Restrictions on the HELO/EHLO argument. An OK from check_helo_access before the relay guard is a classic open relay when the lists are merged.",
		refAccess},
	{"smtpd_sender_restrictions", "",
		"Restrictions on MAIL FROM. check_sender_access returning OK for a forgeable sender must not precede the guard.",
		refAccess},
	{"smtpd_relay_restrictions", "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination}}",
		"Relay control at RCPT TO (Postfix 2.10 and later). Empty below level 1, so the guard must then be in smtpd_recipient_restrictions. Postfix refuses to run (\"specify at least one working instance\") unless this list or smtpd_recipient_restrictions has reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains.",
		refCompat},
	{"smtpd_recipient_restrictions", "",
		"Spam and recipient checks at RCPT TO; before 2.10 also the relay guard (then \"permit_mynetworks, reject_unauth_destination\"). A recipient is refused when either this list or smtpd_relay_restrictions refuses it.",
		refAccess},
	{"smtpd_data_restrictions", "",
		"Restrictions at DATA (reject_unauth_pipelining, reject).",
		refAccess},
	{"smtpd_end_of_data_restrictions", "",
		"Restrictions after the message body.",
		refAccess},
	{"smtpd_etrn_restrictions", "",
		"Restrictions on ETRN.",
		refAccess},
	{"smtpd_relay_before_recipient_restrictions", "${{$compatibility_level} <level {3.6} ? {no} : {yes}}",
		"Evaluate smtpd_relay_restrictions before smtpd_recipient_restrictions (yes from level 3.6). Only the order of side effects (policy servers, logging) changes; either list can still refuse.",
		refCompat},
	{"smtpd_restriction_classes", "",
		"Named restriction lists that access tables can return; a class that permits before the guard opens the relay.",
		refAccess},
	{"smtpd_delay_reject", "yes",
		"Delay client, HELO and sender rejections until RCPT TO, so all lists see the recipient.",
		refAccess},
	{"smtpd_helo_required", "no",
		"Require HELO/EHLO before MAIL FROM.",
		refAccess},
	{"access_map_reject_code", "554",
		"Reply code when an access table returns REJECT.",
		refAccess},
	{"access_map_defer_code", "450",
		"Reply code when an access table returns DEFER.",
		refAccess},
	{"reject_code", "554",
		"Reply code of the reject restriction.",
		refAccess},
	{"defer_code", "450",
		"Reply code of the defer restriction.",
		refAccess},

	// Address parsing tricks the relay check must see through.
	{"allow_untrusted_routing", "no",
		"Whether untrusted clients may use sender-specified routing (user@host1@host2, user%host2@host1, host!user) to domains in relay_domains. \"yes\" lets a relay domain's backup MX be used as an open relay.",
		refAccess},
	{"allow_percent_hack", "yes",
		"Rewrite user%domain to user@domain.",
		refRewrite},
	{"swap_bangpath", "yes",
		"Rewrite site!user to user@site.",
		refRewrite},
	{"resolve_dequoted_address", "yes",
		"Resolve \"user@remote\"@local by its unquoted form, so the address is seen as remote; \"no\" opens backup MX setups to relay tricks.",
		refPostconf},
	{"resolve_null_domain", "no",
		"Resolve user@ (empty domain) as user@$myhostname instead of rejecting it.",
		refPostconf},
	{"resolve_numeric_domain", "no",
		"Resolve user@ipaddress as local when the address is one of this host's.",
		refPostconf},
	{"strict_rfc821_envelopes", "no",
		"Require <> around MAIL FROM and RCPT TO addresses and no comments.",
		refPostconf},
	{"append_at_myorigin", "yes",
		"Append @$myorigin to unqualified local addresses.",
		refRewrite},
	{"append_dot_mydomain", "${{$compatibility_level} <level {1} ? {yes} : {no}}",
		"Append .$mydomain to user@host addresses; yes below level 1.",
		refCompat},
	{"soft_bounce", "no",
		"Turn permanent rejections into 4xx; a \"Relay access denied\" becomes a temporary error that clients retry.",
		refPostconf},

	// Who may impersonate clients.
	{"smtpd_authorized_xclient_hosts", "",
		"Clients allowed to send XCLIENT, which overrides the client address and login name: anyone listed can pass permit_mynetworks and permit_sasl_authenticated.",
		refXclient},
	{"smtpd_authorized_xforward_hosts", "",
		"Clients allowed to send XFORWARD (logging only, no relay decision).",
		refPostconf},
	{"smtpd_upstream_proxy_protocol", "",
		"haproxy: the client address comes from a PROXY header; any client that can reach the port directly can then claim any address.",
		refHaproxy},

	// Tarpit and probing limits.
	{"smtpd_error_sleep_time", "1s",
		"Delay per error reply once smtpd_soft_error_limit is exceeded.",
		refTuning},
	{"smtpd_soft_error_limit", "10",
		"Errors after which each reply is delayed by smtpd_error_sleep_time.",
		refTuning},
	{"smtpd_hard_error_limit", "${stress?{1}:{20}}",
		"Errors after which the server disconnects (421); 1 when master(8) signals stress.",
		refTuning},
	{"smtpd_junk_command_limit", "${stress?{1}:{100}}",
		"NOOP/VRFY/ETRN/RSET commands counted before they count as errors.",
		refTuning},

	// Exposure.
	{"disable_vrfy_command", "no",
		"Leaving VRFY on lets anyone test addresses (Lynis MAIL-8820).",
		refPostconf},
	{"smtpd_discard_ehlo_keywords", "",
		"EHLO keywords hidden from clients (e.g. auth, starttls).",
		refPostconf},
	{"smtpd_discard_ehlo_keyword_address_maps", "",
		"Per-client table of EHLO keywords to hide.",
		refPostconf},
	{"content_filter", "",
		"After-queue content filter; its re-injection smtpd listener needs its own narrow mynetworks and a loopback address.",
		refFilter},
	{"receive_override_options", "",
		"Switches off address mapping or checks for a re-injection listener (no_address_mappings, ...).",
		refFilter},
	{"smtpd_proxy_filter", "",
		"Before-queue content filter.",
		refFilter},
	{"smtpd_sender_login_maps", "",
		"Owner of each sender address; reject_sender_login_mismatch needs it to stop authenticated users sending as others.",
		refSASL},

	// SASL.
	{"smtpd_sasl_auth_enable", "no",
		"Offer AUTH. Enabled in main.cf, it is offered on port 25 too; usually set per submission service in master.cf.",
		refSASL},
	{"smtpd_sasl_type", "cyrus",
		"SASL implementation: cyrus or dovecot.",
		refSASL},
	{"smtpd_sasl_path", "smtpd",
		"Cyrus application name or Dovecot auth socket.",
		refSASL},
	{"smtpd_sasl_security_options", "noanonymous",
		"Mechanism properties required without TLS; lacking noanonymous allows anonymous AUTH, and noplaintext keeps passwords off unencrypted sessions.",
		refSASL},
	{"smtpd_sasl_tls_security_options", "$smtpd_sasl_security_options",
		"The same, for TLS sessions.",
		refSASL},
	{"smtpd_sasl_local_domain", "",
		"Realm appended to SASL login names.",
		refSASL},
	{"smtpd_sasl_authenticated_header", "no",
		"Put the SASL login name in the Received: header.",
		refSASL},
	{"smtpd_sasl_exceptions_networks", "",
		"Clients to which AUTH is not offered.",
		refSASL},
	{"broken_sasl_auth_clients", "no",
		"Also announce the non-standard \"AUTH=\" form for old Outlook clients.",
		refSASL},

	// TLS.
	{"smtpd_tls_security_level", "",
		"none, may (STARTTLS offered) or encrypt (required). Empty falls back to the obsolete smtpd_use_tls/smtpd_enforce_tls.",
		refTLS},
	{"smtpd_use_tls", "no",
		"Obsolete form of smtpd_tls_security_level = may.",
		refTLS},
	{"smtpd_enforce_tls", "no",
		"Obsolete form of smtpd_tls_security_level = encrypt.",
		refTLS},
	{"smtpd_tls_auth_only", "no",
		"Offer AUTH only after STARTTLS. \"no\" with SASL enabled sends passwords in clear unless the security options forbid plaintext mechanisms.",
		refTLS},
	{"smtpd_tls_wrappermode", "no",
		"Implicit TLS (smtps, port 465); set per service.",
		refTLS},
	{"smtpd_tls_cert_file", "",
		"Server RSA certificate.",
		refTLS},
	{"smtpd_tls_key_file", "$smtpd_tls_cert_file",
		"Server RSA key.",
		refTLS},
	{"smtpd_tls_chain_files", "",
		"Keys and certificate chains (Postfix 3.4 and later; preferred over the *_cert_file/*_key_file pairs).",
		refTLS},
	{"smtpd_tls_CAfile", "",
		"CAs whose client certificates are trusted; with tls_append_default_CA = yes the system CAs too.",
		refTLS},
	{"smtpd_tls_CApath", "",
		"Directory form of smtpd_tls_CAfile.",
		refTLS},
	{"smtpd_tls_ask_ccert", "no",
		"Ask clients for a certificate (needed for permit_tls_clientcerts).",
		refTLS},
	{"smtpd_tls_req_ccert", "no",
		"Require a client certificate (only with encrypt).",
		refTLS},
	{"smtpd_tls_protocols", ">=TLSv1",
		"Protocols offered with opportunistic TLS.",
		refTLS},
	{"smtpd_tls_mandatory_protocols", ">=TLSv1",
		"Protocols accepted with mandatory TLS.",
		refTLS},
	{"smtpd_tls_ciphers", "medium",
		"Cipher grade with opportunistic TLS.",
		refTLS},
	{"smtpd_tls_mandatory_ciphers", "medium",
		"Cipher grade with mandatory TLS.",
		refTLS},
	{"smtpd_tls_received_header", "no",
		"Record TLS details in Received: headers.",
		refTLS},
	{"smtpd_tls_loglevel", "0",
		"TLS logging verbosity.",
		refTLS},
	{"smtpd_tls_fingerprint_digest", "${{$compatibility_level} <level {3.6} ? {md5} : {sha256}}",
		"Digest of client certificate fingerprints in relay_clientcerts and check_ccert_access: md5 below level 3.6, so sha256 entries stop matching when the level is lowered (and vice versa).",
		refCompat},
	{"tls_append_default_CA", "no",
		"Append the system CA bundle to smtpd_tls_CAfile. \"yes\" with permit_tls_all_clientcerts lets any certificate from any public CA relay.",
		refTLS},

	// postscreen.
	{"postscreen_access_list", "permit_mynetworks",
		"Permanent allow/deny list for postscreen; clients it permits skip the tests.",
		refPostscrn},
	{"postscreen_allowlist_interfaces", "${postscreen_whitelist_interfaces?{$postscreen_whitelist_interfaces}:{static:all}}",
		"Addresses on which postscreen may mark clients as allowed (3.6 name of postscreen_whitelist_interfaces).",
		refPostscrn},
	{"postscreen_denylist_action", "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}",
		"What to do with clients that postscreen_access_list rejects (3.6 name of postscreen_blacklist_action).",
		refPostscrn},
	{"postscreen_dnsbl_sites", "",
		"DNS block lists postscreen queries.",
		refPostscrn},
	{"postscreen_dnsbl_threshold", "1",
		"Combined DNSBL score that blocks a client.",
		refPostscrn},
	{"postscreen_dnsbl_action", "ignore",
		"What to do with clients over the DNSBL threshold (ignore: test only).",
		refPostscrn},
	{"postscreen_dnsbl_allowlist_threshold", "${postscreen_dnsbl_whitelist_threshold?{$postscreen_dnsbl_whitelist_threshold}:{0}}",
		"DNSBL score that lets a client skip the other tests (3.6 name of postscreen_dnsbl_whitelist_threshold).",
		refPostscrn},
	{"postscreen_greet_action", "ignore",
		"What to do with clients that talk before the greeting.",
		refPostscrn},
	{"postscreen_upstream_proxy_protocol", "",
		"haproxy in front of postscreen: the client address comes from the PROXY header.",
		refHaproxy},
	{"postscreen_tls_security_level", "$smtpd_tls_security_level",
		"STARTTLS in postscreen's own SMTP engine.",
		refPostscrn},
	{"postscreen_use_tls", "$smtpd_use_tls",
		"Obsolete form of postscreen_tls_security_level = may.",
		refPostscrn},
	{"postscreen_enforce_tls", "$smtpd_enforce_tls",
		"Obsolete form of postscreen_tls_security_level = encrypt.",
		refPostscrn},
	{"postscreen_pipelining_enable", "no",
		"Deep protocol test: pipelining.",
		refPostscrn},
	{"postscreen_non_smtp_command_enable", "no",
		"Deep protocol test: non-SMTP commands.",
		refPostscrn},
	{"postscreen_bare_newline_enable", "no",
		"Deep protocol test: bare newlines.",
		refPostscrn},
	{"postscreen_disable_vrfy_command", "$disable_vrfy_command",
		"VRFY in postscreen's own SMTP engine.",
		refPostscrn},
	{"postscreen_greet_banner", "$smtpd_banner",
		"Text of postscreen's 220- pre-greeting.",
		refPostscrn},
	{"postscreen_discard_ehlo_keywords", "$smtpd_discard_ehlo_keywords",
		"EHLO keywords postscreen's SMTP engine hides.",
		refPostscrn},
}

var curatedIndex = func() map[string]int {
	m := make(map[string]int, len(curated))
	for i, p := range curated {
		m[p.Name] = i
	}
	return m
}()

// Curated returns the hand-written table of parameters that pfaudit's relay,
// SASL/TLS and exposure checks read, in a stable order (grouped by topic).
// The slice is a copy.
func Curated() []Param { return slices.Clone(curated) }

// CuratedParam returns the curated entry for name.
func CuratedParam(name string) (Param, bool) {
	i, ok := curatedIndex[name]
	if !ok {
		return Param{}, false
	}
	return curated[i], true
}
