// SPDX-License-Identifier: MIT
// The ENet header labeller: each command kind, the sent-time flag, compressed and malformed datagrams.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "wire/enet_label.h"

static void test_enet_label_names_the_first_command(void **state)
{
	(void)state;
	/* peer id 0x8001 (sent time present), sent time, then a command header. */
	uint8_t d[8] = { 0x80, 0x01, 0x12, 0x34, 0, 0, 0, 0 };
	static const struct { uint8_t cmd; enum wire_label want; } cases[] = {
		{ 1, WIRE_LABEL_ACK },       { 2, WIRE_LABEL_CONNECT },  { 3, WIRE_LABEL_CONNECT },
		{ 4, WIRE_LABEL_CONNECT },   { 5, WIRE_LABEL_PING },     { 6, WIRE_LABEL_RELIABLE },
		{ 7, WIRE_LABEL_UNRELIABLE }, { 8, WIRE_LABEL_RELIABLE }, { 9, WIRE_LABEL_UNRELIABLE },
		{ 12, WIRE_LABEL_UNRELIABLE }, { 10, WIRE_LABEL_NONE },  { 0, WIRE_LABEL_NONE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		d[4] = (uint8_t)(cases[i].cmd | 0x80); /* the acknowledge flag does not change the kind */
		assert_int_equal(wire_enet_label(d, sizeof d), cases[i].want);
	}
	/* Without the sent-time flag the command starts at byte 2. */
	uint8_t e[6] = { 0x00, 0x01, 5, 0, 0, 0 };
	assert_int_equal(wire_enet_label(e, sizeof e), WIRE_LABEL_PING);
}

static void test_enet_label_refuses_short_compressed_and_empty(void **state)
{
	(void)state;
	uint8_t d[8] = { 0x80, 0x01, 0x12, 0x34, 6, 0, 0, 0 };
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(wire_enet_label(d, len), WIRE_LABEL_NONE);
	assert_int_equal(wire_enet_label(d, 8), WIRE_LABEL_RELIABLE);
	d[0] |= 0x40; /* compressed: the commands are unreadable */
	assert_int_equal(wire_enet_label(d, 8), WIRE_LABEL_NONE);
	assert_int_equal(wire_enet_label(NULL, 0), WIRE_LABEL_NONE);
	uint8_t one = 0; /* the 1-byte announce a peer sends before it is connected */
	assert_int_equal(wire_enet_label(&one, 1), WIRE_LABEL_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enet_label_names_the_first_command),
		cmocka_unit_test(test_enet_label_refuses_short_compressed_and_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
