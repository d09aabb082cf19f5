// SPDX-License-Identifier: MIT
// The netcode's packets between peers: encode and a strict decoder for untrusted datagrams.
#ifndef LOOPSIM_NC_PROTO_H
#define LOOPSIM_NC_PROTO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every packet: magic 'N' 'C', version, type, a CRC-32 of the whole packet
 * (computed with this field zero), the session id (8 bytes) and the sender's
 * player index (1 byte): 17 bytes. Integers little-endian. A corrupted
 * packet, or one from another session or version, is refused before any
 * state changes: a flipped bit in an input byte would otherwise become a
 * real desync, and two sessions on one machine must never mix.
 */
#define NC_PROTO_VERSION 1
#define NC_HEADER_LEN 17
#define NC_MAX_PLAYERS 16
/* Inputs one packet may carry: GGPO-style redundancy, oldest unacknowledged first. */
#define NC_MAX_INPUTS_PER_PACKET 64
/* Checksums of confirmed frames one packet may carry. */
#define NC_MAX_CHECKSUMS_PER_PACKET 8
#define NC_MAX_PACKET 512

enum nc_packet_type {
	NC_PKT_HELLO = 1,   /* handshake: version and session are in the header */
	NC_PKT_INPUT,       /* inputs, acks, timing, confirmed checksums */
	NC_PKT_DISCONNECT,  /* what I know of a lost player's inputs */
	NC_PKT_TYPE_COUNT
};

struct nc_checksum {
	uint32_t frame;     /* the state after this frame */
	uint64_t hash;
};

struct nc_input_body {
	uint32_t seq;            /* per sender->receiver, for loss stats */
	uint32_t ack_frame;      /* receiver's inputs held contiguously up to here; UINT32_MAX none */
	uint32_t frame;          /* sender's current frame */
	int16_t advantage;       /* sender's frames ahead of the receiver, as the sender sees it */
	uint32_t ping_ms;        /* sender's clock */
	uint32_t pong_ms;        /* echo of the receiver's latest ping */
	uint16_t pong_hold_ms;   /* how long the echo waited at the sender */
	uint32_t start;          /* frame of inputs[0] */
	uint8_t count;
	uint8_t inputs[NC_MAX_INPUTS_PER_PACKET];
	uint8_t nchecksums;
	struct nc_checksum checksums[NC_MAX_CHECKSUMS_PER_PACKET];
};

struct nc_disconnect_body {
	uint8_t lost;            /* the lost player */
	uint32_t last_frame;     /* the sender holds the lost player's inputs below this frame */
	uint32_t start;
	uint8_t count;
	uint8_t inputs[NC_MAX_INPUTS_PER_PACKET];
};

struct nc_packet {
	enum nc_packet_type type;
	uint64_t session_id;
	uint8_t sender;
	union {
		struct {
			uint8_t nplayers;
		} hello;
		struct nc_input_body input;
		struct nc_disconnect_body disconnect;
	} u;
};

/* Returns the encoded length, or -1 if p is invalid (a count, player or index the decoder would refuse) or cap
 * is too small. */
int nc_packet_encode(const struct nc_packet *p, uint8_t *buf, size_t cap);
/* Returns 0, or -1 with a static reason in *why. Never reads past len. */
int nc_packet_decode(const uint8_t *buf, size_t len, struct nc_packet *p, const char **why);

#endif
