// SPDX-License-Identifier: MIT
// A session: the wire, N peer processes, the timeline, supervision, the oracle; from start to verdict.
#ifndef LOOPSIM_HARNESS_RUN_H
#define LOOPSIM_HARNESS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/report.h"
#include "harness/scenario.h"
#include "wire/capture.h"

struct run_cfg {
	struct scenario scn;          /* resolved: flags already applied, scn_check passed */
	const char *pcap_path;        /* NULL: kept only for a bundle */
	const char *fates_path;
	const char *bundle_dir;       /* NULL: loopsim-desync-<time> in the current directory */
	bool inject;                  /* --inject-desync PEER@FRAME */
	uint32_t inject_peer;
	uint32_t inject_frame;
	bool progress;                /* a one-line progress display on stderr */
	bool window;                  /* draw the session in an SDL window */
	const char *screenshot;       /* NULL, or a PNG of the final frame (rendered headless if no window) */
	bool hold_desync;             /* with a window: hold a desync on screen until --duration ends (a person watches) */
	bool network_only;            /* --network-only: no state check is wanted; a clean run is network-only, exit 0 */
	bool keep_logs;               /* keep the peers' logs of a clean run (always kept for --peer-cmd) */
	bool quiet;                   /* nothing on stderr but errors */
	uint16_t localhost_base;      /* --localhost-ports BASE: peer k believes it is 127.0.0.1:BASE+k; 0: off */
	const uint8_t *multi_socket;  /* NULL, or a flag per peer: it sends from several sockets (--multi-socket) */
	const struct wire_fate_table *replay_fates; /* NULL, or the --replay-fates log; borrowed for the run */
};

/*
 * Runs a session to its end: --duration, SIGINT/SIGTERM/SIGHUP, the first
 * desync, or a failure (a peer that crashes, hangs, freezes, breaks the
 * control protocol or cannot start; a bind; an output that cannot be
 * written). Fills *res, whose verdict (verdict.h) decides, and returns its
 * exit code. The captures and the fate log are complete whatever the
 * ending; the report and JUnit are the caller's to write from *res.
 */
int run_session(const struct run_cfg *cfg, struct run_result *res);

#endif
