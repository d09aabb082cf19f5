// SPDX-License-Identifier: MIT
// The address plan: peer k lives at 127.0.0.(k+2), carrying on into 127.0.1.x.
#ifndef LOOPSIM_WIRE_ADDR_H
#define LOOPSIM_WIRE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Peer 0's address, host byte order: 127.0.0.2. */
#define WIRE_ADDR_BASE 0x7f000002u
/* The plan runs from 127.0.0.2 to 127.0.1.255: 510 peers. */
#define WIRE_MAX_PEERS 510u
/* Room for "127.255.255.255:65535" and a NUL. */
#define WIRE_ADDR_STRLEN 24

/* Peer k's IPv4 address, host byte order; k < WIRE_MAX_PEERS. */
static inline uint32_t wire_peer_ip(uint32_t k)
{
	return WIRE_ADDR_BASE + k;
}

/* The peer that owns ip (host byte order) in a session of npeers, or -1. */
static inline int wire_ip_peer(uint32_t ip, uint32_t npeers)
{
	uint32_t k = ip - WIRE_ADDR_BASE;
	return ip >= WIRE_ADDR_BASE && k < npeers ? (int)k : -1;
}

static inline bool wire_ip_is_loopback(uint32_t ip)
{
	return (ip >> 24) == 127;
}

/* Writes "a.b.c.d" (port 0) or "a.b.c.d:port" into buf. Returns buf. */
char *wire_addr_str(char *buf, size_t cap, uint32_t ip, uint16_t port);

#endif
