// SPDX-License-Identifier: MIT
// Capture: pcap records as the receivers saw them, and the fate log: its records, read back and refused.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/addr.h"
#include "wire/capture.h"

static uint16_t be16(const u_char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_capture_pcap_holds_ipv4_udp_with_valid_header_checksum(void **state)
{
	(void)state;
	char path[64], err[256];
	snprintf(path, sizeof path, "/tmp/loopsim-capture-%d.pcap", (int)getpid());
	struct wire_pcap *pc = wire_pcap_open(path, err, sizeof err);
	assert_non_null(pc);
	const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
	wire_pcap_write(pc, 1700000000123456ull, wire_peer_ip(0), 40000, wire_peer_ip(3), 50000, payload, 5);
	wire_pcap_write(pc, 1700000000223456ull, wire_peer_ip(3), 40003, wire_peer_ip(0), 50001, payload, 0);
	wire_pcap_close(pc);

	char perr[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, perr);
	assert_non_null(p);
	assert_int_equal(pcap_datalink(p), DLT_RAW);
	struct pcap_pkthdr *h;
	const u_char *d;
	assert_int_equal(pcap_next_ex(p, &h, &d), 1);
	assert_int_equal(h->ts.tv_sec, 1700000000);
	assert_int_equal(h->ts.tv_usec, 123456);
	assert_int_equal(h->caplen, 33);
	assert_int_equal(be16(d + 2), 33);       /* IP total length */
	assert_int_equal(be16(d + 24), 13);      /* UDP length */
	assert_int_equal(be16(d + 20), 40000);
	assert_int_equal(be16(d + 22), 50000);
	assert_memory_equal(d + 28, payload, 5);
	/* The ones' complement sum over a valid IPv4 header is 0xffff. */
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += be16(d + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	assert_int_equal(pcap_next_ex(p, &h, &d), 1);
	assert_int_equal(h->caplen, 28);
	assert_int_equal(pcap_next_ex(p, &h, &d), -2); /* end of file */
	pcap_close(p);
	unlink(path);
}

static void test_capture_pcap_open_names_the_file_on_failure(void **state)
{
	(void)state;
	char err[256];
	assert_null(wire_pcap_open("/nonexistent-dir/x.pcap", err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent-dir/x.pcap"));
}

static bool is_char_device(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

static void test_capture_pcap_to_dev_full_reports_enospc_at_close(void **state)
{
	(void)state;
	if (!is_char_device("/dev/full"))
		skip();
	char err[256];
	/* /dev/full takes the open and stdio's buffer takes the datagram: the error can only show at the last flush. */
	struct wire_pcap *pc = wire_pcap_open("/dev/full", err, sizeof err);
	assert_non_null(pc);
	const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
	wire_pcap_write(pc, 1700000000123456ull, wire_peer_ip(0), 40000, wire_peer_ip(1), 50000, payload, 5);
	assert_int_equal(wire_pcap_close(pc), -ENOSPC);
	assert_true(is_char_device("/dev/full"));
}

static void test_capture_pcap_to_fifo_is_written_in_place(void **state)
{
	(void)state;
	char fifo[64], err[256];
	snprintf(fifo, sizeof fifo, "/tmp/loopsim-capture-fifo-%d", (int)getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	struct wire_pcap *pc = wire_pcap_open(fifo, err, sizeof err);
	assert_non_null(pc);
	const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
	wire_pcap_write(pc, 1700000000123456ull, wire_peer_ip(0), 40000, wire_peer_ip(1), 50000, payload, 5);
	assert_int_equal(wire_pcap_close(pc), 0);
	/* The pipe holds it all (the file header, one record header, 33 bytes of packet); the writer has closed. */
	uint8_t buf[256];
	ssize_t n = read(rd, buf, sizeof buf);
	assert_int_equal(n, 24 + 16 + 33);
	uint32_t magic;
	memcpy(&magic, buf, sizeof magic);
	assert_int_equal(magic, 0xa1b2c3d4u);
	struct stat st;
	assert_int_equal(lstat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	close(rd);
	unlink(fifo);
}

static void test_capture_output_open_refuses_a_directory_and_an_unread_fifo(void **state)
{
	(void)state;
	char fifo[64], err[256];
	assert_null(wire_output_open("/tmp", "w", err, sizeof err));
	assert_non_null(strstr(err, "/tmp: "));
	assert_non_null(strstr(err, strerror(EISDIR)));
	snprintf(fifo, sizeof fifo, "/tmp/loopsim-capture-fifo-%d", (int)getpid());
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(wire_output_open(fifo, "w", err, sizeof err)); /* at once: no reader is waited for */
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "no process is reading"));
	unlink(fifo);
}

static void test_capture_output_open_appends_to_a_file_named_by_dev_fd(void **state)
{
	(void)state;
	/* `--fates /dev/stdout >>log`: the log keeps what it had. */
	char path[64], name[64], err[256], buf[64] = "";
	snprintf(path, sizeof path, "/tmp/loopsim-capture-log-%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "head\n", 5), 5);
	snprintf(name, sizeof name, "/dev/fd/%d", fd);
	FILE *f = wire_output_open(name, "w", err, sizeof err);
	assert_non_null(f);
	fputs("tail\n", f);
	assert_int_equal(fclose(f), 0);
	close(fd);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 10);
	fclose(f);
	assert_string_equal(buf, "head\ntail\n");
	unlink(path);
}

static void test_capture_fate_record_formats(void **state)
{
	(void)state;
	char buf[WIRE_FATE_LINE_MAX];
	struct wire_fate f = { .index = 41, .kind = WIRE_FATE_DELIVER, .ncopies = 1 };
	f.copy[0] = (struct wire_copy){ .deliver_at_us = 1000 + 30012, .corrupt_bit = -1 };
	wire_fate_format(buf, sizeof buf, 1000, 0, 2, 64, &f);
	assert_string_equal(buf, "1000\t0\t2\t41\t64\tdeliver\t30012\t-\t-\n");

	f.ncopies = 2;
	f.copy[0].reordered = true;
	f.copy[0].deliver_at_us = 1000;
	f.copy[1] = (struct wire_copy){ .deliver_at_us = 1500, .corrupt_bit = 7 };
	wire_fate_format(buf, sizeof buf, 1000, 3, 1, 8, &f);
	assert_string_equal(buf, "1000\t3\t1\t41\t8\tdeliver\t0\t500\trC7\n");
	f.copy[0].corrupt_bit = 63;
	wire_fate_format(buf, sizeof buf, 1000, 3, 1, 8, &f);
	assert_string_equal(buf, "1000\t3\t1\t41\t8\tdeliver\t0\t500\trc63C7\n");

	struct wire_fate d = { .index = 0, .kind = WIRE_FATE_QUEUE, .ncopies = 0 };
	wire_fate_format(buf, sizeof buf, 5, 1, 0, 1400, &d);
	assert_string_equal(buf, "5\t1\t0\t0\t1400\tqueue\t-\t-\t-\n");
}

static void test_capture_fate_record_reads_back_what_was_written(void **state)
{
	(void)state;
	char buf[WIRE_FATE_LINE_MAX], why[200];
	struct wire_fate f = { .index = 9, .kind = WIRE_FATE_DELIVER, .ncopies = 2 };
	f.copy[0] = (struct wire_copy){ .deliver_at_us = 5000 + 20123, .corrupt_bit = 511, .reordered = false };
	f.copy[1] = (struct wire_copy){ .deliver_at_us = 5000 + 20999, .corrupt_bit = 3 };
	wire_fate_format(buf, sizeof buf, 5000, 2, 0, 64, &f);
	struct wire_fate_record r;
	assert_int_equal(wire_fate_parse(buf, &r, why, sizeof why), 1);
	assert_int_equal(r.t_us, 5000);
	assert_int_equal(r.from, 2);
	assert_int_equal(r.to, 0);
	assert_int_equal(r.index, 9);
	assert_int_equal(r.size, 64);
	assert_int_equal(r.kind, WIRE_FATE_DELIVER);
	assert_int_equal(r.ncopies, 2);
	assert_int_equal(r.delay_us[0], 20123);
	assert_int_equal(r.delay_us[1], 20999);
	assert_int_equal(r.corrupt_bit[0], 511);
	assert_int_equal(r.corrupt_bit[1], 3);
	assert_false(r.reordered);

	/* A drop, a reorder, an old log's flag without an offset, CRLF, spaces for tabs; comments and blanks. */
	assert_int_equal(wire_fate_parse("7\t1\t0\t0\t1400\tqueue\t-\t-\t-\n", &r, why, sizeof why), 1);
	assert_int_equal(r.kind, WIRE_FATE_QUEUE);
	assert_int_equal(r.ncopies, 0);
	assert_int_equal(wire_fate_parse("7 1 0 3 8 deliver 0 - rc\r\n", &r, why, sizeof why), 1);
	assert_true(r.reordered);
	assert_int_equal(r.corrupt_bit[0], WIRE_FATE_BIT_UNKNOWN);
	assert_int_equal(r.corrupt_bit[1], -1);
	assert_int_equal(wire_fate_parse("# t_us\tfrom\n", &r, why, sizeof why), 0);
	assert_int_equal(wire_fate_parse("   \n", &r, why, sizeof why), 0);
	assert_int_equal(wire_fate_parse("", &r, why, sizeof why), 0);
}

static void test_capture_fate_parse_refuses_bad_records_naming_the_field(void **state)
{
	(void)state;
	const struct {
		const char *line, *says;
	} bad[] = {
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-", "8 fields" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-\t-\tx", "more than 9 fields" },
		{ "x\t0\t1\t0\t64\tdeliver\t100\t-\t-", "t_us 'x'" },
		{ "1\t-1\t1\t0\t64\tdeliver\t100\t-\t-", "from '-1'" },
		{ "1\t0\t510\t0\t64\tdeliver\t100\t-\t-", "to '510'" },
		{ "1\t0\t1\t18446744073709551616\t64\tdeliver\t100\t-\t-", "index" },
		{ "1\t0\t1\t0\t65508\tdeliver\t100\t-\t-", "size '65508'" },
		{ "1\t1\t1\t0\t64\tdeliver\t100\t-\t-", "nothing to itself" },
		{ "1\t0\t1\t0\t64\tlost\t100\t-\t-", "fate 'lost'" },
		{ "1\t0\t1\t0\t64\tdeliver\t-\t-\t-", "delay_us '-'" },
		{ "1\t0\t1\t0\t64\tloss\t100\t-\t-", "dropped" },
		{ "1\t0\t1\t0\t64\tloss\t-\t-\tr", "dropped" },
		{ "1\t0\t1\t0\t64\tdeliver\t1e3\t-\t-", "delay_us '1e3'" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t+5\t-", "copy_delay_us '+5'" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-\tx", "none of r, c, C" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-\trr", "twice" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-\tC5", "copy_delay_us is '-'" },
		{ "1\t0\t1\t0\t64\tdeliver\t100\t-\tc512", "inside the 64-byte payload" },
		{ "1\t0\t1\t0\t0\tdeliver\t100\t-\tc", "no bit to flip" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wire_fate_record r;
		char why[200] = "";
		if (wire_fate_parse(bad[i].line, &r, why, sizeof why) != -1 || !strstr(why, bad[i].says))
			fail_msg("'%s': want -1 saying '%s', got '%s'", bad[i].line, bad[i].says, why);
	}
	char longline[400];
	memset(longline, '1', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	struct wire_fate_record r;
	char why[200];
	assert_int_equal(wire_fate_parse(longline, &r, why, sizeof why), -1);
	assert_non_null(strstr(why, "characters"));
}

/* Writes text to a temporary file and loads it as a fate log of npeers: what wire_fate_table_load() returned. */
static int load_text(const char *text, uint32_t npeers, struct wire_fate_table **t, char *err, size_t errlen,
		     char *path, size_t pathlen)
{
	snprintf(path, pathlen, "/tmp/loopsim-fates-%d.tsv", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return wire_fate_table_load(path, npeers, t, err, errlen);
}

static void test_capture_fate_table_finds_each_link_and_n(void **state)
{
	(void)state;
	char err[300], path[64];
	struct wire_fate_table *t;
	int rc = load_text("# loopsim fate log v1 seed=7 peers=3\n"
					      "# t_us\tfrom\tto\tindex\tsize\tfate\tdelay_us\tcopy_delay_us\tflags\n"
					      "10\t0\t1\t1\t64\tloss\t-\t-\t-\n"
					      "5\t0\t1\t0\t64\tdeliver\t20000\t21000\tC9\n"
					      "12\t2\t1\t3\t8\tqueue\t-\t-\t-\n",
					      3, &t, err, sizeof err, path, sizeof path);
	if (rc < 0 || !t)
		fail_msg("%d: %s", rc, err);
	assert_int_equal(wire_fate_table_count(t), 3);
	const struct wire_fate_record *r = wire_fate_table_find(t, 0, 1, 0);
	assert_non_null(r);
	assert_int_equal(r->delay_us[1], 21000);
	assert_int_equal(r->corrupt_bit[1], 9);
	assert_int_equal(wire_fate_table_find(t, 0, 1, 1)->kind, WIRE_FATE_LOSS);
	assert_null(wire_fate_table_find(t, 0, 1, 2));
	assert_null(wire_fate_table_find(t, 1, 0, 0));
	assert_null(wire_fate_table_find(t, 2, 1, 0)); /* a gap: the log had no n = 0 on 2->1 */
	assert_int_equal(wire_fate_table_find(t, 2, 1, 3)->kind, WIRE_FATE_QUEUE);
	assert_null(wire_fate_table_find(t, 7, 1, 0));
	wire_fate_table_free(t);
	wire_fate_table_free(NULL);
	unlink(path);
}

static void test_capture_fate_table_refuses_a_bad_log_naming_file_and_line(void **state)
{
	(void)state;
	char err[300], path[64], want[160];
	struct wire_fate_table *t;
	const struct {
		const char *text, *says;
		int line;
	} bad[] = {
		{ "# ok\n0\t0\t1\t0\t64\tdeliver\t5\t-\t-\n0\t0\t1\t0\t64\tloss\t-\t-\t-\n", "again (first at line 2)", 3 },
		{ "0\t0\t3\t0\t64\tdeliver\t5\t-\t-\n", "this session has 3 peers", 1 },
		{ "# loopsim fate log v1 seed=1 peers=4\n", "a log of 4 peers", 1 },
		{ "# loopsim fate log v9\n", "does not read", 1 },
		{ "\n\n0\t0\t1\tx\t64\tdeliver\t5\t-\t-\n", "index 'x'", 3 },
		{ "0\t0\t1\t99999999999\t64\tdeliver\t5\t-\t-\n", "far beyond", 1 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		int rc = load_text(bad[i].text, 3, &t, err, sizeof err, path, sizeof path);
		snprintf(want, sizeof want, "%s:%d: ", path, bad[i].line);
		if (t || rc != -EINVAL || strncmp(err, want, strlen(want)) != 0 || !strstr(err, bad[i].says))
			fail_msg("case %zu: want '%s...%s', -EINVAL; got '%s', %d", i, want, bad[i].says, err, rc);
	}
	unlink(path);
	t = (struct wire_fate_table *)&t; /* not NULL: the loader must clear it */
	assert_int_equal(wire_fate_table_load("/nonexistent-dir/fates", 3, &t, err, sizeof err), -ENOENT);
	assert_null(t);
	assert_non_null(strstr(err, "/nonexistent-dir/fates: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_pcap_holds_ipv4_udp_with_valid_header_checksum),
		cmocka_unit_test(test_capture_pcap_open_names_the_file_on_failure),
		cmocka_unit_test(test_capture_pcap_to_dev_full_reports_enospc_at_close),
		cmocka_unit_test(test_capture_pcap_to_fifo_is_written_in_place),
		cmocka_unit_test(test_capture_output_open_refuses_a_directory_and_an_unread_fifo),
		cmocka_unit_test(test_capture_output_open_appends_to_a_file_named_by_dev_fd),
		cmocka_unit_test(test_capture_fate_record_formats),
		cmocka_unit_test(test_capture_fate_record_reads_back_what_was_written),
		cmocka_unit_test(test_capture_fate_parse_refuses_bad_records_naming_the_field),
		cmocka_unit_test(test_capture_fate_table_finds_each_link_and_n),
		cmocka_unit_test(test_capture_fate_table_refuses_a_bad_log_naming_file_and_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
