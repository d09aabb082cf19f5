// SPDX-License-Identifier: MIT
// The relay's calls from other threads: ports and identity, links and partitions, stats, samples for the viewer.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "wire/relay.h"
#include "wire/relay_internal.h"

int wire_outputs_status(struct wire *w, char *err, size_t errlen)
{
	pthread_mutex_lock(&w->lock);
	int pe = w->pcap_error, fe = w->fates_error;
	if (pe && fe)
		snprintf(err, errlen, "%s: %s; %s: %s", w->pcap_path, strerror(-pe), w->fates_path, strerror(-fe));
	else if (pe || fe)
		snprintf(err, errlen, "%s: %s", pe ? w->pcap_path : w->fates_path, strerror(-(pe ? pe : fe)));
	else if (errlen)
		err[0] = '\0';
	pthread_mutex_unlock(&w->lock);
	return pe ? pe : fe;
}

uint32_t wire_npeers(const struct wire *w)
{
	return w->npeers;
}

uint64_t wire_seed(const struct wire *w)
{
	return w->seed;
}

uint16_t wire_public_port(const struct wire *w, uint32_t k)
{
	return k < w->npeers ? w->public_port[k] : 0;
}

uint16_t wire_private_port(struct wire *w, uint32_t k)
{
	if (k >= w->npeers)
		return 0;
	pthread_mutex_lock(&w->lock);
	uint16_t p = w->private_port[k];
	pthread_mutex_unlock(&w->lock);
	return p;
}

int wire_register_port(struct wire *w, uint32_t k, uint16_t port)
{
	if (k >= w->npeers || port == 0)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	w->private_port[k] = port;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int wire_set_multi_socket(struct wire *w, uint32_t k, bool on)
{
	if (k >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	w->multi_socket[k] = on;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void wire_forget_port(struct wire *w, uint32_t k)
{
	if (k >= w->npeers)
		return;
	pthread_mutex_lock(&w->lock);
	w->private_port[k] = 0;
	pthread_mutex_unlock(&w->lock);
}

int wire_set_link(struct wire *w, int from, int to, const struct wire_link_cfg *cfg)
{
	const char *field, *why;
	if (from < -1 || to < -1 || from >= (int)w->npeers || to >= (int)w->npeers ||
	    wire_link_cfg_validate(cfg, &field, &why) < 0)
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&w->lock);
	for (uint32_t i = 0; i < w->npeers && r == 0; i++)
		for (uint32_t j = 0; j < w->npeers && r == 0; j++)
			if ((from < 0 || (uint32_t)from == i) && (to < 0 || (uint32_t)to == j))
				r = wire_link_configure(wire_model_link(&w->model, i, j), cfg);
	pthread_mutex_unlock(&w->lock);
	return r;
}

int wire_get_link(struct wire *w, uint32_t from, uint32_t to, struct wire_link_cfg *out)
{
	if (from >= w->npeers || to >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	*out = wire_model_link(&w->model, from, to)->cfg;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

bool wire_link_partitioned(struct wire *w, uint32_t from, uint32_t to)
{
	if (from >= w->npeers || to >= w->npeers)
		return false;
	pthread_mutex_lock(&w->lock);
	bool cut = wire_model_link(&w->model, from, to)->partitioned;
	pthread_mutex_unlock(&w->lock);
	return cut;
}

void wire_partition(struct wire *w, const uint32_t *group)
{
	pthread_mutex_lock(&w->lock);
	if (group)
		wire_model_partition(&w->model, group);
	else
		wire_model_heal(&w->model);
	pthread_mutex_unlock(&w->lock);
}

int wire_link_stats(struct wire *w, uint32_t from, uint32_t to, struct wire_link_stats *out)
{
	if (from >= w->npeers || to >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	wire_link_get_stats(wire_model_link(&w->model, from, to), out);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int wire_link_delay(struct wire *w, uint32_t from, uint32_t to, struct wire_hist *out)
{
	if (from >= w->npeers || to >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	wire_link_get_delay(wire_model_link(&w->model, from, to), out);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

uint32_t wire_sample_flights(struct wire *w, struct wire_flight *out, uint32_t max, uint64_t *total)
{
	pthread_mutex_lock(&w->lock);
	uint32_t len = w->sched.len, n = 0;
	*total = len;
	/* A stride over the heap's array: an even sample of what flies, in bounded time. */
	uint32_t stride = max && len > max ? (len + max - 1) / max : 1;
	for (uint32_t i = 0; i < len && n < max; i += stride) {
		const struct wire_pkt *p = w->sched.heap[i];
		out[n++] = (struct wire_flight){ (uint16_t)p->from, (uint16_t)p->to, p->sent_us, p->due_us, p->kind, p->label };
	}
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint32_t wire_recent_drops(struct wire *w, uint64_t *cursor, struct wire_drop *out, uint32_t max)
{
	pthread_mutex_lock(&w->lock);
	uint64_t from = *cursor;
	if (w->ndrops > WIRE_DROP_RING && from < w->ndrops - WIRE_DROP_RING)
		from = w->ndrops - WIRE_DROP_RING;
	if (w->ndrops - from > max)
		from = w->ndrops - max;
	uint32_t n = 0;
	for (uint64_t i = from; i < w->ndrops; i++)
		out[n++] = w->drops[i % WIRE_DROP_RING];
	*cursor = w->ndrops;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void wire_all_link_stats(struct wire *w, struct wire_link_stats *out)
{
	/* A link at a time: each computes its quantiles, and the relay waits for one, not for all. */
	for (size_t k = 0; k < (size_t)w->npeers * w->npeers; k++) {
		pthread_mutex_lock(&w->lock);
		wire_link_get_stats(&w->model.links[k], &out[k]);
		pthread_mutex_unlock(&w->lock);
	}
}

void wire_get_totals(struct wire *w, struct wire_totals *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->totals;
	out->inflight = w->sched.len;
	pthread_mutex_unlock(&w->lock);
}

int wire_peer_misfit(struct wire *w, uint32_t k, struct wire_peer_misfit *out)
{
	if (k >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	*out = w->misfit[k];
	pthread_mutex_unlock(&w->lock);
	return 0;
}

size_t wire_stray_sources(struct wire *w, struct wire_stray_source *out, size_t cap, uint64_t *unlisted)
{
	pthread_mutex_lock(&w->lock);
	size_t n = w->nstray_src < cap ? w->nstray_src : cap;
	memcpy(out, w->stray_src, n * sizeof *out);
	if (unlisted)
		*unlisted = w->stray_unlisted;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int wire_link_lateness(struct wire *w, uint32_t from, uint32_t to, struct wire_hist *out)
{
	if (from >= w->npeers || to >= w->npeers)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	const struct wire_hist *h = w->lateness[(size_t)from * w->npeers + to];
	if (h)
		*out = *h;
	else
		memset(out, 0, sizeof *out); /* no delivery yet */
	pthread_mutex_unlock(&w->lock);
	return 0;
}
