// SPDX-License-Identifier: MIT
// For the fuzz checks of link settings: each field's documented range, and the first field that differs.
#ifndef LOOPSIM_FUZZ_LINK_CFG_H
#define LOOPSIM_FUZZ_LINK_CFG_H

#include <math.h>

#include "fuzz.h"
#include "wire/link.h"

/*
 * The first field of c outside its documented range (link.h, and the
 * ranges link_opt_set() parses to), or NULL. Unlike
 * wire_link_cfg_validate(), no cross-field rule: each field alone.
 */
static inline const char *fz_cfg_field_out_of_range(const struct wire_link_cfg *c)
{
#define FZ_IN(v, lo, hi) (isfinite(v) && (v) >= (lo) && (v) <= (hi))
	if (!FZ_IN(c->latency_ms, 0, 60000))
		return "latency";
	if (!FZ_IN(c->jitter_ms, 0, 60000))
		return "jitter";
	if ((unsigned)c->jitter_dist >= WIRE_DIST_COUNT)
		return "jitter-dist";
	if (!FZ_IN(c->jitter_corr_pct, 0, 100) || c->jitter_corr_pct >= 100)
		return "jitter-corr";
	if (!FZ_IN(c->loss_pct, 0, 100))
		return "loss";
	if (!(c->burst == 0 || FZ_IN(c->burst, 1, 1e6)))
		return "burst";
	if (!FZ_IN(c->ge_p_pct, 0, 100) || !FZ_IN(c->ge_r_pct, 0, 100) || !FZ_IN(c->ge_bad_loss_pct, 0, 100) ||
	    !FZ_IN(c->ge_good_loss_pct, 0, 100))
		return "ge";
	if (!FZ_IN(c->dup_pct, 0, 100))
		return "dup";
	if (!FZ_IN(c->dup_delay_ms, 0, 1000))
		return "dup-delay";
	if (!FZ_IN(c->reorder_pct, 0, 100))
		return "reorder";
	if (c->reorder_gap > 1000000)
		return "reorder-gap";
	if (!FZ_IN(c->corrupt_pct, 0, 100))
		return "corrupt";
	if (!(c->rate_kbit == 0 || FZ_IN(c->rate_kbit, 1, 100e6)))
		return "rate";
	if (c->queue_limit < 1 || c->queue_limit > 1000000)
		return "queue";
	if (!(c->mtu == 0 || (c->mtu >= WIRE_IP_UDP_HEADER && c->mtu <= 65535 + WIRE_IP_UDP_HEADER)))
		return "mtu";
	return NULL;
#undef FZ_IN
}

/* The first field that differs between two link settings, or NULL; ge's parameters count only when ge is on. */
static inline const char *fz_cfg_diff(const struct wire_link_cfg *a, const struct wire_link_cfg *b)
{
#define FZ_SAME(f, name)            \
	if (!(a->f == b->f))        \
		return name;
	FZ_SAME(latency_ms, "latency")
	FZ_SAME(jitter_ms, "jitter")
	FZ_SAME(jitter_dist, "jitter-dist")
	FZ_SAME(jitter_corr_pct, "jitter-corr")
	FZ_SAME(jitter_reorders, "jitter-reorders")
	FZ_SAME(loss_pct, "loss")
	FZ_SAME(burst, "burst")
	FZ_SAME(ge, "ge")
	if (a->ge) {
		FZ_SAME(ge_p_pct, "ge p")
		FZ_SAME(ge_r_pct, "ge r")
		FZ_SAME(ge_bad_loss_pct, "ge 1-h")
		FZ_SAME(ge_good_loss_pct, "ge 1-k")
	}
	FZ_SAME(dup_pct, "dup")
	FZ_SAME(dup_delay_ms, "dup-delay")
	FZ_SAME(reorder_pct, "reorder")
	FZ_SAME(reorder_gap, "reorder-gap")
	FZ_SAME(corrupt_pct, "corrupt")
	FZ_SAME(rate_kbit, "rate")
	FZ_SAME(queue_limit, "queue")
	FZ_SAME(mtu, "mtu")
	FZ_SAME(blocked, "blocked")
	return NULL;
#undef FZ_SAME
}

#endif
