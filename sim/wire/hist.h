// SPDX-License-Identifier: MIT
// A log-linear histogram of delays in microseconds, for p50/p99/max per link.
#ifndef LOOPSIM_WIRE_HIST_H
#define LOOPSIM_WIRE_HIST_H

#include <stdint.h>

/*
 * Model: HDR-style buckets, exact below 8 µs, then 8 sub-buckets per power
 * of two up to 2^27 µs (134 s); larger values land in the last bucket. A
 * quantile is within one bucket (1/8 of its value) of the truth, and much
 * closer for smooth distributions since it interpolates; min and max are
 * exact, and every quantile lies between them. 824 bytes, fixed size, no
 * allocation when recording.
 */
#define WIRE_HIST_SUB 8
#define WIRE_HIST_OCTAVES 24
#define WIRE_HIST_BUCKETS (WIRE_HIST_SUB + WIRE_HIST_OCTAVES * WIRE_HIST_SUB)

struct wire_hist {
	uint64_t count;
	uint64_t min_us, max_us;
	uint32_t bucket[WIRE_HIST_BUCKETS];
};

void wire_hist_record(struct wire_hist *h, uint64_t value_us);

/* The value at quantile q in [0, 1], in µs, interpolated within its bucket, within [min, max]; 0 if empty. */
uint64_t wire_hist_quantile(const struct wire_hist *h, double q);

/* Adds src's counts into dst. */
void wire_hist_merge(struct wire_hist *dst, const struct wire_hist *src);

#endif
