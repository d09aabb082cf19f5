#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# example_peer.py: the lockstep game of example_peer.c in Python, judged by the oracle through loopsim_peer.py.
"""
Read this as documentation: the kind of program you bring to loopsim with

    loopsim run --peers 3 --peer-cmd 'python3 tests/example_peer.py {index} {addr} {peers} {seed}'

It uses the standard library and peers/python/loopsim_peer.py, nothing else.
Without the harness, run it behind `loopsim wire` with PEERS from the wire's
table, and set EXAMPLE_FRAMES=N to stop after N frames.

The game is example_peer.c's: each player has one 4-bit input per frame (a hash
of seed, index and frame stands in for a player's keys), and the state is a
64-bit FNV-1a hash over every input, frame by frame, in player order. Frame f is
played only once every player's input for f has arrived (lockstep), so if the
netcode is right every peer computes the same state. The C and Python peers
speak the same datagrams and compute the same states, so they can play together.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers", "python"))
import loopsim_peer  # noqa: E402

HZ = 30
INPUT_DELAY = 2     # our input for frame f goes out at f-2: up to 2 ticks of latency cost no stall
WINDOW = 8          # inputs per datagram: the newest frame's and 7 before it, so one loss costs nothing
RING = 64           # frames of remote inputs kept
LINGER_TICKS = HZ   # after the last frame, resend for a second: a peer may still wait for our input
HEARTBEAT_S = 0.5   # while stalled, repeat the last FRAME: waiting, not hung
STALL_LIMIT_S = 30  # no progress for this long: a peer is gone, give up
PICTURE_EVERY = 3   # frames between two STATE pictures for the viewer: 10 a second
FIELD = 1000 << 16  # the viewer's field, in 16.16 fixed point
MASK64 = 0xFFFFFFFFFFFFFFFF


def input_of(seed, index, frame):
    """A stand-in for a player's keys: 4 bits of a hash of (seed, index, frame), the splitmix64 finaliser."""
    x = (seed + 0x9E3779B97F4A7C15 * (((index << 32) | frame) + 1)) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return (x ^ (x >> 31)) & 15


class Picture:
    """What the viewer shows of this game (STATE, optional): one ship per player, steered by its inputs, as in
    example_peer.c. Bits 0-1 turn it (0 left, 3 right, else straight) among 8 headings, it moves 6 units a
    frame, and bit 3 scores a point. The picture plays no part in the checksum."""
    DX = (6, 4, 0, -4, -6, -4, 0, 4)
    DY = (0, 4, 6, 4, 0, -4, -6, -4)

    def __init__(self, npeers):
        n = min(npeers, loopsim_peer.STATE_MAX_SHIPS)
        self.x = [(100 + k * 293 % 800) << 16 for k in range(n)]
        self.y = [(100 + k * 557 % 800) << 16 for k in range(n)]
        self.heading = [k & 7 for k in range(n)]
        self.score = [0] * n

    def step(self, k, value):
        if k >= len(self.x):
            return
        turn = value & 3
        self.heading[k] = (self.heading[k] + (7 if turn == 0 else 1 if turn == 3 else 0)) & 7
        self.x[k] = (self.x[k] + self.DX[self.heading[k]] * 65536) % FIELD
        self.y[k] = (self.y[k] + self.DY[self.heading[k]] * 65536) % FIELD
        self.score[k] += value >> 3

    def ships(self):
        return [(self.x[k], self.y[k], self.heading[k] * 128, 1, self.score[k]) for k in range(len(self.x))]


def send_inputs(sock, lp, newest):
    """'E' 'X', sender index u8, count u8, newest frame u32 (little-endian), then count inputs, oldest first."""
    count = min(newest + 1, WINDOW)
    data = bytes((0x45, 0x58, lp.index, count)) + struct.pack("<I", newest)
    data += bytes(input_of(lp.seed, lp.index, newest - (count - 1 - i)) for i in range(count))
    for k, addr in enumerate(lp.peers):
        if k != lp.index:
            try:
                sock.sendto(data, addr)  # UDP may lose it anyway; the next tick resends
            except OSError:
                pass


def receive_inputs(sock, lp, frame, inputs):
    """Keeps every input for frame `frame` (the one we wait on) and later; anything else is ignored."""
    while True:
        try:
            buf = sock.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        if len(buf) < 8 or buf[0] != 0x45 or buf[1] != 0x58:
            continue
        sender, count = buf[2], buf[3]
        newest = struct.unpack_from("<I", buf, 4)[0]
        if (sender >= lp.npeers or sender == lp.index or not 1 <= count <= WINDOW or len(buf) != 8 + count
                or newest < count - 1):
            continue
        for i in range(count):
            f = newest - (count - 1 - i)
            if frame <= f < frame + RING:
                inputs.setdefault((sender, f), buf[8 + i])


def main():
    if len(sys.argv) != 5:
        print("usage: example_peer.py INDEX ADDR PEERS SEED   (PEERS: ip:port,ip:port,... in index order)",
              file=sys.stderr)
        return 2
    try:
        lp = loopsim_peer.Peer.from_args(*sys.argv[1:5])
    except loopsim_peer.Error as e:
        print("example_peer.py: %s" % e, file=sys.stderr)
        return 2
    frames_env = os.environ.get("EXAMPLE_FRAMES")
    if frames_env is not None and not frames_env.isdigit():
        print("example_peer.py: EXAMPLE_FRAMES='%s' is not a frame count" % frames_env, file=sys.stderr)
        return 2
    frames = int(frames_env) if frames_env else 0  # 0: until QUIT

    # Our own IP, any port; then tell the harness which port, so the wire can deliver to us at once.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((lp.addr, 0))
    sock.setblocking(False)
    lp.hello(sock.getsockname()[1])

    frame = 0                     # the next frame to play
    state = 0xCBF29CE484222325    # FNV-1a's offset basis
    past = {}                     # the state after frame f: what DUMP asks for
    inputs = {}                   # (player, frame) -> input
    picture = Picture(lp.npeers)
    why = loopsim_peer.BYE_DONE
    next_tick = last_progress = last_report = time.monotonic()
    while True:
        now = time.monotonic()
        if lp.poll_quit():
            why = loopsim_peer.BYE_QUIT
            break
        receive_inputs(sock, lp, frame, inputs)
        if all((k, frame) in inputs for k in range(lp.npeers) if k != lp.index):
            for k in range(lp.npeers):
                value = input_of(lp.seed, k, frame) if k == lp.index else inputs.pop((k, frame))
                state = ((state ^ value) * 0x100000001B3) & MASK64  # FNV-1a, one byte per player
                picture.step(k, value)
            if lp.perturb_frame == frame:
                state ^= 1  # --inject-desync: a deliberate desync, this peer only
            past[frame] = state
            past.pop(frame - RING, None)
            lp.frame(frame, frame, state)  # every input is final: confirmed == frame
            if frame % PICTURE_EVERY == 0:
                lp.state(frame, picture.ships())
            last_progress = last_report = now
            frame += 1
            if frame == frames:
                break
        elif frame > 0 and now - last_report >= HEARTBEAT_S:
            lp.frame(frame - 1, frame - 1, state)
            last_report = now
        if lp.dump_frame >= 0:
            # The harness wants our state after a frame, for its desync bundle: 8 bytes, little-endian.
            f = lp.dump_frame
            lp.dumped(f, struct.pack("<Q", past[f]) if f in past else None)
        if now - last_progress > STALL_LIMIT_S:
            print("example_peer.py %d: no input for frame %d in 30 s; giving up" % (lp.index, frame),
                  file=sys.stderr)
            why = loopsim_peer.BYE_ERROR
            break
        send_inputs(sock, lp, frame + INPUT_DELAY)
        next_tick += 1.0 / HZ
        time.sleep(max(0.0, next_tick - time.monotonic()))
    # Our last input may have been lost, and a peer still waiting for it would stall: resend it for a second.
    for _ in range(LINGER_TICKS if why == loopsim_peer.BYE_DONE and frame > 0 else 0):
        if lp.poll_quit():
            break
        send_inputs(sock, lp, frame - 1)
        next_tick += 1.0 / HZ
        time.sleep(max(0.0, next_tick - time.monotonic()))
    if frame > 0:
        print("example_peer.py %d: frame %d state %016x" % (lp.index, frame - 1, state), file=sys.stderr)
    lp.bye(why)
    sock.close()
    return 1 if why == loopsim_peer.BYE_ERROR else 0


if __name__ == "__main__":
    sys.exit(main())
