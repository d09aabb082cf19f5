// SPDX-License-Identifier: MIT
// The control channel: exact layouts, round trips, refusal of malformed input, the socket transport, a fuzz loop.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "game/game.h"

/* The control messages carry the game's entities and inputs; these limits must agree with the game's. */
_Static_assert(CTL_INPUT_KEY_MASK == GAME_IN_MASK, "INPUT keys are the game's input bits");
_Static_assert(CTL_STATE_MAX_SHIPS == GAME_MAX_PLAYERS, "STATE carries every ship");
_Static_assert(CTL_STATE_MAX_BULLETS == GAME_MAX_BULLETS, "STATE carries every bullet");
_Static_assert(CTL_DUMP_MAX >= GAME_SERIALIZED_MAX, "DUMPED carries a whole serialised state");

/* ---- helpers ---- */

/* The test's own RNG (xorshift64), seeded by each test, so that every run sees the same values. */
static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static struct ctl_msg *msg_new(enum ctl_type t)
{
	struct ctl_msg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->type = t;
	return m;
}

/* One message of type t with values that exercise every byte: high bits set, negatives, maximum counts when
 * full is set. */
static struct ctl_msg *msg_sample(enum ctl_type t, int full)
{
	struct ctl_msg *m = msg_new(t);
	switch (t) {
	case CTL_HELLO:
		m->u.hello = (struct ctl_hello){ .index = 63, .ip = 0x7f000105u, .port = 0xfedc, .pid = 0x89abcdefu };
		break;
	case CTL_FRAME:
		m->u.frame = (struct ctl_frame){
			.frame = 0xfffffff0u, .confirmed = 0xffffffe9u, .checksum = 0x0123456789abcdefull,
			.rollbacks = 0x80000001u, .max_rollback = 0xfffe, .last_rollback = 7, .stalls = 12345678,
			.rtt_ms = 0x8001, .frames_ahead = -32768, .bytes_in_per_s = 0xdeadbeefu,
			.bytes_out_per_s = 0xcafef00du,
		};
		break;
	case CTL_STATE: {
		struct ctl_state *st = &m->u.state;
		st->frame = 0x80000000u;
		st->nships = full ? CTL_STATE_MAX_SHIPS : 3;
		st->nbullets = full ? CTL_STATE_MAX_BULLETS : 2;
		for (int k = 0; k < st->nships; k++)
			st->ship[k] = (struct ctl_ship){ .x = INT32_MIN + k, .y = INT32_MAX - k, .angle = (uint16_t)(1023 - k),
							 .alive = (uint8_t)(k & 1), .score = (int16_t)(-k * 1000 - 1) };
		for (int k = 0; k < st->nbullets; k++)
			st->bullet[k] = (struct ctl_bullet){ .x = -k * 65536 - 1, .y = k * 70000,
							     .owner = (uint8_t)(k % st->nships) };
		break;
	}
	case CTL_DESYNC: {
		struct ctl_desync *d = &m->u.desync;
		d->frame = 600;
		d->npeers = full ? CTL_MAX_PEERS : 3;
		d->known_mask = full ? 0xf0f0f0f0f0f0f0f0ull : 0x5;
		for (int k = 0; k < d->npeers; k++)
			d->checksum[k] = 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1);
		break;
	}
	case CTL_BYE:
		m->u.bye.reason = CTL_BYE_ERROR;
		break;
	case CTL_DUMPED: {
		struct ctl_dumped *d = &m->u.dumped;
		d->frame = 0x01020304u;
		d->ok = 1;
		d->len = full ? CTL_DUMP_MAX : 5;
		for (int k = 0; k < d->len; k++)
			d->data[k] = (uint8_t)(k * 131 + 7);
		break;
	}
	case CTL_PEERS: {
		struct ctl_peers *p = &m->u.peers;
		p->session_id = 0xfedcba9876543210ull;
		p->seed = 0x8000000000000001ull;
		p->netcode = CTL_NETCODE_LOCKSTEP;
		p->input_delay = 255;
		p->npeers = full ? CTL_MAX_PEERS : 2;
		for (int k = 0; k < p->npeers; k++) {
			p->ip[k] = 0x7f000002u + (uint32_t)k;
			p->port[k] = (uint16_t)(65535 - k);
		}
		break;
	}
	case CTL_INPUT:
		m->u.input = (struct ctl_input){ .keys = GAME_IN_THRUST | GAME_IN_FIRE, .human = 1 };
		break;
	case CTL_DUMP:
		m->u.dump.frame = 0xffffffffu;
		break;
	case CTL_INPUTS:
		m->u.inputs.frame = 0xfffffffeu;
		m->u.inputs.n = full ? CTL_MAX_INPUTS : 4;
		for (int k = 0; k < m->u.inputs.n; k++)
			m->u.inputs.input[k] = (uint8_t)(k & CTL_INPUT_KEY_MASK);
		break;
	case CTL_PERTURB:
		m->u.perturb.frame = 0x7fffffffu;
		break;
	case CTL_GONE:
		m->u.gone = (struct ctl_gone){ .peer = CTL_MAX_PEERS - 1, .upto = 0xfffffff0u };
		break;
	case CTL_REJOIN: {
		struct ctl_rejoin *rj = &m->u.rejoin;
		rj->frame = 0x00010203u;
		rj->readmit = 0xfffffffeu;
		rj->nlost = full ? CTL_REJOIN_MAX_LOST : 2;
		for (int k = 0; k < rj->nlost; k++)
			rj->lost[k] = (struct ctl_gone){ .peer = (uint8_t)(k * 3), .upto = 0x01000000u + (uint32_t)k };
		rj->len = full ? CTL_DUMP_MAX : 7;
		for (int k = 0; k < rj->len; k++)
			rj->data[k] = (uint8_t)(k * 37 + 1);
		break;
	}
	case CTL_READMIT:
		m->u.readmit = (struct ctl_readmit){ .peer = 5, .frame = 0x80000001u };
		break;
	case CTL_RTT: {
		struct ctl_rtt *rt = &m->u.rtt;
		rt->frame = 0xfedcba98u;
		rt->npeers = full ? CTL_MAX_PEERS : 3;
		for (int k = 0; k < rt->npeers; k++)
			rt->rtt[k] = k == 1 ? CTL_RTT_UNKNOWN : (uint16_t)(0x8000u + 1237u * (unsigned)k);
		break;
	}
	default:
		break;
	}
	return m;
}

/* Field-by-field equality: a decoded struct's padding is unspecified, so memcmp would not do. */
static void assert_msg_equal(const struct ctl_msg *a, const struct ctl_msg *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case CTL_HELLO:
		assert_int_equal(a->u.hello.index, b->u.hello.index);
		assert_int_equal(a->u.hello.ip, b->u.hello.ip);
		assert_int_equal(a->u.hello.port, b->u.hello.port);
		assert_int_equal(a->u.hello.pid, b->u.hello.pid);
		break;
	case CTL_FRAME: {
		const struct ctl_frame *x = &a->u.frame, *y = &b->u.frame;
		assert_int_equal(x->frame, y->frame);
		assert_int_equal(x->confirmed, y->confirmed);
		assert_int_equal(x->checksum, y->checksum);
		assert_int_equal(x->rollbacks, y->rollbacks);
		assert_int_equal(x->max_rollback, y->max_rollback);
		assert_int_equal(x->last_rollback, y->last_rollback);
		assert_int_equal(x->stalls, y->stalls);
		assert_int_equal(x->rtt_ms, y->rtt_ms);
		assert_int_equal(x->frames_ahead, y->frames_ahead);
		assert_int_equal(x->bytes_in_per_s, y->bytes_in_per_s);
		assert_int_equal(x->bytes_out_per_s, y->bytes_out_per_s);
		break;
	}
	case CTL_STATE: {
		const struct ctl_state *x = &a->u.state, *y = &b->u.state;
		assert_int_equal(x->frame, y->frame);
		assert_int_equal(x->nships, y->nships);
		assert_int_equal(x->nbullets, y->nbullets);
		for (int k = 0; k < x->nships; k++) {
			assert_int_equal(x->ship[k].x, y->ship[k].x);
			assert_int_equal(x->ship[k].y, y->ship[k].y);
			assert_int_equal(x->ship[k].angle, y->ship[k].angle);
			assert_int_equal(x->ship[k].alive, y->ship[k].alive);
			assert_int_equal(x->ship[k].score, y->ship[k].score);
		}
		for (int k = 0; k < x->nbullets; k++) {
			assert_int_equal(x->bullet[k].x, y->bullet[k].x);
			assert_int_equal(x->bullet[k].y, y->bullet[k].y);
			assert_int_equal(x->bullet[k].owner, y->bullet[k].owner);
		}
		break;
	}
	case CTL_DESYNC: {
		const struct ctl_desync *x = &a->u.desync, *y = &b->u.desync;
		assert_int_equal(x->frame, y->frame);
		assert_int_equal(x->npeers, y->npeers);
		assert_int_equal(x->known_mask, y->known_mask);
		for (int k = 0; k < x->npeers; k++)
			assert_int_equal(x->checksum[k], y->checksum[k]);
		break;
	}
	case CTL_BYE:
		assert_int_equal(a->u.bye.reason, b->u.bye.reason);
		break;
	case CTL_DUMPED:
		assert_int_equal(a->u.dumped.frame, b->u.dumped.frame);
		assert_int_equal(a->u.dumped.ok, b->u.dumped.ok);
		assert_int_equal(a->u.dumped.len, b->u.dumped.len);
		assert_memory_equal(a->u.dumped.data, b->u.dumped.data, a->u.dumped.len);
		break;
	case CTL_PEERS: {
		const struct ctl_peers *x = &a->u.peers, *y = &b->u.peers;
		assert_int_equal(x->session_id, y->session_id);
		assert_int_equal(x->seed, y->seed);
		assert_int_equal(x->netcode, y->netcode);
		assert_int_equal(x->input_delay, y->input_delay);
		assert_int_equal(x->npeers, y->npeers);
		for (int k = 0; k < x->npeers; k++) {
			assert_int_equal(x->ip[k], y->ip[k]);
			assert_int_equal(x->port[k], y->port[k]);
		}
		break;
	}
	case CTL_INPUT:
		assert_int_equal(a->u.input.keys, b->u.input.keys);
		assert_int_equal(a->u.input.human, b->u.input.human);
		break;
	case CTL_DUMP:
		assert_int_equal(a->u.dump.frame, b->u.dump.frame);
		break;
	case CTL_INPUTS:
		assert_int_equal(a->u.inputs.frame, b->u.inputs.frame);
		assert_int_equal(a->u.inputs.n, b->u.inputs.n);
		assert_memory_equal(a->u.inputs.input, b->u.inputs.input, a->u.inputs.n);
		break;
	case CTL_PERTURB:
		assert_int_equal(a->u.perturb.frame, b->u.perturb.frame);
		break;
	case CTL_GONE:
		assert_int_equal(a->u.gone.peer, b->u.gone.peer);
		assert_int_equal(a->u.gone.upto, b->u.gone.upto);
		break;
	case CTL_REJOIN: {
		const struct ctl_rejoin *x = &a->u.rejoin, *y = &b->u.rejoin;
		assert_int_equal(x->frame, y->frame);
		assert_int_equal(x->readmit, y->readmit);
		assert_int_equal(x->nlost, y->nlost);
		for (int k = 0; k < x->nlost; k++) {
			assert_int_equal(x->lost[k].peer, y->lost[k].peer);
			assert_int_equal(x->lost[k].upto, y->lost[k].upto);
		}
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
		break;
	}
	case CTL_READMIT:
		assert_int_equal(a->u.readmit.peer, b->u.readmit.peer);
		assert_int_equal(a->u.readmit.frame, b->u.readmit.frame);
		break;
	case CTL_RTT:
		assert_int_equal(a->u.rtt.frame, b->u.rtt.frame);
		assert_int_equal(a->u.rtt.npeers, b->u.rtt.npeers);
		for (int k = 0; k < a->u.rtt.npeers; k++)
			assert_int_equal(a->u.rtt.rtt[k], b->u.rtt.rtt[k]);
		break;
	default:
		break;
	}
}

/* Encodes m, checks the length the layout table gives, decodes into a copy of exactly that many bytes (so that
 * ASan sees any read past the end) and checks that every field came back. */
static void assert_round_trip(const struct ctl_msg *m, int expected_len)
{
	static uint8_t buf[CTL_MAX_MSG];
	int n = ctl_encode(m, buf, sizeof buf);
	assert_int_equal(n, expected_len);
	uint8_t *exact = malloc((size_t)n);
	assert_non_null(exact);
	memcpy(exact, buf, (size_t)n);
	struct ctl_msg *out = msg_new(CTL_QUIT);
	const char *why = NULL;
	assert_int_equal(ctl_decode(exact, (size_t)n, out, &why), 0);
	assert_msg_equal(m, out);
	free(out);
	free(exact);
}

/* Decodes len bytes and expects the refusal reason; the output struct must be left exactly as it was. */
static void assert_refused(const uint8_t *buf, size_t len, const char *reason)
{
	uint8_t *exact = malloc(len ? len : 1);
	assert_non_null(exact);
	if (len)
		memcpy(exact, buf, len);
	struct ctl_msg *out = malloc(sizeof *out);
	uint8_t *before = malloc(sizeof *out);
	assert_non_null(out);
	assert_non_null(before);
	memset(out, 0xa5, sizeof *out);
	memcpy(before, out, sizeof *out);
	const char *why = NULL;
	assert_int_equal(ctl_decode(exact, len, out, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_memory_equal(out, before, sizeof *out);
	free(before);
	free(out);
	free(exact);
}

/* Encodes a valid sample into a fresh buffer, returns its length. */
static size_t encode_sample(enum ctl_type t, int full, uint8_t *buf, size_t cap)
{
	struct ctl_msg *m = msg_sample(t, full);
	int n = ctl_encode(m, buf, cap);
	free(m);
	assert_true(n >= CTL_HEADER_SIZE);
	return (size_t)n;
}

/* ---- names ---- */

static void test_control_type_names(void **state)
{
	(void)state;
	assert_string_equal(ctl_type_name(CTL_HELLO), "HELLO");
	assert_string_equal(ctl_type_name(CTL_DUMPED), "DUMPED");
	assert_string_equal(ctl_type_name(CTL_QUIT), "QUIT");
	for (int t = CTL_HELLO; t < CTL_TYPE_COUNT; t++)
		assert_string_not_equal(ctl_type_name((enum ctl_type)t), "?");
	assert_string_equal(ctl_type_name((enum ctl_type)0), "?");
	assert_string_equal(ctl_type_name(CTL_TYPE_COUNT), "?");
	assert_string_equal(ctl_type_name((enum ctl_type)-1), "?");
}

/* ---- exact bytes: the layout table in control.c, written out by hand ---- */

static void test_control_hello_layout_is_little_endian(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_sample(CTL_HELLO, 0);
	const uint8_t want[] = { 'L', 'C', CTL_VERSION, CTL_HELLO, 0x3f, 0x00, 0x05, 0x01, 0x00, 0x7f,
				 0xdc, 0xfe, 0xef, 0xcd, 0xab, 0x89 };
	uint8_t buf[64];
	assert_int_equal(ctl_encode(m, buf, sizeof buf), sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	free(m);
}

static void test_control_state_layout_packs_ships_then_bullets(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_new(CTL_STATE);
	m->u.state.frame = 0x11223344u;
	m->u.state.nships = 1;
	m->u.state.nbullets = 1;
	m->u.state.ship[0] = (struct ctl_ship){ .x = -2, .y = 0x01020304, .angle = 0x0305, .alive = 1, .score = -3 };
	m->u.state.bullet[0] = (struct ctl_bullet){ .x = 0x7fffffff, .y = INT32_MIN, .owner = 0 };
	const uint8_t want[] = { 'L', 'C', CTL_VERSION, CTL_STATE, 0x44, 0x33, 0x22, 0x11, 1, 1,
				 0xfe, 0xff, 0xff, 0xff, 0x04, 0x03, 0x02, 0x01, 0x05, 0x03, 0x01, 0xfd, 0xff,
				 0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x80, 0x00 };
	uint8_t buf[64];
	assert_int_equal(ctl_encode(m, buf, sizeof buf), sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	free(m);
}

static void test_control_rtt_layout_is_a_u16_per_peer_in_tenths_of_a_ms(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_new(CTL_RTT);
	m->u.rtt = (struct ctl_rtt){ .frame = 0x01020304u, .npeers = 3,
				     .rtt = { CTL_RTT_UNKNOWN, 1834 /* 183.4 ms */, 0x0102 } };
	uint8_t buf[32];
	assert_int_equal(ctl_encode(m, buf, sizeof buf), 15);
	const uint8_t want[15] = { 'L', 'C', CTL_VERSION, CTL_RTT, 0x04, 0x03, 0x02, 0x01, 3,
				   0xff, 0xff, 0x2a, 0x07, 0x02, 0x01 };
	assert_memory_equal(buf, want, sizeof want);
	assert_string_equal(ctl_type_name(CTL_RTT), "RTT");
	free(m);
}

static void test_control_peers_layout_interleaves_ip_and_port(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_new(CTL_PEERS);
	m->u.peers = (struct ctl_peers){ .session_id = 0x0807060504030201ull, .seed = 0x1817161514131211ull,
					 .netcode = 1, .input_delay = 2, .npeers = 2,
					 .ip = { 0x7f000002u, 0x7f000003u }, .port = { 0x1234, 0xabcd } };
	const uint8_t want[] = { 'L', 'C', CTL_VERSION, CTL_PEERS, 1, 2, 3, 4, 5, 6, 7, 8,
				 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 1, 2, 2,
				 0x02, 0x00, 0x00, 0x7f, 0x34, 0x12, 0x03, 0x00, 0x00, 0x7f, 0xcd, 0xab };
	uint8_t buf[64];
	assert_int_equal(ctl_encode(m, buf, sizeof buf), sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	free(m);
}

/* ---- round trips ---- */

/* Lengths from the layout table: fixed types, and the variable ones for msg_sample(t, 0). */
static const int sample_len[CTL_TYPE_COUNT] = {
	[CTL_HELLO] = 16, [CTL_FRAME] = 44, [CTL_STATE] = 10 + 13 * 3 + 9 * 2, [CTL_DESYNC] = 17 + 8 * 3,
	[CTL_BYE] = 5, [CTL_DUMPED] = 11 + 5, [CTL_PEERS] = 23 + 6 * 2, [CTL_START] = 4, [CTL_INPUT] = 6,
	[CTL_DUMP] = 8, [CTL_QUIT] = 4, [CTL_INPUTS] = 9 + 4, [CTL_PERTURB] = 8, [CTL_GONE] = 9,
	[CTL_REJOIN] = 15 + 5 * 2 + 7, [CTL_READMIT] = 9, [CTL_RTT] = 9 + 2 * 3,
};

static void test_control_round_trip_every_type(void **state)
{
	(void)state;
	for (int t = CTL_HELLO; t < CTL_TYPE_COUNT; t++) {
		struct ctl_msg *m = msg_sample((enum ctl_type)t, 0);
		assert_round_trip(m, sample_len[t]);
		free(m);
	}
}

static void test_control_round_trip_maximum_counts(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_sample(CTL_STATE, 1);
	assert_round_trip(m, 10 + 13 * 16 + 9 * 128);
	free(m);
	m = msg_sample(CTL_DESYNC, 1);
	assert_round_trip(m, 17 + 8 * 64);
	free(m);
	m = msg_sample(CTL_PEERS, 1);
	assert_round_trip(m, 23 + 6 * 64);
	free(m);
	m = msg_sample(CTL_DUMPED, 1);
	assert_round_trip(m, 11 + CTL_DUMP_MAX);
	free(m);
	m = msg_sample(CTL_RTT, 1);
	assert_round_trip(m, 9 + 2 * 64);
	free(m);
}

static void test_control_round_trip_empty_and_boundary_values(void **state)
{
	(void)state;
	struct ctl_msg *m = msg_new(CTL_STATE); /* no ships, no bullets */
	assert_round_trip(m, 10);
	free(m);
	m = msg_new(CTL_DUMPED); /* ok 0: the frame is gone, no data */
	assert_round_trip(m, 11);
	free(m);
	m = msg_new(CTL_DESYNC);
	m->u.desync.npeers = 1;
	m->u.desync.known_mask = 1;
	assert_round_trip(m, 25);
	m->u.desync.npeers = 64;
	m->u.desync.known_mask = UINT64_MAX; /* every bit allowed at 64 peers */
	assert_round_trip(m, 17 + 8 * 64);
	m->u.desync.npeers = 63;
	m->u.desync.known_mask = UINT64_MAX >> 1; /* bits 0..62 */
	assert_round_trip(m, 17 + 8 * 63);
	free(m);
	m = msg_new(CTL_INPUT);
	m->u.input.keys = CTL_INPUT_KEY_MASK;
	assert_round_trip(m, 6);
	free(m);
}

/* ---- refusals ---- */

static void test_control_decode_refuses_no_header(void **state)
{
	(void)state;
	const uint8_t three[] = { 'L', 'C', CTL_VERSION };
	assert_refused(three, 0, "too short");
	assert_refused(three, sizeof three, "too short");
	const char *why = NULL;
	struct ctl_msg m;
	assert_int_equal(ctl_decode(NULL, 0, &m, &why), -1);
	assert_string_equal(why, "too short");
	assert_int_equal(ctl_decode(NULL, 0, &m, NULL), -1); /* why is optional */
}

static void test_control_decode_refuses_bad_header(void **state)
{
	(void)state;
	uint8_t buf[CTL_MAX_MSG];
	size_t n = encode_sample(CTL_HELLO, 0, buf, sizeof buf);
	buf[0] = 'X';
	assert_refused(buf, n, "bad magic");
	buf[0] = 'L';
	buf[1] = 'c';
	assert_refused(buf, n, "bad magic");
	buf[1] = 'C';
	buf[2] = 2;
	assert_refused(buf, n, "bad version");
	buf[2] = 0;
	assert_refused(buf, n, "bad version");
	buf[2] = CTL_VERSION;
	buf[3] = 0;
	assert_refused(buf, n, "unknown type");
	buf[3] = CTL_TYPE_COUNT;
	assert_refused(buf, n, "unknown type");
	buf[3] = 255;
	assert_refused(buf, n, "unknown type");
	/* A bad header wins over a bad length. */
	const uint8_t bare[] = { 'L', 'C', 2, CTL_HELLO };
	assert_refused(bare, sizeof bare, "bad version");
}

static void test_control_decode_refuses_fixed_types_off_by_one(void **state)
{
	(void)state;
	static const struct {
		enum ctl_type type;
		size_t len;
	} fixed[] = {
		{ CTL_HELLO, 16 }, { CTL_FRAME, 44 }, { CTL_BYE, 5 }, { CTL_START, 4 },
		{ CTL_INPUT, 6 }, { CTL_DUMP, 8 }, { CTL_QUIT, 4 },
	};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		uint8_t buf[64] = { 0 };
		size_t n = encode_sample(fixed[i].type, 0, buf, sizeof buf - 1);
		assert_int_equal(n, fixed[i].len);
		/* A one-byte-short START or QUIT has no whole header left. */
		assert_refused(buf, n - 1, n - 1 < CTL_HEADER_SIZE ? "too short" : "truncated");
		buf[n] = 0;
		assert_refused(buf, n + 1, "trailing bytes");
	}
}

/* A STATE header with the given counts and exactly the body length those counts imply, every field valid. */
static size_t raw_state(uint8_t *buf, unsigned nships, unsigned nbullets)
{
	size_t n = 10 + 13 * (size_t)nships + 9 * (size_t)nbullets;
	memset(buf, 0, n);
	memcpy(buf, (const uint8_t[]){ 'L', 'C', CTL_VERSION, CTL_STATE }, 4);
	buf[8] = (uint8_t)nships;
	buf[9] = (uint8_t)nbullets;
	return n;
}

static void test_control_decode_refuses_counts_over_limits(void **state)
{
	(void)state;
	uint8_t *buf = calloc(1, 11 + 65535); /* room for the largest len a DUMPED can claim */
	assert_non_null(buf);

	assert_refused(buf, raw_state(buf, 17, 0), "count out of range");
	assert_refused(buf, raw_state(buf, 16, 129), "count out of range");
	assert_refused(buf, raw_state(buf, 255, 255), "count out of range");
	/* The count is refused before its array is looked at, whatever the length. */
	raw_state(buf, 17, 0);
	assert_refused(buf, 10, "count out of range");

	size_t n = encode_sample(CTL_PEERS, 0, buf, CTL_MAX_MSG);
	buf[22] = 0;
	assert_refused(buf, 23, "count out of range");
	buf[22] = 65;
	memset(buf + 23, 0, 6 * 65);
	assert_refused(buf, 23 + 6 * 65, "count out of range");
	(void)n;

	encode_sample(CTL_DESYNC, 0, buf, CTL_MAX_MSG);
	buf[8] = 0;
	assert_refused(buf, 17, "count out of range");
	buf[8] = 65;
	assert_refused(buf, 17 + 8 * 65, "count out of range");

	encode_sample(CTL_RTT, 0, buf, CTL_MAX_MSG);
	buf[8] = 0;
	assert_refused(buf, 9, "count out of range");
	buf[8] = 65;
	memset(buf + 9, 0, 2 * 65);
	assert_refused(buf, 9 + 2 * 65, "count out of range");
	buf[8] = 255;
	assert_refused(buf, 9, "count out of range");

	encode_sample(CTL_DUMPED, 0, buf, CTL_MAX_MSG);
	buf[9] = (CTL_DUMP_MAX + 1) & 0xff;
	buf[10] = (CTL_DUMP_MAX + 1) >> 8;
	assert_refused(buf, 11 + CTL_DUMP_MAX + 1, "count out of range");
	buf[9] = buf[10] = 0xff;
	assert_refused(buf, 11 + 65535, "count out of range");
	free(buf);
}

static void test_control_decode_refuses_length_inconsistent_with_counts(void **state)
{
	(void)state;
	uint8_t buf[CTL_MAX_MSG + 1] = { 0 };
	size_t n = raw_state(buf, 2, 1);
	assert_refused(buf, n - 1, "truncated");
	assert_refused(buf, n + 1, "trailing bytes");
	assert_refused(buf, n - 9, "truncated"); /* a whole bullet missing */
	assert_refused(buf, 9, "truncated");     /* not even the counts */

	n = encode_sample(CTL_PEERS, 0, buf, sizeof buf);
	assert_refused(buf, n - 6, "truncated");
	assert_refused(buf, n + 6, "trailing bytes");
	buf[22] = 3; /* says three, carries two */
	assert_refused(buf, n, "truncated");
	buf[22] = 1; /* says one, carries two */
	assert_refused(buf, n, "trailing bytes");

	n = encode_sample(CTL_DESYNC, 0, buf, sizeof buf);
	assert_refused(buf, n - 1, "truncated");
	assert_refused(buf, n + 1, "trailing bytes");
	assert_refused(buf, 16, "truncated"); /* known_mask cut */

	n = encode_sample(CTL_RTT, 0, buf, sizeof buf);
	assert_refused(buf, n - 1, "truncated");
	assert_refused(buf, n - 2, "truncated"); /* a whole remote missing */
	assert_refused(buf, n + 2, "trailing bytes");
	assert_refused(buf, 8, "truncated");     /* not even the count */
	buf[8] = 4; /* says four, carries three */
	assert_refused(buf, n, "truncated");
	buf[8] = 2; /* says two, carries three */
	assert_refused(buf, n, "trailing bytes");

	n = encode_sample(CTL_DUMPED, 1, buf, sizeof buf);
	assert_refused(buf, n - 1, "truncated");
	assert_refused(buf, n + 1, "trailing bytes");
	n = encode_sample(CTL_DUMPED, 0, buf, sizeof buf);
	buf[9] = 6; /* says six, carries five */
	assert_refused(buf, n, "truncated");
	buf[9] = 4;
	assert_refused(buf, n, "trailing bytes");
}

/* Encodes a valid sample, lets patch break one field, expects "bad field value". */
static void assert_field_refused(enum ctl_type t, size_t offset, uint8_t value)
{
	uint8_t buf[CTL_MAX_MSG];
	size_t n = encode_sample(t, 0, buf, sizeof buf);
	assert_true(offset < n);
	buf[offset] = value;
	assert_refused(buf, n, "bad field value");
}

static void test_control_decode_refuses_bad_field_values(void **state)
{
	(void)state;
	assert_field_refused(CTL_HELLO, 4, CTL_MAX_PEERS);         /* index 64 */
	assert_field_refused(CTL_HELLO, 5, 1);                     /* index 0x013f */
	assert_field_refused(CTL_INPUT, 4, 0x10);                  /* a key beyond the game's bits */
	assert_field_refused(CTL_INPUT, 4, 0x80 | GAME_IN_FIRE);
	assert_field_refused(CTL_INPUT, 5, 2);                     /* human is 0 or 1 */
	assert_field_refused(CTL_PEERS, 20, 2);                    /* netcode 2 */
	assert_field_refused(CTL_BYE, 4, CTL_BYE_ERROR + 1);
	assert_field_refused(CTL_STATE, 10 + 8 + 2, 2);            /* ship 0 alive 2 */
	assert_field_refused(CTL_STATE, 10 + 13 * 3 + 8, 3);       /* bullet 0 owned by ship 3 of 3 */
	assert_field_refused(CTL_DESYNC, 9, 0x08);                 /* known bit 3 of 3 peers */
	assert_field_refused(CTL_DESYNC, 16, 0x80);                /* known bit 63 of 3 peers */
	/* known bit 63 of 63 peers: the last bit is only allowed at 64 */
	uint8_t buf[CTL_MAX_MSG];
	struct ctl_msg *m = msg_sample(CTL_DESYNC, 1);
	m->u.desync.npeers = 63;
	m->u.desync.known_mask = UINT64_MAX >> 1;
	int n = ctl_encode(m, buf, sizeof buf);
	assert_int_equal(n, 17 + 8 * 63);
	buf[16] |= 0x80;
	assert_refused(buf, (size_t)n, "bad field value");
	m->u.desync.known_mask = UINT64_MAX;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);
	assert_field_refused(CTL_DUMPED, 8, 2);                    /* ok 2 */
	assert_field_refused(CTL_DUMPED, 8, 0);                    /* ok 0 yet data follows */
}

static void test_control_encode_refuses_invalid_messages(void **state)
{
	(void)state;
	uint8_t buf[CTL_MAX_MSG];
	uint8_t before[CTL_MAX_MSG];
	memset(buf, 0x5a, sizeof buf);
	memcpy(before, buf, sizeof buf);
	struct ctl_msg *m = msg_sample(CTL_STATE, 0);
	m->u.state.nships = CTL_STATE_MAX_SHIPS + 1;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	m->u.state.nships = 3;
	m->u.state.bullet[1].owner = 3;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);

	m = msg_sample(CTL_PEERS, 0);
	m->u.peers.npeers = 0;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);

	m = msg_sample(CTL_DUMPED, 0);
	m->u.dumped.len = CTL_DUMP_MAX + 1;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);

	m = msg_sample(CTL_RTT, 0);
	m->u.rtt.npeers = 0;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	m->u.rtt.npeers = CTL_MAX_PEERS + 1;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);

	m = msg_sample(CTL_INPUT, 0);
	m->u.input.keys = 0x10;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	m->type = (enum ctl_type)0;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	m->type = CTL_TYPE_COUNT;
	assert_int_equal(ctl_encode(m, buf, sizeof buf), -1);
	free(m);

	/* Too little room: refused whole, not written in part. */
	m = msg_sample(CTL_FRAME, 0);
	assert_int_equal(ctl_encode(m, buf, 43), -1);
	assert_int_equal(ctl_encode(m, buf, 0), -1);
	assert_memory_equal(buf, before, sizeof buf);
	assert_int_equal(ctl_encode(m, buf, 44), 44);
	free(m);
}

static void test_control_encode_takes_const_messages(void **state)
{
	(void)state;
	/* A message that lives in read-only memory: encoding must only read it. */
	static const struct ctl_msg quit = { .type = CTL_QUIT };
	static const struct ctl_msg dump = { .type = CTL_DUMP, .u.dump.frame = 42 };
	uint8_t buf[16];
	assert_int_equal(ctl_encode(&quit, buf, sizeof buf), 4);
	assert_int_equal(ctl_encode(&dump, buf, sizeof buf), 8);
	assert_memory_equal(buf, ((const uint8_t[]){ 'L', 'C', CTL_VERSION, CTL_DUMP, 42, 0, 0, 0 }), 8);
}

/* ---- fuzz: never crash, and whatever is accepted re-encodes to the same bytes ---- */

#define FUZZ_ITERATIONS 100000

static void test_control_decode_fuzz_accepts_only_canonical_bytes(void **state)
{
	(void)state;
	uint64_t rng = 0x2545f4914f6cdd1dull;
	/* Seeds for mutation: every type, small and full. */
	static uint8_t seeds[2 * CTL_TYPE_COUNT][CTL_MAX_MSG];
	size_t seed_len[2 * CTL_TYPE_COUNT];
	size_t nseeds = 0;
	for (int t = CTL_HELLO; t < CTL_TYPE_COUNT; t++)
		for (int full = 0; full < 2; full++) {
			seed_len[nseeds] = encode_sample((enum ctl_type)t, full, seeds[nseeds], CTL_MAX_MSG);
			nseeds++;
		}
	static uint8_t work[CTL_MAX_MSG + 1];
	static uint8_t again[CTL_MAX_MSG];
	struct ctl_msg *m = msg_new(CTL_QUIT);
	unsigned accepted = 0, refused = 0;

	for (unsigned i = 0; i < FUZZ_ITERATIONS; i++) {
		uint64_t r = xorshift64(&rng);
		size_t len;
		switch (r % 4) {
		case 0: /* noise */
			len = (size_t)(xorshift64(&rng) % 301);
			for (size_t k = 0; k < len; k++)
				work[k] = (uint8_t)xorshift64(&rng);
			break;
		case 1: /* noise behind a good header, to get past the first checks */
			len = (size_t)(xorshift64(&rng) % 301);
			for (size_t k = 0; k < len; k++)
				work[k] = (uint8_t)xorshift64(&rng);
			memcpy(work, (const uint8_t[]){ 'L', 'C', CTL_VERSION, (uint8_t)(xorshift64(&rng) % 13) },
			       len < 4 ? len : 4);
			break;
		default: { /* a valid message with bytes flipped, then maybe truncated */
			size_t s = (size_t)(xorshift64(&rng) % nseeds);
			len = seed_len[s];
			memcpy(work, seeds[s], len);
			unsigned flips = (unsigned)(xorshift64(&rng) % 3);
			for (unsigned f = 0; f < flips; f++) {
				/* Mostly the first bytes, where the header and the counts live. */
				size_t span = xorshift64(&rng) & 1 && len > 32 ? 32 : len;
				size_t at = (size_t)(xorshift64(&rng) % span);
				work[at] ^= (uint8_t)(1u << (xorshift64(&rng) % 8));
			}
			if (xorshift64(&rng) & 1)
				len = (size_t)(xorshift64(&rng) % (len + 1));
			break;
		}
		}
		/* An exact-size copy, so that ASan catches any read past len. */
		uint8_t *exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, work, len);
		const char *why = NULL;
		if (ctl_decode(exact, len, m, &why) == 0) {
			accepted++;
			int n = ctl_encode(m, again, sizeof again);
			assert_int_equal(n, (int)len);
			assert_memory_equal(again, exact, len);
		} else {
			refused++;
			assert_non_null(why);
		}
		free(exact);
	}
	free(m);
	/* Both sides of the property were exercised. */
	assert_true(accepted > FUZZ_ITERATIONS / 20);
	assert_true(refused > FUZZ_ITERATIONS / 2);
}

/* ---- the transport over a real socketpair ---- */

struct pair {
	int fd[2]; /* [0] the harness's end, [1] the peer's */
};

static int pair_setup(void **state)
{
	struct pair *p = malloc(sizeof *p);
	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->fd), 0);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;
	for (int k = 0; k < 2; k++)
		if (p->fd[k] >= 0)
			close(p->fd[k]);
	free(p);
	return 0;
}

static void test_control_socket_round_trip(void **state)
{
	struct pair *p = *state;
	struct ctl_msg *in = msg_new(CTL_QUIT);
	const char *why = NULL;
	for (int t = CTL_HELLO; t < CTL_TYPE_COUNT; t++) {
		struct ctl_msg *m = msg_sample((enum ctl_type)t, 1);
		assert_int_equal(ctl_send(p->fd[1], m), 0);
		assert_int_equal(ctl_recv(p->fd[0], in, &why), 1);
		assert_msg_equal(m, in);
		free(m);
	}
	/* Boundaries are kept: two queued messages come out as two. */
	struct ctl_msg *a = msg_sample(CTL_HELLO, 0), *b = msg_sample(CTL_BYE, 0);
	assert_int_equal(ctl_send(p->fd[0], a), 0);
	assert_int_equal(ctl_send(p->fd[0], b), 0);
	assert_int_equal(ctl_recv(p->fd[1], in, &why), 1);
	assert_msg_equal(a, in);
	assert_int_equal(ctl_recv(p->fd[1], in, &why), 1);
	assert_msg_equal(b, in);
	free(a);
	free(b);
	free(in);
}

static void test_control_socket_recv_returns_0_when_nothing_waits(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	const char *why = "untouched";
	assert_int_equal(ctl_recv(p->fd[0], &m, &why), 0);
	assert_string_equal(why, "untouched");
}

static void test_control_socket_send_refuses_invalid_message(void **state)
{
	struct pair *p = *state;
	struct ctl_msg *m = msg_sample(CTL_PEERS, 0);
	m->u.peers.npeers = CTL_MAX_PEERS + 1;
	assert_int_equal(ctl_send(p->fd[1], m), -EINVAL);
	const char *why;
	assert_int_equal(ctl_recv(p->fd[0], m, &why), 0); /* nothing went out */
	free(m);
}

/* A malformed packet is consumed and reported; the channel goes on. */
static void assert_raw_refused(struct pair *p, const void *raw, size_t len, const char *reason)
{
	assert_int_equal(send(p->fd[1], raw, len, MSG_NOSIGNAL), (ssize_t)len);
	struct ctl_msg *after = msg_sample(CTL_DUMP, 0);
	assert_int_equal(ctl_send(p->fd[1], after), 0);
	struct ctl_msg *in = msg_new(CTL_QUIT);
	const char *why = NULL;
	assert_int_equal(ctl_recv(p->fd[0], in, &why), -EPROTO);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_int_equal(ctl_recv(p->fd[0], in, &why), 1);
	assert_msg_equal(after, in);
	assert_int_equal(ctl_recv(p->fd[0], in, &why), 0);
	free(in);
	free(after);
}

static void test_control_socket_recv_refuses_garbage(void **state)
{
	struct pair *p = *state;
	assert_raw_refused(p, "hello, harness", 14, "bad magic");
	const uint8_t short_hello[] = { 'L', 'C', CTL_VERSION, CTL_HELLO, 1, 2, 3 };
	assert_raw_refused(p, short_hello, sizeof short_hello, "truncated");
}

static void test_control_socket_recv_refuses_oversized(void **state)
{
	struct pair *p = *state;
	uint8_t *big = malloc(20000);
	assert_non_null(big);
	/* A valid-looking DUMPED header in front, so that only the size can be the fault. */
	memset(big, 0, 20000);
	memcpy(big, (const uint8_t[]){ 'L', 'C', CTL_VERSION, CTL_DUMPED }, 4);
	assert_raw_refused(p, big, 20000, "oversized");
	/* One byte over the limit is enough. */
	assert_raw_refused(p, big, CTL_MAX_MSG + 1, "oversized");
	free(big);
}

static void test_control_socket_recv_tells_empty_packet_from_close(void **state)
{
	struct pair *p = *state;
	assert_raw_refused(p, "", 0, "too short");
}

static void test_control_socket_recv_reports_close_after_queued_messages(void **state)
{
	struct pair *p = *state;
	struct ctl_msg *bye = msg_sample(CTL_BYE, 0);
	assert_int_equal(ctl_send(p->fd[1], bye), 0);
	close(p->fd[1]);
	p->fd[1] = -1;
	struct ctl_msg *in = msg_new(CTL_QUIT);
	const char *why = NULL;
	assert_int_equal(ctl_recv(p->fd[0], in, &why), 1); /* what was sent before the close still arrives */
	assert_msg_equal(bye, in);
	assert_int_equal(ctl_recv(p->fd[0], in, &why), -ECONNRESET);
	assert_int_equal(ctl_recv(p->fd[0], in, &why), -ECONNRESET); /* and stays so */
	free(in);
	free(bye);
}

static void test_control_socket_recv_reports_shutdown(void **state)
{
	struct pair *p = *state;
	assert_int_equal(shutdown(p->fd[1], SHUT_WR), 0);
	struct ctl_msg m;
	const char *why;
	assert_int_equal(ctl_recv(p->fd[0], &m, &why), -ECONNRESET);
}

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

static void test_control_socket_send_to_closed_peer_is_epipe(void **state)
{
	struct pair *p = *state;
	close(p->fd[0]);
	p->fd[0] = -1;
	/* An error, never a SIGPIPE that would kill the harness. Linux raises none for SEQPACKET anyway; the handler
	 * turns a kernel that does, with MSG_NOSIGNAL missing, into a failure rather than a dead test. */
	struct sigaction count = { .sa_handler = count_sigpipe }, old;
	sigemptyset(&count.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &count, &old), 0);
	sigpipes = 0;
	struct ctl_msg quit = { .type = CTL_QUIT };
	int rc = ctl_send(p->fd[1], &quit);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	assert_int_equal(rc, -EPIPE);
	assert_int_equal(sigpipes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_type_names),
		cmocka_unit_test(test_control_hello_layout_is_little_endian),
		cmocka_unit_test(test_control_state_layout_packs_ships_then_bullets),
		cmocka_unit_test(test_control_peers_layout_interleaves_ip_and_port),
		cmocka_unit_test(test_control_rtt_layout_is_a_u16_per_peer_in_tenths_of_a_ms),
		cmocka_unit_test(test_control_round_trip_every_type),
		cmocka_unit_test(test_control_round_trip_maximum_counts),
		cmocka_unit_test(test_control_round_trip_empty_and_boundary_values),
		cmocka_unit_test(test_control_decode_refuses_no_header),
		cmocka_unit_test(test_control_decode_refuses_bad_header),
		cmocka_unit_test(test_control_decode_refuses_fixed_types_off_by_one),
		cmocka_unit_test(test_control_decode_refuses_counts_over_limits),
		cmocka_unit_test(test_control_decode_refuses_length_inconsistent_with_counts),
		cmocka_unit_test(test_control_decode_refuses_bad_field_values),
		cmocka_unit_test(test_control_encode_refuses_invalid_messages),
		cmocka_unit_test(test_control_encode_takes_const_messages),
		cmocka_unit_test(test_control_decode_fuzz_accepts_only_canonical_bytes),
		cmocka_unit_test_setup_teardown(test_control_socket_round_trip, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_returns_0_when_nothing_waits, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_send_refuses_invalid_message, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_refuses_garbage, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_refuses_oversized, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_tells_empty_packet_from_close, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_reports_close_after_queued_messages,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_recv_reports_shutdown, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_control_socket_send_to_closed_peer_is_epipe, pair_setup,
						pair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
