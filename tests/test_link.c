// SPDX-License-Identifier: MIT
// The link model: every impairment's rate and shape, order, rate limit, partitions, determinism, live changes.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/capture.h"
#include "wire/link.h"

#define SEED 0x5eedULL

/*
 * Statistical checks use a fixed seed and allow 5 standard errors, computed
 * from the sample size: a correct model fails one by chance about once in
 * two million, and the seed is fixed anyway, so a failure means the model
 * moved, not bad luck.
 */
#define Z 5.0

#define assert_near(got, want, tol)                                                                  \
	do {                                                                                         \
		double got_ = (got), want_ = (want), tol_ = (tol);                                   \
		if (!(fabs(got_ - want_) <= tol_))                                                   \
			fail_msg("%s = %.6g, want %.6g +- %.3g", #got, got_, want_, tol_);         \
	} while (0)

static struct wire_link_cfg cfg_default(void)
{
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	return c;
}

static void link_open(struct wire_link *l, const struct wire_link_cfg *c)
{
	const char *field = NULL, *why = NULL;
	if (wire_link_cfg_validate(c, &field, &why) != 0)
		fail_msg("settings do not validate: %s %s", field, why);
	assert_int_equal(wire_link_init(l, SEED, 0, 1, c), 0);
}

/* Checks k of n against probability p: a binomial share, standard error sqrt(p(1-p)/n). */
static void assert_share(const char *what, uint64_t k, uint64_t n, double p)
{
	assert_true(n > 0);
	double share = (double)k / (double)n, tol = Z * sqrt(p * (1 - p) / (double)n);
	print_message("  %s: %.3f%% of %llu (want %.3f%% +- %.3f%%)\n", what, 100 * share, (unsigned long long)n,
		      100 * p, 100 * tol);
	if (!(fabs(share - p) <= tol))
		fail_msg("%s: share %.5f, want %.5f +- %.5f", what, share, p, tol);
}

/* Mean and standard deviation of n values. */
struct moments {
	double mean, sd;
};

static struct moments moments_of(const double *v, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	double mean = sum / (double)n, ss = 0;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - mean) * (v[i] - mean);
	return (struct moments){ mean, sqrt(ss / (double)(n - 1)) };
}

/* Lag-1 autocorrelation of n values. */
static double lag1_autocorrelation(const double *v, size_t n, double mean)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		den += (v[i] - mean) * (v[i] - mean);
		if (i + 1 < n)
			num += (v[i] - mean) * (v[i + 1] - mean);
	}
	return num / den;
}

/* ---- loss ---- */

static void test_link_loss_rate_is_bernoulli(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.loss_pct = 5;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 200000;
	uint64_t lost = 0, after_loss = 0, lost_after_loss = 0;
	bool prev = false;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * 1000, 100, &f);
		assert_int_equal(f.index, i);
		bool now_lost = f.kind == WIRE_FATE_LOSS;
		if (!now_lost)
			assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		assert_int_equal(f.ncopies, now_lost ? 0 : 1);
		lost += now_lost;
		if (prev) {
			after_loss++;
			lost_after_loss += now_lost;
		}
		prev = now_lost;
	}
	assert_share("loss 5%", lost, n, 0.05);
	/* Independent losses: right after a loss, the next one is still lost 5% of the time. */
	assert_share("loss right after a loss", lost_after_loss, after_loss, 0.05);
	assert_int_equal(l.stats.sent, n);
	assert_int_equal(l.stats.dropped[WIRE_FATE_LOSS], lost);
	wire_link_fini(&l);
}

/*
 * The standard error of the loss share of n datagrams under Gilbert-Elliott
 * with per-datagram transitions p (good to bad) and r (bad to good), and loss
 * bl while bad, gl while good. The state is a two-state Markov chain with
 * stationary bad share pi = p / (p + r) and second eigenvalue
 * lambda = 1 - p - r; the loss indicators have lag-k covariance
 * (bl - gl)^2 pi (1 - pi) lambda^k, so n times the variance of their mean is
 * mu (1 - mu) + 2 (bl - gl)^2 pi (1 - pi) lambda / (1 - lambda).
 */
static double ge_loss_se(double p, double r, double bl, double gl, uint64_t n)
{
	double pi = p / (p + r), lambda = 1 - p - r;
	double mu = pi * bl + (1 - pi) * gl;
	double v = mu * (1 - mu) + 2 * (bl - gl) * (bl - gl) * pi * (1 - pi) * lambda / (1 - lambda);
	return sqrt(v / (double)n);
}

static void test_link_gilbert_burst_length_and_loss(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.loss_pct = 10;
	c.burst = 4;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 400000;
	uint64_t lost = 0, runs = 0, runs_of_one = 0, run = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * 1000, 100, &f);
		if (f.kind == WIRE_FATE_LOSS) {
			lost++;
			run++;
		} else if (run) {
			runs++;
			runs_of_one += run == 1;
			run = 0;
		}
	}
	if (run)
		runs++;

	/* Simple Gilbert: r = 1/burst, p chosen so that p / (p + r) = loss; bad loses all, good none. */
	double r = 1.0 / 4, p = 0.10 * r / 0.90;
	double share = (double)lost / n, tol = Z * ge_loss_se(p, r, 1, 0, n);
	print_message("  gilbert loss: %.3f%% of %u (want 10%% +- %.3f%%)\n", 100 * share, n, 100 * tol);
	assert_near(share, 0.10, tol);

	/* Loss runs are the bad periods: geometric with mean 1/r = 4, variance (1 - r) / r^2. */
	double mean_run = (double)lost / (double)runs;
	double run_tol = Z * sqrt((1 - r) / (r * r) / (double)runs);
	print_message("  gilbert mean burst: %.3f over %llu bursts (want 4 +- %.3f)\n", mean_run,
		      (unsigned long long)runs, run_tol);
	assert_near(mean_run, 4.0, run_tol);
	/* Geometric: a burst ends after its first loss with probability r. */
	assert_share("bursts of one", runs_of_one, runs, r);
	wire_link_fini(&l);
}

static void test_link_gilbert_elliott_four_parameters(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.ge = true;
	c.ge_p_pct = 5;
	c.ge_r_pct = 30;
	c.ge_bad_loss_pct = 80;  /* 1-h */
	c.ge_good_loss_pct = 2;  /* 1-k */
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 400000;
	uint64_t lost = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * 1000, 100, &f);
		lost += f.kind == WIRE_FATE_LOSS;
	}
	double p = 0.05, r = 0.30, bl = 0.80, gl = 0.02;
	double want = p / (p + r) * bl + r / (p + r) * gl;
	double share = (double)lost / n, tol = Z * ge_loss_se(p, r, bl, gl, n);
	print_message("  GE(5%%, 30%%, 80%%, 2%%) loss: %.3f%% of %u (want %.3f%% +- %.3f%%)\n", 100 * share, n,
		      100 * want, 100 * tol);
	assert_near(share, want, tol);
	wire_link_fini(&l);
}

/* ---- jitter ---- */

/*
 * The scheduled delay of n datagrams sent `spacing_us` apart, as doubles in µs.
 * With the spacing well above the jitter, the in-order hold never binds, so
 * these are the raw samples. The caller frees the array.
 */
static double *collect_delays(const struct wire_link_cfg *c, uint32_t n, sim_time_us spacing_us)
{
	struct wire_link l;
	link_open(&l, c);
	double *d = malloc(sizeof *d * n);
	assert_non_null(d);
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		sim_time_us now = (sim_time_us)i * spacing_us;
		wire_link_fate(&l, now, 200, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		d[i] = (double)(f.copy[0].deliver_at_us - now);
	}
	wire_link_fini(&l);
	return d;
}

static uint64_t count_within(const double *v, size_t n, double lo, double hi)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += v[i] >= lo && v[i] <= hi;
	return k;
}

static void test_link_jitter_uniform_shape(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 20;
	c.jitter_dist = WIRE_DIST_UNIFORM;
	const uint32_t n = 200000;
	double *d = collect_delays(&c, n, 1000000);
	struct moments m = moments_of(d, n);
	double sigma = 20000 / sqrt(3.0);
	print_message("  uniform 100 +- 20 ms: mean %.1f us, sd %.1f us (want 100000, %.1f)\n", m.mean, m.sd, sigma);
	/* Mean: standard error sigma / sqrt(n). */
	assert_near(m.mean, 100000, Z * sigma / sqrt(n));
	/* Sample sd: standard error sigma sqrt((kurtosis - 1) / 4n), kurtosis 1.8 for a uniform. */
	assert_near(m.sd, sigma, Z * sigma * sqrt(0.8 / (4.0 * n)));
	/* Within latency +- jitter, and filling it: flat, so each quarter holds a quarter. */
	double lo = d[0], hi = d[0];
	for (uint32_t i = 0; i < n; i++) {
		lo = d[i] < lo ? d[i] : lo;
		hi = d[i] > hi ? d[i] : hi;
	}
	assert_true(lo >= 80000 && lo < 80100);
	assert_true(hi <= 120000 && hi > 119900);
	assert_share("uniform lowest quarter", count_within(d, n, 80000, 89999), n, 0.25);
	assert_share("uniform highest quarter", count_within(d, n, 110001, 120000), n, 0.25);
	free(d);
}

static void test_link_jitter_normal_shape(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 10;
	c.jitter_dist = WIRE_DIST_NORMAL;
	const uint32_t n = 200000;
	double *d = collect_delays(&c, n, 1000000);
	struct moments m = moments_of(d, n);
	const double sigma = 10000;
	print_message("  normal 100 ms sd 10 ms: mean %.1f us, sd %.1f us\n", m.mean, m.sd);
	assert_near(m.mean, 100000, Z * sigma / sqrt(n));
	/* Sample sd of a normal: standard error sigma / sqrt(2n). */
	assert_near(m.sd, sigma, Z * sigma / sqrt(2.0 * n));
	/* The shape: 68.27% within one sd, 95.45% within two (a uniform would give 57.7% and 100%). */
	assert_share("normal within 1 sd", count_within(d, n, 90000, 110000), n, 0.682689492);
	assert_share("normal within 2 sd", count_within(d, n, 80000, 120000), n, 0.954499736);
	/* Uncorrelated by default: lag-1 autocorrelation 0, standard error 1 / sqrt(n). */
	double rho = lag1_autocorrelation(d, n, m.mean);
	print_message("  normal lag-1 autocorrelation %.4f (want 0 +- %.4f)\n", rho, Z / sqrt(n));
	assert_near(rho, 0, Z / sqrt(n));
	free(d);
}

static void test_link_jitter_pareto_shape(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 20;
	c.jitter_dist = WIRE_DIST_PARETO;
	const uint32_t n = 200000;
	const double lat = 100000, sigma = 20000;
	double *d = collect_delays(&c, n, 1000000);
	struct moments m = moments_of(d, n);
	print_message("  pareto 100 ms sd 20 ms: mean %.1f us, sample sd %.1f us (see below)\n", m.mean, m.sd);
	/* The variance is finite (alpha 3), so the mean's standard error is sigma / sqrt(n). */
	assert_near(m.mean, lat, Z * sigma / sqrt(n));
	/*
	 * The sd is jitter. The sample sd cannot show it within a bound from n:
	 * with alpha 3 the fourth moment is infinite, so one sample in 200k can
	 * move it by 15% (this seed's does). So check the second moment below
	 * the 99.9th percentile, where it has a standard error, against the
	 * Pareto's: with X = 1 + the standardised jitter scaled back,
	 * E[(X - 1.5)^2; X <= T] = 3 (1/4 - 1/T + 1.5/T^2 - 0.75/T^3) with
	 * T = 10, which is 0.49275 of the whole 0.75.
	 */
	const double c_us = sigma / sqrt(0.75), x_t = 10.0, t_us = lat + c_us * (x_t - 1.5);
	double want = c_us * c_us * 3 * (0.25 - 1 / x_t + 1.5 / (x_t * x_t) - 0.75 / (x_t * x_t * x_t));
	double *y = malloc(sizeof *y * n);
	assert_non_null(y);
	for (uint32_t i = 0; i < n; i++)
		y[i] = d[i] <= t_us ? (d[i] - lat) * (d[i] - lat) : 0;
	struct moments ym = moments_of(y, n);
	free(y);
	double implied_sd = sigma * sqrt(ym.mean / want);
	print_message("  pareto second moment below p99.9: %.4g (want %.4g +- %.3g), so sd %.1f us\n", ym.mean, want,
		      Z * ym.sd / sqrt(n), implied_sd);
	assert_near(ym.mean, want, Z * ym.sd / sqrt(n));
	/*
	 * Pareto x_m = 1, alpha = 3 standardised: quantile q of the delay is
	 * latency + jitter ((1 - q)^(-1/3) - 1.5) / sqrt(0.75). The share below
	 * it is binomial.
	 */
	const double qs[] = { 0.05, 0.25, 0.5, 0.9, 0.99 };
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
		double t = lat + sigma * (pow(1 - qs[k], -1.0 / 3) - 1.5) / sqrt(0.75);
		char what[48];
		snprintf(what, sizeof what, "pareto below its q%.2f", qs[k]);
		assert_share(what, count_within(d, n, 0, t), n, qs[k]);
	}
	/* Bounded below by latency - 0.5 / sqrt(0.75) jitter, skewed up: the median is below the mean. */
	double floor_us = lat - sigma * 0.5 / sqrt(0.75);
	for (uint32_t i = 0; i < n; i++)
		assert_true(d[i] >= floor_us - 1);
	free(d);
}

static void test_link_netem_jitter_correlation_gives_lag1_autocorrelation(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 10;
	c.jitter_dist = WIRE_DIST_NORMAL;
	c.jitter_corr_pct = 75;
	c.jitter_reorders = true; /* the correlation of netem's per-datagram jitter */
	const uint32_t n = 200000;
	const double rho = 0.75, sigma = 10000;
	double *d = collect_delays(&c, n, 1000000);
	struct moments m = moments_of(d, n);
	double r1 = lag1_autocorrelation(d, n, m.mean);
	/*
	 * The jitter is an AR(1) with coefficient rho and Gaussian innovations.
	 * Standard errors: lag-1 autocorrelation sqrt((1 - rho^2) / n) (Bartlett);
	 * mean sigma sqrt((1 + rho) / (1 - rho) / n); sd
	 * sigma sqrt((1 + rho^2) / (1 - rho^2) / 2n).
	 */
	double r1_tol = Z * sqrt((1 - rho * rho) / n);
	double mean_tol = Z * sigma * sqrt((1 + rho) / (1 - rho) / n);
	double sd_tol = Z * sigma * sqrt((1 + rho * rho) / (1 - rho * rho) / (2.0 * n));
	print_message("  jitter corr 75%%: lag-1 %.4f (want 0.75 +- %.4f), mean %.1f us, sd %.1f us "
		      "(want 10000 +- %.1f)\n", r1, r1_tol, m.mean, m.sd, sd_tol);
	assert_near(r1, rho, r1_tol);
	assert_near(m.mean, 100000, mean_tol);
	assert_near(m.sd, sigma, sd_tol);
	free(d);
}

/* ---- order ---- */

/* Counts the copies, in the order the link made them, that are due before the one made just before them. */
static uint64_t count_overtakes(const struct wire_link_cfg *c, uint32_t n, sim_time_us spacing_us, uint32_t size)
{
	struct wire_link l;
	link_open(&l, c);
	uint64_t overtakes = 0;
	sim_time_us prev = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * spacing_us, size, &f);
		for (uint32_t k = 0; k < f.ncopies; k++) {
			overtakes += f.copy[k].deliver_at_us < prev;
			prev = f.copy[k].deliver_at_us;
		}
	}
	wire_link_fini(&l);
	return overtakes;
}

static void test_link_jitter_keeps_order_by_default(void **state)
{
	(void)state;
	/* Jitter far above the send interval: a raw sample would overtake about half the time. */
	struct wire_link_cfg a = cfg_default();
	a.latency_ms = 50;
	a.jitter_ms = 40;
	assert_false(a.jitter_reorders);
	assert_int_equal(count_overtakes(&a, 20000, 100, 200), 0);

	/* Heavy-tailed jitter with duplicates. */
	struct wire_link_cfg b = cfg_default();
	b.latency_ms = 30;
	b.jitter_ms = 30;
	b.jitter_dist = WIRE_DIST_PARETO;
	b.dup_pct = 20;
	b.dup_delay_ms = 5;
	assert_int_equal(count_overtakes(&b, 20000, 50, 200), 0);

	/* Normal jitter behind a saturated rate limiter, with duplicates and loss. */
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 50;
	c.jitter_ms = 20;
	c.jitter_dist = WIRE_DIST_NORMAL;
	c.rate_kbit = 10000;
	c.dup_pct = 10;
	c.loss_pct = 5;
	assert_int_equal(count_overtakes(&c, 20000, 200, 500), 0);
}

static void test_link_jitter_reorders_when_asked(void **state)
{
	(void)state;
	struct wire_link_cfg a = cfg_default();
	a.latency_ms = 50;
	a.jitter_ms = 40;
	a.jitter_reorders = true;
	uint64_t overtakes = count_overtakes(&a, 20000, 100, 200);
	print_message("  netem jitter: %llu of 20000 overtake\n", (unsigned long long)overtakes);
	/* Two uniform samples 0.1 ms apart in 80 ms: the second is earlier almost half the time. */
	assert_true(overtakes > 20000 / 4);
}

/* ---- the path: jitter as a function of time ---- */

/*
 * The delay the path gives a datagram sent at t is a function of t: a link
 * that carries 20k datagrams/s and one that carries one every 10 ms (same
 * seed, same first send) give the same delay at the same send time, unless
 * the backstop had to hold the busy link's datagram. Returns how many of the
 * sparse link's datagrams got another delay; counts the busy link's overtakes.
 */
static uint64_t path_differences(const struct wire_link_cfg *c, uint64_t seed, sim_time_us duration_us,
				 uint64_t *overtakes, uint64_t *compared)
{
	struct wire_link busy, sparse;
	assert_int_equal(wire_link_init(&busy, seed, 0, 1, c), 0);
	assert_int_equal(wire_link_init(&sparse, seed, 0, 1, c), 0);
	uint64_t differ = 0;
	sim_time_us prev = 0;
	*overtakes = *compared = 0;
	for (sim_time_us t = 0; t < duration_us; t += 50) {
		struct wire_fate f, g;
		wire_link_fate(&busy, t, 100, &f);
		*overtakes += f.copy[0].deliver_at_us < prev;
		prev = f.copy[0].deliver_at_us;
		if (t % 10000 == 0) {
			wire_link_fate(&sparse, t, 100, &g);
			differ += g.copy[0].deliver_at_us != f.copy[0].deliver_at_us;
			++*compared;
		}
	}
	wire_link_fini(&busy);
	wire_link_fini(&sparse);
	return differ;
}

static void test_link_jitter_path_holds_nothing_back_at_20k_per_s(void **state)
{
	(void)state;
	const enum wire_dist dists[] = { WIRE_DIST_UNIFORM, WIRE_DIST_NORMAL, WIRE_DIST_PARETO };
	for (size_t k = 0; k < 3; k++) {
		struct wire_link_cfg c = cfg_default();
		c.latency_ms = dists[k] == WIRE_DIST_PARETO ? 100 : 20;
		c.jitter_ms = dists[k] == WIRE_DIST_PARETO ? 30 : 5;
		c.jitter_dist = dists[k];
		uint64_t overtakes, compared;
		uint64_t differ = path_differences(&c, SEED, 60000000, &overtakes, &compared);
		print_message("  %s %g +- %g ms at 20k/s for 60 s: %llu overtakes, %llu of %llu delays differ from "
			      "the sparse link's\n", wire_dist_name(dists[k]), c.latency_ms, c.jitter_ms,
			      (unsigned long long)overtakes, (unsigned long long)differ, (unsigned long long)compared);
		assert_int_equal(overtakes, 0);
		/*
		 * The slope's sd is at most 0.25 where the path is steepest, so the
		 * backstop binds on 4-sigma slopes only: a few in a million.
		 */
		assert_true(differ * 1000 <= compared);
	}
}

/*
 * At 20k/s the mean delay is the latency and the sd the jitter's: what the
 * old hold-behind-the-predecessor skewed by +11 ms. The time average of a
 * stationary process over T has standard error sigma sqrt(2.087 h / T), the
 * integral of the spline's correlation being 2.087 h; the sample variance
 * of a Gaussian process, sigma^2 sqrt(2 * 1.491 h / T) (the integral of
 * its square).
 */
static void test_link_jitter_path_keeps_mean_and_sd_at_20k_per_s(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 20;
	c.jitter_ms = 5;
	c.jitter_dist = WIRE_DIST_NORMAL;
	struct wire_link l;
	link_open(&l, &c);
	const sim_time_us duration_us = 60000000;
	double sum = 0, sum2 = 0, n = 0;
	for (sim_time_us t = 0; t < duration_us; t += 50) {
		struct wire_fate f;
		wire_link_fate(&l, t, 100, &f);
		double d = (double)(f.copy[0].deliver_at_us - t);
		sum += d;
		sum2 += d * d;
		n++;
	}
	double h = l.path_h_us, mean = sum / n, var = sum2 / n - mean * mean, sigma = 5000;
	double mean_tol = Z * sigma * sqrt(2.087 * h / (double)duration_us);
	double var_tol = Z * sigma * sigma * sqrt(2 * 1.491 * h / (double)duration_us);
	print_message("  normal 20 ms sd 5 ms, h %.1f ms, at 20k/s: mean %.1f us (want 20000 +- %.1f), sd %.1f us "
		      "(want 5000, variance +- %.0f%%)\n", h / 1000, mean, mean_tol, sqrt(var), 100 * var_tol / (sigma * sigma));
	assert_near(mean, 20000, mean_tol);
	assert_near(var, sigma * sigma, var_tol);
	wire_link_fini(&l);
}

/*
 * Correlation in time: g(t) g(t + tau) averages the spline's correlation,
 * 0.494 at tau = h and 0 from 4h on. Pairs 8h apart share no knot, so they
 * are independent, and g1 g2 has a variance of at most 1 + rho^2.
 */
static void test_link_jitter_path_correlation_is_half_at_h(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 10;
	c.jitter_dist = WIRE_DIST_NORMAL;
	const double lags[] = { 0.5, 1, 2, 4 }, want[] = { 0.8402, 0.4940, 0.0495, 0 };
	const uint32_t pairs = 40000;
	for (size_t k = 0; k < 4; k++) {
		struct wire_link l;
		link_open(&l, &c);
		sim_time_us h = (sim_time_us)llround(l.path_h_us), lag = (sim_time_us)llround(lags[k] * (double)h);
		double sum = 0;
		for (uint32_t i = 0; i < pairs; i++) {
			/* An odd step, so that the pairs fall at every phase between knots. */
			sim_time_us t = (sim_time_us)i * (8 * h + 977);
			struct wire_fate f, g;
			wire_link_fate(&l, t, 100, &f);
			wire_link_fate(&l, t + lag, 100, &g);
			double a = ((double)(f.copy[0].deliver_at_us - t) - 100000) / 10000;
			double b = ((double)(g.copy[0].deliver_at_us - t - lag) - 100000) / 10000;
			sum += a * b;
		}
		double rho = sum / pairs, tol = Z * sqrt((1 + want[k] * want[k]) / pairs);
		print_message("  correlation at %.1f h (h %.1f ms): %.4f (want %.4f +- %.4f)\n", lags[k],
			      l.path_h_us / 1000, rho, want[k], tol);
		assert_near(rho, want[k], tol);
		wire_link_fini(&l);
	}
}

/* The correlation time follows the jitter (link.h), and jitter-corr stretches it. */
static void test_link_jitter_path_correlation_time_scales(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 20;
	c.jitter_ms = 5;
	struct wire_link l;
	link_open(&l, &c);
	assert_near(l.path_h_us, 5.32 * 0.7979 * 5000, 1); /* uniform: 21.2 ms */
	c.jitter_dist = WIRE_DIST_NORMAL;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	assert_near(l.path_h_us, 5.32 * 5000, 1); /* normal: 26.6 ms */
	c.jitter_corr_pct = 50;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	assert_near(l.path_h_us, 2 * 5.32 * 5000, 1);
	c.jitter_ms = 0.01;
	c.jitter_corr_pct = 0;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	assert_near(l.path_h_us, 1000, 0); /* a floor of 1 ms */
	wire_link_fini(&l);
}

/*
 * A fall the path did not make gently (here, the latency cut from 100 ms to
 * 0 under 20k datagrams/s) drains at WIRE_JITTER_DRAIN: deliveries keep at
 * least a tenth of their send spacing, never arrive all at once, and reach
 * the new delay after 100 / 0.9 ms.
 */
static void test_link_jitter_fall_drains_as_a_queue(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	struct wire_link l;
	link_open(&l, &c);
	struct wire_fate f;
	sim_time_us t = 0;
	for (; t < 1000000; t += 50)
		wire_link_fate(&l, t, 100, &f);
	sim_time_us prev = f.copy[0].deliver_at_us;
	c.latency_ms = 0;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	sim_time_us drained_at = 0;
	for (; t < 1300000; t += 50) {
		wire_link_fate(&l, t, 100, &f);
		assert_true(f.copy[0].deliver_at_us >= prev + 5);
		prev = f.copy[0].deliver_at_us;
		if (!drained_at && f.copy[0].deliver_at_us == t)
			drained_at = t;
	}
	print_message("  100 ms to 0: the delay reaches 0 after %.1f ms\n", (double)(drained_at - 1000000) / 1000);
	assert_near((double)(drained_at - 1000000), 100000 / 0.9, 100);
	wire_link_fini(&l);
}

/*
 * Pareto's tail comes in spikes that rise at once and drain at
 * WIRE_PARETO_DRAIN. Above the body's reach (Pareto's 80th percentile) the
 * delay is a spike's, so between two datagrams 50 µs apart it falls by at
 * most 25 µs (and a µs of rounding); below, the body's gentle slope and
 * the backstop keep falls under 45 µs. Spikes reach the far tail.
 */
static void test_link_jitter_pareto_spikes_drain_at_half_speed(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 100;
	c.jitter_ms = 30;
	c.jitter_dist = WIRE_DIST_PARETO;
	struct wire_link l;
	link_open(&l, &c);
	const double x_m = 30000 / sqrt(0.75), body_top = 100000 + x_m * (cbrt(5.0) - 1.5);
	const double p99 = 100000 + x_m * (cbrt(100.0) - 1.5);
	uint64_t spiking = 0, n = 0, high = 0;
	double prev = 0, steepest = 0;
	for (sim_time_us t = 0; t < 60000000; t += 50, n++) {
		struct wire_fate f;
		wire_link_fate(&l, t, 100, &f);
		double d = (double)(f.copy[0].deliver_at_us - t);
		if (n > 0 && prev > body_top && d > body_top) {
			spiking++;
			assert_true(d >= prev - WIRE_PARETO_DRAIN * 50 - 1);
		}
		if (n > 0 && prev - d > steepest)
			steepest = prev - d;
		high += d > p99;
		prev = d;
	}
	print_message("  pareto 100 ms sd 30 ms for 60 s: %.1f%% of the time in spikes above the body, steepest fall "
		      "%.0f us in 50, %.3f%% above the 99th percentile\n", 100.0 * (double)spiking / (double)n, steepest,
		      100.0 * (double)high / (double)n);
	assert_true(steepest <= WIRE_JITTER_DRAIN * 50 + 1);
	assert_true(spiking > 0);
	assert_true(high > 0);
	wire_link_fini(&l);
}

/* ---- duplication, reordering, corruption ---- */

static void test_link_duplicate_rate_and_delay(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 20;
	c.loss_pct = 20; /* loss comes first: dup is a share of what survives */
	c.dup_pct = 10;
	c.dup_delay_ms = 5;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 200000;
	uint64_t delivered = 0, twice = 0;
	double gap_sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		/* 10 ms apart, more than dup_delay, so no original waits behind the copy before it. */
		struct wire_fate f;
		sim_time_us now = (sim_time_us)i * 10000;
		wire_link_fate(&l, now, 300, &f);
		if (f.kind != WIRE_FATE_DELIVER)
			continue;
		delivered++;
		assert_true(f.copy[0].deliver_at_us == now + 20000);
		if (f.ncopies == 2) {
			twice++;
			sim_time_us gap = f.copy[1].deliver_at_us - f.copy[0].deliver_at_us;
			assert_true(f.copy[1].deliver_at_us >= f.copy[0].deliver_at_us);
			assert_true(gap <= 5000);
			assert_false(f.copy[1].reordered);
			gap_sum += (double)gap;
		}
	}
	assert_share("duplicated, of delivered", twice, delivered, 0.10);
	assert_int_equal(l.stats.duplicated, twice);
	/* The copy trails by a uniform share of dup_delay: mean 2.5 ms, standard error 5 ms / sqrt(12 k). */
	double mean_gap = gap_sum / (double)twice;
	print_message("  copy trails by %.1f us on average (want 2500 +- %.1f)\n", mean_gap,
		      Z * 5000 / sqrt(12.0 * (double)twice));
	assert_near(mean_gap, 2500, Z * 5000 / sqrt(12.0 * (double)twice));
	wire_link_fini(&l);
}

static void test_link_reorder_rate_skips_delay(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 50;
	c.reorder_pct = 25;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 200000;
	uint64_t reordered = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		sim_time_us now = (sim_time_us)i * 1000;
		wire_link_fate(&l, now, 300, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		if (f.copy[0].reordered) {
			reordered++;
			assert_true(f.copy[0].deliver_at_us == now); /* sent at once: no rate limit, no delay */
		} else {
			assert_true(f.copy[0].deliver_at_us == now + 50000);
		}
	}
	assert_share("reordered", reordered, n, 0.25);
	assert_int_equal(l.stats.reordered, reordered);
	wire_link_fini(&l);
}

static void test_link_reorder_gap_every_fifth(void **state)
{
	(void)state;
	/* netem's "reorder 100% gap 5": exactly every 5th datagram goes at once. */
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 10;
	c.reorder_pct = 100;
	c.reorder_gap = 5;
	struct wire_link l;
	link_open(&l, &c);
	for (uint32_t i = 0; i < 1000; i++) {
		struct wire_fate f;
		sim_time_us now = (sim_time_us)i * 100;
		wire_link_fate(&l, now, 100, &f);
		bool fifth = i % 5 == 4;
		if (f.copy[0].reordered != fifth)
			fail_msg("datagram %u: reordered %d, want %d", i, f.copy[0].reordered, fifth);
		assert_true(f.copy[0].deliver_at_us == (fifth ? now : now + 10000));
	}
	assert_int_equal(l.stats.reordered, 200);
	wire_link_fini(&l);

	/*
	 * "reorder 50% gap 5": after a reorder, four go in order, then each has a
	 * 50% chance. Cycles are 4 + G with G geometric on {1, 2, ...}, mean 2 and
	 * variance 2, so the reordered share is 1/6 with standard error
	 * sqrt(var / (mean^3 n)) (renewal theory).
	 */
	c.reorder_pct = 50;
	link_open(&l, &c);
	const uint32_t n = 120000;
	uint64_t reordered = 0;
	int64_t last = -1;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * 100, 100, &f);
		if (f.copy[0].reordered) {
			assert_true((int64_t)i - last >= 5);
			last = i;
			reordered++;
		}
	}
	double share = (double)reordered / n, tol = Z * sqrt(2.0 / (216.0 * n));
	print_message("  reorder 50%% gap 5: %.3f%% (want %.3f%% +- %.3f%%)\n", 100 * share, 100.0 / 6, 100 * tol);
	assert_near(share, 1.0 / 6, tol);
	wire_link_fini(&l);
}

static void test_link_corrupt_rate_and_bit_range(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.corrupt_pct = 10;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 200000;
	uint64_t corrupted = 0;
	double pos_sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		uint32_t size = 1 + i % 1500;
		wire_link_fate(&l, (sim_time_us)i * 1000, size, &f);
		int32_t bit = f.copy[0].corrupt_bit;
		if (bit < 0) {
			assert_int_equal(bit, -1);
			continue;
		}
		corrupted++;
		assert_true((uint32_t)bit < size * 8);
		pos_sum += (bit + 0.5) / (size * 8.0);
	}
	assert_share("corrupted", corrupted, n, 0.10);
	assert_int_equal(l.stats.corrupted, corrupted);
	/* The flipped bit is uniform over the payload: relative position mean 0.5, standard error sqrt(1/12k). */
	double pos = pos_sum / (double)corrupted;
	assert_near(pos, 0.5, Z * sqrt(1.0 / 12 / (double)corrupted));
	wire_link_fini(&l);

	/* An empty payload has no bit to flip. */
	c.corrupt_pct = 100;
	link_open(&l, &c);
	struct wire_fate f;
	wire_link_fate(&l, 0, 0, &f);
	assert_int_equal(f.kind, WIRE_FATE_DELIVER);
	assert_int_equal(f.copy[0].corrupt_bit, -1);
	wire_link_fate(&l, 0, 1, &f);
	assert_in_range(f.copy[0].corrupt_bit, 0, 7);
	wire_link_fini(&l);
}

/* ---- rate limit and queue ---- */

static void test_link_rate_limit_throughput_matches_rate(void **state)
{
	(void)state;
	/* 1000 kbit/s, 1000-byte payloads every 1 ms (faster than the 8.224 ms each takes): back to back. */
	struct wire_link_cfg c = cfg_default();
	c.rate_kbit = 1000;
	c.latency_ms = 10;
	struct wire_link l;
	link_open(&l, &c);
	const uint32_t n = 500;
	const uint64_t tx_us = (1000 + 28) * 8 * 1000000ULL / 1000000; /* 8224 µs */
	sim_time_us first = 0, prev = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct wire_fate f;
		wire_link_fate(&l, (sim_time_us)i * 1000, 1000, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		sim_time_us at = f.copy[0].deliver_at_us;
		if (i == 0) {
			assert_true(at == tx_us + 10000);
			first = at;
		} else {
			assert_true(at - prev == tx_us);
		}
		prev = at;
	}
	double bps = (double)(n - 1) * 1028 * 8 / ((double)(prev - first) / 1e6);
	print_message("  1000 kbit/s, 1000 B: %.1f kbit/s\n", bps / 1000);
	assert_near(bps, 1e6, 0.01 * 1e6);
	wire_link_fini(&l);

	/*
	 * Rates where a datagram's time on the wire is not a whole number of µs:
	 * the rate limiter must not round each one up (100 B at 100 Mbit/s takes
	 * 10.24 µs, not 11). Datagrams all arrive at once behind a deep queue.
	 */
	const struct {
		double kbit;
		uint32_t size;
	} cases[] = { { 30000, 64 }, { 100000, 100 }, { 1000000, 1200 }, { 10000000, 1472 }, { 3000, 1000 } };
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		c = cfg_default();
		c.rate_kbit = cases[k].kbit;
		c.queue_limit = 100000;
		link_open(&l, &c);
		const uint32_t burst = 20000;
		const double bits = (cases[k].size + 28) * 8.0, exact_us = bits / (cases[k].kbit * 1000) * 1e6;
		sim_time_us last = 0;
		for (uint32_t i = 0; i < burst; i++) {
			struct wire_fate f;
			wire_link_fate(&l, 0, cases[k].size, &f);
			assert_int_equal(f.kind, WIRE_FATE_DELIVER);
			sim_time_us at = f.copy[0].deliver_at_us;
			/* Each is out when its last bit is, rounded up to the µs. */
			assert_true(at == (sim_time_us)ceil((i + 1) * exact_us - 1e-6));
			last = at;
		}
		double got = burst * bits / ((double)last / 1e6);
		print_message("  %.0f kbit/s, %u B: %.1f kbit/s\n", cases[k].kbit, cases[k].size, got / 1000);
		assert_near(got, cases[k].kbit * 1000, 0.01 * cases[k].kbit * 1000);
		wire_link_fini(&l);
	}
}

static void test_link_queue_drops_tail(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.rate_kbit = 1000;
	c.queue_limit = 10;
	struct wire_link l;
	link_open(&l, &c);
	const sim_time_us tx = 8224; /* 1028 bytes at 1000 kbit/s */
	struct wire_fate f;
	uint32_t delivered = 0, dropped = 0;
	for (uint32_t i = 0; i < 100; i++) {
		wire_link_fate(&l, 0, 1000, &f);
		if (f.kind == WIRE_FATE_DELIVER) {
			delivered++;
			assert_true(f.copy[0].deliver_at_us == delivered * tx);
			assert_true(i < 10); /* the first ten, then the tail is dropped */
		} else {
			assert_int_equal(f.kind, WIRE_FATE_QUEUE);
			assert_int_equal(f.ncopies, 0);
			dropped++;
		}
	}
	assert_int_equal(delivered, 10);
	assert_int_equal(dropped, 90);
	assert_int_equal(l.stats.dropped[WIRE_FATE_QUEUE], 90);

	/* When the first is out, one place frees up. */
	wire_link_fate(&l, tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_DELIVER);
	assert_true(f.copy[0].deliver_at_us == 11 * tx);
	wire_link_fate(&l, tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_QUEUE);
	/* Once it has drained, a new burst starts from now. */
	for (uint32_t i = 0; i < 10; i++) {
		wire_link_fate(&l, 20 * tx, 1000, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		assert_true(f.copy[0].deliver_at_us == (21 + i) * tx);
	}
	wire_link_fate(&l, 20 * tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_QUEUE);
	assert_int_equal(l.stats.sent, 113);
	wire_link_fini(&l);
}

/* ---- MTU ---- */

static void test_link_mtu_drops_oversize(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.mtu = 576;
	struct wire_link l;
	link_open(&l, &c);
	uint64_t drops = 0;
	for (uint32_t size = 0; size <= 2000; size++) {
		struct wire_fate f;
		wire_link_fate(&l, size, size, &f);
		if (size + 28 > 576) {
			assert_int_equal(f.kind, WIRE_FATE_MTU);
			assert_int_equal(f.ncopies, 0);
			drops++;
		} else {
			assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		}
	}
	assert_int_equal(drops, 2000 - 548);
	assert_int_equal(l.stats.dropped[WIRE_FATE_MTU], drops);
	wire_link_fini(&l);

	/* MTU 0 is unlimited: the largest UDP payload passes. */
	c.mtu = 0;
	link_open(&l, &c);
	struct wire_fate f;
	wire_link_fate(&l, 0, 65507, &f);
	assert_int_equal(f.kind, WIRE_FATE_DELIVER);
	wire_link_fini(&l);
}

/* ---- partitions ---- */

static enum wire_fate_kind send_on(struct wire_model *m, uint32_t from, uint32_t to)
{
	struct wire_fate f;
	wire_link_fate(wire_model_link(m, from, to), 0, 100, &f);
	return f.kind;
}

static void test_link_partition_and_heal(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	struct wire_model m;
	assert_int_equal(wire_model_init(&m, 4, SEED, &c), 0);

	const uint32_t halves[4] = { 0, 0, 1, 1 };
	wire_model_partition(&m, halves);
	for (uint32_t i = 0; i < 4; i++)
		for (uint32_t j = 0; j < 4; j++)
			if (i != j)
				assert_int_equal(send_on(&m, i, j),
						 halves[i] == halves[j] ? WIRE_FATE_DELIVER : WIRE_FATE_PARTITION);
	assert_int_equal(wire_model_link(&m, 0, 2)->stats.dropped[WIRE_FATE_PARTITION], 1);

	/* A new partition replaces the old one: 0-2 and 1-3 now talk, 0-1 do not. */
	const uint32_t odd_even[4] = { 0, 1, 0, 1 };
	wire_model_partition(&m, odd_even);
	assert_int_equal(send_on(&m, 0, 2), WIRE_FATE_DELIVER);
	assert_int_equal(send_on(&m, 3, 1), WIRE_FATE_DELIVER);
	assert_int_equal(send_on(&m, 0, 1), WIRE_FATE_PARTITION);
	assert_int_equal(send_on(&m, 2, 3), WIRE_FATE_PARTITION);

	wire_model_heal(&m);
	for (uint32_t i = 0; i < 4; i++)
		for (uint32_t j = 0; j < 4; j++)
			if (i != j)
				assert_int_equal(send_on(&m, i, j), WIRE_FATE_DELIVER);
	wire_model_fini(&m);
}

static void test_link_heal_keeps_blocked_links_blocked(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	struct wire_model m;
	assert_int_equal(wire_model_init(&m, 4, SEED, &c), 0);
	struct wire_link_cfg blocked = c;
	blocked.blocked = true;
	assert_int_equal(wire_link_configure(wire_model_link(&m, 1, 3), &blocked), 0);
	assert_int_equal(send_on(&m, 1, 3), WIRE_FATE_PARTITION);
	assert_int_equal(send_on(&m, 3, 1), WIRE_FATE_DELIVER); /* one direction only */

	/* One group for all opens what a partition cut, but not a blackholed link. */
	const uint32_t all[4] = { 0, 0, 0, 0 };
	wire_model_partition(&m, all);
	assert_int_equal(send_on(&m, 1, 3), WIRE_FATE_PARTITION);
	const uint32_t apart[4] = { 0, 1, 2, 3 };
	wire_model_partition(&m, apart);
	wire_model_heal(&m);
	assert_int_equal(send_on(&m, 1, 3), WIRE_FATE_PARTITION);
	assert_int_equal(send_on(&m, 0, 3), WIRE_FATE_DELIVER);

	/* Its own settings open it. */
	assert_int_equal(wire_link_configure(wire_model_link(&m, 1, 3), &c), 0);
	assert_int_equal(send_on(&m, 1, 3), WIRE_FATE_DELIVER);
	wire_model_fini(&m);
}

/* ---- determinism ---- */

struct fate_log {
	char *buf;
	size_t len, cap;
};

static void log_fate(struct fate_log *lg, sim_time_us t, uint32_t from, uint32_t to, uint32_t size,
		     const struct wire_fate *f)
{
	if (lg->cap - lg->len < WIRE_FATE_LINE_MAX) {
		lg->cap = lg->cap ? 2 * lg->cap : 1 << 16;
		lg->buf = realloc(lg->buf, lg->cap);
		assert_non_null(lg->buf);
	}
	lg->len += (size_t)wire_fate_format(lg->buf + lg->len, WIRE_FATE_LINE_MAX, t, from, to, size, f);
	lg->buf[lg->len] = '\0';
}

/* Settings that exercise every effect at once. */
static struct wire_link_cfg cfg_everything(void)
{
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 30;
	c.jitter_ms = 10;
	c.jitter_dist = WIRE_DIST_NORMAL;
	c.jitter_corr_pct = 25;
	c.loss_pct = 3;
	c.burst = 2;
	c.dup_pct = 5;
	c.dup_delay_ms = 2;
	c.reorder_pct = 3;
	c.corrupt_pct = 2;
	c.rate_kbit = 5000;
	c.queue_limit = 20;
	c.mtu = 1200;
	return c;
}

static uint32_t size_of(uint32_t i)
{
	return 40 + (i * 7919u) % 1400;
}

/* Traffic on 0->1, 1->0 and 2->3 of a 4-peer model, every fate logged in order. */
static void run_mixed(uint64_t seed, struct fate_log *lg)
{
	struct wire_link_cfg c = cfg_everything();
	struct wire_model m;
	assert_int_equal(wire_model_init(&m, 4, seed, &c), 0);
	const uint32_t pairs[3][2] = { { 0, 1 }, { 1, 0 }, { 2, 3 } };
	for (uint32_t i = 0; i < 30000; i++) {
		const uint32_t *p = pairs[i % 3];
		sim_time_us now = (sim_time_us)i * 250;
		struct wire_fate f;
		wire_link_fate(wire_model_link(&m, p[0], p[1]), now, size_of(i), &f);
		log_fate(lg, now, p[0], p[1], size_of(i), &f);
	}
	wire_model_fini(&m);
}

static void test_link_same_seed_same_fate_log(void **state)
{
	(void)state;
	struct fate_log a = { 0 }, b = { 0 }, other = { 0 };
	run_mixed(SEED, &a);
	run_mixed(SEED, &b);
	run_mixed(SEED + 1, &other);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	/* The log is worth comparing: every effect shows up in it. */
	const char *needles[] = { "\tdeliver\t", "\tloss\t", "\tqueue\t", "\tmtu\t", "\tr\n", "\tc" };
	for (size_t k = 0; k < sizeof needles / sizeof needles[0]; k++)
		if (!strstr(a.buf, needles[k]))
			fail_msg("the fate log has no line with \"%s\"", needles[k]);
	/* A different seed gives a different log. */
	assert_true(a.len != other.len || memcmp(a.buf, other.buf, a.len) != 0);
	free(a.buf);
	free(b.buf);
	free(other.buf);
}

/* 0->1 traffic, with or without traffic on 2->3 and 3->2 in between; only 0->1 is logged. */
static void run_01(bool interleave, struct fate_log *lg)
{
	struct wire_link_cfg c = cfg_everything();
	struct wire_model m;
	assert_int_equal(wire_model_init(&m, 4, SEED, &c), 0);
	for (uint32_t i = 0; i < 20000; i++) {
		sim_time_us now = (sim_time_us)i * 300;
		struct wire_fate f;
		if (interleave)
			for (uint32_t k = 0; k < i % 4; k++) {
				wire_link_fate(wire_model_link(&m, 2, 3), now, size_of(i + k), &f);
				wire_link_fate(wire_model_link(&m, 3, 2), now, 100, &f);
			}
		wire_link_fate(wire_model_link(&m, 0, 1), now, size_of(i), &f);
		log_fate(lg, now, 0, 1, size_of(i), &f);
	}
	if (interleave)
		assert_true(wire_model_link(&m, 2, 3)->stats.sent > 0);
	wire_model_fini(&m);
}

static void test_link_fates_independent_of_other_links(void **state)
{
	(void)state;
	struct fate_log alone = { 0 }, mixed = { 0 };
	run_01(false, &alone);
	run_01(true, &mixed);
	assert_int_equal(alone.len, mixed.len);
	assert_memory_equal(alone.buf, mixed.buf, alone.len);
	free(alone.buf);
	free(mixed.buf);
}

/* ---- live changes ---- */

static void test_link_configure_takes_effect_next_datagram(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.latency_ms = 10;
	struct wire_link l;
	link_open(&l, &c);
	struct wire_fate f;
	for (uint32_t i = 0; i < 10; i++) {
		wire_link_fate(&l, i * 1000, 100, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		assert_true(f.copy[0].deliver_at_us == i * 1000 + 10000);
	}

	c.loss_pct = 100;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 10000, 100, &f);
	assert_int_equal(f.index, 10); /* the count carries on */
	assert_int_equal(f.kind, WIRE_FATE_LOSS);

	c.loss_pct = 0;
	c.latency_ms = 80;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 11000, 100, &f);
	assert_int_equal(f.index, 11);
	assert_true(f.copy[0].deliver_at_us == 11000 + 80000);

	/*
	 * Shorter latency: the new delay, but never ahead of what is already on
	 * its way, and spaced from it by a tenth of the time between the sends,
	 * as a queue drains (WIRE_JITTER_DRAIN).
	 */
	c.latency_ms = 5;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 12000, 100, &f);
	assert_true(f.copy[0].deliver_at_us == 91000 + 100);
	wire_link_fate(&l, 200000, 100, &f);
	assert_true(f.copy[0].deliver_at_us == 205000);
	assert_int_equal(f.index, 13);

	assert_int_equal(l.stats.sent, 14);
	assert_int_equal(l.stats.dropped[WIRE_FATE_LOSS], 1);
	wire_link_fini(&l);
}

static void test_link_configure_keeps_queue(void **state)
{
	(void)state;
	struct wire_link_cfg c = cfg_default();
	c.rate_kbit = 1000;
	c.queue_limit = 10;
	struct wire_link l;
	link_open(&l, &c);
	const sim_time_us tx = 8224;
	struct wire_fate f;
	for (uint32_t i = 0; i < 10; i++)
		wire_link_fate(&l, 0, 1000, &f);
	/* Three are out by 3 tx; three more fill the ring around its end. */
	for (uint32_t i = 0; i < 3; i++) {
		wire_link_fate(&l, 3 * tx, 1000, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		assert_true(f.copy[0].deliver_at_us == (11 + i) * tx);
	}
	wire_link_fate(&l, 3 * tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_QUEUE);

	/* A longer queue: what waits keeps its place, ten more fit behind it. */
	c.queue_limit = 20;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	for (uint32_t i = 0; i < 10; i++) {
		wire_link_fate(&l, 3 * tx, 1000, &f);
		assert_int_equal(f.kind, WIRE_FATE_DELIVER);
		assert_true(f.copy[0].deliver_at_us == (14 + i) * tx);
	}
	wire_link_fate(&l, 3 * tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_QUEUE);

	/* A shorter one than what waits: nothing is lost, nothing new gets in until it drains below. */
	c.queue_limit = 5;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 18 * tx, 1000, &f); /* 19..23 still queued: five */
	assert_int_equal(f.kind, WIRE_FATE_QUEUE);
	wire_link_fate(&l, 19 * tx, 1000, &f);
	assert_int_equal(f.kind, WIRE_FATE_DELIVER);
	assert_true(f.copy[0].deliver_at_us == 24 * tx);

	assert_int_equal(f.index, l.stats.sent - 1);
	assert_int_equal(l.stats.sent, 27);
	wire_link_fini(&l);
}

static void test_link_configure_rate_applies_behind_queue(void **state)
{
	(void)state;
	/* 100 B at 100 Mbit/s: 10.24 µs each, so the limiter is mid-µs after three. */
	struct wire_link_cfg c = cfg_default();
	c.rate_kbit = 100000;
	struct wire_link l;
	link_open(&l, &c);
	struct wire_fate f;
	const sim_time_us want[3] = { 11, 21, 31 }; /* 10.24, 20.48, 30.72 rounded up */
	for (uint32_t i = 0; i < 3; i++) {
		wire_link_fate(&l, 0, 100, &f);
		assert_true(f.copy[0].deliver_at_us == want[i]);
	}
	/* At 1000 kbit/s the next takes 1024 µs, starting when the third is out. */
	c.rate_kbit = 1000;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 0, 100, &f);
	assert_true(f.copy[0].deliver_at_us == 31 + 1024);
	/* Unlimited: at once, though still in order behind what is queued. */
	c.rate_kbit = 0;
	assert_int_equal(wire_link_configure(&l, &c), 0);
	wire_link_fate(&l, 100, 100, &f);
	assert_true(f.copy[0].deliver_at_us == 31 + 1024);
	wire_link_fate(&l, 2000, 100, &f);
	assert_true(f.copy[0].deliver_at_us == 2000);
	assert_int_equal(f.index, 5);
	wire_link_fini(&l);
}

/* ---- validation ---- */

static void expect_invalid(const struct wire_link_cfg *c, const char *field_want)
{
	const char *field = NULL, *why = NULL;
	assert_int_equal(wire_link_cfg_validate(c, &field, &why), -1);
	assert_non_null(field);
	assert_string_equal(field, field_want);
	assert_non_null(why);
	assert_true(strlen(why) > 10);
}

static void test_link_cfg_validate_names_the_field(void **state)
{
	(void)state;
	const char *field = NULL, *why = NULL;
	struct wire_link_cfg c = cfg_default();
	assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);
	c.latency_ms = 60000;
	c.loss_pct = 100;
	assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);

	c = cfg_default();
	c.loss_pct = 101;
	expect_invalid(&c, "loss");
	c.loss_pct = -0.5;
	expect_invalid(&c, "loss");
	c.loss_pct = NAN;
	expect_invalid(&c, "loss");

	c = cfg_default();
	c.latency_ms = 60001;
	expect_invalid(&c, "latency");
	c.latency_ms = NAN;
	expect_invalid(&c, "latency");

	c = cfg_default();
	c.jitter_ms = NAN;
	expect_invalid(&c, "jitter");
	c = cfg_default();
	c.rate_kbit = NAN;
	expect_invalid(&c, "rate");
	c = cfg_default();
	c.dup_delay_ms = NAN;
	expect_invalid(&c, "dup-delay");
	c = cfg_default();
	c.jitter_corr_pct = 100;
	expect_invalid(&c, "jitter-corr");
	c = cfg_default();
	c.queue_limit = 0;
	expect_invalid(&c, "queue");
	c = cfg_default();
	c.mtu = 27;
	expect_invalid(&c, "mtu");

	c = cfg_default();
	c.loss_pct = 10;
	c.burst = 0.5;
	expect_invalid(&c, "burst");
	c.burst = NAN;
	expect_invalid(&c, "burst");
	/*
	 * Each loss burst needs a delivery after it, so a mean burst of B allows
	 * at most B / (B + 1) loss: 60% loss in bursts of 1 is impossible.
	 */
	c.loss_pct = 60;
	c.burst = 1;
	expect_invalid(&c, "burst");
	c.loss_pct = 80;
	c.burst = 4;
	assert_int_equal(wire_link_cfg_validate(&c, &field, &why), 0);
}

/* An idle link owns no delay histogram; its first delivery allocates one, and a snapshot's quantiles come from it. */
static void test_link_delay_histogram_starts_at_first_delivery(void **state)
{
	(void)state;
	struct wire_link_cfg cfg;
	wire_link_cfg_default(&cfg);
	struct wire_link l;
	assert_int_equal(wire_link_init(&l, SEED, 0, 1, &cfg), 0);
	assert_null(l.delay);
	struct wire_link_stats s;
	struct wire_hist h;
	wire_link_get_stats(&l, &s);
	wire_link_get_delay(&l, &h);
	assert_int_equal(s.delay.count, 0);
	assert_int_equal(s.delay.p99_us, 0);
	assert_int_equal(h.count, 0);

	for (uint64_t v = 20000; v < 21000; v++)
		wire_link_note_delivery(&l, 64, v);
	assert_non_null(l.delay);
	wire_link_get_stats(&l, &s);
	wire_link_get_delay(&l, &h);
	assert_int_equal(s.delivered, 1000);
	assert_int_equal(s.bytes, 64000);
	assert_int_equal(s.delay.count, 1000);
	assert_int_equal(s.delay.min_us, 20000);
	assert_int_equal(s.delay.max_us, 20999);
	/* 20000..20999 once each: the nearest-rank quantiles, within the histogram's 1%. */
	assert_in_range(s.delay.p50_us, 20499 * 0.99, 20499 * 1.01);
	assert_in_range(s.delay.p90_us, 20899 * 0.99, 20899 * 1.01);
	assert_in_range(s.delay.p99_us, 20989 * 0.99, 20999);
	assert_in_range(s.delay.p999_us, 20998 * 0.99, 20999);
	assert_int_equal(h.count, 1000);
	assert_int_equal(wire_hist_quantile(&h, 0.5), s.delay.p50_us);
	assert_int_equal(wire_hist_quantile(&h, 0.999), s.delay.p999_us);
	wire_link_fini(&l);
	assert_null(l.delay);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_loss_rate_is_bernoulli),
		cmocka_unit_test(test_link_gilbert_burst_length_and_loss),
		cmocka_unit_test(test_link_gilbert_elliott_four_parameters),
		cmocka_unit_test(test_link_jitter_uniform_shape),
		cmocka_unit_test(test_link_jitter_normal_shape),
		cmocka_unit_test(test_link_jitter_pareto_shape),
		cmocka_unit_test(test_link_netem_jitter_correlation_gives_lag1_autocorrelation),
		cmocka_unit_test(test_link_jitter_keeps_order_by_default),
		cmocka_unit_test(test_link_jitter_reorders_when_asked),
		cmocka_unit_test(test_link_jitter_path_holds_nothing_back_at_20k_per_s),
		cmocka_unit_test(test_link_jitter_path_keeps_mean_and_sd_at_20k_per_s),
		cmocka_unit_test(test_link_jitter_path_correlation_is_half_at_h),
		cmocka_unit_test(test_link_jitter_path_correlation_time_scales),
		cmocka_unit_test(test_link_jitter_fall_drains_as_a_queue),
		cmocka_unit_test(test_link_jitter_pareto_spikes_drain_at_half_speed),
		cmocka_unit_test(test_link_duplicate_rate_and_delay),
		cmocka_unit_test(test_link_reorder_rate_skips_delay),
		cmocka_unit_test(test_link_reorder_gap_every_fifth),
		cmocka_unit_test(test_link_corrupt_rate_and_bit_range),
		cmocka_unit_test(test_link_rate_limit_throughput_matches_rate),
		cmocka_unit_test(test_link_queue_drops_tail),
		cmocka_unit_test(test_link_mtu_drops_oversize),
		cmocka_unit_test(test_link_partition_and_heal),
		cmocka_unit_test(test_link_heal_keeps_blocked_links_blocked),
		cmocka_unit_test(test_link_same_seed_same_fate_log),
		cmocka_unit_test(test_link_fates_independent_of_other_links),
		cmocka_unit_test(test_link_configure_takes_effect_next_datagram),
		cmocka_unit_test(test_link_configure_keeps_queue),
		cmocka_unit_test(test_link_configure_rate_applies_behind_queue),
		cmocka_unit_test(test_link_cfg_validate_names_the_field),
		cmocka_unit_test(test_link_delay_histogram_starts_at_first_delivery),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
