// SPDX-License-Identifier: MIT
// A log-linear histogram of delays in microseconds, for p50/p90/p99/p99.9/max per link.
#ifndef LOOPSIM_WIRE_HIST_H
#define LOOPSIM_WIRE_HIST_H

#include <stdint.h>

/*
 * Model: HdrHistogram's log-linear buckets. Values below WIRE_HIST_SUB
 * (128 µs) have a bucket each; above, every power of two is cut into
 * WIRE_HIST_SUB equal buckets, up to 2^27 µs (134 s); larger values land in
 * the last bucket. A bucket is at most 1/128 of its lowest value wide. A
 * quantile is interpolated within the bucket that holds the true one, and
 * kept to the part of it within 1% of every value the bucket can hold: so it
 * is within 0.79% of the truth (exact below 256 µs), and never leaves
 * [min, max], which are exact. Beyond the range there is no such bound.
 * Why 128 and not 64 (which 1% allows): a link's delays often sit at one end
 * of their bucket, and interpolation, which assumes them spread evenly,
 * then reads up to half a bucket high: 70 µs at 20 ms with 64, 10 to 20 µs
 * with 128, against what receivers measure.
 *
 * Memory: 10,776 bytes, fixed; recording is O(1) and never allocates, so a
 * histogram can be filled on the per-datagram path. Too big to sit in every
 * link of a large wire, most of which carry nothing: a link allocates its own
 * at its first delivery (link.h). A quantile walks the buckets from min's to
 * its own, a merge all of them (2688).
 */
#define WIRE_HIST_SUB_BITS 7
#define WIRE_HIST_SUB (1u << WIRE_HIST_SUB_BITS)
/* Powers of two above the exact range: 2^7 .. 2^27 µs. */
#define WIRE_HIST_OCTAVES 20
#define WIRE_HIST_BUCKETS (WIRE_HIST_SUB + WIRE_HIST_OCTAVES * WIRE_HIST_SUB)
/* The first value that no longer has a bucket of its own width: 2^27 µs. */
#define WIRE_HIST_RANGE_US (1ull << (WIRE_HIST_SUB_BITS + WIRE_HIST_OCTAVES))

struct wire_hist {
	uint64_t count;
	uint64_t min_us, max_us;
	uint32_t bucket[WIRE_HIST_BUCKETS];
};

/* Counts one value. This function can't fail. */
void wire_hist_record(struct wire_hist *h, uint64_t value_us);

/*
 * The value at quantile q in [0, 1], in µs: the nearest rank (the smallest
 * value with at least q*count at or below it), interpolated within its
 * bucket, within [min, max]; 0 if empty.
 */
uint64_t wire_hist_quantile(const struct wire_hist *h, double q);

/* Adds src's counts into dst. */
void wire_hist_merge(struct wire_hist *dst, const struct wire_hist *src);

#endif
