#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets in build-fuzz and runs each for a while against a copy of its seed corpus.
#
# Usage: tests/fuzz/run.sh [SECONDS [TARGET...]]
#   SECONDS   per target, default 30
#   TARGET    scenario control proto enet_label cli_args wire_opts (default: all, one after another)
# Environment:
#   FUZZ_BUILD_DIR   default <root>/build-fuzz
#   FUZZ_JOBS        parallel build jobs, default 2
#   FUZZ_FRESH=1     start from the seeds alone instead of the corpus earlier runs grew
#   FUZZ_ARGS        extra libFuzzer flags, e.g. "-max_len=8192"
#
# The seeds in tests/fuzz/corpus/<target>/ are never written: each target runs
# on build-fuzz/tests/fuzz/corpus-<target>/, which keeps what earlier runs
# found. A crash, a broken check, a leak or a timeout leaves its input in
# build-fuzz/tests/fuzz/crashes-<target>/ and makes this script exit 1.
# Needs clang and libclang-rt (libFuzzer); no terminal (works with CI=true).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}
all="scenario control proto enet_label cli_args wire_opts"

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
	echo "run.sh: '$secs' is not a number of seconds; usage: run.sh [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac
[ $# -gt 0 ] && shift
targets=${*:-$all}
for t in $targets; do
	case " $all " in
	*" $t "*) ;;
	*)
		echo "run.sh: no fuzz target '$t'; the targets are: $all" >&2
		exit 2
		;;
	esac
done

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DLOOPSIM_FUZZ=ON -DCMAKE_C_FLAGS="$flags" >"$build/fuzz-configure.log" 2>&1 ||
		{ cat "$build/fuzz-configure.log" >&2; exit 1; }
else
	mkdir -p "$build"
	CC=${CC:-clang} cmake -S "$root" -B "$build" -DLOOPSIM_FUZZ=ON -DCMAKE_C_FLAGS="$flags" \
		>"$build/fuzz-configure.log" 2>&1 || { cat "$build/fuzz-configure.log" >&2; exit 1; }
fi
if grep -q 'Skipping the fuzz targets' "$build/fuzz-configure.log"; then
	echo "run.sh: $build is configured with another compiler than clang; remove it, or set FUZZ_BUILD_DIR" >&2
	exit 1
fi
cmake --build "$build" -j"$jobs" --target fuzz >"$build/fuzz-build.log" 2>&1 ||
	{ tail -n 50 "$build/fuzz-build.log" >&2; exit 1; }

# Sanitizer findings are fatal and symbolised; leaks count.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

out="$build/tests/fuzz"
failed=""
for t in $targets; do
	bin="$out/fuzz_$t"
	work="$out/corpus-$t"
	crashes="$out/crashes-$t"
	log="$out/fuzz-$t.log"
	[ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$work"
	mkdir -p "$work" "$crashes"
	cp "$here/corpus/$t"/* "$work"/
	dict=""
	[ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
	maxlen=""
	[ "$t" = scenario ] && maxlen="-max_len=8192"
	echo "fuzz_$t: ${secs} s, corpus $work"
	# shellcheck disable=SC2086 # the optional flags are single words or empty
	if "$bin" -max_total_time="$secs" -timeout=25 -print_final_stats=1 -artifact_prefix="$crashes/" \
		$maxlen $dict ${FUZZ_ARGS:-} "$work" >"$log" 2>&1; then
		grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1
		grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$log" | tr '\n' ' '
		echo
	else
		echo "fuzz_$t: FAILED; the log is $log" >&2
		pattern='fuzz check failed|runtime error|ERROR: |Timeout|out-of-memory'
		if grep -q -E "$pattern" "$log"; then
			grep -E -A 30 "$pattern" "$log" | head -n 60 >&2
		else
			tail -n 40 "$log" >&2
		fi
		echo "fuzz_$t: the inputs are in $crashes/:" >&2
		ls -l "$crashes" >&2
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "run.sh: findings in:$failed" >&2
	exit 1
fi
echo "run.sh: no findings in: $targets"
