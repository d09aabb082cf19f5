// SPDX-License-Identifier: MIT
// Named link presets. Latency and jitter are one-way, per direction.
#include "wire/preset.h"

#include <stddef.h>
#include <string.h>

const struct wire_preset wire_presets[] = {
	{ "perfect", "no impairment at all", 0, 0, 0, 0 },
	{ "fiber", "10±1 ms", 10, 1, 0, 0 },
	{ "cable", "25±5 ms", 25, 5, 0, 0 },
	{ "dsl", "30±10 ms", 30, 10, 0, 0 },
	{ "broadband", "32±12 ms, 2% loss", 32, 12, 2, 0 },
	{ "satellite", "100±10 ms", 100, 10, 0, 0 },
	{ "congested", "50±50 ms, 1% loss", 50, 50, 1, 0 },
	{ "3g", "360±30 ms, 7% loss", 360, 30, 7, 0 },
	{ "4g", "100±20 ms, 4% loss", 100, 20, 4, 0 },
	{ "5g", "30±20 ms, 4% loss", 30, 20, 4, 0 },
	{ "wifi", "40 ms, 0.2% loss, 30 Mbit/s", 40, 0, 0.2, 30000 },
	{ NULL, NULL, 0, 0, 0, 0 },
};

const struct wire_preset *wire_preset_find(const char *name)
{
	for (const struct wire_preset *p = wire_presets; p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

void wire_preset_apply(const struct wire_preset *p, struct wire_link_cfg *cfg)
{
	cfg->latency_ms = p->latency_ms;
	cfg->jitter_ms = p->jitter_ms;
	cfg->loss_pct = p->loss_pct;
	cfg->rate_kbit = p->rate_kbit;
}
