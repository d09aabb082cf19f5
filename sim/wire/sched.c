// SPDX-License-Identifier: MIT
// The delivery scheduler: a pool of datagrams in flight and a min-heap by delivery time.
#include "wire/sched.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void wire_sched_init(struct wire_sched *s, uint32_t limit, uint32_t big_limit)
{
	memset(s, 0, sizeof *s);
	s->limit = limit ? limit : WIRE_INFLIGHT_LIMIT;
	s->big_limit = big_limit ? big_limit : WIRE_BIG_LIMIT;
}

void wire_sched_fini(struct wire_sched *s)
{
	/*
	 * A big buffer in use is attached to its packet, whether the packet is
	 * scheduled, popped or allocated and never pushed, so walk every packet
	 * of every chunk: free and released ones have data NULL. Every chunk
	 * but the last holds WIRE_PKT_CHUNK packets.
	 */
	for (uint32_t c = 0; c < s->nchunks; c++) {
		struct wire_pkt *block = s->chunks[c];
		uint32_t n = s->allocated - c * WIRE_PKT_CHUNK;
		if (n > WIRE_PKT_CHUNK)
			n = WIRE_PKT_CHUNK;
		for (uint32_t i = 0; i < n; i++)
			if (block[i].data && block[i].data != block[i].inline_data)
				free(block[i].data);
		free(block);
	}
	for (uint32_t i = 0; i < s->free_big_len; i++)
		free(s->free_big[i]);
	free(s->chunks);
	free(s->free_big);
	free(s->heap);
	memset(s, 0, sizeof *s);
}

static bool grow(struct wire_sched *s)
{
	if (s->allocated >= s->limit)
		return false;
	uint32_t n = s->limit - s->allocated < WIRE_PKT_CHUNK ? s->limit - s->allocated : WIRE_PKT_CHUNK;
	void **chunks = realloc(s->chunks, sizeof *chunks * (s->nchunks + 1));
	if (!chunks)
		return false;
	s->chunks = chunks;
	struct wire_pkt **heap = realloc(s->heap, sizeof *heap * (s->allocated + n));
	if (!heap)
		return false;
	s->heap = heap;
	struct wire_pkt *block = malloc(sizeof *block * n);
	if (!block)
		return false;
	s->chunks[s->nchunks++] = block;
	for (uint32_t i = 0; i < n; i++) {
		block[i].data = NULL; /* fini tells packets holding a big buffer by data */
		block[i].next_free = s->free_small;
		s->free_small = &block[i];
	}
	s->allocated += n;
	s->cap = s->allocated;
	return true;
}

static uint8_t *big_buffer(struct wire_sched *s)
{
	if (s->free_big_len)
		return s->free_big[--s->free_big_len];
	if (s->big_allocated >= s->big_limit)
		return NULL;
	if (!s->free_big) {
		s->free_big = malloc(sizeof *s->free_big * s->big_limit);
		if (!s->free_big)
			return NULL;
	}
	uint8_t *b = malloc(WIRE_MAX_PAYLOAD);
	if (b)
		s->big_allocated++;
	return b;
}

struct wire_pkt *wire_sched_alloc(struct wire_sched *s, uint32_t len)
{
	if (len > WIRE_MAX_PAYLOAD)
		return NULL;
	if (!s->free_small && !grow(s))
		return NULL;
	struct wire_pkt *p = s->free_small;
	if (len <= WIRE_SMALL_PAYLOAD) {
		p->data = p->inline_data;
	} else {
		p->data = big_buffer(s);
		if (!p->data)
			return NULL;
	}
	s->free_small = p->next_free;
	p->len = len;
	return p;
}

void wire_sched_release(struct wire_sched *s, struct wire_pkt *p)
{
	if (p->data != p->inline_data)
		s->free_big[s->free_big_len++] = p->data;
	p->data = NULL;
	p->next_free = s->free_small;
	s->free_small = p;
}

static bool before(const struct wire_pkt *a, const struct wire_pkt *b)
{
	return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

void wire_sched_push(struct wire_sched *s, struct wire_pkt *p)
{
	p->seq = s->next_seq++;
	uint32_t i = s->len++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!before(p, s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = p;
}

struct wire_pkt *wire_sched_pop(struct wire_sched *s)
{
	if (!s->len)
		return NULL;
	struct wire_pkt *top = s->heap[0];
	struct wire_pkt *last = s->heap[--s->len];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= s->len)
			break;
		if (c + 1 < s->len && before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!before(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->len)
		s->heap[i] = last;
	return top;
}
