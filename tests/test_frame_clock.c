// SPDX-License-Identifier: MIT
// frame_clock: frames placed on the wire's clock as peers report them, frames.tsv written and read back.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/frame_clock.h"

static char err[256];

/* A game at 30 frames a second (33,333 µs a frame): times are its own, not 60 a second's. */
static void test_frame_clock_keeps_the_first_report_of_each_new_frame(void **state)
{
	(void)state;
	struct frame_clock *c = frame_clock_create();
	assert_non_null(c);
	uint32_t top;
	uint64_t t;
	assert_false(frame_clock_top(c, &top));
	assert_false(frame_clock_at(c, 0, &t));
	for (uint32_t f = 0; f < 100; f++) {
		frame_clock_note(c, f, 1000 + 33333ull * f);
		frame_clock_note(c, f, 999999999); /* a second peer on the same frame, later: not its time */
		if (f > 0)
			frame_clock_note(c, f - 1, 5); /* a peer behind: nothing */
	}
	assert_true(frame_clock_top(c, &top));
	assert_int_equal(top, 99);
	assert_true(frame_clock_at(c, 40, &t));
	assert_int_equal(t, 1000 + 33333ull * 40);
	/* Beyond the newest: at the pace kept. */
	assert_true(frame_clock_at(c, 109, &t));
	assert_int_equal(t, 1000 + 33333ull * 109);
	frame_clock_destroy(c);
	frame_clock_destroy(NULL);
}

/* A stall: frames 10 to 20 were skipped by every report (the peers jumped), then frames ran again. */
static void test_frame_clock_places_skipped_frames_between_their_neighbours(void **state)
{
	(void)state;
	struct frame_clock *c = frame_clock_create();
	for (uint32_t f = 0; f < 10; f++)
		frame_clock_note(c, f, 16667ull * f);
	frame_clock_note(c, 20, 5000000); /* a 5 s partition, then a jump to 20 */
	frame_clock_note(c, 21, 5016667);
	uint64_t t9, t15, t20;
	assert_true(frame_clock_at(c, 9, &t9));
	assert_true(frame_clock_at(c, 15, &t15));
	assert_true(frame_clock_at(c, 20, &t20));
	assert_int_equal(t20, 5000000);
	assert_true(t15 > t9 && t15 < t20);
	assert_int_equal(t15, t9 + (t20 - t9) * 6 / 11);
	/* Past the newest, at the game's pace (the median step), which the stall does not drag out. */
	uint64_t t31;
	assert_true(frame_clock_at(c, 31, &t31));
	assert_int_equal(t31, 5016667 + 10 * 16667);
	frame_clock_destroy(c);
}

/* The ring keeps the newest SPAN frames; an older one is placed back from the oldest kept at the pace. */
static void test_frame_clock_forgets_the_oldest_past_its_span(void **state)
{
	(void)state;
	struct frame_clock *c = frame_clock_create();
	uint32_t n = FRAME_CLOCK_SPAN + 500;
	for (uint32_t f = 0; f < n; f++)
		frame_clock_note(c, f, 10000000ull + 1000ull * f);
	uint64_t t;
	assert_true(frame_clock_at(c, n - 1, &t));
	assert_int_equal(t, 10000000ull + 1000ull * (n - 1));
	assert_true(frame_clock_at(c, 100, &t)); /* forgotten, placed at the pace */
	assert_int_equal(t, 10000000ull + 1000ull * 100);
	/* A far jump. */
	frame_clock_note(c, 4000000000u, 99999999999ull); /* the harness caps a report's lead; the ring must hold anyway */
	assert_true(frame_clock_at(c, 4000000000u, &t));
	assert_int_equal(t, 99999999999ull);
	frame_clock_destroy(c);
}

/* Written as frames.tsv and read back, the map gives each datagram time its frame, fractional. */
static void test_frame_clock_round_trips_through_frames_tsv(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/loopsim-frames-%d.tsv", (int)getpid());
	struct frame_clock *c = frame_clock_create();
	for (uint32_t f = 0; f < 50; f++)
		if (f < 20 || f > 30)
			frame_clock_note(c, f, 200000 + 33333ull * f);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(frame_clock_write(c, 123456, f), 0);
	fclose(f);
	frame_clock_destroy(c);

	struct frame_map m;
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), 0);
	assert_int_equal(m.n, 39);
	assert_int_equal(m.start_us, 123456);
	assert_float_equal(m.period_us, 33333, 1e-6);
	assert_true(m.frame[0] == 0 && m.t_us[0] == 200000);
	assert_float_equal(frame_map_frame_at(&m, 200000 + 33333ull * 7, 60), 7.0, 1e-9);
	assert_float_equal(frame_map_frame_at(&m, 200000 + 33333ull * 7 + 16666, 60), 7.5, 1e-4);
	assert_float_equal(frame_map_frame_at(&m, 200000 + 33333ull * 25, 60), 25.0, 1e-9); /* between 19 and 31 */
	assert_float_equal(frame_map_frame_at(&m, 200000 + 33333ull * 60, 60), 60.0, 1e-6); /* past the end */
	assert_float_equal(frame_map_frame_at(&m, 200000 - 33333ull * 2, 60), -2.0, 1e-6);  /* before the start */
	frame_map_free(&m);

	/* A session that stalled for a second at the start and caught up by jumps still has its own pace. */
	f = fopen(path, "w");
	fputs("0\t0\n1\t1000000\n2\t1016667\n5\t1016800\n6\t1033467\n7\t1050134\n8\t1066801\n", f);
	fclose(f);
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), 0);
	assert_float_equal(m.period_us, 16667, 1);
	assert_float_equal(frame_map_frame_at(&m, 1066801 + 166670, 60), 18.0, 1e-3);
	frame_map_free(&m);

	/* No file: an older bundle, placed at the given pace. */
	unlink(path);
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), 1);
	assert_float_equal(frame_map_frame_at(&m, 500000, 60), 30.0, 1e-9);

	/* Frames going backwards are refused with the line. */
	f = fopen(path, "w");
	fputs("# loopsim frames v1 start_us=0\n1\t100\n0\t200\n", f);
	fclose(f);
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), -1);
	assert_non_null(strstr(err, ":3: "));
	f = fopen(path, "w");
	fputs("1\t100\n-1\t200\n", f); /* not a frame number, though scanf would wrap it */
	fclose(f);
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2: "));
	f = fopen(path, "w");
	fputs("1\t100\nx\n", f);
	fclose(f);
	assert_int_equal(frame_map_load(path, &m, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2: "));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_clock_keeps_the_first_report_of_each_new_frame),
		cmocka_unit_test(test_frame_clock_places_skipped_frames_between_their_neighbours),
		cmocka_unit_test(test_frame_clock_forgets_the_oldest_past_its_span),
		cmocka_unit_test(test_frame_clock_round_trips_through_frames_tsv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
