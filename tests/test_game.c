// SPDX-License-Identifier: MIT
// The demo game: determinism, the golden hash, save/load, the rules, the bots, and the diff.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "game/game.h"

#define UNIT GAME_FIX_ONE

/* Advances s by n frames with every player a bot. */
static void run_bots(struct game_state *s, uint32_t n, uint64_t seed)
{
	game_input in[GAME_MAX_PLAYERS];
	for (uint32_t f = 0; f < n; f++) {
		for (uint32_t k = 0; k < s->nplayers; k++)
			in[k] = game_bot_input(s, k, seed);
		game_step(s, in);
	}
}

/* Advances s by n frames with every player pressing the same keys. */
static void run_keys(struct game_state *s, uint32_t n, game_input keys)
{
	game_input in[GAME_MAX_PLAYERS];
	memset(in, keys, sizeof in);
	for (uint32_t f = 0; f < n; f++)
		game_step(s, in);
}

/* A quiet arena: two ships at rest, far apart, no bullets; tests place things by hand. */
static void quiet_arena(struct game_state *s)
{
	assert_int_equal(game_init(s, 2, 1), 0);
	s->ship[0] = (struct game_ship){ .x = 100 * UNIT, .y = 100 * UNIT, .alive = 1 };
	s->ship[1] = (struct game_ship){ .x = 600 * UNIT, .y = 600 * UNIT, .alive = 1 };
}

static int live_bullets(const struct game_state *s)
{
	int n = 0;
	for (int i = 0; i < GAME_MAX_BULLETS; i++)
		n += s->bullet[i].life > 0;
	return n;
}

static void test_game_two_runs_of_100k_frames_hash_the_same(void **state)
{
	(void)state;
	enum { FRAMES = 100000, EVERY = 10000 };
	uint64_t h[2][FRAMES / EVERY];
	for (int run = 0; run < 2; run++) {
		struct game_state s;
		assert_int_equal(game_init(&s, 4, 7), 0);
		for (int i = 0; i < FRAMES / EVERY; i++) {
			run_bots(&s, EVERY, 7);
			h[run][i] = game_hash(&s);
		}
		assert_int_equal(s.frame, FRAMES);
	}
	for (int i = 0; i < FRAMES / EVERY; i++)
		assert_int_equal(h[0][i], h[1][i]);
	assert_int_not_equal(h[0][0], h[0][1]);
}

/*
 * A change to the rules, the bots, the RNG or the serialisation changes
 * this hash. When the change is deliberate, update the literal: run this
 * test, and copy the value it prints after "got". Peers built before and
 * after such a change cannot play together.
 */
#define GOLDEN_HASH_10K_SEED_42_4_BOTS 0x19519ec4b6d49bbdull

static void test_game_golden_hash_after_10k_frames(void **state)
{
	(void)state;
	struct game_state s;
	assert_int_equal(game_init(&s, 4, 42), 0);
	run_bots(&s, 10000, 42);
	uint64_t h = game_hash(&s);
	if (h != GOLDEN_HASH_10K_SEED_42_4_BOTS)
		print_message("golden hash: expected 0x%016" PRIx64 ", got 0x%016" PRIx64 "\n",
			      (uint64_t)GOLDEN_HASH_10K_SEED_42_4_BOTS, h);
	assert_int_equal(h, GOLDEN_HASH_10K_SEED_42_4_BOTS);
}

static void test_game_save_load_by_memcpy_then_stepping_matches_never_saving(void **state)
{
	(void)state;
	struct game_state ref, s, saved;
	assert_int_equal(game_init(&ref, 4, 3), 0);
	run_bots(&ref, 1000, 3);

	assert_int_equal(game_init(&s, 4, 3), 0);
	run_bots(&s, 500, 3);
	memcpy(&saved, &s, sizeof saved);
	run_keys(&s, 200, GAME_IN_THRUST | GAME_IN_FIRE | GAME_IN_LEFT); /* a mispredicted future */
	assert_int_not_equal(game_hash(&s), game_hash(&saved));
	memcpy(&s, &saved, sizeof s);
	run_bots(&s, 500, 3);
	assert_int_equal(game_hash(&s), game_hash(&ref));
	assert_memory_equal(&s, &ref, sizeof s);
}

static void test_game_bots_kill_score_and_respawn_within_300_frames(void **state)
{
	(void)state;
	struct game_state s;
	assert_int_equal(game_init(&s, 4, 5), 0);
	int died = -1, scored = -1, respawned = -1;
	game_input in[GAME_MAX_PLAYERS];
	for (int f = 0; f < 300; f++) {
		for (uint32_t k = 0; k < 4; k++)
			in[k] = game_bot_input(&s, k, 5);
		game_step(&s, in);
		for (int k = 0; k < 4; k++) {
			if (died < 0 && s.ship[k].deaths > 0)
				died = f;
			if (scored < 0 && s.ship[k].score > 0)
				scored = f;
			if (respawned < 0 && s.ship[k].deaths > 0 && s.ship[k].alive)
				respawned = f;
		}
	}
	assert_true(died >= 0);
	assert_true(scored >= 0);
	assert_true(respawned >= 0);
	assert_true(respawned >= died + GAME_RESPAWN_FRAMES);
}

static void test_game_ships_wrap_at_every_edge(void **state)
{
	(void)state;
	struct game_state s;
	quiet_arena(&s);
	s.ship[0].x = GAME_FIELD - UNIT; /* one unit before the right edge, moving right */
	s.ship[0].vx = 3 * UNIT;
	s.ship[0].y = UNIT; /* one unit below the top edge, moving up */
	s.ship[0].vy = -3 * UNIT;
	run_keys(&s, 1, 0);
	/* Friction takes vx/64 first: 3 units become 3 - 3/64, of which 1 is used before the edge. */
	game_fix v = 3 * UNIT - 3 * UNIT / GAME_FRICTION_DIV;
	assert_int_equal(s.ship[0].x, v - UNIT);
	assert_int_equal(s.ship[0].y, GAME_FIELD + UNIT - v);
	for (int f = 0; f < 2000; f++) {
		run_keys(&s, 1, GAME_IN_THRUST | GAME_IN_RIGHT);
		assert_true(s.ship[0].x >= 0 && s.ship[0].x < GAME_FIELD);
		assert_true(s.ship[0].y >= 0 && s.ship[0].y < GAME_FIELD);
	}
}

static void test_game_bullets_wrap_and_expire_after_their_life(void **state)
{
	(void)state;
	struct game_state s;
	quiet_arena(&s);
	s.ship[0].x = GAME_FIELD - 20 * UNIT;
	s.ship[0].angle = 0; /* facing +x, towards the edge; ship 1 is far off the bullet's row */
	game_input in[2] = { GAME_IN_FIRE, 0 };
	game_step(&s, in);
	const struct game_bullet *b = &s.bullet[0];
	assert_int_equal(b->life, GAME_BULLET_LIFE - 1);
	assert_int_equal(b->owner, 0);
	assert_true(b->x < 10 * UNIT); /* 20 - 12 = 8 units from the edge, then a 10-unit move */
	for (int f = 1; f < GAME_BULLET_LIFE - 1; f++) {
		run_keys(&s, 1, 0);
		assert_int_equal(b->life, GAME_BULLET_LIFE - 1 - f);
	}
	assert_int_equal(b->life, 1);
	run_keys(&s, 1, 0);
	assert_int_equal(live_bullets(&s), 0);
	struct game_bullet zero = { 0 };
	assert_memory_equal(b, &zero, sizeof zero); /* a free slot is all zero, so hashes stay canonical */
}

static void test_game_bullet_kills_ship_scores_shooter_and_ship_respawns(void **state)
{
	(void)state;
	struct game_state s;
	quiet_arena(&s);
	s.ship[1].x = s.ship[0].x + 100 * UNIT; /* straight ahead of ship 0 */
	s.ship[1].y = s.ship[0].y;
	game_input in[2] = { GAME_IN_FIRE, 0 };
	game_step(&s, in);
	in[0] = 0;
	int frames = 1;
	while (s.ship[1].alive && frames < 20) {
		game_step(&s, in);
		frames++;
	}
	assert_int_equal(s.ship[1].alive, 0);
	assert_true(frames <= 10); /* (100 - 12 - 12) units at 10 a frame */
	assert_int_equal(s.ship[1].deaths, 1);
	assert_int_equal(s.ship[0].score, 1);
	assert_int_equal(s.ship[0].deaths, 0);
	assert_int_equal(live_bullets(&s), 0);
	assert_int_equal(s.ship[1].respawn, GAME_RESPAWN_FRAMES);

	run_keys(&s, GAME_RESPAWN_FRAMES - 1, 0);
	assert_int_equal(s.ship[1].alive, 0);
	run_keys(&s, 1, 0);
	assert_int_equal(s.ship[1].alive, 1);
	assert_int_equal(s.ship[1].respawn, 0);
}

static void test_game_fast_bullet_cannot_step_over_a_ship(void **state)
{
	(void)state;
	struct game_state s;
	/* 14 units before the centre, then 16 past it: outside the radius at both ends of the frame. */
	for (int miss = 0; miss < 2; miss++) {
		quiet_arena(&s);
		s.bullet[0] = (struct game_bullet){ .x = s.ship[1].x - 14 * UNIT,
						    .y = s.ship[1].y + (miss ? GAME_SHIP_RADIUS + UNIT : 3 * UNIT),
						    .vx = 30 * UNIT,
						    .life = 10,
						    .owner = 0 };
		run_keys(&s, 1, 0);
		assert_int_equal(s.ship[1].alive, miss);
		assert_int_equal(s.ship[0].score, !miss);
		assert_int_equal(live_bullets(&s), miss);
	}
}

static void test_game_speed_never_exceeds_the_cap(void **state)
{
	(void)state;
	struct game_state s;
	quiet_arena(&s);
	const int64_t max2 = (int64_t)GAME_SHIP_MAX_SPEED * GAME_SHIP_MAX_SPEED;
	int64_t top = 0;
	for (int f = 0; f < 500; f++) {
		run_keys(&s, 1, f % 100 < 80 ? GAME_IN_THRUST : GAME_IN_THRUST | GAME_IN_LEFT);
		int64_t v2 = (int64_t)s.ship[0].vx * s.ship[0].vx + (int64_t)s.ship[0].vy * s.ship[0].vy;
		assert_true(v2 <= max2);
		top = v2 > top ? v2 : top;
	}
	assert_true(top > max2 * 9 / 10); /* and thrust does reach it */
}

static void test_game_input_bits_outside_the_mask_are_ignored(void **state)
{
	(void)state;
	struct game_state a, b;
	assert_int_equal(game_init(&a, 3, 9), 0);
	b = a;
	run_keys(&a, 50, GAME_IN_THRUST | GAME_IN_FIRE);
	run_keys(&b, 50, 0xf0 | GAME_IN_THRUST | GAME_IN_FIRE);
	assert_int_equal(game_hash(&a), game_hash(&b));
}

static void test_game_init_rejects_1_and_17_players(void **state)
{
	(void)state;
	struct game_state s, before;
	memset(&s, 0xab, sizeof s);
	before = s;
	assert_int_equal(game_init(&s, 0, 1), -1);
	assert_int_equal(game_init(&s, 1, 1), -1);
	assert_int_equal(game_init(&s, GAME_MAX_PLAYERS + 1, 1), -1);
	assert_memory_equal(&s, &before, sizeof s);
	assert_int_equal(game_init(&s, 2, 1), 0);
	assert_int_equal(game_init(&s, GAME_MAX_PLAYERS, 1), 0);
	assert_int_equal(s.nplayers, GAME_MAX_PLAYERS);
	for (int k = 0; k < GAME_MAX_PLAYERS; k++)
		assert_int_equal(s.ship[k].alive, 1);
}

static void test_game_init_places_ships_from_the_seed(void **state)
{
	(void)state;
	struct game_state a, b, c;
	assert_int_equal(game_init(&a, 4, 1), 0);
	assert_int_equal(game_init(&b, 4, 1), 0);
	assert_int_equal(game_init(&c, 4, 2), 0);
	assert_memory_equal(&a, &b, sizeof a);
	assert_int_not_equal(game_hash(&a), game_hash(&c));
	assert_int_not_equal(a.ship[0].x, c.ship[0].x);
	assert_int_equal(a.frame, 0);
	assert_int_not_equal(a.rng, 0);
	assert_int_equal(a.ship[4].alive, 0); /* past nplayers */
}

static void test_game_serialize_is_fixed_size_little_endian(void **state)
{
	(void)state;
	struct game_state s;
	assert_int_equal(game_init(&s, 2, 1), 0);
	s.frame = 0x01020304;
	s.ship[0].x = -2;
	uint8_t buf[GAME_SERIALIZED_MAX];
	assert_int_equal(game_serialize(&s, buf, GAME_SERIALIZED_SIZE - 1), 0);
	assert_int_equal(game_serialize(&s, buf, sizeof buf), GAME_SERIALIZED_SIZE);
	const uint8_t frame_le[4] = { 4, 3, 2, 1 };
	assert_memory_equal(buf, frame_le, 4);
	const uint8_t minus_two[4] = { 0xfe, 0xff, 0xff, 0xff };
	assert_memory_equal(buf + 16, minus_two, 4); /* globals are 16 bytes, then ship 0's x */
}

static void test_game_entity_hash_changes_only_for_the_changed_entity(void **state)
{
	(void)state;
	struct game_state a, b;
	assert_int_equal(game_init(&a, 4, 11), 0);
	run_bots(&a, 200, 11);
	const uint32_t changed[3] = { 0, GAME_ENTITY_SHIP(2), GAME_ENTITY_BULLET(9) };
	for (int c = 0; c < 3; c++) {
		b = a;
		if (c == 0)
			b.rng ^= 1;
		else if (c == 1)
			b.ship[2].score += 1;
		else
			b.bullet[9].vy += 1;
		assert_int_not_equal(game_hash(&a), game_hash(&b));
		for (uint32_t e = 0; e < GAME_ENTITIES; e++) {
			if (e == changed[c])
				assert_int_not_equal(game_entity_hash(&a, e), game_entity_hash(&b, e));
			else
				assert_int_equal(game_entity_hash(&a, e), game_entity_hash(&b, e));
		}
	}
	assert_int_equal(game_entity_hash(&a, GAME_ENTITIES), 0);
}

static void test_game_diff_names_the_ship_and_field(void **state)
{
	(void)state;
	struct game_state a, b;
	struct game_diff d;
	assert_int_equal(game_init(&a, 4, 13), 0);
	run_bots(&a, 100, 13);
	b = a;
	assert_int_equal(game_diff(&a, &b, &d), 0);
	b.ship[3].vy += 6;
	b.ship[3].deaths += 1; /* later in the list: vy is the first difference */
	assert_int_equal(game_diff(&a, &b, &d), 1);
	assert_string_equal(d.entity, "ship 3");
	assert_string_equal(d.field, "vy");
	assert_int_equal(d.a, a.ship[3].vy);
	assert_int_equal(d.b, a.ship[3].vy + 6);
}

static void test_game_diff_names_the_bullet_and_field(void **state)
{
	(void)state;
	struct game_state a, b;
	struct game_diff d;
	assert_int_equal(game_init(&a, 4, 13), 0);
	a.bullet[17] = (struct game_bullet){ .x = 5 * UNIT, .y = 6 * UNIT, .life = 30, .owner = 2 };
	b = a;
	b.bullet[17].life = 29;
	b.bullet[100].x = 1; /* a later entity: the first one that differs wins */
	assert_int_equal(game_diff(&a, &b, &d), 1);
	assert_string_equal(d.entity, "bullet 17");
	assert_string_equal(d.field, "life");
	assert_int_equal(d.a, 30);
	assert_int_equal(d.b, 29);
}

static void test_game_diff_names_the_globals(void **state)
{
	(void)state;
	struct game_state a, b;
	struct game_diff d;
	assert_int_equal(game_init(&a, 4, 13), 0);
	b = a;
	b.frame = 7;
	assert_int_equal(game_diff(&a, &b, &d), 1);
	assert_string_equal(d.entity, "globals");
	assert_string_equal(d.field, "frame");
}

static void test_game_diff_format_reads_entity_field_and_values(void **state)
{
	(void)state;
	struct game_diff d = { .entity = "ship 3", .field = "x", .a = 1234, .b = 1240 };
	char buf[64];
	game_diff_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "ship 3.x: 1234 != 1240");
	char small[8];
	game_diff_format(&d, small, sizeof small);
	assert_string_equal(small, "ship 3.");
}

static void test_game_bot_is_pure_and_idle_when_dead(void **state)
{
	(void)state;
	struct game_state s, copy;
	assert_int_equal(game_init(&s, 4, 17), 0);
	run_bots(&s, 120, 17);
	copy = s;
	for (uint32_t k = 0; k < 4; k++)
		assert_int_equal(game_bot_input(&s, k, 17), game_bot_input(&copy, k, 17));
	assert_memory_equal(&s, &copy, sizeof s);
	s.ship[1].alive = 0;
	assert_int_equal(game_bot_input(&s, 1, 17), 0);
	assert_int_equal(game_bot_input(&s, 4, 17), 0); /* past nplayers */
	/* The seed matters: over a while, two seeds make different choices. */
	int differ = 0;
	for (uint32_t f = 0; f < 200; f++) {
		s.frame = f;
		differ += game_bot_input(&s, 0, 1) != game_bot_input(&s, 0, 2);
	}
	assert_true(differ > 0);
}

static void test_game_deserialize_inverts_serialize(void **state)
{
	(void)state;
	struct game_state a, b;
	game_init(&a, 5, 3);
	for (int f = 0; f < 500; f++) {
		game_input in[GAME_MAX_PLAYERS] = { 0 };
		for (uint32_t k = 0; k < 5; k++)
			in[k] = game_bot_input(&a, k, 3);
		game_step(&a, in);
	}
	uint8_t buf[GAME_SERIALIZED_MAX];
	size_t n = game_serialize(&a, buf, sizeof buf);
	assert_int_equal(game_deserialize(&b, buf, n), 0);
	assert_true(game_hash(&a) == game_hash(&b));
	struct game_diff d;
	assert_int_equal(game_diff(&a, &b, &d), 0);
	assert_int_equal(game_deserialize(&b, buf, n - 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_game_deserialize_inverts_serialize),
		cmocka_unit_test(test_game_two_runs_of_100k_frames_hash_the_same),
		cmocka_unit_test(test_game_golden_hash_after_10k_frames),
		cmocka_unit_test(test_game_save_load_by_memcpy_then_stepping_matches_never_saving),
		cmocka_unit_test(test_game_bots_kill_score_and_respawn_within_300_frames),
		cmocka_unit_test(test_game_ships_wrap_at_every_edge),
		cmocka_unit_test(test_game_bullets_wrap_and_expire_after_their_life),
		cmocka_unit_test(test_game_bullet_kills_ship_scores_shooter_and_ship_respawns),
		cmocka_unit_test(test_game_fast_bullet_cannot_step_over_a_ship),
		cmocka_unit_test(test_game_speed_never_exceeds_the_cap),
		cmocka_unit_test(test_game_input_bits_outside_the_mask_are_ignored),
		cmocka_unit_test(test_game_init_rejects_1_and_17_players),
		cmocka_unit_test(test_game_init_places_ships_from_the_seed),
		cmocka_unit_test(test_game_serialize_is_fixed_size_little_endian),
		cmocka_unit_test(test_game_entity_hash_changes_only_for_the_changed_entity),
		cmocka_unit_test(test_game_diff_names_the_ship_and_field),
		cmocka_unit_test(test_game_diff_names_the_bullet_and_field),
		cmocka_unit_test(test_game_diff_names_the_globals),
		cmocka_unit_test(test_game_diff_format_reads_entity_field_and_values),
		cmocka_unit_test(test_game_bot_is_pure_and_idle_when_dead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
