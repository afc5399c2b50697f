#!/bin/sh
# bench-nmap.sh: compare pfaudit's relay probe with nmap's smtp-open-relay.
#
# Usage: scripts/bench-nmap.sh [HOST:PORT ...]
#
# Without arguments it starts private lab Postfix instances (audit/lab:
# root and Postfix needed) - strict, 3.6 defaults, open, trust-none, a
# closed server with Postfix's default tarpit, postscreen - and stops them
# afterwards. With arguments it uses those listeners instead. For each it
# runs
#     nmap -n -Pn -p PORT --script +smtp-open-relay HOST
# and the probe from the same (loopback) vantage, and prints both verdicts,
# both times and the ratio, plus the probe's untrusted (auto) verdict.
# Only point it at servers you may probe.
set -eu
cd "$(dirname "$0")/.."
command -v nmap >/dev/null 2>&1 || { echo "bench-nmap: nmap not found" >&2; exit 2; }
targets=""
for t in "$@"; do
	targets="${targets:+$targets,}$t"
done
PFAUDIT_BENCH_TARGETS="$targets" exec go test -tags nmapbench -run '^TestNmapComparison$' \
	-count=1 -v -timeout 30m ./audit/probe 2>&1 |
	grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS$' -e 'lab: .* started in'
