// SPDX-License-Identifier: MIT
// A built-in UDP traffic generator.
#include "wire/traffic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <xxhash.h>

#include "wire/addr.h"
#include "wire/relay.h"

/* Payload layout: hash u32 | from u16 | to u16 | seq u64 | sent_us u64 | filler. */
#define HDR 24u

struct wire_traffic {
	struct wire_traffic_cfg cfg;
	uint16_t *public_port, *port;
	int *fd;
	uint64_t *seq_sent, *seq_seen; /* per link [from * n + to]; seen holds max seq + 1 */
	uint32_t *ovfl_seen;           /* per peer: its socket's drop count (SO_RXQ_OVFL) last read */
	int epfd, timerfd, stopfd;
	pthread_mutex_t lock;
	pthread_t thread;
	bool running, paused;
	struct wire_traffic_stats stats;
};

static void put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

struct wire_traffic *wire_traffic_create(const struct wire_traffic_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->npeers < 1 || cfg->npeers > WIRE_MAX_PEERS || !(cfg->hz > 0 && cfg->hz <= 10000) ||
	    cfg->size < 32 || cfg->size > 1400) {
		snprintf(err, errlen, "traffic: needs 1..%u peers, 0 < hz <= 10000 and a size of 32..1400 bytes",
			 WIRE_MAX_PEERS);
		return NULL;
	}
	struct wire_traffic *t = calloc(1, sizeof *t);
	if (!t)
		goto oom;
	uint32_t n = cfg->npeers;
	t->cfg = *cfg;
	t->epfd = t->timerfd = t->stopfd = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->public_port = malloc(sizeof *t->public_port * n);
	t->port = calloc(n, sizeof *t->port);
	t->fd = malloc(sizeof *t->fd * n);
	t->seq_sent = calloc((size_t)n * n, sizeof *t->seq_sent);
	t->seq_seen = calloc((size_t)n * n, sizeof *t->seq_seen);
	t->ovfl_seen = calloc(n, sizeof *t->ovfl_seen);
	if (!t->public_port || !t->port || !t->fd || !t->seq_sent || !t->seq_seen || !t->ovfl_seen)
		goto oom;
	memcpy(t->public_port, cfg->public_port, sizeof *t->public_port * n);
	t->cfg.public_port = t->public_port;
	for (uint32_t k = 0; k < n; k++)
		t->fd[k] = -1;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	t->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	t->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->epfd < 0 || t->timerfd < 0 || t->stopfd < 0) {
		snprintf(err, errlen, "traffic: %s", strerror(errno));
		goto err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->timerfd, &ev);
	ev.data.u32 = UINT32_MAX - 1;
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stopfd, &ev);
	for (uint32_t k = 0; k < n; k++) {
		char addr[WIRE_ADDR_STRLEN];
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(wire_peer_ip(k)) };
		socklen_t len = sizeof sa;
		t->fd[k] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t->fd[k] < 0 || bind(t->fd[k], (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    getsockname(t->fd[k], (struct sockaddr *)&sa, &len) < 0) {
			snprintf(err, errlen, "traffic: cannot bind %s: %s",
				 wire_addr_str(addr, sizeof addr, wire_peer_ip(k), 0), strerror(errno));
			goto err;
		}
		t->port[k] = ntohs(sa.sin_port);
		/* Datagrams the wire delivered and this socket's full queue lost are counted, not missed quietly. */
		int one = 1;
		setsockopt(t->fd[k], SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
		ev.data.u32 = k;
		epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->fd[k], &ev);
	}
	return t;
oom:
	snprintf(err, errlen, "traffic: out of memory");
err:
	wire_traffic_destroy(t);
	return NULL;
}

void wire_traffic_destroy(struct wire_traffic *t)
{
	if (!t)
		return;
	wire_traffic_stop(t);
	if (t->fd)
		for (uint32_t k = 0; k < t->cfg.npeers; k++)
			if (t->fd[k] >= 0)
				close(t->fd[k]);
	if (t->epfd >= 0)
		close(t->epfd);
	if (t->timerfd >= 0)
		close(t->timerfd);
	if (t->stopfd >= 0)
		close(t->stopfd);
	pthread_mutex_destroy(&t->lock);
	free(t->public_port);
	free(t->port);
	free(t->fd);
	free(t->seq_sent);
	free(t->seq_seen);
	free(t->ovfl_seen);
	free(t);
}

static void send_tick(struct wire_traffic *t, sim_time_us now)
{
	uint32_t n = t->cfg.npeers;
	uint32_t fan = t->cfg.fanout && t->cfg.fanout < n - 1 ? t->cfg.fanout : n - 1;
	uint8_t buf[1400];
	memset(buf, 0xa5, sizeof buf);
	for (uint32_t k = 0; k < n; k++) {
		for (uint32_t step = 1; step <= fan; step++) {
			uint32_t j = (k + step) % n;
			put_u16(buf + 4, (uint16_t)k);
			put_u16(buf + 6, (uint16_t)j);
			put_u64(buf + 8, t->seq_sent[(size_t)k * n + j]++);
			put_u64(buf + 16, now);
			uint32_t h = XXH32(buf + 4, t->cfg.size - 4, 0);
			memcpy(buf, &h, 4);
			struct sockaddr_in to = { .sin_family = AF_INET,
						  .sin_addr.s_addr = htonl(wire_peer_ip(j)),
						  .sin_port = htons(t->public_port[j]) };
			if (sendto(t->fd[k], buf, t->cfg.size, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)t->cfg.size)
				t->stats.sent++;
		}
	}
}

static void receive(struct wire_traffic *t, uint32_t k, sim_time_us now)
{
	uint8_t buf[1500];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof ctl.buf };
		ssize_t len = recvmsg(t->fd[k], &mh, MSG_DONTWAIT);
		if (len < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;
				memcpy(&drops, CMSG_DATA(c), sizeof drops);
				t->stats.kernel_drops += (uint32_t)(drops - t->ovfl_seen[k]);
				t->ovfl_seen[k] = drops;
			}
		t->stats.received++;
		uint32_t h;
		memcpy(&h, buf, 4);
		if ((size_t)len < HDR || XXH32(buf + 4, (size_t)len - 4, 0) != h) {
			t->stats.corrupt++;
			continue;
		}
		uint32_t from = get_u16(buf + 4), to = get_u16(buf + 6);
		if (from >= t->cfg.npeers || to != k)
			continue;
		uint64_t seq = get_u64(buf + 8), sent = get_u64(buf + 16);
		uint64_t *seen = &t->seq_seen[(size_t)from * t->cfg.npeers + to];
		if (seq < *seen)
			t->stats.out_of_order++;
		else
			*seen = seq + 1;
		wire_hist_record(&t->stats.delay, now > sent ? now - sent : 0);
	}
}

static void *traffic_main(void *arg)
{
	struct wire_traffic *t = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	uint64_t period_ns = (uint64_t)(1e9 / t->cfg.hz);
	struct itimerspec its = { .it_interval = { (time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u) } };
	its.it_value = its.it_interval;
	timerfd_settime(t->timerfd, 0, &its, NULL);
	struct epoll_event evs[64];
	for (;;) {
		int nev = epoll_wait(t->epfd, evs, 64, -1);
		if (nev < 0 && errno != EINTR)
			return NULL;
		pthread_mutex_lock(&t->lock);
		sim_time_us now = wire_clock_us();
		for (int e = 0; e < nev; e++) {
			uint32_t id = evs[e].data.u32;
			uint64_t ticks;
			if (id == UINT32_MAX - 1) {
				pthread_mutex_unlock(&t->lock);
				return NULL;
			}
			if (id == UINT32_MAX) {
				if (read(t->timerfd, &ticks, sizeof ticks) == sizeof ticks && !t->paused)
					send_tick(t, now);
			} else {
				receive(t, id, now);
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
}

int wire_traffic_start(struct wire_traffic *t)
{
	if (t->running)
		return 0;
	int r = pthread_create(&t->thread, NULL, traffic_main, t);
	if (r)
		return -r;
	t->running = true;
	return 0;
}

void wire_traffic_stop(struct wire_traffic *t)
{
	if (!t->running)
		return;
	uint64_t one = 1;
	if (write(t->stopfd, &one, sizeof one) < 0)
		perror("traffic: stop");
	pthread_join(t->thread, NULL);
	t->running = false;
	/* Under overload the receivers lag the wire: what it delivered and they have not read yet is not lost. */
	pthread_mutex_lock(&t->lock);
	sim_time_us now = wire_clock_us();
	for (uint32_t k = 0; k < t->cfg.npeers; k++)
		receive(t, k, now);
	pthread_mutex_unlock(&t->lock);
}

void wire_traffic_pause(struct wire_traffic *t)
{
	pthread_mutex_lock(&t->lock);
	t->paused = true;
	pthread_mutex_unlock(&t->lock);
}

uint16_t wire_traffic_port(const struct wire_traffic *t, uint32_t k)
{
	return k < t->cfg.npeers ? t->port[k] : 0;
}

void wire_traffic_get_stats(struct wire_traffic *t, struct wire_traffic_stats *out)
{
	pthread_mutex_lock(&t->lock);
	*out = t->stats;
	pthread_mutex_unlock(&t->lock);
}
