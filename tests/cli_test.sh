#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The loopsim command line run as a user would: exit codes, messages, the peer table, fate log and pcap.
#
# Usage: cli_test.sh /path/to/loopsim
# Stops at the first failed check, saying which command did what. Takes a few seconds.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 /path/to/loopsim" >&2
	exit 2
fi
LOOPSIM=$1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/loopsim-cli.XXXXXX") || {
	echo "cli_test: cannot make a temporary directory" >&2
	exit 1
}
trap 'rm -rf "$TMP"' EXIT

checks=0
last=""
rc=0

fail() {
	echo "cli_test: FAIL: $*" >&2
	if [ -n "$last" ]; then
		echo "--- stdout of: $last" >&2
		head -c 2000 "$TMP/out" >&2
		echo "--- stderr of: $last" >&2
		head -c 2000 "$TMP/err" >&2
	fi
	exit 1
}

pass() {
	checks=$((checks + 1))
}

# run SECONDS ARGS...: runs loopsim ARGS with a time limit; sets rc, $TMP/out and $TMP/err.
run() {
	local limit=$1
	shift
	last="loopsim $*"
	rc=0
	timeout -k 2 "$limit" "$LOOPSIM" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "'$last' did not finish within $limit s"
	fi
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "'$last' exited $rc, expected $1"
	pass
}

expect_in() { # FILE TEXT
	grep -qF -- "$2" "$TMP/$1" || fail "'$last': $1 does not contain '$2'"
	pass
}

# expect_usage TEXT ARGS...: exit code 2, TEXT (the flag) in the message, nothing on stdout.
expect_usage() {
	local text=$1
	shift
	run 10 "$@"
	expect_rc 2
	expect_in err "$text"
	[ ! -s "$TMP/out" ] || fail "'$last' printed on stdout although it was refused"
	pass
}

# --- help and version ---------------------------------------------------------------------------

run 10 --help
expect_rc 0
expect_in out "Usage:"
expect_in out "wire"

run 10 wire --help
expect_rc 0
expect_in out "Usage: loopsim wire"
for flag in --peers --duration --pcap --fates --link --partition --latency --loss --preset; do
	expect_in out "$flag"
done
expect_in out "broadband"

run 10 --version
expect_rc 0
expect_in out "loopsim "

# --- bad usage: exit 2, and the message names the flag ------------------------------------------

expect_usage --loss wire --loss 120
expect_usage --latency wire --latency 70000
expect_usage --latency wire --latency abc
expect_usage --peers wire --peers 0
expect_usage --peers wire --peers 100000
expect_usage --bogus wire --bogus
expect_usage --loss wire --loss
expect_in err "needs a value"
expect_usage --link wire --peers 2 --link '0->9:loss=5'
expect_usage --preset wire --preset nosuch
expect_usage nosuch nosuch-command-that-does-not-exist
expect_in err "unknown command"

# --- the peer table ------------------------------------------------------------------------------

run 10 wire --peers 3 --duration 0.3 --quiet
expect_rc 0
mapfile -t lines <"$TMP/out"
[ "${#lines[@]}" -eq 4 ] || fail "'$last' printed ${#lines[@]} lines on stdout, expected 3 peers and a ready line"
pass
ports=" "
for k in 0 1 2; do
	re="^\\{\"peer\":$k,\"addr\":\"127\\.0\\.0\\.$((k + 2))\",\"public_port\":([0-9]+)\\}$"
	[[ ${lines[$k]} =~ $re ]] || fail "'$last': line $((k + 1)) is '${lines[$k]}', expected peer $k at 127.0.0.$((k + 2))"
	port=${BASH_REMATCH[1]}
	[ "$port" -ge 1 ] && [ "$port" -le 65535 ] || fail "'$last': peer $k has public port $port"
	[[ $ports != *" $port "* ]] || fail "'$last': public port $port is given twice"
	ports="$ports$port "
	pass
done
re='^\{.*"ready":true[,}]'
[[ ${lines[3]} =~ $re ]] || fail "'$last': the 4th line is '${lines[3]}', expected \"ready\":true"
pass

# --- traffic through the wire, with a fate log and a pcap ---------------------------------------

fates=$TMP/fates.txt
pcap=$TMP/run.pcap
run 15 wire --peers 2 --traffic 100 --duration 1 --quiet --latency 20 --fates "$fates" --pcap "$pcap"
expect_rc 0
expect_in out '"ready":true'
seed=$(sed -n 's/.*"seed":\([0-9][0-9]*\).*/\1/p' "$TMP/out")
[ -n "$seed" ] || fail "'$last': the ready line gives no seed"
pass

[ -s "$fates" ] || fail "'$last' wrote no fate log at $fates"
pass
head -n 1 "$fates" | grep -q "^# loopsim fate log v1 seed=$seed peers=2\$" ||
	fail "the fate log's first line is '$(head -n 1 "$fates")', expected a header naming seed $seed and 2 peers"
pass
# Every data line: 9 tab-separated fields, a link between the two peers, its own count from 0,
# and, with no loss set, a delivery.
summary=$(awk -F'\t' '
	/^#/ { next }
	{
		n++
		if (NF != 9) why = sprintf("has %d fields", NF)
		else if (!(($2 == 0 && $3 == 1) || ($2 == 1 && $3 == 0))) why = "is on link " $2 "->" $3
		else if ($4 != seen[$2 "->" $3]++) why = "has index " $4 " on " $2 "->" $3
		else if ($6 != "deliver") why = "has fate " $6 " with no loss set"
		else if ($7 < 15000 || $7 > 60000) why = "has delay " $7 " for a 20 ms link"
		if (why != "") { printf "line %d %s\n", NR, why; exit }
	}
	END { if (why == "") printf "ok %d\n", n }' "$fates")
[[ $summary =~ ^ok\ ([0-9]+)$ ]] || fail "the fate log is malformed: $summary"
# 100 Hz for 1 s from each of 2 peers is about 200; a loaded machine may manage fewer.
[ "${BASH_REMATCH[1]}" -ge 20 ] || fail "the fate log has only ${BASH_REMATCH[1]} data lines, expected about 200"
pass

[ -f "$pcap" ] || fail "'$last' wrote no pcap at $pcap"
pcap_size=$(wc -c <"$pcap")
[ "$pcap_size" -gt 24 ] || fail "the pcap is $pcap_size bytes: a header with no packets"
pass
if command -v tshark >/dev/null 2>&1; then
	tshark -r "$pcap" -T fields -e ip.src -e ip.dst >"$TMP/pcap.txt" 2>"$TMP/pcap.err" ||
		fail "tshark cannot read the pcap: $(head -c 500 "$TMP/pcap.err")"
	reader=tshark
elif command -v tcpdump >/dev/null 2>&1; then
	tcpdump -nr "$pcap" >"$TMP/pcap.raw" 2>"$TMP/pcap.err" ||
		fail "tcpdump cannot read the pcap: $(head -c 500 "$TMP/pcap.err")"
	# "... IP 127.0.0.2.40000 > 127.0.0.3.50000: UDP, length 64" -> "127.0.0.2<tab>127.0.0.3"
	sed -n 's/.* IP \(127\.0\.0\.[0-9]*\)\.[0-9]* > \(127\.0\.0\.[0-9]*\)\.[0-9]*:.*/\1\t\2/p' \
		"$TMP/pcap.raw" >"$TMP/pcap.txt"
	reader=tcpdump
else
	reader=""
	echo "cli_test: neither tshark nor tcpdump is installed; not reading the pcap back" >&2
fi
if [ -n "$reader" ]; then
	packets=$(wc -l <"$TMP/pcap.txt")
	[ "$packets" -ge 1 ] || fail "$reader reads no packets from the pcap"
	others=$(grep -cvE '^127\.0\.0\.(2	127\.0\.0\.3|3	127\.0\.0\.2)$' "$TMP/pcap.txt")
	[ "$others" -eq 0 ] || fail "$reader finds $others packets in the pcap that are not between 127.0.0.2 and 127.0.0.3"
	pass
fi

# --- the wire's summary: spoofed among its totals, quantiles to p99.9, lateness -----------------

expect_in err "spoofed 0"
expect_in err "p999_ms"
expect_in err "late99_ms"

# --- --replay-fates: the recorded log given back, and a bad one refused with file:line -----------

run 15 wire --peers 2 --traffic 100 --duration 1 --quiet --latency 20 --replay-fates "$fates"
expect_rc 0
expect_in err "replay of $fates: "
expect_in err "given their logged fate"
bad=$TMP/bad.fates
awk 'NR == 5 { $6 = "vanished" } { print }' OFS='\t' "$fates" >"$bad"
expect_usage "$bad:5: fate 'vanished'" wire --peers 2 --replay-fates "$bad"
expect_usage "$bad:5: fate 'vanished'" run --peers 2 --headless --replay-fates "$bad"
expect_usage "$TMP/none.fates: " wire --peers 2 --replay-fates "$TMP/none.fates"
# A log of 2 peers names links a session of 1 does not have.
expect_usage "a log of 2 peers" wire --peers 1 --replay-fates "$fates"
# --resolve-only writes the scenario and stops: the fate log it would replay is not even read.
run 10 run --peers 2 --resolve-only "$TMP/resolved.ini" --replay-fates "$bad"
expect_rc 0
expect_in resolved.ini "peers = 2"

# --- --addr-base: the wire's own address plan, inside 127.0.0.0/8 or refused ----------------------

run 10 wire --peers 2 --duration 0.2 --quiet --addr-base 127.9.0.2
expect_rc 0
expect_in out '{"peer":0,"addr":"127.9.0.2",'
expect_in out '{"peer":1,"addr":"127.9.0.3",'
expect_usage "--addr-base: '10.0.0.2' is outside the loopback plan" wire --peers 2 --addr-base 10.0.0.2
expect_usage "--addr-base: '127.255.255.250' is outside" wire --peers 2 --addr-base 127.255.255.250

# --- --multi-socket ------------------------------------------------------------------------------

run 10 wire --help
expect_in out "--replay-fates FILE"
expect_in out "--multi-socket"
expect_usage --multi-socket wire --peers 2 --multi-socket=2
expect_usage --multi-socket run --peers 2 --headless --multi-socket=0,x
run 10 wire --peers 2 --duration 0.2 --quiet --multi-socket
expect_rc 0
run 10 wire --peers 3 --duration 0.2 --quiet --multi-socket=0,2
expect_rc 0

# Peer 0 sends from its own socket and from a second one on its address: without --multi-socket the
# second is spoofed, counted and dropped; with it, both arrive. The wire runs until told to stop.
if command -v python3 >/dev/null 2>&1; then
	for multi in 0 1; do
		verdict=$(timeout -k 2 20 python3 - "$LOOPSIM" "$multi" <<'PY' 2>&1
import json, signal, socket, subprocess, sys
loopsim, multi = sys.argv[1], sys.argv[2] == "1"
def udp(ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(5)
    return s
own, second, rx = udp("127.0.0.2"), udp("127.0.0.2"), udp("127.0.0.3")
args = [loopsim, "wire", "--peers", "2", "--quiet", "--port", "0=%d" % own.getsockname()[1],
        "--port", "1=%d" % rx.getsockname()[1]] + (["--multi-socket"] if multi else [])
p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
ports = {}
for line in p.stdout:
    o = json.loads(line)
    if o.get("ready"):
        break
    ports[o["peer"]] = o["public_port"]
to = ("127.0.0.3", ports[1])
own.sendto(b"real", to)
second.sendto(b"second", to)
own.sendto(b"after", to)
got = [rx.recv(64) for _ in range(3 if multi else 2)]
p.send_signal(signal.SIGINT)
_, err = p.communicate(timeout=10)
want = [b"real", b"second", b"after"] if multi else [b"real", b"after"]
spoofed = "spoofed %d," % (0 if multi else 1)
print("ok" if got == want and spoofed in err else "got %s, want %s; stderr: %s" % (got, want, err))
PY
)
		[ "$verdict" = ok ] || fail "a peer sending from two sockets (--multi-socket: $multi): $verdict"
		pass
	done
fi

echo "cli_test: all $checks checks passed"
exit 0
