// SPDX-License-Identifier: MIT
// Snapshots copied in, and the history the graph strip draws from.
#include "view/view_int.h"

/* ---- Snapshots ---------------------------------------------------------------------------- */

/* Copies what src uses into dst, counts clamped to the arrays; netcode is copied into buf. */
void view__snapshot_copy(struct view_snapshot *dst, const struct view_snapshot *src, char *buf, size_t buflen)
{
	dst->t_s = src->t_s;
	dst->duration_s = src->duration_s;
	snprintf(buf, buflen, "%s", src->netcode ? src->netcode : "");
	dst->netcode = buf;
	dst->seed = src->seed;
	dst->npeers = min_u32(src->npeers, VIEW_MAX_PEERS);
	memcpy(dst->peer, src->peer, sizeof dst->peer[0] * dst->npeers);
	for (uint32_t k = 0; k < dst->npeers; k++) {
		struct view_peer *p = &dst->peer[k];
		p->addr[sizeof p->addr - 1] = 0;
		p->nships = (uint8_t)min_u32(p->nships, VIEW_MAX_SHIPS);
		p->nbullets = (uint8_t)min_u32(p->nbullets, VIEW_MAX_BULLETS);
	}
	dst->nlinks = min_u32(src->nlinks, VIEW_MAX_LINKS);
	memcpy(dst->link, src->link, sizeof dst->link[0] * dst->nlinks);
	dst->ndots = min_u32(src->ndots, VIEW_MAX_DOTS);
	dst->dots_hidden = src->dots_hidden;
	memcpy(dst->dot, src->dot, sizeof dst->dot[0] * dst->ndots);
	dst->nmarks = min_u32(src->nmarks, VIEW_MAX_MARKS);
	memcpy(dst->mark, src->mark, sizeof dst->mark[0] * dst->nmarks);
	dst->nevents = min_u32(src->nevents, VIEW_MAX_EVENTS);
	memcpy(dst->event, src->event, sizeof dst->event[0] * dst->nevents);
	for (uint32_t i = 0; i < dst->nevents; i++)
		dst->event[i].label[sizeof dst->event[i].label - 1] = 0;
	dst->desync = src->desync;
	dst->desync.peers[sizeof dst->desync.peers - 1] = 0;
	dst->desync.field[sizeof dst->desync.field - 1] = 0;
	memcpy(dst->status, src->status, sizeof dst->status);
	dst->status[sizeof dst->status - 1] = 0;
}

const struct view_link *view__find_link(const struct view_snapshot *s, uint32_t from, uint32_t to)
{
	for (uint32_t i = 0; i < s->nlinks; i++)
		if (s->link[i].from == from && s->link[i].to == to)
			return &s->link[i];
	return NULL;
}

/* ---- History ------------------------------------------------------------------------------- */

void view__hist_reset(struct hist *h, uint32_t npeers)
{
	h->npeers = npeers;
	h->npairs = npeers * npeers;
	h->len = 0;
	h->head = VIEW_HIST_LEN - 1;
	memset(h->seen, 0, sizeof h->seen);
	memset(h->rb_since, 0, sizeof h->rb_since);
	h->gen++;
}

/* Takes a sample of s when VIEW_HIST_HZ says it is due. */
void view__hist_ingest(struct hist *h, const struct view_snapshot *s)
{
	if (s->npeers != h->npeers || (h->len && s->t_s < h->t[h->head] - 0.5))
		view__hist_reset(h, s->npeers); /* another session, or a replay that started over */
	for (uint32_t k = 0; k < s->npeers; k++)
		if (s->peer[k].last_rollback > h->rb_since[k])
			h->rb_since[k] = s->peer[k].last_rollback;
	if (h->len && s->t_s < h->t[h->head] + 1.0 / VIEW_HIST_HZ - 1e-6)
		return;
	uint32_t i = (h->head + 1) % VIEW_HIST_LEN;
	h->gen++;
	h->dt[i] = h->len ? (float)(s->t_s - h->t[h->head]) : 0;
	h->t[i] = s->t_s;
	h->head = i;
	if (h->len < VIEW_HIST_LEN)
		h->len++;
	for (uint32_t k = 0; k < s->npeers; k++) {
		h->rtt[i][k] = s->peer[k].rtt_ms;
		h->rb[i][k] = (uint16_t)min_u32(h->rb_since[k], UINT16_MAX);
		h->rb_since[k] = 0;
	}
	uint16_t *dv = h->deliv + (size_t)i * h->npairs, *dr = h->drop + (size_t)i * h->npairs;
	memset(dv, 0, sizeof *dv * h->npairs);
	memset(dr, 0, sizeof *dr * h->npairs);
	uint64_t all_dv = 0, all_dr = 0;
	for (uint32_t l = 0; l < s->nlinks; l++) {
		const struct view_link *k = &s->link[l];
		if (k->from >= s->npeers || k->to >= s->npeers)
			continue;
		uint32_t p = k->from * s->npeers + k->to;
		uint64_t ddv = 0, ddr = 0;
		if (h->seen[p]) {
			/* A counter that went backwards was reset: count from the new value. */
			ddv = k->delivered >= h->prev_deliv[p] ? k->delivered - h->prev_deliv[p] : 0;
			ddr = k->dropped >= h->prev_drop[p] ? k->dropped - h->prev_drop[p] : 0;
		}
		h->seen[p] = 1;
		h->prev_deliv[p] = k->delivered;
		h->prev_drop[p] = k->dropped;
		dv[p] = (uint16_t)(ddv > UINT16_MAX ? UINT16_MAX : ddv);
		dr[p] = (uint16_t)(ddr > UINT16_MAX ? UINT16_MAX : ddr);
		all_dv += ddv;
		all_dr += ddr;
	}
	h->all_deliv[i] = (uint32_t)(all_dv > UINT32_MAX ? UINT32_MAX : all_dv);
	h->all_drop[i] = (uint32_t)(all_dr > UINT32_MAX ? UINT32_MAX : all_dr);
}

/* The ring slot of the n-th sample, oldest first. */
uint32_t view__hist_slot(const struct hist *h, uint32_t n)
{
	return (h->head + VIEW_HIST_LEN - h->len + 1 + n) % VIEW_HIST_LEN;
}

/* Counts in slot i for link pair p (p < 0: all links). */
void view__hist_counts(const struct hist *h, uint32_t i, int p, double *dv, double *dr)
{
	if (p < 0) {
		*dv = h->all_deliv[i];
		*dr = h->all_drop[i];
	} else {
		*dv = h->deliv[(size_t)i * h->npairs + (uint32_t)p];
		*dr = h->drop[(size_t)i * h->npairs + (uint32_t)p];
	}
}

int view_link_rates(const struct view *v, uint32_t from, uint32_t to, float *delivered_per_s, float *dropped_per_s)
{
	const struct hist *h = v->hist;
	if (from >= h->npeers || to >= h->npeers || !h->seen[from * h->npeers + to] || h->len == 0)
		return -1;
	double sv = 0, sr = 0, st = 0, now = h->t[h->head];
	for (uint32_t n = h->len; n-- > 0;) {
		uint32_t i = view__hist_slot(h, n);
		if (h->t[i] <= now - VIEW_RATE_WINDOW_S)
			break;
		double dv, dr;
		view__hist_counts(h, i, (int)(from * h->npeers + to), &dv, &dr);
		sv += dv;
		sr += dr;
		st += h->dt[i];
	}
	*delivered_per_s = st > 0 ? (float)(sv / st) : 0;
	*dropped_per_s = st > 0 ? (float)(sr / st) : 0;
	return 0;
}
