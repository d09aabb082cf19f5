// SPDX-License-Identifier: MIT
// The SDL2 viewer: the mesh, each peer's own game, the graph strip and the controls, drawn from snapshots.
#include "view/view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>
#include <SDL_image.h>
#include <SDL_ttf.h>

#ifndef LOOPSIM_FONT
#define LOOPSIM_FONT "assets/fonts/DejaVuSansMono.ttf"
#endif

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
static const int font_pt[FONT_COUNT] = { 10, 12, 15 };

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

/* Dots by enum view_dot_kind: normal, duplicate, corrupted, reordered. */
static const struct rgb c_dot[4] = { { 235, 235, 235 }, { 230, 80, 230 }, { 255, 140, 20 }, { 40, 210, 240 } };
static const char *const dot_kind_name[4] = { "normal", "duplicate", "corrupted", "reordered" };
/* Letters by enum view_label. */
static const char *const label_letter[] = { "", "C", "A", "R", "U", "P" };

/* Sixteen colours far apart (after Trubetskoy's list), none of them the red of drops and desyncs. */
static const uint32_t palette[16] = { 0x4f7be8, 0xf58231, 0x3cb44b, 0xf032e6, 0x42d4f4, 0xffe119,
				      0xb05ce0, 0xbfef45, 0xfabed4, 0x4fb3a9, 0xdcbeff, 0xc08040,
				      0xfffac8, 0xaaffc3, 0xa0a030, 0xff8a8a };

/* Presets on keys 1..9, 0. */
static const char *const preset_key[10] = { "perfect", "fiber",     "cable", "dsl", "broadband",
					    "satellite", "congested", "3g",    "4g",  "wifi" };

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

/* ---- Small helpers -------------------------------------------------------------- */

static struct rgb rgb_of(uint32_t x)
{
	return (struct rgb){ (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };
}

uint32_t view_peer_rgb(uint32_t k)
{
	return palette[k % 16];
}

static void colour(SDL_Renderer *r, struct rgb c, uint8_t a)
{
	SDL_SetRenderDrawColor(r, c.r, c.g, c.b, a);
}

static int px(const struct view *v, float n)
{
	return (int)lroundf(n * v->scale);
}

static float clampf(float x, float lo, float hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* FNV-1a, 64 bits: the keys of what retained regions show (struct target). */
#define KEY_SEED 14695981039346656037ull

static uint64_t key_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t key_u64(uint64_t h, uint64_t x)
{
	return key_bytes(h, &x, sizeof x);
}

static uint64_t key_str(uint64_t h, const char *s)
{
	return key_bytes(h, s, strlen(s) + 1);
}

static uint64_t key_rgb(uint64_t h, struct rgb c)
{
	return key_u64(h, (uint64_t)c.r << 16 | (uint64_t)c.g << 8 | c.b);
}

/*
 * Whether a retained region is to be drawn: always when full (the target
 * holds nothing to keep), else when key differs from the one it was drawn
 * from. Either way *held becomes key.
 */
static bool region_due(bool full, uint64_t *held, uint64_t key)
{
	bool due = full || *held != key;
	*held = key;
	return due;
}

/*
 * The clip rect of what is drawn next, on the renderer and for the writes
 * below that bypass it. NULL: the whole target.
 */
static void clip_set(struct target *t, const SDL_Rect *rc)
{
	t->clipped = rc != NULL;
	t->clip = rc ? *rc : (SDL_Rect){ 0, 0, t->w, t->h };
	SDL_RenderSetClipRect(t->r, rc);
}

/* rc inside the clip rect and the surface; false when nothing is left. */
static bool clip_to(const struct target *t, SDL_Rect *rc)
{
	SDL_Rect bound = { 0, 0, t->surface->w, t->surface->h };
	if (t->clipped && !SDL_IntersectRect(&bound, &t->clip, &bound))
		return false;
	return SDL_IntersectRect(rc, &bound, rc);
}

static uint32_t *pixel_at(SDL_Surface *s, int x, int y)
{
	return (uint32_t *)((uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch) + x;
}

/*
 * Opaque rects, inside the clip rect. Into a surface they are written here
 * with ordinary stores, after what the renderer has queued: SDL_FillRect's
 * SSE path streams past the cache (movntps), so each blit over a background
 * read it back from memory (that was half of a software frame), and for
 * thousands of 3-pixel dots SDL's per-rect clipping and dispatch cost more
 * than the pixels.
 */
static void fill_rects(struct target *t, const SDL_Rect *rects, int n, struct rgb c)
{
	if (n <= 0)
		return;
	if (!t->surface) {
		colour(t->r, c, 255);
		SDL_RenderFillRects(t->r, rects, n);
		return;
	}
	SDL_Rect b = { 0, 0, t->surface->w, t->surface->h };
	if (t->clipped && !SDL_IntersectRect(&b, &t->clip, &b))
		return;
	SDL_RenderFlush(t->r); /* what was drawn before lies under these */
	uint32_t p = SDL_MapRGB(t->surface->format, c.r, c.g, c.b);
	size_t pitch = (size_t)t->surface->pitch / 4;
	uint32_t *pixels = t->surface->pixels;
	for (int i = 0; i < n; i++) {
		const SDL_Rect *rc = &rects[i];
		int x0 = rc->x > b.x ? rc->x : b.x, x1 = rc->x + rc->w < b.x + b.w ? rc->x + rc->w : b.x + b.w;
		int y0 = rc->y > b.y ? rc->y : b.y, y1 = rc->y + rc->h < b.y + b.h ? rc->y + rc->h : b.y + b.h;
		for (int y = y0; y < y1; y++) {
			uint32_t *row = pixels + (size_t)y * pitch;
			for (int x = x0; x < x1; x++)
				row[x] = p;
		}
	}
}

static void fill(struct target *t, int x, int y, int w, int h, struct rgb c)
{
	fill_rects(t, &(SDL_Rect){ x, y, w, h }, 1, c);
}

static void fill_blend(SDL_Renderer *r, int x, int y, int w, int h, struct rgb c, uint8_t a)
{
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
	colour(r, c, a);
	SDL_RenderFillRect(r, &(SDL_Rect){ x, y, w, h });
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
}

/*
 * The integer rect that SDL's software renderer makes of a float rect
 * (truncated, at least one pixel), so that rects written here and rects
 * drawn by the renderer land on the same pixels.
 */
static SDL_Rect rect_of(float x, float y, float w, float h)
{
	return (SDL_Rect){ (int)x, (int)y, (int)w > 1 ? (int)w : 1, (int)h > 1 ? (int)h : 1 };
}

/* A border of thickness th drawn inside rect. */
static void border(struct target *t, SDL_Rect rc, int th, struct rgb c)
{
	SDL_Rect e[4] = { { rc.x, rc.y, rc.w, th },
			  { rc.x, rc.y + rc.h - th, rc.w, th },
			  { rc.x, rc.y, th, rc.h },
			  { rc.x + rc.w - th, rc.y, th, rc.h } };
	fill_rects(t, e, 4, c);
}

static void disc(struct view *v, struct target *t, float cx, float cy, float rad, struct rgb c)
{
	int n = 0, ir = (int)ceilf(rad);
	for (int dy = -ir; dy <= ir && n < CIRCLE_SPANS; dy++) {
		float h = rad * rad - (float)(dy * dy);
		if (h < 0)
			continue;
		int half = (int)lroundf(sqrtf(h));
		v->span[n++] = (SDL_Rect){ (int)lroundf(cx) - half, (int)lroundf(cy) + dy, 2 * half + 1, 1 };
	}
	fill_rects(t, v->span, n, c);
}

/* A ring of the given thickness, drawn as the difference of spans. */
static void ring(struct view *v, struct target *t, float cx, float cy, float rad, float thick, struct rgb c)
{
	int n = 0, ir = (int)ceilf(rad);
	float in = rad - thick;
	for (int dy = -ir; dy <= ir && n + 2 <= CIRCLE_SPANS; dy++) {
		float ho = rad * rad - (float)(dy * dy);
		if (ho < 0)
			continue;
		int outer = (int)lroundf(sqrtf(ho));
		float hi = in * in - (float)(dy * dy);
		int inner = hi > 0 ? (int)lroundf(sqrtf(hi)) : -1;
		int x0 = (int)lroundf(cx), y = (int)lroundf(cy) + dy;
		if (inner < 0) {
			v->span[n++] = (SDL_Rect){ x0 - outer, y, 2 * outer + 1, 1 };
		} else {
			v->span[n++] = (SDL_Rect){ x0 - outer, y, outer - inner, 1 };
			v->span[n++] = (SDL_Rect){ x0 + inner + 1, y, outer - inner, 1 };
		}
	}
	fill_rects(t, v->span, n, c);
}

/* A line of width w (>= 1) as parallel one-pixel lines. */
static void thick_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, int w)
{
	float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
	if (len < 1e-3f)
		return;
	float nx = -dy / len, ny = dx / len;
	for (int i = 0; i < w; i++) {
		float o = (float)i - (float)(w - 1) / 2;
		SDL_RenderDrawLineF(r, x0 + nx * o, y0 + ny * o, x1 + nx * o, y1 + ny * o);
	}
}

/* c at alpha a over the pixel at p (RGB888), per channel: (c * a' + dst * (256 - a')) / 256, where
 * a' = a + a / 128 runs 0..256, so that alpha 0 and 255 are exact. */
static void blend_px(uint32_t *p, uint32_t c, uint32_t a)
{
	uint32_t d = *p, a1 = a + (a >> 7), na = 256 - a1;
	uint32_t rb = ((c & 0xff00ff) * a1 + (d & 0xff00ff) * na) >> 8 & 0xff00ff;
	uint32_t g = ((c & 0x00ff00) * a1 + (d & 0x00ff00) * na) >> 8 & 0x00ff00;
	*p = rb | g;
}

/*
 * A one-pixel line in c at alpha a, both ends included, inside the clip
 * rect; into a surface it is written here (Bresenham from the truncated
 * ends, as SDL's software renderer takes them). A fading drop mark is four
 * of these, each in its own alpha: through the renderer, every one was a
 * command of its own.
 */
static void blend_line(struct target *t, float fx0, float fy0, float fx1, float fy1, struct rgb c, uint8_t a)
{
	if (!t->surface) {
		colour(t->r, c, a);
		SDL_RenderDrawLineF(t->r, fx0, fy0, fx1, fy1);
		return;
	}
	SDL_Rect bound = { 0, 0, t->surface->w, t->surface->h };
	if (t->clipped && !SDL_IntersectRect(&bound, &t->clip, &bound))
		return;
	int x0 = (int)fx0, y0 = (int)fy0, x1 = (int)fx1, y1 = (int)fy1;
	int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
	uint32_t p = SDL_MapRGB(t->surface->format, c.r, c.g, c.b);
	for (;;) {
		if (x0 >= bound.x && x0 < bound.x + bound.w && y0 >= bound.y && y0 < bound.y + bound.h)
			blend_px(pixel_at(t->surface, x0, y0), p, a);
		if (x0 == x1 && y0 == y1)
			break;
		int e2 = 2 * e;
		if (e2 >= dy) {
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			e += dx;
			y0 += sy;
		}
	}
}

/* thick_line() in c at alpha a, with blend_line(). */
static void thick_line_blend(struct target *t, float x0, float y0, float x1, float y1, int w, struct rgb c, uint8_t a)
{
	float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy);
	if (len < 1e-3f)
		return;
	if (t->surface)
		SDL_RenderFlush(t->r);
	else
		SDL_SetRenderDrawBlendMode(t->r, SDL_BLENDMODE_BLEND);
	float nx = -dy / len, ny = dx / len;
	for (int i = 0; i < w; i++) {
		float o = (float)i - (float)(w - 1) / 2;
		blend_line(t, x0 + nx * o, y0 + ny * o, x1 + nx * o, y1 + ny * o, c, a);
	}
	if (!t->surface)
		SDL_SetRenderDrawBlendMode(t->r, SDL_BLENDMODE_NONE);
}

/* Twice the signed area of (a, b, c), in doubled pixels: > 0 when c lies to the right of a->b (y down). */
static int edge(int ax, int ay, int bx, int by, int cx, int cy)
{
	return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* Whether edge a->b of a triangle wound that way is a top or left edge, which owns the pixels on it. */
static bool top_left(int ax, int ay, int bx, int by)
{
	return (ay == by && ax < bx) || by < ay;
}

/*
 * A filled triangle of colour p (mapped), into the surface inside the clip
 * rect: the pixels whose centres lie inside it, a pixel on an edge filled
 * only by a top or left edge. The corners are truncated to whole pixels
 * first, as SDL's software renderer takes SDL_RenderGeometry's, so both fill
 * the same pixels; through the renderer, each small triangle cost more in
 * setup than in pixels.
 */
static void fill_triangle(struct target *t, const SDL_Vertex *vt, uint32_t p)
{
	/* Doubled coordinates: corners even, pixel centres odd. */
	int x[3], y[3];
	for (int i = 0; i < 3; i++) {
		x[i] = 2 * (int)vt[i].position.x;
		y[i] = 2 * (int)vt[i].position.y;
	}
	int area = edge(x[0], y[0], x[1], y[1], x[2], y[2]);
	if (area == 0)
		return;
	if (area < 0) { /* wind every triangle one way */
		int sx = x[1], sy = y[1];
		x[1] = x[2];
		y[1] = y[2];
		x[2] = sx;
		y[2] = sy;
	}
	SDL_Rect b = { 0, 0, t->surface->w, t->surface->h };
	if (t->clipped && !SDL_IntersectRect(&b, &t->clip, &b))
		return;
	int x0 = x[0] < x[1] ? x[0] : x[1], x1 = x[0] > x[1] ? x[0] : x[1];
	int y0 = y[0] < y[1] ? y[0] : y[1], y1 = y[0] > y[1] ? y[0] : y[1];
	x0 = (x[2] < x0 ? x[2] : x0) / 2;
	x1 = (x[2] > x1 ? x[2] : x1) / 2;
	y0 = (y[2] < y0 ? y[2] : y0) / 2;
	y1 = (y[2] > y1 ? y[2] : y1) / 2;
	x0 = x0 > b.x ? x0 : b.x;
	y0 = y0 > b.y ? y0 : b.y;
	x1 = x1 < b.x + b.w ? x1 : b.x + b.w;
	y1 = y1 < b.y + b.h ? y1 : b.y + b.h;
	int bias[3];
	for (int i = 0; i < 3; i++) {
		int j = (i + 1) % 3, k = (i + 2) % 3;
		bias[i] = top_left(x[j], y[j], x[k], y[k]) ? 0 : -1;
	}
	for (int py = y0; py < y1; py++) {
		uint32_t *row = pixel_at(t->surface, 0, py);
		for (int px = x0; px < x1; px++) {
			int cx = 2 * px + 1, cy = 2 * py + 1;
			if (edge(x[1], y[1], x[2], y[2], cx, cy) + bias[0] >= 0 &&
			    edge(x[2], y[2], x[0], y[0], cx, cy) + bias[1] >= 0 &&
			    edge(x[0], y[0], x[1], y[1], cx, cy) + bias[2] >= 0)
				row[px] = p;
		}
	}
}

/* The pixels fill_triangle() (and SDL) may fill for vt: the box of its truncated corners. */
static SDL_Rect triangle_box(const SDL_Vertex *vt)
{
	int x0 = INT32_MAX, y0 = INT32_MAX, x1 = INT32_MIN, y1 = INT32_MIN;
	for (int i = 0; i < 3; i++) {
		int x = (int)vt[i].position.x, y = (int)vt[i].position.y;
		x0 = x < x0 ? x : x0;
		y0 = y < y0 ? y : y0;
		x1 = x > x1 ? x : x1;
		y1 = y > y1 ? y : y1;
	}
	return (SDL_Rect){ x0, y0, x1 - x0 + 1, y1 - y0 + 1 };
}

/* 1, 2, 5 x 10^k, at least x. */
static double nice_ceil(double x)
{
	if (x <= 0)
		return 1;
	double p = pow(10, floor(log10(x)));
	for (int i = 0; i < 3; i++) {
		static const double m[3] = { 1, 2, 5 };
		if (m[i] * p >= x)
			return m[i] * p;
	}
	return 10 * p;
}

/* ---- Text: a cache of textures keyed by (font, string) ---------------------------- */

static uint64_t text_hash(int font, struct rgb fg, const struct rgb *bg, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)font ^ (uint64_t)fg.r << 8 ^ (uint64_t)fg.g << 16 ^
		     (uint64_t)fg.b << 24;
	if (bg)
		h ^= (uint64_t)1 << 32 ^ (uint64_t)bg->r << 40 ^ (uint64_t)bg->g << 48 ^ (uint64_t)bg->b << 56;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static void text_cache_flush(struct target *t)
{
	if (!t->cache)
		return;
	for (size_t i = 0; i < (size_t)TEXT_SETS * TEXT_WAYS; i++) {
		if (t->cache[i].tex)
			SDL_DestroyTexture(t->cache[i].tex);
		t->cache[i].tex = NULL;
		t->cache[i].s[0] = 0;
	}
}

static bool rgb_eq(struct rgb a, struct rgb b)
{
	return a.r == b.r && a.g == b.g && a.b == b.b;
}

/*
 * The cached texture of s in font and colour fg, rendering it on a miss;
 * NULL for an empty string or a failure. With a background (bg), the text
 * is antialiased against it and copied opaque; without, it is blended. The
 * colour is baked in, never applied with SDL_SetTextureColorMod: SDL's
 * software blitter takes a slow generic path for a modulated blend (18 µs
 * for a header line, against 2.8 µs blended and 0.4 µs opaque).
 */
static struct text_entry *text_get(struct view *v, struct target *t, int font, const char *str, struct rgb fg,
				   const struct rgb *bg)
{
	char cut[TEXT_MAX];
	const char *s = str;
	size_t n = strlen(str);
	if (n == 0)
		return NULL;
	if (n >= TEXT_MAX) {
		n = TEXT_MAX - 1;
		while (n > 0 && ((uint8_t)str[n] & 0xc0) == 0x80)
			n--; /* never split a UTF-8 sequence */
		memcpy(cut, str, n);
		cut[n] = 0;
		s = cut;
	}
	uint64_t h = text_hash(font, fg, bg, s);
	struct text_entry *set = &t->cache[(h & (TEXT_SETS - 1)) * TEXT_WAYS], *victim = &set[0];
	for (int i = 0; i < TEXT_WAYS; i++) {
		struct text_entry *e = &set[i];
		if (e->tex && e->hash == h && e->font == font && e->opaque == (bg != NULL) && rgb_eq(e->fg, fg) &&
		    (!bg || rgb_eq(e->bg, *bg)) && strcmp(e->s, s) == 0) {
			e->last_used = t->tick;
			return e;
		}
		if (!e->tex)
			victim = e;
		else if (victim->tex && e->last_used < victim->last_used)
			victim = e;
	}
	SDL_Color fc = { fg.r, fg.g, fg.b, 255 };
	SDL_Surface *surf = bg ? TTF_RenderUTF8_Shaded(v->font[font], s, fc, (SDL_Color){ bg->r, bg->g, bg->b, 255 })
			       : TTF_RenderUTF8_Blended(v->font[font], s, fc);
	if (!surf)
		return NULL;
	SDL_Texture *tex = SDL_CreateTextureFromSurface(t->r, surf);
	int w = surf->w, hh = surf->h;
	SDL_FreeSurface(surf);
	if (!tex)
		return NULL;
	SDL_SetTextureBlendMode(tex, bg ? SDL_BLENDMODE_NONE : SDL_BLENDMODE_BLEND);
	if (victim->tex)
		SDL_DestroyTexture(victim->tex);
	*victim = (struct text_entry){ .hash = h, .last_used = t->tick, .font = (uint8_t)font, .opaque = bg != NULL,
				       .fg = fg, .bg = bg ? *bg : fg, .w = w, .h = hh, .tex = tex };
	memcpy(victim->s, s, strlen(s) + 1);
	return victim;
}

static bool ascii_printable(const char *s)
{
	for (; *s; s++)
		if ((uint8_t)*s < GLYPH_FIRST || (uint8_t)*s >= GLYPH_FIRST + GLYPH_COUNT)
			return false;
	return true;
}

static void glyphs_flush(struct view *v)
{
	for (int i = 0; i < GLYPH_SETS; i++) {
		SDL_FreeSurface(v->glyphs[i].s);
		v->glyphs[i].s = NULL;
	}
}

/*
 * The glyph strip of font in fg over bg, rendering it on a miss; NULL when
 * the font is not fixed-width or on a failure (the caller then renders the
 * string whole). One TTF_RenderUTF8_Shaded of the 95 glyphs gives the same
 * pixels, glyph by glyph, as that of any string of them: the advance is
 * the same whole number of pixels for every glyph. A few glyphs (W, w, _)
 * reach a pixel past their advance; the space after each keeps that pixel
 * apart, for the end of a string.
 */
static struct glyphs *glyphs_get(struct view *v, int font, struct rgb fg, struct rgb bg)
{
	if (!v->advance[font])
		return NULL;
	struct glyphs *victim = &v->glyphs[0];
	for (int i = 0; i < GLYPH_SETS; i++) {
		struct glyphs *g = &v->glyphs[i];
		if (g->s && g->font == font && rgb_eq(g->fg, fg) && rgb_eq(g->bg, bg)) {
			g->last_used = ++v->glyph_tick;
			return g;
		}
		if (!g->s)
			victim = g;
		else if (victim->s && g->last_used < victim->last_used)
			victim = g;
	}
	char all[2 * GLYPH_COUNT + 1];
	for (int i = 0; i < GLYPH_COUNT; i++) {
		all[2 * i] = (char)(GLYPH_FIRST + i);
		all[2 * i + 1] = ' ';
	}
	all[2 * GLYPH_COUNT] = 0;
	SDL_Surface *shaded = TTF_RenderUTF8_Shaded(v->font[font], all, (SDL_Color){ fg.r, fg.g, fg.b, 255 },
						    (SDL_Color){ bg.r, bg.g, bg.b, 255 });
	if (!shaded)
		return NULL;
	SDL_Surface *rgb = shaded->w == 2 * GLYPH_COUNT * v->advance[font]
				   ? SDL_ConvertSurfaceFormat(shaded, SDL_PIXELFORMAT_RGB888, 0)
				   : NULL;
	SDL_FreeSurface(shaded);
	if (!rgb) {
		v->advance[font] = 0; /* not what a fixed-width font gives: render strings whole from now on */
		return NULL;
	}
	SDL_FreeSurface(victim->s);
	*victim = (struct glyphs){ .s = rgb, .last_used = ++v->glyph_tick, .font = (uint8_t)font, .fg = fg, .bg = bg };
	return victim;
}

/* Copies the glyphs of s (printable ASCII) from g into t's surface, inside the clip rect, at x, y. */
static void glyphs_draw(const struct view *v, struct target *t, const struct glyphs *g, int font, const char *s,
			int x, int y)
{
	int adv = v->advance[font], h = g->s->h;
	SDL_RenderFlush(t->r); /* what was drawn before lies under these */
	for (int i = 0; s[i]; i++, x += adv) {
		int c = (uint8_t)s[i] - GLYPH_FIRST;
		SDL_Rect rc = { x, y, s[i + 1] ? adv : adv + v->overhang[font][c], h };
		if (!clip_to(t, &rc))
			continue;
		int sx = 2 * c * adv + rc.x - x, sy = rc.y - y;
		for (int j = 0; j < rc.h; j++)
			memcpy(pixel_at(t->surface, rc.x, rc.y + j), pixel_at(g->s, sx, sy + j), (size_t)rc.w * 4);
	}
}

/* The width of s in font, in pixels. */
static int text_width(struct view *v, int font, const char *s)
{
	int w = 0;
	size_t n = strlen(s);
	if (n && v->advance[font] && ascii_printable(s))
		return (int)n * v->advance[font] + v->overhang[font][(uint8_t)s[n - 1] - GLYPH_FIRST];
	if (!*s || TTF_SizeUTF8(v->font[font], s, &w, NULL) < 0)
		return 0;
	return w;
}

/* Draws s in colour c over bg (NULL: blended over whatever is there); x, y is the anchor named by align.
 * Returns the width drawn (0 for nothing). */
static int text(struct view *v, struct target *t, int font, const char *s, int x, int y, struct rgb c,
		const struct rgb *bg, int align)
{
	/* Into a surface, opaque ASCII is copied glyph by glyph: a counter that changes every frame costs no
	 * rendering, only the copy. Anything else is a texture of the whole string, from the cache. */
	struct glyphs *g = NULL;
	struct text_entry *e = NULL;
	size_t n = strlen(s);
	if (n == 0)
		return 0;
	if (t->surface && bg && n < TEXT_MAX && ascii_printable(s))
		g = glyphs_get(v, font, c, *bg);
	if (!g && !(e = text_get(v, t, font, s, c, bg)))
		return 0;
	int w = g ? text_width(v, font, s) : e->w, h = g ? g->s->h : e->h;
	if (align & AL_RIGHT)
		x -= w;
	else if (align & AL_CENTER)
		x -= w / 2;
	if (align & AL_VCENTER)
		y -= h / 2;
	else if (align & AL_BOTTOM)
		y -= h;
	if (g)
		glyphs_draw(v, t, g, font, s, x, y);
	else
		SDL_RenderCopy(t->r, e->tex, NULL, &(SDL_Rect){ x, y, w, h });
	return w;
}


/*
 * Redraws a line of text that says `was`, at x, y in colour c over bg, so
 * that it says `now`: into a surface, in a fixed-width font, only from the
 * glyph before the first that differs (the last glyph's overhang moves with
 * the end) to the end of the longer, h pixels high, inside the clip rect. A
 * frame counter changes a glyph or two a frame. Returns false when it
 * cannot, and then draws nothing: the caller clears the line and draws it.
 */
static bool text_change(struct view *v, struct target *t, int font, const char *was, const char *now, int x, int y,
			struct rgb c, struct rgb bg, int h)
{
	if (!t->surface || !v->advance[font] || strlen(now) >= TEXT_MAX || !ascii_printable(was) ||
	    !ascii_printable(now))
		return false;
	size_t i = 0;
	while (was[i] && was[i] == now[i])
		i++;
	if (!was[i] && !now[i])
		return true;
	size_t from = i ? i - 1 : 0;
	int ww = text_width(v, font, was), nw = text_width(v, font, now);
	int x0 = x + (int)from * v->advance[font], x1 = x + (ww > nw ? ww : nw);
	fill(t, x0, y, x1 - x0, h, bg);
	if (now[from])
		text(v, t, font, now + from, x0, y, c, &bg, AL_LEFT);
	return true;
}

/* ---- Targets and fonts ---------------------------------------------------------------- */

static void target_fini(struct target *t)
{
	text_cache_flush(t);
	free(t->cache);
	t->cache = NULL;
	if (t->r)
		SDL_DestroyRenderer(t->r);
	t->r = NULL;
	if (t->surface)
		SDL_FreeSurface(t->surface);
	t->surface = NULL;
	SDL_FreeSurface(t->base);
	t->base = NULL;
	free(t->ink);
	t->ink = NULL;
}

/* A software renderer into a new RGB surface of w x h. Returns 0, or -1 with err. */
static int target_surface(struct target *t, int w, int h, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->w = w;
	t->h = h;
	t->cache = calloc((size_t)TEXT_SETS * TEXT_WAYS, sizeof *t->cache);
	if (!t->cache) {
		snprintf(err, errlen, "out of memory for the text cache");
		return -1;
	}
	t->surface = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGB888);
	t->base = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGB888);
	t->ink = calloc(VIEW_MAX_PEERS, sizeof *t->ink);
	if (!t->ink) {
		snprintf(err, errlen, "out of memory for the game fields");
		goto err;
	}
	if (!t->surface || !t->base) {
		snprintf(err, errlen, "cannot create a %dx%d surface: %s", w, h, SDL_GetError());
		goto err;
	}
	t->r = SDL_CreateSoftwareRenderer(t->surface);
	if (!t->r) {
		snprintf(err, errlen, "cannot create a software renderer: %s", SDL_GetError());
		goto err;
	}
	return 0;
err:
	target_fini(t);
	return -1;
}

static void fonts_close(struct view *v)
{
	for (int i = 0; i < FONT_COUNT; i++) {
		if (v->font[i])
			TTF_CloseFont(v->font[i]);
		v->font[i] = NULL;
	}
	glyphs_flush(v);
}

static int fonts_open(struct view *v, float scale, char *err, size_t errlen)
{
	int advance[FONT_COUNT];
	uint8_t overhang[FONT_COUNT][GLYPH_COUNT] = { { 0 } };
	for (int i = 0; i < FONT_COUNT; i++) {
		int pt = (int)lroundf((float)font_pt[i] * scale);
		v->font[i] = TTF_OpenFont(v->font_path, pt < 6 ? 6 : pt);
		if (!v->font[i]) {
			snprintf(err, errlen, "cannot open the font %s: %s", v->font_path, TTF_GetError());
			fonts_close(v);
			return -1;
		}
		v->line_h[i] = TTF_FontLineSkip(v->font[i]);
		if (!TTF_FontFaceIsFixedWidth(v->font[i]) || TTF_GlyphMetrics32(v->font[i], 'M', NULL, NULL, NULL, NULL,
										 &advance[i]) < 0)
			advance[i] = 0;
		for (int c = 0; c < GLYPH_COUNT && advance[i]; c++) {
			char one[2] = { (char)(GLYPH_FIRST + c), 0 };
			int w = 0;
			if (TTF_SizeUTF8(v->font[i], one, &w, NULL) < 0 || w < advance[i] || w > advance[i] + 255)
				advance[i] = 0; /* not what a fixed-width font gives: strings are rendered whole */
			else
				overhang[i][c] = (uint8_t)(w - advance[i]);
		}
	}
	memcpy(v->advance, advance, sizeof advance);
	memcpy(v->overhang, overhang, sizeof overhang);
	glyphs_flush(v);
	v->font_scale = scale;
	return 0;
}

/* Reads the output size and the DPI scale; reopens the fonts if the scale changed (a move between screens). */
static void update_size(struct view *v)
{
	if (!v->win)
		return;
	int ow = 0, oh = 0, ww = 0, wh = 0;
	SDL_GetRendererOutputSize(v->main.r, &ow, &oh);
	SDL_GetWindowSize(v->win, &ww, &wh);
	if (ow <= 0 || oh <= 0 || ww <= 0)
		return;
	v->main.w = ow;
	v->main.h = oh;
	float scale = (float)ow / (float)ww;
	v->scale = scale;
	if (fabsf(scale - v->font_scale) > 0.01f) {
		char err[256];
		TTF_Font *old[FONT_COUNT];
		memcpy(old, v->font, sizeof old);
		memset(v->font, 0, sizeof v->font);
		if (fonts_open(v, scale, err, sizeof err) == 0) {
			for (int i = 0; i < FONT_COUNT; i++)
				TTF_CloseFont(old[i]);
			text_cache_flush(&v->main);
		} else {
			memcpy(v->font, old, sizeof old); /* keep the old size: blurry beats nothing */
		}
	}
}

/* ---- Layout ------------------------------------------------------------------------------ */

static void layout_compute(struct layout *L, int w, int h, float s, uint32_t npeers, const int *line_h)
{
	memset(L, 0, sizeof *L);
	L->w = w;
	L->h = h;
	L->scale = s;
	L->npeers = npeers > VIEW_MAX_PEERS ? VIEW_MAX_PEERS : npeers;
	int top_h = (int)lroundf(44 * s);
	int strip_h = (int)clampf(0.25f * (float)h, 150 * s, 240 * s);
	int mesh_w = (int)(0.44f * (float)w);
	L->top = (SDL_Rect){ 0, 0, w, top_h };
	L->strip = (SDL_Rect){ 0, h - strip_h, w, strip_h };
	L->mesh = (SDL_Rect){ 0, top_h, mesh_w, h - top_h - strip_h };
	L->panels = (SDL_Rect){ mesh_w, top_h, w - mesh_w, h - top_h - strip_h };
	int gap = (int)lroundf(8 * s);
	int info_w = (int)clampf(0.2f * (float)w, 200 * s, 300 * s);
	L->info = (SDL_Rect){ gap, L->strip.y + gap, info_w, strip_h - 2 * gap };
	int gx = info_w + 2 * gap, gw = (w - gx - gap - 2 * gap) / 3;
	for (int i = 0; i < 3; i++)
		L->graph[i] = (SDL_Rect){ gx + i * (gw + gap), L->strip.y + gap, gw, strip_h - 2 * gap };

	/* The mesh: node 0 at the top, clockwise; room left outside the circle for the labels. */
	L->node_r = 9 * s;
	L->cx = (float)L->mesh.x + (float)L->mesh.w / 2;
	L->cy = (float)L->mesh.y + (float)L->mesh.h / 2;
	float rx = (float)L->mesh.w / 2 - 128 * s, ry = (float)L->mesh.h / 2 - 40 * s;
	L->radius = rx < ry ? rx : ry;
	if (L->radius < 30 * s)
		L->radius = 30 * s;
	for (uint32_t k = 0; k < L->npeers; k++) {
		double a = -M_PI / 2 + 2 * M_PI * k / (L->npeers ? L->npeers : 1);
		L->nx[k] = L->cx + L->radius * (float)cos(a);
		L->ny[k] = L->cy + L->radius * (float)sin(a);
	}

	/* Small multiples: the grid that gives the largest game field under a three-line header. */
	int pad = (int)lroundf(4 * s);
	L->header_h = 3 * (line_h ? line_h[FONT_SMALL] : (int)lroundf(13 * s)) + 2 * pad;
	L->cols = L->rows = 1;
	L->field = 0;
	uint32_t n = L->npeers ? L->npeers : 1;
	for (uint32_t c = 1; c <= n; c++) {
		uint32_t r = (n + c - 1) / c;
		int cw = (L->panels.w - pad) / (int)c, ch = (L->panels.h - pad) / (int)r;
		int f = cw - 3 * pad;
		if (ch - L->header_h - 2 * pad < f)
			f = ch - L->header_h - 2 * pad;
		if (f > L->field || c == 1) {
			L->field = f;
			L->cols = (int)c;
			L->rows = (int)r;
			L->cell_w = cw;
			L->cell_h = ch;
		}
	}
	if (L->field < 0)
		L->field = 0;
}

static void panel_rect(const struct layout *L, uint32_t k, SDL_Rect *out)
{
	int pad = (int)lroundf(4 * L->scale);
	int c = (int)k % L->cols, r = (int)k / L->cols;
	*out = (SDL_Rect){ L->panels.x + pad + c * L->cell_w, L->panels.y + pad + r * L->cell_h, L->cell_w - pad,
			   L->cell_h - pad };
}

/* The drawn line of link from->to: between the node rims, offset to the right of travel so both directions show. */
static struct seg link_seg(const struct layout *L, uint32_t from, uint32_t to)
{
	float ax = L->nx[from], ay = L->ny[from], bx = L->nx[to], by = L->ny[to];
	float dx = bx - ax, dy = by - ay, len = sqrtf(dx * dx + dy * dy);
	if (len < 1e-3f)
		return (struct seg){ ax, ay, bx, by };
	float ux = dx / len, uy = dy / len, off = 3 * L->scale, rim = L->node_r + 2 * L->scale;
	float ox = -uy * off, oy = ux * off; /* right of travel, y growing downwards */
	return (struct seg){ ax + ux * rim + ox, ay + uy * rim + oy, bx - ux * rim + ox, by - uy * rim + oy };
}

/* Brings v->L and v->seg up to date for an image of w x h and npeers. */
static void layout_update(struct view *v, int w, int h, uint32_t npeers)
{
	if (npeers > VIEW_MAX_PEERS)
		npeers = VIEW_MAX_PEERS;
	if (v->layout_valid && v->L.w == w && v->L.h == h && v->L.scale == v->scale && v->L.npeers == npeers)
		return;
	layout_compute(&v->L, w, h, v->scale, npeers, v->line_h);
	for (uint32_t i = 0; i < npeers; i++)
		for (uint32_t j = 0; j < npeers; j++)
			v->seg[i * npeers + j] = link_seg(&v->L, i, j);
	v->layout_valid = true;
	v->layout_gen++;
}

/* ---- Snapshots ---------------------------------------------------------------------------- */

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Copies what src uses into dst, counts clamped to the arrays; netcode is copied into buf. */
static void snapshot_copy(struct view_snapshot *dst, const struct view_snapshot *src, char *buf, size_t buflen)
{
	dst->t_s = src->t_s;
	dst->duration_s = src->duration_s;
	snprintf(buf, buflen, "%s", src->netcode ? src->netcode : "");
	dst->netcode = buf;
	dst->seed = src->seed;
	dst->npeers = min_u32(src->npeers, VIEW_MAX_PEERS);
	memcpy(dst->peer, src->peer, sizeof dst->peer[0] * dst->npeers);
	for (uint32_t k = 0; k < dst->npeers; k++) {
		struct view_peer *p = &dst->peer[k];
		p->addr[sizeof p->addr - 1] = 0;
		p->nships = (uint8_t)min_u32(p->nships, VIEW_MAX_SHIPS);
		p->nbullets = (uint8_t)min_u32(p->nbullets, VIEW_MAX_BULLETS);
	}
	dst->nlinks = min_u32(src->nlinks, VIEW_MAX_LINKS);
	memcpy(dst->link, src->link, sizeof dst->link[0] * dst->nlinks);
	dst->ndots = min_u32(src->ndots, VIEW_MAX_DOTS);
	dst->dots_hidden = src->dots_hidden;
	memcpy(dst->dot, src->dot, sizeof dst->dot[0] * dst->ndots);
	dst->nmarks = min_u32(src->nmarks, VIEW_MAX_MARKS);
	memcpy(dst->mark, src->mark, sizeof dst->mark[0] * dst->nmarks);
	dst->nevents = min_u32(src->nevents, VIEW_MAX_EVENTS);
	memcpy(dst->event, src->event, sizeof dst->event[0] * dst->nevents);
	for (uint32_t i = 0; i < dst->nevents; i++)
		dst->event[i].label[sizeof dst->event[i].label - 1] = 0;
	dst->desync = src->desync;
	dst->desync.peers[sizeof dst->desync.peers - 1] = 0;
	dst->desync.field[sizeof dst->desync.field - 1] = 0;
	memcpy(dst->status, src->status, sizeof dst->status);
	dst->status[sizeof dst->status - 1] = 0;
}

static const struct view_snapshot *shown(const struct view *v)
{
	return v->paused ? v->frozen : v->live;
}

static const struct view_link *find_link(const struct view_snapshot *s, uint32_t from, uint32_t to)
{
	for (uint32_t i = 0; i < s->nlinks; i++)
		if (s->link[i].from == from && s->link[i].to == to)
			return &s->link[i];
	return NULL;
}

/* ---- History ------------------------------------------------------------------------------- */

static void hist_reset(struct hist *h, uint32_t npeers)
{
	h->npeers = npeers;
	h->npairs = npeers * npeers;
	h->len = 0;
	h->head = VIEW_HIST_LEN - 1;
	memset(h->seen, 0, sizeof h->seen);
	memset(h->rb_since, 0, sizeof h->rb_since);
	h->gen++;
}

/* Takes a sample of s when VIEW_HIST_HZ says it is due. */
static void hist_ingest(struct hist *h, const struct view_snapshot *s)
{
	if (s->npeers != h->npeers || (h->len && s->t_s < h->t[h->head] - 0.5))
		hist_reset(h, s->npeers); /* another session, or a replay that started over */
	for (uint32_t k = 0; k < s->npeers; k++)
		if (s->peer[k].last_rollback > h->rb_since[k])
			h->rb_since[k] = s->peer[k].last_rollback;
	if (h->len && s->t_s < h->t[h->head] + 1.0 / VIEW_HIST_HZ - 1e-6)
		return;
	uint32_t i = (h->head + 1) % VIEW_HIST_LEN;
	h->gen++;
	h->dt[i] = h->len ? (float)(s->t_s - h->t[h->head]) : 0;
	h->t[i] = s->t_s;
	h->head = i;
	if (h->len < VIEW_HIST_LEN)
		h->len++;
	for (uint32_t k = 0; k < s->npeers; k++) {
		h->rtt[i][k] = s->peer[k].rtt_ms;
		h->rb[i][k] = (uint16_t)min_u32(h->rb_since[k], UINT16_MAX);
		h->rb_since[k] = 0;
	}
	uint16_t *dv = h->deliv + (size_t)i * h->npairs, *dr = h->drop + (size_t)i * h->npairs;
	memset(dv, 0, sizeof *dv * h->npairs);
	memset(dr, 0, sizeof *dr * h->npairs);
	uint64_t all_dv = 0, all_dr = 0;
	for (uint32_t l = 0; l < s->nlinks; l++) {
		const struct view_link *k = &s->link[l];
		if (k->from >= s->npeers || k->to >= s->npeers)
			continue;
		uint32_t p = k->from * s->npeers + k->to;
		uint64_t ddv = 0, ddr = 0;
		if (h->seen[p]) {
			/* A counter that went backwards was reset: count from the new value. */
			ddv = k->delivered >= h->prev_deliv[p] ? k->delivered - h->prev_deliv[p] : 0;
			ddr = k->dropped >= h->prev_drop[p] ? k->dropped - h->prev_drop[p] : 0;
		}
		h->seen[p] = 1;
		h->prev_deliv[p] = k->delivered;
		h->prev_drop[p] = k->dropped;
		dv[p] = (uint16_t)(ddv > UINT16_MAX ? UINT16_MAX : ddv);
		dr[p] = (uint16_t)(ddr > UINT16_MAX ? UINT16_MAX : ddr);
		all_dv += ddv;
		all_dr += ddr;
	}
	h->all_deliv[i] = (uint32_t)(all_dv > UINT32_MAX ? UINT32_MAX : all_dv);
	h->all_drop[i] = (uint32_t)(all_dr > UINT32_MAX ? UINT32_MAX : all_dr);
}

/* The ring slot of the n-th sample, oldest first. */
static uint32_t hist_slot(const struct hist *h, uint32_t n)
{
	return (h->head + VIEW_HIST_LEN - h->len + 1 + n) % VIEW_HIST_LEN;
}

/* Counts in slot i for link pair p (p < 0: all links). */
static void hist_counts(const struct hist *h, uint32_t i, int p, double *dv, double *dr)
{
	if (p < 0) {
		*dv = h->all_deliv[i];
		*dr = h->all_drop[i];
	} else {
		*dv = h->deliv[(size_t)i * h->npairs + (uint32_t)p];
		*dr = h->drop[(size_t)i * h->npairs + (uint32_t)p];
	}
}

int view_link_rates(const struct view *v, uint32_t from, uint32_t to, float *delivered_per_s, float *dropped_per_s)
{
	const struct hist *h = v->hist;
	if (from >= h->npeers || to >= h->npeers || !h->seen[from * h->npeers + to] || h->len == 0)
		return -1;
	double sv = 0, sr = 0, st = 0, now = h->t[h->head];
	for (uint32_t n = h->len; n-- > 0;) {
		uint32_t i = hist_slot(h, n);
		if (h->t[i] <= now - VIEW_RATE_WINDOW_S)
			break;
		double dv, dr;
		hist_counts(h, i, (int)(from * h->npeers + to), &dv, &dr);
		sv += dv;
		sr += dr;
		st += h->dt[i];
	}
	*delivered_per_s = st > 0 ? (float)(sv / st) : 0;
	*dropped_per_s = st > 0 ? (float)(sr / st) : 0;
	return 0;
}

/* ---- Drawing: the top bar ------------------------------------------------------------------ */

static void draw_top(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	int pad = px(v, 8), y1 = px(v, 4);
	char line[256];
	if (v->have_snapshot)
		snprintf(line, sizeof line, "loopsim   t %.1f / %.0f s   %s   seed %llu   %u peers   %u links", s->t_s,
			 s->duration_s, s->netcode && *s->netcode ? s->netcode : "-", (unsigned long long)s->seed,
			 s->npeers, s->nlinks);
	else
		snprintf(line, sizeof line, "loopsim   waiting for the session");
	uint64_t key = key_u64(key_str(KEY_SEED, line), (uint64_t)v->labels | (uint64_t)v->paused << 1);
	if (s->desync.found)
		key = key_str(key_str(key_u64(key, s->desync.frame), s->desync.peers), s->desync.field);
	else
		key = key_str(key_u64(key, 0), s->status);
	if (!region_due(full, &t->held_top, key))
		return;
	fill(t, 0, 0, L->w, L->top.h, c_top);
	text(v, t, FONT_NORMAL, line, pad, y1, c_text, &c_top, AL_LEFT);
	int x = L->w - pad;
	x -= text(v, t, FONT_NORMAL, "F1 / ? help", x, y1, c_dim, &c_top, AL_RIGHT) + px(v, 16);
	if (v->labels)
		x -= text(v, t, FONT_NORMAL, "labels", x, y1, c_dim, &c_top, AL_RIGHT) + px(v, 16);
	if (v->paused)
		text(v, t, FONT_NORMAL, "PAUSED", x, y1, c_amber, &c_top, AL_RIGHT);

	int y2 = y1 + v->line_h[FONT_NORMAL] + px(v, 2), h2 = L->top.h - y2 - px(v, 2);
	if (s->desync.found) {
		fill(t, 0, y2, L->w, h2, c_banner);
		snprintf(line, sizeof line, "DESYNC at frame %u   minority: %s", s->desync.frame,
			 s->desync.peers[0] ? s->desync.peers : "?");
		int w = text(v, t, FONT_BIG, line, pad, y2 + h2 / 2, c_white, &c_banner, AL_VCENTER);
		if (s->desync.field[0])
			text(v, t, FONT_BIG, s->desync.field, pad + w + px(v, 24), y2 + h2 / 2, c_white, &c_banner,
			     AL_VCENTER);
	} else if (s->status[0]) {
		text(v, t, FONT_NORMAL, s->status, pad, y2 + h2 / 2, c_dim, &c_top, AL_VCENTER);
	}
}

/* ---- Drawing: the mesh ------------------------------------------------------------------------ */

/*
 * Link colour: the worse of two scores, each 0 (green) .. 0.5 (yellow) .. 1 (red):
 * latency <= 30 ms green, 100 ms yellow, >= 300 ms red; loss 0% green, 2% yellow,
 * >= 10% red; linear in between. The help overlay states the same scale.
 */
static struct rgb link_colour(float latency_ms, float loss_pct)
{
	float a = latency_ms <= 30 ? 0 : latency_ms <= 100 ? 0.5f * (latency_ms - 30) / 70
							   : 0.5f + 0.5f * clampf((latency_ms - 100) / 200, 0, 1);
	float b = loss_pct <= 0 ? 0 : loss_pct <= 2 ? 0.5f * loss_pct / 2 : 0.5f + 0.5f * clampf((loss_pct - 2) / 8, 0, 1);
	float x = a > b ? a : b;
	static const struct rgb g = { 60, 200, 90 }, y = { 235, 210, 60 }, rd = { 230, 55, 45 };
	struct rgb p = x < 0.5f ? g : y, q = x < 0.5f ? y : rd;
	float f = x < 0.5f ? x * 2 : (x - 0.5f) * 2;
	return (struct rgb){ (uint8_t)(p.r + (q.r - p.r) * f), (uint8_t)(p.g + (q.g - p.g) * f),
			     (uint8_t)(p.b + (q.b - p.b) * f) };
}

static const struct seg *seg_of(const struct view *v, uint32_t from, uint32_t to)
{
	return &v->seg[from * v->L.npeers + to];
}

/* Appends the dash pixels of sg (6 on, 4 off) to v->dash; flushes when full. */
static uint32_t dash_line(struct view *v, SDL_Renderer *r, const struct seg *sg, uint32_t n)
{
	float dx = sg->x1 - sg->x0, dy = sg->y1 - sg->y0, len = sqrtf(dx * dx + dy * dy);
	int steps = (int)len;
	float step = 6 * v->scale, period = 10 * v->scale;
	for (int i = 0; i <= steps; i++) {
		if (fmodf((float)i, period) >= step)
			continue;
		if (n == DASH_POINTS) {
			SDL_RenderDrawPointsF(r, v->dash, (int)n);
			n = 0;
		}
		float f = steps ? (float)i / (float)steps : 0;
		v->dash[n++] = (SDL_FPoint){ sg->x0 + dx * f, sg->y0 + dy * f };
	}
	return n;
}

static void draw_node_label(struct view *v, struct target *t, const struct view_snapshot *s, uint32_t k)
{
	const struct layout *L = &v->L;
	float ux = L->nx[k] - L->cx, uy = L->ny[k] - L->cy, len = sqrtf(ux * ux + uy * uy);
	if (len > 0) {
		ux /= len;
		uy /= len;
	}
	float d = L->node_r + 5 * v->scale;
	int ax = (int)lroundf(L->nx[k] + ux * d), ay = (int)lroundf(L->ny[k] + uy * d);
	int h = v->line_h[FONT_NORMAL] + v->line_h[FONT_SMALL];
	int align = ux > 0.35f ? AL_LEFT : ux < -0.35f ? AL_RIGHT : AL_CENTER;
	int y = uy > 0.35f ? ay : uy < -0.35f ? ay - h : ay - h / 2;
	char idx[32];
	snprintf(idx, sizeof idx, "%u%s", s->peer[k].index, s->peer[k].alive ? "" : " exited");
	text(v, t, FONT_NORMAL, idx, ax, y, rgb_of(view_peer_rgb(k)), &c_bg, align);
	text(v, t, FONT_SMALL, s->peer[k].addr[0] ? s->peer[k].addr : "?", ax, y + v->line_h[FONT_NORMAL], c_dim,
	     &c_bg, align);
}

/*
 * The mesh is two layers. The still one (links, the selected link, node
 * labels, the legend) changes only with the links' conditions, the
 * selection or the peers' names; what moves (drop marks, dots, their
 * letters, the nodes drawn over the dots, the hidden-packet count) changes
 * every frame, inside two rects: the nodes' box and the count's line.
 * Retained, the still layer is drawn once into the target and saved (the
 * moving rects only) into target->base; every later frame copies those rects
 * back and draws what moves over them.
 */

/* The key of the still layer: everything draw_mesh_still() reads. */
static uint64_t mesh_key(const struct view *v, const struct view_snapshot *s)
{
	uint32_t n = v->L.npeers;
	uint64_t h = key_u64(KEY_SEED, (uint64_t)n << 1 | v->labels); /* letters widen where things move */
	for (uint32_t i = 0; i < s->nlinks; i++) {
		const struct view_link *k = &s->link[i];
		struct rgb c = link_colour(k->latency_ms, k->loss_pct);
		h = key_u64(h, (uint64_t)k->from << 48 | (uint64_t)k->to << 32 | (uint64_t)k->cut << 24 |
				       (uint64_t)c.r << 16 | (uint64_t)c.g << 8 | c.b);
	}
	h = key_u64(h, v->sel == SEL_LINK ? (uint64_t)1 << 40 | (uint64_t)v->sel_from << 20 | v->sel_to : 0);
	for (uint32_t k = 0; k < n; k++)
		h = key_str(key_u64(h, (uint64_t)s->peer[k].index << 1 | s->peer[k].alive), s->peer[k].addr);
	return h;
}

/*
 * Where what moves is drawn: within radius m of the mesh's centre (dots and
 * marks lie between the nodes; rings around them; letters, when shown,
 * beside the dots), clipped to [0], the square around that disc; and [1],
 * the hidden-packet count's line. Returns m.
 */
static float mesh_moving_rects(const struct view *v, SDL_Rect out[2])
{
	const struct layout *L = &v->L;
	float m = L->radius + L->node_r + 10 * v->scale + (v->labels ? (float)v->line_h[FONT_SMALL] + 4 * v->scale : 0);
	SDL_Rect box = { (int)floorf(L->cx - m), (int)floorf(L->cy - m), (int)ceilf(2 * m) + 1, (int)ceilf(2 * m) + 1 };
	SDL_Rect line = { L->mesh.x, L->mesh.y, L->mesh.w, px(v, 12) + v->line_h[FONT_NORMAL] }; /* descenders too */
	if (!SDL_IntersectRect(&box, &L->mesh, &out[0]))
		out[0] = (SDL_Rect){ L->mesh.x, L->mesh.y, 0, 0 };
	if (!SDL_IntersectRect(&line, &L->mesh, &out[1]))
		out[1] = (SDL_Rect){ L->mesh.x, L->mesh.y, 0, 0 };
	return m;
}

/* Copies rect rc of src into dst (surfaces of one size and format), after what the renderer has queued;
 * with m > 0, only the part of rc within m of (cx, cy) and a pixel more. */
static void copy_rect(struct target *t, SDL_Surface *dst, SDL_Surface *src, SDL_Rect rc, float cx, float cy, float m)
{
	SDL_RenderFlush(t->r);
	for (int j = 0; j < rc.h; j++) {
		int x0 = rc.x, x1 = rc.x + rc.w, y = rc.y + j;
		if (m > 0) {
			float dy = fabsf((float)y + 0.5f - cy) - 1, h = dy > 0 ? m * m - dy * dy : m * m;
			if (h < 0)
				continue;
			float half = sqrtf(h) + 1;
			x0 = (int)floorf(cx - half) > x0 ? (int)floorf(cx - half) : x0;
			x1 = (int)ceilf(cx + half) < x1 ? (int)ceilf(cx + half) : x1;
			if (x0 >= x1)
				continue;
		}
		memcpy(pixel_at(dst, x0, y), pixel_at(src, x0, y), (size_t)(x1 - x0) * 4);
	}
}

static void draw_mesh_still(struct view *v, struct target *t, const struct view_snapshot *s)
{
	const struct layout *L = &v->L;
	SDL_Renderer *r = t->r;
	uint32_t n = L->npeers;
	fill(t, L->mesh.x, L->mesh.y, L->mesh.w, L->mesh.h, c_bg);

	/* Links: each direction its own line, coloured by its conditions; cut ones dashed grey. */
	uint32_t nd = 0;
	for (uint32_t i = 0; i < s->nlinks; i++) {
		const struct view_link *k = &s->link[i];
		if (k->from >= n || k->to >= n || k->from == k->to)
			continue;
		const struct seg *sg = seg_of(v, k->from, k->to);
		if (k->cut) {
			nd = dash_line(v, r, sg, nd);
		} else {
			colour(r, link_colour(k->latency_ms, k->loss_pct), 255);
			SDL_RenderDrawLineF(r, sg->x0, sg->y0, sg->x1, sg->y1);
		}
	}
	if (nd) {
		colour(r, c_cut, 255);
		SDL_RenderDrawPointsF(r, v->dash, (int)nd);
	}
	if (v->sel == SEL_LINK && v->sel_from < n && v->sel_to < n) {
		const struct seg *sg = seg_of(v, v->sel_from, v->sel_to);
		const struct view_link *k = find_link(s, v->sel_from, v->sel_to);
		colour(r, c_white, 255);
		thick_line(r, sg->x0, sg->y0, sg->x1, sg->y1, px(v, 5) | 1);
		colour(r, k && !k->cut ? link_colour(k->latency_ms, k->loss_pct) : c_cut, 255);
		thick_line(r, sg->x0, sg->y0, sg->x1, sg->y1, px(v, 1));
	}

	for (uint32_t k = 0; k < n; k++)
		draw_node_label(v, t, s, k);

	/* Legend. */
	int pad = px(v, 8);
	int x = L->mesh.x + pad, y = L->mesh.y + L->mesh.h - pad - v->line_h[FONT_SMALL];
	int sq = px(v, 6), yc = y + v->line_h[FONT_SMALL] / 2;
	for (int k = 0; k < 4; k++) {
		fill(t, x, yc - sq / 2, sq, sq, c_dot[k]);
		x += sq + px(v, 3);
		x += text(v, t, FONT_SMALL, dot_kind_name[k], x, y, c_dim, &c_bg, AL_LEFT) + px(v, 10);
	}
	colour(r, c_red, 255);
	thick_line(r, (float)x, (float)(yc - sq / 2), (float)(x + sq), (float)(yc + sq / 2), px(v, 2));
	thick_line(r, (float)x, (float)(yc + sq / 2), (float)(x + sq), (float)(yc - sq / 2), px(v, 2));
	x += sq + px(v, 3);
	x += text(v, t, FONT_SMALL, "dropped", x, y, c_dim, &c_bg, AL_LEFT) + px(v, 10);
	struct seg cut = { (float)x, (float)yc, (float)(x + px(v, 16)), (float)yc };
	nd = dash_line(v, r, &cut, 0);
	colour(r, c_cut, 255);
	SDL_RenderDrawPointsF(r, v->dash, (int)nd);
	x += px(v, 19);
	text(v, t, FONT_SMALL, "cut", x, y, c_dim, &c_bg, AL_LEFT);
}

static void draw_mesh_moving(struct view *v, struct target *t, const struct view_snapshot *s, const SDL_Rect rc[2])
{
	const struct layout *L = &v->L;
	uint32_t n = L->npeers;
	clip_set(t, &rc[0]);

	/* Drops: red crosses at the middle of their link, fading with age. */
	float arm = 5 * v->scale;
	for (uint32_t i = 0; i < s->nmarks; i++) {
		const struct view_mark *m = &s->mark[i];
		if (m->from >= n || m->to >= n || m->from == m->to || !(m->age_s < VIEW_MARK_FADE_S))
			continue;
		float a = 1 - clampf(m->age_s, 0, VIEW_MARK_FADE_S) / VIEW_MARK_FADE_S;
		const struct seg *sg = seg_of(v, m->from, m->to);
		float x = sg->x0 + (sg->x1 - sg->x0) * VIEW_MARK_AT, y = sg->y0 + (sg->y1 - sg->y0) * VIEW_MARK_AT;
		thick_line_blend(t, x - arm, y - arm, x + arm, y + arm, px(v, 2), c_red, (uint8_t)(255 * a));
		thick_line_blend(t, x - arm, y + arm, x + arm, y - arm, px(v, 2), c_red, (uint8_t)(255 * a));
	}

	/* Packets in flight: one batch of squares per kind; letters by them when asked for. */
	uint32_t cnt[4] = { 0 }, nlabels = 0;
	float d = 3 * v->scale, half = d / 2;
	for (uint32_t i = 0; i < s->ndots; i++) {
		const struct view_dot *dt = &s->dot[i];
		if (dt->from >= n || dt->to >= n || dt->from == dt->to)
			continue;
		const struct seg *sg = seg_of(v, dt->from, dt->to);
		float f = clampf(dt->progress, 0, 1);
		float x = sg->x0 + (sg->x1 - sg->x0) * f, y = sg->y0 + (sg->y1 - sg->y0) * f;
		uint32_t kind = dt->kind < 4 ? dt->kind : 0;
		v->dot_rect[kind][cnt[kind]++] = rect_of(x - half, y - half, d, d);
	}
	for (int k = 0; k < 4; k++)
		fill_rects(t, v->dot_rect[k], (int)cnt[k], c_dot[k]);
	if (v->labels) {
		for (uint32_t i = 0; i < s->ndots && nlabels < MAX_LABELS; i++) {
			const struct view_dot *dt = &s->dot[i];
			if (dt->from >= n || dt->to >= n || dt->from == dt->to || dt->label == VIEW_LABEL_NONE ||
			    dt->label > VIEW_LABEL_PING)
				continue;
			const struct seg *sg = seg_of(v, dt->from, dt->to);
			float f = clampf(dt->progress, 0, 1);
			int x = (int)lroundf(sg->x0 + (sg->x1 - sg->x0) * f + d);
			int y = (int)lroundf(sg->y0 + (sg->y1 - sg->y0) * f);
			text(v, t, FONT_SMALL, label_letter[dt->label], x, y, c_dot[dt->kind < 4 ? dt->kind : 0], NULL,
			     AL_BOTTOM);
			nlabels++;
		}
	}

	/* Nodes on top: player colour; rings for the desync minority, the selection and the flown ship. */
	for (uint32_t k = 0; k < n; k++) {
		const struct view_peer *p = &s->peer[k];
		float x = L->nx[k], y = L->ny[k], rad = L->node_r;
		if (p->minority)
			ring(v, t, x, y, rad + 7 * v->scale, 3 * v->scale, c_red);
		if (v->sel == SEL_PEER && v->sel_peer == k)
			ring(v, t, x, y, rad + 4 * v->scale, 2 * v->scale, c_white);
		if (v->ctl_peer == (int)k || p->human)
			ring(v, t, x, y, rad + 2 * v->scale, 1.5f * v->scale, c_amber);
		disc(v, t, x, y, rad, p->alive ? rgb_of(view_peer_rgb(k)) : c_cut);
	}

	/* Burst sampling says so, with the count. */
	if (s->dots_hidden) {
		char line[64];
		snprintf(line, sizeof line, "%u packets not drawn", s->dots_hidden);
		clip_set(t, &rc[1]);
		text(v, t, FONT_NORMAL, line, L->mesh.x + px(v, 8), L->mesh.y + px(v, 8), c_amber, &c_bg, AL_LEFT);
	}
	clip_set(t, NULL);
}

static void draw_mesh(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	SDL_Rect moving[2];
	float m = mesh_moving_rects(v, moving), cx = v->L.cx, cy = v->L.cy;
	if (region_due(full, &t->held_mesh, mesh_key(v, s))) {
		clip_set(t, &v->L.mesh);
		draw_mesh_still(v, t, s);
		clip_set(t, NULL);
		if (t->surface) {
			copy_rect(t, t->base, t->surface, moving[0], cx, cy, m);
			copy_rect(t, t->base, t->surface, moving[1], 0, 0, 0);
		}
	} else {
		copy_rect(t, t->surface, t->base, moving[0], cx, cy, m);
		copy_rect(t, t->surface, t->base, moving[1], 0, 0, 0);
	}
	draw_mesh_moving(v, t, s, moving);
}

/* ---- Drawing: each peer's own game --------------------------------------------------------- */

static void ship_tri(SDL_Vertex *out, float x, float y, float size, uint16_t angle, struct rgb c)
{
	float a = (float)(angle & 1023) * (float)(2 * M_PI / 1024);
	float pts[3][2] = { { x + size * cosf(a), y + size * sinf(a) },
			    { x + 0.75f * size * cosf(a + 2.45f), y + 0.75f * size * sinf(a + 2.45f) },
			    { x + 0.75f * size * cosf(a - 2.45f), y + 0.75f * size * sinf(a - 2.45f) } };
	for (int i = 0; i < 3; i++)
		out[i] = (SDL_Vertex){ { pts[i][0], pts[i][1] }, { c.r, c.g, c.b, 255 }, { 0, 0 } };
}

static float field_coord(int32_t fx)
{
	float u = (float)fx / 65536.0f;
	u = fmodf(u, 1000.0f);
	return u < 0 ? u + 1000.0f : u;
}

/*
 * Peer k's game in field f. Retained (ink), a field is erased where it was
 * drawn into last frame, not filled whole: bullets and ships cover a few
 * percent of it.
 */
static void draw_game(struct view *v, struct target *t, uint32_t k, const struct view_peer *p, SDL_Rect f, bool whole)
{
	SDL_Renderer *r = t->r;
	struct ink *ink = t->ink ? &t->ink[k] : NULL;
	clip_set(t, &f);
	if (whole || !ink)
		fill(t, f.x, f.y, f.w, f.h, c_field);
	else
		fill_rects(t, ink->rc, ink->n, c_field);
	float kf = (float)f.w / 1000.0f;

	/* Bullets: one batch per owner. */
	uint32_t cnt[VIEW_MAX_SHIPS] = { 0 };
	float b = clampf(2 * v->scale, 1, 3 * v->scale);
	for (uint32_t i = 0; i < p->nbullets; i++) {
		const struct view_bullet *bl = &p->bullet[i];
		uint32_t o = bl->owner % VIEW_MAX_SHIPS;
		float x = (float)f.x + field_coord(bl->x) * kf, y = (float)f.y + field_coord(bl->y) * kf;
		v->bullet[o][cnt[o]++] = rect_of(x - b / 2, y - b / 2, b, b);
	}
	int n = 0;
	for (uint32_t o = 0; o < VIEW_MAX_SHIPS; o++) {
		fill_rects(t, v->bullet[o], (int)cnt[o], rgb_of(view_peer_rgb(o)));
		if (ink)
			for (uint32_t i = 0; i < cnt[o]; i++)
				ink->rc[n++] = v->bullet[o][i];
	}

	/* Ships: triangles pointing by angle; a ship near an edge is drawn again across it (the field wraps). */
	int nv = 0;
	float size = clampf(0.045f * (float)f.w, 4 * v->scale, 14 * v->scale);
	for (uint32_t i = 0; i < p->nships; i++) {
		const struct view_ship *sh = &p->ship[i];
		struct rgb c = sh->alive ? rgb_of(view_peer_rgb(i)) : (struct rgb){ 70, 72, 80 };
		float x = (float)f.x + field_coord(sh->x) * kf, y = (float)f.y + field_coord(sh->y) * kf;
		float wx[2] = { x, x }, wy[2] = { y, y };
		int nx = 1, ny = 1;
		if (x - (float)f.x < size)
			wx[nx++] = x + (float)f.w;
		else if ((float)(f.x + f.w) - x < size)
			wx[nx++] = x - (float)f.w;
		if (y - (float)f.y < size)
			wy[ny++] = y + (float)f.h;
		else if ((float)(f.y + f.h) - y < size)
			wy[ny++] = y - (float)f.h;
		for (int a = 0; a < nx; a++)
			for (int bb = 0; bb < ny; bb++) {
				ship_tri(&v->vert[nv], wx[a], wy[bb], size, sh->angle, c);
				if (ink)
					ink->rc[n++] = triangle_box(&v->vert[nv]);
				nv += 3;
			}
	}
	if (ink)
		ink->n = n;
	if (t->surface) {
		SDL_RenderFlush(r);
		for (int i = 0; i < nv; i += 3) {
			const SDL_Color *c = &v->vert[i].color;
			fill_triangle(t, &v->vert[i], SDL_MapRGB(t->surface->format, c->r, c->g, c->b));
		}
	} else if (nv) {
		SDL_RenderGeometry(r, NULL, v->vert, nv, NULL, 0);
	}
	clip_set(t, NULL);
}

/* The three header lines of a peer's panel: what they say, and their keys. */
struct header {
	char title[32], badge[8], frames[48], rb[96];
	const char *flag;
	bool you, ok;
};

static void header_of(struct view *v, const struct view_peer *p, int room, struct header *hd)
{
	snprintf(hd->title, sizeof hd->title, "peer %u", p->index);
	hd->flag = !p->alive ? "EXITED" : p->stalled ? "STALL" : "";
	hd->you = p->human;
	hd->ok = p->checksum_ok;
	snprintf(hd->badge, sizeof hd->badge, "%04x", (unsigned)(p->checksum >> 48));
	snprintf(hd->frames, sizeof hd->frames, "f %u  c %u", p->frame, p->confirmed);
	snprintf(hd->rb, sizeof hd->rb, "rb %.1f/s d%u  rtt %.0f", p->rollbacks_per_s, p->last_rollback, p->rtt_ms);
	if (text_width(v, FONT_SMALL, hd->rb) > room) /* narrow panels: RTT is in the graphs */
		snprintf(hd->rb, sizeof hd->rb, "rb %.1f/s d%u", p->rollbacks_per_s, p->last_rollback);
}

static uint64_t header_key(const struct header *hd, int line)
{
	if (line == 1)
		return key_str(KEY_SEED, hd->frames);
	if (line == 2)
		return key_str(KEY_SEED, hd->rb);
	uint64_t h = key_str(key_str(key_str(KEY_SEED, hd->title), hd->flag), hd->badge);
	return key_u64(h, (uint64_t)hd->you << 1 | hd->ok);
}

/* Line `line` of peer k's header, inside (and clipped to) rc. */
static void draw_header_line(struct view *v, struct target *t, uint32_t k, const struct header *hd, int line,
			     SDL_Rect rc)
{
	int x = rc.x, y = rc.y;
	clip_set(t, &rc);
	if (line == 0) {
		x += text(v, t, FONT_SMALL, hd->title, x, y, rgb_of(view_peer_rgb(k)), &c_panel, AL_LEFT) + px(v, 6);
		if (hd->flag[0])
			x += text(v, t, FONT_SMALL, hd->flag, x, y, hd->flag[0] == 'E' ? c_bad : c_amber, &c_panel,
				  AL_LEFT) +
			     px(v, 6);
		if (hd->you)
			text(v, t, FONT_SMALL, "you", x, y, c_amber, &c_panel, AL_LEFT);
		int bw = text_width(v, FONT_SMALL, hd->badge) + px(v, 6), bx = rc.x + rc.w - bw;
		fill(t, bx, y, bw, v->line_h[FONT_SMALL], hd->ok ? c_ok : c_bad);
		text(v, t, FONT_SMALL, hd->badge, bx + px(v, 3), y, hd->ok ? (struct rgb){ 0, 0, 0 } : c_white,
		     hd->ok ? &c_ok : &c_bad, AL_LEFT);
	} else {
		text(v, t, FONT_SMALL, line == 1 ? hd->frames : hd->rb, x, y, c_text, &c_panel, AL_LEFT);
	}
	clip_set(t, NULL);
}

/*
 * Each panel is retained in parts: its background and border (drawn again
 * when the border changes: desync, selection), each header line (when it
 * says something else: the frame counter, every frame) and its game (every
 * frame, erased where it was drawn: the ships move).
 */
static void draw_panels(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	int pad = px(v, 4), lh = v->line_h[FONT_SMALL];
	for (uint32_t k = 0; k < L->npeers; k++) {
		const struct view_peer *p = &s->peer[k];
		SDL_Rect rc;
		panel_rect(L, k, &rc);
		int bt = p->minority ? px(v, VIEW_DESYNC_BORDER_PX) : v->sel == SEL_PEER && v->sel_peer == k ? px(v, 2) : 1;
		struct rgb bc = p->minority ? c_red : bt > 1 ? c_white : c_frame;
		bool game = p->has_game && L->field > 8;
		bool redo = region_due(full, &t->held_panel[k], key_rgb(key_u64(KEY_SEED, (uint64_t)bt << 1 | game), bc));
		if (redo)
			fill(t, rc.x, rc.y, rc.w, rc.h, c_panel);

		/* The header lies between the border and the game field: a line each, the last to the field. */
		SDL_Rect hr = { rc.x + pad, rc.y + pad, rc.w - 2 * pad, L->header_h - pad - 1 };
		struct header hd;
		header_of(v, p, hr.w, &hd);
		for (int i = 0; i < 3; i++) {
			SDL_Rect lr = { hr.x, hr.y + i * lh, hr.w, i < 2 ? lh : hr.h - 2 * lh };
			if (!region_due(redo, &t->held_line[k][i], header_key(&hd, i)))
				continue;
			if (i > 0) {
				/* Lines 2 and 3 are one string each: changed where they differ, when that can be done. */
				char *was = t->held_text[k][i - 1];
				const char *now = i == 1 ? hd.frames : hd.rb;
				clip_set(t, &lr);
				bool changed = !redo && text_change(v, t, FONT_SMALL, was, now, lr.x, lr.y, c_text, c_panel, lr.h);
				clip_set(t, NULL);
				snprintf(was, sizeof t->held_text[k][i - 1], "%s", now);
				if (changed)
					continue;
			}
			if (!redo)
				fill(t, lr.x, lr.y, lr.w, lr.h, c_panel);
			draw_header_line(v, t, k, &hd, i, lr);
		}

		/* The game draws only inside its field, so the frames around it stay; a field that reached into the
		 * header (layout_compute leaves room, this does not rely on it) is drawn whole, frames and all. */
		bool framed = redo;
		if (game) {
			int fw = L->field;
			SDL_Rect f = { rc.x + (rc.w - fw) / 2, rc.y + L->header_h, fw, fw };
			if (f.y + f.h > rc.y + rc.h - pad)
				f.y = rc.y + rc.h - pad - f.h;
			framed = redo || f.y <= hr.y + hr.h;
			draw_game(v, t, k, p, f, framed);
			if (framed)
				border(t, (SDL_Rect){ f.x - 1, f.y - 1, f.w + 2, f.h + 2 }, 1, c_frame);
		}
		if (framed)
			border(t, rc, bt, bc);
	}
}

/* ---- Drawing: the strip (selection and graphs) --------------------------------------------- */

/* The selection's box: its lines, then the flown peer's at the bottom. */
#define INFO_LINES 10
struct info {
	int n;
	struct rgb c[INFO_LINES];
	char s[INFO_LINES][128];
	bool flying; /* the last line goes at the bottom */
};

static void info_line(struct info *in, struct rgb c, const char *s)
{
	if (in->n == INFO_LINES)
		return;
	in->c[in->n] = c;
	snprintf(in->s[in->n++], sizeof in->s[0], "%s", s);
}

static void info_of(struct view *v, const struct view_snapshot *s, struct info *in)
{
	char line[128];
	in->n = 0;
	in->flying = false;
	if (v->sel == SEL_LINK && find_link(s, v->sel_from, v->sel_to)) {
		const struct view_link *k = find_link(s, v->sel_from, v->sel_to);
		snprintf(line, sizeof line, "link %u -> %u%s", k->from, k->to, k->cut ? "   CUT" : "");
		info_line(in, k->cut ? c_amber : c_text, line);
		snprintf(line, sizeof line, "latency %.1f ms  jitter %.1f ms", k->latency_ms, k->jitter_ms);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "loss %.2f %%", k->loss_pct);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "sent %llu", (unsigned long long)k->sent);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "delivered %llu  dropped %llu", (unsigned long long)k->delivered,
			 (unsigned long long)k->dropped);
		info_line(in, c_text, line);
		float dv, dr;
		if (view_link_rates(v, k->from, k->to, &dv, &dr) == 0) {
			snprintf(line, sizeof line, "now %.0f/s delivered, %.0f/s dropped", dv, dr);
			info_line(in, c_text, line);
		}
		snprintf(line, sizeof line, "delay p50 %.1f ms  p99 %.1f ms", k->p50_ms, k->p99_ms);
		info_line(in, c_text, line);
		info_line(in, c_dim, "Up/Down Left/Right [ ] x (Shift: both)");
	} else if (v->sel == SEL_PEER && v->sel_peer < s->npeers) {
		const struct view_peer *p = &s->peer[v->sel_peer];
		snprintf(line, sizeof line, "peer %u  %s", p->index, p->addr);
		info_line(in, rgb_of(view_peer_rgb(v->sel_peer)), line);
		snprintf(line, sizeof line, "frame %u  confirmed %u", p->frame, p->confirmed);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "rtt %.1f ms", p->rtt_ms);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "rollbacks %.1f/s  last depth %u", p->rollbacks_per_s, p->last_rollback);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "checksum %016llx %s", (unsigned long long)p->checksum,
			 p->checksum_ok ? "ok" : "DIFFERS");
		info_line(in, p->checksum_ok ? c_text : c_bad, line);
		snprintf(line, sizeof line, "%s%s%s", !p->alive ? "process exited  " : p->stalled ? "stalled  " : "",
			 p->minority ? "desync minority  " : "", p->human ? "flown by you" : "");
		info_line(in, c_amber, line);
	} else {
		info_line(in, c_text, "nothing selected");
		info_line(in, c_dim, "click a node, a link or a panel");
		info_line(in, c_dim, "F1 or ? lists every control");
	}
	if (v->ctl_peer >= 0) {
		snprintf(line, sizeof line, "flying peer %d: W A D, Space", v->ctl_peer);
		info_line(in, c_amber, line);
		in->flying = true;
	}
}

static void draw_info(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	struct info in;
	info_of(v, s, &in);
	uint64_t key = key_u64(KEY_SEED, (uint64_t)in.n << 1 | in.flying);
	for (int i = 0; i < in.n; i++)
		key = key_str(key_rgb(key, in.c[i]), in.s[i]);
	if (!region_due(full, &t->held_info, key))
		return;
	fill(t, L->info.x, L->info.y, L->info.w, L->info.h, c_panel);
	border(t, L->info, 1, c_frame);
	clip_set(t, &L->info);
	int lh = v->line_h[FONT_SMALL], y = L->info.y + px(v, 4);
	for (int i = 0; i < in.n; i++, y += lh) {
		if (in.flying && i == in.n - 1)
			y = L->info.y + L->info.h - px(v, 4) - lh;
		text(v, t, FONT_SMALL, in.s[i], L->info.x + px(v, 6), y, in.c[i], &c_panel, AL_LEFT);
	}
	clip_set(t, NULL);
}

struct plot {
	SDL_Rect area; /* the plot inside the graph's frame */
	double t0, t1, ymax;
};

static float plot_x(const struct plot *pl, double t)
{
	return (float)pl->area.x + (float)((t - pl->t0) / (pl->t1 - pl->t0)) * (float)pl->area.w;
}

static float plot_y(const struct plot *pl, double y)
{
	double f = y / pl->ymax;
	if (f > 1)
		f = 1;
	return (float)(pl->area.y + pl->area.h) - (float)f * (float)pl->area.h;
}

/* The graph's frame, title and axis; sets pl->area. */
static void graph_frame(struct view *v, struct target *t, SDL_Rect g, const char *title, struct plot *pl)
{
	SDL_Renderer *r = t->r;
	fill(t, g.x, g.y, g.w, g.h, c_panel);
	border(t, g, 1, c_frame);
	int lh = v->line_h[FONT_SMALL], pad = px(v, 4);
	pl->area = (SDL_Rect){ g.x + pad, g.y + lh + pad, g.w - 2 * pad, g.h - 2 * lh - 2 * pad };
	char line[32];
	snprintf(line, sizeof line, "%g", pl->ymax);
	int yw = text(v, t, FONT_SMALL, line, g.x + g.w - pad, g.y + pad / 2, c_dim, &c_panel, AL_RIGHT);
	/* The title gives way to the scale in a narrow window. */
	clip_set(t, &(SDL_Rect){ g.x, g.y, g.w - yw - 3 * pad, lh + pad });
	text(v, t, FONT_SMALL, title, g.x + pad, g.y + pad / 2, c_text, &c_panel, AL_LEFT);
	clip_set(t, NULL);
	snprintf(line, sizeof line, "-%d s", VIEW_GRAPH_S);
	text(v, t, FONT_SMALL, line, pl->area.x, pl->area.y + pl->area.h + 1, c_dim, &c_panel, AL_LEFT);
	text(v, t, FONT_SMALL, "now", pl->area.x + pl->area.w, pl->area.y + pl->area.h + 1, c_dim, &c_panel,
	     AL_RIGHT);
	colour(r, c_frame, 255);
	SDL_RenderDrawLine(r, pl->area.x, pl->area.y + pl->area.h, pl->area.x + pl->area.w, pl->area.y + pl->area.h);
}

/* Vertical ticks for the snapshot's events (in time order), then their labels where a label fits. */
static void graph_events(struct view *v, struct target *t, const struct view_snapshot *s, const struct plot *pl)
{
	SDL_Renderer *r = t->r;
	clip_set(t, &pl->area);
	colour(r, c_event, 255);
	for (uint32_t i = 0; i < s->nevents; i++) {
		const struct view_event *e = &s->event[i];
		if (e->t_s >= pl->t0 && e->t_s <= pl->t1) {
			float x = plot_x(pl, e->t_s);
			SDL_RenderDrawLineF(r, x, (float)pl->area.y, x, (float)(pl->area.y + pl->area.h));
		}
	}
	int last_end = -1000000;
	for (uint32_t i = 0; i < s->nevents; i++) {
		const struct view_event *e = &s->event[i];
		if (e->t_s < pl->t0 || e->t_s > pl->t1 || !e->label[0])
			continue;
		int x = (int)plot_x(pl, e->t_s), w = text_width(v, FONT_SMALL, e->label), lx = x + px(v, 2);
		if (lx + w > pl->area.x + pl->area.w)
			lx = x - px(v, 3) - w; /* no room on the right: the label goes left of its tick */
		if (lx <= last_end || w == 0)
			continue;
		fill(t, lx, pl->area.y, w + px(v, 2), v->line_h[FONT_SMALL], c_panel);
		text(v, t, FONT_SMALL, e->label, lx + px(v, 1), pl->area.y, c_event, &c_panel, AL_LEFT);
		last_end = lx + w + px(v, 4);
	}
	clip_set(t, NULL);
}

/* Draws one series: value(n) for the history's samples inside the plot's time span. */
static void graph_series(struct view *v, SDL_Renderer *r, const struct plot *pl, const float *vals,
			 const double *ts, uint32_t n, struct rgb c)
{
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++)
		v->series[m++] = (SDL_FPoint){ plot_x(pl, ts[i]), plot_y(pl, vals[i]) };
	if (m == 0)
		return;
	colour(r, c, 255);
	if (m == 1)
		SDL_RenderDrawPointF(r, v->series[0].x, v->series[0].y);
	else
		SDL_RenderDrawLinesF(r, v->series, (int)m);
}

/*
 * The graphs end at the newest sample, not at the snapshot's time: they
 * change only when the history does (VIEW_HIST_HZ), so between samples a
 * retained target keeps them as they are. The newest sample is at most
 * 1 / VIEW_HIST_HZ old, a pixel or less at the strip's scale.
 */
static void draw_graphs(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	const struct hist *h = v->hist;
	SDL_Renderer *r = t->r;
	double now = h->len && h->t[h->head] <= s->t_s ? h->t[h->head] : s->t_s, t0 = now - VIEW_GRAPH_S;
	uint32_t npeers = h->npeers == s->npeers ? h->npeers : 0;
	uint64_t key = key_bytes(key_u64(key_u64(KEY_SEED, h->gen), npeers), &now, sizeof now);
	key = key_u64(key, v->sel == SEL_LINK ? (uint64_t)1 << 40 | (uint64_t)v->sel_from << 20 | v->sel_to : 0);
	for (uint32_t i = 0; i < s->nevents; i++)
		key = key_str(key_bytes(key, &s->event[i].t_s, sizeof s->event[i].t_s), s->event[i].label);
	if (!region_due(full, &t->held_graphs, key))
		return;
	/* The samples in view, oldest first. */
	uint32_t first = 0, count = 0;
	for (uint32_t n = 0; n < h->len; n++) {
		double tt = h->t[hist_slot(h, n)];
		if (tt < t0)
			first = n + 1;
		else if (tt <= now + 1e-9)
			count = n + 1 - first;
	}
	double tbuf[VIEW_HIST_LEN];
	float vbuf[VIEW_HIST_LEN];
	for (uint32_t n = 0; n < count; n++)
		tbuf[n] = h->t[hist_slot(h, first + n)];

	/* RTT per peer. */
	struct plot pl = { .t0 = t0, .t1 = now, .ymax = 10 };
	for (uint32_t n = 0; n < count; n++)
		for (uint32_t k = 0; k < npeers; k++)
			if (h->rtt[hist_slot(h, first + n)][k] > pl.ymax)
				pl.ymax = h->rtt[hist_slot(h, first + n)][k];
	pl.ymax = nice_ceil(pl.ymax);
	graph_frame(v, t, L->graph[0], "RTT per peer, ms", &pl);
	graph_events(v, t, s, &pl);
	clip_set(t, &(SDL_Rect){ pl.area.x, pl.area.y - 1, pl.area.w + 1, pl.area.h + 2 });
	for (uint32_t k = 0; k < npeers; k++) {
		for (uint32_t n = 0; n < count; n++)
			vbuf[n] = h->rtt[hist_slot(h, first + n)][k];
		graph_series(v, r, &pl, vbuf, tbuf, count, rgb_of(view_peer_rgb(k)));
	}
	clip_set(t, NULL);

	/* Rollback depth per peer. */
	pl.ymax = 4;
	for (uint32_t n = 0; n < count; n++)
		for (uint32_t k = 0; k < npeers; k++)
			if (h->rb[hist_slot(h, first + n)][k] > pl.ymax)
				pl.ymax = h->rb[hist_slot(h, first + n)][k];
	pl.ymax = nice_ceil(pl.ymax);
	graph_frame(v, t, L->graph[1], "rollback depth per peer, frames", &pl);
	graph_events(v, t, s, &pl);
	clip_set(t, &(SDL_Rect){ pl.area.x, pl.area.y - 1, pl.area.w + 1, pl.area.h + 2 });
	for (uint32_t k = 0; k < npeers; k++) {
		for (uint32_t n = 0; n < count; n++)
			vbuf[n] = h->rb[hist_slot(h, first + n)][k];
		graph_series(v, r, &pl, vbuf, tbuf, count, rgb_of(view_peer_rgb(k)));
	}
	clip_set(t, NULL);

	/* Delivered and dropped per second on the selected link (all links when none is). */
	int pair = -1;
	char title[96];
	if (v->sel == SEL_LINK && v->sel_from < npeers && v->sel_to < npeers) {
		pair = (int)(v->sel_from * npeers + v->sel_to);
		snprintf(title, sizeof title, "link %u->%u: delivered/s, dropped/s", v->sel_from, v->sel_to);
	} else {
		snprintf(title, sizeof title, "all links: delivered/s, dropped/s");
	}
	/* Rates over a sliding second, from the counts in each sample's interval. */
	float dvr[VIEW_HIST_LEN], drr[VIEW_HIST_LEN];
	double sv = 0, sr = 0, st = 0;
	uint32_t j = 0;
	pl.ymax = 10;
	for (uint32_t n = 0; n < first + count; n++) {
		uint32_t i = hist_slot(h, n);
		double a, b;
		hist_counts(h, i, pair, &a, &b);
		sv += a;
		sr += b;
		st += h->dt[i];
		while (j < n && h->t[hist_slot(h, j)] <= h->t[i] - VIEW_RATE_WINDOW_S) {
			uint32_t o = hist_slot(h, j++);
			hist_counts(h, o, pair, &a, &b);
			sv -= a;
			sr -= b;
			st -= h->dt[o];
		}
		if (n >= first) {
			dvr[n - first] = st > 1e-6 ? (float)(sv / st) : 0;
			drr[n - first] = st > 1e-6 ? (float)(sr / st) : 0;
			if (dvr[n - first] > pl.ymax)
				pl.ymax = dvr[n - first];
			if (drr[n - first] > pl.ymax)
				pl.ymax = drr[n - first];
		}
	}
	pl.ymax = nice_ceil(pl.ymax);
	graph_frame(v, t, L->graph[2], title, &pl);
	graph_events(v, t, s, &pl);
	clip_set(t, &(SDL_Rect){ pl.area.x, pl.area.y - 1, pl.area.w + 1, pl.area.h + 2 });
	graph_series(v, r, &pl, dvr, tbuf, count, c_ok);
	graph_series(v, r, &pl, drr, tbuf, count, c_bad);
	clip_set(t, NULL);
}

/* ---- Drawing: help ---------------------------------------------------------------------------- */

static const char *const help_lines[] = {
	"Controls",
	"  click          select a node, a link (the nearest line) or a peer's panel",
	"  Up / Down      latency +10 / -10 ms on the selected link",
	"  Right / Left   jitter +5 / -5 ms on the selected link",
	"  ] / [          loss +1 / -1 % on the selected link",
	"  Shift + arrows or [ ]: both directions of the selected link",
	"  x              partition the selected link          h   heal every partition",
	"  1..9, 0        preset on every link: 1 perfect  2 fiber  3 cable  4 dsl  5 broadband",
	"                 6 satellite  7 congested  8 3g  9 4g  0 wifi",
	"  W / A / D      thrust / turn left / turn right   Space  fire: flies the selected",
	"                 peer's ship (its bot steps aside)",
	"  Tab            fly the next peer's ship (the previous one returns to its bot)",
	"  l              label packets by ENet kind: C connect  A ack  R reliable",
	"                 U unreliable  P ping",
	"  p              pause the view (the session keeps running)",
	"  s / S          screenshot to loopsim-<t>.png",
	"  F1 / ?         this help              Esc or closing the window   quit",
	"",
	"Links   each direction is its own line, offset to the right of travel.",
	"        Colour: the worse of latency (green <= 30 ms, yellow 100 ms, red >= 300 ms)",
	"        and loss (green 0 %, yellow 2 %, red >= 10 %). Dashed grey: partitioned.",
	"Packets white: in flight   magenta: duplicate   orange: corrupted   cyan: reordered",
	"        red cross: dropped (fades over 1.5 s)",
	"Panels  each peer's own game: f frame, c confirmed frame, rb rollbacks/s, d depth of",
	"        the last rollback, rtt ms, STALL; badge: checksum, green agrees, red differs.",
	"        A thick red border: the peer is in the minority of a desync.",
	"Graphs  the last 30 s: RTT and rollback depth per peer; delivered/s (green) and",
	"        dropped/s (red) on the selected link, or all links; ticks: timeline events.",
};

static void draw_help(struct view *v, struct target *t)
{
	SDL_Renderer *r = t->r;
	size_t n = sizeof help_lines / sizeof help_lines[0];
	int lh = v->line_h[FONT_NORMAL], pad = px(v, 14), w = 0;
	for (size_t i = 0; i < n; i++) {
		int tw = text_width(v, FONT_NORMAL, help_lines[i]);
		w = tw > w ? tw : w;
	}
	w += 2 * pad;
	int h = (int)n * lh + 2 * pad, x = (t->w - w) / 2, y = (t->h - h) / 2;
	fill_blend(r, x, y, w, h, (struct rgb){ 8, 9, 12 }, 238);
	border(t, (SDL_Rect){ x, y, w, h }, px(v, 2), c_frame);
	for (size_t i = 0; i < n; i++)
		text(v, t, FONT_NORMAL, help_lines[i], x + pad, y + pad + (int)i * lh,
		     i == 0 ? c_amber : help_lines[i][0] != ' ' ? c_text : (struct rgb){ 200, 203, 212 }, NULL, AL_LEFT);
}

/* ---- Drawing: the whole frame -------------------------------------------------------------------- */

static void draw(struct view *v, struct target *t)
{
	/* Before the first snapshot, frozen is the zeroed one from view_create(): an empty session. */
	const struct view_snapshot *s = v->have_snapshot ? shown(v) : v->frozen;
	SDL_Renderer *r = t->r;
	t->tick++;
	layout_update(v, t->w, t->h, s->npeers);
	/* A window's back buffer, a new target, another layout or an overlay over the last frame: draw it all. */
	bool full = !t->kept || t->layout_gen != v->layout_gen;
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
	clip_set(t, NULL);
	if (full)
		fill(t, 0, 0, t->w, t->h, c_bg);
	draw_mesh(v, t, s, full);
	draw_panels(v, t, s, full);
	draw_info(v, t, s, full);
	draw_graphs(v, t, s, full);
	draw_top(v, t, s, full);
	if (v->help)
		draw_help(v, t);
	t->kept = t->surface != NULL && !v->help;
	t->layout_gen = v->layout_gen;
}

/* ---- Public: life cycle ------------------------------------------------------------------------- */

void view_cfg_default(struct view_cfg *cfg)
{
	*cfg = (struct view_cfg){ .width = 1280, .height = 720, .headless = false, .font_path = NULL,
				  .title = "loopsim" };
}

struct view *view_create(const struct view_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->width < MIN_SIZE || cfg->width > MAX_SIZE || cfg->height < MIN_SIZE || cfg->height > MAX_SIZE) {
		snprintf(err, errlen, "view size %dx%d: each side must be %d..%d pixels", cfg->width, cfg->height,
			 MIN_SIZE, MAX_SIZE);
		return NULL;
	}
	struct view *v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory for the view");
		return NULL;
	}
	v->cfg = *cfg;
	snprintf(v->title, sizeof v->title, "%s", cfg->title ? cfg->title : "loopsim");
	v->cfg.title = v->title;
	snprintf(v->font_path, sizeof v->font_path, "%s", cfg->font_path ? cfg->font_path : LOOPSIM_FONT);
	v->cfg.font_path = v->font_path;
	v->scale = 1;
	v->ctl_peer = -1;
	v->live = calloc(1, sizeof *v->live);
	v->frozen = calloc(1, sizeof *v->frozen);
	v->hist = calloc(1, sizeof *v->hist);
	v->seg = calloc(VIEW_PAIRS, sizeof *v->seg);
	if (v->hist) {
		v->hist->deliv = calloc((size_t)VIEW_HIST_LEN * VIEW_PAIRS, sizeof *v->hist->deliv);
		v->hist->drop = calloc((size_t)VIEW_HIST_LEN * VIEW_PAIRS, sizeof *v->hist->drop);
	}
	if (!v->live || !v->frozen || !v->hist || !v->seg || !v->hist->deliv || !v->hist->drop) {
		snprintf(err, errlen, "out of memory for the view's snapshots and history");
		goto err;
	}
	hist_reset(v->hist, 0);
	v->live->netcode = v->frozen->netcode = "";

	if (TTF_Init() < 0) {
		snprintf(err, errlen, "cannot start SDL_ttf: %s", TTF_GetError());
		goto err;
	}
	v->ttf = true;
	if (cfg->headless) {
		/* No video subsystem: a software renderer into a surface needs none, so no display either. */
		if (target_surface(&v->main, cfg->width, cfg->height, err, errlen) < 0)
			goto err;
	} else {
		/* The harness owns SIGINT and SIGTERM; SDL must not turn them into SDL_QUIT behind its back. */
		SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
		SDL_SetHint(SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, "1");
		if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
			snprintf(err, errlen, "cannot start SDL video: %s (no display? try --headless)", SDL_GetError());
			goto err;
		}
		v->sdl_video = true;
		v->win = SDL_CreateWindow(v->title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, cfg->width,
					  cfg->height, SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI);
		if (!v->win) {
			snprintf(err, errlen, "cannot open a %dx%d window: %s", cfg->width, cfg->height, SDL_GetError());
			goto err;
		}
		v->main.cache = calloc((size_t)TEXT_SETS * TEXT_WAYS, sizeof *v->main.cache);
		if (!v->main.cache) {
			snprintf(err, errlen, "out of memory for the text cache");
			goto err;
		}
		v->main.r = SDL_CreateRenderer(v->win, -1, SDL_RENDERER_ACCELERATED);
		if (!v->main.r)
			v->main.r = SDL_CreateRenderer(v->win, -1, SDL_RENDERER_SOFTWARE);
		if (!v->main.r) {
			snprintf(err, errlen, "cannot create a renderer: %s", SDL_GetError());
			goto err;
		}
		SDL_SetWindowMinimumSize(v->win, MIN_SIZE, MIN_SIZE);
		int ow = 0, oh = 0, ww = 0, wh = 0;
		SDL_GetRendererOutputSize(v->main.r, &ow, &oh);
		SDL_GetWindowSize(v->win, &ww, &wh);
		v->main.w = ow > 0 ? ow : cfg->width;
		v->main.h = oh > 0 ? oh : cfg->height;
		v->scale = ww > 0 && ow > 0 ? (float)ow / (float)ww : 1;
	}
	if (fonts_open(v, v->scale, err, errlen) < 0)
		goto err;
	return v;
err:
	view_destroy(v);
	return NULL;
}

void view_destroy(struct view *v)
{
	if (!v)
		return;
	target_fini(&v->main);
	fonts_close(v);
	if (v->win)
		SDL_DestroyWindow(v->win);
	if (v->sdl_video)
		SDL_QuitSubSystem(SDL_INIT_VIDEO);
	if (v->ttf)
		TTF_Quit();
	if (v->hist) {
		free(v->hist->deliv);
		free(v->hist->drop);
	}
	free(v->hist);
	free(v->seg);
	free(v->live);
	free(v->frozen);
	free(v);
}

/* ---- Public: frames and screenshots ------------------------------------------------------------ */

void view_frame(struct view *v, const struct view_snapshot *snap)
{
	if (snap) {
		snapshot_copy(v->live, snap, v->netcode_live, sizeof v->netcode_live);
		v->have_snapshot = true;
		if (!v->paused)
			hist_ingest(v->hist, v->live);
	}
	update_size(v);
	draw(v, &v->main);
	if (v->win)
		SDL_RenderPresent(v->main.r);
	else
		SDL_RenderFlush(v->main.r);
}

int view_screenshot(struct view *v, const char *png_path, char *err, size_t errlen)
{
	struct target tmp, *t = &v->main;
	if (v->win) {
		/* The window's renderer may be a GPU's: draw the same frame again in software, at the same size. */
		update_size(v);
		if (target_surface(&tmp, v->main.w, v->main.h, err, errlen) < 0)
			return -1;
		t = &tmp;
	}
	draw(v, t);
	SDL_RenderFlush(t->r);
	int rc = 0;
	if (IMG_SavePNG(t->surface, png_path) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", png_path, IMG_GetError());
		rc = -1;
	}
	if (t == &tmp)
		target_fini(&tmp);
	return rc;
}

bool view_paused(const struct view *v)
{
	return v->paused;
}

bool view_help_shown(const struct view *v)
{
	return v->help;
}

void view_output_size(const struct view *v, int *w, int *h)
{
	*w = v->main.w;
	*h = v->main.h;
}

/* ---- Public: layout ------------------------------------------------------------------------------ */

void view_layout_node(const struct view *v, uint32_t npeers, uint32_t k, int *x, int *y)
{
	struct layout L;
	layout_compute(&L, v->main.w, v->main.h, v->scale, npeers, v->line_h);
	if (k >= L.npeers) {
		*x = *y = -1;
		return;
	}
	*x = (int)lroundf(L.nx[k]);
	*y = (int)lroundf(L.ny[k]);
}

void view_layout_link_point(const struct view *v, uint32_t npeers, uint32_t from, uint32_t to, float t, int *x,
			    int *y)
{
	struct layout L;
	layout_compute(&L, v->main.w, v->main.h, v->scale, npeers, v->line_h);
	if (from >= L.npeers || to >= L.npeers) {
		*x = *y = -1;
		return;
	}
	struct seg s = link_seg(&L, from, to);
	*x = (int)lroundf(s.x0 + (s.x1 - s.x0) * t);
	*y = (int)lroundf(s.y0 + (s.y1 - s.y0) * t);
}

void view_layout_panel(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out)
{
	struct layout L;
	layout_compute(&L, v->main.w, v->main.h, v->scale, npeers, v->line_h);
	SDL_Rect rc = { 0, 0, 0, 0 };
	if (k < L.npeers)
		panel_rect(&L, k, &rc);
	*out = (struct view_rect){ rc.x, rc.y, rc.w, rc.h };
}

/* ---- Public: selection --------------------------------------------------------------------------- */

int view_select_link(struct view *v, uint32_t from, uint32_t to)
{
	uint32_t n = v->live->npeers;
	if (from >= n || to >= n || from == to)
		return -1;
	v->sel = SEL_LINK;
	v->sel_from = from;
	v->sel_to = to;
	return 0;
}

int view_select_peer(struct view *v, uint32_t k)
{
	if (k >= v->live->npeers)
		return -1;
	v->sel = SEL_PEER;
	v->sel_peer = k;
	return 0;
}

/* Distance from (x, y) to segment s. */
static float seg_dist(const struct seg *s, float x, float y)
{
	float dx = s->x1 - s->x0, dy = s->y1 - s->y0, l2 = dx * dx + dy * dy;
	float f = l2 > 0 ? clampf(((x - s->x0) * dx + (y - s->y0) * dy) / l2, 0, 1) : 0;
	float ex = s->x0 + dx * f - x, ey = s->y0 + dy * f - y;
	return sqrtf(ex * ex + ey * ey);
}

/* A click at (x, y) in pixels: a node, else the nearest link within a few pixels, else a panel, else nothing. */
static void click(struct view *v, float x, float y)
{
	const struct view_snapshot *s = shown(v);
	layout_update(v, v->main.w, v->main.h, s->npeers);
	const struct layout *L = &v->L;
	for (uint32_t k = 0; k < L->npeers; k++) {
		float dx = x - L->nx[k], dy = y - L->ny[k], rr = L->node_r + 4 * v->scale;
		if (dx * dx + dy * dy <= rr * rr) {
			view_select_peer(v, k);
			return;
		}
	}
	float best = 5 * v->scale + 0.5f;
	int found = -1;
	for (uint32_t i = 0; i < s->nlinks; i++) {
		const struct view_link *k = &s->link[i];
		if (k->from >= L->npeers || k->to >= L->npeers || k->from == k->to)
			continue;
		float d = seg_dist(seg_of(v, k->from, k->to), x, y);
		if (d < best) {
			best = d;
			found = (int)i;
		}
	}
	if (found >= 0) {
		view_select_link(v, s->link[found].from, s->link[found].to);
		return;
	}
	for (uint32_t k = 0; k < L->npeers; k++) {
		SDL_Rect rc;
		panel_rect(L, k, &rc);
		if (x >= (float)rc.x && x < (float)(rc.x + rc.w) && y >= (float)rc.y && y < (float)(rc.y + rc.h)) {
			view_select_peer(v, k);
			return;
		}
	}
	if (x >= (float)L->mesh.x && x < (float)(L->mesh.x + L->mesh.w) && y >= (float)L->mesh.y &&
	    y < (float)(L->mesh.y + L->mesh.h))
		v->sel = SEL_NONE;
}

/* ---- Public: events into commands ---------------------------------------------------------------- */

struct out {
	struct view *v;
	struct view_cmd *cmds;
	int n, max;
};

/* A new command in the caller's buffer or, when that is full, in the view's own until the next call. */
static struct view_cmd *push(struct out *o, enum view_cmd_kind kind)
{
	struct view_cmd *c;
	if (o->n < o->max)
		c = &o->cmds[o->n++];
	else if (o->v->npending < (int)(sizeof o->v->pending / sizeof o->v->pending[0]))
		c = &o->v->pending[o->v->npending++];
	else
		return NULL; /* can't happen: polling stops when the buffer is full, and an event makes at most 2 */
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->from = c->to = -1;
	return c;
}

static void input_cmd(struct out *o, uint32_t peer, uint8_t keys, bool human)
{
	struct view_cmd *c = push(o, VIEW_CMD_INPUT);
	if (c) {
		c->peer = peer;
		c->keys = keys;
		c->human = human;
	}
}

/* Gives the keys to peer k: the previous peer, if another, goes back to its bot. */
static void fly(struct view *v, struct out *o, int k)
{
	if (v->ctl_peer >= 0 && v->ctl_peer != k)
		input_cmd(o, (uint32_t)v->ctl_peer, 0, false);
	v->ctl_peer = k;
	if (k >= 0)
		input_cmd(o, (uint32_t)k, v->keys, true);
}

enum link_key { KEY_LATENCY, KEY_JITTER, KEY_LOSS };
static const char *const link_key_name[3] = { "latency", "jitter", "loss" };

static float *link_field(struct view_link *k, enum link_key key)
{
	return key == KEY_LOSS ? &k->loss_pct : key == KEY_JITTER ? &k->jitter_ms : &k->latency_ms;
}

/* Applies a change to the selected link's setting, from its value in the latest snapshot. */
static void adjust_link(struct view *v, struct out *o, enum link_key key, float delta, bool both)
{
	if (v->sel != SEL_LINK)
		return;
	struct view_snapshot *s = v->live;
	struct view_link *k = NULL, *rev = NULL;
	for (uint32_t i = 0; i < s->nlinks; i++) {
		if (s->link[i].from == v->sel_from && s->link[i].to == v->sel_to)
			k = &s->link[i];
		if (s->link[i].from == v->sel_to && s->link[i].to == v->sel_from)
			rev = &s->link[i];
	}
	if (!k)
		return;
	float *cur = link_field(k, key);
	float nv = clampf(roundf((*cur + delta) * 10) / 10, 0, key == KEY_LOSS ? 100 : 60000);
	struct view_cmd *c = push(o, VIEW_CMD_SET_LINK);
	if (!c)
		return;
	c->from = (int)v->sel_from;
	c->to = (int)v->sel_to;
	c->both = both;
	snprintf(c->key, sizeof c->key, "%s", link_key_name[key]);
	snprintf(c->value, sizeof c->value, "%g", (double)nv);
	/* Until the next snapshot says otherwise, the link has its new value: a second press builds on it. */
	*cur = nv;
	if (both && rev)
		*link_field(rev, key) = nv;
}

static void key_down(struct view *v, struct out *o, const SDL_KeyboardEvent *e)
{
	SDL_Keycode sym = e->keysym.sym;
	bool shift = (e->keysym.mod & KMOD_SHIFT) != 0;
	switch (sym) {
	case SDLK_ESCAPE:
		push(o, VIEW_CMD_QUIT);
		return;
	case SDLK_F1:
		if (!e->repeat)
			v->help = !v->help;
		return;
	case SDLK_UP:
		adjust_link(v, o, KEY_LATENCY, 10, shift);
		return;
	case SDLK_DOWN:
		adjust_link(v, o, KEY_LATENCY, -10, shift);
		return;
	case SDLK_RIGHT:
		adjust_link(v, o, KEY_JITTER, 5, shift);
		return;
	case SDLK_LEFT:
		adjust_link(v, o, KEY_JITTER, -5, shift);
		return;
	case SDLK_RIGHTBRACKET:
		adjust_link(v, o, KEY_LOSS, 1, shift);
		return;
	case SDLK_LEFTBRACKET:
		adjust_link(v, o, KEY_LOSS, -1, shift);
		return;
	default:
		break;
	}
	if (e->repeat)
		return;
	if (sym >= SDLK_0 && sym <= SDLK_9) {
		struct view_cmd *c = push(o, VIEW_CMD_PRESET);
		if (c) {
			c->both = true;
			snprintf(c->value, sizeof c->value, "%s", preset_key[sym == SDLK_0 ? 9 : sym - SDLK_1]);
		}
		return;
	}
	switch (sym) {
	case SDLK_x:
		if (v->sel == SEL_LINK) {
			struct view_cmd *c = push(o, VIEW_CMD_PARTITION);
			if (c) {
				c->from = (int)v->sel_from;
				c->to = (int)v->sel_to;
				c->both = true;
			}
		}
		break;
	case SDLK_h:
		push(o, VIEW_CMD_HEAL);
		break;
	case SDLK_p:
		v->paused = !v->paused;
		if (v->paused)
			snapshot_copy(v->frozen, v->live, v->netcode_frozen, sizeof v->netcode_frozen);
		break;
	case SDLK_l:
		v->labels = !v->labels;
		break;
	case SDLK_s: {
		struct view_cmd *c = push(o, VIEW_CMD_SCREENSHOT);
		if (c)
			snprintf(c->value, sizeof c->value, "loopsim-%.1f.png", shown(v)->t_s);
		break;
	}
	case SDLK_TAB: {
		uint32_t n = v->live->npeers;
		if (!n)
			break;
		int from = v->ctl_peer >= 0 ? v->ctl_peer : v->sel == SEL_PEER ? (int)v->sel_peer : -1;
		int next = (from + 1) % (int)n;
		view_select_peer(v, (uint32_t)next);
		fly(v, o, next);
		break;
	}
	default:
		break;
	}
}

/* W, A, D and Space by position (scancode), so that they sit under the same fingers on any layout. */
static uint8_t key_bit(SDL_Scancode sc)
{
	switch (sc) {
	case SDL_SCANCODE_W:
		return 1;
	case SDL_SCANCODE_A:
		return 2;
	case SDL_SCANCODE_D:
		return 4;
	case SDL_SCANCODE_SPACE:
		return 8;
	default:
		return 0;
	}
}

static void game_key(struct view *v, struct out *o, uint8_t bit, bool down)
{
	uint8_t keys = down ? (uint8_t)(v->keys | bit) : (uint8_t)(v->keys & ~bit);
	if (keys == v->keys)
		return;
	v->keys = keys;
	int target = v->sel == SEL_PEER && v->sel_peer < v->live->npeers ? (int)v->sel_peer : v->ctl_peer;
	if (target < 0)
		return;
	fly(v, o, target);
}

int view_events(struct view *v, struct view_cmd *cmds, int max)
{
	if (max <= 0 || (!SDL_WasInit(SDL_INIT_EVENTS) && !v->npending))
		return 0;
	struct out o = { v, cmds, 0, max };
	/* Commands left over from the last call come first. */
	int carried = v->npending < max ? v->npending : max;
	memcpy(cmds, v->pending, sizeof *cmds * (size_t)carried);
	memmove(v->pending, v->pending + carried, sizeof *cmds * (size_t)(v->npending - carried));
	v->npending -= carried;
	o.n = carried;
	SDL_Event e;
	/* Events stay queued while the buffer is full; one that makes two commands may carry one over. */
	while (o.n < o.max && SDL_PollEvent(&e)) {
		switch (e.type) {
		case SDL_QUIT:
			push(&o, VIEW_CMD_QUIT);
			break;
		case SDL_WINDOWEVENT:
			if (e.window.event == SDL_WINDOWEVENT_CLOSE)
				push(&o, VIEW_CMD_QUIT);
			else if (e.window.event == SDL_WINDOWEVENT_FOCUS_LOST && v->keys)
				game_key(v, &o, v->keys, false); /* no key stays held down behind the user's back */
			else if (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED)
				v->layout_valid = false;
			break;
		case SDL_KEYDOWN:
		case SDL_KEYUP: {
			uint8_t bit = key_bit(e.key.keysym.scancode);
			if (bit && !(e.key.keysym.mod & (KMOD_CTRL | KMOD_ALT | KMOD_GUI))) {
				if (!e.key.repeat)
					game_key(v, &o, bit, e.type == SDL_KEYDOWN);
			} else if (e.type == SDL_KEYDOWN) {
				key_down(v, &o, &e.key);
			}
			break;
		}
		case SDL_TEXTINPUT:
			if (strcmp(e.text.text, "?") == 0)
				v->help = !v->help; /* '?' wherever the layout puts it */
			break;
		case SDL_MOUSEBUTTONDOWN:
			if (e.button.button == SDL_BUTTON_LEFT)
				click(v, (float)e.button.x * v->scale, (float)e.button.y * v->scale);
			break;
		default:
			break;
		}
	}
	return o.n;
}
