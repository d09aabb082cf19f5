// SPDX-License-Identifier: MIT
// A log-linear histogram of delays in microseconds.
#include "wire/hist.h"

#include <math.h>
#include <stdbool.h>

/* Bucket of v: below WIRE_HIST_SUB its own; then octave e (2^e <= v < 2^(e+1)) in WIRE_HIST_SUB slices. */
static unsigned bucket_of(uint64_t v)
{
	if (v < WIRE_HIST_SUB)
		return (unsigned)v;
	if (v >= WIRE_HIST_RANGE_US)
		return WIRE_HIST_BUCKETS - 1;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* e >= WIRE_HIST_SUB_BITS */
	unsigned shift = e - WIRE_HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) & (WIRE_HIST_SUB - 1);
	return WIRE_HIST_SUB + shift * WIRE_HIST_SUB + sub;
}

/* The lowest value of a bucket and its width. */
static void bucket_range(unsigned idx, uint64_t *lo, uint64_t *width)
{
	if (idx < WIRE_HIST_SUB) {
		*lo = idx;
		*width = 1;
		return;
	}
	unsigned shift = (idx - WIRE_HIST_SUB) / WIRE_HIST_SUB;
	unsigned sub = (idx - WIRE_HIST_SUB) % WIRE_HIST_SUB;
	*lo = ((uint64_t)(WIRE_HIST_SUB + sub)) << shift;
	*width = 1ull << shift;
}

void wire_hist_record(struct wire_hist *h, uint64_t value_us)
{
	h->bucket[bucket_of(value_us)]++;
	if (h->count++ == 0 || value_us < h->min_us)
		h->min_us = value_us;
	if (value_us > h->max_us)
		h->max_us = value_us;
}

uint64_t wire_hist_quantile(const struct wire_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q <= 0)
		return h->min_us;
	if (q >= 1)
		return h->max_us;
	/*
	 * The rank of the q-quantile, 1-based: the smallest value with at least
	 * q*count at or below it, so q*count rounded up. The slack absorbs binary
	 * fractions (0.7 * 10 is 7.000000000000001, which is rank 7, not 8).
	 */
	double x = q * (double)h->count;
	uint64_t rank = (uint64_t)x;
	if ((double)rank < x * (1 - 1e-12))
		rank++;
	if (rank < 1)
		rank = 1;
	/* Every bucket below min's is empty: a link's delays span an octave or two of the 21, so start there. */
	uint64_t seen = 0;
	for (unsigned i = bucket_of(h->min_us); i < WIRE_HIST_BUCKETS; i++) {
		if (seen + h->bucket[i] >= rank) {
			/*
			 * Interpolate within the bucket, as if its values were spread
			 * evenly over the part of it at or below max: the bucket that
			 * holds max is often only partly filled.
			 */
			uint64_t lo0, width0;
			bucket_range(i, &lo0, &width0);
			uint64_t lo = lo0, width = width0;
			if (lo < h->min_us) {
				width -= h->min_us - lo;
				lo = h->min_us;
			}
			/* The last bucket also holds everything beyond the range: it reaches up to max. */
			bool last = i == WIRE_HIST_BUCKETS - 1;
			if (h->max_us - lo < width || last)
				width = h->max_us - lo + 1;
			double frac = ((double)(rank - seen) - 0.5) / (double)h->bucket[i];
			uint64_t v = lo + (uint64_t)(frac * (double)width);
			if (!last && width0 > 1) {
				/*
				 * Within 1% of whatever the bucket's values t in [lo0, lo0 + width0)
				 * are: v >= 0.99 t for the largest, v <= 1.01 t for the smallest.
				 * Not empty while width0 <= lo0 / 50; here it is at most lo0 / 128.
				 */
				uint64_t floor_v = (uint64_t)ceil(0.99 * (double)(lo0 + width0 - 1));
				uint64_t ceil_v = (uint64_t)floor(1.01 * (double)lo0);
				v = v < floor_v ? floor_v : v > ceil_v ? ceil_v : v;
			}
			return v < h->min_us ? h->min_us : v > h->max_us ? h->max_us : v;
		}
		seen += h->bucket[i];
	}
	return h->max_us;
}

void wire_hist_merge(struct wire_hist *dst, const struct wire_hist *src)
{
	for (unsigned i = 0; i < WIRE_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	if (src->count && (dst->count == 0 || src->min_us < dst->min_us))
		dst->min_us = src->min_us;
	dst->count += src->count;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}
