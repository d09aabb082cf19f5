// SPDX-License-Identifier: MIT
// loopsim-bench jitter: what a receiver sees of `loopsim wire`'s delay, measured from outside with kernel stamps.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "bench.h"
#include "wire/addr.h"

/*
 * The wire runs as its own process, exactly as a user runs it: this program
 * is peer 0 (the sender, 127.0.0.2) and peer 1 (the receiver, 127.0.0.3)
 * and trusts nothing the wire says. Each datagram carries its sequence
 * number and CLOCK_MONOTONIC just before its own sendto(); the receiver takes
 * the kernel's receive stamp (SO_TIMESTAMPNS). The delay so measured is the
 * wire's plus two loopback hops (a few µs).
 */
#define BJ_SIZE 64u
#define BJ_BATCH 64
#define BJ_WARMUP_NS (500 * (bench_ns)BENCH_NS_PER_MS)
/* After the last send, wait at most this long for the tail (a Pareto spike can hold datagrams for seconds). */
#define BJ_DRAIN_NS (6 * (bench_ns)BENCH_NS_PER_S)
#define BJ_MAX_WIRE_ARGS 32

static const char *const prog = "loopsim-bench jitter";

struct bj_hdr {
	uint64_t seq;
	uint64_t sent_ns;
};

struct bj {
	int tx, rx;
	struct sockaddr_in dest;
	double rate_hz;
	bench_ns record_from_ns, record_until_ns;
	atomic_uint_fast64_t sent_total; /* datagrams sent, recorded or not */
	uint64_t sent_recorded, first_recorded_seq, late_sends;
	atomic_bool sender_done, stop;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: loopsim-bench jitter [--rate HZ] [--seconds S] [--latency MS] [--jitter MS]\n"
		"                            [--jitter-dist DIST] [--seed N] [--loopsim PATH] [-- WIRE OPTIONS]\n"
		"\n"
		"Starts `loopsim wire --peers 2` (the loopsim beside this program, or --loopsim PATH) with the\n"
		"given latency and jitter, sends %u-byte datagrams from peer 0 to peer 1 at a steady HZ for S\n"
		"seconds (after %.1f s not recorded), and measures each datagram's delay at the receiver from\n"
		"the kernel's receive stamp (SO_TIMESTAMPNS) and its sequence number: reorders, loss, mean,\n"
		"stddev, median, p1, p99, min and max, each beside what was asked for.\n"
		"\n"
		"  --rate HZ          datagrams per second, 1..200000 (default 1000)\n"
		"  --seconds S        seconds recorded (default 10)\n"
		"  --latency MS       (default 20)   --jitter MS (default 5)   --jitter-dist DIST (default uniform)\n"
		"  --seed N           the wire's seed (default 1)\n"
		"  -- OPTIONS         anything after -- goes to loopsim wire as it is (e.g. --jitter-reorders)\n"
		"\n"
		"The last stdout line is one JSON object. Exit codes: 0 ran, 2 bad usage, 3 setup failure.\n",
		BJ_SIZE, (double)BJ_WARMUP_NS / BENCH_NS_PER_S);
}

/* The loopsim program beside this one. */
static int find_loopsim(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(out, len, "%s/loopsim", self) < (int)len ? 0 : -1;
}

/*
 * Starts loopsim with argv, its stdout on a pipe. Returns the pid and sets
 * *out_fd, or -1 with a message printed.
 */
static pid_t spawn_wire(char **argv, int *out_fd)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	pid_t pid;
	extern char **environ;
	int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (e) {
		fprintf(stderr, "%s: cannot start %s: %s\n", prog, argv[0], strerror(e));
		close(fds[0]);
		return -1;
	}
	*out_fd = fds[0];
	return pid;
}

/* Reads the peer table until {"ready":true}; sets peer 1's public port. Returns 0, or -1 after a message. */
static int read_peer_table(int fd, uint16_t *public_port_1)
{
	FILE *f = fdopen(dup(fd), "r");
	if (!f)
		return -1;
	char line[512];
	int rc = -1;
	*public_port_1 = 0;
	while (fgets(line, sizeof line, f)) {
		cJSON *o = cJSON_Parse(line);
		if (!o)
			continue;
		const cJSON *peer = cJSON_GetObjectItem(o, "peer"), *port = cJSON_GetObjectItem(o, "public_port");
		if (cJSON_IsNumber(peer) && peer->valueint == 1 && cJSON_IsNumber(port))
			*public_port_1 = (uint16_t)port->valueint;
		bool ready = cJSON_IsTrue(cJSON_GetObjectItem(o, "ready"));
		cJSON_Delete(o);
		if (ready) {
			rc = *public_port_1 ? 0 : -1;
			break;
		}
	}
	if (rc < 0)
		fprintf(stderr, "%s: loopsim wire printed no usable peer table\n", prog);
	fclose(f);
	return rc;
}

static void *sender_main(void *arg)
{
	struct bj *b = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (tfd < 0) {
		perror("jitter: timerfd_create");
		atomic_store(&b->sender_done, true);
		return NULL;
	}
	uint8_t buf[BJ_SIZE] = { 0 };
	const double interval_ns = BENCH_NS_PER_S / b->rate_hz;
	bench_ns start = bench_now_ns();
	bool first = true;
	uint64_t seq = 0;
	for (;;) {
		/*
		 * Every datagram due by now goes out back to back, each stamped just
		 * before its own sendto; then the timer is armed at the next one's
		 * absolute deadline. A wake-up slower than the interval sends two or
		 * three at once instead of falling ever further behind.
		 */
		bench_ns now = bench_now_ns(), due;
		while ((due = start + (bench_ns)llround((double)seq * interval_ns)) <= now &&
		       due < b->record_until_ns) {
			struct bj_hdr h = { .seq = seq++, .sent_ns = bench_now_ns() };
			if (h.sent_ns > due + 2 * (bench_ns)interval_ns + 100 * BENCH_NS_PER_US)
				b->late_sends++;
			memcpy(buf, &h, sizeof h);
			if (sendto(b->tx, buf, sizeof buf, 0, (struct sockaddr *)&b->dest, sizeof b->dest) !=
			    (ssize_t)sizeof buf)
				continue;
			atomic_fetch_add(&b->sent_total, 1);
			if (h.sent_ns >= b->record_from_ns && h.sent_ns < b->record_until_ns) {
				if (first)
					b->first_recorded_seq = h.seq;
				first = false;
				b->sent_recorded++;
			}
		}
		if (due >= b->record_until_ns || atomic_load(&b->stop))
			break;
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)(due / BENCH_NS_PER_S),
							.tv_nsec = (long)(due % BENCH_NS_PER_S) } };
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		uint64_t expirations;
		if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EINTR)
			break;
	}
	close(tfd);
	atomic_store(&b->sender_done, true);
	return NULL;
}

struct arrival {
	uint64_t seq;
	int64_t delay_ns;
};

struct result {
	uint64_t received, recorded, reorders, duplicates, no_stamp, kernel_drops;
	double mean_us, sd_us, min_us, p1_us, median_us, p99_us, max_us;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Receives until the sender is done and the tail has landed or BJ_DRAIN_NS passed. */
static int receive_all(struct bj *b, struct arrival *arr, size_t cap, struct result *r)
{
	struct mmsghdr msg[BJ_BATCH];
	struct iovec iov[BJ_BATCH];
	uint8_t data[BJ_BATCH][256];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl[BJ_BATCH];
	int64_t offset = bench_realtime_offset_ns();
	uint32_t ovfl_seen = 0;
	uint64_t max_seq = 0;
	bool any = false;
	bench_ns done_at = 0;
	size_t n = 0;
	for (;;) {
		if (!done_at && atomic_load(&b->sender_done))
			done_at = bench_now_ns();
		if (done_at && (r->received >= atomic_load(&b->sent_total) || bench_now_ns() > done_at + BJ_DRAIN_NS))
			break;
		struct pollfd pfd = { .fd = b->rx, .events = POLLIN };
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		for (int i = 0; i < BJ_BATCH; i++) {
			iov[i] = (struct iovec){ .iov_base = data[i], .iov_len = sizeof data[i] };
			msg[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1, .msg_control = ctl[i].buf,
							  .msg_controllen = sizeof ctl[i].buf };
		}
		int got = recvmmsg(b->rx, msg, BJ_BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < got; i++) {
			struct msghdr *mh = &msg[i].msg_hdr;
			r->kernel_drops += bench_rxq_ovfl(mh, &ovfl_seen);
			if (msg[i].msg_len != BJ_SIZE)
				continue;
			struct bj_hdr h;
			memcpy(&h, data[i], sizeof h);
			r->received++;
			/* Order as the receiver sees it: a datagram behind one sent after it was overtaken. */
			if (any && h.seq < max_seq)
				r->reorders++;
			else if (any && h.seq == max_seq)
				r->duplicates++;
			if (!any || h.seq > max_seq)
				max_seq = h.seq;
			any = true;
			if (h.sent_ns < b->record_from_ns || h.sent_ns >= b->record_until_ns)
				continue;
			bool stamped = false;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(c), sizeof ts);
					int64_t at = (int64_t)ts.tv_sec * BENCH_NS_PER_S + ts.tv_nsec - offset;
					if (n < cap)
						arr[n++] = (struct arrival){ h.seq, at - (int64_t)h.sent_ns };
					stamped = true;
				}
			r->no_stamp += !stamped;
		}
	}
	r->recorded = n;
	if (n == 0)
		return -1;
	double *d = malloc(sizeof *d * n);
	if (!d)
		return -1;
	double sum = 0, sum2 = 0;
	for (size_t i = 0; i < n; i++) {
		d[i] = (double)arr[i].delay_ns / BENCH_NS_PER_US;
		sum += d[i];
	}
	r->mean_us = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sum2 += (d[i] - r->mean_us) * (d[i] - r->mean_us);
	r->sd_us = n > 1 ? sqrt(sum2 / (double)(n - 1)) : 0;
	qsort(d, n, sizeof *d, cmp_double);
	r->min_us = d[0];
	r->p1_us = d[(size_t)(0.01 * (double)(n - 1))];
	r->median_us = d[(n - 1) / 2];
	r->p99_us = d[(size_t)(0.99 * (double)(n - 1))];
	r->max_us = d[n - 1];
	free(d);
	return 0;
}

/* What was asked for: mean, sd and median of the delay in µs. */
static void requested(double latency_ms, double jitter_ms, const char *dist, double *mean, double *sd, double *median)
{
	*mean = latency_ms * 1000;
	*median = *mean;
	*sd = jitter_ms * 1000;
	if (strcmp(dist, "uniform") == 0)
		*sd /= sqrt(3.0);
	else if (strcmp(dist, "pareto") == 0) /* alpha 3, shifted and scaled to mean latency, sd jitter */
		*median = *mean + *sd / sqrt(0.75) * (cbrt(2.0) - 1.5);
}

static double tenth(double v)
{
	return round(v * 10) / 10;
}

int bench_jitter(int argc, char **argv)
{
	double rate = 1000, seconds = 10, latency = 20, jitter = 5, seed = 1;
	const char *dist = "uniform";
	char loopsim[PATH_MAX] = "";
	int extra = argc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int r = 0;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return BENCH_EXIT_OK;
		} else if (strcmp(a, "--") == 0) {
			extra = i + 1;
			break;
		} else if (strcmp(a, "--rate") == 0) {
			r = bench_parse_double(prog, a, val, 1, 200000, &rate);
		} else if (strcmp(a, "--seconds") == 0) {
			r = bench_parse_double(prog, a, val, 0.1, 3600, &seconds);
		} else if (strcmp(a, "--latency") == 0) {
			r = bench_parse_double(prog, a, val, 0, 60000, &latency);
		} else if (strcmp(a, "--jitter") == 0) {
			r = bench_parse_double(prog, a, val, 0, 60000, &jitter);
		} else if (strcmp(a, "--seed") == 0) {
			r = bench_parse_double(prog, a, val, 0, 4e9, &seed);
		} else if (strcmp(a, "--jitter-dist") == 0 && val &&
			   (strcmp(val, "uniform") == 0 || strcmp(val, "normal") == 0 || strcmp(val, "pareto") == 0)) {
			dist = val;
		} else if (strcmp(a, "--loopsim") == 0 && val && strlen(val) < sizeof loopsim) {
			strcpy(loopsim, val);
		} else {
			fprintf(stderr, "%s: bad option '%s' (see loopsim-bench jitter --help)\n", prog, a);
			return BENCH_EXIT_USAGE;
		}
		if (r < 0)
			return BENCH_EXIT_USAGE;
		i++;
	}
	if (argc - extra > BJ_MAX_WIRE_ARGS) {
		fprintf(stderr, "%s: at most %d options after --\n", prog, BJ_MAX_WIRE_ARGS);
		return BENCH_EXIT_USAGE;
	}
	if (!*loopsim && find_loopsim(loopsim, sizeof loopsim) < 0) {
		fprintf(stderr, "%s: cannot find loopsim beside this program; give --loopsim PATH\n", prog);
		return BENCH_EXIT_SETUP;
	}

	int rc = BENCH_EXIT_SETUP, out_fd = -1;
	pid_t pid = -1;
	pthread_t sender;
	bool sender_running = false;
	struct arrival *arr = NULL;
	struct bj b = { .tx = -1, .rx = -1, .rate_hz = rate };
	char err[256];
	uint16_t port0, port1, public1;
	if ((b.tx = bench_udp_bind(wire_peer_ip(0), &port0, err, sizeof err)) < 0 ||
	    (b.rx = bench_udp_bind(wire_peer_ip(1), &port1, err, sizeof err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		goto out;
	}
	int one = 1;
	if (setsockopt(b.rx, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) {
		fprintf(stderr, "%s: SO_TIMESTAMPNS: %s\n", prog, strerror(errno));
		goto out;
	}

	/* The wire outlives the run by the drain and a margin; it is stopped with SIGINT once the tail landed. */
	char a_lat[32], a_jit[32], a_seed[32], a_port0[32], a_port1[32], a_dur[32];
	snprintf(a_lat, sizeof a_lat, "%g", latency);
	snprintf(a_jit, sizeof a_jit, "%g", jitter);
	snprintf(a_seed, sizeof a_seed, "%.0f", seed);
	snprintf(a_port0, sizeof a_port0, "0=%u", port0);
	snprintf(a_port1, sizeof a_port1, "1=%u", port1);
	snprintf(a_dur, sizeof a_dur, "%.0f", seconds + (double)(BJ_WARMUP_NS + BJ_DRAIN_NS) / BENCH_NS_PER_S + 30);
	char *wargv[24 + BJ_MAX_WIRE_ARGS] = { loopsim, "wire", "--peers", "2", "--quiet", "--seed", a_seed,
					       "--port", a_port0, "--port", a_port1, "--duration", a_dur,
					       "--latency", a_lat, "--jitter", a_jit, "--jitter-dist", (char *)dist };
	int wargc = 19;
	for (int i = extra; i < argc; i++)
		wargv[wargc++] = argv[i];
	wargv[wargc] = NULL;
	if ((pid = spawn_wire(wargv, &out_fd)) < 0 || read_peer_table(out_fd, &public1) < 0)
		goto out;
	b.dest = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(wire_peer_ip(1)),
				       .sin_port = htons(public1) };

	size_t cap = (size_t)(rate * seconds * 1.05) + 1024;
	if (!(arr = malloc(sizeof *arr * cap))) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	bench_ns t0 = bench_now_ns();
	b.record_from_ns = t0 + BJ_WARMUP_NS;
	b.record_until_ns = b.record_from_ns + (bench_ns)(seconds * BENCH_NS_PER_S);
	int e = pthread_create(&sender, NULL, sender_main, &b);
	if (e) {
		fprintf(stderr, "%s: cannot start the sender: %s\n", prog, strerror(e));
		goto out;
	}
	sender_running = true;
	struct result r = { 0 };
	int got = receive_all(&b, arr, cap, &r);
	pthread_join(sender, NULL);
	sender_running = false;
	if (got < 0) {
		fprintf(stderr, "%s: nothing arrived through the wire\n", prog);
		goto out;
	}

	double want_mean, want_sd, want_median;
	requested(latency, jitter, dist, &want_mean, &want_sd, &want_median);
	uint64_t sent_total = atomic_load(&b.sent_total);
	fprintf(stderr,
		"%s: %s %g ± %g ms at %g/s for %g s: %" PRIu64 " reorders, %" PRIu64 " lost (%" PRIu64
		" in the receiver's queue); mean %.1f us (want %.1f, %+.2f%%), sd %.1f (want %.1f, %+.1f%%), "
		"median %.1f (want %.1f, %+.2f%%), p1 %.1f, p99 %.1f, min %.1f, max %.1f\n",
		prog, dist, latency, jitter, rate, seconds, r.reorders, sent_total - r.received, r.kernel_drops,
		r.mean_us, want_mean, 100 * (r.mean_us / want_mean - 1), r.sd_us, want_sd,
		want_sd > 0 ? 100 * (r.sd_us / want_sd - 1) : 0, r.median_us, want_median,
		100 * (r.median_us / want_median - 1), r.p1_us, r.p99_us, r.min_us, r.max_us);
	if (b.late_sends || r.no_stamp)
		fprintf(stderr, "%s: WARNING: %" PRIu64 " sends over two intervals and 100 us late, %" PRIu64 " without a stamp\n",
			prog, b.late_sends, r.no_stamp);

	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "dist", dist);
	cJSON_AddNumberToObject(o, "latency_ms", latency);
	cJSON_AddNumberToObject(o, "jitter_ms", jitter);
	cJSON_AddNumberToObject(o, "rate_hz", rate);
	cJSON_AddNumberToObject(o, "seconds", seconds);
	cJSON_AddNumberToObject(o, "sent", (double)b.sent_recorded);
	cJSON_AddNumberToObject(o, "received", (double)r.recorded);
	cJSON_AddNumberToObject(o, "lost", (double)(sent_total - r.received));
	cJSON_AddNumberToObject(o, "kernel_drops", (double)r.kernel_drops);
	cJSON_AddNumberToObject(o, "reorders", (double)r.reorders);
	cJSON_AddNumberToObject(o, "duplicates", (double)r.duplicates);
	cJSON_AddNumberToObject(o, "mean_us", tenth(r.mean_us));
	cJSON_AddNumberToObject(o, "want_mean_us", tenth(want_mean));
	cJSON_AddNumberToObject(o, "sd_us", tenth(r.sd_us));
	cJSON_AddNumberToObject(o, "want_sd_us", tenth(want_sd));
	cJSON_AddNumberToObject(o, "median_us", tenth(r.median_us));
	cJSON_AddNumberToObject(o, "want_median_us", tenth(want_median));
	cJSON_AddNumberToObject(o, "p1_us", tenth(r.p1_us));
	cJSON_AddNumberToObject(o, "p99_us", tenth(r.p99_us));
	cJSON_AddNumberToObject(o, "min_us", tenth(r.min_us));
	cJSON_AddNumberToObject(o, "max_us", tenth(r.max_us));
	cJSON_AddNumberToObject(o, "late_sends", (double)b.late_sends);
	bench_json_emit(o);
	cJSON_Delete(o);
	rc = BENCH_EXIT_OK;
out:
	if (sender_running) {
		atomic_store(&b.stop, true);
		pthread_join(sender, NULL);
	}
	if (pid > 0) {
		kill(pid, SIGINT);
		int status;
		waitpid(pid, &status, 0);
	}
	if (out_fd >= 0)
		close(out_fd);
	if (b.tx >= 0)
		close(b.tx);
	if (b.rx >= 0)
		close(b.rx);
	free(arr);
	return rc;
}
