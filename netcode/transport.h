// SPDX-License-Identifier: MIT
// The transport interface the session talks through, with an ENet backend and an in-memory one.
#ifndef LOOPSIM_NC_TRANSPORT_H
#define LOOPSIM_NC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netcode/proto.h"

/*
 * A transport moves unreliable datagrams between players, addressed by
 * player index, and reports connections coming and going. Time is passed in
 * (ms); a transport never reads the clock itself except where a real
 * library (ENet) insists. Backends embed struct nc_transport as their first
 * member.
 */
enum nc_event_type { NC_EV_NONE, NC_EV_CONNECTED, NC_EV_DISCONNECTED, NC_EV_DATA };

struct nc_event {
	enum nc_event_type type;
	uint32_t peer;
	size_t len;
	uint8_t data[NC_MAX_PACKET];
};

struct nc_transport {
	/* Sends len bytes to player `to`, unreliable. Returns 0 or a negative errno (-ENOTCONN before connect). */
	int (*send)(struct nc_transport *t, uint32_t to, const uint8_t *data, size_t len);
	/* Takes the next event due at now_ms. Returns 1 with *ev filled, 0 when none is waiting. */
	int (*poll)(struct nc_transport *t, uint64_t now_ms, struct nc_event *ev);
	/* Frees the transport. */
	void (*destroy)(struct nc_transport *t);
	/*
	 * Player `k`'s process was replaced by a new one at the same public
	 * address: forget the old connection and make a new one. NULL when the
	 * medium has no connections to renew.
	 */
	void (*renew)(struct nc_transport *t, uint32_t k);
};

/* --- In-memory: every endpoint in one process, in virtual time. ---------------------------------------- */

/* What the medium does to one datagram: up to two copies, each with a delivery time and maybe a flipped bit. */
struct nc_mem_fate {
	uint32_t ncopies;            /* 0 = lost */
	uint64_t deliver_at_us[2];
	int32_t corrupt_bit[2];      /* -1 = intact */
};

/*
 * Decides a datagram's fate; the tests plug the wire's link model in here,
 * so the netcode runs under exactly the impairments the real wire applies.
 */
typedef void (*nc_mem_fate_fn)(void *ctx, uint32_t from, uint32_t to, uint64_t now_us, uint32_t size,
			       struct nc_mem_fate *out);

struct nc_mem_net;

/* A medium for n endpoints. fate NULL delivers everything at once, intact. Returns NULL on allocation failure. */
struct nc_mem_net *nc_mem_net_create(uint32_t n, nc_mem_fate_fn fate, void *ctx);
/* Frees the medium, its endpoints and everything in flight. NULL does nothing. */
void nc_mem_net_destroy(struct nc_mem_net *net);
/* Endpoint k, owned by the medium (its destroy does nothing). */
struct nc_transport *nc_mem_endpoint(struct nc_mem_net *net, uint32_t k);
/* Takes endpoint k off the medium (a crash): nothing reaches it or leaves it any more. */
void nc_mem_net_cut(struct nc_mem_net *net, uint32_t k);
/* Puts endpoint k back (its process restarted): what was in flight to it when it was cut is gone. */
void nc_mem_net_restore(struct nc_mem_net *net, uint32_t k);
/* Datagrams in flight, for tests. */
size_t nc_mem_net_inflight(const struct nc_mem_net *net);

/* --- ENet: real UDP on loopback. ------------------------------------------------------------------------ */

/*
 * Creates an ENet host bound to bind_ip:bind_port (host byte order; port 0
 * lets the OS choose). Returns NULL with a reason in err. The host checks
 * ENet's CRC-32 checksum on every datagram, so it talks only to hosts that
 * do the same: a corrupted datagram is dropped whole, as if lost.
 */
struct nc_transport *nc_enet_create(uint32_t bind_ip, uint16_t bind_port, char *err, size_t errlen);
/* The port the OS gave the host. */
uint16_t nc_enet_bound_port(struct nc_transport *t);
/*
 * Joins the mesh: ip[k]:port[k] is how this peer reaches player k (the
 * public addresses, through the wire). Connections go from the lower index
 * to the higher, so each pair has exactly one. Returns 0 or a negative errno.
 */
int nc_enet_connect(struct nc_transport *t, uint32_t nplayers, uint32_t local, const uint32_t *ip,
		    const uint16_t *port);

#endif
