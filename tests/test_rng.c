// SPDX-License-Identifier: MIT
// The counter-based RNG: draws as pure functions of their key, the unit draw, the normal quantile.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>

#include "wire/rng.h"

#define SEED 0x5eedULL

#define assert_near(got, want, tol)                                                                  \
	do {                                                                                         \
		double got_ = (got), want_ = (want), tol_ = (tol);                                   \
		if (!(fabs(got_ - want_) <= tol_))                                                   \
			fail_msg("%s = %.12g, want %.12g +- %.3g", #got, got_, want_, tol_);       \
	} while (0)

static void test_rng_same_key_same_draw(void **state)
{
	(void)state;
	for (uint64_t n = 0; n < 1000; n++) {
		assert_true(wire_rng_u64(SEED, 1, 2, n, WIRE_RNG_LOSS) == wire_rng_u64(SEED, 1, 2, n, WIRE_RNG_LOSS));
		assert_true(wire_rng_unit(SEED, 3, 0, n, WIRE_RNG_JITTER) ==
			    wire_rng_unit(SEED, 3, 0, n, WIRE_RNG_JITTER));
	}
	/* The unit draw is the top 53 bits of the 64-bit draw. */
	uint64_t u = wire_rng_u64(SEED, 1, 2, 42, WIRE_RNG_DUP);
	assert_true(wire_rng_unit(SEED, 1, 2, 42, WIRE_RNG_DUP) == (double)(u >> 11) * 0x1.0p-53);
}

static void test_rng_each_key_component_changes_draw(void **state)
{
	(void)state;
	const uint64_t base = wire_rng_u64(SEED, 1, 2, 7, WIRE_RNG_LOSS);
	assert_true(wire_rng_u64(SEED + 1, 1, 2, 7, WIRE_RNG_LOSS) != base);
	assert_true(wire_rng_u64(SEED, 0, 2, 7, WIRE_RNG_LOSS) != base);
	assert_true(wire_rng_u64(SEED, 1, 3, 7, WIRE_RNG_LOSS) != base);
	assert_true(wire_rng_u64(SEED, 1, 2, 8, WIRE_RNG_LOSS) != base);
	assert_true(wire_rng_u64(SEED, 1, 2, 7, WIRE_RNG_GE_STEP) != base);
	/* Direction matters: 1->2 and 2->1 are different links. */
	assert_true(wire_rng_u64(SEED, 2, 1, 7, WIRE_RNG_LOSS) != base);
	/* n's high word is part of the key, not truncated away. */
	assert_true(wire_rng_u64(SEED, 1, 2, 7 + (1ULL << 32), WIRE_RNG_LOSS) != base);

	/* Over many keys, neighbouring counters never collide. */
	for (uint64_t n = 0; n < 10000; n++)
		assert_true(wire_rng_u64(SEED, 0, 1, n, WIRE_RNG_LOSS) !=
			    wire_rng_u64(SEED, 0, 1, n + 1, WIRE_RNG_LOSS));
}

static void test_rng_unit_in_range_with_mean_half(void **state)
{
	(void)state;
	const uint32_t n = 1000000;
	double sum = 0, sum2 = 0;
	uint32_t below_tenth = 0;
	for (uint32_t i = 0; i < n; i++) {
		double u = wire_rng_unit(SEED, 0, 1, i, WIRE_RNG_LOSS);
		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		sum2 += u * u;
		below_tenth += u < 0.1;
	}
	double mean = sum / n, var = sum2 / n - mean * mean;
	/* Uniform on [0, 1): variance 1/12, so the mean's standard error is sqrt(1/12/n); allow 5. */
	assert_near(mean, 0.5, 5 * sqrt(1.0 / 12.0 / n));
	/* The sample variance of a uniform has standard error sqrt((1/80 - 1/144)/n); allow 5. */
	assert_near(var, 1.0 / 12.0, 5 * sqrt((1.0 / 80 - 1.0 / 144) / n));
	/* A Bernoulli(0.1) share: standard error sqrt(p(1-p)/n); allow 5. */
	assert_near((double)below_tenth / n, 0.1, 5 * sqrt(0.1 * 0.9 / n));
	print_message("rng: mean %.5f, variance %.5f (1/12 = %.5f) over %u draws\n", mean, var, 1.0 / 12, n);
}

static void test_rng_normal_quantile_known_values(void **state)
{
	(void)state;
	/* Acklam's approximation has relative error below 1.15e-9. */
	assert_near(wire_normal_quantile(0.5), 0.0, 1e-12);
	assert_near(wire_normal_quantile(0.975), 1.959963984540054, 1e-8);
	assert_near(wire_normal_quantile(0.8413447460685429), 1.0, 1e-8);
	assert_near(wire_normal_quantile(0.99), 2.326347874040841, 1e-8);
	/* In the lower tail branch (p < 0.02425). */
	assert_near(wire_normal_quantile(0.001), -3.090232306167814, 1e-8);
	assert_near(wire_normal_quantile(1e-6), -4.753424308822899, 1e-8);
	/* Monotonic across the branch boundaries. */
	double prev = -INFINITY;
	for (uint32_t k = 1; k < 1000; k++) {
		double x = wire_normal_quantile(k / 1000.0);
		assert_true(x > prev);
		prev = x;
	}
}

static void test_rng_normal_quantile_symmetric(void **state)
{
	(void)state;
	/* Dyadic p, so that 1 - p is exact and any asymmetry is the function's own. */
	for (uint32_t k = 1; k < 1024; k++) {
		double p = k / 1024.0;
		assert_near(wire_normal_quantile(p), -wire_normal_quantile(1.0 - p), 1e-9);
	}
}

static void test_rng_normal_quantile_clamps_out_of_range(void **state)
{
	(void)state;
	double lo = wire_normal_quantile(0.0), hi = wire_normal_quantile(1.0);
	assert_true(isfinite(lo) && lo < -8);
	assert_true(isfinite(hi) && hi > 8);
	assert_true(isfinite(wire_normal_quantile(-1.0)));
	assert_true(isfinite(wire_normal_quantile(2.0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_same_key_same_draw),
		cmocka_unit_test(test_rng_each_key_component_changes_draw),
		cmocka_unit_test(test_rng_unit_in_range_with_mean_half),
		cmocka_unit_test(test_rng_normal_quantile_known_values),
		cmocka_unit_test(test_rng_normal_quantile_symmetric),
		cmocka_unit_test(test_rng_normal_quantile_clamps_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
