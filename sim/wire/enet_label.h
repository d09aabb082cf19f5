// SPDX-License-Identifier: MIT
// Labels a datagram by the first command in its ENet header, for the viewer. Reads only; trusts nothing.
#ifndef LOOPSIM_WIRE_ENET_LABEL_H
#define LOOPSIM_WIRE_ENET_LABEL_H

#include <stddef.h>
#include <stdint.h>

enum wire_label {
	WIRE_LABEL_NONE,        /* not ENet, or nothing recognisable */
	WIRE_LABEL_CONNECT,     /* CONNECT, VERIFY_CONNECT, DISCONNECT */
	WIRE_LABEL_ACK,
	WIRE_LABEL_RELIABLE,    /* SEND_RELIABLE, SEND_FRAGMENT */
	WIRE_LABEL_UNRELIABLE,  /* SEND_UNRELIABLE, SEND_UNSEQUENCED, SEND_UNRELIABLE_FRAGMENT */
	WIRE_LABEL_PING,
};

/*
 * ENet's wire format: a 2-byte peer id whose top bits are flags (sent time
 * present, compressed), then the 2-byte sent time if flagged, then, on a
 * host that sets ENet's checksum callback, a 4-byte checksum, then whole
 * commands to the datagram's end. Each command starts with a command byte
 * whose low 4 bits are its number and a channel byte (0xFF for connection
 * management), and is followed by the data its length field gives.
 *
 * Nothing in the header says whether a checksum is there, so the commands
 * are read both ways, without first: the label is the first command's of
 * the reading whose commands fill the datagram exactly. A compressed
 * datagram's commands cannot be read, and bytes that fill neither way are
 * not ENet's (the 1-byte announce of an unconnected peer, say): both are
 * NONE. Any length, any bytes: this function can't fail and never reads
 * past len.
 */
enum wire_label wire_enet_label(const uint8_t *data, size_t len);

#endif
