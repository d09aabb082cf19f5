// SPDX-License-Identifier: MIT
// The viewer, headless with SDL's software renderer: pixels where the layout says, and keys into commands.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <SDL.h>
#include <SDL_image.h>

#include "view/view.h"

#define W 1280
#define H 720

struct fx {
	struct view *v;
	struct view_snapshot *s;
	char dir[64];
	char png[128];
};

static char tmpdir[64];
static int nfiles;

/*
 * A known session: 4 peers, 12 good links (green), packets in flight on
 * 0->1 only, one fresh drop on 1->3, and a desync that names peer 2.
 */
static void known_snapshot(struct view_snapshot *s)
{
	memset(s, 0, sizeof *s);
	s->t_s = 12.5;
	s->duration_s = 60;
	s->netcode = "rollback";
	s->seed = 7;
	s->npeers = 4;
	for (uint32_t k = 0; k < 4; k++) {
		struct view_peer *p = &s->peer[k];
		p->index = k;
		snprintf(p->addr, sizeof p->addr, "127.0.0.%u:%u", k + 2, 41000 + k);
		p->frame = 750;
		p->confirmed = 745;
		p->alive = true;
		p->rtt_ms = 40;
		p->checksum = 0xbeefcafe00000000ull;
		p->checksum_ok = k != 2;
		p->minority = k == 2;
		p->has_game = true;
		p->nships = 4;
		for (uint32_t i = 0; i < 4; i++)
			p->ship[i] = (struct view_ship){ (int32_t)(100 + 200 * i) << 16, 500 << 16, (uint16_t)(i * 256),
							 true, 0 };
	}
	for (uint32_t i = 0; i < 4; i++)
		for (uint32_t j = 0; j < 4; j++)
			if (i != j)
				s->link[s->nlinks++] = (struct view_link){ .from = (uint16_t)i, .to = (uint16_t)j,
									   .latency_ms = 40, .jitter_ms = 10,
									   .loss_pct = 0.5f, .sent = 100,
									   .delivered = 99, .dropped = 1,
									   .p50_ms = 41, .p99_ms = 55 };
	for (uint32_t d = 0; d < 20; d++)
		s->dot[s->ndots++] = (struct view_dot){ 0, 1, 0.1f + 0.04f * (float)d, (uint8_t)(d % 4), VIEW_LABEL_ACK };
	s->mark[s->nmarks++] = (struct view_mark){ 1, 3, 0.1f };
	s->desync.found = true;
	s->desync.frame = 745;
	snprintf(s->desync.peers, sizeof s->desync.peers, "2");
	snprintf(s->desync.field, sizeof s->desync.field, "ship 2.x: 1234 != 1240");
	s->nevents = 1;
	s->event[0] = (struct view_event){ 5, "partition 0 1 | 2 3" };
}

static int group_setup(void **state)
{
	(void)state;
	/* Synthetic input needs the event queue, and nothing else of SDL's. */
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	if (SDL_InitSubSystem(SDL_INIT_EVENTS) < 0)
		return -1;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_view.XXXXXX", base && strlen(base) < 40 ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	rmdir(tmpdir);
	SDL_QuitSubSystem(SDL_INIT_EVENTS);
	return 0;
}

static struct view *headless(int w, int h)
{
	struct view_cfg cfg;
	view_cfg_default(&cfg);
	cfg.headless = true;
	cfg.width = w;
	cfg.height = h;
	char err[256] = "";
	struct view *v = view_create(&cfg, err, sizeof err);
	if (!v)
		fprintf(stderr, "view_create: %s\n", err);
	return v;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f || !(f->s = calloc(1, sizeof *f->s)) || !(f->v = headless(W, H)))
		return -1;
	known_snapshot(f->s);
	snprintf(f->png, sizeof f->png, "%s/shot%d.png", tmpdir, nfiles++);
	SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	view_destroy(f->v);
	unlink(f->png);
	free(f->s);
	free(f);
	return 0;
}

/* Takes a screenshot and reads it back as RGB888. */
static SDL_Surface *shoot(struct fx *f)
{
	char err[256] = "";
	int rc = view_screenshot(f->v, f->png, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "view_screenshot: %s\n", err);
	assert_int_equal(rc, 0);
	SDL_Surface *raw = IMG_Load(f->png);
	assert_non_null(raw);
	SDL_Surface *s = SDL_ConvertSurfaceFormat(raw, SDL_PIXELFORMAT_RGB888, 0);
	SDL_FreeSurface(raw);
	assert_non_null(s);
	return s;
}

static uint32_t pixel(const SDL_Surface *s, int x, int y)
{
	assert_true(x >= 0 && y >= 0 && x < s->w && y < s->h);
	return ((const uint32_t *)((const uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch))[x] & 0xffffff;
}

static bool is_red(uint32_t p)
{
	return (p >> 16 & 0xff) >= 180 && (p >> 8 & 0xff) <= 90 && (p & 0xff) <= 90;
}

static int red_near(const SDL_Surface *s, int x, int y, int r)
{
	int n = 0;
	for (int dy = -r; dy <= r; dy++)
		for (int dx = -r; dx <= r; dx++)
			n += is_red(pixel(s, x + dx, y + dy));
	return n;
}

static void push_key(SDL_EventType type, SDL_Keycode sym, SDL_Scancode sc, Uint16 mod)
{
	SDL_Event e;
	memset(&e, 0, sizeof e);
	e.type = type;
	e.key.state = type == SDL_KEYDOWN ? SDL_PRESSED : SDL_RELEASED;
	e.key.keysym.sym = sym;
	e.key.keysym.scancode = sc;
	e.key.keysym.mod = mod;
	assert_int_equal(SDL_PushEvent(&e), 1);
}

static void press(SDL_Keycode sym, Uint16 mod)
{
	push_key(SDL_KEYDOWN, sym, SDL_SCANCODE_UNKNOWN, mod);
	push_key(SDL_KEYUP, sym, SDL_SCANCODE_UNKNOWN, mod);
}

static void push_click(int x, int y)
{
	SDL_Event e;
	memset(&e, 0, sizeof e);
	e.type = SDL_MOUSEBUTTONDOWN;
	e.button.button = SDL_BUTTON_LEFT;
	e.button.state = SDL_PRESSED;
	e.button.clicks = 1;
	e.button.x = x;
	e.button.y = y;
	assert_int_equal(SDL_PushEvent(&e), 1);
}

/* ---- Pixels ---------------------------------------------------------------- */

static void test_view_nodes_are_drawn_in_their_colours_where_the_layout_says(void **state)
{
	struct fx *f = *state;
	view_frame(f->v, f->s);
	SDL_Surface *img = shoot(f);
	for (uint32_t k = 0; k < 4; k++) {
		int x, y;
		view_layout_node(f->v, 4, k, &x, &y);
		assert_int_equal(pixel(img, x, y), view_peer_rgb(k));
		assert_int_equal(pixel(img, x + 3, y - 2), view_peer_rgb(k));
	}
	SDL_FreeSurface(img);
}

static void test_view_a_drop_leaves_a_red_cross_that_fades(void **state)
{
	struct fx *f = *state;
	int x, y;
	view_layout_link_point(f->v, 4, 1, 3, VIEW_MARK_AT, &x, &y);
	view_frame(f->v, f->s);
	SDL_Surface *img = shoot(f);
	assert_true(red_near(img, x, y, 5) >= 8);
	SDL_FreeSurface(img);

	f->s->mark[0].age_s = VIEW_MARK_FADE_S + 0.1f; /* faded out */
	view_frame(f->v, f->s);
	img = shoot(f);
	assert_int_equal(red_near(img, x, y, 5), 0);
	SDL_FreeSurface(img);
}

static void test_view_desync_minority_panel_has_a_thick_red_border(void **state)
{
	struct fx *f = *state;
	view_frame(f->v, f->s);
	SDL_Surface *img = shoot(f);
	struct view_rect r;
	view_layout_panel(f->v, 4, 2, &r);
	assert_true(r.w > 50 && r.h > 50);
	for (int i = 0; i < VIEW_DESYNC_BORDER_PX; i++) {
		assert_true(is_red(pixel(img, r.x + i, r.y + r.h / 2)));
		assert_true(is_red(pixel(img, r.x + r.w - 1 - i, r.y + r.h / 2)));
		assert_true(is_red(pixel(img, r.x + r.w / 2, r.y + r.h - 1 - i)));
	}
	/* A peer in the majority keeps a plain border. */
	view_layout_panel(f->v, 4, 1, &r);
	assert_false(is_red(pixel(img, r.x, r.y + r.h / 2)));
	assert_false(is_red(pixel(img, r.x + 2, r.y + r.h / 2)));
	SDL_FreeSurface(img);
}

static void test_view_hidden_packets_are_counted_on_screen(void **state)
{
	struct fx *f = *state;
	view_frame(f->v, f->s);
	SDL_Surface *a = shoot(f);
	f->s->dots_hidden = 4321;
	view_frame(f->v, f->s);
	SDL_Surface *b = shoot(f);
	/* The counter sits in the mesh's top-left corner, under the top bar. */
	int diff = 0;
	for (int y = 44; y < 90; y++)
		for (int x = 0; x < 300; x++)
			diff += pixel(a, x, y) != pixel(b, x, y);
	assert_true(diff > 50);
	SDL_FreeSurface(a);
	SDL_FreeSurface(b);
}

/* The next frame is drawn whole: the help overlay, shown for one frame, leaves nothing to keep. */
static void force_full_redraw(struct view *v)
{
	struct view_cmd c[4];
	press(SDLK_F1, KMOD_NONE);
	assert_int_equal(view_events(v, c, 4), 0);
	view_frame(v, NULL);
	press(SDLK_F1, KMOD_NONE);
	assert_int_equal(view_events(v, c, 4), 0);
	assert_false(view_help_shown(v));
}

/* One frame of a session; every fifth frame changes what one region shows, in a way it alone shows. */
static void evolve(struct fx *f, int i)
{
	struct view_snapshot *s = f->s;
	s->t_s += 1.0 / 60;
	for (uint32_t d = 0; d < s->ndots; d++) {
		s->dot[d].progress += 0.03f;
		if (s->dot[d].progress > 1)
			s->dot[d].progress -= 1;
		s->dot[d].from = (uint16_t)((d + (uint32_t)i / 7) % 4);
		s->dot[d].to = (uint16_t)((s->dot[d].from + 1 + d % 3) % 4);
	}
	s->mark[0].age_s = (float)(i % 20) / 15;
	for (uint32_t k = 0; k < s->npeers; k++) {
		struct view_peer *p = &s->peer[k];
		p->frame++;
		p->rtt_ms = 40 + (float)((i + (int)k) % 9);
		/* Ship 3 crosses the field's edge, where it wraps. */
		for (uint32_t j = 0; j < p->nships; j++)
			p->ship[j].x = (p->ship[j].x + (j == 3 ? 40 << 16 : 3 << 16)) % (1000 << 16);
		p->ship[2].angle = (uint16_t)(p->ship[2].angle + 37);
		p->nbullets = 12;
		for (uint32_t b = 0; b < p->nbullets; b++)
			p->bullet[b] = (struct view_bullet){ (int32_t)((97 * b + 11 * (uint32_t)i) % 1000) << 16,
							     (int32_t)((61 * b + 7 * (uint32_t)i) % 1000) << 16,
							     (uint8_t)(b % 4) };
	}
	for (uint32_t l = 0; l < s->nlinks; l++)
		s->link[l].delivered += 2;
	switch (i) {
	case 5:
		s->link[0].latency_ms = 250;
		s->link[3].cut = true;
		break;
	case 10:
		assert_int_equal(view_select_link(f->v, 1, 0), 0);
		break;
	case 11: /* header lines that grow, then shrink */
		s->peer[0].confirmed = 123456;
		s->peer[1].rollbacks_per_s = 12.5f;
		break;
	case 12:
		s->peer[0].confirmed = 7;
		s->peer[1].rollbacks_per_s = 0;
		break;
	case 15:
		s->dots_hidden = 99;
		break;
	case 20:
		s->dots_hidden = 0;
		break;
	case 25:
		s->desync.found = false;
		s->peer[2].minority = false;
		snprintf(s->status, sizeof s->status, "agreed to frame %u", s->peer[0].frame);
		s->nevents = 2;
		s->event[1] = (struct view_event){ (float)s->t_s, "heal" };
		break;
	case 30:
		assert_int_equal(view_select_peer(f->v, 3), 0);
		s->peer[0].human = true;
		break;
	case 35:
		s->peer[1].alive = false;
		s->peer[1].stalled = true;
		break;
	case 36:
	case 41: {
		struct view_cmd c[4];
		press(SDLK_l, KMOD_NONE); /* packet letters on, then off */
		assert_int_equal(view_events(f->v, c, 4), 0);
		break;
	}
	default:
		break;
	}
}

/* After each change, and a few frames later, the retained frame equals the same frame drawn whole. */
static void retained_equals_full(struct fx *f)
{
	for (int i = 0; i < 45; i++) {
		evolve(f, i);
		view_frame(f->v, f->s);
		if (i % 5 != 3)
			continue;
		SDL_Surface *kept = shoot(f);
		force_full_redraw(f->v);
		SDL_Surface *whole = shoot(f);
		assert_int_equal(kept->w, whole->w);
		int diff = 0;
		for (int y = 0; y < kept->h; y++)
			for (int x = 0; x < kept->w; x++)
				diff += pixel(kept, x, y) != pixel(whole, x, y);
		if (diff)
			fprintf(stderr, "%dx%d, frame %d: %d pixels differ\n", kept->w, kept->h, i, diff);
		assert_int_equal(diff, 0);
		SDL_FreeSurface(kept);
		SDL_FreeSurface(whole);
	}
}

static void test_view_retained_frames_draw_what_a_full_redraw_draws(void **state)
{
	retained_equals_full(*state);
}

/* A small view: the panels in one row, small fields, the strip at its least height. */
static void test_view_retained_frames_in_a_small_view_draw_what_a_full_redraw_draws(void **state)
{
	struct fx *f = *state;
	view_destroy(f->v);
	f->v = headless(800, 320);
	assert_non_null(f->v);
	retained_equals_full(f);
}

static void test_view_screenshot_has_the_window_size(void **state)
{
	struct fx *f = *state;
	view_destroy(f->v);
	f->v = headless(800, 600);
	assert_non_null(f->v);
	view_frame(f->v, f->s);
	SDL_Surface *img = shoot(f);
	assert_int_equal(img->w, 800);
	assert_int_equal(img->h, 600);
	SDL_FreeSurface(img);
	int w, h;
	view_output_size(f->v, &w, &h);
	assert_int_equal(w, 800);
	assert_int_equal(h, 600);
}

static void test_view_screenshot_to_an_unwritable_path_fails_with_a_reason(void **state)
{
	struct fx *f = *state;
	char err[256] = "";
	view_frame(f->v, f->s);
	assert_int_equal(view_screenshot(f->v, "/nonexistent-dir/x.png", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent-dir/x.png"));
}

static void test_view_draws_before_any_snapshot(void **state)
{
	struct fx *f = *state;
	SDL_Surface *img = shoot(f);
	assert_int_equal(img->w, W);
	SDL_FreeSurface(img);
}

static void test_view_help_overlay_toggles_on_f1(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	SDL_Surface *a = shoot(f);
	assert_false(view_help_shown(f->v));
	press(SDLK_F1, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 0);
	assert_true(view_help_shown(f->v));
	view_frame(f->v, f->s);
	SDL_Surface *b = shoot(f);
	int diff = 0;
	for (int y = H / 2 - 100; y < H / 2 + 100; y++)
		for (int x = W / 2 - 200; x < W / 2 + 200; x++)
			diff += pixel(a, x, y) != pixel(b, x, y);
	assert_true(diff > 20000);
	SDL_FreeSurface(b);
	press(SDLK_F1, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 0);
	assert_false(view_help_shown(f->v));
	/* Closed, it leaves no trace. */
	view_frame(f->v, f->s);
	b = shoot(f);
	diff = 0;
	for (int y = H / 2 - 100; y < H / 2 + 100; y++)
		for (int x = W / 2 - 200; x < W / 2 + 200; x++)
			diff += pixel(a, x, y) != pixel(b, x, y);
	assert_int_equal(diff, 0);
	SDL_FreeSurface(a);
	SDL_FreeSurface(b);
}

static void test_view_question_mark_toggles_help(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	SDL_Event e;
	memset(&e, 0, sizeof e);
	e.type = SDL_TEXTINPUT;
	snprintf(e.text.text, sizeof e.text.text, "?");
	assert_int_equal(SDL_PushEvent(&e), 1);
	assert_int_equal(view_events(f->v, c, 4), 0);
	assert_true(view_help_shown(f->v));
}

/* ---- Keys and clicks into commands --------------------------------------------- */

static void test_view_up_raises_the_selected_links_latency_by_10_ms(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	assert_int_equal(view_select_link(f->v, 0, 1), 0);
	press(SDLK_UP, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_int_equal(c[0].kind, VIEW_CMD_SET_LINK);
	assert_int_equal(c[0].from, 0);
	assert_int_equal(c[0].to, 1);
	assert_false(c[0].both);
	assert_string_equal(c[0].key, "latency");
	assert_string_equal(c[0].value, "50");
	/* A second press before the next snapshot builds on the first. */
	press(SDLK_UP, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_string_equal(c[0].value, "60");
	/* The next snapshot is the truth again. */
	view_frame(f->v, f->s);
	press(SDLK_DOWN, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_string_equal(c[0].value, "30");
}

/* The link i->j in the known snapshot's order (every i, then every j != i). */
static struct view_link *link_of(struct view_snapshot *s, uint32_t from, uint32_t to)
{
	for (uint32_t l = 0; l < s->nlinks; l++)
		if (s->link[l].from == from && s->link[l].to == to)
			return &s->link[l];
	fail();
	return NULL;
}

static void test_view_selected_link_shows_the_senders_round_trip(void **state)
{
	struct fx *f = *state;
	char text[1024];
	/* 0<->1 slow, 0->2 fast, 0->3 not reported. */
	*link_of(f->s, 0, 1) = (struct view_link){ .from = 0, .to = 1, .latency_ms = 80, .rtt_known = true,
						   .rtt_ms = 183.3f };
	*link_of(f->s, 1, 0) = (struct view_link){ .from = 1, .to = 0, .latency_ms = 80, .rtt_known = true,
						   .rtt_ms = 166.7f };
	link_of(f->s, 0, 2)->rtt_known = true;
	link_of(f->s, 0, 2)->rtt_ms = 33.3f;
	view_frame(f->v, f->s);
	assert_int_equal(view_select_link(f->v, 0, 1), 0);
	assert_int_equal(view_selection_text(f->v, text, sizeof text), 9);
	assert_non_null(strstr(text, "link 0 -> 1\n"));
	assert_non_null(strstr(text, "\nrtt 183.3 ms, as peer 0 measures\n"));
	assert_int_equal(view_select_link(f->v, 1, 0), 0);
	view_selection_text(f->v, text, sizeof text);
	assert_non_null(strstr(text, "\nrtt 166.7 ms, as peer 1 measures\n"));
	assert_int_equal(view_select_link(f->v, 0, 3), 0);
	view_selection_text(f->v, text, sizeof text);
	assert_non_null(strstr(text, "\nrtt: peer 0 reports none\n"));
	assert_null(strstr(text, "measures"));
	/* Drawn as well as composed. */
	view_frame(f->v, NULL);
	assert_int_equal(view_screenshot(f->v, f->png, text, sizeof text), 0);
	/* Cut to what fits, always terminated. */
	assert_int_equal(view_select_link(f->v, 0, 1), 0);
	assert_int_equal(view_selection_text(f->v, text, 8), 9);
	assert_string_equal(text, "link 0 ");
}

static void test_view_selected_peer_shows_its_round_trip_to_each_remote(void **state)
{
	struct fx *f = *state;
	char text[1024];
	link_of(f->s, 0, 1)->rtt_known = true;
	link_of(f->s, 0, 1)->rtt_ms = 183.3f;
	link_of(f->s, 0, 3)->rtt_known = true;
	link_of(f->s, 0, 3)->rtt_ms = 33.3f;
	link_of(f->s, 1, 0)->rtt_known = true; /* another peer's figure: not peer 0's */
	link_of(f->s, 1, 0)->rtt_ms = 999;
	view_frame(f->v, f->s);
	assert_int_equal(view_select_peer(f->v, 0), 0);
	assert_int_equal(view_selection_text(f->v, text, sizeof text), 7);
	assert_non_null(strstr(text, "\nrtt 40.0 ms mean\n"));
	/* Peer 2 reported nothing: left out, not shown as 0. */
	assert_non_null(strstr(text, "\nrtt to 1 183.3  3 33.3"));
	assert_null(strstr(text, "999"));
	/* None known: no line at all. */
	assert_int_equal(view_select_peer(f->v, 2), 0);
	assert_int_equal(view_selection_text(f->v, text, sizeof text), 6);
	assert_null(strstr(text, "\nrtt to "));
}

static void test_view_selected_peer_wraps_its_round_trips_within_the_box(void **state)
{
	struct fx *f = *state;
	/* 40 peers, each reporting a round trip to every other: more than three lines' worth. */
	struct view_snapshot *s = f->s;
	s->npeers = 40;
	s->nlinks = 0;
	s->ndots = s->nmarks = 0;
	for (uint32_t k = 0; k < 40; k++) {
		s->peer[k] = s->peer[k % 4];
		s->peer[k].index = k;
	}
	for (uint32_t j = 1; j < 40; j++)
		s->link[s->nlinks++] = (struct view_link){ .from = 0, .to = (uint16_t)j, .rtt_known = true,
							   .rtt_ms = 100.0f + (float)j };
	view_frame(f->v, s);
	assert_int_equal(view_select_peer(f->v, 0), 0);
	char text[2048];
	/* Six lines of figures, three of round trips: the last ends with "...", the box's ten lines not passed. */
	assert_int_equal(view_selection_text(f->v, text, sizeof text), 9);
	const char *last = strrchr(text, '\n');
	assert_non_null(last);
	assert_non_null(strstr(last, " ..."));
	assert_non_null(strstr(text, "\nrtt to 1 101.0  2 102.0"));
	assert_null(strstr(text, "139.0"));
}

static void test_view_click_on_a_link_selects_it_for_the_loss_keys(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	int x, y;
	view_layout_link_point(f->v, 4, 2, 3, 0.3f, &x, &y);
	push_click(x, y);
	press(SDLK_RIGHTBRACKET, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_int_equal(c[0].kind, VIEW_CMD_SET_LINK);
	assert_int_equal(c[0].from, 2);
	assert_int_equal(c[0].to, 3);
	assert_string_equal(c[0].key, "loss");
	assert_string_equal(c[0].value, "1.5");
	/* Loss stops at 0. */
	press(SDLK_LEFTBRACKET, KMOD_NONE);
	press(SDLK_LEFTBRACKET, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 2);
	assert_string_equal(c[0].value, "0.5");
	assert_string_equal(c[1].value, "0");
}

static void test_view_shift_changes_both_directions(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	assert_int_equal(view_select_link(f->v, 3, 0), 0);
	push_key(SDL_KEYDOWN, SDLK_LEFT, SDL_SCANCODE_LEFT, KMOD_LSHIFT);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_int_equal(c[0].kind, VIEW_CMD_SET_LINK);
	assert_int_equal(c[0].from, 3);
	assert_int_equal(c[0].to, 0);
	assert_true(c[0].both);
	assert_string_equal(c[0].key, "jitter");
	assert_string_equal(c[0].value, "5");
}

static void test_view_keys_without_a_selected_link_change_nothing(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	press(SDLK_UP, KMOD_NONE);
	press(SDLK_x, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 0);
	assert_int_equal(view_select_link(f->v, 1, 1), -1);
	assert_int_equal(view_select_link(f->v, 0, 4), -1);
}

static void test_view_x_partitions_the_selected_link_and_h_heals(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	view_select_link(f->v, 1, 2);
	press(SDLK_x, KMOD_NONE);
	press(SDLK_h, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 2);
	assert_int_equal(c[0].kind, VIEW_CMD_PARTITION);
	assert_int_equal(c[0].from, 1);
	assert_int_equal(c[0].to, 2);
	assert_int_equal(c[1].kind, VIEW_CMD_HEAL);
}

static void test_view_number_keys_apply_presets_in_order(void **state)
{
	struct fx *f = *state;
	static const char *const want[10] = { "wifi",      "perfect",   "fiber", "cable", "dsl",
					      "broadband", "satellite", "congested", "3g", "4g" };
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	for (int d = 0; d <= 9; d++) {
		press(SDLK_0 + d, KMOD_NONE);
		assert_int_equal(view_events(f->v, c, 4), 1);
		assert_int_equal(c[0].kind, VIEW_CMD_PRESET);
		assert_string_equal(c[0].value, want[d]);
	}
}

static void test_view_click_on_a_node_then_wasd_flies_its_ship(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	int x, y;
	view_layout_node(f->v, 4, 1, &x, &y);
	push_click(x + 2, y - 1);
	push_key(SDL_KEYDOWN, SDLK_w, SDL_SCANCODE_W, KMOD_NONE);
	push_key(SDL_KEYDOWN, SDLK_SPACE, SDL_SCANCODE_SPACE, KMOD_NONE);
	push_key(SDL_KEYUP, SDLK_w, SDL_SCANCODE_W, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(c[i].kind, VIEW_CMD_INPUT);
		assert_int_equal(c[i].peer, 1);
		assert_true(c[i].human);
	}
	assert_int_equal(c[0].keys, 1);
	assert_int_equal(c[1].keys, 1 | 8);
	assert_int_equal(c[2].keys, 8);
	/* A held key repeating changes nothing. */
	SDL_Event e;
	memset(&e, 0, sizeof e);
	e.type = SDL_KEYDOWN;
	e.key.repeat = 1;
	e.key.keysym.scancode = SDL_SCANCODE_SPACE;
	e.key.keysym.sym = SDLK_SPACE;
	SDL_PushEvent(&e);
	assert_int_equal(view_events(f->v, c, 4), 0);
	push_key(SDL_KEYDOWN, SDLK_a, SDL_SCANCODE_A, KMOD_NONE);
	push_key(SDL_KEYDOWN, SDLK_d, SDL_SCANCODE_D, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 2);
	assert_int_equal(c[0].keys, 8 | 2);
	assert_int_equal(c[1].keys, 8 | 2 | 4);
}

static void test_view_tab_hands_the_ship_to_the_next_peer(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	press(SDLK_TAB, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_int_equal(c[0].kind, VIEW_CMD_INPUT);
	assert_int_equal(c[0].peer, 0);
	assert_true(c[0].human);
	press(SDLK_TAB, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 2);
	assert_int_equal(c[0].peer, 0);
	assert_false(c[0].human);
	assert_int_equal(c[0].keys, 0);
	assert_int_equal(c[1].peer, 1);
	assert_true(c[1].human);
	/* Round the ring: 1 -> 2 -> 3 -> 0. */
	press(SDLK_TAB, KMOD_NONE);
	press(SDLK_TAB, KMOD_NONE);
	press(SDLK_TAB, KMOD_NONE);
	struct view_cmd many[8];
	assert_int_equal(view_events(f->v, many, 8), 6);
	assert_int_equal(many[5].peer, 0);
	assert_true(many[5].human);
}

static void test_view_escape_and_window_close_quit(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	press(SDLK_ESCAPE, KMOD_NONE);
	SDL_Event e;
	memset(&e, 0, sizeof e);
	e.type = SDL_QUIT;
	SDL_PushEvent(&e);
	assert_int_equal(view_events(f->v, c, 4), 2);
	assert_int_equal(c[0].kind, VIEW_CMD_QUIT);
	assert_int_equal(c[1].kind, VIEW_CMD_QUIT);
}

static void test_view_s_asks_for_a_screenshot_named_by_time(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	view_frame(f->v, f->s);
	press(SDLK_s, KMOD_LSHIFT);
	assert_int_equal(view_events(f->v, c, 4), 1);
	assert_int_equal(c[0].kind, VIEW_CMD_SCREENSHOT);
	assert_string_equal(c[0].value, "loopsim-12.5.png");
}

static void test_view_pause_keeps_drawing_the_last_snapshot(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[4];
	int x, y;
	view_layout_node(f->v, 4, 0, &x, &y);
	view_frame(f->v, f->s);
	press(SDLK_p, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 4), 0);
	assert_true(view_paused(f->v));
	f->s->peer[0].alive = false; /* drawn grey once shown */
	view_frame(f->v, f->s);
	SDL_Surface *img = shoot(f);
	assert_int_equal(pixel(img, x, y), view_peer_rgb(0));
	SDL_FreeSurface(img);
	press(SDLK_p, KMOD_NONE);
	view_events(f->v, c, 4);
	assert_false(view_paused(f->v));
	view_frame(f->v, f->s);
	img = shoot(f);
	assert_true(pixel(img, x, y) != view_peer_rgb(0));
	SDL_FreeSurface(img);
}

static void test_view_a_full_command_buffer_leaves_events_queued(void **state)
{
	struct fx *f = *state;
	struct view_cmd c[2];
	view_frame(f->v, f->s);
	for (int d = 1; d <= 3; d++)
		press(SDLK_0 + d, KMOD_NONE);
	assert_int_equal(view_events(f->v, c, 2), 2);
	assert_string_equal(c[0].value, "perfect");
	assert_string_equal(c[1].value, "fiber");
	assert_int_equal(view_events(f->v, c, 2), 1);
	assert_string_equal(c[0].value, "cable");
}

/* ---- History ------------------------------------------------------------------ */

static void test_view_link_rates_come_from_cumulative_counters(void **state)
{
	struct fx *f = *state;
	float dv, dr;
	assert_int_equal(view_link_rates(f->v, 0, 1, &dv, &dr), -1);
	/* 60 snapshots a second for 3 s; link 0->1 delivers 120/s and drops 30/s. */
	for (int i = 0; i <= 180; i++) {
		f->s->t_s = i / 60.0;
		f->s->link[0].delivered = 1000 + 2 * (uint64_t)i;
		f->s->link[0].dropped = 50 + (uint64_t)i / 2;
		view_frame(f->v, f->s);
	}
	assert_int_equal(view_link_rates(f->v, 0, 1, &dv, &dr), 0);
	assert_float_equal(dv, 120, 6);
	assert_float_equal(dr, 30, 3);
	/* A link that carries nothing has rate 0. */
	assert_int_equal(view_link_rates(f->v, 1, 0, &dv, &dr), 0);
	assert_float_equal(dv, 0, 1e-6);
}

static void test_view_bad_sizes_are_refused_with_a_reason(void **state)
{
	(void)state;
	struct view_cfg cfg;
	view_cfg_default(&cfg);
	assert_int_equal(cfg.width, 1280);
	assert_int_equal(cfg.height, 720);
	cfg.headless = true;
	cfg.width = 10;
	char err[256] = "";
	assert_null(view_create(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "10x720"));
	cfg.width = 1280;
	cfg.font_path = "/nonexistent/font.ttf";
	assert_null(view_create(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/font.ttf"));
	view_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_view_nodes_are_drawn_in_their_colours_where_the_layout_says, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_view_a_drop_leaves_a_red_cross_that_fades, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_desync_minority_panel_has_a_thick_red_border, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_hidden_packets_are_counted_on_screen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_retained_frames_draw_what_a_full_redraw_draws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_retained_frames_in_a_small_view_draw_what_a_full_redraw_draws, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_view_screenshot_has_the_window_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_screenshot_to_an_unwritable_path_fails_with_a_reason, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_view_draws_before_any_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_help_overlay_toggles_on_f1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_question_mark_toggles_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_up_raises_the_selected_links_latency_by_10_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_selected_link_shows_the_senders_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_selected_peer_shows_its_round_trip_to_each_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_selected_peer_wraps_its_round_trips_within_the_box, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_view_click_on_a_link_selects_it_for_the_loss_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_shift_changes_both_directions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_keys_without_a_selected_link_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_x_partitions_the_selected_link_and_h_heals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_number_keys_apply_presets_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_click_on_a_node_then_wasd_flies_its_ship, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_tab_hands_the_ship_to_the_next_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_escape_and_window_close_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_s_asks_for_a_screenshot_named_by_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_pause_keeps_drawing_the_last_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_a_full_command_buffer_leaves_events_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_view_link_rates_come_from_cumulative_counters, setup, teardown),
		cmocka_unit_test(test_view_bad_sizes_are_refused_with_a_reason),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
