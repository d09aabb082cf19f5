// SPDX-License-Identifier: MIT
// Fuzz check of the wire's ENet header labeller: any bytes, the label of the reading whose commands fill the datagram.
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

/* Each command's fixed size in bytes, where its data length sits (0: none), and whether it uses channel 0xFF. */
static const struct {
	uint8_t size, length_at, system;
} fz_enet_command[16] = {
	[1] = { 8, 0, 2 },  [2] = { 48, 0, 1 }, [3] = { 44, 0, 1 }, [4] = { 8, 0, 1 },
	[5] = { 4, 0, 1 },  [6] = { 6, 4, 0 },  [7] = { 8, 6, 0 },  [8] = { 24, 6, 0 },
	[9] = { 8, 6, 0 },  [10] = { 12, 0, 1 }, [11] = { 16, 0, 1 }, [12] = { 24, 6, 0 },
	/* system 2: an acknowledgement, on whichever channel the command it answers used */
};

/* Whether whole commands from `at` end exactly at len. */
static inline bool fz_enet_commands_fill(const uint8_t *data, size_t len, size_t at)
{
	if (at >= len)
		return false;
	while (at < len) {
		if (len - at < 4)
			return false;
		unsigned cmd = data[at] & 0x0f;
		size_t size = fz_enet_command[cmd].size;
		if (!size || len - at < size)
			return false;
		if (fz_enet_command[cmd].system != 2 && (data[at + 1] == 0xff) != (fz_enet_command[cmd].system == 1))
			return false;
		if (fz_enet_command[cmd].length_at) {
			size += (size_t)data[at + fz_enet_command[cmd].length_at] << 8 |
				data[at + fz_enet_command[cmd].length_at + 1];
			if (len - at < size)
				return false;
		}
		at += size;
	}
	return true;
}

/*
 * Labels data, and checks the result against the format in enet_label.h:
 * NONE when too short or compressed; else the kind of the first command of
 * the reading, without a checksum then with one, whose commands fill the
 * datagram exactly; NONE when neither does. The same again for a copy in a
 * buffer of exactly len bytes, so that a read past it shows. Returns the
 * label.
 */
static inline enum wire_label fz_enet_label_one(const uint8_t *data, size_t len)
{
	enum wire_label got = wire_enet_label(data, len);
	FZ_REQUIRE(got >= WIRE_LABEL_NONE && got <= WIRE_LABEL_PING, "label %d", (int)got);
	enum wire_label want = WIRE_LABEL_NONE;
	if (len >= 2 && !(data[0] & 0x40)) {
		size_t at = (data[0] & 0x80) ? 4 : 2;
		if (fz_enet_commands_fill(data, len, at))
			want = fz_enet_command_label[data[at] & 0x0f];
		else if (fz_enet_commands_fill(data, len, at + 4))
			want = fz_enet_command_label[data[at + 4] & 0x0f];
	}
	FZ_REQUIRE(got == want, "%zu bytes got label %d, expected %d", len, (int)got, (int)want);
	uint8_t *copy = malloc(len ? len : 1);
	FZ_REQUIRE(copy, "out of memory");
	if (len)
		memcpy(copy, data, len);
	FZ_REQUIRE(wire_enet_label(copy, len) == got, "the label of an exact-size copy differs");
	free(copy);
	return got;
}

#endif
