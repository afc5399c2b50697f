#!/usr/bin/env bash
# Scaling of `pfaudit audit --no-probe` (and `pfaudit config -x`) in every
# input dimension: configurations of 1k, 16k, 256k and 1M entries written by
# internal/scalegen (mynetworks inline, one network repeated, a mynetworks
# /file, a cidr: access table, restriction list length, master.cf
# listeners, -o overrides of one listener, $name nesting), each run once
# with the built-in defaults; prints wall time, peak RSS and the growth
# factor from the previous size (×16 or ×4 is linear).
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
			/usr/bin/time -o "$work/time" -f '%e %M' timeout "$timeout_s" "$work/pfaudit" "$@" >/dev/null 2>&1 || true
			tail -1 "$work/time"
		}
		read -r at am <<<"$(run audit --no-probe --defaults builtin --color never -c "$dir")"
		read -r ct cm <<<"$(run config --defaults builtin -q -c "$dir" -x)"
		growth=-
		if [ -n "$prev" ]; then
			growth=$(awk -v a="$at" -v p="$prev" 'BEGIN { if (p > 0) printf "x%.1f", a / p; else print "-" }')
		fi
		prev=$at
		awk -v d="$dim" -v n="$n" -v at="$at" -v am="$am" -v g="$growth" -v ct="$ct" -v cm="$cm" \
			'BEGIN { printf "%-18s %8d %10.2f %10.0f %8s %10.2f %10.0f\n", d, n, at, am / 1024, g, ct, cm / 1024 }'
		rm -rf "$dir"
	done
done
