// SPDX-License-Identifier: MIT
// Launching peers: one child process each, with its control channel, environment and log.
#ifndef LOOPSIM_HARNESS_LAUNCH_H
#define LOOPSIM_HARNESS_LAUNCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct launch_cfg {
	uint32_t index;
	uint32_t addr;            /* host byte order */
	const char *peers;        /* "ip:port,..." public addresses in index order */
	uint64_t seed;
	const char *program;      /* the built-in peer's path; used when cmd is NULL or "" */
	const char *cmd;          /* a user's --peer-cmd with {index} {addr} {peers} {seed}, run by /bin/sh */
	const char *log_path;     /* the child's stdout and stderr go here */
	uint32_t disconnect_ms;   /* the built-in peer's --disconnect-timeout; 0 leaves its default */
};

struct launched {
	pid_t pid;
	int ctl;                  /* our end of the control channel: non-blocking, close-on-exec */
};

/*
 * Forks and execs one peer. The child gets its end of a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) as LOOPSIM_CONTROL_FD (the only fd it
 * inherits besides 0-2; every other fd of ours is close-on-exec), the
 * environment of DESIGN.md, PR_SET_PDEATHSIG = SIGKILL so that it dies with
 * the harness even if the harness is SIGKILLed, and SIGINT ignored so that a
 * Ctrl-C reaches only the harness, which then QUITs it cleanly. Returns 0,
 * or -1 with a reason in err and nothing left behind.
 */
int launch_peer(const struct launch_cfg *cfg, struct launched *out, char *err, size_t errlen);

/* Expands {index} {addr} {peers} {seed} in a --peer-cmd template. Returns 0, or -1 if it does not fit. */
int launch_expand(const char *tmpl, const struct launch_cfg *cfg, char *out, size_t cap);

/* The built-in peer program beside this executable (or $LOOPSIM_PEER). Returns 0 or -1. */
int launch_default_program(char *out, size_t cap);

#endif
