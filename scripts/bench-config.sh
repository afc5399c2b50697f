#!/usr/bin/env bash
# Times `pfaudit config -c DIR -x PARAMS` against `postconf -c DIR -x PARAMS`
# on the same files: a typical configuration (testdata/configs/mx-dovecot)
# and a large one generated here (5,000-line main.cf, 500 master.cf
# services, a 10,000-entry mynetworks file named as /file/name), and
# prints the mean wall time of each and their ratio.
#
# Usage: scripts/bench-config.sh [RUNS]   (default 20 runs per command)
# Uses hyperfine when installed, else a loop timed with date +%s%N.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
postconf=$(command -v postconf || true)
[ -n "$postconf" ] || for p in /usr/sbin/postconf /usr/local/sbin/postconf; do [ -x "$p" ] && postconf=$p && break; done
[ -n "$postconf" ] || { echo "bench-config.sh: postconf not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/pfaudit" ./cmd/pfaudit

typical=$(cd testdata/configs/mx-dovecot && pwd)
large=$work/large
mkdir -p "$large"
awk -v dir="$large" 'BEGIN {
	for (i = 0; i < 10000; i++) printf "10.%d.%d.0/24\n", int(i / 256), i % 256 > dir "/mynetworks"
	m = dir "/main.cf"
	print "# large main.cf" > m
	print "compatibility_level = 3.6" > m
	print "myhostname = mx.example.com" > m
	print "mynetworks = 127.0.0.0/8 [::1]/128 " dir "/mynetworks" > m
	print "smtpd_relay_restrictions = permit_mynetworks, $extra_relay_0, reject_unauth_destination" > m
	lines = 5
	for (i = 0; lines < 5000; i++) {
		if (i % 4 == 0) {
			next_ = (i % 80 == 76) ? "permit" : "$extra_relay_" (i + 4)
			printf "extra_relay_%d = check_client_access cidr:/etc/postfix/c%d.cidr, %s\n", i, i, next_ > m
			lines++
		} else if (i % 4 == 1) {
			printf "# comment %d\nuser_list_%d = a%d,\n    b%d\n    # inner comment\n    c%d\n", i, i, i, i, i > m
			lines += 5
		} else if (i % 4 == 2) {
			printf "cond_%d = ${user_list_%d?{$user_list_%d}:{none}} ${{$compatibility_level} <level {2} ? {old} : {new}}\n", i, i - 1, i - 1 > m
			lines++
		} else {
			printf "plain_%d = value %d\n", i, i > m
			lines++
		}
	}
	print "extra_relay_0 = permit_sasl_authenticated" > m
	ms = dir "/master.cf"
	for (i = 0; i < 500; i++) {
		if (i % 3 == 0)
			printf "127.0.0.%d:%d inet n - n - - smtpd\n  -o syslog_name=postfix/$service_name\n  -o { smtpd_client_restrictions = permit_mynetworks, $extra_relay_%d }\n", i % 250 + 1, 10000 + i, 4 * (i % 100) > ms
		else if (i % 3 == 1)
			printf "transport%d unix - - n - - smtp -o smtp_helo_name=$myhostname\n", i > ms
		else
			printf "pipe%d unix - n n - - pipe flags=R user=nobody argv=/bin/cat ${recipient}\n", i > ms
	}
}'
# postconf waits for files changed in the last second or two to settle.
touch -d '-1 hour' "$large"/*

params="mynetworks relay_domains smtpd_relay_restrictions smtpd_recipient_restrictions mydestination smtpd_client_restrictions cond_2 extra_relay_0"

# mean_ms CMD... prints the mean wall time of CMD in milliseconds.
mean_ms() {
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -w 2 -r "$runs" --export-json "$work/h.json" "$(printf '%q ' "$@")" >/dev/null 2>&1
		awk '/"mean"/ { gsub(/[^0-9.e-]/, "", $2); printf "%.2f\n", $2 * 1000; exit }' "$work/h.json"
		return
	fi
	"$@" >/dev/null 2>&1 || true # warm-up
	local start end
	start=$(date +%s%N)
	for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1 || true; done
	end=$(date +%s%N)
	awk -v ns=$((end - start)) -v n="$runs" 'BEGIN { printf "%.2f\n", ns / n / 1e6 }'
}

printf '%-8s %-28s %10s\n' config command "mean ms"
for name in typical large; do
	dir=${!name}
	# shellcheck disable=SC2086
	p=$(mean_ms "$postconf" -c "$dir" -x $params)
	# shellcheck disable=SC2086
	a=$(mean_ms "$work/pfaudit" config -q -c "$dir" -x $params)
	# shellcheck disable=SC2086
	b=$(mean_ms "$work/pfaudit" config -q --defaults builtin -c "$dir" -x $params)
	printf '%-8s %-28s %10s\n' "$name" "postconf -x" "$p"
	printf '%-8s %-28s %10s\n' "$name" "pfaudit config -x" "$a"
	printf '%-8s %-28s %10s\n' "$name" "pfaudit config -x (built-in)" "$b"
	awk -v p="$p" -v a="$a" -v b="$b" -v n="$name" 'BEGIN { printf "%-8s ratio pfaudit/postconf: %.2f (built-in defaults: %.2f)\n", n, a / p, b / p }'
done
