// SPDX-License-Identifier: MIT
// Raster primitives: fills, borders, discs, rings, lines and triangles, written straight into a surface where SDL is slow.
#include "view/view_int.h"

/* Sixteen colours far apart (after Trubetskoy's list), none of them the red of drops and desyncs. */
static const uint32_t palette[16] = { 0x4f7be8, 0xf58231, 0x3cb44b, 0xf032e6, 0x42d4f4, 0xffe119,
				      0xb05ce0, 0xbfef45, 0xfabed4, 0x4fb3a9, 0xdcbeff, 0xc08040,
				      0xfffac8, 0xaaffc3, 0xa0a030, 0xff8a8a };

uint32_t view_peer_rgb(uint32_t k)
{
	return palette[k % 16];
}

/*
 * The clip rect of what is drawn next, on the renderer and for the writes
 * below that bypass it. NULL: the whole target.
 */
void view__clip_set(struct target *t, const SDL_Rect *rc)
{
	t->clipped = rc != NULL;
	t->clip = rc ? *rc : (SDL_Rect){ 0, 0, t->w, t->h };
	SDL_RenderSetClipRect(t->r, rc);
}

/* rc inside the clip rect and the surface; false when nothing is left. */
bool view__clip_to(const struct target *t, SDL_Rect *rc)
{
	SDL_Rect bound = { 0, 0, t->surface->w, t->surface->h };
	if (t->clipped && !SDL_IntersectRect(&bound, &t->clip, &bound))
		return false;
	return SDL_IntersectRect(rc, &bound, rc);
}

/*
 * Opaque rects, inside the clip rect. Into a surface they are written here
 * with ordinary stores, after what the renderer has queued: SDL_FillRect's
 * SSE path streams past the cache (movntps), so each blit over a background
 * read it back from memory (that was half of a software frame), and for
 * thousands of 3-pixel dots SDL's per-rect clipping and dispatch cost more
 * than the pixels.
 */
void view__fill_rects(struct target *t, const SDL_Rect *rects, int n, struct rgb c)
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

void view__fill(struct target *t, int x, int y, int w, int h, struct rgb c)
{
	view__fill_rects(t, &(SDL_Rect){ x, y, w, h }, 1, c);
}

void view__fill_blend(SDL_Renderer *r, int x, int y, int w, int h, struct rgb c, uint8_t a)
{
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_BLEND);
	colour(r, c, a);
	SDL_RenderFillRect(r, &(SDL_Rect){ x, y, w, h });
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
}

/* A border of thickness th drawn inside rect. */
void view__border(struct target *t, SDL_Rect rc, int th, struct rgb c)
{
	SDL_Rect e[4] = { { rc.x, rc.y, rc.w, th },
			  { rc.x, rc.y + rc.h - th, rc.w, th },
			  { rc.x, rc.y, th, rc.h },
			  { rc.x + rc.w - th, rc.y, th, rc.h } };
	view__fill_rects(t, e, 4, c);
}

void view__disc(struct view *v, struct target *t, float cx, float cy, float rad, struct rgb c)
{
	int n = 0, ir = (int)ceilf(rad);
	for (int dy = -ir; dy <= ir && n < CIRCLE_SPANS; dy++) {
		float h = rad * rad - (float)(dy * dy);
		if (h < 0)
			continue;
		int half = (int)lroundf(sqrtf(h));
		v->span[n++] = (SDL_Rect){ (int)lroundf(cx) - half, (int)lroundf(cy) + dy, 2 * half + 1, 1 };
	}
	view__fill_rects(t, v->span, n, c);
}

/* A ring of the given thickness, drawn as the difference of spans. */
void view__ring(struct view *v, struct target *t, float cx, float cy, float rad, float thick, struct rgb c)
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
	view__fill_rects(t, v->span, n, c);
}

/* A line of width w (>= 1) as parallel one-pixel lines. */
void view__thick_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, int w)
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

/* view__thick_line() in c at alpha a, with blend_line(). */
void view__thick_line_blend(struct target *t, float x0, float y0, float x1, float y1, int w, struct rgb c, uint8_t a)
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
void view__fill_triangle(struct target *t, const SDL_Vertex *vt, uint32_t p)
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

/* The pixels view__fill_triangle() (and SDL) may fill for vt: the box of its truncated corners. */
SDL_Rect view__triangle_box(const SDL_Vertex *vt)
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
double view__nice_ceil(double x)
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
