#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The boundary, as the kernel sees it: every socket of loopsim and its peers is bound inside 127.0.0.0/8, and
# each peer holds only its own descriptors (stdio, its sockets, its own control channel) and nothing of the others'.
set -u
loopsim=$1
dir=$(mktemp -d)
pids=()
# SIGKILL: the harness's peers die with it (PDEATHSIG), and it writes nothing into the directory being removed.
cleanup() { [ ${#pids[@]} -gt 0 ] && { kill -KILL "${pids[@]}"; wait "${pids[@]}"; } 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
fail() { echo "security_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# Starts "$@" in the background with no descriptor above 2 inherited from this shell (or from ctest), so that
# every descriptor found in it later is its own doing. Sets $bg_pid.
start_isolated() {
	(
		for fd in $(ls /proc/$BASHPID/fd); do
			[ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-"
		done
		exec "$@"
	) &
	bg_pid=$!
	pids+=($bg_pid)
}

# Every inet socket on the host: "inode proto local remote" (addresses in /proc's hex); and every unix socket's inode.
inet_table() {
	for t in udp udp6 tcp tcp6 raw raw6 udplite udplite6; do
		[ -r /proc/net/$t ] && awk -v p=$t 'NR > 1 { print $10, p, $2, $3 }' /proc/net/$t
	done
}
unix_table() { awk 'NR > 1 { print $7 }' /proc/net/unix; }

# /proc's hex address to dotted form. IPv4 is the 32-bit word as printed by a little-endian kernel:
# 127.0.0.2 is 0200007F. IPv6 is four such words; v4-mapped (::ffff:a.b.c.d) is shown as a.b.c.d.
hex_ip() {
	local h=${1%%:*}
	if [ ${#h} = 32 ]; then
		[ "$h" = 00000000000000000000000001000000 ] && { echo "::1"; return; }
		[ "${h:0:24}" = 0000000000000000FFFF0000 ] && h=${h:24:8} || { echo "ipv6:$h"; return; }
	fi
	printf '%d.%d.%d.%d' $((16#${h:6:2})) $((16#${h:4:2})) $((16#${h:2:2})) $((16#${h:0:2}))
}
hex_port() { echo $((16#${1##*:})); }
is_loopback() { case $1 in 127.*|::1) return 0;; *) return 1;; esac; }

# The socket inodes of a process, one "fd inode" per line.
socket_fds() {
	local p=$1 fd link
	for fd in $(ls /proc/$p/fd 2>/dev/null); do
		link=$(readlink /proc/$p/fd/$fd 2>/dev/null) || continue
		case $link in socket:\[*\]) link=${link#socket:[}; echo "$fd ${link%]}";; esac
	done
}

# Checks every socket of process $1 (named $2 in messages): an inet one must be bound inside 127.0.0.0/8 and talk
# to nothing outside it; a unix one is fine; any other kind fails. Prints "proto ip port" per inet socket.
check_sockets() {
	local p=$1 who=$2 fd inode row proto local remote ip rip
	while read -r fd inode; do
		row=$(grep -m1 "^$inode " "$dir/inet")
		if [ -n "$row" ]; then
			read -r _ proto local remote <<<"$row"
			ip=$(hex_ip "$local")
			rip=$(hex_ip "$remote")
			is_loopback "$ip" || fail "$who (pid $p) has a $proto socket (fd $fd) bound to $ip:$(hex_port "$local"), outside 127.0.0.0/8"
			[ "$rip" = 0.0.0.0 ] || [ "$rip" = "ipv6:00000000000000000000000000000000" ] || is_loopback "$rip" ||
				fail "$who (pid $p) has a $proto socket (fd $fd) connected to $rip"
			echo "$proto $ip $(hex_port "$local")"
		elif ! grep -qx "$inode" "$dir/unix"; then
			fail "$who (pid $p) has fd $fd, a socket (inode $inode) that is neither inet nor unix"
		fi
	done < <(socket_fds "$p")
}

# Every descriptor of process $1 above 2 must be close-on-exec: nothing of it leaks into what it runs.
check_cloexec() {
	local p=$1 who=$2 fd flags
	for fd in $(ls /proc/$p/fd 2>/dev/null); do
		[ "$fd" -gt 2 ] || continue
		flags=$(awk '/^flags:/ { print $2 }' /proc/$p/fdinfo/$fd 2>/dev/null) || continue
		[ -n "$flags" ] || continue
		(( 8#$flags & 8#2000000 )) ||
			fail "$who (pid $p) holds fd $fd -> $(readlink /proc/$p/fd/$fd) without close-on-exec: every program it starts inherits it"
	done
}

snapshot_tables() { inet_table >"$dir/inet"; unix_table >"$dir/unix"; }

# --- loopsim run ---------------------------------------------------------------------------------------------

start_isolated "$loopsim" run --peers 3 --duration 4 --seed 31 --headless --quiet --report "$dir/run.json"
harness=$bg_pid
# Ready when the three peers are up, each with its UDP socket bound (after its HELLO), and the wire's are bound.
ready=0
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && kill -0 $harness 2>/dev/null; do
	kids=$(pgrep -P $harness | sort)
	if [ "$(echo "$kids" | grep -c .)" = 3 ]; then
		snapshot_tables
		n=0
		for k in $kids; do check_sockets $k peer 2>/dev/null | grep -q '^udp ' && n=$((n + 1)); done
		[ $n = 3 ] && [ "$(check_sockets $harness harness | grep -c '^udp ')" = 3 ] && { ready=1; break; }
	fi
	sleep 0.05
done
[ $ready = 1 ] || fail "loopsim run: three peers with bound sockets did not appear within 10 s"; ok
snapshot_tables

# Inside 127.0.0.0/8, for the harness and every peer; the harness's UDP sockets are the wire's public ones.
check_sockets $harness harness >"$dir/harness.socks" || exit 1
[ "$(grep -c . "$dir/harness.socks")" = 3 ] && [ "$(grep -vc '^udp ' "$dir/harness.socks")" = 0 ] ||
	fail "the harness's inet sockets: $(cat "$dir/harness.socks")"; ok
check_cloexec $harness harness; ok
socket_fds $harness | awk '{ print $2 }' >"$dir/harness.inodes"

: >"$dir/peer.inodes"
for p in $kids; do
	env=$(tr '\0' '\n' </proc/$p/environ)
	index=$(sed -n 's/^LOOPSIM_INDEX=//p' <<<"$env")
	ctl=$(sed -n 's/^LOOPSIM_CONTROL_FD=//p' <<<"$env")
	[ -n "$index" ] && [ -n "$ctl" ] || fail "peer pid $p has no LOOPSIM_INDEX or LOOPSIM_CONTROL_FD"
	who="peer $index"
	own_ip=127.0.0.$((index + 2))
	check_sockets $p "$who" >"$dir/peer$index.socks" || exit 1
	# Its inet sockets are its own (ENet's), on its own address.
	[ "$(grep -c . "$dir/peer$index.socks")" -ge 1 ] || fail "$who has no inet socket"
	awk -v ip=$own_ip '$2 != ip { exit 1 }' "$dir/peer$index.socks" ||
		fail "$who holds an inet socket not on its own address $own_ip: $(cat "$dir/peer$index.socks")"
	# Descriptor by descriptor: stdin /dev/null, stdout and stderr its log, its control socket, its inet sockets.
	for fd in $(ls /proc/$p/fd); do
		link=$(readlink /proc/$p/fd/$fd) || continue
		case $fd in
		0) [ "$link" = /dev/null ] || fail "$who: stdin is $link, not /dev/null";;
		1|2) case $link in */peer-$index.log) ;; *) fail "$who: fd $fd is $link, not its own log";; esac;;
		"$ctl") inode=${link#socket:[}; inode=${inode%]}
			[ "$link" != "$inode" ] && grep -qx "$inode" "$dir/unix" || fail "$who: its control fd $ctl is $link, not a unix socket";;
		*) inode=${link#socket:[}; inode=${inode%]}
			[ "$link" != "$inode" ] && grep -q "^$inode " "$dir/inet" ||
				fail "$who inherited fd $fd -> $link, which is none of its own (leaked by the harness without close-on-exec?)";;
		esac
	done
	socket_fds $p | awk -v k=$index '{ print $2, k }' >>"$dir/peer.inodes"
done; ok
# No socket is shared: none in two peers (so no peer holds another's control channel), none between a peer and the
# harness (so the wire's public sockets, and the harness's ends of the control channels, are the harness's alone).
dup=$(awk '{ print $1 }' "$dir/peer.inodes" | sort | uniq -d)
[ -z "$dup" ] || fail "socket inodes held by two peers: $dup"; ok
shared=$(awk '{ print $1 }' "$dir/peer.inodes" | sort | comm -12 - <(sort "$dir/harness.inodes"))
[ -z "$shared" ] || fail "socket inodes held by both the harness and a peer: $shared"; ok
# Not a single check of the wrong processes: what we saw matches the run's own report.
wait $harness
rc=$?
[ $rc = 0 ] || fail "loopsim run exited $rc"; ok
for k in 0 1 2; do
	pub=$(jq ".peers[$k].public_port" "$dir/run.json")
	port=$(jq ".peers[$k].port" "$dir/run.json")
	grep -qx "udp 127.0.0.$((k + 2)) $pub" "$dir/harness.socks" || fail "the wire's socket for peer $k ($pub) was not among the harness's: $(cat "$dir/harness.socks")"
	grep -qx "udp 127.0.0.$((k + 2)) $port" "$dir/peer$k.socks" || fail "peer $k's port $port was not among its sockets: $(cat "$dir/peer$k.socks")"
done; ok

# --- loopsim wire, with its stand-in peers -------------------------------------------------------------------

start_isolated "$loopsim" wire --peers 3 --duration 3 --traffic 20 --quiet >"$dir/table" 2>"$dir/wire.err"
wire=$bg_pid
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && kill -0 $wire 2>/dev/null; do
	grep -q '"ready":true' "$dir/table" && break
	sleep 0.05
done
grep -q '"ready":true' "$dir/table" || fail "loopsim wire printed no table: $(cat "$dir/wire.err")"; ok
snapshot_tables
check_sockets $wire wire >"$dir/wire.socks" || exit 1
check_cloexec $wire wire; ok
[ "$(pgrep -P $wire | grep -c .)" = 0 ] || fail "loopsim wire has child processes"
# The three public sockets of the table, and three stand-ins on the same addresses: nothing else, all UDP.
for k in 0 1 2; do
	pub=$(jq -r "select(.peer == $k) | .public_port" "$dir/table")
	grep -qx "udp 127.0.0.$((k + 2)) $pub" "$dir/wire.socks" || fail "peer $k's public socket $pub: $(cat "$dir/wire.socks")"
	[ "$(grep -c "^udp 127.0.0.$((k + 2)) " "$dir/wire.socks")" = 2 ] || fail "sockets on 127.0.0.$((k + 2)): $(cat "$dir/wire.socks")"
done; ok
[ "$(grep -c . "$dir/wire.socks")" = 6 ] || fail "loopsim wire's inet sockets: $(cat "$dir/wire.socks")"; ok
wait $wire
rc=$?
[ $rc = 0 ] || fail "loopsim wire exited $rc: $(cat "$dir/wire.err")"; ok
pids=()

echo "security_test: all $checks checks passed: $(cat "$dir/harness.socks" "$dir"/peer?.socks "$dir/wire.socks" | grep -c .) inet sockets, all in 127.0.0.0/8; peers hold only their own descriptors"
