// SPDX-License-Identifier: MIT
// The in-memory transport: endpoints in one process, a pluggable fate per datagram, virtual time.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netcode/transport.h"

struct mem_msg {
	uint64_t due_us, seq;
	uint32_t from, to;
	uint32_t len;
	uint8_t data[NC_MAX_PACKET];
};

struct mem_endpoint {
	struct nc_transport base;
	struct nc_mem_net *net;
	uint32_t index;
	bool cut;
	uint64_t now_us;  /* the latest time this endpoint polled at: its send time */
};

struct nc_mem_net {
	uint32_t n;
	nc_mem_fate_fn fate;
	void *ctx;
	struct mem_endpoint *ep;
	struct mem_msg *msg;   /* unordered; polls pick the earliest due */
	size_t len, cap;
	uint64_t next_seq;
};

static int mem_send(struct nc_transport *t, uint32_t to, const uint8_t *data, size_t len)
{
	struct mem_endpoint *e = (struct mem_endpoint *)t;
	struct nc_mem_net *net = e->net;
	if (to >= net->n || to == e->index || len > NC_MAX_PACKET)
		return -EINVAL;
	if (e->cut || net->ep[to].cut)
		return 0; /* gone: the datagram vanishes, as on a real network */
	struct nc_mem_fate f = { .ncopies = 1, .deliver_at_us = { e->now_us, 0 }, .corrupt_bit = { -1, -1 } };
	if (net->fate)
		net->fate(net->ctx, e->index, to, e->now_us, (uint32_t)len, &f);
	for (uint32_t c = 0; c < f.ncopies && c < 2; c++) {
		if (net->len == net->cap) {
			size_t cap = net->cap ? net->cap * 2 : 256;
			struct mem_msg *m = realloc(net->msg, cap * sizeof *m);
			if (!m)
				return -ENOMEM;
			net->msg = m;
			net->cap = cap;
		}
		struct mem_msg *m = &net->msg[net->len++];
		m->due_us = f.deliver_at_us[c];
		m->seq = net->next_seq++;
		m->from = e->index;
		m->to = to;
		m->len = (uint32_t)len;
		memcpy(m->data, data, len);
		if (f.corrupt_bit[c] >= 0 && (size_t)f.corrupt_bit[c] < len * 8)
			m->data[f.corrupt_bit[c] / 8] ^= (uint8_t)(1u << (f.corrupt_bit[c] % 8));
	}
	return 0;
}

static int mem_poll(struct nc_transport *t, uint64_t now_ms, struct nc_event *ev)
{
	struct mem_endpoint *e = (struct mem_endpoint *)t;
	struct nc_mem_net *net = e->net;
	e->now_us = now_ms * 1000;
	if (e->cut)
		return 0;
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < net->len; i++) {
		const struct mem_msg *m = &net->msg[i];
		if (m->to != e->index || m->due_us > e->now_us)
			continue;
		if (best == SIZE_MAX || m->due_us < net->msg[best].due_us ||
		    (m->due_us == net->msg[best].due_us && m->seq < net->msg[best].seq))
			best = i;
	}
	if (best == SIZE_MAX)
		return 0;
	struct mem_msg *m = &net->msg[best];
	ev->type = NC_EV_DATA;
	ev->peer = m->from;
	ev->len = m->len;
	memcpy(ev->data, m->data, m->len);
	net->msg[best] = net->msg[--net->len];
	return 1;
}

static void mem_destroy(struct nc_transport *t)
{
	(void)t; /* owned by the medium */
}

struct nc_mem_net *nc_mem_net_create(uint32_t n, nc_mem_fate_fn fate, void *ctx)
{
	struct nc_mem_net *net = calloc(1, sizeof *net);
	if (!net)
		return NULL;
	net->ep = calloc(n ? n : 1, sizeof *net->ep);
	if (!net->ep) {
		free(net);
		return NULL;
	}
	net->n = n;
	net->fate = fate;
	net->ctx = ctx;
	for (uint32_t k = 0; k < n; k++) {
		net->ep[k].base = (struct nc_transport){ mem_send, mem_poll, mem_destroy, NULL };
		net->ep[k].net = net;
		net->ep[k].index = k;
	}
	return net;
}

void nc_mem_net_destroy(struct nc_mem_net *net)
{
	if (!net)
		return;
	free(net->msg);
	free(net->ep);
	free(net);
}

struct nc_transport *nc_mem_endpoint(struct nc_mem_net *net, uint32_t k)
{
	return k < net->n ? &net->ep[k].base : NULL;
}

void nc_mem_net_cut(struct nc_mem_net *net, uint32_t k)
{
	if (k >= net->n)
		return;
	net->ep[k].cut = true;
	size_t j = 0;
	for (size_t i = 0; i < net->len; i++)
		if (net->msg[i].to != k && net->msg[i].from != k)
			net->msg[j++] = net->msg[i];
	net->len = j;
}

void nc_mem_net_restore(struct nc_mem_net *net, uint32_t k)
{
	if (k < net->n)
		net->ep[k].cut = false;
}

size_t nc_mem_net_inflight(const struct nc_mem_net *net)
{
	return net->len;
}
