// SPDX-License-Identifier: MIT
// The mesh session in virtual time over the in-memory transport, with the wire's own link model as the medium.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "netcode/session.h"
#include "wire/link.h"
#include "wire/rng.h"

#define MAXP 4
#define TICK_MS 16
#define D 2

/* One peer: its own copy of the game, its session, and what it confirmed. */
struct peer {
	struct game_state game;
	struct nc_session *session;
	int perturb_frame;            /* -1: none */
	uint64_t *confirmed_hash;     /* [frame] as confirmed by this peer, 0 until then */
	int64_t checked;              /* frames copied out of the session so far */
	bool desync;
	uint32_t desync_frame, desync_at_frame;
	bool lost_event[MAXP];
	uint32_t final_frame[MAXP];
	bool final_event[MAXP];
};

struct mesh {
	uint32_t n;
	struct wire_model model;
	struct nc_mem_net *net;
	struct peer peer[MAXP];
	uint64_t now_ms;
	uint32_t frames;
	uint64_t input_seed;
};

static void cb_save(void *ctx, void *buf)
{
	memcpy(buf, &((struct peer *)ctx)->game, sizeof(struct game_state));
}

static void cb_load(void *ctx, const void *buf)
{
	memcpy(&((struct peer *)ctx)->game, buf, sizeof(struct game_state));
}

static void cb_advance(void *ctx, const uint8_t *inputs)
{
	struct peer *p = ctx;
	uint32_t f = p->game.frame;
	game_step(&p->game, inputs);
	if (p->perturb_frame >= 0 && f == (uint32_t)p->perturb_frame)
		p->game.ship[0].x += GAME_FIX_ONE; /* a deliberate desync, on this peer only */
}

static uint64_t cb_checksum(void *ctx)
{
	return game_hash(&((struct peer *)ctx)->game);
}

static void link_fate(void *ctx, uint32_t from, uint32_t to, uint64_t now_us, uint32_t size, struct nc_mem_fate *out)
{
	struct wire_fate f;
	wire_link_fate(wire_model_link(ctx, from, to), now_us, size, &f);
	out->ncopies = f.ncopies;
	for (uint32_t c = 0; c < f.ncopies; c++) {
		out->deliver_at_us[c] = f.copy[c].deliver_at_us;
		out->corrupt_bit[c] = f.copy[c].corrupt_bit;
	}
}

/* Player p's input for frame f: changes every few frames, so predictions are sometimes right, sometimes not. */
static uint8_t scripted_input(uint64_t seed, uint32_t p, uint32_t f)
{
	if (f < D)
		return 0;
	return (uint8_t)(wire_rng_u64(seed, p, 0, f / 7, 99) & GAME_IN_MASK);
}

/* Peer k's session on the mesh's medium. */
static struct nc_session *new_session(struct mesh *m, uint32_t k, enum nc_mode mode)
{
	char err[128];
	struct nc_session_cfg cfg;
	nc_session_cfg_default(&cfg);
	cfg.nplayers = m->n;
	cfg.local = k;
	cfg.mode = mode;
	cfg.input_delay = D;
	cfg.session_id = 0x5e55;
	cfg.state_size = sizeof(struct game_state);
	cfg.cb = (struct nc_callbacks){ &m->peer[k], cb_save, cb_load, cb_advance, cb_checksum };
	cfg.transport = nc_mem_endpoint(m->net, k);
	struct nc_session *s = nc_session_create(&cfg, err, sizeof err);
	assert_non_null(s);
	return s;
}

static void mesh_init(struct mesh *m, uint32_t n, enum nc_mode mode, const struct wire_link_cfg *link, uint64_t seed,
		      uint32_t frames)
{
	memset(m, 0, sizeof *m);
	m->n = n;
	m->frames = frames;
	m->input_seed = seed;
	assert_int_equal(wire_model_init(&m->model, n, seed, link), 0);
	m->net = nc_mem_net_create(n, link_fate, &m->model);
	assert_non_null(m->net);
	for (uint32_t k = 0; k < n; k++) {
		struct peer *p = &m->peer[k];
		p->perturb_frame = -1;
		p->checked = -1;
		p->confirmed_hash = calloc(frames + 1, sizeof *p->confirmed_hash);
		assert_int_equal(game_init(&p->game, n, 42), 0);
		p->session = new_session(m, k, mode);
	}
}

static void mesh_fini(struct mesh *m)
{
	for (uint32_t k = 0; k < m->n; k++) {
		nc_session_destroy(m->peer[k].session);
		free(m->peer[k].confirmed_hash);
	}
	nc_mem_net_destroy(m->net);
	wire_model_fini(&m->model);
}

static void collect(struct mesh *m, uint32_t k)
{
	struct peer *p = &m->peer[k];
	int64_t c = nc_session_confirmed(p->session);
	for (int64_t f = p->checked + 1; f <= c && f < m->frames; f++) {
		uint64_t h;
		assert_int_equal(nc_session_confirmed_checksum(p->session, (uint32_t)f, &h), 0);
		p->confirmed_hash[f] = h;
	}
	if (c > p->checked)
		p->checked = c < m->frames ? c : m->frames - 1;
	struct nc_session_event ev;
	while (nc_session_poll_event(p->session, &ev)) {
		if (ev.type == NC_SE_DESYNC && !p->desync) {
			p->desync = true;
			p->desync_frame = ev.frame;
			p->desync_at_frame = nc_session_frame(p->session);
		} else if (ev.type == NC_SE_DISCONNECTED) {
			p->lost_event[ev.peer] = true;
		} else if (ev.type == NC_SE_PEER_FINAL) {
			p->final_event[ev.peer] = true;
			p->final_frame[ev.peer] = ev.frame;
		}
	}
}

/* Ticks every live peer once per 16 ms of virtual time until each has confirmed `frames` frames. */
static void mesh_run(struct mesh *m, uint64_t limit_ms, void (*hook)(struct mesh *, void *), void *arg)
{
	for (; m->now_ms < limit_ms; m->now_ms += TICK_MS) {
		if (hook)
			hook(m, arg);
		bool done = true;
		for (uint32_t k = 0; k < m->n; k++) {
			struct peer *p = &m->peer[k];
			if (!p->session)
				continue;
			uint32_t cur = nc_session_frame(p->session);
			nc_session_tick(p->session, m->now_ms, scripted_input(m->input_seed, k, cur + D));
			collect(m, k);
			done &= p->checked >= (int64_t)m->frames - 1;
		}
		if (done)
			return;
	}
}

/* The reference: the game run once, offline, with every final input. */
static void reference(const struct mesh *m, uint64_t *hash)
{
	struct game_state g;
	game_init(&g, m->n, 42);
	for (uint32_t f = 0; f < m->frames; f++) {
		uint8_t in[MAXP];
		for (uint32_t p = 0; p < m->n; p++)
			in[p] = scripted_input(m->input_seed, p, f);
		game_step(&g, in);
		hash[f] = game_hash(&g);
	}
}

static void assert_matches_reference(const struct mesh *m)
{
	uint64_t *ref = calloc(m->frames, sizeof *ref);
	reference(m, ref);
	for (uint32_t k = 0; k < m->n; k++) {
		const struct peer *p = &m->peer[k];
		assert_true(p->checked >= (int64_t)m->frames - 1);
		assert_false(p->desync);
		for (uint32_t f = 0; f < m->frames; f++)
			if (p->confirmed_hash[f] != ref[f])
				fail_msg("peer %u frame %u: confirmed %016llx, reference %016llx", k, f,
					 (unsigned long long)p->confirmed_hash[f], (unsigned long long)ref[f]);
	}
	free(ref);
}

static void lossy_link(struct wire_link_cfg *c)
{
	wire_link_cfg_default(c);
	c->latency_ms = 100;
	c->jitter_ms = 30;
	c->loss_pct = 10;
}

static void test_session_rollback_equals_lockstep_reference_under_latency_and_loss(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	lossy_link(&c);
	mesh_init(&m, 4, NC_ROLLBACK, &c, 1, 3000);
	mesh_run(&m, 400000, NULL, NULL);
	assert_matches_reference(&m);
	struct nc_session_stats st;
	nc_session_get_stats(m.peer[0].session, &st);
	print_message("rollback 4p 100±30ms 10%%: rollbacks %llu, max depth %u, stalls %llu, rtt to 1 %.1f ms, "
		      "loss seen %.1f%%\n",
		      (unsigned long long)st.rollbacks, st.max_rollback, (unsigned long long)st.stalls,
		      st.remote[1].rtt_ms, st.remote[1].loss_pct);
	assert_true(st.rollbacks > 0);
	assert_true(st.max_rollback <= 8 + D);
	assert_true(st.remote[1].rtt_ms > 140 && st.remote[1].rtt_ms < 290);
	assert_true(st.remote[1].loss_pct > 5 && st.remote[1].loss_pct < 15);
	mesh_fini(&m);

	/* And the real lockstep mode, under the same link, reaches the same hashes. */
	mesh_init(&m, 4, NC_LOCKSTEP, &c, 1, 1000);
	mesh_run(&m, 400000, NULL, NULL);
	assert_matches_reference(&m);
	nc_session_get_stats(m.peer[0].session, &st);
	assert_int_equal(st.rollbacks, 0);
	mesh_fini(&m);
}

static void test_session_survives_duplication_and_reordering(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	lossy_link(&c);
	c.dup_pct = 20;
	c.reorder_pct = 20;
	c.jitter_reorders = true;
	c.corrupt_pct = 5; /* a flipped bit must be refused, not taken as an input */
	mesh_init(&m, 4, NC_ROLLBACK, &c, 2, 2000);
	mesh_run(&m, 400000, NULL, NULL);
	assert_matches_reference(&m);
	struct nc_session_stats st;
	nc_session_get_stats(m.peer[0].session, &st);
	assert_true(st.bad_packets > 0);
	mesh_fini(&m);
}

static void partition_hook(struct mesh *m, void *arg)
{
	(void)arg;
	static const uint32_t groups[MAXP] = { 0, 0, 1, 1 };
	if (m->now_ms == 10000)
		wire_model_partition(&m->model, groups);
	if (m->now_ms == 12000)
		wire_model_heal(&m->model);
}

static void test_session_holds_through_a_2s_partition_and_heal(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	lossy_link(&c);
	mesh_init(&m, 4, NC_ROLLBACK, &c, 4, 3000);
	mesh_run(&m, 400000, partition_hook, NULL);
	assert_matches_reference(&m);
	for (uint32_t k = 0; k < 4; k++)
		for (uint32_t j = 0; j < 4; j++)
			assert_false(m.peer[k].lost_event[j]);
	mesh_fini(&m);
}

static void test_session_reports_injected_desync_within_k_plus_d_frames(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c); /* a perfect link: detection time is the netcode's alone */
	mesh_init(&m, 4, NC_ROLLBACK, &c, 5, 400);
	const uint32_t F = 200;
	m.peer[2].perturb_frame = (int)F;
	mesh_run(&m, 20000, NULL, NULL);
	for (uint32_t k = 0; k < 4; k++) {
		assert_true(m.peer[k].desync);
		assert_int_equal(m.peer[k].desync_frame, F);
		if (k != 2) {
			print_message("peer %u saw the desync of frame %u at frame %u\n", k, F, m.peer[k].desync_at_frame);
			assert_true(m.peer[k].desync_at_frame <= F + 1 + 1 + D);
		}
	}
	mesh_fini(&m);
}

static void test_session_has_no_false_desync_under_heavy_jitter(void **state)
{
	(void)state;
	for (uint64_t seed = 100; seed < 110; seed++) {
		struct mesh m;
		struct wire_link_cfg c;
		wire_link_cfg_default(&c);
		c.latency_ms = 80;
		c.jitter_ms = 60;
		c.jitter_dist = WIRE_DIST_NORMAL;
		c.jitter_reorders = true;
		c.loss_pct = 5;
		mesh_init(&m, 3, NC_ROLLBACK, &c, seed, 600);
		mesh_run(&m, 200000, NULL, NULL);
		assert_matches_reference(&m);
		mesh_fini(&m);
	}
}

struct cut {
	uint32_t peer;
	uint64_t at_ms;
};

static void cut_hook(struct mesh *m, void *arg)
{
	struct cut *c = arg;
	if (m->now_ms == c->at_ms) {
		nc_mem_net_cut(m->net, c->peer);
		nc_session_destroy(m->peer[c->peer].session);
		m->peer[c->peer].session = NULL;
		m->peer[c->peer].checked = m->frames; /* a crashed peer is not waited for */
	}
}

static void test_session_goes_on_after_a_peer_is_lost_and_agrees_on_its_last_frame(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	c.latency_ms = 30;
	c.loss_pct = 5;
	mesh_init(&m, 3, NC_ROLLBACK, &c, 6, 900);
	struct cut cut = { 2, 5008 };
	mesh_run(&m, 200000, cut_hook, &cut);
	for (uint32_t k = 0; k < 2; k++) {
		assert_true(m.peer[k].lost_event[2]);
		assert_true(m.peer[k].final_event[2]);
		assert_true(m.peer[k].checked >= 899);
		assert_false(m.peer[k].desync);
	}
	assert_int_equal(m.peer[0].final_frame[2], m.peer[1].final_frame[2]);
	print_message("peer 2 lost; agreed last frame %u\n", m.peer[0].final_frame[2]);
	for (uint32_t f = 0; f < 900; f++)
		assert_true(m.peer[0].confirmed_hash[f] == m.peer[1].confirmed_hash[f]);
	for (uint32_t k = 0; k < 2; k++) {
		nc_session_destroy(m.peer[k].session);
		free(m.peer[k].confirmed_hash);
	}
	free(m.peer[2].confirmed_hash);
	nc_mem_net_destroy(m.net);
	wire_model_fini(&m.model);
}

/*
 * A restart: peer 2 is cut, the others agree on its last frame U, then a new
 * peer 2 starts from the state one of them confirmed at S and comes back at
 * frame R. Its inputs are neutral in [U, R) and its own from R on.
 */
struct restart {
	uint32_t peer;
	uint64_t cut_at_ms;
	bool cut, back;
	uint32_t upto, start, readmit;
};

static void restart_hook(struct mesh *m, void *arg)
{
	struct restart *r = arg;
	struct peer *gone = &m->peer[r->peer];
	if (!r->cut && m->now_ms == r->cut_at_ms) {
		nc_mem_net_cut(m->net, r->peer);
		nc_session_destroy(gone->session);
		gone->session = NULL;
		r->cut = true;
		return;
	}
	if (!r->cut || r->back || !m->peer[0].final_event[r->peer] || !m->peer[1].final_event[r->peer])
		return;
	char err[160];
	/* Too early: not beyond peer 0's confirmed frame. */
	assert_int_equal(nc_session_readmit(m->peer[0].session, r->peer,
					    (uint32_t)nc_session_confirmed(m->peer[0].session), err, sizeof err), -1);
	uint32_t highest = 0;
	for (uint32_t k = 0; k < 2; k++)
		if (nc_session_frame(m->peer[k].session) > highest)
			highest = nc_session_frame(m->peer[k].session);
	r->upto = m->peer[0].final_frame[r->peer] + 1;
	r->start = (uint32_t)nc_session_confirmed(m->peer[0].session) + 1;
	r->readmit = highest + 30;
	for (uint32_t k = 0; k < 2; k++)
		assert_int_equal(nc_session_readmit(m->peer[k].session, r->peer, r->readmit, err, sizeof err), 0);

	/* The newcomer: the confirmed state, a fresh session, the same endpoint back on the medium. */
	nc_mem_net_restore(m->net, r->peer);
	assert_int_equal(nc_session_confirmed_state(m->peer[0].session, r->start - 1, &gone->game), 0);
	gone->session = new_session(m, r->peer, NC_ROLLBACK);
	assert_int_equal(nc_session_start_at(gone->session, r->start, r->start + D - 1, NULL, 0, err, sizeof err), -1);
	assert_int_equal(nc_session_start_at(gone->session, r->start, r->readmit, NULL, 0, err, sizeof err), 0);
	gone->checked = (int64_t)r->start - 1;
	r->back = true;
	print_message("peer %u: inputs end at %u, restarts from the state after %u, counts again from %u\n", r->peer,
		      r->upto, r->start - 1, r->readmit);
}

static void test_session_takes_a_restarted_peer_back_from_a_confirmed_state(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	c.latency_ms = 30;
	c.jitter_ms = 10;
	c.loss_pct = 5;
	mesh_init(&m, 3, NC_ROLLBACK, &c, 9, 1500);
	char err[160];
	/* Nobody has been lost yet: nothing to take back. */
	assert_int_equal(nc_session_readmit(m.peer[0].session, 2, 100, err, sizeof err), -1);
	struct restart r = { .peer = 2, .cut_at_ms = 4000 };
	mesh_run(&m, 400000, restart_hook, &r);
	assert_true(r.back);
	for (uint32_t k = 0; k < 3; k++) {
		assert_false(m.peer[k].desync);
		assert_true(m.peer[k].checked >= 1499);
	}
	/* The newcomer confirmed frames, and its own inputs from R on changed the game: R is not the end of the run. */
	assert_true(r.readmit + 200 < 1500);
	/* The reference: player 2's inputs are its own below U, neutral in [U, R), its own again from R. */
	struct game_state g;
	game_init(&g, 3, 42);
	for (uint32_t f = 0; f < 1500; f++) {
		uint8_t in[3];
		for (uint32_t p = 0; p < 3; p++)
			in[p] = scripted_input(m.input_seed, p, f);
		if (f >= r.upto && f < r.readmit)
			in[2] = 0;
		game_step(&g, in);
		uint64_t h = game_hash(&g);
		for (uint32_t k = 0; k < 3; k++)
			if ((k < 2 || f >= r.start) && m.peer[k].confirmed_hash[f] != h)
				fail_msg("peer %u frame %u: confirmed %016llx, reference %016llx", k, f,
					 (unsigned long long)m.peer[k].confirmed_hash[f], (unsigned long long)h);
	}
	mesh_fini(&m);
}

static void test_session_rejects_a_peer_from_another_session(void **state)
{
	(void)state;
	struct mesh m;
	struct wire_link_cfg c;
	wire_link_cfg_default(&c);
	mesh_init(&m, 2, NC_ROLLBACK, &c, 7, 10);
	/* Rebuild peer 1 with another session id. */
	nc_session_destroy(m.peer[1].session);
	struct nc_session_cfg cfg;
	char err[128];
	nc_session_cfg_default(&cfg);
	cfg.local = 1;
	cfg.session_id = 0xbad;
	cfg.state_size = sizeof(struct game_state);
	cfg.cb = (struct nc_callbacks){ &m.peer[1], cb_save, cb_load, cb_advance, cb_checksum };
	cfg.transport = nc_mem_endpoint(m.net, 1);
	m.peer[1].session = nc_session_create(&cfg, err, sizeof err);
	for (int t = 0; t < 20; t++, m.now_ms += TICK_MS) {
		assert_int_equal(nc_session_tick(m.peer[0].session, m.now_ms, 0), NC_TICK_WAITING);
		nc_session_tick(m.peer[1].session, m.now_ms, 0);
	}
	struct nc_session_event ev;
	assert_int_equal(nc_session_poll_event(m.peer[0].session, &ev), 1);
	assert_int_equal(ev.type, NC_SE_REJECTED);
	assert_string_equal(ev.reason, "session id mismatch");
	assert_false(nc_session_running(m.peer[0].session));
	mesh_fini(&m);
}

static void test_session_create_refuses_bad_configuration(void **state)
{
	(void)state;
	struct nc_session_cfg cfg;
	char err[128];
	nc_session_cfg_default(&cfg);
	cfg.nplayers = 17;
	assert_null(nc_session_create(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "nplayers"));
	nc_session_cfg_default(&cfg);
	cfg.prediction_window = 0;
	assert_null(nc_session_create(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "prediction window"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_rollback_equals_lockstep_reference_under_latency_and_loss),
		cmocka_unit_test(test_session_survives_duplication_and_reordering),
		cmocka_unit_test(test_session_holds_through_a_2s_partition_and_heal),
		cmocka_unit_test(test_session_reports_injected_desync_within_k_plus_d_frames),
		cmocka_unit_test(test_session_has_no_false_desync_under_heavy_jitter),
		cmocka_unit_test(test_session_goes_on_after_a_peer_is_lost_and_agrees_on_its_last_frame),
		cmocka_unit_test(test_session_takes_a_restarted_peer_back_from_a_confirmed_state),
		cmocka_unit_test(test_session_rejects_a_peer_from_another_session),
		cmocka_unit_test(test_session_create_refuses_bad_configuration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
