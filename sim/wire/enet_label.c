// SPDX-License-Identifier: MIT
// Labels a datagram by the first command in its ENet header.
#include "wire/enet_label.h"

#include <enet/protocol.h>

enum wire_label wire_enet_label(const uint8_t *data, size_t len)
{
	if (len < 2)
		return WIRE_LABEL_NONE;
	/* ENet writes the peer id in network byte order. */
	unsigned peer = (unsigned)data[0] << 8 | data[1];
	if (peer & ENET_PROTOCOL_HEADER_FLAG_COMPRESSED)
		return WIRE_LABEL_NONE;
	size_t at = (peer & ENET_PROTOCOL_HEADER_FLAG_SENT_TIME) ? 4 : 2;
	/* A command header is 4 bytes: command, channel, reliable sequence number. */
	if (len < at + 4)
		return WIRE_LABEL_NONE;
	switch (data[at] & ENET_PROTOCOL_COMMAND_MASK) {
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
