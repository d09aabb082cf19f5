// SPDX-License-Identifier: MIT
// The strict value parsers: units, ranges, junk, and errors that name what was parsed.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wire/parse.h"

/* A value no parser would produce, to show that a failed parse left *out alone. */
#define UNTOUCHED_D (-12345.0)
#define UNTOUCHED_U 0xdeadbeefu

static char err[256];

/* Doubles compared as doubles: cmocka 1.1 has only a float comparison. */
#define assert_near(got, want, tol)                                          \
	do {                                                                 \
		double got_ = (got), want_ = (want);                         \
		if (!(fabs(got_ - want_) <= (tol)))                          \
			fail_msg("%.17g is not %.17g", got_, want_);         \
	} while (0)

static void expect_error_names(const char *what)
{
	assert_non_null(strstr(err, what));
	assert_int_equal(strncmp(err, what, strlen(what)), 0);
}

typedef int (*double_parser)(const char *what, const char *s, double *out, char *e, size_t elen);

static int pct(const char *what, const char *s, double *out, char *e, size_t elen)
{
	return parse_pct(what, s, out, e, elen);
}

static int ms(const char *what, const char *s, double *out, char *e, size_t elen)
{
	return parse_ms(what, s, 0, 60000, out, e, elen);
}

static int seconds(const char *what, const char *s, double *out, char *e, size_t elen)
{
	return parse_seconds(what, s, 3600, out, e, elen);
}

static int kbit(const char *what, const char *s, double *out, char *e, size_t elen)
{
	return parse_kbit(what, s, out, e, elen);
}

static int dbl(const char *what, const char *s, double *out, char *e, size_t elen)
{
	return parse_double(what, s, 0, 100, out, e, elen);
}

static void expect_double(double_parser parse, const char *s, double want)
{
	double v = UNTOUCHED_D;
	err[0] = '\0';
	if (parse("--x", s, &v, err, sizeof err) != 0)
		fail_msg("'%s' was refused: %s", s, err);
	assert_near(v, want, 1e-12 * fabs(want));
}

static void expect_refused(double_parser parse, const char *what, const char *s)
{
	double v = UNTOUCHED_D;
	err[0] = '\0';
	if (parse(what, s, &v, err, sizeof err) != -1)
		fail_msg("'%s' was accepted as %g", s ? s : "(null)", v);
	assert_true(v == UNTOUCHED_D);
	expect_error_names(what);
}

/* Junk every number parser must refuse, whatever its units. */
static const char *const junk[] = {
	"",	 " ",	  "abc",    "5abc", "5 ",  " 5",     "nan",	  "NaN",   "-nan", "inf",
	"-inf",	 "infinity", "0x10", "0x1p3", "1e",  "1e400",  "--5",	  "5..0",  ".",	   "+",
	"five", "5,5",	  "1/2",
};

static void expect_junk_refused(double_parser parse, const char *what)
{
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		expect_refused(parse, what, junk[i]);
	expect_refused(parse, what, NULL);
}

static void test_parse_double_accepts_plain_decimals_in_range(void **state)
{
	(void)state;
	expect_double(dbl, "0", 0);
	expect_double(dbl, "100", 100);
	expect_double(dbl, "2.5", 2.5);
	expect_double(dbl, ".5", 0.5);
	expect_double(dbl, "1e1", 10);
	expect_double(dbl, "+3", 3);
}

static void test_parse_double_refuses_junk_units_and_out_of_range(void **state)
{
	(void)state;
	expect_junk_refused(dbl, "--traffic");
	expect_refused(dbl, "--traffic", "5ms");
	expect_refused(dbl, "--traffic", "-1");
	expect_refused(dbl, "--traffic", "100.001");
	assert_non_null(strstr(err, "out of range"));
}

static void test_parse_pct_accepts_plain_and_percent_sign(void **state)
{
	(void)state;
	expect_double(pct, "5", 5);
	expect_double(pct, "5%", 5);
	expect_double(pct, "0.2", 0.2);
	expect_double(pct, "100%", 100);
	expect_double(pct, "0", 0);
}

static void test_parse_pct_refuses_junk_negative_and_above_100(void **state)
{
	(void)state;
	expect_junk_refused(pct, "--loss");
	expect_refused(pct, "--loss", "-1");
	expect_refused(pct, "--loss", "-0.001%");
	expect_refused(pct, "--loss", "100.5");
	expect_refused(pct, "--loss", "120%");
	expect_refused(pct, "--loss", "5%%");
	expect_refused(pct, "--loss", "5 %");
	expect_refused(pct, "--loss", "5pct");
}

static void test_parse_pct_reads_minus_zero_as_zero(void **state)
{
	(void)state;
	double v = UNTOUCHED_D;
	assert_int_equal(parse_pct("--loss", "-0", &v, err, sizeof err), 0);
	assert_true(v == 0 && !signbit(v));
}

static void test_parse_ms_accepts_ms_seconds_and_us(void **state)
{
	(void)state;
	expect_double(ms, "30", 30);
	expect_double(ms, "30ms", 30);
	expect_double(ms, "0.5", 0.5);
	expect_double(ms, "500ms", 500);
	expect_double(ms, "2s", 2000);
	expect_double(ms, "500us", 0.5);
	expect_double(ms, "60s", 60000);
}

static void test_parse_ms_refuses_junk_unknown_units_and_out_of_range(void **state)
{
	(void)state;
	expect_junk_refused(ms, "--latency");
	expect_refused(ms, "--latency", "30m");
	expect_refused(ms, "--latency", "30 ms");
	expect_refused(ms, "--latency", "30MS!");
	expect_refused(ms, "--latency", "-1");
	expect_refused(ms, "--latency", "70000");
	expect_refused(ms, "--latency", "61s");
	assert_non_null(strstr(err, "60000"));
}

static void test_parse_ms_honours_a_nonzero_minimum(void **state)
{
	(void)state;
	double v = UNTOUCHED_D;
	assert_int_equal(parse_ms("--tick", "0.5", 1, 10, &v, err, sizeof err), -1);
	assert_true(v == UNTOUCHED_D);
	expect_error_names("--tick");
	assert_int_equal(parse_ms("--tick", "1", 1, 10, &v, err, sizeof err), 0);
	assert_near(v, 1, 0);
}

static void test_parse_seconds_accepts_s_ms_m_and_h(void **state)
{
	(void)state;
	expect_double(seconds, "30", 30);
	expect_double(seconds, "2s", 2);
	expect_double(seconds, "500ms", 0.5);
	expect_double(seconds, "2m", 120);
	expect_double(seconds, "2min", 120);
	expect_double(seconds, "1h", 3600);
	expect_double(seconds, "0.3", 0.3);
	expect_double(seconds, "0", 0);
}

static void test_parse_seconds_refuses_junk_negative_and_above_max(void **state)
{
	(void)state;
	expect_junk_refused(seconds, "--duration");
	expect_refused(seconds, "--duration", "-1");
	expect_refused(seconds, "--duration", "-2m");
	expect_refused(seconds, "--duration", "2d");
	expect_refused(seconds, "--duration", "2us");
	expect_refused(seconds, "--duration", "61m");
	expect_refused(seconds, "--duration", "1e300h");
}

static void test_parse_kbit_accepts_kbit_mbit_and_gbit(void **state)
{
	(void)state;
	expect_double(kbit, "512", 512);
	expect_double(kbit, "512kbit", 512);
	expect_double(kbit, "30mbit", 30000);
	expect_double(kbit, "30Mbit", 30000);
	expect_double(kbit, "1gbit", 1e6);
	expect_double(kbit, "0", 0);
	expect_double(kbit, "100gbit", 100e6);
}

static void test_parse_kbit_refuses_junk_and_rates_below_1_or_above_100gbit(void **state)
{
	(void)state;
	expect_junk_refused(kbit, "--rate");
	expect_refused(kbit, "--rate", "0.5");
	expect_refused(kbit, "--rate", "-5");
	expect_refused(kbit, "--rate", "101gbit");
	expect_refused(kbit, "--rate", "5kbps");
	expect_refused(kbit, "--rate", "5mb");
}

static void test_parse_u64_accepts_whole_numbers_to_the_top_of_the_range(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(parse_u64("--seed", "0", 0, UINT64_MAX, &v, err, sizeof err), 0);
	assert_true(v == 0);
	assert_int_equal(parse_u64("--seed", "18446744073709551615", 0, UINT64_MAX, &v, err, sizeof err), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_u64("--seed", "007", 0, UINT64_MAX, &v, err, sizeof err), 0);
	assert_true(v == 7);
}

static void test_parse_u64_refuses_signs_fractions_junk_overflow_and_out_of_range(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " 1", "1 ", "-1", "+1", "1.0", "1e3", "0x10", "abc", "12abc", "nan", "inf",
		"18446744073709551616", "99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = UNTOUCHED_U;
		if (parse_u64("--seed", bad[i], 0, UINT64_MAX, &v, err, sizeof err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(v == UNTOUCHED_U);
		expect_error_names("--seed");
	}
	uint64_t v = UNTOUCHED_U;
	assert_int_equal(parse_u64("--frames", NULL, 0, 10, &v, err, sizeof err), -1);
	expect_error_names("--frames");
	assert_int_equal(parse_u64("--frames", "11", 0, 10, &v, err, sizeof err), -1);
	expect_error_names("--frames");
	assert_int_equal(parse_u64("--frames", "4", 5, 10, &v, err, sizeof err), -1);
	assert_true(v == UNTOUCHED_U);
}

static void test_parse_u32_checks_its_range(void **state)
{
	(void)state;
	uint32_t v = UNTOUCHED_U;
	assert_int_equal(parse_u32("--peers", "510", 1, 510, &v, err, sizeof err), 0);
	assert_int_equal(v, 510);
	v = UNTOUCHED_U;
	assert_int_equal(parse_u32("--peers", "0", 1, 510, &v, err, sizeof err), -1);
	expect_error_names("--peers");
	assert_int_equal(parse_u32("--peers", "100000", 1, 510, &v, err, sizeof err), -1);
	expect_error_names("--peers");
	assert_int_equal(parse_u32("--peers", "4294967296", 0, UINT32_MAX, &v, err, sizeof err), -1);
	assert_int_equal(parse_u32("--peers", "two", 1, 510, &v, err, sizeof err), -1);
	expect_error_names("--peers");
	assert_int_equal(v, UNTOUCHED_U);
}

static void test_parse_bool_accepts_the_usual_words_in_any_case(void **state)
{
	(void)state;
	static const char *const yes[] = { "1", "true", "yes", "on", "TRUE", "Yes" };
	static const char *const no[] = { "0", "false", "no", "off", "OFF" };
	int v;
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		v = -1;
		assert_int_equal(parse_bool("blocked", yes[i], &v, err, sizeof err), 0);
		assert_int_equal(v, 1);
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		v = -1;
		assert_int_equal(parse_bool("blocked", no[i], &v, err, sizeof err), 0);
		assert_int_equal(v, 0);
	}
}

static void test_parse_bool_refuses_anything_else(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "2", "y", "n", "truee", " true", "true ", "enabled" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int v = -1;
		if (parse_bool("--blocked", bad[i], &v, err, sizeof err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(v, -1);
		expect_error_names("--blocked");
	}
	int v = -1;
	assert_int_equal(parse_bool("--blocked", NULL, &v, err, sizeof err), -1);
	expect_error_names("--blocked");
}

static void test_parse_link_spec_reads_every_link_one_way_and_both_ways(void **state)
{
	(void)state;
	int from = 7, to = 7, both = 7;
	assert_int_equal(parse_link_spec("--link", "*", 4, &from, &to, &both, err, sizeof err), 0);
	assert_int_equal(from, -1);
	assert_int_equal(to, -1);
	assert_int_equal(both, 1);

	assert_int_equal(parse_link_spec("--link", "0->1", 4, &from, &to, &both, err, sizeof err), 0);
	assert_int_equal(from, 0);
	assert_int_equal(to, 1);
	assert_int_equal(both, 0);

	assert_int_equal(parse_link_spec("--link", "1<->3", 4, &from, &to, &both, err, sizeof err), 0);
	assert_int_equal(from, 1);
	assert_int_equal(to, 3);
	assert_int_equal(both, 1);

	/* Scenario section names may space the arrow out. */
	assert_int_equal(parse_link_spec("[link]", " 3 -> 2 ", 4, &from, &to, &both, err, sizeof err), 0);
	assert_int_equal(from, 3);
	assert_int_equal(to, 2);
	assert_int_equal(both, 0);
}

static void test_parse_link_spec_refuses_self_links_unknown_peers_and_junk(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"0->0", "2<->2", "5->1", "1->4", "a->b", "0->", "->1", "0-1", "0<-1", "0=>1", "0->1->2", "0->1x",
		"**",	"* 1",	 "",	 "-1->0", "0 1", "0->1 junk", "99999999999999999999->1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int from = 7, to = 7, both = 7;
		if (parse_link_spec("--link", bad[i], 4, &from, &to, &both, err, sizeof err) != -1)
			fail_msg("'%s' was accepted as %d->%d", bad[i], from, to);
		assert_int_equal(from, 7);
		assert_int_equal(to, 7);
		assert_int_equal(both, 7);
		expect_error_names("--link");
	}
	int from = 7, to = 7, both = 7;
	assert_int_equal(parse_link_spec("--link", NULL, 4, &from, &to, &both, err, sizeof err), -1);
	expect_error_names("--link");
	/* The message gives the range of peers. */
	assert_int_equal(parse_link_spec("--link", "5->1", 4, &from, &to, &both, err, sizeof err), -1);
	assert_non_null(strstr(err, "0 to 3"));
}

static void test_parse_peer_set_flags_the_peers_named_or_all_for_no_value(void **state)
{
	(void)state;
	uint8_t f[4] = { 0, 0, 0, 0 };
	assert_int_equal(parse_peer_set("--multi-socket", "0, 2", 4, f, err, sizeof err), 0);
	assert_memory_equal(f, ((uint8_t[]){ 1, 0, 1, 0 }), 4);
	assert_int_equal(parse_peer_set("--multi-socket", "3,3", 4, f, err, sizeof err), 0);
	assert_memory_equal(f, ((uint8_t[]){ 1, 0, 1, 1 }), 4);
	uint8_t all[4] = { 0 };
	assert_int_equal(parse_peer_set("--multi-socket", NULL, 4, all, err, sizeof err), 0);
	assert_memory_equal(all, ((uint8_t[]){ 1, 1, 1, 1 }), 4);
}

static void test_parse_peer_set_refuses_unknown_peers_and_junk_touching_nothing(void **state)
{
	(void)state;
	const char *bad[] = { "", "4", "0,", ",1", "0;1", "x", "1 2", "-1", "99999999999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t f[4] = { 0, 0, 0, 0 };
		err[0] = '\0';
		if (parse_peer_set("--multi-socket", bad[i], 4, f, err, sizeof err) != -1)
			fail_msg("'%s' was taken", bad[i]);
		assert_memory_equal(f, ((uint8_t[]){ 0, 0, 0, 0 }), 4);
		if (strncmp(err, "--multi-socket: '", 17) != 0)
			fail_msg("'%s': the message does not lead with the flag: %s", bad[i], err);
	}
}

static void test_parse_groups_numbers_each_peer_by_its_group(void **state)
{
	(void)state;
	uint32_t g[4] = { 9, 9, 9, 9 };
	assert_int_equal(parse_groups("partition", "0 1 | 2 3", 4, g, err, sizeof err), 0);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0);
	assert_int_equal(g[2], 1);
	assert_int_equal(g[3], 1);

	assert_int_equal(parse_groups("partition", "3|0 2|1", 4, g, err, sizeof err), 0);
	assert_int_equal(g[3], 0);
	assert_int_equal(g[0], 1);
	assert_int_equal(g[2], 1);
	assert_int_equal(g[1], 2);

	assert_int_equal(parse_groups("partition", "  2 0 3 1  ", 4, g, err, sizeof err), 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(g[k], 0);
}

static void expect_groups_refused(const char *s, const char *reason)
{
	uint32_t g[4] = { 9, 9, 9, 9 };
	err[0] = '\0';
	if (parse_groups("--partition", s, 4, g, err, sizeof err) != -1)
		fail_msg("'%s' was accepted", s ? s : "(null)");
	for (int k = 0; k < 4; k++)
		assert_int_equal(g[k], 9);
	expect_error_names("--partition");
	if (!strstr(err, reason))
		fail_msg("'%s': expected \"%s\" in \"%s\"", s ? s : "(null)", reason, err);
}

static void test_parse_groups_refuses_duplicates_missing_peers_and_empty_groups(void **state)
{
	(void)state;
	expect_groups_refused("0 1 | 1 2 3", "peer 1 appears twice");
	expect_groups_refused("0 0 1 | 2 3", "peer 0 appears twice");
	expect_groups_refused("0 1 | 2", "peer 3 is in no group");
	expect_groups_refused("0 1 | | 2 3", "empty group");
	expect_groups_refused("| 0 1 2 3", "empty group");
	expect_groups_refused("0 1 2 3 |", "empty group");
	expect_groups_refused("", "empty group");
	expect_groups_refused(NULL, "empty group");
	expect_groups_refused("0 1 | 2 4", "0 to 3");
	expect_groups_refused("0 1 | 2 x3", "0 to 3");
	expect_groups_refused("0,1 | 2,3", "0 to 3");
	expect_groups_refused("0 1 | 2 -3", "0 to 3");
}

static void test_parse_peer_at_reads_peer_and_frame(void **state)
{
	(void)state;
	uint32_t peer = UNTOUCHED_U;
	uint64_t frame = UNTOUCHED_U;
	assert_int_equal(parse_peer_at("--inject-desync", "2@300", 4, &peer, &frame, err, sizeof err), 0);
	assert_int_equal(peer, 2);
	assert_true(frame == 300);
	assert_int_equal(parse_peer_at("--inject-desync", "0@0", 4, &peer, &frame, err, sizeof err), 0);
	assert_int_equal(peer, 0);
	assert_true(frame == 0);
	assert_int_equal(
		parse_peer_at("--inject-desync", "3@18446744073709551615", 4, &peer, &frame, err, sizeof err), 0);
	assert_true(frame == UINT64_MAX);
}

static void test_parse_peer_at_refuses_unknown_peers_and_bad_frames(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"4@300", "2", "2@", "@300", "2@300x", "2@-1", "2 @300", "2@ 300", "x@1", "2@3@4", "",
		"2@18446744073709551616", "-1@5", "2@1.5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t peer = UNTOUCHED_U;
		uint64_t frame = UNTOUCHED_U;
		if (parse_peer_at("--inject-desync", bad[i], 4, &peer, &frame, err, sizeof err) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_int_equal(peer, UNTOUCHED_U);
		assert_true(frame == UNTOUCHED_U);
		expect_error_names("--inject-desync");
	}
}

static void test_parse_error_is_truncated_safely_to_a_small_buffer(void **state)
{
	(void)state;
	char small[8];
	memset(small, 'x', sizeof small);
	double v;
	assert_int_equal(parse_pct("--loss", "a-very-long-bad-value", &v, small, sizeof small), -1);
	assert_int_equal(small[sizeof small - 1], '\0');
	assert_string_equal(small, "--loss:");
}

static void test_parse_link_arg_splits_selector_and_settings(void **state)
{
	(void)state;
	struct parse_link_arg l;
	assert_int_equal(parse_link_arg("1<->2:latency=150,loss=3", 4, &l, err, sizeof err), 0);
	assert_string_equal(l.spec, "1<->2");
	assert_int_equal(l.from, 1);
	assert_int_equal(l.to, 2);
	assert_true(l.both);
	assert_string_equal(l.settings, "latency=150,loss=3");
	assert_int_equal(parse_link_arg("*:loss=1", 4, &l, err, sizeof err), 0);
	assert_int_equal(l.from, -1);

	assert_int_equal(parse_link_arg("0->1", 4, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "needs SPEC:KEY=VALUE"));
	char longspec[100];
	memset(longspec, '1', 80);
	strcpy(longspec + 80, ":loss=1");
	assert_int_equal(parse_link_arg(longspec, 4, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "too long for a link"));
	assert_int_equal(parse_link_arg("0->9:loss=1", 4, &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "--link"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_double_accepts_plain_decimals_in_range),
		cmocka_unit_test(test_parse_double_refuses_junk_units_and_out_of_range),
		cmocka_unit_test(test_parse_pct_accepts_plain_and_percent_sign),
		cmocka_unit_test(test_parse_pct_refuses_junk_negative_and_above_100),
		cmocka_unit_test(test_parse_pct_reads_minus_zero_as_zero),
		cmocka_unit_test(test_parse_ms_accepts_ms_seconds_and_us),
		cmocka_unit_test(test_parse_ms_refuses_junk_unknown_units_and_out_of_range),
		cmocka_unit_test(test_parse_ms_honours_a_nonzero_minimum),
		cmocka_unit_test(test_parse_seconds_accepts_s_ms_m_and_h),
		cmocka_unit_test(test_parse_seconds_refuses_junk_negative_and_above_max),
		cmocka_unit_test(test_parse_kbit_accepts_kbit_mbit_and_gbit),
		cmocka_unit_test(test_parse_kbit_refuses_junk_and_rates_below_1_or_above_100gbit),
		cmocka_unit_test(test_parse_u64_accepts_whole_numbers_to_the_top_of_the_range),
		cmocka_unit_test(test_parse_u64_refuses_signs_fractions_junk_overflow_and_out_of_range),
		cmocka_unit_test(test_parse_u32_checks_its_range),
		cmocka_unit_test(test_parse_bool_accepts_the_usual_words_in_any_case),
		cmocka_unit_test(test_parse_bool_refuses_anything_else),
		cmocka_unit_test(test_parse_link_spec_reads_every_link_one_way_and_both_ways),
		cmocka_unit_test(test_parse_link_spec_refuses_self_links_unknown_peers_and_junk),
		cmocka_unit_test(test_parse_link_arg_splits_selector_and_settings),
		cmocka_unit_test(test_parse_peer_set_flags_the_peers_named_or_all_for_no_value),
		cmocka_unit_test(test_parse_peer_set_refuses_unknown_peers_and_junk_touching_nothing),
		cmocka_unit_test(test_parse_groups_numbers_each_peer_by_its_group),
		cmocka_unit_test(test_parse_groups_refuses_duplicates_missing_peers_and_empty_groups),
		cmocka_unit_test(test_parse_peer_at_reads_peer_and_frame),
		cmocka_unit_test(test_parse_peer_at_refuses_unknown_peers_and_bad_frames),
		cmocka_unit_test(test_parse_error_is_truncated_safely_to_a_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
