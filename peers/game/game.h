// SPDX-License-Identifier: MIT
// The demo game: a deterministic top-down arena for 2 to 16 ships, integers and fixed point only.
#ifndef LOOPSIM_GAME_H
#define LOOPSIM_GAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Determinism contract. The state is plain data of fixed size: saving is a
 * memcpy and loading is a memcpy. game_step() is a pure function of (state,
 * inputs): no floating point, no clock, no global state, no pointers; the
 * game's own RNG lives in the state. Two machines that start from
 * game_init(n, seed) and apply the same inputs reach the same game_hash()
 * at every frame.
 */

#define GAME_MAX_PLAYERS 16
#define GAME_BULLETS_PER_PLAYER 8
#define GAME_MAX_BULLETS (GAME_MAX_PLAYERS * GAME_BULLETS_PER_PLAYER)

/* Fixed point, 16.16. The field is GAME_FIELD units square and wraps at its edges. */
typedef int32_t game_fix;
#define GAME_FIX_ONE 65536
#define GAME_FIELD (1000 * GAME_FIX_ONE)
/* Angles run 0..GAME_ANGLES-1 for a full turn. */
#define GAME_ANGLES 1024

/* One player's input for one frame: a bit set. */
typedef uint8_t game_input;
enum {
	GAME_IN_THRUST = 1 << 0,
	GAME_IN_LEFT = 1 << 1,
	GAME_IN_RIGHT = 1 << 2,
	GAME_IN_FIRE = 1 << 3,
	GAME_IN_MASK = 0x0f,
};

struct game_ship {
	game_fix x, y, vx, vy;
	int32_t angle;     /* 0..GAME_ANGLES-1 */
	int32_t cooldown;  /* frames until it may fire again */
	int32_t respawn;   /* frames until it reappears; 0 while alive */
	int32_t alive;     /* 0 or 1 */
	int32_t score;
	int32_t deaths;
};

struct game_bullet {
	game_fix x, y, vx, vy;
	int32_t life;      /* frames left; 0 = slot free */
	int32_t owner;     /* player index */
};

struct game_state {
	uint32_t frame;
	uint32_t nplayers;
	uint64_t rng;      /* the game's own xorshift state */
	struct game_ship ship[GAME_MAX_PLAYERS];
	struct game_bullet bullet[GAME_MAX_BULLETS];
};

/* Entities for per-entity hashes: 0 is the globals (frame, nplayers, rng), then ships, then bullets. */
#define GAME_ENTITIES (1 + GAME_MAX_PLAYERS + GAME_MAX_BULLETS)

/* Sets up frame 0 for nplayers (2..16) with ships placed from seed. Returns 0, or -1 for a bad nplayers. */
int game_init(struct game_state *s, uint32_t nplayers, uint64_t seed);

/* Advances one frame. inputs[k] is player k's input; only the first nplayers are read. */
void game_step(struct game_state *s, const game_input *inputs);

/* XXH3 over the explicit serialisation (fields in order, little-endian; no padding, no pointers). */
uint64_t game_hash(const struct game_state *s);
/* One entity's hash, with the same serialisation; entity < GAME_ENTITIES. */
uint64_t game_entity_hash(const struct game_state *s, uint32_t entity);

/* The explicit serialisation. Returns the bytes written, or 0 if cap is too small. */
size_t game_serialize(const struct game_state *s, uint8_t *buf, size_t cap);
#define GAME_SERIALIZED_MAX 8192

/* The first field that differs between two states. */
struct game_diff {
	char entity[24];   /* "globals", "ship 3", "bullet 17" */
	char field[16];    /* "x", "score", ... */
	int64_t a, b;
};

/* Returns 1 and fills *d if a and b differ, 0 if they are equal. Uses entity hashes to find the entity fast. */
int game_diff(const struct game_state *a, const struct game_state *b, struct game_diff *d);
/* "ship 3.x: 1234 != 1240" */
void game_diff_format(const struct game_diff *d, char *buf, size_t cap);

/*
 * A deterministic bot: seeks the nearest live enemy, turns to aim, fires
 * when aligned and evades bullets that come close. A pure function of
 * (state, player, seed), so any peer can compute any bot's input.
 */
game_input game_bot_input(const struct game_state *s, uint32_t player, uint64_t seed);

#endif
