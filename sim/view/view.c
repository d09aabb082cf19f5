// SPDX-License-Identifier: MIT
// The SDL2 viewer: the mesh, each peer's own game, the graph strip and the controls, drawn from snapshots.
#include "view/view_int.h"

#include <SDL_image.h>

#ifndef LOOPSIM_FONT
#define LOOPSIM_FONT "assets/fonts/DejaVuSansMono.ttf"
#endif

/* ---- Drawing: the whole frame -------------------------------------------------------------------- */

static void draw(struct view *v, struct target *t)
{
	/* Before the first snapshot, frozen is the zeroed one from view_create(): an empty session. */
	const struct view_snapshot *s = v->have_snapshot ? shown(v) : v->frozen;
	SDL_Renderer *r = t->r;
	t->tick++;
	view__layout_update(v, t->w, t->h, s->npeers);
	/* A window's back buffer, a new target, another layout or an overlay over the last frame: draw it all. */
	bool full = !t->kept || t->layout_gen != v->layout_gen;
	SDL_SetRenderDrawBlendMode(r, SDL_BLENDMODE_NONE);
	view__clip_set(t, NULL);
	if (full)
		view__fill(t, 0, 0, t->w, t->h, c_bg);
	view__draw_mesh(v, t, s, full);
	view__draw_panels(v, t, s, full);
	view__draw_info(v, t, s, full);
	view__draw_graphs(v, t, s, full);
	view__draw_top(v, t, s, full);
	if (v->help)
		view__draw_help(v, t);
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
	view__hist_reset(v->hist, 0);
	v->live->netcode = v->frozen->netcode = "";

	if (TTF_Init() < 0) {
		snprintf(err, errlen, "cannot start SDL_ttf: %s", TTF_GetError());
		goto err;
	}
	v->ttf = true;
	if (cfg->headless) {
		/* No video subsystem: a software renderer into a surface needs none, so no display either. */
		if (view__target_surface(&v->main, cfg->width, cfg->height, err, errlen) < 0)
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
	if (view__fonts_open(v, v->scale, err, errlen) < 0)
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
	view__target_fini(&v->main);
	view__fonts_close(v);
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
		view__snapshot_copy(v->live, snap, v->netcode_live, sizeof v->netcode_live);
		v->have_snapshot = true;
		if (!v->paused)
			view__hist_ingest(v->hist, v->live);
	}
	view__update_size(v);
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
		view__update_size(v);
		if (view__target_surface(&tmp, v->main.w, v->main.h, err, errlen) < 0)
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
		view__target_fini(&tmp);
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

