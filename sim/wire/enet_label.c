// SPDX-License-Identifier: MIT
// Labels a datagram by the first command in its ENet header.
#include "wire/enet_label.h"

#include <stdbool.h>
#include <stddef.h>

#include <enet/protocol.h>

/* Each command's fixed part, from enet/protocol.h; 0 for a number ENet does not define. */
static const uint8_t command_size[16] = {
	[ENET_PROTOCOL_COMMAND_ACKNOWLEDGE] = sizeof(ENetProtocolAcknowledge),
	[ENET_PROTOCOL_COMMAND_CONNECT] = sizeof(ENetProtocolConnect),
	[ENET_PROTOCOL_COMMAND_VERIFY_CONNECT] = sizeof(ENetProtocolVerifyConnect),
	[ENET_PROTOCOL_COMMAND_DISCONNECT] = sizeof(ENetProtocolDisconnect),
	[ENET_PROTOCOL_COMMAND_PING] = sizeof(ENetProtocolPing),
	[ENET_PROTOCOL_COMMAND_SEND_RELIABLE] = sizeof(ENetProtocolSendReliable),
	[ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE] = sizeof(ENetProtocolSendUnreliable),
	[ENET_PROTOCOL_COMMAND_SEND_FRAGMENT] = sizeof(ENetProtocolSendFragment),
	[ENET_PROTOCOL_COMMAND_SEND_UNSEQUENCED] = sizeof(ENetProtocolSendUnsequenced),
	[ENET_PROTOCOL_COMMAND_BANDWIDTH_LIMIT] = sizeof(ENetProtocolBandwidthLimit),
	[ENET_PROTOCOL_COMMAND_THROTTLE_CONFIGURE] = sizeof(ENetProtocolThrottleConfigure),
	[ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE_FRAGMENT] = sizeof(ENetProtocolSendFragment),
};

/* Where a command that carries data says how much follows its fixed part; 0 for one that carries none. */
static const uint8_t data_length_at[16] = {
	[ENET_PROTOCOL_COMMAND_SEND_RELIABLE] = offsetof(ENetProtocolSendReliable, dataLength),
	[ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE] = offsetof(ENetProtocolSendUnreliable, dataLength),
	[ENET_PROTOCOL_COMMAND_SEND_FRAGMENT] = offsetof(ENetProtocolSendFragment, dataLength),
	[ENET_PROTOCOL_COMMAND_SEND_UNSEQUENCED] = offsetof(ENetProtocolSendUnsequenced, dataLength),
	[ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE_FRAGMENT] = offsetof(ENetProtocolSendFragment, dataLength),
};

/* ENet sends these on channel 0xFF and data on the channels below it; an acknowledgement echoes either. */
static bool on_system_channel(unsigned cmd)
{
	switch (cmd) {
	case ENET_PROTOCOL_COMMAND_CONNECT:
	case ENET_PROTOCOL_COMMAND_VERIFY_CONNECT:
	case ENET_PROTOCOL_COMMAND_DISCONNECT:
	case ENET_PROTOCOL_COMMAND_PING:
	case ENET_PROTOCOL_COMMAND_BANDWIDTH_LIMIT:
	case ENET_PROTOCOL_COMMAND_THROTTLE_CONFIGURE:
		return true;
	default:
		return false;
	}
}

/* Whether the bytes from `at` are one or more whole commands that end exactly at len. */
static bool commands_fill(const uint8_t *data, size_t len, size_t at)
{
	if (at >= len)
		return false;
	while (at < len) {
		if (len - at < sizeof(ENetProtocolCommandHeader))
			return false;
		unsigned cmd = data[at] & ENET_PROTOCOL_COMMAND_MASK;
		size_t size = command_size[cmd];
		if (size == 0 || len - at < size)
			return false;
		if (cmd != ENET_PROTOCOL_COMMAND_ACKNOWLEDGE && (data[at + 1] == 0xFF) != on_system_channel(cmd))
			return false;
		if (data_length_at[cmd]) {
			/* ENet writes the length in network byte order. */
			size += (size_t)data[at + data_length_at[cmd]] << 8 | data[at + data_length_at[cmd] + 1];
			if (len - at < size)
				return false;
		}
		at += size;
	}
	return true;
}

static enum wire_label label_of(uint8_t command)
{
	switch (command & ENET_PROTOCOL_COMMAND_MASK) {
	case ENET_PROTOCOL_COMMAND_ACKNOWLEDGE:
		return WIRE_LABEL_ACK;
	case ENET_PROTOCOL_COMMAND_CONNECT:
	case ENET_PROTOCOL_COMMAND_VERIFY_CONNECT:
	case ENET_PROTOCOL_COMMAND_DISCONNECT:
		return WIRE_LABEL_CONNECT;
	case ENET_PROTOCOL_COMMAND_PING:
		return WIRE_LABEL_PING;
	case ENET_PROTOCOL_COMMAND_SEND_RELIABLE:
	case ENET_PROTOCOL_COMMAND_SEND_FRAGMENT:
		return WIRE_LABEL_RELIABLE;
	case ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE:
	case ENET_PROTOCOL_COMMAND_SEND_UNSEQUENCED:
	case ENET_PROTOCOL_COMMAND_SEND_UNRELIABLE_FRAGMENT:
		return WIRE_LABEL_UNRELIABLE;
	default:
		return WIRE_LABEL_NONE;
	}
}

enum wire_label wire_enet_label(const uint8_t *data, size_t len)
{
	if (len < 2)
		return WIRE_LABEL_NONE;
	/* ENet writes the peer id in network byte order. */
	unsigned peer = (unsigned)data[0] << 8 | data[1];
	if (peer & ENET_PROTOCOL_HEADER_FLAG_COMPRESSED)
		return WIRE_LABEL_NONE;
	size_t at = (peer & ENET_PROTOCOL_HEADER_FLAG_SENT_TIME) ? 4 : 2;
	if (commands_fill(data, len, at))
		return label_of(data[at]);
	/* A host with a checksum callback (the built-in peers) puts its 4 bytes between the header and the commands. */
	if (commands_fill(data, len, at + 4))
		return label_of(data[at + 4]);
	return WIRE_LABEL_NONE;
}
