// SPDX-License-Identifier: MIT
// `loopsim sweep` and `loopsim sweep merge`: options in, a sweep or a merge out.
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/parse.h"
#include "cli/cli.h"
#include "harness/sweep.h"

/* Seeds are JSON numbers in summary.json: exact up to 2^53 - 1. */
#define SWEEP_MAX_SEED 9007199254740991ull
#define SWEEP_MAX_RUNS 10000000ull

static void sweep_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim sweep [SCENARIO.ini ...] --seeds A..B --out DIR [options] [run options]\n"
		"       loopsim sweep merge DIR ... --out DIR\n"
		"\n"
		"Runs one session per (scenario, seed), each a `loopsim run` of its own with its own block of\n"
		"loopback addresses (127.S.0.2 and up for slot S), several at a time, and writes a summary that\n"
		"groups the failures by signature. Scenarios come first (none: the built-in default).\n"
		"\n"
		"Options:\n"
		"  --seeds A..B          the seeds, inclusive (or one seed N); at most 2^53-1\n"
		"  --out DIR             where the sweep writes (missing or empty): summary.json, junit.xml,\n"
		"                        and run-N/ per run (scenario.ini, report.json, run.log, bundle/)\n"
		"  --jobs J              sessions at a time, 1..%u (default: the online CPUs, here %ld)\n"
		"  --repeat K            run each (scenario, seed) K times: a desync's reproduction rate\n"
		"  --chaos LEVEL         none (default), low, medium or high: a fault timeline per seed,\n"
		"                        written into each run's scenario.ini (README, \"Sweeps\")\n"
		"  --shard I/N           only the runs whose index is I modulo N (0 <= I < N), for sweeps\n"
		"                        spread over machines; `loopsim sweep merge` joins the shards\n"
		"  --quiet               no progress and no summary on stderr\n"
		"\n"
		"Every other option goes to each `loopsim run` as given (--duration, --peers, --preset,\n"
		"--latency, --inject-desync, --network-only, ...; see loopsim run --help). The sweep sets\n"
		"--seed, --report, --bundle, --addr-base and --headless itself.\n"
		"\n"
		"A run replays alone: loopsim run DIR/run-N/scenario.ini --seed S [its run options]\n"
		"(summary.json's \"replay\" gives the line, relative to DIR).\n"
		"\n"
		"Exit codes: 0 every run clean; 1 some run desynced; 3 some run failed, split, was\n"
		"unchecked (counted as failures unless --network-only) or is missing; 2 bad usage;\n"
		"130, 143, 129 interrupted (the summary of the runs done is written).\n",
		SWEEP_MAX_JOBS, sysconf(_SC_NPROCESSORS_ONLN));
}

static void merge_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim sweep merge DIR ... --out DIR [--quiet]\n"
		"\n"
		"Joins the outputs of a sweep's shards (each DIR a --shard I/N sweep's --out) into one:\n"
		"summary.json and junit.xml as one unsharded sweep of the same runs writes them, and each\n"
		"run's folder (hard-linked where possible). The shards must come from the same sweep (same\n"
		"scenarios, seeds, repeat, chaos and run options) and hold no run twice.\n"
		"\n"
		"Exit codes: as the sweep's, over every run (0 clean, 1 desync, 3 a failure or a missing\n"
		"run); 2 for bad usage or a DIR that holds no sweep summary.\n");
}

/* An --out that the sweep may fill: created if missing (its parent must exist), or an empty folder. */
static int prepare_out(const char *flag, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0777) == 0)
		return 0;
	if (errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create '%s': %s", flag, dir, strerror(errno));
		return -1;
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: '%s' is not a folder", flag, dir);
		return -1;
	}
	/* Empty: anything already there would mix with this sweep's runs. */
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", flag, dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		snprintf(err, errlen, "%s: '%s' is not empty (a sweep writes into a new or empty folder)", flag, dir);
		return -1;
	}
	return 0;
}

static int parse_seeds(const char *v, uint64_t *from, uint64_t *to, char *err, size_t errlen)
{
	const char *dots = strstr(v, "..");
	char a[32];
	if (!dots) {
		if (parse_u64("--seeds", v, 0, SWEEP_MAX_SEED, from, err, errlen) < 0)
			return -1;
		*to = *from;
		return 0;
	}
	if ((size_t)(dots - v) >= sizeof a) {
		snprintf(err, errlen, "--seeds: '%s' is not A..B", v);
		return -1;
	}
	snprintf(a, sizeof a, "%.*s", (int)(dots - v), v);
	if (parse_u64("--seeds", a, 0, SWEEP_MAX_SEED, from, err, errlen) < 0 ||
	    parse_u64("--seeds", dots + 2, 0, SWEEP_MAX_SEED, to, err, errlen) < 0)
		return -1;
	if (*to < *from) {
		snprintf(err, errlen, "--seeds: %" PRIu64 "..%" PRIu64 " runs backwards", *from, *to);
		return -1;
	}
	return 0;
}

static int parse_shard(const char *v, uint32_t *i, uint32_t *n, char *err, size_t errlen)
{
	const char *slash = strchr(v, '/');
	char a[16];
	if (!slash || (size_t)(slash - v) >= sizeof a) {
		snprintf(err, errlen, "--shard: '%s' is not I/N (e.g. 0/4)", v);
		return -1;
	}
	snprintf(a, sizeof a, "%.*s", (int)(slash - v), v);
	if (parse_u32("--shard", slash + 1, 1, 100000, n, err, errlen) < 0 ||
	    parse_u32("--shard", a, 0, 100000, i, err, errlen) < 0)
		return -1;
	if (*i >= *n) {
		snprintf(err, errlen, "--shard: I must be below N (0/%u to %u/%u), not %u", *n, *n - 1, *n, *i);
		return -1;
	}
	return 0;
}

/* The flag's value: "--flag=V" or the next argument. Returns NULL (err set) when there is none. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, char *err, size_t errlen)
{
	const char *a = argv[*i], *eq = strchr(a, '=');
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "--%s: needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

/* Whether argv[i] is the flag --name, alone or as --name=V. */
static bool is_flag(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return strncmp(arg, "--", 2) == 0 && strncmp(arg + 2, name, n) == 0 && (arg[2 + n] == '\0' || arg[2 + n] == '=');
}

static int sweep_merge_cmd(int argc, char **argv);

int cmd_sweep(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "merge") == 0)
		return sweep_merge_cmd(argc - 1, argv + 1);
	static struct sweep_cfg cfg;
	char err[1024];
	memset(&cfg, 0, sizeof cfg);
	cfg.repeat = 1;
	cfg.nshards = 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.jobs = cpus < 1 ? 1 : cpus > (long)SWEEP_MAX_JOBS ? SWEEP_MAX_JOBS : (uint32_t)cpus;
	bool have_seeds = false;
	int i = 1;
	/* Scenarios first: they stand before any option, so that no run option's value is taken for one. */
	while (i < argc && argv[i][0] != '-')
		i++;
	cfg.scenarios = (const char *const *)argv + 1;
	cfg.nscenarios = (uint32_t)(i - 1);
	char **run_args = calloc((size_t)argc, sizeof *run_args);
	if (!run_args) {
		fprintf(stderr, "loopsim sweep: out of memory\n");
		return EXIT_RUNTIME;
	}
	size_t nrun = 0;
	static const char *const theirs[] = { "seed", "report", "junit", "bundle", "addr-base", "resolve-only",
					      "screenshot", "pcap", "fates" };
	for (; i < argc; i++) {
		const char *a = argv[i], *v;
		if (is_flag(a, "help")) {
			sweep_help(stdout);
			free(run_args);
			return EXIT_CLEAN;
		} else if (is_flag(a, "seeds")) {
			if (!(v = flag_value(argc, argv, &i, "seeds", err, sizeof err)) ||
			    parse_seeds(v, &cfg.seed_from, &cfg.seed_to, err, sizeof err) < 0)
				goto usage;
			have_seeds = true;
		} else if (is_flag(a, "jobs")) {
			if (!(v = flag_value(argc, argv, &i, "jobs", err, sizeof err)) ||
			    parse_u32("--jobs", v, 1, SWEEP_MAX_JOBS, &cfg.jobs, err, sizeof err) < 0)
				goto usage;
		} else if (is_flag(a, "repeat")) {
			if (!(v = flag_value(argc, argv, &i, "repeat", err, sizeof err)) ||
			    parse_u32("--repeat", v, 1, 100000, &cfg.repeat, err, sizeof err) < 0)
				goto usage;
		} else if (is_flag(a, "chaos")) {
			if (!(v = flag_value(argc, argv, &i, "chaos", err, sizeof err)))
				goto usage;
			int level = sweep_chaos_parse(v);
			if (level < 0) {
				snprintf(err, sizeof err, "--chaos: '%s' is not none, low, medium or high", v);
				goto usage;
			}
			cfg.chaos = (enum sweep_chaos)level;
		} else if (is_flag(a, "shard")) {
			if (!(v = flag_value(argc, argv, &i, "shard", err, sizeof err)) ||
			    parse_shard(v, &cfg.shard, &cfg.nshards, err, sizeof err) < 0)
				goto usage;
		} else if (is_flag(a, "out")) {
			if (!(v = flag_value(argc, argv, &i, "out", err, sizeof err)))
				goto usage;
			cfg.out = v;
		} else if (is_flag(a, "quiet")) {
			cfg.quiet = true;
		} else {
			for (size_t k = 0; k < sizeof theirs / sizeof theirs[0]; k++)
				if (is_flag(a, theirs[k])) {
					snprintf(err, sizeof err, "--%s: the sweep sets it for each run (see loopsim sweep --help)",
						 theirs[k]);
					goto usage;
				}
			if (is_flag(a, "network-only"))
				cfg.network_only = true;
			run_args[nrun++] = argv[i];
		}
	}
	if (!have_seeds) {
		snprintf(err, sizeof err, "--seeds: needed, e.g. --seeds 1..100");
		goto usage;
	}
	if (!cfg.out) {
		snprintf(err, sizeof err, "--out: needed: the folder the sweep writes to");
		goto usage;
	}
	uint64_t nseeds = cfg.seed_to - cfg.seed_from + 1;
	uint64_t nscn = cfg.nscenarios ? cfg.nscenarios : 1;
	if (nseeds > SWEEP_MAX_RUNS || nseeds * cfg.repeat * nscn > SWEEP_MAX_RUNS) {
		snprintf(err, sizeof err, "--seeds: %" PRIu64 " seeds x %u repeats x %" PRIu64 " scenarios is over %llu runs",
			 nseeds, cfg.repeat, nscn, SWEEP_MAX_RUNS);
		goto usage;
	}
	for (uint32_t k = 0; k < cfg.nscenarios; k++)
		if (access(cfg.scenarios[k], R_OK) < 0) {
			snprintf(err, sizeof err, "%s: %s", cfg.scenarios[k], strerror(errno));
			goto usage;
		}
	if (prepare_out("--out", cfg.out, err, sizeof err) < 0)
		goto usage;
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0) {
		fprintf(stderr, "loopsim sweep: cannot find this program (/proc/self/exe): %s\n", strerror(errno));
		free(run_args);
		return EXIT_RUNTIME;
	}
	self[n] = '\0';
	cfg.program = self;
	cfg.run_args = run_args;
	cfg.nrun_args = nrun;
	cfg.progress = !cfg.quiet && isatty(STDERR_FILENO);
	int code = sweep_execute(&cfg, err, sizeof err);
	if (code == EXIT_USAGE || code == EXIT_RUNTIME)
		if (err[0])
			fprintf(stderr, "loopsim sweep: %s\n", err);
	free(run_args);
	return code;
usage:
	fprintf(stderr, "loopsim sweep: %s\n(see loopsim sweep --help)\n", err);
	free(run_args);
	return EXIT_USAGE;
}

static int sweep_merge_cmd(int argc, char **argv)
{
	const char *out = NULL;
	bool quiet = false;
	char err[1024];
	const char **dirs = calloc((size_t)argc, sizeof *dirs);
	cJSON **sums = calloc((size_t)argc, sizeof *sums);
	size_t n = 0;
	int code = EXIT_USAGE;
	if (!dirs || !sums) {
		fprintf(stderr, "loopsim sweep merge: out of memory\n");
		free(dirs);
		free(sums);
		return EXIT_RUNTIME;
	}
	for (int i = 1; i < argc; i++) {
		if (is_flag(argv[i], "help")) {
			merge_help(stdout);
			code = EXIT_CLEAN;
			goto done;
		} else if (is_flag(argv[i], "out")) {
			if (!(out = flag_value(argc, argv, &i, "out", err, sizeof err)))
				goto usage;
		} else if (is_flag(argv[i], "quiet")) {
			quiet = true;
		} else if (argv[i][0] == '-') {
			snprintf(err, sizeof err, "unknown option '%s'", argv[i]);
			goto usage;
		} else {
			dirs[n++] = argv[i];
		}
	}
	if (n == 0) {
		snprintf(err, sizeof err, "no shard folders to merge");
		goto usage;
	}
	if (!out) {
		snprintf(err, sizeof err, "--out: needed: the folder the merged sweep goes to");
		goto usage;
	}
	for (size_t k = 0; k < n; k++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/summary.json", dirs[k]);
		FILE *f = fopen(path, "rb");
		int open_errno = errno;
		bool opened = f != NULL;
		char *text = NULL;
		size_t len = 0;
		if (f) {
			FILE *mem = open_memstream(&text, &len);
			char buf[65536];
			size_t got;
			while (mem && (got = fread(buf, 1, sizeof buf, f)) > 0)
				fwrite(buf, 1, got, mem);
			if (mem)
				fclose(mem);
			fclose(f);
		}
		sums[k] = text ? cJSON_Parse(text) : NULL;
		free(text);
		if (!sums[k]) {
			snprintf(err, sizeof err, "%.900s/summary.json: %s", dirs[k],
				 opened ? "not a JSON sweep summary" : strerror(open_errno));
			goto usage;
		}
	}
	cJSON *merged = sweep_merge((const cJSON *const *)sums, dirs, n, err, sizeof err);
	if (!merged)
		goto usage;
	if (prepare_out("--out", out, err, sizeof err) < 0) {
		cJSON_Delete(merged);
		goto usage;
	}
	/* Each run's folder, from the shard that ran it. */
	code = sweep_summary_exit(merged);
	for (size_t k = 0; k < n; k++) {
		const cJSON *r;
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(sums[k], "runs"))
		{
			const cJSON *dir = cJSON_GetObjectItem(r, "dir");
			char from[PATH_MAX], to[PATH_MAX];
			if (!cJSON_IsString(dir) || strchr(dir->valuestring, '/') || dir->valuestring[0] == '.')
				continue;
			snprintf(from, sizeof from, "%s/%s", dirs[k], dir->valuestring);
			snprintf(to, sizeof to, "%s/%s", out, dir->valuestring);
			if (access(from, F_OK) == 0 && sweep_copy_tree(from, to, err, sizeof err) < 0) {
				fprintf(stderr, "loopsim sweep merge: %s\n", err);
				code = EXIT_RUNTIME;
			}
		}
	}
	if (sweep_write_outputs(merged, out, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim sweep merge: %s\n", err);
		code = EXIT_RUNTIME;
	}
	if (!quiet) {
		const cJSON *c;
		fprintf(stderr, "merged %zu shard%s:", n, n == 1 ? "" : "s");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(merged, "counts"))
		{
			if (c->valuedouble > 0)
				fprintf(stderr, " %.0f %s", c->valuedouble, c->string);
		}
		double missing = cJSON_GetObjectItem(merged, "missing")->valuedouble;
		if (missing > 0)
			fprintf(stderr, "; %.0f runs missing (a shard not given, or interrupted)", missing);
		fprintf(stderr, "\nsummary: %s/summary.json, %s/junit.xml\n", out, out);
	}
	cJSON_Delete(merged);
	goto done;
usage:
	fprintf(stderr, "loopsim sweep merge: %s\n(see loopsim sweep merge --help)\n", err);
	code = EXIT_USAGE;
done:
	for (size_t k = 0; k < n; k++)
		cJSON_Delete(sums[k]);
	free(sums);
	free(dirs);
	return code;
}
