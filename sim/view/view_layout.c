// SPDX-License-Identifier: MIT
// Layout: where the top bar, the mesh, the panels and the strip go for an image size and a peer count.
#include "view/view_int.h"

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
	/* Two or three peers need less of a circle and more of a game: their panels get a larger share. */
	int mesh_w = (int)((npeers <= 3 ? 0.38f : 0.44f) * (float)w);
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

void view__panel_rect(const struct layout *L, uint32_t k, SDL_Rect *out)
{
	int pad = (int)lroundf(4 * L->scale);
	int c = (int)k % L->cols, r = (int)k / L->cols;
	/* As tall as its header and field: a cell taller than that (few peers, wide panels) leaves no empty panel. */
	int h = L->header_h + L->field + 2 * pad;
	*out = (SDL_Rect){ L->panels.x + pad + c * L->cell_w, L->panels.y + pad + r * L->cell_h, L->cell_w - pad,
			   h < L->cell_h - pad ? h : L->cell_h - pad };
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
void view__layout_update(struct view *v, int w, int h, uint32_t npeers)
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
		view__panel_rect(&L, k, &rc);
	*out = (struct view_rect){ rc.x, rc.y, rc.w, rc.h };
}
