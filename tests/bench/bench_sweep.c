// SPDX-License-Identifier: MIT
// loopsim-bench sweep: sessions per minute of `loopsim sweep` at J = 1, 2, 4, 8, 16, as ratios to J = 1 run alongside.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/*
 * Model: a session is mostly waiting (60 Hz frames, network delays), so
 * running J at once should multiply throughput until the CPU is spent. Each J
 * sweeps the same seeds as the J = 1 baseline measured in this same process,
 * so that the speed-up is a ratio of two runs side by side on this machine,
 * and a verdict that differs from J = 1's for the same seed is what
 * concurrency did (a false desync, a peer frozen for want of CPU).
 * CPU is every descendant's user + system time (RUSAGE_CHILDREN: each level
 * waits for its children), as a share of the machine over the wall time.
 */

#define SW_MAX_J 16
#define SW_TARGET_SPEEDUP 6.0
/* A J is saturated when twice as many sessions at once add less than this to the throughput. */
#define SW_SATURATION_GAIN 1.1

static const char *const prog = "loopsim-bench sweep";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench sweep [--seeds N] [--duration S] [--peers P] [--jobs 1,2,4,8,16] [--loopsim PATH]\n"
		"\n"
		"Runs `loopsim sweep` over seeds 1..N (default 16) of P-peer (4), S-second (5) sessions at each J\n"
		"(the first J is the baseline, 1 by default) and reports sessions per minute, the speed-up over\n"
		"the baseline, the CPU used, and the share of runs whose verdict differs from the baseline's\n"
		"for the same seed. Target: %.0fx the J = 1 throughput, no verdict changed; the J at which it\n"
		"saturates (doubling J gains under %.0f%%) is reported. loopsim is taken from beside this program.\n",
		SW_TARGET_SPEEDUP, (SW_SATURATION_GAIN - 1) * 100);
}

struct sweep_fig {
	unsigned jobs;
	double wall_s, cpu_s, per_min, speedup, cpu_share;
	unsigned runs, changed, clean, failures;
	int exit_code;
	char verdict[256][16];  /* per seed */
};

static double rusage_s(const struct rusage *r)
{
	return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 + (double)r->ru_stime.tv_sec +
	       (double)r->ru_stime.tv_usec / 1e6;
}

static int read_verdicts(const char *summary, struct sweep_fig *f)
{
	FILE *in = fopen(summary, "rb");
	if (!in)
		return -1;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[65536];
	size_t got;
	while (mem && (got = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, got, mem);
	fclose(in);
	if (!mem)
		return -1;
	fclose(mem);
	cJSON *s = cJSON_Parse(text);
	free(text);
	if (!s)
		return -1;
	const cJSON *r;
	f->runs = 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "runs"))
	{
		int seed = (int)cJSON_GetObjectItem(r, "seed")->valuedouble;
		const char *v = cJSON_GetObjectItem(r, "verdict")->valuestring;
		if (seed >= 1 && seed <= 256)
			snprintf(f->verdict[seed - 1], sizeof f->verdict[0], "%s", v);
		f->clean += strcmp(v, "clean") == 0;
		f->failures += strcmp(v, "clean") != 0;
		f->runs++;
	}
	cJSON_Delete(s);
	return 0;
}

static int one_sweep(const char *loopsim, const char *dir, unsigned jobs, unsigned seeds, double duration,
		     unsigned peers, struct sweep_fig *f)
{
	char out[PATH_MAX], seeds_arg[32], jobs_arg[16], dur[32], peers_arg[16];
	snprintf(out, sizeof out, "%.*s/j%u", (int)(sizeof out - 16), dir, jobs);
	snprintf(seeds_arg, sizeof seeds_arg, "1..%u", seeds);
	snprintf(jobs_arg, sizeof jobs_arg, "%u", jobs);
	snprintf(dur, sizeof dur, "%g", duration);
	snprintf(peers_arg, sizeof peers_arg, "%u", peers);
	char *argv[] = { (char *)loopsim, "sweep", "--seeds", seeds_arg, "--jobs", jobs_arg, "--out", out, "--quiet",
			 "--duration", dur, "--peers", peers_arg, NULL };
	struct rusage before, after;
	getrusage(RUSAGE_CHILDREN, &before);
	bench_ns t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(loopsim, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	bench_ns t1 = bench_now_ns();
	getrusage(RUSAGE_CHILDREN, &after);
	memset(f, 0, sizeof *f);
	f->jobs = jobs;
	f->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	f->wall_s = (double)(t1 - t0) / BENCH_NS_PER_S;
	f->cpu_s = rusage_s(&after) - rusage_s(&before);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	f->cpu_share = f->cpu_s / (f->wall_s * (double)(ncpu > 0 ? ncpu : 1));
	char summary[PATH_MAX + 16];
	snprintf(summary, sizeof summary, "%s/summary.json", out);
	if (read_verdicts(summary, f) < 0) {
		fprintf(stderr, "%s: J=%u: no summary in %s (exit %d)\n", prog, jobs, out, f->exit_code);
		return -1;
	}
	f->per_min = (double)f->runs / f->wall_s * 60.0;
	return 0;
}

static int parse_jobs(const char *s, unsigned *out, unsigned *n)
{
	char buf[128];
	if (!s || strlen(s) >= sizeof buf)
		return -1;
	strcpy(buf, s);
	*n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && *n < 8; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long v = strtol(t, &end, 10);
		if (*end || v < 1 || v > 254)
			return -1;
		out[(*n)++] = (unsigned)v;
	}
	return *n ? 0 : -1;
}

int bench_sweep(int argc, char **argv)
{
	double seeds = 16, duration = 5, peers = 4;
	unsigned jobs[8] = { 1, 2, 4, 8, SW_MAX_J }, njobs = 5;
	char loopsim[PATH_MAX] = "";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--seeds") == 0) {
			if (bench_parse_double(prog, "--seeds", val, 1, 256, &seeds) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--duration") == 0) {
			if (bench_parse_double(prog, "--duration", val, 1, 600, &duration) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--peers") == 0) {
			if (bench_parse_double(prog, "--peers", val, 2, 16, &peers) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--jobs") == 0) {
			if (parse_jobs(val, jobs, &njobs) < 0) {
				fprintf(stderr, "%s: --jobs: want a comma list of 1..254, e.g. 1,2,4\n", prog);
				return BENCH_EXIT_USAGE;
			}
			i++;
		} else if (strcmp(a, "--loopsim") == 0 && val) {
			snprintf(loopsim, sizeof loopsim, "%s", val);
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench sweep --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}
	if (!loopsim[0]) {
		ssize_t n = readlink("/proc/self/exe", loopsim, sizeof loopsim - 1);
		if (n < 0)
			return BENCH_EXIT_SETUP;
		loopsim[n] = '\0';
		char *slash = strrchr(loopsim, '/');
		snprintf(slash + 1, sizeof loopsim - (size_t)(slash + 1 - loopsim), "loopsim");
	}
	if (access(loopsim, X_OK) < 0) {
		fprintf(stderr, "%s: %s: %s (give --loopsim PATH)\n", prog, loopsim, strerror(errno));
		return BENCH_EXIT_SETUP;
	}
	char dir[] = "/tmp/loopsim-bench-sweep-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(errno));
		return BENCH_EXIT_SETUP;
	}
	static struct sweep_fig f[8];
	unsigned ok = 0;
	for (unsigned k = 0; k < njobs; k++) {
		fprintf(stderr, "%s: J=%u: %u sessions of %g s, %u peers...\n", prog, jobs[k], (unsigned)seeds, duration,
			(unsigned)peers);
		if (one_sweep(loopsim, dir, jobs[k], (unsigned)seeds, duration, (unsigned)peers, &f[k]) < 0)
			break;
		ok++;
		f[k].speedup = f[k].per_min / f[0].per_min;
		for (unsigned s = 0; s < (unsigned)seeds; s++)
			f[k].changed += strcmp(f[k].verdict[s], f[0].verdict[s]) != 0;
		fprintf(stderr,
			"  J=%-3u %6.1f s  %6.1f sessions/min  x%.2f  cpu %.1f s (%.0f%% of the machine)  %u clean, %u not,"
			" %u verdicts differ from J=%u\n",
			f[k].jobs, f[k].wall_s, f[k].per_min, f[k].speedup, f[k].cpu_s, f[k].cpu_share * 100, f[k].clean,
			f[k].failures, f[k].changed, jobs[0]);
	}
	/* Saturation: the first J where the next one gains less than SW_SATURATION_GAIN. */
	unsigned saturated = ok ? f[ok - 1].jobs : 0;
	for (unsigned k = 0; k + 1 < ok; k++)
		if (f[k + 1].per_min < f[k].per_min * SW_SATURATION_GAIN) {
			saturated = f[k].jobs;
			break;
		}
	double best = 0;
	unsigned changed = 0;
	for (unsigned k = 0; k < ok; k++) {
		if (f[k].speedup > best)
			best = f[k].speedup;
		changed += f[k].changed;
	}
	fprintf(stderr, "%s: best x%.2f (target x%.0f: %s); %u verdicts changed by concurrency; saturates at J=%u\n", prog,
		best, SW_TARGET_SPEEDUP, best >= SW_TARGET_SPEEDUP ? "met" : "NOT met", changed, saturated);
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(o, "jobs");
	for (unsigned k = 0; k < ok; k++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "jobs", f[k].jobs);
		cJSON_AddNumberToObject(j, "wall_s", f[k].wall_s);
		cJSON_AddNumberToObject(j, "sessions_per_min", f[k].per_min);
		cJSON_AddNumberToObject(j, "speedup", f[k].speedup);
		cJSON_AddNumberToObject(j, "cpu_s", f[k].cpu_s);
		cJSON_AddNumberToObject(j, "cpu_share", f[k].cpu_share);
		cJSON_AddNumberToObject(j, "runs", f[k].runs);
		cJSON_AddNumberToObject(j, "not_clean", f[k].failures);
		cJSON_AddNumberToObject(j, "verdicts_changed", f[k].changed);
		cJSON_AddNumberToObject(j, "changed_fraction", f[k].runs ? (double)f[k].changed / f[k].runs : 0);
		cJSON_AddItemToArray(arr, j);
	}
	cJSON_AddNumberToObject(o, "seeds", seeds);
	cJSON_AddNumberToObject(o, "duration_s", duration);
	cJSON_AddNumberToObject(o, "peers", peers);
	cJSON_AddNumberToObject(o, "best_speedup", best);
	cJSON_AddBoolToObject(o, "target_met", best >= SW_TARGET_SPEEDUP && changed == 0);
	cJSON_AddNumberToObject(o, "saturates_at_jobs", saturated);
	cJSON_AddStringToObject(o, "outputs", dir);
	bench_json_emit(o);
	cJSON_Delete(o);
	return ok == njobs ? BENCH_EXIT_OK : BENCH_EXIT_SETUP;
}
