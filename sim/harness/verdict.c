// SPDX-License-Identifier: MIT
// The verdict of a run.
#include "harness/verdict.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void verdict_init(struct verdict *v)
{
	memset(v, 0, sizeof *v);
	v->kind = VERDICT_CLEAN;
}

static void vnote(struct verdict *v, enum verdict_kind kind, const char *fmt, va_list ap)
{
	char line[VERDICT_REASON_MAX];
	vsnprintf(line, sizeof line, fmt, ap);
	if (kind > v->kind) {
		/* The new finding decides; the one it displaces is the most severe of the rest. */
		if (v->kind != VERDICT_CLEAN && v->kind != VERDICT_NETWORK_ONLY && v->reason[0])
			snprintf(v->also, sizeof v->also, "%s", v->reason);
		v->kind = kind;
		snprintf(v->reason, sizeof v->reason, "%s", line);
	} else if (kind < v->kind && !v->also[0]) {
		snprintf(v->also, sizeof v->also, "%s", line);
	}
}

void verdict_note(struct verdict *v, enum verdict_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(v, kind, fmt, ap);
	va_end(ap);
}

static void note(struct verdict *v, enum verdict_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(struct verdict *v, enum verdict_kind kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vnote(v, kind, fmt, ap);
	va_end(ap);
}

void verdict_interrupted(struct verdict *v, int sig, double t_s)
{
	const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
	bool decides = VERDICT_INTERRUPTED > v->kind;
	note(v, VERDICT_INTERRUPTED, "interrupted by %s after %.1f s: the run was cut short, its outputs are written", name,
	     t_s);
	if (decides)
		v->signal = sig;
}

void verdict_finish(struct verdict *v, const struct verdict_peer *peers, uint32_t npeers, const struct verdict_run *run)
{
	if (v->kind != VERDICT_CLEAN)
		return;
	if (run->network_only) {
		v->kind = VERDICT_NETWORK_ONLY;
		snprintf(v->reason, sizeof v->reason,
			 "network-only run (--network-only): %" PRIu32 " peers, no state was compared", npeers);
		return;
	}
	uint32_t live = 0, unreported = 0, uncompared = 0;
	int first_unreported = -1, first_uncompared = -1;
	for (uint32_t k = 0; k < npeers; k++) {
		if (!peers[k].live)
			continue;
		live++;
		if (!peers[k].reported) {
			unreported++;
			if (first_unreported < 0)
				first_unreported = (int)k;
		} else if (peers[k].compared == 0) {
			uncompared++;
			if (first_uncompared < 0)
				first_uncompared = (int)k;
		}
	}
	static const char fix[] = "have each peer report its frames through <loopsim/peer.h>, or pass --network-only "
				  "for a run without a state check";
	if (live == 0) {
		note(v, VERDICT_UNCHECKED, "no peer was running at the end, so nothing was compared");
	} else if (unreported == live) {
		note(v, VERDICT_UNCHECKED, "nothing was compared: none of the %" PRIu32 " peers reported a frame; %s",
		     live, fix);
	} else if (unreported) {
		note(v, VERDICT_UNCHECKED, "%" PRIu32 " of %" PRIu32 " live peers (peer %d first) reported no frame, so only some peers were compared; %s",
		     unreported, live, first_unreported, fix);
	} else if (uncompared) {
		note(v, VERDICT_UNCHECKED,
		     "%" PRIu32 " of %" PRIu32 " live peers (peer %d first) reported frames, but none was compared with another peer's",
		     uncompared, live, first_uncompared);
	}
	if (v->kind != VERDICT_CLEAN)
		return;
	/* The tail: frames confirmed by the fastest, never compared because the slowest stopped reporting. */
	int ahead = -1, behind = -1;
	for (uint32_t k = 0; k < npeers; k++) {
		if (!peers[k].live)
			continue;
		if (ahead < 0 || peers[k].confirmed > peers[ahead].confirmed)
			ahead = (int)k;
		if (behind < 0 || peers[k].confirmed < peers[behind].confirmed)
			behind = (int)k;
	}
	int64_t top = peers[ahead].confirmed;
	double rate = run->played_s > 0 ? (double)top / run->played_s : 0;
	int64_t tail = (int64_t)(VERDICT_TAIL_S * rate);
	if (tail < VERDICT_TAIL_MIN_FRAMES)
		tail = VERDICT_TAIL_MIN_FRAMES;
	if (top - run->agreed > tail)
		note(v, VERDICT_UNCHECKED,
		     "frames %" PRId64 " to %" PRId64 " of peer %d were never compared: the comparisons waited on "
		     "peer %d, whose reports stopped at confirmed frame %" PRId64,
		     run->agreed + 1, top, ahead, behind, peers[behind].confirmed);
}

int verdict_exit_code(const struct verdict *v)
{
	switch (v->kind) {
	case VERDICT_CLEAN:
	case VERDICT_NETWORK_ONLY:
		return VERDICT_EXIT_CLEAN;
	case VERDICT_UNCHECKED:
		return VERDICT_EXIT_UNCHECKED;
	case VERDICT_SPLIT:
		return VERDICT_EXIT_SPLIT;
	case VERDICT_INTERRUPTED:
		return 128 + (v->signal > 0 ? v->signal : SIGINT);
	case VERDICT_FAILED:
		return VERDICT_EXIT_FAILED;
	case VERDICT_DESYNC:
		return VERDICT_EXIT_DESYNC;
	}
	return VERDICT_EXIT_FAILED;
}

const char *verdict_name(enum verdict_kind kind)
{
	static const char *const names[] = {
		[VERDICT_CLEAN] = "clean",     [VERDICT_NETWORK_ONLY] = "network-only", [VERDICT_UNCHECKED] = "unchecked",
		[VERDICT_SPLIT] = "split",     [VERDICT_INTERRUPTED] = "interrupted",   [VERDICT_FAILED] = "failed",
		[VERDICT_DESYNC] = "desync",
	};
	return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "failed";
}

int verdict_frame_check(int64_t prev_confirmed, uint32_t confirmed, uint64_t oracle_next, uint32_t window,
			int64_t others_frame, uint32_t lead, char *why, size_t whylen)
{
	if (prev_confirmed >= 0 && (int64_t)confirmed < prev_confirmed) {
		snprintf(why, whylen, "its confirmed frame went backwards, from %" PRId64 " to %" PRIu32, prev_confirmed,
			 confirmed);
		return -1;
	}
	if ((uint64_t)confirmed >= oracle_next + window) {
		snprintf(why, whylen,
			 "confirmed frame %" PRIu32 " is beyond the oracle's window (frames %" PRIu64 " to %" PRIu64 ")",
			 confirmed, oracle_next, oracle_next + window - 1);
		return -1;
	}
	if (others_frame >= 0 && (int64_t)confirmed > others_frame + (int64_t)lead) {
		snprintf(why, whylen,
			 "confirmed frame %" PRIu32 " is more than %" PRIu32 " frames ahead of every other peer (at most %" PRId64
			 ")",
			 confirmed, lead, others_frame);
		return -1;
	}
	return 0;
}
