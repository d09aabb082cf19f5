// SPDX-License-Identifier: MIT
// The replay window: each peer's game at one frame, the differing fields, the network lanes and the scrubber.
#include "view/view_replay.h"

#include <SDL_image.h>

#include "view/view_int.h"

/* Where each part of the replay window goes, for an image of w x h. */
struct rlayout {
	SDL_Rect top, panels, table, lanes, scrub;
	SDL_Rect bar;                     /* the scrubber's track: frame 0 at bar.x, last at bar.x + bar.w */
	int cols, cell_w, cell_h, header_h, field;
	int lane_h, lane_label_w, nlanes; /* lanes that fit */
};

static const struct rgb c_lane = { 24, 26, 33 }, c_plain = { 200, 204, 214 }, c_dup = { 230, 80, 230 },
			c_corrupt = { 255, 140, 20 }, c_reorder = { 40, 210, 240 }, c_grid = { 44, 47, 58 };

static void rlayout_of(const struct view *v, int w, int h, uint32_t npeers, struct rlayout *R)
{
	float s = v->scale;
	memset(R, 0, sizeof *R);
	int top_h = (int)lroundf(44 * s), scrub_h = (int)lroundf(44 * s), gap = (int)lroundf(6 * s);
	int lanes_h = (int)clampf(0.3f * (float)h, 90 * s, 320 * s);
	int mid_y = top_h, mid_h = h - top_h - scrub_h - lanes_h;
	int table_w = (int)clampf(0.3f * (float)w, 240 * s, 440 * s);
	R->top = (SDL_Rect){ 0, 0, w, top_h };
	R->panels = (SDL_Rect){ 0, mid_y, w - table_w, mid_h };
	R->table = (SDL_Rect){ w - table_w + gap, mid_y + gap, table_w - 2 * gap, mid_h - 2 * gap };
	R->lanes = (SDL_Rect){ gap, mid_y + mid_h, w - 2 * gap, lanes_h };
	R->scrub = (SDL_Rect){ 0, h - scrub_h, w, scrub_h };
	int lx = (int)lroundf(120 * s);
	R->bar = (SDL_Rect){ lx, R->scrub.y + scrub_h / 2 - (int)lroundf(4 * s), w - lx - (int)lroundf(250 * s),
			     (int)lroundf(8 * s) };
	R->lane_label_w = (int)lroundf(56 * s);
	int axis = v->line_h[FONT_SMALL] + 2;
	R->lane_h = (int)lroundf(18 * s);
	R->nlanes = (lanes_h - axis - gap) / R->lane_h;
	uint32_t nlinks = npeers * (npeers - (npeers ? 1 : 0));
	if (R->nlanes > 0 && (uint32_t)R->nlanes > nlinks) {
		R->nlanes = (int)nlinks;
		if (nlinks)
			R->lane_h = (int)clampf((float)(lanes_h - axis - gap) / (float)nlinks, 10 * s, 30 * s);
	}
	if (R->nlanes < 0)
		R->nlanes = 0;

	/* Panels: the grid that gives the largest square field under a two-line header. */
	int pad = (int)lroundf(4 * s);
	R->header_h = 2 * v->line_h[FONT_SMALL] + 2 * pad;
	uint32_t n = npeers ? npeers : 1;
	R->cols = 1;
	R->field = -1;
	for (uint32_t c = 1; c <= n; c++) {
		uint32_t r = (n + c - 1) / c;
		int cw = (R->panels.w - pad) / (int)c, ch = (R->panels.h - pad) / (int)r;
		int f = cw - 3 * pad < ch - R->header_h - 2 * pad ? cw - 3 * pad : ch - R->header_h - 2 * pad;
		if (f > R->field) {
			R->field = f;
			R->cols = (int)c;
			R->cell_w = cw;
			R->cell_h = ch;
		}
	}
	if (R->field < 0)
		R->field = 0;
}

static SDL_Rect rpanel(const struct view *v, const struct rlayout *R, uint32_t k)
{
	int pad = px(v, 4), c = (int)k % R->cols, r = (int)k / R->cols, h = R->header_h + R->field + 2 * pad;
	return (SDL_Rect){ R->panels.x + pad + c * R->cell_w, R->panels.y + pad + r * R->cell_h, R->cell_w - pad,
			   h < R->cell_h - pad ? h : R->cell_h - pad };
}

/* The order lanes are listed in: links of a minority peer first, then the rest, each by (from, to). */
static uint32_t lane_order(const struct view_replay_snapshot *s, uint16_t *from, uint16_t *to, uint32_t max)
{
	uint32_t n = 0, np = s->npeers;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < np; i++)
			for (uint32_t j = 0; j < np; j++) {
				if (i == j)
					continue;
				bool mino = s->peer[i].minority || s->peer[j].minority;
				if ((pass == 0) != mino || n == max)
					continue;
				from[n] = (uint16_t)i;
				to[n++] = (uint16_t)j;
			}
	return n;
}

/* The frames the lanes span: the current frame near the right, VIEW_REPLAY_BEFORE before it. */
static void lane_span(const struct view_replay_snapshot *s, float *f0, float *f1)
{
	*f0 = (float)s->frame - VIEW_REPLAY_BEFORE;
	*f1 = (float)s->frame + VIEW_REPLAY_AFTER + 1;
}

static float lane_px(const struct rlayout *R, float f0, float f1, float f)
{
	float x0 = (float)(R->lanes.x + R->lane_label_w), w = (float)(R->lanes.w - R->lane_label_w);
	return x0 + (f - f0) / (f1 - f0) * w;
}

static int bar_x(const struct rlayout *R, const struct view_replay_snapshot *s, float f)
{
	float last = s->last ? (float)s->last : 1;
	return R->bar.x + (int)lroundf(clampf(f / last, 0, 1) * (float)R->bar.w);
}

static void cross(SDL_Renderer *r, float x, float y, float arm, struct rgb c)
{
	colour(r, c, 255);
	SDL_RenderDrawLineF(r, x - arm, y - arm, x + arm, y + arm);
	SDL_RenderDrawLineF(r, x - arm, y + arm, x + arm, y - arm);
}

static void draw_top(struct view *v, struct target *t, const struct view_replay_snapshot *s, const struct rlayout *R)
{
	char line[512];
	int pad = px(v, 8), y1 = px(v, 4);
	view__fill(t, 0, 0, R->top.w, R->top.h, c_top);
	snprintf(line, sizeof line, "loopsim replay %s   frame %u / %u   seed %llu   %u peers", s->bundle ? s->bundle : "",
		 s->frame, s->last, (unsigned long long)s->seed, s->npeers);
	view__text(v, t, FONT_NORMAL, line, pad, y1, c_text, &c_top, AL_LEFT);
	view__text(v, t, FONT_NORMAL, "<- -> frame  PgUp/PgDn 1 s  Home/End  d divergence", R->top.w - pad, y1, c_dim,
		   &c_top, AL_RIGHT);
	int y2 = y1 + v->line_h[FONT_NORMAL] + px(v, 2), h2 = R->top.h - y2 - px(v, 2);
	if (s->divergence < 0) {
		view__text(v, t, FONT_NORMAL, "no divergent frame in diff.txt", pad, y2 + h2 / 2, c_dim, &c_top,
			   AL_VCENTER);
		return;
	}
	bool at = (int64_t)s->frame == s->divergence;
	struct rgb bg = at ? c_banner : c_top;
	view__fill(t, 0, y2, R->top.w, h2, bg);
	snprintf(line, sizeof line, "DESYNC at frame %lld   minority: %s   %s%s", (long long)s->divergence,
		 s->minority[0] ? s->minority : "?", s->field, at ? "" : (int64_t)s->frame < s->divergence ? "   (before it)" : "   (after it)");
	view__text(v, t, FONT_BIG, line, pad, y2 + h2 / 2, at ? c_white : c_amber, &bg, AL_VCENTER);
}

/* A panel: its header (peer, frame, dump or re-simulation), then its game with the differing entity ringed. */
static void draw_panel(struct view *v, struct target *t, const struct view_replay_snapshot *s, const struct rlayout *R,
		       uint32_t k)
{
	const struct view_replay_peer *rp = &s->peer[k];
	SDL_Rect rc = rpanel(v, R, k);
	int pad = px(v, 4), lh = v->line_h[FONT_SMALL];
	view__fill(t, rc.x, rc.y, rc.w, rc.h, c_panel);
	view__clip_set(t, &rc);
	char line[160];
	int x = rc.x + pad, y = rc.y + pad;
	snprintf(line, sizeof line, "peer %u", k);
	x += view__text(v, t, FONT_SMALL, line, x, y, rgb_of(view_peer_rgb(k)), &c_panel, AL_LEFT) + px(v, 6);
	if (rp->minority)
		x += view__text(v, t, FONT_SMALL, "MINORITY", x, y, c_red, &c_panel, AL_LEFT) + px(v, 6);
	if (rp->from_dump)
		view__text(v, t, FONT_SMALL, "dump", x, y, c_amber, &c_panel, AL_LEFT);
	if (s->bytes_view)
		snprintf(line, sizeof line, "state-%u.bin, %u bytes%s", k, rp->nbytes, rp->bytes ? "" : ": none");
	else if (rp->note[0])
		snprintf(line, sizeof line, "f %u  %s", rp->p.game_frame, rp->note);
	else
		snprintf(line, sizeof line, "f %u  %08llx", rp->p.game_frame, (unsigned long long)(rp->p.checksum >> 32));
	view__text(v, t, FONT_SMALL, line, rc.x + pad, y + lh, rp->minority ? c_amber : c_text, &c_panel, AL_LEFT);
	view__clip_set(t, NULL);

	if (!s->bytes_view && rp->p.has_game && R->field > 8) {
		int fw = R->field;
		SDL_Rect f = { rc.x + (rc.w - fw) / 2, rc.y + R->header_h, fw, fw };
		view__draw_game(v, t, k, &rp->p, f, true);
		view__border(t, (SDL_Rect){ f.x - 1, f.y - 1, f.w + 2, f.h + 2 }, 1, c_frame);
		if (rp->ring) {
			float kf = (float)f.w / 1000.0f;
			float cx = (float)f.x + field_coord(rp->ring_x) * kf, cy = (float)f.y + field_coord(rp->ring_y) * kf;
			float rad = clampf(0.07f * (float)f.w, 8 * v->scale, 22 * v->scale);
			view__clip_set(t, &f);
			view__ring(v, t, cx, cy, rad, 2.5f * v->scale, c_red);
			view__clip_set(t, NULL);
		}
	} else if (s->bytes_view && rp->bytes) {
		/* Hex rows from a little before the first byte that differs; differing bytes on red. */
		int adv = view__text_width(v, FONT_SMALL, "0"), per = (rc.w - 2 * pad) / adv >= 4 + 1 + 16 * 3 ? 16 : 8;
		uint32_t first = 0;
		while (first < rp->nbytes && !(rp->diff && rp->diff[first]))
			first++;
		if (first == rp->nbytes)
			first = 0;
		uint32_t row0 = first / (uint32_t)per, skip = row0 > 2 ? row0 - 2 : 0;
		int ry = rc.y + R->header_h;
		view__clip_set(t, &rc);
		for (uint32_t r = skip; (uint32_t)r * (uint32_t)per < rp->nbytes && ry + lh <= rc.y + rc.h - pad; r++, ry += lh) {
			snprintf(line, sizeof line, "%04x", r * (uint32_t)per);
			int bx = rc.x + pad + view__text(v, t, FONT_SMALL, line, rc.x + pad, ry, c_dim, &c_panel, AL_LEFT) + adv;
			for (int i = 0; i < per && r * (uint32_t)per + (uint32_t)i < rp->nbytes; i++) {
				uint32_t at = r * (uint32_t)per + (uint32_t)i;
				bool bad = rp->diff && rp->diff[at];
				snprintf(line, sizeof line, "%02x", rp->bytes[at]);
				if (bad)
					view__fill(t, bx - 1, ry, 2 * adv + 2, lh, c_bad);
				view__text(v, t, FONT_SMALL, line, bx, ry, bad ? c_white : c_text, bad ? &c_bad : &c_panel,
					   AL_LEFT);
				bx += 3 * adv;
			}
		}
		view__clip_set(t, NULL);
	}
	int bt = rp->minority ? px(v, VIEW_DESYNC_BORDER_PX) : 1;
	view__border(t, rc, bt, rp->minority ? c_red : c_frame);
}

/* The table of differing fields: the reference, then every peer (or, when they do not fit, those that differ). */
static void draw_table(struct view *v, struct target *t, const struct view_replay_snapshot *s, const struct rlayout *R)
{
	SDL_Rect tb = R->table;
	int pad = px(v, 6), lh = v->line_h[FONT_SMALL], adv = view__text_width(v, FONT_SMALL, "0");
	view__fill(t, tb.x, tb.y, tb.w, tb.h, c_panel);
	view__border(t, tb, 1, c_frame);
	view__clip_set(t, &tb);
	int x = tb.x + pad, y = tb.y + pad;
	char line[160];
	if (s->bytes_view) {
		view__text(v, t, FONT_SMALL, "states are the peers' own bytes:", x, y, c_text, &c_panel, AL_LEFT);
		view__text(v, t, FONT_SMALL, "red bytes differ from the majority's", x, y + lh, c_dim, &c_panel, AL_LEFT);
		view__clip_set(t, NULL);
		return;
	}
	snprintf(line, sizeof line, "fields that differ at frame %u: %u", s->frame, s->nrows + s->rows_hidden);
	view__text(v, t, FONT_SMALL, line, x, y, c_text, &c_panel, AL_LEFT);
	y += lh + px(v, 2);
	if (s->nrows == 0) {
		view__text(v, t, FONT_SMALL, "none: every peer agrees with the reference", x, y, c_dim, &c_panel, AL_LEFT);
		view__clip_set(t, NULL);
		return;
	}
	/* Columns: the name, the reference, then the peers that fit; those that differ from it first. */
	int name_w = 14 * adv, col_w = 11 * adv;
	int fit = (tb.w - 2 * pad - name_w - col_w) / col_w;
	uint32_t cols[VIEW_MAX_PEERS], ncols = 0;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t k = 0; k < s->npeers && (int)ncols < fit; k++) {
			bool differs = false;
			for (uint32_t r = 0; r < s->nrows; r++)
				differs |= s->row[r].have[k] && (!s->row[r].have_ref || s->row[r].val[k] != s->row[r].ref);
			if ((pass == 0) == differs)
				cols[ncols++] = k;
		}
	view__text(v, t, FONT_SMALL, "field", x, y, c_dim, &c_panel, AL_LEFT);
	view__text(v, t, FONT_SMALL, "ref", x + name_w + col_w - adv, y, c_dim, &c_panel, AL_RIGHT);
	for (uint32_t c = 0; c < ncols; c++) {
		snprintf(line, sizeof line, "peer %u", cols[c]);
		view__text(v, t, FONT_SMALL, line, x + name_w + (int)(c + 2) * col_w - adv, y, rgb_of(view_peer_rgb(cols[c])),
			   &c_panel, AL_RIGHT);
	}
	y += lh;
	for (uint32_t r = 0; r < s->nrows && y + lh <= tb.y + tb.h - lh; r++, y += lh) {
		const struct view_replay_row *row = &s->row[r];
		view__text(v, t, FONT_SMALL, row->name, x, y, c_text, &c_panel, AL_LEFT);
		snprintf(line, sizeof line, row->have_ref ? "%lld" : "-", (long long)row->ref);
		view__text(v, t, FONT_SMALL, line, x + name_w + col_w - adv, y, c_text, &c_panel, AL_RIGHT);
		for (uint32_t c = 0; c < ncols; c++) {
			uint32_t k = cols[c];
			bool bad = row->have[k] && row->have_ref && row->val[k] != row->ref;
			snprintf(line, sizeof line, row->have[k] ? "%lld" : "-", (long long)row->val[k]);
			int rx = x + name_w + (int)(c + 2) * col_w - adv;
			if (bad) {
				int w = view__text_width(v, FONT_SMALL, line);
				view__fill(t, rx - w - 2, y, w + 4, lh, c_bad);
			}
			view__text(v, t, FONT_SMALL, line, rx, y, bad ? c_white : c_dim, bad ? &c_bad : &c_panel, AL_RIGHT);
		}
	}
	if (ncols < s->npeers) {
		snprintf(line, sizeof line, "%u peers not shown agree with the reference", s->npeers - ncols);
		view__text(v, t, FONT_SMALL, line, x, tb.y + tb.h - pad - lh, c_dim, &c_panel, AL_LEFT);
	} else if (s->rows_hidden) {
		snprintf(line, sizeof line, "and %u more fields", s->rows_hidden);
		view__text(v, t, FONT_SMALL, line, x, tb.y + tb.h - pad - lh, c_dim, &c_panel, AL_LEFT);
	}
	view__clip_set(t, NULL);
}

/* The first datagram sent at or after frame f (fates are by sent frame). */
static uint32_t fate_from(const struct view_replay_snapshot *s, float f)
{
	uint32_t lo = 0, hi = s->nfates;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->fate[mid].sent < f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The lanes: a row per directed link; each datagram a slanted line from
 * when it was sent (the lane's top) to when it arrived (its bottom), so a
 * delay is a slope and a reordering a crossing; a drop is a cross where it
 * was sent. The current frame is a white line, the divergence a red one,
 * timeline events yellow ones.
 */
static void draw_lanes(struct view *v, struct target *t, const struct view_replay_snapshot *s, const struct rlayout *R)
{
	SDL_Renderer *r = t->r;
	SDL_Rect ln = R->lanes;
	int lh = v->line_h[FONT_SMALL], axis = lh + 2;
	float f0, f1;
	lane_span(s, &f0, &f1);
	view__fill(t, ln.x, ln.y, ln.w, ln.h, c_bg);
	int top = ln.y + axis, plot_x0 = ln.x + R->lane_label_w;
	SDL_Rect plot = { plot_x0, top, ln.w - R->lane_label_w, R->nlanes * R->lane_h };
	/* The frame axis: a tick every 10 frames. */
	view__clip_set(t, &ln);
	for (int64_t f = ((int64_t)f0 / 10) * 10; f <= (int64_t)f1; f += 10) {
		if (f < 0 || (float)f < f0)
			continue;
		int x = (int)lane_px(R, f0, f1, (float)f);
		char lab[24];
		snprintf(lab, sizeof lab, "%lld", (long long)f);
		view__text(v, t, FONT_SMALL, lab, x, ln.y, c_dim, &c_bg, AL_CENTER);
	}
	uint16_t from[VIEW_MAX_LINKS], to[VIEW_MAX_LINKS];
	uint32_t nl = lane_order(s, from, to, (uint32_t)R->nlanes);
	int32_t lane_of[VIEW_MAX_PEERS][VIEW_MAX_PEERS];
	memset(lane_of, 0xff, sizeof lane_of);
	for (uint32_t i = 0; i < nl; i++) {
		lane_of[from[i]][to[i]] = (int32_t)i;
		int y = top + (int)i * R->lane_h;
		view__fill(t, plot_x0, y + 1, plot.w, R->lane_h - 2, c_lane);
		char lab[24];
		snprintf(lab, sizeof lab, "%u->%u", from[i], to[i]);
		bool mino = s->peer[from[i]].minority || s->peer[to[i]].minority;
		view__text(v, t, FONT_SMALL, lab, ln.x + px(v, 2), y + R->lane_h / 2, mino ? c_amber : c_text, &c_bg,
			   AL_VCENTER);
	}
	uint32_t nlinks = s->npeers * (s->npeers ? s->npeers - 1 : 0);
	if (nl < nlinks) {
		char lab[64];
		snprintf(lab, sizeof lab, "%u more links not shown", nlinks - nl);
		view__text(v, t, FONT_SMALL, lab, ln.x + ln.w, ln.y, c_dim, &c_bg, AL_RIGHT);
	}
	view__clip_set(t, &plot);
	/* Grid every 10 frames, the events, the divergence and the current frame. */
	colour(r, c_grid, 255);
	for (int64_t f = ((int64_t)f0 / 10) * 10; f <= (int64_t)f1; f += 10)
		if (f >= 0)
			SDL_RenderDrawLineF(r, lane_px(R, f0, f1, (float)f), (float)plot.y, lane_px(R, f0, f1, (float)f),
					    (float)(plot.y + plot.h));
	colour(r, c_event, 255);
	for (uint32_t i = 0; i < s->nevents; i++) {
		float x = lane_px(R, f0, f1, s->event[i].frame);
		SDL_RenderDrawLineF(r, x, (float)plot.y, x, (float)(plot.y + plot.h));
	}
	if (s->divergence >= 0) {
		colour(r, c_red, 255);
		float x = lane_px(R, f0, f1, (float)s->divergence + 0.5f);
		view__thick_line(r, x, (float)plot.y, x, (float)(plot.y + plot.h), px(v, 2));
	}
	float arm = clampf(0.25f * (float)R->lane_h, 2 * v->scale, 5 * v->scale);
	for (uint32_t i = fate_from(s, f0 - 60); i < s->nfates && s->fate[i].sent <= f1; i++) {
		const struct view_replay_fate *d = &s->fate[i];
		if (d->from >= VIEW_MAX_PEERS || d->to >= VIEW_MAX_PEERS || lane_of[d->from][d->to] < 0)
			continue;
		float y0 = (float)(top + lane_of[d->from][d->to] * R->lane_h + 2), y1 = y0 + (float)R->lane_h - 5;
		float x0 = lane_px(R, f0, f1, d->sent);
		if (d->fate != VIEW_FATE_DELIVER) {
			struct rgb c = d->fate == VIEW_FATE_LOSS ? c_red : d->fate == VIEW_FATE_PARTITION ? c_cut : c_amber;
			cross(r, x0, (y0 + y1) / 2, arm, c);
			continue;
		}
		if (d->arrived < f0 && d->sent < f0)
			continue;
		colour(r, d->kind == VIEW_DOT_CORRUPT ? c_corrupt : d->kind == VIEW_DOT_REORDER ? c_reorder : c_plain, 255);
		SDL_RenderDrawLineF(r, x0, y0, lane_px(R, f0, f1, d->arrived), y1);
		if (d->dup) {
			colour(r, c_dup, 255);
			SDL_RenderDrawLineF(r, x0, y0, lane_px(R, f0, f1, d->copy_arrived), y1);
		}
	}
	colour(r, c_white, 255);
	float xc = lane_px(R, f0, f1, (float)s->frame + 0.5f);
	SDL_RenderDrawLineF(r, xc, (float)plot.y, xc, (float)(plot.y + plot.h));
	view__clip_set(t, &ln);
	/* Event labels over the axis, where they fit. */
	int last_end = -100000;
	for (uint32_t i = 0; i < s->nevents; i++) {
		float x = lane_px(R, f0, f1, s->event[i].frame);
		int w = view__text_width(v, FONT_SMALL, s->event[i].label);
		if (x < (float)plot_x0 || x > (float)(plot_x0 + plot.w) || (int)x <= last_end)
			continue;
		int lx = (int)x + px(v, 2);
		if (lx + w > plot_x0 + plot.w)
			lx = (int)x - px(v, 2) - w;
		view__fill(t, lx, ln.y, w, lh, c_bg);
		view__text(v, t, FONT_SMALL, s->event[i].label, lx, ln.y, c_event, &c_bg, AL_LEFT);
		last_end = lx + w + px(v, 4);
	}
	view__clip_set(t, NULL);
}

static void draw_scrubber(struct view *v, struct target *t, const struct view_replay_snapshot *s, const struct rlayout *R)
{
	static const struct rgb c_track = { 60, 64, 78 }, c_done = { 90, 120, 200 };
	SDL_Rect sc = R->scrub, b = R->bar;
	view__fill(t, sc.x, sc.y, sc.w, sc.h, c_top);
	char line[96];
	snprintf(line, sizeof line, "frame %u", s->frame);
	view__text(v, t, FONT_BIG, line, px(v, 10), sc.y + sc.h / 2, c_white, &c_top, AL_VCENTER);
	view__fill(t, b.x, b.y, b.w, b.h, c_track);
	int xf = bar_x(R, s, (float)s->frame);
	view__fill(t, b.x, b.y, xf - b.x, b.h, c_done);
	for (uint32_t i = 0; i < s->nevents; i++) {
		int x = bar_x(R, s, s->event[i].frame);
		view__fill(t, x, b.y - px(v, 5), px(v, 2) > 0 ? px(v, 2) : 1, b.h + px(v, 10), c_event);
	}
	if (s->divergence >= 0) {
		int x = bar_x(R, s, (float)s->divergence);
		view__fill(t, x - px(v, 1), b.y - px(v, 8), px(v, 3), b.h + px(v, 16), c_red);
	}
	int hw = px(v, 5);
	view__fill(t, xf - hw, b.y - px(v, 6), 2 * hw + 1, b.h + px(v, 12), c_white);
	snprintf(line, sizeof line, "0 .. %u", s->last);
	view__text(v, t, FONT_SMALL, line, b.x + b.w + px(v, 10), sc.y + sc.h / 2, c_dim, &c_top, AL_VCENTER);
	if (s->divergence >= 0) {
		snprintf(line, sizeof line, "divergence %lld", (long long)s->divergence);
		view__text(v, t, FONT_SMALL, line, sc.w - px(v, 10), sc.y + sc.h / 2, c_red, &c_top,
			   AL_RIGHT | AL_VCENTER);
	}
}

static void draw_replay(struct view *v, struct target *t, const struct view_replay_snapshot *s)
{
	struct rlayout R;
	t->tick++;
	rlayout_of(v, t->w, t->h, s->npeers, &R);
	SDL_SetRenderDrawBlendMode(t->r, SDL_BLENDMODE_NONE);
	view__clip_set(t, NULL);
	view__fill(t, 0, 0, t->w, t->h, c_bg);
	for (uint32_t k = 0; k < s->npeers && k < VIEW_MAX_PEERS; k++)
		draw_panel(v, t, s, &R, k);
	draw_table(v, t, s, &R);
	draw_lanes(v, t, s, &R);
	draw_scrubber(v, t, s, &R);
	draw_top(v, t, s, &R);
	SDL_RenderFlush(t->r);
	t->kept = false; /* a live frame drawn next into this target starts whole */
}

void view_replay_frame(struct view *v, const struct view_replay_snapshot *s)
{
	view__update_size(v);
	draw_replay(v, &v->main, s);
	if (v->win)
		SDL_RenderPresent(v->main.r);
}

int view_replay_screenshot(struct view *v, const struct view_replay_snapshot *s, const char *png_path, char *err,
			   size_t errlen)
{
	struct target tmp, *t = &v->main;
	if (v->win) {
		view__update_size(v);
		if (view__target_surface(&tmp, v->main.w, v->main.h, err, errlen) < 0)
			return -1;
		t = &tmp;
	}
	draw_replay(v, t, s);
	int rc = 0;
	if (IMG_SavePNG(t->surface, png_path) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", png_path, IMG_GetError());
		rc = -1;
	}
	if (t == &tmp)
		view__target_fini(&tmp);
	return rc;
}

static uint32_t frame_at_x(const struct rlayout *R, const struct view_replay_snapshot *s, float x)
{
	float f = clampf((x - (float)R->bar.x) / (float)(R->bar.w > 0 ? R->bar.w : 1), 0, 1) * (float)s->last;
	return (uint32_t)lroundf(f);
}

int view_replay_events(struct view *v, const struct view_replay_snapshot *s, uint32_t *frame, int wait_ms)
{
	if (!SDL_WasInit(SDL_INIT_EVENTS))
		return 0;
	struct rlayout R;
	rlayout_of(v, v->main.w, v->main.h, s->npeers, &R);
	SDL_Rect hit = { R.bar.x - px(v, 6), R.scrub.y, R.bar.w + px(v, 12), R.scrub.h };
	int64_t f = *frame, last = s->last;
	SDL_Event e;
	int quit = 0;
	bool got = wait_ms > 0 ? SDL_WaitEventTimeout(&e, wait_ms) == 1 : SDL_PollEvent(&e) == 1;
	for (; got; got = SDL_PollEvent(&e) == 1) {
		switch (e.type) {
		case SDL_QUIT:
			quit = 1;
			break;
		case SDL_WINDOWEVENT:
			if (e.window.event == SDL_WINDOWEVENT_CLOSE)
				quit = 1;
			break;
		case SDL_KEYDOWN:
			switch (e.key.keysym.sym) {
			case SDLK_ESCAPE:
			case SDLK_q:
				quit = 1;
				break;
			case SDLK_LEFT:
				f--;
				break;
			case SDLK_RIGHT:
				f++;
				break;
			case SDLK_PAGEUP:
				f -= s->per_second ? s->per_second : 60;
				break;
			case SDLK_PAGEDOWN:
				f += s->per_second ? s->per_second : 60;
				break;
			case SDLK_HOME:
				f = 0;
				break;
			case SDLK_END:
				f = last;
				break;
			case SDLK_d:
				if (s->divergence >= 0)
					f = s->divergence;
				break;
			default:
				break;
			}
			break;
		case SDL_MOUSEBUTTONDOWN:
		case SDL_MOUSEMOTION: {
			bool down = e.type == SDL_MOUSEBUTTONDOWN ? e.button.button == SDL_BUTTON_LEFT
								   : (e.motion.state & SDL_BUTTON_LMASK) != 0;
			float x = (float)(e.type == SDL_MOUSEBUTTONDOWN ? e.button.x : e.motion.x) * v->scale;
			float y = (float)(e.type == SDL_MOUSEBUTTONDOWN ? e.button.y : e.motion.y) * v->scale;
			if (down && x >= (float)hit.x && x < (float)(hit.x + hit.w) && y >= (float)hit.y &&
			    y < (float)(hit.y + hit.h))
				f = frame_at_x(&R, s, x);
			break;
		}
		default:
			break;
		}
		f = f < 0 ? 0 : f > last ? last : f;
	}
	*frame = (uint32_t)f;
	return quit;
}

void view_replay_scrubber_at(const struct view *v, const struct view_replay_snapshot *s, uint32_t f, int *x, int *y)
{
	struct rlayout R;
	rlayout_of(v, v->main.w, v->main.h, s->npeers, &R);
	*x = bar_x(&R, s, (float)f);
	*y = R.bar.y + R.bar.h / 2;
}

void view_replay_panel(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out)
{
	struct rlayout R;
	rlayout_of(v, v->main.w, v->main.h, npeers, &R);
	SDL_Rect rc = k < npeers ? rpanel(v, &R, k) : (SDL_Rect){ 0, 0, 0, 0 };
	*out = (struct view_rect){ rc.x, rc.y, rc.w, rc.h };
}

void view_replay_field(const struct view *v, uint32_t npeers, uint32_t k, struct view_rect *out)
{
	struct rlayout R;
	rlayout_of(v, v->main.w, v->main.h, npeers, &R);
	*out = (struct view_rect){ 0, 0, 0, 0 };
	if (k >= npeers || R.field <= 8)
		return;
	SDL_Rect rc = rpanel(v, &R, k);
	*out = (struct view_rect){ rc.x + (rc.w - R.field) / 2, rc.y + R.header_h, R.field, R.field };
}

void view_replay_lane(const struct view *v, const struct view_replay_snapshot *s, uint32_t from, uint32_t to,
		      struct view_rect *out)
{
	struct rlayout R;
	rlayout_of(v, v->main.w, v->main.h, s->npeers, &R);
	uint16_t fr[VIEW_MAX_LINKS], tt[VIEW_MAX_LINKS];
	uint32_t nl = lane_order(s, fr, tt, (uint32_t)R.nlanes);
	*out = (struct view_rect){ 0, 0, 0, 0 };
	for (uint32_t i = 0; i < nl; i++)
		if (fr[i] == from && tt[i] == to) {
			int x0 = R.lanes.x + R.lane_label_w;
			*out = (struct view_rect){ x0, R.lanes.y + v->line_h[FONT_SMALL] + 2 + (int)i * R.lane_h,
						   R.lanes.w - R.lane_label_w, R.lane_h };
		}
}

int view_replay_lane_x(const struct view *v, const struct view_replay_snapshot *s, float f)
{
	struct rlayout R;
	float f0, f1;
	rlayout_of(v, v->main.w, v->main.h, s->npeers, &R);
	lane_span(s, &f0, &f1);
	return (int)lane_px(&R, f0, f1, f);
}

int view_replay_push_keys(const char *script)
{
	SDL_Keycode keys[256];
	int n = 0;
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", script);
	for (char *save = NULL, *tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		SDL_Keycode k = SDL_GetKeyFromName(tok);
		if (k == SDLK_UNKNOWN || n == 256)
			return -1;
		keys[n++] = k;
	}
	for (int i = 0; i < n; i++) {
		SDL_Event e = { 0 };
		e.key.keysym.sym = keys[i];
		e.key.keysym.scancode = SDL_GetScancodeFromKey(keys[i]);
		e.type = SDL_KEYDOWN;
		e.key.state = SDL_PRESSED;
		if (SDL_PushEvent(&e) < 0)
			return -1;
		e.type = SDL_KEYUP;
		e.key.state = SDL_RELEASED;
		if (SDL_PushEvent(&e) < 0)
			return -1;
	}
	return n;
}
