#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peers whose traffic does not fit the wire, run for real: each run fails (exit 3) naming the peer, what the wire
# saw and the fix, on the console and in the report; a peer that is only late is said, and the run stays clean.
set -u
loopsim=$1 game=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "misfit_test: $*" >&2; exit 1; }

# run NAME WANT_EXIT [run options...]: runs 3 peers for 3 s, network-only, keeping the console and the report.
run() {
	local name=$1 want=$2
	shift 2
	timeout 60 "$loopsim" run --headless --peers 3 --duration 3 --seed 9 --network-only \
		--report "$dir/$name.json" "$@" >"$dir/$name.out" 2>&1
	local rc=$?
	[ $rc = "$want" ] || fail "$name: exit $rc, expected $want: $(cat "$dir/$name.out")"
}
# misfit NAME PEER KIND FAILS TEXT: the report has that finding, and the console says it.
misfit() {
	python3 - "$dir/$1.json" "$2" "$3" "$4" "$5" <<'PY' || fail "$1: the report's misfits (above): $(cat "$dir/$1.out")"
import json, sys
r = json.load(open(sys.argv[1]))
peer = None if sys.argv[2] == "-" else int(sys.argv[2])
kind, fails, text = sys.argv[3], sys.argv[4] == "1", sys.argv[5]
hits = [m for m in r["misfits"] if m["peer"] == peer and m["kind"] == kind and m["fails"] == fails and text in m["what"]]
if not hits:
    print("no %s finding for peer %s with '%s' in %s" % (kind, peer, text, r["misfits"]))
    sys.exit(1)
if fails and r["verdict"] != "failed":
    print("verdict %s, reason %s" % (r["verdict"], r["reason"]))
    sys.exit(1)
PY
	grep -qF -- "$5" "$dir/$1.out" || fail "$1: the console does not say '$5': $(cat "$dir/$1.out")"
}
hostile="python3 $here/hostile_peer.py {index}"

# A peer bound to 127.0.0.1: its datagrams reach the wire from outside; /proc names the peer that sent them.
run loopback 3 --peer-cmd "$hostile loopback@1"
misfit loopback 1 stray 1 "peer 1 sends from 127.0.0.1:"
grep -q '^FAILED: peer 1 sends from 127.0.0.1' "$dir/loopback.out" || fail "loopback: the verdict line: $(head -3 "$dir/loopback.out")"
misfit loopback 1 stray 1 "bind LOOPSIM_ADDR"

# A peer that sends from a second socket: the wire knows it by the first one's port.
run twosockets 3 --peer-cmd "$hostile twosockets@2"
misfit twosockets 2 spoofed 1 "pass --multi-socket 2"

# A peer that never sends: the wire never learns its port, and the others' datagrams to it are dropped.
run listen 3 --peer-cmd "$hostile listen@0"
misfit listen 0 unroutable 1 "datagrams to peer 0 were dropped"

# Games that talk to each other at 127.0.0.1 directly, without --localhost-ports: nothing crosses the wire.
base=$((20000 + RANDOM % 10000))
run bypass 3 --peer-cmd "exec $game --index {index} --peers 3 --base $base --seconds 2 --out $dir/bypass-{index}.json"
for k in 0 1 2; do misfit bypass $k bypass 1 "peer $k sent no datagram through the wire"; done

# Only late (its first datagram after 1 s): said, not failed.
run late 0 --peer-cmd "$hostile late@2"
misfit late 2 late_port 0 "datagrams to peer 2 fell due before the wire knew its port"

# Peers that fit: no finding at all.
run honest 0 --peer-cmd "$hostile honest"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["misfits"]; sys.exit(1 if [x for x in m if x["fails"]] else 0)' \
	"$dir/honest.json" || fail "honest: misfits where there are none: $(cat "$dir/honest.out")"
echo "misfit_test: ok (stray with its owner, spoofed, unroutable, bypass, late, honest)"
