#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peers that send garbage on their control channel: each is cut off with a clear message, the others play on.
set -u
loopsim=$1 example=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "hostile_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# Four example peers (plain UDP, lockstep: a frame is played only once every peer's input for it has arrived).
# Before playing, peer 2 writes 7 bytes of garbage on its control channel (one SEQPACKET record: bad magic), and
# peer 3 writes one 20000-byte record with a valid header (beyond the 16 KB a control message may have). Each then
# plays without a control channel, as a standalone program would, so the session goes on only if the harness cut
# off their channels and nothing else: the wire must keep serving them and the other two must keep reporting.
# bash, not sh: the control fd may have two digits, which dash's >&N does not take.
garbage='printf garbage >&$LOOPSIM_CONTROL_FD'
oversized='{ printf "LC\001\002"; head -c 19996 /dev/zero; } | dd bs=20000 count=1 iflag=fullblock status=none >&$LOOPSIM_CONTROL_FD'
cmd="bash -c 'case {index} in 2) $garbage; export LOOPSIM_CONTROL_FD=;; 3) $oversized; export LOOPSIM_CONTROL_FD=;; esac; exec \"$example\" {index} {addr} {peers} {seed}'"

# The harness waits 3 s for the HELLOs the two never send, plays 3 s, then kills them after a 3 s grace.
start=$(date +%s)
timeout 30 "$loopsim" run --peers 4 --duration 3 --seed 21 --latency 10 --headless --peer-cmd "$cmd" \
	--report "$dir/r.json" >"$dir/out" 2>"$dir/err"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc != 124 ] || fail "loopsim run did not end within 30 s"; ok
[ -s "$dir/r.json" ] || fail "no report (exit $rc): $(cat "$dir/err")"; ok

# The verdict: the harness cuts a peer off for a malformed message but does not fail the run for it (run.c,
# read_peer); with the oracle's two reporting peers agreeing, the run is clean.
[ $rc = 0 ] || fail "exit $rc, expected 0 (a malformed control message alone does not fail the run): $(cat "$dir/err")"; ok
jq -e '.exit_code == 0 and .desync == null' "$dir/r.json" >/dev/null || fail "report verdict: $(jq -c '{exit_code, desync, reason}' "$dir/r.json")"; ok

# Each offender is named, with the reason, in the report, in its events, and on the terminal.
jq -e '.peers[2].problem | test("^sent a malformed control message \\(bad magic\\); disconnected$")' "$dir/r.json" >/dev/null ||
	fail "peer 2's problem: $(jq -c '.peers[2].problem' "$dir/r.json")"; ok
jq -e '.peers[3].problem | test("^sent a malformed control message \\(oversized\\); disconnected$")' "$dir/r.json" >/dev/null ||
	fail "peer 3's problem: $(jq -c '.peers[3].problem' "$dir/r.json")"; ok
jq -e '[.events[].what | select(test("^peer 2 sent a malformed control message \\(bad magic\\)"))] | length == 1' \
	"$dir/r.json" >/dev/null || fail "no event for peer 2: $(jq -c '.events' "$dir/r.json")"; ok
jq -e '[.events[].what | select(test("^peer 3 sent a malformed control message \\(oversized\\)"))] | length == 1' \
	"$dir/r.json" >/dev/null || fail "no event for peer 3: $(jq -c '.events' "$dir/r.json")"; ok
grep -Eq '^ +2 +127\.0\.0\.4 .*malformed control message \(bad magic\); disconnected' "$dir/err" ||
	fail "the summary does not name peer 2's problem: $(cat "$dir/err")"; ok
grep -Eq '^ +3 +127\.0\.0\.5 .*malformed control message \(oversized\); disconnected' "$dir/err" ||
	fail "the summary does not name peer 3's problem: $(cat "$dir/err")"; ok

# The others were unaffected: no problem, a clean exit, and frames that kept advancing to the end (30 Hz for the
# 3 s played, and more during the wait for HELLOs). In lockstep those frames need every peer's inputs, so the
# two cut-off peers were still being served by the wire.
jq -e '[.peers[0,1] | select(.problem == null and .exit_status == 0 and .frames >= 90 and .confirmed_frame >= 90)] | length == 2' \
	"$dir/r.json" >/dev/null || fail "the other peers: $(jq -c '[.peers[0,1] | {frames, confirmed_frame, exit_status, problem}]' "$dir/r.json")"; ok
jq -e '[.links[] | select(.from >= 2 and .to < 2 and .delivered > 90)] | length == 4' "$dir/r.json" >/dev/null ||
	fail "the cut-off peers' traffic: $(jq -c '[.links[] | select(.from >= 2) | {from, to, delivered}]' "$dir/r.json")"; ok
# They never said HELLO, so the report knows no port for them, and the harness killed them at the end.
jq -e '[.peers[2,3] | select(.frames == 0 and .exit_status == 137)] | length == 2' "$dir/r.json" >/dev/null ||
	fail "the cut-off peers: $(jq -c '[.peers[2,3] | {frames, exit_status}]' "$dir/r.json")"; ok
[ $took -le 15 ] || fail "the run took ${took}s"; ok

echo "hostile_test: all $checks checks passed (${took}s): peers 2 and 3 cut off, peers 0 and 1 reached frame $(jq '.peers[0].frames' "$dir/r.json")"
