// SPDX-License-Identifier: MIT
// loopsim: the entry point and subcommand dispatch.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "harness/launch.h"
#include "harness/paths.h"

static void usage(FILE *out)
{
	fprintf(out,
		"loopsim %s: a multiplayer game networking simulator over loopback\n"
		"\n"
		"Usage:\n"
		"  loopsim                 the default session: 4 peers, rollback, \"broadband\" (32±12 ms, 2%% loss),\n"
		"                          30 s, then a summary\n"
		"  loopsim run [SCENARIO.ini] [options]\n"
		"                          N real peers through the wire, checked frame by frame for desyncs\n"
		"  loopsim replay BUNDLE   re-simulate a desync bundle and say where each peer diverged\n"
		"  loopsim wire [options]  the wire alone, around your own UDP programs; prints the peer table\n"
		"  loopsim sweep [SCENARIO.ini ...] --seeds A..B --out DIR [options]\n"
		"                          many seeded sessions in parallel, with chaos timelines; shards and merge\n"
		"  loopsim synctest [options]\n"
		"                          GGPO-style sync test of the demo game: roll back and replay every frame\n"
		"  loopsim --help | --version\n"
		"\n"
		"Every subcommand takes --help. Exit codes: 0 clean (or network-only), 1 desync found,\n"
		"2 bad usage, 3 failed (a peer crashed, hung or broke the protocol; a bind refused; an output\n"
		"not written), 4 unchecked (a live peer had no frame compared), 5 split (the session split\n"
		"into sides), 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP; `loopsim run --help` has more.\n",
		LOOPSIM_VERSION);
}

int cli_parse_failed(const char *cmd, int rc, const char *err)
{
	if (rc == 1)
		return EXIT_CLEAN;
	if (rc == -EINVAL) {
		fprintf(stderr, "loopsim %s: %s\n(see loopsim %s --help)\n", cmd, err, cmd);
		return EXIT_USAGE;
	}
	fprintf(stderr, "loopsim %s: %s\n", cmd, err);
	return EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	if (argc == 1) {
		char *def[] = { "run", NULL };
		fprintf(stderr, "loopsim: the default session: 4 peers, rollback, broadband, 30 s "
				"(loopsim --help for more)\n");
		return cmd_run(1, def);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "--version") == 0) {
		/* Where this loopsim takes its files from: a build tree, or the prefix it was installed to. */
		char peer[4096], data[4096], lib[4096], why[256];
		printf("loopsim %s\n", LOOPSIM_VERSION);
		printf("peer: %s\n", launch_default_program(peer, sizeof peer) == 0 ? peer : "(not found)");
		printf("preload: %s\n", launch_preload_library(lib, sizeof lib, why, sizeof why) == 0 ? lib : why);
		int found = paths_data_dir("fonts/DejaVuSansMono.ttf", data, sizeof data);
		printf("data: %s%s\n", data, found == 0 ? "" : " (missing)");
		return EXIT_CLEAN;
	}
	if (strcmp(argv[1], "wire") == 0)
		return cmd_wire(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return cmd_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "synctest") == 0)
		return cmd_synctest(argc - 1, argv + 1);
	if (strcmp(argv[1], "sweep") == 0)
		return cmd_sweep(argc - 1, argv + 1);
	fprintf(stderr, "loopsim: unknown command '%s' (see loopsim --help)\n", argv[1]);
	return EXIT_USAGE;
}
