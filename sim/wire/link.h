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
 * Jitter and order. By default a delivery never overtakes an earlier one on
 * the same link: a datagram whose jittered delay would land before its
 * predecessor is held until just after it. Real paths rarely reorder, and
 * netcode tested against a wire that reorders on every jitter sample learns
 * the wrong lesson. The price is that the delay distribution is skewed
 * upward when jitter exceeds the send interval. jitter_reorders = true gives
 * netem's behaviour instead: each datagram keeps its own sampled delay, and
 * order falls where it may. Explicit reordering (reorder_pct) always
 * overtakes.
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
	double jitter_corr_pct; /* 0..100: weight of the previous jitter sample */
	bool jitter_reorders;   /* netem's jitter: deliveries may overtake */

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

/* Counters of one directed link. "dropped" is indexed by enum wire_fate_kind. */
struct wire_link_stats {
	uint64_t sent;        /* datagrams that entered the link */
	uint64_t delivered;   /* copies handed to the receiver (originals and duplicates) */
	uint64_t bytes;       /* payload bytes delivered */
	uint64_t dropped[WIRE_FATE_COUNT];
	uint64_t duplicated;  /* extra copies made */
	uint64_t reordered;   /* datagrams sent at once, skipping the delay */
	uint64_t corrupted;   /* copies with a flipped bit */
	struct wire_hist delay; /* achieved delay of each delivered copy */
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
	uint8_t loss_model; /* 0 none, 1 Bernoulli, 2 Gilbert-Elliott */
	bool partitioned;   /* cut by wire_model_partition(), apart from cfg.blocked */

	/* State. */
	uint64_t n;
	bool ge_bad;
	double jitter_prev;        /* previous standardised jitter sample */
	uint32_t reorder_count;    /* netem's gap counter */
	sim_time_us fifo_until_us; /* the latest delivery scheduled in order */
	sim_time_us busy_until_us; /* when the rate limiter's last datagram is out, rounded down */
	uint64_t busy_frac;        /* and the part of a µs beyond, in 1/rate_bps µs: no rounding drift */
	sim_time_us *queue_us;     /* ring of serialisation finish times, cap queue_cap */
	uint32_t queue_head, queue_len, queue_cap;

	struct wire_link_stats stats;
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
 * corruption). A pure function of (seed, from, to, n, settings, the link's
 * own earlier traffic). This function can't fail.
 */
void wire_link_fate(struct wire_link *link, sim_time_us now_us, uint32_t size, struct wire_fate *fate);

/* Counts one delivered copy of size bytes that spent delay_us on the link. */
void wire_link_note_delivery(struct wire_link *link, uint32_t size, uint64_t delay_us);

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
