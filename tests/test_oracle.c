// SPDX-License-Identifier: MIT
// The desync oracle: agreement, majority vote, and the reference re-simulation that breaks a tie.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "game/game.h"
#include "harness/oracle.h"

/* Feeds frames [from, to) of a real game to peer k; perturb >= 0 nudges its state after that frame. */
static void feed(struct oracle *o, uint32_t k, uint32_t n, struct game_state *g, uint32_t from, uint32_t to,
		 int perturb)
{
	for (uint32_t f = from; f < to; f++) {
		uint8_t in[GAME_MAX_PLAYERS] = { 0 };
		for (uint32_t p = 0; p < n; p++)
			in[p] = (uint8_t)((f * 7 + p * 3) % 16);
		game_step(g, in);
		if (perturb >= 0 && f == (uint32_t)perturb)
			g->ship[1].y += 5;
		oracle_inputs(o, k, f, in, n);
		oracle_checksum(o, k, f, game_hash(g));
	}
}

static void test_oracle_agreeing_peers_raise_nothing(void **state)
{
	(void)state;
	struct oracle *o = oracle_create(3, true, 5);
	struct game_state g[3];
	struct run_desync d;
	for (uint32_t k = 0; k < 3; k++) {
		game_init(&g[k], 3, 5);
		feed(o, k, 3, &g[k], 0, 300, -1);
	}
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), 299);
	uint64_t ref, mine;
	assert_int_equal(oracle_reference_checksum(o, 299, &ref), 0);
	assert_int_equal(oracle_peer_checksum(o, 2, 299, &mine), 0);
	assert_true(ref == mine);
	oracle_destroy(o);
}

static void test_oracle_majority_names_the_odd_peer_at_the_first_divergent_frame(void **state)
{
	(void)state;
	struct oracle *o = oracle_create(4, false, 5); /* no reference: the vote alone decides */
	struct game_state g[4];
	struct run_desync d;
	for (uint32_t k = 0; k < 4; k++) {
		game_init(&g[k], 4, 5);
		feed(o, k, 4, &g[k], 0, 200, k == 2 ? 120 : -1);
	}
	assert_int_equal(oracle_check(o, &d), 1);
	assert_true(d.found);
	assert_int_equal(d.frame, 120);
	assert_int_equal(d.npeers, 1);
	assert_int_equal(d.peers[0], 2);
	assert_int_equal(d.known_mask, 0xf);
	assert_int_equal(oracle_check(o, &d), 0); /* reported once */
	oracle_destroy(o);
}

static void test_oracle_reference_names_the_odd_one_of_two(void **state)
{
	(void)state;
	for (uint32_t bad = 0; bad < 2; bad++) {
		struct oracle *o = oracle_create(2, true, 9);
		struct game_state g[2];
		struct run_desync d;
		for (uint32_t k = 0; k < 2; k++) {
			game_init(&g[k], 2, 9);
			feed(o, k, 2, &g[k], 0, 100, k == bad ? 60 : -1);
		}
		assert_int_equal(oracle_check(o, &d), 1);
		assert_int_equal(d.frame, 60);
		assert_int_equal(d.npeers, 1);
		assert_int_equal(d.peers[0], bad);
		struct game_state ref;
		assert_int_equal(oracle_reference_state(o, 60, &ref), 0);
		assert_true(game_hash(&ref) == d.checksum[1 - bad]);
		oracle_destroy(o);
	}
}

static void test_oracle_waits_for_every_live_peer_and_not_for_gone_ones(void **state)
{
	(void)state;
	struct oracle *o = oracle_create(3, false, 1);
	struct run_desync d;
	oracle_checksum(o, 0, 0, 11);
	oracle_checksum(o, 1, 0, 22);
	assert_int_equal(oracle_check(o, &d), 0); /* peer 2 has not reported frame 0 */
	oracle_peer_gone(o, 2);
	assert_int_equal(oracle_check(o, &d), 1); /* now 0 and 1 are the live ones, and they differ */
	assert_int_equal(d.npeers, 2);            /* a tie without a reference names both */
	oracle_destroy(o);
}

/* A restarted peer reports again from a later frame: the frames of its absence are compared among the others. */
static void test_oracle_takes_a_returning_peer_back_from_its_first_new_frame(void **state)
{
	(void)state;
	struct oracle *o = oracle_create(3, false, 1);
	struct run_desync d;
	for (uint32_t f = 0; f < 10; f++)
		for (uint32_t k = 0; k < 3; k++)
			oracle_checksum(o, k, f, 100 + f);
	oracle_peer_gone(o, 2);
	for (uint32_t f = 10; f < 30; f++)
		for (uint32_t k = 0; k < 2; k++)
			oracle_checksum(o, k, f, 100 + f);
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), 29);
	oracle_peer_back(o, 2);
	for (uint32_t f = 30; f < 40; f++)
		for (uint32_t k = 0; k < 2; k++)
			oracle_checksum(o, k, f, 100 + f);
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), 29); /* frame 30 waits for peer 2 */
	oracle_checksum(o, 2, 30, 130);
	oracle_checksum(o, 2, 31, 999);         /* and peer 2 is held to it */
	assert_int_equal(oracle_check(o, &d), 1);
	assert_int_equal(d.frame, 31);
	assert_int_equal(d.npeers, 1);
	assert_int_equal(d.peers[0], 2);
	oracle_destroy(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oracle_agreeing_peers_raise_nothing),
		cmocka_unit_test(test_oracle_majority_names_the_odd_peer_at_the_first_divergent_frame),
		cmocka_unit_test(test_oracle_reference_names_the_odd_one_of_two),
		cmocka_unit_test(test_oracle_waits_for_every_live_peer_and_not_for_gone_ones),
		cmocka_unit_test(test_oracle_takes_a_returning_peer_back_from_its_first_new_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
