// SPDX-License-Identifier: MIT
// A sweep's plan: how runs are numbered and sharded, and each run's chaos timeline drawn from its seed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/sweep.h"
#include "wire/rng.h"

void sweep_run_at(uint64_t index, uint64_t seed_from, uint64_t nseeds, uint32_t repeat, struct sweep_run_id *out)
{
	uint64_t per_scn = nseeds * repeat;
	out->index = index;
	out->scenario = (uint32_t)(index / per_scn);
	out->seed = seed_from + index % per_scn / repeat;
	out->repeat = (uint32_t)(index % repeat);
}

uint64_t sweep_shard_count(uint64_t total, uint32_t shard, uint32_t nshards)
{
	return total / nshards + (shard < total % nshards ? 1 : 0);
}

/* ---- chaos --------------------------------------------------------------------------------------------- */

static const char *const chaos_names[SWEEP_CHAOS_COUNT] = { "none", "low", "medium", "high" };
static const char *const fault_names[SWEEP_FAULT_COUNT] = { "partition", "spike", "loss-burst", "storm", "kill" };

/* Per minute of the window at none, low, medium, high; and how long each lasts. */
const struct sweep_fault_spec sweep_fault_specs[SWEEP_FAULT_COUNT] = {
	[SWEEP_FAULT_PARTITION] = { { 0, 1, 2, 4 }, 1.0, 3.0 },
	[SWEEP_FAULT_SPIKE] = { { 0, 2, 4, 8 }, 0.5, 3.0 },
	[SWEEP_FAULT_LOSS] = { { 0, 2, 4, 8 }, 0.5, 2.0 },
	[SWEEP_FAULT_STORM] = { { 0, 1, 2, 4 }, 1.0, 4.0 },
	[SWEEP_FAULT_KILL] = { { 0, 0, 1, 2 }, 0.5, 2.0 }, /* kill to restart; the rejoin follows */
};

/* A spike adds 100-400 ms; a loss burst is 20-60 %; a storm duplicates and reorders 5-20 % each. */
#define CHAOS_SPIKE_MS_MIN 100.0
#define CHAOS_SPIKE_MS_MAX 400.0
#define CHAOS_LOSS_MIN 20.0
#define CHAOS_LOSS_MAX 60.0
#define CHAOS_STORM_MIN 5.0
#define CHAOS_STORM_MAX 20.0
/* A restarted built-in peer is back once the others have dropped it (its disconnect timeout) and it took a state. */
#define CHAOS_REJOIN_S 3.0
/* The most faults of one kind a window draws, whatever its length. */
#define CHAOS_MAX_PER_KIND 16u

int sweep_chaos_parse(const char *s)
{
	for (int i = 0; i < SWEEP_CHAOS_COUNT; i++)
		if (strcmp(s, chaos_names[i]) == 0)
			return i;
	return -1;
}

const char *sweep_chaos_name(enum sweep_chaos level)
{
	return (unsigned)level < SWEEP_CHAOS_COUNT ? chaos_names[level] : "?";
}

const char *sweep_fault_name(enum sweep_fault_kind kind)
{
	return (unsigned)kind < SWEEP_FAULT_COUNT ? fault_names[kind] : "?";
}

/* Fields of a fault's draws: each (kind, field, n) is a stream of its own. */
enum { F_COUNT, F_START, F_LENGTH, F_PEER_A, F_PEER_B, F_SIZE, F_SIZE2, F_PICK, F_SIDE = 64 };

static double draw(uint64_t seed, uint32_t kind, uint32_t field, uint64_t n)
{
	return wire_rng_unit(seed, kind, field, n, WIRE_RNG_CHAOS);
}

static double draw_in(uint64_t seed, uint32_t kind, uint32_t field, uint64_t n, double lo, double hi)
{
	return lo + (hi - lo) * draw(seed, kind, field, n);
}

/* Poisson(lambda) by inversion: few events per window, so the walk is short. */
static uint32_t draw_poisson(uint64_t seed, uint32_t kind, double lambda)
{
	double u = draw(seed, kind, F_COUNT, 0), p = exp(-lambda), cdf = p;
	uint32_t n = 0;
	while (u > cdf && n < CHAOS_MAX_PER_KIND) {
		n++;
		p *= lambda / n;
		cdf += p;
	}
	return n;
}

/* The shortest text that reads back as v. */
static void fmt_exact(double v, char *buf, size_t cap)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* The settings of link from->to at t_s under the scenario's own timeline (its first base events only). */
static int link_at(const struct scenario *s, uint32_t nbase, uint32_t from, uint32_t to, double t_s,
		   struct wire_link_cfg *c)
{
	char err[256];
	if (scn_link_cfg(s, from, to, c, err, sizeof err) < 0)
		return -1;
	for (uint32_t k = 0; k < nbase && s->events[k].at_s <= t_s; k++) {
		const struct scn_event *e = &s->events[k];
		if (e->kind == SCN_EV_SET_LINK && scn_setting_covers(&e->set, from, to) &&
		    scn_setting_apply(s, &e->set, c, err, sizeof err) < 0)
			return -1;
	}
	return 0;
}

static struct scn_event *add_event(struct scenario *s, double at_s, enum scn_event_kind kind)
{
	if (s->nevents >= SCN_MAX_EVENTS)
		return NULL;
	struct scn_event *e = &s->events[s->nevents++];
	memset(e, 0, sizeof *e);
	e->at_s = at_s;
	e->kind = kind;
	return e;
}

static bool add_set(struct scenario *s, double at_s, uint32_t from, uint32_t to, const char *key, double v)
{
	struct scn_event *e = add_event(s, at_s, SCN_EV_SET_LINK);
	if (!e)
		return false;
	e->set.from = (int)from;
	e->set.to = (int)to;
	snprintf(e->set.key, sizeof e->set.key, "%s", key);
	fmt_exact(v, e->set.value, sizeof e->set.value);
	return true;
}

/* A link setting raised on a <-> b for the fault, then set back to what the scenario has there at its end. */
static bool add_link_fault(struct scenario *s, uint32_t nbase, const struct sweep_fault *f, uint32_t a, uint32_t b,
			   const char *key, double raised, bool add)
{
	const uint32_t ends[2][2] = { { a, b }, { b, a } };
	for (int d = 0; d < 2; d++) {
		struct wire_link_cfg at_start, at_end;
		uint32_t from = ends[d][0], to = ends[d][1];
		if (link_at(s, nbase, from, to, f->start_s, &at_start) < 0 ||
		    link_at(s, nbase, from, to, f->end_s, &at_end) < 0)
			return false;
		double before = 0, after = 0;
		if (strcmp(key, "latency") == 0) {
			before = at_start.latency_ms;
			after = at_end.latency_ms;
		} else if (strcmp(key, "loss") == 0) {
			/* Setting loss turns a Gilbert-Elliott model off, and setting it back would not restore it. */
			if (at_start.ge || at_end.ge || at_start.burst > 0 || at_end.burst > 0)
				return false;
			before = at_start.loss_pct;
			after = at_end.loss_pct;
		} else if (strcmp(key, "dup") == 0) {
			before = at_start.dup_pct;
			after = at_end.dup_pct;
		} else if (strcmp(key, "reorder") == 0) {
			before = at_start.reorder_pct;
			after = at_end.reorder_pct;
		}
		double v = add ? before + raised : (raised > before ? raised : before);
		if (v > 100 && strcmp(key, "latency") != 0)
			v = 100;
		if (!add_set(s, f->start_s, from, to, key, v) || !add_set(s, f->end_s, from, to, key, after))
			return false;
	}
	return true;
}

/* Stable by time: the scenario's own events keep their order, and a fault's start comes before a later end. */
static void sort_events(struct scenario *s)
{
	for (uint32_t i = 1; i < s->nevents; i++) {
		struct scn_event e = s->events[i];
		uint32_t j = i;
		while (j > 0 && s->events[j - 1].at_s > e.at_s) {
			s->events[j] = s->events[j - 1];
			j--;
		}
		s->events[j] = e;
	}
}

/* Adds fault f's events. False, with the timeline as it was, if they do not fit or would not pass scn_check. */
static bool add_fault(struct scenario *s, uint32_t nbase, const struct sweep_fault *f, uint64_t seed, uint32_t n)
{
	struct scenario *before = malloc(sizeof *before);
	if (!before)
		return false;
	*before = *s;
	uint32_t peers = s->peers, kind = f->kind;
	uint32_t a = (uint32_t)(draw(seed, kind, F_PEER_A, n) * peers) % peers;
	uint32_t b = (a + 1 + (uint32_t)(draw(seed, kind, F_PEER_B, n) * (peers - 1)) % (peers - 1)) % peers;
	bool ok = true;
	switch (f->kind) {
	case SWEEP_FAULT_PARTITION: {
		/* Two sides, each peer on one by a draw of its own; never all on one side. */
		bool side[SCN_MAX_PEERS];
		uint32_t on_b = 0;
		for (uint32_t k = 0; k < peers; k++)
			on_b += side[k] = draw(seed, kind, F_SIDE + k, n) < 0.5;
		if (on_b == 0 || on_b == peers)
			side[a] = !side[a];
		struct scn_event *e = add_event(s, f->start_s, SCN_EV_PARTITION);
		if (!e)
			break;
		size_t len = 0;
		for (int g = 0; g < 2; g++) {
			if (g)
				len += (size_t)snprintf(e->groups + len, sizeof e->groups - len, " |");
			for (uint32_t k = 0; k < peers && len < sizeof e->groups; k++)
				if (side[k] == (g == 1))
					len += (size_t)snprintf(e->groups + len, sizeof e->groups - len, "%s%u",
								len ? " " : "", k);
		}
		ok = len < sizeof e->groups && add_event(s, f->end_s, SCN_EV_HEAL);
		break;
	}
	case SWEEP_FAULT_SPIKE:
		ok = add_link_fault(s, nbase, f, a, b, "latency",
				    draw_in(seed, kind, F_SIZE, n, CHAOS_SPIKE_MS_MIN, CHAOS_SPIKE_MS_MAX), true);
		break;
	case SWEEP_FAULT_LOSS:
		ok = add_link_fault(s, nbase, f, a, b, "loss",
				    draw_in(seed, kind, F_SIZE, n, CHAOS_LOSS_MIN, CHAOS_LOSS_MAX), false);
		break;
	case SWEEP_FAULT_STORM:
		ok = add_link_fault(s, nbase, f, a, b, "dup",
				    draw_in(seed, kind, F_SIZE, n, CHAOS_STORM_MIN, CHAOS_STORM_MAX), false) &&
		     add_link_fault(s, nbase, f, a, b, "reorder",
				    draw_in(seed, kind, F_SIZE2, n, CHAOS_STORM_MIN, CHAOS_STORM_MAX), false);
		break;
	case SWEEP_FAULT_KILL: {
		/* The restart is f's start plus its drawn length; f's end is when the peer is expected back. */
		double restart = f->start_s + draw_in(seed, kind, F_LENGTH, n, sweep_fault_specs[kind].min_s,
						       sweep_fault_specs[kind].max_s);
		struct scn_event *k1 = add_event(s, f->start_s, SCN_EV_KILL);
		struct scn_event *k2 = k1 ? add_event(s, restart, SCN_EV_RESTART) : NULL;
		if (k2)
			k1->peer = k2->peer = a;
		ok = k2 != NULL;
		break;
	}
	default:
		ok = false;
	}
	char err[256];
	if (ok) {
		sort_events(s);
		ok = scn_check(s, err, sizeof err) == 0;
	}
	if (!ok)
		*s = *before;
	free(before);
	return ok;
}

static bool overlaps(const struct sweep_fault *faults, size_t n, enum sweep_fault_kind kind, double a, double b)
{
	for (size_t i = 0; i < n; i++)
		if (faults[i].kind == kind && faults[i].start_s < b && a < faults[i].end_s)
			return true;
	return false;
}

/* Draws fault n of kind into *f; false when the window has no room for it. */
static bool draw_fault(const struct scenario *s, uint64_t seed, uint32_t kind, uint32_t n, double w0, double w1,
		       struct sweep_fault *f)
{
	const struct sweep_fault_spec *sp = &sweep_fault_specs[kind];
	double max_s = sp->max_s;
	if (kind == SWEEP_FAULT_PARTITION && max_s > s->disconnect_s / 2)
		max_s = s->disconnect_s / 2; /* the sides must not drop each other */
	double len = draw_in(seed, kind, F_LENGTH, n, sp->min_s, max_s);
	if (kind == SWEEP_FAULT_KILL) {
		if (s->peers < 3)
			return false; /* the survivor of two would be compared with no one */
		len = sp->max_s + s->disconnect_s + CHAOS_REJOIN_S;
	}
	if (len > w1 - w0)
		return false;
	f->kind = kind;
	f->start_s = draw_in(seed, kind, F_START, n, w0, w1 - len);
	f->end_s = f->start_s + len;
	/* Times in ms, so that the file says them exactly and short. */
	f->start_s = round(f->start_s * 1000) / 1000;
	f->end_s = round(f->end_s * 1000) / 1000;
	return true;
}

static int fault_cmp(const void *a, const void *b)
{
	const struct sweep_fault *x = a, *y = b;
	if (x->start_s != y->start_s)
		return x->start_s < y->start_s ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

size_t sweep_chaos_draw(struct scenario *s, enum sweep_chaos level, uint64_t seed, struct sweep_fault *faults,
			size_t cap)
{
	if (level == SWEEP_CHAOS_NONE || (unsigned)level >= SWEEP_CHAOS_COUNT || s->peers < 2)
		return 0;
	double w0 = SWEEP_CHAOS_LEAD_S, w1 = s->duration_s - SWEEP_CHAOS_TAIL_S;
	if (w1 - w0 < 0.5)
		return 0;
	uint32_t nbase = s->nevents;
	size_t nf = 0;
	double total_rate = 0;
	for (uint32_t kind = 0; kind < SWEEP_FAULT_COUNT; kind++) {
		double rate = sweep_fault_specs[kind].per_min[level];
		total_rate += rate;
		uint32_t count = rate > 0 ? draw_poisson(seed, kind, rate * (w1 - w0) / 60.0) : 0;
		for (uint32_t n = 0; n < count && nf < cap; n++) {
			struct sweep_fault f;
			if (draw_fault(s, seed, kind, n, w0, w1, &f) && !overlaps(faults, nf, f.kind, f.start_s, f.end_s) &&
			    add_fault(s, nbase, &f, seed, n))
				faults[nf++] = f;
		}
	}
	if (nf == 0 && cap > 0 && total_rate > 0) {
		/* Nothing drawn in an open window: one fault, its kind chosen in proportion to the rates. */
		double pick = draw(seed, SWEEP_FAULT_COUNT, F_PICK, 0) * total_rate;
		uint32_t first = 0;
		while (first + 1 < SWEEP_FAULT_COUNT && (pick -= sweep_fault_specs[first].per_min[level]) >= 0)
			first++;
		/* That kind, or the next one that fits (a kill needs 3 peers and a long window). */
		for (uint32_t i = 0; i < SWEEP_FAULT_COUNT && nf == 0; i++) {
			uint32_t kind = (first + i) % SWEEP_FAULT_COUNT;
			struct sweep_fault f;
			/* n = CHAOS_MAX_PER_KIND: streams the Poisson count above never reaches. */
			if (sweep_fault_specs[kind].per_min[level] > 0 &&
			    draw_fault(s, seed, kind, CHAOS_MAX_PER_KIND, w0, w1, &f) &&
			    add_fault(s, nbase, &f, seed, CHAOS_MAX_PER_KIND))
				faults[nf++] = f;
		}
	}
	qsort(faults, nf, sizeof *faults, fault_cmp);
	return nf;
}

const char *sweep_fault_at(const struct sweep_fault *faults, size_t n, double t_s)
{
	const struct sweep_fault *best = NULL;
	for (size_t i = 0; i < n; i++)
		if (faults[i].start_s <= t_s && t_s <= faults[i].end_s + SWEEP_FAULT_AFTERMATH_S &&
		    (!best || faults[i].start_s >= best->start_s))
			best = &faults[i];
	return best ? sweep_fault_name(best->kind) : "none";
}
