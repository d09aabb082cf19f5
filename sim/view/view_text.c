// SPDX-License-Identifier: MIT
// Text (a texture cache and fixed-width glyph strips), fonts, and render targets.
#include "view/view_int.h"

static const int font_pt[FONT_COUNT] = { 10, 12, 15 };

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
		if (!view__clip_to(t, &rc))
			continue;
		int sx = 2 * c * adv + rc.x - x, sy = rc.y - y;
		for (int j = 0; j < rc.h; j++)
			memcpy(pixel_at(t->surface, rc.x, rc.y + j), pixel_at(g->s, sx, sy + j), (size_t)rc.w * 4);
	}
}

/* The width of s in font, in pixels. */
int view__text_width(struct view *v, int font, const char *s)
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
int view__text(struct view *v, struct target *t, int font, const char *s, int x, int y, struct rgb c,
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
	int w = g ? view__text_width(v, font, s) : e->w, h = g ? g->s->h : e->h;
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
bool view__text_change(struct view *v, struct target *t, int font, const char *was, const char *now, int x, int y,
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
	int ww = view__text_width(v, font, was), nw = view__text_width(v, font, now);
	int x0 = x + (int)from * v->advance[font], x1 = x + (ww > nw ? ww : nw);
	view__fill(t, x0, y, x1 - x0, h, bg);
	if (now[from])
		view__text(v, t, font, now + from, x0, y, c, &bg, AL_LEFT);
	return true;
}

/* ---- Targets and fonts ---------------------------------------------------------------- */

void view__target_fini(struct target *t)
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
int view__target_surface(struct target *t, int w, int h, char *err, size_t errlen)
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
	view__target_fini(t);
	return -1;
}

void view__fonts_close(struct view *v)
{
	for (int i = 0; i < FONT_COUNT; i++) {
		if (v->font[i])
			TTF_CloseFont(v->font[i]);
		v->font[i] = NULL;
	}
	glyphs_flush(v);
}

int view__fonts_open(struct view *v, float scale, char *err, size_t errlen)
{
	int advance[FONT_COUNT];
	uint8_t overhang[FONT_COUNT][GLYPH_COUNT] = { { 0 } };
	for (int i = 0; i < FONT_COUNT; i++) {
		int pt = (int)lroundf((float)font_pt[i] * scale);
		v->font[i] = TTF_OpenFont(v->font_path, pt < 6 ? 6 : pt);
		if (!v->font[i]) {
			snprintf(err, errlen, "cannot open the font %s: %s", v->font_path, TTF_GetError());
			view__fonts_close(v);
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
void view__update_size(struct view *v)
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
		if (view__fonts_open(v, scale, err, sizeof err) == 0) {
			for (int i = 0; i < FONT_COUNT; i++)
				TTF_CloseFont(old[i]);
			text_cache_flush(&v->main);
		} else {
			memcpy(v->font, old, sizeof old); /* keep the old size: blurry beats nothing */
		}
	}
}
