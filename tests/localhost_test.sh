#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --localhost-ports: unmodified localhost games (C and Python) under `loopsim run`, measuring the wire themselves.
#
# The games (tests/localhost_game.c and .py) bind 0.0.0.0:BASE+k or 127.0.0.1:BASE+k and send to
# 127.0.0.1:BASE+j; they know nothing of loopsim. Through the preload library their datagrams cross the wire,
# and what they measure themselves must show the wire's settings: per-link latency, loss, a partition. Then a
# client-server game (clients on port 0, or never bound), the pcap, the same games on dual-stack IPv6 sockets (as
# Java opens them), and the flag's usage errors.
set -u
loopsim=$1 game_c=$2 game_py=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "localhost_test: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

lib=$(dirname "$loopsim")/libloopsim-preload.so
[ -r "$lib" ] || fail "no preload library beside loopsim ($lib)"
# The library goes into programs that have no sanitizer runtime: it must have none either, whatever the build.
if ldd "$lib" | grep -q 'libasan\|libubsan'; then fail "the preload library is sanitized: $(ldd "$lib")"; fi; ok
if ldd "$loopsim" | grep -q libasan; then
	echo "localhost_test: loopsim is built with ASan; the preload library and the games are not, so this runs for real"
fi

# BASE below the kernel's ephemeral range, so that no socket of another session (on 127.0.0.2.. too) holds it.
read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range
span=$((eph_lo - 10000 - 100))
[ "$span" -gt 0 ] || span=20000
base=$((10000 + (RANDOM * 32768 + RANDOM) % span))

# ---- a mesh: peers 0 and 1 in C (peer 1 binds 127.0.0.1), peer 2 in Python (0.0.0.0) ----
cat >"$dir/mesh.ini" <<'EOF'
[link *]
latency = 30
jitter = 0
loss = 10
[link 1->2]
latency = 80
[at 1]
partition = 0 | 1 2
[at 2]
heal = all
EOF
cmd="if [ {index} = 2 ]; then exec python3 $game_py --index {index} --peers 3 --base $base --seconds 3 --out $dir/mesh-{port}.json;"
cmd="$cmd elif [ {index} = 1 ]; then exec $game_c --index {index} --peers 3 --base $base --seconds 3 --bind loopback --out $dir/mesh-{port}.json;"
cmd="$cmd else exec $game_c --index {index} --peers 3 --base $base --seconds 3 --out $dir/mesh-{port}.json; fi"
timeout 60 "$loopsim" run "$dir/mesh.ini" --headless --network-only --peers 3 --duration 4 --seed 12 \
	--localhost-ports "$base" --peer-cmd "$cmd" --report "$dir/mesh.json" --pcap "$dir/mesh.pcap" 2>"$dir/mesh.err"
rc=$?
[ $rc = 0 ] || fail "mesh: exit $rc: $(cat "$dir/mesh.err")"; ok
for k in 0 1 2; do
	[ -s "$dir/mesh-$((base + k)).json" ] || fail "mesh: peer $k wrote no summary ({port} is BASE+k): $(cat "$dir/mesh.err")"
done; ok

# Everything the games measured, checked against the scenario and against the wire's own counts.
python3 - "$dir" "$base" <<'EOF' || fail "mesh: the games' measurements (above)"
import json, struct, sys
d, base = sys.argv[1], int(sys.argv[2])
out = {k: json.load(open("%s/mesh-%d.json" % (d, base + k))) for k in range(3)}
rep = json.load(open(d + "/mesh.json"))
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
# The source addresses the games saw are those they believe in; and each sees itself as it bound.
for k, o in out.items():
    others = sorted("127.0.0.1:%d" % (base + j) for j in range(3) if j != k)
    check(o["sources"] == others, "peer %d saw sources %s, wanted %s" % (k, o["sources"], others))
    check(o["foreign"] == 0, "peer %d got %d datagrams from unexpected addresses" % (k, o["foreign"]))
    want = "%s:%d" % ("127.0.0.1" if k == 1 else "0.0.0.0", base + k)
    check(o["sockname"] == want, "peer %d: getsockname %s, wanted %s" % (k, o["sockname"], want))
    check(sorted(o["recv"]) == sorted(str(j) for j in range(3) if j != k), "peer %d heard from %s" % (k, sorted(o["recv"])))
links = {(l["from"], l["to"]): l for l in rep["links"]}
for k, o in out.items():
    for js, r in o["recv"].items():
        j = int(js)
        lat = 80 if (j, k) == (1, 2) else 30
        span = r["last_seq"] - r["first_seq"] + 1
        loss = 1 - r["unique"] / span
        part = 0 in (j, k)
        print("  %d->%d (%s) latency %d ms: measured min %.2f p50 %.2f max %.2f ms; %d of %d received, loss %.1f%%, longest gap %d"
              % (j, k, o["lang"], lat, r["min_ms"], r["p50_ms"], r["max_ms"], r["unique"], span, 100 * loss, r["max_gap"]))
        # The wire delays from the moment the kernel received the datagram; a clock tick of slack.
        check(r["min_ms"] >= lat - 1, "%d->%d: min delay %.2f ms under the link's %d ms" % (j, k, r["min_ms"], lat))
        check(r["p50_ms"] <= lat + 25, "%d->%d: median delay %.2f ms far above the link's %d ms" % (j, k, r["p50_ms"], lat))
        if part:
            # 1 s of 3 cut: about 10% + 90% of a third.
            check(r["max_gap"] >= 70, "%d->%d: longest gap %d, no sign of the 1 s partition" % (j, k, r["max_gap"]))
            check(loss >= 0.25, "%d->%d: loss %.1f%% across a partition" % (j, k, 100 * loss))
            check(links[(j, k)]["dropped_by"]["partition"] > 50, "%d->%d: the wire dropped no partition" % (j, k))
        else:
            # 10% loss over ~300 datagrams: sd 1.7%, so 4 sd either side.
            check(r["max_gap"] < 40, "%d->%d: a gap of %d datagrams with no partition" % (j, k, r["max_gap"]))
            check(0.03 <= loss <= 0.17, "%d->%d: loss %.1f%%, the link's is 10%%" % (j, k, 100 * loss))
            l = links[(j, k)]
            wire = l["dropped_by"]["loss"] / l["sent"]
            check(abs(wire - loss) <= 0.04, "%d->%d: the game saw %.1f%% lost, the wire dropped %.1f%%" % (j, k, 100 * loss, 100 * wire))
            check(l["dropped_by"]["partition"] == 0, "%d->%d: partition drops on an uncut link" % (j, k))
# The per-link latency shows: 1->2 is 50 ms slower than 2->1.
diff = out[2]["recv"]["1"]["p50_ms"] - out[1]["recv"]["2"]["p50_ms"]
check(35 <= diff <= 65, "1->2 minus 2->1 median delay is %.1f ms, wanted about 50" % diff)
# The harness knew each peer's port from the library's HELLO, and every game stopped cleanly on QUIT.
for p in rep["peers"]:
    check(p["port"] == base + p["index"] and p["exit_status"] == 0,
          "report: peer %d port %s exit %s" % (p["index"], p["port"], p["exit_status"]))
# The pcap (raw IPv4) holds what the wire delivered, addressed to BASE+k on each peer's own IP: every datagram a
# game received, and no more once it was up (before, a game not yet bound missed what the wire delivered).
data = open(d + "/mesh.pcap", "rb").read()
check(struct.unpack_from("<I", data)[0] == 0xa1b2c3d4, "the pcap's magic")
pos, n, dst, seqs = 24, 0, set(), {}
while pos + 16 <= len(data):
    incl = struct.unpack_from("<I", data, pos + 8)[0]
    pkt = data[pos + 16:pos + 16 + incl]
    ihl = (pkt[0] & 15) * 4
    port = struct.unpack_from(">H", pkt, ihl + 2)[0]
    dst.add(("%d.%d.%d.%d" % tuple(pkt[16:20]), port))
    magic, sender, seq = struct.unpack_from("<3sBI", pkt, ihl + 8)
    seqs.setdefault((sender, port - base), set()).add(seq)
    n += 1
    pos += 16 + incl
check(dst == {("127.0.0.%d" % (k + 2), base + k) for k in range(3)}, "the pcap's destinations: %s" % sorted(dst))
for k, o in out.items():
    for js, r in o["recv"].items():
        cap = len([q for q in seqs.get((int(js), k), ()) if q >= r["first_seq"]])
        check(r["unique"] <= cap <= r["unique"] + 2,
              "%s->%d: the pcap has %d datagrams from the game's first on, the game received %d" % (js, k, cap, r["unique"]))
print("  pcap: %d datagrams, to %s" % (n, sorted(dst)))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
ok

# ---- client-server: peer 0 the server at BASE, clients on port 0 (C) and never bound (Python) ----
# The server sends 1.5 s longer than the clients: a client that starts late (Python, on a loaded machine, by
# over a second in one CI run) still hears it for the whole of its own 2 s.
cmd="if [ {index} = 0 ]; then exec $game_c --role server --index 0 --peers 3 --base $base --seconds 3.5 --out $dir/cs-0.json;"
cmd="$cmd elif [ {index} = 1 ]; then exec $game_c --role client --index 1 --peers 3 --base $base --seconds 2 --out $dir/cs-1.json;"
cmd="$cmd else exec python3 $game_py --role client --bind none --index 2 --peers 3 --base $base --seconds 2 --out $dir/cs-2.json; fi"
timeout 60 "$loopsim" run --headless --network-only --peers 3 --duration 4.5 --seed 13 --latency 20 --jitter 0 --loss 0 \
	--localhost-ports "$base" --peer-cmd "$cmd" --report "$dir/cs.json" 2>"$dir/cs.err"
rc=$?
[ $rc = 0 ] || fail "client-server: exit $rc: $(cat "$dir/cs.err")"; ok
python3 - "$dir" "$base" <<'EOF' || fail "client-server: the games' measurements (above)"
import json, sys
d, base = sys.argv[1], int(sys.argv[2])
out = {k: json.load(open("%s/cs-%d.json" % (d, k))) for k in range(3)}
rep = json.load(open(d + "/cs.json"))
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
s = out[0]
check(s["sources"] == ["127.0.0.1:%d" % (base + 1), "127.0.0.1:%d" % (base + 2)], "the server saw %s" % s["sources"])
for k in (1, 2):
    c = out[k]
    check(c["sources"] == ["127.0.0.1:%d" % base], "client %d saw %s" % (k, c["sources"]))
    for who, r in ((k, s["recv"].get(str(k))), (0, c["recv"].get("0"))):
        check(r is not None and r["unique"] > 150, "peer %d heard too little: %s" % (who, r))
        if r:
            check(r["min_ms"] >= 19 and r["p50_ms"] <= 45, "delays %s with a 20 ms link" % r)
            print("  %s: min %.2f p50 %.2f ms, %d received" % ("client %d -> server" % k if who == k else "server -> client %d" % k,
                  r["min_ms"], r["p50_ms"], r["unique"]))
    # A client's real port is the kernel's, not BASE+k: the library's HELLO told the harness.
    p = rep["peers"][k]
    check(p["port"] not in (0, base + k), "report: client %d's port is %s" % (k, p["port"]))
    check(c["sockname"].startswith("0.0.0.0:") and c["sockname"] != "0.0.0.0:0", "client %d: getsockname %s" % (k, c["sockname"]))
check(rep["wire"]["strays"] == 0, "strays: %s" % rep["wire"])
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
ok

# ---- dual-stack IPv6: peers 0 (C) and 2 (Python) bind :: and send to ::ffff:127.0.0.1, peer 1 (C) binds ::1 and
# sends to ::1; the wire's per-link latency shows in their own delays, and its links carried every datagram ----
if ! python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)' 2>/dev/null; then
	echo "localhost_test: no IPv6 sockets on this kernel: the dual-stack case is skipped"
else
	cat >"$dir/v6.ini" <<'EOF'
[link *]
latency = 25
jitter = 0
loss = 0
[link 0->1]
latency = 60
EOF
	cmd="if [ {index} = 2 ]; then exec python3 $game_py --ipv6 mapped --index {index} --peers 3 --base $base --seconds 2 --out $dir/v6-{index}.json;"
	cmd="$cmd elif [ {index} = 1 ]; then exec $game_c --ipv6 loopback --bind loopback --index {index} --peers 3 --base $base --seconds 2 --out $dir/v6-{index}.json;"
	cmd="$cmd else exec $game_c --ipv6 mapped --index {index} --peers 3 --base $base --seconds 2 --out $dir/v6-{index}.json; fi"
	timeout 60 "$loopsim" run "$dir/v6.ini" --headless --network-only --peers 3 --duration 3 --seed 14 \
		--localhost-ports "$base" --peer-cmd "$cmd" --report "$dir/v6.json" 2>"$dir/v6.err"
	rc=$?
	[ $rc = 0 ] || fail "dual-stack: exit $rc: $(cat "$dir/v6.err")"; ok
	python3 - "$dir" "$base" <<'EOF' || fail "dual-stack: the games' measurements (above)"
import json, sys
d, base = sys.argv[1], int(sys.argv[2])
out = {k: json.load(open("%s/v6-%d.json" % (d, k))) for k in range(3)}
rep = json.load(open(d + "/v6.json"))
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)
links = {(l["from"], l["to"]): l for l in rep["links"]}
for k, o in out.items():
    # Each sees the others in the form it reaches them by, and itself as it bound.
    form = "::1" if k == 1 else "::ffff:127.0.0.1"
    others = sorted("[%s]:%d" % (form, base + j) for j in range(3) if j != k)
    check(o["sources"] == others, "peer %d saw sources %s, wanted %s" % (k, o["sources"], others))
    check(o["foreign"] == 0, "peer %d got %d datagrams from unexpected addresses" % (k, o["foreign"]))
    want = "[%s]:%d" % ("::1" if k == 1 else "::", base + k)
    check(o["sockname"] == want, "peer %d: getsockname %s, wanted %s" % (k, o["sockname"], want))
    for j in range(3):
        if j == k:
            continue
        r, l = o["recv"].get(str(j)), links[(j, k)]
        lat = 60 if (j, k) == (0, 1) else 25
        check(r is not None and r["unique"] > 100, "%d->%d: the game received %s" % (j, k, r))
        if not r:
            continue
        print("  %d->%d (%s) latency %d ms: measured min %.2f p50 %.2f max %.2f ms; %d received; the wire sent %d, delivered %d, p50 %s ms"
              % (j, k, o["lang"], lat, r["min_ms"], r["p50_ms"], r["max_ms"], r["unique"], l["sent"], l["delivered"], l["delay_ms"]["p50"]))
        check(r["min_ms"] >= lat - 1, "%d->%d: min delay %.2f ms under the link's %d ms" % (j, k, r["min_ms"], lat))
        check(r["p50_ms"] <= lat + 25, "%d->%d: median delay %.2f ms far above the link's %d ms" % (j, k, r["p50_ms"], lat))
        # Every datagram the game received crossed the wire (none went straight between the games).
        check(l["delivered"] >= r["unique"], "%d->%d: the game received %d, the wire delivered only %d" % (j, k, r["unique"], l["delivered"]))
# The per-link latency shows: 0->1 is 35 ms slower than 1->0.
diff = out[1]["recv"]["0"]["p50_ms"] - out[0]["recv"]["1"]["p50_ms"]
check(25 <= diff <= 45, "0->1 minus 1->0 median delay is %.1f ms, wanted about 35" % diff)
# The library's HELLO from a dual-stack socket told the harness each port; every game stopped cleanly on QUIT.
for p in rep["peers"]:
    check(p["port"] == base + p["index"] and p["exit_status"] == 0,
          "report: peer %d port %s exit %s" % (p["index"], p["port"], p["exit_status"]))
check(rep["wire"]["strays"] == 0 and not rep["misfits"], "strays %s, misfits %s" % (rep["wire"]["strays"], rep["misfits"]))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF
	ok
fi

# ---- usage: the flag's errors name it, exit 2; a missing library is a failure to start, exit 3 ----
usage() {
	local want=$1
	shift
	"$loopsim" run --headless --quiet --network-only --duration 1 "$@" >/dev/null 2>"$dir/usage.err"
	local rc=$?
	[ $rc = 2 ] && grep -q -- "$want" "$dir/usage.err" || fail "usage ($*): exit $rc, $(cat "$dir/usage.err")"
}
usage "--localhost-ports" --localhost-ports 0 --peer-cmd true; ok
usage "--localhost-ports" --localhost-ports 65535 --peers 3 --peer-cmd true; ok
usage "--localhost-ports" --localhost-ports x --peer-cmd true; ok
usage "--localhost-ports: needs --peer-cmd" --localhost-ports 7000; ok
usage "{port} needs --localhost-ports" --peer-cmd 'echo {port}'; ok
LOOPSIM_PRELOAD=$dir/missing.so "$loopsim" run --headless --quiet --network-only --duration 1 --peers 2 \
	--localhost-ports "$base" --peer-cmd true >/dev/null 2>"$dir/missing.err"
rc=$?
[ $rc = 3 ] && grep -q "missing.so" "$dir/missing.err" || fail "a missing library: exit $rc, $(cat "$dir/missing.err")"; ok

echo "localhost_test: all $checks checks passed"
