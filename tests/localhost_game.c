// SPDX-License-Identifier: MIT
// A game written for "several instances on 127.0.0.1, one port each", knowing nothing of loopsim.
/*
 * The same program as tests/localhost_game.py, in C, for
 * tests/localhost_test.sh: every instance sends numbered, timestamped
 * datagrams to the others at 127.0.0.1:BASE+j, measures itself the delays
 * and losses it sees, and writes a JSON summary to --out. Nothing here
 * includes a loopsim header or reads a LOOPSIM_ variable: under loopsim it
 * runs through the preload library of --localhost-ports, unmodified.
 *   mesh    bind 0.0.0.0:BASE+index (or 127.0.0.1 with --bind loopback), send to every other instance
 *   server  index 0 only: bind 0.0.0.0:BASE, send to every client it has heard from, at the address it saw
 *   client  bind 0.0.0.0:0 (or not at all with --bind none), send to the server at 127.0.0.1:BASE
 * With --ipv6 mapped or --ipv6 loopback it is the same game on a dual-stack
 * AF_INET6 socket, as Java's DatagramSocket opens one: it binds :: (or ::1
 * with --bind loopback) and reaches the others at ::ffff:127.0.0.1:BASE+j
 * (mapped) or ::1:BASE+j (loopback), and it takes datagrams only from the
 * form it sends to.
 * It sends for --seconds, writes the summary a moment later, then waits to
 * be stopped: SIGTERM ends it with status 0 (writing the summary then if it
 * was not yet).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 64
#define MAX_SEQ 65536              /* datagrams per link the summary can follow */
#define MAX_SOURCES 16
#define SETTLE_NS 400000000ll      /* after the last send: what is still in flight arrives */
#define HEADER_SIZE 16             /* "LG1", sender u8, seq u32, send time u64 (CLOCK_MONOTONIC ns), little-endian */

struct link_in {
	uint32_t count, unique;
	uint8_t seen[MAX_SEQ / 8];
	double *delays;            /* unique datagrams' delays, ms */
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* An address of either family, as the game keeps it. */
union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_storage any;
};

/* "ip:port", or "[ip]:port" for IPv6. */
static void addr_str(const union addr *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, ntohs(a->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &a->in.sin_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, ntohs(a->in.sin_port));
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr, "usage: localhost_game --index K --peers N --base B --out FILE [--seconds S] [--rate HZ]\n"
			"                      [--role mesh|server|client] [--bind any|loopback|none]\n"
			"                      [--ipv6 mapped|loopback]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int index = -1, peers = 0, base = 0;
	double seconds = 3.0, rate = 100.0;
	const char *role = "mesh", *bindto = "any", *out = NULL, *ipv6 = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--index"))
			index = atoi(v);
		else if (!strcmp(k, "--peers"))
			peers = atoi(v);
		else if (!strcmp(k, "--base"))
			base = atoi(v);
		else if (!strcmp(k, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(k, "--rate"))
			rate = atof(v);
		else if (!strcmp(k, "--role"))
			role = v;
		else if (!strcmp(k, "--bind"))
			bindto = v;
		else if (!strcmp(k, "--out"))
			out = v;
		else if (!strcmp(k, "--ipv6"))
			ipv6 = v;
		else
			usage();
	}
	bool mesh = !strcmp(role, "mesh"), server = !strcmp(role, "server"), client = !strcmp(role, "client");
	if (index < 0 || peers < 2 || peers > MAX_PEERS || index >= peers || base < 1 || base + peers > 65536 || !out ||
	    rate <= 0 || (!mesh && !server && !client) || (server && index != 0) ||
	    (ipv6 && strcmp(ipv6, "mapped") != 0 && strcmp(ipv6, "loopback") != 0))
		usage();

	/* The others' address, in the form this game writes it; datagrams from any other are foreign. */
	union addr local;
	memset(&local, 0, sizeof local);
	socklen_t alen = ipv6 ? sizeof local.in6 : sizeof local.in;
	if (ipv6) {
		local.in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, !strcmp(ipv6, "mapped") ? "::ffff:127.0.0.1" : "::1", &local.in6.sin6_addr);
	} else {
		local.in.sin_family = AF_INET;
		local.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("localhost_game: socket");
		return 1;
	}
	int rcvbuf = 1 << 20, off = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (ipv6) /* dual-stack whatever net.ipv6.bindv6only says, as Java makes it */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
	union addr me;
	memset(&me, 0, sizeof me);
	uint16_t my_port = (uint16_t)(mesh ? base + index : server ? base : 0);
	bool lo = !strcmp(bindto, "loopback");
	if (ipv6) {
		me.in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(my_port),
						.sin6_addr = lo ? in6addr_loopback : in6addr_any };
	} else {
		me.in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(my_port),
					      .sin_addr.s_addr = htonl(lo ? INADDR_LOOPBACK : INADDR_ANY) };
	}
	if (strcmp(bindto, "none") != 0 && bind(fd, &me.sa, alen) < 0) {
		perror("localhost_game: bind");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);

	union addr dest[MAX_PEERS];
	bool has_dest[MAX_PEERS] = { false };
	for (int j = 0; j < peers; j++) {
		dest[j] = local;
		if (ipv6)
			dest[j].in6.sin6_port = htons((uint16_t)(base + j));
		else
			dest[j].in.sin_port = htons((uint16_t)(base + j));
		has_dest[j] = (mesh && j != index) || (client && j == 0);
	}
	static struct link_in in[MAX_PEERS];
	uint32_t sent[MAX_PEERS] = { 0 };
	char sources[MAX_SOURCES][64];
	int nsources = 0;
	uint32_t foreign = 0;
	bool written = false;

	int64_t start = now_ns(), period = (int64_t)(1e9 / rate), next = start;
	int64_t send_ns = (int64_t)(seconds * 1e9);
	for (;;) {
		int64_t now = now_ns();
		bool sending = now - start < send_ns;
		if (sending && now >= next) {
			for (int j = 0; j < peers; j++) {
				if (!has_dest[j])
					continue;
				uint8_t b[HEADER_SIZE] = { 'L', 'G', '1', (uint8_t)index };
				uint32_t seq = sent[j]++;
				uint64_t t = (uint64_t)now_ns();
				for (int i = 0; i < 4; i++)
					b[4 + i] = (uint8_t)(seq >> (8 * i));
				for (int i = 0; i < 8; i++)
					b[8 + i] = (uint8_t)(t >> (8 * i));
				if (sendto(fd, b, sizeof b, 0, &dest[j].sa, alen) < 0 &&
				    errno != ECONNREFUSED)
					perror("localhost_game: sendto");
			}
			next += period;
		}
		if (stop || (!sending && now - start >= send_ns + SETTLE_NS && !written)) {
			written = true;
			union addr name;
			socklen_t nl = sizeof name;
			char nbuf[64] = "?";
			if (getsockname(fd, &name.sa, &nl) == 0)
				addr_str(&name, nbuf, sizeof nbuf);
			FILE *f = fopen(out, "w");
			if (!f) {
				perror(out);
				return 1;
			}
			fprintf(f, "{\"lang\": \"c\", \"index\": %d, \"role\": \"%s\", \"sockname\": \"%s\", \"sent\": {",
				index, role, nbuf);
			const char *sep = "";
			for (int j = 0; j < peers; j++)
				if (has_dest[j]) {
					fprintf(f, "%s\"%d\": %u", sep, j, sent[j]);
					sep = ", ";
				}
			fprintf(f, "}, \"recv\": {");
			sep = "";
			for (int j = 0; j < peers; j++) {
				struct link_in *l = &in[j];
				if (!l->unique)
					continue;
				int first = -1, last = -1, gap = 0;
				for (int n = 0; n < MAX_SEQ; n++)
					if (l->seen[n / 8] & (1u << (n % 8))) {
						if (first < 0)
							first = n;
						else if (n - last - 1 > gap)
							gap = n - last - 1;
						last = n;
					}
				qsort(l->delays, l->unique, sizeof *l->delays, cmp_double);
				fprintf(f,
					"%s\"%d\": {\"count\": %u, \"unique\": %u, \"first_seq\": %d, \"last_seq\": %d, "
					"\"max_gap\": %d, \"min_ms\": %.3f, \"p50_ms\": %.3f, \"max_ms\": %.3f}",
					sep, j, l->count, l->unique, first, last, gap, l->delays[0],
					l->delays[l->unique / 2], l->delays[l->unique - 1]);
				sep = ", ";
			}
			fprintf(f, "}, \"sources\": [");
			for (int i = 0; i < nsources; i++)
				fprintf(f, "%s\"%s\"", i ? ", " : "", sources[i]);
			fprintf(f, "], \"foreign\": %u}\n", foreign);
			if (fclose(f) != 0) {
				perror(out);
				return 1;
			}
			if (stop)
				return 0;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t wait_ns = sending ? next - now_ns() : 5000000;
		if (poll(&p, 1, wait_ns > 0 ? (int)(wait_ns / 1000000) : 0) <= 0)
			continue;
		uint8_t b[2048];
		union addr src;
		socklen_t sl = sizeof src;
		ssize_t n = recvfrom(fd, b, sizeof b, MSG_DONTWAIT, &src.sa, &sl);
		int64_t t = now_ns();
		if (n < 0)
			continue;
		char s[64];
		addr_str(&src, s, sizeof s);
		bool known = false;
		for (int i = 0; i < nsources && !known; i++)
			known = !strcmp(sources[i], s);
		if (!known && nsources < MAX_SOURCES)
			strcpy(sources[nsources++], s);
		bool from_local = ipv6 ? src.sa.sa_family == AF_INET6 &&
					       !memcmp(&src.in6.sin6_addr, &local.in6.sin6_addr, sizeof local.in6.sin6_addr)
				       : src.sa.sa_family == AF_INET && src.in.sin_addr.s_addr == local.in.sin_addr.s_addr;
		int j = ntohs(ipv6 ? src.in6.sin6_port : src.in.sin_port) - base;
		if (n < HEADER_SIZE || !from_local || j < 0 || j >= peers || memcmp(b, "LG1", 3) != 0 || b[3] != j) {
			foreign++;
			continue;
		}
		uint32_t seq = 0;
		uint64_t at = 0;
		for (int i = 0; i < 4; i++)
			seq |= (uint32_t)b[4 + i] << (8 * i);
		for (int i = 0; i < 8; i++)
			at |= (uint64_t)b[8 + i] << (8 * i);
		struct link_in *l = &in[j];
		l->count++;
		if (seq < MAX_SEQ && !(l->seen[seq / 8] & (1u << (seq % 8)))) {
			l->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
			if (!l->delays && !(l->delays = calloc(MAX_SEQ, sizeof *l->delays)))
				return 1;
			l->delays[l->unique++] = (double)(t - (int64_t)at) / 1e6;
		}
		if (server && !has_dest[j]) {
			dest[j] = src; /* reply where the client was seen, as a server does */
			has_dest[j] = true;
		}
	}
}
