// SPDX-License-Identifier: MIT
// Peers whose traffic does not fit the wire (see misfit.h).
#include "harness/misfit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/addr.h"

/* "datagram" or "datagrams". */
static const char *dg(uint64_t n)
{
	return n == 1 ? "datagram" : "datagrams";
}

static void ip_str(uint32_t ip, char *out, size_t cap)
{
	snprintf(out, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* Appends a finding if there is room; returns it (or NULL). */
static struct misfit *add(struct misfit *out, size_t cap, size_t *n, int peer, const char *kind, uint64_t count,
			  bool fails)
{
	if (*n == cap)
		return NULL;
	struct misfit *m = &out[(*n)++];
	*m = (struct misfit){ .peer = peer, .kind = kind, .count = count, .fails = fails };
	return m;
}

/* The fix for a program that binds or sends outside its address. */
static const char *bind_fix(bool localhost)
{
	return localhost ? "the preload library did not rewrite that socket (a static binary, raw syscalls, or a call "
			   "it does not wrap: see README, \"An unmodified localhost game\")"
			 : "bind LOOPSIM_ADDR instead of 127.0.0.1 or 0.0.0.0, or run the game unmodified with "
			   "--localhost-ports BASE";
}

static size_t findings(const struct misfit_input *in, struct misfit *out, size_t cap, bool failing)
{
	size_t n = 0;
	char a[16], me[16];
	for (size_t i = 0; failing && i < in->nsrc; i++) {
		const struct wire_stray_source *s = &in->src[i];
		int k = in->owner ? in->owner[i] : -1;
		struct misfit *m = add(out, cap, &n, k, "stray", s->count, true);
		if (!m)
			break;
		ip_str(s->ip, a, sizeof a);
		if (k >= 0) {
			ip_str(wire_peer_ip((uint32_t)k), me, sizeof me);
			snprintf(m->text, sizeof m->text,
				 "peer %d sends from %s:%u, outside the wire, so the wire dropped %" PRIu64 " of its %s "
				 "(its address is %s): %s",
				 k, a, s->port, s->count, dg(s->count), me, bind_fix(in->localhost));
		} else {
			snprintf(m->text, sizeof m->text,
				 "%" PRIu64 " %s from %s:%u, which is no peer's address nor a socket of a peer's "
				 "process, reached peer %u's address and were dropped: %s",
				 s->count, dg(s->count), a, s->port, s->to, bind_fix(in->localhost));
		}
	}
	if (failing && in->unlisted) {
		struct misfit *m = add(out, cap, &n, -1, "stray", in->unlisted, true);
		if (m)
			snprintf(m->text, sizeof m->text,
				 "%" PRIu64 " more %s from other addresses outside the wire were dropped", in->unlisted,
				 dg(in->unlisted));
	}
	for (uint32_t k = 0; k < in->npeers; k++) {
		const struct wire_peer_misfit *p = &in->peer[k];
		uint16_t known = in->port[k];
		struct misfit *m;
		if (p->spoofed && failing && (m = add(out, cap, &n, (int)k, "spoofed", p->spoofed, true)))
			snprintf(m->text, sizeof m->text,
				 "peer %u sent %" PRIu64 " %s from port %u, but the wire knows it by port %u, and dropped "
				 "them: send from one socket, or pass --multi-socket %u",
				 k, p->spoofed, dg(p->spoofed), p->spoofed_port, known, k);
		bool unreachable = p->unroutable && !known && in->live[k];
		if (p->unroutable && unreachable == failing &&
		    (m = add(out, cap, &n, (int)k, unreachable ? "unroutable" : "late_port", p->unroutable, failing))) {
			if (unreachable)
				snprintf(m->text, sizeof m->text,
					 "%" PRIu64 " %s to peer %u were dropped: it never sent a datagram through "
					 "the wire nor a HELLO, so the wire never learned its port; have it send first, "
					 "or send HELLO (peer.h: loopsim_peer_hello)",
					 p->unroutable, dg(p->unroutable), k);
			else
				snprintf(m->text, sizeof m->text,
					 "%" PRIu64 " %s to peer %u fell due before the wire knew its port (from "
					 "its HELLO or first datagram) and %s dropped",
					 p->unroutable, dg(p->unroutable), k, p->unroutable == 1 ? "was" : "were");
		}
		bool never = p->early && !known;
		if (p->early && never == failing &&
		    (m = add(out, cap, &n, (int)k, "unregistered", p->early, failing))) {
			if (never)
				snprintf(m->text, sizeof m->text,
					 "peer %u sent %" PRIu64 " %s from port %u but never named its port in a "
					 "HELLO, and the wire dropped them",
					 k, p->early, dg(p->early), p->early_port);
			else
				snprintf(m->text, sizeof m->text,
					 "peer %u sent %" PRIu64 " %s from port %u before its HELLO named its port "
					 "(%u), and the wire dropped them",
					 k, p->early, dg(p->early), p->early_port, known);
		}
		bool quiet = in->sent && !in->sent[k] && in->live[k] && in->played_s >= MISFIT_QUIET_S && !unreachable &&
			     !p->early && !p->spoofed;
		if (quiet && failing && (m = add(out, cap, &n, (int)k, "bypass", 0, true)))
			snprintf(m->text, sizeof m->text,
				 "peer %u sent no datagram through the wire in %.1f s: %s", k, in->played_s,
				 in->localhost ? "it reaches the others in a way the preload library does not rewrite (an "
						 "IPv6-only socket, a static binary, raw syscalls: see README, \"An "
						 "unmodified localhost game\")"
					       : "if it talks to the others at 127.0.0.1, run it with --localhost-ports BASE; "
						 "otherwise send to the addresses in LOOPSIM_PEERS");
		if (p->to_self && !failing && (m = add(out, cap, &n, (int)k, "to_self", p->to_self, false)))
			snprintf(m->text, sizeof m->text,
				 "peer %u sent %" PRIu64 " %s to its own public address: the wire carries only "
				 "traffic between peers, and dropped them",
				 k, p->to_self, dg(p->to_self));
	}
	return n;
}

size_t misfit_findings(const struct misfit_input *in, struct misfit *out, size_t cap)
{
	size_t n = findings(in, out, cap, true);
	return n + findings(in, out + n, cap - n, false);
}

int misfit_parse_udp_line(const char *line, uint32_t *ip, uint16_t *port, unsigned long *inode)
{
	unsigned slot, lip, lport, rip, rport, st, txq, rxq, tr, uid, retr;
	unsigned long when;
	int timeout;
	/* "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ..." */
	if (sscanf(line, " %u: %8X:%4X %8X:%4X %2X %8X:%8X %2X:%8lX %8X %u %d %lu", &slot, &lip, &lport, &rip, &rport,
		   &st, &txq, &rxq, &tr, &when, &retr, &uid, &timeout, inode) != 14)
		return -1;
	/* The kernel prints the address as the 32-bit word it stores, in network byte order. */
	*ip = ntohl(lip);
	*port = (uint16_t)lport;
	return 0;
}

int misfit_parse_udp6_line(const char *line, uint32_t *ip, uint16_t *port, unsigned long *inode)
{
	unsigned slot, w[4], lport, r[4], rport, st, txq, rxq, tr, uid, retr;
	unsigned long when;
	int timeout;
	if (sscanf(line, " %u: %8X%8X%8X%8X:%4X %8X%8X%8X%8X:%4X %2X %8X:%8X %2X:%8lX %8X %u %d %lu", &slot, &w[0],
		   &w[1], &w[2], &w[3], &lport, &r[0], &r[1], &r[2], &r[3], &rport, &st, &txq, &rxq, &tr, &when, &retr,
		   &uid, &timeout, inode) != 20)
		return -1;
	/* Four 32-bit words as the kernel stores them, each in network byte order. */
	*port = (uint16_t)lport;
	if (w[0] || w[1])
		return 1;
	if (!w[2] && !w[3]) {
		*ip = 0; /* :: */
		return 0;
	}
	if (ntohl(w[2]) != 0xffff)
		return 1;
	*ip = ntohl(w[3]);
	return 0;
}

/* Whether process pid holds the socket with this inode. */
static bool holds_socket(long pid, unsigned long inode)
{
	char path[64], want[48], link[64];
	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	snprintf(want, sizeof want, "socket:[%lu]", inode);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d));) {
		char fd[PATH_MAX];
		if (e->d_name[0] == '.' || snprintf(fd, sizeof fd, "%s/%s", path, e->d_name) >= (int)sizeof fd)
			continue;
		ssize_t len = readlink(fd, link, sizeof link - 1);
		if (len > 0) {
			link[len] = '\0';
			found = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return found;
}

int misfit_socket_owner(uint32_t ip, uint16_t port, const pid_t *groups, uint32_t n)
{
	unsigned long inodes[8];
	size_t ninodes = 0;
	/* IPv4 sockets, then dual-stack IPv6 ones (bound to :: or to a v4-mapped address), which send IPv4 too. */
	for (int v6 = 0; v6 < 2; v6++) {
		FILE *f = fopen(v6 ? "/proc/net/udp6" : "/proc/net/udp", "r");
		if (!f)
			continue;
		char line[512];
		while (fgets(line, sizeof line, f) && ninodes < 8) {
			uint32_t lip;
			uint16_t lport;
			unsigned long inode;
			int got = v6 ? misfit_parse_udp6_line(line, &lip, &lport, &inode)
				     : misfit_parse_udp_line(line, &lip, &lport, &inode);
			if (got == 0 && lport == port && (lip == ip || lip == 0) && inode)
				inodes[ninodes++] = inode;
		}
		fclose(f);
	}
	if (!ninodes)
		return -1;
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	int owner = -1;
	for (struct dirent *e; owner < 0 && (e = readdir(d));) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		pid_t g = getpgid((pid_t)pid);
		for (uint32_t k = 0; owner < 0 && g > 0 && k < n; k++) {
			if (groups[k] != g)
				continue;
			for (size_t i = 0; i < ninodes && owner < 0; i++)
				if (holds_socket(pid, inodes[i]))
					owner = (int)k;
		}
	}
	closedir(d);
	return owner;
}
