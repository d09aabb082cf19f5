// SPDX-License-Identifier: MIT
// The ENet transport: one ENet host per peer, one connection per pair of players.
#include <arpa/inet.h>
#include <enet/enet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netcode/transport.h"

#define ENET_CHANNELS 1
/*
 * ENet's own timeout, which the session overrides with "never": the longest
 * interval ENet's wrapping clock can compare (ENET_TIME_OVERFLOW is 24 h).
 * ENet times a peer out when its reliable ping goes unacknowledged for
 * timeoutMaximum, and its retransmissions back off exponentially, so after a
 * few partitions a ping can miss every healed window for 30 s while the
 * unsequenced traffic flows both ways: ENet then cut a pair that was
 * working. Whether a silent player is lost is the session's call alone
 * (its disconnect timeout, agreed with the others); ENet reports a
 * disconnect only when the other side says goodbye.
 */
#define ENET_TIMEOUT_NEVER_MS (86400000u - 1)
/* While a pair is not yet connected, this peer announces itself this often (see announce()). */
#define ANNOUNCE_MS 200

struct enet_transport {
	struct nc_transport base;
	ENetHost *host;
	uint16_t bound_port;
	uint32_t nplayers, local;
	ENetAddress addr[NC_MAX_PLAYERS];
	ENetPeer *peer[NC_MAX_PLAYERS];   /* NULL until connected */
	bool joined;
	uint64_t last_announce_ms;
};

/*
 * Connections go from the lower index to the higher, so the highest peer
 * would never send first, and a wire that learns ports from first datagrams
 * could never reach it. Until every pair is connected, each peer sends a
 * 1-byte datagram to the players it lacks: ENet drops anything shorter than
 * its header, and the wire learns the port.
 */
static void announce(struct enet_transport *t, uint64_t now_ms)
{
	if (!t->joined || now_ms - t->last_announce_ms < ANNOUNCE_MS)
		return;
	t->last_announce_ms = now_ms;
	static const uint8_t byte = 0;
	ENetBuffer b = { .data = (void *)&byte, .dataLength = 1 };
	for (uint32_t k = 0; k < t->nplayers; k++)
		if (k != t->local && (!t->peer[k] || t->peer[k]->state != ENET_PEER_STATE_CONNECTED))
			enet_socket_send(t->host->socket, &t->addr[k], &b, 1);
}

static int enet_ready_once(void)
{
	static int state; /* 0 not yet, 1 ok, -1 failed; enet_initialize only sets up sockets on Windows */
	if (state == 0)
		state = enet_initialize() == 0 ? 1 : -1;
	return state;
}

/* The player whose address this is, or -1. */
static int player_of(const struct enet_transport *t, const ENetAddress *a)
{
	for (uint32_t k = 0; k < t->nplayers; k++)
		if (k != t->local && t->addr[k].host == a->host && t->addr[k].port == a->port)
			return (int)k;
	return -1;
}

static int enet_send(struct nc_transport *base, uint32_t to, const uint8_t *data, size_t len)
{
	struct enet_transport *t = (struct enet_transport *)base;
	if (to >= t->nplayers || !t->peer[to] || t->peer[to]->state != ENET_PEER_STATE_CONNECTED)
		return -ENOTCONN;
	ENetPacket *p = enet_packet_create(data, len, ENET_PACKET_FLAG_UNSEQUENCED);
	if (!p)
		return -ENOMEM;
	/* On success ENet owns the packet; on failure it is still ours. */
	if (enet_peer_send(t->peer[to], 0, p) < 0) {
		enet_packet_destroy(p);
		return -EIO;
	}
	/* Out now, not at the next service call a frame later: that would add a frame to every one-way trip. */
	enet_host_flush(t->host);
	return 0;
}

static int enet_poll(struct nc_transport *base, uint64_t now_ms, struct nc_event *ev)
{
	struct enet_transport *t = (struct enet_transport *)base;
	ENetEvent e;
	announce(t, now_ms); /* ENet keeps its own clock for everything else */
	for (;;) {
		int r = enet_host_service(t->host, &e, 0);
		if (r <= 0) {
			enet_host_flush(t->host);
			return 0;
		}
		int k = e.peer ? (int)(intptr_t)e.peer->data - 1 : -1;
		switch (e.type) {
		case ENET_EVENT_TYPE_CONNECT:
			k = player_of(t, &e.peer->address);
			if (k < 0) {
				/* Not one of ours: a stray or a stale session. */
				enet_peer_disconnect_now(e.peer, 0);
				continue;
			}
			e.peer->data = (void *)(intptr_t)(k + 1);
			if (t->peer[k] && t->peer[k] != e.peer) {
				/* Player k came back as a new process: its old connection is dead, drop it unannounced. */
				t->peer[k]->data = NULL;
				enet_peer_reset(t->peer[k]);
			}
			t->peer[k] = e.peer;
			enet_peer_timeout(e.peer, 0, ENET_TIMEOUT_NEVER_MS, ENET_TIMEOUT_NEVER_MS);
			/*
			 * ENet's packet throttle drops unreliable and unsequenced
			 * packets at the sender when its ping's round trip rises,
			 * which jitter and every heal do: a loss the wire never saw
			 * and the fate log cannot show. Never decelerate, so the
			 * throttle stays open and the wire alone decides fates.
			 */
			enet_peer_throttle_configure(e.peer, ENET_PEER_PACKET_THROTTLE_INTERVAL,
						     ENET_PEER_PACKET_THROTTLE_SCALE, 0);
			ev->type = NC_EV_CONNECTED;
			ev->peer = (uint32_t)k;
			ev->len = 0;
			return 1;
		case ENET_EVENT_TYPE_DISCONNECT:
			if (k < 0)
				continue;
			t->peer[k] = NULL;
			ev->type = NC_EV_DISCONNECTED;
			ev->peer = (uint32_t)k;
			ev->len = 0;
			return 1;
		case ENET_EVENT_TYPE_RECEIVE: {
			size_t len = e.packet->dataLength;
			if (k < 0 || len > NC_MAX_PACKET) {
				enet_packet_destroy(e.packet);
				continue;
			}
			ev->type = NC_EV_DATA;
			ev->peer = (uint32_t)k;
			ev->len = len;
			memcpy(ev->data, e.packet->data, len);
			enet_packet_destroy(e.packet);
			return 1;
		}
		default:
			continue;
		}
	}
}

/*
 * Player k restarted. Connections go from the lower index to the higher,
 * so when we are the lower we drop the old one and call again; when we are
 * the higher, the newcomer calls us and the CONNECT replaces the old one.
 */
static void enet_renew(struct nc_transport *base, uint32_t k)
{
	struct enet_transport *t = (struct enet_transport *)base;
	if (k >= t->nplayers || k == t->local || k < t->local)
		return;
	if (t->peer[k]) {
		t->peer[k]->data = NULL;
		enet_peer_reset(t->peer[k]);
		t->peer[k] = NULL;
	}
	ENetPeer *p = enet_host_connect(t->host, &t->addr[k], ENET_CHANNELS, 0);
	if (p)
		p->data = (void *)(intptr_t)(k + 1);
}

static void enet_destroy_transport(struct nc_transport *base)
{
	struct enet_transport *t = (struct enet_transport *)base;
	if (!t)
		return;
	if (t->host) {
		for (uint32_t k = 0; k < t->nplayers; k++)
			if (t->peer[k])
				enet_peer_disconnect_now(t->peer[k], 0);
		enet_host_flush(t->host);
		enet_host_destroy(t->host);
	}
	free(t);
}

struct nc_transport *nc_enet_create(uint32_t bind_ip, uint16_t bind_port, char *err, size_t errlen)
{
	if ((bind_ip >> 24) != 127) {
		snprintf(err, errlen, "refusing to bind outside 127.0.0.0/8");
		return NULL;
	}
	if (enet_ready_once() < 0) {
		snprintf(err, errlen, "enet_initialize failed");
		return NULL;
	}
	struct enet_transport *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->base = (struct nc_transport){ enet_send, enet_poll, enet_destroy_transport, enet_renew };
	ENetAddress a = { .host = htonl(bind_ip), .port = bind_port };
	t->host = enet_host_create(&a, NC_MAX_PLAYERS, ENET_CHANNELS, 0, 0);
	if (!t->host) {
		snprintf(err, errlen, "cannot bind an ENet host on %u.%u.%u.%u:%u", bind_ip >> 24, (bind_ip >> 16) & 255,
			 (bind_ip >> 8) & 255, bind_ip & 255, bind_port);
		free(t);
		return NULL;
	}
	/*
	 * ENet's own header and commands carry no integrity check, and the
	 * netcode's CRC covers only the payload, yet one flipped bit there can
	 * wreck a connection. A SEND_UNSEQUENCED whose group number jumps
	 * ahead moves the receiver's window there, and ENet then drops every
	 * later datagram of the pair until the real numbers catch up: up to
	 * 32768 datagrams, minutes at 60 a second, a frozen peer. A command
	 * number a bit away turns a PING into a DISCONNECT and a
	 * SEND_UNSEQUENCED into a THROTTLE_CONFIGURE; a shorter data length
	 * makes ENet read the payload as commands. ENet's checksum, a CRC-32
	 * over the whole datagram salted with the connection's id, drops such
	 * a datagram before ENet acts on any of it, so corruption costs what
	 * a loss costs. Every end must set it (4 more bytes in each header).
	 */
	t->host->checksum = enet_crc32;
	ENetAddress bound;
	if (enet_socket_get_address(t->host->socket, &bound) == 0)
		t->bound_port = bound.port;
	return &t->base;
}

uint16_t nc_enet_bound_port(struct nc_transport *base)
{
	return ((struct enet_transport *)base)->bound_port;
}

int nc_enet_connect(struct nc_transport *base, uint32_t nplayers, uint32_t local, const uint32_t *ip,
		    const uint16_t *port)
{
	struct enet_transport *t = (struct enet_transport *)base;
	if (nplayers < 1 || nplayers > NC_MAX_PLAYERS || local >= nplayers)
		return -EINVAL;
	t->nplayers = nplayers;
	t->local = local;
	for (uint32_t k = 0; k < nplayers; k++) {
		t->addr[k].host = htonl(ip[k]);
		t->addr[k].port = port[k];
	}
	for (uint32_t k = local + 1; k < nplayers; k++) {
		ENetPeer *p = enet_host_connect(t->host, &t->addr[k], ENET_CHANNELS, 0);
		if (!p)
			return -ENOMEM;
		p->data = (void *)(intptr_t)(k + 1);
	}
	t->joined = true;
	t->last_announce_ms = 0;
	return 0;
}
