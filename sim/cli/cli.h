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
