// SPDX-License-Identifier: MIT
// Counter-based random draws for the link model: a draw is a pure function of its key.
#ifndef LOOPSIM_WIRE_RNG_H
#define LOOPSIM_WIRE_RNG_H

#include <stdint.h>

/*
 * Model: a counter-based generator in the manner of Random123. Every draw is
 * hash(seed; from, to, n, purpose) with XXH3, so the draw for the n-th
 * datagram on link from->to does not depend on how many draws any other link
 * (or any other purpose on this link) consumed. That is what makes a link's
 * fate log independent of traffic elsewhere.
 */

/* What a draw is for. Each purpose has its own stream; never reuse one. */
enum wire_rng_purpose {
	WIRE_RNG_LOSS = 1,
	WIRE_RNG_GE_STEP,
	WIRE_RNG_DUP,
	WIRE_RNG_DUP_DELAY,
	WIRE_RNG_CORRUPT,
	WIRE_RNG_CORRUPT_BIT,
	WIRE_RNG_JITTER,
	WIRE_RNG_JITTER_COPY,
	WIRE_RNG_REORDER,
	WIRE_RNG_JITTER_PATH, /* keyed by knot number, not datagram number: the path's jitter */
	WIRE_RNG_JITTER_SPIKE, /* keyed by time bin: Pareto's congestion spikes (count, times, peaks) */
	WIRE_RNG_CHAOS,        /* not the wire's: a sweep's chaos timeline, keyed by (fault kind, field, n) */
};

/* A 64-bit draw. This function can't fail. */
uint64_t wire_rng_u64(uint64_t seed, uint32_t from, uint32_t to, uint64_t n, uint32_t purpose);

/* A draw uniform in [0, 1), with 53 bits of resolution. */
double wire_rng_unit(uint64_t seed, uint32_t from, uint32_t to, uint64_t n, uint32_t purpose);

/* Standard normal quantile (inverse CDF) for p in (0, 1); p is clamped into range. */
double wire_normal_quantile(double p);

#endif
