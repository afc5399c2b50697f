//go:build linux

package netns

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"
)

// requireRoot skips without the means to make namespaces, and fails
// instead under CI=true.
func requireRoot(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("network namespaces are required under CI: %v", err)
		}
		t.Skipf("network namespaces unavailable: %v", err)
	}
}

func TestPickPair(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"198.18.0.0/15", true},
		{"10.99.0.0/24", true},
		{"192.0.2.0/30", true},
		{"192.0.2.0/31", false},
		{"fd70:6661:7564::/64", true},
		{"2001:db8::/126", true},
	}
	for _, tc := range tests {
		p := netip.MustParsePrefix(tc.prefix)
		for range 50 {
			h, q, err := pickPair(p, false)
			if (err == nil) != tc.ok {
				t.Fatalf("%s: error %v, want ok=%v", p, err, tc.ok)
			}
			if err != nil {
				break
			}
			if !p.Contains(h) || !p.Contains(q) || h.Next() != q {
				t.Fatalf("%s: pair %s %s", p, h, q)
			}
			if h.As16()[15]%2 != 0 {
				t.Fatalf("%s: host address %s is not the even one of its pair", p, h)
			}
			if h == p.Addr() {
				t.Fatalf("%s: pair starts at the network address", p)
			}
		}
	}
}

func TestAddOffset(t *testing.T) {
	for _, tc := range []struct {
		a    string
		off  uint64
		want string
	}{
		{"198.18.0.0", 2, "198.18.0.2"},
		{"198.18.0.0", 256, "198.18.1.0"},
		{"198.18.255.254", 2, "198.19.0.0"},
		{"fd00::", 0x10001, "fd00::1:1"},
	} {
		if got := addOffset(netip.MustParseAddr(tc.a), tc.off); got.String() != tc.want {
			t.Errorf("addOffset(%s, %d) = %s, want %s", tc.a, tc.off, got, tc.want)
		}
	}
}

func TestRemoveStale(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("%s%d-1", namePrefix, cmd.Process.Pid)
	if err := ip("netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip("netns", "del", stale) })
	removeStale()
	if _, err := os.Stat("/run/netns/" + stale); err == nil {
		t.Fatalf("stale namespace %s of a dead process survived", stale)
	}
}

// TestRemoveStaleReusedPID: a namespace named for a live PID whose start
// time differs (the PID was reused after the owner died) is stale; one
// whose start time matches belongs to a running probe and stays.
func TestRemoveStaleReusedPID(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	tag := startTag(pid)
	if tag == "" {
		t.Fatal("no start time for a running process")
	}
	for _, tt := range []struct {
		name  string
		stale bool
	}{
		{fmt.Sprintf("%s%d-%s-1", namePrefix, pid, tag), false},
		{fmt.Sprintf("%s%d-%s-2", namePrefix, pid, tag+"0"), true},
	} {
		if err := ip("netns", "add", tt.name); err != nil {
			t.Fatal(err)
		}
		name := tt.name
		t.Cleanup(func() { ip("netns", "del", name) })
	}
	removeStale()
	for _, tt := range []struct {
		name  string
		stale bool
	}{
		{fmt.Sprintf("%s%d-%s-1", namePrefix, pid, tag), false},
		{fmt.Sprintf("%s%d-%s-2", namePrefix, pid, tag+"0"), true},
	} {
		_, err := os.Stat("/run/netns/" + tt.name)
		if gone := err != nil; gone != tt.stale {
			t.Errorf("%s: removed=%v, want %v", tt.name, gone, tt.stale)
		}
	}
}
