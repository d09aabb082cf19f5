// SPDX-License-Identifier: MIT
// The desync oracle.
#include "harness/oracle.h"

#include <stdlib.h>
#include <string.h>

#include "game/game.h"

/* Reference states kept for the bundle's diff: the last few, by frame. */
#define REF_KEEP 1024

struct log {
	uint64_t *hash;
	uint8_t *have;      /* 1 if hash[f] was reported */
	uint8_t *inputs;    /* npeers bytes per frame */
	uint8_t *have_in;
	uint32_t len, cap;  /* frames: one past the highest reported */
	bool gone;
};

struct oracle {
	uint32_t n;
	bool reference;
	struct log *peer;
	uint32_t next;      /* the next frame to compare */
	bool found;
	/* The reference re-simulation. */
	struct game_state ref;
	uint32_t ref_frames;            /* frames simulated */
	uint64_t *ref_hash;             /* after frame f */
	uint32_t ref_cap;
	struct game_state *ref_states;  /* ring of REF_KEEP states after frame f */
};

static bool grow(struct log *l, uint32_t n, uint32_t frames)
{
	if (frames <= l->cap)
		return true;
	uint32_t cap = l->cap ? l->cap : 1024;
	while (cap < frames)
		cap *= 2;
	uint64_t *h = realloc(l->hash, sizeof *h * cap);
	if (h)
		l->hash = h;
	uint8_t *hv = realloc(l->have, cap);
	if (hv)
		l->have = hv;
	uint8_t *in = realloc(l->inputs, (size_t)cap * n);
	if (in)
		l->inputs = in;
	uint8_t *hi = realloc(l->have_in, cap);
	if (hi)
		l->have_in = hi;
	if (!h || !hv || !in || !hi)
		return false;
	memset(l->have + l->cap, 0, cap - l->cap);
	memset(l->have_in + l->cap, 0, cap - l->cap);
	l->cap = cap;
	return true;
}

struct oracle *oracle_create(uint32_t npeers, bool reference, uint64_t seed)
{
	struct oracle *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->n = npeers;
	o->peer = calloc(npeers ? npeers : 1, sizeof *o->peer);
	o->reference = reference && npeers >= 2 && npeers <= GAME_MAX_PLAYERS;
	if (o->reference) {
		o->ref_states = malloc(sizeof *o->ref_states * REF_KEEP);
		if (!o->ref_states || game_init(&o->ref, npeers, seed) < 0)
			o->reference = false;
	}
	if (!o->peer) {
		oracle_destroy(o);
		return NULL;
	}
	return o;
}

void oracle_destroy(struct oracle *o)
{
	if (!o)
		return;
	for (uint32_t k = 0; o->peer && k < o->n; k++) {
		free(o->peer[k].hash);
		free(o->peer[k].have);
		free(o->peer[k].inputs);
		free(o->peer[k].have_in);
	}
	free(o->peer);
	free(o->ref_hash);
	free(o->ref_states);
	free(o);
}

void oracle_checksum(struct oracle *o, uint32_t k, uint32_t frame, uint64_t hash)
{
	if (k >= o->n || frame == UINT32_MAX || !grow(&o->peer[k], o->n, frame + 1))
		return;
	struct log *l = &o->peer[k];
	l->hash[frame] = hash;
	l->have[frame] = 1;
	if (frame + 1 > l->len)
		l->len = frame + 1;
}

/* Steps the reference over every frame whose inputs some peer has reported, in order. */
static void advance_reference(struct oracle *o)
{
	while (o->reference) {
		uint32_t f = o->ref_frames;
		const uint8_t *in = NULL;
		for (uint32_t k = 0; k < o->n && !in; k++)
			if (f < o->peer[k].cap && o->peer[k].have_in[f])
				in = o->peer[k].inputs + (size_t)f * o->n;
		if (!in)
			return;
		if (f + 1 > o->ref_cap) {
			uint32_t cap = o->ref_cap ? o->ref_cap * 2 : 1024;
			uint64_t *h = realloc(o->ref_hash, sizeof *h * cap);
			if (!h)
				return;
			o->ref_hash = h;
			o->ref_cap = cap;
		}
		game_input gi[GAME_MAX_PLAYERS] = { 0 };
		memcpy(gi, in, o->n);
		game_step(&o->ref, gi);
		o->ref_hash[f] = game_hash(&o->ref);
		o->ref_states[f % REF_KEEP] = o->ref;
		o->ref_frames = f + 1;
	}
}

void oracle_inputs(struct oracle *o, uint32_t k, uint32_t frame, const uint8_t *inputs, uint32_t n)
{
	if (k >= o->n || n != o->n || frame == UINT32_MAX || !grow(&o->peer[k], o->n, frame + 1))
		return;
	struct log *l = &o->peer[k];
	memcpy(l->inputs + (size_t)frame * o->n, inputs, n);
	l->have_in[frame] = 1;
	advance_reference(o);
}

void oracle_peer_gone(struct oracle *o, uint32_t k)
{
	if (k < o->n)
		o->peer[k].gone = true;
}

void oracle_peer_back(struct oracle *o, uint32_t k)
{
	if (k < o->n)
		o->peer[k].gone = false;
}

/* Every live peer has reported beyond frame f (or no peer is live). */
static bool all_past(const struct oracle *o, uint32_t f)
{
	uint32_t live = 0;
	for (uint32_t k = 0; k < o->n; k++) {
		if (o->peer[k].gone)
			continue;
		live++;
		if (o->peer[k].len <= f)
			return false;
	}
	return live > 0;
}

static void verdict(struct oracle *o, uint32_t f, struct run_desync *d)
{
	memset(d, 0, sizeof *d);
	d->found = true;
	d->frame = f;
	uint32_t votes[RUN_MAX_PEERS] = { 0 }, present = 0;
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++) {
		const struct log *l = &o->peer[k];
		if (f >= l->len || !l->have[f])
			continue;
		d->known_mask |= 1ull << k;
		d->checksum[k] = l->hash[f];
		present++;
	}
	/* votes[k]: how many present peers share peer k's checksum. */
	uint32_t best = 0, best_count = 0;
	bool tie = false;
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++) {
		if (!(d->known_mask >> k & 1))
			continue;
		for (uint32_t j = 0; j < o->n && j < RUN_MAX_PEERS; j++)
			votes[k] += (d->known_mask >> j & 1) && d->checksum[j] == d->checksum[k];
		if (votes[k] > best_count) {
			best_count = votes[k];
			best = k;
			tie = false;
		} else if (votes[k] == best_count && d->checksum[k] != d->checksum[best]) {
			tie = true;
		}
	}
	uint64_t truth;
	bool have_truth = false;
	if (!tie && best_count * 2 > present) {
		truth = d->checksum[best];
		have_truth = true;
	} else if (oracle_reference_checksum(o, f, &truth) == 0) {
		have_truth = true;
	}
	for (uint32_t k = 0; k < o->n && k < RUN_MAX_PEERS; k++)
		if ((d->known_mask >> k & 1) && (!have_truth || d->checksum[k] != truth))
			d->peers[d->npeers++] = k;
}

int oracle_check(struct oracle *o, struct run_desync *d)
{
	while (!o->found && all_past(o, o->next)) {
		uint32_t f = o->next;
		uint64_t first = 0;
		bool seen = false, differ = false;
		for (uint32_t k = 0; k < o->n; k++) {
			const struct log *l = &o->peer[k];
			if (f >= l->len || !l->have[f])
				continue;
			if (seen && l->hash[f] != first)
				differ = true;
			first = seen ? first : l->hash[f];
			seen = true;
		}
		if (differ) {
			if (o->reference && o->ref_frames <= f && o->n == 2)
				return 0; /* two peers: only the reference can name the odd one out */
			verdict(o, f, d);
			o->found = true;
			return 1;
		}
		o->next++;
	}
	return 0;
}

int64_t oracle_agreed(const struct oracle *o)
{
	return (int64_t)o->next - 1;
}

int oracle_peer_checksum(const struct oracle *o, uint32_t k, uint32_t frame, uint64_t *out)
{
	if (k >= o->n || frame >= o->peer[k].len || !o->peer[k].have[frame])
		return -1;
	*out = o->peer[k].hash[frame];
	return 0;
}

int oracle_peer_inputs(const struct oracle *o, uint32_t k, uint32_t frame, uint8_t *out)
{
	if (k >= o->n || frame >= o->peer[k].cap || !o->peer[k].have_in[frame])
		return -1;
	memcpy(out, o->peer[k].inputs + (size_t)frame * o->n, o->n);
	return 0;
}

uint32_t oracle_peer_frames(const struct oracle *o, uint32_t k)
{
	return k < o->n ? o->peer[k].len : 0;
}

int oracle_reference_checksum(const struct oracle *o, uint32_t frame, uint64_t *out)
{
	if (!o->reference || frame >= o->ref_frames)
		return -1;
	*out = o->ref_hash[frame];
	return 0;
}

int oracle_reference_state(const struct oracle *o, uint32_t frame, void *game_state_out)
{
	if (!o->reference || frame >= o->ref_frames || frame + REF_KEEP < o->ref_frames)
		return -1;
	memcpy(game_state_out, &o->ref_states[frame % REF_KEEP], sizeof(struct game_state));
	return 0;
}
