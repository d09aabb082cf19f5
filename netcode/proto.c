// SPDX-License-Identifier: MIT
// The netcode's packets: encoding and strict decoding.
#include "netcode/proto.h"

#include <enet/enet.h>
#include <stdbool.h>
#include <string.h>

#define CRC_OFFSET 4

/* ENet's CRC-32 (the one it uses for its own optional packet checksums) over the packet with the CRC zeroed. */
static uint32_t packet_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	ENetBuffer parts[3] = {
		{ .data = (void *)buf, .dataLength = CRC_OFFSET },
		{ .data = (void *)zero, .dataLength = 4 },
		{ .data = (void *)(buf + CRC_OFFSET + 4), .dataLength = len - CRC_OFFSET - 4 },
	};
	return ENET_NET_TO_HOST_32(enet_crc32(parts, 3));
}

/*
 * Layouts after the 17-byte header:
 *   HELLO       nplayers u8                                          1
 *   INPUT       seq u32, ack_frame u32, frame u32, advantage i16,
 *               ping u32, pong u32, pong_hold u16, start u32,
 *               count u8, inputs[count] u8,
 *               nchecksums u8, {frame u32, hash u64}[nchecksums]     30 + count + 12 * n
 *   DISCONNECT  lost u8, last_frame u32, start u32, count u8,
 *               inputs[count] u8                                     10 + count
 */

struct writer {
	uint8_t *p, *end;
	bool ok;
};

static void put(struct writer *w, uint64_t v, int bytes)
{
	if (w->end - w->p < bytes) {
		w->ok = false;
		return;
	}
	for (int i = 0; i < bytes; i++)
		*w->p++ = (uint8_t)(v >> (8 * i));
}

struct reader {
	const uint8_t *p, *end;
	bool ok;
};

static uint64_t get(struct reader *r, int bytes)
{
	if (r->end - r->p < bytes) {
		r->ok = false;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)*r->p++ << (8 * i);
	return v;
}

int nc_packet_encode(const struct nc_packet *p, uint8_t *buf, size_t cap)
{
	/* Whatever the encoder writes, the decoder must accept. */
	if (p->sender >= NC_MAX_PLAYERS || (p->type == NC_PKT_HELLO && (p->u.hello.nplayers < 1 ||
									 p->u.hello.nplayers > NC_MAX_PLAYERS)) ||
	    (p->type == NC_PKT_DISCONNECT && p->u.disconnect.lost >= NC_MAX_PLAYERS))
		return -1;
	struct writer w = { buf, buf + cap, true };
	put(&w, 'N', 1);
	put(&w, 'C', 1);
	put(&w, NC_PROTO_VERSION, 1);
	put(&w, p->type, 1);
	put(&w, 0, 4); /* CRC, filled in last */
	put(&w, p->session_id, 8);
	put(&w, p->sender, 1);
	switch (p->type) {
	case NC_PKT_HELLO:
		put(&w, p->u.hello.nplayers, 1);
		break;
	case NC_PKT_INPUT: {
		const struct nc_input_body *in = &p->u.input;
		if (in->count > NC_MAX_INPUTS_PER_PACKET || in->nchecksums > NC_MAX_CHECKSUMS_PER_PACKET)
			return -1;
		put(&w, in->seq, 4);
		put(&w, in->ack_frame, 4);
		put(&w, in->frame, 4);
		put(&w, (uint16_t)in->advantage, 2);
		put(&w, in->ping_ms, 4);
		put(&w, in->pong_ms, 4);
		put(&w, in->pong_hold_ms, 2);
		put(&w, in->start, 4);
		put(&w, in->count, 1);
		for (int i = 0; i < in->count; i++)
			put(&w, in->inputs[i], 1);
		put(&w, in->nchecksums, 1);
		for (int i = 0; i < in->nchecksums; i++) {
			put(&w, in->checksums[i].frame, 4);
			put(&w, in->checksums[i].hash, 8);
		}
		break;
	}
	case NC_PKT_DISCONNECT: {
		const struct nc_disconnect_body *d = &p->u.disconnect;
		if (d->count > NC_MAX_INPUTS_PER_PACKET)
			return -1;
		put(&w, d->lost, 1);
		put(&w, d->last_frame, 4);
		put(&w, d->start, 4);
		put(&w, d->count, 1);
		for (int i = 0; i < d->count; i++)
			put(&w, d->inputs[i], 1);
		break;
	}
	default:
		return -1;
	}
	if (!w.ok)
		return -1;
	uint32_t crc = packet_crc(buf, (size_t)(w.p - buf));
	for (int i = 0; i < 4; i++)
		buf[CRC_OFFSET + i] = (uint8_t)(crc >> (8 * i));
	return (int)(w.p - buf);
}

#define REFUSE(reason)             \
	do {                       \
		*why = (reason);   \
		return -1;         \
	} while (0)

int nc_packet_decode(const uint8_t *buf, size_t len, struct nc_packet *p, const char **why)
{
	if (len < NC_HEADER_LEN)
		REFUSE("truncated header");
	if (len > NC_MAX_PACKET)
		REFUSE("oversized");
	if (buf[0] != 'N' || buf[1] != 'C')
		REFUSE("bad magic");
	if (buf[2] != NC_PROTO_VERSION)
		REFUSE("bad version");
	struct reader r = { buf + 3, buf + len, true };
	struct nc_packet out;
	memset(&out, 0, sizeof out);
	uint8_t type = (uint8_t)get(&r, 1);
	if (type < NC_PKT_HELLO || type >= NC_PKT_TYPE_COUNT)
		REFUSE("unknown type");
	if ((uint32_t)get(&r, 4) != packet_crc(buf, len))
		REFUSE("bad checksum");
	out.type = type;
	out.session_id = get(&r, 8);
	out.sender = (uint8_t)get(&r, 1);
	if (out.sender >= NC_MAX_PLAYERS)
		REFUSE("bad sender");
	switch (out.type) {
	case NC_PKT_HELLO:
		out.u.hello.nplayers = (uint8_t)get(&r, 1);
		if (r.ok && (out.u.hello.nplayers < 1 || out.u.hello.nplayers > NC_MAX_PLAYERS))
			REFUSE("bad player count");
		break;
	case NC_PKT_INPUT: {
		struct nc_input_body *in = &out.u.input;
		in->seq = (uint32_t)get(&r, 4);
		in->ack_frame = (uint32_t)get(&r, 4);
		in->frame = (uint32_t)get(&r, 4);
		in->advantage = (int16_t)(uint16_t)get(&r, 2);
		in->ping_ms = (uint32_t)get(&r, 4);
		in->pong_ms = (uint32_t)get(&r, 4);
		in->pong_hold_ms = (uint16_t)get(&r, 2);
		in->start = (uint32_t)get(&r, 4);
		in->count = (uint8_t)get(&r, 1);
		if (!r.ok)
			REFUSE("truncated");
		if (in->count > NC_MAX_INPUTS_PER_PACKET)
			REFUSE("too many inputs");
		for (int i = 0; i < in->count; i++)
			in->inputs[i] = (uint8_t)get(&r, 1);
		in->nchecksums = (uint8_t)get(&r, 1);
		if (!r.ok)
			REFUSE("truncated");
		if (in->nchecksums > NC_MAX_CHECKSUMS_PER_PACKET)
			REFUSE("too many checksums");
		for (int i = 0; i < in->nchecksums; i++) {
			in->checksums[i].frame = (uint32_t)get(&r, 4);
			in->checksums[i].hash = get(&r, 8);
		}
		break;
	}
	case NC_PKT_DISCONNECT: {
		struct nc_disconnect_body *d = &out.u.disconnect;
		d->lost = (uint8_t)get(&r, 1);
		d->last_frame = (uint32_t)get(&r, 4);
		d->start = (uint32_t)get(&r, 4);
		d->count = (uint8_t)get(&r, 1);
		if (!r.ok)
			REFUSE("truncated");
		if (d->lost >= NC_MAX_PLAYERS)
			REFUSE("bad player");
		if (d->count > NC_MAX_INPUTS_PER_PACKET)
			REFUSE("too many inputs");
		for (int i = 0; i < d->count; i++)
			d->inputs[i] = (uint8_t)get(&r, 1);
		break;
	}
	default:
		REFUSE("unknown type");
	}
	if (!r.ok)
		REFUSE("truncated");
	if (r.p != r.end)
		REFUSE("trailing bytes");
	*p = out;
	return 0;
}
