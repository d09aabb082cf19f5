#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A game written for "several instances on 127.0.0.1, one port each", knowing nothing of loopsim (standard library).
#
# The same program as tests/localhost_game.c, in Python, for tests/localhost_test.sh: every instance sends
# numbered, timestamped datagrams to the others at 127.0.0.1:BASE+j, measures itself the delays and losses it
# sees, and writes a JSON summary to --out. Roles:
#   mesh    bind 0.0.0.0:BASE+index (or 127.0.0.1 with --bind loopback), send to every other instance
#   server  index 0 only: bind 0.0.0.0:BASE, send to every client it has heard from, at the address it saw
#   client  bind 0.0.0.0:0 (or not at all with --bind none), send to the server at 127.0.0.1:BASE
# With --ipv6 mapped or --ipv6 loopback it is the same game on a dual-stack AF_INET6 socket: it binds :: (or ::1
# with --bind loopback), reaches the others at ::ffff:127.0.0.1:BASE+j (mapped) or ::1:BASE+j (loopback), and takes
# datagrams only from the form it sends to.
# It sends for --seconds, writes the summary a moment later, and then waits to be stopped: SIGTERM ends it with
# status 0 (the summary is written then if it was not yet).
import argparse
import json
import signal
import socket
import struct
import sys
import time

MAGIC = b"LG1"
HEADER = struct.Struct("<3sBIQ")  # magic, sender index, sequence number, send time (CLOCK_MONOTONIC ns)
SETTLE_S = 0.4  # after the last send: what is still in flight arrives


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=int, required=True)
    ap.add_argument("--peers", type=int, required=True)
    ap.add_argument("--base", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rate", type=float, default=100.0, help="datagrams per second to each destination")
    ap.add_argument("--role", choices=("mesh", "server", "client"), default="mesh")
    ap.add_argument("--bind", choices=("any", "loopback", "none"), default="any")
    ap.add_argument("--ipv6", choices=("mapped", "loopback"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    if a.ipv6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual-stack whatever bindv6only says
        host = "::1" if a.bind == "loopback" else "::"
        local = "::ffff:127.0.0.1" if a.ipv6 == "mapped" else "::1"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        host = "127.0.0.1" if a.bind == "loopback" else "0.0.0.0"
        local = "127.0.0.1"
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def addr_str(addr):
        return ("[%s]:%d" if a.ipv6 else "%s:%d") % (addr[0], addr[1])
    if a.role == "mesh":
        s.bind((host, a.base + a.index))
    elif a.role == "server":
        s.bind((host, a.base))
    elif a.bind != "none":
        s.bind((host, 0))
    s.settimeout(0.005)

    dests = {}  # index -> address, as the game believes it
    if a.role == "mesh":
        dests = {j: (local, a.base + j) for j in range(a.peers) if j != a.index}
    elif a.role == "client":
        dests = {0: (local, a.base)}
    seq = {}
    recv = {}  # sender index -> {"seqs": set, "count", "delays": []}
    sources = set()
    foreign = 0
    done = {"written": False}

    def summary():
        if done["written"]:
            return
        done["written"] = True
        try:
            sockname = addr_str(s.getsockname())
        except OSError:
            sockname = "?"
        out = {"lang": "python", "index": a.index, "role": a.role, "sockname": sockname,
               "sent": {str(j): n for j, n in seq.items()}, "recv": {}, "sources": sorted(sources),
               "foreign": foreign}
        for j, r in recv.items():
            got = sorted(r["seqs"])
            d = sorted(r["delays"])
            gap = max((y - x - 1 for x, y in zip(got, got[1:])), default=0)
            out["recv"][str(j)] = {
                "count": r["count"], "unique": len(got), "first_seq": got[0], "last_seq": got[-1],
                "max_gap": gap, "min_ms": d[0], "p50_ms": d[len(d) // 2], "max_ms": d[-1],
            }
        with open(a.out, "w") as f:
            json.dump(out, f)
        print(json.dumps(out), flush=True)

    def on_term(signo, frame):
        summary()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)

    start = time.monotonic()
    period = 1.0 / a.rate
    next_send = start
    while True:
        now = time.monotonic()
        sending = now - start < a.seconds
        if sending and now >= next_send:
            for j, addr in list(dests.items()):
                n = seq.get(j, 0)
                seq[j] = n + 1
                s.sendto(HEADER.pack(MAGIC, a.index, n, time.monotonic_ns()), addr)
            next_send += period
        if not sending and now - start >= a.seconds + SETTLE_S:
            summary()
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            continue
        t = time.monotonic_ns()
        sources.add(addr_str(src))
        j = src[1] - a.base
        ok = len(data) >= HEADER.size and src[0] == local and 0 <= j < a.peers
        if ok:
            magic, sender, n, sent_ns = HEADER.unpack_from(data)
            ok = magic == MAGIC and sender == j
        if not ok:
            foreign += 1
            continue
        r = recv.setdefault(j, {"seqs": set(), "count": 0, "delays": []})
        r["count"] += 1
        if n not in r["seqs"]:
            r["seqs"].add(n)
            r["delays"].append((t - sent_ns) / 1e6)
        if a.role == "server" and j not in dests:
            dests[j] = src  # reply where the client was seen, as a server does


if __name__ == "__main__":
    main()
