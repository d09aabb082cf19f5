// SPDX-License-Identifier: MIT
// The netcode packet decoder: round trips, and refusal of truncated, oversized, corrupted and foreign packets.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "netcode/proto.h"

static struct nc_packet full_input(void)
{
	struct nc_packet p = { .type = NC_PKT_INPUT, .session_id = 0x0123456789abcdefull, .sender = 3 };
	struct nc_input_body *in = &p.u.input;
	in->seq = 77;
	in->ack_frame = 1000;
	in->frame = 1002;
	in->advantage = -3;
	in->ping_ms = 123456;
	in->pong_ms = 123000;
	in->pong_hold_ms = 16;
	in->start = 990;
	in->count = NC_MAX_INPUTS_PER_PACKET;
	for (int i = 0; i < in->count; i++)
		in->inputs[i] = (uint8_t)(i & 15);
	in->nchecksums = NC_MAX_CHECKSUMS_PER_PACKET;
	for (int i = 0; i < in->nchecksums; i++)
		in->checksums[i] = (struct nc_checksum){ (uint32_t)(980 + i), 0xfeedface00000000ull + (uint64_t)i };
	return p;
}

static void test_proto_round_trips_every_type(void **state)
{
	(void)state;
	uint8_t buf[NC_MAX_PACKET];
	struct nc_packet in = full_input(), out;
	const char *why = NULL;
	int len = nc_packet_encode(&in, buf, sizeof buf);
	assert_int_equal(len, NC_HEADER_LEN + 30 + NC_MAX_INPUTS_PER_PACKET + 12 * NC_MAX_CHECKSUMS_PER_PACKET);
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), 0);
	assert_int_equal(out.u.input.advantage, -3);
	assert_memory_equal(&out.u.input, &in.u.input, sizeof in.u.input);

	struct nc_packet h = { .type = NC_PKT_HELLO, .session_id = 9, .sender = 1 };
	h.u.hello.nplayers = 4;
	len = nc_packet_encode(&h, buf, sizeof buf);
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), 0);
	assert_int_equal(out.u.hello.nplayers, 4);

	struct nc_packet d = { .type = NC_PKT_DISCONNECT, .session_id = 9, .sender = 0 };
	d.u.disconnect.lost = 2;
	d.u.disconnect.last_frame = 300;
	d.u.disconnect.start = 290;
	d.u.disconnect.count = 10;
	len = nc_packet_encode(&d, buf, sizeof buf);
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), 0);
	assert_int_equal(out.u.disconnect.last_frame, 300);
	assert_int_equal(out.u.disconnect.count, 10);
}

static void test_proto_refuses_truncated_and_oversized(void **state)
{
	(void)state;
	uint8_t buf[NC_MAX_PACKET + 8];
	struct nc_packet in = full_input(), out;
	const char *why;
	int len = nc_packet_encode(&in, buf, sizeof buf);
	for (int cut = 0; cut < len; cut++)
		assert_int_equal(nc_packet_decode(buf, (size_t)cut, &out, &why), -1);
	assert_int_equal(nc_packet_decode(buf, 5, &out, &why), -1);
	assert_string_equal(why, "truncated header");
	assert_int_equal(nc_packet_decode(buf, NC_MAX_PACKET + 1, &out, &why), -1);
	assert_string_equal(why, "oversized");
	buf[len] = 0;
	assert_int_equal(nc_packet_decode(buf, (size_t)len + 1, &out, &why), -1);
}

static void test_proto_refuses_wrong_version_magic_and_type(void **state)
{
	(void)state;
	uint8_t buf[NC_MAX_PACKET];
	struct nc_packet in = full_input(), out;
	const char *why;
	int len = nc_packet_encode(&in, buf, sizeof buf);
	buf[2] = NC_PROTO_VERSION + 1;
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), -1);
	assert_string_equal(why, "bad version");
	buf[2] = NC_PROTO_VERSION;
	buf[0] = 'X';
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), -1);
	assert_string_equal(why, "bad magic");
	buf[0] = 'N';
	buf[3] = NC_PKT_TYPE_COUNT;
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), -1);
	assert_string_equal(why, "unknown type");
}

static void test_proto_refuses_every_single_bit_flip(void **state)
{
	(void)state;
	uint8_t buf[NC_MAX_PACKET];
	struct nc_packet in = full_input(), out;
	const char *why;
	int len = nc_packet_encode(&in, buf, sizeof buf);
	for (int bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), -1);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(nc_packet_decode(buf, (size_t)len, &out, &why), 0);
}

static void test_proto_encode_refuses_counts_over_limit(void **state)
{
	(void)state;
	uint8_t buf[NC_MAX_PACKET];
	struct nc_packet p = full_input();
	p.u.input.count = NC_MAX_INPUTS_PER_PACKET + 1;
	assert_int_equal(nc_packet_encode(&p, buf, sizeof buf), -1);
	p = full_input();
	assert_int_equal(nc_packet_encode(&p, buf, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_round_trips_every_type),
		cmocka_unit_test(test_proto_refuses_truncated_and_oversized),
		cmocka_unit_test(test_proto_refuses_wrong_version_magic_and_type),
		cmocka_unit_test(test_proto_refuses_every_single_bit_flip),
		cmocka_unit_test(test_proto_encode_refuses_counts_over_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
