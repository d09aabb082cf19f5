// SPDX-License-Identifier: MIT
// The ENet transport for real: three peers on 127.0.0.2-4 play 600 rollback frames of the game with no desync.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <string.h>
#include <time.h>

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

static void test_transport_enet_three_peers_play_600_rollback_frames_in_sync(void **state)
{
	(void)state;
	struct player p[N];
	uint32_t ip[N];
	uint16_t port[N];
	char err[256];
	for (uint32_t k = 0; k < N; k++) {
		ip[k] = 0x7f000002u + k;
		p[k].t = nc_enet_create(ip[k], 0, err, sizeof err);
		if (!p[k].t)
			fail_msg("nc_enet_create: %s", err);
		port[k] = nc_enet_bound_port(p[k].t);
		assert_int_not_equal(port[k], 0);
	}
	for (uint32_t k = 0; k < N; k++) {
		assert_int_equal(nc_enet_connect(p[k].t, N, k, ip, port), 0);
		assert_int_equal(game_init(&p[k].game, N, 9), 0);
		struct nc_session_cfg cfg;
		nc_session_cfg_default(&cfg);
		cfg.nplayers = N;
		cfg.local = k;
		cfg.session_id = 77;
		cfg.state_size = sizeof(struct game_state);
		cfg.cb = (struct nc_callbacks){ &p[k], cb_save, cb_load, cb_advance, cb_checksum };
		cfg.transport = p[k].t;
		p[k].s = nc_session_create(&cfg, err, sizeof err);
		assert_non_null(p[k].s);
	}
	/* Ticks as fast as loopback allows, waiting at most 1 ms at a time; bounded at 10 s. */
	uint64_t start = clock_ms();
	bool done = false;
	while (!done && clock_ms() - start < 10000) {
		done = true;
		for (uint32_t k = 0; k < N; k++) {
			nc_session_tick(p[k].s, clock_ms(), game_bot_input(&p[k].game, k, 9));
			struct nc_session_event ev;
			while (nc_session_poll_event(p[k].s, &ev))
				if (ev.type == NC_SE_DESYNC || ev.type == NC_SE_DISCONNECTED || ev.type == NC_SE_REJECTED)
					fail_msg("peer %u: event %d at frame %u", k, ev.type, ev.frame);
			done &= nc_session_confirmed(p[k].s) >= FRAMES - 1;
		}
		poll(NULL, 0, 1);
	}
	uint64_t h[N];
	for (uint32_t k = 0; k < N; k++) {
		assert_true(nc_session_confirmed(p[k].s) >= FRAMES - 1);
		assert_int_equal(nc_session_confirmed_checksum(p[k].s, FRAMES - 1, &h[k]), 0);
	}
	assert_true(h[0] == h[1] && h[1] == h[2]);
	struct nc_session_stats st;
	nc_session_get_stats(p[0].s, &st);
	print_message("600 frames over ENet in %llu ms; peer 0: rtt %.1f ms, rollbacks %llu\n",
		      (unsigned long long)(clock_ms() - start), st.remote[1].rtt_ms, (unsigned long long)st.rollbacks);
	assert_true(st.remote[1].bytes_in > 0 && st.remote[2].bytes_out > 0);
	for (uint32_t k = 0; k < N; k++) {
		nc_session_destroy(p[k].s);
		p[k].t->destroy(p[k].t);
	}
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
		cmocka_unit_test(test_transport_enet_refuses_to_bind_outside_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
