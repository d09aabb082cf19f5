#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: three loopsim-peer processes over real ENet through `loopsim wire`, agreeing, then catching a desync.
set -u
loopsim=$1 peer=$2
dir=$(mktemp -d)
pids=()
# Stops background processes and waits for them: SIGTERM, up to 5 s to exit (under ASan, a leak check runs at
# exit), then SIGKILL. A process left behind would load the machine for every test after this one.
stop() {
	kill "$@" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$@" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null
}
cleanup() { [ ${#pids[@]} = 0 ] || stop "${pids[@]}"; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "peer_wire_test: $*" >&2; exit 1; }

# Starts a wire in the background and sets $list to its public table as ip:port,...
start_wire() {
	local out=$1; shift
	# No timeout(1) around it: its pid is the wire's own, for stop() (--duration bounds it).
	"$loopsim" wire --peers 3 --quiet --duration 20 "$@" >"$out" 2>"$out.err" &
	pids+=($!)
	for _ in $(seq 100); do grep -q '"ready":true' "$out" && break; sleep 0.05; done
	grep -q '"ready":true' "$out" || fail "the wire did not print its table: $(cat "$out.err")"
	list=$(sed -n 's/.*"addr":"\([0-9.]*\)","public_port":\([0-9]*\).*/\1:\2/p' "$out" | paste -sd, -)
}

# A clean session under latency, jitter and loss: every peer confirms the same hash of frame 179.
start_wire "$dir/w1" --latency 30 --jitter 5 --loss 5 --seed 3
for k in 0 1 2; do
	timeout 25 "$peer" --index $k --peers "$list" --frames 180 --quiet >"$dir/clean$k" 2>"$dir/clean$k.err" &
	cpids[$k]=$!
done
for k in 0 1 2; do
	wait "${cpids[$k]}" || fail "peer $k exited $? in a clean session: $(tail -3 "$dir/clean$k.err")"
done
sums=$(cat "$dir"/clean? | sed -n 's/.*"checksum":"\([0-9a-f]*\)".*/\1/p' | sort -u)
[ "$(cat "$dir"/clean? | grep -c '"frame":179')" = 3 ] || fail "not every peer reported frame 179"
[ "$(echo "$sums" | wc -l)" = 1 ] || fail "peers disagree on frame 179: $sums"

# Peer 1 corrupts its own state at frame 100: the others name frame 100 and exit 1.
start_wire "$dir/w2" --latency 20 --seed 4
for k in 0 1 2; do
	extra=()
	[ $k = 1 ] && extra=(--perturb-frame 100)
	timeout 25 "$peer" --index $k --peers "$list" --frames 150 --quiet "${extra[@]}" >"$dir/bad$k" 2>"$dir/bad$k.err" &
	bpids[$k]=$!
done
for k in 0 1 2; do
	wait "${bpids[$k]}"
	rc=$?
	[ $rc = 1 ] || fail "peer $k exited $rc, expected 1 for a desync: $(tail -3 "$dir/bad$k.err")"
	grep -q "desync at frame 100:" "$dir/bad$k.err" || fail "peer $k did not name frame 100: $(grep desync "$dir/bad$k.err")"
done

# Bad input: a clear message naming the flag, and exit 2.
"$peer" --index 0 --peers 127.0.0.2:1 >/dev/null 2>"$dir/usage"; rc=$?
[ $rc = 2 ] && grep -q -- "--peers" "$dir/usage" || fail "one peer only: exit $rc, $(cat "$dir/usage")"
"$peer" --index 0 --peers 10.0.0.1:5,127.0.0.3:6 >/dev/null 2>"$dir/usage"; rc=$?
[ $rc = 2 ] && grep -q "127.0.0.0/8" "$dir/usage" || fail "non-loopback peer: exit $rc, $(cat "$dir/usage")"
"$peer" --bogus >/dev/null 2>"$dir/usage"; rc=$?
[ $rc = 2 ] && grep -q -- "--bogus" "$dir/usage" || fail "unknown flag: exit $rc"
echo "peer_wire_test: clean session agreed on $sums; desync at frame 100 named by all three"
