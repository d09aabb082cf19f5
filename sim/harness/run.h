// SPDX-License-Identifier: MIT
// A session: the wire, N peer processes, the timeline, supervision, the oracle; from start to verdict.
#ifndef LOOPSIM_HARNESS_RUN_H
#define LOOPSIM_HARNESS_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/report.h"
#include "harness/scenario.h"

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
};

/*
 * Runs a session to its end: --duration, SIGINT/SIGTERM, the first desync,
 * or a failure (a peer that crashes, hangs or cannot start). Fills *res and
 * returns the exit code: 0 clean, 1 desync, 3 runtime failure; on a
 * configuration the system refuses (a bind), 3 with the reason in res.
 * The captures and the fate log are complete whatever the ending.
 */
int run_session(const struct run_cfg *cfg, struct run_result *res);

#endif
