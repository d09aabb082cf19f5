// SPDX-License-Identifier: MIT
// The address plan.
#include "wire/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

uint32_t wire__addr_base = WIRE_ADDR_BASE;

/* The highest base whose plan still ends inside 127.0.0.0/8. */
#define WIRE_ADDR_BASE_MAX (0x7fffffffu - (WIRE_MAX_PEERS - 1))

static int base_ok(uint32_t base)
{
	return base >= WIRE_ADDR_BASE && base <= WIRE_ADDR_BASE_MAX;
}

int wire_addr_set_base(uint32_t base)
{
	if (!base_ok(base))
		return -EINVAL;
	wire__addr_base = base;
	return 0;
}

int wire_addr_parse_base(const char *what, const char *s, uint32_t *out, char *err, size_t errlen)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) {
		snprintf(err, errlen, "%s: '%s' is not an IPv4 address like 127.1.0.2", what, s);
		return -1;
	}
	uint32_t ip = ntohl(a.s_addr);
	if (!base_ok(ip)) {
		char hi[WIRE_ADDR_STRLEN];
		snprintf(err, errlen,
			 "%s: '%s' is outside the loopback plan: a base runs from 127.0.0.2 to %s, so that its %u "
			 "addresses stay inside 127.0.0.0/8 (loopsim binds nothing else)",
			 what, s, wire_addr_str(hi, sizeof hi, WIRE_ADDR_BASE_MAX, 0), WIRE_MAX_PEERS);
		return -1;
	}
	*out = ip;
	return 0;
}

char *wire_addr_str(char *buf, size_t cap, uint32_t ip, uint16_t port)
{
	if (port)
		snprintf(buf, cap, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
	else
		snprintf(buf, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}
