// SPDX-License-Identifier: MIT
// loopsim-bench wire: the relay's throughput, delay error and memory per idle link, each beside its floor.
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"
#include "bench_wire.h"
#include "wire/link.h"
#include "wire/relay.h"

/*
 * Topology: 16 peers, each sending to the next 4 round the ring, so exactly
 * 64 directed links (8 peers in full mesh would give 56). Every peer both
 * sends and receives, and every public socket carries the same load from 4
 * senders, so a batch read on one socket holds several senders and must be
 * split by sender, as it would in a real session; and 16 sockets exercise
 * epoll as a session of that size would.
 */
#define BW_PEERS 16u
#define BW_FANOUT 4u
#define BW_LINKS (BW_PEERS * BW_FANOUT)
/* A small game datagram: an input or a state delta. */
#define BW_SIZE 64u
/* Datagrams per link per generator round: 16 senders x 4 links x 8 = 512 per round. */
#define BW_BURST 8u
/*
 * Datagrams in flight, same for both relays. The wire holds rate x ~22.5 ms
 * (20 ms ± 5 ms) of them, so 8192 lets it reach ~360k/s before the window
 * caps it, above the ceiling; the bare relay holds them in its kernel
 * queues, 512 a socket, far below the 4 MiB asked for each.
 */
#define BW_WINDOW 8192u
#define BW_WARMUP_NS (500 * (bench_ns)BENCH_NS_PER_MS)

/*
 * This machine is shared and has 2 cores, so the load from other work drifts
 * over seconds. The two relays are therefore measured in alternating slices
 * (raw, wire, wire, raw, ...), each after a short warm-up, and each figure is
 * the sum over its slices: both see the same background, and the ratio no
 * longer swings with whatever else ran in one window and not the other.
 */
#define BW_SLICE_S 0.5
/* Covers the wire's 25 ms pipeline fill and the tail of the previous slice still in flight. */
#define BW_SLICE_WARMUP_NS (100 * (bench_ns)BENCH_NS_PER_MS)

/* Throughput: the wire as a user would run a mildly impaired session. */
#define BW_TPUT_LATENCY_MS 20.0
#define BW_TPUT_JITTER_MS 5.0
#define BW_TPUT_LOSS_PCT 1.0

/*
 * Delay: a fixed latency, steady traffic stamped per datagram: one datagram
 * every 50 µs, not a burst every millisecond (bursts measured the batching,
 * and moved by 2x from run to run).
 */
#define BW_DELAY_LATENCY_MS 20.0
#define BW_DELAY_RATE_HZ 20000u
#define BW_DELAY_TICK_NS (50 * (bench_ns)BENCH_NS_PER_US)
/* The bare relay's forwarding error is measured for at most this long: it is context, not a target. */
#define BW_FORWARD_S 1.5
/*
 * A delivery is early when it lands before send + requested by more than the
 * wire's clock resolution: it keeps time in whole µs, and its receive stamps
 * and ours cross from CLOCK_REALTIME by offsets each read to within a µs.
 */
#define BW_EARLY_TOLERANCE_NS 1000
/* After the last stamped datagram, wait this long for it to land. */
#define BW_DELAY_DRAIN_NS (100 * (bench_ns)BENCH_NS_PER_MS)

/* The timer floor: deadlines at the delay probe's tick. */
#define BW_TIMER_SAMPLES 10000u
#define BW_TIMER_INTERVAL_NS (1 * (bench_ns)BENCH_NS_PER_MS)

/*
 * Fidelity under load: 16 peers in full mesh (240 links) at 20 ms, offered
 * rates climbing this ladder, each through the wire and then through the
 * bare relay. A rate passes when the wire's p99 lateness at the receiver
 * (a lost datagram counts as infinitely late) exceeds the bare relay's p99
 * forwarding latency at that rate by at most BW_FIDELITY_SLACK_US. The
 * climb stops at the first rate that fails twice.
 */
#define BW_FID_FANOUT (BW_PEERS - 1)
#define BW_FID_SLICES 5u
#define BW_FID_SLICE_WARMUP_NS (100 * (bench_ns)BENCH_NS_PER_MS)
#define BW_FID_TICK_NS (100 * (bench_ns)BENCH_NS_PER_US)
#define BW_FIDELITY_SLACK_US 1000.0
static const uint32_t fidelity_ladder[] = { 5000,  10000, 15000, 20000, 25000, 30000,  40000,
					     50000, 60000, 70000, 80000, 100000, 120000 };
#define BW_FID_STEPS (sizeof fidelity_ladder / sizeof fidelity_ladder[0])

/* Memory: a model this large makes per-link figures exact to a byte and malloc's fixed costs vanish. */
#define BW_MEM_PEERS 128u

/* Targets, from the brief for the wire. */
#define BW_TARGET_RATIO 0.85
#define BW_TARGET_DELAY_X_TIMER 1.5 /* p50 and p99, against the timer measured during the same traffic */
#define BW_TARGET_FIDELITY_PPS 30000.0
#define BW_TARGET_IDLE_LINK_BYTES 2048.0

static const char *const prog = "loopsim-bench wire";

enum { PH_RAW = 1, PH_WIRE = 2, PH_DELAY = 4, PH_TIMER = 8, PH_MEMORY = 16, PH_FIDELITY = 32, PH_ALL = 63 };

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench wire [--seconds S] [--fidelity-seconds S] [--timer-samples N] [--phases LIST]\n"
		"\n"
		"Measures the wire (sim/wire/relay.c) on real loopback UDP sockets in 127.0.0.0/8, ports 0.\n"
		"%u peers, each sending %u-byte datagrams to the next %u round the ring: %u directed links.\n"
		"\n"
		"  raw      a bare relay with the wire's topology (epoll, recvmmsg/sendmmsg of 64, sent from\n"
		"           the sender's public socket) and no model: raw_pps\n"
		"  wire     the wire, every link %.0f ms ± %.0f ms with %.0f%% loss, the same load generator\n"
		"           (window flow control, %u in flight): wire_pps, ratio = wire_pps / raw_pps.\n"
		"           raw and wire run in alternating %.1f s slices, so both see the same background load\n"
		"  delay    the wire at a fixed %.0f ms, a steady %u datagrams/s (one every %.0f us), each stamped\n"
		"           with CLOCK_MONOTONIC: delay_error_us_p50/p99 (achieved - requested delay, from the\n"
		"           sink socket's receive timestamp) and early_deliveries (error below -1 us, the\n"
		"           clocks' resolution); meanwhile a timerfd thread at 1 ms deadlines, with the wire\n"
		"           thread's priority, measures timer_loaded_us_p50/p99: the timer's own lateness under\n"
		"           the same traffic; then the bare relay forwarding the same traffic with no delay,\n"
		"           for context: detail.raw_forward_us_p50/p99\n"
		"  fidelity %u peers in full mesh (%u links) at %.0f ms, offered %u..%u datagrams/s up a ladder;\n"
		"           at each rate the wire and the bare relay take turns in %u slices each. fidelity_pps\n"
		"           is the highest rate at which the wire's p99 lateness at the receiver exceeds the\n"
		"           bare relay's p99 forwarding latency by at most %.0f us (each the median of its\n"
		"           slices' p99; a lost datagram counts as infinitely late); a failed rate is measured\n"
		"           again, and the climb stops at the first rate that fails twice\n"
		"  timer    a timerfd at absolute deadlines %.0f ms apart, timer slack 1 ns, nothing else\n"
		"           running: timer_floor_us_p50/p99 (lateness)\n"
		"  memory   heap per link of an idle %u-peer model (mallinfo2): idle_link_bytes\n"
		"\n"
		"Options:\n"
		"  --seconds S          seconds measured of each relay's throughput and of the wire's delay,\n"
		"                       after %.1f s of warm-up (default 3)\n"
		"  --fidelity-seconds S seconds measured at each rate of the ladder, per relay (default 1.5)\n"
		"  --timer-samples N    timer floor samples (default %u, at %.0f ms each)\n"
		"  --phases LIST        a comma list of raw,wire,delay,fidelity,timer,memory (default all);\n"
		"                       targets_met is null unless every phase ran. The whole run takes ~70 s\n"
		"  --help               this text\n"
		"\n"
		"Targets: ratio >= %.2f; early_deliveries 0; delay error p50 and p99 <= %.1f x the timer's own\n"
		"under the same traffic (timer_loaded); fidelity_pps >= %.0f; idle_link_bytes < %.0f.\n"
		"Progress goes to stderr; the last stdout line is one JSON object.\n"
		"Exit codes: 0 ran (targets met or not), 2 bad usage, 3 setup failure.\n",
		BW_PEERS, BW_SIZE, BW_FANOUT, BW_LINKS, BW_TPUT_LATENCY_MS, BW_TPUT_JITTER_MS, BW_TPUT_LOSS_PCT,
		BW_WINDOW, BW_SLICE_S, BW_DELAY_LATENCY_MS, BW_DELAY_RATE_HZ, (double)BW_DELAY_TICK_NS / BENCH_NS_PER_US,
		BW_PEERS, BW_PEERS * BW_FID_FANOUT, BW_DELAY_LATENCY_MS, fidelity_ladder[0],
		fidelity_ladder[BW_FID_STEPS - 1], BW_FID_SLICES, BW_FIDELITY_SLACK_US, (double)BW_TIMER_INTERVAL_NS / BENCH_NS_PER_MS,
		BW_MEM_PEERS, (double)BW_WARMUP_NS / BENCH_NS_PER_S, BW_TIMER_SAMPLES,
		(double)BW_TIMER_INTERVAL_NS / BENCH_NS_PER_MS, BW_TARGET_RATIO, BW_TARGET_DELAY_X_TIMER,
		BW_TARGET_FIDELITY_PPS, BW_TARGET_IDLE_LINK_BYTES);
}

static int parse_phases(const char *s, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "raw", PH_RAW },     { "wire", PH_WIRE },     { "delay", PH_DELAY },   { "fidelity", PH_FIDELITY },
		      { "timer", PH_TIMER }, { "memory", PH_MEMORY }, { "all", PH_ALL } };
	unsigned phases = 0;
	const char *p = s;
	while (*p) {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0) {
				phases |= names[i].bit;
				found = true;
			}
		if (!found) {
			fprintf(stderr, "%s: --phases: unknown phase '%.*s' (raw, wire, delay, fidelity, timer, memory, all)\n",
				prog, (int)len, p);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	if (!phases) {
		fprintf(stderr, "%s: --phases: name at least one phase\n", prog);
		return -1;
	}
	*out = phases;
	return 0;
}

/* ---- Throughput ---------------------------------------------------------- */

/* One relay under test, its own generator, and what its recorded slices add up to. */
struct contender {
	const char *name;
	struct bench_gen *gen;
	pid_t relay_tid;                  /* 0 if unknown: then no CPU figures */
	double secs;
	uint64_t got, relay_cpu_ns, gen_cpu_ns;
	bool cpu_ok;
};

struct tput {
	double pps;                /* received by the sinks per second measured */
	double relay_cpu;          /* share of one core the relay thread used */
	double gen_cpu;            /* share of one core the generator used */
	double relay_ns_per_dgram; /* relay thread CPU per datagram, softirq time excluded */
	double slice_min, slice_max; /* pps of the slowest and fastest slice */
	struct bench_gen_counts end;
};

struct snapshot {
	bench_ns at;
	uint64_t received, relay_cpu, gen_cpu;
	bool cpu_ok;
};

static uint32_t link_to(uint32_t from, uint32_t d)
{
	return (from + 1 + d) % BW_PEERS;
}

static void take_snapshot(const struct contender *c, struct snapshot *s)
{
	struct bench_gen_counts gc;
	s->at = bench_now_ns();
	bench_gen_counts(c->gen, &gc);
	s->received = gc.received;
	pid_t gen_tid = bench_gen_tid(c->gen);
	s->cpu_ok = c->relay_tid && gen_tid && bench_thread_cpu_ns(c->relay_tid, &s->relay_cpu) == 0 &&
		    bench_thread_cpu_ns(gen_tid, &s->gen_cpu) == 0;
}

/* Runs c's generator for warm_ns, then records len_ns of it (nothing when len_ns is 0). Returns pps, or -1. */
static double run_slice(struct contender *c, bench_ns warm_ns, bench_ns len_ns)
{
	bench_ns t0 = bench_now_ns();
	int e = bench_gen_start(c->gen);
	if (e) {
		fprintf(stderr, "%s: cannot start the load generator: %s\n", prog, strerror(-e));
		return -1;
	}
	bench_sleep_until_ns(t0 + warm_ns);
	double pps = 0;
	if (len_ns) {
		struct snapshot a, b;
		take_snapshot(c, &a);
		bench_sleep_until_ns(a.at + len_ns);
		take_snapshot(c, &b);
		double dt = (double)(b.at - a.at) / BENCH_NS_PER_S;
		c->secs += dt;
		c->got += b.received - a.received;
		c->cpu_ok = c->cpu_ok && a.cpu_ok && b.cpu_ok;
		c->relay_cpu_ns += b.relay_cpu - a.relay_cpu;
		c->gen_cpu_ns += b.gen_cpu - a.gen_cpu;
		pps = (double)(b.received - a.received) / dt;
	}
	bench_gen_stop(c->gen);
	return pps;
}

static void summarise(const struct contender *c, struct tput *out)
{
	out->pps = c->secs > 0 ? (double)c->got / c->secs : 0;
	out->relay_cpu = c->cpu_ok && c->secs > 0 ? (double)c->relay_cpu_ns / BENCH_NS_PER_S / c->secs : 0;
	out->gen_cpu = c->cpu_ok && c->secs > 0 ? (double)c->gen_cpu_ns / BENCH_NS_PER_S / c->secs : 0;
	out->relay_ns_per_dgram = c->cpu_ok && c->got ? (double)c->relay_cpu_ns / (double)c->got : 0;
	bench_gen_counts(c->gen, &out->end);
	fprintf(stderr,
		"%s: %-4s %9.0f datagrams/s delivered (slices %.0f..%.0f); relay thread "
		"%.0f%% of a core, %.0f ns/datagram; generator %.0f%%\n",
		prog, c->name, out->pps, out->slice_min, out->slice_max, out->relay_cpu * 100,
		out->relay_ns_per_dgram, out->gen_cpu * 100);
	if (out->end.misrouted || out->end.written_off)
		fprintf(stderr, "%s: %-4s WARNING: %" PRIu64 " misrouted, %" PRIu64 " written off after a stall\n",
			prog, c->name, out->end.misrouted, out->end.written_off);
}

static struct bench_gen *make_gen(const uint16_t *public_port, uint64_t (*drops)(void *), void *ctx)
{
	struct bench_gen_cfg cfg = {
		.npeers = BW_PEERS,
		.fanout = BW_FANOUT,
		.public_port = public_port,
		.size = BW_SIZE,
		.burst = BW_BURST,
		.window = BW_WINDOW,
		.relay_drops = drops,
		.ctx = ctx,
	};
	char err[256];
	struct bench_gen *g = bench_gen_create(&cfg, err, sizeof err);
	if (!g)
		fprintf(stderr, "%s: %s\n", prog, err);
	return g;
}

static uint64_t raw_drops(void *ctx)
{
	struct bench_raw_counts c;
	bench_raw_counts(ctx, &c);
	return c.kernel_drops + c.send_errors + c.strays;
}

static uint64_t wire_drops(void *ctx)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < BW_PEERS; i++)
		for (uint32_t d = 0; d < BW_FANOUT; d++) {
			struct wire_link_stats st;
			if (wire_link_stats(ctx, i, link_to(i, d), &st) == 0)
				for (int f = 0; f < WIRE_FATE_COUNT; f++)
					sum += st.dropped[f];
		}
	struct wire_totals t;
	wire_get_totals(ctx, &t);
	return sum + t.strays + t.pool_full + t.unroutable + t.send_errors + t.kernel_drops;
}

/* The wire's thread is private to relay.c: it is found as the one thread wire_start() adds to the process. */
static int start_wire(void *w)
{
	return wire_start(w);
}

/*
 * Gives the bare relay's thread the wire thread's scheduling policy and nice
 * value. The two compete with the load generator for 2 cores, so a relay
 * that raised its own priority would otherwise win CPU, not efficiency.
 */
static void copy_sched(pid_t from_tid, pid_t to_tid)
{
	struct sched_param sp;
	int policy = sched_getscheduler(from_tid);
	if (policy >= 0 && sched_getparam(from_tid, &sp) == 0 && sched_setscheduler(to_tid, policy, &sp) < 0)
		fprintf(stderr, "%s: cannot give the bare relay the wire's scheduling policy: %s\n", prog,
			strerror(errno));
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, (id_t)from_tid);
	if (errno == 0 && setpriority(PRIO_PROCESS, (id_t)to_tid, nice) < 0)
		fprintf(stderr, "%s: cannot give the bare relay the wire's nice value %d: %s\n", prog, nice,
			strerror(errno));
}

static struct wire *make_wire(double latency_ms, double jitter_ms, double loss_pct)
{
	struct wire_config cfg;
	wire_config_default(&cfg);
	cfg.npeers = BW_PEERS; /* the same 16 addresses for every topology: fanout decides the links */
	cfg.seed = 1;
	cfg.link.latency_ms = latency_ms;
	cfg.link.jitter_ms = jitter_ms;
	cfg.link.loss_pct = loss_pct;
	char err[256];
	struct wire *w;
	wire_create(&cfg, &w, err, sizeof err);
	if (!w)
		fprintf(stderr, "%s: wire_create: %s\n", prog, err);
	return w;
}

/* Measures whichever of the bare relay (PH_RAW) and the wire (PH_WIRE) phases asks for, interleaved. */
static int phase_throughput(unsigned phases, double seconds, struct tput *raw_out, struct tput *wire_out)
{
	char err[256];
	int rc = -1, e;
	struct bench_raw *r = NULL;
	struct wire *w = NULL;
	struct contender cs[2], *order[2];
	uint32_t n = 0;
	uint16_t pub[BW_PEERS];
	memset(cs, 0, sizeof cs);

	if (phases & PH_RAW) {
		if (!(r = bench_raw_create(BW_PEERS, err, sizeof err))) {
			fprintf(stderr, "%s: %s\n", prog, err);
			goto out;
		}
		for (uint32_t k = 0; k < BW_PEERS; k++)
			pub[k] = bench_raw_public_port(r, k);
		struct contender *c = &cs[n++];
		*c = (struct contender){ .name = "raw", .cpu_ok = true };
		if (!(c->gen = make_gen(pub, raw_drops, r)))
			goto out;
		for (uint32_t k = 0; k < BW_PEERS; k++)
			bench_raw_register_port(r, k, bench_gen_port(c->gen, k));
		if ((e = bench_raw_start(r))) {
			fprintf(stderr, "%s: cannot start the bare relay: %s\n", prog, strerror(-e));
			goto out;
		}
		while (!bench_raw_tid(r))
			bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
		c->relay_tid = bench_raw_tid(r);
	}
	if (phases & PH_WIRE) {
		if (!(w = make_wire(BW_TPUT_LATENCY_MS, BW_TPUT_JITTER_MS, BW_TPUT_LOSS_PCT)))
			goto out;
		for (uint32_t k = 0; k < BW_PEERS; k++)
			pub[k] = wire_public_port(w, k);
		struct contender *c = &cs[n++];
		*c = (struct contender){ .name = "wire", .cpu_ok = true };
		if (!(c->gen = make_gen(pub, wire_drops, w)))
			goto out;
		for (uint32_t k = 0; k < BW_PEERS; k++)
			wire_register_port(w, k, bench_gen_port(c->gen, k));
		c->relay_tid = bench_start_and_find_thread(start_wire, w, &e);
		if (e) {
			fprintf(stderr, "%s: wire_start: %s\n", prog, strerror(-e));
			goto out;
		}
		if (!c->relay_tid)
			fprintf(stderr, "%s: cannot tell the wire's thread apart; its CPU time is not reported\n", prog);
	}

	if (n == 2 && cs[0].relay_tid && cs[1].relay_tid)
		copy_sched(cs[1].relay_tid, cs[0].relay_tid);
	for (uint32_t i = 0; i < n; i++)
		if (run_slice(&cs[i], BW_WARMUP_NS, 0) < 0)
			goto out;
	uint32_t slices = (uint32_t)(seconds / BW_SLICE_S + 0.5);
	if (slices < 1)
		slices = 1;
	bench_ns slice_ns = (bench_ns)(seconds / slices * BENCH_NS_PER_S);
	double lo[2] = { 1e300, 1e300 }, hi[2] = { 0, 0 };
	for (uint32_t s = 0; s < slices; s++) {
		/* Alternate which goes first, so neither always follows the other's tail. */
		order[0] = &cs[s % 2 ? n - 1 : 0];
		order[1] = &cs[s % 2 ? 0 : n - 1];
		for (uint32_t i = 0; i < n; i++) {
			double pps = run_slice(order[i], BW_SLICE_WARMUP_NS, slice_ns);
			if (pps < 0)
				goto out;
			uint32_t idx = (uint32_t)(order[i] - cs);
			lo[idx] = pps < lo[idx] ? pps : lo[idx];
			hi[idx] = pps > hi[idx] ? pps : hi[idx];
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct tput *t = strcmp(cs[i].name, "raw") == 0 ? raw_out : wire_out;
		t->slice_min = lo[i];
		t->slice_max = hi[i];
		summarise(&cs[i], t);
	}
	if (w) {
		struct wire_totals t;
		wire_get_totals(w, &t);
		fprintf(stderr,
			"%s: wire totals: received %" PRIu64 ", dropped by the model %" PRIu64 ", pool_full %" PRIu64
			", kernel_drops %" PRIu64 ", send_errors %" PRIu64 "\n",
			prog, t.received, wire_drops(w), t.pool_full, t.kernel_drops, t.send_errors);
	}
	rc = 0;
out:
	for (uint32_t i = 0; i < n; i++)
		bench_gen_destroy(cs[i].gen);
	bench_raw_destroy(r);
	wire_destroy(w);
	return rc;
}

/* ---- Delay error ----------------------------------------------------------- */

struct delay {
	double kernel_p50, kernel_p99, wake_p50, wake_p99, max_us, min_us;
	double p99_with_lost_us; /* p99 with each lost datagram counted as infinitely late */
	uint64_t sent, received, samples, early, late_ticks;
};

/* The paced traffic of one measurement: who sends to whom, how fast, and in what steps. */
struct traffic {
	uint32_t fanout;
	uint32_t rate_hz;
	bench_ns tick_ns;
	bench_ns warmup_ns;
	double seconds;
};

/* A timerfd measured while the probe's traffic runs, on the footing of thread like_tid (the wire's). */
struct timer_during {
	struct bench_samples samples;
	pid_t like_tid;
	bool wanted, ok;
};

/*
 * Sends the probe's paced traffic through a started relay for `seconds`
 * after the warm-up, and sums up the error. `reg` tells the relay each
 * probe peer's private port. With `timer`, the timer floor is measured
 * during the recorded window, on a thread of its own. With `pool`, the
 * errors are also appended there, a lost datagram as INT64_MAX.
 */
static int run_probe(const uint16_t *pub, void (*reg)(void *relay, uint32_t k, uint16_t port), void *relay,
		     double requested_ms, const struct traffic *tr, struct timer_during *timer, struct delay *out,
		     struct bench_samples *pool)
{
	bench_ns t0 = bench_now_ns();
	struct bench_probe_cfg cfg = {
		.npeers = BW_PEERS,
		.fanout = tr->fanout,
		.public_port = pub,
		.size = BW_SIZE,
		.rate_hz = tr->rate_hz,
		.tick_ns = tr->tick_ns,
		.record_from_ns = t0 + tr->warmup_ns,
		.record_until_ns = t0 + tr->warmup_ns + (bench_ns)(tr->seconds * BENCH_NS_PER_S),
		.requested_ns = (uint64_t)(requested_ms * BENCH_NS_PER_MS),
	};
	char err[256];
	struct bench_probe *p = bench_probe_create(&cfg, err, sizeof err);
	if (!p) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	for (uint32_t k = 0; k < BW_PEERS; k++)
		reg(relay, k, bench_probe_port(p, k));
	int e = bench_probe_start(p);
	if (e) {
		fprintf(stderr, "%s: cannot start the delay probe: %s\n", prog, strerror(-e));
		bench_probe_destroy(p);
		return -1;
	}
	if (timer && timer->wanted) {
		bench_sleep_until_ns(cfg.record_from_ns);
		uint32_t count = (uint32_t)(tr->seconds * BENCH_NS_PER_S / BW_TIMER_INTERVAL_NS);
		timer->ok = bench_samples_init(&timer->samples, count) == 0 &&
			    bench_timer_floor(count, BW_TIMER_INTERVAL_NS, timer->like_tid, &timer->samples) == 0;
	}
	bench_sleep_until_ns(cfg.record_until_ns + BW_DELAY_DRAIN_NS);
	bench_probe_stop(p);

	struct bench_probe_result res;
	bench_probe_result(p, &res);
	out->sent = res.sent_recorded;
	out->received = res.received_recorded;
	out->samples = res.kernel->len;
	out->late_ticks = res.late_ticks;
	out->early = 0;
	for (size_t i = 0; i < res.kernel->len; i++)
		out->early += res.kernel->v[i] < -BW_EARLY_TOLERANCE_NS;
	out->kernel_p50 = bench_samples_quantile_us(res.kernel, 0.50);
	out->kernel_p99 = bench_samples_quantile_us(res.kernel, 0.99);
	out->max_us = bench_samples_quantile_us(res.kernel, 1.0);
	out->min_us = bench_samples_quantile_us(res.kernel, 0.0);
	out->wake_p50 = bench_samples_quantile_us(res.wake, 0.50);
	out->wake_p99 = bench_samples_quantile_us(res.wake, 0.99);
	/* A lost datagram is as late as can be; the samples have room for every one sent. */
	for (uint64_t i = out->received; i < out->sent; i++)
		bench_samples_add(res.kernel, INT64_MAX);
	out->p99_with_lost_us = bench_samples_quantile_us(res.kernel, 0.99);
	if (pool)
		for (size_t i = 0; i < res.kernel->len; i++)
			bench_samples_add(pool, res.kernel->v[i]);
	if (res.no_timestamp || res.misrouted || out->received != out->sent)
		fprintf(stderr,
			"%s: delay WARNING: %" PRIu64 " without a kernel timestamp, %" PRIu64 " misrouted, %" PRIu64
			" lost\n",
			prog, res.no_timestamp, res.misrouted, out->sent - out->received);
	bench_probe_destroy(p);
	return 0;
}

static void reg_wire(void *w, uint32_t k, uint16_t port)
{
	wire_register_port(w, k, port);
}

static void reg_raw(void *r, uint32_t k, uint16_t port)
{
	bench_raw_register_port(r, k, port);
}

/* Starts a bare relay and waits until its thread runs. Returns NULL after a message. */
static struct bench_raw *start_raw(uint16_t *pub)
{
	char err[256];
	struct bench_raw *r = bench_raw_create(BW_PEERS, err, sizeof err);
	if (!r) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return NULL;
	}
	for (uint32_t k = 0; k < BW_PEERS; k++)
		pub[k] = bench_raw_public_port(r, k);
	int e = bench_raw_start(r);
	if (e) {
		fprintf(stderr, "%s: cannot start the bare relay: %s\n", prog, strerror(-e));
		bench_raw_destroy(r);
		return NULL;
	}
	while (!bench_raw_tid(r))
		bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
	return r;
}

/*
 * The wire at a fixed latency under steady traffic, a timerfd measured
 * during it, and then the bare relay forwarding the same traffic with no
 * delay at all: its error is what any relay with these sockets and syscalls
 * pays on this machine for this traffic, the floor under the wire's that
 * the timer alone does not show.
 */
static int phase_delay(double seconds, struct delay *wire_out, struct delay *raw_out, struct timer_during *timer)
{
	int rc = -1, e;
	struct bench_raw *r = NULL;
	struct wire *w = make_wire(BW_DELAY_LATENCY_MS, 0, 0);
	if (!w)
		return -1;
	uint16_t pub[BW_PEERS];
	for (uint32_t k = 0; k < BW_PEERS; k++)
		pub[k] = wire_public_port(w, k);
	pid_t wire_tid = bench_start_and_find_thread(start_wire, w, &e);
	if (e) {
		fprintf(stderr, "%s: wire_start: %s\n", prog, strerror(-e));
		goto out;
	}
	struct traffic tr = { .fanout = BW_FANOUT, .rate_hz = BW_DELAY_RATE_HZ, .tick_ns = BW_DELAY_TICK_NS,
			      .warmup_ns = BW_WARMUP_NS, .seconds = seconds };
	timer->wanted = true;
	timer->like_tid = wire_tid;
	if (run_probe(pub, reg_wire, w, BW_DELAY_LATENCY_MS, &tr, timer, wire_out, NULL) < 0)
		goto out;
	fprintf(stderr,
		"%s: delay error at a steady %u datagrams/s, %.0f ms requested: p50 %.1f us, p99 %.1f us, min %.1f us, "
		"max %.1f us, %" PRIu64 " early (sink socket timestamp); p50 %.1f us, p99 %.1f us (after the "
		"receiver woke); %" PRIu64 "/%" PRIu64 " received; %" PRIu64 " sent over a tick late\n",
		prog, BW_DELAY_RATE_HZ, BW_DELAY_LATENCY_MS, wire_out->kernel_p50, wire_out->kernel_p99,
		wire_out->min_us, wire_out->max_us, wire_out->early, wire_out->wake_p50, wire_out->wake_p99,
		wire_out->received, wire_out->sent, wire_out->late_ticks);
	if (timer->ok)
		fprintf(stderr, "%s: the timerfd during that traffic (1 ms deadlines): p50 %.1f us, p99 %.1f us\n",
			prog, bench_samples_quantile_us(&timer->samples, 0.5),
			bench_samples_quantile_us(&timer->samples, 0.99));

	if (!(r = start_raw(pub)))
		goto out;
	if (wire_tid)
		copy_sched(wire_tid, bench_raw_tid(r));
	wire_stop(w);
	tr.seconds = seconds < BW_FORWARD_S ? seconds : BW_FORWARD_S;
	if (run_probe(pub, reg_raw, r, 0, &tr, NULL, raw_out, NULL) < 0)
		goto out;
	fprintf(stderr, "%s: the bare relay forwarding the same traffic: p50 %.1f us, p99 %.1f us after the send\n",
		prog, raw_out->kernel_p50, raw_out->kernel_p99);
	rc = 0;
out:
	bench_raw_destroy(r);
	wire_destroy(w);
	return rc;
}

/* ---- Fidelity under load ------------------------------------------------------- */

/*
 * At each rate the wire and the bare relay, both running, take turns in
 * BW_FID_SLICES slices each, so both see the same background; a figure is
 * the median over its slices of each slice's p99. On this shared machine a
 * stall of a few ms lands in one slice or two, and moves a pooled p99 (by
 * 10x from run to run) but not that median.
 */
struct fidelity_side {
	double p50_us, p99_us;  /* medians over the slices; a lost datagram counts as infinitely late */
	double pooled_p99_us;   /* the p99 of every slice's samples together */
	double slice_p99_us[BW_FID_SLICES];
	uint64_t sent, lost, early;
};

struct fidelity_step {
	uint32_t rate_hz;
	struct fidelity_side wire, raw;
	bool pass;
};

#define BW_FID_MEASUREMENTS (2 * BW_FID_STEPS)

struct fidelity {
	struct fidelity_step step[BW_FID_MEASUREMENTS]; /* every measurement, a failed rung's retry too */
	uint32_t steps;
	double pps; /* the highest rung passed below the first that failed twice; 0 if none */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_of(const double *v, uint32_t n)
{
	double tmp[BW_FID_SLICES];
	memcpy(tmp, v, sizeof *v * n);
	qsort(tmp, n, sizeof *tmp, cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/*
 * One rung: the wire (20 ms) and the bare relay, both started, take turns
 * carrying the probe's traffic at rate_hz, BW_FID_SLICES slices each.
 */
static int fidelity_step(uint32_t rate_hz, double seconds, struct fidelity_step *st)
{
	int rc = -1, e;
	uint16_t wire_pub[BW_PEERS], raw_pub[BW_PEERS];
	struct traffic tr = { .fanout = BW_FID_FANOUT, .rate_hz = rate_hz, .tick_ns = BW_FID_TICK_NS,
			      .warmup_ns = BW_FID_SLICE_WARMUP_NS, .seconds = seconds / BW_FID_SLICES };
	struct bench_samples pool[2] = { { 0 }, { 0 } };
	double p50[2][BW_FID_SLICES];
	uint32_t done[2] = { 0, 0 };
	struct bench_raw *r = NULL;
	struct wire *w = make_wire(BW_DELAY_LATENCY_MS, 0, 0);
	memset(st, 0, sizeof *st);
	st->rate_hz = rate_hz;
	size_t cap = (size_t)(seconds * rate_hz * 1.2) + 4096;
	if (!w || bench_samples_init(&pool[0], cap) < 0 || bench_samples_init(&pool[1], cap) < 0)
		goto out;
	for (uint32_t k = 0; k < BW_PEERS; k++)
		wire_pub[k] = wire_public_port(w, k);
	pid_t wire_tid = bench_start_and_find_thread(start_wire, w, &e);
	if (e) {
		fprintf(stderr, "%s: wire_start: %s\n", prog, strerror(-e));
		goto out;
	}
	if (!(r = start_raw(raw_pub)))
		goto out;
	if (wire_tid)
		copy_sched(wire_tid, bench_raw_tid(r));
	for (uint32_t s = 0; s < 2 * BW_FID_SLICES; s++) {
		/* wire, raw, raw, wire, wire, raw, ...: neither always follows the other. */
		uint32_t side = (s % 4 == 0 || s % 4 == 3) ? 0 : 1;
		struct fidelity_side *fs = side == 0 ? &st->wire : &st->raw;
		struct delay d = { 0 };
		if (side == 0 ? run_probe(wire_pub, reg_wire, w, BW_DELAY_LATENCY_MS, &tr, NULL, &d, &pool[0]) < 0
			      : run_probe(raw_pub, reg_raw, r, 0, &tr, NULL, &d, &pool[1]) < 0)
			goto out;
		fs->sent += d.sent;
		fs->lost += d.sent - d.received;
		fs->early += d.early;
		fs->slice_p99_us[done[side]] = d.p99_with_lost_us;
		p50[side][done[side]++] = d.kernel_p50;
	}
	for (uint32_t side = 0; side < 2; side++) {
		struct fidelity_side *fs = side == 0 ? &st->wire : &st->raw;
		fs->p99_us = median_of(fs->slice_p99_us, BW_FID_SLICES);
		fs->p50_us = median_of(p50[side], BW_FID_SLICES);
		fs->pooled_p99_us = bench_samples_quantile_us(&pool[side], 0.99);
	}
	st->pass = st->wire.p99_us - st->raw.p99_us <= BW_FIDELITY_SLACK_US;
	fprintf(stderr,
		"%s: fidelity at %6u/s: wire p99 lateness %8.1f us (pooled %.1f, p50 %.1f, lost %" PRIu64
		", early %" PRIu64 "), bare relay p99 %7.1f us (pooled %.1f, p50 %.1f, lost %" PRIu64 "): %s\n",
		prog, rate_hz, st->wire.p99_us, st->wire.pooled_p99_us, st->wire.p50_us, st->wire.lost, st->wire.early,
		st->raw.p99_us, st->raw.pooled_p99_us, st->raw.p50_us, st->raw.lost, st->pass ? "pass" : "FAIL");
	rc = 0;
out:
	bench_samples_fini(&pool[0]);
	bench_samples_fini(&pool[1]);
	bench_raw_destroy(r);
	wire_destroy(w);
	return rc;
}

/*
 * Climbs the ladder. A rung that fails is measured once more, since one
 * stall of this shared machine can fail a rung on its own; the climb stops
 * at the first rung that fails twice, and fidelity_pps is the rung below.
 */
static int phase_fidelity(double seconds, struct fidelity *out)
{
	out->pps = 0;
	out->steps = 0;
	for (uint32_t i = 0; i < BW_FID_STEPS; i++) {
		bool pass = false;
		for (int attempt = 0; attempt < 2 && !pass && out->steps < BW_FID_MEASUREMENTS; attempt++) {
			struct fidelity_step *st = &out->step[out->steps];
			if (fidelity_step(fidelity_ladder[i], seconds, st) < 0)
				return -1;
			out->steps++;
			pass = st->pass;
		}
		if (!pass)
			break;
		out->pps = fidelity_ladder[i];
	}
	fprintf(stderr, "%s: fidelity_pps %.0f (16 peers, 240 links, 20 ms; within %.0f us of the bare relay's p99)\n",
		prog, out->pps, BW_FIDELITY_SLACK_US);
	return 0;
}

struct timer_floor {
	double p50, p99;
	uint64_t samples;
};

static int phase_timer(uint32_t count, struct timer_floor *out)
{
	struct bench_samples s;
	if (bench_samples_init(&s, count) < 0) {
		fprintf(stderr, "%s: out of memory for %u timer samples\n", prog, count);
		return -1;
	}
	int rc = bench_timer_floor(count, BW_TIMER_INTERVAL_NS, 0, &s);
	if (rc == 0) {
		out->samples = s.len;
		out->p50 = bench_samples_quantile_us(&s, 0.50);
		out->p99 = bench_samples_quantile_us(&s, 0.99);
		fprintf(stderr, "%s: timer floor over %zu deadlines: p50 %.1f us, p99 %.1f us, max %.1f us\n", prog,
			s.len, out->p50, out->p99, bench_samples_quantile_us(&s, 1.0));
	} else {
		fprintf(stderr, "%s: the timer floor could not be measured (timerfd refused)\n", prog);
	}
	bench_samples_fini(&s);
	return rc;
}

/* ---- Memory per idle link ---------------------------------------------------- */

struct memory {
	double idle_link_bytes, rate_limited_link_bytes;
	bool valid;
};

/* Heap bytes in use, including what malloc took with mmap for large blocks. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Heap per link of an idle model of BW_MEM_PEERS peers with cfg on every link; -1 on failure. */
static double model_bytes_per_link(const struct wire_link_cfg *cfg)
{
	struct wire_model m;
	size_t before = heap_in_use();
	if (wire_model_init(&m, BW_MEM_PEERS, 1, cfg) < 0)
		return -1;
	size_t after = heap_in_use();
	wire_model_fini(&m);
	return (double)(after - before) / ((double)BW_MEM_PEERS * BW_MEM_PEERS);
}

static int phase_memory(struct memory *out)
{
	struct wire_link_cfg cfg;
	wire_link_cfg_default(&cfg);
	out->idle_link_bytes = model_bytes_per_link(&cfg);
	/* A rate limit is the one setting that allocates: its drop-tail queue is sized up front. */
	cfg.rate_kbit = 1000;
	out->rate_limited_link_bytes = model_bytes_per_link(&cfg);
	if (out->idle_link_bytes < 0 || out->rate_limited_link_bytes < 0) {
		fprintf(stderr, "%s: out of memory for a %u-peer model\n", prog, BW_MEM_PEERS);
		return -1;
	}
	/* The links themselves are on the heap, so less than their size means mallinfo2() cannot see this
	 * allocator (a sanitizer's, say): no figure is better than a wrong one. */
	out->valid = out->idle_link_bytes >= (double)sizeof(struct wire_link);
	if (!out->valid)
		fprintf(stderr, "%s: memory: mallinfo2() does not see this build's allocator; not reported\n", prog);
	fprintf(stderr,
		"%s: memory: sizeof(struct wire_link) %zu bytes; heap per idle link %.1f bytes (%u-peer model, "
		"%u links), %.1f with a rate limit (queue of %u)\n",
		prog, sizeof(struct wire_link), out->idle_link_bytes, BW_MEM_PEERS, BW_MEM_PEERS * BW_MEM_PEERS,
		out->rate_limited_link_bytes, cfg.queue_limit);
	return 0;
}

/* ---- The subcommand ----------------------------------------------------------- */

static cJSON *num_or_null(bool have, double v)
{
	return have ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* Rounds to a tenth, so the JSON carries no false precision. */
static double tenth(double v)
{
	return (double)(int64_t)(v * 10 + (v >= 0 ? 0.5 : -0.5)) / 10;
}

/* A lateness in µs for the JSON: null where lost datagrams made it infinite. */
static cJSON *lateness_json(double us)
{
	return us < 1e12 ? cJSON_CreateNumber(tenth(us)) : cJSON_CreateNull();
}

int bench_wire(int argc, char **argv)
{
	double seconds = 3, fidelity_seconds = 1.5, timer_samples = BW_TIMER_SAMPLES;
	unsigned phases = PH_ALL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--seconds") == 0) {
			if (bench_parse_double(prog, "--seconds", val, 0.1, 60, &seconds) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--fidelity-seconds") == 0) {
			if (bench_parse_double(prog, "--fidelity-seconds", val, 0.2, 30, &fidelity_seconds) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--timer-samples") == 0) {
			if (bench_parse_double(prog, "--timer-samples", val, 100, 1000000, &timer_samples) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--phases") == 0) {
			if (!val) {
				fprintf(stderr, "%s: --phases: expected a comma list\n", prog);
				return BENCH_EXIT_USAGE;
			}
			if (parse_phases(val, &phases) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench wire --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}

	struct tput raw = { 0 }, wire = { 0 };
	struct delay delay = { 0 }, forward = { 0 };
	struct timer_floor floor = { 0 }, loaded = { 0 };
	struct timer_during during = { 0 };
	struct fidelity fid = { 0 };
	struct memory mem = { 0 };
	/* Memory first: before any thread or socket exists, the heap holds nothing else that moves. */
	if ((phases & PH_MEMORY) && phase_memory(&mem) < 0)
		return BENCH_EXIT_SETUP;
	if ((phases & (PH_RAW | PH_WIRE)) && phase_throughput(phases, seconds, &raw, &wire) < 0)
		return BENCH_EXIT_SETUP;
	if ((phases & PH_DELAY) && phase_delay(seconds, &delay, &forward, &during) < 0) {
		bench_samples_fini(&during.samples);
		return BENCH_EXIT_SETUP;
	}
	if (during.ok) {
		loaded.samples = during.samples.len;
		loaded.p50 = bench_samples_quantile_us(&during.samples, 0.50);
		loaded.p99 = bench_samples_quantile_us(&during.samples, 0.99);
	}
	bench_samples_fini(&during.samples);
	if ((phases & PH_FIDELITY) && phase_fidelity(fidelity_seconds, &fid) < 0)
		return BENCH_EXIT_SETUP;
	if ((phases & PH_TIMER) && phase_timer((uint32_t)timer_samples, &floor) < 0)
		return BENCH_EXIT_SETUP;

	bool have_raw = phases & PH_RAW, have_wire = phases & PH_WIRE, have_delay = phases & PH_DELAY,
	     have_timer = phases & PH_TIMER, have_mem = (phases & PH_MEMORY) && mem.valid,
	     have_fid = phases & PH_FIDELITY, have_loaded = have_delay && during.ok;
	bool have_ratio = have_raw && have_wire && raw.pps > 0;
	double ratio = have_ratio ? wire.pps / raw.pps : 0;

	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "peers", BW_PEERS);
	cJSON_AddNumberToObject(o, "links", BW_LINKS);
	cJSON_AddNumberToObject(o, "seconds", seconds);
	cJSON_AddItemToObject(o, "raw_pps", num_or_null(have_raw, (double)(int64_t)raw.pps));
	cJSON_AddItemToObject(o, "wire_pps", num_or_null(have_wire, (double)(int64_t)wire.pps));
	cJSON_AddItemToObject(o, "ratio", num_or_null(have_ratio, (double)(int64_t)(ratio * 1000 + 0.5) / 1000));
	cJSON_AddItemToObject(o, "fidelity_pps", num_or_null(have_fid, fid.pps));
	cJSON_AddItemToObject(o, "delay_error_us_p50", num_or_null(have_delay, tenth(delay.kernel_p50)));
	cJSON_AddItemToObject(o, "delay_error_us_p99", num_or_null(have_delay, tenth(delay.kernel_p99)));
	cJSON_AddItemToObject(o, "timer_loaded_us_p50", num_or_null(have_loaded, tenth(loaded.p50)));
	cJSON_AddItemToObject(o, "timer_loaded_us_p99", num_or_null(have_loaded, tenth(loaded.p99)));
	cJSON_AddItemToObject(o, "early_deliveries", num_or_null(have_delay, (double)delay.early));
	cJSON_AddItemToObject(o, "timer_floor_us_p50", num_or_null(have_timer, tenth(floor.p50)));
	cJSON_AddItemToObject(o, "timer_floor_us_p99", num_or_null(have_timer, tenth(floor.p99)));
	cJSON_AddItemToObject(o, "idle_link_bytes", num_or_null(have_mem, tenth(mem.idle_link_bytes)));
	cJSON_AddNumberToObject(o, "wire_link_sizeof", (double)sizeof(struct wire_link));
	if (phases == PH_ALL) {
		bool met = ratio >= BW_TARGET_RATIO && delay.early == 0 && have_loaded &&
			   delay.kernel_p50 <= BW_TARGET_DELAY_X_TIMER * loaded.p50 &&
			   delay.kernel_p99 <= BW_TARGET_DELAY_X_TIMER * loaded.p99 &&
			   fid.pps >= BW_TARGET_FIDELITY_PPS && have_mem && mem.idle_link_bytes < BW_TARGET_IDLE_LINK_BYTES;
		cJSON_AddBoolToObject(o, "targets_met", met);
	} else {
		cJSON_AddNullToObject(o, "targets_met");
	}

	/* What explains the headline figures: who was CPU-bound, and the delay as a peer's loop would see it. */
	cJSON *d = cJSON_AddObjectToObject(o, "detail");
	if (have_raw) {
		cJSON_AddNumberToObject(d, "raw_relay_cpu_pct", tenth(raw.relay_cpu * 100));
		cJSON_AddNumberToObject(d, "raw_gen_cpu_pct", tenth(raw.gen_cpu * 100));
		cJSON_AddNumberToObject(d, "raw_relay_ns_per_dgram", tenth(raw.relay_ns_per_dgram));
	}
	if (have_wire) {
		cJSON_AddNumberToObject(d, "wire_relay_cpu_pct", tenth(wire.relay_cpu * 100));
		cJSON_AddNumberToObject(d, "wire_gen_cpu_pct", tenth(wire.gen_cpu * 100));
		cJSON_AddNumberToObject(d, "wire_relay_ns_per_dgram", tenth(wire.relay_ns_per_dgram));
	}
	if (have_raw && have_wire) {
		cJSON_AddNumberToObject(d, "raw_pps_slices_min", (double)(int64_t)raw.slice_min);
		cJSON_AddNumberToObject(d, "raw_pps_slices_max", (double)(int64_t)raw.slice_max);
		cJSON_AddNumberToObject(d, "wire_pps_slices_min", (double)(int64_t)wire.slice_min);
		cJSON_AddNumberToObject(d, "wire_pps_slices_max", (double)(int64_t)wire.slice_max);
		cJSON_AddNumberToObject(d, "misrouted", (double)(raw.end.misrouted + wire.end.misrouted));
		cJSON_AddNumberToObject(d, "written_off", (double)(raw.end.written_off + wire.end.written_off));
	}
	if (have_delay) {
		cJSON_AddNumberToObject(d, "delay_error_wake_us_p50", tenth(delay.wake_p50));
		cJSON_AddNumberToObject(d, "delay_error_wake_us_p99", tenth(delay.wake_p99));
		cJSON_AddNumberToObject(d, "delay_error_us_max", tenth(delay.max_us));
		cJSON_AddNumberToObject(d, "raw_forward_us_p50", tenth(forward.kernel_p50));
		cJSON_AddNumberToObject(d, "raw_forward_us_p99", tenth(forward.kernel_p99));
		cJSON_AddNumberToObject(d, "delay_error_us_min", tenth(delay.min_us));
		cJSON_AddNumberToObject(d, "delay_samples", (double)delay.samples);
		cJSON_AddNumberToObject(d, "delay_lost", (double)(delay.sent - delay.received));
		cJSON_AddNumberToObject(d, "delay_sent_late", (double)delay.late_ticks);
	}
	if (have_fid) {
		cJSON *ladder = cJSON_AddArrayToObject(d, "fidelity");
		for (uint32_t i = 0; i < fid.steps; i++) {
			const struct fidelity_step *st = &fid.step[i];
			cJSON *e = cJSON_CreateObject();
			cJSON_AddNumberToObject(e, "pps", st->rate_hz);
			cJSON_AddItemToObject(e, "wire_p99_us", lateness_json(st->wire.p99_us));
			cJSON_AddItemToObject(e, "raw_p99_us", lateness_json(st->raw.p99_us));
			cJSON_AddItemToObject(e, "wire_pooled_p99_us", lateness_json(st->wire.pooled_p99_us));
			cJSON_AddItemToObject(e, "raw_pooled_p99_us", lateness_json(st->raw.pooled_p99_us));
			cJSON_AddItemToObject(e, "wire_p50_us", lateness_json(st->wire.p50_us));
			cJSON_AddItemToObject(e, "raw_p50_us", lateness_json(st->raw.p50_us));
			cJSON_AddNumberToObject(e, "wire_lost", (double)st->wire.lost);
			cJSON_AddNumberToObject(e, "raw_lost", (double)st->raw.lost);
			cJSON_AddNumberToObject(e, "wire_early", (double)st->wire.early);
			cJSON_AddBoolToObject(e, "pass", st->pass);
			cJSON_AddItemToArray(ladder, e);
		}
	}
	if (have_timer)
		cJSON_AddNumberToObject(d, "timer_samples", (double)floor.samples);
	if (have_loaded)
		cJSON_AddNumberToObject(d, "timer_loaded_samples", (double)loaded.samples);
	if (have_mem)
		cJSON_AddNumberToObject(d, "rate_limited_link_bytes", tenth(mem.rate_limited_link_bytes));
	bench_json_emit(o);
	cJSON_Delete(o);
	return BENCH_EXIT_OK;
}
