// SPDX-License-Identifier: MIT
// The verdict: which finding decides, the end-of-run rules, exit codes, and the FRAME plausibility rule.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>

#include "harness/oracle.h"
#include "harness/verdict.h"

/* Three live peers that each reported and had frames compared, up to frame 600 of a 10 s run. */
static void healthy(struct verdict_peer p[3], struct verdict_run *run)
{
	for (int k = 0; k < 3; k++)
		p[k] = (struct verdict_peer){ .live = true, .reported = true, .confirmed = 600, .compared = 590 };
	*run = (struct verdict_run){ .agreed = 598, .played_s = 10 };
}

static void test_verdict_clean_run_is_exit_0(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	verdict_init(&v);
	healthy(p, &run);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_CLEAN);
	assert_int_equal(verdict_exit_code(&v), 0);
	assert_string_equal(verdict_name(v.kind), "clean");
}

static void test_verdict_nothing_compared_is_unchecked(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	for (int k = 0; k < 3; k++)
		p[k] = (struct verdict_peer){ .live = true, .confirmed = -1 };
	run.agreed = -1;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_UNCHECKED);
	assert_int_equal(verdict_exit_code(&v), VERDICT_EXIT_UNCHECKED);
	assert_non_null(strstr(v.reason, "nothing was compared"));
	/* It tells the user what to do. */
	assert_non_null(strstr(v.reason, "peer.h"));
	assert_non_null(strstr(v.reason, "--network-only"));
}

static void test_verdict_network_only_run_is_exit_0_by_request(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	for (int k = 0; k < 3; k++)
		p[k] = (struct verdict_peer){ .live = true, .confirmed = -1 };
	run.network_only = true;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_NETWORK_ONLY);
	assert_int_equal(verdict_exit_code(&v), 0);
	/* A failure is still a failure. */
	verdict_init(&v);
	verdict_note(&v, VERDICT_FAILED, "peer 1 crashed");
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(verdict_exit_code(&v), VERDICT_EXIT_FAILED);
}

static void test_verdict_one_silent_peer_is_unchecked_and_named(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	p[2] = (struct verdict_peer){ .live = true, .confirmed = -1 };
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_UNCHECKED);
	assert_non_null(strstr(v.reason, "1 of 3 live peers (peer 2 first) reported no frame"));
}

static void test_verdict_reported_but_never_compared_is_unchecked(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	p[1].compared = 0;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_UNCHECKED);
	assert_non_null(strstr(v.reason, "(peer 1 first) reported frames, but none was compared"));
}

static void test_verdict_comparisons_that_stop_short_are_unchecked(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	/* Peer 1 stopped reporting at frame 20 of 600: the oracle compared nothing after it. */
	p[1].confirmed = 20;
	run.agreed = 20;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_UNCHECKED);
	assert_non_null(strstr(v.reason, "frames 21 to 600 of peer 0 were never compared"));
	assert_non_null(strstr(v.reason, "waited on peer 1"));

	/* A tail within two seconds of frames (120 at 60 frames/s) is the normal lag of confirmation. */
	healthy(p, &run);
	p[1].confirmed = 490;
	run.agreed = 490;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_CLEAN);
}

static void test_verdict_no_live_peer_is_unchecked(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	for (int k = 0; k < 3; k++)
		p[k].live = false;
	verdict_init(&v);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(v.kind, VERDICT_UNCHECKED);
}

static void test_verdict_most_severe_finding_decides_and_the_next_is_kept(void **state)
{
	(void)state;
	struct verdict v;
	verdict_init(&v);
	verdict_note(&v, VERDICT_SPLIT, "split into {0,1} and {2,3}");
	verdict_note(&v, VERDICT_FAILED, "peer 3 crashed");
	verdict_note(&v, VERDICT_FAILED, "peer 2 crashed");
	assert_int_equal(v.kind, VERDICT_FAILED);
	assert_string_equal(v.reason, "peer 3 crashed"); /* the first of equals */
	assert_string_equal(v.also, "split into {0,1} and {2,3}");
	verdict_note(&v, VERDICT_DESYNC, "desync at frame 40");
	assert_int_equal(verdict_exit_code(&v), VERDICT_EXIT_DESYNC);
	assert_string_equal(v.also, "peer 3 crashed");

	/* A desync keeps exit 1 when an output then fails, and says both. */
	verdict_init(&v);
	verdict_note(&v, VERDICT_DESYNC, "desync at frame 40");
	verdict_note(&v, VERDICT_FAILED, "--pcap /dev/full: No space left on device");
	assert_int_equal(verdict_exit_code(&v), 1);
	assert_string_equal(v.also, "--pcap /dev/full: No space left on device");
}

static void test_verdict_interrupted_follows_the_shell_convention(void **state)
{
	(void)state;
	struct verdict v;
	verdict_init(&v);
	verdict_interrupted(&v, SIGINT, 3.25);
	assert_int_equal(v.kind, VERDICT_INTERRUPTED);
	assert_int_equal(verdict_exit_code(&v), 130);
	assert_non_null(strstr(v.reason, "SIGINT after 3.2"));
	verdict_init(&v);
	verdict_interrupted(&v, SIGTERM, 1);
	assert_int_equal(verdict_exit_code(&v), 143);
	/* It outranks a split and an unchecked run, but not a failure found before it. */
	verdict_init(&v);
	verdict_note(&v, VERDICT_FAILED, "peer 0 hung");
	verdict_interrupted(&v, SIGTERM, 1);
	assert_int_equal(verdict_exit_code(&v), 3);
	/* The end rules leave an interrupted run alone. */
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	p[0].reported = false;
	verdict_init(&v);
	verdict_interrupted(&v, SIGINT, 1);
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(verdict_exit_code(&v), 130);
}

static void test_verdict_split_has_its_own_exit_code(void **state)
{
	(void)state;
	struct verdict v;
	struct verdict_peer p[3];
	struct verdict_run run;
	healthy(p, &run);
	verdict_init(&v);
	verdict_note(&v, VERDICT_SPLIT, "the session split");
	verdict_finish(&v, p, 3, &run);
	assert_int_equal(verdict_exit_code(&v), VERDICT_EXIT_SPLIT);
	assert_string_equal(verdict_name(v.kind), "split");
}

static void test_verdict_frame_check_refuses_implausible_reports(void **state)
{
	(void)state;
	char why[200];
	/* Plausible: a first report, a heartbeat repeating the last, a step forward. */
	assert_int_equal(verdict_frame_check(-1, 0, 0, ORACLE_WINDOW, -1, 1024, why, sizeof why), 0);
	assert_int_equal(verdict_frame_check(50, 50, 40, ORACLE_WINDOW, 55, 1024, why, sizeof why), 0);
	assert_int_equal(verdict_frame_check(50, 51, 40, ORACLE_WINDOW, 55, 1024, why, sizeof why), 0);
	/* Backwards. */
	assert_int_equal(verdict_frame_check(39, 10, 5, ORACLE_WINDOW, 40, 1024, why, sizeof why), -1);
	assert_non_null(strstr(why, "went backwards, from 39 to 10"));
	/* Beyond the oracle's window, even with nobody else reporting yet. */
	assert_int_equal(verdict_frame_check(19, 1000000, 18, ORACLE_WINDOW, -1, 1024, why, sizeof why), -1);
	assert_non_null(strstr(why, "beyond the oracle's window"));
	assert_int_equal(verdict_frame_check(19, 0xFFFFFFFEu, 18, ORACLE_WINDOW, 20, 1024, why, sizeof why), -1);
	/* Far ahead of every other peer, inside the window. */
	assert_int_equal(verdict_frame_check(100, 2000, 90, ORACLE_WINDOW, 110, 1024, why, sizeof why), -1);
	assert_non_null(strstr(why, "ahead of every other peer"));
	assert_int_equal(verdict_frame_check(100, 1100, 90, ORACLE_WINDOW, 110, 1024, why, sizeof why), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdict_clean_run_is_exit_0),
		cmocka_unit_test(test_verdict_nothing_compared_is_unchecked),
		cmocka_unit_test(test_verdict_network_only_run_is_exit_0_by_request),
		cmocka_unit_test(test_verdict_one_silent_peer_is_unchecked_and_named),
		cmocka_unit_test(test_verdict_reported_but_never_compared_is_unchecked),
		cmocka_unit_test(test_verdict_comparisons_that_stop_short_are_unchecked),
		cmocka_unit_test(test_verdict_no_live_peer_is_unchecked),
		cmocka_unit_test(test_verdict_most_severe_finding_decides_and_the_next_is_kept),
		cmocka_unit_test(test_verdict_interrupted_follows_the_shell_convention),
		cmocka_unit_test(test_verdict_split_has_its_own_exit_code),
		cmocka_unit_test(test_verdict_frame_check_refuses_implausible_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
