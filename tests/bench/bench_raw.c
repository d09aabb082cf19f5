// SPDX-License-Identifier: MIT
// The bare relay: the wire's socket topology with no model, no copy and no timer, as a throughput ceiling.
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_wire.h"
#include "wire/addr.h"

/* The wire's batch, so both relays pay the same syscalls per datagram. */
#define RAW_BATCH 64
/* The bench's datagrams are small; a larger one would be truncated, which the sinks would report. */
#define RAW_SLOT 2048
#define RAW_STOP_ID UINT32_MAX

struct bench_raw {
	uint32_t npeers;
	int *fd;
	uint16_t *public_port, *private_port;
	uint32_t *ovfl_seen;
	uint32_t *group_start; /* npeers + 1: a counting sort of each batch by sender */
	int epfd, stopfd;
	pthread_t thread;
	bool running;
	_Atomic pid_t tid;
	_Atomic uint64_t forwarded, kernel_drops, send_errors, strays;

	struct mmsghdr rx_msg[RAW_BATCH];
	struct iovec rx_iov[RAW_BATCH];
	struct sockaddr_in rx_addr[RAW_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} rx_ctl[RAW_BATCH];
	int32_t rx_from[RAW_BATCH];
	uint8_t rx_buf[RAW_BATCH][RAW_SLOT];

	struct mmsghdr tx_msg[RAW_BATCH];
	struct iovec tx_iov[RAW_BATCH];
	struct sockaddr_in tx_addr;
};

struct bench_raw *bench_raw_create(uint32_t npeers, char *err, size_t errlen)
{
	if (npeers < 2 || npeers > WIRE_MAX_PEERS) {
		snprintf(err, errlen, "bare relay: needs 2..%u peers", WIRE_MAX_PEERS);
		return NULL;
	}
	struct bench_raw *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "bare relay: out of memory");
		return NULL;
	}
	r->npeers = npeers;
	r->epfd = r->stopfd = -1;
	r->fd = malloc(sizeof *r->fd * npeers);
	r->public_port = calloc(npeers, sizeof *r->public_port);
	r->private_port = calloc(npeers, sizeof *r->private_port);
	r->ovfl_seen = calloc(npeers, sizeof *r->ovfl_seen);
	r->group_start = calloc(npeers + 1, sizeof *r->group_start);
	if (!r->fd || !r->public_port || !r->private_port || !r->ovfl_seen || !r->group_start) {
		snprintf(err, errlen, "bare relay: out of memory");
		goto err;
	}
	for (uint32_t k = 0; k < npeers; k++)
		r->fd[k] = -1;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->stopfd < 0) {
		snprintf(err, errlen, "bare relay: cannot set up the event loop: %s", strerror(errno));
		goto err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = RAW_STOP_ID };
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->stopfd, &ev) < 0) {
		snprintf(err, errlen, "bare relay: epoll_ctl: %s", strerror(errno));
		goto err;
	}
	for (uint32_t k = 0; k < npeers; k++) {
		r->fd[k] = bench_udp_bind(wire_peer_ip(k), &r->public_port[k], err, errlen);
		if (r->fd[k] < 0)
			goto err;
		ev.data.u32 = k;
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->fd[k], &ev) < 0) {
			snprintf(err, errlen, "bare relay: epoll_ctl: %s", strerror(errno));
			goto err;
		}
	}
	for (uint32_t i = 0; i < RAW_BATCH; i++)
		r->rx_iov[i] = (struct iovec){ .iov_base = r->rx_buf[i], .iov_len = RAW_SLOT };
	return r;
err:
	bench_raw_destroy(r);
	return NULL;
}

void bench_raw_destroy(struct bench_raw *r)
{
	if (!r)
		return;
	if (r->running) {
		uint64_t one = 1;
		if (write(r->stopfd, &one, sizeof one) < 0)
			perror("bare relay: stop");
		pthread_join(r->thread, NULL);
	}
	if (r->fd)
		for (uint32_t k = 0; k < r->npeers; k++)
			if (r->fd[k] >= 0)
				close(r->fd[k]);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->stopfd >= 0)
		close(r->stopfd);
	free(r->fd);
	free(r->public_port);
	free(r->private_port);
	free(r->ovfl_seen);
	free(r->group_start);
	free(r);
}

uint16_t bench_raw_public_port(const struct bench_raw *r, uint32_t k)
{
	return k < r->npeers ? r->public_port[k] : 0;
}

void bench_raw_register_port(struct bench_raw *r, uint32_t k, uint16_t port)
{
	if (k < r->npeers)
		r->private_port[k] = port;
}

pid_t bench_raw_tid(const struct bench_raw *r)
{
	return atomic_load(&r->tid);
}

void bench_raw_counts(const struct bench_raw *r, struct bench_raw_counts *out)
{
	out->forwarded = atomic_load_explicit(&r->forwarded, memory_order_relaxed);
	out->kernel_drops = atomic_load_explicit(&r->kernel_drops, memory_order_relaxed);
	out->send_errors = atomic_load_explicit(&r->send_errors, memory_order_relaxed);
	out->strays = atomic_load_explicit(&r->strays, memory_order_relaxed);
}

/* Sends tx_msg[begin, begin+n) from sender's public socket; returns how many the kernel took. */
static uint64_t send_group(struct bench_raw *r, uint32_t sender, uint32_t begin, uint32_t n, uint64_t *errors)
{
	uint32_t done = 0;
	uint64_t sent = 0;
	while (done < n) {
		int s = sendmmsg(r->fd[sender], r->tx_msg + begin + done, n - done, 0);
		if (s < 0) {
			if (errno == EINTR)
				continue;
			/* The wire counts a refused datagram and goes on; so does the ceiling it is held to. */
			(*errors)++;
			done++;
			continue;
		}
		done += (uint32_t)s;
		sent += (uint64_t)s;
	}
	return sent;
}

/* Reads one batch from W_to and forwards it, one sendmmsg per sender, as the wire does. */
static void forward(struct bench_raw *r, uint32_t to)
{
	for (uint32_t i = 0; i < RAW_BATCH; i++) {
		struct msghdr *mh = &r->rx_msg[i].msg_hdr;
		mh->msg_name = &r->rx_addr[i];
		mh->msg_namelen = sizeof r->rx_addr[i];
		mh->msg_iov = &r->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = r->rx_ctl[i].buf;
		mh->msg_controllen = sizeof r->rx_ctl[i].buf;
		mh->msg_flags = 0;
	}
	int n = recvmmsg(r->fd[to], r->rx_msg, RAW_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;

	uint32_t np = r->npeers;
	uint64_t drops = 0, strays = 0, errors = 0, sent = 0;
	memset(r->group_start, 0, sizeof *r->group_start * (np + 1));
	for (int i = 0; i < n; i++) {
		drops += bench_rxq_ovfl(&r->rx_msg[i].msg_hdr, &r->ovfl_seen[to]);
		int from = wire_ip_peer(ntohl(r->rx_addr[i].sin_addr.s_addr), np);
		if (from < 0 || (uint32_t)from == to) {
			r->rx_from[i] = -1;
			strays++;
			continue;
		}
		r->rx_from[i] = from;
		r->group_start[from + 1]++;
	}
	for (uint32_t k = 0; k < np; k++)
		r->group_start[k + 1] += r->group_start[k];

	r->tx_addr = (struct sockaddr_in){ .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(wire_peer_ip(to)),
					   .sin_port = htons(r->private_port[to]) };
	/* Stable by sender, so order within a link is kept, as the wire keeps it. */
	for (int i = 0; i < n; i++) {
		if (r->rx_from[i] < 0)
			continue;
		uint32_t slot = r->group_start[r->rx_from[i]]++;
		r->tx_iov[slot] = (struct iovec){ .iov_base = r->rx_iov[i].iov_base, .iov_len = r->rx_msg[i].msg_len };
		r->tx_msg[slot].msg_hdr = (struct msghdr){ .msg_name = &r->tx_addr,
							   .msg_namelen = sizeof r->tx_addr,
							   .msg_iov = &r->tx_iov[slot],
							   .msg_iovlen = 1 };
	}
	/* After placement group_start[k] is where group k ends, so groups are [previous end, this end). */
	uint32_t begin = 0;
	for (uint32_t k = 0; k < np; k++) {
		uint32_t end = r->group_start[k];
		if (end > begin)
			sent += send_group(r, k, begin, end - begin, &errors);
		begin = end;
	}
	atomic_fetch_add_explicit(&r->forwarded, sent, memory_order_relaxed);
	if (drops)
		atomic_fetch_add_explicit(&r->kernel_drops, drops, memory_order_relaxed);
	if (strays)
		atomic_fetch_add_explicit(&r->strays, strays, memory_order_relaxed);
	if (errors)
		atomic_fetch_add_explicit(&r->send_errors, errors, memory_order_relaxed);
}

static void *raw_main(void *arg)
{
	struct bench_raw *r = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_store(&r->tid, bench_gettid());
	struct epoll_event evs[64];
	for (;;) {
		int nev = epoll_wait(r->epfd, evs, 64, -1);
		if (nev < 0 && errno != EINTR)
			break;
		for (int e = 0; e < nev; e++) {
			if (evs[e].data.u32 == RAW_STOP_ID)
				return NULL;
			forward(r, evs[e].data.u32);
		}
	}
	return NULL;
}

int bench_raw_start(struct bench_raw *r)
{
	if (r->running)
		return 0;
	int e = pthread_create(&r->thread, NULL, raw_main, r);
	if (e)
		return -e;
	r->running = true;
	return 0;
}
