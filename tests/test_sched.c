// SPDX-License-Identifier: MIT
// The delivery scheduler: pop order, first-in first-out ties, the in-flight and big-buffer bounds, cleanup.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/rng.h"
#include "wire/sched.h"

static struct wire_pkt *alloc_at(struct wire_sched *s, uint32_t len, sim_time_us due_us, uint32_t id)
{
	struct wire_pkt *p = wire_sched_alloc(s, len);
	assert_non_null(p);
	assert_int_equal(p->len, len);
	p->due_us = due_us;
	p->from = id; /* a tag to check order by */
	return p;
}

static void test_sched_pops_in_due_order(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 0, 0);
	assert_null(wire_sched_peek(&s));
	assert_null(wire_sched_pop(&s));

	enum { N = 3000 }; /* several chunks */
	for (uint32_t i = 0; i < N; i++)
		wire_sched_push(&s, alloc_at(&s, 64, wire_rng_u64(1, 0, 0, i, WIRE_RNG_JITTER) % 1000000, i));
	assert_int_equal(s.len, N);

	sim_time_us prev = 0;
	for (uint32_t i = 0; i < N; i++) {
		struct wire_pkt *top = wire_sched_peek(&s);
		struct wire_pkt *p = wire_sched_pop(&s);
		assert_ptr_equal(top, p);
		assert_true(p->due_us >= prev);
		prev = p->due_us;
		wire_sched_release(&s, p);
	}
	assert_null(wire_sched_pop(&s));
	wire_sched_fini(&s);
}

static void test_sched_ties_pop_first_in_first_out(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 0, 0);
	/* 300 packets over three due times, pushed interleaved. */
	for (uint32_t i = 0; i < 300; i++)
		wire_sched_push(&s, alloc_at(&s, 8, 10 * (1 + (i * 7) % 3), i));
	sim_time_us prev_due = 0;
	uint32_t prev_id = 0;
	for (uint32_t i = 0; i < 300; i++) {
		struct wire_pkt *p = wire_sched_pop(&s);
		assert_non_null(p);
		if (i > 0 && p->due_us == prev_due)
			assert_true(p->from > prev_id);
		assert_true(p->due_us >= prev_due);
		prev_due = p->due_us;
		prev_id = p->from;
		wire_sched_release(&s, p);
	}
	wire_sched_fini(&s);
}

/* Pushes and pops interleaved against a reference: always the earliest due, ties by push order. */
static void test_sched_interleaved_push_pop_matches_reference(void **state)
{
	(void)state;
	enum { STEPS = 20000, MAXLIVE = 512 };
	struct wire_sched s;
	wire_sched_init(&s, MAXLIVE, 0);
	struct {
		sim_time_us due;
		uint64_t order;
		uint32_t id;
	} live[MAXLIVE];
	uint32_t nlive = 0, next_id = 0;
	uint64_t order = 0;
	sim_time_us now = 0;

	for (uint32_t step = 0; step < STEPS; step++) {
		uint64_t r = wire_rng_u64(2, 0, 0, step, WIRE_RNG_LOSS);
		/* Pushes outweigh pops below 256 live packets and pops outweigh pushes above. */
		bool push = nlive == 0 || (nlive < MAXLIVE && r % 5 < (nlive < 256 ? 3u : 2u));
		if (push) {
			/* Due times in a small window so that ties are common. */
			sim_time_us due = now + (r >> 8) % 50;
			wire_sched_push(&s, alloc_at(&s, (uint32_t)(r >> 40) % 100, due, next_id));
			live[nlive].due = due;
			live[nlive].order = order++;
			live[nlive].id = next_id++;
			nlive++;
		} else {
			uint32_t best = 0;
			for (uint32_t k = 1; k < nlive; k++)
				if (live[k].due < live[best].due ||
				    (live[k].due == live[best].due && live[k].order < live[best].order))
					best = k;
			struct wire_pkt *p = wire_sched_pop(&s);
			assert_non_null(p);
			assert_int_equal(p->from, live[best].id);
			assert_true(p->due_us == live[best].due);
			now = p->due_us;
			live[best] = live[--nlive];
			wire_sched_release(&s, p);
		}
		assert_int_equal(s.len, nlive);
	}
	wire_sched_fini(&s);
}

static void test_sched_alloc_returns_null_at_inflight_limit(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 5, 0);
	struct wire_pkt *p[5];
	for (int i = 0; i < 5; i++)
		p[i] = alloc_at(&s, 100, (sim_time_us)i, (uint32_t)i);
	assert_null(wire_sched_alloc(&s, 100));
	assert_null(wire_sched_alloc(&s, 1)); /* the bound counts packets, not bytes */
	assert_int_equal(s.allocated, 5);

	/* Scheduled packets count towards the bound as well. */
	for (int i = 0; i < 5; i++)
		wire_sched_push(&s, p[i]);
	assert_null(wire_sched_alloc(&s, 100));
	struct wire_pkt *q = wire_sched_pop(&s);
	assert_ptr_equal(q, p[0]);
	assert_null(wire_sched_alloc(&s, 100)); /* popped but not released: still the caller's */
	wire_sched_release(&s, q);
	struct wire_pkt *r = wire_sched_alloc(&s, 100);
	assert_ptr_equal(r, q); /* the released packet, reused */
	assert_null(wire_sched_alloc(&s, 100));
	wire_sched_release(&s, r);
	wire_sched_fini(&s);

	/* A bound beyond one chunk: the pool grows chunk by chunk up to it exactly. */
	const uint32_t limit = WIRE_PKT_CHUNK + WIRE_PKT_CHUNK / 2;
	wire_sched_init(&s, limit, 0);
	for (uint32_t i = 0; i < limit; i++)
		wire_sched_push(&s, alloc_at(&s, 1, i, i));
	assert_null(wire_sched_alloc(&s, 1));
	assert_int_equal(s.allocated, limit);
	assert_int_equal(s.nchunks, 2);
	wire_sched_release(&s, wire_sched_pop(&s));
	assert_non_null(wire_sched_alloc(&s, 1)); /* left unscheduled on purpose: fini frees it */
	wire_sched_fini(&s);
}

static void test_sched_big_payload_gets_big_buffer(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 0, 0);
	struct wire_pkt *small = wire_sched_alloc(&s, WIRE_SMALL_PAYLOAD);
	assert_non_null(small);
	assert_ptr_equal(small->data, small->inline_data);

	struct wire_pkt *big = wire_sched_alloc(&s, WIRE_SMALL_PAYLOAD + 1);
	assert_non_null(big);
	assert_ptr_not_equal(big->data, big->inline_data);
	assert_int_equal(s.big_allocated, 1);
	struct wire_pkt *max = wire_sched_alloc(&s, WIRE_MAX_PAYLOAD);
	assert_non_null(max);
	/* The whole payload is writable (AddressSanitizer checks the bounds). */
	memset(max->data, 0xa5, WIRE_MAX_PAYLOAD);
	memset(big->data, 0x5a, WIRE_SMALL_PAYLOAD + 1);
	assert_int_equal(max->data[WIRE_MAX_PAYLOAD - 1], 0xa5);

	assert_null(wire_sched_alloc(&s, WIRE_MAX_PAYLOAD + 1));
	wire_sched_release(&s, small);
	wire_sched_release(&s, big);
	wire_sched_release(&s, max);
	assert_int_equal(s.free_big_len, 2);
	wire_sched_fini(&s);
}

static void test_sched_big_buffers_respect_limit(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 6, 3);
	struct wire_pkt *big[3];
	for (int i = 0; i < 3; i++) {
		big[i] = wire_sched_alloc(&s, 10000);
		assert_non_null(big[i]);
	}
	/* A fourth big buffer is refused, without taking a packet from the pool. */
	for (int i = 0; i < 10; i++)
		assert_null(wire_sched_alloc(&s, 10000));
	assert_int_equal(s.big_allocated, 3);
	struct wire_pkt *small[3];
	for (int i = 0; i < 3; i++) {
		small[i] = wire_sched_alloc(&s, 100);
		assert_non_null(small[i]);
	}
	assert_null(wire_sched_alloc(&s, 100));

	/* Releasing a big packet frees a packet and its buffer, which the next big one reuses. */
	uint8_t *buf = big[1]->data;
	wire_sched_release(&s, big[1]);
	big[1] = wire_sched_alloc(&s, 30000);
	assert_non_null(big[1]);
	assert_ptr_equal(big[1]->data, buf);
	assert_int_equal(s.big_allocated, 3);

	for (int i = 0; i < 3; i++) {
		wire_sched_release(&s, big[i]);
		wire_sched_release(&s, small[i]);
	}
	wire_sched_fini(&s);
}

static void test_sched_fini_frees_everything_in_flight(void **state)
{
	(void)state;
	struct wire_sched s;
	wire_sched_init(&s, 0, 0);
	/* Scheduled, small and big. */
	for (uint32_t i = 0; i < 2500; i++)
		wire_sched_push(&s, alloc_at(&s, i % 10 == 0 ? 9000 : 200, 5000 - i, i));
	/* Popped and still held by the caller, with big buffers. */
	struct wire_pkt *held = NULL;
	for (int i = 0; i < 40; i++) {
		held = wire_sched_pop(&s);
		assert_non_null(held);
	}
	/* Allocated and never scheduled. */
	assert_non_null(wire_sched_alloc(&s, WIRE_MAX_PAYLOAD));
	assert_non_null(wire_sched_alloc(&s, 10));
	/* Released big buffers wait on the spare stack. */
	wire_sched_release(&s, held);
	assert_true(s.big_allocated > 0);

	/* LeakSanitizer, in the sanitizer build, checks that nothing survives. */
	wire_sched_fini(&s);
	assert_int_equal(s.len, 0);
	assert_null(s.heap);
	assert_null(s.chunks);
	assert_int_equal(s.allocated, 0);

	/* An empty scheduler, and one finished twice, are fine too. */
	wire_sched_init(&s, 0, 0);
	wire_sched_fini(&s);
	wire_sched_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_pops_in_due_order),
		cmocka_unit_test(test_sched_ties_pop_first_in_first_out),
		cmocka_unit_test(test_sched_interleaved_push_pop_matches_reference),
		cmocka_unit_test(test_sched_alloc_returns_null_at_inflight_limit),
		cmocka_unit_test(test_sched_big_payload_gets_big_buffer),
		cmocka_unit_test(test_sched_big_buffers_respect_limit),
		cmocka_unit_test(test_sched_fini_frees_everything_in_flight),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
