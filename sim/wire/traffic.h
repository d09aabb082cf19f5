// SPDX-License-Identifier: MIT
// A built-in UDP traffic generator: stand-in peers that send game-like datagrams through the wire.
#ifndef LOOPSIM_WIRE_TRAFFIC_H
#define LOOPSIM_WIRE_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/hist.h"

/*
 * Each stand-in peer k binds its own address 127.0.0.(k+2):0, as a real
 * peer would, and every tick sends one datagram to each of `fanout` other
 * peers' public addresses (the next ones round the ring; 0 = all). Every
 * datagram carries its link, a sequence number, its send time and an
 * XXH32 of its payload, so the receivers measure what the wire did from the
 * outside: delay, loss, order and corruption.
 */
struct wire_traffic_cfg {
	uint32_t npeers;
	const uint16_t *public_port; /* npeers entries: the wire's public ports */
	double hz;                   /* ticks per second, > 0 */
	uint32_t size;               /* payload bytes, 32..1400 */
	uint32_t fanout;             /* 0 = every other peer */
};

/* What the receivers saw, summed over every link. */
struct wire_traffic_stats {
	uint64_t sent;
	uint64_t received;
	uint64_t out_of_order; /* arrived with a sequence number at or below one already seen */
	uint64_t corrupt;      /* failed the payload hash */
	uint64_t kernel_drops; /* handed over by the wire, then lost in a stand-in peer's own full receive
				  queue (SO_RXQ_OVFL): the receivers fell behind, not the wire */
	struct wire_hist delay;/* one-way, µs, as the receiver measured it */
};

struct wire_traffic;

/* Binds every stand-in peer's socket. Returns NULL with a reason in err. */
struct wire_traffic *wire_traffic_create(const struct wire_traffic_cfg *cfg, char *err, size_t errlen);
/* Stops and frees. NULL does nothing. */
void wire_traffic_destroy(struct wire_traffic *t);
/* Starts sending on a thread of its own. Returns 0 or a negative errno. */
int wire_traffic_start(struct wire_traffic *t);
/*
 * Stops the thread, then reads whatever is still queued in the stand-in
 * peers' sockets, so that `received` counts every datagram the wire handed
 * over that the kernel kept.
 */
void wire_traffic_stop(struct wire_traffic *t);
/* Stops sending but goes on receiving, so what is in flight can land. */
void wire_traffic_pause(struct wire_traffic *t);
/* Stand-in peer k's bound (private) port. */
uint16_t wire_traffic_port(const struct wire_traffic *t, uint32_t k);
void wire_traffic_get_stats(struct wire_traffic *t, struct wire_traffic_stats *out);

#endif
