// SPDX-License-Identifier: MIT
// The preload library's address map: what a localhost game believes (127.0.0.1:BASE+j) against the wire's addresses.
#ifndef LOOPSIM_PRELOAD_MAP_H
#define LOOPSIM_PRELOAD_MAP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"

/* Peers the map holds: as many as a run has (the control protocol's limit). */
#define PRELOAD_MAX_PEERS CTL_MAX_PEERS

/*
 * A game written for "several instances on one machine" believes that peer j
 * is at 127.0.0.1:BASE+j. Under loopsim, peer j's datagrams must go to its
 * public address on the wire (LOOPSIM_PEERS), and the game's own socket must
 * be bound to its own IP (LOOPSIM_ADDR), so that the wire knows who sent
 * what. The map holds both views, parsed once from the environment; after
 * preload_map_parse() it is read-only, so any thread may use it.
 *
 * Every address here is a struct sockaddr_in (or, for the dual-stack
 * functions below, a struct sockaddr_in6) in network byte order, as the
 * socket calls carry it; every function is pure and cannot fail.
 */
struct preload_map {
	uint16_t base;                            /* peer j believes it is at 127.0.0.1:base+j */
	uint32_t npeers;
	uint32_t index;                           /* this peer */
	uint32_t self_ip;                         /* LOOPSIM_ADDR, host byte order */
	uint32_t public_ip[PRELOAD_MAX_PEERS];    /* LOOPSIM_PEERS, host byte order */
	uint16_t public_port[PRELOAD_MAX_PEERS];
	int control_fd;                           /* LOOPSIM_CONTROL_FD, -1 when unset */
};

/* What the program asked a socket to be bound to, and so what getsockname() shows it. */
enum preload_asked {
	PRELOAD_ASKED_NONE = 0,  /* not rewritten: show the truth */
	PRELOAD_ASKED_ANY,       /* 0.0.0.0, or no bind at all (the library bound it before a send) */
	PRELOAD_ASKED_LOOPBACK,  /* 127.0.0.1 */
	/* The same, for a dual-stack AF_INET6 socket (the library bound it to ::ffff:LOOPSIM_ADDR). */
	PRELOAD_ASKED_ANY6,            /* ::, or no bind at all */
	PRELOAD_ASKED_LOOPBACK6,       /* ::1 */
	PRELOAD_ASKED_MAPPED_ANY,      /* ::ffff:0.0.0.0 */
	PRELOAD_ASKED_MAPPED_LOOPBACK, /* ::ffff:127.0.0.1 */
};

/*
 * Fills *m from the environment's strings (LOOPSIM_LOCALHOST_BASE,
 * LOOPSIM_ADDR, LOOPSIM_PEERS, LOOPSIM_INDEX, LOOPSIM_CONTROL_FD; control_fd
 * may be NULL). Every one is untrusted: returns 0, or -1 with a reason in err
 * naming the variable (and *m then unusable). base+npeers-1 must fit a port.
 */
int preload_map_parse(struct preload_map *m, const char *base, const char *addr, const char *peers,
		      const char *index, const char *control_fd, char *err, size_t errlen);

/* j when a is 127.0.0.1:base+j or 0.0.0.0:base+j for a peer j of the session, else -1. */
int preload_map_local_peer(const struct preload_map *m, const struct sockaddr_in *a);

/*
 * A destination the game sends to or connects to. 127.0.0.1:base+j (or
 * 0.0.0.0:base+j) becomes peer j's public address; base+index, the game
 * itself, becomes its own IP on that port (a datagram to oneself does not
 * cross the wire). Returns true with *out set, or false (leave it alone).
 */
bool preload_map_outbound(const struct preload_map *m, const struct sockaddr_in *to, struct sockaddr_in *out);

/*
 * A source address the game is shown (recvfrom, recvmsg, recvmmsg,
 * getpeername), rewritten in place: peer j's public address becomes
 * 127.0.0.1:base+j, and the game's own IP becomes 127.0.0.1 on the same port.
 * Returns whether it changed anything.
 */
bool preload_map_inbound(const struct preload_map *m, struct sockaddr_in *a);

/*
 * A bind the game asks for. 0.0.0.0:p and 127.0.0.1:p become the game's own
 * IP on port p, with *asked saying which it was. Returns true with *out and
 * *asked set, or false (leave it alone).
 */
bool preload_map_bind(const struct preload_map *m, const struct sockaddr_in *want, struct sockaddr_in *out,
		      enum preload_asked *asked);

/* The socket's own address as getsockname() shows it, in place: the game's own IP becomes what it asked for. */
bool preload_map_local_shown(const struct preload_map *m, struct sockaddr_in *a, enum preload_asked asked);

/*
 * Dual-stack AF_INET6 sockets (IPV6_V6ONLY off, Linux's default), such as
 * Java's DatagramSocket opens. Such a socket reaches 127.0.0.1 as
 * ::ffff:127.0.0.1, and a game may also write ::1 (or ::) for it. The
 * library binds the socket to the v4-mapped ::ffff:LOOPSIM_ADDR, on which it
 * carries IPv4 only, and maps addresses through the IPv4 functions above:
 * an IPv6 form stands for an IPv4 address, the rule is applied, and the
 * result is given back v4-mapped. Real IPv6 addresses are never rewritten.
 */

/*
 * The IPv4 address a dual-stack address stands for: ::ffff:a.b.c.d is
 * a.b.c.d, ::1 is 127.0.0.1 and :: is 0.0.0.0, on the same port. Returns
 * false for any other address (a real IPv6 one) or family.
 */
bool preload_map_v4_of(const struct sockaddr_in6 *a, struct sockaddr_in *out);

/* ::ffff:a.b.c.d on a's port: how a dual-stack socket carries the IPv4 address a. */
void preload_map_v4_mapped(const struct sockaddr_in *a, struct sockaddr_in6 *out);

/* preload_map_outbound() for a dual-stack destination (::ffff:127.0.0.1, ::1, ...); *out is v4-mapped. */
bool preload_map_outbound6(const struct preload_map *m, const struct sockaddr_in6 *to, struct sockaddr_in6 *out);

/*
 * preload_map_inbound() for a v4-mapped source, in place: peer j becomes
 * ::ffff:127.0.0.1:base+j, or ::1:base+j when v6_loopback (the game reaches
 * its peers at ::1, and would see them there without loopsim). Any other
 * source is left alone.
 */
bool preload_map_inbound6(const struct preload_map *m, struct sockaddr_in6 *a, bool v6_loopback);

/*
 * preload_map_bind() for a dual-stack socket: ::, ::1, ::ffff:0.0.0.0 and
 * ::ffff:127.0.0.1 on port p become ::ffff:LOOPSIM_ADDR on port p, with
 * *asked one of the PRELOAD_ASKED_*6 / MAPPED_* values. The caller checks
 * that the socket is dual-stack: an IPV6_V6ONLY socket cannot take a
 * v4-mapped address, and is left alone.
 */
bool preload_map_bind6(const struct preload_map *m, const struct sockaddr_in6 *want, struct sockaddr_in6 *out,
		       enum preload_asked *asked);

/* preload_map_local_shown() for a dual-stack socket: ::ffff:LOOPSIM_ADDR becomes what it asked for. */
bool preload_map_local_shown6(const struct preload_map *m, struct sockaddr_in6 *a, enum preload_asked asked);

#endif
