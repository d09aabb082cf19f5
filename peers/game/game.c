// SPDX-License-Identifier: MIT
// The game's rules: set-up, one frame of movement, firing, hits and respawns, in integers only.
#include "game/game.h"

#include <string.h>

#include "game/trig.h"

/* Hits are tested in 24.8 rather than 16.16 so that squared cross products fit in int64. */
#define COARSE_DIV 256

/* splitmix64's finaliser: spreads a user's seed (often 0, 1, 2...) over all 64 bits. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift64* (Vigna): the state must never be 0, which game_init ensures. */
static uint64_t rng_next(struct game_state *s)
{
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A draw in 0..n-1 from the top 32 bits, by multiply and shift (Lemire); n <= 2^32. */
static uint32_t rng_below(struct game_state *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

static int32_t wrap_angle(int32_t a)
{
	return (int32_t)((uint32_t)a & (GAME_ANGLES - 1));
}

/* Puts a ship back on the field at a random place and heading, at rest. Draws three numbers. */
static void ship_spawn(struct game_state *s, struct game_ship *sh)
{
	sh->x = (game_fix)rng_below(s, GAME_FIELD);
	sh->y = (game_fix)rng_below(s, GAME_FIELD);
	sh->angle = (int32_t)rng_below(s, GAME_ANGLES);
	sh->vx = 0;
	sh->vy = 0;
	sh->cooldown = 0;
	sh->respawn = 0;
	sh->alive = 1;
}

int game_init(struct game_state *s, uint32_t nplayers, uint64_t seed)
{
	if (nplayers < 2 || nplayers > GAME_MAX_PLAYERS)
		return -1;
	memset(s, 0, sizeof *s);
	s->nplayers = nplayers;
	s->rng = mix64(seed);
	if (s->rng == 0)
		s->rng = 0x9e3779b97f4a7c15ull;
	for (uint32_t k = 0; k < nplayers; k++)
		ship_spawn(s, &s->ship[k]);
	return 0;
}

static void fire(struct game_state *s, uint32_t k)
{
	struct game_ship *sh = &s->ship[k];
	for (uint32_t i = 0; i < GAME_BULLETS_PER_PLAYER; i++) {
		struct game_bullet *b = &s->bullet[k * GAME_BULLETS_PER_PLAYER + i];
		if (b->life)
			continue;
		int64_t c = game__cos(sh->angle), sn = game__sin(sh->angle);
		b->x = game__wrap(sh->x + c * GAME_SHIP_RADIUS / GAME_FIX_ONE);
		b->y = game__wrap(sh->y + sn * GAME_SHIP_RADIUS / GAME_FIX_ONE);
		b->vx = (game_fix)(sh->vx + c * GAME_BULLET_SPEED / GAME_FIX_ONE);
		b->vy = (game_fix)(sh->vy + sn * GAME_BULLET_SPEED / GAME_FIX_ONE);
		b->life = GAME_BULLET_LIFE;
		b->owner = (int32_t)k;
		sh->cooldown = GAME_FIRE_COOLDOWN;
		return;
	}
	/* All eight in flight: the shot is lost and the cooldown does not start. */
}

static void ship_step(struct game_state *s, uint32_t k, game_input in)
{
	struct game_ship *sh = &s->ship[k];
	if (!sh->alive) {
		if (sh->respawn > 0 && --sh->respawn == 0)
			ship_spawn(s, sh);
		return;
	}
	if (in & GAME_IN_LEFT)
		sh->angle = wrap_angle(sh->angle - GAME_TURN_RATE);
	if (in & GAME_IN_RIGHT)
		sh->angle = wrap_angle(sh->angle + GAME_TURN_RATE);

	int64_t vx = sh->vx, vy = sh->vy;
	if (in & GAME_IN_THRUST) {
		vx += (int64_t)game__cos(sh->angle) * GAME_THRUST / GAME_FIX_ONE;
		vy += (int64_t)game__sin(sh->angle) * GAME_THRUST / GAME_FIX_ONE;
	}
	/* Division truncates towards zero in both directions, where >> would be implementation-defined. */
	vx -= vx / GAME_FRICTION_DIV;
	vy -= vy / GAME_FRICTION_DIV;
	uint64_t speed2 = (uint64_t)(vx * vx + vy * vy);
	const uint64_t max2 = (uint64_t)GAME_SHIP_MAX_SPEED * GAME_SHIP_MAX_SPEED;
	if (speed2 > max2) {
		int64_t speed = (int64_t)game__isqrt64(speed2);
		vx = vx * GAME_SHIP_MAX_SPEED / speed;
		vy = vy * GAME_SHIP_MAX_SPEED / speed;
	}
	sh->vx = (game_fix)vx;
	sh->vy = (game_fix)vy;
	sh->x = game__wrap((int64_t)sh->x + vx);
	sh->y = game__wrap((int64_t)sh->y + vy);

	if (sh->cooldown > 0)
		sh->cooldown--;
	if ((in & GAME_IN_FIRE) && sh->cooldown == 0)
		fire(s, k);
}

/*
 * Whether a bullet that is now at p from a ship's centre, having moved by
 * d relative to the ship this frame, passed within GAME_SHIP_RADIUS of it:
 * a swept test, so that fast bullets cannot step over a ship. Both in
 * 16.16, and assumed to be within a few hundred units.
 */
static int swept_hit(int64_t px, int64_t py, int64_t dx, int64_t dy)
{
	int64_t reach = GAME_SHIP_RADIUS + abs64(dx) + abs64(dy);
	if (abs64(px) > reach || abs64(py) > reach)
		return 0;
	px /= COARSE_DIV;
	py /= COARSE_DIV;
	dx /= COARSE_DIV;
	dy /= COARSE_DIV;
	const int64_t r = GAME_SHIP_RADIUS / COARSE_DIV, r2 = r * r;
	if (px * px + py * py < r2)
		return 1;
	int64_t qx = px - dx, qy = py - dy; /* where it started, relative to the ship */
	int64_t dd = dx * dx + dy * dy;
	int64_t t = -(qx * dx + qy * dy); /* the nearest point is q + d * t / dd */
	if (dd == 0 || t >= dd)
		return 0; /* the end point, tested above, is the nearest */
	if (t <= 0)
		return qx * qx + qy * qy < r2;
	int64_t cross = qx * dy - qy * dx;
	return cross * cross < r2 * dd;
}

static void bullet_hits(struct game_state *s, struct game_bullet *b)
{
	for (uint32_t k = 0; k < s->nplayers; k++) {
		struct game_ship *sh = &s->ship[k];
		if (!sh->alive || (int32_t)k == b->owner)
			continue;
		int64_t px = game__delta(sh->x, b->x), py = game__delta(sh->y, b->y);
		if (!swept_hit(px, py, (int64_t)b->vx - sh->vx, (int64_t)b->vy - sh->vy))
			continue;
		sh->alive = 0;
		sh->respawn = GAME_RESPAWN_FRAMES;
		sh->vx = 0;
		sh->vy = 0;
		sh->cooldown = 0;
		sh->deaths++;
		if (b->owner >= 0 && (uint32_t)b->owner < s->nplayers)
			s->ship[b->owner].score++;
		memset(b, 0, sizeof *b);
		return;
	}
}

void game_step(struct game_state *s, const game_input *inputs)
{
	for (uint32_t k = 0; k < s->nplayers; k++)
		ship_step(s, k, (game_input)(inputs[k] & GAME_IN_MASK));
	for (uint32_t i = 0; i < GAME_MAX_BULLETS; i++) {
		struct game_bullet *b = &s->bullet[i];
		if (!b->life)
			continue;
		b->x = game__wrap((int64_t)b->x + b->vx);
		b->y = game__wrap((int64_t)b->y + b->vy);
		if (--b->life == 0)
			memset(b, 0, sizeof *b);
	}
	for (uint32_t i = 0; i < GAME_MAX_BULLETS; i++)
		if (s->bullet[i].life)
			bullet_hits(s, &s->bullet[i]);
	s->frame++;
}
