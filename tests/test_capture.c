// SPDX-License-Identifier: MIT
// Capture: pcap records as the receivers saw them, and the fate log's record format.
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
	assert_string_equal(buf, "1000\t3\t1\t41\t8\tdeliver\t0\t500\trC\n");

	struct wire_fate d = { .index = 0, .kind = WIRE_FATE_QUEUE, .ncopies = 0 };
	wire_fate_format(buf, sizeof buf, 5, 1, 0, 1400, &d);
	assert_string_equal(buf, "5\t1\t0\t0\t1400\tqueue\t-\t-\t-\n");
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
