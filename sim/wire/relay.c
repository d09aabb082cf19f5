// SPDX-License-Identifier: MIT
// The relay: real loopback sockets around the link model, on a thread of its own.
#include "wire/relay.h"
#include "wire/relay_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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

#include "wire/addr.h"
#include "wire/capture.h"
#include "wire/enet_label.h"
#include "wire/rng.h"
#include "wire/sched.h"

sim_time_us wire_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sim_time_us)ts.tv_sec * 1000000u + (sim_time_us)ts.tv_nsec / 1000u;
}

sim_time_us wire_started_us(const struct wire *w)
{
	return w->t0_us;
}

static uint64_t realtime_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void wire_config_default(struct wire_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->npeers = 1;
	cfg->seed = 1;
	wire_link_cfg_default(&cfg->link);
}

static int bind_public(struct wire *w, uint32_t k, char *err, size_t errlen)
{
	char addr[WIRE_ADDR_STRLEN];
	uint32_t ip = wire_peer_ip(k);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a UDP socket for peer %u: %s", k, strerror(errno));
		return -1;
	}
	w->fd[k] = fd;
	int one = 1, size = WIRE_SOCKBUF_BYTES;
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
	/* FORCE needs CAP_NET_ADMIN; without it the plain option is capped by rmem_max/wmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip), .sin_port = 0 };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		wire_addr_str(addr, sizeof addr, ip, 0);
		snprintf(err, errlen,
			 "cannot bind peer %u's public socket on %s: %s. Every 127.0.0.0/8 address must answer on "
			 "the loopback interface: on Linux check `ip addr show lo` (lo up, 127.0.0.1/8); on macOS "
			 "run `sudo ifconfig lo0 alias %s up`",
			 k, addr, strerror(e), addr);
		return -1;
	}
	socklen_t len = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &len);
	w->public_port[k] = ntohs(sa.sin_port);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = k };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int wire_create(const struct wire_config *cfg, struct wire **out, char *err, size_t errlen)
{
	const char *field, *why;
	*out = NULL;
	if (cfg->npeers < 1 || cfg->npeers > WIRE_MAX_PEERS) {
		snprintf(err, errlen, "peers: must be between 1 and %u (the address plan runs 127.0.0.2 to 127.0.1.255)",
			 WIRE_MAX_PEERS);
		return -EINVAL;
	}
	if (wire_link_cfg_validate(&cfg->link, &field, &why) < 0) {
		snprintf(err, errlen, "%s: %s", field, why);
		return -EINVAL;
	}
	struct wire *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	errno = 0; /* a step below that fails leaves its errno, which the caller gets */
	w->npeers = cfg->npeers;
	w->seed = cfg->seed;
	w->registered_only = cfg->registered_ports_only;
	w->replay = cfg->replay;
	w->epfd = w->timerfd = w->stopfd = -1;
	pthread_mutex_init(&w->lock, NULL);
	wire_sched_init(&w->sched, cfg->inflight_limit, 0);

	uint32_t n = cfg->npeers;
	w->fd = malloc(sizeof *w->fd * n);
	w->public_port = calloc(n, sizeof *w->public_port);
	w->private_port = calloc(n, sizeof *w->private_port);
	w->multi_socket = calloc(n, sizeof *w->multi_socket);
	/* Pages of links that never deliver are never touched: calloc's zero pages cost nothing. */
	w->lateness = calloc((size_t)n * n, sizeof *w->lateness);
	w->ovfl_seen = calloc(n, sizeof *w->ovfl_seen);
	w->misfit = calloc(n, sizeof *w->misfit);
	w->tx_count = calloc(n + 1, sizeof *w->tx_count);
	w->rx_buf = malloc((size_t)WIRE_BATCH * WIRE_MAX_PAYLOAD);
	if (!w->fd || !w->public_port || !w->private_port || !w->multi_socket || !w->lateness || !w->ovfl_seen || !w->misfit ||
	    !w->tx_count || !w->rx_buf ||
	    wire_model_init(&w->model, n, cfg->seed, &cfg->link) < 0) {
		snprintf(err, errlen, "out of memory for %u peers", n);
		errno = ENOMEM;
		goto err;
	}
	for (uint32_t k = 0; k < n; k++) {
		w->fd[k] = -1;
		w->multi_socket[k] = cfg->multi_socket && cfg->multi_socket[k];
	}

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->timerfd < 0 || w->stopfd < 0) {
		snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
		goto err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timerfd, &ev);
	ev.data.u32 = UINT32_MAX - 1;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stopfd, &ev);

	for (uint32_t k = 0; k < n; k++)
		if (bind_public(w, k, err, errlen) < 0)
			goto err;

	if ((cfg->pcap_path && !(w->pcap_path = strdup(cfg->pcap_path))) ||
	    (cfg->fates_path && !(w->fates_path = strdup(cfg->fates_path)))) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		goto err;
	}
	if (cfg->pcap_path && !(w->pcap = wire_pcap_open(cfg->pcap_path, err, errlen)))
		goto err;
	if (cfg->fates_path) {
		w->fates = wire_output_open(cfg->fates_path, "w", err, errlen);
		if (!w->fates)
			goto err;
		setvbuf(w->fates, NULL, _IOFBF, 1 << 16);
		wire_fate_header(w->fates, w->seed, n);
	}

	for (uint32_t i = 0; i < WIRE_BATCH; i++) {
		w->rx_iov[i].iov_base = w->rx_buf + (size_t)i * WIRE_MAX_PAYLOAD;
		w->rx_iov[i].iov_len = WIRE_MAX_PAYLOAD;
	}
	w->t0_us = w->last_flush_us = wire_clock_us();
	w->realtime0_us = realtime_us();
	*out = w;
	return 0;
err:;
	int e = errno ? errno : EIO;
	wire_destroy(w);
	return -e;
}

void wire_destroy(struct wire *w)
{
	if (!w)
		return;
	wire_stop(w);
	if (w->fd)
		for (uint32_t k = 0; k < w->npeers; k++)
			if (w->fd[k] >= 0)
				close(w->fd[k]);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->timerfd >= 0)
		close(w->timerfd);
	if (w->stopfd >= 0)
		close(w->stopfd);
	/* wire_stop() closed the captures. */
	free(w->pcap_path);
	free(w->fates_path);
	wire_model_fini(&w->model);
	wire_sched_fini(&w->sched);
	pthread_mutex_destroy(&w->lock);
	free(w->fd);
	free(w->public_port);
	free(w->private_port);
	free(w->misfit);
	free(w->multi_socket);
	for (size_t k = 0; w->lateness && k < (size_t)w->npeers * w->npeers; k++)
		free(w->lateness[k]);
	free(w->lateness);
	free(w->ovfl_seen);
	free(w->tx_count);
	free(w->rx_buf);
	free(w);
}

/* Kernel drops since the last read on this socket, from the SO_RXQ_OVFL ancillary counter. */
static void note_kernel_drops(struct wire *w, uint32_t k, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			w->totals.kernel_drops += (uint32_t)(v - w->ovfl_seen[k]);
			w->ovfl_seen[k] = v;
		}
	}
}

static void schedule_copy(struct wire *w, uint32_t from, uint32_t to, sim_time_us now, const struct wire_copy *c,
			  unsigned copy, uint8_t label, const uint8_t *data, uint32_t len)
{
	struct wire_pkt *p = wire_sched_alloc(&w->sched, len);
	if (!p) {
		w->totals.pool_full++;
		return;
	}
	memcpy(p->data, data, len);
	if (c->corrupt_bit >= 0)
		p->data[c->corrupt_bit / 8] ^= (uint8_t)(1u << (c->corrupt_bit % 8));
	p->due_us = c->deliver_at_us;
	p->sent_us = now;
	p->kind = copy ? 1 : c->corrupt_bit >= 0 ? 2 : c->reordered ? 3 : 0;
	p->label = label;
	p->from = from;
	p->to = to;
	wire_sched_push(&w->sched, p);
}

/*
 * The offset of CLOCK_REALTIME from CLOCK_MONOTONIC, in ns, read between two
 * monotonic reads. The wall clock was read somewhere between them, so the
 * later one gives an offset too small by at most the gap, never too large:
 * a stamp moved with it lands no earlier than the datagram arrived. Of
 * three tries, the narrowest gap is kept (one is preempted now and then);
 * it is typically some 50 ns. Read once per loop: the offset changes only
 * when the wall clock is stepped.
 */
static int64_t realtime_offset_ns(void)
{
	int64_t best = 0, best_gap = INT64_MAX;
	for (int i = 0; i < 3; i++) {
		struct timespec m1, r, m2;
		clock_gettime(CLOCK_MONOTONIC, &m1);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &m2);
		int64_t before = (int64_t)m1.tv_sec * 1000000000 + m1.tv_nsec;
		int64_t after = (int64_t)m2.tv_sec * 1000000000 + m2.tv_nsec;
		if (after - before < best_gap) {
			best_gap = after - before;
			best = (int64_t)r.tv_sec * 1000000000 + r.tv_nsec - after;
		}
	}
	return best;
}

/*
 * When the datagram reached the public socket, on the wire's clock: the
 * kernel's receive stamp (SO_TIMESTAMPNS, wall clock) moved onto
 * CLOCK_MONOTONIC with the clocks' offset, and rounded up to the µs, so that
 * a delay counted from it can only end after the datagram's arrival plus
 * the delay, never before. The stamp may well be later than this loop's
 * clock read: a datagram that came in while the relay was busy is delayed
 * from when it arrived, neither from when it was read nor from before it
 * arrived. Without a stamp, or with one from before the wire began, now or
 * t0.
 */
static sim_time_us arrival_us(struct msghdr *mh, sim_time_us now, int64_t real_minus_mono_ns, sim_time_us t0)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			int64_t mono_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - real_minus_mono_ns;
			if (mono_ns <= 0)
				return now;
			sim_time_us at = ((sim_time_us)mono_ns + 999u) / 1000u;
			return at > t0 ? at : t0;
		}
	}
	return now;
}

/* Reads one batch from peer `to`'s public socket, without the lock: the receive buffers are the relay's own. */
static int receive(struct wire *w, uint32_t to)
{
	for (uint32_t i = 0; i < WIRE_BATCH; i++) {
		struct msghdr *mh = &w->rx_msg[i].msg_hdr;
		mh->msg_name = &w->rx_addr[i];
		mh->msg_namelen = sizeof w->rx_addr[i];
		mh->msg_iov = &w->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = w->rx_ctl[i].buf;
		mh->msg_controllen = sizeof w->rx_ctl[i].buf;
		mh->msg_flags = 0;
	}
	return recvmmsg(w->fd[to], w->rx_msg, WIRE_BATCH, MSG_DONTWAIT, NULL);
}

/*
 * The fate the replay log gives the next datagram on link, in place of the
 * model's. The model still decides first, so that its count n (the
 * datagram's (link, n) key) and its state advance as in the recorded run;
 * then the counters it moved are set back and moved for the logged fate.
 * A datagram the log has no record of keeps the model's fate. A logged bit
 * flip beyond this datagram's payload (its size differs from the log's)
 * wraps into it; a log that gave no bit offset gets the bit the model would
 * draw for (seed, link, n).
 */
static void replay_fate(struct wire *w, struct wire_link *link, sim_time_us at, uint32_t len, struct wire_fate *fate)
{
	struct wire_link_stats *st = &link->stats;
	uint64_t sent = st->sent, dup = st->duplicated, reord = st->reordered, corrupt = st->corrupted;
	uint64_t dropped[WIRE_FATE_COUNT];
	memcpy(dropped, st->dropped, sizeof dropped);
	wire_link_fate(link, at, len, fate);
	const struct wire_fate_record *r = wire_fate_table_find(w->replay, link->from, link->to, fate->index);
	if (!r) {
		w->totals.unreplayed++;
		return;
	}
	w->totals.replayed++;
	st->sent = sent + 1;
	st->duplicated = dup + (r->ncopies == 2);
	st->reordered = reord + r->reordered;
	memcpy(st->dropped, dropped, sizeof dropped);
	if (r->kind != WIRE_FATE_DELIVER)
		st->dropped[r->kind]++;
	st->corrupted = corrupt;
	fate->kind = r->kind;
	fate->ncopies = r->ncopies;
	for (uint32_t c = 0; c < r->ncopies; c++) {
		int32_t bit = r->corrupt_bit[c];
		if (bit == WIRE_FATE_BIT_UNKNOWN)
			bit = (int32_t)(wire_rng_u64(w->seed, link->from, link->to, fate->index, WIRE_RNG_CORRUPT_BIT | (c << 8)) %
					((uint64_t)len * 8));
		else if (bit >= 0)
			bit = (int32_t)((uint64_t)bit % ((uint64_t)len * 8));
		if (len == 0)
			bit = -1;
		st->corrupted += bit >= 0;
		fate->copy[c] = (struct wire_copy){ .deliver_at_us = at + r->delay_us[c],
						    .corrupt_bit = bit,
						    .reordered = c == 0 && r->reordered };
	}
}

/* Keeps the first WIRE_STRAY_SOURCES sources outside every peer's IP, with their counts. Called with the lock held. */
static void note_stray_source(struct wire *w, uint32_t ip, uint16_t port, uint32_t to)
{
	for (uint32_t i = 0; i < w->nstray_src; i++)
		if (w->stray_src[i].ip == ip && w->stray_src[i].port == port) {
			w->stray_src[i].count++;
			return;
		}
	if (w->nstray_src == WIRE_STRAY_SOURCES) {
		w->stray_unlisted++;
		return;
	}
	w->stray_src[w->nstray_src++] = (struct wire_stray_source){ .ip = ip, .port = port, .to = to, .count = 1 };
}

/* Gives each datagram of a batch its fate and schedules its copies. Called with the lock held. */
static void admit(struct wire *w, uint32_t to, int n, sim_time_us now, int64_t real_minus_mono_ns)
{
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &w->rx_msg[i].msg_hdr;
		uint32_t len = w->rx_msg[i].msg_len;
		const uint8_t *data = w->rx_iov[i].iov_base;
		w->totals.received++;
		note_kernel_drops(w, to, mh);

		uint32_t sip = ntohl(w->rx_addr[i].sin_addr.s_addr);
		uint16_t sport = ntohs(w->rx_addr[i].sin_port);
		int from = wire_ip_peer(sip, w->npeers);
		if (from < 0 || mh->msg_namelen != sizeof(struct sockaddr_in)) {
			w->totals.strays++;
			note_stray_source(w, sip, sport, to);
			continue;
		}
		if ((uint32_t)from == to) {
			w->totals.strays++;
			w->misfit[from].to_self++;
			continue;
		}
		if (w->private_port[from] == 0 && !w->registered_only)
			w->private_port[from] = sport;
		if (!w->multi_socket[from] && sport != w->private_port[from]) {
			/* Known by another port: a forgery. Not yet known (its HELLO still to come): no peer's address. */
			if (w->private_port[from]) {
				w->totals.spoofed++;
				w->misfit[from].spoofed++;
				w->misfit[from].spoofed_port = sport;
			} else {
				w->totals.strays++;
				w->misfit[from].early++;
				w->misfit[from].early_port = sport;
			}
			continue;
		}

		sim_time_us at = arrival_us(mh, now, real_minus_mono_ns, w->t0_us);
		struct wire_fate fate;
		struct wire_link *link = wire_model_link(&w->model, (uint32_t)from, to);
		if (w->replay)
			replay_fate(w, link, at, len, &fate);
		else
			wire_link_fate(link, at, len, &fate);
		if (w->fates) {
			char line[WIRE_FATE_LINE_MAX];
			/* The log's clock starts at t0; deliveries are on the monotonic clock, so shift them too. */
			struct wire_fate logged = fate;
			for (uint32_t c = 0; c < logged.ncopies; c++)
				logged.copy[c].deliver_at_us -= w->t0_us;
			int ln = wire_fate_format(line, sizeof line, at - w->t0_us, (uint32_t)from, to, len, &logged);
			if (fwrite(line, 1, (size_t)ln, w->fates) != (size_t)ln && !w->fates_error)
				w->fates_error = errno ? -errno : -EIO;
		}
		if (fate.kind != WIRE_FATE_DELIVER) {
			w->drops[w->ndrops++ % WIRE_DROP_RING] =
				(struct wire_drop){ at, (uint16_t)from, (uint16_t)to, (uint8_t)fate.kind };
			continue;
		}
		uint8_t label = (uint8_t)wire_enet_label(data, len);
		for (uint32_t c = 0; c < fate.ncopies; c++)
			schedule_copy(w, (uint32_t)from, to, at, &fate.copy[c], c, label, data, len);
	}
}

/*
 * Takes up to WIRE_TX_MAX packets due at now off the heap, ordered by
 * sender (a stable counting sort, so each link keeps its order), so that
 * each sender's share goes out in as few sendmmsg calls as possible.
 * Called with the lock held; returns how many.
 */
static uint32_t take_due(struct wire *w, sim_time_us now)
{
	uint32_t n = 0;
	struct wire_pkt *p;
	while (n < WIRE_TX_MAX && (p = wire_sched_peek(&w->sched)) && p->due_us <= now)
		w->tx_due[n++] = wire_sched_pop(&w->sched);
	if (n == 0)
		return 0;
	memset(w->tx_count, 0, sizeof *w->tx_count * (w->npeers + 1));
	for (uint32_t i = 0; i < n; i++)
		w->tx_count[w->tx_due[i]->from + 1]++;
	for (uint32_t k = 0; k < w->npeers; k++)
		w->tx_count[k + 1] += w->tx_count[k];
	for (uint32_t i = 0; i < n; i++)
		w->tx_pkt[w->tx_count[w->tx_due[i]->from]++] = w->tx_due[i];
	for (uint32_t i = 0; i < n; i++)
		w->tx_port[i] = w->private_port[w->tx_pkt[i]->to];
	return n;
}

/* Sends tx_pkt[start, start+n), all from one sender, without the lock. Marks each sent one in tx_sent. */
static void send_run(struct wire *w, uint32_t start, uint32_t n)
{
	uint32_t from = w->tx_pkt[start]->from;
	for (uint32_t base = start; base < start + n; base += WIRE_BATCH) {
		uint32_t m = 0, idx[WIRE_BATCH];
		for (uint32_t i = base; i < start + n && i < base + WIRE_BATCH; i++) {
			struct wire_pkt *p = w->tx_pkt[i];
			uint16_t port = w->tx_port[i];
			w->tx_sent[i] = 0;
			if (port == 0)
				continue; /* counted as unroutable when released */
			w->tx_addr[m] = (struct sockaddr_in){ .sin_family = AF_INET,
							       .sin_addr.s_addr = htonl(wire_peer_ip(p->to)),
							       .sin_port = htons(port) };
			w->tx_iov[m] = (struct iovec){ .iov_base = p->data, .iov_len = p->len };
			w->tx_msg[m].msg_hdr = (struct msghdr){ .msg_name = &w->tx_addr[m],
								.msg_namelen = sizeof w->tx_addr[m],
								.msg_iov = &w->tx_iov[m],
								.msg_iovlen = 1 };
			idx[m++] = i;
		}
		uint32_t done = 0;
		while (done < m) {
			int r = sendmmsg(w->fd[from], w->tx_msg + done, m - done, 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				w->tx_sent[idx[done++]] = 2; /* refused: count it and go on with the rest */
				continue;
			}
			/* The hand-off: what the receiver's delay and the link's lateness are measured at. */
			sim_time_us at = wire_clock_us();
			for (int i = 0; i < r; i++) {
				w->tx_sent[idx[done + (uint32_t)i]] = 1;
				w->tx_at[idx[done + (uint32_t)i]] = at;
			}
			done += (uint32_t)r;
		}
	}
}

/*
 * Delivers everything due at now. The heap is touched under the lock; the
 * syscalls run without it, so a caller reading stats never waits on a
 * sendmmsg.
 */
static void deliver_due(struct wire *w, sim_time_us now)
{
	for (;;) {
		pthread_mutex_lock(&w->lock);
		uint32_t n = take_due(w, now);
		pthread_mutex_unlock(&w->lock);
		if (n == 0)
			return;
		for (uint32_t start = 0; start < n;) {
			uint32_t end = start + 1;
			while (end < n && w->tx_pkt[end]->from == w->tx_pkt[start]->from)
				end++;
			send_run(w, start, end - start);
			start = end;
		}
		for (uint32_t i = 0; i < n && w->pcap; i++) {
			struct wire_pkt *p = w->tx_pkt[i];
			if (w->tx_sent[i] == 1)
				wire_pcap_write(w->pcap, w->realtime0_us + (w->tx_at[i] - w->t0_us), wire_peer_ip(p->from),
						w->public_port[p->from], wire_peer_ip(p->to), w->tx_port[i], p->data,
						p->len);
		}
		pthread_mutex_lock(&w->lock);
		for (uint32_t i = 0; i < n; i++) {
			struct wire_pkt *p = w->tx_pkt[i];
			if (w->tx_sent[i] == 1) {
				sim_time_us sent = w->tx_at[i];
				wire_link_note_delivery(wire_model_link(&w->model, p->from, p->to), p->len,
							sent > p->sent_us ? sent - p->sent_us : 0);
				struct wire_hist **late = &w->lateness[(size_t)p->from * w->npeers + p->to];
				if (!*late)
					*late = calloc(1, sizeof **late); /* once per link, at its first delivery */
				if (*late)
					wire_hist_record(*late, sent > p->due_us ? sent - p->due_us : 0);
			} else if (w->tx_sent[i] == 2) {
				w->totals.send_errors++;
			} else {
				w->totals.unroutable++;
				w->misfit[p->to].unroutable++;
			}
			wire_sched_release(&w->sched, p);
		}
		pthread_mutex_unlock(&w->lock);
		if (n < WIRE_TX_MAX)
			return;
	}
}

static void arm_timer(struct wire *w)
{
	struct wire_pkt *next = wire_sched_peek(&w->sched);
	sim_time_us at = next ? (next->due_us ? next->due_us : 1) : 0;
	if (at == w->timer_armed_us)
		return;
	struct itimerspec its = { 0 };
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000u);
		its.it_value.tv_nsec = (long)(at % 1000000u) * 1000;
	}
	timerfd_settime(w->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	w->timer_armed_us = at;
}

/* Pushes the captures to their files, keeping the first error of each for wire_outputs_status(). */
static void flush_captures(struct wire *w)
{
	int e = wire_pcap_flush(w->pcap);
	if (e && !w->pcap_error)
		w->pcap_error = e;
	errno = 0;
	if (w->fates && (fflush(w->fates) == EOF || ferror(w->fates)) && !w->fates_error)
		w->fates_error = errno ? -errno : -EIO;
}

/*
 * The last flush and the close: a device that takes the open but not the
 * bytes (/dev/full) often fails only here, with stdio's buffer, so these
 * results count as much as any write's.
 */
static void close_captures(struct wire *w)
{
	flush_captures(w);
	int e = wire_pcap_close(w->pcap);
	if (e && !w->pcap_error)
		w->pcap_error = e;
	w->pcap = NULL;
	if (w->fates && fclose(w->fates) != 0 && !w->fates_error && errno != EINTR)
		w->fates_error = -errno;
	w->fates = NULL;
}

static void *relay_main(void *arg)
{
	struct wire *w = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Wake at the deadline, not up to 50 µs after it. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	/*
	 * A delivery is late by however long the relay waits for a CPU, and the
	 * peers it serves compete for the same cores. Ask for the highest nice
	 * priority; this works as root or with CAP_SYS_NICE, and is quietly
	 * skipped otherwise.
	 */
	bool prioritised = setpriority(PRIO_PROCESS, (id_t)gettid(), -20) == 0;
	pthread_mutex_lock(&w->lock);
	w->totals.unprioritised = !prioritised;
	pthread_mutex_unlock(&w->lock);

	struct epoll_event evs[64];
	bool stop = false;
	while (!stop) {
		int nev = epoll_wait(w->epfd, evs, 64, -1);
		if (nev < 0 && errno != EINTR)
			break;
		sim_time_us now = wire_clock_us();
		int64_t real_minus_mono = realtime_offset_ns();
		deliver_due(w, now);
		for (int e = 0; e < nev; e++) {
			uint32_t id = evs[e].data.u32;
			uint64_t junk;
			if (id == UINT32_MAX) {
				if (read(w->timerfd, &junk, sizeof junk) < 0)
					continue;
			} else if (id == UINT32_MAX - 1) {
				stop = true;
			} else {
				int n = receive(w, id);
				if (n > 0) {
					pthread_mutex_lock(&w->lock);
					admit(w, id, n, now, real_minus_mono);
					pthread_mutex_unlock(&w->lock);
				}
			}
		}
		deliver_due(w, now);
		pthread_mutex_lock(&w->lock);
		arm_timer(w);
		if (now - w->last_flush_us >= WIRE_FLUSH_US) {
			flush_captures(w);
			w->last_flush_us = now;
		}
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

int wire_start(struct wire *w)
{
	if (w->running)
		return 0;
	int r = pthread_create(&w->thread, NULL, relay_main, w);
	if (r)
		return -r;
	w->running = true;
	return 0;
}

void wire_stop(struct wire *w)
{
	if (w->running) {
		uint64_t one = 1;
		if (write(w->stopfd, &one, sizeof one) < 0)
			perror("wire: stop");
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	pthread_mutex_lock(&w->lock);
	close_captures(w);
	pthread_mutex_unlock(&w->lock);
}
