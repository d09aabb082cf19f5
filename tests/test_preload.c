// SPDX-License-Identifier: MIT
// The preload library of --localhost-ports: its address map, then every wrapped call, run with the library loaded.
/*
 * Two groups. The map's (peers/preload/preload_map.c) runs in this process.
 * The calls' runs in a child that this test execs with LD_PRELOAD set to the
 * library (argv[1], or $LOOPSIM_PRELOAD) and a session's environment around sockets it made
 * itself: the child plays both the game (through the ordinary calls, which
 * the library wraps) and the wire (whose "public" sockets it reads and
 * writes with raw syscalls, which no LD_PRELOAD library sees), on an address
 * block of its own (127.77.X.0/24), so that parallel runs cannot collide.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "preload/preload_map.h"

#define NPEERS 3
/* How long a datagram or a control message may take to show up: an event's bound, never a sleep. */
#define WAIT_MS 2000
/* Room for one environment entry (LD_PRELOAD's path, LOOPSIM_PEERS). */
#define ENV_ENTRY_MAX 4096

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
	return a;
}

static void assert_sin(const struct sockaddr_in *a, uint32_t ip, uint16_t port)
{
	assert_int_equal(a->sin_family, AF_INET);
	assert_int_equal(ntohl(a->sin_addr.s_addr), ip);
	assert_int_equal(ntohs(a->sin_port), port);
}

static struct sockaddr_in6 sin6_of(const char *ip, uint16_t port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

static void assert_sin6(const struct sockaddr_in6 *a, const char *ip, uint16_t port)
{
	char got[INET6_ADDRSTRLEN];
	assert_int_equal(a->sin6_family, AF_INET6);
	assert_non_null(inet_ntop(AF_INET6, &a->sin6_addr, got, sizeof got));
	assert_string_equal(got, ip);
	assert_int_equal(ntohs(a->sin6_port), port);
}

/* ---- the map ---- */

static struct preload_map map_of(const char *base, const char *index)
{
	struct preload_map m;
	char err[200];
	int r = preload_map_parse(&m, base, "127.0.0.3", "127.0.0.2:41000,127.0.0.3:41001,127.0.0.4:41002", index, "3",
				  err, sizeof err);
	assert_int_equal(r, 0);
	return m;
}

static void test_preload_map_parses_the_session(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	assert_int_equal(m.base, 7777);
	assert_int_equal(m.npeers, 3);
	assert_int_equal(m.index, 1);
	assert_int_equal(m.self_ip, 0x7f000003u);
	assert_int_equal(m.public_ip[2], 0x7f000004u);
	assert_int_equal(m.public_port[2], 41002);
	assert_int_equal(m.control_fd, 3);
}

static void test_preload_map_refuses_a_bad_environment(void **state)
{
	(void)state;
	static const struct {
		const char *base, *addr, *peers, *index, *fd, *names;
	} bad[] = {
		{ NULL, "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "0", "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "65536", "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "-1", "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ " 7", "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "7x", "127.0.0.2", "127.0.0.2:1", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "7", NULL, "127.0.0.2:1", "0", NULL, "LOOPSIM_ADDR" },
		{ "7", "127.0.0", "127.0.0.2:1", "0", NULL, "LOOPSIM_ADDR" },
		{ "7", "127.0.0.2", NULL, "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:0", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:1,", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:1,,127.0.0.3:2", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:123456", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "127.0.0.2:1:2", "0", NULL, "LOOPSIM_PEERS" },
		{ "7", "127.0.0.2", "x127.0.0.2:1", "0", NULL, "LOOPSIM_PEERS" },
		{ "65535", "127.0.0.2", "127.0.0.2:1,127.0.0.3:2", "0", NULL, "LOOPSIM_LOCALHOST_BASE" },
		{ "7", "127.0.0.2", "127.0.0.2:1", "1", NULL, "LOOPSIM_INDEX" },
		{ "7", "127.0.0.2", "127.0.0.2:1", NULL, NULL, "LOOPSIM_INDEX" },
		{ "7", "127.0.0.2", "127.0.0.2:1", "0", "three", "LOOPSIM_CONTROL_FD" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct preload_map m;
		char err[200] = "";
		int r = preload_map_parse(&m, bad[i].base, bad[i].addr, bad[i].peers, bad[i].index, bad[i].fd, err,
					  sizeof err);
		if (r != -1 || !strstr(err, bad[i].names))
			fail_msg("case %zu: returned %d, '%s' (wanted an error naming %s)", i, r, err, bad[i].names);
	}
	/* 64 peers fit; a 65th does not. */
	char list[66 * 24] = "";
	for (int k = 0; k < 65; k++) {
		size_t len = strlen(list);
		snprintf(list + len, sizeof list - len, "%s127.0.0.%d:%d", k ? "," : "", k + 2, 1000 + k);
		struct preload_map m;
		char err[200];
		assert_int_equal(preload_map_parse(&m, "7", "127.0.0.2", list, "0", NULL, err, sizeof err),
				 k < PRELOAD_MAX_PEERS ? 0 : -1);
	}
}

static void test_preload_map_sends_to_the_public_address(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	struct sockaddr_in out, to = sin_of(INADDR_LOOPBACK, 7779);
	assert_true(preload_map_outbound(&m, &to, &out));
	assert_sin(&out, 0x7f000004u, 41002);
	to = sin_of(INADDR_ANY, 7777);
	assert_true(preload_map_outbound(&m, &to, &out));
	assert_sin(&out, 0x7f000002u, 41000);
	/* Itself: straight to its own socket, not through the wire. */
	to = sin_of(INADDR_LOOPBACK, 7778);
	assert_true(preload_map_outbound(&m, &to, &out));
	assert_sin(&out, 0x7f000003u, 7778);
	/* Outside the session's ports, or another address: left alone. */
	to = sin_of(INADDR_LOOPBACK, 7776);
	assert_false(preload_map_outbound(&m, &to, &out));
	to = sin_of(INADDR_LOOPBACK, 7780);
	assert_false(preload_map_outbound(&m, &to, &out));
	to = sin_of(0x7f000002u, 7777);
	assert_false(preload_map_outbound(&m, &to, &out));
	to = sin_of(0x0a000001u, 7777);
	assert_false(preload_map_outbound(&m, &to, &out));
	to.sin_family = AF_INET6;
	assert_false(preload_map_outbound(&m, &to, &out));
}

static void test_preload_map_shows_peers_as_localhost(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	struct sockaddr_in a = sin_of(0x7f000002u, 41000);
	assert_true(preload_map_inbound(&m, &a));
	assert_sin(&a, INADDR_LOOPBACK, 7777);
	a = sin_of(0x7f000004u, 41002);
	assert_true(preload_map_inbound(&m, &a));
	assert_sin(&a, INADDR_LOOPBACK, 7779);
	/* Its own IP, from another of its sockets: 127.0.0.1 on the same port. */
	a = sin_of(0x7f000003u, 5000);
	assert_true(preload_map_inbound(&m, &a));
	assert_sin(&a, INADDR_LOOPBACK, 5000);
	/* A peer's IP on another port, and strangers: the truth. */
	a = sin_of(0x7f000004u, 41003);
	assert_false(preload_map_inbound(&m, &a));
	assert_sin(&a, 0x7f000004u, 41003);
	a = sin_of(0x08080808u, 53);
	assert_false(preload_map_inbound(&m, &a));
}

static void test_preload_map_binds_local_addresses_to_its_own(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	struct sockaddr_in out, want = sin_of(INADDR_ANY, 7778);
	enum preload_asked asked;
	assert_true(preload_map_bind(&m, &want, &out, &asked));
	assert_sin(&out, 0x7f000003u, 7778);
	assert_int_equal(asked, PRELOAD_ASKED_ANY);
	want = sin_of(INADDR_LOOPBACK, 0);
	assert_true(preload_map_bind(&m, &want, &out, &asked));
	assert_sin(&out, 0x7f000003u, 0);
	assert_int_equal(asked, PRELOAD_ASKED_LOOPBACK);
	want = sin_of(0x7f000005u, 7778);
	assert_false(preload_map_bind(&m, &want, &out, &asked));
	/* getsockname shows what was asked for, on the port bound. */
	struct sockaddr_in a = sin_of(0x7f000003u, 7778);
	assert_true(preload_map_local_shown(&m, &a, PRELOAD_ASKED_LOOPBACK));
	assert_sin(&a, INADDR_LOOPBACK, 7778);
	a = sin_of(0x7f000003u, 7778);
	assert_false(preload_map_local_shown(&m, &a, PRELOAD_ASKED_NONE));
	assert_sin(&a, 0x7f000003u, 7778);
}

static void test_preload_map_reads_dual_stack_forms_as_ipv4(void **state)
{
	(void)state;
	struct sockaddr_in v4;
	struct sockaddr_in6 a = sin6_of("::ffff:127.0.0.1", 7777), back;
	assert_true(preload_map_v4_of(&a, &v4));
	assert_sin(&v4, INADDR_LOOPBACK, 7777);
	a = sin6_of("::1", 7778);
	assert_true(preload_map_v4_of(&a, &v4));
	assert_sin(&v4, INADDR_LOOPBACK, 7778);
	a = sin6_of("::", 7779);
	assert_true(preload_map_v4_of(&a, &v4));
	assert_sin(&v4, INADDR_ANY, 7779);
	a = sin6_of("::ffff:10.1.2.3", 53);
	assert_true(preload_map_v4_of(&a, &v4));
	assert_sin(&v4, 0x0a010203u, 53);
	preload_map_v4_mapped(&v4, &back);
	assert_sin6(&back, "::ffff:10.1.2.3", 53);
	/* Real IPv6 addresses stand for no IPv4 one. */
	a = sin6_of("fd00::2", 7777);
	assert_false(preload_map_v4_of(&a, &v4));
	a = sin6_of("::2", 7777);
	assert_false(preload_map_v4_of(&a, &v4));
	a = sin6_of("fe80::1", 7777);
	assert_false(preload_map_v4_of(&a, &v4));
}

static void test_preload_map_dual_stack_sends_to_the_public_address(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	struct sockaddr_in6 out, to = sin6_of("::ffff:127.0.0.1", 7779);
	assert_true(preload_map_outbound6(&m, &to, &out));
	assert_sin6(&out, "::ffff:127.0.0.4", 41002);
	to = sin6_of("::1", 7777);
	assert_true(preload_map_outbound6(&m, &to, &out));
	assert_sin6(&out, "::ffff:127.0.0.2", 41000);
	to = sin6_of("::ffff:0.0.0.0", 7777);
	assert_true(preload_map_outbound6(&m, &to, &out));
	assert_sin6(&out, "::ffff:127.0.0.2", 41000);
	/* Itself: its own v4-mapped IP. */
	to = sin6_of("::1", 7778);
	assert_true(preload_map_outbound6(&m, &to, &out));
	assert_sin6(&out, "::ffff:127.0.0.3", 7778);
	/* Other ports, other addresses, real IPv6: left alone. */
	to = sin6_of("::1", 7780);
	assert_false(preload_map_outbound6(&m, &to, &out));
	to = sin6_of("::ffff:127.0.0.2", 7777);
	assert_false(preload_map_outbound6(&m, &to, &out));
	to = sin6_of("fd00::1", 7777);
	assert_false(preload_map_outbound6(&m, &to, &out));
}

static void test_preload_map_dual_stack_shows_peers_in_the_form_used(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	struct sockaddr_in6 a = sin6_of("::ffff:127.0.0.2", 41000);
	assert_true(preload_map_inbound6(&m, &a, false));
	assert_sin6(&a, "::ffff:127.0.0.1", 7777);
	a = sin6_of("::ffff:127.0.0.4", 41002);
	assert_true(preload_map_inbound6(&m, &a, true));
	assert_sin6(&a, "::1", 7779);
	/* Its own IP, from another of its sockets. */
	a = sin6_of("::ffff:127.0.0.3", 5000);
	assert_true(preload_map_inbound6(&m, &a, false));
	assert_sin6(&a, "::ffff:127.0.0.1", 5000);
	/* Strangers, and real IPv6 (even ::1, which is no peer's): the truth. */
	a = sin6_of("::ffff:127.0.0.4", 41003);
	assert_false(preload_map_inbound6(&m, &a, false));
	assert_sin6(&a, "::ffff:127.0.0.4", 41003);
	a = sin6_of("::1", 41000);
	assert_false(preload_map_inbound6(&m, &a, false));
	a = sin6_of("fd00::2", 41000);
	assert_false(preload_map_inbound6(&m, &a, true));
	assert_sin6(&a, "fd00::2", 41000);
}

static void test_preload_map_dual_stack_binds_to_its_own_mapped_ip(void **state)
{
	(void)state;
	struct preload_map m = map_of("7777", "1");
	static const struct {
		const char *want, *shown;
		enum preload_asked asked;
	} ok[] = {
		{ "::", "::", PRELOAD_ASKED_ANY6 },
		{ "::1", "::1", PRELOAD_ASKED_LOOPBACK6 },
		{ "::ffff:0.0.0.0", "::ffff:0.0.0.0", PRELOAD_ASKED_MAPPED_ANY },
		{ "::ffff:127.0.0.1", "::ffff:127.0.0.1", PRELOAD_ASKED_MAPPED_LOOPBACK },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct sockaddr_in6 out, want = sin6_of(ok[i].want, 7778);
		enum preload_asked asked = PRELOAD_ASKED_NONE;
		assert_true(preload_map_bind6(&m, &want, &out, &asked));
		assert_sin6(&out, "::ffff:127.0.0.3", 7778);
		assert_int_equal(asked, ok[i].asked);
		/* getsockname shows what was asked for, on the port bound. */
		assert_true(preload_map_local_shown6(&m, &out, asked));
		assert_sin6(&out, ok[i].shown, 7778);
	}
	/* A real IPv6 address, or another IPv4 one, is bound as asked. */
	struct sockaddr_in6 out, want = sin6_of("fd00::2", 7778);
	enum preload_asked asked;
	assert_false(preload_map_bind6(&m, &want, &out, &asked));
	want = sin6_of("::ffff:127.0.0.5", 7778);
	assert_false(preload_map_bind6(&m, &want, &out, &asked));
	/* Not rewritten, or asked for in the other family: the truth. */
	struct sockaddr_in6 a = sin6_of("::ffff:127.0.0.3", 7778);
	assert_false(preload_map_local_shown6(&m, &a, PRELOAD_ASKED_NONE));
	assert_false(preload_map_local_shown6(&m, &a, PRELOAD_ASKED_ANY));
	assert_sin6(&a, "::ffff:127.0.0.3", 7778);
	struct sockaddr_in v4 = sin_of(0x7f000003u, 7778);
	assert_false(preload_map_local_shown(&m, &v4, PRELOAD_ASKED_ANY6));
}

/* ---- the calls, in the child ---- */

static uint32_t self_ip;             /* LOOPSIM_ADDR: 127.77.X.2 */
static uint16_t base;
static int wire_fd[NPEERS];          /* the "public" sockets W_j */
static uint16_t wire_port[NPEERS];
static int harness_fd;               /* the harness's end of the control channel */
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* The truth, below the library: raw syscalls, which no LD_PRELOAD sees. */
static ssize_t raw_recvfrom(int fd, void *buf, size_t n, struct sockaddr_in *from)
{
	socklen_t len = sizeof *from;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, WAIT_MS) != 1)
		return -1;
	return syscall(SYS_recvfrom, fd, buf, n, MSG_DONTWAIT, from, &len);
}

static void raw_sendto(int fd, const void *buf, size_t n, const struct sockaddr_in *to)
{
	assert_int_equal(syscall(SYS_sendto, fd, buf, n, 0, to, sizeof *to), (long)n);
}

static void raw_sockname(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof *a;
	assert_int_equal(syscall(SYS_getsockname, fd, a, &len), 0);
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, WAIT_MS) == 1;
}

static int udp(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	return fd;
}

/* A game socket bound as a localhost game binds it: 0.0.0.0:BASE+0. */
static int game_fd = -1;

static void test_preload_bind_any_moves_to_its_own_ip_and_says_hello(void **state)
{
	(void)state;
	game_fd = udp();
	struct sockaddr_in me = sin_of(INADDR_ANY, base), got;
	errno = 1234;
	assert_int_equal(bind(game_fd, (struct sockaddr *)&me, sizeof me), 0);
	assert_int_equal(errno, 1234);
	raw_sockname(game_fd, &got);
	assert_sin(&got, self_ip, base);
	socklen_t len = sizeof got;
	assert_int_equal(getsockname(game_fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(len, sizeof got);
	assert_sin(&got, INADDR_ANY, base);
	/* The harness hears where the game is. */
	uint8_t buf[CTL_MAX_MSG];
	struct ctl_msg m;
	assert_true(readable(harness_fd));
	ssize_t n = recv(harness_fd, buf, sizeof buf, MSG_DONTWAIT);
	assert_true(n > 0);
	assert_int_equal(ctl_decode(buf, (size_t)n, &m, NULL), 0);
	assert_int_equal(m.type, CTL_HELLO);
	assert_int_equal(m.u.hello.index, 0);
	assert_int_equal(m.u.hello.ip, self_ip);
	assert_int_equal(m.u.hello.port, base);
	assert_int_equal(m.u.hello.pid, (uint32_t)getpid());
}

static void test_preload_sendto_a_peer_reaches_its_public_socket(void **state)
{
	(void)state;
	struct sockaddr_in to = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 1)), from;
	char buf[16];
	errno = 1234;
	assert_int_equal(sendto(game_fd, "one", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
	assert_int_equal(errno, 1234);
	assert_int_equal(raw_recvfrom(wire_fd[1], buf, sizeof buf, &from), 3);
	assert_memory_equal(buf, "one", 3);
	assert_sin(&from, self_ip, base); /* the wire sees the game at its own IP: peer 0 */
}

static void test_preload_recvfrom_shows_a_peer_as_localhost(void **state)
{
	(void)state;
	struct sockaddr_in game = sin_of(self_ip, base), from;
	char buf[16];
	raw_sendto(wire_fd[2], "two", 3, &game);
	assert_true(readable(game_fd));
	socklen_t len = sizeof from;
	errno = 1234;
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 3);
	assert_int_equal(errno, 1234);
	assert_int_equal(len, sizeof from);
	assert_sin(&from, INADDR_LOOPBACK, (uint16_t)(base + 2));

	/* A short address buffer gets what fits and the whole length, as from the kernel; NULL gets nothing. */
	raw_sendto(wire_fd[2], "two", 3, &game);
	assert_true(readable(game_fd));
	uint8_t small[6];
	memset(small, 0xee, sizeof small);
	len = 4;
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, (struct sockaddr *)small, &len), 3);
	assert_int_equal(len, sizeof from);
	struct sockaddr_in want = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 2));
	assert_memory_equal(small, &want, 4);
	assert_int_equal(small[4], 0xee);
	raw_sendto(wire_fd[2], "two", 3, &game);
	assert_true(readable(game_fd));
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, NULL, NULL), 3);
	raw_sendto(wire_fd[2], "two", 3, &game);
	assert_true(readable(game_fd));
	len = 0;
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, (struct sockaddr *)small, &len), 3);
	assert_int_equal(len, sizeof from);
}

#ifdef __GLIBC__
/* What _FORTIFY_SOURCE makes of recvfrom() when the buffer's size is known: glibc's, and wrapped too. */
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *addr,
			      socklen_t *len);

static void test_preload_fortified_recvfrom_is_wrapped_too(void **state)
{
	(void)state;
	struct sockaddr_in game = sin_of(self_ip, base), from;
	char buf[16];
	raw_sendto(wire_fd[1], "chk", 3, &game);
	assert_true(readable(game_fd));
	socklen_t len = sizeof from;
	assert_int_equal(__recvfrom_chk(game_fd, buf, sizeof buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 3);
	assert_sin(&from, INADDR_LOOPBACK, (uint16_t)(base + 1));
}
#endif

static void test_preload_sendmsg_and_recvmsg_rewrite_their_names(void **state)
{
	(void)state;
	struct sockaddr_in to = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 2)), from;
	char buf[16];
	struct iovec iov = { .iov_base = "msg", .iov_len = 3 };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 };
	assert_int_equal(sendmsg(game_fd, &mh, 0), 3);
	assert_sin(&to, INADDR_LOOPBACK, (uint16_t)(base + 2)); /* the caller's name is not touched */
	assert_int_equal(raw_recvfrom(wire_fd[2], buf, sizeof buf, &from), 3);
	assert_sin(&from, self_ip, base);

	struct sockaddr_in game = sin_of(self_ip, base);
	raw_sendto(wire_fd[1], "msg", 3, &game);
	assert_true(readable(game_fd));
	struct iovec riov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr rh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &riov, .msg_iovlen = 1 };
	assert_int_equal(recvmsg(game_fd, &rh, 0), 3);
	assert_int_equal(rh.msg_namelen, sizeof from);
	assert_ptr_equal(rh.msg_name, &from);
	assert_sin(&from, INADDR_LOOPBACK, (uint16_t)(base + 1));
}

static void test_preload_sendmmsg_and_recvmmsg_rewrite_every_name(void **state)
{
	(void)state;
	enum { N = 70 }; /* more than one chunk of the library's */
	static struct sockaddr_in to[N], from[N];
	static struct mmsghdr v[N];
	static struct iovec iov[N];
	static char bufs[N][8];
	for (int i = 0; i < N; i++) {
		to[i] = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 1 + i % 2));
		iov[i] = (struct iovec){ .iov_base = "mm", .iov_len = 2 };
		v[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to[i], .msg_namelen = sizeof to[i], .msg_iov = &iov[i],
						      .msg_iovlen = 1 } };
	}
	assert_int_equal(sendmmsg(game_fd, v, N, 0), N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(v[i].msg_len, 2);
		assert_sin(&to[i], INADDR_LOOPBACK, (uint16_t)(base + 1 + i % 2));
	}
	for (int i = 0; i < N; i++) {
		struct sockaddr_in f;
		assert_int_equal(raw_recvfrom(wire_fd[1 + i % 2], bufs[0], sizeof bufs[0], &f), 2);
		assert_sin(&f, self_ip, base);
	}

	struct sockaddr_in game = sin_of(self_ip, base);
	for (int i = 0; i < 4; i++)
		raw_sendto(wire_fd[1 + i % 2], "rm", 2, &game);
	int got = 0;
	while (got < 4) {
		assert_true(readable(game_fd));
		for (int i = 0; i < 4; i++) {
			iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof bufs[i] };
			v[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i], .msg_namelen = sizeof from[i],
							      .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		int r = recvmmsg(game_fd, v, 4, MSG_DONTWAIT, NULL);
		assert_true(r > 0);
		for (int i = 0; i < r; i++) {
			uint16_t port = ntohs(from[i].sin_port);
			assert_int_equal(ntohl(from[i].sin_addr.s_addr), INADDR_LOOPBACK);
			assert_true(port == base + 1 || port == base + 2);
		}
		got += r;
	}
}

static void test_preload_an_unbound_socket_is_bound_to_its_own_ip_before_it_sends(void **state)
{
	(void)state;
	int fd = udp();
	struct sockaddr_in to = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 1)), from, me;
	char buf[8];
	assert_int_equal(sendto(fd, "auto", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
	assert_int_equal(raw_recvfrom(wire_fd[1], buf, sizeof buf, &from), 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), self_ip);
	socklen_t len = sizeof me;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	assert_sin(&me, INADDR_ANY, ntohs(from.sin_port)); /* as if the kernel had bound it */
	close(fd);
}

static void test_preload_connect_then_send_and_recv_reach_the_peer(void **state)
{
	(void)state;
	int fd = udp();
	struct sockaddr_in to = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 2)), from, peer;
	char buf[8];
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	socklen_t len = sizeof peer;
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	assert_sin(&peer, INADDR_LOOPBACK, (uint16_t)(base + 2));
	assert_int_equal(send(fd, "conn", 4, 0), 4);
	assert_int_equal(raw_recvfrom(wire_fd[2], buf, sizeof buf, &from), 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), self_ip);
	raw_sendto(wire_fd[2], "back", 4, &from);
	assert_true(readable(fd));
	assert_int_equal(recv(fd, buf, sizeof buf, 0), 4);
	assert_memory_equal(buf, "back", 4);
	close(fd);
}

static void test_preload_sending_to_itself_skips_the_wire(void **state)
{
	(void)state;
	struct sockaddr_in to = sin_of(INADDR_LOOPBACK, base), from;
	char buf[8];
	assert_int_equal(sendto(game_fd, "self", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
	assert_true(readable(game_fd));
	socklen_t len = sizeof from;
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 4);
	assert_sin(&from, INADDR_LOOPBACK, base);
}

static void test_preload_sockets_of_one_game_reach_each_other_over_localhost(void **state)
{
	(void)state;
	int a = udp(), b = udp();
	struct sockaddr_in lo = sin_of(INADDR_LOOPBACK, 0), at, from;
	socklen_t len = sizeof at;
	char buf[8];
	assert_int_equal(bind(a, (struct sockaddr *)&lo, sizeof lo), 0);
	assert_int_equal(bind(b, (struct sockaddr *)&lo, sizeof lo), 0);
	assert_int_equal(getsockname(b, (struct sockaddr *)&at, &len), 0);
	assert_sin(&at, INADDR_LOOPBACK, ntohs(at.sin_port));
	/* b is really on the game's own IP; what a sends to 127.0.0.1 at b's port still gets there. */
	assert_int_equal(sendto(a, "near", 4, 0, (struct sockaddr *)&at, sizeof at), 4);
	assert_true(readable(b));
	len = sizeof from;
	assert_int_equal(recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
	close(a);
	close(b);
}

static void test_preload_other_traffic_is_untouched(void **state)
{
	(void)state;
	/* TCP bound to 127.0.0.1 stays there. */
	int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in lo = sin_of(INADDR_LOOPBACK, 0), got;
	assert_int_equal(bind(t, (struct sockaddr *)&lo, sizeof lo), 0);
	raw_sockname(t, &got);
	assert_int_equal(ntohl(got.sin_addr.s_addr), INADDR_LOOPBACK);
	close(t);
	/* UDP bound to another address stays there, and a port outside the session is sent to as it is. */
	int other = udp();
	struct sockaddr_in there = sin_of(self_ip + 100, 0);
	assert_int_equal(bind(other, (struct sockaddr *)&there, sizeof there), 0);
	raw_sockname(other, &there);
	assert_int_equal(ntohl(there.sin_addr.s_addr), self_ip + 100);
	struct sockaddr_in from;
	char buf[8];
	assert_int_equal(sendto(game_fd, "out", 3, 0, (struct sockaddr *)&there, sizeof there), 3);
	assert_int_equal(raw_recvfrom(other, buf, sizeof buf, &from), 3);
	assert_sin(&from, self_ip, base);
	close(other);
	/* An address too short to be a sockaddr_in, and NULL, reach the kernel as they are. */
	int u = udp();
	errno = 0;
	assert_int_equal(bind(u, (struct sockaddr *)&lo, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sendto(u, "x", 1, 0, NULL, 0), -1);
	assert_int_equal(errno, EDESTADDRREQ);
	assert_int_equal(connect(u, NULL, 0), -1);
	close(u);
	/* Not a socket at all. */
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct sockaddr_in peer = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 1));
	assert_int_equal(sendto(devnull, "x", 1, 0, (struct sockaddr *)&peer, sizeof peer), -1);
	assert_int_equal(errno, ENOTSOCK);
	close(devnull);
}

/* A dual-stack AF_INET6 socket, as Java opens one; skipped where the kernel has no IPv6. */
static int udp6(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		skip();
	assert_true(fd >= 0);
	return fd;
}

static void raw_sockname6(int fd, struct sockaddr_in6 *a)
{
	socklen_t len = sizeof *a;
	assert_int_equal(syscall(SYS_getsockname, fd, a, &len), 0);
}

static char self_mapped[INET6_ADDRSTRLEN]; /* ::ffff:LOOPSIM_ADDR */

static void test_preload_dual_stack_socket_reaches_peers_at_both_forms(void **state)
{
	(void)state;
	int fd = udp6();
	struct sockaddr_in6 me = sin6_of("::", 0), got, from6;
	struct sockaddr_in from;
	char buf[8];
	errno = 1234;
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
	assert_int_equal(errno, 1234);
	raw_sockname6(fd, &got);
	uint16_t port = ntohs(got.sin6_port);
	assert_sin6(&got, self_mapped, port);
	socklen_t len = sizeof got;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(len, sizeof got);
	assert_sin6(&got, "::", port);

	/* ::ffff:127.0.0.1:BASE+1 is peer 1; it answers as ::ffff:127.0.0.1:BASE+1. */
	struct sockaddr_in6 to = sin6_of("::ffff:127.0.0.1", (uint16_t)(base + 1));
	assert_int_equal(sendto(fd, "six", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
	assert_int_equal(errno, 1234);
	assert_int_equal(raw_recvfrom(wire_fd[1], buf, sizeof buf, &from), 3);
	assert_sin(&from, self_ip, port);
	raw_sendto(wire_fd[1], "xis", 3, &from);
	assert_true(readable(fd));
	len = sizeof from6;
	assert_int_equal(recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from6, &len), 3);
	assert_int_equal(len, sizeof from6);
	assert_sin6(&from6, "::ffff:127.0.0.1", (uint16_t)(base + 1));

	/* ::1:BASE+2 is peer 2; once the socket reaches peers there, it sees them there (recvmsg). */
	to = sin6_of("::1", (uint16_t)(base + 2));
	assert_int_equal(sendto(fd, "one", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
	assert_int_equal(raw_recvfrom(wire_fd[2], buf, sizeof buf, &from), 3);
	assert_sin(&from, self_ip, port);
	raw_sendto(wire_fd[2], "eno", 3, &from);
	assert_true(readable(fd));
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr mh = { .msg_name = &from6, .msg_namelen = sizeof from6, .msg_iov = &iov, .msg_iovlen = 1 };
	assert_int_equal(recvmsg(fd, &mh, 0), 3);
	assert_int_equal(mh.msg_namelen, sizeof from6);
	assert_sin6(&from6, "::1", (uint16_t)(base + 2));

	/* An AF_INET destination, which Linux takes on a dual-stack socket, and sendmmsg/recvmmsg. */
	struct sockaddr_in to4 = sin_of(INADDR_LOOPBACK, (uint16_t)(base + 1));
	to = sin6_of("::ffff:127.0.0.1", (uint16_t)(base + 2));
	struct iovec v[2] = { { .iov_base = "m1", .iov_len = 2 }, { .iov_base = "m2", .iov_len = 2 } };
	struct mmsghdr mm[2] = {
		{ .msg_hdr = { .msg_name = &to4, .msg_namelen = sizeof to4, .msg_iov = &v[0], .msg_iovlen = 1 } },
		{ .msg_hdr = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &v[1], .msg_iovlen = 1 } },
	};
	assert_int_equal(sendmmsg(fd, mm, 2, 0), 2);
	assert_int_equal(raw_recvfrom(wire_fd[1], buf, sizeof buf, &from), 2);
	assert_sin(&from, self_ip, port);
	assert_int_equal(raw_recvfrom(wire_fd[2], buf, sizeof buf, &from), 2);
	assert_sin(&from, self_ip, port);
	raw_sendto(wire_fd[1], "r1", 2, &from);
	assert_true(readable(fd));
	iov = (struct iovec){ .iov_base = buf, .iov_len = sizeof buf };
	mm[0] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from6, .msg_namelen = sizeof from6, .msg_iov = &iov,
					       .msg_iovlen = 1 } };
	assert_int_equal(recvmmsg(fd, mm, 1, MSG_DONTWAIT, NULL), 1);
	assert_int_equal(mm[0].msg_hdr.msg_namelen, sizeof from6);
	assert_sin6(&from6, "::ffff:127.0.0.1", (uint16_t)(base + 1)); /* the last peer was reached v4-mapped */

	/* Its own sockets: ::1:BASE+0 is the game itself (an AF_INET socket), shown to it as 127.0.0.1. */
	to = sin6_of("::1", base);
	assert_int_equal(sendto(fd, "me", 2, 0, (struct sockaddr *)&to, sizeof to), 2);
	assert_true(readable(game_fd));
	len = sizeof from;
	assert_int_equal(recvfrom(game_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len), 2);
	assert_sin(&from, INADDR_LOOPBACK, port);
	close(fd);
}

static void test_preload_dual_stack_socket_is_bound_before_it_sends(void **state)
{
	(void)state;
	int fd = udp6();
	struct sockaddr_in6 to = sin6_of("::1", (uint16_t)(base + 2)), me, peer;
	struct sockaddr_in from;
	char buf[8];
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
	socklen_t len = sizeof peer;
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &len), 0);
	assert_sin6(&peer, "::1", (uint16_t)(base + 2));
	assert_int_equal(send(fd, "conn", 4, 0), 4);
	assert_int_equal(raw_recvfrom(wire_fd[2], buf, sizeof buf, &from), 4);
	assert_int_equal(ntohl(from.sin_addr.s_addr), self_ip);
	raw_sockname6(fd, &me);
	assert_sin6(&me, self_mapped, ntohs(from.sin_port));
	len = sizeof me;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &len), 0);
	assert_sin6(&me, "::", ntohs(from.sin_port)); /* as if the kernel had bound it */
	close(fd);
}

static void test_preload_ipv6_only_socket_is_untouched(void **state)
{
	(void)state;
	int fd = udp6(), on = 1;
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on), 0);
	struct sockaddr_in6 me = sin6_of("::", 0), got;
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
	raw_sockname6(fd, &got);
	uint16_t port = ntohs(got.sin6_port);
	assert_sin6(&got, "::", port);
	/* Its datagram to ::1:BASE+1 is not rerouted to peer 1 (it may fail: ::1 may be down in a container). */
	struct sockaddr_in6 to = sin6_of("::1", (uint16_t)(base + 1));
	(void)sendto(fd, "v6", 2, 0, (struct sockaddr *)&to, sizeof to);
	struct pollfd p = { .fd = wire_fd[1], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	raw_sockname6(fd, &got);
	assert_sin6(&got, "::", port);
	close(fd);
}

static void test_preload_quit_is_answered_with_bye_and_sigterm(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	struct ctl_msg quit = { .type = CTL_QUIT }, m;
	uint8_t buf[CTL_MAX_MSG];
	assert_int_equal(ctl_send(harness_fd, &quit), 0);
	assert_true(readable(harness_fd));
	ssize_t n = recv(harness_fd, buf, sizeof buf, MSG_DONTWAIT);
	assert_true(n > 0);
	assert_int_equal(ctl_decode(buf, (size_t)n, &m, NULL), 0);
	assert_int_equal(m.type, CTL_BYE);
	assert_int_equal(m.u.bye.reason, CTL_BYE_QUIT);
	/* The signal follows the BYE: handled already, or soon. Wait on it, bounded. */
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	struct timespec limit = { .tv_sec = WAIT_MS / 1000 };
	sigprocmask(SIG_BLOCK, &term, &old);
	bool seen = got_term || sigtimedwait(&term, NULL, &limit) == SIGTERM;
	sigprocmask(SIG_SETMASK, &old, NULL);
	assert_true(seen);
}

static int run_calls(void)
{
	const char *w = getenv("TEST_PRELOAD_WIRE"), *h = getenv("TEST_PRELOAD_HARNESS");
	const char *addr = getenv("LOOPSIM_ADDR"), *b = getenv("LOOPSIM_LOCALHOST_BASE");
	struct in_addr a;
	if (!w || !h || !addr || !b || inet_pton(AF_INET, addr, &a) != 1 ||
	    sscanf(w, "%d,%d,%d", &wire_fd[0], &wire_fd[1], &wire_fd[2]) != 3) {
		fprintf(stderr, "test_preload --calls: started without its environment\n");
		return 1;
	}
	self_ip = ntohl(a.s_addr);
	snprintf(self_mapped, sizeof self_mapped, "::ffff:%s", addr);
	base = (uint16_t)atoi(b);
	harness_fd = atoi(h);
	const struct CMUnitTest tests[] = {
		/* First: the first bind of the process is the one that says HELLO. */
		cmocka_unit_test(test_preload_bind_any_moves_to_its_own_ip_and_says_hello),
		cmocka_unit_test(test_preload_sendto_a_peer_reaches_its_public_socket),
		cmocka_unit_test(test_preload_recvfrom_shows_a_peer_as_localhost),
#ifdef __GLIBC__
		cmocka_unit_test(test_preload_fortified_recvfrom_is_wrapped_too),
#endif
		cmocka_unit_test(test_preload_sendmsg_and_recvmsg_rewrite_their_names),
		cmocka_unit_test(test_preload_sendmmsg_and_recvmmsg_rewrite_every_name),
		cmocka_unit_test(test_preload_an_unbound_socket_is_bound_to_its_own_ip_before_it_sends),
		cmocka_unit_test(test_preload_connect_then_send_and_recv_reach_the_peer),
		cmocka_unit_test(test_preload_sending_to_itself_skips_the_wire),
		cmocka_unit_test(test_preload_sockets_of_one_game_reach_each_other_over_localhost),
		cmocka_unit_test(test_preload_other_traffic_is_untouched),
		cmocka_unit_test(test_preload_dual_stack_socket_reaches_peers_at_both_forms),
		cmocka_unit_test(test_preload_dual_stack_socket_is_bound_before_it_sends),
		cmocka_unit_test(test_preload_ipv6_only_socket_is_untouched),
		/* Last: it ends the library's reader thread. */
		cmocka_unit_test(test_preload_quit_is_answered_with_bye_and_sigterm),
	};
	return cmocka_run_group_tests_name("preload calls", tests, NULL, NULL);
}

/* The wire's sockets and the control channel, then this program again with the library loaded. Returns its status. */
static int spawn_calls(const char *self, const char *library)
{
	/* An address block of this run's own: 127.77.X.2 is the game, 127.77.X.(j+2) the wire's sockets. */
	uint32_t block = 0x7f4d0000u | (uint32_t)(getpid() % 250 + 1) << 8;
	char peers[NPEERS * 24] = "", fds[64] = "", env[8][ENV_ENTRY_MAX];
	int ctl[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) < 0)
		return 1;
	for (int j = 0; j < NPEERS; j++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = sin_of(block + 2 + (uint32_t)j, 0);
		socklen_t len = sizeof a;
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			return 1;
		wire_port[j] = ntohs(a.sin_port);
		size_t pl = strlen(peers), fl = strlen(fds);
		snprintf(peers + pl, sizeof peers - pl, "%s127.77.%u.%d:%u", j ? "," : "", (block >> 8) & 255, j + 2,
			 wire_port[j]);
		snprintf(fds + fl, sizeof fds - fl, "%s%d", j ? "," : "", fd);
	}
	/* BASE+0 is bound on the game's IP, where only W_0 lives: any port but W_0's is free. */
	uint16_t b = (uint16_t)(20000 + getpid() % 20000);
	if (b == wire_port[0])
		b++;
	const char *asan = getenv("ASAN_OPTIONS");
	snprintf(env[0], sizeof env[0], "LD_PRELOAD=%s", library);
	snprintf(env[1], sizeof env[1], "LOOPSIM_LOCALHOST_BASE=%u", b);
	snprintf(env[2], sizeof env[2], "LOOPSIM_ADDR=127.77.%u.2", (block >> 8) & 255);
	snprintf(env[3], sizeof env[3], "LOOPSIM_PEERS=%s", peers);
	snprintf(env[4], sizeof env[4], "LOOPSIM_INDEX=0");
	snprintf(env[5], sizeof env[5], "LOOPSIM_CONTROL_FD=%d", ctl[1]);
	snprintf(env[6], sizeof env[6], "TEST_PRELOAD_WIRE=%s", fds);
	/*
	 * In a sanitized build this program has an ASan runtime, which wants to
	 * be first in the library list; the (unsanitized) library comes before
	 * it here, which ASan tolerates when told to.
	 */
	snprintf(env[7], sizeof env[7], "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
		 asan && *asan ? ":" : "");
	char harness[48];
	snprintf(harness, sizeof harness, "TEST_PRELOAD_HARNESS=%d", ctl[0]);
	char *envp[] = { env[0], env[1], env[2], env[3], env[4], env[5], env[6], env[7], harness, NULL };
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char *argv[] = { (char *)self, "--calls", NULL };
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--calls") == 0)
		return run_calls();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preload_map_parses_the_session),
		cmocka_unit_test(test_preload_map_refuses_a_bad_environment),
		cmocka_unit_test(test_preload_map_sends_to_the_public_address),
		cmocka_unit_test(test_preload_map_shows_peers_as_localhost),
		cmocka_unit_test(test_preload_map_binds_local_addresses_to_its_own),
		cmocka_unit_test(test_preload_map_reads_dual_stack_forms_as_ipv4),
		cmocka_unit_test(test_preload_map_dual_stack_sends_to_the_public_address),
		cmocka_unit_test(test_preload_map_dual_stack_shows_peers_in_the_form_used),
		cmocka_unit_test(test_preload_map_dual_stack_binds_to_its_own_mapped_ip),
	};
	int failed = cmocka_run_group_tests_name("preload map", tests, NULL, NULL);
	const char *library = argc > 1 ? argv[1] : getenv("LOOPSIM_PRELOAD");
	if (!library || !*library) {
		fprintf(stderr, "test_preload: no library given (argv[1] or LOOPSIM_PRELOAD); the calls were not tested\n");
		return failed ? failed : 1;
	}
	int calls = spawn_calls(argv[0], library);
	if (calls)
		fprintf(stderr, "test_preload: the calls' group failed (status %d)\n", calls);
	return failed + calls;
}
