// SPDX-License-Identifier: MIT
// Drawing the top bar and the mesh: links, packets in flight, drops and nodes.
#include "view/view_int.h"

/* Dots by enum view_dot_kind: normal, duplicate, corrupted, reordered. */
static const struct rgb c_dot[4] = { { 235, 235, 235 }, { 230, 80, 230 }, { 255, 140, 20 }, { 40, 210, 240 } };
static const char *const dot_kind_name[4] = { "normal", "duplicate", "corrupted", "reordered" };
/* Letters by enum view_label. */
static const char *const label_letter[] = { "", "C", "A", "R", "U", "P" };

/* ---- Drawing: the top bar ------------------------------------------------------------------ */

void view__draw_top(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
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
	view__fill(t, 0, 0, L->w, L->top.h, c_top);
	view__text(v, t, FONT_NORMAL, line, pad, y1, c_text, &c_top, AL_LEFT);
	int x = L->w - pad;
	x -= view__text(v, t, FONT_NORMAL, "F1 / ? help", x, y1, c_dim, &c_top, AL_RIGHT) + px(v, 16);
	if (v->labels)
		x -= view__text(v, t, FONT_NORMAL, "labels", x, y1, c_dim, &c_top, AL_RIGHT) + px(v, 16);
	if (v->paused)
		view__text(v, t, FONT_NORMAL, "PAUSED", x, y1, c_amber, &c_top, AL_RIGHT);

	int y2 = y1 + v->line_h[FONT_NORMAL] + px(v, 2), h2 = L->top.h - y2 - px(v, 2);
	if (s->desync.found) {
		view__fill(t, 0, y2, L->w, h2, c_banner);
		snprintf(line, sizeof line, "DESYNC at frame %u   minority: %s", s->desync.frame,
			 s->desync.peers[0] ? s->desync.peers : "?");
		int w = view__text(v, t, FONT_BIG, line, pad, y2 + h2 / 2, c_white, &c_banner, AL_VCENTER);
		if (s->desync.field[0])
			view__text(v, t, FONT_BIG, s->desync.field, pad + w + px(v, 24), y2 + h2 / 2, c_white, &c_banner,
			     AL_VCENTER);
	} else if (s->status[0]) {
		view__text(v, t, FONT_NORMAL, s->status, pad, y2 + h2 / 2, c_dim, &c_top, AL_VCENTER);
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
	const char *gone = s->peer[k].alive ? "" : s->peer[k].ended ? " ended" : " exited";
	snprintf(idx, sizeof idx, "%u%s", s->peer[k].index, gone);
	view__text(v, t, FONT_NORMAL, idx, ax, y, rgb_of(view_peer_rgb(k)), &c_bg, align);
	view__text(v, t, FONT_SMALL, s->peer[k].addr[0] ? s->peer[k].addr : "?", ax, y + v->line_h[FONT_NORMAL], c_dim,
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
	view__fill(t, L->mesh.x, L->mesh.y, L->mesh.w, L->mesh.h, c_bg);

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
		const struct view_link *k = view__find_link(s, v->sel_from, v->sel_to);
		colour(r, c_white, 255);
		view__thick_line(r, sg->x0, sg->y0, sg->x1, sg->y1, px(v, 5) | 1);
		colour(r, k && !k->cut ? link_colour(k->latency_ms, k->loss_pct) : c_cut, 255);
		view__thick_line(r, sg->x0, sg->y0, sg->x1, sg->y1, px(v, 1));
	}

	for (uint32_t k = 0; k < n; k++)
		draw_node_label(v, t, s, k);

	/* Legend. */
	int pad = px(v, 8);
	int x = L->mesh.x + pad, y = L->mesh.y + L->mesh.h - pad - v->line_h[FONT_SMALL];
	int sq = px(v, 6), yc = y + v->line_h[FONT_SMALL] / 2;
	for (int k = 0; k < 4; k++) {
		view__fill(t, x, yc - sq / 2, sq, sq, c_dot[k]);
		x += sq + px(v, 3);
		x += view__text(v, t, FONT_SMALL, dot_kind_name[k], x, y, c_dim, &c_bg, AL_LEFT) + px(v, 10);
	}
	colour(r, c_red, 255);
	view__thick_line(r, (float)x, (float)(yc - sq / 2), (float)(x + sq), (float)(yc + sq / 2), px(v, 2));
	view__thick_line(r, (float)x, (float)(yc + sq / 2), (float)(x + sq), (float)(yc - sq / 2), px(v, 2));
	x += sq + px(v, 3);
	x += view__text(v, t, FONT_SMALL, "dropped", x, y, c_dim, &c_bg, AL_LEFT) + px(v, 10);
	struct seg cut = { (float)x, (float)yc, (float)(x + px(v, 16)), (float)yc };
	nd = dash_line(v, r, &cut, 0);
	colour(r, c_cut, 255);
	SDL_RenderDrawPointsF(r, v->dash, (int)nd);
	x += px(v, 19);
	view__text(v, t, FONT_SMALL, "cut", x, y, c_dim, &c_bg, AL_LEFT);
}

static void draw_mesh_moving(struct view *v, struct target *t, const struct view_snapshot *s, const SDL_Rect rc[2])
{
	const struct layout *L = &v->L;
	uint32_t n = L->npeers;
	view__clip_set(t, &rc[0]);

	/* Drops: red crosses at the middle of their link, fading with age. */
	float arm = 5 * v->scale;
	for (uint32_t i = 0; i < s->nmarks; i++) {
		const struct view_mark *m = &s->mark[i];
		if (m->from >= n || m->to >= n || m->from == m->to || !(m->age_s < VIEW_MARK_FADE_S))
			continue;
		float a = 1 - clampf(m->age_s, 0, VIEW_MARK_FADE_S) / VIEW_MARK_FADE_S;
		const struct seg *sg = seg_of(v, m->from, m->to);
		float x = sg->x0 + (sg->x1 - sg->x0) * VIEW_MARK_AT, y = sg->y0 + (sg->y1 - sg->y0) * VIEW_MARK_AT;
		view__thick_line_blend(t, x - arm, y - arm, x + arm, y + arm, px(v, 2), c_red, (uint8_t)(255 * a));
		view__thick_line_blend(t, x - arm, y + arm, x + arm, y - arm, px(v, 2), c_red, (uint8_t)(255 * a));
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
		view__fill_rects(t, v->dot_rect[k], (int)cnt[k], c_dot[k]);
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
			view__text(v, t, FONT_SMALL, label_letter[dt->label], x, y, c_dot[dt->kind < 4 ? dt->kind : 0], NULL,
			     AL_BOTTOM);
			nlabels++;
		}
	}

	/* Nodes on top: player colour; rings for the desync minority, the selection and the flown ship. */
	for (uint32_t k = 0; k < n; k++) {
		const struct view_peer *p = &s->peer[k];
		float x = L->nx[k], y = L->ny[k], rad = L->node_r;
		if (p->minority)
			view__ring(v, t, x, y, rad + 7 * v->scale, 3 * v->scale, c_red);
		if (v->sel == SEL_PEER && v->sel_peer == k)
			view__ring(v, t, x, y, rad + 4 * v->scale, 2 * v->scale, c_white);
		if (v->ctl_peer == (int)k || p->human)
			view__ring(v, t, x, y, rad + 2 * v->scale, 1.5f * v->scale, c_amber);
		view__disc(v, t, x, y, rad, p->alive ? rgb_of(view_peer_rgb(k)) : c_cut);
	}

	/* Burst sampling says so, with the count. */
	if (s->dots_hidden) {
		char line[64];
		snprintf(line, sizeof line, "%u packets not drawn", s->dots_hidden);
		view__clip_set(t, &rc[1]);
		view__text(v, t, FONT_NORMAL, line, L->mesh.x + px(v, 8), L->mesh.y + px(v, 8), c_amber, &c_bg, AL_LEFT);
	}
	view__clip_set(t, NULL);
}

void view__draw_mesh(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	SDL_Rect moving[2];
	float m = mesh_moving_rects(v, moving), cx = v->L.cx, cy = v->L.cy;
	if (region_due(full, &t->held_mesh, mesh_key(v, s))) {
		view__clip_set(t, &v->L.mesh);
		draw_mesh_still(v, t, s);
		view__clip_set(t, NULL);
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
