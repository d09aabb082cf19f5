// SPDX-License-Identifier: MIT
// The link model: one directed link's impairments.
#include "wire/link.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wire/rng.h"

static const char *const fate_names[] = {
#define WIRE_FATE_STR(name, str) str,
	WIRE_FATES(WIRE_FATE_STR)
#undef WIRE_FATE_STR
};

static const char *const dist_names[WIRE_DIST_COUNT] = { "uniform", "normal", "pareto" };

const char *wire_fate_name(enum wire_fate_kind kind)
{
	return (unsigned)kind < WIRE_FATE_COUNT ? fate_names[kind] : "?";
}

const char *wire_dist_name(enum wire_dist dist)
{
	return (unsigned)dist < WIRE_DIST_COUNT ? dist_names[dist] : "?";
}

int wire_dist_parse(const char *s)
{
	for (int i = 0; i < WIRE_DIST_COUNT; i++)
		if (strcmp(s, dist_names[i]) == 0)
			return i;
	return -1;
}

void wire_link_cfg_default(struct wire_link_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->jitter_dist = WIRE_DIST_UNIFORM;
	cfg->dup_delay_ms = 1;
	cfg->queue_limit = 1000;
}

#define CHECK(cond, name, reason)          \
	do {                               \
		if (!(cond)) {             \
			*field = (name);   \
			*why = (reason);   \
			return -1;         \
		}                          \
	} while (0)

static bool pct_ok(double v)
{
	return v >= 0 && v <= 100; /* false for NaN too */
}

int wire_link_cfg_validate(const struct wire_link_cfg *c, const char **field, const char **why)
{
	CHECK(c->latency_ms >= 0 && c->latency_ms <= 60000, "latency", "must be between 0 and 60000 ms");
	CHECK(c->jitter_ms >= 0 && c->jitter_ms <= 60000, "jitter", "must be between 0 and 60000 ms");
	CHECK((unsigned)c->jitter_dist < WIRE_DIST_COUNT, "jitter-dist", "must be uniform, normal or pareto");
	CHECK(c->jitter_corr_pct >= 0 && c->jitter_corr_pct < 100, "jitter-corr",
	      "must be at least 0 and below 100 percent");
	CHECK(pct_ok(c->loss_pct), "loss", "must be between 0 and 100 percent");
	CHECK(c->burst == 0 || (c->burst >= 1 && c->burst <= 1e6), "burst",
	      "must be 0 (no bursts) or a mean burst length between 1 and 1000000 packets");
	CHECK(c->burst == 0 || c->loss_pct < 100, "burst", "needs a loss below 100 percent");
	/* Every loss burst ends with a delivery, so bursts of mean B allow at most B / (B + 1) loss. */
	CHECK(c->burst == 0 || c->ge || c->loss_pct / 100 <= c->burst / (c->burst + 1) + 1e-12, "burst",
	      "is too short for this loss: a mean burst of B packets allows at most B/(B+1) loss "
	      "(50 percent for 1, 80 percent for 4)");
	CHECK(pct_ok(c->ge_p_pct), "ge", "p must be between 0 and 100 percent");
	CHECK(pct_ok(c->ge_r_pct), "ge", "r must be between 0 and 100 percent");
	CHECK(pct_ok(c->ge_bad_loss_pct), "ge", "1-h must be between 0 and 100 percent");
	CHECK(pct_ok(c->ge_good_loss_pct), "ge", "1-k must be between 0 and 100 percent");
	CHECK(pct_ok(c->dup_pct), "dup", "must be between 0 and 100 percent");
	CHECK(c->dup_delay_ms >= 0 && c->dup_delay_ms <= 1000, "dup-delay", "must be between 0 and 1000 ms");
	CHECK(pct_ok(c->reorder_pct), "reorder", "must be between 0 and 100 percent");
	CHECK(c->reorder_gap <= 1000000, "reorder-gap", "must be between 0 and 1000000");
	CHECK(pct_ok(c->corrupt_pct), "corrupt", "must be between 0 and 100 percent");
	CHECK(c->rate_kbit == 0 || (c->rate_kbit >= 1 && c->rate_kbit <= 100e6), "rate",
	      "must be 0 (unlimited) or between 1 and 100000000 kbit/s");
	CHECK(c->queue_limit >= 1 && c->queue_limit <= 1000000, "queue", "must be between 1 and 1000000 packets");
	CHECK(c->mtu == 0 || (c->mtu >= WIRE_IP_UDP_HEADER && c->mtu <= 65535 + WIRE_IP_UDP_HEADER), "mtu",
	      "must be 0 (unlimited) or between 28 and 65563 bytes");
	return 0;
}

static uint64_t ms_to_us(double ms)
{
	return (uint64_t)llround(ms * 1000.0);
}

/*
 * The path's constants (link.h). h is 5.3 times the steepest dD/dg per ms of
 * jitter, so that the delay's slope has a standard deviation of at most 0.25
 * (the spline's g' is at most 1.33 / h): uniform 2 phi(0) = 0.798, normal 1,
 * Pareto's body 0.262 (for a body that stops at its 80th percentile).
 */
#define PATH_SLOPE_SD 0.25
#define PATH_SPLINE_SLOPE 1.33
#define PATH_H_MIN_US 1000.0
#define PARETO_C 0.8           /* the body stops at this quantile; spikes carry the rest */
#define PARETO_PEAK_MAX 100.0  /* the highest spike, in x_m: 1e-6 of the distribution lies above */
#define PARETO_SPIKES_PER_BIN 0.25

/* Pareto x_m = 1, alpha = 3: the density, and where the body stops. */
static double pareto_density(double x)
{
	return 3.0 / (x * x * x * x);
}

static double pareto_xc(void)
{
	return cbrt(1.0 / (1.0 - PARETO_C));
}

static void path_spacing(struct wire_link *l, const struct wire_link_cfg *c)
{
	static const double steepest[WIRE_DIST_COUNT] = {
		[WIRE_DIST_UNIFORM] = 0.7979,
		[WIRE_DIST_NORMAL] = 1.0,
		[WIRE_DIST_PARETO] = 0.2619,
	};
	double h = PATH_SPLINE_SLOPE / PATH_SLOPE_SD * steepest[c->jitter_dist] * (double)l->jitter_us / (1.0 - l->corr);
	l->path_h_us = h > PATH_H_MIN_US ? h : PATH_H_MIN_US;
	l->knot_k = INT64_MIN; /* the spacing may have changed: the cached knots are stale */

	/* Pareto's spikes, in x_m units (one x_m is jitter / sqrt(0.75) of delay). */
	l->spike_valid = false;
	l->body_x = 0;
	if (c->jitter_dist == WIRE_DIST_PARETO && l->jitter_us > 0) {
		double scale_us = (double)l->jitter_us / sqrt(0.75);
		double rate_per_us = WIRE_PARETO_DRAIN * pareto_density(pareto_xc()) / PARETO_C / scale_us;
		l->spike_fall = WIRE_PARETO_DRAIN / scale_us;
		l->spike_bin_us = PARETO_SPIKES_PER_BIN / rate_per_us;
		l->spike_span_us = (PARETO_PEAK_MAX - 1.0) / l->spike_fall;
	}
}

/* Derives the model's working values; the caller has validated cfg. */
static void derive(struct wire_link *l, const struct wire_link_cfg *c)
{
	l->cfg = *c;
	l->latency_us = ms_to_us(c->latency_ms);
	l->jitter_us = ms_to_us(c->jitter_ms);
	l->dup_delay_us = ms_to_us(c->dup_delay_ms);
	l->rate_bps = (uint64_t)llround(c->rate_kbit * 1000.0);
	l->corr = c->jitter_corr_pct / 100.0;
	path_spacing(l, c);
	l->loss_p = c->loss_pct / 100.0;
	if (c->ge) {
		/* netem's four-parameter form: p, r, 1-h, 1-k. */
		l->loss_model = 2;
		l->ge_p = c->ge_p_pct / 100.0;
		l->ge_r = c->ge_r_pct / 100.0;
		l->ge_bad_loss = c->ge_bad_loss_pct / 100.0;
		l->ge_good_loss = c->ge_good_loss_pct / 100.0;
	} else if (c->burst >= 1 && c->loss_pct > 0) {
		/*
		 * Simple Gilbert: every datagram in the bad state is lost, none
		 * in the good one. Bad runs are geometric with mean 1/r = burst,
		 * and the stationary share of bad, p / (p + r), is the loss.
		 */
		l->loss_model = 2;
		l->ge_r = 1.0 / c->burst;
		l->ge_p = l->loss_p * l->ge_r / (1.0 - l->loss_p);
		if (l->ge_p > 1)
			l->ge_p = 1;
		l->ge_bad_loss = 1;
		l->ge_good_loss = 0;
	} else {
		l->loss_model = c->loss_pct > 0 ? 1 : 0;
	}
}

static int queue_resize(struct wire_link *l, uint32_t limit)
{
	uint32_t cap = limit > l->queue_len ? limit : l->queue_len;
	if (l->rate_bps == 0 || cap == l->queue_cap)
		return 0;
	sim_time_us *q = malloc(sizeof *q * cap);
	if (!q)
		return -ENOMEM;
	for (uint32_t i = 0; i < l->queue_len; i++)
		q[i] = l->queue_us[(l->queue_head + i) % l->queue_cap];
	free(l->queue_us);
	l->queue_us = q;
	l->queue_cap = cap;
	l->queue_head = 0;
	return 0;
}

/*
 * Sets up a link whose memory is already zero. Writes only the settings and
 * the derived values, so that a model's idle links (calloc'd) cost no more
 * than their own bytes: 510 peers have 260,100 links.
 */
static int link_setup_zeroed(struct wire_link *l, uint64_t seed, uint32_t from, uint32_t to,
			     const struct wire_link_cfg *cfg)
{
	l->seed = seed;
	l->from = from;
	l->to = to;
	derive(l, cfg);
	return queue_resize(l, cfg->queue_limit);
}

int wire_link_init(struct wire_link *l, uint64_t seed, uint32_t from, uint32_t to, const struct wire_link_cfg *cfg)
{
	memset(l, 0, sizeof *l);
	return link_setup_zeroed(l, seed, from, to, cfg);
}

void wire_link_fini(struct wire_link *l)
{
	free(l->delay);
	l->delay = NULL;
	free(l->queue_us);
	l->queue_us = NULL;
	l->queue_cap = l->queue_len = l->queue_head = 0;
}

int wire_link_configure(struct wire_link *l, const struct wire_link_cfg *cfg)
{
	struct wire_link_cfg old = l->cfg;
	uint64_t old_rate_bps = l->rate_bps;
	derive(l, cfg);
	if (queue_resize(l, cfg->queue_limit) < 0) {
		derive(l, &old);
		return -ENOMEM;
	}
	/* busy_frac counts in units of the old rate: round the busy time up to the µs instead. */
	if (l->rate_bps != old_rate_bps && l->busy_frac) {
		l->busy_until_us++;
		l->busy_frac = 0;
	}
	return 0;
}

static double draw(const struct wire_link *l, uint32_t purpose)
{
	return wire_rng_unit(l->seed, l->from, l->to, l->n, purpose);
}

/* A standardised jitter sample (mean 0, stddev 1) from a uniform u in [0, 1). */
static double standard_sample(enum wire_dist dist, double u)
{
	switch (dist) {
	case WIRE_DIST_NORMAL:
		return wire_normal_quantile(u);
	case WIRE_DIST_PARETO: {
		/* Pareto with x_m = 1, alpha = 3: mean 1.5, variance 0.75. */
		double x = pow(1.0 - u, -1.0 / 3.0);
		return (x - 1.5) / sqrt(0.75);
	}
	case WIRE_DIST_UNIFORM:
	default:
		return (2.0 * u - 1.0) * sqrt(3.0);
	}
}

/*
 * netem's per-datagram jitter (jitter_reorders), in µs. Correlation is an
 * AR(1) on the standardised sample, z = rho * z_prev + sqrt(1 - rho^2) *
 * z_fresh, which keeps the mean and stddev the user asked for (netem's
 * mixing of uniforms narrows the spread as correlation grows).
 */
static uint64_t jitter_delay(struct wire_link *l)
{
	double z = standard_sample(l->cfg.jitter_dist, draw(l, WIRE_RNG_JITTER));
	if (l->corr > 0) {
		z = l->corr * l->jitter_prev + sqrt(1.0 - l->corr * l->corr) * z;
		l->jitter_prev = z;
	}
	/* Uniform means latency ± jitter, so its stddev is jitter / sqrt(3). */
	double sigma = (double)l->jitter_us;
	if (l->cfg.jitter_dist == WIRE_DIST_UNIFORM)
		sigma /= sqrt(3.0);
	double d = (double)l->latency_us + z * sigma;
	return d <= 0 ? 0 : (uint64_t)llround(d);
}

/*
 * The path's Gaussian process at t µs from its epoch: a cubic B-spline
 * through N(0,1) knots, divided by the norm of its weights so that it is
 * exactly N(0,1) at every t (link.h). The four knots around t are cached;
 * they depend on the seed alone.
 */
static double path_gauss(struct wire_link *l, double t_us)
{
	double x = t_us / l->path_h_us;
	int64_t knot = (int64_t)floor(x);
	double f = x - (double)knot;
	if (knot != l->knot_k) {
		for (int i = 0; i < 4; i++)
			l->knot_z[i] = wire_normal_quantile(
				wire_rng_unit(l->seed, l->from, l->to, (uint64_t)(knot - 1 + i), WIRE_RNG_JITTER_PATH));
		l->knot_k = knot;
	}
	double g = 1.0 - f, w[4] = { g * g * g / 6, (3 * f * f * f - 6 * f * f + 4) / 6,
				     (-3 * f * f * f + 3 * f * f + 3 * f + 1) / 6, f * f * f / 6 };
	double sum = 0, norm2 = 0;
	for (int i = 0; i < 4; i++) {
		sum += w[i] * l->knot_z[i];
		norm2 += w[i] * w[i];
	}
	return sum / sqrt(norm2);
}

/*
 * A spike's peak in x_m from u in (0, 1]: the survival (f / F)(x) / (f / F)(x_c)
 * is 1 / (x^4 - x) up to a constant, so the peak solves x^4 - x = (x_c^4 - x_c) / u.
 * Newton from above converges without overshoot, the function being convex.
 */
static double spike_peak(double u)
{
	double xc = pareto_xc(), rhs = (xc * xc * xc * xc - xc) / u;
	if (rhs >= PARETO_PEAK_MAX * PARETO_PEAK_MAX * PARETO_PEAK_MAX * PARETO_PEAK_MAX)
		return PARETO_PEAK_MAX;
	double x = sqrt(sqrt(rhs)) + 1.0;
	for (int i = 0; i < 50; i++) {
		double step = (x * x * x * x - x - rhs) / (4 * x * x * x - 1);
		x -= step;
		if (step < 1e-12 * x)
			break;
	}
	return x < PARETO_PEAK_MAX ? x : PARETO_PEAK_MAX;
}

/*
 * The spikes' envelope at path time t, in x_m: the highest spike still
 * falling, or below 1 if none is. Spikes are drawn per bin; the envelope at
 * the last time asked is cached, and a later time only adds the spikes
 * between, so the result is a function of t alone. Spikes older than
 * spike_span_us have fallen below the floor whatever their peak. A time
 * earlier than the cache's reads the cache.
 */
static double spike_envelope(struct wire_link *l, double t)
{
	double from = t - l->spike_span_us;
	if (l->spike_valid) {
		if (t <= l->spike_t_us)
			return l->spike_x;
		if (l->spike_t_us > from)
			from = l->spike_t_us;
	}
	double e = l->spike_valid ? l->spike_x - l->spike_fall * (t - l->spike_t_us) : 0.0;
	const double mean = PARETO_SPIKES_PER_BIN, p0 = exp(-mean);
	for (int64_t bin = (int64_t)floor(from / l->spike_bin_us), last = (int64_t)floor(t / l->spike_bin_us);
	     bin <= last; bin++) {
		/* The bin's count is Poisson: its inverse CDF at one draw. */
		double u = wire_rng_unit(l->seed, l->from, l->to, (uint64_t)bin, WIRE_RNG_JITTER_SPIKE);
		uint32_t count = 0;
		for (double p = p0, cdf = p0; u >= cdf && count < 16; cdf += p)
			p *= mean / ++count;
		for (uint32_t j = 0; j < count; j++) {
			uint32_t salt = (2 * j + 1) << 8;
			double at = ((double)bin + wire_rng_unit(l->seed, l->from, l->to, (uint64_t)bin,
								  WIRE_RNG_JITTER_SPIKE | salt)) * l->spike_bin_us;
			if (at <= from || at > t)
				continue; /* counted already, or not yet */
			double v = 1.0 - wire_rng_unit(l->seed, l->from, l->to, (uint64_t)bin,
						       WIRE_RNG_JITTER_SPIKE | (salt + 256));
			double x = spike_peak(v) - l->spike_fall * (t - at);
			if (x > e)
				e = x;
		}
	}
	l->spike_valid = true;
	l->spike_t_us = t;
	l->spike_x = e;
	return e;
}

/*
 * The body of Pareto's path, in x_m: the quantile v of F_B(x) = F(x) / P(E <= x)
 * = (1 - x^-3) / c * exp(kappa (x_c - x)) on [1, x_c], kappa = f(x_c) / c.
 * Newton on log F_B within a bracket, falling back to bisection where the
 * slope vanishes (at x_c); it starts from the last value, which is close.
 */
static double pareto_body(struct wire_link *l, double v)
{
	const double xc = pareto_xc(), kappa = pareto_density(xc) / PARETO_C;
	double target = log(v), lo = 1.0, hi = xc;
	double x = l->body_x > lo && l->body_x < hi ? l->body_x : 0.5 * (lo + hi);
	for (int i = 0; i < 60 && hi - lo > 1e-12; i++) {
		double r3 = 1.0 / (x * x * x);
		double h = log1p(-r3) - log(PARETO_C) + kappa * (xc - x) - target;
		if (h < 0)
			lo = x;
		else
			hi = x;
		double slope = 3.0 * r3 / (x * (1.0 - r3)) - kappa;
		double next = slope > 0 ? x - h / slope : lo;
		if (!(next > lo && next < hi))
			next = 0.5 * (lo + hi);
		if (fabs(next - x) < 1e-12)
			break;
		x = next;
	}
	l->body_x = x;
	return x;
}

/* The path's delay, in µs, for a datagram leaving the rate limiter at now (link.h). */
static uint64_t path_delay(struct wire_link *l, sim_time_us now)
{
	if (!l->path_started) {
		l->path_started = true;
		l->path_epoch_us = now;
	}
	double t = now > l->path_epoch_us ? (double)(now - l->path_epoch_us) : 0.0;
	double j = (double)l->jitter_us, m;
	switch (l->cfg.jitter_dist) {
	case WIRE_DIST_NORMAL:
		m = path_gauss(l, t);
		break;
	case WIRE_DIST_PARETO: {
		/* Pareto x_m = 1, alpha = 3, standardised: (x - 1.5) / sqrt(0.75). */
		double body = pareto_body(l, 0.5 * erfc(-path_gauss(l, t) / sqrt(2.0)));
		double spike = spike_envelope(l, t);
		m = ((body > spike ? body : spike) - 1.5) / sqrt(0.75);
		break;
	}
	case WIRE_DIST_UNIFORM:
	default:
		m = erf(path_gauss(l, t) / sqrt(2.0));
		break;
	}
	double d = (double)l->latency_us + j * m;
	return d <= 0 ? 0 : (uint64_t)llround(d);
}

/* The delay of a datagram leaving the rate limiter at out. */
static uint64_t delay_of(struct wire_link *l, sim_time_us out)
{
	if (l->jitter_us == 0)
		return l->latency_us;
	return l->cfg.jitter_reorders ? jitter_delay(l) : path_delay(l, out);
}

static bool lost(struct wire_link *l)
{
	switch (l->loss_model) {
	case 1:
		return draw(l, WIRE_RNG_LOSS) < l->loss_p;
	case 2: {
		double step = draw(l, WIRE_RNG_GE_STEP);
		if (l->ge_bad) {
			if (step < l->ge_r)
				l->ge_bad = false;
		} else if (step < l->ge_p) {
			l->ge_bad = true;
		}
		return draw(l, WIRE_RNG_LOSS) < (l->ge_bad ? l->ge_bad_loss : l->ge_good_loss);
	}
	default:
		return false;
	}
}

/*
 * Admits one copy to the rate limiter. Returns false if its queue is full
 * (drop-tail); else sets *out_us to when its last bit leaves.
 */
static bool rate_admit(struct wire_link *l, sim_time_us now, uint32_t size, sim_time_us *out_us)
{
	if (l->rate_bps == 0) {
		*out_us = now;
		return true;
	}
	while (l->queue_len > 0 && l->queue_us[l->queue_head] <= now) {
		l->queue_head = (l->queue_head + 1) % l->queue_cap;
		l->queue_len--;
	}
	if (l->queue_len >= l->cfg.queue_limit)
		return false;
	/*
	 * The busy time is kept exactly, as whole µs plus a remainder in
	 * 1/rate_bps µs, so that back-to-back datagrams whose time on the wire
	 * is not a whole number of µs (100 B at 100 Mbit/s takes 10.24 µs) do
	 * not each lose the rounding: only the reported finish is rounded up.
	 */
	uint64_t bit_us = (uint64_t)(size + WIRE_IP_UDP_HEADER) * 8u * 1000000u; /* < 2^39 */
	if (l->busy_until_us < now) {
		l->busy_until_us = now;
		l->busy_frac = 0;
	}
	uint64_t total = l->busy_frac + bit_us; /* busy_frac < rate_bps <= 1e11: no overflow */
	l->busy_until_us += total / l->rate_bps;
	l->busy_frac = total % l->rate_bps;
	sim_time_us done_us = l->busy_until_us + (l->busy_frac != 0);
	l->queue_us[(l->queue_head + l->queue_len) % l->queue_cap] = done_us;
	l->queue_len++;
	*out_us = done_us;
	return true;
}

/* netem's reorder rule: with gap G, only a datagram after G-1 in-order ones may skip the delay. */
static bool pick_reorder(struct wire_link *l)
{
	if (l->cfg.reorder_pct <= 0)
		return false;
	uint32_t gap = l->cfg.reorder_gap > 1 ? l->cfg.reorder_gap : 1;
	if (l->reorder_count + 1 < gap || draw(l, WIRE_RNG_REORDER) >= l->cfg.reorder_pct / 100.0) {
		l->reorder_count++;
		return false;
	}
	l->reorder_count = 0;
	return true;
}

/*
 * The backstop of link.h: a copy that left the rate limiter at sent is due no
 * earlier than the previous in-order one, plus (1 - WIRE_JITTER_DRAIN) of the
 * time between their sends.
 */
static sim_time_us in_order(struct wire_link *l, sim_time_us sent, sim_time_us at)
{
	if (!l->cfg.jitter_reorders) {
		sim_time_us floor_us = l->fifo_until_us;
		if (sent > l->fifo_sent_us)
			floor_us += (uint64_t)llround((1.0 - WIRE_JITTER_DRAIN) * (double)(sent - l->fifo_sent_us));
		if (at < floor_us)
			at = floor_us;
		l->fifo_until_us = at;
		l->fifo_sent_us = sent;
	}
	return at;
}

static int32_t corrupt_bit(struct wire_link *l, unsigned copy, uint32_t size)
{
	if (l->cfg.corrupt_pct <= 0 || size == 0)
		return -1;
	uint32_t salt = copy << 8;
	if (draw(l, WIRE_RNG_CORRUPT | salt) >= l->cfg.corrupt_pct / 100.0)
		return -1;
	uint64_t bits = (uint64_t)size * 8u;
	return (int32_t)(wire_rng_u64(l->seed, l->from, l->to, l->n, WIRE_RNG_CORRUPT_BIT | salt) % bits);
}

static void drop(struct wire_link *l, struct wire_fate *f, enum wire_fate_kind kind)
{
	f->kind = kind;
	f->ncopies = 0;
	l->stats.dropped[kind]++;
}

void wire_link_fate(struct wire_link *l, sim_time_us now, uint32_t size, struct wire_fate *f)
{
	f->index = l->n;
	f->kind = WIRE_FATE_DELIVER;
	f->ncopies = 0;
	l->stats.sent++;

	if (l->cfg.blocked || l->partitioned) {
		drop(l, f, WIRE_FATE_PARTITION);
	} else if (l->cfg.mtu && size + WIRE_IP_UDP_HEADER > l->cfg.mtu) {
		drop(l, f, WIRE_FATE_MTU);
	} else if (lost(l)) {
		drop(l, f, WIRE_FATE_LOSS);
	} else {
		bool dup = l->cfg.dup_pct > 0 && draw(l, WIRE_RNG_DUP) < l->cfg.dup_pct / 100.0;
		sim_time_us out;
		if (!rate_admit(l, now, size, &out)) {
			drop(l, f, WIRE_FATE_QUEUE);
		} else {
			struct wire_copy *c = &f->copy[0];
			c->corrupt_bit = corrupt_bit(l, 0, size);
			c->reordered = pick_reorder(l);
			if (c->reordered) {
				c->deliver_at_us = out;
				l->stats.reordered++;
			} else {
				c->deliver_at_us = in_order(l, out, out + delay_of(l, out));
			}
			f->ncopies = 1;
			l->stats.corrupted += c->corrupt_bit >= 0;

			sim_time_us copy_out;
			if (dup && rate_admit(l, now, size, &copy_out)) {
				/* The copy trails its original by up to dup_delay, and keeps order. */
				struct wire_copy *d = &f->copy[1];
				uint64_t extra = (uint64_t)llround(draw(l, WIRE_RNG_DUP_DELAY) * (double)l->dup_delay_us);
				sim_time_us at = c->deliver_at_us + extra;
				if (at < copy_out)
					at = copy_out;
				d->deliver_at_us = in_order(l, copy_out, at);
				d->corrupt_bit = corrupt_bit(l, 1, size);
				d->reordered = false;
				f->ncopies = 2;
				l->stats.duplicated++;
				l->stats.corrupted += d->corrupt_bit >= 0;
			}
		}
	}
	l->n++;
}

void wire_link_note_delivery(struct wire_link *l, uint32_t size, uint64_t delay_us)
{
	l->stats.delivered++;
	l->stats.bytes += size;
	struct wire_delay_summary *d = &l->stats.delay;
	if (d->count++ == 0 || delay_us < d->min_us)
		d->min_us = delay_us;
	if (delay_us > d->max_us)
		d->max_us = delay_us;
	/* Once per link, not per datagram: a retry costs only while allocation fails. */
	if (!l->delay)
		l->delay = calloc(1, sizeof *l->delay);
	if (l->delay)
		wire_hist_record(l->delay, delay_us);
}

void wire_link_get_stats(const struct wire_link *l, struct wire_link_stats *out)
{
	*out = l->stats;
	if (!l->delay)
		return;
	out->delay.p50_us = wire_hist_quantile(l->delay, 0.5);
	out->delay.p90_us = wire_hist_quantile(l->delay, 0.9);
	out->delay.p99_us = wire_hist_quantile(l->delay, 0.99);
	out->delay.p999_us = wire_hist_quantile(l->delay, 0.999);
}

void wire_link_get_delay(const struct wire_link *l, struct wire_hist *out)
{
	if (l->delay)
		*out = *l->delay;
	else
		memset(out, 0, sizeof *out);
}

int wire_model_init(struct wire_model *m, uint32_t npeers, uint64_t seed, const struct wire_link_cfg *cfg)
{
	memset(m, 0, sizeof *m);
	size_t count = (size_t)npeers * npeers;
	m->links = calloc(count ? count : 1, sizeof *m->links);
	if (!m->links)
		return -ENOMEM;
	m->npeers = npeers;
	m->seed = seed;
	for (uint32_t i = 0; i < npeers; i++)
		for (uint32_t j = 0; j < npeers; j++)
			if (link_setup_zeroed(wire_model_link(m, i, j), seed, i, j, cfg) < 0) {
				wire_model_fini(m);
				return -ENOMEM;
			}
	return 0;
}

void wire_model_fini(struct wire_model *m)
{
	if (!m->links)
		return;
	for (size_t k = 0; k < (size_t)m->npeers * m->npeers; k++)
		wire_link_fini(&m->links[k]);
	free(m->links);
	m->links = NULL;
	m->npeers = 0;
}

void wire_model_partition(struct wire_model *m, const uint32_t *group)
{
	for (uint32_t i = 0; i < m->npeers; i++)
		for (uint32_t j = 0; j < m->npeers; j++)
			wire_model_link(m, i, j)->partitioned = group[i] != group[j];
}

void wire_model_heal(struct wire_model *m)
{
	for (size_t k = 0; k < (size_t)m->npeers * m->npeers; k++)
		m->links[k].partitioned = false;
}
