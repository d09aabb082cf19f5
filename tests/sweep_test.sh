#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `loopsim sweep` as a user runs it: real sessions, small and short (this machine may have 2 cores).
#   a clean sweep, a desync sweep and its signature, a chaos sweep whose run replays alone, shards run as separate
#   processes and merged (equal to the unsharded summary), SIGTERM, and bad usage; then the CI recipes' shard lists.
# Usage: sweep_test.sh LOOPSIM SOURCE_DIR
set -u
LOOPSIM=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# A field of summary.json, read with Python's json (the test's only reader).
field() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"s": s}))' "$1" "$2"; }

# 1. Six seeds, two jobs, 2-second sessions: all clean, exit 0, a folder and a testcase per run.
"$LOOPSIM" sweep --seeds 1..6 --jobs 2 --out "$T/clean" --duration 2 --peers 3 2>"$T/clean.err"
rc=$?
check "a clean sweep exits 0 (got $rc)" '[ $rc -eq 0 ]'
check "six clean runs counted" '[ "$(field "$T/clean/summary.json" "s[\"counts\"][\"clean\"]")" = 6 ]'
check "no signatures for a clean sweep" '[ "$(field "$T/clean/summary.json" "len(s[\"signatures\"])")" = 0 ]'
check "junit.xml has one testcase per run" '[ "$(grep -c "<testcase" "$T/clean/junit.xml")" = 6 ]'
check "each run has its scenario, report and log" \
	'[ -f "$T/clean/run-5/scenario.ini" ] && [ -f "$T/clean/run-5/report.json" ] && [ -f "$T/clean/run-5/run.log" ]'
check "a line per finished run without a terminal" '[ "$(grep -c "^\[[0-9]*/6\] run-" "$T/clean.err")" = 6 ]'
# Concurrent runs had addresses of their own: slot S is 127.S.0.2 and up.
check "runs used their slot's addresses" \
	'grep -qE "\"addr\":[[:space:]]*\"127\.[12]\.0\.2\"" "$T/clean/run-0/report.json"'

# 2. The same with a desync injected into peer 1: exit 1, one signature holding every seed, a bundle each.
"$LOOPSIM" sweep --seeds 1..3 --jobs 2 --out "$T/desync" --duration 2.5 --peers 3 --inject-desync 1@60 2>"$T/desync.err"
rc=$?
check "a desync sweep exits 1 (got $rc)" '[ $rc -eq 1 ]'
check "one signature with all three seeds" \
	'[ "$(field "$T/desync/summary.json" "[(g[\"verdict\"], g[\"seeds\"]) for g in s[\"signatures\"]]")" = "[('"'"'desync'"'"', [1, 2, 3])]" ]'
check "the desync run names frame, minority, field and bundle" \
	'[ "$(field "$T/desync/summary.json" "(s[\"runs\"][0][\"frame\"] > 0, s[\"runs\"][0][\"minority\"], s[\"runs\"][0][\"field\"] is not None, s[\"runs\"][0][\"bundle\"])")" = "(True, [1], True, '"'"'run-0/bundle'"'"')" ]'
check "the bundle is there" '[ -d "$T/desync/run-0/bundle" ]'
check "junit marks the desyncs as failures" 'grep -q "failures=\"3\"" "$T/desync/junit.xml"'
# The run replays from its folder with the line the summary gives.
replay=$(field "$T/desync/summary.json" 's["runs"][1]["replay"]')
(cd "$T/desync" && eval "${replay/loopsim/\"$LOOPSIM\"} --quiet --bundle $T/replayed") >/dev/null 2>&1
rc=$?
check "the replay line reproduces the desync (got $rc)" '[ $rc -eq 1 ]'

# 3. A chaos sweep: each run's scenario has a timeline drawn from its seed (the same for the same seed: test_sweep).
"$LOOPSIM" sweep --seeds 1..2 --jobs 2 --out "$T/chaos" --duration 5 --peers 3 --chaos high --quiet
rc=$?
check "a chaos sweep ends with a verdict (got $rc)" '[ $rc -eq 0 ] || [ $rc -eq 1 ] || [ $rc -eq 3 ]'
check "every run's scenario has a timeline" \
	'grep -q "^\[at " "$T/chaos/run-0/scenario.ini" && grep -q "^\[at " "$T/chaos/run-1/scenario.ini"'
"$LOOPSIM" run "$T/chaos/run-0/scenario.ini" --headless --quiet --report "$T/chaos-replay.json" >/dev/null 2>&1
rc=$?
check "a chaos run replays with loopsim run alone (got $rc)" '[ $rc -ne 2 ] && [ -f "$T/chaos-replay.json" ]'
check "the replay played the drawn timeline" \
	'[ "$(field "$T/chaos-replay.json" "len([e for e in s[\"events\"] if e[\"what\"].startswith((\"partition\", \"heal\", \"link\", \"kill\", \"restart\"))]) > 0")" = True ]'

# 4. The clean sweep again in three shards, as separate processes at once, merged: the same summary.
A=(--seeds 1..6 --duration 2 --peers 3 --quiet --jobs 1)
pids=()
for i in 0 1 2; do
	"$LOOPSIM" sweep "${A[@]}" --shard $i/3 --out "$T/s$i" &
	pids+=($!)
done
rcs=""
for p in "${pids[@]}"; do
	wait "$p"
	rcs="$rcs$?"
done
check "every shard exits 0 ($rcs)" '[ "$rcs" = 000 ]'
"$LOOPSIM" sweep merge "$T/s2" "$T/s0" "$T/s1" --out "$T/merged" --quiet
rc=$?
check "the merge exits 0 (got $rc)" '[ $rc -eq 0 ]'
# Runs are real sessions: their reasons say how far each got. Everything else must be identical.
same='{**s, "runs": [{k: v for k, v in r.items() if k != "reason"} for r in s["runs"]]}'
check "merged shards equal the unsharded summary" \
	'[ "$(field "$T/merged/summary.json" "$same" 2>&1)" = "$(field "$T/clean/summary.json" "$same" 2>&1)" ]'
check "the merge gathered every run's folder" '[ -f "$T/merged/run-0/report.json" ] && [ -f "$T/merged/run-5/report.json" ]'
"$LOOPSIM" sweep merge "$T/clean" --out "$T/remerged" --quiet
check "a merge of one whole sweep is byte for byte its summary" 'cmp -s "$T/clean/summary.json" "$T/remerged/summary.json"'
"$LOOPSIM" sweep merge "$T/s0" --out "$T/third" --quiet
rc=$?
check "a merge missing shards exits 3 (got $rc)" '[ $rc -eq 3 ] && [ "$(field "$T/third/summary.json" "s[\"missing\"]")" = 4 ]'
"$LOOPSIM" sweep merge "$T/s0" "$T/s0" --out "$T/twice" 2>"$T/twice.err"
rc=$?
check "a shard given twice is refused with exit 2 (got $rc)" '[ $rc -eq 2 ] && grep -q "is in both" "$T/twice.err"'

# 5. SIGTERM: passed on to the runs, which write their outputs; the summary of what was done; exit 143.
"$LOOPSIM" sweep --seeds 1..6 --jobs 2 --out "$T/term" --duration 30 --peers 3 --quiet & p=$!
for _ in $(seq 100); do [ -s "$T/term/run-1/run.log" ] && break; sleep 0.1; done
kill -TERM $p
wait $p
rc=$?
check "an interrupted sweep exits 143 (got $rc)" '[ $rc -eq 143 ]'
check "its summary says so and counts the unstarted runs as missing" \
	'[ "$(field "$T/term/summary.json" "(s[\"interrupted\"], s[\"missing\"], s[\"counts\"][\"interrupted\"])")" = "('"'"'SIGTERM'"'"', 4, 2)" ]'
check "no peer outlives the sweep" '! pgrep -f "loopsim-peer.*$T" >/dev/null'

# 6. Bad usage: exit 2, naming the flag.
usage() {
	local name=$1 want=$2
	shift 2
	"$LOOPSIM" sweep "$@" >/dev/null 2>"$T/usage.err"
	local rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$want" "$T/usage.err"; then ok "$name"; else
		bad "$name (rc $rc: $(head -c 300 "$T/usage.err"))"
	fi
}
usage "no --seeds" "--seeds" --out "$T/u1"
usage "backwards seeds" "--seeds" --seeds 5..2 --out "$T/u2"
usage "--jobs 0" "--jobs" --seeds 1..2 --jobs 0 --out "$T/u3"
usage "--shard 2/2" "--shard" --seeds 1..2 --shard 2/2 --out "$T/u4"
usage "--chaos unknown" "--chaos" --seeds 1..2 --chaos wild --out "$T/u5"
usage "no --out" "--out" --seeds 1..2
usage "a non-empty --out" "not empty" --seeds 1..2 --out "$T/clean"
usage "--report is the sweep's" "--report" --seeds 1..2 --out "$T/u6" --report x.json
usage "a bad run option, refused by loopsim run" "--latency" --seeds 1..2 --out "$T/u7" --latency abc
usage "--addr-base is the sweep's" "--addr-base" --seeds 1..2 --out "$T/u8" --addr-base 10.0.0.2
"$LOOPSIM" run --addr-base 10.0.0.2 >/dev/null 2>"$T/addr.err"
rc=$?
check "loopsim run --addr-base outside 127.0.0.0/8 exits 2 (got $rc)" '[ $rc -eq 2 ] && grep -q "127.0.0.0/8" "$T/addr.err"'
check "sweep --help and sweep merge --help" '"$LOOPSIM" sweep --help | grep -q -- "--shard" && "$LOOPSIM" sweep merge --help | grep -q "merge"'

echo "$fails failure(s)"
[ $fails -eq 0 ]
