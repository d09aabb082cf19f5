// SPDX-License-Identifier: MIT
// loopsim-bench wire: the bare relay, the load generator and the delay probe it measures the wire with.
#ifndef LOOPSIM_BENCH_WIRE_H
#define LOOPSIM_BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

/*
 * Every datagram the bench sends starts with this header, so a sink can
 * check that the relay under test delivered it to the right peer, from the
 * right public socket, and can measure its delay.
 */
#define BENCH_MAGIC 0x4c534257u /* "LSBW" */
struct bench_hdr {
	uint32_t magic;
	uint16_t from, to;
	uint64_t sent_ns; /* CLOCK_MONOTONIC at send; 0 in throughput traffic */
};

/* ---- The bare relay ---------------------------------------------------- */

/*
 * The wire's topology with nothing else: public socket W_k on 127.0.0.(k+2),
 * one thread doing epoll + recvmmsg(64), and each datagram that arrives on
 * W_j from peer i's IP leaves by sendmmsg from W_i to peer j's private
 * port. No model, no copy (it sends from the receive buffers), no timer. It
 * is the ceiling that the wire's throughput is held to.
 */
struct bench_raw;

/* Binds the public sockets. Returns NULL with a reason in err. */
struct bench_raw *bench_raw_create(uint32_t npeers, char *err, size_t errlen);
/* Stops the thread if it runs and frees everything. NULL does nothing. */
void bench_raw_destroy(struct bench_raw *r);
uint16_t bench_raw_public_port(const struct bench_raw *r, uint32_t k);
/* Peer k's private port. Call before bench_raw_start(). */
void bench_raw_register_port(struct bench_raw *r, uint32_t k, uint16_t port);
/* Returns 0 or a negative errno. */
int bench_raw_start(struct bench_raw *r);
/* The relay thread's id, once it runs (0 before). */
pid_t bench_raw_tid(const struct bench_raw *r);

struct bench_raw_counts {
	uint64_t forwarded;    /* accepted by sendmmsg */
	uint64_t kernel_drops; /* lost in the public sockets' queues (SO_RXQ_OVFL) */
	uint64_t send_errors;
	uint64_t strays;
};
/* Safe from any thread while the relay runs. */
void bench_raw_counts(const struct bench_raw *r, struct bench_raw_counts *out);

/* ---- The throughput load generator ------------------------------------- */

/*
 * One thread that is every peer at once: it sends from peer k's private
 * socket (bound 127.0.0.(k+2):0) to the public sockets of the next `fanout`
 * peers round the ring, and drains the same sockets as sinks.
 *
 * Flow control: it keeps at most `window` datagrams sent and not yet
 * accounted for (received by a sink, or reported dropped by the relay under
 * test or by the sinks' kernel queues). So it offers exactly what the relay
 * can take, never overruns the kernel queues, and does not burn the CPU the
 * relay needs on datagrams that would be dropped. The window must exceed
 * rate x delay of the slowest relay measured, or it would cap that relay.
 */
struct bench_gen_cfg {
	uint32_t npeers;
	uint32_t fanout;
	const uint16_t *public_port; /* npeers: the relay's W_k */
	uint32_t size;               /* payload bytes, sizeof(struct bench_hdr)..2048 */
	uint32_t burst;              /* datagrams per link per round */
	uint32_t window;
	/* Datagrams the relay under test has dropped so far; called every 250 ms from a thread of the generator's. */
	uint64_t (*relay_drops)(void *ctx);
	void *ctx;
};

struct bench_gen;

/* Binds every peer's private socket. Returns NULL with a reason in err. */
struct bench_gen *bench_gen_create(const struct bench_gen_cfg *cfg, char *err, size_t errlen);
/* Stops the thread if it runs and frees everything. NULL does nothing. */
void bench_gen_destroy(struct bench_gen *g);
uint16_t bench_gen_port(const struct bench_gen *g, uint32_t k);
int bench_gen_start(struct bench_gen *g);
void bench_gen_stop(struct bench_gen *g);
pid_t bench_gen_tid(const struct bench_gen *g);

struct bench_gen_counts {
	uint64_t sent;        /* accepted by sendmmsg */
	uint64_t received;    /* drained by the sinks, well-formed and correctly routed */
	uint64_t misrouted;   /* at the wrong peer, from the wrong public socket, or malformed */
	uint64_t sink_drops;  /* lost in the sinks' kernel queues */
	uint64_t written_off; /* given up on after a stall: sent, but neither received nor reported dropped */
};
/* Safe from any thread while the generator runs. */
void bench_gen_counts(const struct bench_gen *g, struct bench_gen_counts *out);

/* ---- The delay probe --------------------------------------------------- */

/*
 * Paced traffic for measuring delay: datagram i is due at start + i / rate_hz;
 * a sender thread wakes on an absolute timerfd at tick_ns boundaries and sends
 * every datagram due by then, round-robin over the links, each stamped with
 * CLOCK_MONOTONIC just before its own sendto(); a receiver thread subtracts.
 * Two figures per datagram:
 *   kernel: the sink socket's receive timestamp (SO_TIMESTAMPNS, taken when
 *           the relay's sendmmsg hands it to loopback) - stamp - requested;
 *           this is the relay's own error.
 *   wake:   the receiver's clock after recvmmsg returns - stamp - requested;
 *           it adds the receiving thread's wake-up, which any peer pays.
 * Only datagrams stamped in [record_from_ns, record_until_ns) are recorded;
 * the sender stops at record_until_ns.
 */
struct bench_probe_cfg {
	uint32_t npeers;
	uint32_t fanout;
	const uint16_t *public_port;
	uint32_t size;
	uint32_t rate_hz;
	bench_ns tick_ns;
	bench_ns record_from_ns, record_until_ns;
	uint64_t requested_ns; /* the wire's latency */
};

struct bench_probe;

struct bench_probe *bench_probe_create(const struct bench_probe_cfg *cfg, char *err, size_t errlen);
/* Stops both threads and frees everything. NULL does nothing. */
void bench_probe_destroy(struct bench_probe *p);
uint16_t bench_probe_port(const struct bench_probe *p, uint32_t k);
int bench_probe_start(struct bench_probe *p);
/* Stops both threads; call once everything recorded has had time to land. */
void bench_probe_stop(struct bench_probe *p);

struct bench_probe_result {
	uint64_t sent_recorded;      /* datagrams stamped inside the recording window */
	uint64_t received_recorded;  /* of those, how many arrived */
	uint64_t no_timestamp;       /* arrived without a kernel timestamp (left out of `kernel`) */
	uint64_t misrouted;
	uint64_t late_ticks;         /* datagrams sent more than a tick after they were due (a busy machine) */
	struct bench_samples *kernel, *wake; /* error in ns; owned by the probe */
};
/* Valid after bench_probe_stop(), until bench_probe_destroy(). */
void bench_probe_result(struct bench_probe *p, struct bench_probe_result *out);

/*
 * The timer floor: how late a thread with 1 ns timer slack wakes from a
 * CLOCK_MONOTONIC timerfd armed at absolute deadlines interval_ns apart.
 * Records `count` lateness samples (ns) into out, on a thread of its own
 * so that the caller's timer slack is untouched. With like_tid, that thread
 * first takes thread like_tid's scheduling policy and nice value (the
 * wire's, to compare the wire with a timer on the same footing). Returns 0
 * or -1.
 */
int bench_timer_floor(uint32_t count, bench_ns interval_ns, pid_t like_tid, struct bench_samples *out);

#endif
