// SPDX-License-Identifier: MIT
// Fuzz check of the wire's ENet header labeller: any bytes, a kind that follows from the first command header only.
#ifndef LOOPSIM_FUZZ_CHECK_ENET_LABEL_H
#define LOOPSIM_FUZZ_CHECK_ENET_LABEL_H

#include "fuzz.h"
#include "wire/enet_label.h"

/* The label of each ENet command number (enet/protocol.h), written out again from enet_label.h's groups. */
static const enum wire_label fz_enet_command_label[16] = {
	[1] = WIRE_LABEL_ACK,         [2] = WIRE_LABEL_CONNECT,    [3] = WIRE_LABEL_CONNECT,
	[4] = WIRE_LABEL_CONNECT,     [5] = WIRE_LABEL_PING,       [6] = WIRE_LABEL_RELIABLE,
	[7] = WIRE_LABEL_UNRELIABLE,  [8] = WIRE_LABEL_RELIABLE,   [9] = WIRE_LABEL_UNRELIABLE,
	[12] = WIRE_LABEL_UNRELIABLE, /* 0, 10 (bandwidth limit), 11 (throttle), 13..15: NONE */
};

/*
 * Labels data, and checks the result against the format in enet_label.h:
 * NONE when too short for a command header or compressed, else the kind of
 * the first command's number, the same for the first command header alone
 * (copied to a buffer of exactly that size, so a read past it shows).
 * Returns the label.
 */
static inline enum wire_label fz_enet_label_one(const uint8_t *data, size_t len)
{
	enum wire_label got = wire_enet_label(data, len);
	FZ_REQUIRE(got >= WIRE_LABEL_NONE && got <= WIRE_LABEL_PING, "label %d", (int)got);
	if (len < 2) {
		FZ_REQUIRE(got == WIRE_LABEL_NONE, "%zu bytes got label %d", len, (int)got);
		return got;
	}
	bool compressed = (data[0] & 0x40) != 0, sent_time = (data[0] & 0x80) != 0;
	size_t at = sent_time ? 4 : 2;
	if (compressed || len < at + 4) {
		FZ_REQUIRE(got == WIRE_LABEL_NONE, "%zu bytes (flags %02x) got label %d", len, data[0] & 0xc0, (int)got);
		return got;
	}
	enum wire_label want = fz_enet_command_label[data[at] & 0x0f];
	FZ_REQUIRE(got == want, "command %u got label %d, expected %d", data[at] & 0x0fu, (int)got, (int)want);
	uint8_t *head = malloc(at + 4);
	FZ_REQUIRE(head, "out of memory");
	memcpy(head, data, at + 4);
	FZ_REQUIRE(wire_enet_label(head, at + 4) == got, "the label depends on bytes past the first command header");
	free(head);
	return got;
}

#endif
