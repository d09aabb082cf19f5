// SPDX-License-Identifier: MIT
// The desync oracle: agreement, majority vote, and the reference re-simulation that breaks a tie.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
/* ASan's own allocator, which mallinfo2() does not see; GCC ships no header for it. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#include "game/game.h"
#include "harness/bundle.h"
#include "harness/oracle.h"

/* Each test gets its own work directory for the oracle's logs. */
static int setup(void **state)
{
	static char dir[64];
	snprintf(dir, sizeof dir, "/tmp/loopsim-test-oracle-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

/* Removes the work directory and whatever a test left in it (a bundle, one level deep). */
static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", (const char *)*state);
	return system(cmd) == 0 ? 0 : -1;
}

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
	struct oracle *o = oracle_create(3, true, 5, *state);
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
	struct oracle *o = oracle_create(4, false, 5, *state); /* no reference: the vote alone decides */
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
	for (uint32_t bad = 0; bad < 2; bad++) {
		struct oracle *o = oracle_create(2, true, 9, *state);
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
	struct oracle *o = oracle_create(3, false, 1, *state);
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
	struct oracle *o = oracle_create(3, false, 1, *state);
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

/* Bytes the allocator has handed out and not taken back, the oracle's included. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

/* Frame f's inputs in the tests' made-up sessions. */
static void inputs_of(uint32_t f, uint32_t n, uint8_t *in)
{
	for (uint32_t p = 0; p < n; p++)
		in[p] = (uint8_t)((f * 7 + p * 3) % 16);
}

/* One frame of a session whose peers all agree: one game, reported by each peer in peers_mask, twice (a heartbeat). */
static void report_frame(struct oracle *o, uint32_t n, uint32_t peers_mask, struct game_state *g, uint32_t f)
{
	uint8_t in[GAME_MAX_PLAYERS];
	inputs_of(f, n, in);
	game_step(g, in);
	uint64_t h = game_hash(g);
	for (uint32_t k = 0; k < n; k++)
		if (peers_mask >> k & 1)
			for (int rep = 0; rep < 2; rep++) {
				oracle_inputs(o, k, f, in, n);
				oracle_checksum(o, k, f, h);
			}
}

/*
 * An hour at 60 Hz grew the oracle by some 24 bytes per peer per frame. Now
 * 200,000 frames of 4 peers, after the first 5,000, may not grow the heap
 * at all beyond noise: the window is the same size at either point.
 */
static void test_oracle_memory_stays_bounded_over_a_long_session(void **state)
{
	const uint32_t n = 4, frames = 200000;
	struct oracle *o = oracle_create(n, true, 3, *state);
	assert_non_null(o);
	struct game_state g;
	struct run_desync d;
	game_init(&g, n, 3);
	size_t early = 0;
	for (uint32_t f = 0; f < frames; f++) {
		report_frame(o, n, 0xf, &g, f);
		if (f % 60 == 59)
			assert_int_equal(oracle_check(o, &d), 0);
		if (f == 5000)
			early = heap_in_use();
	}
	size_t late = heap_in_use();
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), frames - 1);
	assert_int_equal(oracle_unkept(o), 0);
	uint64_t ref, mine;
	assert_int_equal(oracle_reference_checksum(o, frames - 1, &ref), 0);
	assert_int_equal(oracle_peer_checksum(o, 3, frames - 1, &mine), 0);
	assert_true(ref == mine);
	assert_int_equal(oracle_reference_checksum(o, frames - 1 - ORACLE_WINDOW, &ref), -1); /* long gone from memory */
	print_message("heap: %zu bytes at frame 5000, %zu at frame %u\n", early, late, frames);
	assert_true(late < early + 64 * 1024);
	oracle_destroy(o);
}

/* Reads one streamed log into frames[] (and each line's rest into rest[][]), checking that frames only increase. */
static uint32_t read_log(const char *dir, const char *name, uint32_t *frames, uint32_t max, char (*rest)[64])
{
	char path[256], line[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof line, f));
	assert_true(line[0] == '#');
	uint32_t count = 0;
	while (fgets(line, sizeof line, f)) {
		char *end;
		unsigned long fr = strtoul(line, &end, 10);
		assert_true(end != line);
		assert_true(count < max);
		if (count)
			assert_true(fr > frames[count - 1]);
		frames[count] = (uint32_t)fr;
		snprintf(rest[count], sizeof rest[count], "%s", end);
		count++;
	}
	fclose(f);
	return count;
}

/*
 * Peer 2 is gone for frames 100..149 and back from 150; every peer repeats
 * each report (a heartbeat). Each log holds every frame its peer reported,
 * once and in order, in the bundle's formats, and nothing for the gap.
 */
static void test_oracle_logs_every_frame_once_in_order_across_a_gap(void **state)
{
	const char *dir = *state;
	const uint32_t n = 3;
	struct oracle *o = oracle_create(n, true, 8, dir);
	struct game_state g;
	struct run_desync d;
	game_init(&g, n, 8);
	for (uint32_t f = 0; f < 200; f++) {
		if (f == 100)
			oracle_peer_gone(o, 2);
		if (f == 150)
			oracle_peer_back(o, 2);
		report_frame(o, n, f >= 100 && f < 150 ? 0x3 : 0x7, &g, f);
		if (f > 0)
			oracle_checksum(o, 0, f - 1, 1234); /* a late repeat of an older frame: not logged again */
		assert_int_equal(oracle_check(o, &d), 0);
	}
	assert_int_equal(oracle_agreed(o), 199);
	assert_int_equal(oracle_flush(o), 0);

	static uint32_t frames[400];
	static char rest[400][64];
	game_init(&g, n, 8);
	uint64_t hash[200];
	for (uint32_t f = 0; f < 200; f++) {
		uint8_t in[GAME_MAX_PLAYERS];
		inputs_of(f, n, in);
		game_step(&g, in);
		hash[f] = game_hash(&g);
	}
	for (uint32_t k = 0; k < n; k++) {
		char name[64];
		uint32_t want = k == 2 ? 150 : 200;
		snprintf(name, sizeof name, "checksums-%u.txt", k);
		assert_int_equal(read_log(dir, name, frames, 400, rest), want);
		for (uint32_t i = 0; i < want; i++) {
			uint32_t f = frames[i];
			assert_int_equal(f, k == 2 && i >= 100 ? i + 50 : i);
			char expect[64];
			snprintf(expect, sizeof expect, " %016" PRIx64 "\n", hash[f]);
			assert_string_equal(rest[i], expect);
		}
		snprintf(name, sizeof name, "inputs-%u.txt", k);
		assert_int_equal(read_log(dir, name, frames, 400, rest), want);
		for (uint32_t i = 0; i < want; i++) {
			uint8_t in[GAME_MAX_PLAYERS];
			inputs_of(frames[i], n, in);
			char expect[64];
			snprintf(expect, sizeof expect, " %u %u %u\n", in[0], in[1], in[2]);
			assert_string_equal(rest[i], expect);
		}
	}
	oracle_destroy(o);
	/* Closed, the logs stay whole: a failed run keeps them for reading. */
	assert_int_equal(read_log(dir, "checksums-0.txt", frames, 400, rest) > 0, 1);
}

/*
 * The streamed logs, copied into a bundle, replay. Peer 2's gap, and its
 * first frame back, are stepped with the others' inputs.
 */
static void test_oracle_logs_replay_from_a_bundle_across_a_gap(void **state)
{
	const char *dir = *state;
	const uint32_t n = 3;
	struct oracle *o = oracle_create(n, true, 21, dir);
	struct game_state g[3];
	struct run_desync d;
	for (uint32_t k = 0; k < n; k++)
		game_init(&g[k], n, 21);
	for (uint32_t f = 0; f < 300; f++) {
		if (f == 100)
			oracle_peer_gone(o, 2);
		if (f == 150)
			oracle_peer_back(o, 2);
		uint8_t in[GAME_MAX_PLAYERS];
		inputs_of(f, n, in);
		for (uint32_t k = 0; k < n; k++) {
			game_step(&g[k], in);
			if (k == 2 && f == 250)
				g[k].ship[0].x += 3;
			if (k == 2 && f >= 100 && f < 150)
				continue;
			static const uint8_t unknown[GAME_MAX_PLAYERS] = { 0 };
			/* A restarted peer is handed the state after its first frame back, not that frame's inputs. */
			oracle_inputs(o, k, f, k == 2 && f == 150 ? unknown : in, n);
			oracle_checksum(o, k, f, game_hash(&g[k]));
		}
	}
	assert_int_equal(oracle_check(o, &d), 1);
	assert_int_equal(d.frame, 250);
	assert_int_equal(d.npeers, 1);
	assert_int_equal(d.peers[0], 2);

	struct scenario scn;
	scn_default(&scn);
	scn.peers = n;
	scn.seed = 21;
	struct run_result res = { 0 };
	res.desync = d;
	char bundle[128];
	snprintf(bundle, sizeof bundle, "%s/bundle", dir);
	struct bundle_input bi = { .scn = &scn, .res = &res, .oracle = o, .pcap = "/nonexistent", .fates = "/nonexistent",
				   .workdir = dir };
	char err[256];
	assert_int_equal(bundle_write(&bi, bundle, err, sizeof err), 0);
	oracle_destroy(o);

	struct replay_result r;
	assert_int_equal(bundle_replay(bundle, &r, err, sizeof err), 0);
	assert_int_equal(r.desync_frame, 250);
	assert_int_equal(r.peer[0].diverges_at, -1);
	assert_int_equal(r.peer[0].frames, 300);
	assert_int_equal(r.peer[1].diverges_at, -1);
	assert_int_equal(r.peer[2].diverges_at, 250);
}

/* Far past the window, two peers part: the reference still holds the frame, and names the odd one. */
static void test_oracle_names_a_desync_long_after_the_first_window(void **state)
{
	const uint32_t n = 2, at = 3 * ORACLE_WINDOW + 17;
	struct oracle *o = oracle_create(n, true, 4, *state);
	struct game_state g[2];
	struct run_desync d;
	for (uint32_t k = 0; k < n; k++)
		game_init(&g[k], n, 4);
	int found = 0;
	for (uint32_t f = 0; f < at + 100 && !found; f++) {
		uint8_t in[GAME_MAX_PLAYERS];
		inputs_of(f, n, in);
		for (uint32_t k = 0; k < n; k++) {
			game_step(&g[k], in);
			if (k == 0 && f == at)
				g[k].ship[1].y += 5;
			oracle_inputs(o, k, f, in, n);
			oracle_checksum(o, k, f, game_hash(&g[k]));
		}
		found = oracle_check(o, &d);
	}
	assert_int_equal(found, 1);
	assert_int_equal(d.frame, at);
	assert_int_equal(d.npeers, 1);
	assert_int_equal(d.peers[0], 0);
	struct game_state ref;
	assert_int_equal(oracle_reference_state(o, at, &ref), 0);
	assert_true(game_hash(&ref) == d.checksum[1]);
	oracle_destroy(o);
}

/*
 * Peer 2 says nothing while the others run more than a window ahead: what
 * does not fit is logged and counted, not held, and the comparison goes on
 * once peer 2 catches up.
 */
static void test_oracle_counts_reports_beyond_the_window_and_still_logs_them(void **state)
{
	const char *dir = *state;
	const uint32_t n = 3, frames = ORACLE_WINDOW + 1000;
	struct oracle *o = oracle_create(n, false, 1, dir);
	struct run_desync d;
	for (uint32_t f = 0; f < frames; f++)
		for (uint32_t k = 0; k < 2; k++)
			oracle_checksum(o, k, f, 100 + f);
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), -1); /* waiting for peer 2 */
	assert_int_equal(oracle_unkept(o), 2 * 1000);
	for (uint32_t f = 0; f < frames; f++) {
		oracle_checksum(o, 2, f, 100 + f);
		assert_int_equal(oracle_check(o, &d), 0);
	}
	assert_int_equal(oracle_agreed(o), frames - 1);
	assert_int_equal(oracle_unkept(o), 2 * 1000); /* peer 2 fitted: the window moved with it */
	assert_int_equal(oracle_flush(o), 0);
	static uint32_t got[ORACLE_WINDOW + 1000];
	static char rest[ORACLE_WINDOW + 1000][64];
	assert_int_equal(read_log(dir, "checksums-0.txt", got, frames, rest), frames);
	oracle_destroy(o);
}

/* Checksums by hand: side A's value for every frame, side B's after the split, one peer's lie. */
static uint64_t sum_of(uint32_t side, uint32_t frame)
{
	return (uint64_t)frame * 0x9e3779b97f4a7c15ull + side * 77;
}

static void test_oracle_compares_each_side_of_a_split_within_itself(void **state)
{
	/* {0,1} and {2,3} drop each other at frame 100 and play on with different inputs: no desync. */
	struct oracle *o = oracle_create(4, false, 5, *state);
	struct run_desync d;
	for (uint32_t k = 0; k < 4; k++)
		for (uint32_t j = 0; j < 4; j++)
			if ((k < 2) != (j < 2))
				oracle_peer_lost(o, k, j, 100);
	for (uint32_t f = 0; f < 300; f++)
		for (uint32_t k = 0; k < 4; k++)
			oracle_checksum(o, k, f, sum_of(f >= 100 ? k / 2 : 0, f));
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), 299);
	/* Every peer was compared with its own side's partner all along. */
	for (uint32_t k = 0; k < 4; k++)
		assert_int_equal(oracle_peer_compared(o, k), 300);
	oracle_destroy(o);
}

static void test_oracle_catches_a_desync_inside_one_side_of_a_split(void **state)
{
	/* Three a side: peer 4 leaves its side's state at frame 150, after the split at frame 100. */
	struct oracle *o = oracle_create(6, false, 5, *state);
	struct run_desync d;
	for (uint32_t k = 0; k < 6; k++)
		for (uint32_t j = 0; j < 6; j++)
			if ((k < 3) != (j < 3))
				oracle_peer_lost(o, k, j, 100);
	for (uint32_t f = 0; f < 200; f++)
		for (uint32_t k = 0; k < 6; k++)
			oracle_checksum(o, k, f, sum_of(f >= 100 ? k / 3 : 0, f) ^ (k == 4 && f >= 150));
	assert_int_equal(oracle_check(o, &d), 1);
	assert_int_equal(d.frame, 150);
	assert_int_equal(d.npeers, 1);
	assert_int_equal(d.peers[0], 4);
	/* Only its own side was in the vote. */
	assert_int_equal(d.known_mask, 0x38);
	oracle_destroy(o);
}

static void test_oracle_without_a_split_the_same_divergence_is_a_desync(void **state)
{
	/* The same checksums with nobody dropped: the sides' difference at frame 100 is a desync. */
	struct oracle *o = oracle_create(4, false, 5, *state);
	struct run_desync d;
	for (uint32_t f = 0; f < 300; f++)
		for (uint32_t k = 0; k < 4; k++)
			oracle_checksum(o, k, f, sum_of(f >= 100 ? k / 2 : 0, f));
	assert_int_equal(oracle_check(o, &d), 1);
	assert_int_equal(d.frame, 100);
	/* And only one-sided drops do not split the comparison until the frame they name. */
	struct oracle *o2 = oracle_create(4, false, 5, *state);
	oracle_peer_lost(o2, 0, 2, 120);
	for (uint32_t f = 0; f < 300; f++)
		for (uint32_t k = 0; k < 4; k++)
			oracle_checksum(o2, k, f, sum_of(f >= 100 ? k / 2 : 0, f));
	assert_int_equal(oracle_check(o2, &d), 1);
	assert_int_equal(d.frame, 100);
	oracle_destroy(o2);
	oracle_destroy(o);
}

static void test_oracle_a_returning_peer_is_no_longer_split_off(void **state)
{
	struct oracle *o = oracle_create(3, false, 5, *state);
	struct run_desync d;
	oracle_peer_lost(o, 0, 2, 50);
	oracle_peer_lost(o, 1, 2, 50);
	oracle_peer_back(o, 2);
	/* Back with the same state as the others: a wrong checksum from it is a desync again. */
	for (uint32_t f = 0; f < 100; f++)
		for (uint32_t k = 0; k < 3; k++)
			oracle_checksum(o, k, f, sum_of(0, f) ^ (k == 2 && f == 70));
	assert_int_equal(oracle_check(o, &d), 1);
	assert_int_equal(d.frame, 70);
	assert_int_equal(d.peers[0], 2);
	oracle_destroy(o);
}

static void test_oracle_counts_no_comparison_for_a_peer_alone(void **state)
{
	/* Only peer 0 reports: it holds every frame, but nobody else does, so nothing of it was compared. */
	struct oracle *o = oracle_create(2, false, 5, *state);
	struct run_desync d;
	oracle_peer_gone(o, 1);
	for (uint32_t f = 0; f < 50; f++)
		oracle_checksum(o, 0, f, sum_of(0, f));
	assert_int_equal(oracle_check(o, &d), 0);
	assert_int_equal(oracle_agreed(o), 49);
	assert_int_equal(oracle_peer_compared(o, 0), 0);
	oracle_destroy(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_oracle_agreeing_peers_raise_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_majority_names_the_odd_peer_at_the_first_divergent_frame,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_reference_names_the_odd_one_of_two, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_waits_for_every_live_peer_and_not_for_gone_ones, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oracle_takes_a_returning_peer_back_from_its_first_new_frame, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oracle_memory_stays_bounded_over_a_long_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_logs_every_frame_once_in_order_across_a_gap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oracle_logs_replay_from_a_bundle_across_a_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_names_a_desync_long_after_the_first_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_counts_reports_beyond_the_window_and_still_logs_them, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oracle_compares_each_side_of_a_split_within_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_catches_a_desync_inside_one_side_of_a_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_without_a_split_the_same_divergence_is_a_desync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_oracle_a_returning_peer_is_no_longer_split_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oracle_counts_no_comparison_for_a_peer_alone, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
