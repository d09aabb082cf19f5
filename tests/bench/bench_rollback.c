// SPDX-License-Identifier: MIT
// loopsim-bench rollback: the cost of a GGPO-style rollback of the demo game, against plain resimulation.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "game/game.h"
#include "netcode/session.h"
#include "netcode/transport.h"
#include "game/synctest.h"

#define BR_PLAYERS 16
#define BR_DEPTH 8            /* GGPO's MAX_PREDICTION_FRAMES: the deepest rollback */
#define BR_WARM_FRAMES 600    /* bots play this long first, so bullets fly and ships die and respawn */
#define BR_SEED 1
#define BR_SYNCTEST_RUNS 3
#define BR_TARGET_ROLLBACK_US 1000.0
#define BR_TARGET_OVERHEAD 0.20

static const char prog[] = "loopsim-bench rollback";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench rollback [options]\n"
		"\n"
		"Times the demo game with %u players, from a state %u frames into a bot match:\n"
		"  rollback8_16p_us    one rollback of %u frames as a rollback netcode does it: load the saved\n"
		"                      state (memcpy), then %u x (game_step, save by memcpy); the median\n"
		"  resim8_16p_us       %u plain game_step calls from the same state, with the same inputs; the median\n"
		"  save_load_overhead  rollback8 / resim8 - 1\n"
		"  synctest_fps        frames a second of game_synctest (%u players, check distance %u), the\n"
		"                      median of %u runs\n"
		"The two timings alternate, one repetition each, so drift in clock speed hits both alike.\n"
		"\n"
		"Options:\n"
		"  --reps N             repetitions of each timing (default 20001)\n"
		"  --synctest-frames N  frames of each synctest run (default 3000)\n"
		"  --help               this text\n"
		"\n"
		"Targets: rollback8_16p_us < %.0f and save_load_overhead < %.2f. Progress goes to stderr;\n"
		"the last stdout line is one JSON object. Exit codes: 0 ran (targets met or not), 2 bad\n"
		"usage, 3 setup failure.\n",
		BR_PLAYERS, BR_WARM_FRAMES, BR_DEPTH, BR_DEPTH, BR_DEPTH, BR_PLAYERS, GAME_SYNCTEST_DEFAULT_DISTANCE,
		BR_SYNCTEST_RUNS, BR_TARGET_ROLLBACK_US, BR_TARGET_OVERHEAD);
}

/* Rounds to a thousandth, so the JSON carries no false precision. */
static double milli(double v)
{
	return (double)(int64_t)(v * 1000 + (v >= 0 ? 0.5 : -0.5)) / 1000;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* What one measurement works on: the state before the rollback, its inputs, and the ring it saves into. */
struct fixture {
	struct game_state base;
	game_input input[BR_DEPTH][GAME_MAX_PLAYERS];
	struct game_state ring[BR_DEPTH + 1];
	struct game_state scratch;
};

static void fixture_setup(struct fixture *fx)
{
	game_init(&fx->base, BR_PLAYERS, BR_SEED);
	game_input in[GAME_MAX_PLAYERS];
	for (uint32_t f = 0; f < BR_WARM_FRAMES; f++) {
		for (uint32_t k = 0; k < BR_PLAYERS; k++)
			in[k] = game_bot_input(&fx->base, k, BR_SEED);
		game_step(&fx->base, in);
	}
	/* The inputs the rollback replays are the ones the bots chose the first time through. */
	fx->scratch = fx->base;
	for (uint32_t i = 0; i < BR_DEPTH; i++) {
		for (uint32_t k = 0; k < BR_PLAYERS; k++)
			fx->input[i][k] = game_bot_input(&fx->scratch, k, BR_SEED);
		game_step(&fx->scratch, fx->input[i]);
	}
	fx->ring[0] = fx->base;
}

/*
 * Results go to a volatile sink: a store the compiler must keep, so it
 * cannot drop work whose result is otherwise unused.
 */
static void sink_add(uint64_t v)
{
	volatile uint64_t sink = v;
	(void)sink;
}

/* Times `reps` of each of the two paths, alternating; adds ns samples. */
static void measure(struct fixture *fx, uint32_t reps, struct bench_samples *rollback, struct bench_samples *resim)
{
	for (uint32_t r = 0; r < reps; r++) {
		/* A rollback: load the saved state, then step and save each frame. */
		bench_ns t0 = bench_now_ns();
		memcpy(&fx->scratch, &fx->ring[0], sizeof fx->scratch);
		for (uint32_t i = 0; i < BR_DEPTH; i++) {
			game_step(&fx->scratch, fx->input[i]);
			memcpy(&fx->ring[i + 1], &fx->scratch, sizeof fx->scratch);
		}
		bench_ns t1 = bench_now_ns();
		bench_samples_add(rollback, (int64_t)(t1 - t0));
		sink_add(fx->scratch.rng);

		/* Plain resimulation: the reset to the start is outside the timed span. */
		memcpy(&fx->scratch, &fx->base, sizeof fx->scratch);
		t0 = bench_now_ns();
		for (uint32_t i = 0; i < BR_DEPTH; i++)
			game_step(&fx->scratch, fx->input[i]);
		t1 = bench_now_ns();
		bench_samples_add(resim, (int64_t)(t1 - t0));
		sink_add(fx->scratch.rng);
	}
}

/* The median cost of one game_hash and of 16 bots' inputs, for the detail. */
static void measure_hash_and_bots(struct fixture *fx, uint32_t reps, double *hash_us, double *bots_us)
{
	struct bench_samples hs = { 0 }, bs = { 0 };
	*hash_us = *bots_us = 0;
	if (bench_samples_init(&hs, reps) < 0 || bench_samples_init(&bs, reps) < 0)
		goto out;
	for (uint32_t r = 0; r < reps; r++) {
		fx->scratch = fx->base;
		fx->scratch.frame += r; /* a different state each time, so nothing can be cached */
		bench_ns t0 = bench_now_ns();
		sink_add(game_hash(&fx->scratch));
		bench_ns t1 = bench_now_ns();
		for (uint32_t k = 0; k < BR_PLAYERS; k++)
			sink_add(game_bot_input(&fx->scratch, k, BR_SEED));
		bench_ns t2 = bench_now_ns();
		bench_samples_add(&hs, (int64_t)(t1 - t0));
		bench_samples_add(&bs, (int64_t)(t2 - t1));
	}
	*hash_us = bench_samples_quantile_us(&hs, 0.5);
	*bots_us = bench_samples_quantile_us(&bs, 0.5);
out:
	bench_samples_fini(&hs);
	bench_samples_fini(&bs);
}

/* Median frames a second over BR_SYNCTEST_RUNS runs, or -1 if a run failed. */
static double measure_synctest(uint32_t frames, uint64_t *checks)
{
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	cfg.nplayers = BR_PLAYERS;
	cfg.frames = frames;
	cfg.seed = BR_SEED;
	double fps[BR_SYNCTEST_RUNS];
	for (int i = 0; i < BR_SYNCTEST_RUNS; i++) {
		struct game_synctest_result res;
		bench_ns t0 = bench_now_ns();
		int rc = game_synctest(&cfg, &res);
		bench_ns t1 = bench_now_ns();
		if (rc != 0) {
			fprintf(stderr, "%s: the synctest %s\n", prog, rc == 1 ? "found a desync" : "could not run");
			return -1;
		}
		*checks = res.checks;
		fps[i] = (double)res.frames * BENCH_NS_PER_S / (double)(t1 - t0 ? t1 - t0 : 1);
	}
	qsort(fps, BR_SYNCTEST_RUNS, sizeof fps[0], cmp_double);
	return fps[BR_SYNCTEST_RUNS / 2];
}

/* --- bytes on the wire: an 8-peer mesh at 60 Hz, in virtual time over the in-memory transport ---------- */

#define MESH_PEERS 8
#define MESH_SECONDS 10

struct mesh_peer {
	struct game_state g;
	struct nc_session *s;
};

static void mesh_save(void *c, void *b) { memcpy(b, &((struct mesh_peer *)c)->g, sizeof(struct game_state)); }
static void mesh_load(void *c, const void *b) { memcpy(&((struct mesh_peer *)c)->g, b, sizeof(struct game_state)); }
static void mesh_advance(void *c, const uint8_t *in) { game_step(&((struct mesh_peer *)c)->g, in); }
static uint64_t mesh_checksum(void *c) { return game_hash(&((struct mesh_peer *)c)->g); }

/* Mean bytes each peer sends per second, netcode headers included (UDP/IP and ENet's own not counted). */
static double measure_mesh8(void)
{
	static struct mesh_peer p[MESH_PEERS];
	struct nc_mem_net *net = nc_mem_net_create(MESH_PEERS, NULL, NULL);
	char err[128];
	for (uint32_t k = 0; k < MESH_PEERS; k++) {
		struct nc_session_cfg cfg;
		nc_session_cfg_default(&cfg);
		cfg.nplayers = MESH_PEERS;
		cfg.local = k;
		cfg.session_id = 1;
		cfg.state_size = sizeof(struct game_state);
		cfg.cb = (struct nc_callbacks){ &p[k], mesh_save, mesh_load, mesh_advance, mesh_checksum };
		cfg.transport = nc_mem_endpoint(net, k);
		game_init(&p[k].g, MESH_PEERS, 1);
		p[k].s = nc_session_create(&cfg, err, sizeof err);
		if (!p[k].s)
			return -1;
	}
	uint32_t ticks = MESH_SECONDS * 60;
	for (uint32_t t = 0; t < ticks; t++)
		for (uint32_t k = 0; k < MESH_PEERS; k++)
			nc_session_tick(p[k].s, (uint64_t)t * 1000 / 60, game_bot_input(&p[k].g, k, 1));
	uint64_t out = 0;
	for (uint32_t k = 0; k < MESH_PEERS; k++) {
		struct nc_session_stats st;
		nc_session_get_stats(p[k].s, &st);
		for (uint32_t r = 0; r < MESH_PEERS; r++)
			out += st.remote[r].bytes_out;
		nc_session_destroy(p[k].s);
	}
	nc_mem_net_destroy(net);
	return (double)out / MESH_PEERS / MESH_SECONDS;
}

int bench_rollback(int argc, char **argv)
{
	double reps_d = 20001, synctest_frames_d = 3000;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--reps") == 0) {
			if (bench_parse_double(prog, "--reps", val, 1, 10000000, &reps_d) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else if (strcmp(a, "--synctest-frames") == 0) {
			if (bench_parse_double(prog, "--synctest-frames", val, 100, 10000000, &synctest_frames_d) < 0)
				return BENCH_EXIT_USAGE;
			i++;
		} else {
			fprintf(stderr, "%s: unknown option '%s' (see loopsim-bench rollback --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
	}
	uint32_t reps = (uint32_t)reps_d, synctest_frames = (uint32_t)synctest_frames_d;

	int rc = BENCH_EXIT_SETUP;
	struct bench_samples rollback = { 0 }, resim = { 0 };
	cJSON *o = NULL;
	struct fixture *fx = malloc(sizeof *fx);
	if (!fx || bench_samples_init(&rollback, reps) < 0 || bench_samples_init(&resim, reps) < 0) {
		fprintf(stderr, "%s: out of memory for %u samples\n", prog, reps);
		goto out;
	}
	fixture_setup(fx);
	fprintf(stderr, "%s: %u players, %u-frame rollbacks, %u repetitions\n", prog, BR_PLAYERS, BR_DEPTH, reps);
	/* A short warm-up, thrown away, so that caches and the CPU's clock have settled. */
	measure(fx, reps / 10 + 1, &rollback, &resim);
	rollback.len = resim.len = 0;
	measure(fx, reps, &rollback, &resim);
	double hash_us, bots_us;
	measure_hash_and_bots(fx, reps, &hash_us, &bots_us);
	double rollback_us = bench_samples_quantile_us(&rollback, 0.5);
	double rollback_p99_us = bench_samples_quantile_us(&rollback, 0.99);
	double resim_us = bench_samples_quantile_us(&resim, 0.5);
	double overhead = resim_us > 0 ? rollback_us / resim_us - 1 : 0;

	fprintf(stderr, "%s: synctest, %u frames x %d runs\n", prog, synctest_frames, BR_SYNCTEST_RUNS);
	uint64_t checks = 0;
	double fps = measure_synctest(synctest_frames, &checks);
	if (fps < 0)
		goto out;

	o = cJSON_CreateObject();
	if (!o)
		goto out;
	cJSON_AddNumberToObject(o, "players", BR_PLAYERS);
	cJSON_AddNumberToObject(o, "rollback_frames", BR_DEPTH);
	cJSON_AddNumberToObject(o, "reps", reps);
	cJSON_AddNumberToObject(o, "rollback8_16p_us", milli(rollback_us));
	cJSON_AddNumberToObject(o, "resim8_16p_us", milli(resim_us));
	cJSON_AddNumberToObject(o, "save_load_overhead", milli(overhead));
	cJSON_AddNumberToObject(o, "synctest_fps", (double)(int64_t)(fps + 0.5));
	cJSON_AddNumberToObject(o, "mesh8_bytes_per_s", (double)(int64_t)(measure_mesh8() + 0.5));
	cJSON_AddBoolToObject(o, "targets_met", rollback_us < BR_TARGET_ROLLBACK_US && overhead < BR_TARGET_OVERHEAD);
	cJSON *d = cJSON_AddObjectToObject(o, "detail");
	if (d) {
		cJSON_AddNumberToObject(d, "rollback8_16p_us_p99", milli(rollback_p99_us));
		cJSON_AddNumberToObject(d, "step_16p_us", milli(resim_us / BR_DEPTH));
		cJSON_AddNumberToObject(d, "hash_16p_us", milli(hash_us));
		cJSON_AddNumberToObject(d, "bots_16p_us", milli(bots_us));
		cJSON_AddNumberToObject(d, "state_bytes", (double)sizeof(struct game_state));
		cJSON_AddNumberToObject(d, "synctest_check_distance", GAME_SYNCTEST_DEFAULT_DISTANCE);
		cJSON_AddNumberToObject(d, "synctest_checks", (double)checks);
	}
	bench_json_emit(o);
	rc = BENCH_EXIT_OK;
out:
	cJSON_Delete(o);
	bench_samples_fini(&rollback);
	bench_samples_fini(&resim);
	free(fx);
	return rc;
}
