// SPDX-License-Identifier: MIT
// The control channel between the harness and each peer: small, versioned, binary messages.
#ifndef LOOPSIM_CONTROL_H
#define LOOPSIM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Transport: one socketpair(AF_UNIX, SOCK_SEQPACKET) per peer, so one
 * message is one packet and boundaries are kept. Every message starts with
 * a 4-byte header: 'L' 'C', the protocol version, the type. Integers are
 * little-endian and unaligned. ctl_decode() treats its input as untrusted:
 * a wrong magic or version, an unknown type, a short or long message, or a
 * count beyond its limit is refused with a reason, never trusted.
 */
#define CTL_VERSION 1
#define CTL_MAX_PEERS 64
#define CTL_MAX_MSG 16384
#define CTL_STATE_MAX_SHIPS 16
#define CTL_STATE_MAX_BULLETS 128
#define CTL_DUMP_MAX 12288
#define CTL_HEADER_SIZE 4           /* 'L' 'C' version type */
#define CTL_INPUT_KEY_MASK 0x0f     /* the game's input bits (GAME_IN_MASK); INPUT refuses any other bit */

enum ctl_type {
	/* peer -> harness */
	CTL_HELLO = 1,  /* I am up, bound at ip:port */
	CTL_FRAME,      /* progress, the checksum of my latest confirmed frame, my stats */
	CTL_STATE,      /* a compact snapshot for the viewer */
	CTL_DESYNC,     /* my netcode saw checksums disagree */
	CTL_BYE,        /* I am leaving, and why */
	CTL_DUMPED,     /* the answer to DUMP: my serialised state at a frame */
	/* harness -> peer */
	CTL_PEERS,      /* everyone's public address, the session's parameters */
	CTL_START,
	CTL_INPUT,      /* a human's keys for this peer's ship */
	CTL_DUMP,       /* send me your state at frame F */
	CTL_QUIT,
	/* peer -> harness */
	CTL_INPUTS,     /* the final inputs of a confirmed frame, for the oracle's reference and the bundle */
	/* harness -> peer */
	CTL_PERTURB,    /* corrupt your own state at frame F: a deliberate desync */
	/* peer -> harness */
	CTL_GONE,       /* my session agreed that a player was lost, and where its inputs end */
	/* harness -> peer */
	CTL_REJOIN,     /* instead of START: join the running session from this confirmed state */
	CTL_READMIT,    /* a lost player is back: its inputs count from frame F */
	/* peer -> harness */
	CTL_RTT,        /* my round trip to each remote (optional, about once a second) */
	CTL_TYPE_COUNT
};

struct ctl_hello {
	uint16_t index;
	uint32_t ip;       /* host byte order */
	uint16_t port;     /* the peer's own bound port */
	uint32_t pid;
};

struct ctl_frame {
	uint32_t frame;            /* the frame the peer is on */
	uint32_t confirmed;        /* its latest confirmed frame (every input final) */
	uint64_t checksum;         /* the state hash after `confirmed` */
	uint32_t rollbacks;
	uint16_t max_rollback;     /* deepest rollback, frames */
	uint16_t last_rollback;    /* depth of the latest rollback, frames */
	uint32_t stalls;
	uint16_t rtt_ms;           /* mean over the remotes */
	int16_t frames_ahead;
	uint32_t bytes_in_per_s, bytes_out_per_s;
};

struct ctl_ship {
	int32_t x, y;              /* 16.16 fixed point, as in the game */
	uint16_t angle;
	uint8_t alive;
	int16_t score;
};

struct ctl_bullet {
	int32_t x, y;
	uint8_t owner;
};

struct ctl_state {
	uint32_t frame;
	uint8_t nships, nbullets;
	struct ctl_ship ship[CTL_STATE_MAX_SHIPS];
	struct ctl_bullet bullet[CTL_STATE_MAX_BULLETS];
};

struct ctl_desync {
	uint32_t frame;
	uint8_t npeers;
	uint64_t known_mask;            /* bit k: checksum[k] is known */
	uint64_t checksum[CTL_MAX_PEERS];
};

enum ctl_bye_reason {
	CTL_BYE_DONE = 0,
	CTL_BYE_QUIT = 1,               /* the harness asked (QUIT) */
	CTL_BYE_ERROR = 2,
};

struct ctl_bye {
	uint8_t reason;                 /* 0 done, 1 quit asked, 2 error */
};

struct ctl_dumped {
	uint32_t frame;
	uint8_t ok;                     /* 0 if the frame is no longer kept */
	uint16_t len;
	uint8_t data[CTL_DUMP_MAX];     /* the game's explicit serialisation */
};

enum ctl_netcode {
	CTL_NETCODE_ROLLBACK = 0,
	CTL_NETCODE_LOCKSTEP = 1,
};

struct ctl_peers {
	uint64_t session_id;
	uint64_t seed;
	uint8_t netcode;                /* 0 rollback, 1 lockstep */
	uint8_t input_delay;
	uint8_t npeers;
	uint32_t ip[CTL_MAX_PEERS];     /* public addresses, host byte order, in index order */
	uint16_t port[CTL_MAX_PEERS];
};

struct ctl_input {
	uint8_t keys;                   /* game input bits */
	uint8_t human;                  /* 0 hands the ship back to its bot */
};

struct ctl_dump {
	uint32_t frame;
};

#define CTL_MAX_INPUTS 16

struct ctl_inputs {
	uint32_t frame;
	uint8_t n;                      /* 1..CTL_MAX_INPUTS players */
	uint8_t input[CTL_MAX_INPUTS];
};

struct ctl_perturb {
	uint32_t frame;
};

struct ctl_gone {
	uint8_t peer;
	uint32_t upto;                  /* its real inputs end below this frame */
};

#define CTL_REJOIN_MAX_LOST 16

struct ctl_rejoin {
	uint32_t frame;                 /* the state is the one after this confirmed frame */
	uint32_t readmit;               /* my own inputs count from this frame; neutral before it */
	uint8_t nlost;                  /* players the others already agreed were lost */
	struct ctl_gone lost[CTL_REJOIN_MAX_LOST];
	uint16_t len;
	uint8_t data[CTL_DUMP_MAX];     /* the game's explicit serialisation */
};

struct ctl_readmit {
	uint8_t peer;
	uint32_t frame;
};

/* RTT's unit and its mark for a remote without a measure (itself, not connected, no sample yet). */
#define CTL_RTT_UNIT_US 100
#define CTL_RTT_UNKNOWN 0xFFFF

struct ctl_rtt {
	uint32_t frame;                 /* the frame the peer is on */
	uint8_t npeers;                 /* 1..CTL_MAX_PEERS: the session's peer count */
	uint16_t rtt[CTL_MAX_PEERS];    /* to remote k, in CTL_RTT_UNIT_US (0.1 ms); CTL_RTT_UNKNOWN if none */
};

struct ctl_msg {
	enum ctl_type type;
	union {
		struct ctl_hello hello;
		struct ctl_frame frame;
		struct ctl_state state;
		struct ctl_desync desync;
		struct ctl_bye bye;
		struct ctl_dumped dumped;
		struct ctl_peers peers;
		struct ctl_input input;
		struct ctl_dump dump;
		struct ctl_inputs inputs;
		struct ctl_perturb perturb;
		struct ctl_gone gone;
		struct ctl_rejoin rejoin;
		struct ctl_readmit readmit;
		struct ctl_rtt rtt;
	} u;                            /* START and QUIT carry nothing */
};

/*
 * Validity, checked the same way by ctl_encode() and ctl_decode(), so that
 * whatever one side can send the other accepts, and an accepted message
 * re-encodes to exactly its bytes:
 *   counts   STATE nships <= CTL_STATE_MAX_SHIPS, nbullets <= CTL_STATE_MAX_BULLETS;
 *            DESYNC, PEERS and RTT 1 <= npeers <= CTL_MAX_PEERS; DUMPED len <= CTL_DUMP_MAX.
 *   fields   HELLO index < CTL_MAX_PEERS; STATE alive in {0,1}, bullet owner < nships;
 *            DESYNC known_mask has no bit at or above npeers; BYE reason is a ctl_bye_reason;
 *            DUMPED ok in {0,1}, and len == 0 when ok == 0; PEERS netcode is a ctl_netcode;
 *            INPUT keys within CTL_INPUT_KEY_MASK, human in {0,1};
 *            GONE, READMIT and every REJOIN lost entry: peer < CTL_MAX_PEERS;
 *            REJOIN nlost <= CTL_REJOIN_MAX_LOST, len <= CTL_DUMP_MAX, frame < readmit.
 * The exact byte layout of each type is the table at the top of control.c.
 */

/* Encodes m into buf. Returns the length, or -1 if cap is too small or m is invalid (a count over its limit,
 * a bad field value, an unknown type); buf is not touched then. Never more than CTL_MAX_MSG bytes. */
int ctl_encode(const struct ctl_msg *m, uint8_t *buf, size_t cap);

/* Decodes len bytes of untrusted input. Returns 0 with *m filled (array entries past the counts zeroed), or -1
 * with *why set to a static reason and *m untouched. The reasons: "too short" (no whole header), "bad magic",
 * "bad version", "unknown type", "truncated", "trailing bytes", "count out of range", "bad field value".
 * why may be NULL. */
int ctl_decode(const uint8_t *buf, size_t len, struct ctl_msg *m, const char **why);

/* The message type's name ("HELLO"), or "?". */
const char *ctl_type_name(enum ctl_type t);

/* Sends one message on a SOCK_SEQPACKET fd, whole or not at all, without SIGPIPE. Returns 0 or a negative errno:
 * -EINVAL if m is invalid (nothing sent), -EPIPE when the other side has gone, -EAGAIN if fd is non-blocking and
 * its queue is full (a blocking fd waits instead). */
int ctl_send(int fd, const struct ctl_msg *m);
/* Receives one message without blocking. Returns 1 with *m filled, 0 if none waits, -EPROTO with *why for a
 * malformed message (consumed; *why is a ctl_decode() reason, or "oversized" beyond CTL_MAX_MSG), or another
 * negative errno (e.g. -ECONNRESET when the other side has gone). *m is only written when 1 is returned, and
 * *why only with -EPROTO; why may be NULL. */
int ctl_recv(int fd, struct ctl_msg *m, const char **why);

#endif
