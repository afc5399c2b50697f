package defaults

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeNet is a host with the given interface addresses (already in kernel
// order) and /etc/hosts entries.
func fakeNet(addrs []string, hosts map[string][]string, ipv6 bool) netEnv {
	var local []netip.Prefix
	for _, a := range addrs {
		local = append(local, netip.MustParsePrefix(a))
	}
	return netEnv{
		local: func(fams []family) ([]netip.Prefix, error) {
			var out []netip.Prefix
			for _, f := range fams {
				for _, p := range local {
					if p.Addr().Is4() == (f == familyIPv4) {
						out = append(out, p)
					}
				}
			}
			return out, nil
		},
		resolve: func(_ context.Context, network, host string) ([]netip.Addr, error) {
			var out []netip.Addr
			for _, a := range hosts[host] {
				ip := netip.MustParseAddr(a)
				if network == "ip" || (network == "ip4") == ip.Is4() {
					out = append(out, ip)
				}
			}
			if len(out) == 0 {
				return nil, errors.New("no such host")
			}
			return out, nil
		},
		ipv6: func() bool { return ipv6 },
	}
}

func TestMynetworksUnit(t *testing.T) {
	// Kernel order as this VM lists it: lo, eth0; IPv6 by interface.
	vm := []string{"127.0.0.1/8", "192.0.2.2/24", "::1/128", "fd00::2/64", "fe80::fc:ff:fe00:1/64"}
	odd := []string{
		"127.0.0.1/8", "10.1.2.3/12", "2.0.0.1/8", "1.0.0.2/16", "172.16.5.4/20", "192.168.7.9/30",
		"224.1.2.3/4", "10.9.9.9/32", "2001:db8:ff::1/127", "2001:db8:1:2::5/56", "::1/128",
	}
	hosts := map[string][]string{
		"vm":        {"127.0.0.1"},
		"localhost": {"127.0.0.1", "::1"},
		"dual":      {"192.0.2.2", "fd00::2"},
	}
	tests := []struct {
		name  string
		addrs []string
		opts  NetworkOptions
		ipv6  bool
		want  string
		err   string
	}{
		{name: "subnet", addrs: vm, opts: NetworkOptions{"subnet", "all", "all"},
			want: "127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 [fe80::]/64"},
		{name: "host", addrs: vm, opts: NetworkOptions{"host", "all", "all"},
			want: "127.0.0.1/32 192.0.2.2/32 [::1]/128 [fd00::2]/128 [fe80::fc:ff:fe00:1]/128"},
		{name: "class", addrs: vm, opts: NetworkOptions{"class", "all", "all"},
			want: "127.0.0.0/8 192.0.2.0/24 [::1]/128 [fd00::]/64 [fe80::]/64"},
		{name: "class A B C D, odd prefixes", addrs: odd, opts: NetworkOptions{"class", "all", "all"},
			want: "127.0.0.0/8 10.0.0.0/8 2.0.0.0/8 1.0.0.0/8 172.16.0.0/16 192.168.7.0/24 224.0.0.0/4 [2001:db8:ff::]/127 [2001:db8:1::]/56 [::1]/128"},
		{name: "subnet odd prefixes, duplicates dropped", addrs: odd, opts: NetworkOptions{"subnet", "all", "all"},
			want: "127.0.0.0/8 10.0.0.0/12 2.0.0.0/8 1.0.0.0/16 172.16.0.0/20 192.168.7.8/30 224.0.0.0/4 10.9.9.9/32 [2001:db8:ff::]/127 [2001:db8:1::]/56 [::1]/128"},
		{name: "class E is fatal", addrs: []string{"240.0.0.1/8"}, opts: NetworkOptions{"class", "all", "ipv4"},
			err: "unknown address class: 240.0.0.1"},
		{name: "ipv4 only", addrs: vm, opts: NetworkOptions{"subnet", "all", "ipv4"}, want: "127.0.0.0/8 192.0.2.0/24"},
		{name: "ipv6 only", addrs: vm, opts: NetworkOptions{"subnet", "all", "ipv6"}, want: "[::1]/128 [fd00::]/64 [fe80::]/64"},
		{name: "protocol list", addrs: vm, opts: NetworkOptions{"host", "all", "ipv6, ipv4"},
			want: "127.0.0.1/32 192.0.2.2/32 [::1]/128 [fd00::2]/128 [fe80::fc:ff:fe00:1]/128"},
		{name: "all without kernel IPv6", addrs: vm, opts: NetworkOptions{"subnet", "all", "all"}, ipv6: false, want: "127.0.0.0/8 192.0.2.0/24"},
		{name: "ipv6 without kernel IPv6", addrs: vm, opts: NetworkOptions{"subnet", "all", "ipv6"}, ipv6: false, err: "IPv6 support is disabled"},
		{name: "no protocols", addrs: vm, opts: NetworkOptions{"bogus", "all", ""}, want: ""},
		{name: "protocols are case-sensitive", addrs: vm, opts: NetworkOptions{"host", "all", "IPv4"},
			err: `unknown inet_protocols value "IPv4" in "IPv4"`},
		{name: "style is case-sensitive", addrs: vm, opts: NetworkOptions{"HOST", "all", "all"},
			err: `unknown mynetworks mask style value "HOST" in "HOST"`},
		{name: "two styles", addrs: vm, opts: NetworkOptions{"host subnet", "all", "all"},
			err: "bad mynetworks_style value: host subnet; specify exactly one value"},
		{name: "no style", addrs: vm, opts: NetworkOptions{"", "all", "all"}, err: "specify exactly one value"},
		{name: "same style twice", addrs: vm, opts: NetworkOptions{"host,host", "all", "ipv4"}, want: "127.0.0.1/32 192.0.2.2/32"},
		{name: "loopback-only", addrs: vm, opts: NetworkOptions{"host", "loopback-only", "all"}, want: "127.0.0.1/32 [::1]/128"},
		{name: "loopback-only keeps all of 127/8", addrs: []string{"127.0.0.1/8", "127.1.2.3/16", "10.0.0.1/8"},
			opts: NetworkOptions{"subnet", "loopback-only", "all"}, want: "127.0.0.0/8 127.1.0.0/16"},
		{name: "no interfaces", addrs: nil, opts: NetworkOptions{"host", "all", "all"},
			err: "could not find any active network interfaces"},
		{name: "listed interfaces are sorted and deduplicated", addrs: vm,
			opts: NetworkOptions{"subnet", "192.0.2.2 127.0.0.1, [::1] 127.0.0.1", "all"},
			want: "127.0.0.0/8 192.0.2.0/24 [::1]/128"},
		{name: "sort quirk: network-order words compared as native integers", addrs: odd,
			opts: NetworkOptions{"class", "2.0.0.1 1.0.0.2 10.1.2.3 ::1", "all"},
			want: "2.0.0.0/8 1.0.0.0/8 10.0.0.0/8 [::1]/128"},
		{name: "host names", addrs: vm, opts: NetworkOptions{"host", "vm dual", "all"},
			want: "127.0.0.1/32 192.0.2.2/32 [fd00::2]/128"},
		{name: "host names limited to the protocols", addrs: vm, opts: NetworkOptions{"host", "localhost", "ipv4"},
			want: "127.0.0.1/32"},
		{name: "link-local with zone", addrs: vm, opts: NetworkOptions{"subnet", "fe80::fc:ff:fe00:1%eth0", "all"},
			want: "[fe80::]/64"},
		{name: "empty interface list", addrs: vm, opts: NetworkOptions{"subnet", "", "all"}, want: ""},
		{name: "unknown host", addrs: vm, opts: NetworkOptions{"host", "nosuch", "all"},
			err: "config variable inet_interfaces: host not found: nosuch"},
		{name: "address of a disabled family", addrs: vm, opts: NetworkOptions{"host", "127.0.0.1", "ipv6"},
			err: "host not found: 127.0.0.1"},
		{name: "ALL is a host name", addrs: vm, opts: NetworkOptions{"host", "ALL", "all"},
			err: "host not found: ALL"},
		{name: "not a local address", addrs: vm, opts: NetworkOptions{"host", "10.9.9.9", "all"},
			err: "parameter inet_interfaces: no local interface found for 10.9.9.9"},
		{name: "IPv4-compatible address printed like glibc", addrs: []string{"::102:304/120"},
			opts: NetworkOptions{"subnet", "all", "ipv6"}, want: "[::1.2.3.0]/120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ipv6 := tt.ipv6 || !strings.Contains(tt.name, "without kernel IPv6")
			got, err := mynetworksWith(context.Background(), tt.opts, fakeNet(tt.addrs, hosts, ipv6))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSortUniq checks the glibc merge order on input where the comparison
// is not transitive: 10.0.0.200 < 10.0.0.1 (the difference wraps),
// 10.0.0.1 < 10.0.0.100 < 10.0.0.200.
func TestSortUniq(t *testing.T) {
	in := []netip.Addr{
		netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.200"),
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1"),
	}
	// msort: [100 ::1 1] → [1 100 ::1]; [200 1 fd00::1] → [200 1 fd00::1]
	// (200 < 1). Merge: 1 vs 200 → 200; 1 vs 1 → 1 (left); 100 vs 1 → 1;
	// 100 vs fd00::1 → 100; ::1; fd00::1. Then the duplicate 1 goes.
	want := []string{"10.0.0.200", "10.0.0.1", "10.0.0.100", "::1", "fd00::1"}
	var got []string
	for _, a := range sortUniq(in) {
		got = append(got, a.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("sortUniq = %q, want %q", got, want)
	}
	if cmpAddr(netip.MustParseAddr("10.0.0.200"), netip.MustParseAddr("10.0.0.1")) >= 0 {
		t.Error("cmpAddr does not wrap like Postfix's int subtraction")
	}
}

// mynetworksCases are main.cf settings whose computed mynetworks is
// compared with `postconf -x mynetworks`. They only use addresses that
// every host has (loopback) or reads from the host's own interfaces.
var mynetworksCases = []map[string]string{
	{},
	{"mynetworks_style": "host"},
	{"mynetworks_style": "subnet"},
	{"mynetworks_style": "class"},
	{"compatibility_level": "0"},
	{"compatibility_level": "1"},
	{"compatibility_level": "2"},
	{"compatibility_level": "3.6"},
	{"compatibility_level": "2", "mynetworks_style": "subnet"},
	{"mynetworks_style": "host,"},
	{"mynetworks_style": "HOST"},
	{"mynetworks_style": "host subnet"},
	{"mynetworks_style": ""},
	{"inet_protocols": "ipv4"},
	{"inet_protocols": "ipv6"},
	{"inet_protocols": "ipv6, ipv4"},
	{"inet_protocols": ""},
	{"inet_protocols": "IPv4"},
	{"inet_interfaces": "loopback-only"},
	{"inet_interfaces": "loopback-only", "mynetworks_style": "host"},
	{"inet_interfaces": "127.0.0.1"},
	{"inet_interfaces": "[127.0.0.1]"},
	{"inet_interfaces": "[::1]", "mynetworks_style": "host"},
	{"inet_interfaces": "::1, 127.0.0.1 127.0.0.1"},
	{"inet_interfaces": "127.0.0.1", "inet_protocols": "ipv6"},
	{"inet_interfaces": "localhost"},
	{"inet_interfaces": ""},
	{"inet_interfaces": "ALL"},
	{"inet_interfaces": "192.0.2.254"},
}

// compareMynetworks runs every case through postconf and Live. postconf
// sleeps a second before dying of a fatal error, so all postconf runs go
// first, concurrently.
func compareMynetworks(t *testing.T, pc string, cases []map[string]string) {
	t.Helper()
	type answer struct {
		value string
		err   error
	}
	answers := make([]answer, len(cases))
	var wg sync.WaitGroup
	for i, settings := range cases {
		dir := configDir(t, mainCFText(settings))
		wg.Go(func() {
			v, err := postconfValue(t, pc, "mynetworks", "-c", dir, "-x")
			answers[i] = answer{v, err}
		})
	}
	wg.Wait()
	for i, settings := range cases {
		name := mainCFText(settings)
		if name == "" {
			name = "empty main.cf"
		}
		t.Run(name, func(t *testing.T) {
			want, perr := answers[i].value, answers[i].err
			got, err := Builtin().Live(context.Background(), "mynetworks", mainCFLookup(settings))
			switch {
			case perr != nil && err != nil:
				msg := perr.Error()
				if _, after, ok := strings.Cut(msg, "fatal: "); ok {
					msg = after
				}
				if !strings.Contains(err.Error(), msg) {
					t.Errorf("different errors:\npostconf: %v\npfaudit:  %v", perr, err)
				}
			case perr != nil:
				t.Errorf("postconf fails (%v), pfaudit says %q", perr, got)
			case err != nil:
				t.Errorf("postconf says %q, pfaudit fails: %v", want, err)
			case got != want:
				t.Errorf("postconf: %q\npfaudit:  %q", want, got)
			}
		})
	}
}

// TestMynetworksMatchesPostconf compares with postconf on this host.
func TestMynetworksMatchesPostconf(t *testing.T) {
	pc := needPostconf(t)
	compareMynetworks(t, pc, mynetworksCases)
	// With an interface address of this host.
	local, err := localAddrs([]family{familyIPv4, familyIPv6})
	if err != nil {
		t.Fatal(err)
	}
	var extra []map[string]string
	for _, p := range local {
		a := p.Addr().WithZone("")
		if !a.IsLoopback() && !a.IsLinkLocalUnicast() {
			extra = append(extra,
				map[string]string{"inet_interfaces": a.String()},
				map[string]string{"inet_interfaces": a.String() + " 127.0.0.1", "mynetworks_style": "host"})
		}
	}
	compareMynetworks(t, pc, extra)
}

// The network-namespace test re-runs this test binary inside
// `unshare --net`, where it may add addresses to lo freely.
const nsChildEnv = "PFAUDIT_DEFAULTS_NETNS_CHILD"

// TestMynetworksNetns builds interface layouts that this host does not
// have (secondary addresses, class B/C/D, odd IPv6 prefixes, the sort quirk,
// a downed interface) in a private network namespace and compares with
// postconf there.
func TestMynetworksNetns(t *testing.T) {
	if os.Getenv(nsChildEnv) == "1" {
		netnsChild(t)
		return
	}
	pc := needPostconf(t)
	_ = pc
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for network namespaces")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		skipOrFail(t, "needs unshare(1): %v", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "needs ip(8): %v", err)
	}
	args := []string{"--net", "--", os.Args[0], "-test.run=^TestMynetworksNetns$", "-test.v"}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), nsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("namespace run:\n%s", out)
	if err != nil {
		t.Fatalf("test in network namespace failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: TestMynetworksNetns") {
		t.Fatal("namespace run did not pass")
	}
}

func netnsChild(t *testing.T) {
	pc := needPostconf(t)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	// Loopback down: no interface is up.
	compareMynetworks(t, pc, []map[string]string{{}})
	ip("link", "set", "lo", "up")
	for _, a := range []string{"10.1.2.3/12", "2.0.0.1/8", "1.0.0.2/16", "172.16.5.4/20", "192.168.7.9/30", "224.1.2.3/4", "10.0.0.200/24", "10.0.0.1/24"} {
		ip("addr", "add", a, "dev", "lo")
	}
	for _, a := range []string{"2001:db8:1:2::5/56", "2001:db8:ff::1/127", "::102:304/120"} {
		ip("-6", "addr", "add", a, "dev", "lo")
	}
	cases := slices.Clone(mynetworksCases)
	cases = append(cases,
		map[string]string{"inet_interfaces": "2.0.0.1 1.0.0.2 10.1.2.3 ::1", "mynetworks_style": "class"},
		map[string]string{"inet_interfaces": "10.0.0.1 10.0.0.200 2.0.0.1"},
		map[string]string{"inet_interfaces": "10.0.0.200, 1.0.0.2 10.0.0.1 172.16.5.4", "mynetworks_style": "host"},
		map[string]string{"inet_interfaces": "[2001:db8:1:2::5] 2001:db8:ff::1"},
		map[string]string{"inet_interfaces": "224.1.2.3", "mynetworks_style": "class"},
	)
	compareMynetworks(t, pc, cases)
}

func BenchmarkMynetworks(b *testing.B) {
	opts := NetworkOptions{"subnet", "all", "all"}
	for b.Loop() {
		if _, err := Mynetworks(context.Background(), opts); err != nil {
			b.Fatal(err)
		}
	}
}
