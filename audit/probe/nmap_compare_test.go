//go:build nmapbench

package probe

// The nmap comparison behind scripts/bench-nmap.sh. Not part of the test
// suite (build tag nmapbench): it runs nmap, which takes minutes against a
// tarpit.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pfaudit/pfaudit/audit/lab"
)

type benchTarget struct {
	name, addr string
}

// nmapVerdict runs nmap's smtp-open-relay script against addr.
func nmapVerdict(addr string) (verdict string, took time.Duration, detail string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "error", 0, err.Error()
	}
	args := []string{"-n", "-Pn", "-p", port, "--script", "+smtp-open-relay",
		"--script-args", "smtp-open-relay.domain=" + DefaultTestDomain}
	if strings.Contains(host, ":") {
		args = append(args, "-6")
	}
	args = append(args, host)
	start := time.Now()
	out, err := exec.Command("nmap", args...).CombinedOutput()
	took = time.Since(start)
	text := string(out)
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "smtp-open-relay:") {
			detail = strings.TrimSpace(strings.TrimLeft(l, "|_ "))
		}
	}
	switch {
	case err != nil:
		return "error", took, err.Error()
	case strings.Contains(text, "Server is an open relay"):
		return VerdictOpen, took, detail
	case strings.Contains(text, "doesn't seem to be an open relay"):
		return VerdictClosed, took, detail
	case detail == "":
		return VerdictError, took, "no smtp-open-relay output"
	}
	return VerdictUnknown, took, detail
}

func TestNmapComparison(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Fatal("nmap not found")
	}
	var targets []benchTarget
	if env := os.Getenv("PFAUDIT_BENCH_TARGETS"); env != "" {
		for _, a := range strings.Split(env, ",") {
			targets = append(targets, benchTarget{a, a})
		}
	} else {
		for _, p := range []struct {
			name string
			opt  lab.Options
		}{
			{"strict", lab.Strict()},
			{"defaults36", lab.Defaults36()},
			{"open", lab.Open()},
			{"trust-none", lab.TrustNone()},
			{"closed-tarpit", closedTarpit()},
			{"postscreen", lab.Postscreen()},
		} {
			in := lab.Start(t, p.opt)
			targets = append(targets, benchTarget{p.name, in.Addr()})
		}
	}
	fmt.Printf("\n%-15s %-22s | %-8s %8s | %-8s %8s %7s | %s\n", "instance", "address",
		"nmap", "time", "probe", "time", "ratio", "probe auto (untrusted)")
	for _, tg := range targets {
		nv, nt, detail := nmapVerdict(tg.addr)
		start := time.Now()
		rep, err := Run(context.Background(), Options{Targets: []string{tg.addr}, Vantage: VantageLoopback, Timeout: 5 * time.Minute})
		pt := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		pv := rep.Targets[0].Vantages[0].Verdict
		auto := "-"
		if rep, err := Run(context.Background(), Options{Targets: []string{tg.addr}, Vantage: VantageAuto, Timeout: 5 * time.Minute}); err == nil {
			v := rep.Targets[0].Vantages[0]
			auto = v.Vantage + ": " + v.Verdict
		}
		fmt.Printf("%-15s %-22s | %-8s %7.2fs | %-8s %7.3fs %6.2gx | %s\n", tg.name, tg.addr,
			nv, nt.Seconds(), pv, pt.Seconds(), nt.Seconds()/pt.Seconds(), auto)
		fmt.Printf("%-15s   nmap: %s\n", "", detail)
	}
	fmt.Println("\nnmap and the probe's loopback vantage see the server as the same local client;",
		"'probe auto' is the untrusted view (XCLIENT).")
}
