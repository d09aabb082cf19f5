// SPDX-License-Identifier: MIT
// The ENet header labeller: each command kind, with or without sent time and checksum; compressed and malformed bytes.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "wire/enet_label.h"

/* ENet's commands, from enet/protocol.h: fixed size, and where the data length sits (0: no data). */
static const struct {
	uint8_t size, length_at;
} command[16] = {
	[1] = { 8, 0 },  [2] = { 48, 0 }, [3] = { 44, 0 },  [4] = { 8, 0 },   [5] = { 4, 0 },   [6] = { 6, 4 },
	[7] = { 8, 6 },  [8] = { 24, 6 }, [9] = { 8, 6 },   [10] = { 12, 0 }, [11] = { 16, 0 }, [12] = { 24, 6 },
};

/* Channel 0xFF carries connection management; data goes on the channels below. */
static uint8_t channel_of(unsigned cmd)
{
	return (cmd >= 2 && cmd <= 5) || cmd == 10 || cmd == 11 ? 0xFF : 0;
}

/* Writes command `cmd` (flags in its top bits) with `data` bytes of data at d; returns its length. */
static size_t put_command(uint8_t *d, unsigned cmd, uint8_t flags, uint16_t data)
{
	size_t n = command[cmd].size;
	memset(d, 0, n);
	d[0] = (uint8_t)(cmd | flags);
	d[1] = channel_of(cmd);
	if (command[cmd].length_at) {
		d[command[cmd].length_at] = (uint8_t)(data >> 8);
		d[command[cmd].length_at + 1] = (uint8_t)data;
		memset(d + n, 0xA5, data);
		n += data;
	}
	return n;
}

/* ENet's header: peer id 1 with the sent-time flag and a sent time if asked, then a checksum if asked. */
static size_t put_header(uint8_t *d, bool sent_time, bool checksum)
{
	size_t n = 0;
	d[n++] = sent_time ? 0x80 : 0x00;
	d[n++] = 0x01;
	if (sent_time) {
		d[n++] = 0x12;
		d[n++] = 0x34;
	}
	if (checksum) {
		/* A CRC-32 is any 4 bytes; these read as no command at all. */
		static const uint8_t crc[4] = { 0xde, 0xad, 0xbe, 0xef };
		memcpy(d + n, crc, 4);
		n += 4;
	}
	return n;
}

static void test_enet_label_names_the_first_command(void **state)
{
	(void)state;
	static const enum wire_label want[16] = {
		[1] = WIRE_LABEL_ACK,        [2] = WIRE_LABEL_CONNECT,    [3] = WIRE_LABEL_CONNECT,
		[4] = WIRE_LABEL_CONNECT,    [5] = WIRE_LABEL_PING,       [6] = WIRE_LABEL_RELIABLE,
		[7] = WIRE_LABEL_UNRELIABLE, [8] = WIRE_LABEL_RELIABLE,   [9] = WIRE_LABEL_UNRELIABLE,
		[12] = WIRE_LABEL_UNRELIABLE, /* 10 (bandwidth limit) and 11 (throttle) are NONE */
	};
	for (int form = 0; form < 4; form++) {
		bool sent_time = form & 1, checksum = form & 2;
		for (unsigned cmd = 1; cmd <= 12; cmd++) {
			uint8_t d[128];
			size_t n = put_header(d, sent_time, checksum);
			/* The acknowledge flag does not change the kind, nor does a second command behind the first. */
			n += put_command(d + n, cmd, 0x80, 3);
			if (wire_enet_label(d, n) != want[cmd])
				fail_msg("command %u (sent time %d, checksum %d): label %d, expected %d", cmd, sent_time,
					 checksum, (int)wire_enet_label(d, n), (int)want[cmd]);
			n += put_command(d + n, 1, 0, 0);
			assert_int_equal(wire_enet_label(d, n), want[cmd]);
		}
	}
}

/* Bytes as the built-in peers send them: ENet's checksum between the header and the commands. */
static void test_enet_label_reads_the_built_in_peers_checksummed_datagrams(void **state)
{
	(void)state;
	/* peer id 2, CRC, SEND_UNSEQUENCED on channel 0 (group 5, 18 bytes), then the netcode's packet. */
	uint8_t unseq[32] = { 0x00, 0x02, 0x3c, 0x11, 0x9a, 0x07, 0x49, 0x00,
			      0x00, 0x00, 0x00, 0x05, 0x00, 0x12, 'N',  'C' };
	assert_int_equal(wire_enet_label(unseq, sizeof unseq), WIRE_LABEL_UNRELIABLE);
	/* sent time, CRC, an ACK, then a PING. */
	uint8_t ack_ping[20] = { 0x80, 0x02, 0x12, 0x34, 0x55, 0x66, 0x77, 0x88, 0x01, 0xff, 0x00, 0x01,
				 0x00, 0x01, 0x12, 0x00, 0x85, 0xff, 0x00, 0x02 };
	assert_int_equal(wire_enet_label(ack_ping, sizeof ack_ping), WIRE_LABEL_ACK);
	/*
	 * A CRC that happens to read as a PING's header: without the channel
	 * 0xFF that ENet gives a PING, it stays a checksum.
	 */
	unseq[2] = 0x85;
	assert_int_equal(wire_enet_label(unseq, sizeof unseq), WIRE_LABEL_UNRELIABLE);
	/* And a real PING before the command (no checksum) is read as one. */
	uint8_t ping_unseq[32] = { 0x00, 0x02, 0x85, 0xff, 0x00, 0x01, 0x49, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x12 };
	assert_int_equal(wire_enet_label(ping_unseq, sizeof ping_unseq), WIRE_LABEL_PING);
}

static void test_enet_label_refuses_short_compressed_and_malformed(void **state)
{
	(void)state;
	uint8_t d[64] = { 0 };
	size_t n = put_header(d, true, false);
	n += put_command(d + n, 6, 0x80, 2);
	for (size_t len = 0; len < n; len++)
		assert_int_equal(wire_enet_label(d, len), WIRE_LABEL_NONE); /* the data runs past the end */
	assert_int_equal(wire_enet_label(d, n), WIRE_LABEL_RELIABLE);
	assert_int_equal(wire_enet_label(d, n + 1), WIRE_LABEL_NONE); /* a byte that is no command */
	d[1 + 4] = 0xFF;                                               /* data on the management channel */
	assert_int_equal(wire_enet_label(d, n), WIRE_LABEL_NONE);
	d[1 + 4] = 0;
	d[0] |= 0x40; /* compressed: the commands are unreadable */
	assert_int_equal(wire_enet_label(d, n), WIRE_LABEL_NONE);
	assert_int_equal(wire_enet_label(NULL, 0), WIRE_LABEL_NONE);
	uint8_t one = 0; /* the 1-byte announce a peer sends before it is connected */
	assert_int_equal(wire_enet_label(&one, 1), WIRE_LABEL_NONE);
	uint8_t header_only[8] = { 0x00, 0x01, 1, 2, 3, 4 }; /* a checksum and nothing after it */
	assert_int_equal(wire_enet_label(header_only, 6), WIRE_LABEL_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enet_label_names_the_first_command),
		cmocka_unit_test(test_enet_label_reads_the_built_in_peers_checksummed_datagrams),
		cmocka_unit_test(test_enet_label_refuses_short_compressed_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
