#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `loopsim run` end to end: a clean session, an injected desync with its bundle and replay, failures, signals.
set -u
loopsim=$1 example=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "run_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# A clean session: 3 peers, exit 0, a report that follows DESIGN.md, and JUnit.
"$loopsim" run --peers 3 --duration 3 --seed 5 --latency 20 --jitter 5 --loss 2 --quiet \
	--report "$dir/clean.json" --junit "$dir/clean.xml" 2>"$dir/clean.err"
rc=$?
[ $rc = 0 ] || fail "clean session exited $rc: $(cat "$dir/clean.err")"; ok
jq -e '.seed == 5 and .netcode == "rollback" and (.peers | length) == 3 and (.links | length) == 6 and .desync == null and
	.wire.received > 100 and .wire.strays == 0 and .wire.pool_full == 0' \
	"$dir/clean.json" >/dev/null || fail "clean report: $(head -c 600 "$dir/clean.json")"; ok
jq -e '[.peers[] | select(.frames > 60 and .exit_status == 0 and .port > 0 and .public_port > 0)] | length == 3' \
	"$dir/clean.json" >/dev/null || fail "peers in the clean report: $(jq -c .peers "$dir/clean.json")"; ok
jq -e '[.links[] | select(.sent > 0 and .delivered > 0 and .delay_ms.p50 >= 15)] | length == 6' \
	"$dir/clean.json" >/dev/null || fail "links in the clean report: $(jq -c '.links[0]' "$dir/clean.json")"; ok
grep -q '<testcase' "$dir/clean.xml" && [ "$(grep -c '<testcase' "$dir/clean.xml")" = 5 ] || fail "junit: $(cat "$dir/clean.xml")"; ok
grep -q '<failure' "$dir/clean.xml" && fail "a clean junit has a failure"; ok

# The issue's clean run: 4 peers, headless, 8 s, broadband: 4 distinct addresses in 127.0.0.0/8, ports the
# OS gave from its ephemeral range, at least 400 frames each, no desync.
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
"$loopsim" run --peers 4 --duration 8 --preset broadband --headless --quiet --report "$dir/four.json" 2>"$dir/four.err"
rc=$?
[ $rc = 0 ] || fail "4-peer broadband session exited $rc: $(tail -5 "$dir/four.err")"; ok
jq -e --argjson lo "$lo" --argjson hi "$hi" '.desync == null and (.peers | length) == 4 and
	([.peers[].addr] | unique | length) == 4 and
	([.peers[] | select((.addr | startswith("127.")) and .port >= $lo and .port <= $hi and .frames >= 400)] | length) == 4' \
	"$dir/four.json" >/dev/null || fail "4-peer report: $(jq -c '[.peers[] | {addr, port, frames}]' "$dir/four.json")"; ok

# RTT per pair: one slow pair (80 ms each way) among fast links (5 ms). Each link's rtt_ms is its sender's
# round trip to its receiver: both ways of the wire (160 or 10 ms) plus a wait for a frame at each end (0 to
# 33 ms in all), so the slow pair stands out instead of being averaged in with the fast ones.
"$loopsim" run --peers 3 --duration 4 --seed 8 --latency 5 --jitter 0 --loss 0 --link '0<->1:latency=80' \
	--headless --quiet --report "$dir/rtt.json" 2>"$dir/rtt.err"
rc=$?
[ $rc = 0 ] || fail "RTT session exited $rc: $(tail -5 "$dir/rtt.err")"; ok
jq -e '([.links[] | select(.from + .to == 1) | .rtt_ms | select(. != null and . >= 155 and . < 230)] | length == 2) and
	([.links[] | select(.from + .to != 1) | .rtt_ms | select(. != null and . >= 8 and . < 100)] | length == 4) and
	(.links[] | select(.from == 0 and .to == 1) | .rtt_ms) > 100 + (.links[] | select(.from == 0 and .to == 2) | .rtt_ms)' \
	"$dir/rtt.json" >/dev/null || fail "per-pair RTT: $(jq -c '[.links[] | {from, to, rtt_ms}]' "$dir/rtt.json")"; ok

# An injected desync on peer 1 at frame 60: exit 1, the frame and the peer named, a bundle that replays.
"$loopsim" run --peers 3 --duration 15 --seed 6 --inject-desync 1@60 --bundle "$dir/bundle" --quiet \
	--report "$dir/desync.json" 2>"$dir/desync.err"
rc=$?
[ $rc = 1 ] || fail "desync session exited $rc: $(cat "$dir/desync.err")"; ok
jq -e '.desync.frame == 60 and .desync.peers == [1] and (.desync.field | test("ship")) and .desync.bundle != null' \
	"$dir/desync.json" >/dev/null || fail "desync report: $(jq -c .desync "$dir/desync.json")"; ok
for f in scenario.ini inputs-0.txt checksums-2.txt state-1.bin reference-state.bin diff.txt fates.tsv capture.pcap README.txt; do
	[ -s "$dir/bundle/$f" ] || fail "the bundle lacks $f"
done; ok
grep -q "peer 1: ship" "$dir/bundle/diff.txt" || fail "diff.txt does not name peer 1's field: $(cat "$dir/bundle/diff.txt")"; ok
"$loopsim" replay "$dir/bundle" >"$dir/replay.out" 2>&1
rc=$?
[ $rc = 1 ] || fail "replay exited $rc: $(cat "$dir/replay.out")"; ok
grep -q "peer 1: LEAVES the reference at frame 60" "$dir/replay.out" || fail "replay: $(cat "$dir/replay.out")"; ok
grep -q "peer 0: follows" "$dir/replay.out" || fail "replay blames peer 0: $(cat "$dir/replay.out")"; ok

# Two peers: no majority, so the harness's own re-simulation names the one that left it.
"$loopsim" run --peers 2 --duration 15 --seed 7 --inject-desync 0@45 --bundle "$dir/b2" --quiet \
	--report "$dir/two.json" 2>/dev/null
rc=$?
[ $rc = 1 ] && jq -e '.desync.frame == 45 and .desync.peers == [0]' "$dir/two.json" >/dev/null ||
	fail "two peers: exit $rc, $(jq -c .desync "$dir/two.json" 2>/dev/null)"; ok

# Bring your own peer: the example (plain UDP and peer.h) under the oracle, and a scenario's timeline.
"$loopsim" run --peers 3 --duration 4 --seed 8 --latency 20 --loss 3 --quiet --peer-cmd "$example {index} {addr} {peers} {seed}" \
	--report "$dir/byo.json" 2>"$dir/byo.err"
rc=$?
[ $rc = 0 ] && jq -e '([.peers[] | select(.frames > 30)] | length == 3) and .desync == null' "$dir/byo.json" >/dev/null ||
	fail "--peer-cmd example: exit $rc, $(cat "$dir/byo.err")"; ok

# The example peer takes --inject-desync through peer.h and answers DUMP with its own bytes: the oracle names it,
# and diff.txt compares the states byte by byte.
"$loopsim" run --peers 3 --duration 10 --seed 8 --quiet --peer-cmd "$example {index} {addr} {peers} {seed}" \
	--inject-desync 1@40 --bundle "$dir/byob" --report "$dir/byod.json" 2>"$dir/byod.err"
rc=$?
[ $rc = 1 ] && jq -e '.desync.frame == 40 and .desync.peers == [1]' "$dir/byod.json" >/dev/null ||
	fail "--peer-cmd desync: exit $rc, $(jq -c .desync "$dir/byod.json" 2>/dev/null) $(tail -3 "$dir/byod.err")"; ok
[ "$(stat -c %s "$dir/byob/state-1.bin" 2>/dev/null)" = 8 ] && grep -q "peer 1: first differs at byte 0" "$dir/byob/diff.txt" &&
	grep -q "peer 0: identical" "$dir/byob/diff.txt" || fail "--peer-cmd bundle: $(cat "$dir/byob/diff.txt")"; ok

# A scenario error names file:line and the key, and exits 2.
printf '[session]\npeers = 3\n[link *]\nlatency = fast\n' >"$dir/bad.ini"
"$loopsim" run "$dir/bad.ini" 2>"$dir/bad.err"
rc=$?
[ $rc = 2 ] && grep -q "bad.ini:4" "$dir/bad.err" && grep -q "latency" "$dir/bad.err" ||
	fail "bad scenario: exit $rc, $(cat "$dir/bad.err")"; ok
"$loopsim" run --peers 40 2>"$dir/usage.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--peers" "$dir/usage.err" || fail "--peers 40: exit $rc, $(cat "$dir/usage.err")"; ok
"$loopsim" run --inject-desync 9@10 2>"$dir/usage.err"; rc=$?
[ $rc = 2 ] && grep -q -- "--inject-desync" "$dir/usage.err" || fail "--inject-desync 9@10: exit $rc"; ok

# A peer that crashes: the run ends with exit 3 and names it.
"$loopsim" run --peers 2 --duration 10 --peer-cmd 'sh -c "sleep 1; kill -SEGV \$\$"' --quiet \
	--report "$dir/crash.json" 2>"$dir/crash.err"
rc=$?
[ $rc = 3 ] && jq -e '[.peers[] | select(.problem != null) | select(.problem | test("crashed"))] | length >= 1' "$dir/crash.json" >/dev/null ||
	fail "crashing peer: exit $rc, $(cat "$dir/crash.err")"; ok

# A peer that hangs (stopped, so it sends no FRAME): exit 3 within the 5 s limit, naming it.
"$loopsim" run --peers 2 --duration 30 --quiet --report "$dir/hang.json" 2>/dev/null &
pid=$!
for _ in $(seq 50); do kids=$(pgrep -P $pid | head -1); [ -n "$kids" ] && break; sleep 0.1; done
sleep 2
kill -STOP "$kids"
start=$(date +%s)
wait $pid
rc=$?
kill -CONT "$kids" 2>/dev/null
took=$(( $(date +%s) - start ))
[ $rc = 3 ] && jq -e '[.peers[] | select(.problem != null) | select(.problem | test("hung"))] | length == 1' "$dir/hang.json" >/dev/null ||
	fail "hung peer: exit $rc, $(jq -c '[.peers[].problem]' "$dir/hang.json" 2>/dev/null)"; ok
[ $took -le 12 ] || fail "the hang took ${took}s to be noticed"; ok

# SIGINT ends the run cleanly, with the report and captures written.
"$loopsim" run --peers 2 --duration 60 --quiet --report "$dir/int.json" --fates "$dir/int.fates" 2>/dev/null &
pid=$!
for _ in $(seq 60); do [ -s "$dir/int.fates" ] && break; sleep 0.1; done
sleep 1
kids=$(pgrep -P $pid)
[ -n "$kids" ] || fail "SIGINT: no peer processes to watch"
kill -INT $pid
wait $pid
rc=$?
# The shell's convention: 128 + SIGINT, the verdict `interrupted`, and the report written all the same.
[ $rc = 130 ] && jq -e '.verdict == "interrupted" and .exit_code == 130 and (.reason | test("^interrupted by SIGINT after"))' \
	"$dir/int.json" >/dev/null || fail "SIGINT: exit $rc, $(cat "$dir/int.json" 2>/dev/null | head -c 300)"; ok
[ "$(grep -vc '^#' "$dir/int.fates")" -gt 10 ] || fail "SIGINT: the fate log is nearly empty"; ok
for k in $kids; do
	state=$(awk '{print $3}' "/proc/$k/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && fail "peer $k outlived the harness's SIGINT (state $state)"
done; ok

# SIGTERM: 143, said on the console, and JUnit marks the run as an error.
"$loopsim" run --peers 2 --duration 60 --junit "$dir/term.xml" --report "$dir/term.json" 2>"$dir/term.err" &
pid=$!
for _ in $(seq 60); do [ -n "$(pgrep -P $pid)" ] && break; sleep 0.1; done
sleep 1.5
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 143 ] && grep -q '^INTERRUPTED: interrupted by SIGTERM' "$dir/term.err" && grep -q 'exit 143 (interrupted)' "$dir/term.err" ||
	fail "SIGTERM: exit $rc, $(head -3 "$dir/term.err")"; ok
grep -q '<error type="interrupted" message="interrupted by SIGTERM' "$dir/term.xml" && grep -q 'errors="1"' "$dir/term.xml" ||
	fail "SIGTERM junit: $(cat "$dir/term.xml")"; ok

# A partition timeline: the cut links drop by reason `partition`, the others nothing, and after the heal
# every peer's confirmed frame moves on (held at about 120 + 8 while cut, 60 a second after).
printf '[session]\npeers = 4\nduration = 8\nseed = 10\npreset = fiber\n[at 2]\npartition = 0 1 | 2 3\n[at 4]\nheal = all\n' \
	>"$dir/partition.ini"
"$loopsim" run "$dir/partition.ini" --quiet --report "$dir/partition.json" 2>"$dir/partition.err"
rc=$?
[ $rc = 0 ] || fail "partition session exited $rc: $(tail -5 "$dir/partition.err")"; ok
jq -e '[.links[] | select(((.from < 2) != (.to < 2)) and .dropped_by.partition > 60)] | length == 8' "$dir/partition.json" \
	>/dev/null || fail "cut links: $(jq -c '[.links[] | {from, to, p: .dropped_by.partition}]' "$dir/partition.json")"; ok
jq -e '[.links[] | select(((.from < 2) == (.to < 2)) and .dropped_by.partition == 0)] | length == 4' "$dir/partition.json" \
	>/dev/null || fail "uncut links dropped by partition: $(jq -c '[.links[] | {from, to, p: .dropped_by.partition}]' "$dir/partition.json")"; ok
jq -e '.desync == null and ([.peers[] | select(.confirmed_frame > 250)] | length == 4)' "$dir/partition.json" >/dev/null ||
	fail "after the heal: $(jq -c '[.peers[] | .confirmed_frame]' "$dir/partition.json")"; ok

# Kill and restart: the others agree the peer is gone (2 s of silence, the scenario's disconnect timeout),
# then it rejoins from a confirmed state and plays on, checked frame by frame like the rest.
printf '[session]\npeers = 3\nduration = 8\nseed = 9\npreset = cable\ndisconnect-timeout = 2\n[at 1]\nkill = 2\n[at 1.5]\nrestart = 2\n' \
	>"$dir/restart.ini"
"$loopsim" run "$dir/restart.ini" --quiet --report "$dir/restart.json" 2>"$dir/restart.err"
rc=$?
[ $rc = 0 ] || fail "restart session exited $rc: $(tail -5 "$dir/restart.err")"; ok
back=$(jq -r '.events[] | select(.what | test("peer 2 rejoins")) | .what' "$dir/restart.json" | grep -o 'count from frame [0-9]*' | grep -o '[0-9]*$')
[ -n "$back" ] || fail "no rejoin in the events: $(jq -c .events "$dir/restart.json")"; ok
jq -e --argjson back "$back" '.desync == null and ([.peers[] | select(.confirmed_frame > $back + 120)] | length == 3)' \
	"$dir/restart.json" >/dev/null || fail "after the rejoin at $back: $(jq -c '[.peers[] | {frames, confirmed_frame}]' "$dir/restart.json")"; ok

# Children never outlive the harness, even a SIGKILLed one.
"$loopsim" run --peers 3 --duration 60 --quiet 2>/dev/null &
pid=$!
sleep 1.5
kids=$(pgrep -P $pid)
[ -n "$kids" ] || fail "no peer processes to watch"
{ kill -KILL $pid; wait $pid; } 2>/dev/null
sleep 0.5
for k in $kids; do
	# A dead peer may linger as a zombie until init reaps it; only a running one counts.
	state=$(awk '{print $3}' "/proc/$k/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && fail "peer $k outlived a SIGKILLed harness (state $state)"
done; ok

echo "run_test: all $checks checks passed"
