// SPDX-License-Identifier: MIT
// The result of a run, and its JSON report and JUnit XML.
#ifndef LOOPSIM_HARNESS_REPORT_H
#define LOOPSIM_HARNESS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/misfit.h"
#include "harness/verdict.h"
#include "wire/link.h"

#define RUN_MAX_PEERS 64
#define RUN_MAX_LOG 512
#define RUN_MAX_MISFITS 32

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
	uint64_t compared;        /* its confirmed frames the oracle compared with another peer's */
	char problem[160];        /* "" or what went wrong: "crashed (signal 11)", "hung: no FRAME for 5 s" */
};

struct run_link {
	uint32_t from, to;
	struct wire_link_stats stats;
	struct wire_hist delay;       /* the link's whole delay histogram (stats.delay in brief), for merging */
	struct wire_hist lateness;    /* per delivered copy: hand-off to the kernel minus when it was due, µs */
	bool rtt_known;               /* `from` reported a round trip to `to` (its RTT messages) ... */
	double rtt_ms;                /* ... the latest one, ms, as `from` measured it */
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
	bool has_t;
	double t_s;                   /* when the divergent frame ran, seconds from the start (frame_clock.h) */
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
	uint32_t log_dropped;         /* events past RUN_MAX_LOG, not kept */
	/* What the wire counted outside any link (its wire_totals). */
	struct run_wire {
		uint64_t received;        /* datagrams read from the public sockets */
		uint64_t strays;          /* from no peer's address */
		uint64_t pool_full;       /* the model delivered them, but the in-flight bound was reached */
		uint64_t unroutable;      /* due before the receiver's port was known */
		uint64_t send_errors;     /* the kernel refused to send them on */
		uint64_t kernel_drops;    /* dropped by the kernel before the wire read them */
		uint64_t spoofed;         /* from a peer's address on a port other than its known one */
		uint64_t replayed;        /* --replay-fates: datagrams given their logged fate */
		uint64_t unreplayed;      /* --replay-fates: datagrams the log had no record of */
	} wire;
	/* Peers whose traffic did not fit the wire (misfit.h), failing ones first. */
	struct misfit misfits[RUN_MAX_MISFITS];
	uint32_t nmisfits;
	struct verdict verdict;       /* decides exit_code and reason */
	int exit_code;                /* verdict_exit_code(&verdict) */
	char reason[VERDICT_REASON_MAX]; /* the verdict's reason, one line */
	char workdir[64];             /* the work directory kept (peer logs, captures), or "" */
};

/*
 * Writes the JSON report (DESIGN.md, "Report"), with cJSON: version, seed,
 * duration_s, netcode, peers[], links[], desync (null or the object), plus
 * events[] (the log), exit_code and reason. Checksums are 16-digit hex
 * strings; 64-bit seeds are written as exact integers. Returns 0, or -1
 * with "path: reason" in err.
 *
 * Every 64-bit value (seed, counters, bytes, confirmed_frame) is written as
 * exact decimal digits, beyond the 2^53 a double holds. Delays are in ms
 * with three decimals, null when the link delivered nothing: each link's
 * delay_ms and lateness_ms are {p50, p90, p99, p99_9, max}, and its
 * fell_behind is whether its lateness p99 passed WIRE_BEHIND_US (1 ms). The
 * wire object holds the totals outside any link (received, strays, spoofed,
 * pool_full, unroutable, send_errors, kernel_drops, replayed, unreplayed),
 * lateness_ms over every link, and fell_behind: null, or {links, p99_ms,
 * max_ms, worst {from, to, p99_ms}} when some link's p99 passed 1 ms. A
 * link's rtt_ms is its sender's latest round trip to its receiver, as the
 * sender measured and reported it (RTT), null when it reported none. Other fractions
 * (duration_s, rtt_ms, t_s) are rounded to three decimals. exit_status is
 * null for a peer still running (-1); problem, field and bundle are null
 * when empty.
 *
 * Nothing is destroyed and no failure is quiet (harness/outfile.h): a
 * regular file appears whole or not at all (written to "TARGET.tmp",
 * synced, renamed over it; on failure the temporary file is removed and the
 * old file stays); a symlink is written through to its target and stays a
 * link; a device or FIFO (/dev/stdout, a pipe) is written in place and
 * never replaced; a directory is refused. Every write, sync and close error
 * is -1 with "path: strerror" in err: /dev/full gives "No space left on
 * device".
 */
int report_write_json(const struct run_result *r, const char *path, char *err, size_t errlen);

/*
 * JUnit XML: one testcase per peer (failing with its problem, or its exit
 * status when that is neither 0 nor -1) and one for the desync check, with
 * the reason in <system-out>. Written as the JSON report is, above.
 * Returns 0, or -1 with "path: reason" in err.
 */
int report_write_junit(const struct run_result *r, const char *path, char *err, size_t errlen);

/*
 * A human summary for a terminal, at most about 30 lines whatever the peer
 * count: the verdict first ("clean: ...", "DESYNC at frame F: ...",
 * "FAILED: reason"), a peer table (cut to 20 rows when longer, keeping the
 * failed and minority peers), totals over the links with merged delay
 * quantiles and the worst link, the wire's lateness (and, when a link's p99
 * passed 1 ms, that the wire fell behind and by how much), then the bundle
 * path if any.
 */
void report_print_summary(const struct run_result *r, FILE *out);

/*
 * Writes s to out as XML text that is also safe inside a double- or
 * single-quoted attribute: & < > " ' become entities, tab, CR and LF become
 * character references (so attribute normalisation keeps them), and other
 * control bytes, which XML 1.0 cannot carry at all, become '?'. Bytes >= 0x80
 * pass through unchanged (the document says UTF-8). This function can't fail;
 * stream errors show in ferror(out).
 */
void report_xml_escape(FILE *out, const char *s);

#endif
