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
/* Angles run 0..GAME_ANGLES-1 for a full turn; angle 0 faces +x and angles grow towards +y. */
#define GAME_ANGLES 1024

/*
 * The rules, per frame (the game runs at a nominal 60 frames a second).
 * Changing any of these changes every hash: see the golden hash in
 * tests/test_game.c.
 */
#define GAME_TURN_RATE 16                        /* angle units a frame: a full turn in 64 frames */
#define GAME_THRUST (GAME_FIX_ONE / 8)           /* acceleration, units a frame a frame */
#define GAME_FRICTION_DIV 64                     /* each frame v -= v / 64 */
#define GAME_SHIP_MAX_SPEED (6 * GAME_FIX_ONE)   /* units a frame; the speed vector is clamped */
#define GAME_SHIP_RADIUS (12 * GAME_FIX_ONE)     /* a bullet closer than this to a ship hits it */
#define GAME_BULLET_SPEED (10 * GAME_FIX_ONE)    /* added to the firing ship's velocity */
#define GAME_BULLET_LIFE 60                      /* frames */
#define GAME_FIRE_COOLDOWN 10                    /* frames between shots */
#define GAME_RESPAWN_FRAMES 90                   /* frames from death to reappearing */

/* One player's input for one frame: a bit set. */
typedef uint8_t game_input;
enum {
	GAME_IN_THRUST = 1 << 0,
	GAME_IN_LEFT = 1 << 1,  /* angle decreases */
	GAME_IN_RIGHT = 1 << 2, /* angle increases */
	GAME_IN_FIRE = 1 << 3,
	GAME_IN_MASK = 0x0f,
};

/*
 * One list of fields per entity, X(type, name), in serialisation order.
 * The structs below, game_serialize() and game_diff() are all generated
 * from these lists, so a field cannot be hashed but not diffed, or added
 * to the state but left out of the hash. Every type is a 32- or 64-bit
 * integer.
 */
#define GAME_GLOBAL_FIELDS(X)                                         \
	X(uint32_t, frame)                                            \
	X(uint32_t, nplayers)                                         \
	X(uint64_t, rng) /* the game's own xorshift64* state, never 0 */

#define GAME_SHIP_FIELDS(X)                                            \
	X(game_fix, x)                                                 \
	X(game_fix, y)                                                 \
	X(game_fix, vx)                                                \
	X(game_fix, vy)                                                \
	X(int32_t, angle)    /* 0..GAME_ANGLES-1 */                    \
	X(int32_t, cooldown) /* frames until it may fire again */      \
	X(int32_t, respawn)  /* frames until it reappears; 0 while alive */ \
	X(int32_t, alive)    /* 0 or 1 */                              \
	X(int32_t, score)                                              \
	X(int32_t, deaths)

#define GAME_BULLET_FIELDS(X)                                         \
	X(game_fix, x)                                                \
	X(game_fix, y)                                                \
	X(game_fix, vx)                                               \
	X(game_fix, vy)                                               \
	X(int32_t, life)  /* frames left; 0 = slot free, and the whole bullet is 0 */ \
	X(int32_t, owner) /* player index */

#define GAME__DECLARE_FIELD(type, name) type name;

struct game_ship {
	GAME_SHIP_FIELDS(GAME__DECLARE_FIELD)
};

/* Player k's bullets live in slots k*GAME_BULLETS_PER_PLAYER and up. */
struct game_bullet {
	GAME_BULLET_FIELDS(GAME__DECLARE_FIELD)
};

/* Ships and bullets past nplayers stay all zero. */
struct game_state {
	GAME_GLOBAL_FIELDS(GAME__DECLARE_FIELD)
	struct game_ship ship[GAME_MAX_PLAYERS];
	struct game_bullet bullet[GAME_MAX_BULLETS];
};

/* Entities for per-entity hashes: 0 is the globals (frame, nplayers, rng), then ships, then bullets. */
#define GAME_ENTITIES (1 + GAME_MAX_PLAYERS + GAME_MAX_BULLETS)
#define GAME_ENTITY_SHIP(k) (1 + (k))
#define GAME_ENTITY_BULLET(k) (1 + GAME_MAX_PLAYERS + (k))

/*
 * Sets up frame 0 for nplayers (2..16) with ships placed from seed. Returns
 * 0, or -1 for a bad nplayers, leaving *s untouched.
 */
int game_init(struct game_state *s, uint32_t nplayers, uint64_t seed);

/*
 * Advances one frame. inputs[k] is player k's input; only the first
 * nplayers are read, and bits outside GAME_IN_MASK are ignored. The order
 * within a frame: each ship in index order (respawn countdown, or turn,
 * thrust, friction, speed clamp, move, fire), then each bullet (move,
 * age), then hits (bullet by bullet, the first live ship in index order
 * that is not the bullet's owner). This function can't fail.
 */
void game_step(struct game_state *s, const game_input *inputs);

/* XXH3 over the explicit serialisation (fields in order, little-endian; no padding, no pointers). */
uint64_t game_hash(const struct game_state *s);
/* One entity's hash, with the same serialisation; entity < GAME_ENTITIES (else 0). */
uint64_t game_entity_hash(const struct game_state *s, uint32_t entity);

/*
 * The explicit serialisation: the globals, then all GAME_MAX_PLAYERS ships,
 * then all GAME_MAX_BULLETS bullets, each field in list order, little-endian.
 * The size is fixed (GAME_SERIALIZED_SIZE). Returns the bytes written, or 0
 * if cap is too small.
 */
size_t game_serialize(const struct game_state *s, uint8_t *buf, size_t cap);
/* The inverse, for states that crossed a process boundary (DUMP, bundles). Returns 0, or -1 for a wrong
 * length or a player count out of range, with *s untouched. */
int game_deserialize(struct game_state *s, const uint8_t *buf, size_t len);
#define GAME_SERIALIZED_SIZE (16 + GAME_MAX_PLAYERS * 40 + GAME_MAX_BULLETS * 24)
#define GAME_SERIALIZED_MAX 8192

/* The first field that differs between two states. */
struct game_diff {
	char entity[24];   /* "globals", "ship 3", "bullet 17" */
	char field[16];    /* "x", "score", ... */
	int64_t a, b;      /* the field's values in a and b; rng is its bit pattern as int64_t */
};

/*
 * Returns 1 and fills *d if a and b differ, 0 if they are equal (and *d is
 * untouched). Uses entity hashes to find the entity fast, then compares its
 * fields in list order.
 */
int game_diff(const struct game_state *a, const struct game_state *b, struct game_diff *d);
/* "ship 3.x: 1234 != 1240"; always NUL-terminates when cap > 0. */
void game_diff_format(const struct game_diff *d, char *buf, size_t cap);

/*
 * A deterministic bot: seeks the nearest live enemy, turns to aim (leading
 * the target), fires when aligned and evades bullets that come close, with
 * some noise drawn from a hash of (seed, frame, player). A pure function of
 * (state, player, seed), so any peer can compute any bot's input. A dead
 * ship, or a player >= nplayers, gets 0.
 */
game_input game_bot_input(const struct game_state *s, uint32_t player, uint64_t seed);

#endif
