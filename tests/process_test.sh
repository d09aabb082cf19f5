#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Peer processes: nothing a --peer-cmd starts outlives the run, peers inherit only fds 0-2 and their control
# channel, and a --peer-cmd runs as the user wrote it (cd, variables, compound commands).
set -u
# Absolute: (c) runs loopsim from other directories.
loopsim=$(realpath "$1") example=$(realpath "$2")
dir=$(mktemp -d)
stray=
# A process this test failed to see ended must not outlive it either.
cleanup() { [ -n "$stray" ] && kill -KILL $stray 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "process_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
run=(timeout 40 "$loopsim" run --headless --quiet --peers 3 --duration 2 --seed 5)
args="{index} {addr} {peers} {seed}"

# (a) Each peer starts a grandchild that leaves the peer's process group and session (setsid), writes its pid and
# sleeps for 300 s; the peer itself is the example peer, so the run is clean. When loopsim is gone, so is each
# grandchild: the harness is their subreaper and ends what the peers left behind.
daemon="setsid sh -c 'echo \$\$ >$dir/daemon.{index}; exec sleep 300' </dev/null >/dev/null 2>&1 &"
"${run[@]}" --peer-cmd "$daemon $example $args" --report "$dir/a.json" 2>"$dir/a.err"
rc=$?
for k in 0 1 2; do
	[ -s "$dir/daemon.$k" ] || fail "(a) peer $k's grandchild never wrote its pid (exit $rc): $(cat "$dir/a.err")"
	stray="$stray $(cat "$dir/daemon.$k")"
done
[ $rc = 0 ] || fail "(a) exit $rc, expected a clean run: $(cat "$dir/a.err")"; ok
for p in $stray; do
	# Gone, or at most a different process that has the pid by now.
	if [ -e /proc/$p ] && tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | grep -q '^sleep 300'; then
		fail "(a) the setsid'ed grandchild $p (sleep 300) outlived loopsim"
	fi
done; ok
stray=

# (b) The harness itself is started with fds it does not own and did not mark close-on-exec: 10 (/dev/null) and
# 251 (a FIFO, a pipe as the kernel sees it). Each peer's shell lists its own fds before it becomes the example
# peer: only 0, 1, 2 and LOOPSIM_CONTROL_FD may be there. (The listing runs in a subshell so that the redirection
# is the subshell's: dash keeps a copy of a redirected fd, at 10 or above, while a command runs.)
mkfifo "$dir/fifo"
list="(ls /proc/\$\$/fd) >$dir/fds.{index}; echo \$LOOPSIM_CONTROL_FD >$dir/ctl.{index}; exec $example $args"
(
	exec 10</dev/null 251<>"$dir/fifo"
	[ -e /proc/$BASHPID/fd/10 ] && [ -e /proc/$BASHPID/fd/251 ] || exit 99
	exec "${run[@]}" --peer-cmd "$list" --report "$dir/b.json" 2>"$dir/b.err"
)
rc=$?
[ $rc != 99 ] || fail "(b) could not open fds 10 and 251 in the shell that starts loopsim"
for k in 0 1 2; do
	[ -s "$dir/fds.$k" ] && [ -s "$dir/ctl.$k" ] || fail "(b) peer $k listed no fds (exit $rc): $(cat "$dir/b.err")"
	ctl=$(cat "$dir/ctl.$k")
	want=$(printf '%s\n' 0 1 2 "$ctl" | sort -n | tr '\n' ' ')
	got=$(sort -n "$dir/fds.$k" | tr '\n' ' ')
	[ "$got" = "$want" ] || fail "(b) peer $k has fds [$got], expected [$want] (0-2 and the control fd $ctl)"
done; ok
[ $rc = 0 ] || fail "(b) exit $rc, expected a clean run: $(cat "$dir/b.err")"; ok

# (c) The command is run as written: a cd before it, a variable assignment in front of it, a compound command.
# Each runs the example peer by a path relative to the example's directory, so each run is clean.
here=$(cd "$(dirname "$example")" && pwd) exe=./$(basename "$example")
check_form() {
	local name=$1 cwd=$2 cmd=$3
	(cd "$cwd" && "${run[@]}" --peer-cmd "$cmd" --report "$dir/c.json" 2>"$dir/c.err")
	local rc=$?
	[ $rc = 0 ] || fail "(c) $name: exit $rc for --peer-cmd '$cmd': $(tail -5 "$dir/c.err")"
	jq -e '.exit_code == 0 and .desync == null and ([.peers[] | select(.frames > 0)] | length == 3)' \
		"$dir/c.json" >/dev/null || fail "(c) $name: $(jq -c '{exit_code, reason, frames: [.peers[].frames]}' "$dir/c.json")"
	ok
}
check_form "cd DIR && CMD" / "cd '$here' && $exe $args"
check_form "VAR=1 CMD" "$here" "EXAMPLE_VAR=1 $exe $args"
check_form "if ...; then CMD; fi" "$here" "if true; then $exe $args; fi"

echo "process_test: $checks checks passed"
