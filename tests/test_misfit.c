// SPDX-License-Identifier: MIT
// Misfits: which findings fail a run and what they say; reading /proc/net/udp; finding a socket's owner for real.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/misfit.h"

#define LOCALHOST 0x7f000001u

/* Three live peers that fit: each known by its port and sending. */
struct world {
	struct wire_peer_misfit peer[3];
	uint16_t port[3];
	bool live[3];
	uint64_t sent[3];
	struct wire_stray_source src[2];
	int owner[2];
	struct misfit_input in;
	struct misfit out[8];
};

static void fits(struct world *w)
{
	memset(w, 0, sizeof *w);
	for (int k = 0; k < 3; k++) {
		w->port[k] = (uint16_t)(40000 + k);
		w->live[k] = true;
		w->sent[k] = 500;
	}
	w->in = (struct misfit_input){ .npeers = 3, .peer = w->peer, .port = w->port, .live = w->live, .src = w->src,
				       .owner = w->owner, .sent = w->sent, .played_s = 5 };
}

static size_t run(struct world *w)
{
	return misfit_findings(&w->in, w->out, 8);
}

static void test_misfit_peers_that_fit_have_no_findings(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	assert_int_equal(run(&w), 0);
}

static void test_misfit_stray_names_its_owner_and_the_fix(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	w.src[0] = (struct wire_stray_source){ .ip = LOCALHOST, .port = 7779, .to = 0, .count = 360 };
	w.owner[0] = 2;
	w.in.nsrc = 1;
	assert_int_equal(run(&w), 1);
	assert_true(w.out[0].fails);
	assert_int_equal(w.out[0].peer, 2);
	assert_string_equal(w.out[0].kind, "stray");
	assert_int_equal(w.out[0].count, 360);
	assert_non_null(strstr(w.out[0].text, "peer 2 sends from 127.0.0.1:7779"));
	assert_non_null(strstr(w.out[0].text, "127.0.0.4"));
	assert_non_null(strstr(w.out[0].text, "--localhost-ports"));

	/* Under --localhost-ports the library should have caught it: the fix says why it did not. */
	w.in.localhost = true;
	assert_int_equal(run(&w), 1);
	assert_non_null(strstr(w.out[0].text, "preload library"));

	/* A source no peer's process owned fails the run too, without a name. */
	w.owner[0] = -1;
	w.in.unlisted = 12;
	assert_int_equal(run(&w), 2);
	assert_int_equal(w.out[0].peer, -1);
	assert_non_null(strstr(w.out[0].text, "127.0.0.1:7779"));
	assert_true(w.out[1].fails);
	assert_int_equal(w.out[1].count, 12);
}

static void test_misfit_second_port_is_spoofed_and_fails(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	w.peer[1] = (struct wire_peer_misfit){ .spoofed = 90, .spoofed_port = 51000 };
	assert_int_equal(run(&w), 1);
	assert_true(w.out[0].fails);
	assert_string_equal(w.out[0].kind, "spoofed");
	assert_non_null(strstr(w.out[0].text, "port 51000"));
	assert_non_null(strstr(w.out[0].text, "port 40001"));
	assert_non_null(strstr(w.out[0].text, "--multi-socket 1"));
}

static void test_misfit_unroutable_fails_only_if_the_port_was_never_learned(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	w.peer[2].unroutable = 700;
	w.port[2] = 0;
	w.sent[2] = 0;
	assert_int_equal(run(&w), 1); /* unroutable, and not also "bypass" */
	assert_true(w.out[0].fails);
	assert_string_equal(w.out[0].kind, "unroutable");
	assert_non_null(strstr(w.out[0].text, "HELLO"));

	/* Learned late: said, not failed. */
	w.port[2] = 40002;
	w.sent[2] = 10;
	assert_int_equal(run(&w), 1);
	assert_false(w.out[0].fails);
	assert_string_equal(w.out[0].kind, "late_port");
	assert_non_null(strstr(w.out[0].text, "700 datagrams to peer 2"));

	/* A peer the timeline killed is not expected to be reached. */
	w.port[2] = 0;
	w.live[2] = false;
	assert_int_equal(run(&w), 1);
	assert_false(w.out[0].fails);
}

static void test_misfit_a_quiet_live_peer_bypassed_the_wire(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	w.sent[0] = 0;
	assert_int_equal(run(&w), 1);
	assert_true(w.out[0].fails);
	assert_string_equal(w.out[0].kind, "bypass");
	assert_non_null(strstr(w.out[0].text, "peer 0 sent no datagram"));
	assert_non_null(strstr(w.out[0].text, "run it with --localhost-ports BASE"));
	/* Under --localhost-ports, the fix is not the flag already given. */
	w.in.localhost = true;
	assert_int_equal(run(&w), 1);
	assert_null(strstr(w.out[0].text, "run it with --localhost-ports"));
	assert_non_null(strstr(w.out[0].text, "IPv6-only socket"));
	w.in.localhost = false;
	/* Too short a run to tell. */
	w.in.played_s = 1;
	assert_int_equal(run(&w), 0);
}

static void test_misfit_failing_findings_come_first_and_cap_holds(void **state)
{
	(void)state;
	struct world w;
	fits(&w);
	w.peer[0].to_self = 5;                     /* a note */
	w.peer[1].unroutable = 3;                  /* a note: its port is known */
	w.peer[2] = (struct wire_peer_misfit){ .spoofed = 9, .spoofed_port = 1 };
	assert_int_equal(run(&w), 3);
	assert_true(w.out[0].fails);
	assert_string_equal(w.out[0].kind, "spoofed");
	assert_false(w.out[1].fails);
	assert_false(w.out[2].fails);
	assert_string_equal(w.out[1].kind, "to_self");
	assert_non_null(strstr(w.out[1].text, "peer 0 sent 5 datagrams to its own public address"));
	assert_string_equal(w.out[2].kind, "late_port");
	assert_non_null(strstr(w.out[2].text, "3 datagrams to peer 1"));
	assert_int_equal(misfit_findings(&w.in, w.out, 2), 2);
	assert_int_equal(misfit_findings(&w.in, w.out, 0), 0);
}

static void test_misfit_parses_proc_net_udp(void **state)
{
	(void)state;
	uint32_t ip;
	uint16_t port;
	unsigned long inode;
	assert_int_equal(misfit_parse_udp_line("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
					       "retrnsmt   uid  timeout inode ref pointer drops\n",
					       &ip, &port, &inode),
			 -1);
	assert_int_equal(misfit_parse_udp_line(" 1234: 0100007F:1E63 00000000:0000 07 00000000:00000000 00:00000000 "
					       "00000000     0        0 987654 2 0000000000000000 0\n",
					       &ip, &port, &inode),
			 0);
	assert_int_equal(ip, LOCALHOST);
	assert_int_equal(port, 7779);
	assert_int_equal(inode, 987654);
	assert_int_equal(misfit_parse_udp_line("garbage", &ip, &port, &inode), -1);
}

/* /proc/net/udp6: a v4-mapped address gives its IPv4 one, :: the wildcard, any other IPv6 address 1. */
static void test_misfit_parses_proc_net_udp6(void **state)
{
	(void)state;
	uint32_t ip = 1;
	uint16_t port;
	unsigned long inode;
	const char *tail = " 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0"
			   "        0 4242 2 0000000000000000 0\n";
	char line[300];
	snprintf(line, sizeof line, "  17: 0000000000000000FFFF00000300007F:1E63%s", tail);
	assert_int_equal(misfit_parse_udp6_line(line, &ip, &port, &inode), 0);
	assert_int_equal(ip, 0x7f000003);
	assert_int_equal(port, 7779);
	assert_int_equal(inode, 4242);
	snprintf(line, sizeof line, "  17: 00000000000000000000000000000000:1E64%s", tail);
	assert_int_equal(misfit_parse_udp6_line(line, &ip, &port, &inode), 0);
	assert_int_equal(ip, 0);
	assert_int_equal(port, 7780);
	snprintf(line, sizeof line, "  17: 00000000000000000000000001000000:1E64%s", tail); /* ::1 */
	assert_int_equal(misfit_parse_udp6_line(line, &ip, &port, &inode), 1);
	assert_int_equal(misfit_parse_udp6_line("  sl  local_address remote_address\n", &ip, &port, &inode), -1);
}

/* A real process in its own group binds 127.0.0.1:0; /proc says it is that group's, and no one else's. */
static void test_misfit_finds_the_process_that_owns_a_socket(void **state)
{
	(void)state;
	int pipefd[2], gate[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pipe(gate), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		setpgid(0, 0);
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(LOCALHOST) };
		socklen_t len = sizeof a;
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
			_exit(1);
		/* And a dual-stack socket on the v4-mapped 127.0.0.1 (/proc/net/udp6), as Java's are. */
		int fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
		struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
		socklen_t len6 = sizeof a6;
		uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
		memcpy(&a6.sin6_addr, mapped, sizeof mapped);
		if (fd6 < 0 || bind(fd6, (struct sockaddr *)&a6, sizeof a6) < 0 ||
		    getsockname(fd6, (struct sockaddr *)&a6, &len6) < 0)
			_exit(1);
		uint16_t ports[2] = { ntohs(a.sin_port), ntohs(a6.sin6_port) };
		if (write(pipefd[1], ports, sizeof ports) != sizeof ports)
			_exit(1);
		char c;
		close(gate[1]);
		(void)!read(gate[0], &c, 1); /* until the parent closes it */
		_exit(0);
	}
	setpgid(child, child); /* either side may win the race; both set the same */
	close(gate[0]);
	uint16_t ports[2] = { 0, 0 }, port;
	assert_int_equal(read(pipefd[0], ports, sizeof ports), (ssize_t)sizeof ports);
	port = ports[0];
	pid_t groups[3] = { 0, getpgrp(), child };
	assert_int_equal(misfit_socket_owner(LOCALHOST, port, groups, 3), 2);
	assert_int_equal(misfit_socket_owner(LOCALHOST, ports[1], groups, 3), 2);
	pid_t others[2] = { 0, getpgrp() };
	assert_int_equal(misfit_socket_owner(LOCALHOST, port, others, 2), -1);
	/* A port nothing holds. */
	close(gate[1]);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_int_equal(misfit_socket_owner(LOCALHOST, port, groups, 3), -1);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misfit_peers_that_fit_have_no_findings),
		cmocka_unit_test(test_misfit_stray_names_its_owner_and_the_fix),
		cmocka_unit_test(test_misfit_second_port_is_spoofed_and_fails),
		cmocka_unit_test(test_misfit_unroutable_fails_only_if_the_port_was_never_learned),
		cmocka_unit_test(test_misfit_a_quiet_live_peer_bypassed_the_wire),
		cmocka_unit_test(test_misfit_failing_findings_come_first_and_cap_holds),
		cmocka_unit_test(test_misfit_parses_proc_net_udp),
		cmocka_unit_test(test_misfit_parses_proc_net_udp6),
		cmocka_unit_test(test_misfit_finds_the_process_that_owns_a_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
