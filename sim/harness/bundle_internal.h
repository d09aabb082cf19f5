// SPDX-License-Identifier: MIT
// A bundle's logs as read back, shared by the replay (bundle.c) and the replay window's model (bundle_story.c).
#ifndef LOOPSIM_HARNESS_BUNDLE_INTERNAL_H
#define LOOPSIM_HARNESS_BUNDLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One peer's logs as read: the lines in file order, so a gap costs nothing. */
struct replay_log {
	uint32_t n;                     /* players: bytes of inputs per line */
	uint32_t nin, in_cap;
	uint32_t *in_frame;
	uint8_t *inputs;
	uint32_t nsum, sum_cap;
	uint32_t *sum_frame;
	uint64_t *hash;
};

/*
 * Reads inputs-K.txt and checksums-K.txt of dir into *l (zeroed by the
 * caller) for nplayers. Returns 0, or -1 with err naming file:line; either
 * way *l owns what was read until bundle__free_logs().
 */
int bundle__read_log(const char *dir, uint32_t k, uint32_t nplayers, struct replay_log *l, char *err, size_t errlen);
void bundle__free_logs(struct replay_log *l, uint32_t n);
/* Moves *at forward through frames[0..n) to the line of frame f. Returns true if there is one. */
bool bundle__seek(const uint32_t *frames, uint32_t n, uint32_t *at, uint32_t f);
/*
 * The inputs peer k stepped frame f with, frames visited in order from 0:
 * its own logged row; for a frame it never logged, another peer's (every
 * peer confirms the same inputs); and for the first frame after such a gap
 * its own row only, since a restarted peer was handed the state after it.
 * at[] (n cursors, zero at frame 0) and *had (false at frame 0) carry the
 * walk between calls. Returns the row of n inputs, or NULL where no log
 * has the frame.
 */
const uint8_t *bundle__input_row(const struct replay_log *logs, uint32_t n, uint32_t k, uint32_t f, uint32_t *at,
				 bool *had);

#endif
