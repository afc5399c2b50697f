#!/bin/sh
# Regenerate the golden postconf outputs of every configuration in this
# directory with the postconf(1) installed on this machine:
#   postconf.n         postconf -c DIR -n
#   postconf.x         postconf -c DIR -x -n
#   postconf.M         postconf -c DIR -M
#   postconf.P         postconf -c DIR -P
#   postconf.warnings  everything those four commands printed on stderr
#                      (sorted, duplicates removed; empty when none)
# DIR is the absolute path of each configuration directory, so the
# config_directory line in postconf.n/postconf.x holds the path of the
# checkout the files were generated in (/work/main/testdata/configs/NAME).
#
# Usage: testdata/configs/regen.sh [NAME...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v postconf >/dev/null 2>&1 || { echo "regen.sh: postconf not found" >&2; exit 1; }

if [ $# -eq 0 ]; then
	set -- $(cd "$here" && for d in */; do [ -f "$d/main.cf" ] && echo "${d%/}"; done)
fi

for name in "$@"; do
	dir=$here/$name
	[ -f "$dir/main.cf" ] || { echo "regen.sh: $dir/main.cf: no such file" >&2; exit 1; }
	# postconf re-reads a main.cf whose mtime is less than about two seconds
	# old (it may still be being written) and then repeats every
	# "overriding earlier entry" warning: wait until the files have settled.
	newest=$(stat -c %Y "$dir"/main.cf "$dir"/master.cf 2>/dev/null | sort -n | tail -1)
	while [ $(( $(date +%s) - newest )) -lt 3 ]; do sleep 1; done
	err=$(mktemp)
	postconf -c "$dir" -n    >"$dir/postconf.n" 2>>"$err"
	postconf -c "$dir" -x -n >"$dir/postconf.x" 2>>"$err"
	postconf -c "$dir" -M    >"$dir/postconf.M" 2>>"$err"
	postconf -c "$dir" -P    >"$dir/postconf.P" 2>>"$err"
	sort -u "$err" >"$dir/postconf.warnings"
	rm -f "$err"
	echo "regen.sh: $name: $(wc -l <"$dir/postconf.n") parameters, $(wc -l <"$dir/postconf.M") services, $(wc -l <"$dir/postconf.warnings") warnings"
done
