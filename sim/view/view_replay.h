// SPDX-License-Identifier: MIT
// The replay window: a desync bundle drawn at one frame, with a scrubber, each peer's game and the network lanes.
#ifndef LOOPSIM_VIEW_REPLAY_H
#define LOOPSIM_VIEW_REPLAY_H

#include "view/view.h"

/*
 * Model. The replay window is a second client of the viewer's rooms (text,
 * raster, the panels' game field): the harness fills a struct
 * view_replay_snapshot for the frame to show (plain data; the arrays it
 * points to belong to the caller and are read only during the call) and
 * hands it to view_replay_frame() on a view made by view_create(). The
 * frame shown is the caller's: view_replay_events() turns keys and clicks
 * into the frame asked for, and the caller re-simulates it.
 *
 * Layout, top to bottom: the top bar (the bundle, the frame, the desync);
 * one panel per peer (its game as it computed it, or its state's bytes)
 * beside the table of differing fields; a lane per directed link around
 * the current frame; the scrubber over every frame. Everything is drawn
 * whole each time (nothing retained): a replay frame changes everywhere.
 */

#define VIEW_REPLAY_ROWS 24           /* differing fields listed at most */
#define VIEW_REPLAY_BYTES 4096        /* bytes of a dumped state shown at most */
#define VIEW_REPLAY_BEFORE 48         /* frames of lanes shown before the current frame */
#define VIEW_REPLAY_AFTER 12          /* and after it */

/* What a datagram's fate was, as the lanes draw it. */
enum view_fate { VIEW_FATE_DELIVER, VIEW_FATE_LOSS, VIEW_FATE_PARTITION, VIEW_FATE_QUEUE, VIEW_FATE_MTU };

struct view_replay_fate {            /* one datagram that entered a link */
	uint16_t from, to;
	uint8_t fate;                    /* enum view_fate */
	uint8_t kind;                    /* enum view_dot_kind of the original: plain, corrupted or reordered */
	bool dup;                        /* a copy was delivered too */
	float sent;                      /* frames (fractional) on the scrubber's scale */
	float arrived, copy_arrived;     /* delivered: when each copy arrived, same scale */
};

struct view_replay_event {           /* a timeline event, on the scrubber's scale */
	float frame;
	char label[32];
};

struct view_replay_row {             /* one field that differs between the peers or from the reference */
	char name[32];                   /* "ship 1.x" */
	bool have_ref;
	int64_t ref;
	int64_t val[VIEW_MAX_PEERS];
	bool have[VIEW_MAX_PEERS];
};

struct view_replay_peer {
	struct view_peer p;              /* has_game, ships and bullets as that peer computed them at this frame */
	bool minority;
	bool from_dump;                  /* this frame starts from its dumped state, not its own re-simulation */
	bool ring;                       /* ring the differing entity at (ring_x, ring_y), 16.16 field units */
	int32_t ring_x, ring_y;
	char note[48];                   /* "no inputs past frame 63", "" */
	const uint8_t *bytes;            /* byte view: its dumped state, or NULL */
	uint32_t nbytes;
	const uint8_t *diff;             /* byte view: nonzero where it differs from the majority, or NULL */
};

struct view_replay_snapshot {
	const char *bundle;              /* the directory, for the top bar */
	uint64_t seed;
	uint32_t npeers;
	uint32_t frame;                  /* shown */
	uint32_t last;                   /* the scrubber covers 0..last */
	uint32_t per_second;             /* frames in a second of play, PageUp/PageDown's step; 0 is 60 */
	int64_t divergence;              /* the first frame whose state differs; -1 unknown */
	char minority[64];               /* "1" or "1, 3" */
	char field[160];                 /* diff.txt's first differing field, or "" */
	bool bytes_view;                 /* states are a user's bytes: panels show them */
	struct view_replay_peer peer[VIEW_MAX_PEERS];
	uint32_t nrows;                  /* the game's differing fields at this frame */
	struct view_replay_row row[VIEW_REPLAY_ROWS];
	uint32_t rows_hidden;            /* differing fields past VIEW_REPLAY_ROWS */
	const struct view_replay_fate *fate; /* every datagram, by sent frame, increasing */
	uint32_t nfates;
	const struct view_replay_event *event;
	uint32_t nevents;
};

/* Draws s whole (and, windowed, presents it). Can't fail. */
void view_replay_frame(struct view *v, const struct view_replay_snapshot *s);

/* Draws s and writes it to a PNG at the view's size. Returns 0, or -1 with err. */
int view_replay_screenshot(struct view *v, const struct view_replay_snapshot *s, const char *png_path, char *err,
			   size_t errlen);

/*
 * Handles pending SDL events against s (the snapshot on screen): Left and
 * Right step a frame, PageUp and PageDown a second (per_second frames), Home and
 * End go to the ends, d to the divergent frame, a click or a drag on the
 * scrubber to the frame under it; Escape, q or closing the window quit.
 * *frame is moved within 0..s->last. Waits up to wait_ms for the first
 * event (0: none). Returns 1 when the user quits, else 0.
 */
int view_replay_events(struct view *v, const struct view_replay_snapshot *s, uint32_t *frame, int wait_ms);

/* The pixel column of frame f on the scrubber, and the scrubber's row (its centre), for npeers. */
void view_replay_scrubber_at(const struct view *v, const struct view_replay_snapshot *s, uint32_t f, int *x, int *y);
/* The rect of peer k's panel in the replay layout. */
void view_replay_panel(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out);
/* The rect of peer k's game field in the replay layout (all zero when the panel has no room for one). */
void view_replay_field(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out);
/* The rect of the lane of link from->to, or all zero when it is not shown. */
void view_replay_lane(const struct view *v, const struct view_replay_snapshot *s, uint32_t from, uint32_t to,
		      struct view_rect *out);
/* The pixel column of frame f (fractional) in the lanes, for the frame s shows. */
int view_replay_lane_x(const struct view *v, const struct view_replay_snapshot *s, float f);

/*
 * Queues SDL key events from a script of key names separated by spaces, as
 * SDL_GetKeyFromName spells them ("Right", "PageDown", "Home", "D"), each a
 * press and a release. Returns how many were queued, or -1 for an unknown
 * name (nothing queued). For tests of the window: what they push goes
 * through view_replay_events() like a user's keys.
 */
int view_replay_push_keys(const char *script);

#endif
