// SPDX-License-Identifier: MIT
// The fuzzers' crash inputs, their seeds and hand-made nasty inputs, replayed through the fuzz checks without libFuzzer.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken property fails the test instead of aborting, as it does under libFuzzer. */
#define FZ_FAIL(...) fail_msg(__VA_ARGS__)
#include "fuzz/check_cli_args.h"
#include "fuzz/check_control.h"
#include "fuzz/check_enet_label.h"
#include "fuzz/check_proto.h"
#include "fuzz/check_scenario.h"
#include "fuzz/check_wire_opts.h"

/* ---- helpers ---- */

/*
 * Runs data through target's check and returns its verdict; *why gets the
 * reason. Verdicts: scenario an fz_scn_verdict; control, cli_args and
 * wire_opts 1 accepted, 0 refused; proto bit 0 accepted as sent, bit 1
 * accepted with its CRC made right, and why "<as sent>|<CRC made right>";
 * enet_label the label.
 */
static int replay(const char *target, const uint8_t *data, size_t len, char *why, size_t whylen)
{
	why[0] = '\0';
	if (strcmp(target, "scenario") == 0)
		return fz_scenario_one(data, len, why, whylen);
	if (strcmp(target, "control") == 0) {
		const char *w;
		int v = fz_control_one(data, len, &w);
		snprintf(why, whylen, "%s", w ? w : "");
		return v;
	}
	if (strcmp(target, "proto") == 0) {
		struct fz_nc_verdict v = fz_proto_one(data, len);
		snprintf(why, whylen, "%s|%s", v.why_raw ? v.why_raw : "", v.why_fixed ? v.why_fixed : "");
		return v.raw | v.fixed << 1;
	}
	if (strcmp(target, "enet_label") == 0)
		return (int)fz_enet_label_one(data, len);
	if (strcmp(target, "cli_args") == 0)
		return fz_cli_args_one(data, len, why, whylen);
	if (strcmp(target, "wire_opts") == 0)
		return fz_wire_opts_one(data, len, why, whylen);
	fail_msg("no fuzz target '%s'", target);
	return -1;
}

/* Replays one input and asserts its verdict and, when want_why is set, that the reason mentions it. */
static void expect(const char *target, const char *name, const void *data, size_t len, int want, const char *want_why)
{
	char why[1024];
	int got = replay(target, data, len, why, sizeof why);
	if (got != want)
		fail_msg("%s/%s: verdict %d, expected %d (%s)", target, name, got, want, why);
	if (want_why && !strstr(why, want_why))
		fail_msg("%s/%s: the reason '%s' does not mention '%s'", target, name, why, want_why);
}

/* FILLED("head", n, c, "tail", &len): head may hold NULs. */
#define FILLED(head, n, c, tail, len) filled(head, sizeof head - 1, n, c, tail, len)
#define EXPECT_TEXT(target, name, text, want, why) expect(target, name, text, sizeof text - 1, want, why)
#define EXPECT_BYTES(target, name, bytes, want, why) expect(target, name, bytes, sizeof bytes, want, why)

/* The source root, from this file's own path: "<root>/tests/test_fuzz_regressions.c". */
static void source_path(char *out, size_t len, const char *rel)
{
	const char *here = __FILE__, *tail = "tests/test_fuzz_regressions.c";
	size_t n = strlen(here), t = strlen(tail);
	assert_true(n >= t && strcmp(here + n - t, tail) == 0);
	snprintf(out, len, "%.*s%s", (int)(n - t), here, rel);
}

/* The whole file in a buffer of exactly its size (so that ASan sees a read past it). The caller frees it. */
static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	uint8_t *buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* head (h bytes), n copies of c, then tail. The caller frees it. */
static uint8_t *filled(const void *head, size_t h, size_t n, char c, const char *tail, size_t *len)
{
	size_t t = strlen(tail);
	uint8_t *buf = malloc(h + n + t);
	assert_non_null(buf);
	memcpy(buf, head, h);
	memset(buf + h, c, n);
	memcpy(buf + h + n, tail, t);
	*len = h + n + t;
	return buf;
}

static const char *const targets[] = { "scenario", "control", "proto", "enet_label", "cli_args", "wire_opts" };

/* ---- what the fuzzers found ---- */

/*
 * Every file under tests/fuzz/regressions/<target>/, with the verdict it
 * must get now. A new crash input goes there and here, with a line on what
 * it broke.
 */
static const struct {
	const char *target, *file;
	int verdict;
	const char *why;
} stored[] = {
	/* fuzz_scenario, in 11 s: a '\r' inside peer-cmd loads (lines end only at '\n'), but scn_write_resolved()
	 * refused it, so a desync bundle could not be written ("the scenario could not be written out"). */
	{ "scenario", "peer-cmd-with-cr", FZ_SCN_CHECKED, NULL },
};

static void test_fuzz_regressions_stored_crash_inputs_get_their_verdict(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof stored / sizeof stored[0]; k++) {
		char rel[256], path[1024];
		size_t len;
		snprintf(rel, sizeof rel, "tests/fuzz/regressions/%s/%s", stored[k].target, stored[k].file);
		source_path(path, sizeof path, rel);
		uint8_t *data = read_all(path, &len);
		expect(stored[k].target, stored[k].file, data, len, stored[k].verdict, stored[k].why);
		free(data);
	}
}

static void test_fuzz_regressions_every_stored_input_is_listed(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		char rel[256], dir[1024];
		snprintf(rel, sizeof rel, "tests/fuzz/regressions/%s", targets[t]);
		source_path(dir, sizeof dir, rel);
		DIR *d = opendir(dir);
		if (!d)
			continue; /* nothing found for this target */
		for (struct dirent *e; (e = readdir(d));) {
			if (e->d_name[0] == '.')
				continue;
			bool listed = false;
			for (size_t k = 0; k < sizeof stored / sizeof stored[0]; k++)
				listed = listed || (strcmp(stored[k].target, targets[t]) == 0 &&
						    strcmp(stored[k].file, e->d_name) == 0);
			if (!listed)
				fail_msg("%s/%s has no verdict in this file's table", dir, e->d_name);
		}
		closedir(d);
	}
}

/* The seed corpora are valid inputs: each is accepted (the ENet headers are of every kind, so only replayed). */
static void test_fuzz_regressions_every_seed_is_accepted(void **state)
{
	(void)state;
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		const char *target = targets[t];
		int want = strcmp(target, "scenario") == 0 ? FZ_SCN_CHECKED : strcmp(target, "proto") == 0 ? 3 : 1;
		char rel[256], dir[1024], path[1536];
		snprintf(rel, sizeof rel, "tests/fuzz/corpus/%s", target);
		source_path(dir, sizeof dir, rel);
		DIR *d = opendir(dir);
		if (!d)
			fail_msg("cannot open %s", dir);
		int n = 0;
		for (struct dirent *e; (e = readdir(d));) {
			if (e->d_name[0] == '.')
				continue;
			size_t len;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			uint8_t *data = read_all(path, &len);
			if (strcmp(target, "enet_label") == 0) {
				char why[8];
				replay(target, data, len, why, sizeof why);
			} else {
				expect(target, e->d_name, data, len, want, NULL);
			}
			free(data);
			n++;
		}
		closedir(d);
		if (n == 0)
			fail_msg("%s has no seeds", dir);
	}
}

/* ---- hand-made nasty inputs, one test per decoder ---- */

static void test_fuzz_regressions_scenario_nasty_files_are_refused_or_round_trip(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf;
	EXPECT_TEXT("scenario", "empty", "", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a byte order mark alone", "\xEF\xBB\xBF", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a NUL byte", "[session]\npeers = 3\0\n", FZ_SCN_REFUSED, ":2: contains a NUL byte");
	EXPECT_TEXT("scenario", "a truncated header", "[session]\n[link 0-", FZ_SCN_REFUSED, ":2: '[link 0-'");
	EXPECT_TEXT("scenario", "a key without a value", "[session]\npeers\n", FZ_SCN_REFUSED, ":2: 'peers' is not");
	EXPECT_TEXT("scenario", "a huge peer count", "[session]\npeers = 99999999999999999999999\n", FZ_SCN_REFUSED,
		    ":2: peers:");
	EXPECT_TEXT("scenario", "an infinite time", "[at 1e999]\nheal = all\n", FZ_SCN_REFUSED, ":1: [at 1e999]");
	EXPECT_TEXT("scenario", "a peer beyond the count", "[link 2->5]\nloss = 1\n", FZ_SCN_LOADED,
		    ":2: [link 2->5] loss: there is no peer 5");

	buf = FILLED("[", 64, 'x', "]\n", &len);
	expect("scenario", "a section name of 64 characters", buf, len, FZ_SCN_REFUSED, ":1: [xxxx");
	free(buf);
	buf = FILLED("[session]\npeer-cmd = ", 5000, 'a', "\n", &len);
	expect("scenario", "a line of 5000 characters", buf, len, FZ_SCN_REFUSED, ":2: the line is longer than 4096");
	free(buf);
	buf = FILLED("[session]\npeer-cmd = ", 4060, 'a', "\n", &len);
	expect("scenario", "a peer-cmd of 4060 characters", buf, len, FZ_SCN_REFUSED, "longer than 3999");
	free(buf);
	buf = FILLED("[link *]\nlatency = ", 3000, '1', "\n", &len);
	expect("scenario", "a value of 3000 digits", buf, len, FZ_SCN_REFUSED, ":2: latency: the value is longer than 127");
	free(buf);
	buf = FILLED("[session]\n", 300, 'k', " = 1\n", &len);
	expect("scenario", "a key of 300 characters", buf, len, FZ_SCN_REFUSED, ":2: ");
	free(buf);
	buf = FILLED("", 1u << 20, '\n', "", &len);
	expect("scenario", "1 MiB of empty lines", buf, len, FZ_SCN_CHECKED, NULL);
	free(buf);
	buf = FILLED("", (1u << 20) + 1, '\n', "", &len);
	expect("scenario", "a file over 1 MiB", buf, len, FZ_SCN_REFUSED, "is larger than 1048576 bytes");
	free(buf);

	/* More entries than the tables hold: refused at the first one too many, never written past. */
	char *text = malloc(1 << 16);
	assert_non_null(text);
	int n = snprintf(text, 1 << 16, "[session]\npeers = 64\n");
	for (int k = 0; k <= SCN_MAX_OVERRIDES; k++)
		n += snprintf(text + n, (size_t)(1 << 16) - (size_t)n, "[link %d->%d]\nloss = 1\n", k % 64, (k + 1) % 64);
	expect("scenario", "257 overrides", text, (size_t)n, FZ_SCN_REFUSED, "more than 256 link overrides");
	n = snprintf(text, 1 << 16, "[at 1]\n");
	for (int k = 0; k <= SCN_MAX_EVENTS; k++)
		n += snprintf(text + n, (size_t)(1 << 16) - (size_t)n, "kill = %d\n", k % 4);
	expect("scenario", "257 events", text, (size_t)n, FZ_SCN_REFUSED, "more than 256 timeline events");
	n = snprintf(text, 1 << 16, "[link *]\n");
	for (int k = 0; k < 40; k++)
		n += snprintf(text + n, (size_t)(1 << 16) - (size_t)n, "loss = %d\n", k);
	expect("scenario", "a repeated [link *] key", text, (size_t)n, FZ_SCN_REFUSED, ":3: loss: already set");
	free(text);

	/*
	 * Accepted values the resolved writer once refused or wrote unreadably: a '\r' inside a value, a
	 * value starting with ';' (written "key = ;x" it would read back as a comment), and times that scale
	 * to a subnormal double, printed as "1e-309", which strtod's ERANGE then refused on reading back.
	 */
	EXPECT_TEXT("scenario", "a peer-cmd with a '\\r' inside", "[session]\npeer-cmd = a\rb\n", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a peer-cmd starting with ';'", "[session]\npeer-cmd =;x\n", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a subnormal time", "[at 1e-306ms]\nkill = 1\n", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a subnormal latency", "[link *]\nlatency = 1e-306us\n", FZ_SCN_CHECKED, NULL);
	EXPECT_TEXT("scenario", "a partition split by '\\r'", "[at 1]\npartition = 0 1\r|2 3\n", FZ_SCN_CHECKED, NULL);
}

static void test_fuzz_regressions_control_refuses_nasty_messages(void **state)
{
	(void)state;
#define H(t) 'L', 'C', CTL_VERSION, (t)
	static const uint8_t two[] = { 'L', 'C' }, version[] = { 'L', 'C', 2, CTL_START }, magic[] = { 'C', 'L', 1, 8 };
	static const uint8_t type0[] = { H(0) }, type_count[] = { H(CTL_TYPE_COUNT) }, type255[] = { H(255) };
	static const uint8_t start[] = { H(CTL_START) }, start_trailing[] = { H(CTL_START), 0 };
	static const uint8_t hello_short[] = { H(CTL_HELLO), 1, 0, 1, 0, 0, 127, 0x10, 0x9c, 1, 0, 0 };
	static const uint8_t hello_index64[] = { H(CTL_HELLO), 64, 0, 1, 0, 0, 127, 0x10, 0x9c, 1, 0, 0, 0 };
	static const uint8_t state_255_ships[] = { H(CTL_STATE), 1, 0, 0, 0, 255, 0 };
	static const uint8_t state_no_counts[] = { H(CTL_STATE), 1, 0, 0, 0 };
	static const uint8_t state_orphan_bullet[] = { H(CTL_STATE), 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 2, 0, 0, 0, 0 };
	static const uint8_t desync_0[] = { H(CTL_DESYNC), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t desync_65[] = { H(CTL_DESYNC), 1, 0, 0, 0, 65, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t desync_mask[] = { H(CTL_DESYNC), 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t dumped_huge[] = { H(CTL_DUMPED), 1, 0, 0, 0, 1, 0xff, 0xff, 0 };
	static const uint8_t dumped_not_ok[] = { H(CTL_DUMPED), 1, 0, 0, 0, 0, 1, 0, 0xaa };
	static const uint8_t bye_3[] = { H(CTL_BYE), 3 }, input_bit[] = { H(CTL_INPUT), 0x10, 0 };
	static const uint8_t peers_0[] = { H(CTL_PEERS), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 };
	static const uint8_t inputs_0[] = { H(CTL_INPUTS), 0, 0, 0, 0, 0 }, inputs_17[] = { H(CTL_INPUTS), 0, 0, 0, 0, 17 };
	expect("control", "empty", two, 0, 0, "too short");
	EXPECT_BYTES("control", "two bytes", two, 0, "too short");
	EXPECT_BYTES("control", "another version", version, 0, "bad version");
	EXPECT_BYTES("control", "swapped magic", magic, 0, "bad magic");
	EXPECT_BYTES("control", "type 0", type0, 0, "unknown type");
	EXPECT_BYTES("control", "the first type past the last", type_count, 0, "unknown type");
	EXPECT_BYTES("control", "type 255", type255, 0, "unknown type");
	EXPECT_BYTES("control", "START", start, 1, NULL);
	EXPECT_BYTES("control", "START and a byte", start_trailing, 0, "trailing bytes");
	EXPECT_BYTES("control", "HELLO a byte short", hello_short, 0, "truncated");
	EXPECT_BYTES("control", "HELLO index 64", hello_index64, 0, "bad field value");
	EXPECT_BYTES("control", "STATE of 255 ships", state_255_ships, 0, "count out of range");
	EXPECT_BYTES("control", "STATE without counts", state_no_counts, 0, "truncated");
	EXPECT_BYTES("control", "STATE bullet of no ship", state_orphan_bullet, 0, "bad field value");
	EXPECT_BYTES("control", "DESYNC of no peer", desync_0, 0, "count out of range");
	EXPECT_BYTES("control", "DESYNC of 65 peers", desync_65, 0, "count out of range");
	EXPECT_BYTES("control", "DESYNC knows peer 1 of 1", desync_mask, 0, "bad field value");
	EXPECT_BYTES("control", "DUMPED of 65535 bytes", dumped_huge, 0, "count out of range");
	EXPECT_BYTES("control", "DUMPED not ok with data", dumped_not_ok, 0, "bad field value");
	EXPECT_BYTES("control", "BYE reason 3", bye_3, 0, "bad field value");
	EXPECT_BYTES("control", "INPUT bit 4", input_bit, 0, "bad field value");
	EXPECT_BYTES("control", "PEERS of no peer", peers_0, 0, "count out of range");
	EXPECT_BYTES("control", "INPUTS of none", inputs_0, 0, "count out of range");
	EXPECT_BYTES("control", "INPUTS of 17", inputs_17, 0, "count out of range");

	/* The largest DUMPED (len 0x3000), then as much as ctl_recv() reads: 4 KiB of trailing bytes. */
	size_t len;
	uint8_t *big = FILLED("LC\x01\x06\x01\x00\x00\x00\x01\x00\x30", CTL_MAX_MSG + 1 - 11, 0x77, "", &len);
	expect("control", "DUMPED of 12288 bytes", big, CTL_HEADER_SIZE + 7 + CTL_DUMP_MAX, 1, NULL);
	expect("control", "DUMPED and 4 KiB more", big, len, 0, "trailing bytes");
	free(big);
#undef H
}

/* A netcode packet: the header (CRC left zero; fz_proto_one makes it right), then body. */
static size_t nc_bytes(uint8_t *out, uint8_t type, uint8_t sender, const uint8_t *body, size_t n)
{
	static const uint8_t head[NC_HEADER_LEN] = { 'N', 'C', NC_PROTO_VERSION, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	memcpy(out, head, sizeof head);
	out[3] = type;
	out[16] = sender;
	memcpy(out + NC_HEADER_LEN, body, n);
	return NC_HEADER_LEN + n;
}

static void test_fuzz_regressions_proto_refuses_nasty_packets(void **state)
{
	(void)state;
	uint8_t p[NC_MAX_PACKET + 8] = { 0 };
	static const uint8_t one[] = { 4 }, zero_players[] = { 0 }, many_players[] = { 17 };
	uint8_t input[30 + NC_MAX_INPUTS_PER_PACKET + 1 + 12 * 9] = { 0 };
	size_t n;
	/* fixed verdicts: 3 accepted as sent and fixed, 2 only with its CRC made right, 0 neither. */
	expect("proto", "empty", p, 0, 0, "truncated header|truncated header");
	n = nc_bytes(p, NC_PKT_HELLO, 0, one, 0);
	expect("proto", "a header short", p, n - 1, 0, "truncated header|truncated header");
	n = nc_bytes(p, NC_PKT_HELLO, 0, one, sizeof one);
	expect("proto", "HELLO with a zero CRC", p, n, 2, "bad checksum|");
	fz_nc_fix_crc(p, n);
	expect("proto", "HELLO", p, n, 3, NULL);
	p[0] = 'n';
	expect("proto", "bad magic", p, n, 0, "bad magic|bad magic");
	n = nc_bytes(p, NC_PKT_HELLO, 0, one, sizeof one);
	p[2] = NC_PROTO_VERSION + 1;
	expect("proto", "bad version", p, n, 0, "bad version|bad version");
	n = nc_bytes(p, 0, 0, one, sizeof one);
	expect("proto", "type 0", p, n, 0, "unknown type|unknown type");
	n = nc_bytes(p, NC_PKT_TYPE_COUNT, 0, one, sizeof one);
	expect("proto", "type 4", p, n, 0, "unknown type|unknown type");
	n = nc_bytes(p, NC_PKT_HELLO, NC_MAX_PLAYERS, one, sizeof one);
	expect("proto", "sender 16", p, n, 0, "|bad sender");
	n = nc_bytes(p, NC_PKT_HELLO, 0, zero_players, sizeof zero_players);
	expect("proto", "HELLO of no player", p, n, 0, "|bad player count");
	n = nc_bytes(p, NC_PKT_HELLO, 0, many_players, sizeof many_players);
	expect("proto", "HELLO of 17 players", p, n, 0, "|bad player count");
	n = nc_bytes(p, NC_PKT_HELLO, 0, one, 0);
	expect("proto", "HELLO without its byte", p, n, 0, "|truncated");
	uint8_t hello_more[] = { 4, 0 };
	n = nc_bytes(p, NC_PKT_HELLO, 0, hello_more, sizeof hello_more);
	expect("proto", "HELLO and a byte", p, n, 0, "|trailing bytes");

	/* INPUT: 28 bytes of fields, count at [28], inputs, nchecksums, checksums. */
	n = nc_bytes(p, NC_PKT_INPUT, 1, input, 30);
	expect("proto", "INPUT of nothing", p, n, 2, NULL);
	expect("proto", "INPUT cut before nchecksums", p, n - 1, 0, "|truncated");
	input[28] = NC_MAX_INPUTS_PER_PACKET + 1;
	n = nc_bytes(p, NC_PKT_INPUT, 1, input, sizeof input);
	expect("proto", "INPUT of 65 inputs", p, n, 0, "|too many inputs");
	input[28] = 255;
	expect("proto", "INPUT of 255 inputs", p, n, 0, "|too many inputs");
	input[28] = 0;
	input[29] = NC_MAX_CHECKSUMS_PER_PACKET + 1;
	n = nc_bytes(p, NC_PKT_INPUT, 1, input, 30 + 12 * 9);
	expect("proto", "INPUT of 9 checksums", p, n, 0, "|too many checksums");
	input[29] = NC_MAX_CHECKSUMS_PER_PACKET;
	n = nc_bytes(p, NC_PKT_INPUT, 1, input, 30 + 12 * 8 - 1);
	expect("proto", "INPUT a checksum byte short", p, n, 0, "|truncated");

	/* DISCONNECT: lost, last_frame, start, count, inputs. */
	uint8_t disc[10 + 3] = { NC_MAX_PLAYERS, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3 };
	n = nc_bytes(p, NC_PKT_DISCONNECT, 1, disc, sizeof disc);
	expect("proto", "DISCONNECT of player 16", p, n, 0, "|bad player");
	disc[0] = 2;
	n = nc_bytes(p, NC_PKT_DISCONNECT, 1, disc, sizeof disc);
	expect("proto", "DISCONNECT", p, n, 2, NULL);
	expect("proto", "DISCONNECT an input short", p, n - 1, 0, "|truncated");
	disc[9] = 200;
	n = nc_bytes(p, NC_PKT_DISCONNECT, 1, disc, sizeof disc);
	expect("proto", "DISCONNECT of 200 inputs", p, n, 0, "|too many inputs");

	memset(p, 0, sizeof p);
	n = nc_bytes(p, NC_PKT_INPUT, 1, input, 0);
	expect("proto", "a packet of 513 bytes", p, NC_MAX_PACKET + 1, 0, "oversized|oversized");
}

static void test_fuzz_regressions_enet_label_takes_any_bytes(void **state)
{
	(void)state;
	static const uint8_t one[] = { 0x80 }, sent_time_short[] = { 0x80, 0, 1, 2, 6, 0, 0 };
	static const uint8_t no_sent_time[] = { 0x00, 0, 0x86, 0, 0, 1, 0, 2, 0xaa, 0xbb };
	static const uint8_t reliable_short[] = { 0x00, 0, 6, 0, 0, 1 }, compressed[] = { 0x40, 0, 6, 0, 0, 1, 9, 9 };
	static const uint8_t cmd15[] = { 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff }, nul[] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t checksum_then_ping[] = { 0x00, 0x01, 0xca, 0xfe, 0xba, 0xbe, 0x85, 0xff, 0, 1 };
	expect("enet_label", "empty", one, 0, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "one byte", one, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "sent time, a byte short", sent_time_short, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "no sent time", no_sent_time, WIRE_LABEL_RELIABLE, NULL);
	EXPECT_BYTES("enet_label", "a SEND_RELIABLE cut short", reliable_short, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "a checksum, then a PING", checksum_then_ping, WIRE_LABEL_PING, NULL);
	EXPECT_BYTES("enet_label", "compressed", compressed, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "command 15, every bit but the flags", cmd15, WIRE_LABEL_NONE, NULL);
	EXPECT_BYTES("enet_label", "NUL bytes", nul, WIRE_LABEL_NONE, NULL);
	size_t len;
	uint8_t *big = FILLED("\x00\x00", 65536, 0x05, "", &len);
	expect("enet_label", "64 KiB of 0x05, PINGs on a data channel", big, len, WIRE_LABEL_NONE, NULL);
	for (size_t at = 2; at + 4 <= len; at += 4)
		memcpy(big + at, "\x85\xff\x00\x01", 4);
	expect("enet_label", "64 KiB of PINGs", big, len, WIRE_LABEL_PING, NULL);
	free(big);
}

static void expect_cli(const char *value, size_t len, uint8_t parser, uint8_t param, int want, const char *why)
{
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, value, len);
	buf[0] = parser;
	buf[1] = param;
	expect("cli_args", value + 2, buf, len, want, why);
	free(buf);
}

#define EXPECT_CLI(parser, param, value, want, why) \
	expect_cli("\x00\x00" value, sizeof "\x00\x00" value - 1, parser, param, want, why)

static void test_fuzz_regressions_cli_args_refuse_nasty_values(void **state)
{
	(void)state;
	EXPECT_CLI(FZ_CLI_PCT, 0, "nan", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, "inf", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, "1e999", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, "0x10", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, " 5", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, "5 ", 0, "is not a percentage");
	EXPECT_CLI(FZ_CLI_PCT, 0, "100.0000001", 0, "between 0 and 100");
	EXPECT_CLI(FZ_CLI_PCT, 0, "-0", 1, NULL);
	EXPECT_CLI(FZ_CLI_PCT, 0, "5\0junk after a NUL", 1, NULL);
	EXPECT_CLI(FZ_CLI_PCT, 0, "1e-400", 1, NULL); /* underflows to 0: a number, and in range */
	EXPECT_CLI(FZ_CLI_MS, 0, "1e308s", 0, "between 0 and 60000");
	EXPECT_CLI(FZ_CLI_MS, 0, "2 s", 0, "unknown unit");
	EXPECT_CLI(FZ_CLI_SECONDS, 0, "1e305h", 0, "between 0 and 86400");
	EXPECT_CLI(FZ_CLI_SECONDS, 0, "-1ms", 0, "between 0 and 86400");
	EXPECT_CLI(FZ_CLI_KBIT, 0, "0.5", 0, "0 (unlimited) or between 1");
	EXPECT_CLI(FZ_CLI_KBIT, 0, "100.1gbit", 0, "0 (unlimited) or between 1");
	EXPECT_CLI(FZ_CLI_U64, 0, "18446744073709551616", 0, "not a whole number");
	EXPECT_CLI(FZ_CLI_U64, 0, "-1", 0, "not a whole number");
	EXPECT_CLI(FZ_CLI_U64, 0, "+1", 0, "not a whole number");
	EXPECT_CLI(FZ_CLI_U32, 0, "4294967296", 0, "out of range");
	EXPECT_CLI(FZ_CLI_BOOL, 0, "tru", 0, "not true or false");
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 4, "0->0", 0, "is not a link");
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 4, "0->4", 0, "is not a link");
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 4, "0-->1", 0, "is not a link");
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 4, "* *", 0, "is not a link");
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 0, "*", 1, NULL);
	EXPECT_CLI(FZ_CLI_LINK_SPEC, 255, "99999999999999999999->1", 0, "is not a link");
	EXPECT_CLI(FZ_CLI_GROUPS, 4, "0 0 | 1 2 3", 0, "appears twice");
	EXPECT_CLI(FZ_CLI_GROUPS, 4, "0 1 |", 0, "empty group");
	EXPECT_CLI(FZ_CLI_GROUPS, 4, "0 1 | 2", 0, "peer 3 is in no group");
	EXPECT_CLI(FZ_CLI_GROUPS, 0, "", 0, "empty group");
	EXPECT_CLI(FZ_CLI_GROUPS, 255, "", 0, "empty group");
	EXPECT_CLI(FZ_CLI_PEER_AT, 4, "4@1", 0, "is not PEER@FRAME");
	EXPECT_CLI(FZ_CLI_PEER_AT, 4, "1@", 0, "is not PEER@FRAME");
	EXPECT_CLI(FZ_CLI_PEER_AT, 4, "1@18446744073709551616", 0, "bad frame number");
	EXPECT_CLI(FZ_CLI_PEER_AT, 4, "1@-1", 0, "is not PEER@FRAME");

	size_t len;
	uint8_t *buf = FILLED("\x04\x00", 5000, '9', "", &len);
	/* The error quotes the value, cut to the error buffer. */
	expect("cli_args", "5000 nines as a u64", buf, len, 0, "--fuzz: '9999");
	buf[0] = FZ_CLI_PCT;
	expect("cli_args", "5000 nines as a percentage", buf, len, 0, "--fuzz: '9999");
	free(buf);
	buf = FILLED("\x06\x04", 5000, ' ', "0 1 | 2 3", &len);
	expect("cli_args", "5000 spaces before groups", buf, len, 1, NULL);
	free(buf);
}

static void test_fuzz_regressions_wire_opts_refuse_nasty_settings(void **state)
{
	(void)state;
	EXPECT_TEXT("wire_opts", "empty", "", 0, "unknown link setting ''");
	EXPECT_TEXT("wire_opts", "a key alone", "0latency", 0, "is not a time in milliseconds");
	EXPECT_TEXT("wire_opts", "an empty value", "0latency=", 0, "is not a time in milliseconds");
	EXPECT_TEXT("wire_opts", "a NUL in the key", "0lat\0ency=5", 0, "unknown link setting 'lat'");
	EXPECT_TEXT("wire_opts", "a NUL in the value", "0latency=5\0junk", 1, NULL);
	EXPECT_TEXT("wire_opts", "no preset", "0preset=moon", 0, "no preset called 'moon'");
	EXPECT_TEXT("wire_opts", "five ge parameters", "0ge=1,2,3,4,5", 0, "more than four parameters");
	EXPECT_TEXT("wire_opts", "an empty ge parameter", "0ge=1,,100", 0, "is not a percentage");
	EXPECT_TEXT("wire_opts", "jitter-corr of 100", "0jitter-corr=100", 0, "must be below 100 percent");
	EXPECT_TEXT("wire_opts", "a burst of half a packet", "0burst=0.5", 0, "at least 1 packet");
	EXPECT_TEXT("wire_opts", "an MTU of 27", "0mtu=27", 0, "at least 28 bytes");
	EXPECT_TEXT("wire_opts", "a queue of 0", "0queue=0", 0, "out of range");
	EXPECT_TEXT("wire_opts", "loss over ge", "2loss=1", 1, NULL);
	EXPECT_TEXT("wire_opts", "an empty list", "1", 0, "has an empty setting");
	EXPECT_TEXT("wire_opts", "an empty item", "1loss=1,,dup=1", 0, "has an empty setting");
	EXPECT_TEXT("wire_opts", "a trailing comma", "1loss=1,", 0, "has an empty setting");
	EXPECT_TEXT("wire_opts", "an item without '='", "1loss=1,dup", 0, "'dup' is not key=value");
	EXPECT_TEXT("wire_opts", "a bad item last", "1loss=1,dup=200", 0, "--fuzz: dup: 200 must be between 0 and 100");
	EXPECT_TEXT("wire_opts", "two presets", "1preset=3g,latency=5,preset=wifi", 1, NULL);

	size_t len;
	uint8_t *buf = FILLED("0ge=", 200, '1', "", &len);
	expect("wire_opts", "ge of 200 characters", buf, len, 0, "is too long");
	free(buf);
	buf = FILLED("1", 20000, ',', "", &len);
	expect("wire_opts", "20000 commas", buf, len, 0, "--fuzz: ',,,,");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_regressions_stored_crash_inputs_get_their_verdict),
		cmocka_unit_test(test_fuzz_regressions_every_stored_input_is_listed),
		cmocka_unit_test(test_fuzz_regressions_every_seed_is_accepted),
		cmocka_unit_test(test_fuzz_regressions_scenario_nasty_files_are_refused_or_round_trip),
		cmocka_unit_test(test_fuzz_regressions_control_refuses_nasty_messages),
		cmocka_unit_test(test_fuzz_regressions_proto_refuses_nasty_packets),
		cmocka_unit_test(test_fuzz_regressions_enet_label_takes_any_bytes),
		cmocka_unit_test(test_fuzz_regressions_cli_args_refuse_nasty_values),
		cmocka_unit_test(test_fuzz_regressions_wire_opts_refuse_nasty_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
