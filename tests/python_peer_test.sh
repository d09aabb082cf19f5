#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A peer in Python, through peers/python/loopsim_peer.py alone: judged by the oracle (clean, a desync found and
# bundled with its own state), playing with the C example, and running without a harness behind `loopsim wire`.
set -u
loopsim=$1 example_c=$2
here=$(cd "$(dirname "$0")" && pwd)
py="python3 $here/example_peer.py"
dir=$(mktemp -d)
wire_pid=
# Stops the wire and waits: SIGTERM, up to 5 s (under ASan a leak check runs at exit), then SIGKILL, so that
# nothing is left to load the machine for the tests after this one.
stop_wire() {
	[ -n "$wire_pid" ] || return 0
	kill "$wire_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$wire_pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$wire_pid" 2>/dev/null
}
trap 'stop_wire; rm -rf "$dir"' EXIT
fail() { echo "python_peer_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# A clean run: every peer's frames compared, exit 0.
timeout 60 "$loopsim" run --headless --quiet --peers 3 --duration 3 --seed 8 --latency 20 --loss 3 \
	--peer-cmd "$py {index} {addr} {peers} {seed}" --report "$dir/clean.json" --screenshot "$dir/clean.png" 2>"$dir/clean.err"
rc=$?
[ $rc = 0 ] && jq -e '.verdict == "clean" and .netcode == "peer-cmd" and
	([.peers[] | select(.frames > 30 and .compared > 30)] | length == 3)' \
	"$dir/clean.json" >/dev/null || fail "clean: exit $rc, $(jq -c '{verdict, reason}' "$dir/clean.json" 2>/dev/null) $(cat "$dir/clean.err")"; ok
# The peers' STATE pictures reach the window: their ships are the only colour in the panels' fields (the
# header lines end above y = 90; without STATE the count is 0, with it about 800 for three panels of 3 ships).
colour=$(python3 "$here/png_colour.py" "$dir/clean.png" 480 90 1280 540)
[ "${colour:-0}" -gt 150 ] || fail "the panels show no ships from the Python peers' STATE: $colour coloured pixels"; ok

# The same game in C and in Python, side by side in one session: the same datagrams, the same states.
timeout 60 "$loopsim" run --headless --quiet --peers 3 --duration 3 --seed 8 --latency 20 \
	--peer-cmd "if [ {index} = 1 ]; then exec $py {index} {addr} {peers} {seed}; else exec $example_c {index} {addr} {peers} {seed}; fi" \
	--report "$dir/mixed.json" 2>"$dir/mixed.err"
rc=$?
[ $rc = 0 ] && jq -e '.verdict == "clean" and ([.peers[] | select(.compared > 30)] | length == 3)' "$dir/mixed.json" >/dev/null ||
	fail "C and Python together: exit $rc, $(jq -c '{verdict, reason}' "$dir/mixed.json" 2>/dev/null)"; ok

# --inject-desync reaches the Python peer through PERTURB; the oracle names it, and the bundle holds the state it
# DUMPED in its own bytes (8, little-endian), with diff.txt naming the first differing byte.
timeout 60 "$loopsim" run --headless --quiet --peers 3 --duration 10 --seed 8 --inject-desync 1@40 \
	--peer-cmd "$py {index} {addr} {peers} {seed}" --bundle "$dir/bundle" --report "$dir/desync.json" 2>"$dir/desync.err"
rc=$?
[ $rc = 1 ] && jq -e '.verdict == "desync" and .desync.frame == 40 and .desync.peers == [1]' "$dir/desync.json" >/dev/null ||
	fail "desync: exit $rc, $(jq -c '{verdict, desync}' "$dir/desync.json" 2>/dev/null) $(tail -3 "$dir/desync.err")"; ok
# This game runs at 30 frames a second: the report says when frame 40 ran (about 1.3 s in, where 60 frames a
# second would say 0.67), and the bundle's frames.tsv puts frames 10 and 40 about a second apart.
jq -e '.desync.t_s > 1.1 and .desync.t_s < 2.5' "$dir/desync.json" >/dev/null || fail "desync t_s: $(jq -c .desync "$dir/desync.json")"; ok
gap=$(awk '$1 == 10 { a = $2 } $1 == 40 { b = $2 } END { if (a != "" && b != "") print b - a }' "$dir/bundle/frames.tsv")
[ -n "$gap" ] && [ "$gap" -gt 800000 ] && [ "$gap" -lt 2000000 ] || fail "frames.tsv: frames 10 to 40 took '$gap' us"; ok
[ "$(stat -c %s "$dir/bundle/state-1.bin" 2>/dev/null)" = 8 ] && grep -q "peer 1: first differs at byte 0" "$dir/bundle/diff.txt" &&
	grep -q "peer 0: identical" "$dir/bundle/diff.txt" || fail "bundle: $(cat "$dir/bundle/diff.txt" 2>/dev/null)"; ok
# The bundle's README says what applies to a --peer-cmd run: the byte view, not a re-simulation it cannot do.
grep -q -- "--view   each peer's dumped state as bytes" "$dir/bundle/README.txt" &&
	grep -q "loopsim cannot re-simulate them" "$dir/bundle/README.txt" && ! grep -q "inputs-K.txt" "$dir/bundle/README.txt" ||
	fail "bundle README of a --peer-cmd run: $(cat "$dir/bundle/README.txt")"; ok

# Without a harness: behind `loopsim wire`, the client's reports are no-ops and the game stops after
# EXAMPLE_FRAMES; every peer ends with the same state.
"$loopsim" wire --peers 3 --latency 10 --duration 30 --quiet >"$dir/table" 2>"$dir/wire.err" &
wire_pid=$!
for _ in $(seq 100); do grep -q '"ready":true' "$dir/table" 2>/dev/null && break; sleep 0.05; done
grep -q '"ready":true' "$dir/table" || fail "loopsim wire printed no table: $(cat "$dir/wire.err")"
peers=$(jq -r 'select(.peer != null) | "\(.addr):\(.public_port)"' "$dir/table" | paste -sd,)
pids=
for k in 0 1 2; do
	addr=$(jq -r "select(.peer == $k) | .addr" "$dir/table")
	env -u LOOPSIM_CONTROL_FD EXAMPLE_FRAMES=60 timeout 30 $py $k "$addr" "$peers" 8 2>"$dir/alone-$k.err" &
	pids="$pids $!"
done
for p in $pids; do wait $p || fail "a standalone Python peer failed: $(cat "$dir"/alone-*.err)"; done
states=$(sed -n 's/.*frame 59 state \([0-9a-f]*\)$/\1/p' "$dir"/alone-*.err | sort -u)
[ "$(echo "$states" | wc -l)" = 1 ] && [ -n "$states" ] || fail "standalone peers disagree: $(cat "$dir"/alone-*.err)"; ok

# RTT's bytes, as control.c's layout table gives them (test_control checks the same bytes against ctl_decode):
# peer 0 of 3, its own slot unknown, 183.4 ms to peer 1, 25.8 ms to peer 2; then unknowns and a clamp.
rtt=$(PYTHONPATH="$here/../peers/python" python3 -c '
import socket, loopsim_peer as L
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = L.Peer.from_args("0", "127.0.0.2", "127.0.0.2:1,127.0.0.3:2,127.0.0.4:3", "1")
p._sock = a
p.rtt(0x01020304, [5, 183.4, 25.8])
p.rtt(1, [None, float("nan"), 7000])
print(b.recv(64).hex(), b.recv(64).hex())') || fail "the Python client cannot send RTT"
[ "$rtt" = "4c4301110403020103ffff2a070201 4c4301110100000003fffffffffeff" ] || fail "RTT bytes from Python: $rtt"; ok

echo "python_peer_test: all $checks checks passed"
