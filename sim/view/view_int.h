// SPDX-License-Identifier: MIT
// The viewer's rooms, shared behind view.h: raster, text, layout, history, and the drawing of each region.
#ifndef LOOPSIM_VIEW_INT_H
#define LOOPSIM_VIEW_INT_H

#include "view/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>
#include <SDL_ttf.h>

/*
 * Shape of the code. view_frame() = ingest (copy the snapshot, sample the
 * history) + draw (into a target) + present. A target is a renderer and its
 * own text cache: the window's, or a software renderer into a surface (the
 * headless view's, and a screenshot's). Everything drawn is computed from
 * the shown snapshot, the history and the UI state; drawing never changes
 * them, so a screenshot is the frame on screen.
 *
 * Retained drawing. A surface keeps its pixels from one frame to the next
 * (a window's back buffer does not), so into a surface each region of the
 * screen (the top bar, the mesh, each panel's frame, header lines and game,
 * the selection box, the graphs) is drawn again only when the key of what
 * it shows changes: a hash of the strings, colours and state it is drawn
 * from (struct target's held_* fields). What moves every frame is erased
 * where it was: the mesh's dots, marks and nodes by copying back, from a
 * saved copy of the still layer (links, labels, legend), the disc they lie
 * in; a game field's bullets and ships by filling their boxes. A new
 * target, another layout or an overlay (help) makes the next frame whole.
 * test_view checks that a retained frame equals the same frame drawn whole.
 *
 * Cost (16 peers, 240 links, 5000 dots, software renderer): about 0.4 ms
 * a frame drawn back to back, about 1 ms at 60 frames/s, when each frame
 * finds its memory out of the cache; memory touched is what a frame costs.
 * Into a surface, what SDL does slowly is written here with ordinary
 * stores: opaque fills (SDL_FillRect streams past the cache), the dots and
 * bullets (thousands of tiny rects, where SDL's per-rect dispatch costs
 * more than the pixels), the ships (small triangles, where SDL's setup
 * does) and the fading drop marks (each its own alpha, so each its own
 * renderer command). Text never goes through colour modulation. Opaque
 * ASCII is copied glyph by glyph from a strip rendered once per (font,
 * colour, background), so a counter that changes every frame costs no
 * rendering; other text is a cache of textures keyed by (font, colour,
 * background, string). Through a window's renderer, dots go out as one
 * SDL_RenderFillRects per kind, dashes as one SDL_RenderDrawPoints, ships
 * as one SDL_RenderGeometry per panel.
 */

/*
 * Files. view.c: the whole frame, life cycle, screenshots. view_raster.c:
 * fills, lines, discs, triangles. view_text.c: text, glyph strips, fonts,
 * render targets. view_layout.c: where each region goes. view_hist.c:
 * snapshots and the graphs' history. view_mesh.c: the top bar and the mesh.
 * view_panels.c: each peer's panel and game. view_strip.c: the selection
 * box, the graphs, help. view_input.c: selection, clicks, keys. Names
 * shared between them carry view__; helpers small enough to inline are
 * static inline below.
 */

/* ---- Constants --------------------------------------------------------------- */

#define VIEW_HIST_LEN 384             /* samples: 38.4 s at 10 Hz, more than VIEW_GRAPH_S */
#define VIEW_PAIRS (VIEW_MAX_PEERS * VIEW_MAX_PEERS)
#define VIEW_RATE_WINDOW_S 1.0        /* per-second rates are taken over the last second */
#define TEXT_SETS 256                 /* text cache: 256 sets x 4 ways, least recently drawn evicted */
#define TEXT_WAYS 4
#define TEXT_MAX 160                  /* longer strings are cut (at a UTF-8 boundary) */
#define MAX_LABELS 1000               /* packet-kind letters drawn per frame at most */
#define DASH_POINTS 32768             /* points batched per SDL_RenderDrawPoints for dashed links */
#define CIRCLE_SPANS 256
#define MIN_SIZE 320
#define MAX_SIZE 16384
#define GAME_INK (VIEW_MAX_BULLETS + 4 * VIEW_MAX_SHIPS) /* rects a game field draws into: bullets, ship boxes */
#define GLYPH_SETS 64                 /* glyph strips: one per (font, colour, background), least recently used evicted */
#define GLYPH_FIRST 32                /* printable ASCII, ' ' .. '~' */
#define GLYPH_COUNT 95

enum font_id { FONT_SMALL, FONT_NORMAL, FONT_BIG, FONT_COUNT };

enum { AL_LEFT = 0, AL_RIGHT = 1, AL_CENTER = 2, AL_VCENTER = 4, AL_BOTTOM = 8 };

struct rgb {
	uint8_t r, g, b;
};

static const struct rgb c_bg = { 18, 20, 26 }, c_top = { 24, 26, 34 }, c_banner = { 170, 20, 20 },
			c_panel = { 28, 31, 39 }, c_field = { 10, 11, 16 },
			c_frame = { 62, 66, 80 }, c_text = { 222, 224, 230 }, c_dim = { 140, 145, 158 },
			c_amber = { 255, 190, 60 }, c_red = { 235, 40, 40 }, c_white = { 255, 255, 255 },
			c_cut = { 120, 122, 130 }, c_ok = { 50, 190, 90 }, c_bad = { 220, 45, 45 },
			c_event = { 220, 200, 110 };

/* ---- Types ---------------------------------------------------------------------- */

/* The printable ASCII glyphs of a fixed-width font, each followed by a space, antialiased against bg: RGB888. */
struct glyphs {
	SDL_Surface *s;
	uint32_t last_used;
	uint8_t font;
	struct rgb fg, bg;
};

struct text_entry {
	uint64_t hash;
	uint32_t last_used;
	uint8_t font;
	bool opaque;
	struct rgb fg, bg;
	int w, h;
	SDL_Texture *tex;
	char s[TEXT_MAX];
};

/* Where a game field was drawn into last frame, so that the next erases only that. */
struct ink {
	int n;
	SDL_Rect rc[GAME_INK];
};

/* A renderer and what belongs to it. */
struct target {
	SDL_Renderer *r;
	SDL_Surface *surface; /* owned; NULL for the window */
	int w, h;
	uint32_t tick;        /* frames drawn: the text cache's clock */
	struct text_entry *cache; /* TEXT_SETS * TEXT_WAYS */
	SDL_Rect clip;        /* as set by clip_set(); the whole target when !clipped */
	bool clipped;
	/*
	 * Retained drawing, into a surface only (a window's back buffer is not
	 * kept between frames): a region is drawn again only when the key of
	 * what it shows differs from the one it was drawn from (held_*).
	 */
	bool kept;            /* the surface holds the last frame, whole, drawn with layout_gen, no overlay */
	uint32_t layout_gen;
	SDL_Surface *base;    /* owned, surface targets only: the mesh as drawn without what moves in it */
	uint64_t held_top, held_mesh, held_info, held_graphs;
	uint64_t held_panel[VIEW_MAX_PEERS], held_line[VIEW_MAX_PEERS][3];
	char held_text[VIEW_MAX_PEERS][2][96]; /* what header lines 2 and 3 say now */
	struct ink *ink;      /* owned, surface targets only: [VIEW_MAX_PEERS] */
};

struct layout {
	int w, h;
	float scale;
	uint32_t npeers;
	SDL_Rect top, mesh, panels, strip, info, graph[3];
	float cx, cy, radius, node_r;
	float nx[VIEW_MAX_PEERS], ny[VIEW_MAX_PEERS];
	int cols, rows, cell_w, cell_h, header_h, field;
};

struct seg {
	float x0, y0, x1, y1;
};

/* The graph strip's memory: rings of samples taken at VIEW_HIST_HZ from the snapshots. */
struct hist {
	uint32_t npeers, npairs;
	uint32_t len, head;               /* head: the newest sample's slot */
	double t[VIEW_HIST_LEN];
	float dt[VIEW_HIST_LEN];          /* since the previous sample; 0 for the first */
	float rtt[VIEW_HIST_LEN][VIEW_MAX_PEERS];
	uint16_t rb[VIEW_HIST_LEN][VIEW_MAX_PEERS];
	uint32_t all_deliv[VIEW_HIST_LEN], all_drop[VIEW_HIST_LEN];
	uint16_t *deliv, *drop;           /* [slot * npairs + from * npeers + to]: counts in the sample's dt */
	uint64_t prev_deliv[VIEW_PAIRS], prev_drop[VIEW_PAIRS];
	uint8_t seen[VIEW_PAIRS];
	uint32_t rb_since[VIEW_MAX_PEERS]; /* deepest rollback seen since the last sample */
	uint64_t gen;                     /* changes with every sample and reset: the graphs' key */
};

enum sel_kind { SEL_NONE, SEL_PEER, SEL_LINK };

struct view {
	struct view_cfg cfg;
	char title[128];
	char font_path[1024];
	bool sdl_video, ttf;
	SDL_Window *win;
	struct target main;
	TTF_Font *font[FONT_COUNT];
	int line_h[FONT_COUNT];
	int advance[FONT_COUNT];         /* of every glyph; 0 when the font is not fixed-width */
	uint8_t overhang[FONT_COUNT][GLYPH_COUNT]; /* pixels a glyph reaches past its advance, at a string's end */
	float font_scale;
	struct glyphs glyphs[GLYPH_SETS];
	uint32_t glyph_tick;
	float scale;                     /* output pixels per window point */

	struct view_snapshot *live;      /* the latest snapshot given */
	struct view_snapshot *frozen;    /* shown while paused */
	char netcode_live[32], netcode_frozen[32];
	bool have_snapshot;
	bool paused, help, labels;

	enum sel_kind sel;
	uint32_t sel_peer, sel_from, sel_to;
	int ctl_peer;                    /* the peer whose ship the keys fly, -1 none */
	uint8_t keys;
	struct view_cmd pending[2];      /* made by an event after the caller's buffer filled up */
	int npending;

	struct hist *hist;
	struct layout L;
	bool layout_valid;
	uint32_t layout_gen;             /* counts the layouts computed: a target drawn with another is redrawn whole */
	struct seg *seg;                 /* [from * npeers + to] for the layout's npeers */

	/* Per-frame scratch, so drawing allocates nothing. */
	SDL_Rect dot_rect[4][VIEW_MAX_DOTS];
	SDL_FPoint dash[DASH_POINTS];
	SDL_Rect span[CIRCLE_SPANS];
	SDL_Vertex vert[VIEW_MAX_SHIPS * 3 * 4];
	SDL_Rect bullet[VIEW_MAX_SHIPS][VIEW_MAX_BULLETS];
	SDL_FPoint series[VIEW_HIST_LEN];
};

/* ---- Helpers shared by every room ----------------------------------------------- */

/* FNV-1a, 64 bits: the keys of what retained regions show (struct target). */
#define KEY_SEED 14695981039346656037ull

static inline struct rgb rgb_of(uint32_t x)
{
	return (struct rgb){ (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
}

static inline void colour(SDL_Renderer *r, struct rgb c, uint8_t a)
{
	SDL_SetRenderDrawColor(r, c.r, c.g, c.b, a);
}

static inline int px(const struct view *v, float n)
{
	return (int)lroundf(n * v->scale);
}

static inline float clampf(float x, float lo, float hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static inline uint64_t key_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static inline uint64_t key_u64(uint64_t h, uint64_t x)
{
	return key_bytes(h, &x, sizeof x);
}

static inline uint64_t key_str(uint64_t h, const char *s)
{
	return key_bytes(h, s, strlen(s) + 1);
}

static inline uint64_t key_rgb(uint64_t h, struct rgb c)
{
	return key_u64(h, (uint64_t)c.r << 16 | (uint64_t)c.g << 8 | c.b);
}

/*
 * Whether a retained region is to be drawn: always when full (the target
 * holds nothing to keep), else when key differs from the one it was drawn
 * from. Either way *held becomes key.
 */
static inline bool region_due(bool full, uint64_t *held, uint64_t key)
{
	bool due = full || *held != key;
	*held = key;
	return due;
}

static inline uint32_t *pixel_at(SDL_Surface *s, int x, int y)
{
	return (uint32_t *)((uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch) + x;
}

/*
 * The integer rect that SDL's software renderer makes of a float rect
 * (truncated, at least one pixel), so that rects written here and rects
 * drawn by the renderer land on the same pixels.
 */
static inline SDL_Rect rect_of(float x, float y, float w, float h)
{
	return (SDL_Rect){ (int)x, (int)y, (int)w > 1 ? (int)w : 1, (int)h > 1 ? (int)h : 1 };
}

static inline bool rgb_eq(struct rgb a, struct rgb b)
{
	return a.r == b.r && a.g == b.g && a.b == b.b;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static inline const struct view_snapshot *shown(const struct view *v)
{
	return v->paused ? v->frozen : v->live;
}

static inline const struct seg *seg_of(const struct view *v, uint32_t from, uint32_t to)
{
	return &v->seg[from * v->L.npeers + to];
}

/* A game coordinate (16.16, wrapping) as 0..1000 field units. */
static inline float field_coord(int32_t fx)
{
	float u = (float)fx / 65536.0f;
	u = fmodf(u, 1000.0f);
	return u < 0 ? u + 1000.0f : u;
}

/* ---- Shared between the files (each defined in the file named) ------------------ */

void view__clip_set(struct target *t, const SDL_Rect *rc);
bool view__clip_to(const struct target *t, SDL_Rect *rc);
void view__fill_rects(struct target *t, const SDL_Rect *rects, int n, struct rgb c);
void view__fill(struct target *t, int x, int y, int w, int h, struct rgb c);
void view__fill_blend(SDL_Renderer *r, int x, int y, int w, int h, struct rgb c, uint8_t a);
void view__border(struct target *t, SDL_Rect rc, int th, struct rgb c);
void view__disc(struct view *v, struct target *t, float cx, float cy, float rad, struct rgb c);
void view__ring(struct view *v, struct target *t, float cx, float cy, float rad, float thick, struct rgb c);
void view__thick_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, int w);
void view__thick_line_blend(struct target *t, float x0, float y0, float x1, float y1, int w, struct rgb c, uint8_t a);
void view__fill_triangle(struct target *t, const SDL_Vertex *vt, uint32_t p);
SDL_Rect view__triangle_box(const SDL_Vertex *vt);
double view__nice_ceil(double x);
int view__text_width(struct view *v, int font, const char *s);
int view__text(struct view *v, struct target *t, int font, const char *s, int x, int y, struct rgb c,
		const struct rgb *bg, int align);
bool view__text_change(struct view *v, struct target *t, int font, const char *was, const char *now, int x, int y,
			struct rgb c, struct rgb bg, int h);
void view__target_fini(struct target *t);
int view__target_surface(struct target *t, int w, int h, char *err, size_t errlen);
void view__fonts_close(struct view *v);
int view__fonts_open(struct view *v, float scale, char *err, size_t errlen);
void view__update_size(struct view *v);
void view__panel_rect(const struct layout *L, uint32_t k, SDL_Rect *out);
void view__layout_update(struct view *v, int w, int h, uint32_t npeers);
void view__snapshot_copy(struct view_snapshot *dst, const struct view_snapshot *src, char *buf, size_t buflen);
const struct view_link *view__find_link(const struct view_snapshot *s, uint32_t from, uint32_t to);
void view__hist_reset(struct hist *h, uint32_t npeers);
void view__hist_ingest(struct hist *h, const struct view_snapshot *s);
uint32_t view__hist_slot(const struct hist *h, uint32_t n);
void view__hist_counts(const struct hist *h, uint32_t i, int p, double *dv, double *dr);
void view__draw_top(struct view *v, struct target *t, const struct view_snapshot *s, bool full);
void view__draw_mesh(struct view *v, struct target *t, const struct view_snapshot *s, bool full);
/* Peer k's game p in field f (whole: fill it all, else erase only where the last frame drew). */
void view__draw_game(struct view *v, struct target *t, uint32_t k, const struct view_peer *p, SDL_Rect f, bool whole);
void view__draw_panels(struct view *v, struct target *t, const struct view_snapshot *s, bool full);
void view__draw_info(struct view *v, struct target *t, const struct view_snapshot *s, bool full);
void view__draw_graphs(struct view *v, struct target *t, const struct view_snapshot *s, bool full);
void view__draw_help(struct view *v, struct target *t);

#endif
