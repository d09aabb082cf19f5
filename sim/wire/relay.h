// SPDX-License-Identifier: MIT
// The relay: real loopback sockets around the link model, on a thread of its own.
#ifndef LOOPSIM_WIRE_RELAY_H
#define LOOPSIM_WIRE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/capture.h"
#include "wire/link.h"

/*
 * Model (see DESIGN.md, "How a datagram travels"): peer k owns the IP
 * 127.0.0.(k+2). The wire binds one public socket W_k on that IP. A datagram
 * that arrives on W_j from IP of peer i is the link i->j; after its fate it
 * leaves from W_i towards peer j's private port, so every peer sees every
 * other at its own public address. A datagram from an IP that is no peer's,
 * or from a peer to its own public socket, is a stray: counted and dropped.
 *
 * Sender identity: peer k's private port is registered (its HELLO,
 * wire_register_port()) or, unless registered_ports_only, learned from its
 * first datagram. Once known, a datagram from k's IP on another port is
 * spoofed: counted and dropped, never taken for k's. Before it is known, a
 * datagram from k's IP under registered_ports_only is a stray. A peer marked
 * multi-socket (it sends from several sockets) is known by its IP alone,
 * and deliveries to it go to its one known port.
 *
 * Timing: a datagram's delay counts from the kernel's receive stamp on W_j,
 * so it is never delivered before arrival + delay. Its achieved delay (the
 * link's delay histogram) and its lateness (when sendmmsg handed it to the
 * kernel, minus when it was due) are both measured after the send returns,
 * so they include whatever the relay's own load adds.
 *
 * Threads: wire_start() runs the relay on its own thread; every other
 * function here may be called from any thread while it runs. Settings take
 * effect for the next datagram that enters the link.
 */

struct wire_config {
	uint32_t npeers;              /* 1..WIRE_MAX_PEERS */
	uint64_t seed;
	struct wire_link_cfg link;    /* every link starts with these settings */
	const char *pcap_path;        /* NULL: no capture */
	const char *fates_path;       /* NULL: no fate log */
	uint32_t inflight_limit;      /* datagrams in flight across all links; 0 = WIRE_INFLIGHT_LIMIT */
	bool registered_ports_only;   /* learn no port from traffic: wire_register_port() only (HELLO) */
	const uint8_t *multi_socket;  /* NULL, or npeers flags: 1 marks a multi-socket peer (wire_set_multi_socket()) */
	/*
	 * NULL, or a fate log to replay (capture.h): the n-th datagram on each
	 * link gets the fate, delays, copies and flags of that (link, n) in the
	 * log, whatever the timing of this run; one the log lacks gets the
	 * model's own. Borrowed: it must outlive the wire.
	 */
	const struct wire_fate_table *replay;
};

/* Totals that belong to no link. */
struct wire_totals {
	uint64_t received;      /* datagrams read from public sockets */
	uint64_t strays;        /* from no peer's address, or to the sender's own public socket */
	uint64_t pool_full;     /* dropped because the in-flight bound was reached */
	uint64_t unroutable;    /* due, but the receiver's port was never learned */
	uint64_t send_errors;   /* sendmmsg refused the datagram */
	uint64_t kernel_drops;  /* the kernel dropped them before the wire read them (SO_RXQ_OVFL) */
	uint64_t inflight;      /* scheduled and not yet delivered */
	uint64_t unprioritised; /* 1 if the relay could not raise its scheduling priority (not root) */
	uint64_t spoofed;       /* from a peer's IP on a port other than its known one: dropped */
	uint64_t replayed;      /* with a replay log: datagrams given their logged fate */
	uint64_t unreplayed;    /* with a replay log: datagrams it had no record of, given the model's fate */
};

/*
 * Where a peer's traffic did not fit the wire, per peer: what a user needs to
 * tell which of their programs is misconfigured and how. Each is also in the
 * totals (strays, spoofed, unroutable).
 */
struct wire_peer_misfit {
	uint64_t unroutable;      /* due to this peer while its port was unknown: dropped */
	uint64_t spoofed;         /* from its IP on a port other than its known one: dropped */
	uint16_t spoofed_port;    /* the last such port */
	uint64_t early;           /* from its IP before its HELLO named a port (registered_ports_only): dropped */
	uint16_t early_port;      /* the last such port */
	uint64_t to_self;         /* sent to its own public address: dropped */
};

/* A source outside every peer's IP (127.0.0.1, a foreign address) that sent to the wire. */
struct wire_stray_source {
	uint32_t ip;              /* host order */
	uint16_t port;
	uint32_t to;              /* the peer whose public address it sent to first */
	uint64_t count;
};
/* Distinct stray sources the wire keeps; those beyond are only counted. */
#define WIRE_STRAY_SOURCES 16

struct wire;

/* Defaults: 1 peer, seed 1, perfect links, no capture. This function can't fail. */
void wire_config_default(struct wire_config *cfg);

/*
 * Binds the public sockets and opens the captures. Returns 0 with the wire
 * in *out; or a negative errno with *out NULL and a reason in err, having
 * undone every step: -EINVAL for a configuration that cannot work (peers,
 * link settings), else what the system refused (-EADDRINUSE, -ENOMEM, a
 * capture's -EACCES ...).
 */
int wire_create(const struct wire_config *cfg, struct wire **out, char *err, size_t errlen);
/* Stops the thread if it runs, closes the captures (as wire_stop()), frees everything. NULL does nothing. */
void wire_destroy(struct wire *w);

/* Starts the relay thread. Returns 0 or a negative errno. */
int wire_start(struct wire *w);
/*
 * Stops the relay thread, then flushes and closes the captures (so they are
 * complete on disk when it returns, and a wire once stopped captures no
 * more); datagrams still in flight are dropped and counted. Calling it again
 * does nothing more.
 */
void wire_stop(struct wire *w);

/*
 * Whether the captures (pcap, fate log) were written whole: every write,
 * flush and close of each is checked, and the first error of each kept.
 * Final after wire_stop(), whose last flush and close often are where a full
 * device (/dev/full, ENOSPC) shows; before it, what has shown so far.
 * Returns 0, or the first failing output's negative errno (the pcap's, when
 * both failed) with "PATH: reason" in err ("PCAP: reason; FATES: reason"
 * when both did); err is "" on 0.
 */
int wire_outputs_status(struct wire *w, char *err, size_t errlen);

uint32_t wire_npeers(const struct wire *w);
uint64_t wire_seed(const struct wire *w);
/* The public port of peer k's socket W_k. */
uint16_t wire_public_port(const struct wire *w, uint32_t k);
/* Peer k's private port, 0 while unknown. */
uint16_t wire_private_port(struct wire *w, uint32_t k);
/* Registers peer k's private port (from its HELLO). Returns 0, or -EINVAL for a bad k. */
int wire_register_port(struct wire *w, uint32_t k, uint16_t port);
/*
 * Forgets peer k's port (its process restarted): the next datagram from its
 * address teaches it again, or, with registered_ports_only, its next HELLO.
 */
void wire_forget_port(struct wire *w, uint32_t k);
/*
 * Marks peer k as sending from several sockets (on), or from its one known
 * port (off, the default). Returns 0, or -EINVAL for a bad k.
 */
int wire_set_multi_socket(struct wire *w, uint32_t k, bool on);

/*
 * Changes the settings of link from->to; from or to may be -1 for every
 * peer. cfg must validate. Returns 0, -EINVAL for a bad peer or setting, or
 * -ENOMEM with nothing changed.
 */
int wire_set_link(struct wire *w, int from, int to, const struct wire_link_cfg *cfg);
/* Copies link from->to's settings. Returns 0 or -EINVAL. */
int wire_get_link(struct wire *w, uint32_t from, uint32_t to, struct wire_link_cfg *out);
/* Whether a partition cuts from->to now (a link's own `blocked` setting aside). */
bool wire_link_partitioned(struct wire *w, uint32_t from, uint32_t to);
/* Splits the peers into groups (group[k] for peer k) or, with group NULL, heals every partition. */
void wire_partition(struct wire *w, const uint32_t *group);

/* Copies peer k's misfit counters. Returns 0 or -EINVAL. */
int wire_peer_misfit(struct wire *w, uint32_t k, struct wire_peer_misfit *out);
/*
 * Copies up to cap of the stray sources seen so far, the first seen first,
 * and returns how many it copied; *unlisted (may be NULL) gets the strays
 * from sources beyond WIRE_STRAY_SOURCES.
 */
size_t wire_stray_sources(struct wire *w, struct wire_stray_source *out, size_t cap, uint64_t *unlisted);

/*
 * Copies the stats of link from->to, with its delay quantiles computed under
 * the lock (a walk of the histogram's occupied buckets, typically a few
 * hundred). Returns 0 or -EINVAL.
 */
int wire_link_stats(struct wire *w, uint32_t from, uint32_t to, struct wire_link_stats *out);
/*
 * Copies every link's stats, as wire_link_stats() does: out has npeers *
 * npeers entries, [from * npeers + to]. Each link's copy is whole; the links
 * are copied one lock at a time, so the relay never waits for more than one
 * (they may be microseconds apart).
 */
void wire_all_link_stats(struct wire *w, struct wire_link_stats *out);
/*
 * Copies link from->to's whole delay histogram (10.7 KB), for merging
 * several links' delays; empty if the link delivered nothing. The stats
 * carry the quantiles one link needs. Returns 0 or -EINVAL.
 */
int wire_link_delay(struct wire *w, uint32_t from, uint32_t to, struct wire_hist *out);
void wire_get_totals(struct wire *w, struct wire_totals *out);

/*
 * Copies link from->to's lateness: for each delivered copy, the time
 * sendmmsg handed it to the kernel minus the time it was due, in µs. A p99
 * beyond WIRE_BEHIND_US means the wire fell behind its schedule. Returns 0
 * or -EINVAL.
 */
int wire_link_lateness(struct wire *w, uint32_t from, uint32_t to, struct wire_hist *out);
/* The lateness p99 beyond which a link is reported as fallen behind: 1 ms. */
#define WIRE_BEHIND_US 1000u

/* A datagram in flight, for the viewer. */
struct wire_flight {
	uint16_t from, to;
	sim_time_us sent_us, due_us;
	uint8_t kind;                 /* 0 plain, 1 duplicate, 2 corrupted, 3 reordered */
	uint8_t label;                /* enum wire_label */
};

/* A recent drop, for the viewer. */
struct wire_drop {
	sim_time_us at_us;
	uint16_t from, to;
	uint8_t fate;                 /* enum wire_fate_kind */
};

/*
 * Samples up to max datagrams in flight, spread evenly over all of them, so
 * the cost is bounded whatever the load. Returns how many were written;
 * *total gets how many are in flight.
 */
uint32_t wire_sample_flights(struct wire *w, struct wire_flight *out, uint32_t max, uint64_t *total);

/* Copies drops newer than *cursor (up to max, oldest first) and advances it. Returns how many. */
uint32_t wire_recent_drops(struct wire *w, uint64_t *cursor, struct wire_drop *out, uint32_t max);

/* CLOCK_MONOTONIC in µs: the wire's clock. */
sim_time_us wire_clock_us(void);

/* When w was created, on the wire's clock: the fate log's times count from here. */
sim_time_us wire_started_us(const struct wire *w);

#endif
