// SPDX-License-Identifier: MIT
// The demo bots: seek, lead and shoot the nearest enemy, dodge close bullets; pure functions of the state.
#include "game/game.h"

#include "game/trig.h"

/* A bullet nearer than this that is closing in makes the bot dodge rather than attack. */
#define EVADE_RADIUS (70 * GAME_FIX_ONE)
/* Beyond this the bot closes in with thrust; nearer, it only turns and shoots. */
#define STANDOFF (180 * GAME_FIX_ONE)
/* How far a bullet flies, roughly: the bot holds fire beyond it. */
#define FIRE_RANGE ((int64_t)GAME_BULLET_SPEED * GAME_BULLET_LIFE * 3 / 4)
/* sin of half a turn step, in 16.16: inside this the bot stops turning, so it does not oscillate. */
#define AIM_DEADBAND 3216

/* splitmix64's finaliser, as a hash of (seed, frame, player): the bots' only source of noise. */
static uint64_t bot_noise(uint64_t seed, uint32_t frame, uint32_t player)
{
	uint64_t z = seed ^ ((uint64_t)frame << 8 | player) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	/* Twice, so that neighbouring frames and players do not give correlated bits. */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/*
 * Turns the ship towards the direction (tx, ty) (16.16, any length up to
 * a field): the sign of the cross product of the heading and the target
 * says which way, and inside the dead band it holds its heading.
 * *aligned_miss gets how far (16.16) a shot along the heading would pass
 * from a point at (tx, ty), or -1 when the point is behind.
 */
static game_input steer(const struct game_ship *me, int64_t tx, int64_t ty, int64_t *aligned_miss)
{
	int64_t fx = game__cos(me->angle), fy = game__sin(me->angle);
	int64_t cross = fx * ty - fy * tx; /* |f| |t| sin(theta), |f| = GAME_FIX_ONE */
	int64_t dot = fx * tx + fy * ty;
	int64_t dist = (int64_t)game__isqrt64((uint64_t)(tx * tx + ty * ty));
	if (aligned_miss)
		*aligned_miss = dot > 0 ? abs64(cross) / GAME_FIX_ONE : -1;
	if (dist == 0)
		return 0;
	if (dot > 0 && abs64(cross) / dist < AIM_DEADBAND)
		return 0;
	return cross > 0 ? GAME_IN_RIGHT : GAME_IN_LEFT;
}

/* The nearest bullet of another player within EVADE_RADIUS that is still closing in, or -1. */
static int threat(const struct game_state *s, uint32_t player)
{
	const struct game_ship *me = &s->ship[player];
	int best = -1;
	int64_t best_d2 = (int64_t)EVADE_RADIUS * EVADE_RADIUS;
	for (uint32_t i = 0; i < GAME_MAX_BULLETS; i++) {
		const struct game_bullet *b = &s->bullet[i];
		if (!b->life || b->owner == (int32_t)player)
			continue;
		int64_t px = game__delta(me->x, b->x), py = game__delta(me->y, b->y);
		if (abs64(px) > EVADE_RADIUS || abs64(py) > EVADE_RADIUS)
			continue;
		int64_t d2 = px * px + py * py;
		int64_t closing = px * ((int64_t)b->vx - me->vx) + py * ((int64_t)b->vy - me->vy);
		if (d2 < best_d2 && closing < 0) {
			best_d2 = d2;
			best = (int)i;
		}
	}
	return best;
}

/* The nearest other live ship, or -1. */
static int nearest_enemy(const struct game_state *s, uint32_t player)
{
	const struct game_ship *me = &s->ship[player];
	int best = -1;
	int64_t best_d2 = INT64_MAX;
	for (uint32_t k = 0; k < s->nplayers; k++) {
		const struct game_ship *o = &s->ship[k];
		if (k == player || !o->alive)
			continue;
		int64_t dx = game__delta(me->x, o->x), dy = game__delta(me->y, o->y);
		int64_t d2 = dx * dx + dy * dy;
		if (d2 < best_d2) {
			best_d2 = d2;
			best = (int)k;
		}
	}
	return best;
}

game_input game_bot_input(const struct game_state *s, uint32_t player, uint64_t seed)
{
	if (player >= s->nplayers || player >= GAME_MAX_PLAYERS || !s->ship[player].alive)
		return 0;
	const struct game_ship *me = &s->ship[player];
	uint64_t noise = bot_noise(seed, s->frame, player);
	game_input in = 0;

	int t = threat(s, player);
	if (t >= 0) {
		/* Dodge sideways: head for the perpendicular of the bullet's path on the side the ship is already on. */
		const struct game_bullet *b = &s->bullet[t];
		int64_t bvx = (int64_t)b->vx - me->vx, bvy = (int64_t)b->vy - me->vy;
		int64_t px = -game__delta(me->x, b->x), py = -game__delta(me->y, b->y); /* bullet to ship */
		int64_t side = bvx * py - bvy * px; /* within EVADE_RADIUS, so well inside int64 */
		int64_t ex = side >= 0 ? -bvy : bvy, ey = side >= 0 ? bvx : -bvx;
		in |= steer(me, ex, ey, NULL) | GAME_IN_THRUST;
		/* A panicky shot now and then keeps the fight going. */
		if ((noise & 7) == 0)
			in |= GAME_IN_FIRE;
		return in;
	}

	int e = nearest_enemy(s, player);
	if (e < 0) {
		/* Nobody to fight: wander. */
		if (noise & 1)
			in |= GAME_IN_THRUST;
		if ((noise >> 1 & 3) == 0)
			in |= GAME_IN_LEFT;
		return in;
	}
	const struct game_ship *o = &s->ship[e];
	int64_t dx = game__delta(me->x, o->x), dy = game__delta(me->y, o->y);
	int64_t dist = (int64_t)game__isqrt64((uint64_t)(dx * dx + dy * dy));
	/* Lead the target: where it will be, relative to us, when a bullet fired now gets there. */
	int64_t tof = dist / GAME_BULLET_SPEED;
	if (tof > GAME_BULLET_LIFE)
		tof = GAME_BULLET_LIFE;
	int64_t ax = dx + ((int64_t)o->vx - me->vx) * tof, ay = dy + ((int64_t)o->vy - me->vy) * tof;
	/* Aim a little off now and then (noise bits 8..13), so duels do not lock into a mirror. */
	int64_t wobble = (int64_t)(noise >> 8 & 63) - 32;
	ax += wobble * ay / 256;
	ay -= wobble * ax / 256;

	int64_t miss;
	in |= steer(me, ax, ay, &miss);
	if (miss >= 0 && miss < GAME_SHIP_RADIUS && dist < FIRE_RANGE)
		in |= GAME_IN_FIRE;
	if (dist > STANDOFF && miss >= 0)
		in |= GAME_IN_THRUST;
	/* Noise: a burst of thrust, a wrong turn, a stray shot. */
	if ((noise >> 16 & 15) == 0)
		in |= GAME_IN_THRUST;
	if ((noise >> 20 & 31) == 0)
		in = (game_input)((in & ~(GAME_IN_LEFT | GAME_IN_RIGHT)) | (noise >> 25 & 1 ? GAME_IN_LEFT : GAME_IN_RIGHT));
	if ((noise >> 26 & 63) == 0)
		in |= GAME_IN_FIRE;
	return in;
}
