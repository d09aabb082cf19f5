// SPDX-License-Identifier: MIT
// Fuzz check of the link settings by name: one key = value, or a list; results in range, failures without effect.
#ifndef LOOPSIM_FUZZ_CHECK_WIRE_OPTS_H
#define LOOPSIM_FUZZ_CHECK_WIRE_OPTS_H

#include "wire/link_opts.h"
#include "fuzz_link_cfg.h"

/*
 * Input: byte 0 picks the call (bit 0: link_opt_set or link_opt_set_list)
 * and the starting settings (bit 1: the defaults, or the defaults with an
 * explicit Gilbert-Elliott model); the rest is "key=value" split at the
 * first '=' for link_opt_set, or the whole list for link_opt_set_list.
 */
#define FZ_WO_WHAT "--fuzz"

static inline void fz_wo_start(struct wire_link_cfg *c, unsigned pick)
{
	wire_link_cfg_default(c);
	if (pick & 2) {
		c->ge = true;
		c->ge_p_pct = 1;
		c->ge_r_pct = 20;
		c->ge_bad_loss_pct = 100;
		c->ge_good_loss_pct = 0;
	}
}

/* after with the fields that key may change (link_opts.h) put back from before: must then equal before. */
static inline const char *fz_wo_changed_elsewhere(const char *key, const struct wire_link_cfg *before,
						  const struct wire_link_cfg *after)
{
	struct wire_link_cfg c = *after;
	const struct wire_link_cfg *b = before;
	if (strcmp(key, "preset") == 0) {
		c.latency_ms = b->latency_ms;
		c.jitter_ms = b->jitter_ms;
		c.loss_pct = b->loss_pct;
		c.rate_kbit = b->rate_kbit;
		c.ge = b->ge;
	} else if (strcmp(key, "latency") == 0) {
		c.latency_ms = b->latency_ms;
	} else if (strcmp(key, "jitter") == 0) {
		c.jitter_ms = b->jitter_ms;
	} else if (strcmp(key, "jitter-dist") == 0) {
		c.jitter_dist = b->jitter_dist;
	} else if (strcmp(key, "jitter-corr") == 0) {
		c.jitter_corr_pct = b->jitter_corr_pct;
	} else if (strcmp(key, "jitter-reorders") == 0) {
		c.jitter_reorders = b->jitter_reorders;
	} else if (strcmp(key, "loss") == 0) {
		c.loss_pct = b->loss_pct;
		c.ge = b->ge;
	} else if (strcmp(key, "burst") == 0) {
		c.burst = b->burst;
		c.ge = b->ge;
	} else if (strcmp(key, "ge") == 0) {
		c.ge = b->ge;
		c.ge_p_pct = b->ge_p_pct;
		c.ge_r_pct = b->ge_r_pct;
		c.ge_bad_loss_pct = b->ge_bad_loss_pct;
		c.ge_good_loss_pct = b->ge_good_loss_pct;
	} else if (strcmp(key, "dup") == 0) {
		c.dup_pct = b->dup_pct;
	} else if (strcmp(key, "dup-delay") == 0) {
		c.dup_delay_ms = b->dup_delay_ms;
	} else if (strcmp(key, "reorder") == 0) {
		c.reorder_pct = b->reorder_pct;
	} else if (strcmp(key, "reorder-gap") == 0) {
		c.reorder_gap = b->reorder_gap;
	} else if (strcmp(key, "corrupt") == 0) {
		c.corrupt_pct = b->corrupt_pct;
	} else if (strcmp(key, "rate") == 0) {
		c.rate_kbit = b->rate_kbit;
	} else if (strcmp(key, "queue") == 0) {
		c.queue_limit = b->queue_limit;
	} else if (strcmp(key, "mtu") == 0) {
		c.mtu = b->mtu;
	} else if (strcmp(key, "blocked") == 0) {
		c.blocked = b->blocked;
	} else {
		return "an unknown key was accepted";
	}
	return fz_cfg_diff(before, &c);
}

/* Returns 1 if accepted, 0 if refused (err then says why). */
static inline int fz_wire_opts_one(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	unsigned pick = len > 0 ? data[0] : 0;
	const uint8_t *text = data + (len > 0), *end = data + len;
	size_t n = (size_t)(end - text);
	struct wire_link_cfg before, c;
	fz_wo_start(&before, pick);
	c = before;
	err[0] = '\0';
	int rc;
	if (!(pick & 1)) {
		const uint8_t *eq = memchr(text, '=', n);
		char *key = fz_cstr(text, eq ? (size_t)(eq - text) : n);
		char *value = fz_cstr(eq ? eq + 1 : end, eq ? (size_t)(end - eq - 1) : 0);
		rc = link_opt_set(&c, key, value, FZ_WO_WHAT, err, errlen);
		if (rc == 0) {
			FZ_REQUIRE(link_opt_find(key), "'%s' is no setting, but was accepted", key);
			const char *other = fz_wo_changed_elsewhere(key, &before, &c);
			FZ_REQUIRE(!other, "%s = '%s' changed %s", key, value, other);
			const char *bad = fz_cfg_field_out_of_range(&c);
			FZ_REQUIRE(!bad, "%s = '%s' left %s out of range", key, value, bad);
		}
		free(key);
		free(value);
	} else {
		char *list = fz_cstr(text, n);
		rc = link_opt_set_list(&c, list, FZ_WO_WHAT, err, errlen);
		if (rc == 0) {
			const char *bad = fz_cfg_field_out_of_range(&c);
			FZ_REQUIRE(!bad, "'%s' left %s out of range", list, bad);
		}
		/* A list of one item is that item. */
		char *eq = strchr(list, '=');
		if (eq && !strchr(list, ',')) {
			struct wire_link_cfg one = before;
			char err1[512];
			*eq = '\0';
			int rc1 = link_opt_set(&one, list, eq + 1, FZ_WO_WHAT, err1, sizeof err1);
			FZ_REQUIRE(rc1 == rc, "'%s=%s' as a list %s, alone %s", list, eq + 1, rc ? "fails" : "works",
				   rc1 ? "fails" : "works");
			FZ_REQUIRE(rc || !fz_cfg_diff(&c, &one), "'%s=%s' as a list and alone give other %s", list, eq + 1,
				   fz_cfg_diff(&c, &one));
		}
		free(list);
	}
	FZ_REQUIRE(rc == 0 || rc == -1, "returned %d", rc);
	if (rc < 0) {
		FZ_REQUIRE(!fz_cfg_diff(&c, &before), "a refused setting changed %s", fz_cfg_diff(&c, &before));
		FZ_REQUIRE(fz_starts_with(err, FZ_WO_WHAT ": "), "the error '%s' does not name what it parses", err);
	}
	return rc == 0;
}

#endif
