// SPDX-License-Identifier: MIT
// The control channel's codec and its SOCK_SEQPACKET transport: explicit little-endian packing, untrusted input.
#include "control.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

/*
 * Wire layout. Every message is the 4-byte header, then its body; integers
 * are little-endian, unaligned, with no padding. Fields go in this order:
 *
 *   header (4)   'L' u8, 'C' u8, CTL_VERSION u8, type u8
 *
 *   type        body field                       size    total length
 *   HELLO   1   index                            u16     16
 *               ip                               u32
 *               port                             u16
 *               pid                              u32
 *   FRAME   2   frame                            u32     44
 *               confirmed                        u32
 *               checksum                         u64
 *               rollbacks                        u32
 *               max_rollback                     u16
 *               last_rollback                    u16
 *               stalls                           u32
 *               rtt_ms                           u16
 *               frames_ahead                     i16
 *               bytes_in_per_s                   u32
 *               bytes_out_per_s                  u32
 *   STATE   3   frame                            u32     10 + 13 * nships + 9 * nbullets
 *               nships                           u8        (at most 1370)
 *               nbullets                         u8
 *               nships x { x i32, y i32, angle u16, alive u8, score i16 }        13 each
 *               nbullets x { x i32, y i32, owner u8 }                            9 each
 *   DESYNC  4   frame                            u32     17 + 8 * npeers
 *               npeers                           u8        (at most 529)
 *               known_mask                       u64
 *               npeers x checksum                u64       (every slot, known or not)
 *   BYE     5   reason                           u8      5
 *   DUMPED  6   frame                            u32     11 + len
 *               ok                               u8        (at most 12299)
 *               len                              u16
 *               data                             len bytes
 *   PEERS   7   session_id                       u64     23 + 6 * npeers
 *               seed                             u64       (at most 407)
 *               netcode                          u8
 *               input_delay                      u8
 *               npeers                           u8
 *               npeers x { ip u32, port u16 }                                    6 each
 *   START   8   (nothing)                                4
 *   INPUT   9   keys                             u8      6
 *               human                            u8
 *   DUMP   10   frame                            u32     8
 *   QUIT   11   (nothing)                                4
 *   INPUTS 12   frame                            u32     9 + n
 *               n                                u8        (1..16)
 *               n x input                        u8
 *   PERTURB 13  frame                            u32     8
 *   GONE   14   peer                             u8      9
 *               upto                             u32
 *   REJOIN 15   frame                            u32     15 + 5 * nlost + len
 *               readmit                          u32       (at most 12383)
 *               nlost                            u8
 *               nlost x { peer u8, upto u32 }                                    5 each
 *               len                              u16
 *               data                             len bytes
 *   READMIT 16  peer                             u8      9
 *               frame                            u32
 *   RTT    17   frame                            u32     9 + 2 * npeers
 *               npeers                           u8        (at most 137)
 *               npeers x rtt                     u16       0.1 ms units, 0xFFFF unknown
 *
 * Every byte string has at most one meaning and every meaning one byte
 * string: no optional fields, no slack, so an accepted message re-encodes
 * to exactly its bytes.
 */

_Static_assert(CTL_TYPE_COUNT == 18, "a new type needs a row above, a name, a layout and a check");
_Static_assert(CTL_MAX_PEERS <= 64, "DESYNC's known_mask has 64 bits");
_Static_assert(CTL_STATE_MAX_SHIPS <= UINT8_MAX && CTL_STATE_MAX_BULLETS <= UINT8_MAX && CTL_MAX_PEERS <= UINT8_MAX,
	       "counts travel as u8");
_Static_assert(CTL_DUMP_MAX <= UINT16_MAX, "DUMPED len travels as u16");
_Static_assert(CTL_HEADER_SIZE + 11 + CTL_DUMP_MAX <= CTL_MAX_MSG, "the largest DUMPED must fit a message");
_Static_assert(CTL_HEADER_SIZE + 10 + 13 * CTL_STATE_MAX_SHIPS + 9 * CTL_STATE_MAX_BULLETS <= CTL_MAX_MSG,
	       "the largest STATE must fit a message");
_Static_assert(CTL_HEADER_SIZE + 11 + 5 * CTL_REJOIN_MAX_LOST + CTL_DUMP_MAX <= CTL_MAX_MSG,
	       "the largest REJOIN must fit a message");
_Static_assert(CTL_MAX_MSG <= INT_MAX, "ctl_encode returns the length as int");

#define CTL_MAGIC0 'L'
#define CTL_MAGIC1 'C'

/*
 * One description of each body serves both directions (the "unified
 * serialize function" of Glenn Fiedler's serialisation articles), so the
 * encoder and the decoder cannot drift apart. MEASURE walks the layout
 * without a buffer, so ctl_encode() learns the length before it writes.
 */
enum ctl_mode { CTL_READ, CTL_WRITE, CTL_MEASURE };

struct ctl_stream {
	enum ctl_mode mode;
	const uint8_t *in;     /* READ */
	uint8_t *out;          /* WRITE */
	size_t cap;            /* READ: the input's length; WRITE: the room; MEASURE: unused */
	size_t pos;
	bool overrun;          /* a field did not fit: READ "truncated", WRITE cap too small */
};

/* The one place that touches the buffer: a field either fits entirely or sets overrun and leaves *v alone. */
static void ser_bytes(struct ctl_stream *s, uint8_t *v, size_t n)
{
	if (s->overrun)
		return;
	if (s->mode != CTL_MEASURE && n > s->cap - s->pos) {
		s->overrun = true;
		return;
	}
	if (s->mode == CTL_READ)
		memcpy(v, s->in + s->pos, n);
	else if (s->mode == CTL_WRITE)
		memcpy(s->out + s->pos, v, n);
	s->pos += n;
}

/* Unsigned integers of n bytes, packed by hand in little-endian order. Returns the value read (READ) or v. */
static uint64_t ser_uint(struct ctl_stream *s, uint64_t v, size_t n)
{
	uint8_t b[8] = { 0 };
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	ser_bytes(s, b, n);
	if (s->mode != CTL_READ || s->overrun)
		return v;
	v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/*
 * The field helpers store only when reading: ctl_encode() hands in a message
 * that may be a const object, and storing into one, even its own value, is
 * undefined behaviour.
 */
static void ser_u8(struct ctl_stream *s, uint8_t *v)
{
	uint8_t x = (uint8_t)ser_uint(s, *v, 1);
	if (s->mode == CTL_READ)
		*v = x;
}

static void ser_u16(struct ctl_stream *s, uint16_t *v)
{
	uint16_t x = (uint16_t)ser_uint(s, *v, 2);
	if (s->mode == CTL_READ)
		*v = x;
}

static void ser_u32(struct ctl_stream *s, uint32_t *v)
{
	uint32_t x = (uint32_t)ser_uint(s, *v, 4);
	if (s->mode == CTL_READ)
		*v = x;
}

static void ser_u64(struct ctl_stream *s, uint64_t *v)
{
	uint64_t x = ser_uint(s, *v, 8);
	if (s->mode == CTL_READ)
		*v = x;
}

/* Two's complement on the wire. Converting an out-of-range unsigned to a signed type is implementation-defined
 * in C17, so the way back goes through ~u, which always fits. */
static void ser_i16(struct ctl_stream *s, int16_t *v)
{
	uint16_t u = (uint16_t)ser_uint(s, (uint16_t)*v, 2);
	if (s->mode == CTL_READ)
		*v = u <= INT16_MAX ? (int16_t)u : (int16_t)(-(int32_t)(uint16_t)~u - 1);
}

static void ser_i32(struct ctl_stream *s, int32_t *v)
{
	uint32_t u = (uint32_t)ser_uint(s, (uint32_t)*v, 4);
	if (s->mode == CTL_READ)
		*v = u <= INT32_MAX ? (int32_t)u : -(int32_t)~u - 1;
}

static const char *const why_truncated = "truncated";
static const char *const why_count = "count out of range";
static const char *const why_field = "bad field value";

/*
 * The body of m, in the order of the table above. Counts are checked as
 * soon as they are known, before the arrays they size are walked, so a
 * decode never writes past the struct. Returns NULL or a reason.
 */
static const char *ctl_serialize_body(struct ctl_stream *s, struct ctl_msg *m)
{
	switch (m->type) {
	case CTL_HELLO: {
		struct ctl_hello *h = &m->u.hello;
		ser_u16(s, &h->index);
		ser_u32(s, &h->ip);
		ser_u16(s, &h->port);
		ser_u32(s, &h->pid);
		break;
	}
	case CTL_FRAME: {
		struct ctl_frame *f = &m->u.frame;
		ser_u32(s, &f->frame);
		ser_u32(s, &f->confirmed);
		ser_u64(s, &f->checksum);
		ser_u32(s, &f->rollbacks);
		ser_u16(s, &f->max_rollback);
		ser_u16(s, &f->last_rollback);
		ser_u32(s, &f->stalls);
		ser_u16(s, &f->rtt_ms);
		ser_i16(s, &f->frames_ahead);
		ser_u32(s, &f->bytes_in_per_s);
		ser_u32(s, &f->bytes_out_per_s);
		break;
	}
	case CTL_STATE: {
		struct ctl_state *st = &m->u.state;
		ser_u32(s, &st->frame);
		ser_u8(s, &st->nships);
		ser_u8(s, &st->nbullets);
		if (s->overrun)
			return why_truncated;
		if (st->nships > CTL_STATE_MAX_SHIPS || st->nbullets > CTL_STATE_MAX_BULLETS)
			return why_count;
		for (unsigned k = 0; k < st->nships; k++) {
			struct ctl_ship *sh = &st->ship[k];
			ser_i32(s, &sh->x);
			ser_i32(s, &sh->y);
			ser_u16(s, &sh->angle);
			ser_u8(s, &sh->alive);
			ser_i16(s, &sh->score);
		}
		for (unsigned k = 0; k < st->nbullets; k++) {
			struct ctl_bullet *b = &st->bullet[k];
			ser_i32(s, &b->x);
			ser_i32(s, &b->y);
			ser_u8(s, &b->owner);
		}
		break;
	}
	case CTL_DESYNC: {
		struct ctl_desync *d = &m->u.desync;
		ser_u32(s, &d->frame);
		ser_u8(s, &d->npeers);
		ser_u64(s, &d->known_mask);
		if (s->overrun)
			return why_truncated;
		if (d->npeers < 1 || d->npeers > CTL_MAX_PEERS)
			return why_count;
		for (unsigned k = 0; k < d->npeers; k++)
			ser_u64(s, &d->checksum[k]);
		break;
	}
	case CTL_BYE:
		ser_u8(s, &m->u.bye.reason);
		break;
	case CTL_DUMPED: {
		struct ctl_dumped *d = &m->u.dumped;
		ser_u32(s, &d->frame);
		ser_u8(s, &d->ok);
		ser_u16(s, &d->len);
		if (s->overrun)
			return why_truncated;
		if (d->len > CTL_DUMP_MAX)
			return why_count;
		ser_bytes(s, d->data, d->len);
		break;
	}
	case CTL_PEERS: {
		struct ctl_peers *p = &m->u.peers;
		ser_u64(s, &p->session_id);
		ser_u64(s, &p->seed);
		ser_u8(s, &p->netcode);
		ser_u8(s, &p->input_delay);
		ser_u8(s, &p->npeers);
		if (s->overrun)
			return why_truncated;
		if (p->npeers < 1 || p->npeers > CTL_MAX_PEERS)
			return why_count;
		for (unsigned k = 0; k < p->npeers; k++) {
			ser_u32(s, &p->ip[k]);
			ser_u16(s, &p->port[k]);
		}
		break;
	}
	case CTL_START:
	case CTL_QUIT:
		break;
	case CTL_INPUT:
		ser_u8(s, &m->u.input.keys);
		ser_u8(s, &m->u.input.human);
		break;
	case CTL_DUMP:
		ser_u32(s, &m->u.dump.frame);
		break;
	case CTL_INPUTS: {
		struct ctl_inputs *in = &m->u.inputs;
		ser_u32(s, &in->frame);
		ser_u8(s, &in->n);
		if (s->overrun)
			return why_truncated;
		if (in->n < 1 || in->n > CTL_MAX_INPUTS)
			return why_count;
		ser_bytes(s, in->input, in->n);
		break;
	}
	case CTL_PERTURB:
		ser_u32(s, &m->u.perturb.frame);
		break;
	case CTL_GONE:
		ser_u8(s, &m->u.gone.peer);
		ser_u32(s, &m->u.gone.upto);
		break;
	case CTL_REJOIN: {
		struct ctl_rejoin *rj = &m->u.rejoin;
		ser_u32(s, &rj->frame);
		ser_u32(s, &rj->readmit);
		ser_u8(s, &rj->nlost);
		if (s->overrun)
			return why_truncated;
		if (rj->nlost > CTL_REJOIN_MAX_LOST)
			return why_count;
		for (unsigned k = 0; k < rj->nlost; k++) {
			ser_u8(s, &rj->lost[k].peer);
			ser_u32(s, &rj->lost[k].upto);
		}
		ser_u16(s, &rj->len);
		if (s->overrun)
			return why_truncated;
		if (rj->len > CTL_DUMP_MAX)
			return why_count;
		ser_bytes(s, rj->data, rj->len);
		break;
	}
	case CTL_READMIT:
		ser_u8(s, &m->u.readmit.peer);
		ser_u32(s, &m->u.readmit.frame);
		break;
	case CTL_RTT: {
		struct ctl_rtt *rt = &m->u.rtt;
		ser_u32(s, &rt->frame);
		ser_u8(s, &rt->npeers);
		if (s->overrun)
			return why_truncated;
		if (rt->npeers < 1 || rt->npeers > CTL_MAX_PEERS)
			return why_count;
		for (unsigned k = 0; k < rt->npeers; k++)
			ser_u16(s, &rt->rtt[k]);
		break;
	}
	default:
		return "unknown type";
	}
	return s->overrun ? why_truncated : NULL;
}

/* The field rules of control.h, on a message whose counts are already known to be in range. */
static bool ctl_fields_valid(const struct ctl_msg *m)
{
	switch (m->type) {
	case CTL_HELLO:
		return m->u.hello.index < CTL_MAX_PEERS;
	case CTL_STATE: {
		const struct ctl_state *st = &m->u.state;
		for (unsigned k = 0; k < st->nships; k++)
			if (st->ship[k].alive > 1)
				return false;
		/* The viewer colours a bullet by its owner's ship, so the owner must be one that was sent. */
		for (unsigned k = 0; k < st->nbullets; k++)
			if (st->bullet[k].owner >= st->nships)
				return false;
		return true;
	}
	case CTL_DESYNC: {
		const struct ctl_desync *d = &m->u.desync;
		return d->npeers >= 64 || (d->known_mask >> d->npeers) == 0;
	}
	case CTL_BYE:
		return m->u.bye.reason <= CTL_BYE_ERROR;
	case CTL_DUMPED:
		return m->u.dumped.ok <= 1 && (m->u.dumped.ok || m->u.dumped.len == 0);
	case CTL_PEERS:
		return m->u.peers.netcode <= CTL_NETCODE_LOCKSTEP;
	case CTL_INPUT:
		return (m->u.input.keys & ~CTL_INPUT_KEY_MASK) == 0 && m->u.input.human <= 1;
	case CTL_INPUTS:
		for (unsigned k = 0; k < m->u.inputs.n; k++)
			if (m->u.inputs.input[k] & ~CTL_INPUT_KEY_MASK)
				return false;
		return true;
	case CTL_GONE:
		return m->u.gone.peer < CTL_MAX_PEERS;
	case CTL_READMIT:
		return m->u.readmit.peer < CTL_MAX_PEERS;
	case CTL_REJOIN:
		for (unsigned k = 0; k < m->u.rejoin.nlost; k++)
			if (m->u.rejoin.lost[k].peer >= CTL_MAX_PEERS)
				return false;
		return m->u.rejoin.frame < m->u.rejoin.readmit;
	default:
		return true;
	}
}

int ctl_encode(const struct ctl_msg *m, uint8_t *buf, size_t cap)
{
	/* The serializer takes a mutable message because it also decodes; WRITE and MEASURE never store into it. */
	struct ctl_msg *mm = (struct ctl_msg *)m;
	struct ctl_stream measure = { .mode = CTL_MEASURE };
	if (ctl_serialize_body(&measure, mm) || !ctl_fields_valid(m))
		return -1;
	size_t len = CTL_HEADER_SIZE + measure.pos;
	if (len > cap || len > CTL_MAX_MSG)
		return -1;
	buf[0] = CTL_MAGIC0;
	buf[1] = CTL_MAGIC1;
	buf[2] = CTL_VERSION;
	buf[3] = (uint8_t)m->type;
	struct ctl_stream w = { .mode = CTL_WRITE, .out = buf + CTL_HEADER_SIZE, .cap = cap - CTL_HEADER_SIZE };
	const char *why = ctl_serialize_body(&w, mm);
	assert(!why && w.pos == measure.pos); /* the same walk over the same message */
	(void)why;
	return (int)len;
}

static int ctl_refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

int ctl_decode(const uint8_t *buf, size_t len, struct ctl_msg *m, const char **why)
{
	if (len < CTL_HEADER_SIZE)
		return ctl_refuse(why, "too short");
	if (buf[0] != CTL_MAGIC0 || buf[1] != CTL_MAGIC1)
		return ctl_refuse(why, "bad magic");
	if (buf[2] != CTL_VERSION)
		return ctl_refuse(why, "bad version");
	if (buf[3] < CTL_HELLO || buf[3] >= CTL_TYPE_COUNT)
		return ctl_refuse(why, "unknown type");

	/* Decoded aside, so that a refused message leaves *m as it was. */
	struct ctl_msg tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.type = (enum ctl_type)buf[3];
	struct ctl_stream r = { .mode = CTL_READ, .in = buf + CTL_HEADER_SIZE, .cap = len - CTL_HEADER_SIZE };
	const char *reason = ctl_serialize_body(&r, &tmp);
	if (reason)
		return ctl_refuse(why, reason);
	if (r.pos != r.cap)
		return ctl_refuse(why, "trailing bytes");
	if (!ctl_fields_valid(&tmp))
		return ctl_refuse(why, why_field);
	*m = tmp;
	return 0;
}

const char *ctl_type_name(enum ctl_type t)
{
	static const char *const names[CTL_TYPE_COUNT] = {
		[CTL_HELLO] = "HELLO", [CTL_FRAME] = "FRAME", [CTL_STATE] = "STATE", [CTL_DESYNC] = "DESYNC",
		[CTL_BYE] = "BYE", [CTL_DUMPED] = "DUMPED", [CTL_PEERS] = "PEERS", [CTL_START] = "START",
		[CTL_INPUT] = "INPUT", [CTL_DUMP] = "DUMP", [CTL_QUIT] = "QUIT", [CTL_INPUTS] = "INPUTS",
		[CTL_PERTURB] = "PERTURB", [CTL_GONE] = "GONE", [CTL_REJOIN] = "REJOIN", [CTL_READMIT] = "READMIT",
		[CTL_RTT] = "RTT",
	};
	/* Compared as unsigned: t may hold any int that came from outside. */
	if ((unsigned)t >= CTL_TYPE_COUNT || !names[t])
		return "?";
	return names[t];
}

int ctl_send(int fd, const struct ctl_msg *m)
{
	uint8_t buf[CTL_MAX_MSG];
	int len = ctl_encode(m, buf, sizeof buf);
	if (len < 0)
		return -EINVAL;
	ssize_t n;
	do
		n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SOCK_SEQPACKET sends a record whole or not at all; anything else is not the socket this was promised. */
	return n == len ? 0 : -EIO;
}

/* recv() gives 0 both for an empty record and at end of stream; only a hang-up tells them apart. */
static bool ctl_peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	int n;
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

int ctl_recv(int fd, struct ctl_msg *m, const char **why)
{
	/* One byte more than the largest message, so that an oversized one shows by filling it. */
	uint8_t buf[CTL_MAX_MSG + 1];
	ssize_t n;
	do
		n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0 && ctl_peer_gone(fd))
		return -ECONNRESET;
	if ((size_t)n > CTL_MAX_MSG) {
		if (why)
			*why = "oversized";
		return -EPROTO;
	}
	if (ctl_decode(buf, (size_t)n, m, why) < 0)
		return -EPROTO;
	return 1;
}
