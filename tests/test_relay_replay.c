// SPDX-License-Identifier: MIT
// Replaying a fate log: the same traffic at another pace gets the same (link, n) -> fate table.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/addr.h"
#include "wire/capture.h"
#include "wire/relay.h"

#define NPEERS 3
#define NLINKS (NPEERS * (NPEERS - 1))
/* Datagrams per link in the recorded run. */
#define PER_LINK 300

static int bind_at(uint32_t ip, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
	socklen_t len = sizeof sa;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	int size = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	return fd;
}

/* Reads what reaches each peer's socket for wait_ms; counts it by sender (payload byte 0). */
static void drain(const int *sock, uint64_t received[NPEERS][NPEERS], int wait_ms)
{
	sim_time_us end = wire_clock_us() + (sim_time_us)wait_ms * 1000;
	uint8_t buf[2048];
	do {
		struct pollfd p[NPEERS];
		for (int k = 0; k < NPEERS; k++)
			p[k] = (struct pollfd){ .fd = sock[k], .events = POLLIN };
		sim_time_us now = wire_clock_us();
		poll(p, NPEERS, now < end ? (int)((end - now + 999) / 1000) : 0);
		for (int k = 0; k < NPEERS; k++)
			for (ssize_t n; (n = recv(sock[k], buf, sizeof buf, MSG_DONTWAIT)) > 0;)
				received[buf[0] % NPEERS][k]++;
	} while (wire_clock_us() < end);
}

/*
 * One run: every link carries per_link datagrams of varied sizes, sent in
 * bursts of `burst` per peer pair with `gap_ms` between bursts; then the
 * wire drains and stops. Links have a rate limit with a short queue,
 * order-kept jitter, loss, duplicates, corruption and reordering, so that
 * many fates hang on timing. Returns the wire's totals.
 */
static struct wire_totals run(const char *fates, const struct wire_fate_table *replay, uint32_t per_link,
			      uint32_t burst, int gap_ms, uint64_t received[NPEERS][NPEERS])
{
	struct wire_config cfg;
	char err[256];
	wire_config_default(&cfg);
	cfg.npeers = NPEERS;
	cfg.seed = 42;
	cfg.link.latency_ms = 10;
	cfg.link.jitter_ms = 4;
	cfg.link.rate_kbit = 4000;
	cfg.link.queue_limit = 8;
	cfg.link.loss_pct = 3;
	cfg.link.dup_pct = 5;
	cfg.link.corrupt_pct = 5;
	cfg.link.reorder_pct = 2;
	cfg.fates_path = fates;
	cfg.replay = replay;
	struct wire *w;
	wire_create(&cfg, &w, err, sizeof err);
	if (!w)
		fail_msg("wire_create: %s", err);
	int sock[NPEERS];
	for (uint32_t k = 0; k < NPEERS; k++) {
		uint16_t port;
		sock[k] = bind_at(wire_peer_ip(k), &port);
		wire_register_port(w, k, port);
	}
	assert_int_equal(wire_start(w), 0);
	memset(received, 0, sizeof(uint64_t) * NPEERS * NPEERS);

	uint8_t buf[512];
	for (uint32_t n = 0; n < per_link; n += burst) {
		for (uint32_t i = 0; i < NPEERS; i++)
			for (uint32_t j = 0; j < NPEERS; j++) {
				if (i == j)
					continue;
				struct sockaddr_in to = { .sin_family = AF_INET,
							  .sin_addr.s_addr = htonl(wire_peer_ip(j)),
							  .sin_port = htons(wire_public_port(w, j)) };
				for (uint32_t m = n; m < n + burst && m < per_link; m++) {
					size_t len = 32 + (m * 37 + i * 11 + j) % 400;
					memset(buf, (int)m, len);
					buf[0] = (uint8_t)i;
					assert_int_equal(sendto(sock[i], buf, len, 0, (struct sockaddr *)&to, sizeof to),
							 (ssize_t)len);
				}
			}
		drain(sock, received, gap_ms);
	}
	/* Until nothing is in flight (a second at most), then what is left on the sockets. */
	struct wire_totals t;
	sim_time_us deadline = wire_clock_us() + 3000000;
	for (wire_get_totals(w, &t); t.inflight > 0 && wire_clock_us() < deadline; wire_get_totals(w, &t))
		drain(sock, received, 5);
	drain(sock, received, 20);
	wire_stop(w);
	wire_get_totals(w, &t);
	assert_int_equal(wire_outputs_status(w, err, sizeof err), 0);
	wire_destroy(w);
	for (int k = 0; k < NPEERS; k++)
		close(sock[k]);
	return t;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A fate log's (link, n) -> fate table: every record's line without its
 * time (t_us, when the wire saw it, is the run's own), sorted. Records
 * with n >= max_n are left out.
 */
static char **fate_table(const char *path, uint64_t max_n, size_t *count)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t cap = 4096, n = 0;
	char **rows = malloc(sizeof *rows * cap), line[WIRE_FATE_LINE_MAX + 2];
	assert_non_null(rows);
	while (fgets(line, sizeof line, f)) {
		struct wire_fate_record r;
		char why[200];
		int got = wire_fate_parse(line, &r, why, sizeof why);
		if (got < 0)
			fail_msg("%s: %s", path, why);
		if (got == 0 || r.index >= max_n)
			continue;
		if (n == cap) {
			cap *= 2;
			rows = realloc(rows, sizeof *rows * cap);
			assert_non_null(rows);
		}
		rows[n++] = strdup(strchr(line, '\t') + 1);
	}
	fclose(f);
	qsort(rows, n, sizeof *rows, cmp_str);
	*count = n;
	return rows;
}

static void free_rows(char **rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i]);
	free(rows);
}

static void test_relay_replay_gives_the_same_fate_table_at_another_pace(void **state)
{
	(void)state;
	char a[64], b[64], err[300];
	snprintf(a, sizeof a, "/tmp/loopsim-replay-a-%d.tsv", (int)getpid());
	snprintf(b, sizeof b, "/tmp/loopsim-replay-b-%d.tsv", (int)getpid());
	uint64_t got_a[NPEERS][NPEERS], got_b[NPEERS][NPEERS];

	/* Recorded: bursts of 10 a link every 5 ms, about 4.5 Mbit/s into a 4 Mbit/s link with a queue of 8. */
	run(a, NULL, PER_LINK, 10, 5, got_a);
	struct wire_fate_table *t;
	if (wire_fate_table_load(a, NPEERS, &t, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_int_equal(wire_fate_table_count(t), NLINKS * PER_LINK);

	/* Replayed at another pace, bursts of 50 every 2 ms, and 10 more datagrams a link than logged. */
	struct wire_totals tb = run(b, t, PER_LINK + 10, 50, 2, got_b);
	assert_int_equal(tb.replayed, NLINKS * PER_LINK);
	assert_int_equal(tb.unreplayed, NLINKS * 10);

	size_t na, nb;
	char **ra = fate_table(a, PER_LINK, &na), **rb = fate_table(b, PER_LINK, &nb);
	assert_int_equal(na, NLINKS * PER_LINK);
	assert_int_equal(nb, na);
	size_t differ = 0;
	for (size_t i = 0; i < na; i++)
		differ += strcmp(ra[i], rb[i]) != 0;
	/* What the recorded table holds: fates that hang on timing (the queue), and every other effect. */
	uint64_t queue = 0, dup = 0, corrupt = 0, reord = 0, loss = 0;
	for (uint32_t i = 0; i < NPEERS; i++)
		for (uint32_t j = 0; j < NPEERS; j++)
			for (uint64_t n = 0; i != j && n < PER_LINK; n++) {
				const struct wire_fate_record *r = wire_fate_table_find(t, i, j, n);
				assert_non_null(r);
				queue += r->kind == WIRE_FATE_QUEUE;
				loss += r->kind == WIRE_FATE_LOSS;
				dup += r->ncopies == 2;
				corrupt += (r->corrupt_bit[0] >= 0) + (r->corrupt_bit[1] >= 0);
				reord += r->reordered;
			}
	print_message("recorded %zu fates: %llu queue drops, %llu lost, %llu duplicated, %llu copies corrupted, %llu "
		      "reordered; replayed at another pace: %zu differ\n",
		      na, (unsigned long long)queue, (unsigned long long)loss, (unsigned long long)dup,
		      (unsigned long long)corrupt, (unsigned long long)reord, differ);
	assert_true(queue > 0 && loss > 0 && dup > 0 && corrupt > 0 && reord > 0);
	assert_int_equal(differ, 0);

	/* What the receivers got matches the replayed log: each delivered copy arrived. */
	uint64_t copies[NPEERS][NPEERS] = { { 0 } };
	FILE *f = fopen(b, "r");
	char line[WIRE_FATE_LINE_MAX + 2];
	while (fgets(line, sizeof line, f)) {
		struct wire_fate_record r;
		char why[200];
		if (wire_fate_parse(line, &r, why, sizeof why) == 1)
			copies[r.from][r.to] += r.ncopies;
	}
	fclose(f);
	for (int i = 0; i < NPEERS; i++)
		for (int j = 0; j < NPEERS; j++)
			if (i != j && got_b[i][j] != copies[i][j])
				fail_msg("link %d->%d: the log delivers %llu copies, the receiver got %llu", i, j,
					 (unsigned long long)copies[i][j], (unsigned long long)got_b[i][j]);
	free_rows(ra, na);
	free_rows(rb, nb);
	wire_fate_table_free(t);
	unlink(a);
	unlink(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_replay_gives_the_same_fate_table_at_another_pace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
