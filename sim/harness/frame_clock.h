// SPDX-License-Identifier: MIT
// When each frame ran: frames placed on the wire's clock, for the bundle's lanes, the report and the sweep.
#ifndef LOOPSIM_HARNESS_FRAME_CLOCK_H
#define LOOPSIM_HARNESS_FRAME_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Model. A frame's time is when any peer first reported being on it (FRAME's
 * `frame`), in microseconds on the clock of fates.tsv (from the wire's
 * start). Frames are noted as the session reports them: a frame at or below
 * the newest noted is ignored, so times increase with frames, and a frame
 * that every peer jumped past has no time of its own. The clock keeps the
 * newest FRAME_CLOCK_SPAN frames, which covers the oracle's window (a
 * desync is found within ORACLE_WINDOW frames of the newest) with room for
 * the lanes before it. Nothing assumes a frame rate: a game at 30 frames a
 * second, or one that stalls in a partition, is placed as it ran.
 *
 * In a bundle the clock is frames.tsv:
 *   # loopsim frames v1 start_us=S     S: the session's start on the same clock
 *   # frame	t_us
 *   0	130412
 *   1	147080
 *   ...
 */
#define FRAME_CLOCK_SPAN 16384

struct frame_clock;

/* An empty clock, or NULL when memory runs out. */
struct frame_clock *frame_clock_create(void);
/* NULL does nothing. */
void frame_clock_destroy(struct frame_clock *c);

/* Some peer is on `frame` at t_us. The first report of a frame above every one noted so far is kept. */
void frame_clock_note(struct frame_clock *c, uint32_t frame, uint64_t t_us);

/* The newest frame noted; false when there is none. */
bool frame_clock_top(const struct frame_clock *c, uint32_t *frame);

/*
 * The time of `frame`: its own when it was noted and is still kept, else
 * placed between the nearest kept frames around it (or at their pace beyond
 * them). Returns false when fewer than one frame is kept.
 */
bool frame_clock_at(const struct frame_clock *c, uint32_t frame, uint64_t *t_us);

/* Writes the kept frames as frames.tsv, with the session's start at start_us. Returns 0, or -1 (ferror). */
int frame_clock_write(const struct frame_clock *c, uint64_t start_us, FILE *f);

/*
 * A frames.tsv read back: frames increasing, times increasing with them.
 * frame_map_load() returns 0 with the map filled (owned; frame_map_free()),
 * 1 when there is no such file (an older bundle: *m is empty), or -1 with
 * "path:line: reason" in err.
 */
struct frame_map {
	uint32_t n;
	uint32_t *frame;
	uint64_t *t_us;
	uint64_t start_us;
	double period_us; /* the game's pace: the median time a frame took (a stall or a catch-up does not
			     skew it); 0 with fewer than 2 frames */
};

int frame_map_load(const char *path, struct frame_map *m, char *err, size_t errlen);
void frame_map_free(struct frame_map *m);

/*
 * The frame, fractional, that was running at t_us: between the two frames
 * around it, or at the map's pace (period_us) beyond them. `fps` is the
 * pace of a map with fewer than two frames.
 */
double frame_map_frame_at(const struct frame_map *m, uint64_t t_us, double fps);

#endif
