// SPDX-License-Identifier: MIT
// Fuzz check of the netcode's packet decoder: as sent, and with the CRC made right so the body gets parsed.
#ifndef LOOPSIM_FUZZ_CHECK_PROTO_H
#define LOOPSIM_FUZZ_CHECK_PROTO_H

#include <enet/enet.h>

#include "fuzz.h"
#include "netcode/proto.h"

#define FZ_NC_CRC_OFFSET 4

/* The packet's CRC as proto.c computes it (ENet's CRC-32 with the field zeroed), stored little-endian. */
static inline void fz_nc_fix_crc(uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	ENetBuffer parts[3] = {
		{ .data = buf, .dataLength = FZ_NC_CRC_OFFSET },
		{ .data = (void *)zero, .dataLength = 4 },
		{ .data = buf + FZ_NC_CRC_OFFSET + 4, .dataLength = len - FZ_NC_CRC_OFFSET - 4 },
	};
	uint32_t crc = ENET_NET_TO_HOST_32(enet_crc32(parts, 3));
	for (int i = 0; i < 4; i++)
		buf[FZ_NC_CRC_OFFSET + i] = (uint8_t)(crc >> (8 * i));
}

/* One decode of untrusted bytes and what must hold of its outcome. Returns 1 if accepted. */
static inline int fz_nc_decode_checked(const uint8_t *data, size_t len, const char **why)
{
	struct nc_packet *p = malloc(sizeof *p), *before = malloc(sizeof *before);
	uint8_t *buf = malloc(NC_MAX_PACKET);
	FZ_REQUIRE(p && before && buf, "out of memory");
	memset(p, 0xa5, sizeof *p);
	memcpy(before, p, sizeof *p);
	*why = NULL;
	int accepted = nc_packet_decode(data, len, p, why) == 0;
	if (!accepted) {
		FZ_REQUIRE(*why && **why, "refused without a reason");
		FZ_REQUIRE(memcmp(p, before, sizeof *p) == 0, "a refused packet changed *p");
		goto out;
	}
	FZ_REQUIRE(len >= NC_HEADER_LEN && len <= NC_MAX_PACKET, "accepted %zu bytes", len);
	FZ_REQUIRE(p->type >= NC_PKT_HELLO && p->type < NC_PKT_TYPE_COUNT, "type %d", (int)p->type);
	FZ_REQUIRE(p->sender < NC_MAX_PLAYERS, "sender %u", p->sender);
	switch (p->type) {
	case NC_PKT_HELLO:
		FZ_REQUIRE(p->u.hello.nplayers >= 1 && p->u.hello.nplayers <= NC_MAX_PLAYERS, "HELLO nplayers %u",
			   p->u.hello.nplayers);
		break;
	case NC_PKT_INPUT:
		FZ_REQUIRE(p->u.input.count <= NC_MAX_INPUTS_PER_PACKET &&
				   p->u.input.nchecksums <= NC_MAX_CHECKSUMS_PER_PACKET,
			   "INPUT counts %u, %u", p->u.input.count, p->u.input.nchecksums);
		break;
	case NC_PKT_DISCONNECT:
		FZ_REQUIRE(p->u.disconnect.lost < NC_MAX_PLAYERS && p->u.disconnect.count <= NC_MAX_INPUTS_PER_PACKET,
			   "DISCONNECT lost %u, count %u", p->u.disconnect.lost, p->u.disconnect.count);
		break;
	default:
		break;
	}
	/* Every field is fixed by the bytes and the CRC was verified, so the encoder must give the input back. */
	int n = nc_packet_encode(p, buf, NC_MAX_PACKET);
	FZ_REQUIRE(n == (int)len && memcmp(buf, data, len) == 0,
		   "an accepted packet of type %d and %zu bytes re-encodes to %d other bytes", (int)p->type, len, n);
out:
	free(p);
	free(before);
	free(buf);
	return accepted;
}

struct fz_nc_verdict {
	int raw, fixed;             /* accepted as sent; accepted with its CRC made right */
	const char *why_raw, *why_fixed;
};

/*
 * Decodes data as sent, then (when it is long enough to have a CRC field
 * and short enough to be a packet) a copy with its CRC computed, so that
 * the fuzzer reaches the body parsers without having to forge CRC-32s.
 */
static inline struct fz_nc_verdict fz_proto_one(const uint8_t *data, size_t len)
{
	struct fz_nc_verdict v = { 0 };
	v.raw = fz_nc_decode_checked(data, len, &v.why_raw);
	v.fixed = v.raw;
	v.why_fixed = v.why_raw;
	if (len >= FZ_NC_CRC_OFFSET + 4 && len <= NC_MAX_PACKET) {
		uint8_t *copy = malloc(len);
		FZ_REQUIRE(copy, "out of memory");
		memcpy(copy, data, len);
		fz_nc_fix_crc(copy, len);
		v.fixed = fz_nc_decode_checked(copy, len, &v.why_fixed);
		if (v.raw)
			FZ_REQUIRE(v.fixed && memcmp(copy, data, len) == 0, "an accepted packet's CRC was not right");
		free(copy);
	}
	return v;
}

#endif
