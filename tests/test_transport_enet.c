// SPDX-License-Identifier: MIT
// The ENet transport for real: peers on 127.0.0.2-4 play 600 rollback frames of the game with no desync, directly and
// through a relay that flips bits in ENet's own header.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "game/game.h"
#include "netcode/session.h"
#include "netcode/transport.h"

#define N 3
#define FRAMES 600

struct player {
	struct game_state game;
	struct nc_transport *t;
	struct nc_session *s;
};

static void cb_save(void *ctx, void *buf) { memcpy(buf, &((struct player *)ctx)->game, sizeof(struct game_state)); }
static void cb_load(void *ctx, const void *buf) { memcpy(&((struct player *)ctx)->game, buf, sizeof(struct game_state)); }
static void cb_advance(void *ctx, const uint8_t *in) { game_step(&((struct player *)ctx)->game, in); }
static uint64_t cb_checksum(void *ctx) { return game_hash(&((struct player *)ctx)->game); }

static uint64_t clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Player k's transport on 127.0.0.(k+2), port 0; its session is made by join(). */
static void bind_players(struct player *p, uint32_t n, uint32_t *ip, uint16_t *port)
{
	char err[256];
	for (uint32_t k = 0; k < n; k++) {
		ip[k] = 0x7f000002u + k;
		p[k].t = nc_enet_create(ip[k], 0, err, sizeof err);
		if (!p[k].t)
			fail_msg("nc_enet_create: %s", err);
		port[k] = nc_enet_bound_port(p[k].t);
		assert_int_not_equal(port[k], 0);
	}
}

/* Every player joins the mesh, reaching player k at ip[k]:port[k], and starts a rollback session of the game. */
static void join(struct player *p, uint32_t n, const uint32_t *ip, const uint16_t *port)
{
	char err[256];
	for (uint32_t k = 0; k < n; k++) {
		assert_int_equal(nc_enet_connect(p[k].t, n, k, ip, port), 0);
		assert_int_equal(game_init(&p[k].game, n, 9), 0);
		struct nc_session_cfg cfg;
		nc_session_cfg_default(&cfg);
		cfg.nplayers = n;
		cfg.local = k;
		cfg.session_id = 77;
		cfg.state_size = sizeof(struct game_state);
		cfg.cb = (struct nc_callbacks){ &p[k], cb_save, cb_load, cb_advance, cb_checksum };
		cfg.transport = p[k].t;
		p[k].s = nc_session_create(&cfg, err, sizeof err);
		assert_non_null(p[k].s);
	}
}

/* One tick of every player; fails on an event a healthy session never raises. Returns whether all confirmed frames. */
static bool tick_all(struct player *p, uint32_t n, uint32_t frames)
{
	bool done = true;
	for (uint32_t k = 0; k < n; k++) {
		nc_session_tick(p[k].s, clock_ms(), game_bot_input(&p[k].game, k, 9));
		struct nc_session_event ev;
		while (nc_session_poll_event(p[k].s, &ev))
			if (ev.type == NC_SE_DESYNC || ev.type == NC_SE_DISCONNECTED || ev.type == NC_SE_REJECTED)
				fail_msg("peer %u: event %d at frame %u", k, ev.type, ev.frame);
		done &= nc_session_confirmed(p[k].s) >= (int64_t)frames - 1;
	}
	return done;
}

/* Every player confirmed `frames` frames, with one checksum for the last. */
static void assert_agree(struct player *p, uint32_t n, uint32_t frames)
{
	uint64_t h0 = 0, h;
	for (uint32_t k = 0; k < n; k++) {
		if (nc_session_confirmed(p[k].s) < (int64_t)frames - 1)
			fail_msg("peer %u confirmed only frame %lld of %u", k, (long long)nc_session_confirmed(p[k].s),
				 frames - 1);
		assert_int_equal(nc_session_confirmed_checksum(p[k].s, frames - 1, &h), 0);
		if (k == 0)
			h0 = h;
		assert_true(h == h0);
	}
}

static void destroy_players(struct player *p, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		nc_session_destroy(p[k].s);
		p[k].t->destroy(p[k].t);
	}
}

static void test_transport_enet_three_peers_play_600_rollback_frames_in_sync(void **state)
{
	(void)state;
	struct player p[N];
	uint32_t ip[N];
	uint16_t port[N];
	bind_players(p, N, ip, port);
	join(p, N, ip, port);
	/* Ticks as fast as loopback allows, waiting at most 1 ms at a time; bounded at 10 s. */
	uint64_t start = clock_ms();
	while (!tick_all(p, N, FRAMES) && clock_ms() - start < 10000)
		poll(NULL, 0, 1);
	assert_agree(p, N, FRAMES);
	struct nc_session_stats st;
	nc_session_get_stats(p[0].s, &st);
	print_message("600 frames over ENet in %llu ms; peer 0: rtt %.1f ms, rollbacks %llu\n",
		      (unsigned long long)(clock_ms() - start), st.remote[1].rtt_ms, (unsigned long long)st.rollbacks);
	assert_true(st.remote[1].bytes_in > 0 && st.remote[2].bytes_out > 0);
	destroy_players(p, N);
}

/*
 * A relay between two players, the way the wire stands between peers: each
 * player has a public socket here, and a datagram from player i that
 * arrives at j's public socket leaves from i's towards j. Every
 * CORRUPT_EVERY-th datagram gets one bit flipped in its first HEADER_BYTES
 * bytes, the next bit each time: ENet's header, its checksum and its first
 * command, where the netcode's own CRC does not reach. A datagram too short
 * for that bit (the 1-byte announce) goes through intact.
 */
#define PAIR 2
#define CORRUPT_EVERY 4
#define HEADER_BYTES 16
#define DATAGRAM_BUDGET (4 * FRAMES)

struct relay {
	int fd[PAIR];
	struct sockaddr_in pub[PAIR], priv[PAIR];
	uint32_t seen, corrupted;
};

static void relay_open(struct relay *r, const uint32_t *ip, const uint16_t *port)
{
	memset(r, 0, sizeof *r);
	for (uint32_t k = 0; k < PAIR; k++) {
		r->priv[k] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip[k]),
						   .sin_port = htons(port[k]) };
		r->pub[k] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip[k]) };
		r->fd[k] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_true(r->fd[k] >= 0);
		assert_int_equal(bind(r->fd[k], (struct sockaddr *)&r->pub[k], sizeof r->pub[k]), 0);
		socklen_t alen = sizeof r->pub[k];
		assert_int_equal(getsockname(r->fd[k], (struct sockaddr *)&r->pub[k], &alen), 0);
	}
}

/* Forwards what is waiting, after waiting up to timeout_ms for something to arrive. */
static void relay_pump(struct relay *r, int timeout_ms)
{
	struct pollfd pf[PAIR];
	for (uint32_t k = 0; k < PAIR; k++)
		pf[k] = (struct pollfd){ .fd = r->fd[k], .events = POLLIN };
	if (poll(pf, PAIR, timeout_ms) <= 0)
		return;
	for (uint32_t to = 0; to < PAIR; to++) {
		uint8_t buf[2048];
		struct sockaddr_in src;
		socklen_t alen = sizeof src;
		ssize_t len;
		while ((len = recvfrom(r->fd[to], buf, sizeof buf, 0, (struct sockaddr *)&src, &alen)) > 0) {
			uint32_t from = to ^ 1;
			const struct sockaddr_in *want = &r->priv[from];
			if (src.sin_addr.s_addr != want->sin_addr.s_addr || src.sin_port != want->sin_port)
				continue;
			if (r->seen++ % CORRUPT_EVERY == CORRUPT_EVERY - 1) {
				uint32_t bit = r->corrupted++ % (HEADER_BYTES * 8);
				if (bit / 8 < (size_t)len)
					buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			sendto(r->fd[from], buf, (size_t)len, 0, (struct sockaddr *)&r->priv[to], sizeof r->priv[to]);
			alen = sizeof src;
		}
	}
}

static void relay_close(struct relay *r)
{
	for (uint32_t k = 0; k < PAIR; k++)
		close(r->fd[k]);
}

/*
 * One flipped bit in ENet's unsequenced group number moved the receiver's
 * window thousands of groups ahead, and ENet then dropped every datagram of
 * that pair for minutes: under --corrupt the peer froze. A flipped command
 * number made a SEND_UNSEQUENCED a THROTTLE_CONFIGURE, a PING a DISCONNECT.
 * ENet's checksum must drop every such datagram before it reaches ENet's
 * state, so the pair plays on as if those datagrams were lost, and the
 * session never sees a corrupted byte.
 */
static void test_transport_enet_pair_plays_on_through_corrupted_enet_headers(void **state)
{
	(void)state;
	struct player p[PAIR];
	uint32_t ip[PAIR], pub_ip[PAIR];
	uint16_t port[PAIR], pub_port[PAIR];
	struct relay r;
	bind_players(p, PAIR, ip, port);
	relay_open(&r, ip, port);
	for (uint32_t k = 0; k < PAIR; k++) {
		pub_ip[k] = ntohl(r.pub[k].sin_addr.s_addr);
		pub_port[k] = ntohs(r.pub[k].sin_port);
	}
	join(p, PAIR, pub_ip, pub_port);
	/*
	 * Each tick sends a datagram each way, so a healthy pair needs about
	 * two a frame; a frozen direction needs tens of thousands before ENet's
	 * window comes back. Bounded by both, and by 10 s.
	 */
	uint64_t start = clock_ms();
	while (!tick_all(p, PAIR, FRAMES) && r.seen < DATAGRAM_BUDGET && clock_ms() - start < 10000)
		relay_pump(&r, 1);
	print_message("confirmed frames %lld and %lld in %u datagrams, %u of them corrupted, in %llu ms\n",
		      (long long)nc_session_confirmed(p[0].s), (long long)nc_session_confirmed(p[1].s), r.seen,
		      r.corrupted, (unsigned long long)(clock_ms() - start));
	assert_true(r.corrupted >= HEADER_BYTES * 8); /* every bit of the header was flipped at least once */
	assert_agree(p, PAIR, FRAMES);
	for (uint32_t k = 0; k < PAIR; k++) {
		struct nc_session_stats st;
		nc_session_get_stats(p[k].s, &st);
		assert_int_equal(st.bad_packets, 0); /* ENet dropped them all, before the netcode's own CRC */
	}
	destroy_players(p, PAIR);
	relay_close(&r);
}

static void test_transport_enet_refuses_to_bind_outside_loopback(void **state)
{
	(void)state;
	char err[256];
	assert_null(nc_enet_create(0, 0, err, sizeof err));
	assert_non_null(strstr(err, "127.0.0.0/8"));
	assert_null(nc_enet_create(0xc0a80001u, 0, err, sizeof err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transport_enet_three_peers_play_600_rollback_frames_in_sync),
		cmocka_unit_test(test_transport_enet_pair_plays_on_through_corrupted_enet_headers),
		cmocka_unit_test(test_transport_enet_refuses_to_bind_outside_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
