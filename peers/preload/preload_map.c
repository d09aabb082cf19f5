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
	if (a->sin_family != AF_INET || asked == PRELOAD_ASKED_NONE || ntohl(a->sin_addr.s_addr) != m->self_ip)
		return false;
	*a = sin_of(asked == PRELOAD_ASKED_LOOPBACK ? INADDR_LOOPBACK : INADDR_ANY, ntohs(a->sin_port));
	return true;
}
