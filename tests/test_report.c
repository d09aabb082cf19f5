// SPDX-License-Identifier: MIT
// Reports: the JSON fields DESIGN.md names, exact 64-bit values, JUnit counts and escaping, atomic writes, summary.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/report.h"
#include "wire/addr.h"

#define NPEERS 4
#define NLINKS (NPEERS * (NPEERS - 1))
/* The largest prime below 2^64: far beyond the 2^53 a double holds exactly. */
#define BIG_SEED 18446744073709551557ull
#define BIG_SEED_DIGITS "18446744073709551557"
/* 2^53 + 1: the first integer a double cannot hold. */
#define BIG_BYTES 9007199254740993ull
#define BIG_BYTES_DIGITS "9007199254740993"
#define PROBLEM "crashed <&>\"' (signal 11)"

struct fixture {
	struct run_result *r;
	struct run_link links[NLINKS];
	char dir[256];
	char json[300];
	char xml[300];
};

/* The minority peer's checksum differs; peer 3 crashed before reporting one. */
static const uint64_t checksums[NPEERS] = { 0x0123456789abcdefull, 0x0123456789abcdefull, 0x00000000deadbeefull, 0 };

/* A run of 4 peers that desynced at frame 312, peer 2 in the minority, peer 3 crashed. */
static void fill_result(struct fixture *fx)
{
	struct run_result *r = fx->r;
	memset(r, 0, sizeof *r);
	r->version = "0.1.0";
	r->seed = BIG_SEED;
	r->duration_s = 30.0004;
	r->netcode = "rollback";
	r->npeers = NPEERS;
	for (uint32_t k = 0; k < NPEERS; k++) {
		struct run_peer *p = &r->peers[k];
		p->index = k;
		p->addr = wire_peer_ip(k);
		p->port = (uint16_t)(40000 + k);
		p->public_port = (uint16_t)(50000 + k);
		p->frames = 1800;
		p->confirmed_frame = 1797;
		p->rollbacks = 120 + k;
		p->max_rollback = 3 + k;
		p->stalls = k;
		p->rtt_ms = 40.25 + k;
		p->exit_status = (k % 2) ? 0 : -1; /* 0 and 2 still running, 1 exited cleanly */
	}
	r->peers[3].frames = 900;
	r->peers[3].confirmed_frame = -1;
	r->peers[3].exit_status = 128 + 11;
	snprintf(r->peers[3].problem, sizeof r->peers[3].problem, "%s", PROBLEM);

	uint32_t i = 0;
	for (uint32_t from = 0; from < NPEERS; from++) {
		for (uint32_t to = 0; to < NPEERS; to++) {
			if (from == to)
				continue;
			struct run_link *l = &fx->links[i];
			memset(l, 0, sizeof *l);
			l->from = from;
			l->to = to;
			l->stats.sent = 1000 + 10 * i;
			l->stats.dropped[WIRE_FATE_LOSS] = i;
			l->stats.delivered = l->stats.sent - i;
			l->stats.bytes = 64 * l->stats.delivered;
			l->stats.duplicated = 2;
			l->stats.reordered = 1;
			l->stats.corrupted = i % 2;
			for (uint64_t v = 30000; v < 31000; v += 10)
				wire_hist_record(&l->delay, v);
			wire_hist_record(&l->delay, 40123);
			/* Sent 50 to 149 µs after due: on time. */
			for (uint64_t v = 50; v < 150; v++)
				wire_hist_record(&l->lateness, v);
			i++;
		}
	}
	/* Link 0 (0->1): every drop reason, a byte count past 2^53. */
	fx->links[0].stats.dropped[WIRE_FATE_LOSS] = 7;
	fx->links[0].stats.dropped[WIRE_FATE_PARTITION] = 2;
	fx->links[0].stats.dropped[WIRE_FATE_QUEUE] = 1;
	fx->links[0].stats.dropped[WIRE_FATE_MTU] = 3;
	fx->links[0].stats.bytes = BIG_BYTES;
	/* Link 11 (3->2): nothing delivered, so no delay. */
	memset(&fx->links[11].delay, 0, sizeof fx->links[11].delay);
	memset(&fx->links[11].lateness, 0, sizeof fx->links[11].lateness);
	r->wire = (struct run_wire){ .received = 12345, .strays = 2, .spoofed = 31056, .kernel_drops = 1 };
	r->nlinks = NLINKS;
	r->links = fx->links;

	r->desync.found = true;
	r->desync.frame = 312;
	r->desync.npeers = 1;
	r->desync.peers[0] = 2;
	r->desync.known_mask = 0x7;
	memcpy(r->desync.checksum, checksums, sizeof checksums);
	snprintf(r->desync.field, sizeof r->desync.field, "ship 2.x: 1234 != 1240");
	snprintf(r->desync.bundle, sizeof r->desync.bundle, "/tmp/loopsim-bundle-312");

	r->nlog = 3;
	r->log[0] = (struct run_log_entry){ .t_s = 0.0, .what = "start: 4 peers, rollback" };
	r->log[1] = (struct run_log_entry){ .t_s = 10.5, .what = "latency = 600" };
	r->log[2] = (struct run_log_entry){ .t_s = 12.25, .what = "kill = 3" };
	verdict_init(&r->verdict);
	verdict_note(&r->verdict, VERDICT_DESYNC, "desync at frame 312");
	r->exit_code = 1;
	snprintf(r->reason, sizeof r->reason, "desync at frame 312");
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	fx->r = calloc(1, sizeof *fx->r);
	const char *tmp = getenv("TMPDIR");
	snprintf(fx->dir, sizeof fx->dir, "%s/loopsim-report-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!fx->r || !mkdtemp(fx->dir)) {
		free(fx->r);
		free(fx);
		return -1;
	}
	snprintf(fx->json, sizeof fx->json, "%s/report.json", fx->dir);
	snprintf(fx->xml, sizeof fx->xml, "%s/junit.xml", fx->dir);
	fill_result(fx);
	*state = fx;
	return 0;
}

/* Removes the reports; rmdir fails, and so does the test, if anything else (a stray .tmp) was left. */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	unlink(fx->json);
	unlink(fx->xml);
	int rc = rmdir(fx->dir);
	if (rc != 0)
		fprintf(stderr, "%s: %s (a file was left behind)\n", fx->dir, strerror(errno));
	free(fx->r);
	free(fx);
	return rc;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

static void summary(const struct run_result *r, char **out);

static cJSON *write_and_parse(struct fixture *fx, char **text)
{
	char err[512] = "";
	assert_int_equal(report_write_json(fx->r, fx->json, err, sizeof err), 0);
	*text = slurp(fx->json);
	assert_non_null(*text);
	cJSON *root = cJSON_Parse(*text);
	assert_non_null(root);
	return root;
}

static const cJSON *get(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v)
		fail_msg("missing key \"%s\"", key);
	return v;
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);
	if (!cJSON_IsNumber(v))
		fail_msg("\"%s\" is not a number", key);
	return v->valuedouble;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);
	if (!cJSON_IsString(v))
		fail_msg("\"%s\" is not a string", key);
	return v->valuestring;
}

static void assert_null_value(const cJSON *obj, const char *key)
{
	if (!cJSON_IsNull(get(obj, key)))
		fail_msg("\"%s\" is not null", key);
}

/* The literal text after the first "key": in text, as written (before any double conversion). */
static void assert_literal(const char *text, const char *key, const char *digits)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(text, pat);
	assert_non_null(p);
	p += strlen(pat);
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(digits);
	if (strncmp(p, digits, n) != 0 || (p[n] >= '0' && p[n] <= '9'))
		fail_msg("\"%s\" is \"%.24s\", not %s", key, p, digits);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void test_report_json_has_top_level_fields(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	assert_string_equal(str(root, "version"), "0.1.0");
	assert_true(cJSON_IsNumber(get(root, "seed")));
	assert_true(num(root, "duration_s") == 30.0);
	assert_string_equal(str(root, "netcode"), "rollback");
	assert_true(cJSON_IsArray(get(root, "peers")));
	assert_int_equal(cJSON_GetArraySize(get(root, "peers")), NPEERS);
	assert_true(cJSON_IsArray(get(root, "links")));
	assert_int_equal(cJSON_GetArraySize(get(root, "links")), NLINKS);
	assert_true(cJSON_IsObject(get(root, "desync")));
	assert_true(num(root, "exit_code") == 1);
	assert_string_equal(str(root, "reason"), "desync at frame 312");

	const cJSON *events = get(root, "events");
	assert_true(cJSON_IsArray(events));
	assert_int_equal(cJSON_GetArraySize(events), 3);
	const cJSON *e = cJSON_GetArrayItem(events, 1);
	assert_true(num(e, "t_s") == 10.5);
	assert_string_equal(str(e, "what"), "latency = 600");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_has_peer_fields(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *peers = get(root, "peers");
	for (int k = 0; k < NPEERS; k++) {
		const cJSON *p = cJSON_GetArrayItem(peers, k);
		const struct run_peer *want = &fx->r->peers[k];
		char addr[WIRE_ADDR_STRLEN];
		snprintf(addr, sizeof addr, "127.0.0.%d", k + 2);
		assert_true(num(p, "index") == k);
		assert_string_equal(str(p, "addr"), addr);
		assert_true(num(p, "port") == want->port);
		assert_true(num(p, "public_port") == want->public_port);
		assert_true(num(p, "frames") == want->frames);
		assert_true(num(p, "confirmed_frame") == (double)want->confirmed_frame);
		assert_true(num(p, "rollbacks") == (double)want->rollbacks);
		assert_true(num(p, "max_rollback") == want->max_rollback);
		assert_true(num(p, "stalls") == (double)want->stalls);
		assert_true(num(p, "rtt_ms") == want->rtt_ms);
	}
	/* Peer 3 crashed: a status and a problem. Peer 1 exited 0 with none. */
	const cJSON *p3 = cJSON_GetArrayItem(peers, 3);
	assert_true(num(p3, "exit_status") == 139);
	assert_string_equal(str(p3, "problem"), PROBLEM);
	assert_true(num(p3, "confirmed_frame") == -1);
	const cJSON *p1 = cJSON_GetArrayItem(peers, 1);
	assert_true(num(p1, "exit_status") == 0);
	assert_null_value(p1, "problem");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_exit_status_null_while_running(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *peers = get(root, "peers");
	assert_null_value(cJSON_GetArrayItem(peers, 0), "exit_status");
	assert_null_value(cJSON_GetArrayItem(peers, 2), "exit_status");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_has_link_fields(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *links = get(root, "links");
	for (int i = 0; i < NLINKS; i++) {
		const cJSON *l = cJSON_GetArrayItem(links, i);
		const struct wire_link_stats *s = &fx->links[i].stats;
		assert_true(num(l, "from") == fx->links[i].from);
		assert_true(num(l, "to") == fx->links[i].to);
		assert_true(num(l, "sent") == (double)s->sent);
		assert_true(num(l, "delivered") == (double)s->delivered);
		assert_true(num(l, "duplicated") == (double)s->duplicated);
		assert_true(num(l, "reordered") == (double)s->reordered);
		assert_true(num(l, "corrupted") == (double)s->corrupted);
		const cJSON *by = get(l, "dropped_by");
		assert_true(cJSON_IsObject(by));
		assert_int_equal(cJSON_GetArraySize(by), 4);
		assert_true(num(by, "loss") == (double)s->dropped[WIRE_FATE_LOSS]);
		assert_true(num(by, "partition") == (double)s->dropped[WIRE_FATE_PARTITION]);
		assert_true(num(by, "queue") == (double)s->dropped[WIRE_FATE_QUEUE]);
		assert_true(num(by, "mtu") == (double)s->dropped[WIRE_FATE_MTU]);
		if (i > 0)
			assert_true(num(l, "bytes") == (double)s->bytes);
		const cJSON *d = get(l, "delay_ms");
		assert_true(cJSON_IsObject(d));
		if (i == 11)
			continue;
		/* µs to ms, three decimals: p50 to p99.9 from the histogram, max exact. */
		assert_true(num(d, "p50") == (double)wire_hist_quantile(&fx->links[i].delay, 0.5) / 1000);
		assert_true(num(d, "p90") == (double)wire_hist_quantile(&fx->links[i].delay, 0.9) / 1000);
		assert_true(num(d, "p99") == (double)wire_hist_quantile(&fx->links[i].delay, 0.99) / 1000);
		assert_true(num(d, "p99_9") == (double)wire_hist_quantile(&fx->links[i].delay, 0.999) / 1000);
		assert_true(num(d, "max") == 40.123);
		/* Within 1% of the data's own quantiles: 30000..30990 µs in steps of 10, and one 40123. */
		assert_in_range(num(d, "p50") * 1000, 30490 * 0.99, 30490 * 1.01);
		assert_in_range(num(d, "p90") * 1000, 30890 * 0.99, 30890 * 1.01);
		const cJSON *late = get(l, "lateness_ms");
		assert_true(num(late, "p99") == (double)wire_hist_quantile(&fx->links[i].lateness, 0.99) / 1000);
		assert_true(num(late, "max") == 0.149);
		assert_true(cJSON_IsFalse(get(l, "fell_behind")));
	}
	/* Link 0: the sum of every drop reason. */
	assert_true(num(cJSON_GetArrayItem(links, 0), "dropped") == 7 + 2 + 1 + 3);
	assert_true(num(cJSON_GetArrayItem(links, 5), "dropped") == 5);
	/* Link 11 delivered nothing: no delay quantiles rather than a perfect 0 ms. */
	const cJSON *d11 = get(cJSON_GetArrayItem(links, 11), "delay_ms");
	assert_null_value(d11, "p50");
	assert_null_value(d11, "p90");
	assert_null_value(d11, "p99");
	assert_null_value(d11, "p99_9");
	assert_null_value(d11, "max");
	assert_null_value(get(cJSON_GetArrayItem(links, 11), "lateness_ms"), "p99");
	assert_true(cJSON_IsFalse(get(cJSON_GetArrayItem(links, 11), "fell_behind")));
	/* The wire's own totals, spoofed among them; on time, so it did not fall behind. */
	const cJSON *w = get(root, "wire");
	assert_true(num(w, "received") == 12345);
	assert_true(num(w, "strays") == 2);
	assert_true(num(w, "spoofed") == 31056);
	assert_true(num(w, "kernel_drops") == 1);
	assert_true(num(w, "replayed") == 0);
	assert_true(num(w, "unreplayed") == 0);
	assert_true(num(get(w, "lateness_ms"), "max") == 0.149);
	assert_true(cJSON_IsNull(get(w, "fell_behind")));
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_gives_each_link_its_senders_rtt_or_null(void **state)
{
	struct fixture *fx = *state;
	/* 0->1 slow, 0->2 fast, 1->0 a round trip of exactly 0 ms; every other link unknown. */
	fx->links[0].rtt_known = true;
	fx->links[0].rtt_ms = 183.4;
	fx->links[1].rtt_known = true;
	fx->links[1].rtt_ms = 21.25;
	fx->links[3].rtt_known = true;
	fx->links[3].rtt_ms = 0;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *links = get(root, "links");
	assert_true(num(cJSON_GetArrayItem(links, 0), "from") == 0 && num(cJSON_GetArrayItem(links, 0), "to") == 1);
	assert_true(num(cJSON_GetArrayItem(links, 0), "rtt_ms") == 183.4);
	assert_true(num(cJSON_GetArrayItem(links, 1), "to") == 2);
	assert_true(num(cJSON_GetArrayItem(links, 1), "rtt_ms") == 21.25);
	assert_true(num(cJSON_GetArrayItem(links, 3), "from") == 1);
	assert_true(num(cJSON_GetArrayItem(links, 3), "rtt_ms") == 0); /* a measured 0, not an unknown */
	assert_null_value(cJSON_GetArrayItem(links, 2), "rtt_ms");
	assert_null_value(cJSON_GetArrayItem(links, 11), "rtt_ms");
	cJSON_Delete(root);
	free(text);
	/* The summary names the slowest pair and the quickest; without any figure it says nothing of them. */
	char *sum;
	summary(fx->r, &sum);
	assert_non_null(
		strstr(sum, "rtt per pair, as each sender measured it: slowest 0->1 183.4 ms, quickest 1->0 0.0 ms\n"));
	free(sum);
	for (uint32_t i = 0; i < fx->r->nlinks; i++)
		fx->links[i].rtt_known = false;
	summary(fx->r, &sum);
	assert_null(strstr(sum, "rtt per pair"));
	free(sum);
}

static void test_report_json_says_when_the_wire_fell_behind_and_by_how_much(void **state)
{
	struct fixture *fx = *state;
	/* Link 4 (1->2) went out 1.5 to 6.5 ms after due at its tail: its p99 is past 1 ms. */
	struct wire_hist *late = &fx->links[4].lateness;
	for (uint64_t v = 1500; v < 6500; v += 100)
		wire_hist_record(late, v);
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *links = get(root, "links");
	assert_true(cJSON_IsTrue(get(cJSON_GetArrayItem(links, 4), "fell_behind")));
	assert_true(cJSON_IsFalse(get(cJSON_GetArrayItem(links, 3), "fell_behind")));
	const cJSON *b = get(get(root, "wire"), "fell_behind");
	assert_true(cJSON_IsObject(b));
	assert_true(num(b, "links") == 1);
	assert_true(num(b, "max_ms") == 6.4);
	const cJSON *worst = get(b, "worst");
	assert_true(num(worst, "from") == 1);
	assert_true(num(worst, "to") == 2);
	assert_true(num(worst, "p99_ms") == (double)wire_hist_quantile(late, 0.99) / 1000);
	assert_true(num(worst, "p99_ms") > 6.0);
	cJSON_Delete(root);
	free(text);

	char *s;
	summary(fx->r, &s);
	assert_non_null(strstr(s, "the wire FELL BEHIND: 1 of 12 links sent late by more than 1.000 ms at p99, worst 1->2 by "));
	free(s);
}

static void test_report_json_has_desync_fields(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *d = get(root, "desync");
	assert_true(num(d, "frame") == 312);
	const cJSON *peers = get(d, "peers");
	assert_true(cJSON_IsArray(peers));
	assert_int_equal(cJSON_GetArraySize(peers), 1);
	assert_true(cJSON_GetArrayItem(peers, 0)->valuedouble == 2);
	const cJSON *sums = get(d, "checksums");
	assert_true(cJSON_IsObject(sums));
	assert_int_equal(cJSON_GetArraySize(sums), 3); /* peer 3's is unknown */
	assert_string_equal(str(sums, "0"), "0123456789abcdef");
	assert_string_equal(str(sums, "1"), "0123456789abcdef");
	assert_string_equal(str(sums, "2"), "00000000deadbeef");
	assert_null(cJSON_GetObjectItemCaseSensitive(sums, "3"));
	assert_string_equal(str(d, "field"), "ship 2.x: 1234 != 1240");
	assert_string_equal(str(d, "bundle"), "/tmp/loopsim-bundle-312");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_empty_field_and_bundle_are_null(void **state)
{
	struct fixture *fx = *state;
	fx->r->desync.field[0] = '\0';
	fx->r->desync.bundle[0] = '\0';
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	const cJSON *d = get(root, "desync");
	assert_null_value(d, "field");
	assert_null_value(d, "bundle");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_desync_is_null_when_not_found(void **state)
{
	struct fixture *fx = *state;
	fx->r->desync.found = false;
	fx->r->exit_code = 0;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	assert_null_value(root, "desync");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_writes_64bit_values_exactly(void **state)
{
	struct fixture *fx = *state;
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	/* A double would print these as 18446744073709551616 (or 1.8446744073709552e+19) and 9007199254740992. */
	assert_literal(text, "seed", BIG_SEED_DIGITS);
	assert_literal(text, "bytes", BIG_BYTES_DIGITS);
	assert_true(num(root, "seed") == (double)BIG_SEED);
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_replaces_whole_file_and_leaves_no_tmp(void **state)
{
	struct fixture *fx = *state;
	FILE *f = fopen(fx->json, "w");
	assert_non_null(f);
	fputs("old report, longer than nothing", f);
	fclose(f);
	char *text;
	cJSON *root = write_and_parse(fx, &text);
	assert_string_equal(str(root, "netcode"), "rollback");
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.tmp", fx->json);
	assert_false(exists(tmp));
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_into_missing_directory_fails_naming_path(void **state)
{
	struct fixture *fx = *state;
	char path[320], tmp[330], err[512] = "";
	snprintf(path, sizeof path, "%s/missing/report.json", fx->dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(report_write_json(fx->r, path, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
	assert_false(exists(path));
	assert_false(exists(tmp));
}

static void test_report_json_failed_rename_removes_tmp(void **state)
{
	struct fixture *fx = *state;
	/* The temporary file is written, then rename(2) onto a directory fails: nothing may stay behind. */
	char err[512] = "", tmp[320];
	assert_int_equal(mkdir(fx->json, 0700), 0);
	assert_int_equal(report_write_json(fx->r, fx->json, err, sizeof err), -1);
	assert_non_null(strstr(err, fx->json));
	snprintf(tmp, sizeof tmp, "%s.tmp", fx->json);
	assert_false(exists(tmp));
	assert_int_equal(rmdir(fx->json), 0);
}

/* ---- Where a report may go: links followed, devices and FIFOs in place, nothing replaced that is no file ---- */

static bool is_kind(const char *path, mode_t kind)
{
	struct stat st;
	return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == kind;
}

static void assert_json_file(const char *path)
{
	char *text = slurp(path);
	assert_non_null(text);
	cJSON *root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(str(root, "netcode"), "rollback");
	cJSON_Delete(root);
	free(text);
}

static void test_report_json_through_symlink_writes_its_target_and_keeps_the_link(void **state)
{
	struct fixture *fx = *state;
	char sub[300], real[320], link[300], tmp[330], err[512] = "";
	snprintf(sub, sizeof sub, "%s/sub", fx->dir);
	snprintf(real, sizeof real, "%s/real.json", sub);
	snprintf(link, sizeof link, "%s/link.json", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	FILE *f = fopen(real, "w");
	assert_non_null(f);
	fputs("old report", f);
	fclose(f);
	assert_int_equal(symlink("sub/real.json", link), 0); /* relative: to the link's own directory */

	assert_int_equal(report_write_json(fx->r, link, err, sizeof err), 0);
	assert_true(is_kind(link, S_IFLNK));
	char to[64];
	ssize_t n = readlink(link, to, sizeof to - 1);
	assert_true(n > 0);
	to[n] = '\0';
	assert_string_equal(to, "sub/real.json");
	assert_true(is_kind(real, S_IFREG));
	assert_json_file(real);
	snprintf(tmp, sizeof tmp, "%s.tmp", real);
	assert_false(exists(tmp));
	snprintf(tmp, sizeof tmp, "%s.tmp", link);
	assert_false(exists(tmp));
	unlink(link);
	unlink(real);
	rmdir(sub);
}

static void test_report_json_to_fifo_writes_in_place(void **state)
{
	struct fixture *fx = *state;
	char fifo[300], err[512] = "";
	snprintf(fifo, sizeof fifo, "%s/fifo", fx->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(report_write_json(fx->r, fifo, err, sizeof err), 0);
	/* The writer has closed; the report (a few KB) waits whole in the pipe. */
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	char chunk[4096];
	ssize_t n;
	while ((n = read(rd, chunk, sizeof chunk)) > 0)
		fwrite(chunk, 1, (size_t)n, m);
	fclose(m);
	close(rd);
	cJSON *root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(str(root, "netcode"), "rollback");
	cJSON_Delete(root);
	free(text);
	assert_true(is_kind(fifo, S_IFIFO));
	unlink(fifo);
}

static void test_report_json_to_fifo_without_reader_fails_at_once(void **state)
{
	struct fixture *fx = *state;
	char fifo[300], err[512] = "";
	snprintf(fifo, sizeof fifo, "%s/fifo", fx->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(report_write_json(fx->r, fifo, err, sizeof err), -1);
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "no process is reading"));
	assert_true(is_kind(fifo, S_IFIFO));
	unlink(fifo);
}

static void test_report_json_to_dev_null_writes_in_place(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	assert_int_equal(report_write_json(fx->r, "/dev/null", err, sizeof err), 0);
	assert_int_equal(report_write_junit(fx->r, "/dev/null", err, sizeof err), 0);
	assert_true(is_kind("/dev/null", S_IFCHR));
	assert_false(exists("/dev/null.tmp"));
}

static void test_report_json_and_junit_to_dev_full_fail_with_enospc(void **state)
{
	struct fixture *fx = *state;
	if (!is_kind("/dev/full", S_IFCHR))
		skip();
	char err[512] = "";
	assert_int_equal(report_write_json(fx->r, "/dev/full", err, sizeof err), -1);
	assert_non_null(strstr(err, "/dev/full: "));
	assert_non_null(strstr(err, strerror(ENOSPC)));
	err[0] = '\0';
	assert_int_equal(report_write_junit(fx->r, "/dev/full", err, sizeof err), -1);
	assert_non_null(strstr(err, "/dev/full: "));
	assert_non_null(strstr(err, strerror(ENOSPC)));
	assert_true(is_kind("/dev/full", S_IFCHR));
	assert_false(exists("/dev/full.tmp"));
}

static void test_report_json_to_directory_is_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	assert_int_equal(mkdir(fx->json, 0700), 0);
	assert_int_equal(report_write_json(fx->r, fx->json, err, sizeof err), -1);
	assert_non_null(strstr(err, fx->json));
	assert_non_null(strstr(err, "is a directory"));
	assert_true(is_kind(fx->json, S_IFDIR));
	assert_int_equal(rmdir(fx->json), 0); /* still empty */
}

static void test_report_junit_counts_testcases_and_failures(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	assert_int_equal(report_write_junit(fx->r, fx->xml, err, sizeof err), 0);
	char *xml = slurp(fx->xml);
	assert_non_null(xml);
	/* 4 peers, the desync check and the verdict; peer 3 (crashed), the desync and the verdict fail. */
	assert_int_equal(count(xml, "<testcase "), NPEERS + 2);
	assert_int_equal(count(xml, "<failure "), 3);
	assert_non_null(strstr(xml, "<testsuite name=\"loopsim\" tests=\"6\" failures=\"3\" errors=\"0\""));
	assert_non_null(strstr(xml, "classname=\"loopsim.run\" name=\"verdict\">\n      <failure type=\"desync\""));
	assert_non_null(strstr(xml, "classname=\"loopsim.peers\" name=\"peer 0 (127.0.0.2)\""));
	assert_non_null(strstr(xml, "classname=\"loopsim.oracle\" name=\"desync check\""));
	/* The desync failure names the frame, the minority and the field. */
	assert_non_null(strstr(xml, "message=\"desync at frame 312: peer 2 differs (ship 2.x: 1234 != 1240)\""));
	assert_non_null(strstr(xml, "<system-out>desync at frame 312</system-out>"));
	free(xml);

	/* A peer that exited non-zero fails even without a problem; a clean run fails nothing. */
	fill_result(fx);
	fx->r->peers[3].problem[0] = '\0';
	fx->r->peers[3].exit_status = 3;
	fx->r->desync.found = false;
	verdict_init(&fx->r->verdict);
	verdict_note(&fx->r->verdict, VERDICT_FAILED, "peer 3 exited early with status 3");
	assert_int_equal(report_write_junit(fx->r, fx->xml, err, sizeof err), 0);
	xml = slurp(fx->xml);
	assert_int_equal(count(xml, "<failure "), 2);
	assert_non_null(strstr(xml, "<failure message=\"exit 3\""));
	assert_non_null(strstr(xml, "<failure type=\"failed\" message=\"desync at frame 312\""));
	free(xml);
	/* An interrupted run is an error, not a failure. */
	verdict_init(&fx->r->verdict);
	verdict_interrupted(&fx->r->verdict, SIGINT, 1.5);
	assert_int_equal(report_write_junit(fx->r, fx->xml, err, sizeof err), 0);
	xml = slurp(fx->xml);
	assert_int_equal(count(xml, "<error type=\"interrupted\""), 1);
	assert_non_null(strstr(xml, "errors=\"1\""));
	free(xml);
	verdict_init(&fx->r->verdict);
	fx->r->peers[3].exit_status = 0;
	assert_int_equal(report_write_junit(fx->r, fx->xml, err, sizeof err), 0);
	xml = slurp(fx->xml);
	assert_int_equal(count(xml, "<failure "), 0);
	assert_non_null(strstr(xml, "failures=\"0\""));
	free(xml);
}

static void test_report_junit_escapes_problem_string(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	assert_int_equal(report_write_junit(fx->r, fx->xml, err, sizeof err), 0);
	char *xml = slurp(fx->xml);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<failure message=\"crashed &lt;&amp;&gt;&quot;&apos; (signal 11)\""));
	assert_null(strstr(xml, PROBLEM));
	free(xml);
}

static void test_report_xml_escape_escapes_markup_and_controls(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	report_xml_escape(f, "a<b>&c\"d'e\tf\ng\x01h\xc3\xa9");
	fclose(f);
	assert_string_equal(buf, "a&lt;b&gt;&amp;c&quot;d&apos;e&#9;f&#10;g?h\xc3\xa9");
	free(buf);
}

static void test_report_junit_into_missing_directory_fails_naming_path(void **state)
{
	struct fixture *fx = *state;
	char path[320], tmp[330], err[512] = "";
	snprintf(path, sizeof path, "%s/missing/junit.xml", fx->dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	assert_int_equal(report_write_junit(fx->r, path, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_false(exists(path));
	assert_false(exists(tmp));
}

/* The summary as a string in *out, which the caller frees (returning the buffer trips GCC 12 -Wdangling-pointer). */
static void summary(const struct run_result *r, char **out)
{
	size_t len = 0;
	*out = NULL;
	FILE *f = open_memstream(out, &len);
	assert_non_null(f);
	report_print_summary(r, f);
	fclose(f);
}

static void test_report_summary_leads_with_desync_verdict(void **state)
{
	struct fixture *fx = *state;
	char *s;
	summary(fx->r, &s);
	assert_true(strncmp(s, "DESYNC at frame 312: peer 2 differs (ship 2.x: 1234 != 1240)\n",
			    strlen("DESYNC at frame 312: peer 2 differs (ship 2.x: 1234 != 1240)\n")) == 0);
	assert_non_null(strstr(s, "127.0.0.5"));
	assert_non_null(strstr(s, PROBLEM));
	assert_non_null(strstr(s, "loss 73, partition 2, queue 1, mtu 3"));
	assert_non_null(strstr(s, "2 strays, 31056 spoofed, "));
	assert_non_null(strstr(s, "\ndelay: p50 "));
	assert_non_null(strstr(s, ", p90 "));
	assert_non_null(strstr(s, ", p99.9 "));
	assert_non_null(strstr(s, " over all links, sent after due by p99 0.1"));
	assert_null(strstr(s, "FELL BEHIND"));
	assert_non_null(strstr(s, "bundle: /tmp/loopsim-bundle-312\n"));
	free(s);
}

static void test_report_summary_clean_and_failed_verdicts(void **state)
{
	struct fixture *fx = *state;
	fx->r->desync.found = false;
	verdict_init(&fx->r->verdict);
	fx->r->exit_code = 0;
	for (uint32_t k = 0; k < NPEERS; k++) {
		fx->r->peers[k].frames = 1800;
		fx->r->peers[k].compared = 1790 + k;
	}
	char *s;
	summary(fx->r, &s);
	const char clean[] = "clean: 4 peers, 1800 frames, every peer compared (at least 1790 frames each), no desync\n";
	assert_true(strncmp(s, clean, strlen(clean)) == 0);
	assert_non_null(strstr(s, "  exit 0 (clean)\n"));
	assert_null(strstr(s, "bundle:"));
	free(s);

	verdict_note(&fx->r->verdict, VERDICT_FAILED, "peer 3 crashed (signal 11)");
	fx->r->exit_code = 3;
	snprintf(fx->r->reason, sizeof fx->r->reason, "peer 3 crashed (signal 11)");
	summary(fx->r, &s);
	assert_true(strncmp(s, "FAILED: peer 3 crashed (signal 11)\n", 35) == 0);
	assert_non_null(strstr(s, "  exit 3 (failed)\n"));
	free(s);

	/* Each verdict leads with its own word. */
	static const struct {
		enum verdict_kind kind;
		const char *lead;
		int exit_code;
	} kinds[] = { { VERDICT_UNCHECKED, "UNCHECKED: ", 4 }, { VERDICT_SPLIT, "SPLIT: ", 5 },
		      { VERDICT_NETWORK_ONLY, "network-only: ", 0 } };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		verdict_init(&fx->r->verdict);
		fx->r->verdict.kind = kinds[i].kind;
		snprintf(fx->r->reason, sizeof fx->r->reason, "why");
		fx->r->exit_code = verdict_exit_code(&fx->r->verdict);
		assert_int_equal(fx->r->exit_code, kinds[i].exit_code);
		summary(fx->r, &s);
		assert_true(strncmp(s, kinds[i].lead, strlen(kinds[i].lead)) == 0);
		free(s);
	}
	verdict_init(&fx->r->verdict);
	verdict_interrupted(&fx->r->verdict, SIGTERM, 2.5);
	snprintf(fx->r->reason, sizeof fx->r->reason, "%s", fx->r->verdict.reason);
	fx->r->exit_code = verdict_exit_code(&fx->r->verdict);
	assert_int_equal(fx->r->exit_code, 143);
	summary(fx->r, &s);
	assert_true(strncmp(s, "INTERRUPTED: interrupted by SIGTERM after 2.5 s", 47) == 0);
	free(s);
}

static void test_report_summary_stays_short_with_many_peers(void **state)
{
	struct fixture *fx = *state;
	struct run_result *r = fx->r;
	/* Every 4th peer copies peer 3's crash; the minority peer is one of the quiet ones. */
	r->desync.peers[0] = 62;
	const uint32_t sizes[] = { 16, RUN_MAX_PEERS };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t n = sizes[i];
		r->npeers = n;
		for (uint32_t k = NPEERS; k < n; k++) {
			r->peers[k] = r->peers[k % NPEERS];
			r->peers[k].index = k;
			r->peers[k].addr = wire_peer_ip(k);
		}
		char *s;
		summary(r, &s);
		size_t lines = count(s, "\n");
		print_message("summary of %u peers: %zu lines\n", n, lines);
		assert_true(lines <= 30);
		if (n == RUN_MAX_PEERS) {
			/* Cut to fit, but the minority and the crashed peers make it. */
			assert_non_null(strstr(s, "\n*  62  127.0.0.64 "));
			assert_non_null(strstr(s, "\n   63  127.0.0.65 "));
			assert_non_null(strstr(s, "more peers"));
		}
		free(s);
	}
	/* More failed peers than rows: the cut-off line must not call the rest fine. */
	for (uint32_t k = 0; k < RUN_MAX_PEERS; k++)
		r->peers[k].exit_status = 128 + 9;
	char *s;
	summary(r, &s);
	assert_non_null(strstr(s, "(44 more peers, 44 of them failed; see the report)"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_report_json_has_top_level_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_has_peer_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_exit_status_null_while_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_has_link_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_gives_each_link_its_senders_rtt_or_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_says_when_the_wire_fell_behind_and_by_how_much, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_report_json_has_desync_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_empty_field_and_bundle_are_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_desync_is_null_when_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_writes_64bit_values_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_replaces_whole_file_and_leaves_no_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_into_missing_directory_fails_naming_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_report_json_failed_rename_removes_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_through_symlink_writes_its_target_and_keeps_the_link, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_report_json_to_fifo_writes_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_to_fifo_without_reader_fails_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_to_dev_null_writes_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_and_junit_to_dev_full_fail_with_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_json_to_directory_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_junit_counts_testcases_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_junit_escapes_problem_string, setup, teardown),
		cmocka_unit_test(test_report_xml_escape_escapes_markup_and_controls),
		cmocka_unit_test_setup_teardown(test_report_junit_into_missing_directory_fails_naming_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_report_summary_leads_with_desync_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_summary_clean_and_failed_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_summary_stays_short_with_many_peers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
