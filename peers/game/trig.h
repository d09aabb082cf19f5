// SPDX-License-Identifier: MIT
// The game's integer maths: sine and cosine from a literal table, square root, distances on the torus.
#ifndef LOOPSIM_GAME_TRIG_H
#define LOOPSIM_GAME_TRIG_H

#include "game/game.h"

/* sin and cos of angle (any int32, taken modulo GAME_ANGLES) in 16.16: -GAME_FIX_ONE..GAME_FIX_ONE. */
game_fix game__sin(int32_t angle);
game_fix game__cos(int32_t angle);

/* floor(sqrt(v)), exactly, in integers. */
uint64_t game__isqrt64(uint64_t v);

/* v brought into 0..GAME_FIELD-1; v may be any int64. */
static inline game_fix game__wrap(int64_t v)
{
	int64_t r = v % GAME_FIELD;
	return (game_fix)(r < 0 ? r + GAME_FIELD : r);
}

/* The shortest signed offset from a to b across the wrapping field, in -GAME_FIELD/2..GAME_FIELD/2-1. */
static inline int64_t game__delta(game_fix a, game_fix b)
{
	int64_t d = (int64_t)b - a;
	if (d >= GAME_FIELD / 2)
		d -= GAME_FIELD;
	else if (d < -(GAME_FIELD / 2))
		d += GAME_FIELD;
	return d;
}

#endif
