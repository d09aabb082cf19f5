// SPDX-License-Identifier: MIT
// The verdict of a run: one value that decides the exit code, the summary's first line, the report and JUnit.
#ifndef LOOPSIM_HARNESS_VERDICT_H
#define LOOPSIM_HARNESS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The promise. Exit 0 means: the oracle compared every live peer's
 * confirmed frames, and every output asked for was written. Anything less
 * is one of the other verdicts, each with its own exit code and a one-line
 * reason that names the peer and the cause.
 *
 * Findings are noted as the run goes (verdict_note); the most severe one
 * decides, and among equals the first. Severity, most severe first:
 *
 *   desync        1    two live, connected peers disagreed on a confirmed frame
 *   failed        3    a peer crashed, hung, froze, broke the control protocol or
 *                      closed its channel; a bind or an output failed
 *   interrupted   128+N  SIGINT (130), SIGTERM (143) or SIGHUP (129), after every output is written
 *   split         5    the session split into sides that each dropped the others
 *                      and played on; each side was compared within itself
 *   unchecked     4    some live peer (or every one) had no frame compared
 *   network-only  0    asked for with --network-only: no state check at all
 *   clean         0
 *
 * Exit code 2 (bad usage) is decided by the command line before a run starts.
 */
enum verdict_kind {
	VERDICT_CLEAN,
	VERDICT_NETWORK_ONLY,
	VERDICT_UNCHECKED,
	VERDICT_SPLIT,
	VERDICT_INTERRUPTED,
	VERDICT_FAILED,
	VERDICT_DESYNC,
};

#define VERDICT_EXIT_CLEAN 0
#define VERDICT_EXIT_DESYNC 1
#define VERDICT_EXIT_USAGE 2
#define VERDICT_EXIT_FAILED 3
#define VERDICT_EXIT_UNCHECKED 4
#define VERDICT_EXIT_SPLIT 5

#define VERDICT_REASON_MAX 320

struct verdict {
	enum verdict_kind kind;
	int signal;                      /* for VERDICT_INTERRUPTED: the signal number */
	char reason[VERDICT_REASON_MAX]; /* one line: names the peer and the cause */
	char also[VERDICT_REASON_MAX];   /* the next most severe finding of another kind, or "" */
};

/* A clean verdict with no reason yet. */
void verdict_init(struct verdict *v);

/*
 * Records a finding. It decides the verdict if it is more severe than
 * every earlier one; otherwise the first finding of a lesser kind than the
 * deciding one is kept in `also`, so that the summary can say both (a
 * desync and a bundle that could not be written). For VERDICT_INTERRUPTED,
 * use verdict_interrupted(). This function can't fail; reasons longer than
 * VERDICT_REASON_MAX are cut.
 */
void verdict_note(struct verdict *v, enum verdict_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The run was stopped by signal sig (SIGINT, SIGTERM, SIGHUP) after t_s seconds. */
void verdict_interrupted(struct verdict *v, int sig, double t_s);

/* What the oracle did with one peer, for the end-of-run rules. */
struct verdict_peer {
	bool live;          /* running to the end, and neither failed nor asked to leave */
	bool reported;      /* sent at least one FRAME */
	int64_t confirmed;  /* the highest confirmed frame it reported, -1 for none */
	uint64_t compared;  /* its confirmed frames that the oracle compared with another's */
};

/* What the oracle reached, for the end-of-run rules. */
struct verdict_run {
	bool network_only;  /* --network-only: no state check was asked for */
	int64_t agreed;     /* the last frame compared on every live peer (oracle_agreed), -1 for none */
	double played_s;    /* how long the game ran */
};

/*
 * The end-of-run rules, applied once after the run. A run whose verdict is
 * still clean becomes unchecked when
 *   - there were no live peers at all, or no live peer reported a frame;
 *   - some live peers reported no frame, or had none compared with another's;
 *   - the comparisons stopped short: a live peer confirmed frames more than
 *     VERDICT_TAIL_S seconds' worth (at the run's own frame rate, at least
 *     VERDICT_TAIL_MIN_FRAMES) beyond the last frame compared, because
 *     another stopped reporting; the reason names both.
 * With network_only, a clean run becomes network-only instead. npeers <= 64.
 */
#define VERDICT_TAIL_S 2.0
#define VERDICT_TAIL_MIN_FRAMES 60
void verdict_finish(struct verdict *v, const struct verdict_peer *peers, uint32_t npeers, const struct verdict_run *run);

/* The exit code of a verdict (the table above). */
int verdict_exit_code(const struct verdict *v);

/* "clean", "desync", "failed", "interrupted", "split", "unchecked", "network-only". */
const char *verdict_name(enum verdict_kind kind);

/*
 * The plausibility of a FRAME report, a rule of the control protocol. A
 * peer's confirmed frame must not go backwards (`prev_confirmed`, or -1
 * before its first report), must lie inside the oracle's window (below
 * oracle_next + window), and must not lead the highest frame any other
 * live peer is on (`others_frame`, or -1 when no other peer has reported)
 * by more than `lead` frames. Returns 0, or -1 with a one-line reason in
 * why ("confirmed frame 1000000 is beyond the oracle's window: ...").
 */
int verdict_frame_check(int64_t prev_confirmed, uint32_t confirmed, uint64_t oracle_next, uint32_t window,
			int64_t others_frame, uint32_t lead, char *why, size_t whylen);

#endif
