// SPDX-License-Identifier: MIT
// loopsim-bench: the entry point; dispatches to one subcommand per bench_<name>.c.
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct bench_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* A new subcommand is one file and one line here. */
static const struct bench_cmd cmds[] = {
	{ "wire", bench_wire,
	  "the relay on real loopback sockets: throughput against a bare relay, delay error\n"
	  "                 against the timer floor, memory per idle link" },
	{ "rollback", bench_rollback,
	  "an 8-frame rollback of 16 players against plain resimulation; synctest frames/s;\n"
	  "                 bytes/s per peer in an 8-peer mesh" },
#ifdef LOOPSIM_HAVE_VIEW
	{ "view", bench_view, "the viewer: software frame time (16 peers, 240 links, 5000 dots); the wire beside it" },
#endif
	{ "soak", bench_soak, "16 peers, congested, split and healed every 30 s for --minutes: RSS, fds, fates, stalls" },
	{ "scale", bench_scale, "the largest session that holds 60 Hz (8..64 peers); 250 addresses with exact counters" },
	{ "jitter", bench_jitter,
	  "`loopsim wire` from outside: delay, order and loss of steady traffic at the receiver\n"
	  "                 (kernel stamps), beside the latency and jitter asked for" },
	{ "sweep", bench_sweep, "loopsim sweep at J = 1..16: sessions/min, speed-up over J = 1, CPU, verdicts changed" },
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static void usage(FILE *out)
{
	fprintf(out,
		"loopsim-bench %s: benchmarks for loopsim (not part of ctest)\n"
		"\n"
		"Usage:\n"
		"  loopsim-bench SUBCOMMAND [options]\n"
		"  loopsim-bench --help | --version\n"
		"\n"
		"Subcommands:\n",
		LOOPSIM_VERSION);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(out, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out,
		"\n"
		"Every subcommand takes --help. Progress goes to stderr; the last line on stdout is one\n"
		"JSON object with the figures. Exit codes: 0 the benchmark ran (targets met or not),\n"
		"2 bad usage, 3 setup failure (a socket, thread or allocation refused).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return BENCH_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("loopsim-bench %s\n", LOOPSIM_VERSION);
		return BENCH_EXIT_OK;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "loopsim-bench: unknown subcommand '%s' (see loopsim-bench --help)\n", argv[1]);
	return BENCH_EXIT_USAGE;
}
