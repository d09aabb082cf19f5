// SPDX-License-Identifier: MIT
// Scenario files: every value loads, presets are the base, links resolve, errors name file:line and key, round trip.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/scenario.h"
#include "wire/preset.h"

/* Temporary files of the running test, removed by teardown. */
#define MAX_TEMPS 32
static char temps[MAX_TEMPS][64];
static int ntemps;
static char err[1024];

static int teardown(void **state)
{
	(void)state;
	for (int k = 0; k < ntemps; k++)
		unlink(temps[k]);
	ntemps = 0;
	return 0;
}

/* Creates an empty temporary file and returns its path (owned by the fixture) and an open stream on it. */
static const char *temp_file(FILE **f)
{
	assert_true(ntemps < MAX_TEMPS);
	char *path = temps[ntemps];
	snprintf(path, sizeof temps[0], "/tmp/loopsim-scn-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	ntemps++;
	*f = fdopen(fd, "w+");
	assert_non_null(*f);
	return path;
}

static const char *write_temp(const char *text)
{
	FILE *f;
	const char *path = temp_file(&f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Loads text over the default scenario. Returns scn_load's result; *path gets the file's name. */
static int load_text(struct scenario *s, const char *text, const char **path)
{
	const char *p = write_temp(text);
	if (path)
		*path = p;
	scn_default(s);
	err[0] = '\0';
	return scn_load(s, p, err, sizeof err);
}

/* Asserts that err starts with "<path>:<line>: <key>:" (or "<path>:<line>: " when key is NULL) and holds `also`. */
static void assert_error_at(const char *path, int line, const char *key, const char *also)
{
	char want[256];
	if (key)
		snprintf(want, sizeof want, "%s:%d: %s:", path, line, key);
	else
		snprintf(want, sizeof want, "%s:%d: ", path, line);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, want);
	if (also && !strstr(err, also))
		fail_msg("error '%s' does not mention '%s'", err, also);
}

/* Loading text fails, and the error names the line and the key. */
static void expect_load_error(const char *text, int line, const char *key, const char *also)
{
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	const char *path;
	int rc = load_text(s, text, &path);
	free(s);
	if (rc != -1)
		fail_msg("loaded, but expected an error at line %d (%s)", line, key ? key : "syntax");
	assert_error_at(path, line, key, also);
}

/* Loading text works, and scn_check fails naming the line and the key. */
static void expect_check_error(const char *text, int line, const char *key, const char *also)
{
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	const char *path;
	if (load_text(s, text, &path) != 0)
		fail_msg("load failed: %s", err);
	int rc = scn_check(s, err, sizeof err);
	free(s);
	if (rc != -1)
		fail_msg("scn_check passed, but expected an error at line %d", line);
	assert_error_at(path, line, key, also);
}

static struct scenario *load_ok(const char *text)
{
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	if (load_text(s, text, NULL) != 0)
		fail_msg("load failed: %s", err);
	if (scn_check(s, err, sizeof err) != 0)
		fail_msg("scn_check failed: %s", err);
	return s;
}

static void resolve(const struct scenario *s, uint32_t from, uint32_t to, struct wire_link_cfg *c)
{
	if (scn_link_cfg(s, from, to, c, err, sizeof err) != 0)
		fail_msg("link %u->%u: %s", from, to, err);
}

/* Compares every field by name, so that a mismatch says which one. ge's parameters count only when ge is on. */
static void assert_cfg_equal(const struct wire_link_cfg *got, const struct wire_link_cfg *want, const char *ctx)
{
#define SAME(f)                                                                                            \
	do {                                                                                               \
		if (!(got->f == want->f))                                                                  \
			fail_msg("%s: " #f " is %.17g, expected %.17g", ctx, (double)got->f, (double)want->f); \
	} while (0)
	SAME(latency_ms);
	SAME(jitter_ms);
	SAME(jitter_dist);
	SAME(jitter_corr_pct);
	SAME(jitter_reorders);
	SAME(loss_pct);
	SAME(burst);
	SAME(ge);
	if (want->ge) {
		SAME(ge_p_pct);
		SAME(ge_r_pct);
		SAME(ge_bad_loss_pct);
		SAME(ge_good_loss_pct);
	}
	SAME(dup_pct);
	SAME(dup_delay_ms);
	SAME(reorder_pct);
	SAME(reorder_gap);
	SAME(corrupt_pct);
	SAME(rate_kbit);
	SAME(queue_limit);
	SAME(mtu);
	SAME(blocked);
#undef SAME
}

static void assert_setting(const struct scn_setting *set, int from, int to, bool both, const char *key,
			   const char *value)
{
	assert_int_equal(set->from, from);
	assert_int_equal(set->to, to);
	assert_int_equal(set->both, both);
	assert_string_equal(set->key, key);
	assert_string_equal(set->value, value);
}

/* DESIGN.md's example, as printed there. */
static const char design_example[] = "[session]\n"
				     "peers = 4\n"
				     "netcode = rollback\n"
				     "duration = 60\n"
				     "seed = 7\n"
				     "preset = broadband\n"
				     "\n"
				     "[link *]            ; default for every link, both directions\n"
				     "latency = 40        ; ms\n"
				     "jitter = 10         ; ms\n"
				     "loss = 1            ; percent\n"
				     "\n"
				     "[link 1->3]         ; one direction only; \"1<->3\" sets both\n"
				     "loss = 20\n"
				     "burst = 4           ; Gilbert-Elliott mean burst length, in packets\n"
				     "\n"
				     "[at 10]             ; timeline: seconds from start\n"
				     "partition = 0 1 | 2 3\n"
				     "[at 20]\n"
				     "heal = all\n";

static void test_scenario_default_is_four_peers_rollback_broadband(void **state)
{
	(void)state;
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	scn_default(s);
	assert_int_equal(s->peers, 4);
	assert_int_equal(s->netcode, SCN_ROLLBACK);
	assert_true(s->duration_s == 30);
	assert_int_equal(s->input_delay, 2);
	assert_true(s->disconnect_s == 8);
	assert_false(s->have_seed);
	assert_string_equal(s->preset, "broadband");
	assert_string_equal(s->path, "");
	assert_string_equal(s->peer_cmd, "");
	assert_int_equal(s->noverrides, 0);
	assert_int_equal(s->nevents, 0);
	struct wire_link_cfg want;
	wire_link_cfg_default(&want);
	wire_preset_apply(wire_preset_find("broadband"), &want);
	assert_cfg_equal(&s->link, &want, "default");
	assert_int_equal(scn_check(s, err, sizeof err), 0);
	free(s);
}

static void test_scenario_design_example_loads_every_value(void **state)
{
	(void)state;
	struct scenario *s = load_ok(design_example);
	assert_int_equal(s->peers, 4);
	assert_int_equal(s->netcode, SCN_ROLLBACK);
	assert_true(s->duration_s == 60);
	assert_true(s->have_seed);
	assert_int_equal(s->seed, 7);
	assert_int_equal(s->input_delay, 2); /* not in the file: the default's */
	assert_string_equal(s->preset, "broadband");
	assert_string_equal(s->path, temps[0]);

	struct wire_link_cfg want;
	wire_link_cfg_default(&want);
	want.latency_ms = 40;
	want.jitter_ms = 10;
	want.loss_pct = 1;
	assert_cfg_equal(&s->link, &want, "[link *]");

	assert_int_equal(s->noverrides, 2);
	assert_setting(&s->overrides[0], 1, 3, false, "loss", "20");
	assert_int_equal(s->overrides[0].line, 14);
	assert_setting(&s->overrides[1], 1, 3, false, "burst", "4");
	assert_int_equal(s->overrides[1].line, 15);

	assert_int_equal(s->nevents, 2);
	assert_true(s->events[0].at_s == 10);
	assert_int_equal(s->events[0].kind, SCN_EV_PARTITION);
	assert_string_equal(s->events[0].groups, "0 1 | 2 3");
	assert_int_equal(s->events[0].line, 18);
	assert_true(s->events[1].at_s == 20);
	assert_int_equal(s->events[1].kind, SCN_EV_HEAL);
	assert_int_equal(s->events[1].line, 20);

	struct wire_link_cfg c;
	resolve(s, 1, 3, &c);
	want.loss_pct = 20;
	want.burst = 4;
	assert_cfg_equal(&c, &want, "1->3");
	resolve(s, 3, 1, &c);
	assert_cfg_equal(&c, &s->link, "3->1");
	free(s);
}

static void test_scenario_preset_is_the_base_whatever_the_order(void **state)
{
	(void)state;
	/* 3g: 360±30 ms, 7% loss. */
	static const char *const orders[] = {
		"[link *]\nlatency = 5\npreset = 3g\n",
		"[link *]\npreset = 3g\nlatency = 5\n",
		"[link *]\nlatency = 5\n[session]\npreset = 3g\n",
		"[session]\npreset = 3g\n[link *]\nlatency = 5\n",
	};
	for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
		struct scenario *s = load_ok(orders[k]);
		assert_string_equal(s->preset, "3g");
		assert_true(s->link.latency_ms == 5);
		assert_true(s->link.jitter_ms == 30);
		assert_true(s->link.loss_pct == 7);
		free(s);
	}
}

static void test_scenario_second_base_preset_is_refused(void **state)
{
	(void)state;
	expect_load_error("[session]\npreset = fiber\n\n[link *]\npreset = cable\n", 5, "preset", "line 2");
	expect_load_error("[link *]\nloss = 1\nloss = 2\n", 3, "loss", "line 2");
	expect_load_error("[session]\npeers = 4\n[session]\npeers = 5\n", 4, "peers", "line 2");
}

static void test_scenario_overrides_resolve_per_direction_and_both(void **state)
{
	(void)state;
	struct scenario *s = load_ok("[session]\n"
				     "peers = 4\n"
				     "preset = fiber\n"
				     "[link 0->1]\n"
				     "latency = 150\n"
				     "loss = 5\n"
				     "[link 2<->3]\n"
				     "jitter = 7\n"
				     "[link 3->2]\n"
				     "jitter = 9\n");
	struct wire_link_cfg fiber, want, c;
	wire_link_cfg_default(&fiber);
	wire_preset_apply(wire_preset_find("fiber"), &fiber);

	resolve(s, 0, 1, &c);
	want = fiber;
	want.latency_ms = 150;
	want.loss_pct = 5;
	assert_cfg_equal(&c, &want, "0->1");
	resolve(s, 1, 0, &c);
	assert_cfg_equal(&c, &fiber, "1->0 (the other direction is untouched)");
	resolve(s, 2, 3, &c);
	want = fiber;
	want.jitter_ms = 7;
	assert_cfg_equal(&c, &want, "2->3");
	resolve(s, 3, 2, &c);
	want.jitter_ms = 9; /* the later, one-way override wins */
	assert_cfg_equal(&c, &want, "3->2");
	resolve(s, 0, 2, &c);
	assert_cfg_equal(&c, &fiber, "0->2");
	assert_int_equal(scn_link_cfg(s, 0, 4, &c, err, sizeof err), -1);
	free(s);
}

static void test_scenario_preset_in_an_override_is_the_base_of_its_section(void **state)
{
	(void)state;
	struct scenario *s = load_ok("[link 0->1]\nloss = 3\npreset = 3g\n[link 0->1]\nlatency = 20\n");
	assert_int_equal(s->noverrides, 3);
	assert_string_equal(s->overrides[0].key, "preset");
	assert_int_equal(s->overrides[0].line, 3);
	assert_string_equal(s->overrides[1].key, "loss");
	struct wire_link_cfg c;
	resolve(s, 0, 1, &c);
	assert_true(c.jitter_ms == 30);
	assert_true(c.loss_pct == 3);
	assert_true(c.latency_ms == 20);
	free(s);
}

static void test_scenario_timeline_is_parsed_and_sorted(void **state)
{
	(void)state;
	struct scenario *s = load_ok("[session]\n"
				     "peers = 4\n"
				     "[at 20]\n"
				     "heal = all\n"
				     "[at 2.5]\n"
				     "kill = 1\n"
				     "restart = 1\n"
				     "[at 500ms]\n"
				     "1->3 latency = 600\n"
				     "0 <-> 2 loss = 10\n"
				     "[at 10s]\n"
				     "desync = 2\n"
				     "latency = 80\n"
				     "[at 2.5]\n"
				     "partition = 0 | 1 2 3\n"
				     "[at 2.5]\n"
				     "jitter = 3\n"
				     "preset = 4g\n");
	assert_int_equal(s->nevents, 10);
	const struct scn_event *e = s->events;
	assert_true(e[0].at_s == 0.5);
	assert_int_equal(e[0].kind, SCN_EV_SET_LINK);
	assert_setting(&e[0].set, 1, 3, false, "latency", "600");
	assert_int_equal(e[0].set.line, 9);
	assert_true(e[1].at_s == 0.5);
	assert_setting(&e[1].set, 0, 2, true, "loss", "10");
	assert_true(e[2].at_s == 2.5);
	assert_int_equal(e[2].kind, SCN_EV_KILL);
	assert_int_equal(e[2].peer, 1);
	assert_int_equal(e[3].kind, SCN_EV_RESTART);
	assert_int_equal(e[3].peer, 1);
	assert_int_equal(e[4].kind, SCN_EV_PARTITION);
	assert_string_equal(e[4].groups, "0 | 1 2 3");
	/* A preset is the base of its section: before the jitter written above it. */
	assert_int_equal(e[5].kind, SCN_EV_SET_LINK);
	assert_setting(&e[5].set, -1, -1, true, "preset", "4g");
	assert_setting(&e[6].set, -1, -1, true, "jitter", "3");
	assert_true(e[6].at_s == 2.5);
	assert_true(e[7].at_s == 10);
	assert_int_equal(e[7].kind, SCN_EV_DESYNC);
	assert_int_equal(e[7].peer, 2);
	assert_setting(&e[8].set, -1, -1, true, "latency", "80");
	assert_true(e[9].at_s == 20);
	assert_int_equal(e[9].kind, SCN_EV_HEAL);
	assert_int_equal(e[9].line, 4);

	assert_true(scn_setting_covers(&e[0].set, 1, 3));
	assert_false(scn_setting_covers(&e[0].set, 3, 1));
	assert_true(scn_setting_covers(&e[1].set, 2, 0));
	assert_true(scn_setting_covers(&e[8].set, 3, 0));
	free(s);
}

static void test_scenario_error_bad_number_names_line_and_key(void **state)
{
	(void)state;
	expect_load_error("[session]\npeers = four\n", 2, "peers", "four");
	expect_load_error("[session]\npeers = 65\n", 2, "peers", "out of range");
	expect_load_error("[session]\nduration = 0\n", 2, "duration", NULL);
	expect_load_error("[session]\nseed = -1\n", 2, "seed", NULL);
	expect_load_error("[session]\nnetcode = turbo\n", 2, "netcode", "turbo");
	expect_load_error("[session]\ndisconnect-timeout = 0.5\n", 2, "disconnect-timeout", "at least 1 second");
	expect_load_error("[session]\ndisconnect-timeout = 61\n", 2, "disconnect-timeout", NULL);
	expect_load_error("[link *]\nlatency = abc\n", 2, "latency", "'abc' is not a time in milliseconds");
}

static void test_scenario_error_unknown_key_names_line_and_key(void **state)
{
	(void)state;
	expect_load_error("[session]\n; a comment\npeers = 4\ncolour = red\n", 4, "colour", "unknown key");
	expect_load_error("[link *]\nlatency = 4\nlatncy = 5\n", 3, "latncy", "unknown");
	expect_load_error("[at 5]\nexplode = 1\n", 2, "explode", "unknown");
	expect_load_error("[at 5]\n1->2 latncy = 1\n", 2, "1->2 latncy", "unknown");
	expect_load_error("peers = 4\n[session]\n", 1, "peers", "outside any section");
}

static void test_scenario_error_unknown_section_names_its_header_line(void **state)
{
	(void)state;
	expect_load_error("[session]\npeers = 4\n\n[sesion]\nseed = 1\n", 4, "[sesion]", "unknown section");
	/* Even with no key under it. */
	expect_load_error("[session]\npeers = 4\n[bogus]\n", 3, "[bogus]", NULL);
	expect_load_error("[link 1-3]\nloss = 1\n", 1, "[link 1-3]", "is not a link");
	expect_load_error("[link 2->2]\nloss = 1\n", 1, "[link 2->2]", NULL);
	expect_load_error("\n[at soon]\n", 2, "[at soon]", NULL);
	expect_load_error("[at -1]\nheal = all\n", 1, "[at -1]", NULL);
	expect_load_error("[at]\nheal = all\n", 1, "[at]", NULL);
	expect_load_error("[session\npeers = 4\n", 1, NULL, "']'");
	expect_load_error("[at 10] partition = 0 | 1\n", 1, NULL, "section header");
}

static void test_scenario_error_loss_out_of_range(void **state)
{
	(void)state;
	expect_load_error("[link *]\nlatency = 10\nloss = 120\n", 3, "loss", "between 0 and 100");
	expect_load_error("[link 0->1]\nloss = 101\n", 2, "loss", NULL);
	expect_load_error("[at 3]\n0->1 loss = -5\n", 2, "0->1 loss", NULL);
}

static void test_scenario_error_line_without_equals(void **state)
{
	(void)state;
	expect_load_error("[session]\npeers = 4\nseed 7\nnetcode = lockstep\n", 3, NULL, "'seed 7'");
	/* A syntax error before a bad value is the one reported. */
	expect_load_error("[session]\nseed 7\npeers = x\n", 2, NULL, "'seed 7'");
	expect_load_error("[session]\n= 4\n", 2, NULL, "key is missing");
}

static void test_scenario_error_lines_count_comments_crlf_indentation_and_long_lines(void **state)
{
	(void)state;
	char text[1024];
	char comment[301];
	memset(comment, 'x', sizeof comment - 1);
	comment[sizeof comment - 1] = '\0';
	/* A 300-character comment, CRLF endings, a BOM and indented keys (not continuation lines). */
	snprintf(text, sizeof text, "\xEF\xBB\xBF; %s\r\n[session]\r\n   peers = 4\r\n\r\n# c\r\n  netcode = turbo\r\n",
		 comment);
	expect_load_error(text, 6, "netcode", "turbo");
	expect_load_error("[session]\n\tpeers = 4\n\tpeers = 5\n", 3, "peers", NULL);
}

static void test_scenario_error_timeline_values(void **state)
{
	(void)state;
	expect_load_error("[at 1]\nheal = some\n", 2, "heal", "all");
	expect_load_error("[at 1]\nkill = x\n", 2, "kill", NULL);
	expect_load_error("[at 1]\n1->1 latency = 5\n", 2, "1->1 latency", "is not a link");
	expect_load_error("[at 1]\nlatency = 70000\n", 2, "latency", NULL);
	expect_load_error("[at 1]\njitter-dist = wobbly\n", 2, "jitter-dist", NULL);
}

static void test_scenario_error_too_many_overrides_or_events_names_the_line(void **state)
{
	(void)state;
	static char text[64 * 1024];
	size_t n = 0;
	for (int k = 0; k <= SCN_MAX_OVERRIDES; k++)
		n += (size_t)snprintf(text + n, sizeof text - n, "[link %d->%d]\nloss = 1\n", k % 50, k % 50 + 1);
	/* Two lines per override: the one too many is on line 2 * 257. */
	expect_load_error(text, 2 * (SCN_MAX_OVERRIDES + 1), "loss", "overrides");

	n = 0;
	n += (size_t)snprintf(text + n, sizeof text - n, "[at 1]\n");
	for (int k = 0; k <= SCN_MAX_EVENTS; k++)
		n += (size_t)snprintf(text + n, sizeof text - n, "kill = %d\n", k % 4);
	expect_load_error(text, 1 + SCN_MAX_EVENTS + 1, "kill", "events");
}

static void test_scenario_check_names_the_line_of_a_missing_peer(void **state)
{
	(void)state;
	static const char text[] = "[session]\npeers = 4\n\n[link 1->9]\nloss = 5\n";
	expect_check_error(text, 5, "[link 1->9] loss", "no peer 9");
	expect_check_error("[session]\npeers = 4\n[at 3]\nkill = 4\n", 4, "kill", "no peer 4");
	expect_check_error("[session]\npeers = 4\n[at 3]\n\n2->7 latency = 5\n", 5, "2->7 latency", "no peer 7");

	/* The same file with more peers, as --peers 10 would make it. */
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	assert_int_equal(load_text(s, text, NULL), 0);
	s->peers = 10;
	assert_int_equal(scn_check(s, err, sizeof err), 0);

	/* An override added by a flag (line 0) is blamed on the command line, not on the file. */
	s->peers = 4;
	s->overrides[0].to = 3;
	s->overrides[s->noverrides++] = (struct scn_setting){ .from = 0, .to = 6, .key = "loss", .value = "1" };
	assert_int_equal(scn_check(s, err, sizeof err), -1);
	if (strncmp(err, "command line: [link 0->6] loss:", 31) != 0)
		fail_msg("error '%s' does not blame the command line", err);
	free(s);
}

static void test_scenario_check_refuses_bad_partition_groups(void **state)
{
	(void)state;
	expect_check_error("[at 5]\npartition = 0 1 | 1 2 3\n", 2, "partition", "appears twice");
	expect_check_error("[at 5]\n\npartition = 0 1 | 2\n", 3, "partition", "peer 3 is in no group");
	expect_check_error("[at 5]\npartition = 0 1 | | 2 3\n", 2, "partition", "empty group");
	expect_check_error("[at 5]\npartition = 0 1 | 2 3 4\n", 2, "partition", NULL);
}

static void test_scenario_check_validates_each_resolved_link(void **state)
{
	(void)state;
	const char *path;
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	/* Each value is fine alone; together a mean burst of 1 allows at most 50% loss. */
	assert_int_equal(load_text(s, "[link *]\nburst = 1\nloss = 60\n", &path), 0);
	assert_int_equal(scn_check(s, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "burst"));
	free(s);
	/* Only on one link: the override's line is named. */
	expect_check_error("[link *]\nburst = 4\n[link 2->0]\nloss = 90\n", 4, "link 2->0", "burst");
	/* Only from a time on: the event's line is named. */
	expect_check_error("[link *]\nburst = 4\n[at 7]\n\nloss = 90\n", 5, "loss", "link 0->1 from 7 s: burst");
	/* The harness applies events one at a time, so each step must be valid, not only the last. */
	expect_check_error("[link *]\nburst = 4\n[at 7]\nloss = 90\nburst = 20\n", 4, "loss", "burst");
	struct scenario *ok = load_ok("[link *]\nburst = 4\n[at 7]\nburst = 20\nloss = 90\n");
	free(ok);
}

static void test_scenario_failed_load_leaves_the_scenario_unchanged(void **state)
{
	(void)state;
	struct scenario *s = malloc(sizeof *s), *before = malloc(sizeof *before);
	assert_non_null(s);
	assert_non_null(before);
	const char *path = write_temp("[session]\npeers = 8\nseed = 3\n[link 0->1]\nloss = 4\n[at 1]\nkill = 1\n"
				      "[link *]\nloss = 500\n");
	scn_default(s);
	memcpy(before, s, sizeof *s);
	assert_int_equal(scn_load(s, path, err, sizeof err), -1);
	assert_memory_equal(s, before, sizeof *s);
	assert_int_equal(scn_load(s, "/nonexistent/loopsim.ini", err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/loopsim.ini"));
	assert_memory_equal(s, before, sizeof *s);
	free(s);
	free(before);
}

static void test_scenario_long_peer_cmd_loads(void **state)
{
	(void)state;
	enum { FIELD = sizeof ((struct scenario *)0)->peer_cmd };
	static char cmd[FIELD + 8], text[FIELD + 100];
	for (size_t k = 0; k < sizeof cmd - 1; k++)
		cmd[k] = "abc {index} "[k % 12];
	cmd[sizeof cmd - 1] = '\0';
	/* As long as the field holds: longer than inih's line buffer, and a line of a scenario still holds it. */
	cmd[FIELD - 1] = '\0';
	cmd[FIELD - 2] = 'z';
	snprintf(text, sizeof text, "[session]\npeer-cmd = %s   ; run this\npeers = 3\n", cmd);
	struct scenario *s = load_ok(text);
	assert_string_equal(s->peer_cmd, cmd);
	assert_int_equal(s->peers, 3);
	free(s);

	cmd[FIELD - 1] = 'q';
	cmd[FIELD] = '\0';
	char want[64];
	snprintf(want, sizeof want, "longer than %d", FIELD - 1);
	snprintf(text, sizeof text, "[session]\npeers = 3\npeer-cmd = %s\n", cmd);
	expect_load_error(text, 3, "peer-cmd", want);
}

static void assert_scenario_equal(const struct scenario *a, const struct scenario *b)
{
	assert_int_equal(a->peers, b->peers);
	assert_int_equal(a->netcode, b->netcode);
	assert_true(a->duration_s == b->duration_s);
	assert_int_equal(a->seed, b->seed);
	assert_true(b->have_seed);
	assert_int_equal(a->input_delay, b->input_delay);
	assert_true(a->disconnect_s == b->disconnect_s);
	assert_string_equal(a->preset, b->preset);
	assert_string_equal(a->peer_cmd, b->peer_cmd);
	assert_cfg_equal(&b->link, &a->link, "[link *]");
	assert_int_equal(a->noverrides, b->noverrides);
	for (uint32_t k = 0; k < a->noverrides; k++) {
		const struct scn_setting *x = &a->overrides[k];
		assert_setting(&b->overrides[k], x->from, x->to, x->both, x->key, x->value);
	}
	assert_int_equal(a->nevents, b->nevents);
	for (uint32_t k = 0; k < a->nevents; k++) {
		const struct scn_event *x = &a->events[k], *y = &b->events[k];
		assert_true(x->at_s == y->at_s);
		assert_int_equal(x->kind, y->kind);
		if (x->kind == SCN_EV_SET_LINK)
			assert_setting(&y->set, x->set.from, x->set.to, x->set.both, x->set.key, x->set.value);
		assert_string_equal(x->groups, y->groups);
		assert_int_equal(x->peer, y->peer);
	}
	for (uint32_t i = 0; i < a->peers; i++)
		for (uint32_t j = 0; j < a->peers; j++) {
			struct wire_link_cfg ca, cb;
			char ctx[32];
			if (i == j)
				continue;
			resolve(a, i, j, &ca);
			resolve(b, i, j, &cb);
			snprintf(ctx, sizeof ctx, "link %u->%u", i, j);
			assert_cfg_equal(&cb, &ca, ctx);
		}
}

/* Loads text, writes it resolved, loads that, and compares. */
static void round_trip(const char *text)
{
	struct scenario *a = load_ok(text), *b = malloc(sizeof *b);
	assert_non_null(b);
	FILE *f;
	const char *path = temp_file(&f);
	assert_int_equal(scn_write_resolved(a, f), 0);
	assert_int_equal(fclose(f), 0);
	scn_default(b);
	if (scn_load(b, path, err, sizeof err) != 0)
		fail_msg("the resolved scenario does not load: %s", err);
	assert_int_equal(scn_check(b, err, sizeof err), 0);
	assert_scenario_equal(a, b);
	free(a);
	free(b);
}

static void test_scenario_resolved_round_trip(void **state)
{
	(void)state;
	round_trip(design_example);
	teardown(NULL);
	round_trip("[session]\n"
		   "peers = 5\n"
		   "netcode = lockstep\n"
		   "duration = 2.7s\n"
		   "seed = 18446744073709551615\n"
		   "input-delay = 0\n"
		   "disconnect-timeout = 2.5\n"
		   "peer-cmd = ./my-peer --index {index} --peers {peers} #not-a-comment\n"
		   "[link *]\n"
		   "preset = wifi\n"
		   "latency = 1.1s\n" /* 1100.0000000000002 ms: needs all 17 digits */
		   "jitter = 2.3\n"
		   "jitter-dist = pareto\n"
		   "jitter-corr = 0.30000000000000004\n"
		   "jitter-reorders = yes\n"
		   "ge = 1.5,20,97.25,0.001\n"
		   "dup = 0.3\n"
		   "dup-delay = 2ms\n"
		   "reorder = 1\n"
		   "reorder-gap = 5\n"
		   "corrupt = 0.01\n"
		   "rate = 1.5mbit\n"
		   "queue = 77\n"
		   "mtu = 1400\n"
		   "[link 0->1]\n"
		   "latency = 150\n"
		   "loss = 5\n"
		   "[link 0->1]\n"
		   "latency = 151\n"
		   "preset = 3g\n"
		   "[link 3<->4]\n"
		   "blocked = true\n"
		   "[at 0.1]\n"
		   "0->1 loss = 9\n"
		   "[at 0.1]\n"
		   "jitter = 2\n"
		   "preset = cable\n"
		   "[at 1.25]\n"
		   "partition = 0 1 | 2 3 4\n"
		   "kill = 4\n"
		   "restart = 4\n"
		   "desync = 0\n"
		   "[at 2]\n"
		   "heal = all\n");
}

static void test_scenario_round_trip_keeps_an_unset_seed_and_no_preset(void **state)
{
	(void)state;
	struct scenario *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	assert_non_null(a);
	assert_non_null(b);
	scn_default(a);
	a->preset[0] = '\0';
	a->seed = 99;
	FILE *f;
	const char *path = temp_file(&f);
	assert_int_equal(scn_write_resolved(a, f), 0);
	assert_int_equal(fclose(f), 0);
	scn_default(b);
	assert_int_equal(scn_load(b, path, err, sizeof err), 0);
	assert_true(b->have_seed);
	assert_int_equal(b->seed, 99);
	/* Every field is written, so the values match; a file cannot say "no preset", so the label is the default's. */
	assert_cfg_equal(&b->link, &a->link, "[link *]");
	assert_string_equal(b->preset, "broadband");
	free(a);
	free(b);
}

static void test_scenario_write_refuses_what_it_cannot_say(void **state)
{
	(void)state;
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	FILE *f;
	temp_file(&f);
	scn_default(s);
	strcpy(s->peer_cmd, "run ; rm");
	assert_int_equal(scn_write_resolved(s, f), -1);
	scn_default(s);
	s->noverrides = 1;
	s->overrides[0] = (struct scn_setting){ .from = -1, .to = -1, .both = true, .key = "loss", .value = "1" };
	assert_int_equal(scn_write_resolved(s, f), -1);
	assert_int_equal(ftell(f), 0); /* nothing written */
	fclose(f);
	free(s);
}

/* The source root, from this file's own path: "<root>/tests/test_scenario.c". */
static void source_root(char *out, size_t len)
{
	const char *here = __FILE__, *tail = "tests/test_scenario.c";
	size_t n = strlen(here), t = strlen(tail);
	assert_true(n >= t && strcmp(here + n - t, tail) == 0);
	snprintf(out, len, "%.*s", (int)(n - t), here);
}

static void test_scenario_every_asset_loads_and_checks(void **state)
{
	(void)state;
	char dir[512], path[1024];
	source_root(dir, sizeof dir);
	strncat(dir, "assets/scenarios", sizeof dir - strlen(dir) - 1);
	DIR *d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s", dir);
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	int nfiles = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		scn_default(s);
		if (scn_load(s, path, err, sizeof err) != 0)
			fail_msg("%s", err);
		if (scn_check(s, err, sizeof err) != 0)
			fail_msg("%s", err);
		if (!(s->duration_s >= 20 && s->duration_s <= 30))
			fail_msg("%s: a %g s run; keep assets to 20-30 s", path, s->duration_s);
		nfiles++;
	}
	closedir(d);

	/* One file per preset, named after it, that uses it. */
	int npresets = 0;
	for (const struct wire_preset *p = wire_presets; p->name; p++, npresets++) {
		snprintf(path, sizeof path, "%s/%s.ini", dir, p->name);
		scn_default(s);
		if (scn_load(s, path, err, sizeof err) != 0)
			fail_msg("preset %s: %s", p->name, err);
		assert_string_equal(s->preset, p->name);
	}
	static const char *const examples[] = { "partition-heal", "asymmetric", "burst-loss", "lag-spike" };
	for (size_t k = 0; k < sizeof examples / sizeof examples[0]; k++) {
		snprintf(path, sizeof path, "%s/%s.ini", dir, examples[k]);
		assert_int_equal(access(path, R_OK), 0);
	}
	assert_true(nfiles >= npresets + 4);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_scenario_default_is_four_peers_rollback_broadband, teardown),
		cmocka_unit_test_teardown(test_scenario_design_example_loads_every_value, teardown),
		cmocka_unit_test_teardown(test_scenario_preset_is_the_base_whatever_the_order, teardown),
		cmocka_unit_test_teardown(test_scenario_second_base_preset_is_refused, teardown),
		cmocka_unit_test_teardown(test_scenario_overrides_resolve_per_direction_and_both, teardown),
		cmocka_unit_test_teardown(test_scenario_preset_in_an_override_is_the_base_of_its_section, teardown),
		cmocka_unit_test_teardown(test_scenario_timeline_is_parsed_and_sorted, teardown),
		cmocka_unit_test_teardown(test_scenario_error_bad_number_names_line_and_key, teardown),
		cmocka_unit_test_teardown(test_scenario_error_unknown_key_names_line_and_key, teardown),
		cmocka_unit_test_teardown(test_scenario_error_unknown_section_names_its_header_line, teardown),
		cmocka_unit_test_teardown(test_scenario_error_loss_out_of_range, teardown),
		cmocka_unit_test_teardown(test_scenario_error_line_without_equals, teardown),
		cmocka_unit_test_teardown(test_scenario_error_lines_count_comments_crlf_indentation_and_long_lines,
					  teardown),
		cmocka_unit_test_teardown(test_scenario_error_timeline_values, teardown),
		cmocka_unit_test_teardown(test_scenario_error_too_many_overrides_or_events_names_the_line, teardown),
		cmocka_unit_test_teardown(test_scenario_check_names_the_line_of_a_missing_peer, teardown),
		cmocka_unit_test_teardown(test_scenario_check_refuses_bad_partition_groups, teardown),
		cmocka_unit_test_teardown(test_scenario_check_validates_each_resolved_link, teardown),
		cmocka_unit_test_teardown(test_scenario_failed_load_leaves_the_scenario_unchanged, teardown),
		cmocka_unit_test_teardown(test_scenario_long_peer_cmd_loads, teardown),
		cmocka_unit_test_teardown(test_scenario_resolved_round_trip, teardown),
		cmocka_unit_test_teardown(test_scenario_round_trip_keeps_an_unset_seed_and_no_preset, teardown),
		cmocka_unit_test_teardown(test_scenario_write_refuses_what_it_cannot_say, teardown),
		cmocka_unit_test_teardown(test_scenario_every_asset_loads_and_checks, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
