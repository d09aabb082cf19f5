// SPDX-License-Identifier: MIT
// The sweep engine: every run of the plan as a child `loopsim run`, J at a time, each with its own addresses.
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/sweep.h"
#include "harness/verdict.h"
#include "wire/addr.h"

/* How long the runs get to write their outputs after the sweep passes a signal on, before SIGKILL. */
#define SWEEP_STOP_GRACE_MS 20000u
/* The progress bar's refresh. */
#define SWEEP_TICK_MS 250

typedef uint64_t sweep_ms; /* CLOCK_MONOTONIC, milliseconds */

static sweep_ms clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One concurrent session: the slot's number S gives it the addresses 127.S.0.2 and up. */
struct slot {
	pid_t pid;                        /* 0: free */
	struct sweep_run_id id;
	sweep_ms started_ms;
	size_t nfaults;
	struct sweep_fault faults[SWEEP_MAX_FAULTS];
};

struct sweep {
	const struct sweep_cfg *cfg;
	struct scenario **base;           /* each scenario resolved with the run options; owned */
	const char **names;               /* each scenario's name in the summary */
	uint64_t nseeds, total;
	int width;                        /* digits of a run's index in its folder's name */
	struct slot *slots;
	cJSON *runs;                      /* the records so far; owned */
	uint64_t planned, done, desyncs, failures;
	sweep_ms start_ms;
	char *replay_args;                /* the run options, shell-quoted, for each replay line; owned */
};

/* a/b into out; the CLI keeps --out far below the buffers' size. */
static void join(char *out, size_t cap, const char *a, const char *b)
{
	if (snprintf(out, cap, "%s/%s", a, b) >= (int)cap)
		out[0] = '\0';
}

/* Appends s to *buf shell-quoted ('...' with ' as '\''), after a space. */
static int append_quoted(char **buf, size_t *len, const char *s)
{
	size_t need = *len + 4 * strlen(s) + 4;
	char *nb = realloc(*buf, need);
	if (!nb)
		return -1;
	*buf = nb;
	char *p = nb + *len;
	*p++ = ' ';
	bool plain = *s != '\0';
	for (const char *q = s; *q && plain; q++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:@%+", *q) != NULL;
	if (plain) {
		p += sprintf(p, "%s", s);
	} else {
		*p++ = '\'';
		for (const char *q = s; *q; q++) {
			if (*q == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *q;
			}
		}
		*p++ = '\'';
		*p = '\0';
	}
	*len = (size_t)(p - nb);
	return 0;
}

/*
 * Starts argv with stdin from /dev/null and stdout/stderr to log_fd (-1:
 * ours), in a process group of its own, dying by SIGTERM with the sweep
 * (which then writes its outputs as for any SIGTERM). Returns the pid, or
 * -1 with errno set.
 */
static pid_t spawn(char *const *argv, int log_fd)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0) {
			dup2(devnull, 0);
			close(devnull);
		}
		if (log_fd >= 0) {
			dup2(log_fd, 1);
			dup2(log_fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides set it, so it holds whichever runs first */
	return pid;
}

/* Resolves scenario k with the run options, through `loopsim run --resolve-only`. Returns an exit code. */
static int resolve(struct sweep *sw, uint32_t k, char *err, size_t errlen)
{
	const struct sweep_cfg *cfg = sw->cfg;
	char path[4200];
	char name[32];
	snprintf(name, sizeof name, "base-%u.ini", k);
	join(path, sizeof path, cfg->out, name);
	size_t n = 0;
	char **argv = calloc(cfg->nrun_args + 8, sizeof *argv);
	if (!argv) {
		snprintf(err, errlen, "out of memory");
		return VERDICT_EXIT_FAILED;
	}
	argv[n++] = (char *)cfg->program;
	argv[n++] = "run";
	if (cfg->nscenarios)
		argv[n++] = (char *)cfg->scenarios[k];
	for (size_t i = 0; i < cfg->nrun_args; i++)
		argv[n++] = cfg->run_args[i];
	argv[n++] = "--resolve-only";
	argv[n++] = path;
	argv[n] = NULL;
	pid_t pid = spawn(argv, -1);
	free(argv);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		snprintf(err, errlen, "cannot start %s: %s", cfg->program, strerror(errno));
		return VERDICT_EXIT_FAILED;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		snprintf(err, errlen, "the run options%s were refused by loopsim run (above)",
			 cfg->nscenarios ? " or the scenario" : "");
		return code == VERDICT_EXIT_USAGE ? VERDICT_EXIT_USAGE : VERDICT_EXIT_FAILED;
	}
	struct scenario *s = malloc(sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return VERDICT_EXIT_FAILED;
	}
	scn_default(s);
	if (scn_load(s, path, err, errlen) < 0) {
		free(s);
		return VERDICT_EXIT_FAILED;
	}
	sw->base[k] = s;
	return 0;
}

static void run_dir(const struct sweep *sw, uint64_t index, char *out, size_t cap)
{
	snprintf(out, cap, "run-%0*" PRIu64, sw->width, index);
}

/* Writes run id's scenario: the base with the seed and the chaos drawn from it. Returns 0 or -1 with err. */
static int write_scenario(struct sweep *sw, struct slot *sl, const char *path, char *err, size_t errlen)
{
	struct scenario *s = malloc(sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*s = *sw->base[sl->id.scenario];
	s->seed = sl->id.seed;
	s->have_seed = true;
	sl->nfaults = sweep_chaos_draw(s, sw->cfg->chaos, sl->id.seed, sl->faults, SWEEP_MAX_FAULTS);
	FILE *f = fopen(path, "w");
	int rc = f ? scn_write_resolved(s, f) : -1;
	if (f && fclose(f) != 0)
		rc = -1;
	if (rc < 0)
		snprintf(err, errlen, "a run's scenario.ini cannot be written: %s",
			 f ? "the scenario holds what INI cannot say" : strerror(errno));
	free(s);
	return rc;
}

static void record(struct sweep *sw, struct slot *sl, int wstatus)
{
	char dir[64], report[4200], replay[256];
	run_dir(sw, sl->id.index, dir, sizeof dir);
	char folder[4200];
	join(folder, sizeof folder, sw->cfg->out, dir);
	join(report, sizeof report, folder, "report.json");
	snprintf(replay, sizeof replay, "loopsim run %s/scenario.ini --seed %" PRIu64, dir, sl->id.seed);
	char *full = malloc(strlen(replay) + (sw->replay_args ? strlen(sw->replay_args) : 0) + 1);
	if (full) {
		strcpy(full, replay);
		if (sw->replay_args)
			strcat(full, sw->replay_args);
	}
	cJSON *r = sweep_record(&sl->id, sw->names[sl->id.scenario], dir, report, wstatus, sl->faults, sl->nfaults,
				full ? full : replay);
	free(full);
	sw->done++;
	if (!r)
		return;
	cJSON_AddItemToArray(sw->runs, r);
	const char *verdict = cJSON_GetObjectItem(r, "verdict")->valuestring;
	bool desync = strcmp(verdict, verdict_name(VERDICT_DESYNC)) == 0;
	bool ok = strcmp(verdict, verdict_name(VERDICT_CLEAN)) == 0 ||
		  strcmp(verdict, verdict_name(VERDICT_NETWORK_ONLY)) == 0;
	sw->desyncs += desync;
	sw->failures += !ok && !desync;
	if (sw->cfg->quiet || sw->cfg->progress)
		return;
	double secs = (double)(clock_ms() - sl->started_ms) / 1000.0;
	const cJSON *reason = cJSON_GetObjectItem(r, "reason");
	fprintf(stderr, "[%" PRIu64 "/%" PRIu64 "] %s %s seed %" PRIu64 "%s: %s (%.1f s)%s%s\n", sw->done, sw->planned,
		dir, sw->names[sl->id.scenario], sl->id.seed, sl->id.repeat ? " again" : "", verdict, secs,
		ok ? "" : ": ", ok ? "" : reason->valuestring);
}

static void progress(const struct sweep *sw, uint32_t running, bool last)
{
	if (!sw->cfg->progress || sw->cfg->quiet)
		return;
	enum { BAR = 24 };
	char bar[BAR + 1];
	uint64_t fill = sw->planned ? sw->done * BAR / sw->planned : BAR;
	for (int i = 0; i < BAR; i++)
		bar[i] = (uint64_t)i < fill ? '#' : '.';
	bar[BAR] = '\0';
	char left[32] = "?";
	double elapsed = (double)(clock_ms() - sw->start_ms) / 1000.0;
	if (sw->done) {
		double secs = elapsed / (double)sw->done * (double)(sw->planned - sw->done);
		snprintf(left, sizeof left, "%dm%02ds", (int)(secs / 60), (int)secs % 60);
	}
	fprintf(stderr, "\r\033[K[%s] %" PRIu64 "/%" PRIu64 " runs  %" PRIu64 " desync%s  %" PRIu64
			" failure%s  %u running  %s left",
		bar, sw->done, sw->planned, sw->desyncs, sw->desyncs == 1 ? "" : "s", sw->failures,
		sw->failures == 1 ? "" : "s", running, left);
	if (last)
		fputc('\n', stderr);
}

/* Starts run index in slot k. A run whose folder or scenario cannot be written is a failed run. */
static void launch(struct sweep *sw, uint32_t k, uint64_t index)
{
	const struct sweep_cfg *cfg = sw->cfg;
	struct slot *sl = &sw->slots[k];
	char dir[64], path[4200], scn[4200], report[4200], bundle[4200], seed[24], base[WIRE_ADDR_STRLEN], err[512];
	memset(sl, 0, sizeof *sl);
	err[0] = '\0';
	sweep_run_at(index, cfg->seed_from, sw->nseeds, cfg->repeat, &sl->id);
	sl->started_ms = clock_ms();
	run_dir(sw, index, dir, sizeof dir);
	join(path, sizeof path, cfg->out, dir);
	join(scn, sizeof scn, path, "scenario.ini");
	join(report, sizeof report, path, "report.json");
	join(bundle, sizeof bundle, path, "bundle");
	snprintf(seed, sizeof seed, "%" PRIu64, sl->id.seed);
	/* Slot k's block: 127.(k+1).0.2 and up, 510 addresses inside 127.(k+1).0.0/16. */
	wire_addr_str(base, sizeof base, 0x7f000002u | (uint32_t)(k + 1) << 16, 0);
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		snprintf(err, sizeof err, "cannot create the run's folder: %s", strerror(errno));
	if (err[0] || write_scenario(sw, sl, scn, err, sizeof err) < 0) {
		fprintf(stderr, "loopsim sweep: %s\n", err);
		record(sw, sl, 3 << 8);
		return;
	}
	char log[4200];
	join(log, sizeof log, path, "run.log");
	int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	size_t n = 0;
	char **argv = calloc(cfg->nrun_args + 16, sizeof *argv);
	if (log_fd < 0 || !argv) {
		fprintf(stderr, "loopsim sweep: %s: %s\n", log, strerror(errno));
		if (log_fd >= 0)
			close(log_fd);
		free(argv);
		record(sw, sl, 3 << 8);
		return;
	}
	argv[n++] = (char *)cfg->program;
	argv[n++] = "run";
	argv[n++] = scn;
	for (size_t i = 0; i < cfg->nrun_args; i++)
		argv[n++] = cfg->run_args[i];
	const char *ours[] = { "--seed", seed, "--headless", "--report", report, "--bundle", bundle, "--addr-base", base };
	for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
		argv[n++] = (char *)ours[i];
	argv[n] = NULL;
	sl->pid = spawn(argv, log_fd);
	int e = errno;
	close(log_fd);
	free(argv);
	if (sl->pid < 0) {
		sl->pid = 0;
		fprintf(stderr, "loopsim sweep: cannot start %s: %s\n", cfg->program, strerror(e));
		record(sw, sl, 127 << 8);
	}
}

static uint32_t running(const struct sweep *sw)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < sw->cfg->jobs; k++)
		n += sw->slots[k].pid > 0;
	return n;
}

/* Reaps every finished run. */
static void reap(struct sweep *sw)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return;
		for (uint32_t k = 0; k < sw->cfg->jobs; k++)
			if (sw->slots[k].pid == pid) {
				sw->slots[k].pid = 0;
				record(sw, &sw->slots[k], st);
			}
	}
}

static void signal_runs(struct sweep *sw, int sig)
{
	for (uint32_t k = 0; k < sw->cfg->jobs; k++)
		if (sw->slots[k].pid > 0)
			kill(-sw->slots[k].pid, sig);
}

static cJSON *header(const struct sweep *sw)
{
	const struct sweep_cfg *cfg = sw->cfg;
	cJSON *h = cJSON_CreateObject();
	cJSON *names = cJSON_AddArrayToObject(h, "scenarios");
	for (uint32_t k = 0; k < (cfg->nscenarios ? cfg->nscenarios : 1); k++)
		cJSON_AddItemToArray(names, cJSON_CreateString(sw->names[k]));
	cJSON *seeds = cJSON_AddObjectToObject(h, "seeds");
	cJSON_AddNumberToObject(seeds, "from", (double)cfg->seed_from);
	cJSON_AddNumberToObject(seeds, "to", (double)cfg->seed_to);
	cJSON_AddNumberToObject(h, "repeat", cfg->repeat);
	cJSON_AddStringToObject(h, "chaos", sweep_chaos_name(cfg->chaos));
	cJSON_AddBoolToObject(h, "network_only", cfg->network_only);
	cJSON *args = cJSON_AddArrayToObject(h, "run_args");
	for (size_t i = 0; i < cfg->nrun_args; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(cfg->run_args[i]));
	cJSON_AddNumberToObject(h, "runs_total", (double)sw->total);
	return h;
}

/* The closing lines: counts, then the signatures, most runs first. */
static void print_summary(const struct sweep *sw, const cJSON *summary)
{
	const cJSON *counts = cJSON_GetObjectItem(summary, "counts"), *c;
	fprintf(stderr, "sweep: %" PRIu64 " of %" PRIu64 " runs:", sw->done, sw->planned);
	cJSON_ArrayForEach(c, counts)
	{
		if (c->valuedouble > 0)
			fprintf(stderr, " %.0f %s", c->valuedouble, c->string);
	}
	fputc('\n', stderr);
	const cJSON *sigs = cJSON_GetObjectItem(summary, "signatures"), *g;
	int shown = 0;
	cJSON_ArrayForEach(g, sigs)
	{
		if (shown++ == 10) {
			fprintf(stderr, "  ... %d more in summary.json\n", cJSON_GetArraySize(sigs) - 10);
			break;
		}
		fprintf(stderr, "  %.0f x %s\n    seeds", cJSON_GetObjectItem(g, "count")->valuedouble,
			cJSON_GetObjectItem(g, "signature")->valuestring);
		const cJSON *s;
		int k = 0;
		cJSON_ArrayForEach(s, cJSON_GetObjectItem(g, "seeds"))
		{
			if (k++ == 12) {
				fprintf(stderr, " ...");
				break;
			}
			fprintf(stderr, " %.0f", s->valuedouble);
		}
		const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "runs"), 0);
		char dir[64];
		run_dir(sw, first ? (uint64_t)first->valuedouble : 0, dir, sizeof dir);
		fprintf(stderr, "; first: %s/%s\n", sw->cfg->out, dir);
	}
	fprintf(stderr, "summary: %s/summary.json, %s/junit.xml\n", sw->cfg->out, sw->cfg->out);
}

static void sweep_free(struct sweep *sw)
{
	for (uint32_t k = 0; sw->base && k < (sw->cfg->nscenarios ? sw->cfg->nscenarios : 1); k++)
		free(sw->base[k]);
	free(sw->base);
	free(sw->names);
	free(sw->slots);
	free(sw->replay_args);
	cJSON_Delete(sw->runs);
}

int sweep_execute(const struct sweep_cfg *cfg, char *err, size_t errlen)
{
	struct sweep sw = { .cfg = cfg };
	uint32_t nscn = cfg->nscenarios ? cfg->nscenarios : 1;
	int code = VERDICT_EXIT_FAILED;
	sw.nseeds = cfg->seed_to - cfg->seed_from + 1;
	sw.total = nscn * sw.nseeds * cfg->repeat;
	sw.planned = sweep_shard_count(sw.total, cfg->shard, cfg->nshards);
	sw.width = snprintf(NULL, 0, "%" PRIu64, sw.total ? sw.total - 1 : 0);
	sw.base = calloc(nscn, sizeof *sw.base);
	sw.names = calloc(nscn, sizeof *sw.names);
	sw.slots = calloc(cfg->jobs, sizeof *sw.slots);
	sw.runs = cJSON_CreateArray();
	size_t rlen = 0;
	for (size_t i = 0; i < cfg->nrun_args; i++)
		if (append_quoted(&sw.replay_args, &rlen, cfg->run_args[i]) < 0)
			goto oom;
	if (!sw.base || !sw.names || !sw.slots || !sw.runs)
		goto oom;
	for (uint32_t k = 0; k < nscn; k++) {
		sw.names[k] = cfg->nscenarios ? cfg->scenarios[k] : "default";
		int rc = resolve(&sw, k, err, errlen);
		if (rc) {
			sweep_free(&sw);
			return rc;
		}
	}

	/* Signals arrive on a descriptor, in the loop, so that a run finishing and a Ctrl-C are taken in turn. */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		snprintf(err, errlen, "signalfd: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		sweep_free(&sw);
		return VERDICT_EXIT_FAILED;
	}
	sw.start_ms = clock_ms();
	int stop = 0;
	sweep_ms kill_at = 0;
	uint64_t next = cfg->shard;
	for (;;) {
		for (uint32_t k = 0; k < cfg->jobs && !stop && next < sw.total; k++) {
			if (sw.slots[k].pid)
				continue;
			launch(&sw, k, next);
			next += cfg->nshards;
		}
		uint32_t busy = running(&sw);
		if (busy == 0 && (stop || next >= sw.total))
			break;
		progress(&sw, busy, false);
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		poll(&pfd, 1, SWEEP_TICK_MS);
		struct signalfd_siginfo si;
		while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			if (!stop) {
				/* The runs write their outputs on the same signal; the unstarted ones are missing. */
				stop = (int)si.ssi_signo;
				kill_at = clock_ms() + SWEEP_STOP_GRACE_MS;
				signal_runs(&sw, stop);
			} else {
				kill_at = clock_ms(); /* a second signal: no more waiting */
			}
		}
		reap(&sw);
		if (stop && clock_ms() >= kill_at)
			signal_runs(&sw, SIGKILL);
	}
	progress(&sw, 0, true);
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);

	cJSON *h = header(&sw);
	cJSON *summary = h ? sweep_summary(h, cfg->shard, cfg->nshards, sw.runs) : NULL;
	sw.runs = NULL;
	cJSON_Delete(h);
	if (!summary)
		goto oom;
	code = sweep_summary_exit(summary);
	if (stop) {
		cJSON_AddStringToObject(summary, "interrupted",
					stop == SIGINT ? "SIGINT" : stop == SIGTERM ? "SIGTERM" : "SIGHUP");
		code = 128 + stop;
		cJSON_ReplaceItemInObject(summary, "exit_code", cJSON_CreateNumber(code));
	}
	if (sweep_write_outputs(summary, cfg->out, err, errlen) < 0) {
		fprintf(stderr, "loopsim sweep: %s\n", err);
		if (!stop)
			code = VERDICT_EXIT_FAILED;
	}
	if (!cfg->quiet)
		print_summary(&sw, summary);
	cJSON_Delete(summary);
	sweep_free(&sw);
	return code;
oom:
	snprintf(err, errlen, "out of memory");
	sweep_free(&sw);
	return VERDICT_EXIT_FAILED;
}
