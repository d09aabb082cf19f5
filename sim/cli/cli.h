// SPDX-License-Identifier: MIT
// The loopsim subcommands.
#ifndef LOOPSIM_CLI_CLI_H
#define LOOPSIM_CLI_CLI_H

/* Exit codes: the user-facing contract (DESIGN.md). */
enum {
	EXIT_CLEAN = 0,
	EXIT_DESYNC = 1,
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
};

/*
 * A subcommand parses all of its options first, then executes. This is the
 * exit code of a parse that did not end in "run it" (rc != 0): 1 means --help
 * was printed (exit 0); -EINVAL is bad usage, written to stderr as
 * "loopsim CMD: err" with a pointer to --help (exit 2); any other negative
 * errno is what the system refused (exit 3).
 */
int cli_parse_failed(const char *cmd, int rc, const char *err);

/* `loopsim wire ...`; argv[0] is "wire". Returns the exit code. */
int cmd_wire(int argc, char **argv);
/* `loopsim run ...` (and `loopsim` alone); argv[0] is "run". */
int cmd_run(int argc, char **argv);
/* `loopsim replay BUNDLE`; argv[0] is "replay". */
int cmd_replay(int argc, char **argv);
/* `loopsim sweep ...` and `loopsim sweep merge ...`; argv[0] is "sweep". */
int cmd_sweep(int argc, char **argv);
/* `loopsim synctest ...`; argv[0] is "synctest". */
int cmd_synctest(int argc, char **argv);

#endif
