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
# and narrows the batch ratios above towards 1. The commands alternate,
# $batch runs each per round, and each line reports the medians over the
# rounds of the mean elapsed time, the CPU time (task-clock: every thread)
# and the page faults: on a shared machine the medians of alternating
# rounds are what stays comparable. Reported when perf works.
if command -v perf >/dev/null 2>&1 && perf stat -r 1 true >/dev/null 2>&1; then
	for dir in "${dirs[@]}"; do
		echo "$dir (perf stat: medians of $rounds rounds of $batch runs)"
		keys=(postconf config audit version hello)
		for k in "${keys[@]}"; do : >"$work/perf.$k"; done
		for _ in $(seq "$rounds"); do
			for k in "${keys[@]}"; do
				case $k in
				postconf) cmd=("$postconf" -c "$dir" -x) ;;
				config) cmd=("$bin" config -c "$dir" -x) ;;
				audit) cmd=("$bin" audit --no-probe --color never -c "$dir") ;;
				version) cmd=("$bin" --version) ;;
				hello) cmd=("$hello") ;;
				esac
				perf stat -e task-clock,page-faults -r "$batch" "${cmd[@]}" 2>&1 >/dev/null |
					awk '/seconds time elapsed/ { e = $1 * 1000000 } /task-clock/ { c = $1 * 1000 } /page-faults/ { gsub(",", "", $1); f = $1 } END { printf "%d %d %d\n", e, c, f }' >>"$work/perf.$k" || true
			done
		done
		pe=$(cut -d' ' -f1 "$work/perf.postconf" | median)
		pc=$(cut -d' ' -f2 "$work/perf.postconf" | median)
		for k in "${keys[@]}"; do
			case $k in
			postconf) name="postconf -x" ;;
			config) name="pfaudit config -x" ;;
			audit) name="pfaudit audit --no-probe" ;;
			version) name="pfaudit --version" ;;
			hello) name="hello world (Go, static)" ;;
			esac
			e=$(cut -d' ' -f1 "$work/perf.$k" | median)
			c=$(cut -d' ' -f2 "$work/perf.$k" | median)
			f=$(cut -d' ' -f3 "$work/perf.$k" | median)
			awk -v n="$name" -v e="$e" -v c="$c" -v f="$f" -v pe="$pe" -v pc="$pc" 'BEGIN { printf "  %-28s %7d µs elapsed (ratio %.2f)  %7d µs CPU (ratio %.2f)  %4d faults\n", n, e, e / pe, c, c / pc, f }'
		done
	done
fi
