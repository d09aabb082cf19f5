// SPDX-License-Identifier: MIT
// The throughput load generator: every peer's private socket on one thread, window flow-controlled.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_wire.h"
#include "wire/addr.h"

#define GEN_BATCH 64
#define GEN_SLOT 2048
/*
 * How often the relay's drop counters are read, on a thread of the
 * generator's own: reading the wire's takes its lock once per link, and each
 * may wait for a whole relay iteration (up to 16 sockets x 64 datagrams), so
 * the generator itself must never wait on it. Drops that are not read yet
 * only narrow the window a little: 1% loss at 150k/s is ~400 per interval.
 */
#define GEN_DROP_POLL_NS (250 * BENCH_NS_PER_MS)
/* With the window full and nothing arriving for this long, what is outstanding is written off so the run
 * goes on; it is reported, and should stay 0. */
#define GEN_STALL_NS (200 * BENCH_NS_PER_MS)

struct bench_gen {
	struct bench_gen_cfg cfg;
	uint16_t *public_port, *port;
	int *fd;
	uint32_t *ovfl_seen;
	int epfd;
	pthread_t thread, poller;
	bool running;
	atomic_bool stop;
	_Atomic uint64_t relay_drops;
	_Atomic pid_t tid;
	_Atomic uint64_t sent, received, misrouted, sink_drops, written_off;

	uint8_t *payload;          /* one prebuilt datagram per link, [from * fanout + d] */
	struct sockaddr_in *dest;  /* npeers: each peer's public socket */
	struct mmsghdr *tx_msg;    /* per sender: fanout * burst messages, built once */
	struct iovec *tx_iov;
	uint32_t per_sender;

	struct mmsghdr rx_msg[GEN_BATCH];
	struct iovec rx_iov[GEN_BATCH];
	struct sockaddr_in rx_addr[GEN_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} rx_ctl[GEN_BATCH];
	uint8_t rx_buf[GEN_BATCH][GEN_SLOT];
};

struct bench_gen *bench_gen_create(const struct bench_gen_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->npeers < 2 || cfg->npeers > WIRE_MAX_PEERS || cfg->fanout < 1 || cfg->fanout >= cfg->npeers ||
	    cfg->size < sizeof(struct bench_hdr) || cfg->size > GEN_SLOT || cfg->burst < 1 ||
	    cfg->fanout * cfg->burst > 1024 || cfg->window < cfg->npeers * cfg->fanout * cfg->burst) {
		snprintf(err, errlen, "generator: bad configuration");
		return NULL;
	}
	struct bench_gen *g = calloc(1, sizeof *g);
	if (!g) {
		snprintf(err, errlen, "generator: out of memory");
		return NULL;
	}
	uint32_t n = cfg->npeers, links = n * cfg->fanout;
	g->cfg = *cfg;
	g->epfd = -1;
	g->per_sender = cfg->fanout * cfg->burst;
	g->public_port = malloc(sizeof *g->public_port * n);
	g->port = calloc(n, sizeof *g->port);
	g->fd = malloc(sizeof *g->fd * n);
	g->ovfl_seen = calloc(n, sizeof *g->ovfl_seen);
	g->payload = calloc(links, cfg->size);
	g->dest = calloc(n, sizeof *g->dest);
	g->tx_msg = calloc((size_t)n * g->per_sender, sizeof *g->tx_msg);
	g->tx_iov = calloc((size_t)n * g->per_sender, sizeof *g->tx_iov);
	if (!g->public_port || !g->port || !g->fd || !g->ovfl_seen || !g->payload || !g->dest || !g->tx_msg ||
	    !g->tx_iov) {
		snprintf(err, errlen, "generator: out of memory");
		goto err;
	}
	memcpy(g->public_port, cfg->public_port, sizeof *g->public_port * n);
	g->cfg.public_port = g->public_port;
	for (uint32_t k = 0; k < n; k++)
		g->fd[k] = -1;
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g->epfd < 0) {
		snprintf(err, errlen, "generator: epoll_create1: %s", strerror(errno));
		goto err;
	}
	for (uint32_t k = 0; k < n; k++) {
		g->fd[k] = bench_udp_bind(wire_peer_ip(k), &g->port[k], err, errlen);
		if (g->fd[k] < 0)
			goto err;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = k };
		if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, g->fd[k], &ev) < 0) {
			snprintf(err, errlen, "generator: epoll_ctl: %s", strerror(errno));
			goto err;
		}
		g->dest[k] = (struct sockaddr_in){ .sin_family = AF_INET,
						   .sin_addr.s_addr = htonl(wire_peer_ip(k)),
						   .sin_port = htons(g->public_port[k]) };
	}
	/* Each sender's round is `burst` datagrams to each of its links, grouped by link as a game's would be. */
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t d = 0; d < cfg->fanout; d++) {
			uint32_t to = (i + 1 + d) % n;
			uint8_t *pl = g->payload + (size_t)(i * cfg->fanout + d) * cfg->size;
			struct bench_hdr h = { .magic = BENCH_MAGIC, .from = (uint16_t)i, .to = (uint16_t)to };
			memcpy(pl, &h, sizeof h);
			for (uint32_t b = 0; b < cfg->burst; b++) {
				size_t m = (size_t)i * g->per_sender + d * cfg->burst + b;
				g->tx_iov[m] = (struct iovec){ .iov_base = pl, .iov_len = cfg->size };
				g->tx_msg[m].msg_hdr = (struct msghdr){ .msg_name = &g->dest[to],
									.msg_namelen = sizeof g->dest[to],
									.msg_iov = &g->tx_iov[m],
									.msg_iovlen = 1 };
			}
		}
	}
	for (uint32_t i = 0; i < GEN_BATCH; i++)
		g->rx_iov[i] = (struct iovec){ .iov_base = g->rx_buf[i], .iov_len = GEN_SLOT };
	return g;
err:
	bench_gen_destroy(g);
	return NULL;
}

void bench_gen_destroy(struct bench_gen *g)
{
	if (!g)
		return;
	bench_gen_stop(g);
	if (g->fd)
		for (uint32_t k = 0; k < g->cfg.npeers; k++)
			if (g->fd[k] >= 0)
				close(g->fd[k]);
	if (g->epfd >= 0)
		close(g->epfd);
	free(g->public_port);
	free(g->port);
	free(g->fd);
	free(g->ovfl_seen);
	free(g->payload);
	free(g->dest);
	free(g->tx_msg);
	free(g->tx_iov);
	free(g);
}

uint16_t bench_gen_port(const struct bench_gen *g, uint32_t k)
{
	return k < g->cfg.npeers ? g->port[k] : 0;
}

pid_t bench_gen_tid(const struct bench_gen *g)
{
	return atomic_load(&g->tid);
}

void bench_gen_counts(const struct bench_gen *g, struct bench_gen_counts *out)
{
	out->sent = atomic_load_explicit(&g->sent, memory_order_relaxed);
	out->received = atomic_load_explicit(&g->received, memory_order_relaxed);
	out->misrouted = atomic_load_explicit(&g->misrouted, memory_order_relaxed);
	out->sink_drops = atomic_load_explicit(&g->sink_drops, memory_order_relaxed);
	out->written_off = atomic_load_explicit(&g->written_off, memory_order_relaxed);
}

/* Drains sink k. Counts well-formed datagrams for peer k that came from their sender's public socket. */
static void drain(struct bench_gen *g, uint32_t k, uint64_t *received, uint64_t *misrouted, uint64_t *drops)
{
	int n;
	do {
		for (uint32_t i = 0; i < GEN_BATCH; i++) {
			struct msghdr *mh = &g->rx_msg[i].msg_hdr;
			mh->msg_name = &g->rx_addr[i];
			mh->msg_namelen = sizeof g->rx_addr[i];
			mh->msg_iov = &g->rx_iov[i];
			mh->msg_iovlen = 1;
			mh->msg_control = g->rx_ctl[i].buf;
			mh->msg_controllen = sizeof g->rx_ctl[i].buf;
			mh->msg_flags = 0;
		}
		n = recvmmsg(g->fd[k], g->rx_msg, GEN_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			struct bench_hdr h;
			memcpy(&h, g->rx_buf[i], sizeof h);
			*drops += bench_rxq_ovfl(&g->rx_msg[i].msg_hdr, &g->ovfl_seen[k]);
			bool ok = g->rx_msg[i].msg_len == g->cfg.size && h.magic == BENCH_MAGIC && h.to == k &&
				  h.from < g->cfg.npeers &&
				  g->rx_addr[i].sin_addr.s_addr == htonl(wire_peer_ip(h.from)) &&
				  g->rx_addr[i].sin_port == htons(g->public_port[h.from]);
			if (ok)
				(*received)++;
			else
				(*misrouted)++;
		}
	} while (n == GEN_BATCH);
}

/* One round: every sender sends its burst to each of its links. Returns datagrams the kernel took. */
static uint64_t send_round(struct bench_gen *g)
{
	uint64_t sent = 0;
	for (uint32_t i = 0; i < g->cfg.npeers; i++) {
		struct mmsghdr *msg = g->tx_msg + (size_t)i * g->per_sender;
		uint32_t done = 0;
		while (done < g->per_sender) {
			int s = sendmmsg(g->fd[i], msg + done, g->per_sender - done, 0);
			if (s < 0) {
				if (errno == EINTR)
					continue;
				break; /* EAGAIN or ENOBUFS: the rest of this burst waits for the next round */
			}
			done += (uint32_t)s;
		}
		sent += done;
	}
	return sent;
}

static void *gen_main(void *arg)
{
	struct bench_gen *g = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_store(&g->tid, bench_gettid());

	const uint64_t round = (uint64_t)g->cfg.npeers * g->per_sender;
	/* Counts carry over a stop and a restart, so datagrams still in flight at a stop are not lost to the window. */
	struct bench_gen_counts c;
	bench_gen_counts(g, &c);
	uint64_t sent = c.sent, received = c.received, misrouted = c.misrouted, sink_drops = c.sink_drops,
		 written_off = c.written_off;
	bench_ns last_progress = bench_now_ns();
	struct epoll_event evs[64];
	int timeout_ms = 0;
	while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
		int nev = epoll_wait(g->epfd, evs, 64, timeout_ms);
		uint64_t before = received;
		for (int e = 0; e < nev; e++)
			drain(g, evs[e].data.u32, &received, &misrouted, &sink_drops);
		bench_ns now = bench_now_ns();
		if (received != before)
			last_progress = now;
		uint64_t relay_drops = atomic_load_explicit(&g->relay_drops, memory_order_relaxed);
		uint64_t accounted = received + misrouted + sink_drops + relay_drops + written_off;
		uint64_t outstanding = sent > accounted ? sent - accounted : 0;
		if (outstanding + round <= g->cfg.window) {
			sent += send_round(g);
			timeout_ms = 0;
		} else {
			timeout_ms = 1;
			if (now - last_progress > GEN_STALL_NS) {
				written_off += outstanding;
				last_progress = now;
			}
		}
		atomic_store_explicit(&g->sent, sent, memory_order_relaxed);
		atomic_store_explicit(&g->received, received, memory_order_relaxed);
		atomic_store_explicit(&g->misrouted, misrouted, memory_order_relaxed);
		atomic_store_explicit(&g->sink_drops, sink_drops, memory_order_relaxed);
		atomic_store_explicit(&g->written_off, written_off, memory_order_relaxed);
	}
	return NULL;
}

static void *poller_main(void *arg)
{
	struct bench_gen *g = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	bench_ns next = bench_now_ns();
	while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
		atomic_store_explicit(&g->relay_drops, g->cfg.relay_drops(g->cfg.ctx), memory_order_relaxed);
		/* Short sleeps, so that a stop is never held up by a whole interval. */
		for (next += GEN_DROP_POLL_NS; bench_now_ns() < next && !atomic_load(&g->stop);)
			bench_sleep_until_ns(bench_now_ns() + 10 * BENCH_NS_PER_MS);
	}
	return NULL;
}

int bench_gen_start(struct bench_gen *g)
{
	if (g->running)
		return 0;
	atomic_store(&g->stop, false);
	atomic_store(&g->tid, 0);
	int e = pthread_create(&g->thread, NULL, gen_main, g);
	if (e)
		return -e;
	if (g->cfg.relay_drops && (e = pthread_create(&g->poller, NULL, poller_main, g))) {
		atomic_store(&g->stop, true);
		pthread_join(g->thread, NULL);
		return -e;
	}
	g->running = true;
	return 0;
}

void bench_gen_stop(struct bench_gen *g)
{
	if (!g->running)
		return;
	atomic_store(&g->stop, true);
	pthread_join(g->thread, NULL);
	if (g->cfg.relay_drops)
		pthread_join(g->poller, NULL);
	g->running = false;
}
