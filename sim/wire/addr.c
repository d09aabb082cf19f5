// SPDX-License-Identifier: MIT
// The address plan.
#include "wire/addr.h"

#include <stdio.h>

char *wire_addr_str(char *buf, size_t cap, uint32_t ip, uint16_t port)
{
	if (port)
		snprintf(buf, cap, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port);
	else
		snprintf(buf, cap, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}
