// SPDX-License-Identifier: MIT
// Sweeps: many seeded sessions, each a `loopsim run` child, with chaos timelines, shards, a summary and a merge.
#ifndef LOOPSIM_HARNESS_SWEEP_H
#define LOOPSIM_HARNESS_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/scenario.h"

struct cJSON;

/* ---- the plan: which runs, in which order, on which shard ---------------------------------------------- */

/*
 * A sweep's runs are numbered 0..total-1, scenario-major, then seed, then
 * repeat: index = (scenario * nseeds + (seed - seed_from)) * repeat + r.
 * The numbering depends on the sweep's arguments alone, so every shard of a
 * sweep agrees on it, and a run's folder is named by it (run-<index>).
 */
struct sweep_run_id {
	uint64_t index;
	uint32_t scenario;        /* into the sweep's scenario list */
	uint64_t seed;
	uint32_t repeat;          /* 0..K-1 */
};

/* The run at index; index < total. This function can't fail. */
void sweep_run_at(uint64_t index, uint64_t seed_from, uint64_t nseeds, uint32_t repeat, struct sweep_run_id *out);

/* Shard I of N owns the runs whose index is I modulo N; N >= 1, I < N. */
static inline bool sweep_shard_owns(uint64_t index, uint32_t shard, uint32_t nshards)
{
	return index % nshards == shard;
}

/* How many of total runs shard I of N owns. */
uint64_t sweep_shard_count(uint64_t total, uint32_t shard, uint32_t nshards);

/* ---- chaos: a fault timeline drawn from the seed ------------------------------------------------------- */

enum sweep_chaos { SWEEP_CHAOS_NONE, SWEEP_CHAOS_LOW, SWEEP_CHAOS_MEDIUM, SWEEP_CHAOS_HIGH, SWEEP_CHAOS_COUNT };

/* The level named s ("none", "low", "medium", "high"), or -1. */
int sweep_chaos_parse(const char *s);
const char *sweep_chaos_name(enum sweep_chaos level);

enum sweep_fault_kind {
	SWEEP_FAULT_PARTITION,    /* partition = two random sides, then heal = all */
	SWEEP_FAULT_SPIKE,        /* one pair's latency raised, both ways, then set back */
	SWEEP_FAULT_LOSS,         /* one pair's loss raised, both ways, then set back */
	SWEEP_FAULT_STORM,        /* one pair duplicates and reorders, both ways, then set back */
	SWEEP_FAULT_KILL,         /* kill = k, then restart = k: it rejoins */
	SWEEP_FAULT_COUNT
};

/* "partition", "spike", "loss-burst", "storm", "kill". */
const char *sweep_fault_name(enum sweep_fault_kind kind);

/*
 * Faults per minute of the chaos window, per level and kind, and how long
 * each lasts (uniform in [min, max] seconds). The README's table is this one.
 */
struct sweep_fault_spec {
	double per_min[SWEEP_CHAOS_COUNT];
	double min_s, max_s;
};
extern const struct sweep_fault_spec sweep_fault_specs[SWEEP_FAULT_COUNT];

/* A drawn fault: what, and when (seconds from the start of the session). */
struct sweep_fault {
	enum sweep_fault_kind kind;
	double start_s, end_s;
};

#define SWEEP_MAX_FAULTS 48
/* The chaos window: faults start after SWEEP_CHAOS_LEAD_S and end SWEEP_CHAOS_TAIL_S before the session does. */
#define SWEEP_CHAOS_LEAD_S 0.5
#define SWEEP_CHAOS_TAIL_S 2.5

/*
 * Draws a fault timeline for seed at level and adds its events to s's
 * timeline (kept sorted by time). Model: each kind is a Poisson process at
 * its level's rate over the window [LEAD, duration - TAIL]; a run whose
 * window is open but drew nothing gets one fault of a kind chosen by rate,
 * so that no chaos run is wasted. Every draw comes from the counter-based
 * generator keyed by (seed, kind, n, WIRE_RNG_CHAOS), so a seed gives the
 * same timeline on any machine and in any shard. The faults are survivable
 * by design: a partition lasts under half the disconnect timeout, so the
 * sides never drop each other; every fault ends inside the window, so the
 * comparisons catch up before the end; a kill is drawn only with 3 peers or
 * more and when the restart leaves room for the rejoin (disconnect timeout
 * + 12 s) before the window closes. A changed link setting is set back to
 * what the scenario had on that link at the fault's end. s must have passed
 * scn_check(); the result passes it too. Faults that would push the
 * timeline past SCN_MAX_EVENTS are not drawn. Writes up to cap faults,
 * sorted by start, into faults and returns how many (0 for
 * SWEEP_CHAOS_NONE).
 */
size_t sweep_chaos_draw(struct scenario *s, enum sweep_chaos level, uint64_t seed, struct sweep_fault *faults,
			size_t cap);

/*
 * The fault a finding at t_s belongs to: the latest-started fault with
 * start <= t_s <= end + SWEEP_FAULT_AFTERMATH_S (a heal or a restart takes a
 * while to settle), by name; "none" if there is none.
 */
#define SWEEP_FAULT_AFTERMATH_S 2.0
const char *sweep_fault_at(const struct sweep_fault *faults, size_t n, double t_s);

/* ---- run records, the summary, JUnit and the merge ----------------------------------------------------- */

/*
 * A run's record (one element of summary.json's runs[]), read from what
 * its `loopsim run` child left in its folder: the report (verdict,
 * exit_code, reason, desync frame, minority, field, bundle), or, when there
 * is none, the child's wait status as a failed run. dir is the run's folder
 * relative to the sweep's (run-<index>); report_path where to read it now;
 * wstatus the child's waitpid() status; faults its chaos timeline; replay
 * the command that repeats it from the sweep's folder. Returns a new
 * object the caller owns, or NULL when out of memory.
 */
struct cJSON *sweep_record(const struct sweep_run_id *id, const char *scenario, const char *dir,
			   const char *report_path, int wstatus, const struct sweep_fault *faults, size_t nfaults,
			   const char *replay);

/*
 * The whole summary from a header ({scenarios, seeds {from, to}, repeat,
 * chaos, network_only, runs_total}, borrowed and copied), the shard it
 * covers (nshards 1: the whole sweep; the summary then has no "shard") and
 * the run records (taken, whatever the outcome). It sorts the runs by
 * index, counts verdicts, groups failures by signature, counts the runs of
 * its scope that are missing, and decides the exit code. Nothing in it
 * depends on timing or on how the runs were spread over shards and jobs, so
 * that a merge of shards is the very summary one unsharded sweep writes.
 * Returns a new object the caller owns, or NULL when out of memory.
 *
 * Signatures: a failure's signature is its verdict, then for a desync the
 * first differing field (the entity and field, without values) or for
 * another failure its reason, then the chaos fault active at the time;
 * digits are left out ("ship #.x"), so that the same bug in another peer,
 * entity or second groups together. Each signature lists its runs, its
 * seeds, and per (scenario, seed) how many of the runs reproduced it.
 * Interrupted runs are counted but not grouped.
 */
struct cJSON *sweep_summary(const struct cJSON *header, uint32_t shard, uint32_t nshards, struct cJSON *runs);

/*
 * The signature of one run record into out: "" for a run that is no
 * failure (clean, network-only, interrupted).
 */
void sweep_signature(const struct cJSON *run, char *out, size_t cap);

/*
 * The exit code a summary stands for: 1 if any run desynced; else 3 if any
 * run failed, split, was unchecked or interrupted on its own, or a run of
 * its scope is missing; else 0.
 */
int sweep_summary_exit(const struct cJSON *summary);

/*
 * Merges shard summaries: the same header in each, no run in two. Returns
 * the summary of the whole sweep as sweep_summary() makes it (missing runs
 * counted), or NULL with the reason in err (naming which[i] for the i-th
 * summary). The inputs are borrowed.
 */
struct cJSON *sweep_merge(const struct cJSON *const *summaries, const char *const *which, size_t n, char *err,
			  size_t errlen);

/* Writes summary.json (as JSON) and junit.xml (one testcase per run) into dir. Returns 0, or -1 with err. */
int sweep_write_outputs(const struct cJSON *summary, const char *dir, char *err, size_t errlen);

/*
 * Copies the folder tree from into to (which must not exist yet): files are
 * hard-linked where the file system allows, copied otherwise; symbolic links
 * are made again as they were. For a merge, which gathers each run's folder
 * from its shard. Returns 0, or -1 with "path: reason" in err (what was
 * copied so far stays).
 */
int sweep_copy_tree(const char *from, const char *to, char *err, size_t errlen);

/* ---- the engine -------------------------------------------------------------------------------------- */

/* The most concurrent sessions: each takes a block 127.S.0.0/16, S = 1..SWEEP_MAX_JOBS. */
#define SWEEP_MAX_JOBS 254u

struct sweep_cfg {
	const char *program;             /* the loopsim executable the runs use */
	const char *const *scenarios;    /* paths, or none for the built-in default */
	uint32_t nscenarios;
	uint64_t seed_from, seed_to;     /* inclusive */
	uint32_t repeat;                 /* K >= 1 */
	enum sweep_chaos chaos;
	uint32_t jobs;                   /* 1..SWEEP_MAX_JOBS */
	uint32_t shard, nshards;         /* nshards 1: every run */
	const char *out;                 /* the sweep's folder: missing or empty */
	char *const *run_args;           /* passed to every `loopsim run` as given */
	size_t nrun_args;
	bool network_only;               /* --network-only is among run_args */
	bool progress;                   /* a progress bar on stderr (a terminal), else a line per run */
	bool quiet;                      /* neither */
};

/*
 * Runs the sweep: resolves each scenario with the run options (a child
 * `loopsim run --resolve-only`, so that a bad option is refused before any
 * run, by the parser that runs use), then every run of the shard, jobs at a
 * time, each a child `loopsim run` in a process group of its own with its
 * own addresses (slot S: --addr-base 127.S.0.2) and its own folder
 * (scenario.ini with the chaos drawn, report.json, run.log, bundle/ on a
 * desync). A child that crashes is a failed run, never the sweep's end.
 * SIGINT, SIGTERM or SIGHUP stop the launching, are passed on to the runs
 * (which write their outputs and stop), and the summary of the runs done is
 * written. Returns the exit code: the summary's (sweep_summary_exit), 2 for
 * a bad option or scenario (the message printed), 3 when the sweep itself
 * could not go on (err says why), 128+N when interrupted.
 */
int sweep_execute(const struct sweep_cfg *cfg, char *err, size_t errlen);

#endif
