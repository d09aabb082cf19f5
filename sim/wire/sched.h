// SPDX-License-Identifier: MIT
// The delivery scheduler: a pool of datagrams in flight and a min-heap by delivery time.
#ifndef LOOPSIM_WIRE_SCHED_H
#define LOOPSIM_WIRE_SCHED_H

#include <stdint.h>

#include "wire/link.h"

/* Payloads up to this size live inside the packet; larger ones borrow a big buffer. */
#define WIRE_SMALL_PAYLOAD 2048u
/* The largest UDP payload over IPv4. */
#define WIRE_MAX_PAYLOAD 65507u
/* Packets come in chunks of this many; a chunk is allocated the first time the pool needs it. */
#define WIRE_PKT_CHUNK 1024u
/* Default bounds on what may be in flight at once, across all links. */
#define WIRE_INFLIGHT_LIMIT 65536u
#define WIRE_BIG_LIMIT 256u

/*
 * A datagram's kind, for the viewer. The one definition: relay.h's struct
 * wire_flight and view.h's enum view_dot_kind carry the same numbers,
 * tied with _Static_assert where the harness hands one to the other
 * (harness/run_view.c).
 */
enum wire_pkt_kind { WIRE_PKT_PLAIN, WIRE_PKT_DUP, WIRE_PKT_CORRUPT, WIRE_PKT_REORDER, WIRE_PKT_KINDS };

struct wire_pkt {
	sim_time_us due_us;   /* when to deliver */
	sim_time_us sent_us;  /* when it entered the wire */
	uint64_t seq;         /* ties on due_us go first-in first-out */
	uint32_t from, to;
	uint32_t len;
	uint8_t kind;         /* enum wire_pkt_kind */
	uint8_t label;        /* enum wire_label of its ENet header */
	uint8_t *data;        /* inline_data, or a big buffer owned by the pool */
	struct wire_pkt *next_free;
	uint8_t inline_data[WIRE_SMALL_PAYLOAD];
};

/*
 * Memory is bounded: at most `limit` packets and `big_limit` big buffers
 * exist. When the pool is full, wire_sched_alloc() returns NULL and the
 * caller drops the datagram and counts it; nothing blocks, nothing grows
 * past the bound. The per-datagram path allocates only when the pool first
 * grows into a new chunk.
 */
struct wire_sched {
	struct wire_pkt **heap;
	uint32_t len, cap;            /* heap entries; cap tracks packets allocated */
	struct wire_pkt *free_small;
	uint8_t **free_big;           /* stack of spare big buffers */
	uint32_t free_big_len, big_allocated;
	uint32_t allocated, limit, big_limit;
	uint64_t next_seq;
	void **chunks;
	uint32_t nchunks;
};

/* Sets up an empty scheduler with the given bounds (0 = the defaults). This function can't fail. */
void wire_sched_init(struct wire_sched *s, uint32_t limit, uint32_t big_limit);
/* Frees every packet and buffer, in flight or not. */
void wire_sched_fini(struct wire_sched *s);

/* A packet with room for len bytes (len <= WIRE_MAX_PAYLOAD), or NULL if the pool is at its bound. */
struct wire_pkt *wire_sched_alloc(struct wire_sched *s, uint32_t len);
/* Returns a packet that will not be scheduled. */
void wire_sched_release(struct wire_sched *s, struct wire_pkt *p);
/* Schedules p for p->due_us; the scheduler owns it until popped. */
void wire_sched_push(struct wire_sched *s, struct wire_pkt *p);
/* The next packet due, or NULL. */
static inline struct wire_pkt *wire_sched_peek(const struct wire_sched *s)
{
	return s->len ? s->heap[0] : NULL;
}
/* Removes and returns the next packet due; the caller owns it until wire_sched_release(). */
struct wire_pkt *wire_sched_pop(struct wire_sched *s);

#endif
