// SPDX-License-Identifier: MIT
// loopsim-bench scale: the largest session that holds 60 Hz on this machine, and a 250-address wire.
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "wire/link_opts.h"
#include "harness/run.h"
#include "harness/scenario.h"
#include "wire/addr.h"
#include "wire/hist.h"
#include "wire/relay.h"
#include "wire/traffic.h"

/*
 * Three parts, each bounded in time (about a minute in all with defaults):
 *   session  8 and 16 built-in peers in a full mesh (the game's limit is 16)
 *            through run_session(): each peer's frame rate, and the CPU of
 *            the wire's thread, the harness's loop and the peers.
 *   traffic  32 and 64 stand-in peers (sim/wire/traffic.h) in a full mesh at
 *            60 Hz through the wire, which writes its pcap and fate log as in
 *            a session: the delivered rate against n(n-1)60, delay, CPU.
 *   wide     250 stand-in peers, 127.0.0.2 upward, 10 Hz to the next 4 round
 *            the ring: every address is carried, and every link's counters
 *            are exact once the traffic has stopped and drained.
 */
#define SC_HZ 60.0
#define SC_FRAME_HZ 60.0
#define SC_PRESET "broadband"
#define SC_SIZE 64u                 /* a small game datagram, as in `loopsim-bench wire` */
#define SC_SEED 1
/* 59 of 60 frames a second: time sync may shave a frame now and then, a session that cannot keep up loses more. */
#define SC_HOLD_FPS 59.0
/* The stand-in load holds 60 Hz if it sends 99% of its ticks, loses nothing beyond the model, and its p99 delay
 * stays within this of the preset's largest (latency + jitter). */
#define SC_HOLD_SENT_RATIO 0.99
#define SC_HOLD_LOST_RATIO 0.001
#define SC_HOLD_DELAY_MARGIN_MS 5.0
#define SC_WARM_NS (1 * (bench_ns)BENCH_NS_PER_S)
#define SC_DRAIN_NS (3 * (bench_ns)BENCH_NS_PER_S)
#define SC_POLL_NS (50 * (bench_ns)BENCH_NS_PER_MS)
#define SC_MAX_THREADS 8
#define SC_WIDE_PEERS 250u
#define SC_WIDE_HZ 10.0
#define SC_WIDE_FANOUT 4u
#define SC_WIDE_S 5.0

static const uint32_t session_sizes[] = { 8, 16 };
static const uint32_t traffic_sizes[] = { 32, 64 };
#define NSESSION (sizeof session_sizes / sizeof session_sizes[0])
#define NTRAFFIC (sizeof traffic_sizes / sizeof traffic_sizes[0])

enum { PART_SESSION = 1, PART_TRAFFIC = 2, PART_WIDE = 4, PART_ALL = 7 };

static const char prog[] = "loopsim-bench scale";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench scale [--seconds S] [--wide-peers N] [--parts LIST] [--no-capture] [--seed N]\n"
		"\n"
		"Finds the largest session that holds 60 Hz on this machine, every link under the %s preset.\n"
		"  session  8 and 16 built-in peers (loopsim-peer beside this program, or $LOOPSIM_PEER; the\n"
		"           game plays at most 16) in a full mesh through run_session(), S seconds each:\n"
		"           each peer's frames a second (min, mean) over the middle of the run, the CPU of the\n"
		"           wire's thread, of the harness's loop and of the peers. fps_holds_60: min >= %.0f.\n"
		"           Beside it ticks_per_s_min, the peers' loop rate (frames + stalls): at 60 the machine\n"
		"           keeps up, and a lower frame rate is the netcode choosing to stall (loop_keeps_60hz).\n"
		"  traffic  32 and 64 stand-in peers (the wire's built-in traffic generator, %u-byte datagrams\n"
		"           at %.0f Hz to every other peer) through the wire, which writes a pcap and a fate log as\n"
		"           in a session, S seconds after %.0f s of warm-up: delivered/s against n(n-1)%.0f, the\n"
		"           delay p50/p99 the receivers measured, the CPU of the wire's and the generator's\n"
		"           threads. Holds: the generator sent %.0f%% of n(n-1)%.0f/s, at most %.1f%% was lost beyond\n"
		"           the model, and p99 <= latency + jitter + %.0f ms.\n"
		"  wide     N stand-in peers (default %u), 127.0.0.2 upward, %.0f Hz to the next %u round the ring,\n"
		"           for %.0f s; then the traffic stops, the wire drains, and every link's counters are\n"
		"           compared exactly with what the generator sent.\n"
		"largest_holding_60hz: the most peers at which the machine keeps up: a session whose peers'\n"
		"loops hold %.0f ticks/s, or stand-in traffic that holds as above.\n"
		"The fd limit is raised to its hard limit first (the wide part needs two sockets a peer).\n"
		"\n"
		"Options:\n"
		"  --seconds S     measured seconds of each session and traffic run (default 10)\n"
		"  --wide-peers N  peers of the wide part, 2..%u (default %u; above 253 they reach 127.0.1.x)\n"
		"  --parts LIST    a comma list of session,traffic,wide (default all)\n"
		"  --no-capture    the traffic part without the pcap and the fate log (a session always writes them)\n"
		"  --seed N        the seed of the game and the wire (default %u)\n"
		"  --help          this text\n"
		"\n"
		"Progress goes to stderr; the last stdout line is one JSON object.\n"
		"Exit codes: 0 ran (whatever it found), 2 bad usage, 3 setup failure.\n",
		SC_PRESET, SC_HOLD_FPS, SC_SIZE, SC_HZ, (double)SC_WARM_NS / BENCH_NS_PER_S, SC_HZ,
		SC_HOLD_SENT_RATIO * 100, SC_HZ, SC_HOLD_LOST_RATIO * 100, SC_HOLD_DELAY_MARGIN_MS, SC_WIDE_PEERS,
		SC_WIDE_HZ, SC_WIDE_FANOUT, SC_WIDE_S, SC_HOLD_FPS, WIRE_MAX_PEERS, SC_WIDE_PEERS, SC_SEED);
}

static int parse_parts(const char *s, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "session", PART_SESSION }, { "traffic", PART_TRAFFIC }, { "wide", PART_WIDE }, { "all", PART_ALL } };
	unsigned parts = 0;
	const char *p = s;
	while (p && *p) {
		size_t len = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0) {
				parts |= names[i].bit;
				found = true;
			}
		if (!found) {
			fprintf(stderr, "%s: --parts: unknown part '%.*s' (session, traffic, wide, all)\n", prog, (int)len, p);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	if (!parts) {
		fprintf(stderr, "%s: --parts: name at least one part\n", prog);
		return -1;
	}
	*out = parts;
	return 0;
}

static double tenth(double v)
{
	return (double)(int64_t)(v * 10 + (v >= 0 ? 0.5 : -0.5)) / 10;
}

static double milli(double v)
{
	return (double)(int64_t)(v * 1000 + (v >= 0 ? 0.5 : -0.5)) / 1000;
}

/* ---- /proc ------------------------------------------------------------------- */

/* utime + stime of a whole process from /proc/<pid>/stat, in ns at clock-tick resolution. */
static int proc_cpu_ns(pid_t pid, pid_t *ppid, uint64_t *out_ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return bench_proc_stat(path, ppid, out_ns);
}

static uint32_t count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the walk's own */
}

/* A thread's or a child's CPU time between the first and the last time it was seen. */
struct cpu_track {
	pid_t id;
	bench_ns first_at, last_at;
	uint64_t first_ns, last_ns;
};

static void track(struct cpu_track *t, uint32_t *n, uint32_t cap, pid_t id, uint64_t cpu_ns, bench_ns now)
{
	for (uint32_t i = 0; i < *n; i++)
		if (t[i].id == id) {
			t[i].last_at = now;
			t[i].last_ns = cpu_ns;
			return;
		}
	if (*n < cap)
		t[(*n)++] = (struct cpu_track){ id, now, now, cpu_ns, cpu_ns };
}

/* Share of one core over the time it was tracked. */
static double track_share(const struct cpu_track *t)
{
	return t->last_at > t->first_at ? (double)(t->last_ns - t->first_ns) / (double)(t->last_at - t->first_at) : 0;
}

/* ---- Session: built-in peers through run_session() ------------------------------ */

/*
 * The sampler polls, from its own thread while run_session() runs on the
 * main thread: every thread of this process other than those two (the
 * wire's relay is the only one run_session starts without a window), the
 * children (the peers), and each peer's frame as the harness last heard it.
 * run_result.peers[k].frames is written by run_session with plain stores
 * and read here with relaxed atomic loads: a poll late at worst, never torn.
 */
struct session_sampler {
	struct run_result *res;
	uint32_t npeers;
	pid_t main_tid, self_tid;
	bench_ns window_ns;        /* the frame rate is measured over this, from 1 s after every peer's first frame */
	atomic_bool stop;
	pthread_t thread;

	struct cpu_track threads[SC_MAX_THREADS], main_thread;
	uint32_t nthreads;
	struct cpu_track children[RUN_MAX_PEERS];
	uint32_t nchildren;
	bench_ns all_framed_at, window_from, window_to;
	uint32_t frames_from[RUN_MAX_PEERS], frames_to[RUN_MAX_PEERS];
	uint64_t stalls_from[RUN_MAX_PEERS], stalls_to[RUN_MAX_PEERS];
	bool window_open, window_done;
};

static void sample_threads(struct session_sampler *s, bench_ns now)
{
	pid_t tids[64];
	int n = bench_list_tids(tids, 64);
	for (int i = 0; i < n; i++) {
		uint64_t cpu;
		if (tids[i] == s->self_tid || bench_thread_cpu_ns(tids[i], &cpu) < 0)
			continue;
		if (tids[i] == s->main_tid) {
			if (!s->main_thread.id)
				s->main_thread = (struct cpu_track){ tids[i], now, now, cpu, cpu };
			s->main_thread.last_at = now;
			s->main_thread.last_ns = cpu;
		} else {
			track(s->threads, &s->nthreads, SC_MAX_THREADS, tids[i], cpu, now);
		}
	}
}

static void sample_children(struct session_sampler *s, bench_ns now)
{
	pid_t self = getpid();
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)atoi(e->d_name), ppid;
		uint64_t cpu;
		if (proc_cpu_ns(pid, &ppid, &cpu) == 0 && ppid == self)
			track(s->children, &s->nchildren, RUN_MAX_PEERS, pid, cpu, now);
	}
	closedir(d);
}

static void sample_frames(struct session_sampler *s, bench_ns now)
{
	uint32_t f[RUN_MAX_PEERS];
	uint64_t st[RUN_MAX_PEERS];
	bool all = true;
	for (uint32_t k = 0; k < s->npeers; k++) {
		f[k] = __atomic_load_n(&s->res->peers[k].frames, __ATOMIC_RELAXED);
		st[k] = __atomic_load_n(&s->res->peers[k].stalls, __ATOMIC_RELAXED);
		all &= f[k] > 0;
	}
	if (!s->all_framed_at) {
		if (all)
			s->all_framed_at = now;
		return;
	}
	if (!s->window_open && now >= s->all_framed_at + BENCH_NS_PER_S) {
		s->window_open = true;
		s->window_from = now;
		memcpy(s->frames_from, f, sizeof f[0] * s->npeers);
		memcpy(s->stalls_from, st, sizeof st[0] * s->npeers);
	} else if (s->window_open && !s->window_done && now >= s->window_from + s->window_ns) {
		s->window_done = true;
		s->window_to = now;
		memcpy(s->frames_to, f, sizeof f[0] * s->npeers);
		memcpy(s->stalls_to, st, sizeof st[0] * s->npeers);
	}
}

static void *session_sampler_main(void *arg)
{
	struct session_sampler *s = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	s->self_tid = bench_gettid();
	bench_ns next = bench_now_ns();
	while (!atomic_load(&s->stop)) {
		bench_ns now = bench_now_ns();
		sample_threads(s, now);
		sample_children(s, now);
		sample_frames(s, now);
		next += SC_POLL_NS;
		bench_sleep_until_ns(next);
	}
	return NULL;
}

struct session_fig {
	uint32_t peers;
	int exit_code;
	char reason[VERDICT_REASON_MAX];
	double fps_min, fps_mean, fps_overall_min, fps_overall_mean, window_s;
	double ticks_min, stalls_per_s_max; /* the peers' loop rate (frames + stalls), and the stalls within it */
	double wire_cpu, main_cpu, peers_cpu;
	uint32_t other_threads, children;
	uint64_t max_stalls;
	bool measured, holds, loop_keeps;
};

static int part_session(uint32_t n, double seconds, uint64_t seed, struct session_fig *out)
{
	memset(out, 0, sizeof *out);
	out->peers = n;
	struct run_cfg cfg = { 0 };
	scn_default(&cfg.scn); /* rollback, input delay 2 */
	cfg.scn.peers = n;
	cfg.scn.duration_s = seconds;
	cfg.scn.seed = seed;
	cfg.scn.have_seed = true;
	char err[256];
	snprintf(cfg.scn.preset, sizeof cfg.scn.preset, "%s", SC_PRESET);
	if (link_opt_set(&cfg.scn.link, "preset", SC_PRESET, "scale: preset", err, sizeof err) < 0 ||
	    scn_check(&cfg.scn, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	struct run_result *res = calloc(1, sizeof *res);
	struct session_sampler *s = calloc(1, sizeof *s);
	if (!res || !s) {
		free(res);
		free(s);
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	s->res = res;
	s->npeers = n;
	s->main_tid = bench_gettid();
	/* From 1 s after every peer's first frame to 1 s before the end: the steady middle of the run. */
	s->window_ns = seconds > 3 ? (bench_ns)((seconds - 2.5) * BENCH_NS_PER_S) : BENCH_NS_PER_S / 2;
	atomic_init(&s->stop, false);
	int e = pthread_create(&s->thread, NULL, session_sampler_main, s);
	if (e) {
		fprintf(stderr, "%s: cannot start the sampler thread: %s\n", prog, strerror(e));
		free(res);
		free(s);
		return -1;
	}
	fprintf(stderr, "%s: session: %u built-in peers, %s, %.0f s...\n", prog, n, SC_PRESET, seconds);
	out->exit_code = run_session(&cfg, res);
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	snprintf(out->reason, sizeof out->reason, "%s", res->reason);

	/* The wire's relay is the busiest thread besides the main one and the sampler; there should be only it. */
	const struct cpu_track *wire = NULL;
	for (uint32_t i = 0; i < s->nthreads; i++)
		if (!wire || s->threads[i].last_ns - s->threads[i].first_ns > wire->last_ns - wire->first_ns)
			wire = &s->threads[i];
	out->other_threads = s->nthreads;
	out->wire_cpu = wire ? track_share(wire) : 0;
	out->main_cpu = track_share(&s->main_thread);
	out->children = s->nchildren;
	for (uint32_t i = 0; i < s->nchildren; i++)
		out->peers_cpu += track_share(&s->children[i]);

	out->measured = s->window_done;
	double sum = 0, sum_all = 0;
	out->fps_min = out->fps_overall_min = out->ticks_min = 1e300;
	out->window_s = s->window_done ? (double)(s->window_to - s->window_from) / BENCH_NS_PER_S : 0;
	for (uint32_t k = 0; k < n; k++) {
		double fps = s->window_done ? (double)(s->frames_to[k] - s->frames_from[k]) / out->window_s : 0;
		double all = res->peers[k].frames / seconds;
		double stalls = s->window_done ? (double)(s->stalls_to[k] - s->stalls_from[k]) / out->window_s : 0;
		out->ticks_min = fps + stalls < out->ticks_min ? fps + stalls : out->ticks_min;
		out->stalls_per_s_max = stalls > out->stalls_per_s_max ? stalls : out->stalls_per_s_max;
		out->fps_min = fps < out->fps_min ? fps : out->fps_min;
		out->fps_overall_min = all < out->fps_overall_min ? all : out->fps_overall_min;
		sum += fps;
		sum_all += all;
		if (res->peers[k].stalls > out->max_stalls)
			out->max_stalls = res->peers[k].stalls;
	}
	out->fps_mean = sum / n;
	out->fps_overall_mean = sum_all / n;
	out->holds = out->exit_code == 0 && out->measured && out->fps_min >= SC_HOLD_FPS;
	out->loop_keeps = out->exit_code == 0 && out->measured && out->ticks_min >= SC_HOLD_FPS;
	fprintf(stderr,
		"%s: session %2u peers: exit %d (%s); fps over %.1f s min %.2f mean %.2f (whole run %.1f/%.1f); "
		"ticks/s min %.2f, stalls/s max %.2f; "
		"wire thread %.1f%% of a core, harness loop %.1f%%, peers %.1f%% in all (%u seen); %u thread(s) "
		"beside main and sampler; largest stalls counter %" PRIu64 "\n",
		prog, n, out->exit_code, res->reason, out->window_s, out->fps_min, out->fps_mean, out->fps_overall_min,
		out->fps_overall_mean, out->ticks_min, out->stalls_per_s_max, out->wire_cpu * 100, out->main_cpu * 100, out->peers_cpu * 100, out->children,
		out->other_threads, out->max_stalls);
	free(res->links);
	free(res);
	free(s);
	return 0;
}

/* ---- Stand-in peers through the wire --------------------------------------------- */

static int start_wire(void *w)
{
	return wire_start(w);
}

static int start_traffic(void *t)
{
	return wire_traffic_start(t);
}

/* Sums of every link's counters. */
struct link_sums {
	uint64_t sent, delivered, dropped_model;
	struct wire_hist delay;
};

static void sum_links(struct wire *w, uint32_t n, struct link_sums *out)
{
	memset(out, 0, sizeof *out);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < n; j++) {
			struct wire_link_stats st;
			struct wire_hist delay;
			if (i == j || wire_link_stats(w, i, j, &st) < 0 || wire_link_delay(w, i, j, &delay) < 0)
				continue;
			out->sent += st.sent;
			out->delivered += st.delivered;
			for (int f = 1; f < WIRE_FATE_COUNT; f++)
				out->dropped_model += st.dropped[f];
			wire_hist_merge(&out->delay, &delay);
		}
}

/* The stand-ins and the wire with their threads found; cleans up after itself on failure. */
struct rig {
	struct wire *w;
	struct wire_traffic *t;
	pid_t wire_tid, gen_tid;
	uint16_t *pub;
	char dir[32];
	bool dir_made;
	char pcap[64], fates[64];
};

static void rig_destroy(struct rig *r)
{
	wire_traffic_destroy(r->t);
	wire_destroy(r->w);
	free(r->pub);
	if (r->dir_made) {
		unlink(r->pcap);
		unlink(r->fates);
		rmdir(r->dir);
	}
	memset(r, 0, sizeof *r);
}

/* Binds the wire (with a capture when `capture`) and n stand-ins, then starts both. Returns 0 or -1. */
static int rig_create(struct rig *r, uint32_t n, double hz, uint32_t fanout, bool capture, uint64_t seed)
{
	memset(r, 0, sizeof *r);
	char err[256];
	int e;
	struct wire_config wc;
	wire_config_default(&wc);
	wc.npeers = n;
	wc.seed = seed;
	if (link_opt_set(&wc.link, "preset", SC_PRESET, "scale: preset", err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	if (capture) {
		snprintf(r->dir, sizeof r->dir, "/tmp/loopsim-scale-XXXXXX");
		if (!mkdtemp(r->dir)) {
			fprintf(stderr, "%s: cannot create a directory in /tmp: %s\n", prog, strerror(errno));
			return -1;
		}
		r->dir_made = true;
		snprintf(r->pcap, sizeof r->pcap, "%s/capture.pcap", r->dir);
		snprintf(r->fates, sizeof r->fates, "%s/fates.tsv", r->dir);
		wc.pcap_path = r->pcap;
		wc.fates_path = r->fates;
	}
	if (wire_create(&wc, &r->w, err, sizeof err) < 0) {
		fprintf(stderr, "%s: wire_create (%u peers): %s\n", prog, n, err);
		goto fail;
	}
	if (!(r->pub = malloc(sizeof *r->pub * n)))
		goto fail;
	for (uint32_t k = 0; k < n; k++)
		r->pub[k] = wire_public_port(r->w, k);
	struct wire_traffic_cfg tc = { .npeers = n, .public_port = r->pub, .hz = hz, .size = SC_SIZE, .fanout = fanout };
	if (!(r->t = wire_traffic_create(&tc, err, sizeof err))) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto fail;
	}
	/* Registered up front, so that no datagram can reach a peer before the wire has learned its port. */
	for (uint32_t k = 0; k < n; k++)
		wire_register_port(r->w, k, wire_traffic_port(r->t, k));
	r->wire_tid = bench_start_and_find_thread(start_wire, r->w, &e);
	if (e) {
		fprintf(stderr, "%s: wire_start: %s\n", prog, strerror(-e));
		goto fail;
	}
	r->gen_tid = bench_start_and_find_thread(start_traffic, r->t, &e);
	if (e) {
		fprintf(stderr, "%s: cannot start the traffic generator: %s\n", prog, strerror(-e));
		goto fail;
	}
	if (!r->wire_tid || !r->gen_tid)
		fprintf(stderr, "%s: cannot tell the wire's or the generator's thread apart; no CPU figures\n", prog);
	return 0;
fail:
	rig_destroy(r);
	return -1;
}

/*
 * Stops the generator's sending and waits, at most SC_DRAIN_NS, until the
 * wire has read everything sent, holds nothing in flight, and the receivers
 * have read everything it delivered. Returns whether it drained.
 */
static bool rig_drain(struct rig *r, uint32_t n)
{
	wire_traffic_pause(r->t);
	bench_ns deadline = bench_now_ns() + SC_DRAIN_NS;
	for (;;) {
		struct wire_traffic_stats ts;
		struct wire_totals wt;
		struct link_sums ls;
		wire_traffic_get_stats(r->t, &ts);
		wire_get_totals(r->w, &wt);
		sum_links(r->w, n, &ls);
		if (wt.received + wt.kernel_drops >= ts.sent && wt.inflight == 0 && ts.received >= ls.delivered)
			return true;
		if (bench_now_ns() > deadline)
			return false;
		bench_sleep_until_ns(bench_now_ns() + 10 * (bench_ns)BENCH_NS_PER_MS);
	}
}

struct traffic_fig {
	uint32_t peers;
	double seconds;
	double expected_ps, sent_ps, delivered_ps;
	double delay_p50_ms, delay_p99_ms, wire_delay_p50_ms, wire_delay_p99_ms;
	double wire_cpu, gen_cpu;
	uint64_t sent, received, model_drops, lost_beyond_model, undrained, out_of_order, corrupt;
	struct wire_totals totals;
	bool drained, holds;
};

static int part_traffic(uint32_t n, double seconds, bool capture, uint64_t seed, struct traffic_fig *out)
{
	memset(out, 0, sizeof *out);
	out->peers = n;
	struct rig r;
	fprintf(stderr, "%s: traffic: %u stand-in peers, %.0f Hz full mesh (%u links), %s, %s...\n", prog, n, SC_HZ,
		n * (n - 1), SC_PRESET, capture ? "pcap and fate log" : "no capture");
	if (rig_create(&r, n, SC_HZ, n - 1, capture, seed) < 0)
		return -1;
	bench_sleep_until_ns(bench_now_ns() + SC_WARM_NS);

	struct wire_traffic_stats a, b;
	uint64_t wa = 0, wb = 0, ga = 0, gb = 0;
	bool cpu = r.wire_tid && r.gen_tid;
	bench_ns ta = bench_now_ns();
	wire_traffic_get_stats(r.t, &a);
	cpu = cpu && bench_thread_cpu_ns(r.wire_tid, &wa) == 0 && bench_thread_cpu_ns(r.gen_tid, &ga) == 0;
	bench_sleep_until_ns(ta + (bench_ns)(seconds * BENCH_NS_PER_S));
	bench_ns tb = bench_now_ns();
	wire_traffic_get_stats(r.t, &b);
	cpu = cpu && bench_thread_cpu_ns(r.wire_tid, &wb) == 0 && bench_thread_cpu_ns(r.gen_tid, &gb) == 0;
	double dt = (double)(tb - ta) / BENCH_NS_PER_S;
	out->seconds = dt;
	out->expected_ps = (double)n * (n - 1) * SC_HZ;
	out->sent_ps = (double)(b.sent - a.sent) / dt;
	out->delivered_ps = (double)(b.received - a.received) / dt;
	out->wire_cpu = cpu ? (double)(wb - wa) / BENCH_NS_PER_S / dt : 0;
	out->gen_cpu = cpu ? (double)(gb - ga) / BENCH_NS_PER_S / dt : 0;

	out->drained = rig_drain(&r, n);
	struct wire_traffic_stats end;
	struct link_sums ls;
	wire_traffic_get_stats(r.t, &end);
	wire_get_totals(r.w, &out->totals);
	sum_links(r.w, n, &ls);
	out->sent = end.sent;
	out->received = end.received;
	out->model_drops = ls.dropped_model;
	/* Still in the wire's socket queues or its schedule when the drain gave up: late, not lost. */
	out->undrained = out->totals.inflight + (end.sent > out->totals.received + out->totals.kernel_drops
							 ? end.sent - out->totals.received - out->totals.kernel_drops
							 : 0);
	uint64_t accounted = end.received + ls.dropped_model + out->undrained;
	out->lost_beyond_model = end.sent > accounted ? end.sent - accounted : 0;
	out->out_of_order = end.out_of_order;
	out->corrupt = end.corrupt;
	out->delay_p50_ms = (double)wire_hist_quantile(&end.delay, 0.50) / 1000;
	out->delay_p99_ms = (double)wire_hist_quantile(&end.delay, 0.99) / 1000;
	out->wire_delay_p50_ms = (double)wire_hist_quantile(&ls.delay, 0.50) / 1000;
	out->wire_delay_p99_ms = (double)wire_hist_quantile(&ls.delay, 0.99) / 1000;

	struct wire_link_cfg preset;
	char err[256];
	wire_link_cfg_default(&preset);
	link_opt_set(&preset, "preset", SC_PRESET, "scale: preset", err, sizeof err); /* it passed in rig_create */
	double model_max_ms = preset.latency_ms + preset.jitter_ms;
	out->holds = out->sent_ps >= SC_HOLD_SENT_RATIO * out->expected_ps &&
		     (double)out->lost_beyond_model <= SC_HOLD_LOST_RATIO * (double)out->sent &&
		     out->delay_p99_ms <= model_max_ms + SC_HOLD_DELAY_MARGIN_MS;
	fprintf(stderr,
		"%s: traffic %2u peers: sent %.0f/s, delivered %.0f/s of %.0f/s expected (%.1f%%); lost beyond the "
		"model %" PRIu64 " of %" PRIu64 " (wire: kernel %" PRIu64 ", pool %" PRIu64 ", send errors %" PRIu64
		"), %" PRIu64 " still queued; delay p50 %.1f ms p99 %.1f ms at the receivers, %.1f/%.1f ms in the wire; wire thread %.0f%% "
		"of a core, generator %.0f%%%s\n",
		prog, n, out->sent_ps, out->delivered_ps, out->expected_ps, 100 * out->delivered_ps / out->expected_ps,
		out->lost_beyond_model, out->sent, out->totals.kernel_drops, out->totals.pool_full,
		out->totals.send_errors, out->undrained, out->delay_p50_ms, out->delay_p99_ms, out->wire_delay_p50_ms,
		out->wire_delay_p99_ms, out->wire_cpu * 100, out->gen_cpu * 100,
		out->drained ? "" : "; did NOT drain within the bound");
	rig_destroy(&r);
	return 0;
}

/* ---- Wide: 250 addresses, exact counters ---------------------------------------- */

struct wide_fig {
	uint32_t peers, fanout;
	uint32_t distinct_addrs, addrs_carried;
	char first_addr[WIRE_ADDR_STRLEN], last_addr[WIRE_ADDR_STRLEN];
	uint32_t links_checked, links_bad, other_links_bad;
	uint64_t per_link, gen_sent, gen_received, wire_received, delivered, dropped;
	struct wire_totals totals;
	uint32_t fds_used;
	bool drained, divisible, ok;
};

static int part_wide(uint32_t n, double seconds, uint64_t seed, struct wide_fig *out)
{
	memset(out, 0, sizeof *out);
	out->peers = n;
	uint32_t fan = SC_WIDE_FANOUT < n - 1 ? SC_WIDE_FANOUT : n - 1;
	out->fanout = fan;
	fprintf(stderr, "%s: wide: %u stand-in peers, %.0f Hz to the next %u, %.0f s...\n", prog, n, SC_WIDE_HZ, fan,
		seconds);
	struct rig r;
	if (rig_create(&r, n, SC_WIDE_HZ, fan, false, seed) < 0)
		return -1;
	out->fds_used = count_fds();
	bench_sleep_until_ns(bench_now_ns() + (bench_ns)(seconds * BENCH_NS_PER_S));
	out->drained = rig_drain(&r, n);
	wire_traffic_stop(r.t);

	struct wire_traffic_stats ts;
	wire_traffic_get_stats(r.t, &ts);
	wire_get_totals(r.w, &out->totals);
	out->gen_sent = ts.sent;
	out->gen_received = ts.received;
	out->wire_received = out->totals.received;

	/*
	 * The generator counts what it sent in total, not per link; but each
	 * tick it sends once on every one of its n * fan links, so when the
	 * total is a multiple of n * fan (no sendto was refused) every link
	 * carried exactly total / (n * fan).
	 */
	uint64_t links = (uint64_t)n * fan;
	out->divisible = ts.sent % links == 0;
	out->per_link = ts.sent / links;
	bool *carried = calloc(n, sizeof *carried);
	if (!carried) {
		rig_destroy(&r);
		return -1;
	}
	uint32_t addr_seen[WIRE_MAX_PEERS];
	for (uint32_t i = 0; i < n; i++) {
		addr_seen[i] = wire_peer_ip(i);
		bool dup = false;
		for (uint32_t j = 0; j < i && !dup; j++)
			dup = addr_seen[j] == addr_seen[i];
		out->distinct_addrs += !dup && wire_ip_is_loopback(addr_seen[i]);
		for (uint32_t j = 0; j < n; j++) {
			if (i == j)
				continue;
			struct wire_link_stats st;
			if (wire_link_stats(r.w, i, j, &st) < 0) {
				out->links_bad++;
				continue;
			}
			uint32_t step = (j + n - i) % n;
			uint64_t dropped = 0;
			for (int f = 1; f < WIRE_FATE_COUNT; f++)
				dropped += st.dropped[f];
			if (step >= 1 && step <= fan) {
				out->links_checked++;
				out->delivered += st.delivered;
				out->dropped += dropped;
				/* Broadband duplicates nothing, so every datagram that entered is delivered or dropped. */
				bool good = out->divisible && st.sent == out->per_link && st.delivered + dropped == st.sent &&
					    st.duplicated == 0;
				if (!good) {
					if (out->links_bad < 5)
						fprintf(stderr,
							"%s: wide: link %u->%u: sent %" PRIu64 " (generator %" PRIu64
							"), delivered %" PRIu64 ", dropped %" PRIu64 "\n",
							prog, i, j, st.sent, out->per_link, st.delivered, dropped);
					out->links_bad++;
				}
				if (st.sent > 0)
					carried[i] = true;
			} else if (st.sent || st.delivered || dropped) {
				out->other_links_bad++;
			}
		}
	}
	for (uint32_t i = 0; i < n; i++)
		out->addrs_carried += carried[i];
	free(carried);
	wire_addr_str(out->first_addr, sizeof out->first_addr, wire_peer_ip(0), 0);
	wire_addr_str(out->last_addr, sizeof out->last_addr, wire_peer_ip(n - 1), 0);
	const struct wire_totals *t = &out->totals;
	out->ok = out->drained && out->divisible && out->links_bad == 0 && out->other_links_bad == 0 &&
		  out->distinct_addrs == n && out->addrs_carried == n && out->wire_received == out->gen_sent &&
		  out->gen_received == out->delivered && t->strays == 0 && t->pool_full == 0 && t->unroutable == 0 &&
		  t->send_errors == 0 && t->kernel_drops == 0 && t->inflight == 0 && ts.corrupt == 0;
	fprintf(stderr,
		"%s: wide %u peers (%s..%s): %u distinct addresses, %u carried traffic; %u links checked, %u wrong, "
		"%u others not silent; each link %" PRIu64 " (generator total %" PRIu64 "%s), wire received %" PRIu64
		", delivered %" PRIu64 " (receivers got %" PRIu64 "), dropped %" PRIu64 "; strays %" PRIu64
		", pool_full %" PRIu64 ", unroutable %" PRIu64 ", kernel drops %" PRIu64 "; %u fds: %s\n",
		prog, n, out->first_addr, out->last_addr, out->distinct_addrs, out->addrs_carried, out->links_checked,
		out->links_bad, out->other_links_bad, out->per_link, out->gen_sent,
		out->divisible ? "" : ", NOT a multiple of the links", out->wire_received, out->delivered,
		out->gen_received, out->dropped, t->strays, t->pool_full, t->unroutable, t->kernel_drops, out->fds_used,
		out->ok ? "exact" : "MISMATCH");
	rig_destroy(&r);
	return 0;
}

/* ---- The subcommand --------------------------------------------------------------- */

/* Raises the soft fd limit to the hard one: the wide part holds two sockets a peer. */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			fprintf(stderr, "%s: raised the soft RLIMIT_NOFILE from %llu to the hard limit %llu\n", prog,
				(unsigned long long)was, (unsigned long long)rl.rlim_max);
		else
			fprintf(stderr, "%s: cannot raise the soft RLIMIT_NOFILE from %llu to %llu: %s\n", prog,
				(unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	} else {
		fprintf(stderr, "%s: RLIMIT_NOFILE: the soft limit is already the hard limit, %llu\n", prog,
			(unsigned long long)rl.rlim_cur);
	}
	return rl.rlim_cur;
}

int bench_scale(int argc, char **argv)
{
	double seconds = 10, wide_peers = SC_WIDE_PEERS, seed = SC_SEED;
	unsigned parts = PART_ALL;
	bool capture = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--seconds") == 0) {
			if (bench_parse_double(prog, "--seconds", val, 1, 60, &seconds) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--wide-peers") == 0) {
			if (bench_parse_double(prog, "--wide-peers", val, 2, WIRE_MAX_PEERS, &wide_peers) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--no-capture") == 0) {
			capture = false;
		} else if (strcmp(a, "--seed") == 0) {
			if (bench_parse_double(prog, "--seed", val, 0, 999999999, &seed) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--parts") == 0) {
			if (!val) {
				fprintf(stderr, "%s: --parts: expected a comma list\n", prog);
				return BENCH_EXIT_USAGE;
			}
			if (parse_parts(val, &parts) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench scale --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}
	uint32_t nwide = (uint32_t)wide_peers;
	rlim_t nofile = raise_nofile();
	/* Two sockets a stand-in peer (its own and the wire's public one), and a margin for everything else. */
	if ((parts & PART_WIDE) && nofile < (rlim_t)2 * nwide + 64) {
		fprintf(stderr, "%s: the wide part needs about %u fds and RLIMIT_NOFILE allows %llu\n", prog,
			2 * nwide + 64, (unsigned long long)nofile);
		return BENCH_EXIT_SETUP;
	}
	/* run_session() reads these through a signalfd on the main thread; the sampler threads inherit the block. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	struct session_fig sf[NSESSION];
	struct traffic_fig tf[NTRAFFIC];
	struct wide_fig wf;
	uint32_t largest = 0;
	if (parts & PART_SESSION)
		for (size_t i = 0; i < NSESSION; i++) {
			if (part_session(session_sizes[i], seconds, (uint64_t)seed, &sf[i]) < 0)
				return BENCH_EXIT_SETUP;
			if (sf[i].loop_keeps && sf[i].peers > largest)
				largest = sf[i].peers;
		}
	if (parts & PART_TRAFFIC)
		for (size_t i = 0; i < NTRAFFIC; i++) {
			if (part_traffic(traffic_sizes[i], seconds, capture, (uint64_t)seed, &tf[i]) < 0)
				return BENCH_EXIT_SETUP;
			if (tf[i].holds && tf[i].peers > largest)
				largest = tf[i].peers;
		}
	if ((parts & PART_WIDE) && part_wide(nwide, SC_WIDE_S, (uint64_t)seed, &wf) < 0)
		return BENCH_EXIT_SETUP;

	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "cores", (double)sysconf(_SC_NPROCESSORS_ONLN));
	cJSON_AddStringToObject(o, "preset", SC_PRESET);
	cJSON_AddNumberToObject(o, "seconds", seconds);
	cJSON_AddNumberToObject(o, "seed", seed);
	cJSON_AddNumberToObject(o, "nofile_limit", (double)nofile);
	if (parts & PART_TRAFFIC)
		cJSON_AddBoolToObject(o, "traffic_capture", capture);
	if (parts == PART_ALL || (parts & (PART_SESSION | PART_TRAFFIC)))
		cJSON_AddNumberToObject(o, "largest_holding_60hz", largest);
	if (parts & PART_SESSION) {
		cJSON *arr = cJSON_AddArrayToObject(o, "session");
		for (size_t i = 0; i < NSESSION; i++) {
			const struct session_fig *f = &sf[i];
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "peers", f->peers);
			cJSON_AddNumberToObject(x, "exit_code", f->exit_code);
			cJSON_AddNumberToObject(x, "fps_min", milli(f->fps_min));
			cJSON_AddNumberToObject(x, "fps_mean", milli(f->fps_mean));
			cJSON_AddNumberToObject(x, "fps_window_s", milli(f->window_s));
			cJSON_AddNumberToObject(x, "fps_whole_run_min", milli(f->fps_overall_min));
			cJSON_AddNumberToObject(x, "fps_whole_run_mean", milli(f->fps_overall_mean));
			cJSON_AddNumberToObject(x, "ticks_per_s_min", milli(f->ticks_min));
			cJSON_AddNumberToObject(x, "stalls_per_s_max", milli(f->stalls_per_s_max));
			cJSON_AddBoolToObject(x, "loop_keeps_60hz", f->loop_keeps);
			cJSON_AddNumberToObject(x, "wire_cpu_pct", tenth(f->wire_cpu * 100));
			cJSON_AddNumberToObject(x, "harness_loop_cpu_pct", tenth(f->main_cpu * 100));
			cJSON_AddNumberToObject(x, "peers_cpu_pct", tenth(f->peers_cpu * 100));
			cJSON_AddNumberToObject(x, "stalls_max", (double)f->max_stalls);
			cJSON_AddBoolToObject(x, "fps_holds_60", f->holds);
			cJSON_AddItemToArray(arr, x);
		}
	}
	if (parts & PART_TRAFFIC) {
		cJSON *arr = cJSON_AddArrayToObject(o, "traffic");
		for (size_t i = 0; i < NTRAFFIC; i++) {
			const struct traffic_fig *f = &tf[i];
			cJSON *x = cJSON_CreateObject();
			cJSON_AddNumberToObject(x, "peers", f->peers);
			cJSON_AddNumberToObject(x, "links", f->peers * (f->peers - 1));
			cJSON_AddNumberToObject(x, "expected_per_s", f->expected_ps);
			cJSON_AddNumberToObject(x, "sent_per_s", (double)(int64_t)f->sent_ps);
			cJSON_AddNumberToObject(x, "delivered_per_s", (double)(int64_t)f->delivered_ps);
			cJSON_AddNumberToObject(x, "delivered_ratio", milli(f->delivered_ps / f->expected_ps));
			cJSON_AddNumberToObject(x, "model_drops", (double)f->model_drops);
			cJSON_AddNumberToObject(x, "lost_beyond_model", (double)f->lost_beyond_model);
			cJSON_AddNumberToObject(x, "undrained", (double)f->undrained);
			cJSON_AddNumberToObject(x, "wire_kernel_drops", (double)f->totals.kernel_drops);
			cJSON_AddNumberToObject(x, "wire_pool_full", (double)f->totals.pool_full);
			cJSON_AddNumberToObject(x, "out_of_order", (double)f->out_of_order);
			cJSON_AddNumberToObject(x, "corrupt", (double)f->corrupt);
			cJSON_AddNumberToObject(x, "delay_ms_p50", tenth(f->delay_p50_ms));
			cJSON_AddNumberToObject(x, "delay_ms_p99", tenth(f->delay_p99_ms));
			cJSON_AddNumberToObject(x, "wire_delay_ms_p50", tenth(f->wire_delay_p50_ms));
			cJSON_AddNumberToObject(x, "wire_delay_ms_p99", tenth(f->wire_delay_p99_ms));
			cJSON_AddNumberToObject(x, "wire_cpu_pct", tenth(f->wire_cpu * 100));
			cJSON_AddNumberToObject(x, "generator_cpu_pct", tenth(f->gen_cpu * 100));
			cJSON_AddBoolToObject(x, "drained", f->drained);
			cJSON_AddBoolToObject(x, "holds_60hz", f->holds);
			cJSON_AddItemToArray(arr, x);
		}
	}
	if (parts & PART_WIDE) {
		cJSON *x = cJSON_AddObjectToObject(o, "wide");
		cJSON_AddNumberToObject(x, "peers", wf.peers);
		cJSON_AddNumberToObject(x, "hz", SC_WIDE_HZ);
		cJSON_AddNumberToObject(x, "fanout", wf.fanout);
		cJSON_AddStringToObject(x, "first_addr", wf.first_addr);
		cJSON_AddStringToObject(x, "last_addr", wf.last_addr);
		cJSON_AddNumberToObject(x, "distinct_addrs", wf.distinct_addrs);
		cJSON_AddNumberToObject(x, "addrs_carried", wf.addrs_carried);
		cJSON_AddNumberToObject(x, "links_checked", wf.links_checked);
		cJSON_AddNumberToObject(x, "links_wrong", wf.links_bad);
		cJSON_AddNumberToObject(x, "other_links_not_silent", wf.other_links_bad);
		cJSON_AddNumberToObject(x, "per_link_sent", (double)wf.per_link);
		cJSON_AddNumberToObject(x, "generator_sent", (double)wf.gen_sent);
		cJSON_AddNumberToObject(x, "wire_received", (double)wf.wire_received);
		cJSON_AddNumberToObject(x, "delivered", (double)wf.delivered);
		cJSON_AddNumberToObject(x, "receivers_got", (double)wf.gen_received);
		cJSON_AddNumberToObject(x, "dropped_by_model", (double)wf.dropped);
		cJSON_AddNumberToObject(x, "strays", (double)wf.totals.strays);
		cJSON_AddNumberToObject(x, "kernel_drops", (double)wf.totals.kernel_drops);
		cJSON_AddNumberToObject(x, "fds_in_use", wf.fds_used);
		cJSON_AddBoolToObject(x, "drained", wf.drained);
		cJSON_AddBoolToObject(x, "exact", wf.ok);
	}
	bench_json_emit(o);
	cJSON_Delete(o);
	return BENCH_EXIT_OK;
}
