// SPDX-License-Identifier: MIT
// Peers whose traffic does not fit the wire: who they are, what the wire saw, and what to change.
#ifndef LOOPSIM_HARNESS_MISFIT_H
#define LOOPSIM_HARNESS_MISFIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/relay.h"

/*
 * Model. A peer fits the wire when it binds LOOPSIM_ADDR, sends from that
 * one socket, and makes its port known (HELLO, or its first datagram)
 * before others' datagrams to it fall due. The wire counts every datagram
 * that breaks one of these (relay.h: wire_peer_misfit, the stray sources)
 * and drops it, so a game that binds 0.0.0.0 or 127.0.0.1 plays against
 * silence and its run proves nothing about the network it was meant to
 * see. The harness turns the counts into findings, each naming the peer
 * (for a stray, the peer whose process owns the socket it came from, read
 * from /proc while the peers live), what was seen, and the fix. A finding
 * that fails the run makes it `failed`; the others are said in the summary
 * and the report only.
 *
 * Fails the run: datagrams from outside every peer's address; from a peer's
 * address on a second port (spoofed); to a live peer whose port the wire
 * never learned; from a peer that never sent its HELLO (built-in peers);
 * and a live peer that sent nothing through the wire for MISFIT_QUIET_S or
 * more (it talks to the others by another way, 127.0.0.1 most often).
 * Said only: datagrams that were due before the receiver's port became
 * known (a peer that starts listening late), and datagrams a peer sent to
 * its own address.
 */

#define MISFIT_TEXT_MAX 360
/* A live peer that sent nothing through the wire in a run this long took no part in it. */
#define MISFIT_QUIET_S 2.0

struct misfit {
	int peer;                 /* -1: no peer's process owned the source */
	const char *kind;         /* "stray", "spoofed", "unroutable", "unregistered", "bypass",
	                             "late_port", "to_self" */
	uint64_t count;           /* datagrams the wire dropped for it */
	bool fails;               /* whether it fails the run */
	char text[MISFIT_TEXT_MAX]; /* one line: the peer, what was seen, the fix */
};

/* What the harness knows at the end of a run. */
struct misfit_input {
	uint32_t npeers;
	const struct wire_peer_misfit *peer;     /* npeers */
	const uint16_t *port;                    /* npeers: the port the wire knows each peer by at the end, 0 if none */
	const bool *live;                        /* npeers: alive at the end, neither killed nor gone */
	const struct wire_stray_source *src;     /* the stray sources */
	const int *owner;                        /* nsrc: the peer whose process owned each, or -1 */
	size_t nsrc;
	uint64_t unlisted;                       /* strays from sources beyond those listed */
	const uint64_t *sent;                    /* npeers: datagrams each peer sent through the wire, to any peer */
	double played_s;                         /* how long the run played */
	bool localhost;                          /* --localhost-ports is in use */
};

/* Writes up to cap findings, failing ones first. Returns how many. */
size_t misfit_findings(const struct misfit_input *in, struct misfit *out, size_t cap);

/*
 * Parses one line of /proc/net/udp: the local address (host order), port
 * and socket inode. Returns 0, or -1 for the header or a malformed line.
 */
int misfit_parse_udp_line(const char *line, uint32_t *ip, uint16_t *port, unsigned long *inode);

/*
 * The same for /proc/net/udp6, for a socket that can carry IPv4: one bound
 * to a v4-mapped address (::ffff:a.b.c.d gives *ip = a.b.c.d) or to ::
 * (*ip = 0, as for 0.0.0.0). Returns 1 for any other IPv6 address (no
 * IPv4 datagram comes from it), 0 or -1 as above.
 */
int misfit_parse_udp6_line(const char *line, uint32_t *ip, uint16_t *port, unsigned long *inode);

/*
 * The peer whose process holds a UDP socket bound to ip:port (or to
 * 0.0.0.0:port): groups[k] is peer k's process group (0 for none). Reads
 * /proc/net/udp and /proc/PID/fd. Returns k, or -1 when no peer's process
 * holds one (or /proc cannot tell).
 */
int misfit_socket_owner(uint32_t ip, uint16_t port, const pid_t *groups, uint32_t n);

#endif
