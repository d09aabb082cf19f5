// SPDX-License-Identifier: MIT
// The sync test engine: advance, roll back D frames, replay with the same inputs, compare hashes.
#include "game/synctest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What is kept per frame, in a ring of D+1 slots indexed by frame % (D+1). */
struct slot {
	struct game_state state; /* the state of frame f, as saved */
	uint64_t hash;           /* its hash the first time it was reached */
	game_input input[GAME_MAX_PLAYERS]; /* the inputs that advanced frame f to f+1 */
};

void game_synctest_cfg_default(struct game_synctest_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->nplayers = 4;
	cfg->frames = 1000;
	cfg->check_distance = GAME_SYNCTEST_DEFAULT_DISTANCE;
	cfg->seed = 1;
	cfg->inject_frame = -1;
}

static int cfg_valid(const struct game_synctest_cfg *cfg)
{
	return cfg->nplayers >= 2 && cfg->nplayers <= GAME_MAX_PLAYERS && cfg->frames >= 1 &&
	       cfg->check_distance >= 1 && cfg->check_distance <= GAME_SYNCTEST_MAX_DISTANCE &&
	       (cfg->inject_frame == -1 || (cfg->inject_frame >= 1 && cfg->inject_frame <= (int64_t)cfg->frames));
}

int game_synctest(const struct game_synctest_cfg *cfg, struct game_synctest_result *out)
{
	if (!cfg_valid(cfg))
		return -EINVAL;
	const uint32_t d = cfg->check_distance, ring = d + 1, n = cfg->nplayers;
	struct slot *slot = calloc(ring, sizeof *slot);
	struct game_state *cur = malloc(sizeof *cur);
	if (!slot || !cur) {
		free(slot);
		free(cur);
		return -ENOMEM;
	}
	struct game_synctest_result res = { 0 };
	game_init(cur, n, cfg->seed);
	slot[0].state = *cur;
	slot[0].hash = game_hash(cur);

	int rc = 0;
	for (uint32_t f = 0; f < cfg->frames && rc == 0; f++) {
		/* First pass: frame f -> f+1 with the bots' inputs, saved and hashed. */
		struct slot *now = &slot[f % ring], *next = &slot[(f + 1) % ring];
		for (uint32_t k = 0; k < n; k++)
			now->input[k] = game_bot_input(cur, k, cfg->seed);
		game_step(cur, now->input);
		res.steps++;
		res.frames++;
		next->state = *cur;
		next->hash = game_hash(cur);
		/* Roll back to frame f+1-D (or 0, early on) and replay up to f+1; the ring holds every state in between. */
		uint32_t from = f + 1 > d ? f + 1 - d : 0;
		*cur = slot[from % ring].state;
		for (uint32_t g = from; g <= f; g++) {
			game_step(cur, slot[g % ring].input);
			res.steps++;
			if (cfg->inject_frame == (int64_t)g + 1)
				cur->ship[(g + 1) % n].x += 1;
			struct slot *redo = &slot[(g + 1) % ring];
			uint64_t h = game_hash(cur);
			res.checks++;
			if (h != redo->hash) {
				res.desync = 1;
				res.desync_frame = g + 1;
				res.checksum_first = redo->hash;
				res.checksum_resim = h;
				res.has_diff = game_diff(&redo->state, cur, &res.diff);
				rc = 1;
				break;
			}
			redo->state = *cur; /* re-saved, as a rollback does */
		}
		/* The game carries on from the replayed state, as it would after a real rollback. */
	}
	*out = res;
	free(slot);
	free(cur);
	return rc;
}
