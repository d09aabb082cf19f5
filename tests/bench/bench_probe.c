// SPDX-License-Identifier: MIT
// The delay probe (paced, timestamped datagrams through a relay) and the timer floor it is compared with.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench_wire.h"
#include "wire/addr.h"

#define PROBE_BATCH 64
#define PROBE_SLOT 2048
#define PROBE_STOP_ID UINT32_MAX

struct bench_probe {
	struct bench_probe_cfg cfg;
	uint16_t *public_port, *port;
	int *fd;
	struct sockaddr_in *dest;
	int epfd, stopfd;
	int64_t realtime_offset_ns;
	pthread_t sender, receiver;
	bool sender_running, receiver_running;
	atomic_bool stop;

	/* Owned by the sender thread until it is joined. */
	uint64_t sent_recorded, late_ticks;
	/* Owned by the receiver thread until it is joined. */
	uint64_t received_recorded, no_timestamp, misrouted;
	struct bench_samples kernel, wake;

	struct mmsghdr rx_msg[PROBE_BATCH];
	struct iovec rx_iov[PROBE_BATCH];
	struct sockaddr_in rx_addr[PROBE_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} rx_ctl[PROBE_BATCH];
	uint8_t rx_buf[PROBE_BATCH][PROBE_SLOT];
};

static void set_timer_slack_1ns(void)
{
	/* The wire sets this on its thread; the probe's clocks must be at least as sharp as what they measure. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
}

struct bench_probe *bench_probe_create(const struct bench_probe_cfg *cfg, char *err, size_t errlen)
{
	if (cfg->npeers < 2 || cfg->npeers > WIRE_MAX_PEERS || cfg->fanout < 1 || cfg->fanout >= cfg->npeers ||
	    cfg->size < sizeof(struct bench_hdr) || cfg->size > PROBE_SLOT || cfg->rate_hz < 1 || cfg->tick_ns < 1 ||
	    cfg->record_until_ns <= cfg->record_from_ns) {
		snprintf(err, errlen, "probe: bad configuration");
		return NULL;
	}
	struct bench_probe *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "probe: out of memory");
		return NULL;
	}
	uint32_t n = cfg->npeers;
	p->cfg = *cfg;
	p->epfd = p->stopfd = -1;
	p->public_port = malloc(sizeof *p->public_port * n);
	p->port = calloc(n, sizeof *p->port);
	p->fd = malloc(sizeof *p->fd * n);
	p->dest = calloc(n, sizeof *p->dest);
	/* Room for every datagram of the window, and a margin for ticks that catch up. */
	double window_s = (double)(cfg->record_until_ns - cfg->record_from_ns) / BENCH_NS_PER_S;
	size_t cap = (size_t)(window_s * cfg->rate_hz * 1.1) + 1024;
	if (!p->public_port || !p->port || !p->fd || !p->dest || bench_samples_init(&p->kernel, cap) < 0 ||
	    bench_samples_init(&p->wake, cap) < 0) {
		snprintf(err, errlen, "probe: out of memory");
		goto err;
	}
	memcpy(p->public_port, cfg->public_port, sizeof *p->public_port * n);
	p->cfg.public_port = p->public_port;
	for (uint32_t k = 0; k < n; k++)
		p->fd[k] = -1;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = PROBE_STOP_ID };
	if (p->epfd < 0 || p->stopfd < 0 || epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stopfd, &ev) < 0) {
		snprintf(err, errlen, "probe: cannot set up the event loop: %s", strerror(errno));
		goto err;
	}
	int one = 1;
	for (uint32_t k = 0; k < n; k++) {
		p->fd[k] = bench_udp_bind(wire_peer_ip(k), &p->port[k], err, errlen);
		if (p->fd[k] < 0)
			goto err;
		if (setsockopt(p->fd[k], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
			snprintf(err, errlen, "probe: SO_TIMESTAMPNS: %s", strerror(errno));
			goto err;
		}
		ev.data.u32 = k;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->fd[k], &ev) < 0) {
			snprintf(err, errlen, "probe: epoll_ctl: %s", strerror(errno));
			goto err;
		}
		p->dest[k] = (struct sockaddr_in){ .sin_family = AF_INET,
						   .sin_addr.s_addr = htonl(wire_peer_ip(k)),
						   .sin_port = htons(p->public_port[k]) };
	}
	for (uint32_t i = 0; i < PROBE_BATCH; i++)
		p->rx_iov[i] = (struct iovec){ .iov_base = p->rx_buf[i], .iov_len = PROBE_SLOT };
	/* Kernel receive timestamps are CLOCK_REALTIME; both clocks advance at one rate, so one offset converts. */
	p->realtime_offset_ns = bench_realtime_offset_ns();
	return p;
err:
	bench_probe_destroy(p);
	return NULL;
}

void bench_probe_destroy(struct bench_probe *p)
{
	if (!p)
		return;
	bench_probe_stop(p);
	if (p->fd)
		for (uint32_t k = 0; k < p->cfg.npeers; k++)
			if (p->fd[k] >= 0)
				close(p->fd[k]);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->stopfd >= 0)
		close(p->stopfd);
	bench_samples_fini(&p->kernel);
	bench_samples_fini(&p->wake);
	free(p->public_port);
	free(p->port);
	free(p->fd);
	free(p->dest);
	free(p);
}

uint16_t bench_probe_port(const struct bench_probe *p, uint32_t k)
{
	return k < p->cfg.npeers ? p->port[k] : 0;
}

static void *sender_main(void *arg)
{
	struct bench_probe *p = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	set_timer_slack_1ns();

	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0) {
		perror("probe: timerfd_create");
		return NULL;
	}
	const uint32_t n = p->cfg.npeers, links = n * p->cfg.fanout;
	/*
	 * Datagram i is due at start + i / rate. The sender wakes on tick
	 * boundaries and sends every datagram due by then, each stamped just
	 * before its own sendto: a steady stream at the tick's grain, and a late
	 * wake-up sends what fell due at once instead of falling further behind
	 * (arming a timer per datagram costs more than the send on a VM).
	 */
	const double interval_ns = (double)BENCH_NS_PER_S / p->cfg.rate_hz;
	uint32_t link = 0;
	uint8_t buf[PROBE_SLOT] = { 0 };
	const bench_ns start = bench_now_ns();
	uint64_t seq = 0;
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		bench_ns now = bench_now_ns(), due;
		while ((due = start + (bench_ns)((double)seq * interval_ns)) <= now && due < p->cfg.record_until_ns) {
			seq++;
			uint32_t from = link / p->cfg.fanout, to = (from + 1 + link % p->cfg.fanout) % n;
			link = (link + 1) % links;
			struct bench_hdr h = { .magic = BENCH_MAGIC, .from = (uint16_t)from, .to = (uint16_t)to };
			/* Stamped per datagram, immediately before its own sendto, so no batch skew is charged to the relay. */
			h.sent_ns = bench_now_ns();
			if (h.sent_ns > due + p->cfg.tick_ns && due >= p->cfg.record_from_ns)
				p->late_ticks++;
			memcpy(buf, &h, sizeof h);
			ssize_t r = sendto(p->fd[from], buf, p->cfg.size, 0, (struct sockaddr *)&p->dest[to],
					   sizeof p->dest[to]);
			if (r == (ssize_t)p->cfg.size && h.sent_ns >= p->cfg.record_from_ns &&
			    h.sent_ns < p->cfg.record_until_ns)
				p->sent_recorded++;
		}
		if (due >= p->cfg.record_until_ns)
			break;
		/* The next tick boundary at or after the next datagram's due time. */
		bench_ns wake = start + (due - start + p->cfg.tick_ns - 1) / p->cfg.tick_ns * p->cfg.tick_ns;
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(wake / BENCH_NS_PER_S),
							.tv_nsec = (long)(wake % BENCH_NS_PER_S) } };
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		uint64_t expirations;
		if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EINTR)
			break;
	}
	close(tfd);
	return NULL;
}

static void receive_batch(struct bench_probe *p, uint32_t k)
{
	for (uint32_t i = 0; i < PROBE_BATCH; i++) {
		struct msghdr *mh = &p->rx_msg[i].msg_hdr;
		mh->msg_name = &p->rx_addr[i];
		mh->msg_namelen = sizeof p->rx_addr[i];
		mh->msg_iov = &p->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = p->rx_ctl[i].buf;
		mh->msg_controllen = sizeof p->rx_ctl[i].buf;
		mh->msg_flags = 0;
	}
	int n = recvmmsg(p->fd[k], p->rx_msg, PROBE_BATCH, MSG_DONTWAIT, NULL);
	/* One clock read per batch, as a peer's loop would: the whole batch was ready at this instant. */
	bench_ns woke = bench_now_ns();
	for (int i = 0; i < n; i++) {
		struct bench_hdr h;
		memcpy(&h, p->rx_buf[i], sizeof h);
		if (p->rx_msg[i].msg_len != p->cfg.size || h.magic != BENCH_MAGIC || h.to != k ||
		    h.from >= p->cfg.npeers || p->rx_addr[i].sin_port != htons(p->public_port[h.from])) {
			p->misrouted++;
			continue;
		}
		if (h.sent_ns < p->cfg.record_from_ns || h.sent_ns >= p->cfg.record_until_ns)
			continue;
		p->received_recorded++;
		int64_t requested = (int64_t)p->cfg.requested_ns;
		bench_samples_add(&p->wake, (int64_t)(woke - h.sent_ns) - requested);
		bool stamped = false;
		struct msghdr *mh = &p->rx_msg[i].msg_hdr;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(c), sizeof ts);
				int64_t at = (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec - p->realtime_offset_ns;
				bench_samples_add(&p->kernel, at - (int64_t)h.sent_ns - requested);
				stamped = true;
			}
		}
		p->no_timestamp += !stamped;
	}
}

static void *receiver_main(void *arg)
{
	struct bench_probe *p = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	set_timer_slack_1ns();
	struct epoll_event evs[64];
	for (;;) {
		int nev = epoll_wait(p->epfd, evs, 64, -1);
		if (nev < 0 && errno != EINTR)
			break;
		for (int e = 0; e < nev; e++) {
			if (evs[e].data.u32 == PROBE_STOP_ID)
				return NULL;
			receive_batch(p, evs[e].data.u32);
		}
	}
	return NULL;
}

int bench_probe_start(struct bench_probe *p)
{
	int e = pthread_create(&p->receiver, NULL, receiver_main, p);
	if (e)
		return -e;
	p->receiver_running = true;
	e = pthread_create(&p->sender, NULL, sender_main, p);
	if (e) {
		bench_probe_stop(p);
		return -e;
	}
	p->sender_running = true;
	return 0;
}

void bench_probe_stop(struct bench_probe *p)
{
	atomic_store(&p->stop, true);
	if (p->sender_running) {
		pthread_join(p->sender, NULL);
		p->sender_running = false;
	}
	if (p->receiver_running) {
		uint64_t one = 1;
		if (write(p->stopfd, &one, sizeof one) < 0)
			perror("probe: stop");
		pthread_join(p->receiver, NULL);
		p->receiver_running = false;
	}
}

void bench_probe_result(struct bench_probe *p, struct bench_probe_result *out)
{
	out->sent_recorded = p->sent_recorded;
	out->received_recorded = p->received_recorded;
	out->no_timestamp = p->no_timestamp;
	out->misrouted = p->misrouted;
	out->late_ticks = p->late_ticks;
	out->kernel = &p->kernel;
	out->wake = &p->wake;
}

struct floor_job {
	uint32_t count;
	bench_ns interval_ns;
	pid_t like_tid;
	struct bench_samples *out;
	int rc;
};

static void *floor_main(void *arg)
{
	struct floor_job *job = arg;
	set_timer_slack_1ns();
	if (job->like_tid) {
		/* The same footing as the thread it is compared with: its policy and its nice value. */
		struct sched_param sp;
		int policy = sched_getscheduler(job->like_tid);
		if (policy >= 0 && sched_getparam(job->like_tid, &sp) == 0)
			sched_setscheduler(0, policy, &sp);
		errno = 0;
		int nice = getpriority(PRIO_PROCESS, (id_t)job->like_tid);
		if (errno == 0)
			setpriority(PRIO_PROCESS, (id_t)bench_gettid(), nice);
	}
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0) {
		job->rc = -1;
		return NULL;
	}
	bench_ns deadline = bench_now_ns();
	for (uint32_t i = 0; i < job->count; i++) {
		deadline += job->interval_ns;
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(deadline / BENCH_NS_PER_S),
							.tv_nsec = (long)(deadline % BENCH_NS_PER_S) } };
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		uint64_t expirations;
		ssize_t r;
		while ((r = read(tfd, &expirations, sizeof expirations)) < 0 && errno == EINTR)
			;
		if (r < 0) {
			job->rc = -1;
			break;
		}
		bench_samples_add(job->out, (int64_t)(bench_now_ns() - deadline));
	}
	close(tfd);
	return NULL;
}

int bench_timer_floor(uint32_t count, bench_ns interval_ns, pid_t like_tid, struct bench_samples *out)
{
	struct floor_job job = { .count = count, .interval_ns = interval_ns, .like_tid = like_tid, .out = out, .rc = 0 };
	pthread_t t;
	if (pthread_create(&t, NULL, floor_main, &job))
		return -1;
	pthread_join(t, NULL);
	return job.rc;
}
