// SPDX-License-Identifier: MIT
// Drawing the strip (the selection box and the graphs) and the help overlay.
#include "view/view_int.h"

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

/* The selected peer's round trip to each remote it reported one for, "rtt to 1 183.4  2 33.3" over as many lines as
 * the box is wide, at most max; "..." ends the last when more did not fit. */
static void info_rtt_to(struct view *v, const struct view_snapshot *s, uint32_t from, struct info *in, int max)
{
	char line[128] = "", item[32];
	int width = v->L.info.w - px(v, 12), lines = 0;
	for (uint32_t l = 0; l < s->nlinks && lines < max; l++) {
		const struct view_link *k = &s->link[l];
		if (k->from != from || !k->rtt_known)
			continue;
		snprintf(item, sizeof item, "%s%u %.1f", line[0] ? "  " : "rtt to ", k->to, k->rtt_ms);
		char next[sizeof line];
		/* A line too long for its buffer is as full as one too wide for the box. */
		bool fits = snprintf(next, sizeof next, "%s%s", line, item) < (int)sizeof next;
		if (!line[0] || (fits && view__text_width(v, FONT_SMALL, next) <= width)) {
			memcpy(line, next, sizeof line);
			continue;
		}
		if (++lines == max) {
			size_t used = strnlen(line, sizeof line - 5);
			memcpy(line + used, " ...", 5);
			break;
		}
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "       %u %.1f", k->to, k->rtt_ms);
	}
	if (line[0])
		info_line(in, c_text, line);
}

static void info_of(struct view *v, const struct view_snapshot *s, struct info *in)
{
	char line[128];
	in->n = 0;
	in->flying = false;
	if (v->sel == SEL_LINK && view__find_link(s, v->sel_from, v->sel_to)) {
		const struct view_link *k = view__find_link(s, v->sel_from, v->sel_to);
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
		/* The peers' figure: both ways of the wire and their own frame pacing, which the delays above lack. */
		if (k->rtt_known)
			snprintf(line, sizeof line, "rtt %.1f ms, as peer %u measures", k->rtt_ms, k->from);
		else
			snprintf(line, sizeof line, "rtt: peer %u reports none", k->from);
		info_line(in, k->rtt_known ? c_text : c_dim, line);
		info_line(in, c_dim, "Up/Down Left/Right [ ] x (Shift: both)");
	} else if (v->sel == SEL_PEER && v->sel_peer < s->npeers) {
		const struct view_peer *p = &s->peer[v->sel_peer];
		snprintf(line, sizeof line, "peer %u  %s", p->index, p->addr);
		info_line(in, rgb_of(view_peer_rgb(v->sel_peer)), line);
		snprintf(line, sizeof line, "frame %u  confirmed %u", p->frame, p->confirmed);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "rtt %.1f ms mean", p->rtt_ms);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "rollbacks %.1f/s  last depth %u", p->rollbacks_per_s, p->last_rollback);
		info_line(in, c_text, line);
		snprintf(line, sizeof line, "checksum %016llx %s", (unsigned long long)p->checksum,
			 p->checksum_ok ? "ok" : "DIFFERS");
		info_line(in, p->checksum_ok ? c_text : c_bad, line);
		snprintf(line, sizeof line, "%s%s%s", p->ended ? "process ended  " : !p->alive ? "process exited  " : p->stalled ? "stalled  " : "",
			 p->minority ? "desync minority  " : "", p->human ? "flown by you" : "");
		info_line(in, c_amber, line);
		/* Whatever room is left above the flown peer's line. */
		info_rtt_to(v, s, v->sel_peer, in, INFO_LINES - 1 - in->n);
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

int view_selection_text(struct view *v, char *out, size_t cap)
{
	struct info in = { 0 };
	const struct view_snapshot *s = shown(v);
	if (s)
		info_of(v, s, &in);
	size_t at = 0;
	if (cap)
		out[0] = '\0';
	for (int i = 0; i < in.n && at + 1 < cap; i++) {
		int n = snprintf(out + at, cap - at, "%s%s", i ? "\n" : "", in.s[i]);
		at = n < 0 ? at : at + (size_t)n < cap ? at + (size_t)n : cap - 1;
	}
	return in.n;
}

void view__draw_info(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	struct info in;
	info_of(v, s, &in);
	uint64_t key = key_u64(KEY_SEED, (uint64_t)in.n << 1 | in.flying);
	for (int i = 0; i < in.n; i++)
		key = key_str(key_rgb(key, in.c[i]), in.s[i]);
	if (!region_due(full, &t->held_info, key))
		return;
	view__fill(t, L->info.x, L->info.y, L->info.w, L->info.h, c_panel);
	view__border(t, L->info, 1, c_frame);
	view__clip_set(t, &L->info);
	int lh = v->line_h[FONT_SMALL], y = L->info.y + px(v, 4);
	for (int i = 0; i < in.n; i++, y += lh) {
		if (in.flying && i == in.n - 1)
			y = L->info.y + L->info.h - px(v, 4) - lh;
		view__text(v, t, FONT_SMALL, in.s[i], L->info.x + px(v, 6), y, in.c[i], &c_panel, AL_LEFT);
	}
	view__clip_set(t, NULL);
}

struct plot {
	SDL_Rect area; /* the plot inside the graph's frame */
	double t0, t1, ymax;
	bool whole;    /* the session is shorter than VIEW_GRAPH_S: the axis is all of it, from 0 */
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
	view__fill(t, g.x, g.y, g.w, g.h, c_panel);
	view__border(t, g, 1, c_frame);
	int lh = v->line_h[FONT_SMALL], pad = px(v, 4);
	pl->area = (SDL_Rect){ g.x + pad, g.y + lh + pad, g.w - 2 * pad, g.h - 2 * lh - 2 * pad };
	char line[32];
	snprintf(line, sizeof line, "%g", pl->ymax);
	int yw = view__text(v, t, FONT_SMALL, line, g.x + g.w - pad, g.y + pad / 2, c_dim, &c_panel, AL_RIGHT);
	/* The title gives way to the scale in a narrow window. */
	view__clip_set(t, &(SDL_Rect){ g.x, g.y, g.w - yw - 3 * pad, lh + pad });
	view__text(v, t, FONT_SMALL, title, g.x + pad, g.y + pad / 2, c_text, &c_panel, AL_LEFT);
	view__clip_set(t, NULL);
	snprintf(line, sizeof line, pl->whole ? "0 s" : "-%d s", VIEW_GRAPH_S);
	view__text(v, t, FONT_SMALL, line, pl->area.x, pl->area.y + pl->area.h + 1, c_dim, &c_panel, AL_LEFT);
	snprintf(line, sizeof line, "%g s", pl->t1);
	view__text(v, t, FONT_SMALL, pl->whole ? line : "now", pl->area.x + pl->area.w, pl->area.y + pl->area.h + 1,
		   c_dim, &c_panel, AL_RIGHT);
	colour(r, c_frame, 255);
	SDL_RenderDrawLine(r, pl->area.x, pl->area.y + pl->area.h, pl->area.x + pl->area.w, pl->area.y + pl->area.h);
}

/* Vertical ticks for the snapshot's events (in time order), then their labels where a label fits. */
static void graph_events(struct view *v, struct target *t, const struct view_snapshot *s, const struct plot *pl)
{
	SDL_Renderer *r = t->r;
	view__clip_set(t, &pl->area);
	colour(r, c_event, 255);
	for (uint32_t i = 0; i < s->nevents; i++) {
		const struct view_event *e = &s->event[i];
		if (e->t_s >= pl->t0 && e->t_s <= pl->t1) {
			float x = plot_x(pl, e->t_s);
			SDL_RenderDrawLineF(r, x, (float)pl->area.y, x, (float)(pl->area.y + pl->area.h));
		}
	}
	/*
	 * A label is drawn whole, right of its tick or else left of it, never
	 * cut by the plot's edge: when it does not fit, its first word, then
	 * that word's first three letters and a dot ("partition 0 1 | 2 3",
	 * "partition", "par."); when none fits, the tick alone.
	 */
	int last_end = -1000000, x_end = pl->area.x + pl->area.w;
	for (uint32_t i = 0; i < s->nevents; i++) {
		const struct view_event *e = &s->event[i];
		if (e->t_s < pl->t0 || e->t_s > pl->t1 || !e->label[0])
			continue;
		char cand[3][sizeof e->label];
		snprintf(cand[0], sizeof cand[0], "%s", e->label);
		snprintf(cand[1], sizeof cand[1], "%.*s", (int)strcspn(e->label, " "), e->label);
		for (size_t n = strlen(cand[1]); n > 1 && strchr(":,;", cand[1][n - 1]); n--)
			cand[1][n - 1] = 0; /* "start:" is "start" */
		snprintf(cand[2], sizeof cand[2], "%.3s.", e->label);
		/* Right of the tick, a label stops before the next event's tick. */
		int next = x_end;
		for (uint32_t j = i + 1; j < s->nevents; j++)
			if (s->event[j].t_s > e->t_s && s->event[j].t_s <= pl->t1) {
				next = (int)plot_x(pl, s->event[j].t_s) - px(v, 2);
				break;
			}
		int x = (int)plot_x(pl, e->t_s), lx = 0, w = 0, c = 0;
		for (; c < 3; c++) {
			if (c == 2 && strlen(cand[1]) <= 4)
				continue; /* a short word is its own abbreviation */
			w = view__text_width(v, FONT_SMALL, cand[c]);
			lx = x + px(v, 2);
			if (lx + w + px(v, 2) > next)
				lx = x - px(v, 3) - w; /* no room on the right: the label goes left of its tick */
			if (lx > last_end && lx >= pl->area.x && lx + w + px(v, 2) <= x_end && w > 0)
				break;
		}
		if (c == 3)
			continue;
		view__fill(t, lx, pl->area.y, w + px(v, 2), v->line_h[FONT_SMALL], c_panel);
		view__text(v, t, FONT_SMALL, cand[c], lx + px(v, 1), pl->area.y, c_event, &c_panel, AL_LEFT);
		last_end = lx + w + px(v, 4);
	}
	view__clip_set(t, NULL);
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

static float rtt_of(const struct hist *h, uint32_t slot, uint32_t k)
{
	return h->rtt[slot][k];
}

static float rb_of(const struct hist *h, uint32_t slot, uint32_t k)
{
	return h->rb[slot][k];
}

/*
 * One line per peer of a history series (value_of), over the count samples
 * from first, at times tbuf: the scale is the largest value, at least ymin,
 * rounded up to a nice number. pl carries the time axis in and the plot out.
 */
static void per_peer_graph(struct view *v, struct target *t, const struct view_snapshot *s, SDL_Rect g,
			   const char *title, float ymin,
			   float (*value_of)(const struct hist *h, uint32_t slot, uint32_t k), uint32_t first,
			   uint32_t count, uint32_t npeers, const double *tbuf, struct plot *pl)
{
	const struct hist *h = v->hist;
	float vbuf[VIEW_HIST_LEN];
	pl->ymax = ymin;
	for (uint32_t n = 0; n < count; n++)
		for (uint32_t k = 0; k < npeers; k++) {
			float y = value_of(h, view__hist_slot(h, first + n), k);
			if (y > pl->ymax)
				pl->ymax = y;
		}
	pl->ymax = view__nice_ceil(pl->ymax);
	graph_frame(v, t, g, title, pl);
	graph_events(v, t, s, pl);
	view__clip_set(t, &(SDL_Rect){ pl->area.x, pl->area.y - 1, pl->area.w + 1, pl->area.h + 2 });
	for (uint32_t k = 0; k < npeers; k++) {
		for (uint32_t n = 0; n < count; n++)
			vbuf[n] = value_of(h, view__hist_slot(h, first + n), k);
		graph_series(v, t->r, pl, vbuf, tbuf, count, rgb_of(view_peer_rgb(k)));
	}
	view__clip_set(t, NULL);
}

/*
 * The graphs end at the newest sample, not at the snapshot's time: they
 * change only when the history does (VIEW_HIST_HZ), so between samples a
 * retained target keeps them as they are. The newest sample is at most
 * 1 / VIEW_HIST_HZ old, a pixel or less at the strip's scale.
 */
void view__draw_graphs(struct view *v, struct target *t, const struct view_snapshot *s, bool full)
{
	const struct layout *L = &v->L;
	const struct hist *h = v->hist;
	SDL_Renderer *r = t->r;
	double now = h->len && h->t[h->head] <= s->t_s ? h->t[h->head] : s->t_s, t0 = now - VIEW_GRAPH_S, t1 = now;
	/* A session shorter than the strip's span fills it: the axis runs over the whole session, from 0. */
	bool whole = s->duration_s > 0 && s->duration_s < VIEW_GRAPH_S;
	if (whole) {
		t0 = 0;
		t1 = s->duration_s;
	}
	uint32_t npeers = h->npeers == s->npeers ? h->npeers : 0;
	uint64_t key = key_bytes(key_u64(key_u64(KEY_SEED, h->gen), npeers), &now, sizeof now);
	key = key_bytes(key, &t1, sizeof t1);
	key = key_u64(key, v->sel == SEL_LINK ? (uint64_t)1 << 40 | (uint64_t)v->sel_from << 20 | v->sel_to : 0);
	for (uint32_t i = 0; i < s->nevents; i++)
		key = key_str(key_bytes(key, &s->event[i].t_s, sizeof s->event[i].t_s), s->event[i].label);
	if (!region_due(full, &t->held_graphs, key))
		return;
	/* The samples in view, oldest first. */
	uint32_t first = 0, count = 0;
	for (uint32_t n = 0; n < h->len; n++) {
		double tt = h->t[view__hist_slot(h, n)];
		if (tt < t0)
			first = n + 1;
		else if (tt <= now + 1e-9)
			count = n + 1 - first;
	}
	double tbuf[VIEW_HIST_LEN];
	for (uint32_t n = 0; n < count; n++)
		tbuf[n] = h->t[view__hist_slot(h, first + n)];

	struct plot pl = { .t0 = t0, .t1 = t1, .whole = whole };
	per_peer_graph(v, t, s, L->graph[0], "RTT per peer, ms", 10, rtt_of, first, count, npeers, tbuf, &pl);
	per_peer_graph(v, t, s, L->graph[1], "rollback depth per peer, frames", 4, rb_of, first, count, npeers, tbuf,
		       &pl);

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
		uint32_t i = view__hist_slot(h, n);
		double a, b;
		view__hist_counts(h, i, pair, &a, &b);
		sv += a;
		sr += b;
		st += h->dt[i];
		while (j < n && h->t[view__hist_slot(h, j)] <= h->t[i] - VIEW_RATE_WINDOW_S) {
			uint32_t o = view__hist_slot(h, j++);
			view__hist_counts(h, o, pair, &a, &b);
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
	pl.ymax = view__nice_ceil(pl.ymax);
	graph_frame(v, t, L->graph[2], title, &pl);
	graph_events(v, t, s, &pl);
	view__clip_set(t, &(SDL_Rect){ pl.area.x, pl.area.y - 1, pl.area.w + 1, pl.area.h + 2 });
	graph_series(v, r, &pl, dvr, tbuf, count, c_ok);
	graph_series(v, r, &pl, drr, tbuf, count, c_bad);
	view__clip_set(t, NULL);
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
	"Graphs  the last 30 s (a shorter session: all of it): RTT and rollback depth per peer;",
	"        delivered/s (green) and dropped/s (red) on the selected link, or all links;",
	"        ticks: timeline events.",
};

void view__draw_help(struct view *v, struct target *t)
{
	SDL_Renderer *r = t->r;
	size_t n = sizeof help_lines / sizeof help_lines[0];
	int lh = v->line_h[FONT_NORMAL], pad = px(v, 14), w = 0;
	for (size_t i = 0; i < n; i++) {
		int tw = view__text_width(v, FONT_NORMAL, help_lines[i]);
		w = tw > w ? tw : w;
	}
	w += 2 * pad;
	int h = (int)n * lh + 2 * pad, x = (t->w - w) / 2, y = (t->h - h) / 2;
	view__fill_blend(r, x, y, w, h, (struct rgb){ 8, 9, 12 }, 238);
	view__border(t, (SDL_Rect){ x, y, w, h }, px(v, 2), c_frame);
	for (size_t i = 0; i < n; i++)
		view__text(v, t, FONT_NORMAL, help_lines[i], x + pad, y + pad + (int)i * lh,
		     i == 0 ? c_amber : help_lines[i][0] != ' ' ? c_text : (struct rgb){ 200, 203, 212 }, NULL, AL_LEFT);
}
