#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every way a run used to be called clean without being checked, each with a small hostile peer: exit code, reason,
# the report's verdict and JUnit.
set -u
loopsim=$1
here=$(cd "$(dirname "$0")" && pwd)
peer="python3 $here/hostile_peer.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "verdict_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# run NAME EXPECTED_EXIT VERDICT REASON_REGEX [loopsim run options...]
# Runs 3 peers (unless told otherwise) and checks the exit code, the report's verdict and reason, the summary's first
# line and JUnit's verdict testcase.
run() {
	local name=$1 want=$2 verdict=$3 reason=$4
	shift 4
	timeout 60 "$loopsim" run --headless --seed 11 --report "$dir/$name.json" --junit "$dir/$name.xml" "$@" \
		>"$dir/$name.out" 2>"$dir/$name.err"
	local rc=$?
	[ $rc != 124 ] || fail "$name: did not end within 60 s"
	[ $rc = "$want" ] || fail "$name: exit $rc, expected $want: $(head -3 "$dir/$name.err")"
	jq -e --arg v "$verdict" --arg r "$reason" --argjson rc "$want" \
		'.verdict == $v and .exit_code == $rc and (.reason | test($r))' "$dir/$name.json" >/dev/null ||
		fail "$name: report $(jq -c '{verdict, exit_code, reason}' "$dir/$name.json")"
	[ "$verdict" = clean ] || grep -Eiq "${reason#^}" "$dir/$name.err" || fail "$name: the summary does not say why: $(head -2 "$dir/$name.err")"
	grep -q "exit $want ($verdict)" "$dir/$name.err" || fail "$name: the summary does not give the exit: $(head -3 "$dir/$name.err")"
	if [ "$want" = 0 ]; then
		grep -q '<failure\|<error' "$dir/$name.xml" && fail "$name: JUnit fails a clean run: $(cat "$dir/$name.xml")"
	else
		grep -q "name=\"verdict\">" "$dir/$name.xml" && grep -Eq "<(failure|error) type=\"$verdict\"" "$dir/$name.xml" ||
			fail "$name: JUnit: $(cat "$dir/$name.xml")"
	fi
	ok
}

# Honest peers: every frame compared, clean.
run honest 0 clean 'every live peer.s confirmed frames were compared' --peers 3 --duration 2 --peer-cmd "$peer {index} honest"

# Nothing compared: peers that never report a frame, and one that never speaks the protocol at all.
run silent 4 unchecked 'nothing was compared: none of the 3 peers reported a frame.*--network-only' \
	--peers 3 --duration 2 --peer-cmd "$peer {index} silent"
run mute 4 unchecked 'nothing was compared' --peers 3 --duration 2 --peer-cmd "$peer {index} mute"
# Only some compared.
run one_silent 4 unchecked '1 of 3 live peers \(peer 2 first\) reported no frame' \
	--peers 3 --duration 2 --peer-cmd "$peer {index} silent@2"
# Asked for: a network-only run of the same peers is exit 0, and says so.
run network_only 0 network-only 'network-only run \(--network-only\): 3 peers, no state was compared' \
	--peers 3 --duration 2 --network-only --peer-cmd "$peer {index} mute"

# A liar: the oracle names it.
run liar 1 desync 'desync at frame 30: peer 1 differs' --peers 3 --duration 3 --peer-cmd "$peer {index} liar@1"
jq -e '.desync.frame == 30 and .desync.peers == [1]' "$dir/liar.json" >/dev/null || fail "liar: $(jq -c .desync "$dir/liar.json")"; ok

# Implausible frame reports are protocol errors of their peer.
run future 3 failed '^peer 1 broke the control protocol: FRAME confirmed frame 1000000 is beyond the oracle.s window' \
	--peers 3 --duration 3 --peer-cmd "$peer {index} future@1"
run farfuture 3 failed '^peer 2 broke the control protocol: FRAME confirmed frame 4294967294 is beyond' \
	--peers 3 --duration 3 --peer-cmd "$peer {index} farfuture@2"
run backwards 3 failed '^peer 1 broke the control protocol: FRAME its confirmed frame went backwards, from 39 to 10' \
	--peers 3 --duration 3 --peer-cmd "$peer {index} backwards@1"
# After a wrong report, a liar is still caught: the peer that lied about the future is cut off, not trusted.
jq -e '.peers[1].problem | test("beyond the oracle")' "$dir/future.json" >/dev/null || fail "future: $(jq -c '.peers[1]' "$dir/future.json")"; ok

# Garbage on the control channel from a peer that stays alive.
run garbage 3 failed '^peer 1 sent a malformed control message \(bad magic\); disconnected' \
	--peers 3 --duration 3 --peer-cmd "$peer {index} garbage@1"

# A peer that closes its channel and keeps running; a second peer lies after it. Never clean: the first is named
# for its closed channel, or the second for its lie, whichever the harness meets first.
timeout 60 "$loopsim" run --headless --seed 11 --peers 3 --duration 3 --report "$dir/close.json" \
	--peer-cmd "$peer {index} close@1 liar@2" >/dev/null 2>"$dir/close.err"
rc=$?
case $rc in
1) jq -e '.verdict == "desync" and (.desync.peers | index(2) != null)' "$dir/close.json" >/dev/null ;;
3) jq -e '.verdict == "failed" and (.reason | test("^peer 1 closed its control channel and kept running"))' "$dir/close.json" >/dev/null ;;
*) false ;;
esac || fail "close: exit $rc, $(jq -c '{verdict, reason}' "$dir/close.json")"; ok
# Alone, the closed channel fails the run.
run close_alone 3 failed '^peer 1 closed its control channel and kept running' \
	--peers 3 --duration 3 --peer-cmd "$peer {index} close@1"

# A frozen peer: heartbeats with the same confirmed frame, no kill or partition to explain it. It is named after
# the disconnect timeout plus 5 s.
run frozen 3 failed '^peer 1 frozen: its confirmed frame stayed at 20 for 6 s' \
	--peers 3 --duration 9 --disconnect-timeout 1 --peer-cmd "$peer {index} stall@1"

# A split is not a desync: a partition that outlasts the disconnect timeout, with the built-in peers.
printf '[session]\npeers = 4\nduration = 7\npreset = cable\ndisconnect-timeout = 2\n[at 1]\npartition = 0 1 | 2 3\n[at 5]\nheal = all\n' \
	>"$dir/split.ini"
run split 5 split 'the session split into \{0,1\} and \{2,3\}: each side dropped the other at frame [0-9]+ after 2 s of silence' \
	"$dir/split.ini"
jq -e '.desync == null' "$dir/split.json" >/dev/null || fail "split: a desync in the report"; ok
# ... and a real desync inside one side is still caught.
printf '[session]\npeers = 4\nduration = 7\npreset = cable\ndisconnect-timeout = 2\n[at 1]\npartition = 0 1 2 | 3\n[at 4.5]\ndesync = 1\n[at 6]\nheal = all\n' \
	>"$dir/split_desync.ini"
run split_desync 1 desync 'desync at frame [0-9]+: peer 1 differs' "$dir/split_desync.ini" --bundle "$dir/sdb"
jq -e '.desync.peers == [1] and (.also | test("split into \\{0,1,2\\} and \\{3\\}"))' "$dir/split_desync.json" >/dev/null ||
	fail "split_desync: $(jq -c '{desync: .desync.peers, also}' "$dir/split_desync.json")"; ok

# Outputs: never destroy, never lose quietly. A full device fails the run and says which output and why.
for out in pcap fates screenshot report junit; do
	timeout 60 "$loopsim" run --headless --quiet --seed 11 --peers 2 --duration 1 --"$out" /dev/full 2>"$dir/full.err"
	rc=$?
	[ $rc = 3 ] && grep -q "/dev/full: No space left on device" "$dir/full.err" ||
		fail "--$out /dev/full: exit $rc, $(cat "$dir/full.err")"
	[ -c /dev/full ] || fail "--$out replaced /dev/full"
done; ok
# A symlink stays a link and its target gets the report; /dev/null is written in place and stays a device.
ln -s "$dir/target.json" "$dir/link.json"
timeout 60 "$loopsim" run --headless --quiet --seed 11 --peers 2 --duration 1 --report "$dir/link.json" --junit /dev/null \
	2>"$dir/link.err" || fail "symlink report: $(cat "$dir/link.err")"
[ -L "$dir/link.json" ] && jq -e '.verdict == "clean"' "$dir/target.json" >/dev/null && [ -c /dev/null ] ||
	fail "the symlink or /dev/null was replaced: $(ls -l "$dir/link.json" /dev/null)"; ok
# An output that cannot be written at all is refused before the run, exit 2, naming the flag.
timeout 60 "$loopsim" run --headless --quiet --peers 2 --duration 1 --report "$dir" 2>"$dir/dir.err"
rc=$?
[ $rc = 2 ] && grep -q -- "--report: $dir: is a directory" "$dir/dir.err" || fail "--report DIR: exit $rc, $(cat "$dir/dir.err")"; ok
# A desync whose bundle cannot be written: exit 1 still, and both are said.
timeout 60 "$loopsim" run --headless --seed 11 --peers 3 --duration 8 --inject-desync 1@60 --bundle /dev/null/bundle \
	--report "$dir/nobundle.json" 2>"$dir/nobundle.err"
rc=$?
[ $rc = 1 ] && jq -e '.verdict == "desync" and (.also | test("^the desync bundle could not be written"))' "$dir/nobundle.json" >/dev/null &&
	grep -q "also: the desync bundle could not be written" "$dir/nobundle.err" ||
	fail "unwritable bundle: exit $rc, $(jq -c '{verdict, also}' "$dir/nobundle.json") $(head -3 "$dir/nobundle.err")"; ok

# The seed is printed when it was not given, so that any run can be repeated.
timeout 60 "$loopsim" run --headless --peers 2 --duration 1 2>"$dir/seed.err"
grep -Eq '^loopsim: seed [0-9]+ \(add --seed [0-9]+ to repeat this run\)' "$dir/seed.err" || fail "no seed printed: $(head -2 "$dir/seed.err")"; ok
# A --peer-cmd run keeps its peers' logs after a clean run, and says where.
timeout 60 "$loopsim" run --headless --seed 11 --peers 2 --duration 1 --peer-cmd "$peer {index} honest" 2>"$dir/logs.err"
logs=$(sed -n 's|^peer logs: \(.*\)/peer-K.log$|\1|p' "$dir/logs.err")
[ -n "$logs" ] && [ -f "$logs/peer-0.log" ] && [ -f "$logs/peer-1.log" ] || fail "peer logs not kept: $(tail -2 "$dir/logs.err")"; ok
rm -rf "$logs"

echo "verdict_test: all $checks checks passed"
