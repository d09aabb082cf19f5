// SPDX-License-Identifier: MIT
// `loopsim synctest`: the game's GGPO-style sync test, without a network.
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wire/parse.h"
#include "cli/cli.h"
#include "game/synctest.h"

/* Enough for minutes of a 16-player test; the limit only keeps a typo from running for days. */
#define MAX_FRAMES 100000000u

enum {
	OPT_FRAMES = 1,
	OPT_CHECK_DISTANCE,
	OPT_PLAYERS,
	OPT_SEED,
	OPT_INJECT,
	OPT_HELP,
};

static void synctest_help(FILE *out)
{
	fprintf(out,
		"Usage: loopsim synctest [options]\n"
		"\n"
		"Checks that the demo game is deterministic, GGPO style and without a network: bots play,\n"
		"and after every frame the game rolls back D frames and replays them with the same inputs.\n"
		"Each replayed frame must hash as it did the first time. At the first frame that does not,\n"
		"it names the entity and field that differ, and stops.\n"
		"\n"
		"  --frames N                   frames to play, 1..%u (default 1000)\n"
		"  --check-distance D           frames rolled back each time, 1..%u (default %u, as deep as\n"
		"                               a rollback goes)\n"
		"  --players P                  ships, 2..%u (default 4)\n"
		"  --seed S                     seed of the game and the bots (default 1)\n"
		"  --inject-nondeterminism F    during replays only, nudge one ship's x at frame F (1..N), to\n"
		"                               see what a desync report looks like; the test must fail at F\n"
		"  --help                       this text\n"
		"\n"
		"Exit codes: 0 every check passed, 1 desync found, 2 bad usage, 3 runtime failure.\n",
		MAX_FRAMES, GAME_SYNCTEST_MAX_DISTANCE, GAME_SYNCTEST_DEFAULT_DISTANCE, GAME_MAX_PLAYERS);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int cmd_synctest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "frames", required_argument, NULL, OPT_FRAMES },
		{ "check-distance", required_argument, NULL, OPT_CHECK_DISTANCE },
		{ "players", required_argument, NULL, OPT_PLAYERS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "inject-nondeterminism", required_argument, NULL, OPT_INJECT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	char err[256];
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	const char *inject_arg = NULL;
	uint64_t inject = 0;

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		const char *flag = argv[optind - 1];
		switch (c) {
		case OPT_HELP:
			synctest_help(stdout);
			return EXIT_CLEAN;
		case OPT_FRAMES:
			if (parse_u32("--frames", optarg, 1, MAX_FRAMES, &cfg.frames, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_CHECK_DISTANCE:
			if (parse_u32("--check-distance", optarg, 1, GAME_SYNCTEST_MAX_DISTANCE, &cfg.check_distance,
					  err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_PLAYERS:
			if (parse_u32("--players", optarg, 2, GAME_MAX_PLAYERS, &cfg.nplayers, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_SEED:
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &cfg.seed, err, sizeof err) < 0)
				goto usage;
			break;
		case OPT_INJECT:
			/* Its upper bound is --frames, which may come later on the line. */
			if (parse_u64("--inject-nondeterminism", optarg, 1, MAX_FRAMES, &inject, err, sizeof err) < 0)
				goto usage;
			inject_arg = optarg;
			break;
		case ':':
			snprintf(err, sizeof err, "%s: needs a value", flag);
			goto usage;
		default:
			snprintf(err, sizeof err, "unknown option '%s'", flag);
			goto usage;
		}
	}
	if (optind < argc) {
		snprintf(err, sizeof err, "unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if (inject_arg) {
		if (inject > cfg.frames) {
			snprintf(err, sizeof err, "--inject-nondeterminism: frame %s is past the last frame (%" PRIu32 ")",
				 inject_arg, cfg.frames);
			goto usage;
		}
		cfg.inject_frame = (int64_t)inject;
	}

	struct game_synctest_result res;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = game_synctest(&cfg, &res);
	double elapsed_s = seconds_since(&t0);
	if (rc < 0) {
		fprintf(stderr, "loopsim synctest: %s\n", strerror(-rc));
		return EXIT_RUNTIME;
	}
	if (rc == 1) {
		char field[128] = "no field differs: the states are equal but their hashes are not";
		if (res.has_diff)
			game_diff_format(&res.diff, field, sizeof field);
		printf("synctest: desync at frame %" PRIu32 ": %s (checksums 0x%016" PRIx64 " != 0x%016" PRIx64
		       "; first pass, then replay; seed %" PRIu64 ", check distance %" PRIu32 ")\n",
		       res.desync_frame, field, res.checksum_first, res.checksum_resim, cfg.seed, cfg.check_distance);
		return EXIT_DESYNC;
	}
	double fps = elapsed_s > 0 ? (double)res.frames / elapsed_s : 0;
	printf("synctest: clean: %" PRIu64 " frames, %" PRIu32 " players, check distance %" PRIu32 ", %" PRIu64
	       " checks, seed %" PRIu64 ", %.0f frames/s\n",
	       res.frames, cfg.nplayers, cfg.check_distance, res.checks, cfg.seed, fps);
	return EXIT_CLEAN;

usage:
	fprintf(stderr, "loopsim synctest: %s (see loopsim synctest --help)\n", err);
	return EXIT_USAGE;
}
