// SPDX-License-Identifier: MIT
// Drawing each peer's panel: its header and its own game.
#include "view/view_int.h"

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

/*
 * Peer k's game in field f. Retained (ink), a field is erased where it was
 * drawn into last frame, not filled whole: bullets and ships cover a few
 * percent of it.
 */
void view__draw_game(struct view *v, struct target *t, uint32_t k, const struct view_peer *p, SDL_Rect f, bool whole)
{
	SDL_Renderer *r = t->r;
	struct ink *ink = t->ink ? &t->ink[k] : NULL;
	view__clip_set(t, &f);
	if (whole || !ink)
		view__fill(t, f.x, f.y, f.w, f.h, c_field);
	else
		view__fill_rects(t, ink->rc, ink->n, c_field);
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
		view__fill_rects(t, v->bullet[o], (int)cnt[o], rgb_of(view_peer_rgb(o)));
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
					ink->rc[n++] = view__triangle_box(&v->vert[nv]);
				nv += 3;
			}
	}
	if (ink)
		ink->n = n;
	if (t->surface) {
		SDL_RenderFlush(r);
		for (int i = 0; i < nv; i += 3) {
			const SDL_Color *c = &v->vert[i].color;
			view__fill_triangle(t, &v->vert[i], SDL_MapRGB(t->surface->format, c->r, c->g, c->b));
		}
	} else if (nv) {
		SDL_RenderGeometry(r, NULL, v->vert, nv, NULL, 0);
	}
	view__clip_set(t, NULL);
}

/* The three header lines of a peer's panel: what they say, and their keys. */
struct header {
	char title[32], badge[8], frames[48], rb[96];
	const char *flag;
	struct rgb flag_rgb;
	bool you, ok;
};

static void header_of(struct view *v, const struct view_peer *p, int room, struct header *hd)
{
	snprintf(hd->title, sizeof hd->title, "peer %u", p->index);
	/* An exit the run expected is no alarm; one it did not expect is. */
	hd->flag = p->ended ? "ENDED" : !p->alive ? "EXITED" : p->stalled ? "STALL" : "";
	hd->flag_rgb = p->ended ? c_dim : !p->alive ? c_bad : c_amber;
	hd->you = p->human;
	hd->ok = p->checksum_ok;
	snprintf(hd->badge, sizeof hd->badge, "%04x", (unsigned)(p->checksum >> 48));
	snprintf(hd->frames, sizeof hd->frames, "f %u  c %u", p->frame, p->confirmed);
	snprintf(hd->rb, sizeof hd->rb, "rb %.1f/s d%u  rtt %.0f", p->rollbacks_per_s, p->last_rollback, p->rtt_ms);
	if (view__text_width(v, FONT_SMALL, hd->rb) > room) /* narrow panels: RTT is in the graphs */
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
	view__clip_set(t, &rc);
	if (line == 0) {
		x += view__text(v, t, FONT_SMALL, hd->title, x, y, rgb_of(view_peer_rgb(k)), &c_panel, AL_LEFT) + px(v, 6);
		if (hd->flag[0])
			x += view__text(v, t, FONT_SMALL, hd->flag, x, y, hd->flag_rgb, &c_panel, AL_LEFT) + px(v, 6);
		if (hd->you)
			view__text(v, t, FONT_SMALL, "you", x, y, c_amber, &c_panel, AL_LEFT);
		int bw = view__text_width(v, FONT_SMALL, hd->badge) + px(v, 6), bx = rc.x + rc.w - bw;
		view__fill(t, bx, y, bw, v->line_h[FONT_SMALL], hd->ok ? c_ok : c_bad);
		view__text(v, t, FONT_SMALL, hd->badge, bx + px(v, 3), y, hd->ok ? (struct rgb){ 0, 0, 0 } : c_white,
		     hd->ok ? &c_ok : &c_bad, AL_LEFT);
	} else {
		view__text(v, t, FONT_SMALL, line == 1 ? hd->frames : hd->rb, x, y, c_text, &c_panel, AL_LEFT);
	}
	view__clip_set(t, NULL);
}

/*
 * Each panel is retained in parts: its background and view__border (drawn again
 * when the border changes: desync, selection), each header line (when it
 * says something else: the frame counter, every frame) and its game (every
 * frame, erased where it was drawn: the ships move).
 */
void view__draw_panels(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	int pad = px(v, 4), lh = v->line_h[FONT_SMALL];
	for (uint32_t k = 0; k < L->npeers; k++) {
		const struct view_peer *p = &s->peer[k];
		SDL_Rect rc;
		view__panel_rect(L, k, &rc);
		int bt = p->minority ? px(v, VIEW_DESYNC_BORDER_PX) : v->sel == SEL_PEER && v->sel_peer == k ? px(v, 2) : 1;
		struct rgb bc = p->minority ? c_red : bt > 1 ? c_white : c_frame;
		bool game = p->has_game && L->field > 8;
		bool redo = region_due(full, &t->held_panel[k], key_rgb(key_u64(KEY_SEED, (uint64_t)bt << 1 | game), bc));
		if (redo)
			view__fill(t, rc.x, rc.y, rc.w, rc.h, c_panel);

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
				view__clip_set(t, &lr);
				bool changed = !redo && view__text_change(v, t, FONT_SMALL, was, now, lr.x, lr.y, c_text, c_panel, lr.h);
				view__clip_set(t, NULL);
				snprintf(was, sizeof t->held_text[k][i - 1], "%s", now);
				if (changed)
					continue;
			}
			if (!redo)
				view__fill(t, lr.x, lr.y, lr.w, lr.h, c_panel);
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
			view__draw_game(v, t, k, p, f, framed);
			if (framed)
				view__border(t, (SDL_Rect){ f.x - 1, f.y - 1, f.w + 2, f.h + 2 }, 1, c_frame);
		}
		if (framed)
			view__border(t, rc, bt, bc);
	}
}
