package lab

// Ready-made instances (shared/reference/postfix-lab.md, "Useful
// profiles"). Each returns fresh Options that the caller may change; all
// authorise XCLIENT from loopback so that a test can ask as an untrusted
// client (XCLIENT ADDR=203.0.113.5), and all use the fast error settings
// except Tarpit.

// Defaults36 is compatibility_level = 3.6 with Postfix's defaults:
// smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
// defer_unauth_destination and mynetworks_style = host. Loopback relays,
// an untrusted client gets 454 4.7.1.
func Defaults36() Options {
	return Options{Label: "defaults36", XCLIENT: true}
}

// Strict refuses relay with reject_unauth_destination: 554 5.7.1 for an
// untrusted client.
func Strict() Options {
	return Options{Label: "strict", XCLIENT: true, Main: []string{
		"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
	}}
}

// Open relays for everyone. A bare "permit" would make smtpd exit on every
// connection (no working guard, postconf(5) smtpd_relay_restrictions), so
// check_client_access static:OK stands before the guard instead.
func Open() Options {
	return Options{Label: "open", XCLIENT: true, Main: []string{
		"smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination",
	}}
}

// MynetworksAll trusts every IPv4 client: mynetworks = 0.0.0.0/0.
func MynetworksAll() Options {
	return Options{Label: "mynetworks-all", XCLIENT: true, Main: []string{
		"mynetworks = 0.0.0.0/0",
	}}
}

// Subnet trusts the server's own subnets: mynetworks_style = subnet and
// mynetworks unset. Meant for a namespace pair (set Options.Netns): with a
// /24 pair the client is trusted, with a point-to-point pair it is not.
func Subnet() Options {
	return Options{Label: "subnet", XCLIENT: true, Main: []string{
		"mynetworks_style = subnet",
	}}
}

// TrustNone has an empty mynetworks: even a loopback client is untrusted
// and refused (454 4.7.1, the 3.6 default defer_unauth_destination), so
// tools that cannot impersonate an outsider see it as one.
func TrustNone() Options {
	return Options{Label: "trust-none", XCLIENT: true, Main: []string{
		"mynetworks =",
	}}
}

// SubmissionOpen is a strict main listener plus a second listener named
// "submission" whose -o override relays for everyone, the classic master.cf
// mistake.
func SubmissionOpen() Options {
	o := Strict()
	o.Label = "submission-open"
	o.Listeners = []Listener{{Name: "submission", Args: []string{
		"-o smtpd_relay_restrictions=check_client_access,static:OK,reject_unauth_destination",
	}}}
	return o
}

// Postscreen puts postscreen(8) in front of a strict smtpd. Its
// postscreen_access_list is empty so that a loopback client meets
// postscreen as an Internet client does: on first contact it gets "220-"
// and must wait postscreen_greet_wait (6s) for the final 220.
func Postscreen() Options {
	o := Strict()
	o.Label = "postscreen"
	o.Postscreen = true
	o.Main = append(o.Main, "postscreen_access_list =")
	return o
}

// Tarpit is Strict with Postfix's default error handling: after
// smtpd_soft_error_limit (10) errors every reply waits
// smtpd_error_sleep_time (1s), and at smtpd_hard_error_limit (20) smtpd
// says 421 and hangs up.
func Tarpit() Options {
	o := Strict()
	o.Label = "tarpit"
	o.Tarpit = true
	return o
}
