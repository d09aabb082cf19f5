// SPDX-License-Identifier: MIT
// loopsim/peer.h, the header-only client: its bytes decode with control.c, its environment parsing, QUIT and hang-up.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
/* By path, so that the test needs no include directory beyond loopsim_control's. */
#include "loopsim/peer.h"

/* peer.h copies these from control.h so that users need one file; here the copies are held to the originals. */
_Static_assert(LOOPSIM_PEER_MAX_PEERS == CTL_MAX_PEERS, "peer count limit");
_Static_assert(LOOPSIM_PEER__VERSION == CTL_VERSION, "protocol version");
_Static_assert(LOOPSIM_PEER__HELLO == CTL_HELLO && LOOPSIM_PEER__FRAME == CTL_FRAME &&
		       LOOPSIM_PEER__DESYNC == CTL_DESYNC && LOOPSIM_PEER__BYE == CTL_BYE && LOOPSIM_PEER__QUIT == CTL_QUIT &&
		       LOOPSIM_PEER__STATE == CTL_STATE && LOOPSIM_PEER__RTT == CTL_RTT,
	       "message types");
_Static_assert(LOOPSIM_PEER__RTT_UNKNOWN == CTL_RTT_UNKNOWN && CTL_RTT_UNIT_US == 100, "RTT units");
_Static_assert(LOOPSIM_PEER_STATE_SHIPS == CTL_STATE_MAX_SHIPS && LOOPSIM_PEER_STATE_BULLETS == CTL_STATE_MAX_BULLETS,
	       "STATE limits");
_Static_assert((int)LOOPSIM_PEER_BYE_DONE == (int)CTL_BYE_DONE && (int)LOOPSIM_PEER_BYE_QUIT == (int)CTL_BYE_QUIT &&
		       (int)LOOPSIM_PEER_BYE_ERROR == (int)CTL_BYE_ERROR,
	       "BYE reasons");

/* ---- fixtures and helpers ---- */

static const char *const env_names[] = { "LOOPSIM_INDEX", "LOOPSIM_ADDR", "LOOPSIM_PEERS", "LOOPSIM_SEED",
					 "LOOPSIM_CONTROL_FD" };

/* Sets the five variables; NULL unsets one. */
static void set_env(const char *index, const char *addr, const char *peers, const char *seed, const char *fd)
{
	const char *v[] = { index, addr, peers, seed, fd };
	for (size_t k = 0; k < 5; k++) {
		if (v[k])
			assert_int_equal(setenv(env_names[k], v[k], 1), 0);
		else
			assert_int_equal(unsetenv(env_names[k]), 0);
	}
}

static int env_teardown(void **state)
{
	(void)state;
	set_env(NULL, NULL, NULL, NULL, NULL);
	return 0;
}

/* A harness's end and a peer's end, and the peer's client initialised on its end with `npeers` peers. */
struct pair {
	int fd[2]; /* [0] the harness's end, [1] the peer's */
	struct loopsim_peer lp;
};

/* "127.0.0.2:40000,127.0.0.3:40001,..." for n peers, counting past .255 as the harness does. */
static void peer_list(char *buf, size_t cap, unsigned n)
{
	size_t pos = 0;
	for (unsigned k = 0; k < n; k++) {
		uint32_t ip = 0x7f000002u + k;
		int w = snprintf(buf + pos, cap - pos, "%s127.%u.%u.%u:%u", k ? "," : "", (ip >> 16) & 255,
				 (ip >> 8) & 255, ip & 255, 40000 + k);
		assert_true(w > 0 && (size_t)w < cap - pos);
		pos += (size_t)w;
	}
}

static int pair_setup_n(void **state, unsigned npeers, const char *index)
{
	struct pair *p = calloc(1, sizeof *p);
	char list[64 * 24], fd[16];
	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->fd), 0);
	peer_list(list, sizeof list, npeers);
	snprintf(fd, sizeof fd, "%d", p->fd[1]);
	assert_int_equal(loopsim_peer_init_args(&p->lp, index, NULL, list, "7", fd), 0);
	assert_int_equal(p->lp.control_fd, p->fd[1]);
	*state = p;
	return 0;
}

static int pair_setup(void **state)
{
	return pair_setup_n(state, 3, "1");
}

/* Index 63 of 64: the largest index, on 127.0.0.65, puts high bits in every field. */
static int pair_setup_full(void **state)
{
	return pair_setup_n(state, 64, "63");
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

/* Receives one record on the harness's end: its raw bytes, which must decode, and which must equal what
 * ctl_encode() makes of the decoded message (so peer.h's bytes are control.c's, not merely accepted by it). */
static void recv_and_decode(int fd, struct ctl_msg *m)
{
	static uint8_t buf[CTL_MAX_MSG + 1], again[CTL_MAX_MSG];
	const char *why = NULL;
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	assert_true(n > 0);
	int rc = ctl_decode(buf, (size_t)n, m, &why);
	if (rc < 0)
		fail_msg("ctl_decode refused peer.h's bytes: %s", why);
	assert_int_equal(ctl_encode(m, again, sizeof again), (int)n);
	assert_memory_equal(again, buf, (size_t)n);
}

static void assert_nothing_waits(int fd)
{
	uint8_t b[8];
	assert_int_equal(recv(fd, b, sizeof b, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ---- the bytes: HELLO, FRAME, DESYNC, BYE ---- */

static void test_peer_h_hello_decodes_to_the_same_values(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	assert_int_equal(loopsim_peer_hello(&p->lp, 0xfedc), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_HELLO);
	assert_int_equal(m.u.hello.index, 63);
	assert_int_equal(m.u.hello.ip, 0x7f000041u); /* 127.0.0.65 */
	assert_int_equal(m.u.hello.port, 0xfedc);
	assert_int_equal(m.u.hello.pid, (uint32_t)getpid());
	assert_nothing_waits(p->fd[0]);
}

static void test_peer_h_frame_decodes_to_the_same_values_with_zero_stats(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	assert_int_equal(loopsim_peer_frame(&p->lp, 0xfffffff0u, 0xffffffe9u, 0x0123456789abcdefull), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_FRAME);
	assert_int_equal(m.u.frame.frame, 0xfffffff0u);
	assert_int_equal(m.u.frame.confirmed, 0xffffffe9u);
	assert_true(m.u.frame.checksum == 0x0123456789abcdefull);
	assert_int_equal(m.u.frame.rollbacks, 0);
	assert_int_equal(m.u.frame.max_rollback, 0);
	assert_int_equal(m.u.frame.last_rollback, 0);
	assert_int_equal(m.u.frame.stalls, 0);
	assert_int_equal(m.u.frame.rtt_ms, 0);
	assert_int_equal(m.u.frame.frames_ahead, 0);
	assert_int_equal(m.u.frame.bytes_in_per_s, 0);
	assert_int_equal(m.u.frame.bytes_out_per_s, 0);
	/* The top checksum bit survives too. */
	assert_int_equal(loopsim_peer_frame(&p->lp, 0, 0, 0xfedcba9876543210ull), 0);
	recv_and_decode(p->fd[0], &m);
	assert_true(m.u.frame.checksum == 0xfedcba9876543210ull);
}

static void test_peer_h_frame_stats_decode_to_the_same_values(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	struct loopsim_peer_stats st = { .rollbacks = 0xdeadbeefu, .max_rollback = 65535, .last_rollback = 7,
					 .stalls = 12345, .rtt_ms = 360, .frames_ahead = -3,
					 .bytes_in_per_s = 4000000000u, .bytes_out_per_s = 1 };
	assert_int_equal(loopsim_peer_frame_stats(&p->lp, 90, 88, 0x1122334455667788ull, &st), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_FRAME);
	assert_int_equal(m.u.frame.frame, 90);
	assert_int_equal(m.u.frame.confirmed, 88);
	assert_true(m.u.frame.checksum == 0x1122334455667788ull);
	assert_int_equal(m.u.frame.rollbacks, 0xdeadbeefu);
	assert_int_equal(m.u.frame.max_rollback, 65535);
	assert_int_equal(m.u.frame.last_rollback, 7);
	assert_int_equal(m.u.frame.stalls, 12345);
	assert_int_equal(m.u.frame.rtt_ms, 360);
	assert_int_equal(m.u.frame.frames_ahead, -3);
	assert_int_equal(m.u.frame.bytes_in_per_s, 4000000000u);
	assert_int_equal(m.u.frame.bytes_out_per_s, 1);
}

static void test_peer_h_bye_decodes_every_reason_and_refuses_others(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	for (unsigned r = LOOPSIM_PEER_BYE_DONE; r <= LOOPSIM_PEER_BYE_ERROR; r++) {
		assert_int_equal(loopsim_peer_bye(&p->lp, (enum loopsim_peer_bye_reason)r), 0);
		recv_and_decode(p->fd[0], &m);
		assert_int_equal(m.type, CTL_BYE);
		assert_int_equal(m.u.bye.reason, r);
	}
	assert_int_equal(loopsim_peer_bye(&p->lp, (enum loopsim_peer_bye_reason)3), -EINVAL);
	assert_nothing_waits(p->fd[0]);
}

static void test_peer_h_desync_decodes_to_the_same_values(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m;
	uint64_t sums[CTL_MAX_PEERS];
	for (unsigned k = 0; k < CTL_MAX_PEERS; k++)
		sums[k] = 0x8000000000000001ull * (k + 1);
	assert_int_equal(loopsim_peer_desync(&p->lp, 0x89abcdefu, 0x8000000000000005ull, sums), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_DESYNC);
	assert_int_equal(m.u.desync.frame, 0x89abcdefu);
	assert_int_equal(m.u.desync.npeers, 64);
	assert_true(m.u.desync.known_mask == 0x8000000000000005ull);
	assert_memory_equal(m.u.desync.checksum, sums, sizeof sums);
}

static void test_peer_h_desync_refuses_a_mask_beyond_the_peers(void **state)
{
	struct pair *p = *state; /* 3 peers */
	uint64_t sums[3] = { 1, 2, 3 };
	struct ctl_msg m;
	assert_int_equal(loopsim_peer_desync(&p->lp, 5, 1u << 3, sums), -EINVAL);
	assert_int_equal(loopsim_peer_desync(&p->lp, 5, 1, NULL), -EINVAL);
	assert_nothing_waits(p->fd[0]);
	assert_int_equal(loopsim_peer_desync(&p->lp, 5, 7, sums), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.u.desync.npeers, 3);
	assert_true(m.u.desync.checksum[2] == 3);
}

static void test_peer_h_rtt_decodes_to_tenths_of_a_ms_with_unknowns(void **state)
{
	struct pair *p = *state; /* index 63 of 64 */
	struct ctl_msg m;
	double rtt[CTL_MAX_PEERS];
	for (unsigned k = 0; k < CTL_MAX_PEERS; k++)
		rtt[k] = 10.0 + k;
	rtt[0] = 183.34;  /* rounds to 1833 */
	rtt[1] = 183.36;  /* 1834 */
	rtt[2] = -1;      /* unknown */
	rtt[3] = NAN;
	rtt[4] = 7000;    /* past 6553.4: clamped */
	rtt[5] = 0;       /* a measured 0, not an unknown */
	rtt[63] = 5;      /* its own: unknown whatever it says */
	assert_int_equal(loopsim_peer_rtt(&p->lp, 0xfedcba98u, rtt), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_RTT);
	assert_int_equal(m.u.rtt.frame, 0xfedcba98u);
	assert_int_equal(m.u.rtt.npeers, 64);
	assert_int_equal(m.u.rtt.rtt[0], 1833);
	assert_int_equal(m.u.rtt.rtt[1], 1834);
	assert_int_equal(m.u.rtt.rtt[2], CTL_RTT_UNKNOWN);
	assert_int_equal(m.u.rtt.rtt[3], CTL_RTT_UNKNOWN);
	assert_int_equal(m.u.rtt.rtt[4], 0xfffe);
	assert_int_equal(m.u.rtt.rtt[5], 0);
	assert_int_equal(m.u.rtt.rtt[6], 160);
	assert_int_equal(m.u.rtt.rtt[62], 720);
	assert_int_equal(m.u.rtt.rtt[63], CTL_RTT_UNKNOWN);
	assert_int_equal(loopsim_peer_rtt(&p->lp, 1, NULL), -EINVAL);
	assert_nothing_waits(p->fd[0]);
}

/* The fullest STATE, with negative and high-bit values in every field, decodes field for field. */
static void test_peer_h_state_decodes_to_the_same_values(void **state)
{
	struct pair *p = *state;
	struct loopsim_peer_ship ships[LOOPSIM_PEER_STATE_SHIPS];
	struct loopsim_peer_bullet bullets[LOOPSIM_PEER_STATE_BULLETS];
	for (unsigned k = 0; k < LOOPSIM_PEER_STATE_SHIPS; k++)
		ships[k] = (struct loopsim_peer_ship){ .x = (int32_t)(k * 0x01000001u) - 5, .y = -(int32_t)k * 65536,
						       .angle = (uint16_t)(1023 - k), .alive = (uint8_t)(k & 1),
						       .score = (int16_t)(k * 1000 - 9000) };
	for (unsigned k = 0; k < LOOPSIM_PEER_STATE_BULLETS; k++)
		bullets[k] = (struct loopsim_peer_bullet){ .x = (int32_t)k * -7, .y = INT32_MAX - (int32_t)k,
							   .owner = (uint8_t)(k % LOOPSIM_PEER_STATE_SHIPS) };
	assert_int_equal(loopsim_peer_state(&p->lp, 0xfedcba98u, ships, LOOPSIM_PEER_STATE_SHIPS, bullets,
					    LOOPSIM_PEER_STATE_BULLETS),
			 0);
	struct ctl_msg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	recv_and_decode(p->fd[0], m);
	assert_int_equal(m->type, CTL_STATE);
	assert_int_equal(m->u.state.frame, 0xfedcba98u);
	assert_int_equal(m->u.state.nships, LOOPSIM_PEER_STATE_SHIPS);
	assert_int_equal(m->u.state.nbullets, LOOPSIM_PEER_STATE_BULLETS);
	for (unsigned k = 0; k < LOOPSIM_PEER_STATE_SHIPS; k++) {
		const struct ctl_ship *sh = &m->u.state.ship[k];
		assert_int_equal(sh->x, ships[k].x);
		assert_int_equal(sh->y, ships[k].y);
		assert_int_equal(sh->angle, ships[k].angle);
		assert_int_equal(sh->alive, ships[k].alive);
		assert_int_equal(sh->score, ships[k].score);
	}
	for (unsigned k = 0; k < LOOPSIM_PEER_STATE_BULLETS; k++) {
		assert_int_equal(m->u.state.bullet[k].x, bullets[k].x);
		assert_int_equal(m->u.state.bullet[k].y, bullets[k].y);
		assert_int_equal(m->u.state.bullet[k].owner, bullets[k].owner);
	}
	free(m);
}

/* What the harness would refuse as a protocol error is refused here, and nothing is sent. */
static void test_peer_h_state_refuses_what_the_harness_would(void **state)
{
	struct pair *p = *state;
	struct loopsim_peer_ship ships[LOOPSIM_PEER_STATE_SHIPS + 1] = { { .alive = 1 } };
	struct loopsim_peer_bullet bullet = { .owner = 1 };
	assert_int_equal(loopsim_peer_state(&p->lp, 1, ships, LOOPSIM_PEER_STATE_SHIPS + 1, NULL, 0), -EINVAL);
	assert_int_equal(loopsim_peer_state(&p->lp, 1, ships, 1, &bullet, 1), -EINVAL); /* owner 1 of 1 ship */
	ships[0].alive = 2;
	assert_int_equal(loopsim_peer_state(&p->lp, 1, ships, 1, NULL, 0), -EINVAL);
	assert_int_equal(loopsim_peer_state(&p->lp, 1, NULL, 1, NULL, 0), -EINVAL);
	assert_nothing_waits(p->fd[0]);
	ships[0].alive = 0;
	bullet.owner = 0;
	assert_int_equal(loopsim_peer_state(&p->lp, 1, ships, 1, &bullet, 1), 0);
	struct ctl_msg m;
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.u.state.nships, 1);
	assert_int_equal(m.u.state.nbullets, 1);
	assert_int_equal(loopsim_peer_state(&p->lp, 2, NULL, 0, NULL, 0), 0); /* an empty picture is a picture */
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.u.state.frame, 2);
	assert_int_equal(m.u.state.nships, 0);
}

static void test_peer_h_reports_to_a_closed_harness_are_epipe_without_sigpipe(void **state)
{
	struct pair *p = *state;
	/* SIG_IGN is not set: a missing MSG_NOSIGNAL would kill the test, which counts as a failure. */
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(loopsim_peer_frame(&p->lp, 1, 1, 1), -EPIPE);
	assert_int_equal(loopsim_peer_bye(&p->lp, LOOPSIM_PEER_BYE_DONE), -EPIPE);
}

/* ---- the environment ---- */

static void test_peer_h_env_three_peers_parse_into_addresses(void **state)
{
	(void)state;
	struct loopsim_peer lp;
	set_env("1", "127.0.0.3", "127.0.0.2:4000,127.0.0.3:4001,127.0.0.4:65535", "18446744073709551615", NULL);
	assert_int_equal(loopsim_peer_init(&lp), 0);
	assert_int_equal(lp.index, 1);
	assert_int_equal(lp.npeers, 3);
	assert_true(lp.seed == UINT64_MAX);
	assert_int_equal(lp.control_fd, -1);
	assert_int_equal(lp.quit, 0);
	const uint16_t ports[3] = { 4000, 4001, 65535 };
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(lp.peer[k].sin_family, AF_INET);
		assert_int_equal(ntohl(lp.peer[k].sin_addr.s_addr), 0x7f000002u + k);
		assert_int_equal(ntohs(lp.peer[k].sin_port), ports[k]);
	}
	/* Own address: the IP, port 0, ready for bind(). */
	assert_int_equal(lp.addr.sin_family, AF_INET);
	assert_int_equal(ntohl(lp.addr.sin_addr.s_addr), 0x7f000003u);
	assert_int_equal(lp.addr.sin_port, 0);
}

static void test_peer_h_env_addr_and_seed_are_optional(void **state)
{
	(void)state;
	struct loopsim_peer lp;
	set_env("2", NULL, "127.0.0.2:1,127.0.0.3:2,127.0.1.4:3", "", "");
	assert_int_equal(loopsim_peer_init(&lp), 0);
	assert_int_equal(ntohl(lp.addr.sin_addr.s_addr), 0x7f000104u); /* taken from its entry */
	assert_true(lp.seed == 0);
	assert_int_equal(lp.control_fd, -1); /* set but empty is unset */
}

static void test_peer_h_env_accepts_64_peers_and_refuses_65(void **state)
{
	(void)state;
	struct loopsim_peer lp;
	char list[66 * 24];
	peer_list(list, sizeof list, 64);
	set_env("63", NULL, list, NULL, NULL);
	assert_int_equal(loopsim_peer_init(&lp), 0);
	assert_int_equal(lp.npeers, 64);
	assert_int_equal(ntohl(lp.peer[63].sin_addr.s_addr), 0x7f000041u);
	peer_list(list, sizeof list, 65);
	set_env("0", NULL, list, NULL, NULL);
	assert_int_equal(loopsim_peer_init(&lp), -1);
	assert_non_null(strstr(lp.error, "more than 64 peers"));
}

static void test_peer_h_env_refuses_malformed_values_with_a_reason(void **state)
{
	(void)state;
	int notseq[2];
	char dgram_fd[16];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, notseq), 0);
	snprintf(dgram_fd, sizeof dgram_fd, "%d", notseq[0]);
	static const char *const three = "127.0.0.2:4000,127.0.0.3:4001,127.0.0.4:4002";
	const struct {
		const char *index, *addr, *peers, *seed, *fd;
		const char *why; /* a part of the message */
	} cases[] = {
		/* The peer list. */
		{ "0", NULL, NULL, NULL, NULL, "LOOPSIM_PEERS is not set" },
		{ "0", NULL, "127.0.0.2:4000,127.0.0.3", NULL, NULL, "LOOPSIM_PEERS: entry 1 '127.0.0.3' has no port" },
		{ "0", NULL, "127.0.0.2:", NULL, NULL, "entry 0 '127.0.0.2:' has no port from 1 to 65535" },
		{ "0", NULL, "127.0.0.2:0", NULL, NULL, "has no port from 1 to 65535" },
		{ "0", NULL, "127.0.0.2:65536", NULL, NULL, "has no port from 1 to 65535" },
		{ "0", NULL, "127.0.0.2:+80", NULL, NULL, "has no port from 1 to 65535" },
		{ "0", NULL, "10.0.0.1:5,127.0.0.3:6", NULL, NULL, "entry 0 '10.0.0.1' is not an IPv4 address in 127.0.0.0/8" },
		{ "0", NULL, "localhost:5", NULL, NULL, "'localhost' is not an IPv4 address in 127.0.0.0/8" },
		{ "0", NULL, "127.0.0.2:5,,127.0.0.4:6", NULL, NULL, "entry 1 is empty" },
		{ "0", NULL, "127.0.0.2:5,", NULL, NULL, "entry 1 is empty" },
		{ "0", NULL, "127.0.0.2:5 ,127.0.0.3:6", NULL, NULL, "entry 0 '127.0.0.2:5 ' has no port" },
		/* The index. */
		{ NULL, NULL, three, NULL, NULL, "LOOPSIM_INDEX is not set" },
		{ "3", NULL, three, NULL, NULL, "LOOPSIM_INDEX: '3' is not a number from 0 to 2 (LOOPSIM_PEERS lists 3" },
		{ "-1", NULL, three, NULL, NULL, "LOOPSIM_INDEX: '-1' is not a number" },
		{ "one", NULL, three, NULL, NULL, "LOOPSIM_INDEX: 'one' is not a number" },
		{ "99999999999999999999999", NULL, three, NULL, NULL, "is not a number from 0 to 2" },
		/* The address. */
		{ "0", "10.0.0.2", three, NULL, NULL, "LOOPSIM_ADDR: '10.0.0.2' is not an IPv4 address in 127.0.0.0/8" },
		{ "0", "127.0.0.3", three, NULL, NULL, "LOOPSIM_ADDR: 127.0.0.3 is not the address of peer 0" },
		/* The seed and the control fd. */
		{ "0", NULL, three, "18446744073709551616", NULL, "LOOPSIM_SEED: '18446744073709551616' is not a number" },
		{ "0", NULL, three, "0x10", NULL, "LOOPSIM_SEED: '0x10' is not a number" },
		{ "0", NULL, three, NULL, "fd", "LOOPSIM_CONTROL_FD: 'fd' is not an open SOCK_SEQPACKET descriptor" },
		{ "0", NULL, three, NULL, "65000", "LOOPSIM_CONTROL_FD: '65000' is not an open SOCK_SEQPACKET" },
		{ "0", NULL, three, NULL, dgram_fd, "is not an open SOCK_SEQPACKET descriptor" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct loopsim_peer lp;
		memset(&lp, 0xa5, sizeof lp);
		set_env(cases[c].index, cases[c].addr, cases[c].peers, cases[c].seed, cases[c].fd);
		int rc = loopsim_peer_init(&lp);
		if (rc != -1 || !strstr(lp.error, cases[c].why))
			fail_msg("case %zu: rc %d, error \"%s\", wanted \"%s\"", c, rc, lp.error, cases[c].why);
		/* Nothing half-filled survives: reports stay no-ops. */
		assert_int_equal(lp.control_fd, -1);
		assert_int_equal(lp.npeers, 0);
		assert_int_equal(loopsim_peer_frame(&lp, 1, 1, 1), 0);
	}
	close(notseq[0]);
	close(notseq[1]);
}

static void test_peer_h_args_name_the_placeholders_in_messages(void **state)
{
	(void)state;
	struct loopsim_peer lp;
	assert_int_equal(loopsim_peer_init_args(&lp, "5", "127.0.0.2", "127.0.0.2:1,127.0.0.3:2", "1", NULL), -1);
	assert_non_null(strstr(lp.error, "index: '5' is not a number from 0 to 1 (peers lists 2 peers)"));
	assert_int_equal(loopsim_peer_init_args(&lp, "1", "127.0.0.3", "127.0.0.2:1,127.0.0.3:2", "9", NULL), 0);
	assert_int_equal(lp.index, 1);
	assert_true(lp.seed == 9);
}

/* ---- standalone: no control fd ---- */

static void test_peer_h_reports_are_no_ops_without_a_control_fd(void **state)
{
	(void)state;
	struct loopsim_peer lp;
	uint64_t sums[2] = { 1, 2 };
	set_env("0", NULL, "127.0.0.2:1,127.0.0.3:2", NULL, NULL);
	assert_int_equal(loopsim_peer_init(&lp), 0);
	assert_int_equal(lp.control_fd, -1);
	assert_int_equal(loopsim_peer_hello(&lp, 1234), 0);
	assert_int_equal(loopsim_peer_frame(&lp, 1, 1, 99), 0);
	assert_int_equal(loopsim_peer_desync(&lp, 1, 3, sums), 0);
	assert_int_equal(loopsim_peer_desync(&lp, 1, ~0ull, NULL), 0); /* not even checked: nothing is sent */
	assert_int_equal(loopsim_peer_state(&lp, 1, NULL, 99, NULL, 0), 0);
	assert_int_equal(loopsim_peer_rtt(&lp, 1, NULL), 0);
	assert_int_equal(loopsim_peer_bye(&lp, LOOPSIM_PEER_BYE_DONE), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(loopsim_peer_poll_quit(&lp), 0);
}

/* ---- poll_quit ---- */

static void test_peer_h_poll_quit_ignores_other_messages_and_sees_quit(void **state)
{
	struct pair *p = *state;
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 0); /* nothing waits */

	/* Every other harness->peer message, the largest DUMPED included, is read and dropped. */
	struct ctl_msg *m = calloc(1, sizeof *m);
	assert_non_null(m);
	m->type = CTL_PEERS;
	m->u.peers.npeers = 3;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	memset(m, 0, sizeof *m);
	m->type = CTL_START;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	m->type = CTL_INPUT;
	m->u.input.keys = 5;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	memset(m, 0, sizeof *m);
	m->type = CTL_DUMPED;
	m->u.dumped.ok = 1;
	m->u.dumped.len = CTL_DUMP_MAX;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 0);
	assert_int_equal(p->lp.quit, 0);

	/* Neither a QUIT of another version nor one with trailing bytes (both refused by ctl_decode) is a QUIT. */
	const uint8_t v2_quit[4] = { 'L', 'C', CTL_VERSION + 1, CTL_QUIT };
	const uint8_t long_quit[5] = { 'L', 'C', CTL_VERSION, CTL_QUIT, 0 };
	assert_int_equal(send(p->fd[0], v2_quit, sizeof v2_quit, 0), 4);
	assert_int_equal(send(p->fd[0], long_quit, sizeof long_quit, 0), 5);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 0);

	/* QUIT behind a START is found, and the answer sticks. */
	memset(m, 0, sizeof *m);
	m->type = CTL_START;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	m->type = CTL_QUIT;
	assert_int_equal(ctl_send(p->fd[0], m), 0);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
	assert_int_equal(p->lp.quit, 1);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
	free(m);
}

/* PERTURB and DUMP are recorded for the game to act on; a longer record of the same type is not taken for one. */
static void test_peer_h_poll_quit_records_perturb_and_dump_requests(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m = { .type = CTL_PERTURB };
	assert_int_equal(p->lp.perturb_frame, -1);
	assert_int_equal(p->lp.dump_frame, -1);
	m.u.perturb.frame = 0x89abcdefu;
	assert_int_equal(ctl_send(p->fd[0], &m), 0);
	m = (struct ctl_msg){ .type = CTL_DUMP };
	m.u.dump.frame = 4321;
	assert_int_equal(ctl_send(p->fd[0], &m), 0);
	const uint8_t long_dump[9] = { 'L', 'C', CTL_VERSION, CTL_DUMP, 1, 0, 0, 0, 0 };
	assert_int_equal(send(p->fd[0], long_dump, sizeof long_dump, 0), 9);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 0);
	assert_int_equal(p->lp.perturb_frame, 0x89abcdefu);
	assert_int_equal(p->lp.dump_frame, 4321);
}

/* DUMPED carries the game's own bytes, the largest included, and decodes to them; NULL says "not kept". */
static void test_peer_h_dumped_decodes_to_the_same_bytes(void **state)
{
	struct pair *p = *state;
	static uint8_t blob[CTL_DUMP_MAX];
	static struct ctl_msg m;
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)(i * 7 + 3);
	p->lp.dump_frame = 77;
	assert_int_equal(loopsim_peer_dumped(&p->lp, 77, blob, sizeof blob), 0);
	assert_int_equal(p->lp.dump_frame, -1);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.type, CTL_DUMPED);
	assert_int_equal(m.u.dumped.frame, 77);
	assert_int_equal(m.u.dumped.ok, 1);
	assert_int_equal(m.u.dumped.len, CTL_DUMP_MAX);
	assert_memory_equal(m.u.dumped.data, blob, sizeof blob);
	assert_int_equal(loopsim_peer_dumped(&p->lp, 78, NULL, 5), 0);
	recv_and_decode(p->fd[0], &m);
	assert_int_equal(m.u.dumped.ok, 0);
	assert_int_equal(m.u.dumped.len, 0);
	assert_int_equal(loopsim_peer_dumped(&p->lp, 79, blob, CTL_DUMP_MAX + 1), -EINVAL);
	assert_nothing_waits(p->fd[0]);
}

static void test_peer_h_poll_quit_sees_the_harness_close(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m = { .type = CTL_START };
	assert_int_equal(ctl_send(p->fd[0], &m), 0); /* queued before the close */
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
}

static void test_peer_h_poll_quit_sees_the_harness_close_with_reports_unread(void **state)
{
	struct pair *p = *state;
	/* Closing with unread records makes the kernel fail the peer's next recv with ECONNRESET. */
	assert_int_equal(loopsim_peer_frame(&p->lp, 1, 1, 1), 0);
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
}

static void test_peer_h_poll_quit_sees_the_harness_shut_down_its_side(void **state)
{
	struct pair *p = *state;
	assert_int_equal(shutdown(p->fd[0], SHUT_WR), 0);
	assert_int_equal(loopsim_peer_poll_quit(&p->lp), 1);
}

static void test_peer_h_poll_quit_drops_an_empty_record_and_reads_on_later(void **state)
{
	struct pair *p = *state;
	struct ctl_msg m = { .type = CTL_QUIT };
	assert_int_equal(send(p->fd[0], "", 0, 0), 0);
	assert_int_equal(ctl_send(p->fd[0], &m), 0);
	/* The empty record is not a hang-up; the QUIT behind it is found on this call or the next. */
	int q = loopsim_peer_poll_quit(&p->lp);
	if (!q)
		q = loopsim_peer_poll_quit(&p->lp);
	assert_int_equal(q, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peer_h_hello_decodes_to_the_same_values, pair_setup_full,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_frame_decodes_to_the_same_values_with_zero_stats, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_frame_stats_decode_to_the_same_values, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_bye_decodes_every_reason_and_refuses_others, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_desync_decodes_to_the_same_values, pair_setup_full,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_desync_refuses_a_mask_beyond_the_peers, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_rtt_decodes_to_tenths_of_a_ms_with_unknowns, pair_setup_full,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_state_decodes_to_the_same_values, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_state_refuses_what_the_harness_would, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_reports_to_a_closed_harness_are_epipe_without_sigpipe,
						pair_setup, pair_teardown),
		cmocka_unit_test_teardown(test_peer_h_env_three_peers_parse_into_addresses, env_teardown),
		cmocka_unit_test_teardown(test_peer_h_env_addr_and_seed_are_optional, env_teardown),
		cmocka_unit_test_teardown(test_peer_h_env_accepts_64_peers_and_refuses_65, env_teardown),
		cmocka_unit_test_teardown(test_peer_h_env_refuses_malformed_values_with_a_reason, env_teardown),
		cmocka_unit_test(test_peer_h_args_name_the_placeholders_in_messages),
		cmocka_unit_test_teardown(test_peer_h_reports_are_no_ops_without_a_control_fd, env_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_records_perturb_and_dump_requests, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_dumped_decodes_to_the_same_bytes, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_ignores_other_messages_and_sees_quit, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_sees_the_harness_close, pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_sees_the_harness_close_with_reports_unread,
						pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_sees_the_harness_shut_down_its_side, pair_setup,
						pair_teardown),
		cmocka_unit_test_setup_teardown(test_peer_h_poll_quit_drops_an_empty_record_and_reads_on_later,
						pair_setup, pair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
