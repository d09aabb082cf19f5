// SPDX-License-Identifier: MIT
// The mesh session: input exchange, lockstep and GGPO-style rollback, time sync, checksums, desync detection.
#ifndef LOOPSIM_NC_SESSION_H
#define LOOPSIM_NC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netcode/proto.h"
#include "netcode/transport.h"

/*
 * Model. Every player sends its own inputs, unreliable, to every other
 * player; each packet repeats every input the receiver has not yet
 * acknowledged (GGPO-style redundancy), so a lost packet costs no resend
 * round trip. A player's input for frame f is generated at frame f - D
 * (input delay D).
 *
 * Lockstep: frame f is simulated only once every input for f is known.
 *
 * Rollback: frame f is simulated at once with predicted inputs (a remote
 * player repeats its last known input). When a real input arrives that
 * differs from the prediction used, the session loads the state saved at
 * that frame and resimulates up to the present. At most W frames may run
 * ahead of the last frame whose inputs are all known; beyond that the
 * session stalls. Time sync: each side tells the other how many frames it
 * thinks it is ahead; the one that runs ahead gives up a frame now and then.
 *
 * Checksums: frame f is *confirmed* when every input up to f is final and
 * the state after f was computed from them. Only confirmed frames are
 * checksummed and exchanged (every K frames), so a prediction never raises
 * a false desync. Confirmed states and inputs stay in a ring of NC_RING
 * frames (8.5 s at 60 Hz), so a desync can still be dumped after it fires.
 *
 * The session knows nothing of the game: save, load, advance and checksum
 * are callbacks. Time is passed in; the session never reads a clock.
 */

#define NC_RING 512
#define NC_MAX_WINDOW 64
#define NC_EVENT_QUEUE 64

enum nc_mode { NC_ROLLBACK, NC_LOCKSTEP };

struct nc_callbacks {
	void *ctx;
	void (*save)(void *ctx, void *buf);             /* copy the live state into buf (state_size bytes) */
	void (*load)(void *ctx, const void *buf);        /* replace the live state with buf */
	void (*advance)(void *ctx, const uint8_t *inputs); /* simulate one frame; inputs[k] for player k */
	uint64_t (*checksum)(void *ctx);                  /* hash of the live state */
};

struct nc_session_cfg {
	uint32_t nplayers;              /* 1..NC_MAX_PLAYERS */
	uint32_t local;                 /* this peer's player index */
	enum nc_mode mode;
	uint32_t input_delay;           /* D, frames (default 2) */
	uint32_t prediction_window;     /* W, frames (default 8, at most NC_MAX_WINDOW) */
	uint32_t checksum_interval;     /* K, frames (default 1) */
	uint32_t disconnect_timeout_ms; /* silence after which a remote is lost (default 3000) */
	uint32_t frame_ms;              /* nominal frame length, for time sync (default 16) */
	uint64_t session_id;
	size_t state_size;              /* bytes save() writes */
	struct nc_callbacks cb;
	struct nc_transport *transport; /* borrowed: the caller destroys it after the session */
};

/* Fills the defaults; the caller then sets nplayers, local, session_id, state_size, cb and transport. */
void nc_session_cfg_default(struct nc_session_cfg *cfg);

enum nc_session_event_type {
	NC_SE_CONNECTED,     /* peer: handshake done */
	NC_SE_REJECTED,      /* peer: wrong version or session id; reason says which */
	NC_SE_DISCONNECTED,  /* peer: lost (transport said so, or silence) */
	NC_SE_PEER_FINAL,    /* peer: agreed last frame of its real inputs is `frame` */
	NC_SE_DESYNC,        /* frame: checksums of a confirmed frame differ */
	NC_SE_READMITTED,    /* peer: taken back after a restart; its inputs count from `frame` */
};

struct nc_session_event {
	enum nc_session_event_type type;
	uint32_t peer;
	uint32_t frame;
	uint32_t known_mask;                   /* DESYNC: bit k set if checksum[k] is known */
	uint64_t checksum[NC_MAX_PLAYERS];
	const char *reason;
};

struct nc_remote_stats {
	bool connected, lost;
	double rtt_ms;            /* smoothed round trip (1/8 of each new sample), ms; meaningful when rtt_known */
	bool rtt_known;           /* at least one sample since it connected (or was readmitted) */
	double loss_pct;          /* packets from this remote that never arrived */
	int32_t frames_ahead;     /* how far we run ahead of it, frames */
	uint64_t bytes_in, bytes_out;
};

struct nc_session_stats {
	uint32_t frame;                   /* frames simulated */
	int64_t confirmed;                /* latest confirmed frame, -1 before the first */
	uint64_t rollbacks;
	uint32_t max_rollback, last_rollback;
	uint64_t rollback_depth[NC_MAX_WINDOW + 1]; /* histogram, frames */
	uint64_t resimulated;             /* frames simulated again by rollbacks */
	uint64_t stalls;                  /* ticks that did not advance once running */
	int32_t frames_ahead;             /* the most we run ahead of any remote */
	uint32_t bytes_in_per_s, bytes_out_per_s;
	uint64_t bad_packets;             /* refused by the decoder */
	uint64_t events_dropped;          /* events lost to a full queue */
	struct nc_remote_stats remote[NC_MAX_PLAYERS];
};

struct nc_session;

/* Returns NULL with a reason in err for a bad configuration or no memory. */
struct nc_session *nc_session_create(const struct nc_session_cfg *cfg, char *err, size_t errlen);
/* NULL does nothing. Does not destroy the transport. */
void nc_session_destroy(struct nc_session *s);

enum nc_tick_result {
	NC_TICK_WAITING = 0, /* handshake not complete */
	NC_TICK_ADVANCED,    /* simulated one more frame */
	NC_TICK_STALLED,     /* running, but held back (lockstep wait, window full, time sync) */
};

/*
 * One tick at now_ms with this peer's input for the tick: reads the network,
 * rolls back if a prediction was wrong, exchanges inputs and checksums,
 * then advances at most one frame.
 */
enum nc_tick_result nc_session_tick(struct nc_session *s, uint64_t now_ms, uint8_t local_input);

/* Takes the next event. Returns 1 with *ev filled, 0 if none. */
int nc_session_poll_event(struct nc_session *s, struct nc_session_event *ev);

void nc_session_get_stats(const struct nc_session *s, struct nc_session_stats *out);
uint32_t nc_session_frame(const struct nc_session *s);
/* The latest confirmed frame, or -1. */
int64_t nc_session_confirmed(const struct nc_session *s);
bool nc_session_running(const struct nc_session *s);

/*
 * Rejoining: a player whose process died and was started again comes back
 * into a running session. It cannot replay the session from frame 0 (inputs
 * older than NC_RING frames are gone), so it starts from a confirmed state
 * that the others hold, and the others agree on the frame from which its
 * inputs count again.
 *
 * The contract, for player p coming back at frame R:
 *   - every remaining peer has already agreed that p was lost
 *     (NC_SE_PEER_FINAL), with its real inputs ending at some frame U;
 *   - p's inputs are neutral for every frame in [U, R), and its own from R;
 *   - R lies beyond every remaining peer's confirmed frame, so no frame
 *     anyone has confirmed changes (the harness picks R well ahead of the
 *     frames the peers report);
 *   - the newcomer starts from the state after a frame S that one of them
 *     confirmed, with S < R, and learns everyone's inputs from S + 1 on
 *     through the usual exchange: its first packets acknowledge S + 1.
 */
struct nc_lost_player {
	uint32_t player;
	uint32_t upto;                  /* its real inputs end below this frame */
};

/*
 * On a remaining peer: takes player p back from frame R. Returns 0, or -1
 * with a reason in err (p is us or was never agreed lost, or R is not
 * beyond our confirmed frame). The transport is told to connect afresh.
 */
int nc_session_readmit(struct nc_session *s, uint32_t p, uint32_t frame, char *err, size_t errlen);

/*
 * On the newcomer, before its first tick: the game state (already loaded
 * through the callbacks' context) is the one after frame `start - 1`; its
 * own inputs count from frame `readmit`; `lost` lists the players the others
 * have already agreed were lost (the newcomer itself excluded). Returns 0,
 * or -1 with a reason in err.
 */
int nc_session_start_at(struct nc_session *s, uint32_t start, uint32_t readmit, const struct nc_lost_player *lost,
			uint32_t nlost, char *err, size_t errlen);

/* The checksum of the state after confirmed frame f. Returns 0, or -1 if f is unconfirmed or gone from the ring. */
int nc_session_confirmed_checksum(const struct nc_session *s, uint32_t f, uint64_t *out);
/* The state after confirmed frame f, into buf (state_size bytes). Returns 0 or -1 as above. */
int nc_session_confirmed_state(struct nc_session *s, uint32_t f, void *buf);
/* The final inputs of frame f (nplayers bytes). Returns 0, or -1 if f is unconfirmed or gone. */
int nc_session_confirmed_inputs(const struct nc_session *s, uint32_t f, uint8_t *inputs);

#endif
