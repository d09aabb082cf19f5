// SPDX-License-Identifier: MIT
// Sweeps without running a session: chaos from the seed, run numbering and shards, signatures, summaries and merges.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/scenario.h"
#include "harness/sweep.h"

/* A scenario as the sweep gets it back from --resolve-only: checked, with no timeline of its own. */
static struct scenario *base_scenario(uint32_t peers, double duration_s)
{
	struct scenario *s = malloc(sizeof *s);
	assert_non_null(s);
	scn_default(s);
	s->peers = peers;
	s->duration_s = duration_s;
	char err[256];
	assert_int_equal(scn_check(s, err, sizeof err), 0);
	return s;
}

/* The scenario as its file would say it. Caller frees. */
static char *as_ini(const struct scenario *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(scn_write_resolved(s, f), 0);
	fclose(f);
	return text;
}

static char *chaos_ini(uint64_t seed, enum sweep_chaos level, size_t *nfaults)
{
	struct scenario *s = base_scenario(4, 60);
	struct sweep_fault faults[SWEEP_MAX_FAULTS];
	size_t n = sweep_chaos_draw(s, level, seed, faults, SWEEP_MAX_FAULTS);
	if (nfaults)
		*nfaults = n;
	char *text = as_ini(s);
	free(s);
	return text;
}

static void test_sweep_chaos_same_seed_same_timeline(void **state)
{
	(void)state;
	size_t n1, n2, n3;
	char *a = chaos_ini(7, SWEEP_CHAOS_HIGH, &n1);
	char *b = chaos_ini(7, SWEEP_CHAOS_HIGH, &n2);
	char *c = chaos_ini(8, SWEEP_CHAOS_HIGH, &n3);
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_string_equal(a, b);
	assert_true(strcmp(a, c) != 0);
	assert_non_null(strstr(a, "[at "));
	free(a);
	free(b);
	free(c);
}

static void test_sweep_chaos_none_draws_nothing(void **state)
{
	(void)state;
	struct scenario *s = base_scenario(4, 60);
	struct sweep_fault faults[SWEEP_MAX_FAULTS];
	assert_int_equal(sweep_chaos_draw(s, SWEEP_CHAOS_NONE, 7, faults, SWEEP_MAX_FAULTS), 0);
	assert_int_equal(s->nevents, 0);
	/* A window too short for any fault: nothing either. */
	s->duration_s = SWEEP_CHAOS_LEAD_S + SWEEP_CHAOS_TAIL_S + 0.2;
	assert_int_equal(sweep_chaos_draw(s, SWEEP_CHAOS_HIGH, 7, faults, SWEEP_MAX_FAULTS), 0);
	assert_int_equal(s->nevents, 0);
	free(s);
}

static void test_sweep_chaos_faults_are_survivable(void **state)
{
	(void)state;
	unsigned kinds[SWEEP_FAULT_COUNT] = { 0 };
	for (uint64_t seed = 1; seed <= 300; seed++) {
		uint32_t peers = seed % 2 ? 4 : 2;
		double duration = 5 + (double)(seed % 40);
		struct scenario *s = base_scenario(peers, duration);
		struct sweep_fault f[SWEEP_MAX_FAULTS];
		size_t n = sweep_chaos_draw(s, (enum sweep_chaos)(1 + seed % 3), seed, f, SWEEP_MAX_FAULTS);
		/* An open window always gets at least one fault. */
		assert_true(n >= 1);
		char err[256];
		assert_int_equal(scn_check(s, err, sizeof err), 0);
		for (uint32_t k = 1; k < s->nevents; k++)
			assert_true(s->events[k - 1].at_s <= s->events[k].at_s);
		for (size_t i = 0; i < n; i++) {
			kinds[f[i].kind]++;
			assert_true(f[i].start_s >= SWEEP_CHAOS_LEAD_S - 1e-9);
			assert_true(f[i].end_s <= duration - SWEEP_CHAOS_TAIL_S + 1e-3);
			if (f[i].kind == SWEEP_FAULT_PARTITION)
				assert_true(f[i].end_s - f[i].start_s <= s->disconnect_s / 2 + 1e-3);
			if (f[i].kind == SWEEP_FAULT_KILL)
				assert_true(peers >= 3 && f[i].end_s - f[i].start_s >= s->disconnect_s);
			if (i)
				assert_true(f[i - 1].start_s <= f[i].start_s);
		}
		/* The run's faults are what its file says: every start and end is an [at] section. */
		char *ini = as_ini(s);
		for (size_t i = 0; i < n; i++) {
			char at[48];
			snprintf(at, sizeof at, "[at %g]", f[i].start_s);
			assert_non_null(strstr(ini, at));
		}
		free(ini);
		free(s);
	}
	for (int k = 0; k < SWEEP_FAULT_COUNT; k++)
		assert_true(kinds[k] > 0);
}

static void test_sweep_chaos_link_fault_is_set_back(void **state)
{
	(void)state;
	/* Find a seed whose timeline raises a latency, and check the link gets its own value back. */
	for (uint64_t seed = 1; seed < 200; seed++) {
		struct scenario *s = base_scenario(3, 30);
		struct sweep_fault f[SWEEP_MAX_FAULTS];
		sweep_chaos_draw(s, SWEEP_CHAOS_HIGH, seed, f, SWEEP_MAX_FAULTS);
		const struct scn_event *raise = NULL, *back = NULL;
		for (uint32_t k = 0; k < s->nevents; k++) {
			const struct scn_event *e = &s->events[k];
			if (e->kind != SCN_EV_SET_LINK || strcmp(e->set.key, "latency") != 0)
				continue;
			if (!raise)
				raise = e;
			else if (e->set.from == raise->set.from && e->set.to == raise->set.to && !back)
				back = e;
		}
		if (raise && back) {
			assert_true(strtod(raise->set.value, NULL) >= s->link.latency_ms + 100);
			assert_true(strtod(back->set.value, NULL) == s->link.latency_ms);
			free(s);
			return;
		}
		free(s);
	}
	fail_msg("no seed drew a lag spike");
}

static void test_sweep_fault_at_names_the_fault_and_its_aftermath(void **state)
{
	(void)state;
	const struct sweep_fault f[] = { { SWEEP_FAULT_PARTITION, 2.0, 4.0 }, { SWEEP_FAULT_SPIKE, 3.0, 3.5 } };
	assert_string_equal(sweep_fault_at(f, 2, 1.0), "none");
	assert_string_equal(sweep_fault_at(f, 2, 2.5), "partition");
	assert_string_equal(sweep_fault_at(f, 2, 3.2), "spike");
	assert_string_equal(sweep_fault_at(f, 2, 3.5 + SWEEP_FAULT_AFTERMATH_S), "spike");
	assert_string_equal(sweep_fault_at(f, 2, 4.0 + SWEEP_FAULT_AFTERMATH_S), "partition");
	assert_string_equal(sweep_fault_at(f, 2, 6.1), "none");
	assert_string_equal(sweep_fault_at(NULL, 0, 3), "none");
}

static void test_sweep_shards_cover_every_run_once(void **state)
{
	(void)state;
	for (uint64_t total = 0; total < 60; total++)
		for (uint32_t n = 1; n < 10; n++) {
			uint64_t sum = 0;
			for (uint32_t i = 0; i < n; i++) {
				uint64_t owned = 0;
				for (uint64_t idx = 0; idx < total; idx++)
					owned += sweep_shard_owns(idx, i, n);
				assert_int_equal(owned, sweep_shard_count(total, i, n));
				sum += owned;
			}
			assert_int_equal(sum, total);
			for (uint64_t idx = 0; idx < total; idx++) {
				unsigned owners = 0;
				for (uint32_t i = 0; i < n; i++)
					owners += sweep_shard_owns(idx, i, n);
				assert_int_equal(owners, 1);
			}
		}
}

static void test_sweep_runs_are_numbered_scenario_seed_repeat(void **state)
{
	(void)state;
	uint64_t index = 0;
	for (uint32_t scn = 0; scn < 2; scn++)
		for (uint64_t seed = 5; seed <= 8; seed++)
			for (uint32_t r = 0; r < 3; r++, index++) {
				struct sweep_run_id id;
				sweep_run_at(index, 5, 4, 3, &id);
				assert_int_equal(id.index, index);
				assert_int_equal(id.scenario, scn);
				assert_int_equal(id.seed, seed);
				assert_int_equal(id.repeat, r);
			}
}

/* A run record as sweep_record() makes one. */
static cJSON *rec(uint64_t index, const char *scenario, uint64_t seed, const char *verdict, const char *field,
		  const char *reason, const char *fault)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "index", (double)index);
	cJSON_AddStringToObject(r, "scenario", scenario);
	cJSON_AddNumberToObject(r, "seed", (double)seed);
	cJSON_AddNumberToObject(r, "repeat", 0);
	char dir[32];
	snprintf(dir, sizeof dir, "run-%02u", (unsigned)index);
	cJSON_AddStringToObject(r, "dir", dir);
	cJSON_AddStringToObject(r, "verdict", verdict);
	cJSON_AddNumberToObject(r, "exit_code", strcmp(verdict, "desync") == 0 ? 1 : strcmp(verdict, "clean") ? 3 : 0);
	cJSON_AddStringToObject(r, "reason", reason);
	if (field)
		cJSON_AddStringToObject(r, "field", field);
	else
		cJSON_AddNullToObject(r, "field");
	cJSON_AddStringToObject(r, "fault", fault);
	return r;
}

static cJSON *header(uint64_t total, uint32_t repeat)
{
	cJSON *h = cJSON_CreateObject();
	cJSON *names = cJSON_AddArrayToObject(h, "scenarios");
	cJSON_AddItemToArray(names, cJSON_CreateString("a.ini"));
	cJSON_AddNumberToObject(h, "repeat", repeat);
	cJSON_AddStringToObject(h, "chaos", "medium");
	cJSON_AddNumberToObject(h, "runs_total", (double)total);
	return h;
}

/* Twelve runs of one scenario: desyncs in two fields and peers, crashes, a split, clean runs. */
static cJSON *twelve_runs(uint32_t shard, uint32_t nshards)
{
	static const struct {
		const char *verdict, *field, *reason, *fault;
	} runs[12] = {
		{ "desync", "ship 1.x: 10 != 12", "desync at frame 100: peer 1 differs", "none" },
		{ "clean", NULL, "ran for 2.1 s", "none" },
		{ "desync", "ship 3.x: 99 != 1", "desync at frame 230: peer 3 differs", "none" },
		{ "failed", NULL, "peer 2 crashed (signal 11) after 1.5 s", "partition" },
		{ "desync", "ship 2.vy: 4 != 5", "desync at frame 77: peer 0 differs", "spike" },
		{ "clean", NULL, "ran for 2.2 s", "none" },
		{ "failed", NULL, "peer 0 crashed (signal 11) after 0.7 s", "partition" },
		{ "split", NULL, "the session split into 2 sides", "partition" },
		{ "desync", "ship 0.x: 1 != 2", "desync at frame 40: peer 2 differs", "none" },
		{ "interrupted", NULL, "interrupted by SIGTERM after 1.0 s", "none" },
		{ "clean", NULL, "ran for 2.0 s", "none" },
		{ "desync", NULL, "desync at frame 5: peer 1 differs", "none" },
	};
	cJSON *arr = cJSON_CreateArray();
	/* Backwards, as runs finish out of order: the summary sorts them. */
	for (int i = 11; i >= 0; i--)
		if (sweep_shard_owns((uint64_t)i, shard, nshards))
			cJSON_AddItemToArray(arr, rec((uint64_t)i, "a.ini", 100 + (uint64_t)i, runs[i].verdict, runs[i].field,
						    runs[i].reason, runs[i].fault));
	return arr;
}

static const cJSON *signature(const cJSON *summary, const char *sig)
{
	const cJSON *g;
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(summary, "signatures"))
	{
		if (strcmp(cJSON_GetObjectItem(g, "signature")->valuestring, sig) == 0)
			return g;
	}
	return NULL;
}

static void test_sweep_signatures_group_failures_without_numbers(void **state)
{
	(void)state;
	cJSON *h = header(12, 1);
	cJSON *s = sweep_summary(h, 0, 1, twelve_runs(0, 1));
	assert_non_null(s);
	const cJSON *x = signature(s, "desync: ship #.x (fault: none)");
	assert_non_null(x);
	assert_int_equal(cJSON_GetObjectItem(x, "count")->valueint, 3);
	char *seeds = cJSON_PrintUnformatted(cJSON_GetObjectItem(x, "seeds"));
	assert_string_equal(seeds, "[100,102,108]");
	cJSON_free(seeds);
	assert_non_null(signature(s, "desync: ship #.vy (fault: spike)"));
	assert_non_null(signature(s, "desync: field unknown (fault: none)"));
	const cJSON *crash = signature(s, "failed: peer # crashed (signal #) after # s (fault: partition)");
	assert_non_null(crash);
	assert_int_equal(cJSON_GetObjectItem(crash, "count")->valueint, 2);
	assert_non_null(signature(s, "split: the session split into # sides (fault: partition)"));
	/* Clean and interrupted runs are no failures: 5 signatures, the largest first. */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "signatures")), 5);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "signatures"), 0), "count")->valueint,
			 3);
	const cJSON *counts = cJSON_GetObjectItem(s, "counts");
	assert_int_equal(cJSON_GetObjectItem(counts, "desync")->valueint, 5);
	assert_int_equal(cJSON_GetObjectItem(counts, "clean")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(counts, "failed")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(counts, "interrupted")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(s, "missing")->valueint, 0);
	/* A desync decides the exit code over every failure. */
	assert_int_equal(sweep_summary_exit(s), 1);
	/* The runs come out in index order. */
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(s, "runs"), 0), "index")->valueint, 0);
	cJSON_Delete(s);
	cJSON_Delete(h);
}

static void test_sweep_repeat_reports_reproduction_rate(void **state)
{
	(void)state;
	cJSON *h = header(6, 3);
	cJSON *runs = cJSON_CreateArray();
	/* Seed 5 desyncs in 2 of its 3 runs, seed 6 in 1 of 3. */
	const char *v[6] = { "desync", "clean", "desync", "clean", "clean", "desync" };
	for (int i = 0; i < 6; i++)
		cJSON_AddItemToArray(runs, rec((uint64_t)i, "a.ini", 5 + (uint64_t)i / 3, v[i],
					       strcmp(v[i], "desync") == 0 ? "ship 1.x: 1 != 2" : NULL, "r", "none"));
	cJSON *s = sweep_summary(h, 0, 1, runs);
	const cJSON *g = signature(s, "desync: ship #.x (fault: none)");
	assert_non_null(g);
	const cJSON *rep = cJSON_GetObjectItem(g, "reproduced");
	assert_int_equal(cJSON_GetArraySize(rep), 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rep, 0), "hits")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rep, 0), "of")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rep, 1), "hits")->valueint, 1);
	cJSON_Delete(s);
	cJSON_Delete(h);
}

static void test_sweep_merge_equals_unsharded_summary(void **state)
{
	(void)state;
	cJSON *h = header(12, 1);
	cJSON *whole = sweep_summary(h, 0, 1, twelve_runs(0, 1));
	char *want = cJSON_Print(whole);
	for (uint32_t n = 1; n <= 5; n++) {
		cJSON *shards[5];
		const char *names[5] = { "s0", "s1", "s2", "s3", "s4" };
		const cJSON *in[5];
		/* Given in reverse order: the merge does not depend on it. */
		for (uint32_t i = 0; i < n; i++) {
			shards[i] = sweep_summary(h, n - 1 - i, n, twelve_runs(n - 1 - i, n));
			in[i] = shards[i];
			if (n > 1)
				assert_non_null(cJSON_GetObjectItem(shards[i], "shard"));
		}
		char err[256];
		cJSON *merged = sweep_merge(in, names, n, err, sizeof err);
		assert_non_null(merged);
		char *got = cJSON_Print(merged);
		assert_string_equal(got, want);
		cJSON_free(got);
		cJSON_Delete(merged);
		for (uint32_t i = 0; i < n; i++)
			cJSON_Delete(shards[i]);
	}
	cJSON_free(want);
	cJSON_Delete(whole);
	cJSON_Delete(h);
}

static void test_sweep_merge_counts_a_missing_shard(void **state)
{
	(void)state;
	cJSON *h = header(12, 1);
	cJSON *one = sweep_summary(h, 1, 3, twelve_runs(1, 3));
	assert_int_equal(cJSON_GetObjectItem(one, "missing")->valueint, 0);
	const cJSON *in[] = { one };
	const char *names[] = { "s1" };
	char err[256];
	cJSON *merged = sweep_merge(in, names, 1, err, sizeof err);
	assert_int_equal(cJSON_GetObjectItem(merged, "missing")->valueint, 8);
	cJSON_Delete(merged);
	cJSON_Delete(one);
	cJSON_Delete(h);
}

static void test_sweep_merge_refuses_a_run_twice_and_another_sweep(void **state)
{
	(void)state;
	cJSON *h = header(12, 1), *h2 = header(12, 2);
	cJSON *a = sweep_summary(h, 0, 2, twelve_runs(0, 2));
	cJSON *b = sweep_summary(h, 0, 2, twelve_runs(0, 2));
	cJSON *c = sweep_summary(h2, 1, 2, twelve_runs(1, 2));
	char err[256];
	const char *names[] = { "a", "b" };
	const cJSON *twice[] = { a, b };
	assert_null(sweep_merge(twice, names, 2, err, sizeof err));
	assert_non_null(strstr(err, "is in both a and b"));
	const cJSON *other[] = { a, c };
	assert_null(sweep_merge(other, names, 2, err, sizeof err));
	assert_non_null(strstr(err, "b is from another sweep than a"));
	cJSON *junk = cJSON_Parse("{\"runs\":[]}");
	const cJSON *bad[] = { junk };
	assert_null(sweep_merge(bad, names, 1, err, sizeof err));
	assert_non_null(strstr(err, "not a sweep summary"));
	cJSON_Delete(junk);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(h);
	cJSON_Delete(h2);
}

static void test_sweep_record_without_report_is_a_failed_run(void **state)
{
	(void)state;
	struct sweep_run_id id = { .index = 4, .scenario = 0, .seed = 9, .repeat = 0 };
	cJSON *r = sweep_record(&id, "default", "run-4", "/nonexistent/report.json", SIGKILL, NULL, 0, "loopsim run x");
	assert_non_null(r);
	assert_string_equal(cJSON_GetObjectItem(r, "verdict")->valuestring, "failed");
	assert_int_equal(cJSON_GetObjectItem(r, "exit_code")->valueint, 3);
	assert_non_null(strstr(cJSON_GetObjectItem(r, "reason")->valuestring, "killed by signal 9"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "frame")));
	cJSON_Delete(r);
}

static void test_sweep_record_reads_a_desync_report(void **state)
{
	(void)state;
	char path[] = "/tmp/test_sweep_report_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("{\"verdict\":\"desync\",\"exit_code\":1,\"reason\":\"desync at frame 240: peer 2 differs\",\"duration_s\":5,"
	      "\"desync\":{\"frame\":240,\"peers\":[2],\"field\":\"ship 2.x: 1 != 2\",\"bundle\":\"/x/run-4/bundle\"}}",
	      f);
	fclose(f);
	const struct sweep_fault faults[] = { { SWEEP_FAULT_LOSS, 3.5, 4.5 } };
	struct sweep_run_id id = { .index = 4, .seed = 9 };
	cJSON *r = sweep_record(&id, "default", "run-4", path, 1 << 8, faults, 1, "loopsim run x");
	unlink(path);
	assert_string_equal(cJSON_GetObjectItem(r, "verdict")->valuestring, "desync");
	assert_int_equal(cJSON_GetObjectItem(r, "frame")->valueint, 240);
	assert_string_equal(cJSON_GetObjectItem(r, "bundle")->valuestring, "run-4/bundle");
	assert_string_equal(cJSON_GetObjectItem(r, "field")->valuestring, "ship 2.x: 1 != 2");
	/* Frame 240 is 4 s in, inside the loss burst. */
	assert_string_equal(cJSON_GetObjectItem(r, "fault")->valuestring, "loss-burst");
	char sig[256];
	sweep_signature(r, sig, sizeof sig);
	assert_string_equal(sig, "desync: ship #.x (fault: loss-burst)");
	cJSON_Delete(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_chaos_same_seed_same_timeline),
		cmocka_unit_test(test_sweep_chaos_none_draws_nothing),
		cmocka_unit_test(test_sweep_chaos_faults_are_survivable),
		cmocka_unit_test(test_sweep_chaos_link_fault_is_set_back),
		cmocka_unit_test(test_sweep_fault_at_names_the_fault_and_its_aftermath),
		cmocka_unit_test(test_sweep_shards_cover_every_run_once),
		cmocka_unit_test(test_sweep_runs_are_numbered_scenario_seed_repeat),
		cmocka_unit_test(test_sweep_signatures_group_failures_without_numbers),
		cmocka_unit_test(test_sweep_repeat_reports_reproduction_rate),
		cmocka_unit_test(test_sweep_merge_equals_unsharded_summary),
		cmocka_unit_test(test_sweep_merge_counts_a_missing_shard),
		cmocka_unit_test(test_sweep_merge_refuses_a_run_twice_and_another_sweep),
		cmocka_unit_test(test_sweep_record_without_report_is_a_failed_run),
		cmocka_unit_test(test_sweep_record_reads_a_desync_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
