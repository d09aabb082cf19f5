// SPDX-License-Identifier: MIT
// Selection, clicks and keys: SDL events into struct view_cmd values.
#include "view/view_int.h"

/* Presets on keys 1..9, 0. */
static const char *const preset_key[10] = { "perfect", "fiber",     "cable", "dsl", "broadband",
					    "satellite", "congested", "3g",    "4g",  "wifi" };

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
	view__layout_update(v, v->main.w, v->main.h, s->npeers);
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
		view__panel_rect(L, k, &rc);
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
			view__snapshot_copy(v->frozen, v->live, v->netcode_frozen, sizeof v->netcode_frozen);
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
