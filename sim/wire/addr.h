// SPDX-License-Identifier: MIT
// The address plan: peer k lives at base + k (127.0.0.(k+2) by default), carrying on past .255.
#ifndef LOOPSIM_WIRE_ADDR_H
#define LOOPSIM_WIRE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Peer 0's address by default, host byte order: 127.0.0.2. */
#define WIRE_ADDR_BASE 0x7f000002u
/* A plan holds 510 peers: 127.0.0.2 to 127.0.1.255 from the default base. */
#define WIRE_MAX_PEERS 510u
/* Room for "127.255.255.255:65535" and a NUL. */
#define WIRE_ADDR_STRLEN 24

/*
 * Peer 0's address in this process, host byte order. One process runs one
 * session's plan, so the base is the process's: the command line sets it
 * once with wire_addr_set_base(), before any wire, peer or thread starts,
 * and it is read-only from then on. Concurrent sessions (`loopsim sweep`)
 * are separate processes, each with a base of its own (127.S.0.2), so that
 * their wires and peers never see each other's traffic.
 */
extern uint32_t wire__addr_base;

/*
 * Sets the base. The whole plan (base to base + WIRE_MAX_PEERS - 1) must lie
 * inside 127.0.0.0/8 and above 127.0.0.1, which --localhost-ports games own.
 * Returns 0, or -EINVAL with the base unchanged.
 */
int wire_addr_set_base(uint32_t base);

/*
 * Parses a base as "a.b.c.d" for `what` (a flag's name). Returns 0 with the
 * address in *out (host byte order), or -1 with a message naming `what` in
 * err: not an address, or a plan that would leave 127.0.0.0/8.
 */
int wire_addr_parse_base(const char *what, const char *s, uint32_t *out, char *err, size_t errlen);

/* Peer k's IPv4 address, host byte order; k < WIRE_MAX_PEERS. */
static inline uint32_t wire_peer_ip(uint32_t k)
{
	return wire__addr_base + k;
}

/* The peer that owns ip (host byte order) in a session of npeers, or -1. */
static inline int wire_ip_peer(uint32_t ip, uint32_t npeers)
{
	uint32_t k = ip - wire__addr_base;
	return ip >= wire__addr_base && k < npeers ? (int)k : -1;
}

static inline bool wire_ip_is_loopback(uint32_t ip)
{
	return (ip >> 24) == 127;
}

/* Writes "a.b.c.d" (port 0) or "a.b.c.d:port" into buf. Returns buf. */
char *wire_addr_str(char *buf, size_t cap, uint32_t ip, uint16_t port);

#endif
