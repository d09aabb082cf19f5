// SPDX-License-Identifier: MIT
// A desync bundle read back for the replay window: each peer's game at any frame, the fates and events on frames.
#ifndef LOOPSIM_HARNESS_BUNDLE_STORY_H
#define LOOPSIM_HARNESS_BUNDLE_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "game/game.h"
#include "harness/report.h"

/*
 * Model. A frame F means the state after F's inputs, as checksums-K.txt
 * and diff.txt count them. Peer k's game at F is what k computed:
 *   - before the divergent frame D, the re-simulation of its own confirmed
 *     inputs (a frame it missed is stepped with another peer's, as
 *     bundle_replay() does);
 *   - from D on, its dumped state-K.bin, stepped on with its own inputs
 *     (what it computed at D, and what those inputs make of it after);
 *     without a dump, its re-simulation.
 * The reference is the harness's reference-state.bin at D, and elsewhere
 * the re-simulation of the first peer outside the minority. States are
 * stepped from checkpoints every BUNDLE_STORY_CKPT frames, so any frame
 * costs at most that many game_step()s per peer.
 *
 * Time. fates.tsv counts microseconds from the wire's start, and
 * frames.tsv says when each frame ran on that clock (the first report of
 * it by any peer), so datagrams and timeline events (seconds from the
 * session's start) are placed on the frames that were running, at the
 * game's own pace, stalls included. A bundle without frames.tsv (an older
 * loopsim) is placed at 60 frames a second, the last datagram on the last
 * frame any peer logged, and timeline events from the first datagram.
 */

#define BUNDLE_STORY_CKPT 32
#define BUNDLE_STORY_FPS 60
#define BUNDLE_STORY_EVENTS 64

enum story_fate_kind { STORY_DELIVER, STORY_LOSS, STORY_PARTITION, STORY_QUEUE, STORY_MTU };

struct story_fate {
	uint16_t from, to;
	uint8_t fate;                 /* enum story_fate_kind */
	uint8_t kind;                 /* enum wire_pkt_kind of the original: plain, corrupted or reordered */
	bool dup;
	float sent, arrived, copy_arrived; /* frames, fractional */
};

struct story_event {
	float frame;
	char label[32];
};

struct story_track;

struct bundle_story {
	char dir[1024];
	uint32_t npeers;
	uint64_t seed;
	bool game;                    /* the built-in game: states can be re-simulated; else bytes only */
	int64_t divergence;           /* D, from diff.txt; -1 when it says none */
	uint64_t minority_mask;
	char minority[64];            /* "1" or "1, 3" */
	char field[160];              /* diff.txt's first differing field of a minority peer, or "" */
	uint32_t last;                /* the last frame of any peer's inputs (or of the fates, without inputs) */
	float fps;                    /* frames a second, as frames.tsv says they ran; BUNDLE_STORY_FPS without it */
	uint8_t *bytes[RUN_MAX_PEERS];  /* state-K.bin, owned; NULL when missing */
	uint32_t nbytes[RUN_MAX_PEERS];
	uint8_t *byte_diff[RUN_MAX_PEERS]; /* nonzero where bytes[k] differs from the majority's; owned */
	struct story_fate *fate;      /* by sent frame, increasing; owned */
	uint32_t nfates;
	struct story_event event[BUNDLE_STORY_EVENTS];
	uint32_t nevents;
	uint32_t ref_peer;            /* whose re-simulation is the reference */
	struct story_track *own;      /* [npeers]: each peer's re-simulation (game only) */
	struct story_track *dumped;   /* [npeers]: from its dump at D on (game only; empty without a dump) */
	bool have_ref_state;
	struct game_state ref_state;  /* reference-state.bin, after D */
};

/*
 * Reads the bundle in dir. Returns it (the caller owns it, and frees it
 * with bundle_story_close()), or NULL with err naming the file and what is
 * wrong with it. A missing fates.tsv or state-K.bin is not an error: the
 * lanes, or that peer's bytes, stay empty.
 */
struct bundle_story *bundle_story_open(const char *dir, char *err, size_t errlen);
/* NULL does nothing. */
void bundle_story_close(struct bundle_story *s);

/*
 * Peer k's game after frame f, as the model above says (game bundles only).
 * *shown is the frame it is really at: f, or the last frame its inputs
 * reach when f is past them. *from_dump says whether it starts from its
 * dumped state. Returns 0, or -1 when there is nothing (k has no inputs).
 */
int bundle_story_state(const struct bundle_story *s, uint32_t k, uint32_t f, struct game_state *out, uint32_t *shown,
		       bool *from_dump);
/* The reference after frame f. Returns 0, or -1 when there is none. */
int bundle_story_reference(const struct bundle_story *s, uint32_t f, struct game_state *out);

#endif
