// SPDX-License-Identifier: MIT
// A GGPO-style sync test of the game without a network: every frame is rolled back and replayed, and must hash the same.
#ifndef LOOPSIM_GAME_SYNCTEST_H
#define LOOPSIM_GAME_SYNCTEST_H

#include <stdint.h>

#include "game/game.h"

/*
 * The model is GGPO's SyncTestBackend, made stricter: instead of checking
 * every D frames, every frame is followed by a rollback of D frames (fewer
 * in the first D-1 frames, back to frame 0) and a replay up to the present
 * with the recorded inputs, saving each replayed state as a rollback does.
 * So every frame is replayed D times, from D different starting points.
 * Each replayed frame's game_hash() must equal the one recorded the first
 * time. A game
 * that reads anything but (state, inputs) - uninitialised memory, a
 * pointer, a clock, a global - fails here, long before two peers disagree.
 *
 * Inputs come from game_bot_input(state, k, seed) for every player.
 */

/*
 * The default depth is 8 frames: GGPO's MAX_PREDICTION_FRAMES, the deepest
 * rollback a peer does, and the depth bench_rollback measures.
 */
#define GAME_SYNCTEST_DEFAULT_DISTANCE 8
#define GAME_SYNCTEST_MAX_DISTANCE 64

struct game_synctest_cfg {
	uint32_t nplayers;       /* 2..GAME_MAX_PLAYERS; default 4 */
	uint32_t frames;         /* frames to advance, >= 1; default 1000 */
	uint32_t check_distance; /* D, 1..GAME_SYNCTEST_MAX_DISTANCE */
	uint64_t seed;           /* for game_init and the bots; default 1 */
	/*
	 * -1 for none, or 1..frames: during every replay, the step that
	 * produces frame F adds 1 to ship (F % nplayers)'s x, as a
	 * nondeterministic game would. The first pass is untouched, so the
	 * test must report a desync at frame F exactly, on "ship K.x".
	 */
	int64_t inject_frame;
};

struct game_synctest_result {
	uint64_t frames;     /* frames advanced the first time */
	uint64_t checks;     /* replayed frames whose hash was compared */
	uint64_t steps;      /* game_step calls in all, first pass and replays */
	int desync;          /* 1 if a replayed frame hashed differently */
	/* When desync: */
	uint32_t desync_frame;      /* the frame number of the first state whose hash differed */
	uint64_t checksum_first;    /* its hash the first time */
	uint64_t checksum_resim;    /* its hash when replayed */
	int has_diff;               /* 1 if diff names the field (0 only if the hashes collide with equal states) */
	struct game_diff diff;      /* a = the first pass, b = the replay */
};

/* Fills cfg with the defaults above. */
void game_synctest_cfg_default(struct game_synctest_cfg *cfg);

/*
 * Runs the sync test. Returns 0 if every check passed, 1 at the first
 * desync (the run stops there, and *out says where), -EINVAL for a cfg out
 * of range (and *out is untouched), or -ENOMEM. It allocates its ring of
 * D+1 saved states once, up front, and frees it before returning; it never
 * aborts and reads no clock, so callers time it themselves.
 */
int game_synctest(const struct game_synctest_cfg *cfg, struct game_synctest_result *out);

#endif
