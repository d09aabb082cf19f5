// SPDX-License-Identifier: MIT
// `loopsim replay BUNDLE --view | --screenshot`: a bundle's story drawn by the replay window.
#ifndef LOOPSIM_HARNESS_REPLAY_VIEW_H
#define LOOPSIM_HARNESS_REPLAY_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/bundle_story.h"

struct view_replay_snapshot;

struct replay_view_opts {
	const char *bundle;
	bool window;                  /* open a window and let the user scrub */
	int64_t frame;                /* the frame shown first; -1: the divergent frame (or 0 without one) */
	const char *screenshot;       /* PNG of the frame shown last, or NULL */
	const char *keys;             /* tests only: keys queued into the window at start (view_replay_push_keys) */
	int width, height;            /* 0: the viewer's default */
};

/*
 * Opens the bundle, shows it (window) or renders it (headless), and writes
 * the screenshot. On success *shown is the frame shown last. Returns 0, or
 * -1 with err (a bad bundle, no display, a PNG that cannot be written).
 */
int replay_view_run(const struct replay_view_opts *o, uint32_t *shown, char *err, size_t errlen);

/*
 * Fills *out with frame f of s: each peer's game (or bytes), the fields
 * that differ, the ring, the fates and events. Arrays it points to belong
 * to s. Can't fail.
 */
void replay_view_fill(const struct bundle_story *s, uint32_t f, struct view_replay_snapshot *out);

#endif
