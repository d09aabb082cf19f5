#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peers that send garbage on their control channel: cut off with a clear message, and the run fails for it.
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

# The verdict: a peer that writes garbage on its control channel is cut off and fails the run (exit 3), even
# though it stays alive and its traffic keeps flowing: it can no longer be compared, so the run is not clean.
[ $rc = 3 ] || fail "exit $rc, expected 3 (a malformed control message fails the run): $(cat "$dir/err")"; ok
jq -e '.exit_code == 3 and .verdict == "failed" and .desync == null and
	(.reason | test("^peer [23] sent a malformed control message \\((bad magic|oversized)\\); disconnected$"))' \
	"$dir/r.json" >/dev/null || fail "report verdict: $(jq -c '{verdict, exit_code, desync, reason}' "$dir/r.json")"; ok

# The offender is named, with the reason, in the report, in its events, and on the terminal.
jq -e '[.peers[2,3].problem | select(. != null) |
	select(test("^sent a malformed control message \\((bad magic|oversized)\\); disconnected$"))] | length >= 1' \
	"$dir/r.json" >/dev/null || fail "the offenders' problems: $(jq -c '[.peers[].problem]' "$dir/r.json")"; ok
jq -e '[.events[].what | select(test("^peer [23] sent a malformed control message"))] | length >= 1' \
	"$dir/r.json" >/dev/null || fail "no event for the offender: $(jq -c '.events' "$dir/r.json")"; ok
grep -Eq '^FAILED: peer [23] sent a malformed control message' "$dir/err" ||
	fail "the summary does not lead with the failure: $(head -3 "$dir/err")"; ok
grep -Eq '^ +[23] +127\.0\.0\.[45] .*malformed control message' "$dir/err" ||
	fail "the peer table does not name the offender: $(cat "$dir/err")"; ok

# The others were unaffected: no problem of their own.
jq -e '[.peers[0,1] | select(.problem == null)] | length == 2' "$dir/r.json" >/dev/null ||
	fail "the other peers: $(jq -c '[.peers[0,1] | {frames, exit_status, problem}]' "$dir/r.json")"; ok
# The run ended at the failure, not at --duration's end plus the wait for HELLOs.
[ $took -le 8 ] || fail "the run took ${took}s"; ok

echo "hostile_test: all $checks checks passed (${took}s): $(jq -r .reason "$dir/r.json")"
