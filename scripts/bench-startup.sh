#!/usr/bin/env bash
# Start-up cost: `pfaudit config -x` and `pfaudit audit --no-probe` of a
# stock configuration against `postconf -x` of the same one (issue 8: no
# slower than postconf). The binary is built as `make build` builds it
# (static, CGO_ENABLED=0). Commands are run in alternating batches so that
# the load of a shared machine hits them alike; each line reports the
# median wall time of a batch per run, and the ratio to postconf -x.
#
# Where perf works, each command is also timed by perf stat -r (no shell
# loop around it), with its page faults.
#
# Usage: scripts/bench-startup.sh [ROUNDS [BATCH [CONFIG_DIR...]]]
#        (default 15 rounds of 10 runs on testdata/configs/debian-stock and,
#        when it exists, /etc/postfix)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}
batch=${2:-10}
shift $(( $# > 2 ? 2 : $# ))
dirs=("$@")
if [ ${#dirs[@]} -eq 0 ]; then
	dirs=("$PWD/testdata/configs/debian-stock")
	[ -f /etc/postfix/main.cf ] && dirs+=(/etc/postfix)
fi
postconf=$(command -v postconf || true)
[ -n "$postconf" ] || for p in /usr/sbin/postconf /usr/local/sbin/postconf; do [ -x "$p" ] && postconf=$p && break; done
[ -n "$postconf" ] || { echo "bench-startup.sh: postconf not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s build BIN="$work/pfaudit" >/dev/null
bin=$work/pfaudit
hello=$work/hello
mkdir "$work/h" && printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hello\\n") }\n' >"$work/h/main.go"
(cd "$work/h" && CGO_ENABLED=0 go mod init hello >/dev/null 2>&1 && CGO_ENABLED=0 go build -o "$hello" .)

# batch_us CMD... runs CMD $batch times and prints the mean wall time in µs.
batch_us() {
	local start end
	start=$(date +%s%N)
	for _ in $(seq "$batch"); do "$@" >/dev/null 2>&1 || true; done
	end=$(date +%s%N)
	echo $(( (end - start) / batch / 1000 ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

for dir in "${dirs[@]}"; do
	"$bin" audit --no-probe -c "$dir" >/dev/null 2>&1 || true # fills the postconf -d cache
	: >"$work/postconf" ; : >"$work/config" ; : >"$work/audit" ; : >"$work/hello.t" ; : >"$work/version"
	for _ in $(seq "$rounds"); do
		batch_us "$postconf" -c "$dir" -x >>"$work/postconf"
		batch_us "$bin" config -c "$dir" -x >>"$work/config"
		batch_us "$bin" audit --no-probe --color never -c "$dir" >>"$work/audit"
		batch_us "$hello" >>"$work/hello.t"
		batch_us "$bin" --version >>"$work/version"
	done
	p=$(median <"$work/postconf")
	printf '%s\n' "$dir"
	printf '  %-32s %8s µs\n' "postconf -x" "$p"
	for k in config audit version hello.t; do
		v=$(median <"$work/$k")
		case $k in
		config) name="pfaudit config -x" ;;
		audit) name="pfaudit audit --no-probe" ;;
		version) name="pfaudit --version" ;;
		hello.t) name="hello world (Go, static)" ;;
		esac
		awk -v n="$name" -v v="$v" -v p="$p" 'BEGIN { printf "  %-32s %8d µs  ratio to postconf -x: %.2f\n", n, v, v / p }'
	done
done

# perf stat -r times each process on its own (fork, exec, run, exit)
# without the shell loop around it, whose fork costs milliseconds on a VM
# and narrows the batch ratios above towards 1. Reported when perf works.
if command -v perf >/dev/null 2>&1 && perf stat -r 1 true >/dev/null 2>&1; then
	runs=$((rounds * batch))
	for dir in "${dirs[@]}"; do
		echo "$dir (perf stat -r $runs: mean elapsed, page faults)"
		p=""
		for k in postconf config audit version hello; do
			case $k in
			postconf) name="postconf -x"; cmd=("$postconf" -c "$dir" -x) ;;
			config) name="pfaudit config -x"; cmd=("$bin" config -c "$dir" -x) ;;
			audit) name="pfaudit audit --no-probe"; cmd=("$bin" audit --no-probe --color never -c "$dir") ;;
			version) name="pfaudit --version"; cmd=("$bin" --version) ;;
			hello) name="hello world (Go, static)"; cmd=("$hello") ;;
			esac
			out=$(perf stat -e page-faults -r "$runs" "${cmd[@]}" 2>&1 >/dev/null || true)
			full=$(printf '%s\n' "$out" | awk '/seconds time elapsed/ { printf "%d", $1 * 1000000 }')
			faults=$(printf '%s\n' "$out" | awk '/page-faults/ { gsub(",", "", $1); print $1 }')
			[ -n "$p" ] || p=$full
			awk -v n="$name" -v v="$full" -v p="$p" -v f="$faults" 'BEGIN { printf "  %-32s %8d µs  %5s faults  ratio to postconf -x: %.2f\n", n, v, f, v / p }'
		done
	done
fi
