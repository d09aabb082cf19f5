// SPDX-License-Identifier: MIT
// loopsim/peer.h: a header-only client with which your own peer program reports to the loopsim harness.
#ifndef LOOPSIM_PEER_H
#define LOOPSIM_PEER_H

/*
 * `loopsim run --peer-cmd 'CMD {index} {addr} {peers} {seed}'` starts your
 * program once per player and compares the game-state hashes the players
 * report, frame by frame (the desync oracle). This header is all your program
 * needs for that: C99 and POSIX, no library to link. It reads the harness's
 * environment, gives you every peer's address ready for sendto(), and sends
 * HELLO, FRAME, DESYNC, BYE and, for the viewer, STATE on the control channel. Started by hand, with no
 * LOOPSIM_CONTROL_FD, every report is a no-op returning 0, so the same program
 * also runs standalone (for example behind `loopsim wire`).
 *
 *   struct loopsim_peer lp;
 *   if (loopsim_peer_init(&lp) < 0) {                  // or loopsim_peer_init_args() from argv
 *           fprintf(stderr, "my_peer: %s\n", lp.error);
 *           return 2;
 *   }
 *   int fd = socket(AF_INET, SOCK_DGRAM, 0);
 *   bind(fd, (struct sockaddr *)&lp.addr, sizeof lp.addr);      // your own IP, port 0
 *   struct sockaddr_in me;
 *   socklen_t len = sizeof me;
 *   getsockname(fd, (struct sockaddr *)&me, &len);
 *   loopsim_peer_hello(&lp, ntohs(me.sin_port));
 *   for (uint32_t f = 0; !loopsim_peer_poll_quit(&lp); f++) {
 *           // sendto(fd, ..., (struct sockaddr *)&lp.peer[k], sizeof lp.peer[k]) for each k != lp.index;
 *           // step your game to frame f, then report the hash of its state:
 *           loopsim_peer_frame(&lp, f, f, hash_of_my_state);
 *   }
 *   loopsim_peer_bye(&lp, LOOPSIM_PEER_BYE_QUIT);
 *
 * The environment (all decimal, no spaces):
 *   LOOPSIM_INDEX       this peer's index, 0 .. npeers-1 (required)
 *   LOOPSIM_PEERS       every peer's public ip:port, comma-separated, in index order (required)
 *   LOOPSIM_ADDR        this peer's own IP (default: its entry in LOOPSIM_PEERS, which must agree)
 *   LOOPSIM_SEED        the session's seed, 0 .. 2^64-1 (default 0)
 *   LOOPSIM_CONTROL_FD  the control channel (unset: standalone, reports do nothing)
 * Every address is in 127.0.0.0/8. Send only to the addresses in lp.peer[]: they are the wire's public ports,
 * and a datagram sent anywhere else does not cross the emulated network.
 *
 * The control protocol is written down in peers/PROTOCOL.md, and implemented by peers/control.c (a
 * SOCK_SEQPACKET socketpair, one message per packet, a 4-byte header 'L' 'C' version type, little-endian
 * fields); peers/python/loopsim_peer.py is the same client in Python. The encoders below duplicate, on purpose, the few
 * layouts a peer sends, so that a user needs this one file and no library; tests/test_peer_h.c checks that
 * what they send decodes with ctl_decode() to the same values, so the two cannot drift apart unseen.
 *
 * Desyncs. loopsim_peer_poll_quit() also records two requests for you to act on, when you like to:
 *   p->perturb_frame  --inject-desync (or a scenario's `desync = K`) asks for a deliberate desync: change
 *                     something in your state after this frame, so that the whole path (oracle, bundle,
 *                     replay) can be shown. -1 when none.
 *   p->dump_frame     on a desync the harness asks every peer for its state after this frame: answer with
 *                     loopsim_peer_dumped() (your own serialisation; the bundle keeps it as state-K.bin and
 *                     diff.txt names the first byte where the minority's differs). -1 when none. Unanswered,
 *                     the harness waits 3 s for it.
 *
 * What this client does not do: it sends no INPUTS (the harness cannot re-simulate a game it does not know); every other message the harness sends (PEERS, START, INPUT,
 * REJOIN, READMIT) is read and dropped by loopsim_peer_poll_quit(). Not thread-safe: call it from one thread.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define LOOPSIM_PEER_MAX_PEERS 64   /* CTL_MAX_PEERS */
#define LOOPSIM_PEER_ERROR_MAX 192

/* Why a peer leaves: the BYE reasons of control.h. */
enum loopsim_peer_bye_reason {
	LOOPSIM_PEER_BYE_DONE = 0,  /* it played the frames it meant to */
	LOOPSIM_PEER_BYE_QUIT = 1,  /* the harness asked (loopsim_peer_poll_quit() returned 1) */
	LOOPSIM_PEER_BYE_ERROR = 2, /* it gave up */
};

/* A value type: filled by loopsim_peer_init*(), read freely, owned by the caller. It owns no memory; the control
 * fd belongs to the process (the harness opened it) and is never closed here. */
struct loopsim_peer {
	unsigned index;                                   /* this peer, < npeers */
	unsigned npeers;                                  /* entries in peer[] */
	struct sockaddr_in addr;                          /* own IP, port 0: bind() your UDP socket to this */
	struct sockaddr_in peer[LOOPSIM_PEER_MAX_PEERS];  /* public addresses in index order; sendto() these */
	uint64_t seed;
	int control_fd;                                   /* -1: standalone, every report is a no-op */
	int quit;                                         /* set once loopsim_peer_poll_quit() returned 1 */
	int64_t perturb_frame;                            /* a deliberate desync asked for after this frame; -1 */
	int64_t dump_frame;                               /* the harness wants your state after this frame; -1 */
	char error[LOOPSIM_PEER_ERROR_MAX];               /* why init failed, for a user to read */
};

/* ---- internals: not part of the API ---------------------------------------------------------------------- */

/* The control header and the message types a peer sends or expects, as in control.h. */
#define LOOPSIM_PEER__VERSION 1
#define LOOPSIM_PEER__HELLO 1
#define LOOPSIM_PEER__FRAME 2
#define LOOPSIM_PEER__STATE 3
#define LOOPSIM_PEER__DESYNC 4
#define LOOPSIM_PEER__BYE 5
#define LOOPSIM_PEER__DUMPED 6
#define LOOPSIM_PEER__DUMP 10
#define LOOPSIM_PEER__QUIT 11
#define LOOPSIM_PEER__PERTURB 13
#define LOOPSIM_PEER__RTT 17
#define LOOPSIM_PEER_DUMP_MAX 12288 /* CTL_DUMP_MAX: the most state loopsim_peer_dumped() carries */
#define LOOPSIM_PEER_STATE_SHIPS 16    /* CTL_STATE_MAX_SHIPS: the most ships one STATE carries */
#define LOOPSIM_PEER_STATE_BULLETS 128 /* CTL_STATE_MAX_BULLETS */
#define LOOPSIM_PEER__HELLO_SIZE 16
#define LOOPSIM_PEER__FRAME_SIZE 44
#define LOOPSIM_PEER__BYE_SIZE 5
#define LOOPSIM_PEER__DESYNC_SIZE(n) (17 + 8 * (n))
#define LOOPSIM_PEER__RTT_SIZE(n) (9 + 2 * (n))
#define LOOPSIM_PEER__RTT_UNKNOWN 0xFFFF   /* CTL_RTT_UNKNOWN */
#define LOOPSIM_PEER__STATE_SIZE(ns, nb) (10 + 13 * (ns) + 9 * (nb))

/* Without MSG_NOSIGNAL (macOS), init sets SO_NOSIGPIPE on the control fd: the harness going away must show as
 * -EPIPE, never as a SIGPIPE that kills the user's program. */
#ifdef MSG_NOSIGNAL
#define LOOPSIM_PEER__NOSIGNAL MSG_NOSIGNAL
#else
#define LOOPSIM_PEER__NOSIGNAL 0
#endif

/* The names init's messages use: the environment's, or the --peer-cmd placeholders'. */
struct loopsim_peer__names {
	const char *index, *addr, *peers, *seed, *control_fd;
};

/* Little-endian, unaligned, whatever the host: the wire layout of control.c. Returns the position after. */
static inline uint8_t *loopsim_peer__put(uint8_t *b, uint64_t v, unsigned nbytes)
{
	for (unsigned i = 0; i < nbytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return b + nbytes;
}

static inline uint8_t *loopsim_peer__header(uint8_t *b, unsigned type)
{
	b[0] = 'L';
	b[1] = 'C';
	b[2] = LOOPSIM_PEER__VERSION;
	b[3] = (uint8_t)type;
	return b + 4;
}

/* Sends one message, whole or not at all. Returns 0 or a negative errno. */
static inline int loopsim_peer__send(const struct loopsim_peer *p, const uint8_t *buf, size_t len)
{
	ssize_t n;
	do
		n = send(p->control_fd, buf, len, LOOPSIM_PEER__NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Decimal digits only (no sign, no spaces), at most max. Returns 0, or -1 leaving *out alone. */
static inline int loopsim_peer__parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A dotted IPv4 address inside 127.0.0.0/8. Returns 0 with *ip in host byte order, or -1. */
static inline int loopsim_peer__parse_ip(const char *s, size_t len, uint32_t *ip)
{
	char buf[16];
	struct in_addr a;
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

static inline struct sockaddr_in loopsim_peer__sockaddr(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(ip);
	sa.sin_port = htons(port);
	return sa;
}

/* "ip:port,ip:port,...", 1 to LOOPSIM_PEER_MAX_PEERS entries. Returns 0, or -1 with p->error set. */
static inline int loopsim_peer__parse_peers(struct loopsim_peer *p, const char *name, const char *list)
{
	const char *s = list;
	unsigned n = 0;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *colon = NULL;
		uint32_t ip;
		uint64_t port;
		for (size_t i = 0; i < len; i++)
			if (s[i] == ':')
				colon = s + i;
		if (n == LOOPSIM_PEER_MAX_PEERS) {
			snprintf(p->error, sizeof p->error, "%s: more than %d peers", name, LOOPSIM_PEER_MAX_PEERS);
			return -1;
		}
		if (len == 0) {
			snprintf(p->error, sizeof p->error, "%s: entry %u is empty; expected ip:port,ip:port,...", name,
				 n);
			return -1;
		}
		if (!colon) {
			snprintf(p->error, sizeof p->error, "%s: entry %u '%.*s' has no port; expected ip:port", name, n,
				 len > 40 ? 40 : (int)len, s);
			return -1;
		}
		if (loopsim_peer__parse_ip(s, (size_t)(colon - s), &ip) < 0) {
			snprintf(p->error, sizeof p->error, "%s: entry %u '%.*s' is not an IPv4 address in 127.0.0.0/8",
				 name, n, (int)(colon - s) > 40 ? 40 : (int)(colon - s), s);
			return -1;
		}
		if (loopsim_peer__parse_uint(colon + 1, len - (size_t)(colon + 1 - s), 65535, &port) < 0 || port == 0) {
			snprintf(p->error, sizeof p->error, "%s: entry %u '%.*s' has no port from 1 to 65535", name, n,
				 len > 40 ? 40 : (int)len, s);
			return -1;
		}
		p->peer[n++] = loopsim_peer__sockaddr(ip, (uint16_t)port);
		if (!end)
			break;
		s = end + 1;
	}
	p->npeers = n;
	return 0;
}

/* The work of both init functions. A NULL or empty value is an unset one. */
static inline int loopsim_peer__init(struct loopsim_peer *p, const struct loopsim_peer__names *nm, const char *index,
				     const char *addr, const char *peers, const char *seed, const char *control_fd)
{
	uint64_t v;
	uint32_t ip;
	memset(p, 0, sizeof *p);
	p->control_fd = -1;
	p->perturb_frame = p->dump_frame = -1;
	if (!peers || !*peers) {
		snprintf(p->error, sizeof p->error, "%s is not set (every peer's ip:port, comma-separated, in index order)",
			 nm->peers);
		goto err;
	}
	if (loopsim_peer__parse_peers(p, nm->peers, peers) < 0)
		goto err;
	if (!index || !*index) {
		snprintf(p->error, sizeof p->error, "%s is not set (this peer's index)", nm->index);
		goto err;
	}
	if (loopsim_peer__parse_uint(index, strlen(index), p->npeers - 1, &v) < 0) {
		snprintf(p->error, sizeof p->error, "%s: '%.40s' is not a number from 0 to %u (%s lists %u peers)",
			 nm->index, index, p->npeers - 1, nm->peers, p->npeers);
		goto err;
	}
	p->index = (unsigned)v;
	/* To the others this peer is its entry in the list, and the wire tells peers apart by IP: the two must agree,
	 * or its datagrams would be taken for another peer's, or for strays. */
	ip = ntohl(p->peer[p->index].sin_addr.s_addr);
	if (addr && *addr) {
		uint32_t own;
		if (loopsim_peer__parse_ip(addr, strlen(addr), &own) < 0) {
			snprintf(p->error, sizeof p->error, "%s: '%.40s' is not an IPv4 address in 127.0.0.0/8", nm->addr,
				 addr);
			goto err;
		}
		if (own != ip) {
			snprintf(p->error, sizeof p->error, "%s: %s is not the address of peer %u in %s", nm->addr, addr,
				 p->index, nm->peers);
			goto err;
		}
	}
	p->addr = loopsim_peer__sockaddr(ip, 0);
	if (seed && *seed && loopsim_peer__parse_uint(seed, strlen(seed), UINT64_MAX, &p->seed) < 0) {
		snprintf(p->error, sizeof p->error, "%s: '%.40s' is not a number from 0 to 2^64-1", nm->seed, seed);
		goto err;
	}
	if (control_fd && *control_fd) {
		int type = 0;
		socklen_t len = sizeof type;
		/* A stale variable inherited from elsewhere must not make reports land on an unrelated descriptor. */
		if (loopsim_peer__parse_uint(control_fd, strlen(control_fd), 65535, &v) < 0 ||
		    getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
			snprintf(p->error, sizeof p->error, "%s: '%.40s' is not an open SOCK_SEQPACKET descriptor",
				 nm->control_fd, control_fd);
			goto err;
		}
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
		{
			int one = 1;
			setsockopt((int)v, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
		}
#endif
		p->control_fd = (int)v;
	}
	return 0;
err:
	/* Only the reason survives, and reports stay no-ops. */
	{
		char why[LOOPSIM_PEER_ERROR_MAX];
		memcpy(why, p->error, sizeof why);
		memset(p, 0, sizeof *p);
		memcpy(p->error, why, sizeof why);
	}
	p->control_fd = -1;
	p->perturb_frame = p->dump_frame = -1;
	return -1;
}

/* ---- the API --------------------------------------------------------------------------------------------- */

/* Fills *p from the environment described at the top. Returns 0, or -1 with p->error saying which variable is
 * wrong and why (the rest of *p is then zero, with control_fd -1, so reports stay no-ops). Prints nothing. */
static inline int loopsim_peer_init(struct loopsim_peer *p)
{
	static const struct loopsim_peer__names env = { "LOOPSIM_INDEX", "LOOPSIM_ADDR", "LOOPSIM_PEERS",
							 "LOOPSIM_SEED", "LOOPSIM_CONTROL_FD" };
	return loopsim_peer__init(p, &env, getenv("LOOPSIM_INDEX"), getenv("LOOPSIM_ADDR"), getenv("LOOPSIM_PEERS"),
				  getenv("LOOPSIM_SEED"), getenv("LOOPSIM_CONTROL_FD"));
}

/* The same from strings, e.g. the argv of `--peer-cmd 'CMD {index} {addr} {peers} {seed}'`; pass
 * getenv("LOOPSIM_CONTROL_FD") as control_fd. NULL or "" is unset (addr and seed may be). Messages name the
 * placeholders ("peers: ..."). Returns as loopsim_peer_init(). */
static inline int loopsim_peer_init_args(struct loopsim_peer *p, const char *index, const char *addr,
					 const char *peers, const char *seed, const char *control_fd)
{
	static const struct loopsim_peer__names args = { "index", "addr", "peers", "seed", "LOOPSIM_CONTROL_FD" };
	return loopsim_peer__init(p, &args, index, addr, peers, seed, control_fd);
}

/*
 * The report functions. Each sends one message and returns 0, or a negative errno: -EPIPE (or -ECONNRESET) when
 * the harness has gone, -EAGAIN if you made the control fd non-blocking and its queue is full, -EINVAL for a
 * message the harness would refuse (nothing is sent). On a blocking fd (the default) a send waits while the
 * harness is behind. Without a control fd each returns 0 and does nothing.
 */

/* HELLO: I am up, bound at p->addr's IP and this port (host byte order). Send it once, right after bind(): the
 * wire then knows where to deliver to you before your first datagram. */
static inline int loopsim_peer_hello(const struct loopsim_peer *p, uint16_t port)
{
	uint8_t buf[LOOPSIM_PEER__HELLO_SIZE], *b = buf;
	if (p->control_fd < 0)
		return 0;
	b = loopsim_peer__header(b, LOOPSIM_PEER__HELLO);
	b = loopsim_peer__put(b, p->index, 2);
	b = loopsim_peer__put(b, ntohl(p->addr.sin_addr.s_addr), 4);
	b = loopsim_peer__put(b, port, 2);
	b = loopsim_peer__put(b, (uint32_t)getpid(), 4);
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

/* FRAME: my game is on `frame`; every input up to `confirmed` is final, and `checksum` is my state's hash after
 * it. The oracle compares checksums of the same confirmed frame across peers, so hash only what must agree
 * (not pointers, not timers). Lockstep games pass frame == confirmed. The netcode stats fields go as zero
 * (loopsim_peer_frame_stats() below fills them).
 * The harness takes a peer that has reported once and then stays silent for a few seconds as hung: while your
 * game waits (a partition, a lost peer), repeat your latest FRAME every half second or so. */
/* Your netcode's figures, which FRAME carries to the summary, the report and the viewer. Zero what you lack. */
struct loopsim_peer_stats {
	uint32_t rollbacks;       /* rollbacks so far */
	uint16_t max_rollback;    /* the deepest, in frames */
	uint16_t last_rollback;   /* the latest's depth, in frames */
	uint32_t stalls;          /* frames you waited for inputs */
	uint16_t rtt_ms;          /* your round-trip estimate */
	int16_t frames_ahead;     /* how far ahead of the remotes you run */
	uint32_t bytes_in_per_s, bytes_out_per_s;
};

/* FRAME with your netcode's statistics (stats may be NULL: all zero); otherwise as loopsim_peer_frame(). */
static inline int loopsim_peer_frame_stats(const struct loopsim_peer *p, uint32_t frame, uint32_t confirmed,
					   uint64_t checksum, const struct loopsim_peer_stats *stats)
{
	uint8_t buf[LOOPSIM_PEER__FRAME_SIZE], *b = buf;
	struct loopsim_peer_stats zero;
	if (p->control_fd < 0)
		return 0;
	if (!stats) {
		memset(&zero, 0, sizeof zero);
		stats = &zero;
	}
	b = loopsim_peer__header(b, LOOPSIM_PEER__FRAME);
	b = loopsim_peer__put(b, frame, 4);
	b = loopsim_peer__put(b, confirmed, 4);
	b = loopsim_peer__put(b, checksum, 8);
	b = loopsim_peer__put(b, stats->rollbacks, 4);
	b = loopsim_peer__put(b, stats->max_rollback, 2);
	b = loopsim_peer__put(b, stats->last_rollback, 2);
	b = loopsim_peer__put(b, stats->stalls, 4);
	b = loopsim_peer__put(b, stats->rtt_ms, 2);
	b = loopsim_peer__put(b, (uint16_t)stats->frames_ahead, 2);
	b = loopsim_peer__put(b, stats->bytes_in_per_s, 4);
	b = loopsim_peer__put(b, stats->bytes_out_per_s, 4);
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

static inline int loopsim_peer_frame(const struct loopsim_peer *p, uint32_t frame, uint32_t confirmed,
				     uint64_t checksum)
{
	return loopsim_peer_frame_stats(p, frame, confirmed, checksum, NULL);
}

/* RTT (optional): your round trip to each remote, so that the viewer and the report show it per pair (FRAME's
 * rtt_ms is one figure for all). rtt_ms[] has p->npeers entries in index order, in ms; a negative entry (or NaN)
 * is unknown, and so is your own. Sent in 0.1 ms, longer than 6553.4 ms clamped. About once a second is
 * plenty. -EINVAL if rtt_ms is NULL. */
static inline int loopsim_peer_rtt(const struct loopsim_peer *p, uint32_t frame, const double *rtt_ms)
{
	uint8_t buf[LOOPSIM_PEER__RTT_SIZE(LOOPSIM_PEER_MAX_PEERS)], *b = buf;
	if (p->control_fd < 0)
		return 0;
	if (!rtt_ms || p->npeers < 1 || p->npeers > LOOPSIM_PEER_MAX_PEERS)
		return -EINVAL;
	b = loopsim_peer__header(b, LOOPSIM_PEER__RTT);
	b = loopsim_peer__put(b, frame, 4);
	b = loopsim_peer__put(b, p->npeers, 1);
	for (unsigned k = 0; k < p->npeers; k++) {
		double v = rtt_ms[k];
		uint32_t tenths = LOOPSIM_PEER__RTT_UNKNOWN;
		if (k != p->index && v >= 0) /* false for NaN too */
			tenths = v * 10 + 0.5 >= LOOPSIM_PEER__RTT_UNKNOWN ? LOOPSIM_PEER__RTT_UNKNOWN - 1
									    : (uint32_t)(v * 10 + 0.5);
		b = loopsim_peer__put(b, tenths, 2);
	}
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

/* DESYNC (optional): my own netcode saw checksums of `frame` disagree. checksum[] has p->npeers entries in index
 * order; bit k of known_mask says checksum[k] is known (your own bit, at least). -EINVAL if known_mask has a bit
 * at or above p->npeers, or checksum is NULL. */
static inline int loopsim_peer_desync(const struct loopsim_peer *p, uint32_t frame, uint64_t known_mask,
				      const uint64_t *checksum)
{
	uint8_t buf[LOOPSIM_PEER__DESYNC_SIZE(LOOPSIM_PEER_MAX_PEERS)], *b = buf;
	if (p->control_fd < 0)
		return 0;
	if (!checksum || p->npeers < 1 || p->npeers > LOOPSIM_PEER_MAX_PEERS ||
	    (p->npeers < 64 && (known_mask >> p->npeers) != 0))
		return -EINVAL;
	b = loopsim_peer__header(b, LOOPSIM_PEER__DESYNC);
	b = loopsim_peer__put(b, frame, 4);
	b = loopsim_peer__put(b, p->npeers, 1);
	b = loopsim_peer__put(b, known_mask, 8);
	for (unsigned k = 0; k < p->npeers; k++)
		b = loopsim_peer__put(b, checksum[k], 8);
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

/*
 * STATE (optional): a picture of your game for the viewer's panel of this peer, instead of an empty box. The
 * field is 1000 x 1000 units in 16.16 fixed point (x and y in 0 .. 1000 << 16; the viewer wraps the rest), as
 * the built-in game draws it, y pointing down. Ships are drawn in their player's colour, pointing at `angle` (1024
 * to a turn, 0 pointing right, 256 down), bullets in their owner's. Send it a few times a second at most; the viewer shows the latest.
 */
struct loopsim_peer_ship {
	int32_t x, y;   /* 16.16 fixed point */
	uint16_t angle; /* 0 .. 1023 */
	uint8_t alive;  /* 0 or 1: a dead ship is drawn grey */
	int16_t score;
};

struct loopsim_peer_bullet {
	int32_t x, y;
	uint8_t owner; /* an index into ships[]: the bullet takes that ship's colour */
};

/* -EINVAL for more than LOOPSIM_PEER_STATE_SHIPS ships or LOOPSIM_PEER_STATE_BULLETS bullets, `alive` other than 0
 * or 1, or a bullet whose owner is not one of the ships: the harness would refuse that as a protocol error. */
static inline int loopsim_peer_state(const struct loopsim_peer *p, uint32_t frame,
				     const struct loopsim_peer_ship *ships, unsigned nships,
				     const struct loopsim_peer_bullet *bullets, unsigned nbullets)
{
	uint8_t buf[LOOPSIM_PEER__STATE_SIZE(LOOPSIM_PEER_STATE_SHIPS, LOOPSIM_PEER_STATE_BULLETS)]; /* 1370 bytes */
	uint8_t *b = buf;
	if (p->control_fd < 0)
		return 0;
	if (nships > LOOPSIM_PEER_STATE_SHIPS || nbullets > LOOPSIM_PEER_STATE_BULLETS || (nships && !ships) ||
	    (nbullets && !bullets))
		return -EINVAL;
	for (unsigned k = 0; k < nships; k++)
		if (ships[k].alive > 1)
			return -EINVAL;
	for (unsigned k = 0; k < nbullets; k++)
		if (bullets[k].owner >= nships)
			return -EINVAL;
	b = loopsim_peer__header(b, LOOPSIM_PEER__STATE);
	b = loopsim_peer__put(b, frame, 4);
	b = loopsim_peer__put(b, nships, 1);
	b = loopsim_peer__put(b, nbullets, 1);
	for (unsigned k = 0; k < nships; k++) {
		b = loopsim_peer__put(b, (uint32_t)ships[k].x, 4);
		b = loopsim_peer__put(b, (uint32_t)ships[k].y, 4);
		b = loopsim_peer__put(b, ships[k].angle, 2);
		b = loopsim_peer__put(b, ships[k].alive, 1);
		b = loopsim_peer__put(b, (uint16_t)ships[k].score, 2);
	}
	for (unsigned k = 0; k < nbullets; k++) {
		b = loopsim_peer__put(b, (uint32_t)bullets[k].x, 4);
		b = loopsim_peer__put(b, (uint32_t)bullets[k].y, 4);
		b = loopsim_peer__put(b, bullets[k].owner, 1);
	}
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

/* BYE: I am leaving, for a loopsim_peer_bye_reason. Send it last, after your final FRAME. -EINVAL for another
 * reason. */
static inline int loopsim_peer_bye(const struct loopsim_peer *p, enum loopsim_peer_bye_reason reason)
{
	uint8_t buf[LOOPSIM_PEER__BYE_SIZE], *b = buf;
	if (p->control_fd < 0)
		return 0;
	if ((unsigned)reason > LOOPSIM_PEER_BYE_ERROR)
		return -EINVAL;
	b = loopsim_peer__header(b, LOOPSIM_PEER__BYE);
	b = loopsim_peer__put(b, (unsigned)reason, 1);
	return loopsim_peer__send(p, buf, (size_t)(b - buf));
}

/* DUMPED: my state after `frame`, in my own serialisation (len <= LOOPSIM_PEER_DUMP_MAX), in answer to
 * p->dump_frame; data NULL says the frame is no longer kept. Clears p->dump_frame. -EINVAL if len is too long. */
static inline int loopsim_peer_dumped(struct loopsim_peer *p, uint32_t frame, const void *data, size_t len)
{
	static uint8_t buf[4 + 7 + LOOPSIM_PEER_DUMP_MAX]; /* 12 KB: not on the stack */
	uint8_t *b = buf;
	if (p->control_fd < 0)
		return 0;
	if (!data)
		len = 0;
	if (len > LOOPSIM_PEER_DUMP_MAX)
		return -EINVAL;
	p->dump_frame = -1;
	b = loopsim_peer__header(b, LOOPSIM_PEER__DUMPED);
	b = loopsim_peer__put(b, frame, 4);
	b = loopsim_peer__put(b, data ? 1 : 0, 1);
	b = loopsim_peer__put(b, len, 2);
	if (len)
		memcpy(b, data, len);
	return loopsim_peer__send(p, buf, (size_t)(b - buf) + len);
}

/* A little-endian u32 from 4 bytes. */
static inline uint32_t loopsim_peer__get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/*
 * Should I stop? Reads, without blocking, every control message waiting: records PERTURB and DUMP requests in
 * p->perturb_frame and p->dump_frame, and drops all else but QUIT. Returns 1 when
 * the harness sent QUIT or has gone (closed or shut down its end, or the channel failed), else 0; once it has
 * returned 1 it always does (p->quit). Call it once per frame. Without a control fd it returns 0: a standalone
 * program decides for itself when to stop.
 */
static inline int loopsim_peer_poll_quit(struct loopsim_peer *p)
{
	if (p->control_fd < 0)
		return 0;
	while (!p->quit) {
		/* A SEQPACKET receive into a short buffer truncates the record and discards the rest, so longer
		 * messages cost nothing here. QUIT is 4 bytes, PERTURB and DUMP 8; a longer record shows as 9. */
		uint8_t buf[9];
		ssize_t n = recv(p->control_fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			break; /* ECONNRESET and the like: nobody is listening any more */
		}
		if (n == 0) {
			/* The end of the stream, or an empty record (which the harness never sends, and which is
			 * dropped: anything behind it waits for the next call); only a hang-up tells them apart. */
			struct pollfd pfd;
			short hup = POLLHUP;
			int r;
#ifdef POLLRDHUP
			hup = (short)(hup | POLLRDHUP); /* the harness shut down only its sending side */
#endif
			pfd.fd = p->control_fd;
			pfd.events = (short)(POLLIN | hup);
			pfd.revents = 0;
			do
				r = poll(&pfd, 1, 0);
			while (r < 0 && errno == EINTR);
			if (r == 1 && (pfd.revents & hup))
				break;
			return 0;
		}
		if (n < 4 || buf[0] != 'L' || buf[1] != 'C' || buf[2] != LOOPSIM_PEER__VERSION)
			continue;
		if (n == 4 && buf[3] == LOOPSIM_PEER__QUIT)
			break;
		if (n == 8 && buf[3] == LOOPSIM_PEER__PERTURB)
			p->perturb_frame = loopsim_peer__get32(buf + 4);
		else if (n == 8 && buf[3] == LOOPSIM_PEER__DUMP)
			p->dump_frame = loopsim_peer__get32(buf + 4);
	}
	p->quit = 1;
	return 1;
}

#endif
