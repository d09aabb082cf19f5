// SPDX-License-Identifier: MIT
// Counter-based random draws for the link model.
#include "wire/rng.h"

#include <math.h>
#include <string.h>
#include <xxhash.h>

uint64_t wire_rng_u64(uint64_t seed, uint32_t from, uint32_t to, uint64_t n, uint32_t purpose)
{
	/* Packed explicitly so that the key has no padding and one layout everywhere. */
	uint8_t key[20];
	memcpy(key, &n, 8);
	memcpy(key + 8, &from, 4);
	memcpy(key + 12, &to, 4);
	memcpy(key + 16, &purpose, 4);
	return XXH3_64bits_withSeed(key, sizeof key, seed);
}

double wire_rng_unit(uint64_t seed, uint32_t from, uint32_t to, uint64_t n, uint32_t purpose)
{
	return (double)(wire_rng_u64(seed, from, to, n, purpose) >> 11) * 0x1.0p-53;
}

/*
 * Acklam's rational approximation of the normal quantile, relative error
 * below 1.15e-9 over the whole range: far finer than any jitter we emit,
 * which is rounded to microseconds.
 */
double wire_normal_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
				    1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
				    6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
				    -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
				    3.754408661907416e+00 };
	const double lo = 0.02425, hi = 1 - lo;

	if (p < 1e-300)
		p = 1e-300;
	if (p > 1 - 1e-16)
		p = 1 - 1e-16;
	if (p < lo) {
		double q = sqrt(-2 * log(p));
		return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	if (p > hi) {
		double q = sqrt(-2 * log(1 - p));
		return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		       ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	double q = p - 0.5, r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
