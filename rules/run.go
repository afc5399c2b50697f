package rules

import (
	"cmp"
	"slices"
	"strings"
)

// CheckFunc is a rule's logic: it returns the problems it sees, with
// Service, Parameter, File, Line, Message and Remediation filled in. Run
// adds ID, Title, Severity, Apply and Status from the catalogue and policy.
type CheckFunc func(c *Context) []Finding

// checks maps every catalogue ID to its check; TestCatalogueHasChecks keeps
// the two in step.
var checks = map[string]CheckFunc{
	// relay.go
	"PFA-RELAY-001": checkOpenRelay,
	"PFA-RELAY-002": checkBrokenListener,
	"PFA-RELAY-003": checkWouldRelayIfExposed,
	"PFA-RELAY-004": checkUnknownVerdict,
	"PFA-RELAY-005": checkMynetworksEveryone,
	"PFA-RELAY-006": checkMynetworksPublicBroad,
	"PFA-RELAY-007": checkMynetworksPrivateWide,
	"PFA-RELAY-008": checkMynetworksMistyped,
	"PFA-RELAY-009": checkMynetworksMalformed,
	"PFA-RELAY-010": checkMynetworksUnbracketed,
	"PFA-RELAY-011": checkMynetworksStyle,
	"PFA-RELAY-012": checkEmptyRelayRestrictions,
	"PFA-RELAY-013": checkAccessMapBeforeGuard,
	"PFA-RELAY-014": checkClassBeforeGuard,
	"PFA-RELAY-015": checkPolicyBeforeGuard,
	"PFA-RELAY-016": checkMXBackup,
	"PFA-RELAY-017": checkAllClientCerts,
	"PFA-RELAY-018": checkInetInterfacesPermit,
	"PFA-RELAY-019": checkUntrustedRouting,
	"PFA-RELAY-020": checkRelayDomainsEverything,
	"PFA-RELAY-021": checkXclientHosts,
	"PFA-RELAY-022": checkXforwardHosts,
	"PFA-RELAY-023": checkWeakeningOverride,
	"PFA-RELAY-024": checkReinjectionExposed,
	"PFA-RELAY-025": checkRelayDomainsRestriction,
	"PFA-RELAY-026": checkDeferOnlyGuard,
	// proxy.go
	"PFA-RELAY-027": checkProxyImpersonation,
	// exposure.go
	"PFA-EXP-001": checkSendOnlyExposed,
	"PFA-EXP-002": checkSASLOnPort25,
	"PFA-EXP-003": checkVRFY,
	"PFA-EXP-004": checkBanner,
	"PFA-EXP-005": checkSubmissionEncrypt,
	"PFA-EXP-006": checkSmtpsWrapper,
	"PFA-EXP-007": checkNonMXClientRestrictions,
	// auth.go
	"PFA-AUTH-001": checkTLSAuthOnly,
	"PFA-AUTH-002": checkNoAnonymous,
	"PFA-AUTH-003": checkBrokenSASLClients,
	"PFA-AUTH-004": checkSenderLoginBinding,
	"PFA-AUTH-005": checkTLSWithoutCert,
	"PFA-AUTH-006": checkLoginMismatchWithoutMaps,
	// hygiene.go
	"PFA-HYG-001": checkCompatibilityLevel,
	"PFA-HYG-002": checkUnusedParameter,
	"PFA-HYG-003": checkUnknownOverride,
	"PFA-HYG-004": checkUnknownRestriction,
	"PFA-HYG-005": checkRelayRecipientMaps,
	"PFA-HYG-006": checkUnlistedRecipient,
	"PFA-HYG-007": checkSoftBounce,
	"PFA-HYG-008": checkCommentInValue,
	"PFA-HYG-009": checkDuplicateAssignment,
	"PFA-HYG-010": checkUndefinedReference,
	"PFA-HYG-011": checkIgnoredStyle,
	"PFA-HYG-012": checkRelayAfterRecipient,
	// policy_checks.go
	"PFA-POL-001": checkPolicyNetworks,
	"PFA-POL-002": checkPolicyExpectations,
}

// Applies reports whether rule r runs for a host with the given roles: a
// rule without roles applies to every host.
func (r Rule) Applies(roles []string) bool {
	if len(r.Roles) == 0 {
		return true
	}
	for _, x := range r.Roles {
		if slices.Contains(roles, x) {
			return true
		}
	}
	return false
}

// Run runs every catalogue rule that applies to the host's roles and that
// the policy does not skip, and returns the findings, deduplicated and
// sorted by severity (highest first), rule ID, service, file and line.
// Each finding's claims and fix are checked against the relay model first
// (verify.go): a fix that does not verify is replaced by the reason.
//
// When c.Relay.Context is done Run stops at the next finding and returns
// what it has; the caller checks the context before it uses them.
func Run(c *Context) []Finding {
	roles := c.Roles()
	v := &verifier{c: c}
	var out []Finding
	// The catalogue itself, read only: Catalogue() copies it for callers
	// outside the package, 9 KB per audit.
	rules, _ := loadCatalogue()
	for _, r := range rules {
		if c.Relay.Cancelled() {
			// Stopped (c.Relay.Context): the caller reports the
			// interruption, not these findings.
			break
		}
		if c.Policy.skips(r.ID) || !r.Applies(roles) {
			continue
		}
		fn := checks[r.ID]
		if fn == nil {
			continue
		}
		fs := fn(c)
		seen := map[string]bool{}
		for _, f := range fs {
			// A finding the rule made twice is verified once (dedupe
			// would drop the copy anyway).
			if k := findingKey(f); seen[k] {
				continue
			} else {
				seen[k] = true
			}
			f.ID, f.Title = r.ID, r.Title
			if !f.severitySet {
				f.Severity = r.Severity
			}
			// The fix is verified against the finding as the rule wrote
			// it; then its words are checked.
			why := ""
			if c.Relay.Cancelled() {
				break
			}
			if len(f.Remediation) > 0 {
				why = v.verifyFix(f, fn, fs)
			}
			v.checkClaim(&f)
			if s, ok := c.Policy.severityFor(r.ID); ok {
				f.Severity = s
			}
			if why != "" {
				f.Message += "; " + noVerifiedFix + ": " + why
				f.Remediation = nil
			}
			if f.Apply == "" && len(f.Remediation) > 0 {
				f.Apply = r.applyValue()
			}
			if f.Status == "" {
				f.Status = StatusStatic
			}
			if f.Remediation == nil {
				f.Remediation = []string{}
			}
			out = append(out, f)
		}
	}
	out = dedupe(out)
	SortFindings(out)
	return out
}

func findingKey(f Finding) string {
	return strings.Join([]string{f.ID, f.Service, f.Parameter, f.File, itoa(f.Line), f.Message}, "\x00")
}

func dedupe(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		k := findingKey(f)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	return out
}

// SortFindings orders findings: highest severity first, then rule ID,
// service, file, line, parameter and message.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Parameter, b.Parameter),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
