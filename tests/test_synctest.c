// SPDX-License-Identifier: MIT
// The sync test engine: a clean run passes every check, and injected nondeterminism is caught at its frame.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "game/synctest.h"

/* Frame f is replayed min(D, f+1) times, so a clean run of N >= D frames makes D*N - D*(D-1)/2 checks. */
static uint64_t expected_checks(uint64_t frames, uint64_t d)
{
	return d * frames - d * (d - 1) / 2;
}

static void test_synctest_clean_run_of_2000_frames_passes(void **state)
{
	(void)state;
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	cfg.frames = 2000;
	cfg.nplayers = 4;
	struct game_synctest_result r;
	assert_int_equal(game_synctest(&cfg, &r), 0);
	assert_int_equal(r.desync, 0);
	assert_int_equal(r.frames, 2000);
	assert_int_equal(r.checks, expected_checks(2000, GAME_SYNCTEST_DEFAULT_DISTANCE));
	assert_int_equal(r.steps, r.frames + r.checks);
}

/*
 * The replayed step that produces frame 300 nudges ship 300 % 4 = 0, so
 * the first state whose hash differs is frame 300 itself, on its first
 * replay, which comes right after the first pass reaches it.
 */
static void test_synctest_injected_nondeterminism_is_reported_at_its_frame(void **state)
{
	(void)state;
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	cfg.frames = 2000;
	cfg.nplayers = 4;
	cfg.inject_frame = 300;
	struct game_synctest_result r;
	assert_int_equal(game_synctest(&cfg, &r), 1);
	assert_int_equal(r.desync, 1);
	assert_int_equal(r.desync_frame, 300);
	assert_int_equal(r.frames, 300); /* it stopped there */
	assert_int_not_equal(r.checksum_first, r.checksum_resim);
	assert_int_equal(r.has_diff, 1);
	assert_string_equal(r.diff.entity, "ship 0");
	assert_string_equal(r.diff.field, "x");
	assert_int_equal(r.diff.b, r.diff.a + 1);

	char buf[96], want[96];
	game_diff_format(&r.diff, buf, sizeof buf);
	snprintf(want, sizeof want, "ship 0.x: %lld != %lld", (long long)r.diff.a, (long long)r.diff.a + 1);
	assert_string_equal(buf, want);
}

static void test_synctest_catches_injection_before_the_first_full_window(void **state)
{
	(void)state;
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	cfg.check_distance = 8;
	cfg.frames = 3; /* fewer frames than D: the rollbacks go back to frame 0 */
	cfg.nplayers = 3;
	struct game_synctest_result r;
	assert_int_equal(game_synctest(&cfg, &r), 0);
	assert_int_equal(r.checks, 1 + 2 + 3);
	for (int64_t f = 1; f <= 3; f++) {
		cfg.inject_frame = f;
		assert_int_equal(game_synctest(&cfg, &r), 1);
		assert_int_equal(r.desync_frame, f);
		char want[24];
		snprintf(want, sizeof want, "ship %d", (int)(f % 3));
		assert_string_equal(r.diff.entity, want);
	}
}

static void test_synctest_passes_at_the_extreme_distances_and_16_players(void **state)
{
	(void)state;
	struct game_synctest_cfg cfg;
	game_synctest_cfg_default(&cfg);
	cfg.nplayers = 16;
	cfg.frames = 200;
	const uint32_t dist[] = { 1, GAME_SYNCTEST_MAX_DISTANCE };
	for (int i = 0; i < 2; i++) {
		cfg.check_distance = dist[i];
		struct game_synctest_result r;
		assert_int_equal(game_synctest(&cfg, &r), 0);
		assert_int_equal(r.checks, expected_checks(200, dist[i]));
	}
}

static void test_synctest_rejects_a_bad_cfg_without_touching_the_result(void **state)
{
	(void)state;
	struct game_synctest_cfg good;
	game_synctest_cfg_default(&good);
	assert_int_equal(good.nplayers, 4);
	assert_int_equal(good.check_distance, GAME_SYNCTEST_DEFAULT_DISTANCE);
	assert_int_equal(good.inject_frame, -1);

	struct game_synctest_cfg bad[7];
	for (int i = 0; i < 7; i++)
		bad[i] = good;
	bad[0].nplayers = 1;
	bad[1].nplayers = GAME_MAX_PLAYERS + 1;
	bad[2].check_distance = 0;
	bad[3].check_distance = GAME_SYNCTEST_MAX_DISTANCE + 1;
	bad[4].frames = 0;
	bad[5].inject_frame = 0;
	bad[6].inject_frame = (int64_t)good.frames + 1;
	for (int i = 0; i < 7; i++) {
		struct game_synctest_result r, before;
		memset(&r, 0x5a, sizeof r);
		before = r;
		assert_int_equal(game_synctest(&bad[i], &r), -EINVAL);
		assert_memory_equal(&r, &before, sizeof r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_synctest_clean_run_of_2000_frames_passes),
		cmocka_unit_test(test_synctest_injected_nondeterminism_is_reported_at_its_frame),
		cmocka_unit_test(test_synctest_catches_injection_before_the_first_full_window),
		cmocka_unit_test(test_synctest_passes_at_the_extreme_distances_and_16_players),
		cmocka_unit_test(test_synctest_rejects_a_bad_cfg_without_touching_the_result),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
