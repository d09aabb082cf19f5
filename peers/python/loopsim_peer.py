# SPDX-License-Identifier: MIT
"""loopsim_peer: report your own peer's frames to the loopsim harness, from Python.

The same calls as peers/include/loopsim/peer.h, written from peers/PROTOCOL.md,
standard library only. Copy this file next to your game, or add its folder to
sys.path.

    import socket, loopsim_peer
    lp = loopsim_peer.Peer.from_env()            # raises loopsim_peer.Error with a reason
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((lp.addr, 0))                       # your own IP, any port
    lp.hello(sock.getsockname()[1])
    frame = 0
    while not lp.poll_quit():
        # sock.sendto(data, lp.peers[k]) for each k != lp.index; step your game, then:
        lp.frame(frame, frame, hash_of_my_state)
        frame += 1
    lp.bye(loopsim_peer.BYE_QUIT)

Started by hand, with no LOOPSIM_CONTROL_FD, every report does nothing, so the
same program runs alone (for example behind `loopsim wire`).

Not thread-safe: call it from one thread.
"""
import os
import select
import socket
import struct

VERSION = 1
MAX_PEERS = 64
DUMP_MAX = 12288
MAX_MSG = 16384
STATE_MAX_SHIPS = 16
STATE_MAX_BULLETS = 128

HELLO, FRAME, STATE, DESYNC, BYE, DUMPED = 1, 2, 3, 4, 5, 6
DUMP, QUIT, PERTURB = 10, 11, 13
RTT = 17
RTT_UNKNOWN = 0xFFFF

BYE_DONE, BYE_QUIT, BYE_ERROR = 0, 1, 2


class Error(Exception):
    """A variable of the environment (or an argument) is missing or wrong; str() says which and why."""


def _header(msg_type):
    return bytes((0x4C, 0x43, VERSION, msg_type))


def _ip(name, text):
    try:
        packed = socket.inet_aton(text)
    except OSError:
        raise Error("%s: '%.40s' is not an IPv4 address in 127.0.0.0/8" % (name, text)) from None
    if packed[0] != 127 or text.count(".") != 3:
        raise Error("%s: '%.40s' is not an IPv4 address in 127.0.0.0/8" % (name, text))
    return text


def _uint(text, limit):
    if not text or not text.isdigit() or not text.isascii():
        return None
    value = int(text)
    return value if value <= limit else None


class Peer:
    """One peer's view of the session: read these attributes freely.

    index, npeers    this peer, and how many there are
    addr             this peer's own IP: bind your UDP socket to (addr, 0)
    peers            every peer's public (ip, port), in index order: sendto() these, and only these
    seed             the session's seed
    control_fd       the control channel, or -1 when standalone
    quit             True once poll_quit() returned True
    perturb_frame    --inject-desync asks for a deliberate desync after this frame; -1 when none
    dump_frame       the harness wants your state after this frame (answer with dumped()); -1 when none
    """

    def __init__(self, index, addr, peers, seed, control_fd, names=None):
        names = names or ("index", "addr", "peers", "seed", "LOOPSIM_CONTROL_FD")
        n_index, n_addr, n_peers, n_seed, n_fd = names
        if not peers:
            raise Error("%s is not set (every peer's ip:port, comma-separated, in index order)" % n_peers)
        self.peers = []
        for i, entry in enumerate(peers.split(",")):
            if len(self.peers) == MAX_PEERS:
                raise Error("%s: more than %d peers" % (n_peers, MAX_PEERS))
            if not entry:
                raise Error("%s: entry %d is empty; expected ip:port,ip:port,..." % (n_peers, i))
            ip, sep, port = entry.rpartition(":")
            if not sep:
                raise Error("%s: entry %d '%.40s' has no port; expected ip:port" % (n_peers, i, entry))
            _ip(n_peers, ip)
            port_value = _uint(port, 65535)
            if not port_value:
                raise Error("%s: entry %d '%.40s' has no port from 1 to 65535" % (n_peers, i, entry))
            self.peers.append((ip, port_value))
        self.npeers = len(self.peers)
        if not index:
            raise Error("%s is not set (this peer's index)" % n_index)
        index_value = _uint(index, self.npeers - 1)
        if index_value is None:
            raise Error("%s: '%.40s' is not a number from 0 to %d (%s lists %d peers)"
                        % (n_index, index, self.npeers - 1, n_peers, self.npeers))
        self.index = index_value
        self.addr = self.peers[self.index][0]
        # The wire tells peers apart by IP: this peer's own must be its entry in the list.
        if addr and _ip(n_addr, addr) != self.addr:
            raise Error("%s: %s is not the address of peer %d in %s" % (n_addr, addr, self.index, n_peers))
        self.seed = 0
        if seed:
            seed_value = _uint(seed, 2**64 - 1)
            if seed_value is None:
                raise Error("%s: '%.40s' is not a number from 0 to 2^64-1" % (n_seed, seed))
            self.seed = seed_value
        self.control_fd = -1
        self._sock = None
        if control_fd:
            fd = _uint(control_fd, 65535)
            try:
                sock = socket.socket(fileno=os.dup(fd)) if fd is not None else None
            except OSError:
                sock = None
            if sock is None or sock.type != socket.SOCK_SEQPACKET:
                if sock is not None:
                    sock.close()
                raise Error("%s: '%.40s' is not an open SOCK_SEQPACKET descriptor" % (n_fd, control_fd))
            # A duplicate, so that closing this object never closes the descriptor the harness watches.
            self._sock = sock
            self.control_fd = fd
        self.quit = False
        self.perturb_frame = -1
        self.dump_frame = -1

    @classmethod
    def from_env(cls):
        """From LOOPSIM_INDEX, LOOPSIM_ADDR, LOOPSIM_PEERS, LOOPSIM_SEED and LOOPSIM_CONTROL_FD."""
        env = os.environ.get
        names = ("LOOPSIM_INDEX", "LOOPSIM_ADDR", "LOOPSIM_PEERS", "LOOPSIM_SEED", "LOOPSIM_CONTROL_FD")
        return cls(env(names[0]), env(names[1]), env(names[2]), env(names[3]), env(names[4]), names)

    @classmethod
    def from_args(cls, index, addr, peers, seed):
        """From the --peer-cmd placeholders {index} {addr} {peers} {seed}; the channel from the environment."""
        return cls(index, addr, peers, seed, os.environ.get("LOOPSIM_CONTROL_FD"))

    # ---- reports: each sends one message; without a control channel each does nothing. A report raises
    # BrokenPipeError (or another OSError) when the harness has gone, and ValueError for a message the
    # harness would refuse, before anything is sent. ----

    def _send(self, data):
        if self._sock is None:
            return
        self._sock.sendmsg([data], [], socket.MSG_NOSIGNAL)  # Python retries EINTR itself (PEP 475)

    def hello(self, port):
        """HELLO: I am up, bound at (addr, port). Send it once, right after bind()."""
        ip = struct.unpack("!I", socket.inet_aton(self.addr))[0]
        self._send(_header(HELLO) + struct.pack("<HIHI", self.index, ip, port, os.getpid() & 0xFFFFFFFF))

    def frame(self, frame, confirmed, checksum, rollbacks=0, max_rollback=0, last_rollback=0, stalls=0,
              rtt_ms=0, frames_ahead=0, bytes_in_per_s=0, bytes_out_per_s=0):
        """FRAME: my game is on `frame`; every input up to `confirmed` is final, and `checksum` (a 64-bit
        integer) is my state's hash after it. Lockstep games pass frame == confirmed. The statistics are
        optional and show in the summary, the report and the viewer. While your game waits, repeat your
        latest FRAME every half second or so: 5 s without one is a hang."""
        self._send(_header(FRAME) + struct.pack(
            "<IIQIHHIHhII", frame & 0xFFFFFFFF, confirmed & 0xFFFFFFFF, checksum & 0xFFFFFFFFFFFFFFFF,
            min(rollbacks, 0xFFFFFFFF), min(max_rollback, 0xFFFF), min(last_rollback, 0xFFFF),
            min(stalls, 0xFFFFFFFF), min(int(rtt_ms), 0xFFFF), max(-32768, min(frames_ahead, 32767)),
            min(bytes_in_per_s, 0xFFFFFFFF), min(bytes_out_per_s, 0xFFFFFFFF)))

    def state(self, frame, ships, bullets=()):
        """STATE (optional): a picture for the viewer. ships: (x, y, angle, alive, score) tuples, bullets:
        (x, y, owner) tuples, coordinates in 16.16 fixed point on the 1000 x 1000 field (PROTOCOL.md)."""
        ships, bullets = list(ships), list(bullets)
        if len(ships) > STATE_MAX_SHIPS or len(bullets) > STATE_MAX_BULLETS:
            raise ValueError("at most %d ships and %d bullets" % (STATE_MAX_SHIPS, STATE_MAX_BULLETS))
        body = struct.pack("<IBB", frame & 0xFFFFFFFF, len(ships), len(bullets))
        for x, y, angle, alive, score in ships:
            body += struct.pack("<iiHBh", x, y, angle & 0xFFFF, 1 if alive else 0, max(-32768, min(score, 32767)))
        for x, y, owner in bullets:
            if not 0 <= owner < len(ships):
                raise ValueError("a bullet's owner must be one of the ships sent")
            body += struct.pack("<iiB", x, y, owner)
        self._send(_header(STATE) + body)

    def desync(self, frame, known_mask, checksums):
        """DESYNC (optional): my own netcode saw checksums of `frame` disagree; checksums has npeers entries."""
        if len(checksums) != self.npeers or (self.npeers < 64 and known_mask >> self.npeers):
            raise ValueError("one checksum per peer, and no known_mask bit at or above npeers")
        self._send(_header(DESYNC) + struct.pack("<IBQ", frame & 0xFFFFFFFF, self.npeers, known_mask)
                   + b"".join(struct.pack("<Q", c & 0xFFFFFFFFFFFFFFFF) for c in checksums))

    def rtt(self, frame, rtt_ms):
        """RTT (optional): my round trip to each remote, so the viewer and the report show it per pair.
        rtt_ms has npeers entries in index order, in ms; None (or a negative number) is unknown, and so is my
        own entry. Sent in 0.1 ms, longer than 6553.4 ms clamped. About once a second is plenty."""
        if len(rtt_ms) != self.npeers:
            raise ValueError("one round trip per peer")
        body = struct.pack("<IB", frame & 0xFFFFFFFF, self.npeers)
        for k, v in enumerate(rtt_ms):
            known = k != self.index and v is not None and v >= 0  # NaN >= 0 is False
            body += struct.pack("<H", int(min(v * 10 + 0.5, RTT_UNKNOWN - 1)) if known else RTT_UNKNOWN)
        self._send(_header(RTT) + body)

    def bye(self, reason=BYE_QUIT):
        """BYE: I am leaving (BYE_DONE, BYE_QUIT or BYE_ERROR). Send it last."""
        if reason not in (BYE_DONE, BYE_QUIT, BYE_ERROR):
            raise ValueError("reason is BYE_DONE, BYE_QUIT or BYE_ERROR")
        self._send(_header(BYE) + bytes((reason,)))

    def dumped(self, frame, data):
        """DUMPED: my state after `frame` in my own bytes (at most DUMP_MAX), in answer to dump_frame;
        data None says the frame is no longer kept. Clears dump_frame."""
        if data is not None and len(data) > DUMP_MAX:
            raise ValueError("at most %d bytes of state" % DUMP_MAX)
        self.dump_frame = -1
        ok = 0 if data is None else 1
        data = b"" if data is None else bytes(data)
        self._send(_header(DUMPED) + struct.pack("<IBH", frame & 0xFFFFFFFF, ok, len(data)) + data)

    def poll_quit(self):
        """Should I stop? Reads every waiting control message without blocking: records PERTURB and DUMP
        requests in perturb_frame and dump_frame, drops all else but QUIT. True once the harness sent QUIT
        or has gone, and from then on. Without a control channel, always False."""
        if self._sock is None:
            return False
        while not self.quit:
            try:
                msg = self._sock.recv(MAX_MSG + 1, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                break  # the harness has gone
            if not msg:
                # The end of the stream, or an empty record (never sent): only a hang-up tells them apart.
                poller = select.poll()
                poller.register(self._sock, select.POLLIN | select.POLLHUP | getattr(select, "POLLRDHUP", 0))
                events = poller.poll(0)
                if events and events[0][1] & (select.POLLHUP | getattr(select, "POLLRDHUP", 0)):
                    break
                return False
            if len(msg) < 4 or msg[0] != 0x4C or msg[1] != 0x43 or msg[2] != VERSION:
                continue
            if msg[3] == QUIT and len(msg) == 4:
                break
            if msg[3] == PERTURB and len(msg) == 8:
                self.perturb_frame = struct.unpack_from("<I", msg, 4)[0]
            elif msg[3] == DUMP and len(msg) == 8:
                self.dump_frame = struct.unpack_from("<I", msg, 4)[0]
        self.quit = True
        return True


__all__ = ["Peer", "Error", "BYE_DONE", "BYE_QUIT", "BYE_ERROR", "DUMP_MAX"]
