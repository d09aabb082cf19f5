#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A peer for the verdict tests: honest, or one of the ways a peer can lie to, stall or break the harness.
"""
Usage: hostile_peer.py INDEX MODE[@PEER] [MODE@PEER ...]

Every peer reports FRAME at 60 Hz over the control channel (LOOPSIM_CONTROL_FD),
with a checksum that depends on the frame alone, so honest peers agree. A
MODE@PEER argument makes peer PEER misbehave; a peer named by none is honest.

  honest      as above
  silent      says HELLO, then never reports a frame (a plain UDP game)
  mute        never speaks the control protocol at all
  liar        from frame 30, a checksum no other peer has
  future      at frame 20, one FRAME with confirmed = 1,000,000, then honest again
  farfuture   at frame 20, one FRAME with confirmed = 0xFFFFFFFE, then honest again
  backwards   at frame 40, its confirmed frame goes back to 10
  garbage     at frame 20, seven bytes of garbage on the channel, then lives on without it
  close       at frame 20, closes its channel and lives on
  stall       from frame 20, repeats FRAME 20 for ever (a heartbeat without progress)
  detach      forks a grandchild that calls setsid and sleeps; writes its pid to $HOSTILE_PIDFILE

Misfits, peers whose traffic does not fit the wire (they report frames as honest ones do):
  loopback    binds 127.0.0.1 instead of LOOPSIM_ADDR, so its datagrams reach the wire from outside
  twosockets  also sends from a second socket on LOOPSIM_ADDR, a port the wire does not know it by
  listen      never speaks the control protocol and never sends a datagram: the wire cannot learn its port
  late        never speaks the control protocol, and sends its first datagram after 1 s
  self        also sends to its own public address

The peer binds a UDP socket on LOOPSIM_ADDR and sends each other peer one
datagram per frame, so that the wire sees traffic. It exits on QUIT.
"""
import os
import socket
import struct
import sys
import time

MAGIC = b"LC\x01"
HELLO, FRAME, BYE, QUIT = 1, 2, 5, 11


def checksum(frame):
    return (frame * 0x9E3779B97F4A7C15 + 0x1234) & 0xFFFFFFFFFFFFFFFF


def main():
    index = int(sys.argv[1])
    mode = "honest"
    for arg in sys.argv[2:]:
        name, _, who = arg.partition("@")
        if who == "" or int(who) == index:
            mode = name
    fd = os.environ.get("LOOPSIM_CONTROL_FD")
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, 0, int(fd)) if fd else None
    addr = os.environ["LOOPSIM_ADDR"]
    peers = [p.rsplit(":", 1) for p in os.environ["LOOPSIM_PEERS"].split(",")]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1" if mode == "loopback" else addr, 0))
    udp.setblocking(False)
    second = None
    if mode == "twosockets":
        second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        second.bind((addr, 0))
        second.setblocking(False)
    if mode in ("listen", "late"):
        ctl = None

    if mode == "detach":
        pid = os.fork()
        if pid == 0:
            os.setsid()
            if os.fork() == 0:
                with open(os.environ["HOSTILE_PIDFILE"], "w") as f:
                    f.write(str(os.getpid()))
                time.sleep(300)
            os._exit(0)
        os.waitpid(pid, 0)

    def send(msg_type, body=b""):
        if ctl is not None:
            ctl.send(MAGIC + bytes([msg_type]) + body)

    if mode not in ("mute", "listen", "late"):
        ip = struct.unpack("!I", socket.inet_aton(addr))[0]
        send(HELLO, struct.pack("<HIHI", index, ip, udp.getsockname()[1], os.getpid()))
    if ctl is not None:
        ctl.setblocking(False)

    frame = 0
    confirmed = 0
    start = time.monotonic()
    while True:
        # QUIT ends us; anything else from the harness is ignored.
        while ctl is not None:
            try:
                msg = ctl.recv(16384)
            except BlockingIOError:
                break
            except OSError:
                msg = b""
            if not msg:
                ctl = None
                break
            if len(msg) >= 4 and msg[3] == QUIT:
                send(BYE, b"\x01")
                return 0
        if ctl is None and mode in ("listen", "late") and time.monotonic() - start > 10:
            return 0  # without a channel, nothing says QUIT: the harness ends it
        for j, (ip, port) in enumerate(peers):
            if (j == index and mode != "self") or mode == "listen" or (mode == "late" and frame < 60):
                continue
            try:
                udp.sendto(struct.pack("<BI", index, frame), (ip, int(port)))
                if second is not None:
                    second.sendto(struct.pack("<BI", index, frame), (ip, int(port)))
            except OSError:
                pass
        try:
            while True:
                udp.recv(2048)
        except (BlockingIOError, OSError):
            pass

        report = frame
        sum_ = checksum(frame)
        if mode == "liar" and frame >= 30:
            sum_ ^= 1
        if mode == "future" and frame == 20:
            report = 1000000
        if mode == "farfuture" and frame == 20:
            report = 0xFFFFFFFE
        if mode == "backwards" and frame == 40:
            report = 10
        if mode == "stall" and frame >= 20:
            report = 20
            sum_ = checksum(20)
        if mode == "garbage" and frame == 20 and ctl is not None:
            ctl.send(b"garbage")
            ctl = None  # it lives on without its channel, as a careless program would
        if mode == "close" and frame == 20 and ctl is not None:
            ctl.close()
            ctl = None
        if mode not in ("silent", "mute"):
            send(FRAME, struct.pack("<IIQIHHIHhII", report, report, sum_, 0, 0, 0, 0, 0, 0, 0, 0))
        frame += 1
        # Sleep to the next 60 Hz tick, measured from the start so that the rate does not drift.
        time.sleep(max(0.0, start + frame / 60.0 - time.monotonic()))


if __name__ == "__main__":
    sys.exit(main())
