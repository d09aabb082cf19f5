// SPDX-License-Identifier: MIT
// Named link presets: the conditions users already know by name.
#ifndef LOOPSIM_WIRE_PRESET_H
#define LOOPSIM_WIRE_PRESET_H

#include "wire/link.h"

struct wire_preset {
	const char *name;
	const char *summary;  /* one line for --help */
	double latency_ms, jitter_ms, loss_pct, rate_kbit;
};

/* The table, ending with a NULL name. */
extern const struct wire_preset wire_presets[];

/* The preset called name, or NULL. */
const struct wire_preset *wire_preset_find(const char *name);

/* Overwrites latency, jitter, loss and rate in cfg with the preset's; the rest is kept. */
void wire_preset_apply(const struct wire_preset *p, struct wire_link_cfg *cfg);

#endif
