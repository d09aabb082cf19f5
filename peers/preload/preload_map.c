// SPDX-License-Identifier: MIT
// The preload library's address map: parsed once from the environment, then pure lookups.
#include "preload/preload_map.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number in lo..hi, the whole string and nothing else (no sign, no spaces). */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "a.b.c.d", host byte order. */
static int parse_ip(const char *s, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

int preload_map_parse(struct preload_map *m, const char *base, const char *addr, const char *peers,
		      const char *index, const char *control_fd, char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->control_fd = -1;
	unsigned long v;
	if (parse_uint(base, 1, 65535, &v) < 0) {
		snprintf(err, errlen, "LOOPSIM_LOCALHOST_BASE is '%s', not a port 1..65535", base ? base : "(unset)");
		return -1;
	}
	m->base = (uint16_t)v;
	if (!addr || parse_ip(addr, strlen(addr), &m->self_ip) < 0) {
		snprintf(err, errlen, "LOOPSIM_ADDR is '%s', not an IPv4 address", addr ? addr : "(unset)");
		return -1;
	}
	if (!peers || !*peers) {
		snprintf(err, errlen, "LOOPSIM_PEERS is unset or empty");
		return -1;
	}
	for (const char *p = peers;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(end - p));
		char port[8];
		size_t plen = colon ? (size_t)(end - colon - 1) : 0;
		if (m->npeers == PRELOAD_MAX_PEERS) {
			snprintf(err, errlen, "LOOPSIM_PEERS has more than %d peers", PRELOAD_MAX_PEERS);
			return -1;
		}
		if (colon && plen < sizeof port) {
			memcpy(port, colon + 1, plen);
			port[plen] = '\0';
		}
		if (!colon || plen >= sizeof port || parse_ip(p, (size_t)(colon - p), &m->public_ip[m->npeers]) < 0 ||
		    parse_uint(port, 1, 65535, &v) < 0) {
			snprintf(err, errlen, "LOOPSIM_PEERS: entry %u, '%.*s', is not ip:port", m->npeers,
				 (int)(end - p > 40 ? 40 : end - p), p);
			return -1;
		}
		m->public_port[m->npeers++] = (uint16_t)v;
		if (!comma)
			break;
		p = comma + 1;
	}
	if ((unsigned long)m->base + m->npeers - 1 > 65535) {
		snprintf(err, errlen, "LOOPSIM_LOCALHOST_BASE %u with %u peers runs past port 65535", m->base,
			 m->npeers);
		return -1;
	}
	if (parse_uint(index, 0, m->npeers - 1, &v) < 0) {
		snprintf(err, errlen, "LOOPSIM_INDEX is '%s', not a peer below %u", index ? index : "(unset)",
			 m->npeers);
		return -1;
	}
	m->index = (uint32_t)v;
	if (control_fd && *control_fd) {
		if (parse_uint(control_fd, 0, 1 << 30, &v) < 0) {
			snprintf(err, errlen, "LOOPSIM_CONTROL_FD is '%s', not a descriptor", control_fd);
			return -1;
		}
		m->control_fd = (int)v;
	}
	return 0;
}

static bool is_local(uint32_t ip)
{
	return ip == INADDR_LOOPBACK || ip == INADDR_ANY;
}

static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(ip);
	a.sin_port = htons(port);
	return a;
}

int preload_map_local_peer(const struct preload_map *m, const struct sockaddr_in *a)
{
	if (a->sin_family != AF_INET || !is_local(ntohl(a->sin_addr.s_addr)))
		return -1;
	uint32_t port = ntohs(a->sin_port);
	return port >= m->base && port - m->base < m->npeers ? (int)(port - m->base) : -1;
}

bool preload_map_outbound(const struct preload_map *m, const struct sockaddr_in *to, struct sockaddr_in *out)
{
	int j = preload_map_local_peer(m, to);
	if (j < 0)
		return false;
	if ((uint32_t)j == m->index)
		*out = sin_of(m->self_ip, ntohs(to->sin_port));
	else
		*out = sin_of(m->public_ip[j], m->public_port[j]);
	return true;
}

bool preload_map_inbound(const struct preload_map *m, struct sockaddr_in *a)
{
	if (a->sin_family != AF_INET)
		return false;
	uint32_t ip = ntohl(a->sin_addr.s_addr);
	uint16_t port = ntohs(a->sin_port);
	for (uint32_t j = 0; j < m->npeers; j++)
		if (m->public_ip[j] == ip && m->public_port[j] == port) {
			*a = sin_of(INADDR_LOOPBACK, (uint16_t)(m->base + j));
			return true;
		}
	if (ip != m->self_ip)
		return false;
	*a = sin_of(INADDR_LOOPBACK, port);
	return true;
}

bool preload_map_bind(const struct preload_map *m, const struct sockaddr_in *want, struct sockaddr_in *out,
		      enum preload_asked *asked)
{
	if (want->sin_family != AF_INET || !is_local(ntohl(want->sin_addr.s_addr)))
		return false;
	*asked = ntohl(want->sin_addr.s_addr) == INADDR_ANY ? PRELOAD_ASKED_ANY : PRELOAD_ASKED_LOOPBACK;
	*out = sin_of(m->self_ip, ntohs(want->sin_port));
	return true;
}

bool preload_map_local_shown(const struct preload_map *m, struct sockaddr_in *a, enum preload_asked asked)
{
	if (a->sin_family != AF_INET || (asked != PRELOAD_ASKED_ANY && asked != PRELOAD_ASKED_LOOPBACK) ||
	    ntohl(a->sin_addr.s_addr) != m->self_ip)
		return false;
	*a = sin_of(asked == PRELOAD_ASKED_LOOPBACK ? INADDR_LOOPBACK : INADDR_ANY, ntohs(a->sin_port));
	return true;
}

/* ---- dual-stack AF_INET6 sockets: the same rules, through the IPv4 address each form stands for ---- */

static struct sockaddr_in6 sin6_of(const struct in6_addr *ip, uint16_t port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof a);
	a.sin6_family = AF_INET6;
	a.sin6_addr = *ip;
	a.sin6_port = htons(port);
	return a;
}

bool preload_map_v4_of(const struct sockaddr_in6 *a, struct sockaddr_in *out)
{
	uint32_t ip;
	if (a->sin6_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		memcpy(&ip, &a->sin6_addr.s6_addr[12], sizeof ip);
		ip = ntohl(ip);
	} else if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) {
		ip = INADDR_LOOPBACK;
	} else if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr)) {
		ip = INADDR_ANY;
	} else {
		return false;
	}
	*out = sin_of(ip, ntohs(a->sin6_port));
	return true;
}

void preload_map_v4_mapped(const struct sockaddr_in *a, struct sockaddr_in6 *out)
{
	struct in6_addr ip;
	memset(&ip, 0, sizeof ip);
	ip.s6_addr[10] = 0xff;
	ip.s6_addr[11] = 0xff;
	memcpy(&ip.s6_addr[12], &a->sin_addr.s_addr, 4);
	*out = sin6_of(&ip, ntohs(a->sin_port));
}

bool preload_map_outbound6(const struct preload_map *m, const struct sockaddr_in6 *to, struct sockaddr_in6 *out)
{
	struct sockaddr_in v4, o;
	if (!preload_map_v4_of(to, &v4) || !preload_map_outbound(m, &v4, &o))
		return false;
	preload_map_v4_mapped(&o, out);
	return true;
}

bool preload_map_inbound6(const struct preload_map *m, struct sockaddr_in6 *a, bool v6_loopback)
{
	struct sockaddr_in v4;
	if (a->sin6_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) || !preload_map_v4_of(a, &v4) ||
	    !preload_map_inbound(m, &v4))
		return false;
	if (v6_loopback)
		*a = sin6_of(&in6addr_loopback, ntohs(v4.sin_port));
	else
		preload_map_v4_mapped(&v4, a);
	return true;
}

bool preload_map_bind6(const struct preload_map *m, const struct sockaddr_in6 *want, struct sockaddr_in6 *out,
		       enum preload_asked *asked)
{
	struct sockaddr_in v4;
	if (!preload_map_v4_of(want, &v4) || !is_local(ntohl(v4.sin_addr.s_addr)))
		return false;
	bool any = ntohl(v4.sin_addr.s_addr) == INADDR_ANY;
	if (IN6_IS_ADDR_V4MAPPED(&want->sin6_addr))
		*asked = any ? PRELOAD_ASKED_MAPPED_ANY : PRELOAD_ASKED_MAPPED_LOOPBACK;
	else
		*asked = any ? PRELOAD_ASKED_ANY6 : PRELOAD_ASKED_LOOPBACK6;
	struct sockaddr_in self = sin_of(m->self_ip, ntohs(want->sin6_port));
	preload_map_v4_mapped(&self, out);
	return true;
}

bool preload_map_local_shown6(const struct preload_map *m, struct sockaddr_in6 *a, enum preload_asked asked)
{
	struct sockaddr_in v4;
	if (a->sin6_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) || !preload_map_v4_of(a, &v4) ||
	    ntohl(v4.sin_addr.s_addr) != m->self_ip)
		return false;
	uint16_t port = ntohs(a->sin6_port);
	switch (asked) {
	case PRELOAD_ASKED_ANY6:
		*a = sin6_of(&in6addr_any, port);
		return true;
	case PRELOAD_ASKED_LOOPBACK6:
		*a = sin6_of(&in6addr_loopback, port);
		return true;
	case PRELOAD_ASKED_MAPPED_ANY:
	case PRELOAD_ASKED_MAPPED_LOOPBACK:
		v4 = sin_of(asked == PRELOAD_ASKED_MAPPED_ANY ? INADDR_ANY : INADDR_LOOPBACK, port);
		preload_map_v4_mapped(&v4, a);
		return true;
	default:
		return false;
	}
}
