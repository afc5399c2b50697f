#!/usr/bin/env bash
# Times `pfaudit fleet` end to end (process start, discovery, reading and
# hashing every host's dumps, the analyses, rendering, writing) on
# generated fleets of collected `postconf -n`/`postconf -M` dumps:
#   - 10,000 hosts drawn from 50 distinct configurations (goal: < 2 s on a
#     2-core machine);
#   - 2,000 hosts that are all distinct (goal: >= 2,000 distinct hosts/s).
# Variants are the bundled configurations (testdata/configs) with their own
# myhostname, so they are distinct effective configurations. Reports wall
# time, CPU time (user+sys; on a shared machine the wall time depends on
# the other load) and the maximum resident set size.
# HOSTS, DISTINCT and FORMATS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/pfaudit" ./cmd/pfaudit

configs=(content-filter debian-stock docker-wide legacy-2.9 mx-dovecot null-client postscreen tables)

# make_fleet DIR HOSTS DISTINCT: only shell builtins in the loop (no fork
# per file), so that 10,000 hosts take seconds to write.
make_fleet() {
  local dir=$1 hosts=$2 distinct=$3 v n h d
  local -a vn vm
  for ((v = 0; v < distinct; v++)); do
    local c=${configs[v % ${#configs[@]}]}
    n=$(<"testdata/configs/$c/postconf.n")
    if [[ $n == *$'\n'"myhostname = "* ]]; then
      n=${n/$'\n'myhostname = /$'\n'myhostname = v$v.}
    else
      n+=$'\n'"myhostname = v$v.example.org"
    fi
    vn[v]=$n
    vm[v]=$(<"testdata/configs/$c/postconf.M")
  done
  local -a dirs
  for ((h = 0; h < hosts; h++)); do
    printf -v 'dirs[h]' '%s/mx%05d' "$dir" "$h"
  done
  mkdir -p "${dirs[@]}"
  for ((h = 0; h < hosts; h++)); do
    d=${dirs[h]}
    printf '%s\n' "${vn[h % distinct]}" >"$d/postconf.n"
    printf '%s\n' "${vm[h % distinct]}" >"$d/postconf.M"
  done
}

run() { # NAME HOSTS DISTINCT FORMAT
  local name=$1 hosts=$2 distinct=$3 format=$4 t
  "$work/pfaudit" fleet --defaults builtin --format "$format" "$work/$name" >/dev/null 2>&1 || true # warm the page cache
  /usr/bin/time -o "$work/time" -f '%e %U %S %M' "$work/pfaudit" fleet --defaults builtin --format "$format" "$work/$name" >/dev/null 2>&1 || true
  # GNU time writes "Command exited with non-zero status 1" first: pfaudit
  # exits 1 when a finding reaches --fail-on, as these fleets' do.
  read -r wall user sys rss < <(tail -n 1 "$work/time")
  awk -v n="$name" -v f="$format" -v h="$hosts" -v d="$distinct" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" 'BEGIN {
    printf "%-9s %-6s %6d hosts (%5d distinct): %6.2f s wall, %6.2f s CPU, %8.0f hosts/s, %7.0f distinct/s, %6.1f MiB max RSS\n",
      n, f, h, d, w, u + s, h / w, d / w, r / 1024 }'
}

hosts=${HOSTS:-10000}
distinct=${DISTINCT:-50}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
mkdir -p "$work/fleet" "$work/distinct"
make_fleet "$work/fleet" "$hosts" "$distinct"
make_fleet "$work/distinct" 2000 2000
for f in ${FORMATS:-table json junit}; do
  run fleet "$hosts" "$distinct" "$f"
done
run distinct 2000 2000 table
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
