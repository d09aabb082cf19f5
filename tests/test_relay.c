// SPDX-License-Identifier: MIT
// The relay over real loopback sockets: delay, addresses, port learning, strays, spoofing, live changes, pcap.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/addr.h"
#include "wire/relay.h"

#define NPEERS 3

struct fixture {
	struct wire *wire;
	int sock[NPEERS];   /* each peer's own socket, bound 127.0.0.(k+2):0 */
	uint16_t port[NPEERS];
	char pcap_path[64];
};

static int bind_at(uint32_t ip, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
	socklen_t len = sizeof sa;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A wire of NPEERS with this latency, capture and port rule, and a socket for each peer. */
static struct fixture *start_with(double latency_ms, const char *pcap, bool registered_ports_only)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct wire_config cfg;
	char err[256];
	wire_config_default(&cfg);
	cfg.npeers = NPEERS;
	cfg.seed = 7;
	cfg.link.latency_ms = latency_ms;
	cfg.registered_ports_only = registered_ports_only;
	if (pcap) {
		snprintf(f->pcap_path, sizeof f->pcap_path, "/tmp/loopsim-test-%d.pcap", (int)getpid());
		cfg.pcap_path = f->pcap_path;
	}
	wire_create(&cfg, &f->wire, err, sizeof err);
	if (!f->wire)
		fail_msg("wire_create: %s", err);
	for (uint32_t k = 0; k < NPEERS; k++)
		f->sock[k] = bind_at(wire_peer_ip(k), &f->port[k]);
	assert_int_equal(wire_start(f->wire), 0);
	return f;
}

static struct fixture *start(double latency_ms, const char *pcap)
{
	return start_with(latency_ms, pcap, false);
}

static void finish(struct fixture *f)
{
	wire_destroy(f->wire);
	for (int k = 0; k < NPEERS; k++)
		close(f->sock[k]);
	if (f->pcap_path[0])
		unlink(f->pcap_path);
	free(f);
}

/* Peer `from` sends to peer `to`'s public address. */
static void send_to_peer(struct fixture *f, uint32_t from, uint32_t to, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(wire_peer_ip(to)),
				  .sin_port = htons(wire_public_port(f->wire, to)) };
	assert_int_equal(sendto(f->sock[from], buf, len, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)len);
}

/* Waits up to timeout_ms for a datagram on fd. Returns its length, or -1 on timeout. */
static ssize_t recv_within(int fd, void *buf, size_t cap, int timeout_ms, struct sockaddr_in *src)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	socklen_t len = sizeof *src;
	return recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)src, &len);
}

static uint64_t realtime_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * Like recv_within, on a socket with SO_TIMESTAMPNS: *rx_us is the kernel's
 * receive stamp (CLOCK_REALTIME), so how soon this thread ran after the
 * datagram arrived (on a loaded machine, a millisecond or more) is no part
 * of a delay measured with it.
 */
static ssize_t recv_stamped_within(int fd, void *buf, size_t cap, int timeout_ms, uint64_t *rx_us)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	*rx_us = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			*rx_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
		}
	return *rx_us ? n : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_relay_latency_30ms_is_never_early_and_median_within_1ms(void **state)
{
	(void)state;
	struct fixture *f = start(30, NULL);
	wire_register_port(f->wire, 1, f->port[1]);
	enum { N = 200 };
	uint64_t delay[N];
	int got = 0, sent = 0, on = 1;
	assert_int_equal(setsockopt(f->sock[1], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on), 0);
	/* One datagram per millisecond, paced by waiting for arrivals; then collect the tail. Both ends' stamps
	 * are the kernel's clock, the receiver's the kernel's own receive stamp. */
	while (got < N) {
		if (sent < N) {
			uint64_t now = realtime_us();
			send_to_peer(f, 0, 1, &now, sizeof now);
			sent++;
		}
		uint64_t stamp, rx;
		if (recv_stamped_within(f->sock[1], &stamp, sizeof stamp, sent < N ? 1 : 500, &rx) == sizeof stamp)
			delay[got++] = rx > stamp ? rx - stamp : 0;
		else if (sent == N)
			break;
	}
	assert_int_equal(got, N);
	qsort(delay, N, sizeof delay[0], cmp_u64);
	struct wire_link_stats s;
	struct wire_hist late;
	/*
	 * The relay records a delivery when sendmmsg returns, under its lock; the
	 * receiver may read the datagram first. Wait (bounded) for the last record.
	 */
	for (int tries = 0; tries < 200; tries++) {
		assert_int_equal(wire_link_stats(f->wire, 0, 1, &s), 0);
		if (s.delay.count >= N)
			break;
		struct timespec tick = { 0, 5000000 };
		nanosleep(&tick, NULL);
	}
	assert_int_equal(wire_link_lateness(f->wire, 0, 1, &late), 0);
	print_message("30 ms link: min %llu us, median %llu us, max %llu us; the wire says p50 %llu us, max %llu us, "
		      "lateness p50 %llu us, max %llu us\n",
		      (unsigned long long)delay[0], (unsigned long long)delay[N / 2], (unsigned long long)delay[N - 1],
		      (unsigned long long)s.delay.p50_us, (unsigned long long)s.delay.max_us,
		      (unsigned long long)wire_hist_quantile(&late, 0.5), (unsigned long long)late.max_us);
	assert_true(delay[0] >= 30000);
	assert_true(delay[N / 2] <= 31000);
	/* Every delivery is in both histograms, measured at the hand-off: never under the delay, never before due. */
	assert_int_equal(s.delay.count, N);
	assert_int_equal(late.count, N);
	assert_true(s.delay.min_us >= 30000);
	assert_true(s.delay.max_us >= 30000 + late.max_us);
	/* The whole histogram behind the summary: the same deliveries, the same quantiles. */
	struct wire_hist h;
	assert_int_equal(wire_link_delay(f->wire, 0, 1, &h), 0);
	assert_int_equal(h.count, N);
	assert_int_equal(wire_hist_quantile(&h, 0.5), s.delay.p50_us);
	assert_int_equal(wire_hist_quantile(&h, 0.99), s.delay.p99_us);
	assert_int_equal(wire_link_delay(f->wire, 0, NPEERS, &h), -EINVAL);
	finish(f);
}

static void test_relay_receiver_sees_sender_public_address(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	char buf[16];
	struct sockaddr_in src;
	/* Peer 0 registered (as by HELLO); peer 1 is learned from this first datagram. */
	wire_register_port(f->wire, 0, f->port[0]);
	send_to_peer(f, 1, 0, "hello", 5);
	assert_int_equal(recv_within(f->sock[0], buf, sizeof buf, 2000, &src), 5);
	assert_int_equal(ntohl(src.sin_addr.s_addr), wire_peer_ip(1));
	assert_int_equal(ntohs(src.sin_port), wire_public_port(f->wire, 1));
	assert_int_not_equal(ntohs(src.sin_port), f->port[1]);

	send_to_peer(f, 0, 1, "back", 4);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 4);
	assert_memory_equal(buf, "back", 4);
	assert_int_equal(ntohl(src.sin_addr.s_addr), wire_peer_ip(0));
	assert_int_equal(ntohs(src.sin_port), wire_public_port(f->wire, 0));
	finish(f);
}

static void test_relay_learns_private_port_from_first_datagram(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	char buf[16];
	struct sockaddr_in src;
	struct wire_totals t;
	assert_int_equal(wire_private_port(f->wire, 2), 0);

	/* Peer 2 has not spoken yet: a datagram for it has nowhere to go. */
	send_to_peer(f, 0, 2, "lost", 4);
	assert_int_equal(recv_within(f->sock[2], buf, sizeof buf, 200, &src), -1);
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.unroutable, 1);

	send_to_peer(f, 2, 0, "hi", 2);
	assert_int_equal(recv_within(f->sock[0], buf, sizeof buf, 2000, &src), 2);
	assert_int_equal(wire_private_port(f->wire, 2), f->port[2]);
	send_to_peer(f, 0, 2, "now", 3);
	assert_int_equal(recv_within(f->sock[2], buf, sizeof buf, 2000, &src), 3);
	finish(f);
}

static void test_relay_counts_and_drops_strays(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	for (uint32_t k = 0; k < NPEERS; k++)
		wire_register_port(f->wire, k, f->port[k]);
	uint16_t port;
	int stranger = bind_at(wire_peer_ip(40), &port); /* an address that is no peer's */
	char buf[16];
	struct sockaddr_in src;
	for (uint32_t k = 0; k < NPEERS; k++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(wire_peer_ip(k)),
					  .sin_port = htons(wire_public_port(f->wire, k)) };
		assert_int_equal(sendto(stranger, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa), 1);
	}
	send_to_peer(f, 1, 1, "self", 4); /* to its own public socket: also a stray */
	/* A real datagram afterwards proves the strays were handled, and went nowhere. */
	send_to_peer(f, 0, 2, "real", 4);
	assert_int_equal(recv_within(f->sock[2], buf, sizeof buf, 2000, &src), 4);
	assert_memory_equal(buf, "real", 4);
	for (uint32_t k = 0; k < NPEERS; k++)
		assert_int_equal(recv_within(f->sock[k], buf, sizeof buf, 50, &src), -1);
	struct wire_totals t;
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.strays, NPEERS + 1);
	struct wire_link_stats s;
	wire_link_stats(f->wire, 1, 1, &s);
	assert_int_equal(s.sent, 0);
	close(stranger);
	finish(f);
}

/* A second socket on peer k's address, port 0: what a local process could bind to pose as k. */
static int impostor(uint32_t k, uint16_t *port)
{
	return bind_at(wire_peer_ip(k), port);
}

static void send_from(int fd, struct fixture *f, uint32_t to, const void *buf, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(wire_peer_ip(to)),
				  .sin_port = htons(wire_public_port(f->wire, to)) };
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)len);
}

static void test_relay_drops_a_peers_address_on_another_port_as_spoofed(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	for (uint32_t k = 0; k < NPEERS; k++)
		wire_register_port(f->wire, k, f->port[k]);
	uint16_t port;
	int fake = impostor(0, &port);
	char buf[16];
	struct sockaddr_in src;
	for (int i = 0; i < 5; i++)
		send_from(fake, f, 1, "fake", 4);
	send_to_peer(f, 0, 1, "real", 4);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 4);
	assert_memory_equal(buf, "real", 4);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 50, &src), -1);
	struct wire_totals t;
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.spoofed, 5);
	assert_int_equal(t.strays, 0);
	struct wire_link_stats s;
	wire_link_stats(f->wire, 0, 1, &s);
	assert_int_equal(s.sent, 1); /* the forgeries never entered the link */
	close(fake);
	finish(f);
}

static void test_relay_a_learned_port_makes_every_other_port_spoofed(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	wire_register_port(f->wire, 1, f->port[1]);
	char buf[16];
	struct sockaddr_in src;
	send_to_peer(f, 0, 1, "first", 5); /* teaches peer 0's port */
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 5);
	assert_int_equal(wire_private_port(f->wire, 0), f->port[0]);
	uint16_t port;
	int fake = impostor(0, &port);
	send_from(fake, f, 1, "fake", 4);
	send_to_peer(f, 0, 1, "again", 5);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 5);
	assert_memory_equal(buf, "again", 5);
	struct wire_totals t;
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.spoofed, 1);
	assert_int_equal(wire_private_port(f->wire, 0), f->port[0]);
	close(fake);
	finish(f);
}

static void test_relay_registered_ports_only_takes_no_port_from_traffic(void **state)
{
	(void)state;
	struct fixture *f = start_with(0, NULL, true);
	wire_register_port(f->wire, 1, f->port[1]);
	char buf[16];
	struct sockaddr_in src;
	/* Whoever sends first from peer 0's address before its HELLO claims nothing: a stray. */
	uint16_t port;
	int fake = impostor(0, &port);
	send_from(fake, f, 1, "claim", 5);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 100, &src), -1);
	assert_int_equal(wire_private_port(f->wire, 0), 0);
	struct wire_totals t;
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.strays, 1);
	/* Its HELLO: the real port, and the impostor is now a forgery. */
	wire_register_port(f->wire, 0, f->port[0]);
	send_from(fake, f, 1, "claim", 5);
	send_to_peer(f, 0, 1, "real", 4);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 4);
	assert_memory_equal(buf, "real", 4);
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.spoofed, 1);
	/* A restart forgets it; traffic still teaches nothing until the next HELLO. */
	wire_forget_port(f->wire, 0);
	send_to_peer(f, 0, 1, "lost", 4);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 100, &src), -1);
	assert_int_equal(wire_private_port(f->wire, 0), 0);
	close(fake);
	finish(f);
}

static void test_relay_multi_socket_peer_sends_from_any_port_and_receives_on_its_own(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	for (uint32_t k = 0; k < NPEERS; k++)
		wire_register_port(f->wire, k, f->port[k]);
	assert_int_equal(wire_set_multi_socket(f->wire, 0, true), 0);
	assert_int_equal(wire_set_multi_socket(f->wire, NPEERS, true), -EINVAL);
	uint16_t port;
	int second = impostor(0, &port);
	char buf[16];
	struct sockaddr_in src;
	send_from(second, f, 1, "two", 3);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 3);
	assert_int_equal(ntohs(src.sin_port), wire_public_port(f->wire, 0));
	send_to_peer(f, 0, 1, "one", 3);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 3);
	/* Replies reach its one known port, not the second socket. */
	send_to_peer(f, 1, 0, "back", 4);
	assert_int_equal(recv_within(f->sock[0], buf, sizeof buf, 2000, &src), 4);
	assert_int_equal(recv_within(second, buf, sizeof buf, 50, &src), -1);
	/* Peer 1 is not multi-socket: its own address on another port is still a forgery. */
	int fake = impostor(1, &port);
	send_from(fake, f, 0, "fake", 4);
	assert_int_equal(recv_within(f->sock[0], buf, sizeof buf, 100, &src), -1);
	struct wire_totals t;
	wire_get_totals(f->wire, &t);
	assert_int_equal(t.spoofed, 1);
	close(second);
	close(fake);
	finish(f);
}

static void test_relay_applies_link_changes_while_running(void **state)
{
	(void)state;
	struct fixture *f = start(0, NULL);
	wire_register_port(f->wire, 1, f->port[1]);
	char buf[16];
	struct sockaddr_in src;
	send_to_peer(f, 0, 1, "a", 1);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 1);

	struct wire_link_cfg c;
	assert_int_equal(wire_get_link(f->wire, 0, 1, &c), 0);
	c.loss_pct = 100;
	assert_int_equal(wire_set_link(f->wire, 0, 1, &c), 0);
	for (int i = 0; i < 10; i++)
		send_to_peer(f, 0, 1, "b", 1);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 200, &src), -1);
	struct wire_link_stats s;
	wire_link_stats(f->wire, 0, 1, &s);
	assert_int_equal(s.sent, 11);
	assert_int_equal(s.dropped[WIRE_FATE_LOSS], 10);
	assert_int_equal(s.delivered, 1);

	/* A partition cuts 0->1 too, and healing restores the link's own settings. */
	c.loss_pct = 0;
	wire_set_link(f->wire, 0, 1, &c);
	uint32_t groups[NPEERS] = { 0, 1, 1 };
	wire_partition(f->wire, groups);
	send_to_peer(f, 0, 1, "c", 1);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 200, &src), -1);
	wire_partition(f->wire, NULL);
	send_to_peer(f, 0, 1, "d", 1);
	assert_int_equal(recv_within(f->sock[1], buf, sizeof buf, 2000, &src), 1);
	assert_int_equal(buf[0], 'd');
	wire_link_stats(f->wire, 0, 1, &s);
	assert_int_equal(s.dropped[WIRE_FATE_PARTITION], 1);
	finish(f);
}

static void test_relay_pcap_reads_back_with_every_delivery(void **state)
{
	(void)state;
	struct fixture *f = start(1, "pcap");
	wire_register_port(f->wire, 1, f->port[1]);
	enum { N = 25 };
	char buf[64];
	struct sockaddr_in src;
	int got = 0;
	for (int i = 0; i < N; i++) {
		snprintf(buf, sizeof buf, "datagram %02d", i);
		send_to_peer(f, 0, 1, buf, strlen(buf));
	}
	while (got < N && recv_within(f->sock[1], buf, sizeof buf, 2000, &src) > 0)
		got++;
	assert_int_equal(got, N);
	wire_stop(f->wire);

	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(f->pcap_path, err);
	if (!p)
		fail_msg("pcap_open_offline: %s", err);
	assert_int_equal(pcap_datalink(p), DLT_RAW);
	struct pcap_pkthdr *h;
	const u_char *d;
	int count = 0;
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_int_equal(h->caplen, 28 + 11);
		assert_int_equal(d[0], 0x45);
		assert_int_equal(d[9], 17);
		uint32_t sip = (uint32_t)d[12] << 24 | (uint32_t)d[13] << 16 | (uint32_t)d[14] << 8 | d[15];
		uint32_t dip = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | d[19];
		uint16_t sport = (uint16_t)(d[20] << 8 | d[21]), dport = (uint16_t)(d[22] << 8 | d[23]);
		assert_int_equal(sip, wire_peer_ip(0));
		assert_int_equal(sport, wire_public_port(f->wire, 0));
		assert_int_equal(dip, wire_peer_ip(1));
		assert_int_equal(dport, f->port[1]);
		count++;
	}
	pcap_close(p);
	assert_int_equal(count, N);
	finish(f);
}

/* A wire of 2 peers with these captures, started and stopped: what wire_outputs_status() says after. */
static int outputs_status(const char *pcap, const char *fates, char *err, size_t errlen)
{
	struct wire_config cfg;
	char cerr[256];
	wire_config_default(&cfg);
	cfg.npeers = 2;
	cfg.pcap_path = pcap;
	cfg.fates_path = fates;
	struct wire *w;
	wire_create(&cfg, &w, cerr, sizeof cerr);
	if (!w)
		fail_msg("wire_create: %s", cerr);
	assert_int_equal(wire_start(w), 0);
	wire_stop(w);
	int rc = wire_outputs_status(w, err, errlen);
	wire_destroy(w);
	return rc;
}

static bool have_dev_full(void)
{
	struct stat st;
	return stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode);
}

static void test_relay_outputs_status_reports_pcap_and_fates_on_a_full_device(void **state)
{
	(void)state;
	if (!have_dev_full())
		skip();
	/* Both headers sit in stdio's buffers until wire_stop()'s last flush: that is where ENOSPC must be caught. */
	char err[512];
	assert_int_equal(outputs_status("/dev/full", "/dev/full", err, sizeof err), -ENOSPC);
	char want[256];
	snprintf(want, sizeof want, "/dev/full: %s; /dev/full: %s", strerror(ENOSPC), strerror(ENOSPC));
	assert_string_equal(err, want);
}

static void test_relay_outputs_status_names_only_the_output_that_failed(void **state)
{
	(void)state;
	if (!have_dev_full())
		skip();
	char pcap[64], err[512], want[256];
	snprintf(pcap, sizeof pcap, "/tmp/loopsim-status-%d.pcap", (int)getpid());
	assert_int_equal(outputs_status(pcap, "/dev/full", err, sizeof err), -ENOSPC);
	snprintf(want, sizeof want, "/dev/full: %s", strerror(ENOSPC));
	assert_string_equal(err, want);
	assert_int_equal(outputs_status("/dev/full", pcap, err, sizeof err), -ENOSPC);
	assert_string_equal(err, want);
	unlink(pcap);
}

static void test_relay_outputs_status_is_zero_when_everything_was_written(void **state)
{
	(void)state;
	char pcap[64], fates[64], err[512] = "x";
	snprintf(pcap, sizeof pcap, "/tmp/loopsim-status-%d.pcap", (int)getpid());
	snprintf(fates, sizeof fates, "/tmp/loopsim-status-%d.tsv", (int)getpid());
	assert_int_equal(outputs_status(pcap, fates, err, sizeof err), 0);
	assert_string_equal(err, "");
	struct stat st;
	assert_int_equal(stat(fates, &st), 0);
	assert_true(st.st_size > 0); /* the header, flushed and closed by wire_stop() */
	unlink(pcap);
	unlink(fates);
}

static void test_relay_refuses_bad_configuration_with_einval(void **state)
{
	(void)state;
	struct wire_config cfg;
	struct wire *w = (struct wire *)1;
	char err[256];
	wire_config_default(&cfg);
	cfg.npeers = 0;
	assert_int_equal(wire_create(&cfg, &w, err, sizeof err), -EINVAL);
	assert_null(w);
	assert_non_null(strstr(err, "peers"));
	cfg.npeers = 2;
	cfg.link.loss_pct = 150;
	assert_int_equal(wire_create(&cfg, &w, err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "loss"));
	/* What the system refuses comes back as its own errno. */
	cfg.link.loss_pct = 0;
	cfg.fates_path = "/nonexistent-dir/fates";
	assert_int_equal(wire_create(&cfg, &w, err, sizeof err), -ENOENT);
	assert_null(w);
	assert_non_null(strstr(err, "/nonexistent-dir/fates"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_latency_30ms_is_never_early_and_median_within_1ms),
		cmocka_unit_test(test_relay_receiver_sees_sender_public_address),
		cmocka_unit_test(test_relay_learns_private_port_from_first_datagram),
		cmocka_unit_test(test_relay_counts_and_drops_strays),
		cmocka_unit_test(test_relay_drops_a_peers_address_on_another_port_as_spoofed),
		cmocka_unit_test(test_relay_a_learned_port_makes_every_other_port_spoofed),
		cmocka_unit_test(test_relay_registered_ports_only_takes_no_port_from_traffic),
		cmocka_unit_test(test_relay_multi_socket_peer_sends_from_any_port_and_receives_on_its_own),
		cmocka_unit_test(test_relay_applies_link_changes_while_running),
		cmocka_unit_test(test_relay_pcap_reads_back_with_every_delivery),
		cmocka_unit_test(test_relay_outputs_status_reports_pcap_and_fates_on_a_full_device),
		cmocka_unit_test(test_relay_outputs_status_names_only_the_output_that_failed),
		cmocka_unit_test(test_relay_outputs_status_is_zero_when_everything_was_written),
		cmocka_unit_test(test_relay_refuses_bad_configuration_with_einval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
