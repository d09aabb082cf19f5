// SPDX-License-Identifier: MIT
// The result of a run, and its JSON report and JUnit XML.
#ifndef LOOPSIM_HARNESS_REPORT_H
#define LOOPSIM_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wire/link.h"

#define RUN_MAX_PEERS 64
#define RUN_MAX_LOG 512

struct run_peer {
	uint32_t index;
	uint32_t addr;            /* host byte order */
	uint16_t port;            /* its own bound port */
	uint16_t public_port;     /* the wire's port that stands for it */
	uint32_t frames;
	int64_t confirmed_frame;  /* -1 before any */
	uint64_t rollbacks;
	uint32_t max_rollback;
	uint64_t stalls;
	double rtt_ms;
	int exit_status;          /* exit code; -1 still running at the end; 128+N killed by signal N */
	char problem[160];        /* "" or what went wrong: "crashed (signal 11)", "hung: no FRAME for 5 s" */
};

struct run_link {
	uint32_t from, to;
	struct wire_link_stats stats;
};

struct run_desync {
	bool found;
	uint32_t frame;
	uint32_t npeers;              /* in the minority */
	uint32_t peers[RUN_MAX_PEERS];
	uint64_t known_mask;          /* bit k: checksum[k] known */
	uint64_t checksum[RUN_MAX_PEERS];
	char field[160];              /* "ship 2.x: 1234 != 1240", or "" if unknown */
	char bundle[512];             /* "" if none was written */
};

/* Something that changed during the run: a timeline event or a live change from the viewer. */
struct run_log_entry {
	double t_s;
	char what[160];
};

struct run_result {
	const char *version;
	uint64_t seed;
	double duration_s;            /* how long it actually ran */
	const char *netcode;          /* "rollback" or "lockstep" */
	uint32_t npeers;
	struct run_peer peers[RUN_MAX_PEERS];
	uint32_t nlinks;
	struct run_link *links;       /* nlinks entries, every directed link i != j */
	struct run_desync desync;
	uint32_t nlog;
	struct run_log_entry log[RUN_MAX_LOG];
	int exit_code;                /* 0 clean, 1 desync, 3 runtime failure */
	char reason[256];             /* why it ended, for humans */
};

/*
 * Writes the JSON report (DESIGN.md, "Report"), with cJSON: version, seed,
 * duration_s, netcode, peers[], links[], desync (null or the object), plus
 * events[] (the log), exit_code and reason. Checksums are 16-digit hex
 * strings; 64-bit seeds are written as exact integers. Returns 0, or -1
 * with "path: reason" in err.
 */
int report_write_json(const struct run_result *r, const char *path, char *err, size_t errlen);

/* JUnit XML: one testcase per peer (failing with its problem) and one for the desync check. */
int report_write_junit(const struct run_result *r, const char *path, char *err, size_t errlen);

/* A human summary for stderr: peers, the worst links, the verdict. */
void report_print_summary(const struct run_result *r, FILE *out);

#endif
