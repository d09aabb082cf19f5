// SPDX-License-Identifier: MIT
// The delay histogram: within 1% of the truth at every quantile, the empty case, overflow, merging.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/hist.h"
#include "wire/rng.h"

/* The largest value with a bucket of its own: 2^27 µs, just over 134 s. */
#define HIST_RANGE_US WIRE_HIST_RANGE_US

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The nearest-rank q-quantile of sorted v[0..n): the smallest value with at least q*n at or below it. */
static uint64_t exact_quantile(const uint64_t *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n - 1e-9);
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static void test_hist_empty_returns_zero(void **state)
{
	(void)state;
	struct wire_hist h = { 0 };
	assert_int_equal(wire_hist_quantile(&h, 0.0), 0);
	assert_int_equal(wire_hist_quantile(&h, 0.5), 0);
	assert_int_equal(wire_hist_quantile(&h, 0.99), 0);
	assert_int_equal(wire_hist_quantile(&h, 1.0), 0);
}

static void test_hist_quantiles_of_uniform_data(void **state)
{
	(void)state;
	struct wire_hist h = { 0 };
	for (uint64_t v = 1; v <= 10000; v++)
		wire_hist_record(&h, v);
	assert_int_equal(h.count, 10000);
	assert_int_equal(h.max_us, 10000);

	uint64_t p50 = wire_hist_quantile(&h, 0.5), p90 = wire_hist_quantile(&h, 0.9);
	uint64_t p99 = wire_hist_quantile(&h, 0.99), p999 = wire_hist_quantile(&h, 0.999);
	print_message("hist 1..10000: p50 %llu, p90 %llu, p99 %llu, p99.9 %llu, max %llu\n", (unsigned long long)p50,
		      (unsigned long long)p90, (unsigned long long)p99, (unsigned long long)p999,
		      (unsigned long long)wire_hist_quantile(&h, 1.0));
	/* The contract: within 1% of the value. */
	assert_in_range(p50, 5000 - 5000 / 100, 5000 + 5000 / 100);
	/* Data this smooth interpolates to within a few µs. */
	assert_in_range(p50, 4995, 5005);
	assert_in_range(p90, 8995, 9005);
	assert_in_range(p99, 9890, 9910);
	assert_in_range(p999, 9980, 10000);
	assert_int_equal(wire_hist_quantile(&h, 1.0), 10000);
	assert_int_equal(wire_hist_quantile(&h, 0.0), 1);
}

static void test_hist_small_counts_use_nearest_rank(void **state)
{
	(void)state;
	/* Values below 128 have exact buckets, so the quantiles are exact too. */
	struct wire_hist h = { 0 };
	wire_hist_record(&h, 1);
	wire_hist_record(&h, 2);
	wire_hist_record(&h, 3);
	assert_int_equal(wire_hist_quantile(&h, 0.5), 2);
	assert_int_equal(wire_hist_quantile(&h, 0.34), 2);
	assert_int_equal(wire_hist_quantile(&h, 0.33), 1);
	assert_int_equal(wire_hist_quantile(&h, 0.99), 3);

	/* q * count that is an integer in decimal but not in binary (0.7 * 10) still picks rank 7. */
	struct wire_hist g = { 0 };
	for (uint64_t v = 0; v < 8; v++)
		wire_hist_record(&g, v);
	wire_hist_record(&g, 7);
	wire_hist_record(&g, 7);
	/* Sorted: 0 1 2 3 4 5 6 7 7 7. */
	assert_int_equal(wire_hist_quantile(&g, 0.7), 6);
	assert_int_equal(wire_hist_quantile(&g, 0.71), 7);
	assert_int_equal(wire_hist_quantile(&g, 0.1), 0);
}

static void test_hist_quantile_within_one_bucket_of_truth(void **state)
{
	(void)state;
	/* Log-uniform values over 1 µs .. 10 s, drawn with a fixed key. */
	enum { N = 20000 };
	uint64_t *v = malloc(sizeof *v * N);
	assert_non_null(v);
	struct wire_hist h = { 0 };
	for (uint32_t i = 0; i < N; i++) {
		double u = wire_rng_unit(99, 0, 0, i, WIRE_RNG_JITTER);
		v[i] = (uint64_t)llround(pow(10.0, 7.0 * u));
		wire_hist_record(&h, v[i]);
	}
	qsort(v, N, sizeof *v, cmp_u64);
	const double qs[] = { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0 };
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
		uint64_t want = exact_quantile(v, N, qs[k]);
		uint64_t got = wire_hist_quantile(&h, qs[k]);
		uint64_t tol = want / 128; /* 0.79%: the header's bound */
		if (got + tol < want || got > want + tol)
			fail_msg("q %.3f: got %llu, want %llu +- %llu", qs[k], (unsigned long long)got,
				 (unsigned long long)want, (unsigned long long)tol);
	}
	assert_int_equal(wire_hist_quantile(&h, 1.0), v[N - 1]);
	free(v);
}

static void test_hist_exact_below_256(void **state)
{
	(void)state;
	struct wire_hist h = { 0 };
	for (uint64_t v = 0; v < 256; v++)
		wire_hist_record(&h, v);
	/* 0..127 have a bucket each, and so do 128..255: the first octave's buckets are one µs wide. */
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(h.bucket[i], 1);
	for (uint64_t v = 0; v < 256; v++)
		assert_int_equal(wire_hist_quantile(&h, (v + 1) / 256.0), v);
	/* 256 and 257 share the next octave's first bucket, two µs wide. */
	wire_hist_record(&h, 256);
	wire_hist_record(&h, 257);
	assert_int_equal(h.bucket[256], 2);
}

/* The worst case for the bound: every value at one edge of a wide bucket, asked for from the other. */
static void test_hist_quantile_within_1_percent_at_bucket_edges(void **state)
{
	(void)state;
	for (uint64_t e = 8; e < 27; e++) {
		uint64_t lo = 1ull << e, w = lo / WIRE_HIST_SUB;
		const uint64_t edge[] = { lo, lo + w - 1, lo + w / 2 };
		for (size_t k = 0; k < 3; k++) {
			struct wire_hist h = { 0 };
			/* Two values either side, so min and max (exact) cannot do the work. */
			wire_hist_record(&h, lo / 2);
			for (int i = 0; i < 98; i++)
				wire_hist_record(&h, edge[k]);
			wire_hist_record(&h, lo * 4);
			uint64_t got = wire_hist_quantile(&h, 0.5);
			uint64_t err = got > edge[k] ? got - edge[k] : edge[k] - got;
			if ((double)err > 0.01 * (double)edge[k])
				fail_msg("all at %llu: p50 %llu", (unsigned long long)edge[k], (unsigned long long)got);
		}
	}
}

/* The case: a link with a fixed 50 ms (and 100 ms) delay reports p50 within 1% of it, not 51.63. */
static void test_hist_fixed_50ms_link_reports_p50_within_1_percent(void **state)
{
	(void)state;
	const uint64_t nominal[] = { 50000, 100000, 20000 };
	for (size_t k = 0; k < sizeof nominal / sizeof nominal[0]; k++) {
		struct wire_hist h = { 0 };
		/* What a relay delivers: the delay, late by 5 to 120 µs of timer wakeup and send. */
		for (uint32_t i = 0; i < 10000; i++)
			wire_hist_record(&h, nominal[k] + 5 + wire_rng_u64(5, 0, 1, i, WIRE_RNG_JITTER) % 116);
		const double qs[] = { 0.5, 0.9, 0.99, 0.999, 1.0 };
		for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
			uint64_t got = wire_hist_quantile(&h, qs[q]);
			if (got < nominal[k] || got > nominal[k] + nominal[k] / 100)
				fail_msg("%llu us link: q %.3f is %llu us, more than 1%% off", (unsigned long long)nominal[k],
					 qs[q], (unsigned long long)got);
		}
	}
}

/* Uniform data across many buckets: every quantile within 1% of the exact nearest-rank value. */
static void test_hist_every_quantile_within_1_percent_of_exact(void **state)
{
	(void)state;
	enum { N = 50000 };
	uint64_t *v = malloc(sizeof *v * N);
	assert_non_null(v);
	struct wire_hist h = { 0 };
	/* 20 ms +- 5 uniform, a normal-ish 100 ms +- 30, and a heavy tail to 2 s: three shapes, one histogram each. */
	for (int shape = 0; shape < 3; shape++) {
		memset(&h, 0, sizeof h);
		for (uint32_t i = 0; i < N; i++) {
			double u = wire_rng_unit(11, (uint32_t)shape, 0, i, WIRE_RNG_JITTER);
			double x = shape == 0   ? 15000 + 10000 * u
				   : shape == 1 ? 100000 + 30000 * wire_normal_quantile(u)
						: 20000 / pow(1 - u, 1 / 1.5);
			v[i] = x < 0 ? 0 : x > 2e6 ? 2000000 : (uint64_t)llround(x);
			wire_hist_record(&h, v[i]);
		}
		qsort(v, N, sizeof *v, cmp_u64);
		const double qs[] = { 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0 };
		for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
			uint64_t want = exact_quantile(v, N, qs[k]), got = wire_hist_quantile(&h, qs[k]);
			uint64_t err = got > want ? got - want : want - got;
			if ((double)err > 0.01 * (double)want)
				fail_msg("shape %d q %.3f: got %llu, want %llu", shape, qs[k], (unsigned long long)got,
					 (unsigned long long)want);
		}
	}
	free(v);
}

static void test_hist_size_is_bounded(void **state)
{
	(void)state;
	/* The bound the header states: every link carries one (delays) and the relay another (lateness). */
	assert_true(sizeof(struct wire_hist) <= 10776);
	assert_int_equal(WIRE_HIST_BUCKETS, 2688);
}

static void test_hist_values_beyond_range_land_in_last_bucket(void **state)
{
	(void)state;
	struct wire_hist h = { 0 };
	wire_hist_record(&h, HIST_RANGE_US - 1); /* the last value in range: last bucket too */
	wire_hist_record(&h, HIST_RANGE_US);
	wire_hist_record(&h, 1000000000000ULL); /* 11.6 days */
	wire_hist_record(&h, UINT64_MAX);
	assert_int_equal(h.count, 4);
	assert_int_equal(h.bucket[WIRE_HIST_BUCKETS - 1], 4);
	assert_true(h.max_us == UINT64_MAX);
	assert_true(wire_hist_quantile(&h, 1.0) == UINT64_MAX);

	struct wire_hist g = { 0 };
	wire_hist_record(&g, 5);
	wire_hist_record(&g, 200000000000ULL);
	assert_int_equal(g.bucket[WIRE_HIST_BUCKETS - 1], 1);
	assert_int_equal(g.bucket[5], 1);
	assert_true(g.max_us == 200000000000ULL);
	assert_true(wire_hist_quantile(&g, 1.0) == 200000000000ULL);
	assert_int_equal(wire_hist_quantile(&g, 0.5), 5);
	/* The upper half is somewhere in the last bucket, never beyond max. */
	uint64_t q = wire_hist_quantile(&g, 0.9);
	assert_true(q >= HIST_RANGE_US - HIST_RANGE_US / 256 && q <= 200000000000ULL);
}

static void test_hist_merge_adds_counts(void **state)
{
	(void)state;
	struct wire_hist a = { 0 }, b = { 0 }, all = { 0 };
	for (uint64_t v = 1; v <= 1000; v++) {
		wire_hist_record(&a, v);
		wire_hist_record(&all, v);
	}
	for (uint64_t v = 1001; v <= 3000; v++) {
		wire_hist_record(&b, v * 7);
		wire_hist_record(&all, v * 7);
	}
	struct wire_hist empty = { 0 };
	wire_hist_merge(&a, &empty);
	assert_int_equal(a.count, 1000);
	assert_int_equal(a.max_us, 1000);

	wire_hist_merge(&a, &b);
	assert_int_equal(a.count, 3000);
	assert_int_equal(a.max_us, 21000);
	assert_memory_equal(&a, &all, sizeof a);
	/* Merging into an empty histogram copies. */
	wire_hist_merge(&empty, &b);
	assert_memory_equal(&empty, &b, sizeof b);
	assert_int_equal(wire_hist_quantile(&a, 1.0), 21000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_empty_returns_zero),
		cmocka_unit_test(test_hist_quantiles_of_uniform_data),
		cmocka_unit_test(test_hist_small_counts_use_nearest_rank),
		cmocka_unit_test(test_hist_quantile_within_one_bucket_of_truth),
		cmocka_unit_test(test_hist_exact_below_256),
		cmocka_unit_test(test_hist_quantile_within_1_percent_at_bucket_edges),
		cmocka_unit_test(test_hist_fixed_50ms_link_reports_p50_within_1_percent),
		cmocka_unit_test(test_hist_every_quantile_within_1_percent_of_exact),
		cmocka_unit_test(test_hist_size_is_bounded),
		cmocka_unit_test(test_hist_values_beyond_range_land_in_last_bucket),
		cmocka_unit_test(test_hist_merge_adds_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
