// SPDX-License-Identifier: MIT
// loopsim-bench: clocks, samples, sockets, thread CPU time and JSON output shared by the subcommands.
#include "bench.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wire/addr.h"

/* The same kernel buffer the wire asks for on its public sockets. */
#define BENCH_SOCKBUF_BYTES (4 << 20)

bench_ns bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (bench_ns)ts.tv_sec * BENCH_NS_PER_S + (bench_ns)ts.tv_nsec;
}

void bench_sleep_until_ns(bench_ns t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / BENCH_NS_PER_S), .tv_nsec = (long)(t % BENCH_NS_PER_S) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * BENCH_NS_PER_S + ts->tv_nsec;
}

int64_t bench_realtime_offset_ns(void)
{
	/* A preemption between the reads would skew one sample; the narrowest bracket of several is trustworthy. */
	int64_t best_offset = 0, best_width = INT64_MAX;
	for (int i = 0; i < 32; i++) {
		struct timespec a, r, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		int64_t width = ts_ns(&b) - ts_ns(&a);
		if (width < best_width) {
			best_width = width;
			best_offset = ts_ns(&r) - (ts_ns(&a) + width / 2);
		}
	}
	return best_offset;
}

int bench_samples_init(struct bench_samples *s, size_t cap)
{
	memset(s, 0, sizeof *s);
	s->v = malloc(sizeof *s->v * (cap ? cap : 1));
	if (!s->v)
		return -1;
	s->cap = cap;
	return 0;
}

void bench_samples_fini(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

double bench_samples_quantile_us(struct bench_samples *s, double q)
{
	if (s->len == 0)
		return 0;
	qsort(s->v, s->len, sizeof *s->v, cmp_i64);
	double rank = ceil(q * (double)s->len);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	if (i >= s->len)
		i = s->len - 1;
	return (double)s->v[i] / BENCH_NS_PER_US;
}

int bench_udp_bind(uint32_t ip, uint16_t *port, char *err, size_t errlen)
{
	char addr[WIRE_ADDR_STRLEN];
	if (!wire_ip_is_loopback(ip)) {
		snprintf(err, errlen, "%s is outside 127.0.0.0/8", wire_addr_str(addr, sizeof addr, ip, 0));
		return -1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open a UDP socket: %s", strerror(errno));
		return -1;
	}
	int one = 1, size = BENCH_SOCKBUF_BYTES;
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	/* FORCE needs CAP_NET_ADMIN; without it the plain option is capped by rmem_max/wmem_max, as in the wire. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip), .sin_port = 0 };
	socklen_t len = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot bind %s:0: %s (is lo up with 127.0.0.1/8? `ip addr show lo`)",
			 wire_addr_str(addr, sizeof addr, ip, 0), strerror(e));
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

uint32_t bench_rxq_ovfl(struct msghdr *mh, uint32_t *seen)
{
	uint32_t dropped = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			uint32_t v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			dropped += v - *seen; /* the kernel's counter wraps at 2^32; so does the difference */
			*seen = v;
		}
	}
	return dropped;
}

pid_t bench_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

int bench_proc_stat(const char *path, pid_t *ppid, uint64_t *cpu_ns)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	/* The command name may hold spaces and parentheses: the fields proper start after the last ')'. */
	char *p = ok ? strrchr(line, ')') : NULL;
	int pp;
	unsigned long utime, stime;
	if (!p || sscanf(p + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &utime, &stime) != 3)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	if (ppid)
		*ppid = (pid_t)pp;
	if (cpu_ns)
		*cpu_ns = (uint64_t)(utime + stime) * (BENCH_NS_PER_S / (uint64_t)(hz > 0 ? hz : 100));
	return 0;
}

int bench_thread_cpu_ns(pid_t tid, uint64_t *out_ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	return bench_proc_stat(path, NULL, out_ns);
}

pid_t bench_start_and_find_thread(int (*start)(void *), void *obj, int *err)
{
	pid_t before[64], after[64];
	int nb = bench_list_tids(before, 64);
	*err = start(obj);
	if (*err)
		return 0;
	for (int tries = 0; tries < 1000; tries++) {
		int na = bench_list_tids(after, 64);
		for (int i = 0; i < na; i++) {
			bool known = false;
			for (int j = 0; j < nb && !known; j++)
				known = after[i] == before[j];
			if (!known)
				return after[i];
		}
		bench_sleep_until_ns(bench_now_ns() + BENCH_NS_PER_MS);
	}
	return 0;
}

int bench_list_tids(pid_t *out, int cap)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < cap) {
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

int bench_parse_double(const char *prog, const char *name, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = s ? strtod(s, &end) : NAN;
	if (!s || errno || end == s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "%s: %s: expected a number between %g and %g, got '%s'\n", prog, name, lo, hi,
			s ? s : "(nothing)");
		return -1;
	}
	*out = v;
	return 0;
}

void bench_json_emit(const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	if (text) {
		printf("%s\n", text);
		cJSON_free(text);
	} else {
		printf("{\"error\":\"out of memory while printing the figures\"}\n");
	}
	fflush(stdout);
}
