// SPDX-License-Identifier: MIT
// Launching peers: one child process each, with its control channel, environment and log.
#ifndef LOOPSIM_HARNESS_LAUNCH_H
#define LOOPSIM_HARNESS_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The fd number of the control channel in every peer, also given as LOOPSIM_CONTROL_FD. */
#define LAUNCH_CONTROL_FD 3

struct launch_cfg {
	uint32_t index;
	uint32_t addr;            /* host byte order */
	const char *peers;        /* "ip:port,..." public addresses in index order */
	uint64_t seed;
	const char *program;      /* the built-in peer's path; used when cmd is NULL or "" */
	const char *cmd;          /* a user's --peer-cmd with {index} {addr} {peers} {seed} {port}, run by bash -c (or sh) */
	const char *log_path;     /* the child's stdout and stderr go here */
	uint32_t disconnect_ms;   /* the built-in peer's --disconnect-timeout; 0 leaves its default */
	uint16_t localhost_base;  /* --localhost-ports BASE: the preload library and LOOPSIM_LOCALHOST_BASE; 0: none */
};

struct launched {
	pid_t pid;                /* also the id of the peer's own process group */
	int ctl;                  /* our end of the control channel: non-blocking, close-on-exec */
};

/*
 * Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): a process
 * that a peer starts and leaves behind (its parent exits, or it double-forks
 * and calls setsid) is handed to us rather than to init, so that
 * launch_end_orphans() can find and end it. Call it once, before the first
 * launch_peer(); calling it again does no harm. The attribute is the
 * process's, not a thread's, and children do not inherit it. Returns 0 or a
 * negative errno.
 */
int launch_init(void);

/*
 * Forks and execs one peer, in a process group of its own (its pid is the
 * group id; both the child and we set it, so it holds when this returns).
 * The child gets:
 *   - fds 0 (/dev/null), 1 and 2 (log_path, appended to) and its end of a
 *     socketpair(AF_UNIX, SOCK_SEQPACKET) at LAUNCH_CONTROL_FD; every other
 *     fd is closed (close_range), including any the harness inherited from
 *     its own parent without close-on-exec;
 *   - the environment of DESIGN.md (LOOPSIM_INDEX, _ADDR, _PEERS, _SEED,
 *     _CONTROL_FD) over the harness's own; with localhost_base, also
 *     LOOPSIM_LOCALHOST_BASE and the preload library (launch_preload_library())
 *     after whatever LD_PRELOAD the harness has, so that a sanitizer's
 *     runtime stays first;
 *   - PR_SET_PDEATHSIG = SIGKILL, so that it dies with the harness even if
 *     the harness is SIGKILLed (this covers the child itself: what a
 *     --peer-cmd shell starts learns of the harness's death when its
 *     control channel closes);
 *   - an empty signal mask, and SIGINT ignored: Ctrl-C is the harness's,
 *     which then QUITs the peers cleanly.
 * A --peer-cmd runs as `/bin/bash -c CMD` (`/bin/sh -c CMD` without bash),
 * as the user wrote it (so `cd DIR && ./game`, `VAR=1 ./game` and compound
 * commands work); bash execs a simple last command itself, so the program
 * holds the control channel alone. The shell and all it starts share the
 * peer's process group. Everything between fork and exec
 * is async-signal-safe (the harness has threads). Returns 0, or -1 with a
 * reason in err and nothing left behind.
 */
int launch_peer(const struct launch_cfg *cfg, struct launched *out, char *err, size_t errlen);

/*
 * Sends sig to every process in the process group of the peer launch_peer()
 * started as pid: the peer and whatever it started that stayed in its group.
 * A process that left the group (setsid) is launch_end_orphans()'s. Safe
 * after the peer was reaped, while anything of its group lives (a group's id
 * is not reused while the group has members); once the group is empty this
 * does nothing and returns -ESRCH. Returns 0 or a negative errno.
 */
int launch_kill(pid_t pid, int sig);

/*
 * Ends every child process this process still has: in practice, what the
 * peers left behind and the subreaper adopted (including setsid'ed
 * daemons). Each is SIGKILLed, with its process group when it leads one,
 * and reaped; what they leave behind in turn is adopted and ended too.
 * Children are found in /proc/self/task/(tid)/children, or by scanning
 * /proc when the kernel lacks that file. It ends *every* child, so call it
 * only when the process has no child of its own to keep (the end of a
 * run, after the peers were stopped and reaped). Waits at most timeout_ms
 * and never blocks longer. Returns how many processes it ended (>= 0),
 * -ETIMEDOUT if some were still not reaped when the time ran out (they
 * were sent SIGKILL; a process in uninterruptible sleep takes its time),
 * or another negative errno if /proc could not be read.
 */
int launch_end_orphans(int timeout_ms);

/*
 * A peer's exit as run_peer.exit_status counts it, from its waitpid()
 * status: the exit code, or 128+N when signal N killed it. A --peer-cmd
 * (via_shell) runs under /bin/sh, which reports a program killed by signal
 * N as exit code 128+N; that is taken for signal N too, so a crash reads
 * the same whether or not the shell exec'd the program. *signo (may be
 * NULL) gets N when the peer was killed by a signal, else 0. A program run
 * by a shell that exits with 129..192 of its own accord reads as killed:
 * the shell leaves no way to tell the two apart. This function can't fail.
 */
int launch_exit_status(int wstatus, bool via_shell, int *signo);

/*
 * Expands {index} {addr} {peers} {seed} and {port} (localhost_base + index,
 * or 0 without one) in a --peer-cmd template. Returns 0, or -1 if it does
 * not fit.
 */
int launch_expand(const char *tmpl, const struct launch_cfg *cfg, char *out, size_t cap);

/* The built-in peer program beside this executable (or $LOOPSIM_PEER). Returns 0 or -1. */
int launch_default_program(char *out, size_t cap);

/* The preload library's file name, as the build makes it. */
#define LAUNCH_PRELOAD_NAME "libloopsim-preload.so"

/*
 * The preload library of --localhost-ports: $LOOPSIM_PRELOAD if set, else
 * LAUNCH_PRELOAD_NAME beside this executable (a build tree) or in the
 * installed <libdir>/loopsim (paths_lib_file()), whichever exists. Returns 0
 * with its absolute path in out; or -1 with, in out, the path it expected
 * and, in err, why it cannot be used (missing, or a path LD_PRELOAD cannot
 * hold: relative, or with a space or a colon).
 */
int launch_preload_library(char *out, size_t cap, char *err, size_t errlen);

#endif
