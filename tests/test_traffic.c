// SPDX-License-Identifier: MIT
// The built-in traffic generator through a real wire: what the stand-in peers measure matches the link.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdlib.h>

#include "wire/relay.h"
#include "wire/traffic.h"

struct session {
	struct wire *wire;
	struct wire_traffic *traffic;
};

static struct session start(const struct wire_link_cfg *link, double hz)
{
	struct session s;
	struct wire_config cfg;
	char err[256];
	wire_config_default(&cfg);
	cfg.npeers = 3;
	cfg.seed = 11;
	cfg.link = *link;
	wire_create(&cfg, &s.wire, err, sizeof err);
	if (!s.wire)
		fail_msg("wire_create: %s", err);
	uint16_t pub[3];
	for (uint32_t k = 0; k < 3; k++)
		pub[k] = wire_public_port(s.wire, k);
	struct wire_traffic_cfg tc = { .npeers = 3, .public_port = pub, .hz = hz, .size = 64 };
	s.traffic = wire_traffic_create(&tc, err, sizeof err);
	if (!s.traffic)
		fail_msg("wire_traffic_create: %s", err);
	for (uint32_t k = 0; k < 3; k++)
		wire_register_port(s.wire, k, wire_traffic_port(s.traffic, k));
	assert_int_equal(wire_start(s.wire), 0);
	assert_int_equal(wire_traffic_start(s.traffic), 0);
	return s;
}

/*
 * Waits, at most limit_ms, until the stand-in peers have received `want`
 * datagrams; then stops sending and waits (at most 2 s) until nothing is in
 * flight and every datagram that survived has been read.
 */
static struct wire_traffic_stats run_until(struct session *s, uint64_t want, int limit_ms)
{
	struct wire_traffic_stats st;
	for (int waited = 0; waited < limit_ms; waited += 10) {
		wire_traffic_get_stats(s->traffic, &st);
		if (st.received >= want)
			break;
		poll(NULL, 0, 10);
	}
	wire_traffic_pause(s->traffic);
	struct wire_totals t;
	for (int waited = 0; waited < 2000; waited += 10) {
		wire_get_totals(s->wire, &t);
		wire_traffic_get_stats(s->traffic, &st);
		if (t.inflight == 0 && st.received >= st.sent)
			break;
		poll(NULL, 0, 10);
	}
	wire_traffic_stop(s->traffic);
	wire_traffic_get_stats(s->traffic, &st);
	return st;
}

static void test_traffic_clean_link_delivers_everything_in_order_after_latency(void **state)
{
	(void)state;
	struct wire_link_cfg link;
	wire_link_cfg_default(&link);
	link.latency_ms = 5;
	struct session s = start(&link, 200);
	struct wire_traffic_stats st = run_until(&s, 300, 3000);
	assert_true(st.sent >= 300);
	assert_int_equal(st.received, st.sent);
	assert_int_equal(st.out_of_order, 0);
	assert_int_equal(st.corrupt, 0);
	assert_int_equal(st.delay.count, st.received);
	assert_true(st.delay.min_us >= 5000);
	assert_true(wire_hist_quantile(&st.delay, 0.5) >= 5000);
	assert_true(wire_hist_quantile(&st.delay, 0.5) < 7000);
	wire_traffic_destroy(s.traffic);
	wire_destroy(s.wire);
}

static void test_traffic_receivers_detect_every_corrupted_datagram(void **state)
{
	(void)state;
	struct wire_link_cfg link;
	wire_link_cfg_default(&link);
	link.corrupt_pct = 100;
	struct session s = start(&link, 200);
	struct wire_traffic_stats st = run_until(&s, 120, 3000);
	assert_true(st.received >= 120);
	assert_int_equal(st.corrupt, st.received);
	uint64_t corrupted = 0;
	for (uint32_t i = 0; i < 3; i++)
		for (uint32_t j = 0; j < 3; j++) {
			struct wire_link_stats ls;
			wire_link_stats(s.wire, i, j, &ls);
			corrupted += ls.corrupted;
		}
	assert_int_equal(corrupted, st.sent);
	wire_traffic_destroy(s.traffic);
	wire_destroy(s.wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_traffic_clean_link_delivers_everything_in_order_after_latency),
		cmocka_unit_test(test_traffic_receivers_detect_every_corrupted_datagram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
