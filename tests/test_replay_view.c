// SPDX-License-Identifier: MIT
// The replay window on a real desync bundle (made by replay_view_test.sh): what its frames show, by pixels, and its keys.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <SDL.h>
#include <SDL_image.h>

#include "harness/bundle_story.h"
#include "harness/replay_view.h"
#include "view/view_replay.h"

/*
 * The bundle: `loopsim run --peers 3 --inject-desync 1@60` with 30% loss on
 * 0->1 (tests/replay_view_test.sh), passed as the first argument. Peer 1 is
 * the minority; its ship 1.x differs at frame 60.
 */
static const char *bundle;
static char png[256];

struct fx {
	struct bundle_story *story;
	struct view_replay_snapshot *snap;
	struct view *v;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[512] = "";
	if (!f || !(f->snap = calloc(1, sizeof *f->snap)))
		return -1;
	f->story = bundle_story_open(bundle, err, sizeof err);
	if (!f->story) {
		fprintf(stderr, "bundle_story_open: %s\n", err);
		return -1;
	}
	struct view_cfg cfg;
	view_cfg_default(&cfg);
	cfg.headless = true;
	f->v = view_create(&cfg, err, sizeof err);
	if (!f->v) {
		fprintf(stderr, "view_create: %s\n", err);
		return -1;
	}
	SDL_FlushEvents(SDL_FIRSTEVENT, SDL_LASTEVENT);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	view_destroy(f->v);
	bundle_story_close(f->story);
	free(f->snap);
	free(f);
	unlink(png);
	return 0;
}

/* Frame fr of the bundle, drawn and read back from its PNG as RGB888. */
static SDL_Surface *shoot(struct fx *f, uint32_t fr)
{
	char err[256] = "";
	replay_view_fill(f->story, fr, f->snap);
	assert_int_equal(view_replay_screenshot(f->v, f->snap, png, err, sizeof err), 0);
	SDL_Surface *raw = IMG_Load(png);
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

/* Red pixels in the annulus r0..r1 around (cx, cy). */
static int red_around(const SDL_Surface *s, float cx, float cy, float r0, float r1)
{
	int n = 0;
	for (int y = (int)(cy - r1) - 1; y <= (int)(cy + r1) + 1; y++)
		for (int x = (int)(cx - r1) - 1; x <= (int)(cx + r1) + 1; x++) {
			float d2 = ((float)x - cx) * ((float)x - cx) + ((float)y - cy) * ((float)y - cy);
			if (d2 >= r0 * r0 && d2 <= r1 * r1 && x >= 0 && y >= 0 && x < s->w && y < s->h)
				n += is_red(pixel(s, x, y));
		}
	return n;
}

static float field_px(int32_t fx, const struct view_rect *f)
{
	float u = fmodf((float)fx / 65536.0f, 1000.0f);
	return (u < 0 ? u + 1000.0f : u) * (float)f->w / 1000.0f;
}

static void test_replay_view_bundle_opens_at_its_divergent_frame(void **state)
{
	struct fx *f = *state;
	assert_int_equal(f->story->divergence, 60);
	assert_int_equal(f->story->minority_mask, 1u << 1);
	assert_true(f->story->last >= 60);
	assert_true(f->story->nfates > 0);
}

static void test_replay_view_divergent_frame_rings_the_entity_in_every_panel(void **state)
{
	struct fx *f = *state;
	SDL_Surface *s = shoot(f, 60);
	bool found = false;
	for (uint32_t r = 0; r < f->snap->nrows; r++)
		found |= strcmp(f->snap->row[r].name, "ship 1.x") == 0;
	assert_true(found);
	for (uint32_t k = 0; k < 3; k++) {
		const struct view_replay_peer *p = &f->snap->peer[k];
		assert_true(p->ring);
		struct view_rect fr;
		view_replay_field(f->v, 3, k, &fr);
		float cx = (float)fr.x + field_px(p->ring_x, &fr), cy = (float)fr.y + field_px(p->ring_y, &fr);
		float rad = 0.07f * (float)fr.w;
		rad = rad < 8 ? 8 : rad > 22 ? 22 : rad;
		assert_true(red_around(s, cx, cy, rad - 3.5f, rad + 0.5f) > 20);
	}
	SDL_FreeSurface(s);
}

static void test_replay_view_minority_panel_is_marked_at_every_frame(void **state)
{
	struct fx *f = *state;
	for (uint32_t fr = 0; fr <= 60; fr += 60) {
		SDL_Surface *s = shoot(f, fr);
		struct view_rect rc;
		view_replay_panel(f->v, 3, 1, &rc);
		assert_true(is_red(pixel(s, rc.x + 1, rc.y + rc.h / 2)));
		view_replay_panel(f->v, 3, 0, &rc);
		assert_false(is_red(pixel(s, rc.x + 1, rc.y + rc.h / 2)));
		SDL_FreeSurface(s);
	}
}

static void test_replay_view_frame_0_has_no_ring_and_no_differing_field(void **state)
{
	struct fx *f = *state;
	SDL_Surface *s = shoot(f, 0);
	assert_int_equal(f->snap->nrows, 0);
	for (uint32_t k = 0; k < 3; k++) {
		assert_false(f->snap->peer[k].ring);
		struct view_rect fr;
		view_replay_field(f->v, 3, k, &fr);
		int red = 0;
		for (int y = fr.y; y < fr.y + fr.h; y++)
			for (int x = fr.x; x < fr.x + fr.w; x++)
				red += is_red(pixel(s, x, y));
		assert_true(red < 10); /* bullets of a red-ish player may be there; no ring */
	}
	SDL_FreeSurface(s);
}

/* Each loss that fates.tsv has on 0->1 in the lanes' span is a red cross on its lane, where it was sent. */
static void test_replay_view_lanes_show_losses_where_the_fate_log_has_them(void **state)
{
	struct fx *f = *state;
	SDL_Surface *s = shoot(f, 60);
	struct view_rect lane;
	view_replay_lane(f->v, f->snap, 0, 1, &lane);
	assert_true(lane.h > 0);
	int losses = 0;
	for (uint32_t i = 0; i < f->snap->nfates; i++) {
		const struct view_replay_fate *d = &f->snap->fate[i];
		if (d->from != 0 || d->to != 1 || d->fate != VIEW_FATE_LOSS || d->sent < 60 - VIEW_REPLAY_BEFORE + 1 ||
		    d->sent > 60)
			continue;
		int x = view_replay_lane_x(f->v, f->snap, d->sent), y = lane.y + lane.h / 2;
		int red = 0;
		for (int dy = -3; dy <= 3; dy++)
			for (int dx = -3; dx <= 3; dx++)
				red += is_red(pixel(s, x + dx, y + dy));
		assert_true(red >= 4);
		losses++;
	}
	assert_true(losses > 0); /* 30% loss over 48 frames: a handful at least */
	SDL_FreeSurface(s);
}

static void test_replay_view_keys_move_the_scrubber(void **state)
{
	struct fx *f = *state;
	replay_view_fill(f->story, 60, f->snap);
	uint32_t fr = 60;
	assert_int_equal(view_replay_push_keys("Home Right Right Right"), 4);
	assert_int_equal(view_replay_events(f->v, f->snap, &fr, 0), 0);
	assert_int_equal(fr, 3);
	assert_int_equal(view_replay_push_keys("D Left"), 2);
	view_replay_events(f->v, f->snap, &fr, 0);
	assert_int_equal(fr, 59);
	assert_int_equal(view_replay_push_keys("PageUp"), 1);
	view_replay_events(f->v, f->snap, &fr, 0);
	assert_int_equal(fr, 0);
	assert_int_equal(view_replay_push_keys("End"), 1);
	view_replay_events(f->v, f->snap, &fr, 0);
	assert_int_equal(fr, f->story->last);
	assert_int_equal(view_replay_push_keys("Escape"), 1);
	assert_int_equal(view_replay_events(f->v, f->snap, &fr, 0), 1);
	assert_int_equal(view_replay_push_keys("NoSuchKey"), -1);
}

/* A second is the game's own: the built-in game's bundle says about 60 frames; a 30 frames/s game's page is 30. */
static void test_replay_view_page_keys_step_a_second_of_the_games_frames(void **state)
{
	struct fx *f = *state;
	assert_true(f->story->fps > 30 && f->story->fps < 90); /* 60, measured by a real run: a wide margin */
	replay_view_fill(f->story, 0, f->snap);
	assert_int_equal(f->snap->per_second, (uint32_t)(f->story->fps + 0.5f));
	f->snap->per_second = 30;
	uint32_t fr = 0;
	assert_int_equal(view_replay_push_keys("PageDown PageDown PageUp"), 3);
	view_replay_events(f->v, f->snap, &fr, 0);
	assert_int_equal(fr, 30);
}

static void test_replay_view_click_on_the_scrubber_jumps_there(void **state)
{
	struct fx *f = *state;
	replay_view_fill(f->story, 60, f->snap);
	int x, y;
	view_replay_scrubber_at(f->v, f->snap, 30, &x, &y);
	SDL_Event e = { 0 };
	e.type = SDL_MOUSEBUTTONDOWN;
	e.button.button = SDL_BUTTON_LEFT;
	e.button.x = x;
	e.button.y = y;
	assert_int_equal(SDL_PushEvent(&e), 1);
	uint32_t fr = 60;
	view_replay_events(f->v, f->snap, &fr, 0);
	assert_true(fr >= 29 && fr <= 31);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: test_replay_view BUNDLE_DIR (see tests/replay_view_test.sh)\n");
		return 2;
	}
	bundle = argv[1];
	snprintf(png, sizeof png, "%s/test_replay_view.png", bundle);
	SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
	if (SDL_InitSubSystem(SDL_INIT_EVENTS) < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_view_bundle_opens_at_its_divergent_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_divergent_frame_rings_the_entity_in_every_panel, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_minority_panel_is_marked_at_every_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_frame_0_has_no_ring_and_no_differing_field, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_lanes_show_losses_where_the_fate_log_has_them, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_keys_move_the_scrubber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_page_keys_step_a_second_of_the_games_frames, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_replay_view_click_on_the_scrubber_jumps_there, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	SDL_QuitSubSystem(SDL_INIT_EVENTS);
	return rc;
}
