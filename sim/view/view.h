// SPDX-License-Identifier: MIT
// The SDL2 viewer: draws a session from plain-data snapshots and turns the user's input into commands.
#ifndef LOOPSIM_VIEW_H
#define LOOPSIM_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Model. The harness fills a struct view_snapshot (plain data, no pointers
 * into live objects) once per frame and hands it to view_frame(); the
 * viewer never calls into the wire or the harness, so it can never block
 * them. Whatever the user does comes back as struct view_cmd values from
 * view_events(); the harness applies them through the same path as scenario
 * events, and logs them. The view keeps its own history (graphs) from the
 * snapshots it is given.
 *
 * SDL is included only in sim/view. Headless (cfg.headless) the view
 * renders with SDL's software renderer into a surface and opens no window,
 * so --screenshot works without a display.
 */

#define VIEW_MAX_PEERS 64
#define VIEW_MAX_LINKS (VIEW_MAX_PEERS * (VIEW_MAX_PEERS - 1))
#define VIEW_MAX_DOTS 5000
#define VIEW_MAX_MARKS 1024
#define VIEW_MAX_SHIPS 16
#define VIEW_MAX_BULLETS 128
#define VIEW_MAX_EVENTS 64

struct view_ship {
	int32_t x, y;          /* 16.16 fixed point, field 0..1000 units square, wrapping */
	uint16_t angle;        /* 0..1023 for a full turn; 0 faces +x, growing towards +y */
	bool alive;
	int16_t score;
};

struct view_bullet {
	int32_t x, y;
	uint8_t owner;
};

struct view_peer {
	uint32_t index;
	char addr[24];                 /* the public ip:port the others see */
	uint32_t frame, confirmed;
	float rollbacks_per_s;
	uint32_t last_rollback;        /* depth of the latest rollback, frames */
	float rtt_ms;
	bool stalled;                  /* it has not advanced for a while */
	bool alive;                    /* its process runs */
	bool ended;                    /* ... or it exited as expected: a BYE, a timeline kill, the end of the run */
	bool minority;                 /* named by the oracle in a desync */
	bool human;                    /* the user flies its ship */
	uint64_t checksum;             /* of its latest confirmed frame */
	bool checksum_ok;              /* agrees with the others as far as compared */
	bool has_game;                 /* the fields below are filled: the peer sent STATE */
	uint32_t game_frame;
	uint8_t nships, nbullets;
	struct view_ship ship[VIEW_MAX_SHIPS];
	struct view_bullet bullet[VIEW_MAX_BULLETS];
};

struct view_link {
	uint16_t from, to;
	float latency_ms, jitter_ms, loss_pct;
	bool cut;                      /* partitioned or blocked */
	uint64_t sent, delivered, dropped;
	float p50_ms, p99_ms;
	bool rtt_known;                /* the sender reported a round trip to the receiver ... */
	float rtt_ms;                  /* ... its latest, ms: the peers' own measure, not the wire's */
};

enum view_dot_kind { VIEW_DOT_NORMAL, VIEW_DOT_DUP, VIEW_DOT_CORRUPT, VIEW_DOT_REORDER };

/* ENet packet kinds, from the first command in a datagram's ENet header (0 = not ENet / unknown). */
enum view_label { VIEW_LABEL_NONE, VIEW_LABEL_CONNECT, VIEW_LABEL_ACK, VIEW_LABEL_RELIABLE, VIEW_LABEL_UNRELIABLE,
		  VIEW_LABEL_PING };

struct view_dot {                  /* a datagram in flight */
	uint16_t from, to;
	float progress;                /* 0 at the sender .. 1 at the receiver: elapsed / delay */
	uint8_t kind;                  /* enum view_dot_kind */
	uint8_t label;                 /* enum view_label */
};

struct view_mark {                 /* a recent drop: a red cross that fades */
	uint16_t from, to;
	float age_s;                   /* since the drop */
};

struct view_event {                /* a timeline or live change, for the graph strip */
	float t_s;
	char label[32];
};

struct view_snapshot {
	double t_s, duration_s;
	const char *netcode;
	uint64_t seed;
	uint32_t npeers;
	struct view_peer peer[VIEW_MAX_PEERS];
	uint32_t nlinks;
	struct view_link link[VIEW_MAX_LINKS];
	uint32_t ndots;
	uint32_t dots_hidden;          /* in flight but not drawn (sampled under load) */
	struct view_dot dot[VIEW_MAX_DOTS];
	uint32_t nmarks;
	struct view_mark mark[VIEW_MAX_MARKS];
	uint32_t nevents;
	struct view_event event[VIEW_MAX_EVENTS];
	struct {
		bool found;
		uint32_t frame;
		char peers[64];            /* "2" or "1, 3" */
		char field[160];           /* "ship 2.x: 1234 != 1240" or "" */
	} desync;
	char status[160];              /* a line for the status bar */
};

enum view_cmd_kind {
	VIEW_CMD_SET_LINK,   /* link from->to (both if `both`): key = value, as a scenario's [at] line */
	VIEW_CMD_PARTITION,  /* cut the link from<->to */
	VIEW_CMD_HEAL,       /* heal every partition */
	VIEW_CMD_PRESET,     /* value: a preset name for every link */
	VIEW_CMD_INPUT,      /* peer: keys (game input bits), human */
	VIEW_CMD_SCREENSHOT, /* value: a file name */
	VIEW_CMD_QUIT,
};

struct view_cmd {
	enum view_cmd_kind kind;
	int from, to;
	bool both;
	char key[32];
	char value[64];
	uint32_t peer;
	uint8_t keys;
	bool human;
};

struct view_cfg {
	int width, height;             /* default 1280 x 720 */
	bool headless;                 /* software renderer into a surface; no window */
	const char *font_path;         /* NULL: the shipped DejaVu Sans Mono (see view.c) */
	const char *title;
};

void view_cfg_default(struct view_cfg *cfg);

struct view;

/* Starts SDL (video only when windowed) and opens the window or the surface. NULL with err on failure. */
struct view *view_create(const struct view_cfg *cfg, char *err, size_t errlen);
/* NULL does nothing. */
void view_destroy(struct view *v);

/* Draws snap (and, windowed, presents it); NULL draws the latest snapshot again. The view keeps what it needs
 * for its graphs. Headless, a frame redraws only what changed since the last (see view.c). Can't fail. */
void view_frame(struct view *v, const struct view_snapshot *snap);

/* Handles pending SDL events; writes up to max commands. Returns how many. */
int view_events(struct view *v, struct view_cmd *cmds, int max);

/* Renders the latest snapshot at the window's size into a PNG. Returns 0, or -1 with err. */
int view_screenshot(struct view *v, const char *png_path, char *err, size_t errlen);

/* Paused views keep showing the last snapshot (the session goes on). */
bool view_paused(const struct view *v);

/* ---- Additions: layout, selection and state, for tests and tools ---------- */

/*
 * Input, as view_events() reads it. Commands come out in the order of the
 * events; an event that makes two (Tab, or W/A/D/Space moving to another
 * peer: the previous one gets human = false first) may carry the second
 * over to the next call when the buffer is full, so nothing is lost.
 * W, A, D and Space are read by position (scancode), every other key by
 * meaning (keycode); '?' is read as text, so it works on any layout. Losing
 * the window's focus releases the ship's keys. A headless view reads events
 * only if the caller started SDL's event subsystem (tests do); a windowed
 * view starts SDL video with SDL's signal handlers off (SDL_HINT_NO_SIGNAL_
 * HANDLERS): SIGINT and SIGTERM stay the harness's. One view belongs to
 * one thread; two views may live on two threads (headless).
 */

/*
 * Geometry. Every figure below is in pixels of the rendered image (the
 * renderer's output, which on a high-DPI display is larger than the window
 * in points; a screenshot has exactly this size). The layout depends only on
 * that size, the DPI scale and the number of peers, so a caller can ask
 * before anything was drawn.
 */
struct view_rect {
	int x, y, w, h;
};

/* Drop marks fade out over this long (age_s), and are drawn at this fraction of their link. */
#define VIEW_MARK_FADE_S 1.5f
#define VIEW_MARK_AT 0.5f
/* A desync minority's panel border, inside its rect, at a DPI scale of 1. */
#define VIEW_DESYNC_BORDER_PX 4
/* History for the graph strip: sampled at this rate from successive snapshots' t_s; the strip shows the last
 * VIEW_GRAPH_S seconds. */
#define VIEW_HIST_HZ 10
#define VIEW_GRAPH_S 30

/* The size of the rendered image in pixels. */
void view_output_size(const struct view *v, int *w, int *h);
/* The centre of node k (peer k) of a mesh of npeers, where its disc is filled with view_peer_rgb(k). */
void view_layout_node(const struct view *v, uint32_t npeers, uint32_t k, int *x, int *y);
/* The point at fraction t (0 sender .. 1 receiver) along the drawn line of link from->to. */
void view_layout_link_point(const struct view *v, uint32_t npeers, uint32_t from, uint32_t to, float t, int *x,
			    int *y);
/* The rect of peer k's panel (header and game view); a desync minority's border is drawn inside it. */
void view_layout_panel(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out);
/* The colour of player k (node, panel title, ship, bullets) as 0xRRGGBB. This function can't fail. */
uint32_t view_peer_rgb(uint32_t k);

/*
 * Selection, as a click would make it (a click is hit-tested against the
 * snapshot on screen). Returns 0, or -1 when from/to/k is not a peer of the
 * latest snapshot (or from == to), with the selection unchanged.
 */
int view_select_link(struct view *v, uint32_t from, uint32_t to);
int view_select_peer(struct view *v, uint32_t k);

/* Whether the help overlay (F1 or '?') is shown. */
bool view_help_shown(const struct view *v);

/*
 * The selection box's lines as drawn from the latest snapshot (a selected
 * link's settings, counts and round trip; a selected peer's figures and its
 * round trip to each remote), joined by '\n', into out (cut to cap, always
 * terminated when cap > 0). Returns the number of lines. For tests and tools.
 */
int view_selection_text(struct view *v, char *out, size_t cap);

/*
 * The per-second rates of link from->to over the last second of history,
 * derived from its cumulative delivered and dropped counters. Returns 0, or
 * -1 when the history holds no such link.
 */
int view_link_rates(const struct view *v, uint32_t from, uint32_t to, float *delivered_per_s, float *dropped_per_s);

#endif
