// SPDX-License-Identifier: MIT
// loopsim-bench soak: a 16-peer rollback session under congestion, split and healed every 30 s, for minutes.
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "wire/link_opts.h"
#include "harness/run.h"
#include "harness/scenario.h"

/*
 * The session: 16 built-in peers (the game's most), rollback, the congested
 * preset (50 ± 50 ms, 1% loss) on every link, and every SOAK_CYCLE_S a
 * partition into two halves that heals SOAK_PARTITION_S later. The
 * partition must stay shorter than the peers' disconnect timeout (8 s,
 * peers/peer_main.c), or a half would drop the other for good and the soak
 * would stop exercising the mesh.
 */
#define SOAK_PEERS 16u
#define SOAK_PRESET "congested"
#define SOAK_CYCLE_S 30.0
#define SOAK_PARTITION_AT_S 10.0 /* into each cycle */
#define SOAK_PARTITION_S 5.0
#define SOAK_GROUPS "0 1 2 3 4 5 6 7 | 8 9 10 11 12 13 14 15"
#define SOAK_DEFAULT_MINUTES 10.0
/* Two events a cycle, and a scenario holds SCN_MAX_EVENTS: 60 minutes is 240 of 256. */
#define SOAK_MAX_MINUTES 60.0
#define SOAK_SEED 1

/* The sampler: the frame poll sets the stall resolution; /proc is read less often, it costs a directory walk. */
#define SOAK_POLL_NS (20 * (bench_ns)BENCH_NS_PER_MS)
#define SOAK_SAMPLE_NS (10 * (bench_ns)BENCH_NS_PER_S)
#define SOAK_PROGRESS_NS (60 * (bench_ns)BENCH_NS_PER_S)
#define SOAK_MAX_SERIES ((size_t)SOAK_MAX_MINUTES + 2)
#define SOAK_FRAME_MS (1000.0 / 60.0)
/* Stalls that begin this early are the mesh still connecting; they are reported apart. */
#define SOAK_STARTUP_S 2.0

static const char prog[] = "loopsim-bench soak";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench soak [--minutes M] [--seed N]\n"
		"\n"
		"Runs one session through run_session(), as `loopsim run` would: %u built-in peers (loopsim-peer,\n"
		"found beside this program or through $LOOPSIM_PEER), rollback, the %s preset on every link,\n"
		"and every %.0f s, from %.0f s in, the partition '%s' for %.0f s (the peers\n"
		"drop a silent remote after 8 s). A sampler thread reads /proc every %.0f s and polls the peers'\n"
		"frames, as the harness last heard them, every %.0f ms. Reported:\n"
		"  harness_rss_kb_*, peers_rss_kb_*  VmRSS of this process, and summed over its children (the\n"
		"                     peers), %.0f s in (start) and at the last sample with every peer alive (end)\n"
		"  fds_*              this process's open fds: before the run, start, end, and after it returned\n"
		"  desyncs            0, or 1 if the oracle found one (a session stops at its first)\n"
		"  fate_records, wire_sent  lines of the fate log against the sum of every link's `sent`: equal\n"
		"                     when the log lost nothing\n"
		"  stall_ms_max       the longest time any peer's reported frame did not move (polled; the frame\n"
		"                     reaches the harness with each newly confirmed frame, else with a 500 ms\n"
		"                     heartbeat, so a pause in confirmations shows as a stall of up to 500 ms\n"
		"                     even while the peer predicts ahead)\n"
		"  stall_ms_max_outside_partitions  the same, for stalls that overlap no partition and begin\n"
		"                     after the first %.0f s (stall_ms_max_startup: those that begin before)\n"
		"  stall_frames_max   the largest of the peers' own `stalls` counters: every tick that did not\n"
		"                     advance, over the whole run; a total, not the longest stall\n"
		"\n"
		"Options:\n"
		"  --minutes M  length of the session, %.1f..%.0f (default %.0f)\n"
		"  --seed N     the seed of the game and the wire (default %u)\n"
		"  --help       this text\n"
		"\n"
		"Progress goes to stderr each minute; the last stdout line is one JSON object.\n"
		"Exit codes: 0 ran (whatever it found), 2 bad usage, 3 setup failure.\n",
		SOAK_PEERS, SOAK_PRESET, SOAK_CYCLE_S, SOAK_PARTITION_AT_S, SOAK_GROUPS, SOAK_PARTITION_S,
		(double)SOAK_SAMPLE_NS / BENCH_NS_PER_S, (double)SOAK_POLL_NS / BENCH_NS_PER_MS,
		(double)SOAK_SAMPLE_NS / BENCH_NS_PER_S, SOAK_STARTUP_S, 0.5, SOAK_MAX_MINUTES, SOAK_DEFAULT_MINUTES, SOAK_SEED);
}

/* ---- /proc ----------------------------------------------------------------- */

/* The "VmRSS:" line of /proc/<pid>/status in kB (pid 0: this process); 0 if gone or a zombie. */
static uint64_t proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/status");
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	unsigned long long kb = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* Entries of /proc/<pid>/fd (pid 0: this process), not counting the one this walk opens itself. */
static uint32_t proc_fds(pid_t pid)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/fd");
	DIR *d = opendir(path);
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return pid ? n : n - 1;
}

/* The parent of pid from /proc/<pid>/stat, or -1. */
static pid_t proc_ppid(pid_t pid)
{
	char path[64];
	pid_t ppid;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	return bench_proc_stat(path, &ppid, NULL) == 0 ? ppid : -1;
}

struct proc_sample {
	double t_s;                /* since run_session() was called */
	uint64_t harness_rss_kb, peers_rss_kb;
	uint32_t harness_fds, peers_fds;
	uint32_t children;         /* live children seen: the peers */
};

static void take_sample(struct proc_sample *s, double t_s)
{
	memset(s, 0, sizeof *s);
	s->t_s = t_s;
	s->harness_rss_kb = proc_rss_kb(0);
	s->harness_fds = proc_fds(0);
	pid_t self = getpid();
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (proc_ppid(pid) != self)
			continue;
		uint64_t rss = proc_rss_kb(pid);
		if (!rss)
			continue; /* a zombie, or gone: no longer a peer that holds memory */
		s->children++;
		s->peers_rss_kb += rss;
		s->peers_fds += proc_fds(pid);
	}
	closedir(d);
}

/* ---- The sampler thread ------------------------------------------------------ */

/*
 * A stall is a gap between two changes of a peer's frame as the harness
 * last heard it (run_result.peers[k].frames, which run_session updates on
 * its own thread from each FRAME). The sampler reads that word with a
 * relaxed atomic load while run_session writes it with plain stores: the
 * value may be a poll late, never torn (an aligned 32-bit word), and it only
 * feeds this measurement.
 */
struct stall {
	double ms;
	uint32_t peer;
	double from_s, to_s;       /* session time, from the first frame seen */
};

struct sampler {
	struct run_result *res;
	uint32_t npeers;
	double minutes;
	bench_ns t_call;           /* when run_session() was called */
	atomic_bool stop;
	pthread_t thread;

	/* Written by the sampler, read by the main thread after the join. */
	struct proc_sample start, end;
	bool have_start, have_end;
	struct proc_sample series[SOAK_MAX_SERIES]; /* one a minute */
	size_t nseries;
	bench_ns t0;               /* the first poll that saw any frame: the session's start, give or take a frame */
	uint32_t frame[RUN_MAX_PEERS];
	bench_ns changed[RUN_MAX_PEERS];
	struct stall worst, worst_outside, worst_startup;
};

/* Whether [from_s, to_s] of session time overlaps a partition of the timeline. */
static bool overlaps_partition(double from_s, double to_s)
{
	for (double p = SOAK_PARTITION_AT_S; p <= to_s; p += SOAK_CYCLE_S)
		if (from_s < p + SOAK_PARTITION_S && to_s > p)
			return true;
	return false;
}

/* A peer's stalls count from its own first frame: the handshake before it is not a stall. */
static void poll_frames(struct sampler *s, bench_ns now)
{
	for (uint32_t k = 0; k < s->npeers; k++) {
		uint32_t f = __atomic_load_n(&s->res->peers[k].frames, __ATOMIC_RELAXED);
		if (f == s->frame[k])
			continue;
		if (!s->t0)
			s->t0 = now;
		if (!s->changed[k]) {
			s->frame[k] = f;
			s->changed[k] = now;
			continue;
		}
		struct stall st = { .ms = (double)(now - s->changed[k]) / BENCH_NS_PER_MS,
				    .peer = k,
				    .from_s = (double)(s->changed[k] - s->t0) / BENCH_NS_PER_S,
				    .to_s = (double)(now - s->t0) / BENCH_NS_PER_S };
		if (st.ms > s->worst.ms)
			s->worst = st;
		if (st.from_s < SOAK_STARTUP_S) {
			if (st.ms > s->worst_startup.ms)
				s->worst_startup = st;
		} else if (st.ms > s->worst_outside.ms && !overlaps_partition(st.from_s, st.to_s)) {
			s->worst_outside = st;
		}
		s->frame[k] = f;
		s->changed[k] = now;
	}
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	bench_ns next_poll = s->t_call, next_sample = s->t_call + SOAK_SAMPLE_NS,
		 next_progress = s->t_call + SOAK_PROGRESS_NS;
	while (!atomic_load(&s->stop)) {
		next_poll += SOAK_POLL_NS;
		bench_sleep_until_ns(next_poll);
		bench_ns now = bench_now_ns();
		poll_frames(s, now);
		if (now >= next_sample) {
			next_sample += SOAK_SAMPLE_NS;
			struct proc_sample ps;
			take_sample(&ps, (double)(now - s->t_call) / BENCH_NS_PER_S);
			if (!s->have_start && ps.children == s->npeers) {
				s->start = ps;
				s->have_start = true;
			}
			if (ps.children == s->npeers) {
				s->end = ps;
				s->have_end = true;
			}
			if (now >= next_progress) {
				next_progress += SOAK_PROGRESS_NS;
				if (s->nseries < SOAK_MAX_SERIES)
					s->series[s->nseries++] = ps;
				fprintf(stderr,
					"%s: %.0f/%.0f min: frame %" PRIu32 "; harness RSS %.1f MiB, %" PRIu32
					" fds; peers (%" PRIu32 ") RSS %.1f MiB, %" PRIu32 " fds; longest stall so far %.0f ms (%.0f ms "
					"outside partitions)\n",
					prog, ps.t_s / 60, s->minutes, s->frame[0], (double)ps.harness_rss_kb / 1024,
					ps.harness_fds, ps.children, (double)ps.peers_rss_kb / 1024, ps.peers_fds,
					s->worst.ms, s->worst_outside.ms);
			}
		}
	}
	return NULL;
}

/* ---- The fate log ------------------------------------------------------------ */

/* Lines of the fate log that are records (not '#' comments). Returns 0, or -1 if it cannot be read. */
static int count_fate_records(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	static char buf[1 << 16];
	uint64_t n = 0;
	bool at_line_start = true, comment = false;
	size_t got;
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		for (size_t i = 0; i < got; i++) {
			if (at_line_start)
				comment = buf[i] == '#';
			at_line_start = buf[i] == '\n';
			if (at_line_start && !comment)
				n++;
		}
	int bad = ferror(f);
	fclose(f);
	*out = n;
	return bad ? -1 : 0;
}

/* ---- The subcommand ---------------------------------------------------------- */

static int build_scenario(struct scenario *scn, double minutes, uint64_t seed)
{
	char err[256];
	scn_default(scn);
	scn->peers = SOAK_PEERS;
	scn->netcode = SCN_ROLLBACK;
	scn->duration_s = minutes * 60;
	scn->seed = seed;
	scn->have_seed = true;
	snprintf(scn->preset, sizeof scn->preset, "%s", SOAK_PRESET);
	if (link_opt_set(&scn->link, "preset", SOAK_PRESET, "soak: preset", err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	for (double at = SOAK_PARTITION_AT_S; at + SOAK_PARTITION_S < scn->duration_s; at += SOAK_CYCLE_S) {
		if (scn->nevents + 2 > SCN_MAX_EVENTS)
			break;
		struct scn_event *p = &scn->events[scn->nevents++];
		*p = (struct scn_event){ .at_s = at, .kind = SCN_EV_PARTITION };
		snprintf(p->groups, sizeof p->groups, "%s", SOAK_GROUPS);
		scn->events[scn->nevents++] = (struct scn_event){ .at_s = at + SOAK_PARTITION_S, .kind = SCN_EV_HEAL };
	}
	if (scn_check(scn, err, sizeof err) < 0) {
		fprintf(stderr, "%s: the built scenario is refused: %s\n", prog, err);
		return -1;
	}
	return 0;
}

static double tenth(double v)
{
	return (double)(int64_t)(v * 10 + (v >= 0 ? 0.5 : -0.5)) / 10;
}

int bench_soak(int argc, char **argv)
{
	double minutes = SOAK_DEFAULT_MINUTES, seed = SOAK_SEED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--minutes") == 0) {
			if (bench_parse_double(prog, "--minutes", val, 0.5, SOAK_MAX_MINUTES, &minutes) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--seed") == 0) {
			if (bench_parse_double(prog, "--seed", val, 0, 999999999, &seed) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench soak --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}

	int rc = BENCH_EXIT_SETUP;
	char dir[] = "/tmp/loopsim-soak-XXXXXX", fates[96], bundle[96];
	struct run_cfg cfg = { 0 };
	struct run_result *res = calloc(1, sizeof *res);
	struct sampler *s = calloc(1, sizeof *s);
	bool dir_made = false, thread_started = false, keep_log = false;
	if (!res || !s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (build_scenario(&cfg.scn, minutes, (uint64_t)seed) < 0)
		goto out;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: cannot create a directory in /tmp: %s\n", prog, strerror(errno));
		goto out;
	}
	dir_made = true;
	snprintf(fates, sizeof fates, "%s/fates.tsv", dir);
	cfg.fates_path = fates;
	snprintf(bundle, sizeof bundle, "%s/desync", dir);
	cfg.bundle_dir = bundle; /* a desync's bundle lands beside the fate log, not in the current directory */

	/*
	 * run_session() takes SIGINT, SIGTERM and SIGHUP through a signalfd on
	 * its own (the main) thread; block them here first, so that the sampler
	 * inherits the mask and a Ctrl-C ends the session cleanly instead of
	 * killing the process through the sampler.
	 */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	struct proc_sample before;
	take_sample(&before, 0);
	fprintf(stderr, "%s: %u peers, rollback, %s, seed %" PRIu64 ", %.1f min, %u partitions of %.0f s; fate log %s\n",
		prog, SOAK_PEERS, SOAK_PRESET, cfg.scn.seed, minutes, cfg.scn.nevents / 2, SOAK_PARTITION_S, fates);

	s->res = res;
	s->npeers = SOAK_PEERS;
	s->minutes = minutes;
	s->t_call = bench_now_ns();
	atomic_init(&s->stop, false);
	int e = pthread_create(&s->thread, NULL, sampler_main, s);
	if (e) {
		fprintf(stderr, "%s: cannot start the sampler thread: %s\n", prog, strerror(e));
		goto out;
	}
	thread_started = true;
	int exit_code = run_session(&cfg, res);
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	thread_started = false;
	struct proc_sample after;
	take_sample(&after, (double)(bench_now_ns() - s->t_call) / BENCH_NS_PER_S);

	uint64_t wire_sent = 0, records = 0, stall_frames_max = 0;
	uint32_t stall_peer = 0, problems = 0;
	for (uint32_t l = 0; l < res->nlinks && res->links; l++)
		wire_sent += res->links[l].stats.sent;
	bool have_records = count_fate_records(fates, &records) == 0;
	bool match = have_records && res->links && records == wire_sent;
	for (uint32_t k = 0; k < res->npeers; k++) {
		if (res->peers[k].stalls > stall_frames_max) {
			stall_frames_max = res->peers[k].stalls;
			stall_peer = k;
		}
		problems += res->peers[k].problem[0] != '\0';
	}
	fprintf(stderr, "%s: ended with exit code %d: %s\n", prog, exit_code, res->reason);
	for (uint32_t k = 0; k < res->npeers; k++)
		if (res->peers[k].problem[0])
			fprintf(stderr, "%s: peer %u: %s\n", prog, k, res->peers[k].problem);
	fprintf(stderr, "%s: fate log: %" PRIu64 " records; the wire's links saw %" PRIu64 " datagrams: %s\n", prog,
		records, wire_sent, match ? "equal" : "NOT EQUAL");
	fprintf(stderr,
		"%s: longest stall %.0f ms (peer %u, %.1f..%.1f s); outside the partitions %.0f ms (peer %u, "
		"%.1f..%.1f s); largest stalls counter %" PRIu64 " ticks (peer %u)\n",
		prog, s->worst.ms, s->worst.peer, s->worst.from_s, s->worst.to_s, s->worst_outside.ms,
		s->worst_outside.peer, s->worst_outside.from_s, s->worst_outside.to_s, stall_frames_max, stall_peer);
	keep_log = !match;
	if (keep_log)
		fprintf(stderr, "%s: the fate log is kept for inspection: %s\n", prog, fates);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "minutes", minutes);
	cJSON_AddNumberToObject(o, "peers", SOAK_PEERS);
	cJSON_AddStringToObject(o, "netcode", "rollback");
	cJSON_AddStringToObject(o, "preset", SOAK_PRESET);
	cJSON_AddNumberToObject(o, "seed", (double)cfg.scn.seed);
	cJSON_AddNumberToObject(o, "partitions", cfg.scn.nevents / 2);
	cJSON_AddNumberToObject(o, "partition_s", SOAK_PARTITION_S);
	cJSON_AddNumberToObject(o, "exit_code", exit_code);
	cJSON_AddStringToObject(o, "reason", res->reason);
	cJSON_AddNumberToObject(o, "duration_s", tenth(res->duration_s));
	cJSON_AddNumberToObject(o, "peers_with_problems", problems);
	cJSON_AddNumberToObject(o, "desyncs", res->desync.found ? 1 : 0);
	if (res->desync.found)
		cJSON_AddNumberToObject(o, "desync_frame", res->desync.frame);
	cJSON_AddItemToObject(o, "harness_rss_kb_start",
			      s->have_start ? cJSON_CreateNumber((double)s->start.harness_rss_kb) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "harness_rss_kb_end",
			      s->have_end ? cJSON_CreateNumber((double)s->end.harness_rss_kb) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "harness_rss_kb_after", (double)after.harness_rss_kb);
	cJSON_AddItemToObject(o, "peers_rss_kb_start",
			      s->have_start ? cJSON_CreateNumber((double)s->start.peers_rss_kb) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "peers_rss_kb_end",
			      s->have_end ? cJSON_CreateNumber((double)s->end.peers_rss_kb) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "fds_before", before.harness_fds);
	cJSON_AddItemToObject(o, "fds_start",
			      s->have_start ? cJSON_CreateNumber(s->start.harness_fds) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "fds_end", s->have_end ? cJSON_CreateNumber(s->end.harness_fds) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "fds_after", after.harness_fds);
	cJSON_AddItemToObject(o, "peers_fds_start",
			      s->have_start ? cJSON_CreateNumber(s->start.peers_fds) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "peers_fds_end",
			      s->have_end ? cJSON_CreateNumber(s->end.peers_fds) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "start_sample_s", s->have_start ? cJSON_CreateNumber(tenth(s->start.t_s)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "end_sample_s", s->have_end ? cJSON_CreateNumber(tenth(s->end.t_s)) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "fate_records", have_records ? cJSON_CreateNumber((double)records) : cJSON_CreateNull());
	cJSON_AddNumberToObject(o, "wire_sent", (double)wire_sent);
	cJSON_AddBoolToObject(o, "fates_match", match);
	cJSON_AddNumberToObject(o, "stall_ms_max", tenth(s->worst.ms));
	cJSON_AddNumberToObject(o, "stall_ms_max_peer", s->worst.peer);
	cJSON_AddNumberToObject(o, "stall_ms_max_at_s", tenth(s->worst.from_s));
	cJSON_AddNumberToObject(o, "stall_ms_max_outside_partitions", tenth(s->worst_outside.ms));
	cJSON_AddNumberToObject(o, "stall_ms_max_outside_partitions_at_s", tenth(s->worst_outside.from_s));
	cJSON_AddNumberToObject(o, "stall_ms_max_startup", tenth(s->worst_startup.ms));
	cJSON_AddNumberToObject(o, "stall_ms_poll", (double)SOAK_POLL_NS / BENCH_NS_PER_MS);
	cJSON_AddNumberToObject(o, "stall_frames_max", (double)stall_frames_max);
	cJSON_AddNumberToObject(o, "stall_frames_max_ms", tenth((double)stall_frames_max * SOAK_FRAME_MS));
	cJSON *series = cJSON_AddArrayToObject(o, "per_minute");
	for (size_t i = 0; i < s->nseries; i++) {
		cJSON *m = cJSON_CreateObject();
		cJSON_AddNumberToObject(m, "t_s", tenth(s->series[i].t_s));
		cJSON_AddNumberToObject(m, "harness_rss_kb", (double)s->series[i].harness_rss_kb);
		cJSON_AddNumberToObject(m, "peers_rss_kb", (double)s->series[i].peers_rss_kb);
		cJSON_AddNumberToObject(m, "fds", s->series[i].harness_fds);
		cJSON_AddNumberToObject(m, "peers_fds", s->series[i].peers_fds);
		cJSON_AddItemToArray(series, m);
	}
	bench_json_emit(o);
	cJSON_Delete(o);
	rc = BENCH_EXIT_OK;
out:
	if (thread_started) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
	}
	if (dir_made && !keep_log) {
		unlink(fates);
		if (rmdir(dir) < 0)
			fprintf(stderr, "%s: %s is kept: it holds a desync bundle\n", prog, dir);
	}
	if (res)
		free(res->links);
	free(res);
	free(s);
	return rc;
}
