#!/usr/bin/env bash
# Times `pfaudit audit --no-probe` end to end (process start, reading,
# postconf -d defaults from the cache after a first run, relay model, every
# rule, rendering) on the bundled configurations. Target: well under 20 ms
# for a typical configuration. Uses hyperfine when installed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-50}
bin=$(mktemp -d)/pfaudit
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/pfaudit
for cfg in testdata/configs/debian-stock testdata/configs/mx-dovecot testdata/configs/tables; do
  "$bin" audit --no-probe -c "$cfg" >/dev/null || true # warm the postconf -d cache
  if command -v hyperfine >/dev/null; then
    hyperfine -N -i --warmup 3 --runs "$runs" "$bin audit --no-probe -c $cfg"
  else
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do "$bin" audit --no-probe -c "$cfg" >/dev/null || true; done
    end=$(date +%s%N)
    echo "$cfg: $(( (end - start) / runs / 1000 )) µs per audit (mean of $runs)"
  fi
done
