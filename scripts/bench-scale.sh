#!/usr/bin/env bash
# Scaling of `pfaudit audit --no-probe` (and `pfaudit config -x`) in every
# input dimension: configurations of 1k, 16k, 256k and 1M entries written by
# internal/scalegen (mynetworks inline, one network repeated, a mynetworks
# /file, a cidr: access table, restriction list length, master.cf
# listeners, -o overrides of one listener, $name nesting), each run once
# with the built-in defaults; prints wall time, peak RSS and the growth
# factor from the previous size (×16 or ×4 is linear).
#
# pfaudit refuses a main.cf or master.cf larger than 4 MiB (no real one
# comes near): sizes whose files are larger are run by scripts/scaleaudit,
# the same audit in process without that bound, and marked '*'.
#
# Usage: scripts/bench-scale.sh            all dimensions and sizes
#        DIMS="mynetworks table" SIZES="1024 16384" scripts/bench-scale.sh
#        TIMEOUT=300 scripts/bench-scale.sh  (seconds per run, default 120)
# Listeners cost a full relay analysis each (about half a millisecond and
# 70 kB): that dimension stops at 16k unless SERVICES_MAX says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
dims=${DIMS:-"mynetworks mynetworks-repeat mynetworks-file table restrictions services overrides nesting"}
sizes=${SIZES:-"1024 16384 262144 1048576"}
timeout_s=${TIMEOUT:-120}
services_max=${SERVICES_MAX:-16384}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s build BIN="$work/pfaudit" >/dev/null
go build -o "$work/scalegen" ./scripts/scalegen
go build -o "$work/scaleaudit" ./scripts/scaleaudit
bound=$((4 << 20))

printf '%-18s %8s %10s %10s %8s %10s %10s\n' dimension entries "audit s" "audit MB" growth "config s" "config MB"
for dim in $dims; do
	prev=""
	for n in $sizes; do
		if [ "$dim" = services ] && [ "$n" -gt "$services_max" ]; then
			printf '%-18s %8s %10s\n' "$dim" "$n" "skipped (SERVICES_MAX=$services_max)"
			continue
		fi
		dir=$work/$dim-$n
		"$work/scalegen" "$dir" "$dim" "$n"
		run() {
			/usr/bin/time -o "$work/time" -f '%e %M' timeout "$timeout_s" "$@" >/dev/null 2>"$work/err" || true
			# Exit 1 is an audit with findings; anything else did not finish.
			if grep -q 'Command terminated' "$work/time" || grep -Eq 'non-zero status ([02-9]|1[0-9])' "$work/time"; then
				echo "run failed: $* ($(tail -1 "$work/time")): $(head -c 300 "$work/err")" >&2
			fi
			tail -1 "$work/time"
		}
		mark=" "
		if [ "$(stat -c %s "$dir/main.cf")" -gt "$bound" ] || [ "$(stat -c %s "$dir/master.cf")" -gt "$bound" ]; then
			mark="*"
			read -r at am <<<"$(run "$work/scaleaudit" audit "$dir")"
			read -r ct cm <<<"$(run "$work/scaleaudit" config "$dir")"
		else
			read -r at am <<<"$(run "$work/pfaudit" audit --no-probe --defaults builtin --color never -c "$dir")"
			read -r ct cm <<<"$(run "$work/pfaudit" config --defaults builtin -q -c "$dir" -x)"
		fi
		growth=-
		if [ -n "$prev" ]; then
			growth=$(awk -v a="$at" -v p="$prev" 'BEGIN { if (p > 0) printf "x%.1f", a / p; else print "-" }')
		fi
		prev=$at
		awk -v d="$dim" -v n="$n" -v at="$at" -v am="$am" -v g="$growth" -v ct="$ct" -v cm="$cm" -v mark="$mark" \
			'BEGIN { printf "%-18s %8d%s%10.2f %10.0f %8s %10.2f %10.0f\n", d, n, mark, at, am / 1024, g, ct, cm / 1024 }'
		rm -rf "$dir"
	done
done
echo "* files over 4 MiB, which pfaudit refuses: the same audit in process (scripts/scaleaudit)"
