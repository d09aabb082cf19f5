// SPDX-License-Identifier: MIT
// The link model: one directed link's impairments. Pure: datagram and time in, fate out.
#ifndef LOOPSIM_WIRE_LINK_H
#define LOOPSIM_WIRE_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/hist.h"

/* Time on the wire's clock (CLOCK_MONOTONIC, or virtual time in tests), in microseconds. */
typedef uint64_t sim_time_us;

/* Bytes that IPv4 and UDP add to a payload. Rate limits and the MTU count them. */
#define WIRE_IP_UDP_HEADER 28u

/* The fastest the delay of order-kept deliveries falls, in µs per µs of send time (see below). */
#define WIRE_JITTER_DRAIN 0.9
/* How fast a Pareto congestion spike drains, in µs of delay per µs (see below). */
#define WIRE_PARETO_DRAIN 0.5

/*
 * Order of effects, applied to each datagram as it enters a link (compare
 * netem's duplicate, loss, corrupt, queue limit, delay/reorder):
 *   1. partition  the link is cut: drop (fate "partition");
 *   2. mtu        payload + 28 header bytes above the MTU: drop ("mtu");
 *   3. loss       Bernoulli, or Gilbert-Elliott when bursty: drop ("loss");
 *   4. duplicate  a survivor may gain one copy;
 *   5. corrupt    each copy independently may get one bit flipped;
 *   6. rate       each copy queues for serialisation at the link rate;
 *                 a full queue drops the datagram ("queue"), drop-tail;
 *   7. delay      latency + jitter after serialisation, or none at all
 *                 for a datagram picked for reordering.
 * Loss comes before duplication, so --dup is the share of *delivered*
 * datagrams that arrive twice, which is what users measure.
 *
 * Jitter is a property of the path, not of each datagram. By default the
 * delay is a smooth random function of time, D(t), sampled when the datagram
 * leaves step 6 (when it reached the wire, without a rate limit): datagrams
 * sent close together see nearly the same delay, and since D never falls
 * steeply, later datagrams arrive later by themselves. Nothing is held back
 * (but see the backstop), so the delays keep the distribution asked for at
 * any send rate. Real paths rarely reorder, and netcode tested against a
 * wire that reorders on every jitter sample learns the wrong lesson.
 *
 *   The path. g(t) is a cubic B-spline through independent N(0,1) knots h
 *   apart, divided by the norm of its four weights, so that g(t) is exactly
 *   N(0,1) at every t. Its correlation is 0.84 at h/2, 0.49 at h, 0.05 at 2h
 *   and 0 beyond 4h. Knot k is the draw (seed, from, to, k, JITTER_PATH), and
 *   t counts from the link's first datagram, so D is a pure function of the
 *   seed, the link, the settings and the send time.
 *   The distribution. D = latency + jitter * m(g), with m the map that turns
 *   N(0,1) into the distribution (a Gaussian copula): uniform erf(g/sqrt 2),
 *   exactly latency ± jitter; normal g.
 *   The correlation time. The slope of D is jitter * m'(g) * g', and the
 *   standard deviation of g' is at most 1.33 / h. h is chosen so that the
 *   slope's standard deviation is at most 0.25 where m is steepest: falling
 *   at -1 (an overtake) takes a 4-sigma slope at the steepest point. That is
 *   h = 5.3 * jitter * max m': 4.25 jitter for uniform, 5.3 jitter for
 *   normal (21 and 27 ms at jitter 5 ms: a 10 s run sees some 200
 *   independent delays). jitter_corr_pct stretches h by 1 / (1 - corr).
 *   Pareto. A heavy tail cannot come from such a process: whatever rises to
 *   the tail must fall back no faster than real time, and a symmetric
 *   process falls as fast as it rose, steepest where the map is. So Pareto's
 *   path is the larger of a body and congestion spikes, as queues build and
 *   drain. Spikes come as a Poisson process, each jumps up to its peak and
 *   falls at WIRE_PARETO_DRAIN µs per µs; their envelope E(t) (the largest
 *   spike still falling) has P(E <= y) = F(y) for every y above F's 80th
 *   percentile y_c when the peaks have survival (f(y) / F(y)) / (f(y_c) / F(y_c))
 *   and the rate is drain * f(y_c) / 0.8 (a shot-noise maximum:
 *   P(E <= y) = exp(-rate / drain * E[(peak - y)+])). The body, a copula
 *   process as above whose distribution F_B = F / P(E <= y) stops at y_c
 *   (h = 1.39 jitter), fills the rest, so P(max <= y) = F(y) exactly. At
 *   jitter 30 ms that is 6.3 spikes a second. Spikes are drawn per time bin,
 *   from (seed, from, to, bin, JITTER_SPIKE); peaks stop at 100 x_m.
 *   The backstop. A delivery is never due before the previous one on the
 *   link, and never closer to it than (1 - WIRE_JITTER_DRAIN) of the time
 *   between their sends: D falls at most 0.9 µs per µs, as a queue drains,
 *   so a fall the model does not make gently (a settings change, a 4-sigma
 *   slope) spreads its deliveries instead of releasing them at once. With
 *   the h above it binds for a few datagrams in 10^5.
 *
 * jitter_reorders = true gives netem's jitter instead: each datagram draws
 * its own delay from (seed, from, to, n, JITTER), with jitter_corr_pct as an
 * AR(1) on the standardised sample (which keeps the stddev, where netem's
 * mixing narrows it), and order falls where it may. Explicit reordering
 * (reorder_pct) always overtakes.
 */

enum wire_dist {
	WIRE_DIST_UNIFORM, /* latency ± jitter, flat (netem's default) */
	WIRE_DIST_NORMAL,  /* mean latency, stddev jitter */
	WIRE_DIST_PARETO,  /* Pareto, alpha 3, shifted and scaled to mean latency, stddev jitter */
	WIRE_DIST_COUNT
};

/* Fates, with the names used in fate logs, stats and reports. */
#define WIRE_FATES(X)                 \
	X(DELIVER, "deliver")         \
	X(LOSS, "loss")               \
	X(PARTITION, "partition")     \
	X(QUEUE, "queue")             \
	X(MTU, "mtu")

enum wire_fate_kind {
#define WIRE_FATE_ENUM(name, str) WIRE_FATE_##name,
	WIRE_FATES(WIRE_FATE_ENUM)
#undef WIRE_FATE_ENUM
		WIRE_FATE_COUNT
};

const char *wire_fate_name(enum wire_fate_kind kind);
const char *wire_dist_name(enum wire_dist dist);
/* Returns the distribution named by s, or -1. */
int wire_dist_parse(const char *s);

/*
 * A link's settings, in the units users give them. Fill with
 * wire_link_cfg_default(), edit, check with wire_link_cfg_validate(), then
 * hand to wire_link_configure(). Plain value type.
 */
struct wire_link_cfg {
	double latency_ms;      /* one-way, fractional allowed, 0..60000 */
	double jitter_ms;       /* 0..60000; its meaning depends on jitter_dist */
	enum wire_dist jitter_dist;
	double jitter_corr_pct; /* 0..100: per datagram, the previous sample's weight; else stretches h */
	bool jitter_reorders;   /* netem's per-datagram jitter: deliveries may overtake */

	double loss_pct;        /* 0..100: Bernoulli, or the mean loss of a burst model */
	double burst;           /* 0 = Bernoulli; >= 1 = Gilbert mean burst length, packets */
	bool ge;                /* use the four explicit Gilbert-Elliott parameters below */
	double ge_p_pct;        /* P(good -> bad) per datagram */
	double ge_r_pct;        /* P(bad -> good) per datagram */
	double ge_bad_loss_pct; /* 1-h: loss while bad */
	double ge_good_loss_pct;/* 1-k: loss while good */

	double dup_pct;         /* 0..100 */
	double dup_delay_ms;    /* a copy arrives up to this long after its original; 0..1000 */
	double reorder_pct;     /* 0..100: share of datagrams sent at once, skipping the delay */
	uint32_t reorder_gap;   /* netem's gap: 0 or 1 = any datagram; G = only every G-th */
	double corrupt_pct;     /* 0..100: one bit flipped at a random offset */
	double rate_kbit;       /* 0 = unlimited; else kbit/s (1000 bit/s), IP size counted */
	uint32_t queue_limit;   /* packets waiting for the rate limiter; drop-tail beyond */
	uint32_t mtu;           /* 0 = unlimited; else the largest IP datagram, 28..65563 */
	bool blocked;           /* partition or blackhole: nothing passes */
};

/* The defaults: a perfect link. dup_delay 1 ms, queue limit 1000 (netem's). This function can't fail. */
void wire_link_cfg_default(struct wire_link_cfg *cfg);

/*
 * Returns 0 if every field is in range, else -1 with *field set to the
 * offending field's name and *why to a sentence a user can act on.
 */
int wire_link_cfg_validate(const struct wire_link_cfg *cfg, const char **field, const char **why);

/*
 * A link's delay distribution in brief, µs. count, min_us and max_us are
 * exact, kept on every delivery. The quantiles come from the link's
 * histogram (within 1%, see hist.h) and are computed when a snapshot is
 * taken (wire_link_get_stats()); in the link's own stats they stay 0.
 */
struct wire_delay_summary {
	uint64_t count, min_us, max_us;
	uint64_t p50_us, p90_us, p99_us, p999_us;
};

/*
 * Counters of one directed link. "dropped" is indexed by enum wire_fate_kind.
 * A plain value type of about 150 bytes: the delay histogram itself is not
 * in it (see struct wire_link's delay).
 */
struct wire_link_stats {
	uint64_t sent;        /* datagrams that entered the link */
	uint64_t delivered;   /* copies handed to the receiver (originals and duplicates) */
	uint64_t bytes;       /* payload bytes delivered */
	uint64_t dropped[WIRE_FATE_COUNT];
	uint64_t duplicated;  /* extra copies made */
	uint64_t reordered;   /* datagrams sent at once, skipping the delay */
	uint64_t corrupted;   /* copies with a flipped bit */
	struct wire_delay_summary delay; /* achieved delay of each delivered copy */
};

/* One copy of a datagram to deliver. */
struct wire_copy {
	sim_time_us deliver_at_us;
	int32_t corrupt_bit;    /* bit offset into the payload to flip, or -1 */
	bool reordered;
};

/* What becomes of a datagram. ncopies is 0 when kind is a drop, else 1 or 2. */
struct wire_fate {
	uint64_t index;         /* n: this datagram's number on its link, from 0 */
	enum wire_fate_kind kind;
	uint32_t ncopies;
	struct wire_copy copy[2];
};

/*
 * One directed link from -> to. Its state advances only with its own
 * traffic. All fields are owned by the link; treat them as read-only outside
 * link.c, except stats, which the relay updates on delivery.
 */
struct wire_link {
	struct wire_link_cfg cfg;
	uint64_t seed;
	uint32_t from, to;

	/* Derived from cfg by wire_link_configure(). */
	uint64_t latency_us, jitter_us, dup_delay_us, rate_bps;
	double loss_p, ge_p, ge_r, ge_bad_loss, ge_good_loss, corr;
	double path_h_us;     /* the path's knot spacing */
	double spike_bin_us;  /* Pareto: spikes are drawn per bin of this width, a quarter of one on average */
	double spike_fall;    /* Pareto: the spikes' fall in x_m per µs */
	double spike_span_us; /* Pareto: how long the highest peak takes to fall to the floor */
	uint8_t loss_model; /* 0 none, 1 Bernoulli, 2 Gilbert-Elliott */
	bool partitioned;   /* cut by wire_model_partition(), apart from cfg.blocked */

	/* State. */
	uint64_t n;
	bool ge_bad;
	double jitter_prev;        /* previous standardised jitter sample (per-datagram jitter) */
	bool path_started;         /* path_epoch_us is set */
	sim_time_us path_epoch_us; /* the path's t = 0: when its first datagram left the rate limiter */
	int64_t knot_k;            /* a cache of the four knots around t, a function of the seed only */
	double knot_z[4];
	bool spike_valid;          /* Pareto: spike_x is the spikes' envelope at spike_t_us, in x_m */
	double spike_t_us, spike_x;
	double body_x;             /* Pareto: the body's last value, where the next solve starts */
	uint32_t reorder_count;    /* netem's gap counter */
	sim_time_us fifo_until_us; /* the latest delivery scheduled in order */
	sim_time_us fifo_sent_us;  /* and when that datagram left the rate limiter */
	sim_time_us busy_until_us; /* when the rate limiter's last datagram is out, rounded down */
	uint64_t busy_frac;        /* and the part of a µs beyond, in 1/rate_bps µs: no rounding drift */
	sim_time_us *queue_us;     /* ring of serialisation finish times, cap queue_cap */
	uint32_t queue_head, queue_len, queue_cap;

	struct wire_link_stats stats;
	/*
	 * The histogram of stats.delay, allocated at the link's first delivery
	 * and owned by the link: most links of a large model never carry a
	 * datagram, and a histogram is 10.7 KB against about 600 bytes for the
	 * rest of the link. NULL until then, or while its allocation fails.
	 */
	struct wire_hist *delay;
};

/* Sets up a link with the given settings (which must validate). Returns 0, or -ENOMEM. */
int wire_link_init(struct wire_link *link, uint64_t seed, uint32_t from, uint32_t to,
		   const struct wire_link_cfg *cfg);
/* Frees what the link owns. Safe on a zeroed link. */
void wire_link_fini(struct wire_link *link);

/*
 * Changes the settings while traffic flows; state (counters, burst state,
 * datagrams already queued) carries over. cfg must validate. Returns 0, or
 * -ENOMEM with the link unchanged.
 */
int wire_link_configure(struct wire_link *link, const struct wire_link_cfg *cfg);

/*
 * Decides the fate of the next datagram of size bytes entering the link at
 * now_us, and counts it in stats (sent, drops, duplicates, reorders,
 * corruption). A pure function of (seed, from, to, n, settings, now_us and
 * the sizes and times of the link's own earlier traffic): the loss,
 * duplicate, corruption and reorder draws depend on n alone, the rate
 * queue and every delay on the times too. This function can't fail.
 */
void wire_link_fate(struct wire_link *link, sim_time_us now_us, uint32_t size, struct wire_fate *fate);

/*
 * Counts one delivered copy of size bytes that spent delay_us on the link.
 * The first call allocates the link's delay histogram. This function can't
 * fail: if that allocation fails, the copy is still counted in
 * stats.delay's count, min and max, and only its place in the quantiles is
 * lost (the next delivery tries again; with no histogram at all the
 * quantiles read 0).
 */
void wire_link_note_delivery(struct wire_link *link, uint32_t size, uint64_t delay_us);

/* Copies the link's stats, with the delay quantiles computed from its histogram. This function can't fail. */
void wire_link_get_stats(const struct wire_link *link, struct wire_link_stats *out);

/*
 * Copies the link's delay histogram, for merging links; an empty one if the
 * link has none. This function can't fail.
 */
void wire_link_get_delay(const struct wire_link *link, struct wire_hist *out);

/* Every link between n peers, indexed [from * n + to]. The diagonal exists but carries nothing. */
struct wire_model {
	uint32_t npeers;
	uint64_t seed;
	struct wire_link *links;
};

/* Builds n*n links with the same settings. Returns 0, or -ENOMEM with nothing allocated. */
int wire_model_init(struct wire_model *m, uint32_t npeers, uint64_t seed, const struct wire_link_cfg *cfg);
void wire_model_fini(struct wire_model *m);

static inline struct wire_link *wire_model_link(struct wire_model *m, uint32_t from, uint32_t to)
{
	return &m->links[(size_t)from * m->npeers + to];
}

/*
 * Partitions the peers into groups: group[k] is peer k's group. Links
 * between different groups are cut; links within a group are opened.
 */
void wire_model_partition(struct wire_model *m, const uint32_t *group);
/* Opens every link that a partition cut. Links blocked by their own settings stay blocked. */
void wire_model_heal(struct wire_model *m);

#endif
